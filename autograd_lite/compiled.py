"""Trace once, replay as straight-line NumPy: ``ag.compile_grad``.

``ag.value_and_grad`` records every operation and walks the tape on every call: per
operation that is a Tensor, a tape entry, a heap push and pop, dict look-ups and the
rule call through ``*args, **kwargs`` -- about 5 µs of Python around NumPy calls that
take 1-3 µs on a small model.  `compile_grad` records the function once (with the
ordinary engine), then writes the recorded graph out as the source of one Python
function: one line per forward operation in creation order, one line per needed
derivative rule in reverse order, every shape decision (whether a gradient must be
summed over broadcast axes, and over which) taken at trace time.  Later calls run
that function: nothing but the NumPy forwards and the table's own rules.

What is replayed is what was recorded, as in ``torch.jit.trace`` and ``jax.jit``:

* Python control flow that depends on values (``if loss > 1``, a loop until
  convergence, ``float(x)``) is frozen as it went during the trace.  So is a mask or an
  order computed from values outside the tape (``np.where(x > 0, x, 0.1 * x)``,
  ``np.argsort(x)``): a trace that compares or sorts the values of Tensors that require
  grad warns (`FrozenValueWarning`).  The table's own entries choose at every call
  (``ag.maximum``, ``ag.leaky_relu``, ``np.sort``, ``np.max``, clipping), and so does a
  primitive of your own (``ag.primitive``) that computes its mask inside.
* Arrays the function uses that are not arguments (data in a closure, constants) are
  frozen, and so is anything computed outside the tape, even from a differentiated
  argument: under ``ag.no_grad()``, from ``t.data`` or ``t.item()``, or with NumPy on a
  non-differentiated array (``np.asarray(y, float)``).  Tensors met in the graph that
  are not arguments (a model's parameters in a closure) are read at every call, so
  in-place updates of them are seen; their gradients are not computed.
* A non-differentiated array argument that the trace did not see used directly is
  treated as frozen: passing a different array object retraces.  So does rebinding a
  name the function reads from its closure or its module (``X = next_batch``); a change
  inside a container or object it reads (``data["X"] = ...``) is not seen.
* Arguments are matched by shape and dtype (and by value for Python scalars, ``None``,
  strings, by identity for lists and other objects at non-differentiated positions): a
  new combination traces again.
* Random numbers drawn inside (``nn.Dropout`` in training mode) are drawn once: every
  replay uses the trace's mask.
* ``ag.detect_anomaly`` watches the trace, not the replays; the replay never records,
  and its gradients are plain arrays (no higher order: use `value_and_grad` for that).

To find out whether a function is safe to trace, ``check_every=N`` recomputes every
N-th call with the ordinary engine and raises `TraceMismatchError` when the replay
disagrees; ``step.check(*args)`` does it once.  Every new program is also checked
against the engine on the call that traced it.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from . import functional
from .engine import (backprop, broadcast_axes, enable_grad, graph_nodes, no_grad, node_step,
                     unbroadcast, watching_value_reads)
from .tensor import Tensor, unwrap
from .tree import path_suffix, tree_flatten

RETRACE_WARNING = 8  # traces of one compiled function before it warns that it keeps retracing


class TraceMismatchError(AssertionError):
    """A replayed program disagreed with the ordinary engine on the same arguments."""


class FrozenValueWarning(UserWarning):
    """A traced function read values outside the tape (``x > 0``): its replays reuse the
    result of the trace."""


def compile_grad(fun: Callable, argnum: int | tuple[int, ...] = 0, *,
                 check_every: int = 0) -> CompiledGrad:
    """``ag.value_and_grad(fun, argnum)``, traced on the first call and replayed after.

    Returns a callable ``step(*args) -> (value, gradient)`` with the semantics of
    `value_and_grad`: ``fun`` returns a scalar; the gradient has its argument's shape
    (a float for a float argument; a tuple of gradients for a tuple ``argnum``).  A
    differentiated argument may be a container (nested tuples, lists, dicts) of arrays,
    floats or Tensors (``list(model.parameters())``, a dict of named arrays) and gets
    its gradients in the same structure.  Keyword arguments reach ``fun`` and are not
    differentiated (arrays among them are read on each call, other values are part of
    the program's key, as for positional ones).  A Tensor argument is read through
    ``.data`` on every call, so optimizers may update it in place.  Gradients are plain
    arrays: a compiled step cannot be differentiated again.

    ``check_every=N`` (N > 0) also computes every N-th call with the ordinary engine and
    raises `TraceMismatchError` if the results differ (see the module docstring for
    what tracing freezes).
    """
    return CompiledGrad(fun, argnum, check_every=check_every)


class CompiledGrad:
    """The callable made by `compile_grad`: a cache of programs keyed by argument kinds.

    ``traces`` counts the traces so far; ``code`` is the source of the program used by
    the latest call (print it to see exactly what runs).
    """

    def __init__(self, fun: Callable, argnum: int | tuple[int, ...] = 0,
                 check_every: int = 0) -> None:
        if not callable(fun):
            raise TypeError(f"compile_grad needs a function, got {type(fun).__name__}")
        argnums = argnum if isinstance(argnum, tuple) else (argnum,)
        if not argnums or not all(isinstance(i, int) and not isinstance(i, bool) for i in argnums):
            raise TypeError(f"argnum must be an int or a non-empty tuple of ints, got {argnum!r}")
        if min(argnums) < 0:
            raise ValueError(f"argnum must count from 0 (no negative positions), got {argnum!r}")
        if len(set(argnums)) != len(argnums):
            raise ValueError(f"argnum {argnum!r} names an argument twice")
        if not isinstance(check_every, int) or check_every < 0:
            raise ValueError(f"check_every must be an int >= 0 (0: never), got {check_every!r}")
        self.fun = fun
        self.argnum = argnum
        self._argnums = argnums
        self._arity = max(argnums) + 1  # the fewest arguments a call may pass
        self.check_every = check_every
        self.traces = 0
        self.calls = 0
        self._programs: dict[tuple, _Program] = {}
        self._latest: _Program | None = None

    @property
    def code(self) -> str:
        return self._latest_program().source

    @property
    def unused(self) -> tuple[bool, ...]:
        """For the program of the latest call: per differentiated leaf (flattened, in
        `tree_flatten` order), True when the value does not depend on it, so its gradient
        is zeros (where ``loss.backward()`` would leave ``.grad`` None)."""
        return self._latest_program().unused

    def _latest_program(self) -> _Program:
        if self._latest is None:
            raise RuntimeError("nothing compiled yet: call the compiled function once first")
        return self._latest

    def __call__(self, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
        if functional.transform_depth() > 0:
            raise TypeError("a compile_grad step cannot run inside ag.grad/jacobian/hessian: its "
                            "gradients are plain arrays; use ag.value_and_grad for higher order")
        if len(args) < self._arity:
            raise TypeError(f"compile_grad differentiates argument {self._arity - 1}, but was "
                            f"called with {len(args)} argument(s)")
        self.calls += 1
        args, names = _with_keywords(args, kwargs)
        arrays, key = _flatten(args, self._argnums, names)
        program = self._programs.get(key)
        if program is not None and not (program.frozen_args_unchanged(arrays)
                                        and _same_captures(program.captured, _captured(self.fun))):
            program = None  # something the trace froze has been replaced: trace again
        if program is None:
            value, grads, program = self._trace(args, arrays, key, names)
        elif self.check_every and self.calls % self.check_every == 0:
            return self.check(*args[:len(args) - len(names)], **kwargs)
        else:
            value, grads = program.run(arrays)
        self._latest = program
        return self._package(args, value, grads)

    def check(self, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
        """Compute with the ordinary engine and with the replay; raise `TraceMismatchError`
        if they differ, else return the result as a call would."""
        args, names = _with_keywords(args, kwargs)
        arrays, key = _flatten(args, self._argnums, names)
        program = self._programs.get(key)
        value, grads, fresh = self._trace(args, arrays, key, names, retrace=False)
        if program is not None and program is not fresh:
            # The cached program was made from an earlier trace: does it still agree?
            _compare(program, program.run(arrays), (value, grads), "a later call's arguments")
        self._latest = fresh
        return self._package(args, value, grads)

    def _trace(self, args: tuple, arrays: list, key: tuple, names: tuple[str, ...],
               retrace: bool = True):
        """Run ``fun`` with the engine, build (or rebuild) its program, check the program
        against the engine's result on these arguments (the last ``len(names)`` of them
        keyword arguments).  ``retrace`` counts it as a trace (a check is not one)."""
        if any(isinstance(a, Tensor) and a.grad_fn is not None for a in _tensor_args(args)):
            raise TypeError("compile_grad got a Tensor with recorded history as an argument; "
                            "its gradients would not flow back into that history. Pass "
                            "t.detach() (or use ag.value_and_grad, which nests).")
        call_args = list(args)
        targets: list[Tensor] = []
        for i in self._argnums:
            call_args[i] = _as_leaves(args[i], targets)
        positional = len(call_args) - len(names)
        with enable_grad(), watching_value_reads() as value_reads:
            out = self.fun(*call_args[:positional], **dict(zip(names, call_args[positional:])))
        name = getattr(self.fun, "__name__", "fun")
        if value_reads:
            warnings.warn(
                f"compile_grad: {name} computed {', '.join(sorted(set(value_reads)))} from the "
                "values of Tensors that require grad; the result (a mask, an order, a branch) "
                "is not a recorded operation, so every replay reuses the one from this trace "
                "and is wrong where it would change. Choose inside a table entry instead "
                "(ag.maximum, ag.leaky_relu, np.sort, or an ag.primitive of your own that "
                "computes its mask inside), or verify with check_every=N.", FrozenValueWarning, stacklevel=4)
        if not isinstance(out, Tensor) or out.grad_fn is None:
            raise TypeError(f"compile_grad: {name} returned a value that does not depend on the "
                            f"differentiated arguments {self.argnum!r}: there is nothing to compile")
        if out.size != 1:
            raise TypeError(f"compile_grad needs a scalar-valued function, but {name} returned "
                            f"shape {out.shape}; reduce it first (e.g. .sum())")
        grads = backprop(out, np.ones_like(out.data), inputs=tuple(targets), retain_graph=True)
        grads = [np.zeros_like(t.data) if g is None else unwrap(g)
                 for g, t in zip(grads, targets)]  # a Tensor where a rule called a primitive
        program = _Program(out, targets, args, arrays, self._argnums, names)
        program.captured = _captured(self.fun)
        _compare(program, program.run(arrays), (out.data, grads), "the arguments it was traced with")
        self._programs[key] = program
        if not retrace:
            return out.data, grads, program
        self.traces += 1
        if self.traces == RETRACE_WARNING:
            warnings.warn(f"compile_grad has traced {name} {self.traces} times: argument shapes, "
                          "dtypes or Python values keep changing, or a non-differentiated array "
                          "argument that is frozen into the program is a new object on each "
                          "call. Each trace costs an ordinary engine run and a compilation.",
                          RuntimeWarning, stacklevel=3)
        return out.data, grads, program

    def _package(self, args: tuple, value: np.ndarray, grads: list) -> tuple[Any, Any]:
        """The result as `value_and_grad` gives it: a float value for a 0-d output, each
        gradient shaped (and typed) like its argument."""
        value = float(value) if value.ndim == 0 else value
        if not isinstance(self.argnum, tuple) and type(args[self.argnum]) is np.ndarray:
            return value, grads[0]  # the common case, without the general regrouping
        flat = iter(grads)
        results = tuple(_regroup(args[i], flat) for i in self._argnums)
        return value, results if isinstance(self.argnum, tuple) else results[0]

    def __repr__(self) -> str:
        name = getattr(self.fun, "__name__", "fun")
        return f"<compile_grad of {name}, argnum={self.argnum!r}: {self.traces} trace(s), {self.calls} call(s)>"


# ---- arguments -----------------------------------------------------------------------------
def _with_keywords(args: tuple, kwargs: dict) -> tuple[tuple, tuple[str, ...]]:
    """The keyword arguments' values appended to ``args`` (in name order), and the names:
    the program treats them as further (never differentiated) arguments."""
    if not kwargs:
        return args, ()
    names = tuple(sorted(kwargs))
    return args + tuple(kwargs[name] for name in names), names


def _flatten(args: tuple, argnums: tuple[int, ...], names: tuple[str, ...] = ()
             ) -> tuple[list, tuple]:
    """The arrays the program reads (in order) and the cache key describing the arguments.

    Differentiated arguments (each leaf of a container) and any array or Tensor are
    *dynamic*: their current arrays are handed to the program. Other values are part of
    the key (frozen into the program).
    """
    arrays: list = []
    key = []
    for position, arg in enumerate(args):
        differentiated = position in argnums
        if isinstance(arg, (np.ndarray, Tensor)) or (differentiated and not _is_container(arg)):
            key.append(_dynamic(arg, arrays, differentiated))
        elif differentiated:
            if _is_flat(arg):  # a list of parameters: its own structure, without tree_flatten
                leaves, treedef = arg, (type(arg), len(arg))
            else:
                leaves, treedef = tree_flatten(arg)
            key.append((treedef, tuple(_dynamic(leaf, arrays, True) for leaf in leaves)))
        else:
            try:
                hash(arg)
                key.append(("static", type(arg), arg))
            except TypeError:
                key.append(("static", type(arg), id(arg)))
    if names:
        key.append(names)
    return arrays, tuple(key)


def _dynamic(arg: Any, arrays: list, differentiated: bool) -> tuple:
    """Append ``arg``'s array to ``arrays``; return its shape and dtype (its key)."""
    data = unwrap(arg)
    if type(data) is not np.ndarray:
        if not differentiated:
            raise TypeError(f"expected an array, got {type(arg).__name__}")
        data = np.asarray(data)
    if differentiated and data.dtype.kind not in "biuf":
        raise TypeError(f"compile_grad: a differentiated argument must be a float, an array, "
                        f"a Tensor or a container of those, got {type(arg).__name__} of dtype "
                        f"{data.dtype}")
    if differentiated and data.dtype.kind != "f":
        data = data.astype(np.float64)  # as value_and_grad: integers are differentiated as floats
    arrays.append(data)
    return (isinstance(arg, Tensor), data.shape, data.dtype)


