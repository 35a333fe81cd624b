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


def classes_last(z):
    """PyTorch's layout (N, C, d1, ...) -> (N, d1, ..., C); (C,) and (N, C) unchanged."""
    return np.moveaxis(z, 1, -1) if z.ndim > 2 else z


def classes_at_1(z):
    return np.moveaxis(z, -1, 1) if z.ndim > 2 else z


@pytest.mark.parametrize("shape", [(3,), (6, 4), (2, 3, 5), (2, 4, 3, 2)])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_cross_entropy_with_class_indices(shape, reduction):
    z = rng.normal(size=shape)
    C = shape[1] if len(shape) > 1 else shape[0]
    classes = rng.integers(0, C, size=shape[:1] + shape[2:] if len(shape) > 1 else ())
    one_hot = classes_at_1(np.eye(C)[classes])  # the class axis at 1, as the logits'
    n = classes.size if reduction == "mean" else 1
    value, grad = _value_and_grad(nn.CrossEntropyLoss(reduction=reduction), z, classes)
    log_p = classes_at_1(_log_softmax(classes_last(z)))
    np.testing.assert_allclose(value, -(one_hot * log_p).sum() / n, rtol=1e-13)
    np.testing.assert_allclose(grad, (np.exp(log_p) - one_hot) / n, rtol=1e-12, atol=1e-15)


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
    (nn.L1Loss, lambda: (rng.normal(size=(3, 2)), rng.normal(size=(3, 2)))),
    (nn.SmoothL1Loss, lambda: (rng.normal(size=(3, 2)), rng.normal(size=(3, 2)))),
    (nn.HuberLoss, lambda: (rng.normal(size=(3, 2)) * 2, rng.normal(size=(3, 2)))),
    (nn.KLDivLoss, lambda: (np.log(rng.dirichlet(np.ones(4), 3)), rng.dirichlet(np.ones(4), 3))),
    (nn.NLLLoss, lambda: (np.log(rng.dirichlet(np.ones(4), 3)), np.array([0, 3, 1]))),
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
                                        nn.CrossEntropyLoss, nn.NLLLoss, nn.L1Loss,
                                        nn.SmoothL1Loss, nn.HuberLoss, nn.KLDivLoss])
def test_unknown_reduction(loss_class):
    with pytest.raises(ValueError, match=f"{loss_class.__name__}.*'average'"):
        loss_class(reduction="average")


@pytest.mark.parametrize("loss_class", [nn.MSELoss, nn.BCELoss, nn.BCEWithLogitsLoss, nn.L1Loss,
                                        nn.SmoothL1Loss, nn.HuberLoss, nn.KLDivLoss])
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


# ---- regression losses and KL divergence: closed forms ---------------------------------------------
def numpy_huber(d, width, scale):
    a = np.abs(d)
    return np.where(a < width, scale * 0.5 * d * d, scale * width * (a - 0.5 * width))


def numpy_kl(log_q, target, log_target):
    if log_target:
        return np.exp(target) * (target - log_q)
    return np.where(target > 0, target * np.log(np.where(target > 0, target, 1.0)), 0.0) \
        - target * log_q


ELEMENTWISE = [
    ("L1", lambda r: nn.L1Loss(r), lambda p, y: np.abs(p - y)),
    ("SmoothL1 beta=1", lambda r: nn.SmoothL1Loss(r), lambda p, y: numpy_huber(p - y, 1.0, 1.0)),
    ("SmoothL1 beta=0.3", lambda r: nn.SmoothL1Loss(r, beta=0.3),
     lambda p, y: numpy_huber(p - y, 0.3, 1 / 0.3)),
    ("SmoothL1 beta=0", lambda r: nn.SmoothL1Loss(r, beta=0.0), lambda p, y: np.abs(p - y)),
    ("Huber delta=1", lambda r: nn.HuberLoss(r), lambda p, y: numpy_huber(p - y, 1.0, 1.0)),
    ("Huber delta=2.5", lambda r: nn.HuberLoss(r, delta=2.5),
     lambda p, y: numpy_huber(p - y, 2.5, 1.0)),
]


