"""Grad mode, and the backward walk over the recorded graph.

Every recorded Tensor points at its `Node` (``t.grad_fn``): the primitive, its
operands, the arrays its rules read.  Creation order is a topological order, so
backward pops the pending Tensor with the highest creation number from a heap: a
node runs only after every consumer has added its share to its gradient, and
nothing recurses.  `node_step` is one node's work (rule calls, fitting each
gradient to its operand's shape); the walk adds accumulation, and ``compile_grad``
traces the same step.

Derivative rules are written with NumPy calls (``np.exp``, ``g * y``, ...).  In an
ordinary ``backward()`` they receive plain arrays and run at NumPy speed; when a
transform needs the gradient's own graph (``create_graph=True``) they receive
Tensors, NumPy's dispatch protocol routes every call back to the table, and the
backward pass is itself recorded.  That is how grad-of-grad comes for free.

This module knows nodes and arrays, not the Tensor class: a Tensor is what
``recording.py`` makes, above it.
"""
from __future__ import annotations

import contextlib
import heapq
import operator
import threading
from typing import Any, Protocol

import numpy as np


class _ThreadState(threading.local):
    """Per-thread switches: `no_grad` in one thread must not affect another."""

    def __init__(self) -> None:
        self.grad_enabled = True
        self.scopes: list[str] = []
        self.differentiating = None  # the Tensor whose rules run now (see `differentiating`)
        self.value_reads: list[str] | None = None  # see `watching_value_reads`


thread_state = _ThreadState()  # public: recording reads it on every operation
_state = thread_state


class AnomalyHooks(Protocol):
    """What `detect_anomaly` plugs into the engine's `hooks` slot."""

    def forward(self, op, args: tuple, out: np.ndarray) -> None:
        """Called with every operation's result, recorded or not."""

    def recording_site(self) -> Any:
        """Where the user's code is recording now (kept as ``Node.trace``)."""

    def backward(self, node, argnum: int, grad) -> None:
        """Called with every gradient a rule gives."""


class _Hooks:
    """The engine's hook slot, process-wide; ``anomaly`` is None unless anomaly mode is on."""

    # A slot, not a class attribute: every operation reads it, and CPython reads a slot
    # by a fixed offset where a class attribute costs a lookup through the type.
    __slots__ = ("anomaly",)

    def __init__(self) -> None:
        self.anomaly: AnomalyHooks | None = None


hooks = _Hooks()


@contextlib.contextmanager
def watching_value_reads():
    """Collect (in the yielded list) the names of operations in this thread that read the
    values of a Tensor that requires grad without recording anything: comparisons,
    ``argsort``, ``allclose``...  Their results (a mask, an order, a branch taken) are
    outside the tape, so a compiled replay would reuse them: `compile_grad` watches its
    traces with this and warns."""
    outer, _state.value_reads = _state.value_reads, []
    try:
        yield _state.value_reads
    finally:
        _state.value_reads = outer


def note_value_read(name: str, operands: tuple) -> None:
    """Called by the non-recording operations on Tensors (see `watching_value_reads`)."""
    reads = _state.value_reads
    if reads is not None and any(getattr(o, "requires_grad", False) for o in operands):
        reads.append(name)


def differentiating():
    """The Tensor whose node's rules are running in this thread's backward pass (only
    tracked while anomaly hooks are installed), else None."""
    return _state.differentiating


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
    """Operations recorded inside carry the dotted scope name in ``t.grad_fn.scope``.

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


# ---- fitting a gradient to its operand's shape ---------------------------------------
def broadcast_axes(gshape: tuple, shape: tuple) -> tuple[tuple[int, ...], int]:
    """The axes of a gradient of ``gshape`` to sum so it fits ``shape``, and how many
    leading axes broadcasting added (negative: the gradient has fewer axes).

    Summed: the added leading axes, and those ``shape`` has as 1 where ``gshape`` has more.
    """
    lead = len(gshape) - len(shape)
    axes = list(range(lead)) if lead > 0 else []
    axes += [i + lead for i, n in enumerate(shape)
             if n == 1 and i + lead >= 0 and gshape[i + lead] != 1]
    return tuple(axes), lead


def unbroadcast(g, shape: tuple):
    """Fit a rule's gradient ``g`` to its operand's ``shape``.

    Sums over the axes NumPy broadcasting added or stretched in the forward pass, and
    stretches a gradient a rule left broadcastable (``sum``'s rule returns one value
    per reduced slice).  Works on arrays and Tensors alike.
    """
    if g.shape == shape:
        return g
    if g.ndim > len(shape) or g.size != 1:  # else g is one value: nothing to sum, only to stretch
        axes, lead = broadcast_axes(g.shape, shape)
        if axes:
            g = g.sum(axis=axes, keepdims=True)
        if lead > 0:
            g = g.reshape(g.shape[lead:])
        if g.shape == shape:
            return g
    if type(g) is not np.ndarray:  # a Tensor (create_graph): recorded, NumPy dispatches it
        return np.broadcast_to(g, shape)
    stretched = np.empty(shape, dtype=g.dtype)  # cheaper than a broadcast view, and writable
    stretched[...] = g
    return stretched


# ---- one node --------------------------------------------------------------------------
def _history_at(t, version: int):
    """The Tensor holding ``t``'s history as it was at ``version``: in-place operations
    recorded since moved it to the Tensor named by their node's ``previous``."""
    while t._version != version:
        node = t.grad_fn
        if node is None or node.previous is None:
            return t  # changed without recording (under no_grad): same history
        t = node.previous
    return t


