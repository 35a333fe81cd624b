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


def _scatter(g, key, shape):
    # The primitive under create_graph (g is a Tensor); in a plain backward its NumPy
    # forward directly, so the gradient stays an array, as every other rule's does.
    return untake(g, key, shape) if isinstance(g, Tensor) else _untake(g, key, shape)


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
