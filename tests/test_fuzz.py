"""A gradient fuzzer: hypothesis writes random programs from the table's operations and
checks their first and second derivatives against HIPS autograd (running the same
source) and central finite differences in float64.

A program is Python source over a backend ``B``: ``v0 = B.exp(x0)``, ``v1 = v0 @ c0``,
... ending in a weighted sum of the values nothing else used.  It runs with
``B = ag`` (Tensors), with ``B = np`` on Tensors (the NumPy protocol), with HIPS'
``autograd.numpy``, and traced and replayed by ``ag.compile_grad``.  Values are
generated together with the program, so each operation is added only where it is
smooth: logs and square roots of values >= 0.05, divisions by |y| >= 0.1, no element
within 1e-3 of a kink of relu/abs/clip, no near ties in max/min/maximum/minimum, every
intermediate finite and below 1e3.

CI runs a fixed set of examples (derandomized); for a big local run:

    FUZZ_EXAMPLES=5000 python -m pytest -q tests/test_fuzz.py

A failure prints the program as a runnable reproduction.
"""
from __future__ import annotations

import os
import random
import types

import autograd
import autograd.numpy as anp
import autograd.scipy.special as asp
from autograd.core import primitive_vjps
from autograd.extend import defvjp
from autograd.numpy.numpy_vjps import replace_zero, unbroadcast_f
import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, find, given, note, settings
from hypothesis.errors import NoSuchExample
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd_lite as ag
from oracles import numeric_gradient

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "0"))
FUZZ = settings(max_examples=EXAMPLES or 400, derandomize=not EXAMPLES, deadline=None,
                print_blob=True, suppress_health_check=list(HealthCheck))

MARGIN = 1e-3       # distance kept from kinks and ties
BOUND = 1e3         # largest |value| an intermediate may hold
MAX_SIZE = 128      # largest number of elements of an intermediate
MAX_INPUT_SIZE = 48  # total elements of all inputs (finite differences cost 2 runs each)

HIPS = types.SimpleNamespace(
    exp=anp.exp, log=anp.log, sqrt=anp.sqrt, tanh=anp.tanh, abs=anp.abs,
    sigmoid=lambda x: 0.5 * (anp.tanh(0.5 * x) + 1.0), relu=lambda x: anp.maximum(x, 0.0),
    sum=anp.sum, mean=anp.mean, max=anp.max, min=anp.min,
    logsumexp=lambda *a, **k: hips_logsumexp(*a, **k),
    softmax=lambda x, axis: anp.exp(x - asp.logsumexp(x, axis=axis, keepdims=True)),
    reshape=anp.reshape, transpose=anp.transpose, matmul=anp.matmul,
    concatenate=anp.concatenate, stack=anp.stack, where=lambda c, x, y: hips_where(c, x, y),
    maximum=anp.maximum, minimum=anp.minimum, sin=anp.sin, cos=anp.cos, log1p=anp.log1p,
    expm1=anp.expm1, clip=anp.clip, var=anp.var, swapaxes=anp.swapaxes, squeeze=anp.squeeze,
    expand_dims=anp.expand_dims,
    log_softmax=lambda x, axis: x - asp.logsumexp(x, axis=axis, keepdims=True),
    broadcast_to=lambda x, shape: x + np.zeros(shape),  # (HIPS' cannot add leading axes)
    softmax_cross_entropy=lambda z, p: hips_softmax_cross_entropy(z, p))


def hips_where(c, x, y):
    """HIPS autograd's where does not sum gradients back over broadcast axes (it returns
    a gradient of the output's shape), so its operands are broadcast explicitly first."""
    shape = np.broadcast_shapes(np.shape(c), anp.shape(x), anp.shape(y))
    zeros = np.zeros(shape)  # (anp.broadcast_to's gradient cannot add leading axes)
    return anp.where(np.broadcast_to(c, shape), x + zeros, y + zeros)


def hips_softmax_cross_entropy(z, target):
    if np.issubdtype(np.asarray(target).dtype, np.integer):
        target = np.arange(anp.shape(z)[-1]) == np.asarray(target)[..., None]
    return -anp.sum(target * (z - asp.logsumexp(z, axis=-1, keepdims=True)), axis=-1)


