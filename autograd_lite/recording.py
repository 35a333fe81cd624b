"""Primitives: operations that record themselves on Tensors.

    @ag.primitive
    def cube(x):
        return x ** 3

    cube.defvjp(lambda g, ans, x: 3 * g * x ** 2)

``ag.primitive`` turns a function on NumPy arrays into a `Primitive`; ``defvjp``
gives one derivative rule per positional argument.  Calling the primitive runs the
forward on the arrays inside its Tensor arguments and, when grad mode is on and an
argument requires grad, records a `Node` on the result.  The built-in table
(``primitives/``) is written with this same API; README "Your own operation"
walks through one.
"""
from __future__ import annotations

import dis
import functools
import inspect
import itertools
import types
from typing import Any, Callable, NamedTuple

import numpy as np

from . import engine
from .node import NO_KWARGS, Node
from .numpy_protocol import IMPLEMENTATIONS
from .tensor import Tensor

_sequence = itertools.count()
_state = engine.thread_state  # grad mode and scopes, read on every operation
_hooks = engine.hooks  # the hook slot anomaly mode fills, read on every operation
_new = object.__new__


class Reads(NamedTuple):
    """What a derivative rule reads besides ``g``: positions of operands, and the output."""

    operands: frozenset
    output: bool


_METADATA = frozenset({"shape", "ndim", "dtype", "size"})  # attributes that are not values


def _reads_of(rule: Callable, variadic: bool = False) -> Reads:
    """The operands (and whether the output) a rule's code reads, found from its bytecode.

    Only an operand the rule reads makes an in-place change to it a hazard (``x * 2``'s
    rule for ``x`` reads only the 2); reading only its ``.shape`` (``ndim``, ``dtype``,
    ``size``) is not reading it.  Anything not plainly a Python function with named
    parameters (``*args``, a partial) counts as reading everything: never too lenient.
    """
    everything = Reads(frozenset(range(64)), True)
    code = getattr(rule, "__code__", None)
    if code is None or variadic or code.co_flags & inspect.CO_VARARGS:
        return everything
    parameters = code.co_varnames[:code.co_argcount]
    instructions = list(dis.get_instructions(code))
    loaded = set()
    for ins, following in zip(instructions, instructions[1:] + [None]):
        if ins.opname not in ("LOAD_FAST", "LOAD_DEREF", "LOAD_CLOSURE", "LOAD_FAST_CHECK"):
            continue
        if (ins.opname != "LOAD_CLOSURE" and following is not None
                and following.opname == "LOAD_ATTR" and following.argval in _METADATA):
            continue  # x.shape: fixed for a given operand, and no in-place change alters it
        loaded.add(ins.argval)
    loaded |= set(code.co_cellvars)  # read by an inner function
    operands = frozenset(k for k, name in enumerate(parameters[2:]) if name in loaded)
    return Reads(operands, len(parameters) > 1 and parameters[1] in loaded)


