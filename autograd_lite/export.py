"""ONNX export: one recorded forward pass written as a standard ONNX model.

    ag.export_onnx(model, X[:4], "model.onnx", input_names=["x"], output_names=["logits"],
                   dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}})

The recorded graph (``Node``: op, inputs, kwargs) is what an exporter needs: each
recorded operation becomes the ONNX operators of its entry in `ONNX_OPS`, a table
keyed by primitive name with one entry per primitive, so a new primitive (a
convolution, a pooling) is one new entry.  An entry gets a `Step` (the operation as
recorded: its operands' ONNX names, its keyword arguments, its result's shape and
dtype) and returns the ONNX name of its result.

The forward is recorded twice: with the example inputs, and with a second example
whose floating values are moved by noise, integer values shuffled and dynamic axes one
longer.  What changes between the two recordings depends on the example.  Along
dynamic axes that is expected of a reshape target (written with -1 or computed from the
inputs' ``Shape``) and of a constant of one repeated value, such as an RNN's zero
initial state (expanded to the computed shape).  Anything else that changes is an
`ExportError` naming the operation and its line: a constant computed outside the
recorded operations (a mask from ``x.data > 0``, the batch size as a number) would be
frozen in the graph.  A graph whose operations differ is exported as traced with a
`TraceWarning`, or, with dynamic axes, refused.

The ``onnx`` package is an optional extra (``pip install "autograd_lite[onnx]"``),
imported only when exporting.
"""
from __future__ import annotations

import os
import warnings
from collections import Counter
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .anomaly import detect_anomaly, format_user_frames, user_frames
from .engine import enable_grad, graph_nodes, inputs_of
from .tensor import Tensor
from .tree import tree_flatten

__all__ = ["export_onnx", "ExportError", "TraceWarning", "ONNX_OPS", "REFUSED", "Step", "Graph", "OPSET"]

OPSET = 18       # ReduceMax/ReduceMin/ReduceLogSumExp take their axes as an input from 18 on
IR_VERSION = 8   # the IR version of opset 18: what any onnxruntime >= 1.14 loads
_BIG = np.iinfo(np.int64).max  # a slice bound meaning "to the end" (ONNX clamps it)
_SMALL = np.iinfo(np.int64).min


class TraceWarning(UserWarning):
    """The model's operations differ for other input values: it is exported as traced."""


class ExportError(ValueError):
    """What cannot be exported: an operation with no ONNX form (the message names it
    and the line that recorded it), or a value that depends on a dynamic axis where
    ONNX needs a constant."""


# ---- the recording -----------------------------------------------------------------------
class _Recording:
    """One forward pass: the arguments given, the outputs (flattened) and the recorded
    Tensors that produced them, oldest first."""

    def __init__(self, fn: Callable, args: list) -> None:
        self.args = args
        with enable_grad():
            try:
                with detect_anomaly():  # keeps where each operation was recorded (Node.trace)
                    result = fn(*args)
            except FloatingPointError:  # a NaN/inf in the example itself: record without sites
                result = fn(*args)
        self.outputs, self.treedef = tree_flatten(result)
        for k, out in enumerate(self.outputs):
            if not isinstance(out, Tensor):
                raise ExportError(f"export_onnx: output {k} is a {type(out).__name__}, not a "
                                  "Tensor computed from the inputs or parameters")
        recorded = {}
        for out in self.outputs:
            if out.grad_fn is not None:
                recorded.update((id(t), t) for t in graph_nodes(out))
        self.ops = sorted(recorded.values(), key=lambda t: t.grad_fn.seq)


def _as_argument(x: Any) -> Any:
    """An example input as the model receives it: floating values as a Tensor that
    requires grad (so the forward records), integer arrays (indices) as they are."""
    if isinstance(x, Tensor):
        x = x.data
    array = np.asarray(x)
    if np.issubdtype(array.dtype, np.floating):
        return Tensor(array, requires_grad=True)
    if array.dtype.kind not in "biu":
        raise ExportError(f"export_onnx: an example input of dtype {array.dtype}; inputs must "
                          "be numbers (floating values, or integer indices)")
    return array


def _array_of(arg: Any) -> np.ndarray:
    return arg.data if isinstance(arg, Tensor) else arg


_CHANGED = ("changes when the example does (other values, and dynamic axes one longer): it "
            "was computed outside the recorded operations (a mask from comparing arrays, a "
            "count such as the batch size), so the ONNX graph would freeze it")


def _other_example(x: np.ndarray, axes: Sequence[int], grow: Mapping[int, int],
                   rng: np.random.Generator) -> np.ndarray:
    """A second example of the same kind: each axis in ``axes`` longer (``grow`` maps old
    length to new), floating values moved by noise of half their spread, integers (indices)
    shuffled; what it changes in the recording shows what depends on the example."""
    for axis in axes:
        n = x.shape[axis]
        x = np.take(x, np.arange(grow[n]) % n, axis=axis)
    if x.dtype.kind == "f":
        spread = float(np.std(x)) if x.size > 1 and np.all(np.isfinite(x)) else 0.0
        return (x + 0.5 * (spread or 1.0) * rng.standard_normal(x.shape)).astype(x.dtype)
    return rng.permutation(x.reshape(-1)).reshape(x.shape)


# ---- the ONNX graph under construction --------------------------------------------------
class Graph:
    """The ONNX nodes and initializers written so far, with fresh value names.

    ``add(op_type, inputs, **attributes)`` appends a node and returns its output's name;
    ``constant(array)`` an initializer's name (equal constants share one); ``ints(values)``
    a 1-d int64 constant (shapes, axes, slice bounds).
    """

    def __init__(self, onnx_module: Any) -> None:
        self.onnx = onnx_module
        self.nodes: list = []
        self.initializers: list = []
        self._used: Counter = Counter()
        self._constants: dict = {}

    def fresh(self, hint: str) -> str:
        """A new value name: ``hint_1``, ``hint_2``, ... (skipping names taken)."""
        n = self._used[hint]
        while f"{hint}_{n + 1}" in self._used:
            n += 1
        self._used[hint] = n + 1
        name = f"{hint}_{n + 1}"
        self._used[name] += 1
        return name

    def unique(self, name: str) -> str:
        """``name`` itself if no value has it yet, else a fresh variant; now taken."""
        if name in self._used:
            return self.fresh(name)
        self._used[name] += 1
        return name

    def add(self, op_type: str, inputs: Sequence[str], n_outputs: int = 1,
            **attributes: Any) -> str:
        """Add a node; its first output's name (later outputs are named but unused)."""
        out = self.fresh(op_type)
        extra = [self.fresh(f"{op_type}_unused") for _ in range(n_outputs - 1)]
        self.nodes.append(self.onnx.helper.make_node(op_type, list(inputs), [out] + extra,
                                                     name=out, **attributes))
        return out

    def initializer(self, array: np.ndarray, name: str) -> str:
        self.initializers.append(self.onnx.numpy_helper.from_array(np.asarray(array), name))
        return name

    def constant(self, value: Any, dtype: Any = None) -> str:
        array = np.asarray(value, dtype=dtype)
        key = (array.dtype.str, array.shape, array.tobytes())
        if key not in self._constants:
            self._constants[key] = self.initializer(array, self.fresh("const"))
        return self._constants[key]

    def ints(self, values: Sequence[int]) -> str:
        return self.constant(np.asarray(values, dtype=np.int64).reshape(-1))


