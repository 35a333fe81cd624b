"""Differentiate functions, HIPS-autograd / JAX style: grad, value_and_grad, jacobian, hessian.

Higher order comes from differentiating the recorded backward pass itself: inside
another transform (or given Tensors that require grad) a transform runs its
backward with ``create_graph=True`` and returns Tensors with history.
"""
from __future__ import annotations

import functools
import threading
from typing import Any, Callable

import numpy as np

from . import functions as F
from .engine import backprop, enable_grad
from .tensor import Tensor, unwrap

_nesting = threading.local()


def _depth() -> int:
    return getattr(_nesting, "depth", 0)


def _as_leaf(arg: Any) -> Tensor:
    """A Tensor to differentiate with respect to: ``arg`` itself when it already carries
    history for an outer transform, else a fresh leaf around its value."""
    if isinstance(arg, Tensor):
        if arg.requires_grad:
            return arg
        arg = arg.data
    data = np.asarray(arg)
    if not np.issubdtype(data.dtype, np.floating):
        data = data.astype(np.float64)
    return Tensor(data, requires_grad=True)


def _trace(fun: Callable, args: tuple, argnums: tuple[int, ...]):
    """Run ``fun`` recording, with the arguments ``argnums`` as differentiation targets.

    Returns ``(output, targets, nested)``; ``nested`` says the gradients must themselves
    be differentiable (inside another transform, or given Tensors that require grad).
    """
    nested = _depth() > 0 or any(
        isinstance(args[i], Tensor) and args[i].requires_grad for i in argnums)
    args = list(args)
    targets = tuple(_as_leaf(args[i]) for i in argnums)
    for i, t in zip(argnums, targets):
        args[i] = t
    _nesting.depth = _depth() + 1
    try:
        with enable_grad():
            out = fun(*args)
    finally:
        _nesting.depth -= 1
    return out, targets, nested


def _result(g, like: Any, nested: bool):
    """The gradient as the user gave the argument: Tensor when nested, float for a float."""
    if nested:
        return g if isinstance(g, Tensor) else Tensor(g)
    g = np.asarray(unwrap(g))
    if isinstance(like, (float, int)) and not isinstance(like, bool):
        return float(g)
    return g


def _gradients(out, targets: tuple, grad, nested: bool, retain_graph: bool = False) -> tuple:
    if not (isinstance(out, Tensor) and out.requires_grad):
        return tuple(np.zeros_like(t.data) for t in targets)
    grads = backprop(out, grad, inputs=targets, retain_graph=nested or retain_graph,
                     create_graph=nested)
    return tuple(np.zeros_like(t.data) if g is None else g for g, t in zip(grads, targets))


def value_and_grad(fun: Callable, argnum: int | tuple[int, ...] = 0) -> Callable:
    """``fun`` -> function returning ``(fun(*args), d fun / d args[argnum])``.

    ``fun`` must return a scalar.  With a tuple ``argnum`` the gradient is a tuple.
    Each gradient has its argument's shape (a float for a float argument).
    """
    argnums = argnum if isinstance(argnum, tuple) else (argnum,)

    @functools.wraps(fun)
    def wrapped(*args):
        out, targets, nested = _trace(fun, args, argnums)
        size = np.size(unwrap(out))
        if size != 1:
            raise TypeError(
                f"grad needs a scalar-valued function, but {getattr(fun, '__name__', 'fun')} "
                f"returned shape {np.shape(unwrap(out))}; "
                "use ag.jacobian for non-scalar outputs (or reduce with .sum()).")
        seed = np.ones_like(out.data) if isinstance(out, Tensor) else None
        grads = _gradients(out, targets, seed, nested)
        grads = tuple(_result(g, args[i], nested) for g, i in zip(grads, argnums))
        value = out if nested else _result(out, 1.0 if np.ndim(unwrap(out)) == 0 else out, False)
        return value, grads if isinstance(argnum, tuple) else grads[0]

    return wrapped


def grad(fun: Callable, argnum: int | tuple[int, ...] = 0) -> Callable:
    """``fun`` -> function computing the gradient of scalar ``fun`` w.r.t. ``args[argnum]``."""
    value_and_gradient = value_and_grad(fun, argnum)

    @functools.wraps(fun)
    def wrapped(*args):
        return value_and_gradient(*args)[1]

    return wrapped


def jacobian(fun: Callable, argnum: int = 0) -> Callable:
    """``fun`` -> function computing d fun / d args[argnum], of shape ``out.shape + in.shape``."""

    @functools.wraps(fun)
    def wrapped(*args):
        out, (target,), nested = _trace(fun, args, (argnum,))
        out_shape = np.shape(unwrap(out))
        rows = []
        for index in np.ndindex(*out_shape):
            seed = np.zeros(out_shape, dtype=target.dtype)
            seed[index] = 1
            (row,) = _gradients(out, (target,), seed, nested, retain_graph=True)
            rows.append(row if nested else unwrap(row))
        shape = out_shape + target.shape
        if nested:
            return F.reshape(F.stack(rows), shape) if rows else Tensor(np.zeros(shape))
        return np.reshape(np.stack(rows), shape) if rows else np.zeros(shape)

    return wrapped


def hessian(fun: Callable, argnum: int = 0) -> Callable:
    """``fun`` -> function computing the matrix of second derivatives, ``in.shape * 2``."""
    return jacobian(grad(fun, argnum), argnum)