def hips_logsumexp(x, axis=None, keepdims=False):
    """HIPS' logsumexp of a 0-d array with keepdims=True has shape (1,) (NumPy's rule
    gives ()) and so has its gradient; the logsumexp of one number is that number."""
    return x + 0.0 if anp.ndim(x) == 0 else asp.logsumexp(x, axis=axis, keepdims=keepdims)


@pytest.fixture(autouse=True, scope="module")
def hips_power_corrected():
    """HIPS autograd's d/dx x**y replaces the exponent by 1 wherever y == 0 (autograd_lite did
    too until this fuzzer found it), so d/dy of that rule, the mixed second derivative, is x
    there instead of 1/x.  Here the oracle gets the corrected rule; restored afterwards."""
    original = primitive_vjps[anp.power]
    defvjp(anp.power,
           lambda ans, x, y: unbroadcast_f(
               x, lambda g: g * y * x ** anp.where((y != 0) | (x != 0), y - 1, 1.0)),
           lambda ans, x, y: unbroadcast_f(y, lambda g: g * anp.log(replace_zero(x, 1.0)) * ans))
    yield
    primitive_vjps[anp.power] = original


# NumPy's own functions applied to Tensors (through __array_ufunc__/__array_function__).
NUMPY_ON_TENSORS = types.SimpleNamespace(
    exp=np.exp, log=np.log, sqrt=np.sqrt, tanh=np.tanh, abs=np.abs, sigmoid=ag.sigmoid,
    relu=lambda x: np.maximum(x, 0.0), sum=np.sum, mean=np.mean, max=np.max, min=np.min,
    logsumexp=ag.logsumexp, softmax=ag.softmax, reshape=np.reshape, transpose=np.transpose,
    matmul=np.matmul, concatenate=np.concatenate, stack=np.stack, where=np.where,
    maximum=np.maximum, minimum=np.minimum, sin=np.sin, cos=np.cos, log1p=np.log1p,
    expm1=np.expm1, clip=np.clip, var=np.var, swapaxes=np.swapaxes, squeeze=np.squeeze,
    expand_dims=np.expand_dims, log_softmax=ag.log_softmax, broadcast_to=np.broadcast_to,
    softmax_cross_entropy=ag.softmax_cross_entropy)

FLOATS = st.floats(-2.0, 2.0, allow_nan=False, allow_subnormal=False)
POSITIVE = st.floats(0.1, 2.0)
NONZERO = st.one_of(st.floats(-2.0, -0.3), st.floats(0.3, 2.0))
EXPONENTS = st.floats(-1.5, 2.5)


def literal(value) -> str:
    """Source text that evaluates to ``value`` exactly (arrays via ``array``)."""
    if isinstance(value, np.ndarray):
        return f"array({value.tolist()!r})" if value.dtype != np.intp else repr(value)
    return repr(value)