def _elem_type(onnx_module: Any, dtype: Any) -> int:
    return onnx_module.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


# ---- one recorded operation, as a table entry sees it ------------------------------------
class Step:
    """One recorded operation for its `ONNX_OPS` entry.

    - ``graph``: the `Graph` to add ONNX nodes to.
    - ``name``: the primitive's name; ``kwargs``: its keyword arguments as recorded.
    - ``out``: the recorded result (its ``shape``, ``dtype``, ``ndim``).
    - ``len(step)``: the number of operands; ``value(i)``: operand i's array as recorded;
      ``operand(i)``: the operand itself (a Tensor, or a constant).
    - ``input(i, dtype=None)``: operand i's ONNX name (cast to ``dtype`` when given).
    - ``shape(key)``: the int64 tensor for a shape-valued keyword argument, computed from
      the inputs' shapes along dynamic axes.
    - ``require_static(i, what)``: refuse unless operand i keeps its shape on dynamic axes.
    """

    def __init__(self, exporter: "_Exporter", tensor: Tensor, other: Tensor | None) -> None:
        self._exporter = exporter
        self.graph = exporter.graph
        self.tensor = tensor
        node = tensor.grad_fn
        self.name = node.name
        self.kwargs = node.kwargs
        self.out = tensor.data
        self._operands = inputs_of(tensor)
        self._other = None if other is None else inputs_of(other)
        self._other_kwargs = None if other is None else other.grad_fn.kwargs
        self.handled: set = set()  # keyword arguments an entry made dynamic (via `shape`)

    def __len__(self) -> int:
        return len(self._operands)

    def operand(self, i: int) -> Any:
        return self._operands[i]

    def value(self, i: int) -> np.ndarray:
        return np.asarray(_array_of(self._operands[i]))

    def input(self, i: int, dtype: Any = None) -> str:
        operand = self._operands[i]
        exporter = self._exporter
        if isinstance(operand, Tensor):
            name, have = exporter.names[id(operand)], operand.dtype
        elif id(operand) in exporter.index_inputs:  # an integer input, passed as an array
            name, have = exporter.index_inputs[id(operand)], operand.dtype
        else:
            return self._constant(i, dtype)
        if dtype is not None and np.dtype(dtype) != have:
            name = self.graph.add("Cast", [name], to=_elem_type(self.graph.onnx, dtype))
        return name

    def name_of(self, t: Tensor) -> str:
        """The ONNX name of a Tensor recorded earlier (for entries that match a pattern)."""
        return self._exporter.names[id(t)]

    def inputs(self, dtype: Any = None) -> list[str]:
        return [self.input(i, dtype) for i in range(len(self))]

    def _constant(self, i: int, dtype: Any) -> str:
        """A constant operand: an initializer, or, when its shape follows a dynamic axis,
        its one repeated value expanded to the shape computed from the inputs."""
        operand = self._operands[i]
        value = np.asarray(operand, dtype=dtype)
        buffer = self._exporter.buffer_names.get(id(operand))
        if buffer is not None and value.dtype == np.asarray(operand).dtype:
            return self._exporter.named_initializer(operand, buffer)  # a running mean, say
        if self._other is None:
            return self.graph.constant(value)
        other = np.asarray(self._other[i], dtype=dtype)
        if other.shape == value.shape:
            if not np.array_equal(other, value, equal_nan=True):
                raise self.error(f"its operand {i}, a constant, {_CHANGED}")
            return self.graph.constant(value)
        if value.size == 0 or not (np.all(value == value.flat[0]) and np.all(other == value.flat[0])):
            raise self.error(f"its operand {i}, a constant of shape {value.shape}, {_CHANGED} "
                             "(one repeated value would be expanded to the dynamic shape)")
        dims = self._exporter.dims(value.shape, other.shape, self)
        return self.graph.add("Expand", [self.graph.constant(value.flat[0]), dims])

    def shape(self, key: str, infer: bool = True) -> str:
        """The shape in keyword argument ``key`` as an int64 tensor.  Dims that follow a
        dynamic axis become -1 (one of them, with ``infer``: a Reshape target) or are
        computed from the inputs' shapes."""
        shape = tuple(self.kwargs[key])
        other = shape if self._other is None else tuple(self._other_kwargs[key])
        if other == shape:
            return self.graph.ints(shape)
        self.handled.add(key)
        if len(other) != len(shape):
            raise self.error(f"its {key} {shape} changes rank with the dynamic axes ({other})")
        changed = [k for k, (a, b) in enumerate(zip(shape, other)) if a != b]
        if infer and len(changed) == 1 and -1 not in shape:
            return self.graph.ints([-1 if k in changed else n for k, n in enumerate(shape)])
        return self._exporter.dims(shape, other, self)

    def require_static(self, i: int, what: str) -> None:
        """Refuse when operand ``i``'s shape changes with the dynamic axes: ``what`` the
        entry computes from that shape is then baked in."""
        if self._other is not None and np.shape(_array_of(self._other[i])) != self.value(i).shape:
            raise self.error(f"{what} needs operand {i}'s whole shape, which follows the "
                             "dynamic axes; export without dynamic_axes")

    def dynamic_kwargs(self) -> list[str]:
        """Keyword arguments that differ between the two recordings."""
        if self._other is None:
            return []
        same = self._exporter.same
        return [k for k, v in self.kwargs.items() if not same(v, self._other_kwargs.get(k))]

    def index_input(self, array: Any) -> str | None:
        """The graph input's name if ``array`` is an integer example input, else None."""
        return self._exporter.index_inputs.get(id(array))

    def error(self, problem: str) -> ExportError:
        return ExportError(f"cannot export `{self.name}` to ONNX: {problem}.\n"
                           + recorded_at(self.tensor))