def _is_container(arg: Any) -> bool:
    return isinstance(arg, (list, tuple, dict)) or arg is None


def _tensor_args(args: tuple):
    for arg in args:
        if _is_container(arg):
            yield from tree_flatten(arg)[0]
        else:
            yield arg


def _as_leaves(arg: Any, targets: list) -> Any:
    """The differentiated argument as the function sees it during the trace: leaf Tensors
    (a Tensor that requires grad is used itself, so a model holding it records it)."""
    leaves, treedef = tree_flatten(arg)
    leaf_tensors = [functional.as_leaf(leaf) for leaf in leaves]
    targets += leaf_tensors
    return treedef.unflatten(leaf_tensors)


def _is_flat(arg: Any) -> bool:
    """A list or tuple of arrays and Tensors only: its gradients are the same kind of
    sequence of arrays (the common case, a model's parameters, kept cheap per call)."""
    return type(arg) in (list, tuple) and all(type(a) is np.ndarray or isinstance(a, Tensor)
                                              for a in arg)


def _regroup(arg: Any, flat) -> Any:
    """Gradients in the structure of the argument (a float for a float)."""
    if _is_flat(arg):
        return type(arg)(next(flat) for _ in arg)
    leaves, treedef = tree_flatten(arg)
    return treedef.unflatten(functional.as_given(next(flat), leaf) for leaf in leaves)


