"""Layers: Linear, Sequential, Flatten, activations, Dropout (values, gradients, modes)."""
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd_lite as ag
import nn

rng = np.random.default_rng(0)
finite = st.floats(-5, 5, allow_nan=False, width=64)
small_arrays = hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=4),
                          elements=finite)


# ---- Linear ----------------------------------------------------------------------------------
@pytest.mark.parametrize("batch_shape", [(), (5,), (2, 3)])
def test_linear_value_and_gradients_match_closed_forms(batch_shape):
    rng = np.random.default_rng(0)
    layer = nn.Linear(3, 4, rng=rng)
    x = ag.tensor(rng.normal(size=batch_shape + (3,)), requires_grad=True)
    upstream = rng.normal(size=batch_shape + (4,))
    y = layer(x)
    W, b = layer.weight.data, layer.bias.data
    np.testing.assert_allclose(y.data, x.data @ W + b, rtol=1e-14)
    (y * upstream).sum().backward()
    xs, gs = x.data.reshape(-1, 3), upstream.reshape(-1, 4)
    np.testing.assert_allclose(layer.weight.grad, xs.T @ gs, rtol=1e-12)
    np.testing.assert_allclose(layer.bias.grad, gs.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(x.grad, upstream @ W.T, rtol=1e-12)


def test_linear_input_gradient_passes_gradcheck():
    layer = nn.Linear(3, 2, rng=np.random.default_rng(1))
    assert ag.gradcheck(lambda x: ag.tanh(layer(x)), np.random.default_rng(2).normal(size=(4, 3)))


def test_linear_shapes_and_initialisation_bounds():
    layer = nn.Linear(16, 5, rng=np.random.default_rng(0))
    assert layer.weight.shape == (16, 5) and layer.bias.shape == (5,)
    bound = 1 / np.sqrt(16)
    for p in (layer.weight, layer.bias):
        assert p.dtype == np.float64 and np.all(np.abs(p.data) <= bound)
    big = nn.Linear(100, 200, rng=np.random.default_rng(0)).weight.data
    # uniform(-b, b) has standard deviation b / sqrt(3)
    assert abs(big.std() - 0.1 / np.sqrt(3)) < 0.002 and abs(big.mean()) < 0.002


def test_linear_draws_weight_then_bias_from_rng_or_global_state():
    expected = np.random.default_rng(7).uniform(-0.5, 0.5, size=4 * 3 + 3)
    layer = nn.Linear(4, 3, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(layer.weight.data.ravel(), expected[:12])
    np.testing.assert_array_equal(layer.bias.data, expected[12:])
    np.random.seed(3)
    a = nn.Linear(4, 3)
    np.random.seed(3)
    b = nn.Linear(4, 3)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    assert not np.array_equal(a.weight.data, nn.Linear(4, 3).weight.data)


def test_linear_without_bias_and_in_float32():
    layer = nn.Linear(2, 3, bias=False, dtype=np.float32)
    assert layer.bias is None and [n for n, _ in layer.named_parameters()] == ["weight"]
    y = layer(np.ones((4, 2), np.float32))
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.data, np.ones((4, 2), np.float32) @ layer.weight.data)
    assert repr(layer) == "Linear(in_features=2, out_features=3, bias=False)"


def test_linear_refuses_empty_sizes():
    with pytest.raises(ValueError, match="positive"):
        nn.Linear(0, 3)


# ---- Sequential --------------------------------------------------------------------------
def test_sequential_chains_len_index_slice_iter():
    a, b, c = nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1)
    model = nn.Sequential(a, b, c)
    assert len(model) == 3 and model[0] is a and model[-1] is c and list(model) == [a, b, c]
    head = model[:2]
    assert isinstance(head, nn.Sequential) and list(head) == [a, b]
    x = np.random.default_rng(0).normal(size=(5, 2))
    np.testing.assert_allclose(model(x).data, c(b(a(x))).data, rtol=1e-15)
    assert len(nn.Sequential()) == 0
    np.testing.assert_array_equal(nn.Sequential()(x), x)