def recorded_at(tensor: Tensor) -> str:
    """Where the operation that made ``tensor`` was recorded: the innermost frame outside
    autograd_lite, then a traceback excerpt (from ``Node.trace``)."""
    trace = tensor.grad_fn.trace
    frames = [] if trace is None else user_frames(trace)
    if not frames:
        return "It was recorded at an unknown place (the example produced NaN/inf, so no recording sites were kept)."
    site = frames[-1]
    return (f"It was recorded at {site.filename}:{site.lineno} in {site.name}: "
            f"{site.line}\n(most recent call last):\n{format_user_frames(trace)}")


# ---- the table: primitive name -> ONNX operators -----------------------------------------
def _same_op(op_type: str) -> Callable[[Step], str]:
    """An elementwise primitive that is one ONNX operator of the same arity; operands are
    cast to the result's dtype (NumPy's promotion, made explicit)."""
    def emit(s: Step) -> str:
        return s.graph.add(op_type, s.inputs(s.out.dtype))
    emit.__name__ = op_type
    return emit


def _logsumexp_of(t: Any, x: Any) -> int | None:
    """The axis if ``t`` is ``logsumexp(x, axis, keepdims=True)`` over one axis, else None."""
    node = getattr(t, "grad_fn", None)
    if node is None or node.name != "logsumexp" or inputs_of(t)[0] is not x:
        return None
    axis = node.kwargs.get("axis")
    axis = axis[0] if isinstance(axis, tuple) and len(axis) == 1 else axis
    return axis if node.kwargs.get("keepdims") and isinstance(axis, int) else None


def _log_softmax_axis(t: Any) -> int | None:
    """The axis if ``t`` is ``x - logsumexp(x, axis, keepdims=True)`` (``ag.log_softmax``)."""
    node = getattr(t, "grad_fn", None)
    if node is None or node.name != "subtract":
        return None
    x, lse = inputs_of(t)
    return _logsumexp_of(lse, x) if isinstance(x, Tensor) else None


def _subtract(s: Step) -> str:
    axis = _log_softmax_axis(s.tensor)
    if axis is not None:
        return s.graph.add("LogSoftmax", [s.input(0)], axis=axis)
    return s.graph.add("Sub", s.inputs(s.out.dtype))


def _exp(s: Step) -> str:
    axis = _log_softmax_axis(s.operand(0))
    if axis is not None:  # exp(log_softmax(x)) is ag.softmax(x)
        return s.graph.add("Softmax", [s.name_of(inputs_of(s.operand(0))[0])], axis=axis)
    return s.graph.add("Exp", [s.input(0)])


def _near_zero(s: Step, x: str, precise: str, plain: str) -> str:
    """``precise`` where |x| < 1/2 (a formula exact near 0), else ``plain``."""
    small = s.graph.add("Less", [s.graph.add("Abs", [x]), s.graph.constant(0.5, s.out.dtype)])
    return s.graph.add("Where", [small, precise, plain])


def _log1p(s: Step) -> str:
    # log(1 + x) loses the digits of a small x; Kahan's log(u) * x / (u - 1), u = 1 + x,
    # keeps them (u == 1 exactly means log1p(x) == x to working precision).
    g, x = s.graph, s.input(0)
    one = g.constant(1.0, s.out.dtype)
    u = g.add("Add", [x, one])
    d = g.add("Sub", [u, one])
    log_u = g.add("Log", [u])
    kahan = g.add("Where", [g.add("Equal", [d, g.constant(0.0, s.out.dtype)]), x,
                            g.add("Div", [g.add("Mul", [log_u, x]), d])])
    return _near_zero(s, x, kahan, log_u)


def _expm1(s: Step) -> str:
    # exp(x) - 1 loses the digits of a small x; (u - 1) * x / log(u), u = exp(x), keeps them.
    g, x = s.graph, s.input(0)
    one = g.constant(1.0, s.out.dtype)
    u = g.add("Exp", [x])
    d = g.add("Sub", [u, one])
    kahan = g.add("Where", [g.add("Equal", [u, one]), x,
                            g.add("Div", [g.add("Mul", [d, x]), g.add("Log", [u])])])
    return _near_zero(s, x, kahan, d)


def _clip(s: Step) -> str:
    return _clamp(s, s.kwargs.get("lo"), s.kwargs.get("hi"))


def _hardtanh(s: Step) -> str:
    return _clamp(s, s.kwargs.get("min_val", -1.0), s.kwargs.get("max_val", 1.0))


def _clamp(s: Step, lo: Any, hi: Any) -> str:
    x = s.input(0)
    # Clip takes scalar bounds only, and onnxruntime 1.32's Relu+Clip fusion fails on a
    # float64 Clip: there, and for array bounds (which broadcast), Max and Min instead.
    if s.out.dtype != np.float64 and all(b is None or np.ndim(b) == 0 for b in (lo, hi)):
        bounds = ["" if b is None else s.graph.constant(b, s.out.dtype) for b in (lo, hi)]
        return s.graph.add("Clip", [x] + bounds)
    if lo is not None:
        x = s.graph.add("Max", [x, s.graph.constant(lo, s.out.dtype)])
    if hi is not None:
        x = s.graph.add("Min", [x, s.graph.constant(hi, s.out.dtype)])
    return x


def _softplus(s: Step) -> str:
    # log(1 + e^(beta x)) / beta, and x where beta x > threshold (the table's definition).
    g, x = s.graph, s.input(0)
    beta, threshold = s.kwargs.get("beta", 1.0), s.kwargs.get("threshold", 20.0)
    bx = g.add("Mul", [x, g.constant(beta, s.out.dtype)])
    smooth = g.add("Div", [g.add("Softplus", [bx]), g.constant(beta, s.out.dtype)])
    return g.add("Where", [g.add("Greater", [bx, g.constant(threshold, s.out.dtype)]), x, smooth])