_EMPTY_CELL = object()


def _captured(fun: Callable, depth: int = 1) -> tuple:
    """What a plain Python ``fun`` reads by name from outside: its closure cells and the
    globals its code names.  A trace freezes the arrays among them, so every call compares
    them with the trace's (`_same_captures`) and traces again when one was rebound (a
    mini-batch loop that assigns ``X = batch`` before calling).  Changes inside a
    container or an object (a dict entry, an attribute) are not seen.  Functions in the
    closure are looked into too, ``depth`` levels deep."""
    code = getattr(fun, "__code__", None)
    if code is None:  # a callable object (an nn.Module, a partial): nothing is compared
        return ()
    cells = []
    for cell in fun.__closure__ or ():
        try:
            cells.append(cell.cell_contents)
        except ValueError:  # a name assigned only later in the enclosing function
            cells.append(_EMPTY_CELL)
    names = fun.__globals__
    captured = (*cells, *(names.get(name, _EMPTY_CELL) for name in code.co_names))
    if depth:  # a function that calls the user's function (nn.compile_step's): look inside
        inner = [_captured(f, depth - 1) for f in cells if type(f) is type(_captured)]
        captured += tuple(item for found in inner for item in found)
    return captured


def _same_captures(seen: tuple, now: tuple) -> bool:
    """The same objects (numbers: the same values) as the trace saw."""
    for a, b in zip(seen, now):
        if a is not b and not (type(a) is type(b) and isinstance(a, (int, float, complex)) and a == b):
            return False
    return True