def test_sequential_refuses_non_modules():
    with pytest.raises(TypeError, match="position 1"):
        nn.Sequential(nn.ReLU(), np.tanh)


# ---- activations ---------------------------------------------------------------------------
def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


ACTIVATIONS = [
    (nn.Identity(), lambda x: x),
    (nn.ReLU(), lambda x: np.maximum(x, 0)),
    (nn.Tanh(), np.tanh),
    (nn.Sigmoid(), _sigmoid),
    (nn.Softmax(), lambda x: _softmax(x, -1)),
    (nn.Softmax(axis=0), lambda x: _softmax(x, 0)),
    (nn.LogSoftmax(), lambda x: np.log(_softmax(x, -1))),
    (nn.LogSoftmax(axis=0), lambda x: np.log(_softmax(x, 0))),
]


@pytest.mark.parametrize("module, reference", [pytest.param(m, f, id=repr(m)) for m, f in ACTIVATIONS])
@settings(max_examples=20, deadline=None)
@given(x=small_arrays)
def test_activation_values_and_gradients(module, reference, x):
    np.testing.assert_allclose(module(x).data, reference(x), rtol=1e-12, atol=1e-12)
    if isinstance(module, nn.ReLU):
        x = np.where(np.abs(x) < 1e-3, 0.5, x)  # finite differences across the kink are wrong
    if not isinstance(module, nn.Identity):
        assert ag.gradcheck(module, x)


def test_activations_are_stable_at_large_inputs():
    x = np.array([[-1000.0, 0.0, 1000.0]])
    np.testing.assert_allclose(nn.Sigmoid()(x).data, [[0.0, 0.5, 1.0]])
    np.testing.assert_allclose(nn.Softmax()(x).data, [[0.0, 0.0, 1.0]])
    np.testing.assert_allclose(nn.LogSoftmax()(x).data, [[-2000.0, -1000.0, 0.0]])


def test_activation_reprs():
    assert [repr(m) for m in (nn.ReLU(), nn.Softmax(axis=0), nn.LogSoftmax(), nn.Dropout(0.25))] \
        == ["ReLU()", "Softmax(axis=0)", "LogSoftmax(axis=-1)", "Dropout(p=0.25)"]


# ---- Dropout ---------------------------------------------------------------------------------
def test_dropout_statistics_in_training_mode():
    drop = nn.Dropout(0.3, rng=np.random.default_rng(0))
    y = drop(np.ones((200, 500))).data
    kept = y != 0
    np.testing.assert_allclose(y[kept], 1 / 0.7)  # survivors scaled by 1/(1-p)
    assert abs(kept.mean() - 0.7) < 0.005            # 100000 Bernoulli draws: sd 0.0015
    assert abs(y.mean() - 1.0) < 0.01                 # the expectation is unchanged


def test_dropout_gradient_is_the_scaled_mask():
    drop = nn.Dropout(0.5, rng=np.random.default_rng(1))
    x = ag.tensor(np.ones((4, 6)), requires_grad=True)
    y = drop(x)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, y.data)  # y = x * mask and x = 1


def test_dropout_is_identity_in_eval_mode_and_for_p_zero():
    x = np.random.default_rng(0).normal(size=(3, 4))
    drop = nn.Dropout(0.9)
    drop.eval()
    assert drop(x) is x
    assert nn.Dropout(0.0)(x) is x
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
    model.eval()
    np.testing.assert_array_equal(model(x).data, model[0](x).data)


def test_dropout_p_one_zeroes_everything_and_keeps_float32():
    y = nn.Dropout(1.0)(np.ones(5, np.float32))
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y.data, np.zeros(5))
    assert nn.Dropout(0.5)(np.ones(5, np.float32)).dtype == np.float32


def test_dropout_refuses_bad_p():
    with pytest.raises(ValueError, match="1.5"):
        nn.Dropout(1.5)