class Program:
    """Grows a program one operation at a time, evaluating it (plain NumPy) as it goes."""

    def __init__(self, draw, rng: random.Random):
        self.draw = draw  # values and sizes come from Hypothesis (which likes 0, 1, edges)
        self.rng = rng    # structural choices are uniform (Hypothesis favours a list's first)
        self.env = {"B": HIPS, "array": np.array}  # every name's current value
        self.inputs: list[str] = []
        self.consts: list[str] = []
        self.lines: list[str] = []
        self.sinks: list[str] = []  # computed values nothing uses yet
        self.picked: list[str] = []

    # ---- names -------------------------------------------------------------------
    def _name(self, prefix: str, value, into: list) -> str:
        name = f"{prefix}{len(into)}"
        self.env[name] = value
        into.append(name)
        return name

    def input(self, shape, elements=FLOATS) -> str:
        return self._name("x", self.draw(arrays(shape, elements)), self.inputs)

    def const(self, value) -> str:
        return self._name("c", np.asarray(value), self.consts)

    def value(self, name: str) -> np.ndarray:
        return np.asarray(self.env[name]) if name in self.env else eval(name, {})

    def pick(self, where=lambda v: True) -> str | None:
        """An existing value (input or computed), the newest first, satisfying ``where``."""
        names = [n for n in self.inputs + self.sinks_and_values() if where(self.value(n))]
        if not names:
            return None
        name = self.draw(st.sampled_from(names[::-1]))
        self.picked.append(name)
        return name

    def sinks_and_values(self) -> list[str]:
        return [line.split(" = ")[0] for line in self.lines]

    def inside(self, shape) -> tuple:
        """A shape that broadcasts *to* ``shape`` (what an in-place operand may have)."""
        dims = [n if self.rng.random() < 0.6 else 1 for n in shape]
        return tuple(dims[self.rng.randint(0, len(dims)):])

    def operand(self, shape, elements=FLOATS, scalar_ok=True) -> str:
        """A second operand of exactly ``shape``: an existing value, a new input,
        a constant array or (for scalar shapes) a Python float."""
        kinds = ["input", "const", "existing"] + (["scalar"] if scalar_ok and shape == () else [])
        kind = self.rng.choice(kinds)
        if kind == "existing":
            name = self.pick(lambda v: v.shape == tuple(shape))
            if name is not None:
                return name
            kind = "input"
        if kind == "input" and self.input_size() + int(np.prod(shape)) <= MAX_INPUT_SIZE:
            return self.input(shape, elements)
        if kind == "scalar":
            return f"({self.draw(elements)!r})"
        return self.const(self.draw(arrays(shape, elements)))

    def input_size(self) -> int:
        return sum(self.env[n].size for n in self.inputs)

    # ---- growing -----------------------------------------------------------------
    def add(self, op) -> None:
        """Append ``op``'s expression when it is defined, smooth and bounded here."""
        self.picked = []
        consts, inputs = len(self.consts), len(self.inputs)
        expr = op(self)
        if expr is not None:
            name = f"v{len(self.lines)}"
            # An expression, or statements assigning "{out}" (for in-place operators).
            line = expr.format(out=name) if "{out}" in expr else f"{name} = {expr}"
            with np.errstate(all="ignore"):
                scratch = dict(self.env)
                exec(line, scratch)
                value = np.asarray(scratch[name])
            if 0 < value.size <= MAX_SIZE and np.all(np.abs(value) < BOUND):
                self.env[name] = value
                self.lines.append(line)
                self.sinks = [s for s in self.sinks if s not in self.picked] + [name]
                return
        for name in self.consts[consts:] + self.inputs[inputs:]:  # roll back
            del self.env[name]
        del self.consts[consts:], self.inputs[inputs:]

    def finish(self) -> "Built":
        outputs = self.sinks or self.inputs
        terms = [f"B.sum({n} * {self.const(self.draw(arrays(self.value(n).shape, FLOATS)))})"
                 for n in outputs]
        source = (f"def program({', '.join(self.inputs)}, B=ag):\n"
                  + "".join(f"    {line}\n" for line in self.lines)
                  + f"    return {' + '.join(terms)}\n")
        return Built(source, [self.env[n] for n in self.inputs],
                     {n: self.env[n] for n in self.consts})


class Built:
    def __init__(self, source: str, inputs: list, consts: dict):
        self.source, self.inputs, self.consts = source, inputs, consts
        namespace = {"ag": ag, "array": np.array, **consts}
        exec(compile(source, "<fuzzed program>", "exec"), namespace)
        self.run = namespace["program"]

    def __repr__(self) -> str:
        header = "import numpy as np\nimport autograd_lite as ag\nfrom numpy import array\n"
        data = "".join(f"{n} = np.array({v.tolist()!r})\n" for n, v in self.consts.items())
        args = "".join(f"x{i} = np.array({v.tolist()!r})\n" for i, v in enumerate(self.inputs))
        call = (f"print(ag.grad(program, argnum={tuple(range(len(self.inputs)))})"
                f"({', '.join(f'x{i}' for i in range(len(self.inputs)))}))\n")
        return header + data + args + self.source + call


# ---- shapes and values ---------------------------------------------------------------
def arrays(shape, elements=FLOATS):
    # No fill: Hypothesis would otherwise repeat one value, making ties everywhere.
    return hnp.arrays(np.float64, tuple(shape), elements=elements, fill=st.nothing())


def broadcastable(draw, shape: tuple) -> tuple:
    """A shape that broadcasts with ``shape`` (dims kept, set to 1, stretched, or added)."""
    keep = draw(st.integers(0, len(shape)))
    dims = []
    for n in shape[len(shape) - keep:]:
        dims.append(draw(st.sampled_from([n, 1] if n != 1 else [1, 2, 3])))
    lead = draw(st.integers(0, 1)) if keep == len(shape) < 4 else 0
    return tuple(draw(st.integers(1, 3)) for _ in range(lead)) + tuple(dims)


