"""Every entry of the derivative table, over many shapes (hypothesis), against two
oracles: HIPS autograd (values, gradients, second derivatives) and central finite
differences.  Each case is written twice: with autograd_lite and with autograd.numpy."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import autograd
import autograd.numpy as anp
import autograd.scipy.special as asp
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd_lite as ag
from autograd_lite import primitives as P
from autograd_lite.engine import backprop, graph_nodes
from oracles import assert_close, conv_reference, numeric_gradient, pool_reference

FLOATS = st.floats(-2.0, 2.0, allow_nan=False, width=64)
SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)


def arrays(shape, elements=FLOATS):
    return hnp.arrays(np.float64, shape, elements=elements)


def away_from(values: np.ndarray, points, margin: float = 1e-3) -> bool:
    """True when no value is within ``margin`` of a kink (finite differences break there)."""
    return all(np.all(np.abs(np.asarray(values) - p) > margin) for p in points)


@dataclass
class Case:
    name: str
    ours: Callable            # (*Tensors) -> Tensor, written with autograd_lite
    reference: Callable       # (*arrays) -> array, written with autograd.numpy
    inputs: st.SearchStrategy  # -> tuple of float64 arrays
    second_order: bool = True


def one(elements=FLOATS, shapes=SHAPES):
    return shapes.flatmap(lambda s: arrays(s, elements)).map(lambda a: (a,))


def two(elements=FLOATS, second=None):  # second: strategy for the second operand
    pairs = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3)
    return pairs.flatmap(lambda p: st.tuples(arrays(p.input_shapes[0], elements),
                                             arrays(p.input_shapes[1], elements if second is None else second)))


def reduction_inputs():
    """(array, axis, keepdims) with axis None, an int (maybe negative) or a tuple."""
    def axes_for(a):
        if a.ndim == 0:
            return st.just((a, None, False))
        axis = st.one_of(st.none(), st.integers(-a.ndim, a.ndim - 1),
                         st.lists(st.integers(0, a.ndim - 1), min_size=1, unique=True).map(tuple))
        return st.tuples(st.just(a), axis, st.booleans())
    return SHAPES.flatmap(arrays).flatmap(axes_for)


POSITIVE = st.floats(0.2, 3.0)
NONZERO = st.one_of(st.floats(-3.0, -0.3), st.floats(0.3, 3.0))
MATMUL_SHAPES = [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)),
                 ((2, 2, 3), (3, 4)), ((3,), (2, 3, 4)), ((2, 1, 2, 3), (2, 3, 2)), ((1, 3), (3, 1))]

ELEMENTWISE = [
    Case("add", lambda x, y: x + y, lambda x, y: x + y, two()),
    Case("subtract", lambda x, y: x - y, lambda x, y: x - y, two()),
    Case("multiply", lambda x, y: x * y, lambda x, y: x * y, two()),
    Case("divide", lambda x, y: x / y, lambda x, y: x / y, two(FLOATS, NONZERO)),
    Case("power", lambda x, y: x ** y, lambda x, y: x ** y, two(POSITIVE, FLOATS)),
    Case("negative", lambda x: -x, lambda x: -x, one()),
    Case("exp", ag.exp, anp.exp, one()),
    Case("log", ag.log, anp.log, one(POSITIVE)),
    Case("log1p", ag.log1p, anp.log1p, one(POSITIVE)),
    Case("expm1", ag.expm1, anp.expm1, one()),
    Case("sqrt", ag.sqrt, anp.sqrt, one(POSITIVE)),
    Case("sin", ag.sin, anp.sin, one()),
    Case("cos", ag.cos, anp.cos, one()),
    Case("tanh", ag.tanh, anp.tanh, one()),
    Case("abs", ag.abs, anp.abs, one(NONZERO)),
    Case("relu", ag.relu, lambda x: anp.maximum(x, 0.0), one(NONZERO)),
    Case("sigmoid", ag.sigmoid, lambda x: 1 / (1 + anp.exp(-x)), one(st.floats(-8, 8))),
    Case("clip", lambda x: ag.clip(x, -0.5, 0.7), lambda x: anp.clip(x, -0.5, 0.7),
         one(st.floats(-2, 2).filter(lambda v: abs(v + 0.5) > 1e-3 and abs(v - 0.7) > 1e-3))),
    Case("maximum", ag.maximum, anp.maximum, two()),
    Case("minimum", ag.minimum, anp.minimum, two()),
    # HIPS mis-shapes where's gradients under broadcasting, so same shapes here (see below).
    Case("where", lambda x, y: ag.where(x.data > 0, x, y), lambda x, y: anp.where(x > 0, x, y),
         SHAPES.flatmap(lambda s: st.tuples(arrays(s), arrays(s)))),
    Case("square via numpy", np.square, anp.square, one()),
    Case("erf", ag.erf, asp.erf, one(st.floats(-5, 5))),
]


def _reference_logsumexp(x, axis=None, keepdims=False):
    m = anp.max(x, axis=axis, keepdims=True)
    out = anp.log(anp.sum(anp.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else anp.squeeze(out, axis=axis) if axis is not None else anp.reshape(out, ())


REDUCTIONS = {  # name -> (ours, reference); both called as f(x, axis=..., keepdims=...)
    "sum": (ag.sum, anp.sum), "mean": (ag.mean, anp.mean), "max": (ag.max, anp.max),
    "min": (ag.min, anp.min), "var": (ag.var, anp.var),
    "logsumexp": (ag.logsumexp, _reference_logsumexp),
}


def _grad_check_against_oracles(ours, reference, xs, second_order=True, rtol=1e-7):
    """Values, gradients (vs HIPS and finite differences) and second order (vs HIPS)."""
    out = reference(*xs)
    assert np.all(np.isfinite(out)), "test domains are chosen so the reference is finite"
    weights = np.random.default_rng(0).standard_normal(np.shape(out))

    def scalar_ours(*args):
        return ag.sum(ours(*args) * weights)

    def scalar_reference(*args):
        return anp.sum(reference(*args) * weights)

    tensors = [ag.Tensor(x, requires_grad=True) for x in xs]
    value = ours(*tensors)
    assert value.shape == np.shape(out) and value.dtype == np.float64
    assert_close(value.data, out, what="forward value")
    scalar_ours(*tensors).backward()
    for k, x in enumerate(xs):
        expected = autograd.grad(scalar_reference, k)(*xs)
        assert tensors[k].grad.shape == x.shape
        assert_close(tensors[k].grad, expected, rtol=rtol, atol=1e-9, what=f"grad of input {k} vs HIPS")
        numeric = numeric_gradient(
            lambda v: scalar_reference(*[v if j == k else a for j, a in enumerate(xs)]), x)
        assert_close(tensors[k].grad, numeric, rtol=1e-5, atol=1e-6, what=f"grad of input {k} vs FD")
    if second_order:
        hessian_ours = ag.hessian(scalar_ours)(*xs)
        hessian_reference = autograd.hessian(scalar_reference)(*xs)
        assert_close(hessian_ours, hessian_reference, rtol=1e-6, atol=1e-8, what="hessian vs HIPS")


PROFILE = settings(max_examples=25, deadline=None,
                   suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])


@pytest.mark.parametrize("case", ELEMENTWISE, ids=lambda c: c.name)
@PROFILE
@given(data=st.data())
def test_elementwise(case, data):
    xs = data.draw(case.inputs)
    if case.name in ("maximum", "minimum"):
        assume(away_from(np.subtract(*xs), [0.0]))
    if case.name == "where":  # the condition x > 0 flips under finite differences near 0
        assume(away_from(xs[0], [0.0]))
    _grad_check_against_oracles(case.ours, case.reference, xs, case.second_order)


@pytest.mark.parametrize("name", list(REDUCTIONS))
@PROFILE
@given(inputs=reduction_inputs())
def test_reductions(name, inputs):
    x, axis, keepdims = inputs
    ours, reference = REDUCTIONS[name]
    if name in ("max", "min"):  # ties are a kink: keep values distinct
        assume(len(np.unique(np.round(x, 4))) == x.size)
    _grad_check_against_oracles(lambda t: ours(t, axis=axis, keepdims=keepdims),
                                lambda a: reference(a, axis=axis, keepdims=keepdims), (x,))


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
@settings(max_examples=5, deadline=None)
@given(data=st.data())
def test_matmul(shapes, data):
    xs = tuple(data.draw(arrays(s)) for s in shapes)
    _grad_check_against_oracles(ag.matmul, anp.matmul, xs)


AXIS_FUNCTIONS = [
    ("softmax", ag.softmax, lambda x, axis: anp.exp(x - _reference_logsumexp(x, axis, True))),
    ("log_softmax", ag.log_softmax, lambda x, axis: x - _reference_logsumexp(x, axis, True)),
]


@pytest.mark.parametrize("name,ours,reference", AXIS_FUNCTIONS, ids=[a[0] for a in AXIS_FUNCTIONS])
@PROFILE
@given(x=hnp.array_shapes(min_dims=1, max_dims=3, max_side=4).flatmap(arrays), data=st.data())
def test_softmax_family(name, ours, reference, x, data):
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    _grad_check_against_oracles(lambda t: ours(t, axis=axis), lambda a: reference(a, axis), (x,))


def _reference_lstm_cell(gates, state):
    """One LSTM step as PyTorch defines it, [h | c] side by side."""
    hidden = state.shape[-1] // 2
    i, f, o = (1 / (1 + anp.exp(-gates[..., k * hidden:(k + 1) * hidden])) for k in (0, 1, 3))
    c = f * state[..., hidden:] + i * anp.tanh(gates[..., 2 * hidden:3 * hidden])
    return anp.concatenate([o * anp.tanh(c), c], axis=-1)


def _reference_lstm_sequence(projection, w_hh, state):
    """Every step of an LSTM layer: the cell on projection[t] + h_{t-1} W_hh^T."""
    hidden, states = w_hh.shape[-1], []
    for t in range(projection.shape[0]):
        state = _reference_lstm_cell(projection[t] + anp.dot(state[..., :hidden], w_hh.T), state)
        states.append(state)
    return anp.stack(states)


X34 = np.arange(12.0).reshape(3, 4) / 7 - 0.8
X234 = np.arange(24.0).reshape(2, 3, 4) / 11 - 1.0
STRUCTURAL = [  # (name, ours, reference, inputs)
    ("reshape", lambda x: ag.reshape(x, 4, 3), lambda x: anp.reshape(x, (4, 3)), (X34,)),
    ("reshape -1", lambda x: x.reshape(-1, 2), lambda x: anp.reshape(x, (-1, 2)), (X234,)),
    ("flatten", lambda x: x.flatten(), lambda x: anp.reshape(x, (-1,)), (X234,)),
    ("transpose", lambda x: x.T, lambda x: x.T, (X34,)),
    ("transpose axes", lambda x: x.transpose(2, 0, 1), lambda x: anp.transpose(x, (2, 0, 1)), (X234,)),
    ("swapaxes", lambda x: np.swapaxes(x, 0, 2), lambda x: anp.swapaxes(x, 0, 2), (X234,)),
    ("expand_dims", lambda x: np.expand_dims(x, 1), lambda x: anp.expand_dims(x, 1), (X34,)),
    ("squeeze", lambda x: np.squeeze(x), lambda x: anp.squeeze(x), (X34.reshape(3, 1, 4),)),
    ("broadcast_to", lambda x: ag.broadcast_to(x, (2, 3, 4)), lambda x: x + anp.zeros((2, 3, 4)), (X34[0],)),
    ("index int", lambda x: x[1], lambda x: x[1], (X34,)),
    ("index slices", lambda x: x[1:, ::2], lambda x: x[1:, ::2], (X34,)),
    ("index negative step", lambda x: x[::-1, -1:0:-2], lambda x: x[::-1, -1:0:-2], (X34,)),
    ("index None and ellipsis", lambda x: x[None, ..., 2], lambda x: x[None, ..., 2], (X234,)),
    ("index int array with repeats", lambda x: x[np.array([0, 2, 0, 0])],
     lambda x: x[np.array([0, 2, 0, 0])], (X34,)),
    ("index pair of int arrays", lambda x: x[[0, 1, 1], [3, 3, 0]], lambda x: x[[0, 1, 1], [3, 3, 0]], (X34,)),
    ("index boolean mask", lambda x: x[X34 > 0], lambda x: x[X34 > 0], (X34,)),
    ("concatenate axis 0", lambda x, y: ag.concatenate([x, y, x]), lambda x, y: anp.concatenate([x, y, x]),
     (X34, X34[:2] * 2)),
    ("concatenate axis -1", lambda x, y: ag.concatenate([x, y], axis=-1),
     lambda x, y: anp.concatenate([x, y], axis=-1), (X34, X34[:, :1])),
    ("stack", lambda x, y: ag.stack([x, y, x], axis=1), lambda x, y: anp.stack([x, y, x], axis=1),
     (X34, -X34 ** 2)),
    ("softmax_cross_entropy labels", lambda z: ag.softmax_cross_entropy(z, np.array([2, 0, 3])),
     lambda z: -(z - _reference_logsumexp(z, 1, True))[np.arange(3), np.array([2, 0, 3])], (X34,)),
    ("softmax_cross_entropy probabilities", ag.softmax_cross_entropy,
     lambda z, p: -anp.sum(p * (z - _reference_logsumexp(z, -1, True)), axis=-1), (X234, X234 ** 2)),
    ("dot 2d", lambda x, y: np.dot(x, y), lambda x, y: anp.dot(x, y), (X34, X34.T)),
    ("mean of tanh", lambda x: np.mean(np.tanh(x), axis=(0, 2)), lambda x: anp.mean(anp.tanh(x), axis=(0, 2)),
     (X234,)),
    ("var ddof=1", lambda x: ag.var(x, axis=1, ddof=1), lambda x: anp.var(x, axis=1, ddof=1), (X34,)),
    ("lstm_cell", ag.lstm_cell, lambda gates, state: _reference_lstm_cell(gates, state),
     (np.arange(16.0).reshape(2, 8) / 5 - 1.6, np.arange(8.0).reshape(2, 4) / 4 - 1.0)),
    ("lstm_sequence", ag.lstm_sequence, _reference_lstm_sequence,
     (np.sin(np.arange(48.0)).reshape(3, 2, 8), np.cos(np.arange(16.0)).reshape(8, 2),
      np.arange(8.0).reshape(2, 4) / 4 - 1.0)),
]


@pytest.mark.parametrize("name,ours,reference,xs", STRUCTURAL, ids=[s[0] for s in STRUCTURAL])
def test_structural(name, ours, reference, xs):
    _grad_check_against_oracles(ours, reference, xs)


def test_where_broadcasts_its_branches_like_numpy():
    cond = np.array([[True, False, True]])
    x, y = np.array([[0.5], [-1.5]]), np.array(2.0)
    xt, yt = ag.Tensor(x, requires_grad=True), ag.Tensor(y, requires_grad=True)
    weights = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    ag.sum(ag.where(cond, xt, yt) * weights).backward()
    assert_close(xt.grad, numeric_gradient(lambda v: np.sum(np.where(cond, v, y) * weights), x))
    assert_close(yt.grad, numeric_gradient(lambda v: np.sum(np.where(cond, x, v) * weights), y))


def test_astype_gradient_comes_back_in_the_input_dtype():
    # HIPS does not differentiate astype; closed form: d/dx sum(3x as float32) = 3.
    x = ag.Tensor(X34, requires_grad=True)
    y = (x * 3).astype(np.float32)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float64
    assert_close(x.grad, np.full_like(X34, 3.0))


def _recorded_ops(call, xs) -> set:
    """The operations a case records: in its forward, and in its backward pass differentiated
    again (where adjoints such as untake appear)."""
    leaves = [ag.Tensor(x, requires_grad=True) for x in xs]
    out = _as_output(call(np, *leaves), np)
    seed = ag.Tensor(np.ones(out.shape), requires_grad=True)  # so linear adjoints record too
    grads = backprop(out, seed, inputs=tuple(leaves), retain_graph=True, create_graph=True)
    roots = [out] + [g for g in grads if isinstance(g, ag.Tensor) and g.grad_fn is not None]
    return {t.grad_fn.op.name for root in roots for t in graph_nodes(root)}


def test_every_primitive_of_the_table_is_exercised():
    """The cases above cover the whole derivative table (a new primitive needs a case)."""
    from autograd_lite import primitives
    table = {p.name for p in vars(primitives).values() if isinstance(p, ag.Primitive)}
    covered = {c.name for c in ELEMENTWISE} | set(REDUCTIONS) | {"matmul", "reshape", "transpose",
                                                                "broadcast_to", "getitem", "untake",
                                                                "concatenate", "stack", "astype",
                                                                "softmax_cross_entropy",
                                                                "lstm_cell", "lstm_sequence"}
    covered |= {name for name, _ in WINDOW_ENTRIES}
    # (the piecewise activations: closed forms, gradcheck and gradgradcheck in test_activations)
    covered |= {"leaky_relu", "elu", "softplus", "hardtanh"}
    covered |= set().union(*(_recorded_ops(c.call, c.inputs) for c in CALLS))
    assert table - covered == set()
    assert len(table) > 35  # (the first round's table had 35 entries)


def test_untake_is_the_adjoint_of_getitem_to_second_order():
    # untake appears in the graph only when differentiating a backward pass through indexing.
    f = lambda x: ag.sum(x[np.array([0, 0, 2])] ** 3)
    reference = lambda x: anp.sum(x[np.array([0, 0, 2])] ** 3)
    x = np.array([0.5, -1.0, 2.0])
    assert_close(ag.hessian(f)(x), autograd.hessian(reference)(x))


# ---- convolution and pooling: windows of the input ------------------------------------------
# Values against definitions written as loops over output positions (oracles.py), the
# adjoint entries against <A x, y> = <x, A^T y>, and every entry's rules to second order
# with finite differences.  HIPS autograd has no convolution to compare with.
RNG = np.random.default_rng(7)
CONVOLUTIONS = {  # name -> x shape, w shape, options (padding as (before, after) pairs)
    "2d plain": ((2, 3, 5, 4), (2, 3, 2, 3),
                 dict(stride=(1, 1), padding=((0, 0), (0, 0)), dilation=(1, 1), groups=1)),
    "2d strided padded dilated grouped": ((1, 4, 6, 5), (4, 2, 3, 2),
                                          dict(stride=(2, 1), padding=((1, 1), (0, 2)),
                                               dilation=(1, 2), groups=2)),
    "1d depthwise asymmetric padding": ((2, 2, 7), (4, 1, 3),
                                        dict(stride=(2,), padding=((2, 1),), dilation=(2,),
                                             groups=2)),
}


@pytest.mark.parametrize("name", list(CONVOLUTIONS))
def test_conv_matches_its_definition(name):
    x_shape, w_shape, options = CONVOLUTIONS[name]
    x, w = RNG.standard_normal(x_shape), RNG.standard_normal(w_shape)
    assert_close(P.conv(x, w, **options).data, conv_reference(x, w, **options), rtol=1e-12)


@pytest.mark.parametrize("name", list(CONVOLUTIONS))
def test_conv_gradients_are_its_adjoints(name):
    # <conv(x, w), g> = <x, conv_input_grad(g, w)> = <w, conv_weight_grad(x, g)>
    x_shape, w_shape, options = CONVOLUTIONS[name]
    x, w = RNG.standard_normal(x_shape), RNG.standard_normal(w_shape)
    g = RNG.standard_normal(P.conv(x, w, **options).shape)
    pairing = np.sum(conv_reference(x, w, **options) * g)
    dx = P.conv_input_grad(g, w, x_shape=x.shape, **options).data
    dw = P.conv_weight_grad(x, g, w_shape=w.shape, **options).data
    assert dx.shape == x.shape and dw.shape == w.shape
    assert_close(np.sum(x * dx), pairing, rtol=1e-11)
    assert_close(np.sum(w * dw), pairing, rtol=1e-11)


POOLS = {  # name -> x shape, kernel, stride, padding (one int per axis)
    "2d non-overlapping": ((2, 2, 4, 6), (2, 2), (2, 2), (0, 0)),
    "2d overlapping padded": ((1, 2, 5, 5), (3, 2), (2, 1), (1, 1)),
    "1d": ((2, 3, 7), (3,), (2,), (1,)),
}


def _pool_options(name):
    x_shape, kernel, stride, padding = POOLS[name]
    return x_shape, dict(kernel=kernel, stride=stride, padding=tuple((p, p) for p in padding))


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("name", list(POOLS))
def test_pooling_matches_its_definition(kind, name):
    x_shape, options = _pool_options(name)
    x = RNG.standard_normal(x_shape)
    entry = P.max_pool if kind == "max" else P.avg_pool
    _, kernel, stride, padding = POOLS[name]
    assert_close(entry(x, **options).data, pool_reference(x, kind, kernel, stride, padding),
                 rtol=1e-12)


@pytest.mark.parametrize("name", list(POOLS))
def test_pooling_adjoints(name):
    x_shape, options = _pool_options(name)
    x = RNG.standard_normal(x_shape)
    h = RNG.standard_normal(x_shape)
    g = RNG.standard_normal(P.avg_pool(x, **options).shape)
    back = P.avg_pool_backward(g, x_shape=x.shape, **options).data
    assert_close(np.sum(h * back), np.sum(P.avg_pool(h, **options).data * g), rtol=1e-11)
    scatter = P.max_pool_scatter(g, x, **options).data
    gather = P.max_pool_gather(h, x, **options).data
    assert_close(np.sum(h * scatter), np.sum(gather * g), rtol=1e-11)
    # gathering at the winners of x from x itself is the max
    assert_close(P.max_pool_gather(x, x, **options).data, P.max_pool(x, **options).data)


def test_max_pool_gives_a_tied_window_s_gradient_to_its_first_maximum():
    x = ag.tensor(np.array([[[[1.0, 3.0], [3.0, 2.0]]]]), requires_grad=True)
    ag.max_pool2d(x, 2).sum().backward()
    assert_close(x.grad, [[[[0.0, 1.0], [0.0, 0.0]]]])


@pytest.mark.parametrize("shape,kernel,stride,padding", [
    ((4, 3, 8, 8), (2, 2), (2, 2), ((0, 0), (0, 0))),   # windows side by side, covering x
    ((3, 2, 5, 7), (2, 2), (2, 2), ((0, 0), (0, 0))),   # side by side, a remainder unread
    ((3, 2, 6, 6), (2, 3), (2, 3), ((0, 0), (0, 0))),
    ((3, 2, 5, 7), (3, 2), (2, 2), ((1, 1), (0, 1))),   # overlapping and padded
], ids=str)
@pytest.mark.parametrize("with_nan", [False, True])
def test_max_pool_routing_agrees_with_the_winners(shape, kernel, stride, padding, with_nan):
    # The scatter (a fast path for side-by-side windows, a general one) against routing
    # by the winners array (the gather's), on values with many ties and optionally a NaN.
    from importlib import import_module
    conv = import_module("autograd_lite.primitives.conv")
    x = np.round(RNG.standard_normal(shape) * 2) / 2
    if with_nan:
        x[0, 0, 1, 1] = np.nan
    options = dict(kernel=kernel, stride=stride, padding=padding)
    g = RNG.standard_normal(P.max_pool(x, **options).shape)
    winners = conv._winners(x, kernel, stride, padding)
    offsets = conv._offsets(kernel, stride, (1,) * len(kernel), g.shape[2:])
    expected = conv._scatter(x.shape, padding, ((index, g * (winners == k))
                                                for k, index in enumerate(offsets)))
    assert np.array_equal(P.max_pool_scatter(g, x, **options).data, expected)


def _window_entries():
    """(entry name, (function of the differentiable arrays, those arrays)) for each entry."""
    x_shape, w_shape, conv_options = CONVOLUTIONS["2d strided padded dilated grouped"]
    x, w = RNG.standard_normal(x_shape), RNG.standard_normal(w_shape)
    g = RNG.standard_normal(P.conv(x, w, **conv_options).shape)
    px_shape, pool_options = _pool_options("2d overlapping padded")
    px = RNG.standard_normal(px_shape)
    pg = RNG.standard_normal(P.max_pool(px, **pool_options).shape)
    return [
        ("conv", (lambda x, w: P.conv(x, w, **conv_options), (x, w))),
        ("conv_input_grad", (lambda g, w: P.conv_input_grad(g, w, x_shape=x.shape, **conv_options),
                             (g, w))),
        ("conv_weight_grad", (lambda x, g: P.conv_weight_grad(x, g, w_shape=w.shape, **conv_options),
                              (x, g))),
        ("avg_pool", (lambda x: P.avg_pool(x, **pool_options), (px,))),
        ("avg_pool_backward", (lambda g: P.avg_pool_backward(g, x_shape=px.shape, **pool_options),
                               (pg,))),
        ("max_pool", (lambda x: P.max_pool(x, **pool_options), (px,))),
        ("max_pool_scatter", (lambda g: P.max_pool_scatter(g, px, **pool_options), (pg,))),
        ("max_pool_gather", (lambda h: P.max_pool_gather(h, px, **pool_options), (px * 0.5,))),
    ]


WINDOW_ENTRIES = _window_entries()


@pytest.mark.parametrize("name,case", WINDOW_ENTRIES, ids=[n for n, _ in WINDOW_ENTRIES])
def test_window_entries_to_second_order(name, case):
    function, inputs = case
    assert ag.gradcheck(function, *inputs)
    # Squared: these entries are (bi)linear, so their own second derivative is (partly) zero.
    assert ag.gradgradcheck(lambda *xs: function(*xs) ** 2, *inputs)


# ---- NumPy's functions on Tensors (the second round) ------------------------------------------
# Each case is one expression over a NumPy-like namespace B, run three ways: B = numpy on
# arrays (the value oracle and, by central differences, the gradient oracle), B = numpy on
# Tensors (autograd_lite, through NumPy's dispatch), and B = autograd.numpy (HIPS), unless
# `hips` gives the reason HIPS cannot serve: it lacks the function, refuses the form, or
# (checked below against finite differences and a closed form) gets it wrong.
HIPS_LACKS = "HIPS has no derivative for it"
HIPS_REFUSES = "HIPS refuses this form"
HIPS_WRONG = "HIPS' gradient disagrees with finite differences (see test_where_hips_is_wrong)"
GEN = np.random.default_rng(7)
M34 = GEN.standard_normal((3, 4))
M43 = GEN.standard_normal((4, 3))
M33 = GEN.standard_normal((3, 3))
T234 = GEN.standard_normal((2, 3, 4))
V5 = GEN.standard_normal(5)
SPD = M33 @ M33.T + 3 * np.eye(3)
WELL = GEN.standard_normal((2, 3, 3)) + 3 * np.eye(3)  # a stack of well-conditioned matrices
UNIT = np.clip(M34 * 0.4, -0.9, 0.9)  # inside (-1, 1)
POS34 = np.abs(M34) + 0.5
WITH_ZEROS = np.where(np.abs(T234) < 0.5, 0.0, T234)


@dataclass
class Call:
    name: str
    call: Callable   # (B, *xs) -> value: B is numpy (arrays or Tensors) or autograd.numpy
    inputs: tuple
    hips: str = ""   # why HIPS is not an oracle here ("": it is)


def sym(B, a):
    """A symmetric matrix made from any square one: eigh and cholesky read one triangle and
    take their input to be symmetric, so their gradients are compared through this."""
    return (a + B.swapaxes(a, -1, -2)) / 2


def gauge_free_svd(B, u, s, vh):
    """Functions of an SVD that do not depend on the sign of each singular pair."""
    return B.sum(u * u * 0.3) + B.sum((u * s[..., None, :]) @ vh) + B.sum(vh * vh * 0.7) + B.sum(s * s)


CALLS = [
    # elementwise
    Call("tan", lambda B, x: B.tan(x), (UNIT,)),
    Call("arcsin", lambda B, x: B.arcsin(x), (UNIT,)),
    Call("arccos", lambda B, x: B.arccos(x), (UNIT,)),
    Call("arctan", lambda B, x: B.arctan(x), (M34,)),
    Call("arctan2", lambda B, y, x: B.arctan2(y, x), (M34, POS34[0])),
    Call("sinh", lambda B, x: B.sinh(x), (M34,)),
    Call("cosh", lambda B, x: B.cosh(x), (M34,)),
    Call("arcsinh", lambda B, x: B.arcsinh(x), (M34,)),
    Call("arccosh", lambda B, x: B.arccosh(x), (POS34 + 1,)),
    Call("arctanh", lambda B, x: B.arctanh(x), (UNIT,)),
    Call("log2", lambda B, x: B.log2(x), (POS34,)),
    Call("log10", lambda B, x: B.log10(x), (POS34,)),
    Call("exp2", lambda B, x: B.exp2(x), (M34,)),
    Call("logaddexp", lambda B, x, y: B.logaddexp(x, y), (M34, M34[:1] * 3)),
    Call("logaddexp2", lambda B, x, y: B.logaddexp2(x, y), (M34, M34[:, :1] * 3)),
    Call("reciprocal", lambda B, x: B.reciprocal(x), (POS34,)),
    Call("remainder", lambda B, x, y: B.remainder(x * 3, y), (M34, POS34[0])),
    Call("mod, the % operator", lambda B, x, y: (x * 3) % y, (M34, POS34[:, :1])),
    Call("fmod", lambda B, x, y: B.fmod(x * 3, y), (M34, POS34[0]), HIPS_LACKS),
    # sign, floor, ceil, round, rint, trunc and // are steps: gradient 0 (so they are
    # multiplied by x here, which has one)
    Call("steps", lambda B, x: x * (B.sign(x) + B.floor(x * 2) + B.ceil(x) + B.round(x, 1)
                                    + B.rint(x * 3) + B.trunc(x * 2)), (M34,)),
    Call("floor_divide, the // operator", lambda B, x, y: x * (x // 0.3) + (2.0 // y) * y,
         (M34, POS34), HIPS_LACKS),
    Call("nan_to_num", lambda B, x: B.nan_to_num(B.log(x * x)), (M34,)),
    # reductions and scans
    Call("prod", lambda B, x: B.prod(x, axis=1), (M34,)),
    Call("prod keepdims, all", lambda B, x: B.prod(x, keepdims=True), (M34[:2],), HIPS_LACKS),
    Call("prod with zeros", lambda B, x: B.prod(x, axis=(0, 2)), (WITH_ZEROS,),
         "HIPS' gradient is NaN where an element is 0"),
    Call("cumsum", lambda B, x: B.cumsum(x, axis=-1), (T234,)),
    Call("cumsum flat", lambda B, x: B.cumsum(x), (M34,)),
    Call("cumprod", lambda B, x: B.cumprod(x, axis=1), (M34,), HIPS_LACKS),
    Call("cumprod with zeros", lambda B, x: B.cumprod(x, axis=2), (WITH_ZEROS,), HIPS_LACKS),
    Call("std", lambda B, x: B.std(x, axis=0, ddof=1), (M34,)),
    Call("ptp", lambda B, x: B.ptp(x, axis=1), (M34,), HIPS_LACKS),
    Call("nanvar", lambda B, x: B.nanvar(B.where(x > 1, np.nan, x), axis=0, ddof=1), (M34,), HIPS_LACKS),
    Call("nanstd", lambda B, x: B.nanstd(B.where(x > 1, np.nan, x), axis=1, keepdims=True), (M34,),
         HIPS_LACKS),
    Call("diff", lambda B, x: B.diff(x, axis=0), (M34,)),
    Call("diff n=2, prepend and append", lambda B, x, e: B.diff(x, n=2, prepend=0.5, append=e),
         (M34, M34[:, :1] * 2), "HIPS' diff has no prepend/append"),
    Call("cbrt", lambda B, x: B.cbrt(x), (M34,), HIPS_LACKS),
    Call("hypot", lambda B, x, y: B.hypot(x, y), (M34, M34[0] + 0.5)),
    Call("nansum", lambda B, x: B.nansum(B.where(x > 1, np.nan, x), axis=0), (M34,), HIPS_LACKS),
    Call("nanmean", lambda B, x: B.nanmean(B.where(x > 1, np.nan, x), axis=1), (M34,), HIPS_LACKS),
    Call("average weighted", lambda B, x, w: B.average(x, axis=1, weights=w), (M34, POS34[0]),
         HIPS_LACKS),
    Call("amax, amin", lambda B, x: B.amax(x, axis=0) - B.amin(x, axis=1)[:, None], (M34,)),
    # products
    Call("einsum matmul", lambda B, x, y: B.einsum("ij,jk->ik", x, y), (M34, M43)),
    Call("einsum batched, optimize", lambda B, x, y: B.einsum("bij,bjk->bik", x, y, optimize=True),
         (T234, T234.transpose(0, 2, 1))),
    Call("einsum implicit", lambda B, x, y: B.einsum("ij,kj", x, y), (M34, M34)),
    Call("einsum ellipsis", lambda B, x, y: B.einsum("...ij,j->...i", x, y), (T234, V5[:4])),
    Call("einsum trace", lambda B, x: B.einsum("ii", x), (M33,), HIPS_REFUSES),
    Call("einsum diagonal", lambda B, x: B.einsum("ii->i", x), (M33,), HIPS_REFUSES),
    Call("einsum sum out", lambda B, x, y: B.einsum("ijk,k->", x, y), (T234, V5[:4])),
    Call("einsum three", lambda B, x, y, z: B.einsum("ij,jk,kl->il", x, y, z, optimize="greedy"),
         (M34, M43, M33)),
    Call("einsum sublists", lambda B, x, y: B.einsum(x, [0, 1], y, [1, 2], [0, 2]), (M34, M43)),
    Call("tensordot", lambda B, x, y: B.tensordot(x, y, axes=([2, 1], [0, 1])),
         (T234, GEN.standard_normal((4, 3, 2)))),
    Call("tensordot int", lambda B, x, y: B.tensordot(x, y, 1), (M34, M43)),
    Call("inner", lambda B, x, y: B.inner(x, y), (M34, T234)),
    Call("outer", lambda B, x, y: B.outer(x, y), (V5, M34[0])),
    Call("outer flattens", lambda B, x, y: B.outer(x, y), (V5, M34), HIPS_REFUSES),
    Call("kron", lambda B, x, y: B.kron(x, y), (M34[:2, :3], M33)),
    Call("kron mixed ndim", lambda B, x, y: B.kron(x, y), (V5[:2], M34)),
    Call("dot N-d", lambda B, x, y: B.dot(x, y), (M34, M43)),
    # diagonals and triangles
    Call("trace", lambda B, x: B.trace(x), (M34,)),
    Call("trace offset, axes", lambda B, x: B.trace(x, 1, 1, 2), (T234,), HIPS_REFUSES),
    Call("diag of a vector", lambda B, x: B.diag(x, -1), (V5,)),
    Call("diag of a matrix", lambda B, x: B.diag(x, 1), (M34,), HIPS_REFUSES),
    Call("diagonal", lambda B, x: B.diagonal(x, 0, 2, 1), (T234,), HIPS_REFUSES),
    Call("diagonal offset", lambda B, x: B.diagonal(x, -1), (M43,), HIPS_REFUSES),
    Call("triu", lambda B, x: B.triu(x, 1), (T234,)),
    Call("tril", lambda B, x: B.tril(x, -1), (M34,)),
    # taking and sorting
    Call("take", lambda B, x: B.take(x, [0, 2, 2, -1], axis=1), (M34,), HIPS_LACKS),
    Call("take flat, wrap", lambda B, x: B.take(x, [[0, 14], [5, -1]], mode="wrap"), (M34,), HIPS_LACKS),
    Call("take_along_axis", lambda B, x: B.take_along_axis(x, np.argsort(M34, axis=0), axis=0),
         (M34,), HIPS_LACKS),
    Call("take_along_axis, indices broadcast over a length-1 axis",
         lambda B, x: B.take_along_axis(x, np.array([[0, 3], [1, 1], [2, 0]]), axis=1),
         (M34[:1],), HIPS_LACKS),
    Call("sort 1-d", lambda B, x: B.sort(x), (V5,)),
    Call("sort 2-d", lambda B, x: B.sort(x, axis=0), (M34,), HIPS_REFUSES),
    Call("sort flat", lambda B, x: B.sort(x, axis=None), (M34,), HIPS_REFUSES),
    # splitting (each piece used differently, so every piece's gradient counts)
    Call("split", lambda B, x: [p * (k + 1) for k, p in enumerate(B.split(x, 2, axis=1))], (M34,)),
    Call("split at indices", lambda B, x: [p * (k + 1) for k, p in enumerate(B.split(x, [1, 3]))], (M34,)),
    Call("array_split", lambda B, x: [p * (k + 1) for k, p in enumerate(B.array_split(x, 3, axis=-1))],
         (M34,)),
    Call("hsplit", lambda B, x: [p * (k + 1) for k, p in enumerate(B.hsplit(x, [1]))], (M34,)),
    Call("vsplit", lambda B, x: [p * (k + 1) for k, p in enumerate(B.vsplit(x, 3))], (M34,)),
    # repeating, reordering
    Call("repeat last axis", lambda B, x: B.repeat(x, 2, axis=-1), (M34,), HIPS_WRONG),
    Call("repeat first axis", lambda B, x: B.repeat(x, 3, axis=0), (M34,)),
    Call("repeat counts", lambda B, x: B.repeat(x, [1, 0, 3], axis=0), (M34,), HIPS_LACKS),
    Call("repeat flat", lambda B, x: B.repeat(x, 2), (M34,)),
    Call("tile", lambda B, x: B.tile(x, (2, 1, 3)), (M34,)),
    Call("flip", lambda B, x: B.flip(x, axis=(0, 2)), (T234,), HIPS_LACKS),
    Call("flip all", lambda B, x: B.flip(x), (M34,), HIPS_LACKS),
    Call("fliplr, flipud", lambda B, x: B.fliplr(x) * 2 + B.flipud(x), (M33,)),
    Call("roll", lambda B, x: B.roll(x, -2, axis=1), (M34,)),
    Call("roll two axes", lambda B, x: B.roll(x, (1, -2), axis=(0, 1)), (M34,), HIPS_REFUSES),
    Call("roll flat", lambda B, x: B.roll(x, 5), (M34,)),
    Call("rot90", lambda B, x: B.rot90(x), (M34,)),
    Call("rot90 k=3 axes", lambda B, x: B.rot90(x, 3, axes=(0, 2)), (T234,), HIPS_REFUSES),
    Call("moveaxis", lambda B, x: B.moveaxis(x, [0, 1], [-1, 0]), (T234,)),
    Call("swapaxes, ravel", lambda B, x: B.ravel(B.swapaxes(x, 0, 2)), (T234,)),
    # at least n-d and stacking
    Call("atleast_1d, 2d, 3d", lambda B, x: B.atleast_1d(x[0, 0]) + B.atleast_2d(x[0]).sum()
         + B.atleast_3d(x).sum(), (M34,)),
    Call("vstack", lambda B, x, y: B.vstack([x, y]), (V5[:4], M34)),
    Call("hstack", lambda B, x, y: B.hstack([x, y]), (M34, M34[:, :1])),
    Call("dstack", lambda B, x, y: B.dstack((x, y)), (M34, M34 * 2)),
    Call("column_stack", lambda B, x, y: B.column_stack([x, y]), (V5[:3], M34)),
    Call("squeeze, expand_dims, broadcast_to",
         lambda B, x: B.broadcast_to(B.expand_dims(B.squeeze(x), 0), (2, 3, 4)), (M34[:, None],)),
    # padding and windows
    Call("pad", lambda B, x: B.pad(x, 1), (M34,), "HIPS' pad rule fails (a missing argument)"),
    Call("pad constant_values", lambda B, x: B.pad(x, ((1, 0), (2, 1)), constant_values=3.0), (M34,),
         "HIPS' pad rule fails (a missing argument)"),
    Call("pad reflect", lambda B, x: B.pad(x, ((2, 1), (3, 2)), mode="reflect"), (M34,), HIPS_REFUSES),
    Call("pad symmetric", lambda B, x: B.pad(x, 3, mode="symmetric"), (M34,), HIPS_REFUSES),
    Call("pad edge", lambda B, x: B.pad(x, (1, 2), mode="edge"), (M34,), HIPS_REFUSES),
    Call("pad wrap", lambda B, x: B.pad(x, ((0, 2), (5, 1)), mode="wrap"), (M34,), HIPS_REFUSES),
    Call("sliding_window_view", lambda B, x: B.lib.stride_tricks.sliding_window_view(x, 3, axis=-1),
         (M34,), HIPS_LACKS),
    Call("sliding_window_view 2-d", lambda B, x: B.lib.stride_tricks.sliding_window_view(
        x, (2, 2), axis=(1, 2)), (T234,), HIPS_LACKS),
    Call("sliding_window_view one axis twice", lambda B, x: B.lib.stride_tricks.sliding_window_view(
        x, (2, 2), axis=(2, 2)), (T234,), HIPS_LACKS),
    # numpy.linalg
    Call("norm", lambda B, x: B.linalg.norm(x), (T234,)),
    Call("norm axis", lambda B, x: B.linalg.norm(x, axis=1), (M34,)),
    Call("norm axis keepdims", lambda B, x: B.linalg.norm(x, axis=1, keepdims=True), (M34,),
         "HIPS mis-shapes the gradient with keepdims=True"),
    Call("norm ord=inf", lambda B, x: B.linalg.norm(x, np.inf), (V5,), HIPS_WRONG),
    Call("norm ord=-inf, 1, 3", lambda B, x: B.linalg.norm(x, -np.inf, axis=0)
         + B.linalg.norm(x, 1, axis=0) + B.linalg.norm(x, 3, axis=0), (M34,), HIPS_WRONG),
    Call("norm fro", lambda B, x: B.linalg.norm(x, "fro"), (M34,)),
    Call("norm nuc", lambda B, x: B.linalg.norm(x, "nuc"), (M34,)),
    Call("norm 2, -2 of matrices", lambda B, x: B.linalg.norm(x, 2, axis=(1, 2))
         + B.linalg.norm(x, -2, axis=(2, 1)), (T234,), HIPS_LACKS),
    Call("norm 1, inf of matrices", lambda B, x: B.linalg.norm(x, 1, axis=(1, 2))
         + B.linalg.norm(x, -np.inf, axis=(2, 1)), (T234,), HIPS_LACKS),
    Call("det", lambda B, x: B.linalg.det(x), (M33,)),
    Call("det batched", lambda B, x: B.linalg.det(x), (WELL,)),
    Call("slogdet", lambda B, x: B.linalg.slogdet(x)[1], (WELL,)),
    Call("slogdet sign", lambda B, x: B.linalg.slogdet(x)[0] * x, (M33,)),
    Call("inv", lambda B, x: B.linalg.inv(x), (WELL,)),
    Call("pinv", lambda B, x: B.linalg.pinv(x), (M34,)),
    Call("pinv tall batched", lambda B, x: B.linalg.pinv(x), (T234.transpose(0, 2, 1),)),
    Call("solve", lambda B, a, b: B.linalg.solve(a, b), (SPD, M34)),
    Call("solve vector", lambda B, a, b: B.linalg.solve(a, b), (SPD, V5[:3])),
    Call("solve batched", lambda B, a, b: B.linalg.solve(a, b), (WELL, M34[None, :, :2]),
         "HIPS does not sum the gradient of a broadcast b over the batch"),
    Call("solve batched, one vector", lambda B, a, b: B.linalg.solve(a, b), (WELL, V5[:3]),
         "HIPS' solve predates NumPy 2's rule for a 1-d b"),
    Call("cholesky", lambda B, x: B.linalg.cholesky(sym(B, x)), (SPD,)),
    Call("cholesky upper", lambda B, x: B.linalg.cholesky(sym(B, x) + 3 * np.eye(3), upper=True),
         (WELL,), "HIPS' cholesky has no upper="),
    Call("qr", lambda B, x: B.linalg.qr(x)[0] * 2 + B.sum(B.linalg.qr(x)[1]), (M43,), HIPS_LACKS),
    Call("qr wide", lambda B, x: B.sum(B.linalg.qr(x)[0] ** 3) + B.linalg.qr(x)[1], (M34,), HIPS_LACKS),
    Call("qr mode r, batched", lambda B, x: B.linalg.qr(x, mode="r"), (T234.transpose(0, 2, 1),),
         HIPS_LACKS),
    Call("eigh", lambda B, x: B.linalg.eigh(sym(B, x))[0], (WELL,)),
    Call("eigh vectors", lambda B, x: B.linalg.eigh(sym(B, x))[1] ** 2, (M33,)),
    Call("svd values", lambda B, x: B.linalg.svd(x, compute_uv=False), (M34,)),
    Call("svd", lambda B, x: gauge_free_svd(B, *B.linalg.svd(x, full_matrices=False)), (M34,)),
    Call("svd tall batched", lambda B, x: gauge_free_svd(B, *B.linalg.svd(x, full_matrices=False)),
         (T234.transpose(0, 2, 1),)),
    Call("svd square, full_matrices", lambda B, x: gauge_free_svd(B, *B.linalg.svd(x)), (M33,),
         HIPS_REFUSES),
]


def _as_output(value, B):
    """A case's value as one array (a list of pieces, from split, joined flat)."""
    if isinstance(value, list):
        return B.concatenate([B.reshape(v, (-1,)) for v in value])
    return value


