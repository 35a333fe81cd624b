"""Differentiate functions, HIPS-autograd / JAX style: grad, value_and_grad, jacobian,
hessian, vjp, jvp, hvp.

Arguments may be arrays, Python floats, Tensors, or containers of those (nested
tuples, lists, dicts: `tree`); gradients come back in the same structure.  A
transform flattens its differentiated arguments once on entry and rebuilds the
results once on exit; in between the engine sees only leaf Tensors.  Keyword
arguments reach ``fun`` unchanged and are never differentiated.

Higher order comes from differentiating the recorded backward pass itself: inside
another transform (or given Tensors that require grad) a transform runs its
backward with ``create_graph=True`` and returns Tensors with history.
"""
from __future__ import annotations

import functools
import threading
from typing import Any, Callable, NamedTuple, Sequence

import numpy as np

from . import functions as F
from .engine import backprop, enable_grad
from .tensor import Tensor, unwrap
from .tree import TreeDef, path_suffix, tree_flatten, tree_map

Argnum = int | tuple[int, ...]

_nesting = threading.local()


def transform_depth() -> int:
    """How many transforms are tracing in this thread right now (0: none)."""
    return getattr(_nesting, "depth", 0)


def as_leaf(arg: Any, where: str = "an argument") -> Tensor:
    """A Tensor to differentiate with respect to: ``arg`` itself when it already carries
    history for an outer transform, else a fresh leaf around its value (integers become
    float64).  ``where`` names the argument in the error for a non-numeric value."""
    if isinstance(arg, Tensor):
        if arg.requires_grad:
            return arg
        arg = arg.data
    data = np.asarray(arg)
    if data.dtype.kind not in "biuf":
        raise TypeError(f"cannot differentiate with respect to {where}: it is a "
                        f"{type(arg).__name__} (dtype {data.dtype}), not a real number or array")
    if data.dtype.kind != "f":
        data = data.astype(np.float64)
    return Tensor(data, requires_grad=True)


def _argnums(argnum: Argnum, nargs: int) -> tuple[int, ...]:
    argnums = argnum if isinstance(argnum, tuple) else (argnum,)
    if not argnums or not all(isinstance(i, int) and not isinstance(i, bool) for i in argnums):
        raise TypeError(f"argnum must be an int or a non-empty tuple of ints, got {argnum!r}")
    for i in argnums:
        if not -nargs <= i < nargs:
            raise TypeError(f"argnum {i} names argument {i}, but the function was called with "
                            f"{nargs} positional argument(s)")
    return tuple(i % nargs for i in argnums)


def _name(fun: Callable) -> str:
    return getattr(fun, "__name__", type(fun).__name__)


class _Trace(NamedTuple):
    """A recorded call of ``fun``: its output, the leaf Tensors of the differentiated
    arguments (flat, argument by argument), the user's leaves they were made from, one
    TreeDef per differentiated argument, and whether gradients must be differentiable."""

    out: Any
    targets: tuple
    given: tuple
    treedefs: tuple
    nested: bool


def _trace(fun: Callable, args: tuple, kwargs: dict, argnums: tuple[int, ...]) -> _Trace:
    """Run ``fun(*args, **kwargs)`` recording, with every leaf of the arguments
    ``argnums`` replaced by a differentiation target.

    Gradients must themselves be differentiable (``nested``) inside another transform,
    or when a differentiated leaf is a Tensor that requires grad.
    """
    nested = transform_depth() > 0
    args = list(args)
    targets: list = []
    given: list = []
    treedefs = []
    for i in argnums:
        leaves, treedef = tree_flatten(args[i])
        try:
            leaf_tensors = [as_leaf(leaf) for leaf in leaves]
        except TypeError:  # say which leaf (paths are only worked out for the message)
            for path, leaf in zip(treedef.paths(), leaves):
                as_leaf(leaf, f"argument {i}{path_suffix(path)}")
            raise
        nested = nested or any(isinstance(leaf, Tensor) and leaf.requires_grad for leaf in leaves)
        targets += leaf_tensors
        given += leaves
        treedefs.append(treedef)
        args[i] = treedef.unflatten(leaf_tensors)
    _nesting.depth = transform_depth() + 1
    try:
        with enable_grad():
            out = fun(*args, **kwargs)
    finally:
        _nesting.depth -= 1
    return _Trace(out, tuple(targets), tuple(given), tuple(treedefs), nested)


