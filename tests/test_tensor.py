"""The Tensor and the tape: construction, operands, dtypes, grad mode, in-place safety,
freed graphs, deep graphs, numerical stability, NumPy interoperability and errors."""
from __future__ import annotations

import sys
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


# ---- accumulation, grad mode, freeing ---------------------------------------------------------
def test_gradients_accumulate_and_leaf_grads_are_not_shared():
    x = ag.Tensor([1.0, 2.0], requires_grad=True)
    y = ag.Tensor([3.0, 4.0], requires_grad=True)
    (x + y).sum().backward()
    assert x.grad is not y.grad
    x.grad += 10  # must not leak into y.grad
    assert_close(y.grad, [1.0, 1.0])
    (x * y).sum().backward()
    assert_close(x.grad, [14.0, 15.0])
    assert_close(y.grad, [2.0, 3.0])


def test_no_grad_context_and_decorator():
    x = ag.Tensor([1.0], requires_grad=True)
    assert ag.is_grad_enabled()
    with ag.no_grad():
        assert not ag.is_grad_enabled()
        y = x * 2
    assert ag.is_grad_enabled() and y.grad_fn is None and not y.requires_grad

    @ag.no_grad()
    def double(t):
        return t * 2

    assert double(x).grad_fn is None and ag.is_grad_enabled()
    with pytest.raises(KeyError):
        with ag.no_grad():
            raise KeyError("restored on exceptions too")
    assert ag.is_grad_enabled()


def test_no_record_when_no_input_requires_grad():
    y = ag.Tensor([1.0, 2.0]) * 3
    assert y.grad_fn is None and not y.requires_grad


def test_second_backward_needs_retain_graph():
    x = ag.Tensor([1.0, 2.0], requires_grad=True)
    loss = (ag.exp(x) * x).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        loss.backward()


def test_retain_graph_lets_gradients_accumulate_again():
    x = ag.Tensor([1.0, 2.0], requires_grad=True)
    loss = (ag.exp(x) * x).sum()
    loss.backward(retain_graph=True)
    first = x.grad.copy()
    loss.backward()
    assert_close(x.grad, 2 * first)


def test_backward_frees_saved_operands():
    x = ag.Tensor([1.0, 2.0], requires_grad=True)
    h = ag.tanh(x)
    loss = (h * h).sum()
    loss.backward()
    assert h.grad_fn.saved is None and loss.grad_fn.saved is None
    assert h.grad_fn.inputs == (x,)  # the structure stays readable


# ---- in-place operations --------------------------------------------------------------------------
@pytest.mark.parametrize("symbol", ["+=", "-=", "*=", "/="])
def test_inplace_operators_mutate_the_same_array(symbol):
    t = ag.Tensor(np.array([1.0, 2.0, 4.0]))
    array = t.data
    expected = {"+=": array + 2, "-=": array - 2, "*=": array * 2, "/=": array / 2}[symbol]
    before = t._version
    exec(f"t {symbol} 2", {}, {"t": t})
    assert t.data is array and t._version == before + 1
    assert_close(array, expected)


def test_backward_through_an_operand_modified_in_place_raises_naming_the_op():
    w = ag.Tensor([1.0, 2.0], requires_grad=True)
    x = ag.Tensor([3.0, 4.0])
    loss = (w * x).sum()
    x += 1  # multiply saved x for w's gradient
    with pytest.raises(RuntimeError, match="multiply"):
        loss.backward()


def test_modified_output_that_a_rule_reads_is_detected():
    x = ag.Tensor([0.5, 1.0], requires_grad=True)
    y = ag.exp(x)          # exp's rule reads its output y ...
    z = y * 2              # (multiply's rule for y reads only the 2)
    with ag.no_grad():
        y *= 3             # ... which changes now
    with pytest.raises(RuntimeError, match="`exp` needs its output"):
        z.sum().backward()


def test_optimizer_style_update_then_fresh_forward():
    w = ag.Tensor([1.0, -1.0], requires_grad=True)
    x = np.array([2.0, 3.0])
    for _ in range(3):
        loss = ((w * x).sum() - 1) ** 2
        loss.backward()
        with ag.no_grad():
            w -= 0.01 * w.grad
        w.grad = None
    expected = np.array([1.0, -1.0])
    for _ in range(3):
        residual = expected @ x - 1
        expected = expected - 0.01 * 2 * residual * x
    assert_close(w.data, expected)


def test_copy_writes_in_place_and_invalidates_saved_graphs():
    w = ag.Tensor([1.0, 2.0], requires_grad=True)
    array = w.data
    loss = (w * w).sum()
    with pytest.raises(RuntimeError, match="no_grad"):
        w.copy_([5.0, 6.0])
    with ag.no_grad():
        w.copy_(np.array([5.0, 6.0]))
    assert w.data is array
    assert_close(array, [5.0, 6.0])
    with pytest.raises(RuntimeError, match="multiply"):
        loss.backward()
    with pytest.raises(ValueError, match=r"copy_.*\(2,\)"):
        ag.Tensor([1.0, 2.0]).copy_(np.ones(3))


def test_inplace_on_leaf_that_requires_grad_is_refused_while_recording():
    w = ag.Tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        w += 1
    assert_close(w.data, [1.0])