@pytest.mark.parametrize("shape, message", [
    ((32, 63), r"Linear\(in_features=64\): input has 63 features \(shape \(32, 63\)\)"),
    ((), r"Linear\(in_features=64\): input has no feature axis \(shape \(\)\)"),
    ((2, 3, 65), r"input has 65 features \(shape \(2, 3, 65\)\)"),
])
def test_linear_names_itself_when_the_input_does_not_fit(shape, message):
    with pytest.raises(ValueError, match=message):
        nn.Linear(64, 2)(np.ones(shape))


@pytest.mark.parametrize("start, end, shape, expected", [
    (1, -1, (2, 3, 4, 5), (2, 60)),
    (0, -1, (2, 3, 4), (24,)),
    (1, 2, (2, 3, 4, 5), (2, 12, 5)),
    (-2, -1, (2, 3, 4), (2, 12)),
    (1, 1, (2, 3), (2, 3)),
    (1, -1, (2, 0, 3), (2, 0)),
])
def test_flatten_shapes_and_gradient(start, end, shape, expected):
    x = ag.tensor(rng.normal(size=shape), requires_grad=True)
    y = nn.Flatten(start, end)(x)
    assert y.shape == expected
    np.testing.assert_array_equal(y.data.ravel(), x.data.ravel())  # row-major order kept
    (y * y).sum().backward()
    np.testing.assert_array_equal(x.grad, 2 * x.data)


@pytest.mark.parametrize("start, end, shape", [(1, -1, (3,)), (2, 1, (2, 3, 4)), (0, 5, (2, 3))])
def test_flatten_refuses_axes_the_input_lacks(start, end, shape):
    with pytest.raises(ValueError, match=rf"Flatten\(start_axis={start}, end_axis={end}\).*"
                                         rf"{re.escape(str(shape))}"):
        nn.Flatten(start, end)(np.ones(shape))


# ---- Embedding --------------------------------------------------------------------------
def test_embedding_looks_up_rows_for_indices_of_any_shape():
    emb = nn.Embedding(10, 3, rng=np.random.default_rng(0))
    assert {k: v.shape for k, v in emb.state_dict().items()} == {"weight": (10, 3)}
    np.testing.assert_array_equal(emb.weight.data, np.random.default_rng(0).standard_normal((10, 3)))
    index = np.array([[1, 4, 4], [0, 9, 1]])
    np.testing.assert_array_equal(emb(index).data, emb.weight.data[index])
    assert emb(np.array(7)).shape == (3,)


def test_embedding_gradient_accumulates_repeated_indices():
    emb = nn.Embedding(5, 2)
    index = np.array([[1, 3, 1], [1, 0, 3]])
    g = np.arange(12.0).reshape(2, 3, 2)
    (emb(index) * g).sum().backward()
    expected = np.zeros((5, 2))
    for position, row in np.ndenumerate(index):
        expected[row] += g[position]
    np.testing.assert_allclose(emb.weight.grad, expected)


def test_embedding_padding_row_starts_at_zero_and_gets_no_gradient():
    emb = nn.Embedding(6, 3, padding_idx=-1)  # the last row, as PyTorch counts
    assert emb.padding_idx == 5
    np.testing.assert_array_equal(emb.weight.data[5], np.zeros(3))
    with ag.no_grad():
        emb.weight.data[5] = 7.0  # the row's value is still what the lookup returns
    index = np.array([5, 2, 5, 0])
    y = emb(index)
    np.testing.assert_array_equal(y.data[0], [7.0, 7.0, 7.0])
    y.sum().backward()
    np.testing.assert_array_equal(emb.weight.grad[5], np.zeros(3))
    np.testing.assert_array_equal(emb.weight.grad[2], np.ones(3))


def test_embedding_errors_name_the_layer():
    emb = nn.Embedding(4, 2)
    with pytest.raises(IndexError, match=re.escape("Embedding(num_embeddings=4): index 4 is out of range")):
        emb(np.array([0, 4]))
    with pytest.raises(IndexError, match="index -1"):
        emb(np.array([-1]))
    with pytest.raises(TypeError, match="indices must be integers"):
        emb(np.array([0.5]))
    with pytest.raises(ValueError, match="padding_idx 4"):
        nn.Embedding(4, 2, padding_idx=4)