@pytest.mark.parametrize("name, make, reference", ELEMENTWISE, ids=[e[0] for e in ELEMENTWISE])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", SHAPES)
def test_regression_losses(name, make, reference, reduction, shape):
    p, y = rng.normal(scale=2, size=shape), rng.normal(scale=2, size=shape)
    each = reference(p, y)
    expected = {"mean": each.mean(), "sum": each.sum(), "none": each}[reduction]
    np.testing.assert_allclose(make(reduction)(p, y).data, expected, rtol=1e-13)
    assert ag.gradcheck(lambda p, y: make(reduction)(p, y), p, y)


@pytest.mark.parametrize("log_target", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none", "batchmean"])
@pytest.mark.parametrize("shape", [(5,), (4, 3), (2, 3, 4)])
def test_kl_divergence(log_target, reduction, shape):
    log_q = np.log(rng.dirichlet(np.ones(shape[-1]), size=shape[:-1]))
    target = rng.dirichlet(np.ones(shape[-1]), size=shape[:-1])
    if log_target:
        target = np.log(target)
    each = numpy_kl(log_q, target, log_target)
    expected = {"mean": each.mean(), "sum": each.sum(), "none": each,
                "batchmean": each.sum() / shape[0]}[reduction]
    loss = nn.KLDivLoss(reduction, log_target=log_target)
    np.testing.assert_allclose(loss(log_q, target).data, expected, rtol=1e-12, atol=1e-15)
    assert ag.gradcheck(lambda q, t: loss(q, t), log_q, target)


def test_kl_divergence_of_a_zero_target_is_zero_with_finite_gradients():
    target = ag.tensor(np.array([0.0, 0.25, 0.75]), requires_grad=True)
    log_q = ag.tensor(np.log([0.2, 0.3, 0.5]), requires_grad=True)
    loss = nn.KLDivLoss("sum")(log_q, target)
    loss.backward()
    expected = 0.25 * np.log(0.25 / 0.3) + 0.75 * np.log(0.75 / 0.5)
    assert loss.item() == pytest.approx(expected, rel=1e-14)
    assert np.all(np.isfinite(target.grad)) and log_q.grad[0] == 0.0


# ---- classification: weights, ignore_index, label smoothing, class axis 1 ---------------------------
def numpy_class_loss(log_p, target, weight=None, ignore_index=-100, smoothing=0.0,
                     reduction="mean"):
    """PyTorch's documented NLL / cross-entropy, from log-probabilities (class axis 1, or 0
    for an unbatched (C,)), by loops over the samples."""
    axis = 1 if log_p.ndim > 1 else 0
    C = log_p.shape[axis]
    w = np.ones(C) if weight is None else weight
    rows = np.moveaxis(log_p, axis, -1).reshape(-1, C)
    if target.dtype.kind == "i":
        losses, counted = [], []
        for row, y in zip(rows, target.ravel()):
            if y == ignore_index:
                losses.append(0.0)
                counted.append(0.0)
                continue
            smooth = -(w * row).sum()
            losses.append((1 - smoothing) * -w[y] * row[y] + smoothing / C * smooth)
            counted.append(w[y])
        losses, denominator = np.array(losses).reshape(target.shape), sum(counted)
    else:
        q = np.moveaxis(target, axis, -1).reshape(-1, C) * (1 - smoothing) + smoothing / C
        losses = -(q * w * rows).sum(axis=1).reshape(target.shape[:axis] + target.shape[axis + 1:])
        denominator = losses.size
    return {"mean": losses.sum() / denominator if denominator else np.nan, "sum": losses.sum(),
            "none": losses}[reduction]


def numpy_log_softmax(z):
    return classes_at_1(_log_softmax(classes_last(z))) if z.ndim > 1 else _log_softmax(z)


CLASS_SHAPES = [(4,), (6, 4), (3, 4, 5), (2, 4, 3, 2)]


def class_targets(shape, ignore_index):
    """Integer targets for logits of ``shape`` (class axis 1), some of them ignore_index."""
    C = shape[1] if len(shape) > 1 else shape[0]
    y = rng.integers(0, C, size=shape[:1] + shape[2:] if len(shape) > 1 else ())
    if y.size > 2:
        y.flat[::3] = ignore_index
    return y


@pytest.mark.parametrize("shape", CLASS_SHAPES)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore_index", [-100, 1])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_with_class_indices_weights_ignore_and_smoothing(
        shape, weighted, ignore_index, smoothing, reduction):
    C = shape[1] if len(shape) > 1 else shape[0]
    z, y = rng.normal(scale=2, size=shape), class_targets(shape, ignore_index)
    weight = rng.uniform(0.2, 2.0, C) if weighted else None
    loss = nn.CrossEntropyLoss(weight=weight, ignore_index=ignore_index,
                               label_smoothing=smoothing, reduction=reduction)
    expected = numpy_class_loss(numpy_log_softmax(z), y, weight, ignore_index, smoothing,
                                reduction)
    np.testing.assert_allclose(loss(z, y).data, expected, rtol=1e-12, atol=1e-15)
    if y.size > 1 or ignore_index != 1:  # (an unbatched, ignored target has NaN mean)
        assert ag.gradcheck(lambda z: loss(z, y), z)