def _scalar(case, B, weights):
    return lambda *xs: B.sum(_as_output(case.call(B, *xs), B) * weights)


@pytest.mark.parametrize("case", CALLS, ids=lambda c: c.name)
def test_numpy_function_on_tensors(case):
    """Values equal NumPy's; gradients equal central differences of NumPy itself (and
    HIPS'); second order by gradgradcheck (and HIPS' Hessian where HIPS is an oracle)."""
    xs = case.inputs
    expected = _as_output(case.call(np, *xs), np)
    tensors = [ag.Tensor(x, requires_grad=True) for x in xs]
    value = _as_output(case.call(np, *tensors), np)
    assert isinstance(value, ag.Tensor) and value.requires_grad, "recorded on the tape"
    assert value.shape == np.shape(expected) and value.dtype == np.float64
    assert_close(value.data, expected, rtol=1e-12, atol=1e-12, what="value vs NumPy")

    weights = np.random.default_rng(1).standard_normal(np.shape(expected))
    ours = _scalar(case, np, weights)
    ours(*tensors).backward()
    for k, x in enumerate(xs):
        numeric = numeric_gradient(lambda v: ours(*[v if j == k else a for j, a in enumerate(xs)]), x)
        assert_close(tensors[k].grad, numeric, rtol=1e-5, atol=1e-6, what=f"grad of input {k} vs FD")
    assert ag.gradgradcheck(lambda *ts: _as_output(case.call(np, *ts), np), *xs)
    if case.hips:
        return
    reference = _scalar(case, anp, weights)
    for k in range(len(xs)):
        assert_close(tensors[k].grad, autograd.grad(reference, k)(*xs), rtol=1e-7, atol=1e-9,
                     what=f"grad of input {k} vs HIPS")
    directions = [np.random.default_rng(2 + k).standard_normal(x.shape) for k, x in enumerate(xs)]

    def directional(f, grad):
        return lambda *a: sum((grad(f, k)(*a) * d).sum() for k, d in enumerate(directions))
    for k in range(len(xs)):
        assert_close(ag.grad(directional(ours, ag.grad), k)(*xs),
                     autograd.grad(directional(reference, autograd.grad), k)(*xs),
                     rtol=1e-6, atol=1e-8, what=f"Hessian-vector product for input {k} vs HIPS")


