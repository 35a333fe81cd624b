"""The tape: grad mode, recording an operation, and the backward walk.

A recorded Tensor *is* its tape entry: it keeps the primitive that made it
(``grad_fn``), the operands (``_inputs``) and their arrays, the primitive's keyword
arguments, the operands' version numbers at record time and a creation number.
Creation order is a topological order, so backward visits the nodes reachable
from the root from the highest creation number down: no recursion anywhere.

Derivative rules are written with NumPy calls (``np.exp``, ``g * y``, ...).  In an
ordinary ``backward()`` they receive plain arrays and run at NumPy speed; when a
transform needs the gradient's own graph (``create_graph=True``) they receive
Tensors, NumPy's dispatch protocol routes every call back to the table, and the
backward pass is itself recorded.  That is how grad-of-grad comes for free.
"""
from __future__ import annotations

import contextlib
import functools
import heapq
import itertools
import operator
import threading
import traceback
import types
from typing import Any, Callable

import numpy as np


class _ThreadState(threading.local):
    """Per-thread switches: `no_grad` in one thread must not affect another."""

    def __init__(self) -> None:
        self.grad_enabled = True
        self.scopes: list[str] = []


_state = _ThreadState()
_sequence = itertools.count()


class _Anomaly:
    """Process-wide flag for `detect_anomaly` (read once per recorded op)."""

    enabled = False


def is_grad_enabled() -> bool:
    """True when operations on Tensors that require grad are being recorded (this thread)."""
    return _state.grad_enabled


