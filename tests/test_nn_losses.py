"""Losses: values and gradients against closed forms, extreme logits, reductions, errors."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd_lite as ag
import nn

rng = np.random.default_rng(0)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _log_softmax(z):
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _value_and_grad(loss, prediction, target):
    x = ag.tensor(prediction, requires_grad=True)
    out = loss(x, target)
    out.backward()
    return out.item(), x.grad


SHAPES = [(5,), (4, 3), (2, 3, 2)]


# ---- closed forms, for several shapes and both reductions ------------------------------------
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_mse(shape, reduction):
    p, y = rng.normal(size=shape), rng.normal(size=shape)
    n = p.size if reduction == "mean" else 1
    value, grad = _value_and_grad(nn.MSELoss(reduction), p, y)
    np.testing.assert_allclose(value, ((p - y) ** 2).sum() / n, rtol=1e-13)
    np.testing.assert_allclose(grad, 2 * (p - y) / n, rtol=1e-13)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_bce(shape, reduction):
    p, y = rng.uniform(0.05, 0.95, size=shape), rng.uniform(size=shape)
    n = p.size if reduction == "mean" else 1
    value, grad = _value_and_grad(nn.BCELoss(reduction), p, y)
    np.testing.assert_allclose(value, -(y * np.log(p) + (1 - y) * np.log(1 - p)).sum() / n,
                               rtol=1e-13)
    np.testing.assert_allclose(grad, (p - y) / (p * (1 - p)) / n, rtol=1e-12)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_bce_with_logits(shape, reduction):
    x, y = rng.normal(scale=3, size=shape), rng.uniform(size=shape)
    n = x.size if reduction == "mean" else 1
    value, grad = _value_and_grad(nn.BCEWithLogitsLoss(reduction), x, y)
    s = _sigmoid(x)
    np.testing.assert_allclose(value, -(y * np.log(s) + (1 - y) * np.log(1 - s)).sum() / n,
                               rtol=1e-12)
    np.testing.assert_allclose(grad, (s - y) / n, rtol=1e-12)


def test_bce_with_logits_gradient_is_exact_at_zero():
    _, grad = _value_and_grad(nn.BCEWithLogitsLoss("sum"), np.zeros(3), np.array([0, 0.3, 1]))
    np.testing.assert_allclose(grad, 0.5 - np.array([0, 0.3, 1]), rtol=1e-15)


@pytest.mark.parametrize("shape", [(3,), (6, 4), (2, 3, 5)])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_cross_entropy_with_class_indices(shape, reduction):
    z = rng.normal(size=shape)
    classes = rng.integers(0, shape[-1], size=shape[:-1])
    one_hot = np.eye(shape[-1])[classes]
    n = classes.size if reduction == "mean" else 1
    value, grad = _value_and_grad(nn.CrossEntropyLoss(reduction), z, classes)
    np.testing.assert_allclose(value, -(one_hot * _log_softmax(z)).sum() / n, rtol=1e-13)
    np.testing.assert_allclose(grad, (np.exp(_log_softmax(z)) - one_hot) / n, rtol=1e-12,
                               atol=1e-15)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_cross_entropy_with_probability_targets(reduction):
    z = rng.normal(size=(5, 4))
    q = rng.dirichlet(np.ones(4), size=5)
    n = 5 if reduction == "mean" else 1
    value, grad = _value_and_grad(nn.CrossEntropyLoss(reduction), z, q)
    np.testing.assert_allclose(value, -(q * _log_softmax(z)).sum() / n, rtol=1e-13)
    np.testing.assert_allclose(grad, (np.exp(_log_softmax(z)) - q) / n, rtol=1e-12, atol=1e-15)


def test_one_hot_and_index_targets_agree_and_tensor_targets_work():
    z = rng.normal(size=(6, 3))
    classes = rng.integers(0, 3, size=6)
    loss = nn.CrossEntropyLoss()
    by_index = loss(z, classes).item()
    assert by_index == pytest.approx(loss(z, np.eye(3)[classes]).item(), rel=1e-14)
    assert by_index == pytest.approx(loss(z, ag.tensor(classes)).item(), rel=1e-14)
    assert by_index == pytest.approx(loss(ag.tensor(z), ag.tensor(np.eye(3)[classes])).item(),
                                     rel=1e-14)


def test_soft_targets_receive_a_gradient():
    z, q = rng.normal(size=(3, 4)), ag.tensor(rng.dirichlet(np.ones(4), size=3), requires_grad=True)
    nn.CrossEntropyLoss("sum")(z, q).backward()
    np.testing.assert_allclose(q.grad, -_log_softmax(z), rtol=1e-13)


LOSSES_AND_DATA = [
    (nn.MSELoss, lambda: (rng.normal(size=(3, 2)), rng.normal(size=(3, 2)))),
    (nn.BCELoss, lambda: (rng.uniform(0.1, 0.9, (3, 2)), rng.uniform(size=(3, 2)))),
    (nn.BCEWithLogitsLoss, lambda: (rng.normal(size=(3, 2)), rng.uniform(size=(3, 2)))),
    (nn.CrossEntropyLoss, lambda: (rng.normal(size=(3, 4)), rng.dirichlet(np.ones(4), 3))),
]


@pytest.mark.parametrize("loss_class, data", LOSSES_AND_DATA)
def test_gradients_pass_gradcheck_and_none_reduction_is_elementwise(loss_class, data):
    prediction, target = data()
    assert ag.gradcheck(lambda p: loss_class()(p, target), prediction)
    each = loss_class("none")(prediction, target)
    assert loss_class("sum")(prediction, target).item() == pytest.approx(each.data.sum(), rel=1e-14)


# ---- extreme inputs ------------------------------------------------------------------------
def test_cross_entropy_is_stable_for_logits_of_magnitude_1000():
    z = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, 1000.0]])
    value, grad = _value_and_grad(nn.CrossEntropyLoss("sum"), z,
                                  np.array([1, 2]))
    assert value == pytest.approx(2000.0, rel=1e-15)  # first: 1000 - (-1000); second: 0
    np.testing.assert_allclose(grad, [[1, -1, 0], [0, 0, 0]], atol=1e-300)
    each = nn.CrossEntropyLoss("none")(z, np.array([0, 2]))
    np.testing.assert_array_equal(each.data, [0.0, 0.0])


def test_bce_with_logits_is_stable_for_logits_of_magnitude_1000():
    x = np.array([1000.0, -1000.0, 1000.0, -1000.0])
    y = np.array([1.0, 0.0, 0.0, 1.0])
    loss = nn.BCEWithLogitsLoss("none")(x, y)
    np.testing.assert_array_equal(loss.data, [0.0, 0.0, 1000.0, 1000.0])
    _, grad = _value_and_grad(nn.BCEWithLogitsLoss("sum"), x, y)
    np.testing.assert_array_equal(grad, [0.0, 0.0, 1.0, -1.0])


def test_bce_clamps_the_log_at_minus_100_with_finite_gradients():
    p = np.array([0.0, 1.0, 0.0, 1.0])
    y = np.array([1.0, 0.0, 0.0, 1.0])
    value, grad = _value_and_grad(nn.BCELoss("sum"), p, y)
    assert value == 200.0
    assert np.all(np.isfinite(grad))
    p32 = np.array([0.0, 1e-45, 1.0], np.float32)
    value32, grad32 = _value_and_grad(nn.BCELoss("sum"), p32, np.ones(3, np.float32))
    assert np.isfinite(value32) and np.all(np.isfinite(grad32)) and grad32.dtype == np.float32


def test_float32_stays_float32():
    z = rng.normal(size=(4, 3)).astype(np.float32)
    assert nn.CrossEntropyLoss()(z, np.array([0, 1, 2, 0])).dtype == np.float32
    assert nn.MSELoss()(z, np.zeros_like(z)).dtype == np.float32


# ---- errors ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("loss_class", [nn.MSELoss, nn.BCELoss, nn.BCEWithLogitsLoss,
                                        nn.CrossEntropyLoss])
def test_unknown_reduction(loss_class):
    with pytest.raises(ValueError, match=f"{loss_class.__name__}.*'average'"):
        loss_class(reduction="average")


@pytest.mark.parametrize("loss_class", [nn.MSELoss, nn.BCELoss, nn.BCEWithLogitsLoss])
def test_elementwise_losses_refuse_mismatched_shapes(loss_class):
    with pytest.raises(ValueError, match=rf"{loss_class.__name__}.*\(4, 1\).*\(4,\)"):
        loss_class()(np.full((4, 1), 0.5), np.ones(4))


@pytest.mark.parametrize("logits_shape, target", [
    ((4, 3), np.zeros(5, int)),
    ((4, 3), np.zeros((4, 1), int)),
    ((4, 3), np.zeros((4, 2))),
    ((4, 3), np.zeros(4)),  # float class indices are taken as probabilities: wrong shape
])
def test_cross_entropy_refuses_mismatched_shapes(logits_shape, target):
    with pytest.raises(ValueError, match=rf"CrossEntropyLoss.*{target.shape}.*\(4, 3\)"):
        nn.CrossEntropyLoss()(np.zeros(logits_shape), target)


@pytest.mark.parametrize("bad", [3, -1])
def test_cross_entropy_refuses_out_of_range_classes(bad):
    with pytest.raises(ValueError, match=rf"CrossEntropyLoss: class index {bad} out of range "
                                         r"for 3 classes.*\(2, 3\).*\(2,\)"):
        nn.CrossEntropyLoss()(np.zeros((2, 3)), np.array([0, bad]))


def test_cross_entropy_refuses_scalar_logits():
    with pytest.raises(ValueError, match="class axis"):
        nn.CrossEntropyLoss()(np.float64(1.0), np.array(0))


def test_bce_refuses_values_outside_zero_one():
    with pytest.raises(ValueError, match="BCELoss.*BCEWithLogitsLoss"):
        nn.BCELoss()(np.array([0.5, 1.5]), np.array([0.0, 1.0]))


def test_loss_repr_shows_non_default_reduction():
    assert repr(nn.MSELoss()) == "MSELoss()"
    assert repr(nn.CrossEntropyLoss("sum")) == "CrossEntropyLoss(reduction='sum')"


@settings(max_examples=30, deadline=None)
@given(logits=hnp.arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(2, 5)),
                         elements=st.floats(-50, 50)),
       shift=st.floats(-1000, 1000), data=st.data())
def test_cross_entropy_ignores_a_constant_added_to_the_logits(logits, shift, data):
    classes = data.draw(hnp.arrays(np.int64, logits.shape[:1],
                                   elements=st.integers(0, logits.shape[1] - 1)))
    loss = nn.CrossEntropyLoss("none")
    np.testing.assert_allclose(loss(logits + shift, classes).data, loss(logits, classes).data,
                               rtol=1e-9, atol=1e-9)
    assert np.all(loss(logits, classes).data >= 0)