def node_step(tensor, g, create_graph: bool = False, fit=None,
              release: bool = False) -> list[tuple[int, Any, Any]]:
    """The rules of ``tensor``'s node applied to its gradient ``g``.

    Returns ``(position, operand, gradient)`` for each operand that requires grad,
    each gradient fitted to its operand's shape (by `unbroadcast`, or by
    ``fit(position, gradient, shape)``: the compiler notes the shapes there).  Raises
    when the graph was freed, or when a rule that must run reads a value changed in
    place since it was recorded.

    A rule gets ``(g, ans, *args, **kwargs)``: in a plain backward arrays (the output's,
    the saved operand arrays) and the forward's residual; under ``create_graph`` the
    Tensors themselves, so the rules record, and no residual (they recompute it).
    ``release`` frees the node's saved arrays once its rules have run.
    """
    node = tensor.grad_fn
    saved = node.saved
    if saved is None:
        raise _freed_error(node)
    op = node.op
    inputs = node.inputs
    if create_graph:
        ans, args, kwargs = tensor, inputs, node.kwargs
    else:
        ans, args, kwargs = tensor.data, saved, node.kwargs
        if op.residual:
            kwargs = {**kwargs, "residual": node.residual}
    steps = []
    changed = None
    for i, (operand, version) in enumerate(zip(inputs, node.versions)):
        if version is None:  # a constant operand, not a Tensor
            continue
        if operand._version != version:
            changed = (changed or set()) | {i}
            operand = _history_at(operand, version)
        if operand.requires_grad:
            steps.append((i, operand))
    if changed is not None or (tensor._version and tensor._version != node.output_version):
        _check_reads(node, tensor, steps, changed or set())
    anomaly = hooks.anomaly
    rules = op.vjps
    for k, (i, operand) in enumerate(steps):
        # The rule `defvjp` gave for argument i, read directly (one call less per rule);
        # `Primitive.rule` handles the rest: a variadic primitive's, a missing one's error.
        rule = rules[i] if i < len(rules) else None
        rule = rule or op.rule(i)
        # Without keywords, no **: unpacking the shared read-only NO_KWARGS copies it.
        gi = rule(g, ans, *args, **kwargs) if kwargs else rule(g, ans, *args)
        shape = operand.data.shape
        try:  # free unless it raises (Python 3.11): the fast path pays nothing
            if gi.shape != shape:
                gi = unbroadcast(gi, shape) if fit is None else fit(i, gi, shape)
        except (AttributeError, ValueError) as exc:
            raise _misfit_error(op, i, gi, shape) from exc
        if anomaly is not None:
            anomaly.backward(node, i, gi)
        steps[k] = (i, operand, gi)
    if release:  # what the rules alone needed; the structure (inputs) stays
        node.saved = node.residual = None
    return steps


def _misfit_error(op, argnum: int, gi: Any, shape: tuple) -> ValueError:
    """A rule's gradient that is not an array, or that cannot be summed or stretched to
    its argument's shape: a mistake in that primitive's ``defvjp``."""
    got = (f"a gradient of shape {gi.shape}" if hasattr(gi, "shape")
           else f"{type(gi).__name__} {gi!r:.40}")
    return ValueError(
        f"the derivative rule of `{op.name}` for argument {argnum} returned {got}, which does "
        f"not broadcast to that argument's shape {shape}: a rule must return an array (or "
        "Tensor) broadcast-compatible with its argument (check the primitive's defvjp)")


def _check_reads(node, tensor, steps: list, changed: set) -> None:
    """Raise if a rule about to run reads an operand (or the output) changed in place."""
    output_changed = tensor._version != node.output_version
    for i, _ in steps:
        reads = node.op.reads(i)
        hit = sorted(changed & reads.operands)
        if hit or (output_changed and reads.output):
            what = (f"operand {hit[0]}" if hit else "its output")
            t = node.inputs[hit[0]] if hit else tensor
            was = node.versions[hit[0]] if hit else node.output_version
            raise RuntimeError(
                f"backward through `{node.op.name}` needs {what}, which was modified in "
                f"place after it was recorded (its version is now {t._version}, it was "
                f"{was}). Use an out-of-place operation (x = x + y instead of x += y), "
                "or do the in-place update after backward().")


# ---- the walk --------------------------------------------------------------------------
_by_sequence = operator.attrgetter("grad_fn.seq")


def inputs_of(t) -> tuple:
    """The operands of ``t``'s node as recorded: constants as they are, and each Tensor
    operand changed in place since replaced by the Tensor now holding its history then."""
    node = t.grad_fn
    inputs = node.inputs
    for operand, version in zip(inputs, node.versions):
        if version is not None and operand._version != version:
            return tuple(a if v is None else _history_at(a, v)
                         for a, v in zip(inputs, node.versions))
    return inputs