# Where HIPS' gradient is wrong, finite differences and a closed form decide (each weighted
# sum's gradient written out by hand).
def _closed_form_prod_with_zeros(x, w):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        others = x[:, i[1], :].copy()
        others[i[0], i[2]] = 1.0
        grad[i] = w[i[1]] * np.prod(others)
    return grad


HIPS_IS_WRONG = {  # name of a case in CALLS -> its gradient by hand, given (x, weights)
    # each element of x appears twice in a row: its gradient is the sum of its two weights
    "repeat last axis": lambda x, w: w.reshape(3, 4, 2).sum(axis=-1),
    # only the element of largest magnitude counts, with its sign (HIPS: NaN)
    "norm ord=inf": lambda x, w: w * np.sign(x) * (np.abs(x) == np.abs(x).max()),
    # the product of the other elements of the slice, exact at zeros (HIPS: prod / x, NaN)
    "prod with zeros": _closed_form_prod_with_zeros,
}


@pytest.mark.parametrize("name", list(HIPS_IS_WRONG))
def test_where_hips_is_wrong_finite_differences_and_a_closed_form_decide(name):
    import warnings
    case = next(c for c in CALLS if c.name == name)
    (x,) = case.inputs
    weights = np.random.default_rng(1).standard_normal(np.shape(case.call(np, x)))
    t = ag.Tensor(x, requires_grad=True)
    _scalar(case, np, weights)(t).backward()
    closed = HIPS_IS_WRONG[name](x, weights)
    assert_close(t.grad, closed, what="ours vs the closed form")
    assert_close(numeric_gradient(_scalar(case, np, weights), x), closed, rtol=1e-6, atol=1e-8,
                 what="finite differences vs the closed form")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hips = autograd.grad(_scalar(case, anp, weights))(x)
    assert np.shape(hips) != x.shape or not np.allclose(hips, closed, equal_nan=False), \
        "HIPS agrees now: make it an oracle for this case again"


