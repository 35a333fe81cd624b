"""The Tensor: construction, operands on both sides, dtypes, numerical stability, kink
conventions and error messages."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import autograd_lite as ag
from oracles import assert_close, numeric_gradient

RNG = np.random.default_rng(42)


# ---- construction and attributes -----------------------------------------------------
def test_construction_follows_numpy_dtype_rules():
    assert ag.tensor(1.5).dtype == np.float64
    assert ag.tensor([1.0, 2.0]).dtype == np.float64
    assert ag.Tensor(np.ones(3, dtype=np.float32)).dtype == np.float32
    assert ag.tensor([1, 2]).dtype.kind == "i"
    t = ag.Tensor([[1.0, 2.0, 3.0]], requires_grad=True, name="w")
    assert (t.shape, t.ndim, t.size, t.name, t.is_leaf, t.grad) == ((1, 3), 2, 3, "w", True, None)
    assert t.T.shape == (3, 1) and isinstance(t.numpy(), np.ndarray)
    assert ag.tensor(2.5).item() == 2.5 and isinstance(ag.tensor(2.5).item(), float)


@pytest.mark.parametrize("data", [[1, 2], np.arange(3), True, np.array([1 + 2j])])
def test_only_floating_tensors_may_require_grad(data):
    with pytest.raises(TypeError, match="floating"):
        ag.Tensor(data, requires_grad=True)


def test_detach_shares_data_without_history():
    x = ag.Tensor([1.0, 2.0], requires_grad=True)
    y = (x * 2).detach()
    assert y.grad_fn is None and not y.requires_grad
    z = x * 3
    assert np.shares_memory(z.detach().data, z.data)


def test_astype_records_and_keeps_dtype():
    x = ag.Tensor(np.ones(3), requires_grad=True)
    y = x.astype(np.float32)
    assert y.dtype == np.float32 and y.grad_fn.name == "astype"


# ---- operands on both sides ---------------------------------------------------------------
OPERANDS = {
    "python float": 2.5, "python int": 3, "numpy scalar": np.float64(1.5),
    "ndarray": np.array([[0.5, -1.0, 2.0]]), "tensor": ag.Tensor([[0.5], [1.5]]),
}
OPERATORS = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
    "/": lambda a, b: a / b, "**": lambda a, b: abs(a) ** b,
}


@pytest.mark.parametrize("symbol", list(OPERATORS))
@pytest.mark.parametrize("operand", list(OPERANDS))
@pytest.mark.parametrize("tensor_on_left", [True, False])
def test_operators_accept_every_operand_kind_on_either_side(symbol, operand, tensor_on_left):
    op, other = OPERATORS[symbol], OPERANDS[operand]
    x = RNG.uniform(0.5, 2.0, size=(2, 3))
    plain_other = other.data if isinstance(other, ag.Tensor) else other
    t = ag.Tensor(x, requires_grad=True)
    out = op(t, other) if tensor_on_left else op(other, t)
    expected = op(x, plain_other) if tensor_on_left else op(plain_other, x)
    assert isinstance(out, ag.Tensor) and out.grad_fn is not None
    assert_close(out.data, expected)
    out.sum().backward()
    f = (lambda v: np.sum(op(v, plain_other))) if tensor_on_left else (lambda v: np.sum(op(plain_other, v)))
    assert_close(t.grad, numeric_gradient(f, x), rtol=1e-6, atol=1e-7)


def test_ndarray_matmul_tensor_records():
    X = RNG.standard_normal((5, 3))
    W = ag.Tensor(RNG.standard_normal((3, 2)), requires_grad=True)
    out = X @ W
    assert isinstance(out, ag.Tensor) and out.grad_fn.name == "matmul"
    out.sum().backward()
    assert_close(W.grad, X.T @ np.ones((5, 2)))
    assert isinstance(W.data.T @ ag.Tensor(X.T), ag.Tensor)  # __rmatmul__ via NumPy's protocol


def test_comparisons_give_masks_without_gradient():
    x = ag.Tensor([-1.0, 2.0, 3.0], requires_grad=True)
    mask = x > 0
    assert isinstance(mask, np.ndarray) and mask.dtype == bool
    assert list(x < 2.5) == [True, True, False] and list(x == x) == [True] * 3
    ag.sum(x[mask] * 2).backward()
    assert_close(x.grad, [0.0, 2.0, 2.0])


def test_unary_operators():
    x = ag.Tensor([-1.0, 2.0], requires_grad=True)
    (abs(-x) + (+x)).sum().backward()
    assert_close(x.grad, [0.0, 2.0])


# ---- dtypes ------------------------------------------------------------------------------------
def test_float32_stays_float32_values_and_gradients():
    x = ag.Tensor(RNG.standard_normal((4, 3)).astype(np.float32), requires_grad=True)
    W = ag.Tensor(RNG.standard_normal((3, 5)).astype(np.float32), requires_grad=True)
    h = ag.tanh(x @ W * 2.0 + 1) / 3
    out = ag.log_softmax(h, axis=1).mean() + ag.var(h) + ag.sigmoid(h).max() + ag.logsumexp(h) \
        + (h ** 2).sum() + ag.sqrt(ag.exp(h)).min()
    assert h.dtype == np.float32 and out.dtype == np.float32
    out.backward()
    assert x.grad.dtype == np.float32 and W.grad.dtype == np.float32


def test_python_floats_give_float64():
    x = ag.tensor(2.0, requires_grad=True)
    (x * 3.0).backward()
    assert x.grad.dtype == np.float64 and x.grad.shape == () and x.grad == 3.0


@pytest.mark.parametrize("function", [ag.sigmoid, ag.softmax, ag.log_softmax, ag.logsumexp,
                                      lambda t: ag.logsumexp(t, axis=0, keepdims=True)],
                         ids=["sigmoid", "softmax", "log_softmax", "logsumexp", "logsumexp axis"])
def test_stable_for_inputs_of_magnitude_1000(function):
    x = ag.Tensor(np.array([-1000.0, 0.0, 1000.0, 999.0]), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            out = function(x)
            (out * np.arange(1.0, out.size + 1).reshape(out.shape)).sum().backward()
    assert np.all(np.isfinite(out.data)) and np.all(np.isfinite(x.grad))


def test_softmax_at_large_logits_has_the_exact_limit():
    s = ag.softmax(ag.tensor([1000.0, 0.0, -1000.0]))
    assert_close(s.data, [1.0, 0.0, 0.0])
    assert_close(ag.logsumexp(ag.tensor([1000.0, 1000.0])).data, 1000 + np.log(2))


# ---- kinks ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("function,x,expected", [
    (ag.relu, [-1.0, 0.0, 2.0], [0.0, 0.0, 1.0]),
    (ag.abs, [-1.0, 0.0, 2.0], [-1.0, 0.0, 1.0]),
    (lambda t: ag.max(t), [1.0, 3.0, 3.0], [0.0, 0.5, 0.5]),
    (lambda t: ag.min(t, axis=0), [2.0, 2.0, 2.0], [1 / 3] * 3),
    (lambda t: ag.maximum(t, 1.0), [1.0, 0.0, 2.0], [0.5, 0.0, 1.0]),
    (lambda t: ag.clip(t, 0.0, 1.0), [0.0, 0.5, 1.0, 1.5, -0.5], [1.0, 1.0, 1.0, 0.0, 0.0]),
], ids=["relu at 0", "abs at 0", "max ties", "min three-way tie", "maximum tie", "clip bounds"])
def test_kink_conventions(function, x, expected):
    t = ag.Tensor(x, requires_grad=True)
    function(t).sum().backward()
    assert_close(t.grad, expected)


# ---- errors ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("call,op", [
    (lambda a: a + np.ones(4), "add"), (lambda a: a * np.ones((3, 2)), "multiply"),
    (lambda a: a @ np.ones((4, 2)), "matmul"), (lambda a: np.ones(4) @ a, "matmul"),
    (lambda a: ag.maximum(a, np.ones(5)), "maximum"), (lambda a: a.reshape(4), "reshape"),
    (lambda a: ag.concatenate([a, np.ones(3)]), "concatenate"),
])
def test_incompatible_shapes_name_the_op_and_the_shapes(call, op):
    a = ag.Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(ValueError, match=rf"{op}.*\(2, 3\)"):
        call(a)


def test_backward_on_non_scalar_without_grad_says_so():
    y = ag.Tensor(np.ones(3), requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=r"exactly one element.*\(3,\)"):
        y.backward()


def test_backward_with_grad_of_wrong_shape_says_so():
    x = ag.Tensor(np.ones(3), requires_grad=True)
    y = x * 2
    with pytest.raises(ValueError, match=r"\(2,\).*\(3,\)"):
        y.backward(np.ones(2))
    assert x.grad is None
    y.backward(np.array([1.0, 2.0, 3.0]))
    assert_close(x.grad, [2.0, 4.0, 6.0])