def graph_nodes(root) -> list:
    """Recorded Tensors that ``root`` depends on (itself included), newest first."""
    seen = {id(root)}
    stack = [root]
    nodes = []
    while stack:
        t = stack.pop()
        nodes.append(t)
        for operand, version in zip(inputs_of(t), t.grad_fn.versions):
            if version is not None and operand.grad_fn is not None and id(operand) not in seen:
                seen.add(id(operand))
                stack.append(operand)
    nodes.sort(key=_by_sequence, reverse=True)
    return nodes


def backprop(root, grad, *, retain_graph: bool = False, create_graph: bool = False,
             inputs: tuple | None = None):
    """Propagate ``grad`` (shape of ``root``) back through the recorded graph.

    With ``inputs=None`` the gradients are accumulated into ``.grad`` of every leaf
    that requires grad (and of Tensors that `retain_grad`).  Otherwise nothing is
    accumulated and the gradients with respect to ``inputs`` (Tensors, in order,
    ``None`` where unreachable) are returned.  With ``create_graph`` the gradients are
    Tensors recorded on the tape.  Hooks (``register_hook``) run on each Tensor's
    gradient once it is complete, before it is used.
    """
    grads = {id(root): grad}
    leaves = {}
    if root.grad_fn is None:
        leaves[id(root)] = root
        pending = []
    elif root.grad_fn.saved is None:
        raise _freed_error(root.grad_fn)
    else:
        pending = [(-root.grad_fn.seq, root)]  # creation numbers are unique: no ties
    targets = {id(t) for t in inputs} if inputs is not None else ()
    accumulate = inputs is None
    track = hooks.anomaly is not None
    saved_mode, saved_node = _state.grad_enabled, _state.differentiating
    _state.grad_enabled = create_graph
    try:
        while pending:
            t = heapq.heappop(pending)[1]
            key = id(t)
            # A gradient is consumed once, except where the caller asked for it.
            g = grads.get(key) if key in targets else grads.pop(key)
            if t._hooks is not None:
                g = _run_hooks(t, g, accumulate)
                if key in targets:
                    grads[key] = g
            if track:
                _state.differentiating = t
            for _, operand, gi in node_step(t, g, create_graph, release=not retain_graph):
                key = id(operand)
                previous = grads.get(key)
                if previous is not None:
                    grads[key] = previous + gi
                elif operand.grad_fn is None:
                    grads[key] = gi
                    leaves[key] = operand
                else:
                    grads[key] = gi
                    heapq.heappush(pending, (-operand.grad_fn.seq, operand))
    finally:
        _state.grad_enabled, _state.differentiating = saved_mode, saved_node
    for key, leaf in leaves.items():
        if leaf._hooks is not None and key in grads:
            grads[key] = _run_hooks(leaf, grads[key], accumulate=False)
    if inputs is not None:
        return tuple(grads.get(id(t)) for t in inputs)
    _accumulate_into_leaves(leaves, grads, given=grad)
    return None


def _run_hooks(t, g, accumulate: bool):
    """``t``'s hooks in registration order (each may replace the gradient); then, for a
    Tensor that retains its gradient, accumulate it into ``t.grad``."""
    for hook in list(t._hooks.functions.values()):
        replaced = hook(g)
        if replaced is not None:
            if np.shape(replaced) != g.shape:
                raise ValueError(f"a hook on a tensor of shape {g.shape} returned a gradient "
                                 f"of shape {np.shape(replaced)}; it must keep the shape")
            g = replaced
    if accumulate and t._hooks.retain:
        array = array_of(g)
        t.grad = np.array(array, dtype=t.data.dtype) if t.grad is None else t.grad + array
    return g


def array_of(g) -> np.ndarray:
    """A gradient as an array: a Tensor's (under create_graph), or NumPy's own."""
    if isinstance(g, np.ndarray):
        return g
    return np.asarray(g) if isinstance(g, (np.generic, float, int)) else g.data


def _accumulate_into_leaves(leaves: dict, grads: dict, given) -> None:
    """``leaf.grad += gradient`` for each leaf; a new ``.grad`` never aliases another
    leaf's, the caller's ``grad``, or a read-only broadcast view."""
    handed_out = {id(given)}
    for key, leaf in leaves.items():
        g = grads.get(key)
        if g is None or not leaf.requires_grad:
            continue
        g = array_of(g)
        if g.dtype != leaf.data.dtype or id(g) in handed_out or g.base is not None:
            g = np.array(g, dtype=leaf.data.dtype)
        if leaf.grad is None:
            leaf.grad = g
            handed_out.add(id(g))
        else:
            leaf.grad += g


def _freed_error(node) -> RuntimeError:
    return RuntimeError(
        f"trying to backward through the graph a second time (at `{node.op.name}`): its "
        "saved values were freed by the first backward(). Pass retain_graph=True to the "
        "first backward() if you need to call it twice.")
