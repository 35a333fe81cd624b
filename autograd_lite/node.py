"""The tape entry: one recorded operation.

A Tensor made by a recorded operation points at its `Node` (``t.grad_fn``); a leaf
has none.  The engine's backward walk, the compiler, the drawing, the tape listing
and anomaly mode all read these fields, and nothing else of the recording.
"""
from __future__ import annotations

from types import MappingProxyType
from typing import Any

# The ``kwargs`` of every node recorded without keyword arguments (most of them): one
# shared read-only mapping instead of an empty dict per node.
NO_KWARGS = MappingProxyType({})


class Node:
    """How a Tensor was computed.

    Fields (public, read-only for everyone but the engine):

    - ``op``: the `Primitive` that ran (its forward and derivative rules).
    - ``inputs``: the operands as given, in order: Tensors, or constants (arrays,
      scalars).  Kept after backward, so the graph's structure stays readable.
    - ``saved``: the operands' arrays as the forward used them, which the rules
      read; ``None`` once a backward without ``retain_graph`` has freed them.
    - ``kwargs``: the primitive's keyword arguments (``axis=0``), a read-only mapping.
    - ``versions``: each Tensor operand's version when recorded (``None`` for a
      constant).  An operand changed in place since has a higher version.
    - ``residual``: what the forward left for its own rules (a fused loss's
      exponentials), or ``None``; freed with ``saved``.
    - ``seq``: creation number.  Creation order is a topological order.
    - ``scope``: the dotted path of the module (``ag.name_scope``) that recorded it,
      ``""`` for the outermost module, ``None`` outside any.
    - ``trace``: where in the user's code it was recorded (a
      ``traceback.StackSummary``), when ``ag.detect_anomaly()`` was on; else ``None``.
    - ``previous``: for an operation recorded in place (``h += b``), the Tensor that
      now holds the value (and history) it overwrote; else ``None``.
    - ``output_version`` (computed from ``previous``): the version of the Tensor holding
      this node when it got it; a rule that reads the output refuses to run if it changed
      since.

    Recording creates one Node per operation, so construction is kept to plain slot
    stores: no field is derived here that can be derived when (rarely) read.
    """

    __slots__ = ("op", "inputs", "saved", "kwargs", "versions", "residual", "seq", "scope",
                 "trace", "previous")

    def __init__(self, op, inputs: tuple, saved: tuple, kwargs: dict, versions: tuple,
                 residual: Any, seq: int, scope: str | None, trace: Any = None) -> None:
        self.op = op
        self.inputs = inputs
        self.saved = saved
        self.kwargs = kwargs
        self.versions = versions
        self.residual = residual
        self.seq = seq
        self.scope = scope
        self.trace = trace
        self.previous = None

    @property
    def output_version(self) -> int:
        """0 when this node made its Tensor's value; one more than the overwritten
        value's version when an in-place operation moved it there."""
        return 0 if self.previous is None else self.previous._version + 1

    @property
    def name(self) -> str:
        """The operation's name (``"matmul"``)."""
        return self.op.name

    @property
    def freed(self) -> bool:
        """True once backward freed the saved values: another backward would fail."""
        return self.saved is None

    def __repr__(self) -> str:
        return f"<Node {self.op.name} #{self.seq}>"
