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


def test_every_primitive_of_the_table_is_exercised():
    """The cases above cover the whole derivative table (a new primitive needs a case)."""
    from autograd_lite import primitives
    table = {p.name for p in vars(primitives).values() if isinstance(p, ag.Primitive)}
    covered = {c.name for c in ELEMENTWISE} | set(REDUCTIONS) | {"matmul", "reshape", "transpose",
                                                                "broadcast_to", "getitem", "untake",
                                                                "concatenate", "stack", "astype",
                                                                "softmax_cross_entropy",
                                                                "lstm_cell"}
    covered |= {name for name, _ in WINDOW_ENTRIES}
    assert table - covered == set()


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