def axis_arg(p: "Program", ndim: int, single=False):
    """None, an int (maybe negative) or a tuple of distinct axes; only an int if ``single``."""
    if ndim == 0:
        return None
    kind = "int" if single else p.rng.choice(["int", "None", "tuple"])
    if kind == "int":
        return p.rng.randint(-ndim, ndim - 1)
    if kind == "None":
        return None
    return tuple(p.rng.sample(range(ndim), p.rng.randint(1, ndim)))


def gap_along(x: np.ndarray, axis) -> float:
    """The smallest distance between the top two (and bottom two) of each reduced slice."""
    axes = tuple(range(x.ndim)) if axis is None else (axis,) if isinstance(axis, int) else axis
    moved = np.moveaxis(x, axes, tuple(range(-len(axes), 0)))
    slices = np.sort(moved.reshape(moved.shape[:x.ndim - len(axes)] + (-1,)), axis=-1)
    if slices.shape[-1] < 2:
        return np.inf
    return float(min(np.min(slices[..., -1] - slices[..., -2]),
                     np.min(slices[..., 1] - slices[..., 0])))


# ---- the operations ------------------------------------------------------------------
def unary(function: str, domain=lambda v: True):
    def op(p: Program):
        x = p.pick(domain)
        return None if x is None else f"B.{function}({x})"
    op.__name__ = function
    return op


def away_from_zero(v):
    return np.all(np.abs(v) > MARGIN)


def binary(symbol: str, other=FLOATS, ok=lambda x, y: True):
    def op(p: Program):
        x = p.pick()
        y = p.operand(broadcastable(p.draw, p.value(x).shape), other)
        if not ok(p.value(x), p.value(y)):
            return None
        left, right = (x, y) if p.rng.random() < 0.5 else (y, x)
        if symbol in ("maximum", "minimum"):
            return f"B.{symbol}({left}, {right})"
        return f"{left} {symbol} {right}"
    op.__name__ = symbol
    return op


def divide(p: Program):
    x = p.pick()
    if p.rng.random() < 0.5:  # x / y
        y = p.operand(broadcastable(p.draw, p.value(x).shape), NONZERO)
        left, right = x, y
    else:  # y / x, x away from 0
        if not np.all(np.abs(p.value(x)) > 0.1):
            return None
        left, right = p.operand(broadcastable(p.draw, p.value(x).shape)), x
    return f"{left} / {right}" if np.all(np.abs(p.value(right)) > 0.1) else None


def power(p: Program):
    kind = p.rng.choice(["integer", "positive base", "constant base"])
    x = p.pick()
    v = p.value(x)
    if kind == "integer":
        return f"{x} ** {p.rng.choice([2, 3])}"
    if kind == "positive base":
        if not np.all(v > 0.1):
            return None
        y = p.operand(broadcastable(p.draw, v.shape), EXPONENTS)
        return f"{x} ** {y}" if np.all(np.abs(p.value(y)) < 3) else None
    base = p.operand(broadcastable(p.draw, v.shape), POSITIVE)
    return f"{base} ** {x}" if np.all(v < 3) and np.all(p.value(base) > 0.1) else None


def reduction(function: str, ties_are_kinks=False):
    def op(p: Program):
        x = p.pick()
        v = p.value(x)
        axis = axis_arg(p, v.ndim)
        if ties_are_kinks and gap_along(v, axis) <= MARGIN:
            return None
        return f"B.{function}({x}, axis={axis!r}, keepdims={p.rng.random() < 0.5!r})"
    op.__name__ = function
    return op


def along_one_axis(function: str):
    """``B.<function>(x, axis=...)`` over one random axis (softmax, log_softmax)."""
    def op(p: Program):
        x = p.pick(lambda v: v.ndim > 0)
        return None if x is None else f"B.{function}({x}, axis={axis_arg(p, p.value(x).ndim, True)})"
    op.__name__ = function
    return op


def reshape(p: Program):
    x = p.pick()
    size = p.value(x).size
    factors = [f for f in range(2, size + 1) for _ in range(_multiplicity(size, f))]
    factors = p.draw(st.permutations(factors))
    cuts = sorted(p.draw(st.lists(st.integers(0, len(factors)), max_size=3)))
    groups = [factors[a:b] for a, b in zip([0] + cuts, cuts + [len(factors)])]
    shape = [int(np.prod(g)) for g in groups]
    if p.rng.random() < 0.5:
        shape[p.rng.randrange(len(shape))] = -1
    return f"B.reshape({x}, {tuple(shape)!r})"