class _GradMode(contextlib.ContextDecorator):
    """Context manager and decorator setting grad mode, restored on exit (exceptions too)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._saved: list[bool] = []

    def __enter__(self) -> "_GradMode":
        self._saved.append(_state.grad_enabled)
        _state.grad_enabled = self.enabled
        return self

    def __exit__(self, *exc: object) -> None:
        _state.grad_enabled = self._saved.pop()


def no_grad() -> _GradMode:
    """Nothing is recorded inside: ``with ag.no_grad(): ...`` or ``@ag.no_grad()``."""
    return _GradMode(False)


def enable_grad() -> _GradMode:
    """Recording on inside (e.g. within a `no_grad` block)."""
    return _GradMode(True)


def set_grad_enabled(enabled: bool) -> _GradMode:
    return _GradMode(enabled)


class name_scope:
    """Operations recorded inside carry the dotted scope name in ``t._scope``.

    Nested scopes join with dots (``"encoder"`` inside ``"0"`` is ``"0.encoder"``); an
    empty name adds no level (a top-level ``nn.Module`` uses it, so its own operations
    carry scope ``""``).  Graph drawing groups the nodes of one scope in one cluster.
    A plain class rather than a generator: every ``nn.Module`` call enters one.
    """

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __enter__(self) -> None:
        scopes = _state.scopes
        parent = scopes[-1] if scopes else ""
        name = self.name
        scopes.append(f"{parent}.{name}" if parent and name else parent or name)

    def __exit__(self, *exc: object) -> None:
        _state.scopes.pop()


class Primitive:
    """One entry of the derivative table.

    ``forward(*arrays, **kwargs)`` is the NumPy computation; ``vjps[i](g, ans, *args,
    **kwargs)`` maps the output gradient ``g`` (shape of ``ans``) to the gradient of
    argument ``i`` (broadcast-compatible with it: the engine fits it, `unbroadcast`).  A
    variadic primitive (concatenate, stack) gives ``vjp_any(i, g, ans, *args, **kw)``.

    With ``residual=True`` the forward returns ``(out, residual)``: something its rules
    can reuse (a fused loss's exponentials).  The node keeps it until backward frees the
    node, and a plain backward passes it to the rules as ``residual=``; under
    ``create_graph`` the rules get ``residual=None`` and must recompute, differentiably.
    """

    __slots__ = ("name", "forward", "vjps", "vjp_any", "residual")

    def __init__(self, name: str, forward: Callable, vjps: tuple = (),
                 vjp_any: Callable | None = None, residual: bool = False) -> None:
        self.name = name
        self.forward = forward
        self.vjps = vjps
        self.vjp_any = vjp_any
        self.residual = residual

    def rule(self, argnum: int) -> Callable:
        if self.vjp_any is not None:
            return functools.partial(self.vjp_any, argnum)
        return self.vjps[argnum]

    def __call__(self, *args: Any, **kwargs: Any):
        """Run the forward on the arrays inside ``args``; record it when grad is needed."""
        Tensor = _Tensor
        arrays = []
        versions = []
        needs_grad = False
        for a in args:
            if isinstance(a, Tensor):
                arrays.append(a.data)
                versions.append(a._version)
                if a.requires_grad:
                    needs_grad = True
            else:
                arrays.append(a)
                versions.append(None)
        try:
            out = self.forward(*arrays, **kwargs)
        except (ValueError, IndexError, TypeError) as exc:
            raise _operand_error(exc, self, arrays, kwargs) from None
        if self.residual:
            out, residual = out
        if type(out) is not np.ndarray:
            out = np.asarray(out)
        anomaly = _Anomaly.enabled
        if anomaly:
            from .anomaly import check_forward
            check_forward(self, args, out)
        result = _new_tensor(Tensor)
        result._init(out)
        if needs_grad and _state.grad_enabled:
            result.requires_grad = True
            result.grad_fn = self
            result._inputs = args
            result._arrays = arrays  # the operands' arrays as used here (the rules read them)
            result._kwargs = kwargs
            result._versions = versions
            result._seq = next(_sequence)
            if self.residual:
                result._residual = residual
            scopes = _state.scopes
            if scopes:
                result._scope = scopes[-1]
            if anomaly:
                result._trace = traceback.extract_stack()[:-1]
        return result

    def __get__(self, obj, objtype=None):
        # A primitive stored on the Tensor class is a method: t.exp() is exp(t).
        return self if obj is None else types.MethodType(self, obj)

    def __repr__(self) -> str:
        return f"<primitive {self.name}>"


_Tensor: type = None  # set by tensor.py; the engine only needs to make and recognise Tensors
_new_tensor = object.__new__


def _operand_error(exc: Exception, prim: Primitive, datas: list, kwargs: dict) -> Exception:
    """The NumPy error, prefixed with the operation and every operand's shape."""
    shapes = ", ".join(str(np.shape(d)) for d in datas)
    options = "".join(f", {k}={v!r}" for k, v in kwargs.items() if k != "key")
    message = str(exc).removeprefix(f"{prim.name}: ")  # NumPy's matmul names itself already
    return type(exc)(f"{prim.name}: {message} (operand shapes {shapes}{options})")


def unbroadcast(g, shape: tuple):
    """Fit a rule's gradient ``g`` to its operand's ``shape``.

    Sums over the axes NumPy broadcasting added or stretched in the forward pass, and
    stretches a gradient a rule left broadcastable (``sum``'s rule returns one value
    per reduced slice).  Works on arrays and Tensors alike.
    """
    gshape = g.shape
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    if lead > 0 or g.size > 1:  # else g is one value: nothing to sum, only to stretch
        axes = list(range(lead)) if lead > 0 else []
        for i, n in enumerate(shape):
            if n == 1 and i + lead >= 0 and gshape[i + lead] != 1:
                axes.append(i + lead)
        if axes:
            g = g.sum(axis=tuple(axes), keepdims=True)
        if lead > 0:
            g = g.reshape(g.shape[lead:])
        if g.shape == shape:
            return g
    if isinstance(g, _Tensor):
        return np.broadcast_to(g, shape)  # recorded: NumPy dispatches it to the table
    stretched = np.empty(shape, dtype=g.dtype)  # cheaper than a broadcast view, and writable
    stretched[...] = g
    return stretched


_by_sequence = operator.attrgetter("_seq")


def graph_nodes(root) -> list:
    """Recorded Tensors that ``root`` depends on (itself included), newest first."""
    Tensor = _Tensor
    seen = {id(root)}
    stack = [root]
    nodes = []
    while stack:
        t = stack.pop()
        nodes.append(t)
        for inp in t._inputs or ():
            if isinstance(inp, Tensor) and inp.grad_fn is not None and id(inp) not in seen:
                seen.add(id(inp))
                stack.append(inp)
    nodes.sort(key=_by_sequence, reverse=True)
    return nodes


def _modified_in_place(node, operand, version: int) -> RuntimeError:
    return RuntimeError(
        f"backward through `{node.grad_fn.name}` needs an operand that was modified in "
        f"place after it was recorded (its version is now {operand._version}, it was "
        f"{version}). Use an out-of-place operation (x = x + y instead of x += y), "
        "or do the in-place update after backward().")


def backprop(root, grad, *, retain_graph: bool = False, create_graph: bool = False,
             inputs: tuple | None = None):
    """Propagate ``grad`` (shape of ``root``) back through the recorded graph.

    With ``inputs=None`` the gradients are accumulated into ``.grad`` of every leaf
    that requires grad.  Otherwise nothing is accumulated and the gradients with
    respect to ``inputs`` (Tensors, in order, ``None`` where unreachable) are returned.
    With ``create_graph`` the gradients are Tensors recorded on the tape.

    The walk pops the newest pending node from a heap keyed by creation number, so a
    node runs only after every consumer has added its share to the node's gradient.
    """
    grads = {id(root): grad}
    leaves = {}
    if root.grad_fn is None:
        leaves[id(root)] = root
        pending = []
    elif root._inputs is None:
        raise _freed_error(root)
    else:
        pending = [(-root._seq, root)]  # creation numbers are unique: Tensors never compared
    targets = {id(t) for t in inputs} if inputs is not None else ()
    anomaly = _Anomaly.enabled
    saved_mode = _state.grad_enabled
    _state.grad_enabled = create_graph
    try:
        while pending:
            node = heapq.heappop(pending)[1]
            key = id(node)
            # A gradient is consumed once, except where the caller asked for it.
            g = grads.get(key) if key in targets else grads.pop(key)
            node_inputs = node._inputs
            if node_inputs is None:
                raise _freed_error(node)
            if create_graph:
                ans, args = node, node_inputs
            else:
                ans, args = node.data, node._arrays
            prim = node.grad_fn
            kwargs = node._kwargs
            if prim.residual and not create_graph:
                kwargs = {**kwargs, "residual": node._residual}
            for i, (inp, version) in enumerate(zip(node_inputs, node._versions)):
                if version is None:  # a constant operand, not a Tensor
                    continue
                if inp._version != version:
                    raise _modified_in_place(node, inp, version)
                if not inp.requires_grad:
                    continue
                gi = prim.rule(i)(g, ans, *args, **kwargs)
                if gi.shape != inp.data.shape:
                    gi = unbroadcast(gi, inp.data.shape)
                if anomaly:
                    from .anomaly import check_backward
                    check_backward(node, i, gi)
                key = id(inp)
                previous = grads.get(key)
                if previous is not None:
                    grads[key] = previous + gi
                    continue
                grads[key] = gi
                if inp.grad_fn is None:
                    leaves[key] = inp
                else:
                    heapq.heappush(pending, (-inp._seq, inp))
            if not retain_graph:
                node._inputs = node._arrays = node._residual = None
    finally:
        _state.grad_enabled = saved_mode
    if inputs is not None:
        return tuple(grads.get(id(t)) for t in inputs)
    _accumulate_into_leaves(leaves, grads, given=grad)
    return None


def _accumulate_into_leaves(leaves: dict, grads: dict, given) -> None:
    """``leaf.grad += gradient`` for each leaf; a new ``.grad`` never aliases another
    leaf's, the caller's ``grad``, or a read-only broadcast view."""
    handed_out = {id(given)}
    for key, leaf in leaves.items():
        g = grads.get(key)
        if g is None or not leaf.requires_grad:
            continue
        if isinstance(g, _Tensor):
            g = g.data
        if type(g) is not np.ndarray or g.dtype != leaf.data.dtype or id(g) in handed_out \
                or g.base is not None:
            g = np.array(g, dtype=leaf.data.dtype)
        if leaf.grad is None:
            leaf.grad = g
            handed_out.add(id(g))
        else:
            leaf.grad += g


def _freed_error(node) -> RuntimeError:
    return RuntimeError(
        f"trying to backward through the graph a second time (at `{node.grad_fn.name}`): its "
        "saved values were freed by the first backward(). Pass retain_graph=True to the "
        "first backward() if you need to call it twice.")