def as_given(g: Any, like: Any, nested: bool = False) -> Any:
    """A gradient as the user gave the argument: a Tensor when nested, a float for a
    Python number (when it is one value), else an array."""
    if nested:
        return g if isinstance(g, Tensor) else Tensor(g)
    g = np.asarray(unwrap(g))
    if isinstance(like, (float, int)) and not isinstance(like, bool) and g.ndim == 0:
        return float(g)
    return g


def _value(out: Any, nested: bool) -> Any:
    """A traced output leaf as returned: a Tensor when nested, a float when 0-d, an array."""
    if nested:
        return out
    data = np.asarray(unwrap(out))
    return float(data) if data.ndim == 0 else data


def _package(trace: _Trace, grads: Sequence, nested: bool, several: bool) -> Any:
    """Flat gradients (one per target) in the structure of the arguments: one tree per
    differentiated argument, a tuple of them when ``several``."""
    results = [as_given(g, like, nested) for g, like in zip(grads, trace.given)]
    trees = []
    start = 0
    for treedef in trace.treedefs:
        trees.append(treedef.unflatten(results[start:start + treedef.num_leaves]))
        start += treedef.num_leaves
    return tuple(trees) if several else trees[0]


def _gradients(out: Any, targets: tuple, seed: Any, nested: bool,
               retain_graph: bool = False) -> list:
    """d <out, seed> / d target for each target (zeros where ``out`` does not depend on it)."""
    if not (isinstance(out, Tensor) and out.requires_grad):
        return [np.zeros_like(t.data) for t in targets]
    grads = backprop(out, seed, inputs=targets, retain_graph=nested or retain_graph,
                     create_graph=nested)
    return [np.zeros_like(t.data) if g is None else g for g, t in zip(grads, targets)]


def _check_floating(value: Any, fun: Callable, transform: str) -> np.ndarray:
    """The output's array; a clear TypeError for one that cannot be differentiated."""
    if isinstance(value, (tuple, list, dict)):
        raise TypeError(f"{transform}: {_name(fun)} returned a {type(value).__name__}, not a "
                        "scalar; with has_aux=True it may return (value, aux)")
    data = unwrap(value)
    dtype = data.dtype if isinstance(data, (np.ndarray, np.generic)) else np.asarray(data).dtype
    if dtype.kind != "f":
        raise TypeError(f"{transform}: {_name(fun)} returned {type(value).__name__} of dtype "
                        f"{dtype}; only a floating-point output has a gradient (a comparison, "
                        "np.allclose or an integer carries none)")
    return data


def _split_aux(out: Any, fun: Callable, transform: str, has_aux: bool) -> tuple[Any, Any]:
    if not has_aux:
        return out, None
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise TypeError(f"{transform} with has_aux=True: {_name(fun)} must return a pair "
                        f"(value, aux), got {type(out).__name__}")
    return out[0], out[1]