def _multiplicity(n: int, f: int) -> int:
    """How often the prime ``f`` divides ``n`` (0 for composite ``f``)."""
    if any(f % d == 0 for d in range(2, f)):
        return 0
    k = 0
    while n % f == 0:
        n //= f
        k += 1
    return k


def transpose(p: Program):
    x = p.pick(lambda v: v.ndim >= 2)
    if x is None:
        return None
    ndim = p.value(x).ndim
    axes = None if p.rng.random() < 0.3 else tuple(p.rng.sample(range(ndim), ndim))
    return f"B.transpose({x}, {axes!r})"


def index(p: Program):
    x = p.pick(lambda v: v.ndim > 0)
    if x is None:
        return None
    shape = p.value(x).shape
    kind = p.rng.choice(["basic", "basic", "fancy", "two arrays", "mask"])
    if kind == "mask":
        dims = p.draw(st.integers(1, len(shape)))
        mask = p.draw(arrays(shape[:dims], st.booleans()).map(lambda a: a.astype(bool)))
        return f"{x}[{literal(mask)}]"
    key = []
    for axis, n in enumerate(shape):
        if kind == "fancy" and axis == 0:
            key.append(np.array(p.draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=5)),
                                dtype=np.intp))
        elif kind == "two arrays" and axis < 2:  # (L, 1) and (M,): an (L, M) grid
            indices = p.draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=3))
            key.append(np.array(indices, dtype=np.intp).reshape((-1, 1) if axis == 0 else -1))
        else:
            if p.rng.random() < 0.5:
                key.append(p.draw(st.integers(-n, n - 1)))
            else:
                bound = st.none() | st.integers(-n, n)
                key.append(slice(p.draw(bound), p.draw(bound), p.rng.choice([None, 1, 2, -1])))
            if p.rng.random() < 0.2:
                key.append(None)
    key = key[:p.rng.randint(min(len(key), 1 + (kind == "two arrays")), len(key))]
    if p.rng.random() < 0.3 and kind == "basic":  # at an end, so axes stay put
        covered = sum(k is not None for k in key) == len(shape)
        key.insert(len(key) if not covered or p.rng.random() < 0.5 else 0, Ellipsis)
    return f"{x}[{', '.join(literal(k) if isinstance(k, np.ndarray) else repr(k) for k in key)},]"


def matmul(p: Program):
    x = p.pick(lambda v: v.ndim >= 1)
    if x is None:
        return None
    shape = p.value(x).shape
    m, batch = p.draw(st.integers(1, 3)), p.draw(st.integers(1, 3))
    if len(shape) >= 3:
        batch = p.rng.choice([1, shape[-3]])
    left = p.rng.random() < 0.5
    k = shape[-1] if left else shape[-2] if len(shape) >= 2 else shape[0]
    other = p.rng.choice([(k,), (k, m), (batch, k, m)] if left else [(k,), (m, k), (batch, m, k)])
    y = p.operand(other)
    a, b = (x, y) if left else (y, x)
    return f"{a} @ {b}" if p.rng.random() < 0.5 else f"B.matmul({a}, {b})"


def join(function: str):
    def op(p: Program):
        x = p.pick(lambda v: v.ndim >= 1 or function == "stack")
        if x is None:
            return None
        shape = p.value(x).shape
        ndim = len(shape) + (function == "stack")
        axis = p.draw(st.integers(-ndim, ndim - 1))
        parts = [x]
        for _ in range(p.draw(st.integers(1, 2))):
            other = list(shape)
            if function == "concatenate":
                other[axis] = p.draw(st.integers(1, 3))
            parts.insert(p.draw(st.integers(0, len(parts))), p.operand(tuple(other)))
        return f"B.{function}([{', '.join(parts)}], axis={axis})"
    op.__name__ = function
    return op


def where(p: Program):
    x = p.pick()
    shape = p.value(x).shape
    mask = p.const(p.draw(arrays(broadcastable(p.draw, shape), st.booleans())).astype(bool))
    y = p.operand(broadcastable(p.draw, np.broadcast_shapes(shape, p.value(mask).shape)))
    a, b = (x, y) if p.rng.random() < 0.5 else (y, x)
    return f"B.where({mask}, {a}, {b})"