class Primitive:
    """One entry of the derivative table: a NumPy forward and its derivative rules.

    ``forward(*arrays, **kwargs)`` is the computation.  ``defvjp(rule_0, rule_1, ...)``
    gives ``rule_i(g, ans, *args, **kwargs)``, which maps the output gradient ``g``
    (shape of ``ans``) to the gradient of argument ``i`` (broadcast-compatible with it:
    the engine sums broadcasting away); ``None`` marks an argument with no gradient.  A
    variadic primitive (concatenate) gives one rule for all with ``defvjp_argnum``:
    ``rule(i, g, ans, *args, **kwargs)``.

    With ``residual=True`` the forward returns ``(out, residual)``: something its rules
    can reuse (a fused loss's exponentials).  The node keeps it until backward frees the
    node; a plain backward passes it to the rules as ``residual=``, and under
    ``create_graph`` the rules get ``residual=None`` and must recompute, differentiably.
    """

    __slots__ = ("name", "forward", "vjps", "vjp_argnum", "residual", "_reads", "__wrapped__")

    def __init__(self, forward: Callable, name: str | None = None, residual: bool = False) -> None:
        self.forward = forward
        self.name = name or getattr(forward, "__name__", "primitive")
        self.vjps: tuple = ()
        self.vjp_argnum: Callable | None = None
        self.residual = residual
        self._reads: tuple = ()
        self.__wrapped__ = forward
        if isinstance(forward, np.ufunc) and forward.nin > 0:
            IMPLEMENTATIONS.setdefault(forward, self)  # np.exp(t) is this primitive

    def defvjp(self, *rules: Callable | None) -> "Primitive":
        """One rule per positional argument, in order; returns the primitive."""
        self.vjps = rules
        self.vjp_argnum = None  # the engine reads vjps first: only one kind may be given
        self._reads = tuple(_reads_of(r) for r in rules)
        return self

    def defvjp_argnum(self, rule: Callable) -> "Primitive":
        """One rule for every argument: ``rule(argnum, g, ans, *args, **kwargs)``."""
        self.vjp_argnum = rule
        self.vjps = self._reads = ()  # the engine reads vjps first: only one kind may be given
        return self

    def rule(self, argnum: int) -> Callable:
        if self.vjp_argnum is not None:
            return functools.partial(self.vjp_argnum, argnum)
        try:
            rule = self.vjps[argnum]
        except IndexError:
            rule = None
        if rule is None:
            raise NotImplementedError(
                f"`{self.name}` has no derivative rule for argument {argnum}: give one with "
                f"defvjp, or pass that argument as a constant (an array, not a Tensor that "
                "requires grad)")
        return rule

    def reads(self, argnum: int) -> Reads:
        """What the rule for ``argnum`` reads (see `_reads_of`)."""
        if self.vjp_argnum is not None or argnum >= len(self._reads):
            return _reads_of(None)
        return self._reads[argnum]

    def __call__(self, *args: Any, **kwargs: Any) -> Tensor:
        """Run the forward on the arrays inside ``args``; record it when grad is needed."""
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
        residual = None
        if self.residual:
            out, residual = out
        if type(out) is not np.ndarray:
            out = np.asarray(out)
        anomaly = _hooks.anomaly
        if anomaly is not None:
            anomaly.forward(self, args, out)
        result = _new(Tensor)
        result._init(out)
        if needs_grad and _state.grad_enabled:
            scopes = _state.scopes
            result.requires_grad = True
            # Tuples: once the collector sees they hold only arrays and ints it stops
            # tracking them, which keeps a deep graph's collections short.
            result.grad_fn = Node(self, args, tuple(arrays), kwargs or NO_KWARGS, tuple(versions),
                                  residual, next(_sequence), scopes[-1] if scopes else None,
                                  anomaly.recording_site() if anomaly is not None else None)
        return result

    def __get__(self, obj, objtype=None):
        # A primitive stored on a class is a method: t.exp() is exp(t).
        return self if obj is None else types.MethodType(self, obj)

    def __repr__(self) -> str:
        return f"<primitive {self.name}>"


def primitive(forward: Callable | None = None, *, name: str | None = None,
              residual: bool = False) -> Primitive | Callable[[Callable], Primitive]:
    """Turn ``forward`` (a function on NumPy arrays) into a recording `Primitive`.

    Usable as ``@ag.primitive``, ``@ag.primitive(name="cube")`` or
    ``ag.primitive(np.sinh)``; then give its rules with ``p.defvjp(...)``.
    """
    if forward is None:
        return lambda f: Primitive(f, name=name, residual=residual)
    return Primitive(forward, name=name, residual=residual)


def call_in_rule(op: Primitive, *args: Any, **kwargs: Any) -> Any:
    """``op`` applied inside a derivative rule: recording when an argument is a Tensor
    (the rule runs under create_graph, so the result must be differentiable again), its
    NumPy forward directly on arrays (a plain backward: the gradient stays an array)."""
    if any(isinstance(a, Tensor) for a in args):
        return op(*args, **kwargs)
    out = op.forward(*args, **kwargs)
    return out[0] if op.residual else out


def _operand_error(exc: Exception, prim: Primitive, datas: list, kwargs: dict) -> Exception:
    """The NumPy error, prefixed with the operation and every operand's shape."""
    shapes = ", ".join(str(np.shape(d)) for d in datas)
    options = "".join(f", {k}={v!r}" for k, v in kwargs.items() if k != "key")
    message = str(exc).removeprefix(f"{prim.name}: ")  # NumPy's matmul names itself already
    return type(exc)(f"{prim.name}: {message} (operand shapes {shapes}{options})")