def _is_fresh(gi: Any, g: Any, node: Tensor) -> bool:
    """Whether a rule's result is a new array of its own: not a view, and not its gradient,
    output, operands or residual passed on (as the engine assumes before it adds into a
    leaf's ``.grad`` in place)."""
    if not isinstance(gi, np.ndarray) or gi.base is not None:
        return False
    record = node.grad_fn
    return not (gi is g or gi is node.data or gi is record.residual
                or any(gi is a for a in record.saved))


class _Statement(NamedTuple):
    """One line of a program, with the names of values and gradients it defines and reads."""

    code: str
    defines: tuple[str, ...] = ()
    uses: tuple[str, ...] = ()


def _free_after_last_use(statements: list[_Statement]) -> list[str]:
    """The program's lines, with ``del`` statements for each value and gradient right
    after the statement that reads it last.  A function's locals live until it returns,
    which on a large model would keep every activation and gradient at once; the engine
    frees them as its walk goes, and so does the replay.

    First, dead statements go: one whose every defined name is never read afterwards
    computes nothing the program returns (a statement without names, a comment or the
    ``def`` line, stays).  Names a statement reads but no statement defines (constants in
    the namespace) are never deleted."""
    live: set[str] = set()
    kept = []
    for statement in reversed(statements):
        if (statement.defines and not live.intersection(statement.defines)
                and not statement.code.startswith("def ")):
            continue
        live.difference_update(statement.defines)
        live.update(statement.uses)
        kept.append(statement)
    statements = kept[::-1]
    defined = {name for statement in statements for name in statement.defines}
    last_use = {}
    for i, statement in enumerate(statements):
        for name in statement.defines:
            last_use.setdefault(name, i)  # defined and never read: free it at once
        for name in statement.uses:
            if name in defined:
                last_use[name] = i
    dead_after: dict[int, list[str]] = {}
    for name, i in last_use.items():
        if not statements[i].code.lstrip().startswith("return"):
            dead_after.setdefault(i, []).append(name)
    lines = []
    for i, statement in enumerate(statements):
        lines.append(statement.code)
        if i in dead_after:
            lines.append(f"    del {', '.join(sorted(dead_after[i]))}")
    return lines