def clip(p: Program):
    x = p.pick()
    lo, hi = p.draw(st.floats(-1.5, 0.0)), p.draw(st.floats(0.0, 1.5))
    v = p.value(x)
    if not (apart(v, lo) and apart(v, hi)):
        return None
    return f"B.clip({x}, {lo!r}, {hi!r})"


def var(p: Program):
    x = p.pick()
    v = p.value(x)
    axis = axis_arg(p, v.ndim)
    count = v.size if axis is None else int(np.prod(np.array(v.shape)[np.array(axis)]))
    ddof = p.rng.choice([0, 1]) if count > 1 else 0
    return f"B.var({x}, axis={axis!r}, keepdims={p.rng.random() < 0.5!r}, ddof={ddof})"


def squeeze_or_expand(p: Program):
    x = p.pick()
    shape = p.value(x).shape
    ones = [i for i, n in enumerate(shape) if n == 1]
    if ones and p.rng.random() < 0.5:
        return f"B.squeeze({x}, {p.rng.choice(ones) - len(shape) * p.rng.randint(0, 1)})"
    return f"B.expand_dims({x}, {p.rng.randint(-len(shape) - 1, len(shape))})"


def swapaxes(p: Program):
    x = p.pick(lambda v: v.ndim >= 2)
    if x is None:
        return None
    ndim = p.value(x).ndim
    return f"B.swapaxes({x}, {p.rng.randint(-ndim, ndim - 1)}, {p.rng.randint(-ndim, ndim - 1)})"


def broadcast_to(p: Program):
    x = p.pick()
    shape = p.value(x).shape
    target = tuple(n if n != 1 or p.rng.random() < 0.5 else p.rng.randint(2, 3) for n in shape)
    lead = p.rng.randint(0, max(0, 3 - len(shape)))
    target = tuple(p.rng.randint(1, 3) for _ in range(lead)) + target
    return f"B.broadcast_to({x}, {target!r})"


def cross_entropy(p: Program):
    z = p.pick(lambda v: v.ndim >= 1)
    if z is None:
        return None
    shape = p.value(z).shape
    if p.rng.random() < 0.5:
        labels = np.array(p.draw(st.lists(st.integers(0, shape[-1] - 1), min_size=int(np.prod(
            shape[:-1])), max_size=int(np.prod(shape[:-1]))))).reshape(shape[:-1])
        target = p.const(labels)
    else:  # probabilities (soft, not necessarily normalised): a constant or an input
        target = p.operand(shape, st.floats(0.0, 1.0), scalar_ok=False)
    return f"B.softmax_cross_entropy({z}, {target})"


def in_place(symbol: str):
    """A fresh copy updated in place: ``out = x * 1.0; out += y`` (HIPS rebinds instead)."""
    def op(p: Program):
        x = p.pick()
        y = p.operand(p.inside(p.value(x).shape), NONZERO if symbol == "/=" else FLOATS)
        if symbol == "/=" and not np.all(np.abs(p.value(y)) > 0.1):
            return None
        return f"{{out}} = {x} * 1.0; {{out}} {symbol} {y}"
    op.__name__ = symbol
    return op


def apart(x, y):
    return np.all(np.abs(x - y) > MARGIN)


OPERATIONS = [
    binary("+"), binary("-"), binary("*"), divide, power,
    unary("exp", lambda v: np.all(v < 5)), unary("log", lambda v: np.all(v > 0.05)),
    unary("sqrt", lambda v: np.all(v > 0.05)), unary("tanh"), unary("sigmoid"),
    unary("relu", away_from_zero), unary("abs", away_from_zero),
    reduction("sum"), reduction("mean"), reduction("max", ties_are_kinks=True),
    reduction("min", ties_are_kinks=True), reduction("logsumexp"), along_one_axis("softmax"),
    reshape, transpose, index, matmul, join("concatenate"), join("stack"), where,
    binary("maximum", ok=apart), binary("minimum", ok=apart),
    unary("sin"), unary("cos"), unary("log1p", lambda v: np.all(v > -0.9)),
    unary("expm1", lambda v: np.all(v < 5)), clip, var, along_one_axis("log_softmax"), squeeze_or_expand,
    swapaxes, broadcast_to, cross_entropy,
    in_place("+="), in_place("-="), in_place("*="), in_place("/="),
]