@pytest.mark.parametrize("shape", CLASS_SHAPES)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore_index", [-100, 1])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss(shape, weighted, ignore_index, reduction):
    C = shape[1] if len(shape) > 1 else shape[0]
    log_p, y = numpy_log_softmax(rng.normal(size=shape)), class_targets(shape, ignore_index)
    weight = rng.uniform(0.2, 2.0, C) if weighted else None
    loss = nn.NLLLoss(weight=weight, ignore_index=ignore_index, reduction=reduction)
    expected = numpy_class_loss(log_p, y, weight, ignore_index, 0.0, reduction)
    np.testing.assert_allclose(loss(log_p, y).data, expected, rtol=1e-13, atol=1e-15)
    if y.size > 1 or ignore_index != 1:
        assert ag.gradcheck(lambda x: loss(x, y), log_p)


@pytest.mark.parametrize("shape", CLASS_SHAPES)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_with_probability_targets_weights_and_smoothing(
        shape, weighted, smoothing, reduction):
    C = shape[1] if len(shape) > 1 else shape[0]
    z = rng.normal(size=shape)
    q = numpy_log_softmax(rng.normal(size=shape))
    q = np.exp(q)  # probabilities along the class axis
    weight = rng.uniform(0.2, 2.0, C) if weighted else None
    loss = nn.CrossEntropyLoss(weight=weight, label_smoothing=smoothing, reduction=reduction)
    expected = numpy_class_loss(numpy_log_softmax(z), q, weight, smoothing=smoothing,
                                reduction=reduction)
    np.testing.assert_allclose(loss(z, q).data, expected, rtol=1e-12, atol=1e-15)
    assert ag.gradcheck(lambda z, q: loss(z, q), z, q)  # soft targets get gradients too


def test_plain_integer_targets_on_2d_logits_take_the_fused_fast_path(monkeypatch):
    calls = []
    fused = ag.softmax_cross_entropy

    def spy(logits, target):
        calls.append((logits, target))
        return fused(logits, target)

    monkeypatch.setattr(ag, "softmax_cross_entropy", spy)
    z, y = ag.tensor(rng.normal(size=(8, 5)), requires_grad=True), rng.integers(0, 5, 8)
    nn.CrossEntropyLoss()(z, y)
    assert len(calls) == 1 and calls[0][0] is z and calls[0][1] is y  # no copy, no reshaping


def test_cross_entropy_options_are_stable_for_logits_of_magnitude_1000():
    z = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, 1000.0]])
    loss = nn.CrossEntropyLoss(weight=np.array([1.0, 2.0, 3.0]), label_smoothing=0.1)
    value, grad = _value_and_grad(loss, z, np.array([1, 2]))
    expected = numpy_class_loss(numpy_log_softmax(z), np.array([1, 2]), np.array([1.0, 2, 3]),
                                smoothing=0.1)
    assert np.isfinite(value) and value == pytest.approx(expected, rel=1e-14)
    assert np.all(np.isfinite(grad))