def test_inplace_on_intermediate_is_recorded_correctly():
    x_value = np.array([0.3, -0.7, 1.1])

    def f(v):
        h = ag.tanh(v)
        h *= v        # h = tanh(v) * v, recorded
        h += 1
        return (h * h).sum()

    x = ag.Tensor(x_value, requires_grad=True)
    f(x).backward()
    reference = lambda v: np.sum((np.tanh(v) * v + 1) ** 2)
    assert_close(x.grad, numeric_gradient(reference, x_value), rtol=1e-6)


# ---- depth, stability -----------------------------------------------------------------------------
def test_graph_of_depth_100000_at_the_default_recursion_limit():
    assert sys.getrecursionlimit() <= 10_000
    x = ag.Tensor(np.full(3, 0.5), requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.00001
    y.sum().backward()
    assert_close(x.grad, np.full(3, 1.00001 ** 100_000), rtol=1e-9)


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


# ---- NumPy interoperability -----------------------------------------------------------------------
A = RNG.standard_normal((3, 4))
B = RNG.standard_normal((4, 2))
NUMPY_CALLS = {
    "np.add": lambda a: np.add(a, 1.0), "np.multiply": lambda a: np.multiply(2.0, a),
    "np.exp": np.exp, "np.log": lambda a: np.log(a * a + 1), "np.tanh": np.tanh,
    "np.maximum": lambda a: np.maximum(a, 0), "np.matmul": lambda a: np.matmul(a, B),
    "np.sum": lambda a: np.sum(a, axis=0), "np.mean": lambda a: np.mean(a, axis=(0, 1)),
    "np.dot": lambda a: np.dot(a, B), "np.concatenate": lambda a: np.concatenate([a, a * 2]),
    "np.stack": lambda a: np.stack([a, a], axis=-1), "np.where": lambda a: np.where(A > 0, a, 0),
    "np.reshape": lambda a: np.reshape(a, (2, 6)), "np.transpose": np.transpose,
    "np.clip": lambda a: np.clip(a, -0.5, 0.5), "np.max": lambda a: np.max(a, axis=1),
    "np.var": lambda a: np.var(a, axis=1, ddof=1), "np.sqrt": lambda a: np.sqrt(a * a + 1),
    "np.abs": np.abs, "np.power": lambda a: np.power(a, 2), "np.outer": lambda a: np.outer(a[0], a[1]),
}


@pytest.mark.parametrize("name", list(NUMPY_CALLS))
def test_numpy_functions_record_and_return_tensors(name):
    call = NUMPY_CALLS[name]
    t = ag.Tensor(A, requires_grad=True)
    out = call(t)
    assert isinstance(out, ag.Tensor) and out.grad_fn is not None
    assert_close(out.data, call(A))
    out.sum().backward()
    assert_close(t.grad, numeric_gradient(lambda v: np.sum(call(v)), A), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("call,name", [
    (lambda t: np.cumsum(t), "cumsum"), (lambda t: np.linalg.inv(t), "linalg.inv"),
    (lambda t: np.add.reduce(t), "add.reduce"), (lambda t: np.sort(t), "sort"),
    (lambda t: np.exp(t, out=np.empty(2)), "exp with out="),
])
def test_unsupported_numpy_functions_raise_naming_them(call, name):
    t = ag.Tensor(np.ones((2, 2)), requires_grad=True)
    with pytest.raises(TypeError, match=f"numpy.{name}.*detach"):
        call(t)


def test_non_differentiable_numpy_functions_return_arrays():
    t = ag.Tensor([1.0, -2.0], requires_grad=True)
    assert np.shape(t) == (2,) and np.argmax(t) == 0 and np.allclose(t, [1.0, -2.0])
    assert isinstance(np.isfinite(t), np.ndarray)


def test_implicit_array_conversion_refuses_to_drop_a_gradient():
    with pytest.raises(TypeError, match="detach"):
        np.asarray(ag.Tensor([1.0], requires_grad=True))
    assert_close(np.asarray(ag.Tensor([1.0])), [1.0])


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


def test_a_plain_backward_through_indexing_computes_with_arrays():
    # Rules see arrays in a plain backward (NumPy speed); only create_graph uses Tensors.
    x = ag.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    loss = (x[[0, 0, 1]] * 2).sum()
    (gradient,) = ag.engine.backprop(loss, np.array(1.0), inputs=(x,))
    assert type(gradient) is np.ndarray
    assert_close(gradient, [[4.0] * 3, [2.0] * 3])


def test_a_residual_is_kept_until_backward_and_freed_with_the_node():
    # softmax_cross_entropy's forward leaves its exponentials for the rule (one exp a step).
    z = ag.Tensor(RNG.standard_normal((4, 3)), requires_grad=True)
    losses = ag.softmax_cross_entropy(z, np.array([0, 2, 1, 1]))
    assert losses.grad_fn.residual is not None
    losses.sum().backward()
    assert losses.grad_fn.residual is None
    softmax = np.exp(z.data) / np.exp(z.data).sum(axis=1, keepdims=True)
    assert_close(z.grad, softmax - np.eye(3)[[0, 2, 1, 1]])