@st.composite
def programs(draw, max_steps: int = 8) -> Built:
    # Hypothesis favours the first of a list; a seeded Random makes structure uniform.
    p = Program(draw, random.Random(draw(st.integers(0, 2 ** 32 - 1))))
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=draw(st.integers(1, 3)),
                                                    max_dims=3, max_side=3))
    for shape in shapes.input_shapes:
        p.input(shape)
    steps = p.rng.randint(1, max_steps)
    for _ in range(3 * steps):  # an operation undefined or unsmooth here is skipped
        if len(p.lines) == steps:
            break
        p.add(p.rng.choice(OPERATIONS))
    return p.finish()


# ---- the checks ----------------------------------------------------------------------
def close(actual, expected, rtol, atol, what):
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    scale = 1.0 + np.max(np.abs(expected), initial=0.0)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol * scale, err_msg=what)


def hips_gradients(program, xs) -> tuple:
    """HIPS gradients for all inputs at once (a tuple argument, so every input is a box:
    ``out = x * 1.0; out -= y`` cannot write a box into a plain array)."""
    return autograd.grad(lambda args: program.run(*args, B=HIPS))(tuple(xs))


def hips_hvp(program, xs, vs) -> tuple:
    def directional(args):
        return sum(anp.sum(g * v) for g, v in zip(
            autograd.grad(lambda a: program.run(*a, B=HIPS))(args), vs))
    return autograd.grad(directional)(tuple(xs))


@given(programs())
@FUZZ
def test_random_programs_match_hips_autograd_and_finite_differences(program):
    note(repr(program))
    xs, n = program.inputs, len(program.inputs)
    argnums = tuple(range(n))
    hips = lambda *a: program.run(*a, B=HIPS)

    value, grads = ag.value_and_grad(program.run, argnums)(*xs)
    close(value, hips(*xs), 1e-10, 1e-12, "value vs HIPS")
    for i, g in enumerate(hips_gradients(program, xs)):
        assert grads[i].shape == xs[i].shape
        close(grads[i], g, 1e-7, 1e-9, f"gradient of x{i} vs HIPS")
    for i, x in enumerate(xs):
        numeric = numeric_gradient(lambda t: hips(*xs[:i], t, *xs[i + 1:]), x)
        close(grads[i], numeric, 1e-4, 1e-6, f"gradient of x{i} vs finite differences")

    # The same program through NumPy's functions on Tensors.
    np_value, np_grads = ag.value_and_grad(lambda *a: program.run(*a, B=NUMPY_ON_TENSORS),
                                           argnums)(*xs)
    close(np_value, value, 1e-12, 1e-12, "value via the NumPy protocol")
    for i in argnums:
        close(np_grads[i], grads[i], 1e-10, 1e-12, f"gradient of x{i} via the NumPy protocol")

    # The same program traced once by compile_grad and replayed at nearby values.
    rng = np.random.default_rng(len(program.source))
    step = ag.compile_grad(program.run, argnums)
    step(*xs)
    moved = [x + 1e-3 * rng.standard_normal(x.shape) for x in xs]
    replayed, expected = step(*moved), ag.value_and_grad(program.run, argnums)(*moved)
    assert step.traces == 1
    close(replayed[0], expected[0], 1e-12, 1e-14, "value replayed by compile_grad")
    for i in argnums:
        close(replayed[1][i], expected[1][i], 1e-10, 1e-12, f"compile_grad's gradient of x{i}")

    # Second order: Hessian-vector products along random directions.
    vs = [rng.standard_normal(x.shape) for x in xs]
    first = ag.grad(program.run, argnums)
    hvp = ag.grad(lambda *a: sum(ag.sum(g * v) for g, v in zip(first(*a), vs)), argnums)(*xs)
    eps = 1e-6
    plus = first(*[x + eps * v for x, v in zip(xs, vs)])
    minus = first(*[x - eps * v for x, v in zip(xs, vs)])
    for i, h in enumerate(hips_hvp(program, xs, vs)):
        close(hvp[i], h, 1e-7, 1e-9, f"Hessian-vector product for x{i} vs HIPS")
        close(hvp[i], (plus[i] - minus[i]) / (2 * eps), 1e-4, 1e-5,
              f"Hessian-vector product for x{i} vs finite differences of the gradient")

    # The full Hessian of a small first input (ag.hessian: jacobian of grad) against
    # HIPS Hessian-vector products along each coordinate.
    if xs[0].size <= 8:
        # (The other inputs as Tensors: `array -= tensor` is refused, rightly, when the
        # tensor requires grad, and also when it does not.)
        others = [ag.tensor(x) for x in xs[1:]]
        ours = ag.hessian(lambda t: program.run(t, *others))(xs[0]).reshape(xs[0].size, -1)
        for j, e in enumerate(np.eye(xs[0].size)):
            basis = [e.reshape(xs[0].shape)] + [np.zeros_like(x) for x in xs[1:]]
            close(ours[j], hips_hvp(program, xs, basis)[0].reshape(-1), 1e-7, 1e-9,
                  f"Hessian of x0, row {j}, vs HIPS")