def _compare(program: _Program, replayed: tuple, expected: tuple, where: str) -> None:
    """Raise `TraceMismatchError` unless the replay's value and gradients equal the engine's
    (to 1e-12 relative to each array's largest entry: the same operations run in the same
    order, so they agree to the last bit in practice)."""
    pairs = [("the value", replayed[0], expected[0])]
    pairs += [(f"gradient {i}", r, e) for i, (r, e) in enumerate(zip(replayed[1], expected[1]))]
    for what, r, e in pairs:
        r, e = np.asarray(r), np.asarray(e)
        if r.shape != e.shape:
            error = f"shape {r.shape} instead of {e.shape}"
        else:
            scale = max(float(np.max(np.abs(e[np.isfinite(e)]), initial=0.0)), 1e-300)
            with np.errstate(invalid="ignore"):  # inf - inf: equal infinities pass by r == e
                off = np.where((r == e) | (np.isnan(r) & np.isnan(e)), 0.0, np.abs(r - e))
            error = float(np.max(off, initial=0.0)) / scale
            if error <= 1e-12:  # (a NaN error fails this: a mismatch)
                continue
        raise TraceMismatchError(
            f"the compiled program disagrees with the ordinary engine on {where}: {what} "
            f"is off by {error} (relative). The function's graph depends on more than "
            "argument shapes (Python control flow on values, or arrays frozen at trace "
            "time); use ag.value_and_grad for it, or make those values arguments.\n"
            f"The program:\n{program.source}")