def _sort(s: Step) -> str:
    # TopK of all k elements, smallest first: the values are the sorted array (the order
    # among ties, which TopK does not promise, does not change values).
    g, axis = s.graph, s.kwargs.get("axis", -1)
    k = g.ints([s.value(0).shape[axis]])
    return g.add("TopK", [s.input(0), k], n_outputs=2, axis=int(axis), largest=0, sorted=1)


def _cbrt(s: Step) -> str:
    # ONNX has no cube root: sign(x) |x|^(1/3), real for negative x as NumPy's cbrt.
    g, x = s.graph, s.input(0, s.out.dtype)
    root = g.add("Pow", [g.add("Abs", [x]), g.constant(1.0 / 3.0, s.out.dtype)])
    return g.add("Mul", [g.add("Sign", [x]), root])


def _hypot(s: Step) -> str:
    g = s.graph
    x, y = s.inputs(s.out.dtype)
    return g.add("Sqrt", [g.add("Add", [g.add("Mul", [x, x]), g.add("Mul", [y, y])])])


def _not_nan(s: Step) -> str:
    g = s.graph
    return g.add("Cast", [g.add("Not", [g.add("IsNaN", [s.input(0)])])],
                 to=_elem_type(g.onnx, s.out.dtype))


def _reduction(op_type: str) -> Callable[[Step], str]:
    """sum, max, min, logsumexp: ``axis`` None (all), an int or a tuple; ``keepdims``."""
    def emit(s: Step) -> str:
        ndim, axis = s.value(0).ndim, s.kwargs.get("axis")
        axes = list(range(ndim)) if axis is None else [axis] if isinstance(axis, int) else list(axis)
        if not axes:  # a 0-d input, or axis=(): nothing to reduce
            return s.graph.add("Identity", [s.input(0)])
        return s.graph.add(op_type, [s.input(0), s.graph.ints(axes)],
                           keepdims=int(bool(s.kwargs.get("keepdims"))))
    emit.__name__ = op_type
    return emit


def _transpose(s: Step) -> str:
    axes = s.kwargs.get("axes")
    perm = list(range(s.value(0).ndim))[::-1] if axes is None else [int(a) for a in axes]
    return s.graph.add("Transpose", [s.input(0)], perm=perm)


def _reshape(s: Step) -> str:
    shape = s.kwargs["shape"]
    return s.graph.add("Reshape", [s.input(0), s.shape("shape")],
                       allowzero=int(0 in tuple(shape)))  # a real 0 stays 0, not "copy"


def _broadcast_to(s: Step) -> str:
    return s.graph.add("Expand", [s.input(0), s.shape("shape", infer=False)])


def _astype(s: Step) -> str:
    return s.graph.add("Cast", [s.input(0)], to=_elem_type(s.graph.onnx, s.kwargs["dtype"]))


def _matmul(s: Step) -> str:
    return s.graph.add("MatMul", s.inputs(s.out.dtype))


def _concatenate(s: Step) -> str:
    return s.graph.add("Concat", s.inputs(s.out.dtype), axis=int(s.kwargs.get("axis", 0)))


def _stack(s: Step) -> str:
    axis = int(s.kwargs.get("axis", 0))  # counted in the result's axes, as Unsqueeze's
    parts = [s.graph.add("Unsqueeze", [x, s.graph.ints([axis])]) for x in s.inputs(s.out.dtype)]
    return s.graph.add("Concat", parts, axis=axis)


def _where(s: Step) -> str:
    return s.graph.add("Where", [s.input(0, bool), s.input(1, s.out.dtype),
                                 s.input(2, s.out.dtype)])


def _softmax_cross_entropy(s: Step) -> str:
    # -sum(p * log_softmax(z)) over the last axis; integer labels pick one entry per row.
    g = s.graph
    log_p = g.add("LogSoftmax", [s.input(0)], axis=-1)
    target = s.value(1)
    if target.dtype.kind in "iu":
        labels = s.input(1, np.int64)
        picked = g.add("GatherElements", [log_p, g.add("Unsqueeze", [labels, g.ints([-1])])],
                       axis=-1)
        return g.add("Neg", [g.add("Squeeze", [picked, g.ints([-1])])])
    weighted = g.add("Mul", [s.input(1, s.out.dtype), log_p])
    return g.add("Neg", [g.add("ReduceSum", [weighted, g.ints([-1])], keepdims=0)])


# -- indexing --
def _key_items(key: Any) -> tuple:
    return key if isinstance(key, tuple) else (key,)


def _is_basic(item: Any) -> bool:
    return item is None or item is Ellipsis or isinstance(item, (slice, int, np.integer)) \
        and not isinstance(item, (bool, np.bool_))


def _without_ellipsis(items: tuple, ndim: int) -> list:
    """``items`` with ``...`` (or the implicit trailing one) spelled out as full slices."""
    used = sum(1 for k in items if k is not None and k is not Ellipsis)
    fill = [slice(None)] * (ndim - used)
    at = next((k for k, item in enumerate(items) if item is Ellipsis), None)
    if at is not None:
        return list(items[:at]) + fill + list(items[at + 1:])
    return list(items) + fill


def _basic_index(s: Step, items: list) -> str:
    """ints, slices and None: one Slice, then Squeeze (ints) and Unsqueeze (None).  The
    bounds are Python's and ONNX clamps them as Python does, so any length works."""
    g = s.graph
    x = given = s.input(0)
    starts, ends, axes, steps, dropped, added = [], [], [], [], [], []
    axis = out_axis = 0
    for item in items:
        if item is None:
            added.append(out_axis)
            out_axis += 1
            continue
        if isinstance(item, slice):
            step = 1 if item.step is None else int(item.step)
            start = item.start if item.start is not None else (0 if step > 0 else _BIG)
            stop = item.stop if item.stop is not None else (_BIG if step > 0 else _SMALL)
            out_axis += 1
        else:
            step, start = 1, int(item)
            stop = _BIG if start == -1 else start + 1
            dropped.append(axis)
        if (start, stop, step) != (0, _BIG, 1):
            starts.append(int(start)), ends.append(int(stop)), axes.append(axis), steps.append(step)
        axis += 1
    if axes:
        x = g.add("Slice", [x, g.ints(starts), g.ints(ends), g.ints(axes), g.ints(steps)])
    if dropped:
        x = g.add("Squeeze", [x, g.ints(dropped)])
    if added:
        x = g.add("Unsqueeze", [x, g.ints(added)])
    return x if x != given else g.add("Identity", [x])