# ---- conventions where the derivative is undefined, and what is refused --------------------------
def _gradient(f, x):
    t = ag.Tensor(np.asarray(x, dtype=float), requires_grad=True)
    ag.sum(f(t)).backward()
    return t.grad


def test_sort_ties_give_the_gradient_in_stable_order():
    # sort([2, 1, 1]) = [1, 1, 2]: the first 1 out is the first 1 in (index 1).
    weights = np.array([10.0, 20.0, 30.0])
    assert_close(_gradient(lambda t: np.sort(t) * weights, [2.0, 1.0, 1.0]), [30.0, 10.0, 20.0])


def test_repeated_eigenvalues_give_the_gradient_of_losses_of_the_values():
    # diag(1, 1, 2) has a repeated eigenvalue: its eigenvectors have no derivative, but
    # sum(w^2) = |A|_F^2 does (gradient 2A), and sum(w) = trace(A) (gradient I).
    a = np.diag([1.0, 1.0, 2.0])
    assert_close(_gradient(lambda t: np.linalg.eigh(t)[0] ** 2, a), 2 * a)
    assert_close(_gradient(lambda t: np.linalg.eigh(t)[0], a), np.eye(3))
    # through the eigenvectors: finite (the convention of _inverse_gaps), not inf or NaN
    assert np.all(np.isfinite(_gradient(lambda t: np.linalg.eigh(t)[1] ** 3, a)))