def test_mixed_second_derivative_of_power_at_a_zero_exponent():
    """Found by the fuzzer: d/dy d/dx x**y = x**(y-1) (1 + y log x) is 1/x at y == 0."""
    mixed = ag.grad(lambda y: ag.grad(lambda x, y: x ** y, 0)(0.5, y))
    assert mixed(0.0) == pytest.approx(2.0)
    assert ag.grad(lambda x: x ** 0.0)(0.0) == 0.0  # and still no 0 * inf at x == y == 0
    hips = autograd.grad(lambda y: autograd.grad(lambda x, y: x ** y, 0)(0.5, y))
    assert hips(0.0) == pytest.approx(2.0)  # the oracle's rule is corrected here too


def test_indexing_the_fused_cross_entropy_then_backward():
    """Found by the fuzzer: getitem's rule hands the next rule a Tensor gradient even in a
    plain backward, and softmax_cross_entropy's in-place fast rule wrote it into an array."""
    z = ag.tensor(np.array([[0.5, -1.0, 2.0], [0.0, 1.0, 0.0]]), requires_grad=True)
    ag.softmax_cross_entropy(z, np.array([0, 1]))[1].backward()
    expected = np.exp(z.data[1]) / np.exp(z.data[1]).sum() - [0, 1, 0]
    np.testing.assert_allclose(z.grad, [[0, 0, 0], expected], atol=1e-15)


def generates(strategy, word: str) -> bool:
    """Whether Hypothesis can make ``strategy`` produce source containing ``word``."""
    try:
        find(strategy, lambda source: word in source,
             settings=settings(max_examples=3000, derandomize=True, database=None,
                               phases=[Phase.generate],  # the first one found will do
                               suppress_health_check=list(HealthCheck)))
    except NoSuchExample:
        return False
    return True


OPERATION_WORDS = [" + ", " - ", " * ", " / ", " ** ", "B.exp(", "B.log(", "B.sqrt(",
                   "B.tanh(", "B.sigmoid(", "B.relu(", "B.abs(", "B.sum(", "B.mean(",
                   "B.max(", "B.min(", "B.logsumexp(", "B.softmax(", "B.reshape(",
                   "B.transpose(", "[array(", " @ ", "B.matmul(", "B.concatenate(",
                   "B.stack(", "B.where(", "B.maximum(", "B.minimum(", "keepdims=True",
                   "axis=(", "axis=-", "(-", "B.sin(", "B.cos(", "B.log1p(", "B.expm1(",
                   "B.clip(", "B.var(", "ddof=1", "B.log_softmax(", "B.squeeze(",
                   "B.expand_dims(", "B.swapaxes(", "B.broadcast_to(",
                   "B.softmax_cross_entropy(", " += ", " -= ", " *= ", " /= "]
KEY_WORDS = ["[slice(", ", slice(", "None", "Ellipsis", "[array([[", "), array(", "array([True",
             ", -1)", ", 2)", "[-"]


BODIES = programs().map(lambda program: program.source.split("\n    return")[0])


@pytest.mark.parametrize("word", OPERATION_WORDS)
def test_the_generator_makes_every_operation(word):
    """The fuzzer is only as good as what it generates: each operation must appear."""
    assert generates(BODIES, word)


@st.composite
def index_expressions(draw):
    p = Program(draw, random.Random(draw(st.integers(0, 2 ** 32 - 1))))
    p.input(draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=3)))
    return index(p)


@pytest.mark.parametrize("word", KEY_WORDS)
def test_the_generator_makes_every_kind_of_index(word):
    assert generates(index_expressions(), word)