def _getitem(s: Step) -> str:
    ndim = s.value(0).ndim
    items = _key_items(s.kwargs["key"])
    if all(_is_basic(k) for k in items):
        return _basic_index(s, _without_ellipsis(items, ndim))
    arrays = [k for k in items if not _is_basic(k)]
    if len(arrays) == 1 and all(k is not None for k in items) and np.asarray(arrays[0]).dtype.kind in "iu":
        spelled = _without_ellipsis(items, ndim)
        at = next(k for k, item in enumerate(spelled) if not _is_basic(item))
        if all(isinstance(k, slice) and k == slice(None) for j, k in enumerate(spelled) if j != at):
            # x[..., idx, :]: one integer array on one axis is a Gather along it
            index = s.index_input(arrays[0]) or s.graph.constant(arrays[0], np.int64)
            return s.graph.add("Gather", [s.input(0), index], axis=at)
    if any(s.index_input(k) is not None for k in items):
        raise s.error("an integer input used with other indices in one key; only x[idx] or "
                      "x[:, idx] (one index array, the other axes whole) take an input")
    # Any other key: gather the selected elements by their flat positions, which NumPy
    # itself computes (integer arrays, masks, and their mixes with slices and None).
    s.require_static(0, "indexing with arrays and masks")
    positions = np.arange(s.value(0).size).reshape(s.value(0).shape)[s.kwargs["key"]]
    flat = s.graph.add("Reshape", [s.input(0), s.graph.ints([-1])])
    return s.graph.add("Gather", [flat, s.graph.constant(positions, np.int64)], axis=0)


def _untake(s: Step) -> str:
    # getitem's adjoint: add each value into zeros at the flat positions it came from.
    g, shape = s.graph, tuple(s.kwargs["shape"])
    positions = np.arange(int(np.prod(shape))).reshape(shape)[s.kwargs["key"]]
    s.require_static(0, "scattering")
    if positions.shape != s.value(0).shape:
        raise s.error(f"values of shape {s.value(0).shape} for a selection of shape {positions.shape}")
    zeros = g.constant(np.zeros(int(np.prod(shape)), dtype=s.out.dtype))
    values = g.add("Reshape", [s.input(0, s.out.dtype), g.ints([-1])])
    added = g.add("ScatterElements", [zeros, g.constant(positions.reshape(-1), np.int64), values],
                  axis=0, reduction="add")
    return g.add("Reshape", [added, g.ints(shape)])


# -- convolution, pooling, recurrent cells (entries of primitives/conv.py, recurrent.py) --
# Options arrive normalised: ``stride``/``dilation``/``kernel`` one int per spatial axis,
# ``padding`` one (before, after) pair per spatial axis.  onnxruntime has float32 kernels
# for Conv and AveragePool only, so other dtypes get their im2col form (Pad, Slice,
# Concat, MatMul): the same windows and product as the table's forward.
def _onnx_pads(padding: tuple) -> list[int]:
    return [before for before, _ in padding] + [after for _, after in padding]


