"""The printable tape (Wengert list) of a recorded graph: ``print(ag.tape(loss))``.

Reads the nodes behind a tensor and changes nothing; no Graphviz needed.  The
helpers that turn tensors, operations and options into short text are shared with
the drawing (``viz.py``).  Traversal is iterative (``engine.graph_nodes``), so
graphs of any depth work.  After a plain ``backward()`` the structure is still
there: only the arrays saved for the rules were freed.
"""
from __future__ import annotations

import functools
import html
from collections import Counter
from typing import Any, NamedTuple

import numpy as np

from .engine import graph_nodes, inputs_of
from .tensor import Tensor

__all__ = ["tape", "Tape", "TapeEntry", "Walk"]

FREED_NOTE = "backward() freed the values saved for its rules: pass retain_graph=True to run it again"

# ---- compact text for numbers, arrays and options ------------------------------------
def format_number(x: Any, digits: int = 4) -> str:
    """A number in at most ``digits`` significant digits: 0.6931, -1.2e-7, 1.5e10, 12, nan."""
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    text = f"{float(x) + 0.0:.{digits}g}"  # + 0.0 turns -0.0 into 0
    return text.replace("e+0", "e").replace("e-0", "e-").replace("e+", "e")


@functools.lru_cache(maxsize=None)
def dtype_text(dtype: np.dtype) -> str:
    return str(dtype)  # cached: NumPy builds the name anew each time


def shape_text(shape: tuple) -> str:
    return str(tuple(shape)) if shape else "scalar"


def summary(values: Any) -> str:
    """One value, up to four values, or ``[min, max] mean m`` (plus a count of non-finite
    ones): short, so that a drawing's boxes stay narrow enough to read in a notebook."""
    a = np.asarray(values)
    if a.size == 0:
        return "empty"
    if a.dtype == bool:
        return f"{int(a.sum())} of {a.size} true"
    if a.size == 1:
        return format_number(a.item())
    if a.size <= 4:
        return "[" + ", ".join(format_number(v) for v in a.ravel()) + "]"
    finite = a[np.isfinite(a)] if np.issubdtype(a.dtype, np.floating) else a
    if finite.size == 0:
        text = "empty"
    elif finite.min() == finite.max():
        text = f"all {format_number(finite.min())}"
    else:
        low, high, mean = (format_number(v, digits=3) for v in (finite.min(), finite.max(), finite.mean()))
        text = f"[{low}, {high}] mean {mean}"
    if finite.size < a.size:
        text += f"  ({a.size - finite.size} non-finite)"
    return text