# ---- the program ---------------------------------------------------------------------------
class _Program:
    """One traced graph written out as a Python function ``replay(*arrays)``.

    Names in the source: ``a3`` the 4th dynamic array; ``v5`` the output of the recorded
    operation 5 (in creation order); ``g5`` its gradient; ``c2`` a frozen constant;
    ``f5`` / ``r5_1`` operation 5's forward and its rule for operand 1.
    """

    def __init__(self, out: Tensor, targets: list[Tensor], args: tuple, arrays: list,
                 argnums: tuple[int, ...], names: tuple[str, ...] = ()) -> None:
        nodes = graph_nodes(out)[::-1]  # creation order: every operand before its use
        self.namespace: dict[str, Any] = {"asarray": np.asarray, "add_reduce": np.add.reduce,
                                          "unbroadcast": unbroadcast}
        self._constants: dict[int, str] = {}
        self._names: dict[int, str] = {}  # id(Tensor or dynamic array) -> its name in the source
        target_ids = {id(t) for t in targets}
        self.frozen_args = self._name_inputs(args, arrays, targets, argnums, names)
        for k, node in enumerate(nodes):
            self._names[id(node)] = f"v{k}"
        # The operations whose result depends on a differentiated argument: only these get rules.
        leads = set(target_ids)
        for node in nodes:
            if any(id(t) in leads for t in node.grad_fn.inputs if isinstance(t, Tensor)):
                leads.add(id(node))
        parameters = tuple(f"a{i}" for i in range(len(arrays)))
        statements = [_Statement(f"def replay({', '.join(parameters)}):", parameters)]
        statements += [_Statement(comment) for comment in self._input_comments]
        statements += self._forward(nodes)
        statements += self._backward(out, nodes, leads, targets)
        # Which targets the output does not depend on (their gradients are zeros).
        self.unused = tuple(id(t) not in self._grads for t in targets)
        gradients = self._gradient_names(targets)
        statements.append(_Statement(f"    return {self._names[id(out)]}, [{', '.join(gradients)}]",
                                     uses=(self._names[id(out)], *(g.split(".")[0] for g in gradients))))
        self.source = "\n".join(_free_after_last_use(statements))
        scope: dict[str, Any] = {}
        # The source is ours, built from the recorded graph (no user text): exec is the compiler.
        exec(compile(self.source, "<compile_grad program>", "exec"), self.namespace, scope)  # noqa: S102
        self._replay = scope["replay"]
        self._unused_frozen_names()

    def run(self, arrays: list) -> tuple:
        return self._replay(*arrays)

    def frozen_args_unchanged(self, arrays: list) -> bool:
        """True while every frozen array argument is the object the trace saw."""
        for i, seen in self.frozen_args:
            if arrays[i] is not seen:
                return False
        return True

    # -- naming -------------------------------------------------------------------------------
    def _name_inputs(self, args, arrays, targets, argnums, names) -> list[tuple[int, np.ndarray]]:
        """Give each dynamic array a name ``a<i>``; the differentiated ones are the targets'.
        Returns the non-differentiated array arguments, to be checked for use below.
        The last ``len(names)`` arguments are the keyword arguments of those names."""
        first_keyword = len(args) - len(names)
        flat_targets = iter(targets)
        index = 0
        candidates = []
        self._input_comments = []
        for position, arg in enumerate(args):
            differentiated = position in argnums
            if differentiated and _is_container(arg):
                leaves, treedef = tree_flatten(arg)
                items = list(zip(treedef.paths(), leaves))
            else:
                items = [((), arg)]
            for path, item in items:
                if differentiated:
                    self._names[id(next(flat_targets))] = f"a{index}"
                elif isinstance(item, (np.ndarray, Tensor)):
                    self._names[id(item)] = f"a{index}"
                    candidates.append((index, arrays[index]))
                else:
                    continue
                how = "differentiated" if differentiated else "data"
                what = (f"argument {position}" if position < first_keyword
                        else f"keyword {names[position - first_keyword]}")
                self._input_comments.append(
                    f"    # a{index}: {what}{path_suffix(path)}, "
                    f"{arrays[index].shape} {arrays[index].dtype}, {how}")
                index += 1
        return candidates

    def _unused_frozen_names(self) -> None:
        """An array argument the source never names was used (if at all) off the tape:
        keep it as a frozen argument, others are read fresh on every call."""
        self.frozen_args = [(i, seen) for i, seen in self.frozen_args
                            if f"a{i}" not in self._used_inputs]

    def _operand(self, operand: Any, array: Any) -> str:
        """The source expression of an operand: a name, a literal or a frozen constant.
        A value's name is noted in ``self._reads`` (what the statement being built reads)."""
        name = self._names.get(id(operand))
        if name is not None:
            self._used_inputs.add(name)
            self._reads.append(name)
            return name
        if isinstance(operand, Tensor):
            # A Tensor that is neither an argument nor recorded (a closure's parameter, a
            # constant Tensor): read its array on every call, as the engine would.
            return f"{self._constant(operand)}.data"
        return self._constant(array)

    def _constant(self, value: Any) -> str:
        if value is None or isinstance(value, (bool, int, str)) or (
                isinstance(value, float) and np.isfinite(value)):  # (repr(inf) is no literal)
            return repr(value)
        if isinstance(value, tuple) and all(isinstance(v, (bool, int)) or v is None for v in value):
            return repr(value)
        if isinstance(value, tuple):  # an index key may hold argument arrays: rebuild it
            items = [self._operand(v, v) for v in value]
            return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
        return self._namespace_constant(value)

    def _namespace_constant(self, value: Any) -> str:
        """A name in the program's namespace for a frozen array or NumPy scalar (data, or a
        folded gradient), which the program never writes into."""
        name = self._constants.get(id(value))
        if name is None:
            name = self._constants[id(value)] = f"c{len(self._constants)}"
            self.namespace[name] = value
        return name

    def _gradient_names(self, targets: list[Tensor]) -> list[str]:
        """The returned gradients' expressions: each a fresh array that no other returned
        gradient, constant or value shares (a caller may overwrite it; `nn.compile_step`'s
        optimizer does)."""
        names, returned = [], []
        for target in targets:
            key = id(target)
            name = self._grads.get(key)
            if name is None:  # the output does not depend on this argument
                zeros = f"zeros_{self._names[key]}"
                self.namespace[zeros] = np.zeros_like(target.data)
                names.append(f"{zeros}.copy()")
                continue
            value = self._values[key]
            if key in self._constant_grads:
                name = f"{self._namespace_constant(value)}.copy()"
            elif key not in self._private or any(value is seen for seen in returned):
                name = f"{name}.copy()"  # a rule passed on an array that is used elsewhere
            returned.append(value)
            names.append(name)
        return names

    # -- the two halves ---------------------------------------------------------------------
    def _forward(self, nodes: list) -> list[_Statement]:
        self._used_inputs: set[str] = set()
        lines = [_Statement("    # forward, in creation order")]
        for k, node in enumerate(nodes):
            prim = node.grad_fn.op
            for operand, version in zip(node.grad_fn.inputs, node.grad_fn.versions):
                if version is not None and operand._version != version:
                    raise RuntimeError(f"compile_grad: `{prim.name}` uses a Tensor that was "
                                       "modified in place after it was recorded")
            self.namespace[f"f{k}"] = prim.forward
            self._reads = []
            call = f"f{k}({self._arguments(node)})"
            if prim.residual:  # the forward also returns what its rules reuse
                lines.append(_Statement(f"    v{k}, residual{k} = {call}  # {prim.name} {node.shape}",
                                        (f"v{k}", f"residual{k}"), tuple(self._reads)))
                continue
            if node.data.ndim == 0:  # NumPy reductions give scalars; the engine wraps them
                call = f"asarray({call})"
            lines.append(_Statement(f"    v{k} = {call}  # {prim.name} {node.shape}",
                                    (f"v{k}",), tuple(self._reads)))
        return lines

    def _arguments(self, node: Tensor, *leading: str) -> str:
        parts = list(leading)
        parts += [self._operand(t, a) for t, a in zip(node.grad_fn.inputs, node.grad_fn.saved)]
        parts += [f"{key}={self._constant(v)}" for key, v in node.grad_fn.kwargs.items()]
        return ", ".join(parts)

    def _backward(self, out: Tensor, nodes: list, leads: set, targets: list) -> list[_Statement]:
        """One statement per rule that leads to a target, newest operation first (the
        order of the engine's walk, so gradients are summed in the same order).  Each
        node's step (`engine.node_step`, as the engine runs it) also runs once here, on
        the trace's arrays: what it computes and how it fits shapes is written out.

        Two simplifications, both exact (the replay computes the same numbers):

        * Constant folding.  The seed is a constant, and a rule that reads nothing but
          its gradient and constants (``g / 200``, ``2.5e-05 * g``, sum's and indexing's
          rules on such a ``g``) gives a constant: its trace value is kept instead of a
          statement.  So is a sum of constants.  The L2 term's and the mean's scalar
          rules, and a loss's first gradient, vanish from the program.
        * In-place accumulation.  A gradient made fresh by the rule that defined it (a
          new array, not its ``g``, its output, an operand or a constant passed on)
          belongs to the program alone: later contributions are added into it
          (``g3 += ...``) instead of allocating a sum.
        """
        self._grads: dict[int, str] = {}  # id(Tensor) -> name of its gradient so far
        self._constant_grads: set[int] = set()  # ids whose gradient so far is a constant
        self._private: set[int] = set()  # ids whose gradient buffer the program owns
        self._values: dict[int, Any] = {id(out): np.ones_like(out.data)}  # the trace's gradients
        self._grads[id(out)] = "seed"
        self._constant_grads.add(id(out))
        values = self._values
        lines = [_Statement("    # backward, newest operation first")]
        for k in range(len(nodes) - 1, -1, -1):
            node = nodes[k]
            g_name = self._grads.get(id(node))
            if g_name is None:  # nothing flows back through it to a target
                continue
            g = values.pop(id(node))
            g_constant = id(node) in self._constant_grads
            if g_constant:
                g_name = self._namespace_constant(g)
            prim = node.grad_fn.op
            rule_shapes: dict[int, tuple] = {}  # operand -> shape of its rule's result

            def fit(i: int, gi: Any, shape: tuple, shapes: dict = rule_shapes) -> Any:
                shapes[i] = gi.shape
                return unbroadcast(gi, shape)

            with no_grad():
                steps = node_step(node, g, fit=fit)
            for i, operand, gi in steps:
                if id(operand) not in leads:  # dead rule: its gradient reaches no target
                    continue
                if isinstance(gi, Tensor):  # a rule that calls a primitive on arrays
                    gi, tensor_result = gi.data, True
                else:
                    tensor_result = False
                if g_constant and self._reads_only_constants(node, i):
                    self._accumulate(operand, gi, None, prim.name, i, lines, fresh=False)
                    continue
                self.namespace[f"r{k}_{i}"] = prim.rule(i)
                self._reads = [] if g_constant else [g_name]
                residual = f", residual=residual{k}" if prim.residual else ""
                call = f"r{k}_{i}({self._arguments(node, g_name, f'v{k}')}{residual})"
                self._reads.append(f"v{k}")
                if prim.residual:
                    self._reads.append(f"residual{k}")
                if tensor_result:
                    call += ".data"
                gshape = rule_shapes.get(i, operand.shape)
                fresh = gshape != operand.shape or _is_fresh(gi, g, node)  # a reduction is fresh
                call = self._fit(call, gshape, operand.shape)
                self._accumulate(operand, gi, call, prim.name, i, lines, fresh)
        return lines

    def _reads_only_constants(self, node: Tensor, i: int) -> bool:
        """True when operand ``i``'s rule reads nothing that changes between calls besides
        its gradient: not the output, no residual, no operand or keyword argument that is
        an argument or a Tensor (`Primitive.reads` says what the rule's code reads)."""
        prim = node.grad_fn.op
        reads = prim.reads(i)
        if reads.output or prim.residual:
            return False
        inputs = node.grad_fn.inputs
        if any(self._is_dynamic(inputs[j]) for j in reads.operands if j < len(inputs)):
            return False
        return not any(self._is_dynamic(v) for v in node.grad_fn.kwargs.values())

    def _is_dynamic(self, value: Any) -> bool:
        """Whether the program reads ``value`` afresh on each call (a Tensor, an argument's
        array, or a tuple holding one, as an index key may)."""
        if isinstance(value, (tuple, list)):
            return any(self._is_dynamic(v) for v in value)
        return isinstance(value, Tensor) or id(value) in self._names

    def _accumulate(self, operand: Tensor, gi: Any, call: str | None, op_name: str, i: int,
                    lines: list, fresh: bool) -> None:
        """Add one rule's gradient ``gi`` (the trace's value; the program computes it with
        ``call``, or it is a constant when ``call`` is None) to ``operand``'s gradient."""
        key = id(operand)
        values, constants = self._values, self._constant_grads
        into = self._grads.get(key)
        comment = f"  # {op_name}, operand {i}"
        if into is None:  # the first contribution
            self._grads[key] = (self._names[key].replace("v", "g", 1) if operand.grad_fn is not None
                                else f"grad_{self._names[key]}")
            values[key] = gi
            if call is None:
                constants.add(key)
                return
            name = self._grads[key]
            if fresh:
                self._private.add(key)
            lines.append(_Statement(f"    {name} = {call}{comment}", (name,), tuple(self._reads)))
            return
        total = values[key] + gi
        if call is None and key in constants:  # constant + constant: still a constant
            values[key] = total
            return
        name = into
        if call is None:
            call, self._reads = self._namespace_constant(gi), []
        if key in constants:  # the constant so far, then this call's part (the engine's order)
            constants.discard(key)
            code = f"    {name} = {self._namespace_constant(values[key])} + {call}{comment}"
            self._private.add(key)
        elif key in self._private and total.dtype == values[key].dtype and total.shape == values[key].shape:
            code = f"    {name} += {call}{comment}"  # np.add(name, call, out=name): the same sums
            self._reads.append(name)
        else:
            code = f"    {name} = {name} + {call}{comment}"
            self._reads.append(name)
            self._private.add(key)
        values[key] = total
        lines.append(_Statement(code, (name,), tuple(self._reads)))

    @staticmethod
    def _fit(call: str, gshape: tuple, shape: tuple) -> str:
        """``call`` extended to give a gradient of ``shape`` from one of ``gshape``, as
        `unbroadcast` would: a pure sum over broadcast axes is written out (``add_reduce``
        over fixed axes, then a reshape where axes of length 1 must come back); anything
        else (stretching) calls `unbroadcast` itself."""
        if gshape == shape:
            return call
        axes, lead = broadcast_axes(gshape, shape)
        if lead >= 0 and axes:
            kept = tuple(n for j, n in enumerate(gshape) if j not in axes)
            fitted = f"add_reduce({call}, {axes!r})"
            if kept == shape:
                return fitted
            if int(np.prod(kept)) == int(np.prod(shape)):
                return f"{fitted}.reshape({shape!r})"
        return f"unbroadcast({call}, {shape!r})"