def _windows(s: Step, x: str, kernel: tuple, stride: tuple, dilation: tuple, padding: tuple,
             spatial: tuple) -> tuple[list[str], tuple]:
    """Each kernel offset's strided view of the zero-padded input (N, C, *out), in C
    order, and the output's spatial shape."""
    g, nd = s.graph, len(kernel)
    if any(before or after for before, after in padding):
        x = g.add("Pad", [x, g.ints([0, 0] + [b for b, _ in padding] + [0, 0]
                                    + [a for _, a in padding])], mode="constant")
    padded = [n + b + a for n, (b, a) in zip(spatial, padding)]
    out = tuple((n - d * (k - 1) - 1) // st + 1 for n, k, st, d in zip(padded, kernel, stride, dilation))
    views = []
    for offset in np.ndindex(*kernel):
        starts = [k * d for k, d in zip(offset, dilation)]
        ends = [k * d + st * (m - 1) + 1 for k, d, st, m in zip(offset, dilation, stride, out)]
        views.append(g.add("Slice", [x, g.ints(starts), g.ints(ends),
                                     g.ints(range(2, 2 + nd)), g.ints(stride)]))
    return views, out


def _conv(s: Step) -> str:
    g, o = s.graph, s.value(1).shape[0]
    stride, padding, dilation, groups = (s.kwargs[k] for k in ("stride", "padding", "dilation", "groups"))
    kernel = s.value(1).shape[2:]
    x, w = s.input(0, s.out.dtype), s.input(1, s.out.dtype)
    if s.out.dtype == np.float32:
        return g.add("Conv", [x, w], strides=list(stride), pads=_onnx_pads(padding),
                     dilations=list(dilation), group=int(groups), kernel_shape=list(kernel))
    views, out = _windows(s, x, kernel, stride, dilation, padding, s.value(0).shape[2:])
    stacked = g.add("Concat", [g.add("Unsqueeze", [v, g.ints([2])]) for v in views], axis=2)
    columns = g.add("Reshape", [stacked, g.ints([0, groups, -1, int(np.prod(out))])])  # (N, G, C/G*K, P)
    rows = g.add("Reshape", [w, g.ints([groups, o // groups, -1])])  # (G, O/G, C/G*K)
    y = g.add("MatMul", [rows, columns])  # (N, G, O/G, P)
    return g.add("Reshape", [y, g.ints([0, o, *out])])


def _max_pool(s: Step) -> str:
    kernel, stride, padding = (s.kwargs[k] for k in ("kernel", "stride", "padding"))
    return s.graph.add("MaxPool", [s.input(0)], kernel_shape=list(kernel), strides=list(stride),
                       pads=_onnx_pads(padding))


def _avg_pool(s: Step) -> str:
    kernel, stride, padding = (s.kwargs[k] for k in ("kernel", "stride", "padding"))
    g, x = s.graph, s.input(0)
    if s.out.dtype == np.float32:  # padded zeros count, as the table's (count_include_pad)
        return g.add("AveragePool", [x], kernel_shape=list(kernel), strides=list(stride),
                     pads=_onnx_pads(padding), count_include_pad=1)
    views, _ = _windows(s, x, kernel, stride, (1,) * len(kernel), padding, s.value(0).shape[2:])
    total = g.add("Sum", views)
    return g.add("Div", [total, g.constant(np.prod(kernel), s.out.dtype)])


def _lstm_gates(g, gates: str, state: str, hidden: int) -> str:
    """One LSTM cell on ONNX names: gates (..., 4H) in PyTorch's order (input, forget,
    cell, output) and state (..., 2H) = [h | c]: c' = f c + i g, h' = o tanh(c'); [h' | c']."""
    def part(x: str, k: int) -> str:
        return g.add("Slice", [x, g.ints([k * hidden]), g.ints([(k + 1) * hidden]), g.ints([-1])])

    i, f, o = (g.add("Sigmoid", [part(gates, k)]) for k in (0, 1, 3))
    cell = g.add("Tanh", [part(gates, 2)])
    c = g.add("Add", [g.add("Mul", [f, part(state, 1)]), g.add("Mul", [i, cell])])
    h = g.add("Mul", [o, g.add("Tanh", [c])])
    return g.add("Concat", [h, c], axis=-1)


def _lstm_cell(s: Step) -> str:
    hidden = s.value(1).shape[-1] // 2
    return _lstm_gates(s.graph, s.input(0, s.out.dtype), s.input(1, s.out.dtype), hidden)


def _lstm_sequence(s: Step) -> str:
    # Unrolled over the (fixed) number of steps: step t is the cell on
    # projection[t] + h_{t-1} W_hh^T; the states stacked along a new first axis.
    g = s.graph
    steps, hidden = s.value(0).shape[0], s.value(1).shape[-1]
    projection, w_hh, state = (s.input(k, s.out.dtype) for k in range(3))
    w_t = g.add("Transpose", [w_hh], perm=[1, 0])
    states = []
    for t in range(steps):
        h = g.add("Slice", [state, g.ints([0]), g.ints([hidden]), g.ints([-1])])
        x_t = g.add("Gather", [projection, g.constant(np.array(t, dtype=np.int64), np.int64)], axis=0)
        state = _lstm_gates(g, g.add("Add", [x_t, g.add("MatMul", [h, w_t])]), state, hidden)
        states.append(g.add("Unsqueeze", [state, g.ints([0])]))
    return g.add("Concat", states, axis=0)


ONNX_OPS: dict[str, Callable[[Step], str]] = {
    # elementwise
    "add": _same_op("Add"),
    "subtract": _subtract,  # LogSoftmax when it is x - logsumexp(x, axis, keepdims=True)
    "multiply": _same_op("Mul"),
    "divide": _same_op("Div"),
    "power": _same_op("Pow"),
    "negative": _same_op("Neg"),
    "maximum": _same_op("Max"),
    "minimum": _same_op("Min"),
    "exp": _exp,  # Softmax when it is exp(log_softmax(x))
    "log": _same_op("Log"),
    "log1p": _log1p,
    "expm1": _expm1,
    "sqrt": _same_op("Sqrt"),
    "sin": _same_op("Sin"),
    "cos": _same_op("Cos"),
    "tanh": _same_op("Tanh"),
    "abs": _same_op("Abs"),
    "relu": _same_op("Relu"),
    "sigmoid": _same_op("Sigmoid"),
    "clip": _clip,
    "leaky_relu": lambda s: s.graph.add("LeakyRelu", [s.input(0)],
                                        alpha=float(s.kwargs.get("negative_slope", 0.01))),
    "elu": lambda s: s.graph.add("Elu", [s.input(0)], alpha=float(s.kwargs.get("alpha", 1.0))),
    "softplus": _softplus,
    "hardtanh": _hardtanh,
    "not_nan": _not_nan,
    "cbrt": _cbrt,
    "hypot": _hypot,  # (sqrt(x^2 + y^2): overflows where NumPy's hypot does not, past 1e154)
    # reductions
    "sum": _reduction("ReduceSum"),
    "max": _reduction("ReduceMax"),
    "min": _reduction("ReduceMin"),
    "logsumexp": _reduction("ReduceLogSumExp"),
    # linear algebra and fused losses
    "matmul": _matmul,
    "softmax_cross_entropy": _softmax_cross_entropy,
    # shape, indexing, joining
    "reshape": _reshape,
    "transpose": _transpose,
    "broadcast_to": _broadcast_to,
    "astype": _astype,
    "getitem": _getitem,
    "untake": _untake,
    "concatenate": _concatenate,
    "stack": _stack,
    "sort": _sort,
    "where": _where,
    # convolution, pooling, recurrent cells, special functions
    "conv": _conv,
    "max_pool": _max_pool,
    "avg_pool": _avg_pool,
    "lstm_cell": _lstm_cell,
    "lstm_sequence": _lstm_sequence,
    "erf": _same_op("Erf"),  # (onnxruntime runs Erf in float32 only)
    # the second round's elementwise functions that are one ONNX operator each
    "tan": _same_op("Tan"),
    "arcsin": _same_op("Asin"),
    "arccos": _same_op("Acos"),
    "arctan": _same_op("Atan"),
    "sinh": _same_op("Sinh"),
    "cosh": _same_op("Cosh"),
    "arcsinh": _same_op("Asinh"),
    "arccosh": _same_op("Acosh"),
    "arctanh": _same_op("Atanh"),
    "floor": _same_op("Floor"),
    "ceil": _same_op("Ceil"),
    "sign": _same_op("Sign"),
}

# Primitives that only gradients record (a forward pass never does), and why they stay out.
REFUSED: dict[str, str] = {
    name: "it appears only in gradients; export a forward pass" for name in
    ("conv_input_grad", "conv_weight_grad", "avg_pool_backward", "max_pool_scatter",
     "max_pool_gather", "unwindow")}
# The second round's NumPy functions that need more than one ONNX operator (or, for
# numpy.linalg's factorisations, have none): not written yet, refused by name.
REFUSED.update({name: "no ONNX form written yet (several operators, or none for a factorisation)"
                for name in ("arctan2", "exp2", "log2", "log10", "logaddexp", "logaddexp2",
                             "rint", "round", "trunc", "floor_divide", "fmod", "remainder",
                             "nan_to_num", "cumsum", "cumprod", "prod", "norm", "einsum",
                             "tensordot", "pad", "sliding_window_view", "det", "slogdet", "inv",
                             "pinv", "solve", "cholesky", "qr", "eigh", "svd")})


# ---- the exporter ---------------------------------------------------------------------------
class _Exporter:
    """Turns a recording (and, with dynamic axes, a second one) into an ONNX graph."""

    def __init__(self, onnx_module: Any, recording: _Recording, other: _Recording | None,
                 input_names: list[str], symbols: dict[tuple[int, int], str],
                 parameter_names: dict[int, str], buffer_names: dict[int, str]) -> None:
        self.graph = Graph(onnx_module)
        self.recording, self.other = recording, other
        self.input_names = input_names
        self.symbols = symbols  # (input position, axis) -> symbol name
        self.names: dict[int, str] = {}  # id(Tensor) -> ONNX value name
        self.index_inputs: dict[int, str] = {}  # id(integer example array) -> input name
        for name, arg in zip(input_names, recording.args):
            (self.names if isinstance(arg, Tensor) else self.index_inputs)[id(arg)] = name
        for name in input_names:
            self.graph.unique(name)
        self._parameter_names = parameter_names
        self.buffer_names = buffer_names  # id(buffer array) -> dotted name
        self._shapes: dict[str, str] = {}
        # Integer inputs are different arrays in the two recordings, but the same input.
        self._positions = {id(a): k for k, a in enumerate(recording.args)}
        self._other_positions = ({} if other is None else
                                 {id(a): k for k, a in enumerate(other.args)})

    def same(self, a: Any, b: Any) -> bool:
        """Equal keyword arguments in the two recordings: arrays by value (an integer
        input by position), tuples item by item."""
        if id(a) in self._positions:
            return self._positions[id(a)] == self._other_positions.get(id(b))
        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            return np.shape(a) == np.shape(b) and bool(np.array_equal(a, b))
        if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
            return len(a) == len(b) and all(self.same(x, y) for x, y in zip(a, b))
        return type(a) is type(b) and a == b

    def named_initializer(self, array: np.ndarray, name: str) -> str:
        if id(array) not in self.names:
            self.names[id(array)] = self.graph.initializer(array, self.graph.unique(name))
        return self.names[id(array)]

    def dims(self, shape: tuple, other: tuple, step: Step) -> str:
        """An int64 shape tensor: ``shape``'s dims where both recordings agree, else a
        dynamic input dim (times a constant) that changed the same way."""
        g = self.graph
        pieces = []
        for a, b in zip(shape, other):
            if a == b:
                pieces.append(g.ints([a]))
                continue
            for (position, axis), _ in self.symbols.items():
                na = self.recording.args[position].shape[axis]
                nb = self.other.args[position].shape[axis]
                if a % na == 0 and (a // na) * nb == b:
                    dim = g.add("Gather", [self._shape_of(position), g.ints([axis])], axis=0)
                    pieces.append(dim if a == na else g.add("Mul", [dim, g.ints([a // na])]))
                    break
            else:
                raise step.error(f"a dimension ({a} here, {b} at the other size) follows the "
                                 "dynamic axes but is no multiple of one of them")
        return g.add("Concat", pieces, axis=0) if len(pieces) > 1 else pieces[0]

    def _shape_of(self, position: int) -> str:
        name = self.input_names[position]
        if name not in self._shapes:
            self._shapes[name] = self.graph.add("Shape", [name])
        return self._shapes[name]

    def leaf(self, t: Tensor) -> None:
        """A leaf Tensor that is no input: an initializer (a parameter, by its name)."""
        if id(t) in self.names:
            return
        name = self._parameter_names.get(id(t)) or t.name or "parameter"
        self.names[id(t)] = self.graph.initializer(t.data, self.graph.unique(name))

    def run(self) -> None:
        ops = self.recording.ops
        others = self.other.ops if self.other is not None else [None] * len(ops)
        if len(others) != len(ops) or any(
                a.grad_fn.name != b.grad_fn.name for a, b in zip(ops, others) if b is not None):
            if self.symbols:
                raise ExportError(
                    "export_onnx: the recorded operations differ for a second example with the "
                    "dynamic axes one longer (and other values): the model's control flow depends "
                    "on those lengths or on the values, so one trace cannot serve every size; "
                    "export without dynamic_axes")
            warnings.warn(
                "export_onnx: the recorded operations differ for other input values: control "
                "flow that depends on the values is exported as traced for the example",
                TraceWarning, stacklevel=3)
            self.other, others = None, [None] * len(ops)
        for t, b in zip(ops, others):
            for operand in inputs_of(t):
                if isinstance(operand, Tensor) and operand.grad_fn is None:
                    self.leaf(operand)
            entry = ONNX_OPS.get(t.grad_fn.name)
            step = Step(self, t, b)
            if t.grad_fn.name in REFUSED:
                raise step.error(REFUSED[t.grad_fn.name])
            if entry is None:
                raise step.error("no ONNX form is known for it (autograd_lite.export.ONNX_OPS "
                                 "has entries for " + ", ".join(sorted(ONNX_OPS)) + ")")
            self.names[id(t)] = entry(step)
            unhandled = [k for k in step.dynamic_kwargs() if k not in step.handled]
            if unhandled:
                raise step.error(f"its {unhandled[0]}={step.kwargs[unhandled[0]]!r} {_CHANGED}")
        for out in self.recording.outputs:
            if out.grad_fn is None:
                self.leaf(out)

    def finish(self, output_names: list[str]) -> None:
        """Name the outputs (renaming the value that produces each) and drop every node
        that no output needs (a pattern such as Softmax leaves its parts unused)."""
        g = self.graph
        renames: dict[str, str] = {}
        produced = {node.output[0] for node in g.nodes}
        for out, name in zip(self.recording.outputs, output_names):
            value = self.names[id(out)]
            if value in produced and value not in renames:
                renames[value] = name
            else:  # an input, a parameter, or a value given twice as an output
                g.nodes.append(g.onnx.helper.make_node("Identity", [renames.get(value, value)],
                                                       [name], name=f"{name}_identity"))
        for node in g.nodes:
            node.input[:] = [renames.get(n, n) for n in node.input]
            node.output[:] = [renames.get(n, n) for n in node.output]
        needed, kept = set(output_names), []
        for node in reversed(g.nodes):
            if any(o in needed for o in node.output):
                kept.append(node)
                needed.update(i for i in node.input if i)
        g.nodes[:] = kept[::-1]
        g.initializers[:] = [i for i in g.initializers if i.name in needed]


def _named(kind: str, given: Sequence[str] | None, count: int) -> list[str]:
    names = list(given) if given is not None else [f"{kind}_{k}" for k in range(count)]
    if len(names) != count or len(set(names)) != count:
        raise ValueError(f"export_onnx: {kind}_names must be {count} distinct names, got {names}")
    return names


def _axes(spec: Any, name: str) -> dict[int, str]:
    """``{0: "batch"}`` as given, or a list of axes named ``"<name>_dim<axis>"``."""
    if isinstance(spec, Mapping):
        return {int(axis): str(symbol) for axis, symbol in spec.items()}
    return {int(axis): f"{name}_dim{int(axis)}" for axis in spec}


def _value_info(onnx_module: Any, name: str, array: np.ndarray, dims: Mapping[int, str]) -> Any:
    shape = [dims.get(axis, n) for axis, n in enumerate(array.shape)]
    return onnx_module.helper.make_tensor_value_info(name, _elem_type(onnx_module, array.dtype),
                                                     shape)


def export_onnx(fn_or_module: Callable, example_inputs: Any, path: str | os.PathLike,
                input_names: Sequence[str] | None = None,
                output_names: Sequence[str] | None = None,
                dynamic_axes: Mapping[str, Mapping[int, str] | Sequence[int]] | None = None
                ) -> Any:
    """Record one forward pass of ``fn_or_module`` and write it to ``path`` as an ONNX model
    (opset 18); returns the ``onnx.ModelProto``.

    ``example_inputs``: one array or Tensor, or a tuple/list of them (the positional
    arguments).  Floating inputs are graph inputs of their shape and dtype (float64
    stays float64); integer arrays (token indices for an Embedding) are graph inputs too.
    The outputs are the Tensors the call returns (a tuple or nested containers of them,
    flattened in order).  Parameters (and other Tensors the forward reads) become
    initializers, named by their dotted module paths (``"0.weight"``).

    An ``nn.Module`` (anything callable with ``named_parameters``) is exported in eval
    mode (Dropout off, BatchNorm on its running statistics), as ``torch.onnx.export``
    does, and its modes are restored afterwards.

    ``dynamic_axes`` (keyed by input and output names) marks axes of any length, such as
    the batch: ``{"x": {0: "batch"}, "y": {0: "batch"}}`` or ``{"x": [0]}``.  Shapes that
    follow them are computed from the inputs in the graph (see the module docstring).

    **The model is exported as traced**: the operations this one call recorded, with
    this call's branches taken and loops unrolled.  Control flow that depends on the
    input values (an ``if`` on a tensor's value, a loop until convergence) is frozen as
    it went for the example, without a warning, as with ``torch.onnx.export``; with
    dynamic axes, control flow that depends on the lengths is an error.

    Raises `ExportError` for an operation with no ONNX form (naming it and the line of
    your code that recorded it) or a value that depends on a dynamic axis where ONNX
    needs a constant.  Needs the ``onnx`` package (``pip install "autograd_lite[onnx]"``).
    """
    try:
        import onnx
    except ImportError as exc:
        raise ImportError('export_onnx needs the onnx package: pip install "autograd_lite[onnx]"'
                          ) from exc
    examples = list(example_inputs) if isinstance(example_inputs, (tuple, list)) else [example_inputs]
    args = [_as_argument(x) for x in examples]
    names = _named("input", input_names, len(args))
    dynamic = {name: _axes(spec, name) for name, spec in (dynamic_axes or {}).items()}
    module = fn_or_module if hasattr(fn_or_module, "named_parameters") else None
    modes = [(m, m.training) for m in module.modules()] if hasattr(module, "modules") else []
    if modes:
        module.eval()
    try:
        recording = _Recording(fn_or_module, args)
        outputs = _named("output", output_names, len(recording.outputs))
        if set(outputs) & set(names):
            raise ValueError(f"export_onnx: {sorted(set(outputs) & set(names))[0]!r} names both "
                             "an input and an output")
        unknown = [n for n in dynamic if n not in names and n not in outputs]
        if unknown:
            raise ValueError(f"export_onnx: dynamic_axes names {unknown[0]!r}, which is neither "
                             f"an input ({', '.join(names)}) nor an output ({', '.join(outputs)})")
        symbols = {(k, axis): symbol for k, name in enumerate(names)
                   for axis, symbol in dynamic.get(name, {}).items()}
        sizes = sorted({_array_of(args[k]).shape[axis] for k, axis in symbols})
        grow = {n: n + 1 for n in sizes}  # equal lengths grow alike (a batch shared by inputs)
        rng = np.random.default_rng(17)
        second = [_other_example(_array_of(a), [ax for (k2, ax) in symbols if k2 == k], grow, rng)
                  for k, a in enumerate(args)]
        try:
            with np.errstate(all="ignore"):  # other values may leave a log's domain: no matter
                other = _Recording(fn_or_module, [_as_argument(x) for x in second])
        except Exception as exc:
            if symbols:
                raise ExportError(
                    "export_onnx: the model fails for a second example with the dynamic axes one "
                    f"longer ({type(exc).__name__}: {exc}), so those lengths are not free; "
                    "export without dynamic_axes, or mark only axes of any length") from exc
            other = None  # other values fail (a domain check?): export the trace unchecked
    finally:
        for m, training in modes:  # parents first: train() would reset the children
            m.training = training
    parameter_names = ({id(p): n for n, p in module.named_parameters()} if module is not None else {})
    buffer_names = ({id(b): n for n, b in module.named_buffers()}
                    if hasattr(module, "named_buffers") else {})
    exporter = _Exporter(onnx, recording, other, names, symbols, parameter_names, buffer_names)
    exporter.run()
    exporter.finish(outputs)

    graph_inputs = [_value_info(onnx, n, _array_of(a), dynamic.get(n, {}))
                    for n, a in zip(names, args)]
    graph_outputs = []
    for k, (name, out) in enumerate(zip(outputs, recording.outputs)):
        dims = dict(dynamic.get(name, {}))
        if exporter.other is not None:  # an axis that changed with the inputs' is dynamic too
            for axis, (a, b) in enumerate(zip(out.shape, other.outputs[k].shape)):
                if a != b and axis not in dims:
                    dims[axis] = next((symbol for (p, ax), symbol in symbols.items()
                                       if _array_of(args[p]).shape[ax] == a), f"{name}_dim{axis}")
        graph_outputs.append(_value_info(onnx, name, out.data, dims))
    graph = onnx.helper.make_graph(exporter.graph.nodes, "autograd_lite", graph_inputs,
                                   graph_outputs, exporter.graph.initializers)
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", OPSET)],
                                   ir_version=IR_VERSION, producer_name="autograd_lite")
    onnx.checker.check_model(model)
    onnx.save(model, os.fspath(path))
    return model