def test_repeated_singular_values_give_the_gradient_of_the_values():
    assert_close(_gradient(lambda a: np.linalg.svd(a, compute_uv=False), 2 * np.eye(3)), np.eye(3))


def test_steps_have_zero_gradient_and_norm_a_zero_subgradient_at_zero():
    x = np.array([-1.5, -0.5, 0.0, 0.5, 2.0])
    for step in (np.sign, np.floor, np.ceil, np.round, np.rint, np.trunc, lambda t: t // 0.7):
        assert_close(_gradient(step, x), np.zeros_like(x))
    assert_close(_gradient(np.linalg.norm, np.zeros(3)), np.zeros(3))
    assert_close(_gradient(lambda t: np.linalg.norm(t, axis=1), np.array([[0.0, 0], [3, 4]])),
                 [[0, 0], [0.6, 0.8]])


def test_remainder_and_floor_division_operators_match_python():
    x, y = ag.tensor([5.5, -5.5, 5.5], requires_grad=True), ag.tensor([2.0, 2.0, -2.0], requires_grad=True)
    assert_close((x % y).data, [1.5, 0.5, -0.5])
    assert_close((x // y).data, [2.0, -3.0, -3.0])
    assert_close((7.0 % y).data, [1.0, 1.0, -1.0])
    assert_close((7.0 // y).data, [3.0, 3.0, -4.0])
    ((x % y) * 1.0 + (x // y)).sum().backward()
    assert_close(x.grad, [1.0, 1.0, 1.0])  # d(x % y)/dx = 1, d(x // y) = 0
    assert_close(y.grad, [-2.0, 3.0, 3.0])  # d(x % y)/dy = -floor(x / y)


@pytest.mark.parametrize("subscripts,shapes", [
    ("ij,jk", [(2, 3), (3, 4)]), ("aB", [(2, 3)]), ("Ba,a", [(2, 3), (3,)]), ("ii", [(3, 3)]),
    ("...ij,...jk", [(2, 1, 3, 4), (5, 4, 2)]), ("i...,i...", [(2, 3, 4), (2, 4)]),
    ("...,...", [(2, 3), (3,)]), ("ij->", [(2, 3)]), ("ijk->kij", [(2, 3, 4)]),
    ("i,i,i->", [(3,), (3,), (3,)]), ("a...a->...", [(3, 2, 3)]), (" i j , j k -> i k ", [(2, 3), (3, 4)]),
])
def test_einsum_reads_subscripts_as_numpy_does(subscripts, shapes):
    arrays = [np.random.default_rng(k).standard_normal(s) for k, s in enumerate(shapes)]
    out = np.einsum(subscripts, *[ag.Tensor(a, requires_grad=True) for a in arrays])
    assert_close(out.data, np.einsum(subscripts, *arrays), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("call,message", [
    (lambda t: np.linalg.svd(t), "full_matrices=False"),
    (lambda t: np.linalg.svd(t[:2, :2], hermitian=True), "hermitian"),
    (lambda t: np.linalg.qr(t, mode="complete"), "mode='reduced'"),
    (lambda t: np.linalg.qr(t, mode="raw"), "qr.*raw"),
    (lambda t: np.pad(t, 1, mode="mean"), "pad mode='mean'.*constant, edge"),
    (lambda t: np.pad(t, 1, mode="reflect", reflect_type="odd"), "reflect_type"),
    (lambda t: np.pad(t, 1, constant_values=ag.tensor(1.0, requires_grad=True)), "constant_values"),
    (lambda t: np.nan_to_num(t, copy=False), "copy=False"),
    (lambda t: np.cumsum(t, out=np.empty(6)), "cumsum.*out="),
    (lambda t: np.prod(t, dtype=np.float32), "prod.*dtype="),
    (lambda t: np.lib.stride_tricks.sliding_window_view(t, 2, writeable=True), "writeable"),
    (lambda t: np.einsum("...i->i", t), "no '...'"),
    (lambda t: np.einsum("ij,jk", t), "2 operand subscripts"),
])
def test_refused_forms_say_why_and_what_to_do(call, message):
    with pytest.raises(TypeError if "einsum" not in message and "operand" not in message
                       and "'...'" not in message else ValueError, match=message):
        call(ag.Tensor(np.arange(6.0).reshape(3, 2), requires_grad=True))


def test_linalg_errors_name_the_function_and_the_shapes():
    with pytest.raises(np.linalg.LinAlgError, match=r"numpy.linalg.det.*square.*\(3, 2\)"):
        np.linalg.det(ag.Tensor(np.ones((3, 2)), requires_grad=True))
    with pytest.raises(np.linalg.LinAlgError, match=r"inv.*Singular matrix.*\(2, 2\)"):
        np.linalg.inv(ag.Tensor(np.ones((2, 2)), requires_grad=True))


def test_float32_stays_float32_through_the_new_entries():
    x = ag.Tensor(np.arange(1.0, 7.0, dtype=np.float32).reshape(2, 3), requires_grad=True)
    for f in (lambda t: np.cumprod(t, axis=1), lambda t: np.einsum("ij,kj->ik", t, t),
              lambda t: np.linalg.pinv(t), lambda t: np.pad(t, 1, mode="reflect"),
              lambda t: np.lib.stride_tricks.sliding_window_view(t, 2, axis=1), np.tan):
        out = f(x)
        assert out.dtype == np.float32
        x.grad = None
        out.sum().backward()
        assert x.grad.dtype == np.float32


def test_np_mod_and_abs_are_listed_under_numpys_aliases():
    assert {"numpy.mod", "numpy.remainder", "numpy.abs", "numpy.absolute", "numpy.linalg.svd",
            "numpy.lib.stride_tricks.sliding_window_view"} <= set(ag.SUPPORTED_NUMPY)