def test_class_weights_are_a_buffer_and_keep_float32():
    loss = nn.CrossEntropyLoss(weight=[1, 2, 3], ignore_index=0, label_smoothing=0.1)
    np.testing.assert_array_equal(dict(loss.named_buffers())["weight"], [1, 2, 3])
    z = rng.normal(size=(4, 3, 2)).astype(np.float32)
    y = np.array([[0, 1], [2, 2], [1, 0], [1, 1]])
    assert loss(z, y).dtype == np.float32
    assert nn.NLLLoss(weight=[1.0, 2.0, 3.0])(z, y).dtype == np.float32
    assert nn.SmoothL1Loss()(z, np.zeros_like(z)).dtype == np.float32


def test_loss_reprs_show_non_default_settings():
    assert repr(nn.CrossEntropyLoss(ignore_index=0, label_smoothing=0.1)) == \
        "CrossEntropyLoss(ignore_index=0, label_smoothing=0.1)"
    assert repr(nn.SmoothL1Loss(beta=0.5)) == "SmoothL1Loss(beta=0.5)"
    assert repr(nn.KLDivLoss("batchmean", log_target=True)) == \
        "KLDivLoss(log_target=True, reduction='batchmean')"
    assert repr(nn.HuberLoss()) == "HuberLoss()"


@pytest.mark.parametrize("make, args, message", [
    (lambda: nn.CrossEntropyLoss(weight=[1.0, 2.0]), ((3, 3), np.zeros(3, int)),
     r"weight has 2 entries, the logits 3 classes \(shape \(3, 3\)\)"),
    (lambda: nn.CrossEntropyLoss(weight=np.ones((3, 1))), None, "weight must be a 1-d array"),
    (lambda: nn.CrossEntropyLoss(label_smoothing=1.5), None, "label_smoothing must be in"),
    (lambda: nn.CrossEntropyLoss(), ((2, 3, 4), np.zeros((2, 3), int)),
     r"integer class targets of shape \(2, 3\) do not fit logits of shape \(2, 3, 4\): "
     r"expected target shape \(2, 4\)"),
    (lambda: nn.CrossEntropyLoss(), ((2, 3, 4), np.zeros((2, 4, 3))),
     r"probability targets of shape \(2, 4, 3\) do not match logits of shape \(2, 3, 4\) "
     r"\(integer class targets would have shape \(2, 4\)\)"),
    (lambda: nn.CrossEntropyLoss(ignore_index=5), ((2, 3, 4), np.full((2, 4), 3)),
     r"class index 3 out of range for 3 classes \(logits shape \(2, 3, 4\)"),
    (lambda: nn.NLLLoss(), ((2, 3), np.zeros(2)), "NLLLoss: targets must be integer class "
                                                   "indices, got dtype float64"),
    (lambda: nn.NLLLoss(), ((2, 3), np.array([0, 7])),
     r"NLLLoss: class index 7 out of range for 3 classes \(input shape \(2, 3\)"),
    (lambda: nn.NLLLoss(), ((), np.array(0)), "NLLLoss: input must have a class axis"),
    (lambda: nn.SmoothL1Loss(beta=-1), None, "beta must be >= 0"),
    (lambda: nn.HuberLoss(delta=0), None, "delta must be > 0"),
    (lambda: nn.MSELoss("batchmean"), None, "MSELoss: unknown reduction 'batchmean'"),
])
def test_classification_and_new_loss_errors(make, args, message):
    with pytest.raises(ValueError, match=message):
        loss = make()
        shape, target = args
        loss(np.zeros(shape), target)


def test_ignored_targets_out_of_range_are_accepted_and_a_string_first_argument_is_the_reduction():
    z, y = rng.normal(size=(3, 4)), np.array([1, -100, 3])
    kept = nn.CrossEntropyLoss("sum")(z[[0, 2]], y[[0, 2]]).item()
    assert nn.CrossEntropyLoss("sum")(z, y).item() == pytest.approx(kept, rel=1e-14)
    assert nn.NLLLoss("none")(z, y).data[1] == 0.0