def value_and_grad(fun: Callable, argnum: Argnum = 0, *, has_aux: bool = False) -> Callable:
    """``fun`` -> function returning ``(fun(*args, **kwargs), d fun / d args[argnum])``.

    ``fun`` must return a floating scalar (or ``(scalar, aux)`` with ``has_aux=True``;
    the result is then ``((value, aux), gradient)``).  Each differentiated argument
    may be an array, a float, a Tensor or a container of those; its gradient has the
    same structure and shapes (a float for a float).  A tuple ``argnum`` gives a tuple
    of gradients.  Keyword arguments are passed to ``fun`` and not differentiated.
    """
    several = isinstance(argnum, tuple)

    @functools.wraps(fun)
    def wrapped(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
        trace = _trace(fun, args, kwargs, _argnums(argnum, len(args)))
        out, aux = _split_aux(trace.out, fun, "grad", has_aux)
        data = _check_floating(out, fun, "grad")
        if np.size(data) != 1:
            raise TypeError(
                f"grad needs a scalar-valued function, but {_name(fun)} returned shape "
                f"{np.shape(data)}; use ag.jacobian for non-scalar outputs (or reduce with .sum()).")
        grads = _gradients(out, trace.targets, np.ones_like(data), trace.nested)
        value = _value(out, trace.nested)
        gradient = _package(trace, grads, trace.nested, several)
        if not has_aux:
            return value, gradient
        return (value, aux if trace.nested else tree_map(unwrap, aux)), gradient

    return wrapped


def grad(fun: Callable, argnum: Argnum = 0, *, has_aux: bool = False) -> Callable:
    """``fun`` -> function computing the gradient of scalar ``fun`` w.r.t. ``args[argnum]``
    (in the argument's structure; see `value_and_grad`).  With ``has_aux=True`` it
    returns ``(gradient, aux)``."""
    value_and_gradient = value_and_grad(fun, argnum, has_aux=has_aux)

    @functools.wraps(fun)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        value, gradient = value_and_gradient(*args, **kwargs)
        return (gradient, value[1]) if has_aux else gradient

    return wrapped


def jacobian(fun: Callable, argnum: Argnum = 0) -> Callable:
    """``fun`` -> function computing d fun / d args[argnum].

    For an array output and an array argument the Jacobian has shape
    ``out.shape + arg.shape``.  A container argument gives a container of Jacobians
    (one per leaf), a tuple ``argnum`` a tuple over the arguments, and a container
    output a container (of the output's structure) of those, as JAX's ``jacrev``.
    """
    several = isinstance(argnum, tuple)

    @functools.wraps(fun)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        trace = _trace(fun, args, kwargs, _argnums(argnum, len(args)))
        out_leaves, out_def = tree_flatten(trace.out)
        per_output = [_package(trace, _jacobian_rows(leaf, trace, fun), trace.nested, several)
                      for leaf in out_leaves]
        return out_def.unflatten(per_output)

    return wrapped


def _jacobian_rows(out: Any, trace: _Trace, fun: Callable) -> list:
    """d out / d target for each target, shape ``out.shape + target.shape``: one backward
    pass per element of ``out``."""
    data = _check_floating(out, fun, "jacobian")
    out_shape = np.shape(data)
    rows: list[list] = [[] for _ in trace.targets]
    for index in np.ndindex(*out_shape):
        seed = np.zeros(out_shape, dtype=data.dtype)
        seed[index] = 1
        for k, g in enumerate(_gradients(out, trace.targets, seed, trace.nested, retain_graph=True)):
            rows[k].append(g if trace.nested else unwrap(g))
    jacobians = []
    for k, target in enumerate(trace.targets):
        shape = out_shape + target.shape
        if trace.nested:
            jacobians.append(F.reshape(F.stack(rows[k]), shape) if rows[k]
                             else Tensor(np.zeros(shape)))
        else:
            jacobians.append(np.reshape(np.stack(rows[k]), shape) if rows[k] else np.zeros(shape))
    return jacobians


def hessian(fun: Callable, argnum: Argnum = 0) -> Callable:
    """``fun`` -> function computing the second derivatives of scalar ``fun``: shape
    ``arg.shape * 2`` for one array argument; for a tuple ``argnum`` a tuple of tuples
    (``H[i][j]`` = d2 fun / d args[i] d args[j], shape ``arg_i.shape + arg_j.shape``)."""
    return jacobian(grad(fun, argnum), argnum)


# ---- vector products -----------------------------------------------------------------------
def _pullback(trace: _Trace, out_leaves: list, cotangents: list, create_graph: bool) -> list:
    """J^T cotangent for every target (flat): one backward pass from the output leaves,
    each weighted by its cotangent.  Keeps the graph for later pullbacks."""
    pairs = [(o, c) for o, c in zip(out_leaves, cotangents)
             if isinstance(o, Tensor) and o.requires_grad]
    if not pairs:
        return [np.zeros_like(t.data) for t in trace.targets]
    if len(pairs) == 1:
        root, seed = pairs[0]
    else:  # several outputs: one backward from sum_k <out_k, cotangent_k>
        with enable_grad():
            root = functools.reduce(lambda a, b: a + b, [F.sum(o * c) for o, c in pairs])
        seed = np.ones_like(root.data)
    grads = backprop(root, seed, inputs=trace.targets, retain_graph=True,
                     create_graph=create_graph)
    return [np.zeros_like(t.data) if g is None else g for g, t in zip(grads, trace.targets)]


def _matching_leaves(treedef: TreeDef, tree: Any, like: list, what: str) -> list:
    """``tree``'s leaves, checked to have ``treedef``'s structure and each the shape of
    the corresponding leaf of ``like``."""
    leaves = treedef.flatten_up_to(tree, what)
    for path, leaf, reference in zip(treedef.paths(), leaves, like):
        if np.shape(unwrap(leaf)) != np.shape(unwrap(reference)):
            raise ValueError(f"{what}{path_suffix(path)} has shape {np.shape(unwrap(leaf))}, "
                             f"expected {np.shape(unwrap(reference))}")
    return leaves


def _wants_graph(leaves: list) -> bool:
    return transform_depth() > 0 or any(isinstance(x, Tensor) and x.requires_grad for x in leaves)


def vjp(fun: Callable, *primals: Any, has_aux: bool = False) -> tuple[Any, Callable]:
    """``(fun(*primals), vjp_fn)``, where ``vjp_fn(cotangent)`` is the tuple (one entry per
    primal, each in that primal's structure) of ``J^T cotangent``.

    ``cotangent`` has the output's structure and shapes.  ``vjp_fn`` may be called any
    number of times (the recording is kept while it lives).  With ``has_aux=True``,
    ``fun`` returns ``(out, aux)`` and the result is ``(out, vjp_fn, aux)`` (JAX's).
    """
    trace = _trace(fun, primals, {}, tuple(range(len(primals))))
    out, aux = _split_aux(trace.out, fun, "vjp", has_aux)
    out_leaves, out_def = tree_flatten(out)
    for leaf in out_leaves:
        _check_floating(leaf, fun, "vjp")

    def vjp_fn(cotangent: Any) -> tuple:
        cotangents = _matching_leaves(out_def, cotangent, out_leaves, "the cotangent")
        nested = trace.nested or _wants_graph(cotangents)
        grads = _pullback(trace, out_leaves, cotangents, nested)
        return _package(trace, grads, nested, several=True)

    value = out_def.unflatten(_value(o, trace.nested) for o in out_leaves)
    if has_aux:
        return value, vjp_fn, aux if trace.nested else tree_map(unwrap, aux)
    return value, vjp_fn


def jvp(fun: Callable, primals: Sequence, tangents: Sequence) -> tuple[Any, Any]:
    """``(fun(*primals), J tangents)``: the output and its directional derivative.

    ``tangents`` has the structure and shapes of ``primals`` (a tuple with one entry
    per argument); the result's tangent has the output's.  Computed with two reverse
    passes: ``J v`` is the gradient with respect to ``u`` of ``<J^T u, v>``; that is
    linear in ``u``, so any ``u`` gives it (``u = 0`` is used).
    """
    primals = tuple(primals)
    trace = _trace(fun, primals, {}, tuple(range(len(primals))))
    primal_def = tree_flatten(primals)[1]
    directions = _matching_leaves(primal_def, tuple(tangents), list(trace.given), "the tangents")
    out_leaves, out_def = tree_flatten(trace.out)
    for leaf in out_leaves:
        _check_floating(leaf, fun, "jvp")
    nested = trace.nested or _wants_graph(directions)
    us = [Tensor(np.zeros_like(unwrap(o)), requires_grad=True) for o in out_leaves]
    with enable_grad():
        pulled = _pullback(trace, out_leaves, us, create_graph=True)
        products = [F.sum(g * v) for g, v in zip(pulled, directions)
                    if isinstance(g, Tensor) and g.requires_grad]
        inner = functools.reduce(lambda a, b: a + b, products) if products else None
    if inner is None:  # J^T u does not depend on u: the output does not depend on the primals
        tangent_out = [np.zeros_like(u.data) for u in us]
    else:
        grads = backprop(inner, np.ones_like(inner.data), inputs=tuple(us), retain_graph=nested,
                         create_graph=nested)
        tangent_out = [np.zeros_like(u.data) if g is None else g for g, u in zip(grads, us)]
    value = out_def.unflatten(_value(o, trace.nested) for o in out_leaves)
    return value, out_def.unflatten(as_given(g, o, nested) for g, o in zip(tangent_out, out_leaves))


def hvp(fun: Callable, primals: Sequence, tangents: Sequence) -> tuple:
    """The Hessian of scalar ``fun`` at ``primals`` times ``tangents``, without forming the
    Hessian: the gradient of ``<grad fun, tangents>`` (reverse over reverse), two backward
    passes at about twice the cost of one gradient.

    ``primals`` and ``tangents`` are tuples with one entry per argument of ``fun`` (each
    an array, a float, a Tensor or a container); the result is a tuple of the same
    structure: entry ``i`` is ``sum_j H[i][j] tangents[j]``.
    """
    primals = tuple(primals)
    everything = tuple(range(len(primals)))
    leaves, primal_def = tree_flatten(primals)
    directions = _matching_leaves(primal_def, tuple(tangents), leaves, "the tangents")
    gradient = grad(fun, everything)

    def directional_derivative(*xs: Any) -> Any:
        slopes = tree_flatten(gradient(*xs))[0]
        return functools.reduce(lambda a, b: a + b,
                                [F.sum(g * v) for g, v in zip(slopes, directions)])

    return grad(directional_derivative, everything)(*primals)
