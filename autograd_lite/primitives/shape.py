"""Shape, indexing and joining: no arithmetic, so the rules move gradients around."""
from __future__ import annotations

import numpy as np

from ..recording import primitive
from ..tensor import Tensor, unwrap

reshape = primitive(lambda x, shape: np.reshape(x, shape), name="reshape").defvjp(
    lambda g, ans, x, shape: g.reshape(x.shape))
transpose = primitive(lambda x, axes=None: np.transpose(x, axes), name="transpose").defvjp(
    lambda g, ans, x, axes=None:
    np.transpose(g, None if axes is None else tuple(np.argsort(axes))))
broadcast_to = primitive(lambda x, shape: np.broadcast_to(x, shape), name="broadcast_to").defvjp(
    lambda g, ans, x, shape: g)  # the engine sums g back to x's shape
astype = primitive(lambda x, dtype: x.astype(dtype), name="astype").defvjp(
    lambda g, ans, x, dtype: g.astype(x.dtype))
getitem = primitive(lambda x, key: x[key], name="getitem").defvjp(
    lambda g, ans, x, key: _scatter(g, key, x.shape))


def _adjoint(p, g, *args, **kwargs):
    """``p`` (a linear primitive: an adjoint without a NumPy function of its own) applied to
    ``g`` in a rule: recorded under create_graph (``g`` a Tensor); in a plain backward its
    NumPy forward directly, so the gradient stays an array, as every other rule's does."""
    return p(g, *args, **kwargs) if isinstance(g, Tensor) else p.forward(g, *args, **kwargs)


def _scatter(g, key, shape):
    return _adjoint(untake, g, key, shape)


def _is_basic_index(key) -> bool:
    """True for ints, slices, None and Ellipsis only: no element can be selected twice."""
    items = key if isinstance(key, tuple) else (key,)
    return all(k is None or k is Ellipsis or isinstance(k, (int, np.integer, slice)) for k in items)


def _untake(g, key, shape):
    out = np.zeros(shape, dtype=g.dtype)
    if _is_basic_index(key):
        out[key] = g
    else:
        np.add.at(out, key, g)  # repeated fancy indices accumulate
    return out


# The adjoint of getitem: scatter-add g into zeros of ``shape``.
untake = primitive(_untake, name="untake").defvjp(
    lambda g, ans, x, key, shape: g[key])


def along_axis_key(indices: np.ndarray, axis: int, shape: tuple) -> tuple:
    """The fancy index that picks ``indices`` (as many axes as the array of ``shape``,
    broadcasting against it) along ``axis`` and keeps every other axis in place:
    ``x[key]`` is NumPy's ``take_along_axis(x, indices, axis)``."""
    ndim = len(shape)
    return tuple(indices if k == axis else
                 np.arange(shape[k]).reshape([-1 if j == k else 1 for j in range(ndim)])
                 for k in range(ndim))


def _sort(x, axis=-1):
    order = np.argsort(x, axis=axis, kind="stable")
    return np.take_along_axis(x, order, axis=axis), order


def _sort_vjp(g, ans, x, axis=-1, residual=None):
    # Each output element takes the gradient of the element moved there: g put back in
    # place by the inverse permutation.  Equal values (ties) make sort non-differentiable;
    # they are ordered stably (as they came), so a tie's gradient goes to the element a
    # stable sort put in that place.  The order is found inside the entry, at every call
    # (a compiled replay sorts again), and recomputed under create_graph.
    order = np.argsort(unwrap(x), axis=axis, kind="stable") if residual is None else residual
    return g[along_axis_key(np.argsort(order, axis=axis), axis % order.ndim, order.shape)]


# sort along one axis; the residual is the permutation.
sort = primitive(_sort, name="sort", residual=True).defvjp(_sort_vjp)


def _concatenate_vjp(i, g, ans, *xs, axis=0):
    axis = axis % ans.ndim
    start = int(np.sum([np.shape(x)[axis] for x in xs[:i]], dtype=int))
    index = (slice(None),) * axis + (slice(start, start + np.shape(xs[i])[axis]),)
    return g[index]


def _stack_vjp(i, g, ans, *xs, axis=0):
    return g[(slice(None),) * (axis % ans.ndim) + (i,)]


concatenate = primitive(lambda *xs, axis=0: np.concatenate(xs, axis=axis),
                        name="concatenate").defvjp_argnum(_concatenate_vjp)
stack = primitive(lambda *xs, axis=0: np.stack(xs, axis=axis), name="stack").defvjp_argnum(_stack_vjp)
# where: the condition carries no gradient; each branch gets g where it was chosen.
where = primitive(np.where).defvjp(
    None,
    lambda g, ans, c, x, y: np.where(unwrap(c), g, 0),
    lambda g, ans, c, x, y: np.where(unwrap(c), 0, g))


# ---- padding -----------------------------------------------------------------------------
# The modes whose padding copies elements of the array (the rest compute new values).
PAD_COPYING_MODES = ("edge", "reflect", "symmetric", "wrap")


def _pad_vjp(g, ans, x, pad_width, mode="constant", **options):
    if mode == "constant":  # the padding is constant: the gradient is the middle
        return g[tuple(slice(before, before + n) for (before, _), n in zip(pad_width, x.shape))]
    # Padding by copying: each element's gradient sums over where it was copied to.  Which
    # one went where is found by padding the elements' positions the same way.
    positions = np.pad(np.arange(x.size).reshape(x.shape), pad_width, mode, **options)
    return _scatter(g, np.unravel_index(positions, x.shape), x.shape)


# pad_width: one (before, after) pair per axis.  mode "constant" (options: constant_values)
# or one of PAD_COPYING_MODES (options: reflect_type="even" for reflect and symmetric).
pad = primitive(lambda x, pad_width, mode="constant", **options: np.pad(x, pad_width, mode, **options),
                name="pad").defvjp(_pad_vjp)


# ---- sliding windows ----------------------------------------------------------------------
def _unwindow(g, window_shape: tuple, axis: tuple, shape: tuple):
    """The adjoint of sliding_window_view: each window's gradient added back where the
    window was taken from.  One vectorised add per element of a window (9 for 3 x 3),
    not one per window.  ``g`` (*positions, *window_shape) -> ``shape``."""
    out = np.zeros(shape, dtype=g.dtype)
    positions = g.shape[:len(shape)]
    for offset in np.ndindex(*window_shape):
        start = [0] * len(shape)
        for a, o in zip(axis, offset):
            start[a] += o
        out[tuple(slice(s, s + n) for s, n in zip(start, positions))] += g[(Ellipsis,) + offset]
    return out


def _windows(x, window_shape: tuple, axis: tuple):
    return np.lib.stride_tricks.sliding_window_view(x, window_shape, axis)


# Every window of ``window_shape`` along ``axis`` (one axis per window dimension): a
# read-only view, as NumPy's; the gradient adds the windows' gradients back.
sliding_window_view = primitive(_windows, name="sliding_window_view").defvjp(
    lambda g, ans, x, window_shape, axis: _adjoint(unwindow, g, window_shape, axis, x.shape))
unwindow = primitive(_unwindow, name="unwindow").defvjp(
    lambda g, ans, x, window_shape, axis, shape: _windows(g, window_shape, axis))