def count_text(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def option_text(value: Any) -> str:
    """A keyword argument as short text: ``0``, ``(2, 3)``, ``1:4``, ``array(5,)``."""
    if isinstance(value, slice):
        parts = ["" if p is None else str(p) for p in (value.start, value.stop, value.step)]
        return ":".join(parts[:2] if value.step is None else parts)
    if isinstance(value, np.ndarray):
        return f"array{shape_text(value.shape) if value.ndim else '()'}"
    if isinstance(value, tuple):
        return "(" + ", ".join(option_text(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, list):
        return "[" + ", ".join(option_text(v) for v in value) + "]" if len(value) <= 4 else \
            f"list({len(value)})"
    if value is Ellipsis:
        return "..."
    if isinstance(value, (float, np.floating)):
        return format_number(value)
    return str(value)


def op_label(t) -> str:
    """The primitive's name and its non-default options: ``sum(axis=0)``, ``tanh``."""
    node = t.grad_fn
    options = [f"{k}={option_text(v)}" for k, v in node.kwargs.items()
               if v is not None and v is not False]
    return f"{node.name}({', '.join(options)})" if options else node.name


def constant_label(value: Any) -> str:
    """An operand that is not a Tensor: a scalar shows its value, an array its shape."""
    a = np.asarray(value)
    if a.ndim == 0:
        return format_number(a.item()) if a.dtype != object else repr(value)
    return f"array {shape_text(a.shape)} {a.dtype}"


# ---- one read of the graph, shared by the tape and the drawing --------------------------
class Walk:
    """The recorded graph behind ``root``: operations oldest first, leaves, display ids.

    Ids follow the Wengert list: ``v0, v1, ...`` for recorded tensors in execution
    order, ``x0, x1, ...`` for leaves in order of first use.
    """

    def __init__(self, root: Tensor) -> None:
        if not isinstance(root, Tensor):
            raise TypeError(f"expected an autograd_lite Tensor, got {type(root).__name__}: pass "
                            "the result of a computation on Tensors (e.g. the loss)")
        self.root = root
        self.ops = graph_nodes(root)[::-1] if root.grad_fn is not None else []
        self.leaves: list = [] if self.ops else [root]
        self.ids = {id(t): f"v{k}" for k, t in enumerate(self.ops)}
        if not self.ops:
            self.ids[id(root)] = "x0"
        for node in self.ops:
            for operand in inputs_of(node):
                if isinstance(operand, Tensor) and id(operand) not in self.ids:
                    self.ids[id(operand)] = f"x{len(self.leaves)}"
                    self.leaves.append(operand)
        self.freed = any(node.grad_fn.freed for node in self.ops)
        named = Counter(t.name for t in self.leaves + self.ops if t.name)
        self._unique_names = {name for name, count in named.items() if count == 1}

    def ref(self, t) -> str:
        """How other rows refer to ``t``: its name when unambiguous, else its id."""
        return t.name if t.name in self._unique_names else self.ids[id(t)]

    def kind(self, t) -> str:
        if t is self.root:
            return "output"
        return "intermediate" if t.grad_fn is not None else leaf_kind(t)


def leaf_kind(t) -> str:
    return "parameter" if is_parameter(t) else "input"


def is_parameter(t) -> bool:
    # The core must not import nn: a Parameter is a leaf that requires grad.
    return t.grad_fn is None and (t.requires_grad or type(t).__name__ == "Parameter")


# ---- the tape ---------------------------------------------------------------------------
class TapeEntry(NamedTuple):
    """One row of the tape.  ``index`` is the execution position (``None`` for a leaf)."""

    index: int | None
    id: str
    name: str | None
    op: str
    inputs: tuple[str, ...]
    shape: tuple
    dtype: np.dtype
    scope: str | None
    tensor: Any


class Tape(list):
    """The operations that produced a tensor, in execution order: a list of `TapeEntry`.

    Leaves come first (op ``input`` or ``parameter``), then one row per recorded
    operation.  ``str(tape)`` (and ``repr``) is the table, one line per entry.
    """

    freed = False  # set when backward() already freed part of the graph

    _COLUMNS = ("#", "id", "op", "inputs", "shape", "dtype", "module")

    def rows(self) -> list[tuple[str, ...]]:
        return [("-" if e.index is None else str(e.index),
                 e.id if e.name is None else f"{e.id} {e.name}", e.op, ", ".join(e.inputs),
                 shape_text(e.shape), dtype_text(e.dtype),
                 "" if e.scope is None else (e.scope or "(outermost)")) for e in self]

    def __str__(self) -> str:
        table = [self._COLUMNS] + self.rows()
        widths = [max(len(row[i]) for row in table) for i in range(len(self._COLUMNS))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()
                 for row in table]
        if self.freed:
            lines.append(f"({FREED_NOTE})")
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        """Jupyter shows the tape as a table."""
        cells = lambda row, tag: "".join(f"<{tag}>{html.escape(c)}</{tag}>" for c in row)
        body = "".join(f"<tr>{cells(row, 'td')}</tr>" for row in self.rows())
        note = f"<p><i>{html.escape(FREED_NOTE)}</i></p>" if self.freed else ""
        return (f"<table><thead><tr>{cells(self._COLUMNS, 'th')}</tr></thead>"
                f"<tbody>{body}</tbody></table>{note}")


def tape(root: Tensor) -> Tape:
    """The Wengert list behind ``root``: ``print(ag.tape(loss))``.

    Each entry holds the execution index, the id (``v3``; ``x0`` for leaves), the
    tensor's name, the operation with its options (``sum(axis=0)``), the operands
    (names, ids, or constants), the output shape and dtype and the module scope.
    """
    walk = Walk(root)
    entries = Tape(TapeEntry(None, walk.ids[id(t)], t.name, leaf_kind(t), (), t.shape, t.dtype,
                             None, t) for t in walk.leaves)
    for index, node in enumerate(walk.ops):
        inputs = tuple(walk.ref(a) if isinstance(a, Tensor) else constant_label(a)
                       for a in inputs_of(node))
        entries.append(TapeEntry(index, walk.ids[id(node)], node.name, op_label(node), inputs,
                                 node.shape, node.dtype, node.grad_fn.scope, node))
    entries.freed = walk.freed
    return entries
