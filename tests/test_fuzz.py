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
from autograd.tracer import getval
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

# ---- the second round: NumPy's functions widened (issue 14) -------------------------------
# ag, NumPy on Tensors and HIPS share the rest of NumPy's names; HIPS gets its own version
# where it lacks a derivative, refuses a form or is wrong (repeat along the last axis,
# tile, the split family, norm(ord=inf), kron of operands of different dimensions, einsum
# with a repeated letter, 2-d sort, diagonal with an offset or other axes, pad): written here with operations HIPS gets
# right (indexing, concatenation, sums), so it still checks ours independently.
SECOND_ROUND = """tan arcsin arccos arctan arctan2 sinh cosh arcsinh arccosh arctanh log2 log10 exp2
logaddexp logaddexp2 reciprocal sign floor ceil round rint trunc remainder floor_divide cumsum
prod std nansum nanmean tensordot inner kron trace diag triu tril moveaxis ravel atleast_1d
atleast_2d atleast_3d vstack hstack dstack column_stack amax amin hypot diff""".split()


def _positions(shape):
    return np.arange(int(np.prod(shape))).reshape(shape)


def _gather(x, positions):
    """x's elements at flat ``positions`` (an integer array of any shape): a HIPS getitem."""
    return anp.reshape(x, (-1,))[positions]


def hips_fmod(x, y):
    return x - y * anp.trunc(x / y)


def hips_cumprod(x, axis=None):
    if axis is None:
        x, axis = anp.reshape(x, (-1,)), 0
    moved = anp.moveaxis(x, axis, 0)
    running, rows = 1.0, []
    for row in moved:
        running = running * row
        rows.append(running)
    return anp.moveaxis(anp.stack(rows), 0, axis)


def hips_kron(a, b):
    """HIPS' kron is wrong when the operands differ in dimensions (kron([0, 0, 1], b) with b
    (1, 2, 1) gets a gradient of 1 for an element with coefficient 0): blocks by hand."""
    ndim = max(anp.ndim(a), anp.ndim(b))
    a = anp.reshape(a, (1,) * (ndim - anp.ndim(a)) + anp.shape(a))
    b = anp.reshape(b, (1,) * (ndim - anp.ndim(b)) + anp.shape(b))
    spread = (anp.reshape(a, [d for n in anp.shape(a) for d in (n, 1)])
              * anp.reshape(b, [d for n in anp.shape(b) for d in (1, n)]))
    return anp.reshape(spread, [m * n for m, n in zip(anp.shape(a), anp.shape(b))])


def hips_average(a, axis=None, weights=None):
    return anp.sum(a * weights, axis=axis) / anp.sum(weights, axis=axis)


def hips_einsum(subscripts, *operands, optimize=False):
    """HIPS refuses a letter repeated within an operand: take that diagonal first."""
    inputs, output = subscripts.split("->")
    terms, arrays = inputs.split(","), list(operands)
    for k, term in enumerate(terms):
        while len(set(term)) < len(term):
            letter = next(c for c in term if term.count(c) > 1)
            i, j = term.index(letter), term.index(letter, term.index(letter) + 1)
            moved = anp.moveaxis(arrays[k], (i, j), (-2, -1))
            arrays[k] = anp.diagonal(moved, 0, -1, -2)  # (HIPS' only diagonal) on a new last axis
            term = "".join(c for n, c in enumerate(term) if n not in (i, j)) + letter
        terms[k] = term
    return anp.einsum(",".join(terms) + "->" + output, *arrays)


def hips_split(function):
    def split(x, sections, axis=0):
        bounds = np.cumsum([0] + [len(piece) for piece in function(np.arange(x.shape[axis]), sections)])
        index = [slice(None)] * x.ndim
        pieces = []
        for start, stop in zip(bounds[:-1], bounds[1:]):
            index[axis] = slice(int(start), int(stop))
            pieces.append(x[tuple(index)])
        return pieces
    return split


def hips_repeat(x, repeats, axis=None):
    if axis is None:
        x, axis = anp.reshape(x, (-1,)), 0
    index = [slice(None)] * x.ndim
    index[axis] = np.repeat(np.arange(x.shape[axis]), repeats)
    return x[tuple(index)]


def hips_tile(x, reps):
    reps = (reps,) if np.ndim(reps) == 0 else tuple(reps)
    ndim = max(x.ndim, len(reps))
    x = anp.reshape(x, (1,) * (ndim - x.ndim) + x.shape)
    for axis, r in enumerate((1,) * (ndim - len(reps)) + reps):
        x = anp.concatenate([x] * r, axis=axis)
    return x


def hips_take_along_axis(x, indices, axis):
    grid = list(np.indices(indices.shape, sparse=True))
    grid[axis] = indices
    return x[tuple(grid)]


def hips_flip(x, axis=None):
    axes = range(x.ndim) if axis is None else [a % x.ndim for a in np.atleast_1d(axis)]
    return x[tuple(slice(None, None, -1) if k in axes else slice(None) for k in range(x.ndim))]


def hips_roll(x, shift, axis):
    for s, a in zip(np.atleast_1d(shift), np.atleast_1d(axis)):
        x = anp.roll(x, int(s), int(a))
    return x


def hips_rot90(x, k=1, axes=(0, 1)):
    for _ in range(k % 4):  # one quarter turn: flip the second axis, swap the two
        x = anp.swapaxes(hips_flip(x, axes[1]), axes[0], axes[1])
    return x


def hips_diagonal(x, offset=0, axis1=0, axis2=1):
    moved = anp.moveaxis(x, (axis1, axis2), (-2, -1))
    rows, cols = moved.shape[-2:]
    start_row, start_col = max(-offset, 0), max(offset, 0)
    steps = np.arange(max(min(rows - start_row, cols - start_col), 0))
    return moved[..., steps + start_row, steps + start_col]


def hips_pad(x, pad_width, mode="constant", constant_values=0.0):
    """Padding as a gather from x's elements and the constant (an extra last element)."""
    positions = _positions(x.shape)
    if mode == "constant":
        positions = np.pad(positions, pad_width, constant_values=x.size)
        return anp.concatenate([anp.reshape(x, (-1,)), anp.array([constant_values])])[positions]
    return _gather(x, np.pad(positions, pad_width, mode))


def hips_sliding_window_view(x, window_shape, axis=None):
    return _gather(x, np.lib.stride_tricks.sliding_window_view(_positions(x.shape), window_shape, axis))


def hips_norm(x, ord=None, axis=None, keepdims=False):
    if ord in (None, "fro", 2):
        return anp.sqrt(anp.sum(x * x, axis=axis, keepdims=keepdims))
    if ord == np.inf:
        return anp.max(anp.abs(x), axis=axis, keepdims=keepdims)
    if ord == -np.inf:
        return anp.min(anp.abs(x), axis=axis, keepdims=keepdims)
    return anp.sum(anp.abs(x) ** ord, axis=axis, keepdims=keepdims) ** (1.0 / ord)


def hips_qr(a):
    """QR from the Cholesky factor of A^T A (A of full column rank), with the signs of
    NumPy's R (LAPACK's diagonal may be negative; each sign is locally constant)."""
    r = anp.swapaxes(anp.linalg.cholesky(anp.matmul(anp.swapaxes(a, -1, -2), a)), -1, -2)
    value = getval(a)
    signs = np.sign(np.diagonal(np.linalg.qr(value)[1], axis1=-2, axis2=-1))
    r = r * signs[..., :, None]
    q = anp.swapaxes(anp.linalg.solve(anp.swapaxes(r, -1, -2), anp.swapaxes(a, -1, -2)), -1, -2)
    return q, r


for _name in SECOND_ROUND:
    setattr(HIPS, _name, getattr(anp, _name))
    setattr(NUMPY_ON_TENSORS, _name, getattr(np, _name))
vars(HIPS).update(
    fmod=hips_fmod, cumprod=hips_cumprod, kron=lambda a, b: hips_kron(a, b),
    # (HIPS' stacking functions give object arrays for several boxes: by concatenation)
    vstack=lambda tup: anp.concatenate([anp.atleast_2d(a) for a in tup], axis=0),
    hstack=lambda tup: anp.concatenate([anp.atleast_1d(a) for a in tup],
                                       axis=0 if anp.ndim(tup[0]) <= 1 else 1),
    dstack=lambda tup: anp.concatenate([anp.atleast_3d(a) for a in tup], axis=2),
    column_stack=lambda tup: anp.concatenate(
        [anp.reshape(a, (-1, 1)) if anp.ndim(a) < 2 else a for a in tup], axis=1), nansum=anp.sum, nanmean=anp.mean,  # (no NaNs drawn)
    ptp=lambda x, axis=None, keepdims=False: anp.max(x, axis, keepdims=keepdims) - anp.min(x, axis, keepdims=keepdims),
    diag=lambda v, k=0: hips_diagonal(v, k) if anp.ndim(v) == 2 else anp.diag(v, k),
    trace=lambda x, offset=0, axis1=0, axis2=1: anp.sum(hips_diagonal(x, offset, axis1, axis2), -1),
    average=hips_average, einsum=hips_einsum, outer=lambda x, y: anp.outer(anp.ravel(x), anp.ravel(y)),
    split=hips_split(np.split), array_split=hips_split(np.array_split), repeat=hips_repeat,
    tile=hips_tile, sort=lambda x, axis=-1: hips_take_along_axis(
        x, np.argsort(getval(x), axis=axis, kind="stable"), axis),
    cbrt=lambda x: anp.sign(x) * anp.abs(x) ** (1 / 3),  # (HIPS has no cbrt derivative)
    take_along_axis=hips_take_along_axis, flip=hips_flip, roll=hips_roll, rot90=hips_rot90,
    diagonal=hips_diagonal, pad=hips_pad, sliding_window_view=hips_sliding_window_view,
    linalg=types.SimpleNamespace(norm=hips_norm, det=anp.linalg.det, slogdet=anp.linalg.slogdet,
                                 inv=anp.linalg.inv, pinv=anp.linalg.pinv, solve=anp.linalg.solve,
                                 cholesky=anp.linalg.cholesky, qr=hips_qr, eigh=anp.linalg.eigh,
                                 svd=anp.linalg.svd))
for _name in ("fmod", "cumprod", "ptp", "average", "einsum", "outer", "split", "array_split",
              "repeat", "tile", "sort", "take_along_axis", "flip", "roll", "rot90", "diagonal",
              "pad", "linalg", "cbrt"):
    setattr(NUMPY_ON_TENSORS, _name, getattr(np, _name))
NUMPY_ON_TENSORS.sliding_window_view = np.lib.stride_tricks.sliding_window_view

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
        if symbol.isidentifier():  # a function (maximum, arctan2, ...), else an operator
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


# ---- the second round's operations (issue 14) -------------------------------------------------
def off_integers(v):
    """No element within MARGIN of an integer (where floor, ceil, ... jump)."""
    return np.all(np.abs(v - np.round(v)) > MARGIN)


def between(low, high):
    return lambda v: np.all((v > low) & (v < high))


def step(function: str):
    """floor, ceil, ...: constant pieces, so multiplied by the value to keep a gradient.
    Of 2x: jumps at multiples of 1/2 (floor, ceil, trunc), at odd multiples of 1/4 (round,
    rint), at 0 (sign); all are multiples of 1/4."""
    def op(p: Program):
        x = p.pick(lambda v: off_integers(4 * v))
        return None if x is None else f"{x} * B.{function}({x} * 2.0)"
    op.__name__ = function
    return op


def quotient(function: str):
    """x % y, remainder, fmod, floor_divide: |y| >= 0.3 and x / y off integers (the jumps)."""
    def op(p: Program):
        x = picked = p.pick()
        y = p.operand(broadcastable(p.draw, p.value(x).shape), NONZERO)
        if p.rng.random() < 0.5:
            x, y = y, x
        if not np.all(np.abs(p.value(y)) > 0.3) or not off_integers(p.value(x) / p.value(y)):
            return None
        if function == "%":
            return f"{x} % {y}"
        if function == "floor_divide":  # (times the value picked: x may be a constant)
            return f"{picked} * B.floor_divide({x}, {y})"
        return f"B.{function}({x}, {y})"
    op.__name__ = function
    return op


def shifted(function: str, argument: str):
    """``function`` of an expression of a value that is always inside its domain."""
    def op(p: Program):
        x = p.pick()
        return f"B.{function}({argument.format(x=x)})"
    op.__name__ = function
    return op


def arctan2(p: Program):
    """arctan2(y, x) away from the origin and from its jump (by 2 pi across y = 0, x < 0)."""
    y = p.pick()
    x = p.operand(broadcastable(p.draw, p.value(y).shape))
    if p.rng.random() < 0.5:
        x, y = y, x
    vy, vx = p.value(y), p.value(x)
    if not np.all(((np.abs(vy) > 0.1) | (vx > 0.1)) & (vx * vx + vy * vy > 0.01)):
        return None
    return f"B.arctan2({y}, {x})"


def scan(function: str):
    def op(p: Program):
        x = p.pick(lambda v: v.size <= 16)
        if x is None:
            return None
        axis = None if p.rng.random() < 0.3 or p.value(x).ndim == 0 else axis_arg(p, p.value(x).ndim, True)
        return f"B.{function}({x}, axis={axis!r})"
    op.__name__ = function
    return op


def diff(p: Program):
    x = p.pick(lambda v: v.ndim >= 1 and max(v.shape) >= 2)
    if x is None:
        return None
    shape = p.value(x).shape
    axis = p.rng.choice([k for k, n in enumerate(shape) if n >= 2])
    n = p.rng.randint(1, min(2, shape[axis] - 1))
    return f"B.diff({x}, n={n}, axis={axis - len(shape) if p.rng.random() < 0.5 else axis})"


def prod(p: Program):
    """(Not where an element is near 0: HIPS' rule divides by it.)"""
    x = p.pick(away_from_zero)
    if x is None:
        return None
    return f"B.prod({x}, axis={axis_arg(p, p.value(x).ndim)!r}, keepdims={p.rng.random() < 0.5!r})"


def std(p: Program):
    x = p.pick()
    v = p.value(x)
    axis = axis_arg(p, v.ndim)
    if np.size(np.var(v, axis=axis)) == 0 or not np.all(np.var(v, axis=axis) > 1e-2):
        return None
    return f"B.std({x}, axis={axis!r}, keepdims={p.rng.random() < 0.5!r})"


def average(p: Program):
    x = p.pick(lambda v: v.ndim >= 1)
    if x is None:
        return None
    axis = axis_arg(p, p.value(x).ndim, single=p.rng.random() < 0.5)
    weights = p.operand(p.value(x).shape, POSITIVE, scalar_ok=False)
    if not np.all(p.value(weights) > 0.1):  # (an existing value may be anything)
        return None
    return f"B.average({x}, axis={axis!r}, weights={weights})"


def einsum(p: Program):
    """A random contraction: x's axes get letters (a repeated letter where two axes have
    the same length: a diagonal), maybe a second operand sharing some of them, and an
    output of distinct letters in any order (the rest are summed)."""
    x = p.pick(lambda v: v.ndim >= 1)
    if x is None:
        return None
    shape = p.value(x).shape
    sizes, term = {}, ""
    for n in shape:
        same = [c for c, m in sizes.items() if m == n]
        if same and p.rng.random() < 0.25:
            term += p.rng.choice(same)
            continue
        letter = "abcdefgh"[len(sizes)]
        sizes[letter] = n
        term += letter
    terms, operands = [term], [x]
    if p.rng.random() < 0.6:
        letters = p.rng.sample(sorted(sizes), p.rng.randint(0, len(sizes)))
        for _ in range(p.rng.randint(0 if letters else 1, 2)):
            letter = "abcdefgh"[len(sizes)]
            sizes[letter] = p.rng.randint(1, 3)
            letters.append(letter)
        p.rng.shuffle(letters)
        terms.append("".join(letters))
        operands.append(p.operand(tuple(sizes[c] for c in letters)))
    used = sorted(set("".join(terms)))
    output = "".join(p.rng.sample(used, p.rng.randint(0, len(used))))
    optimize = p.rng.choice([False, True])
    return f"B.einsum({','.join(terms) + '->' + output!r}, {', '.join(operands)}, optimize={optimize})"


def tensordot(p: Program):
    x = p.pick(lambda v: v.ndim >= 1)
    if x is None:
        return None
    shape = p.value(x).shape
    axes = p.rng.sample(range(len(shape)), p.rng.randint(0, len(shape)))
    free = tuple(p.rng.randint(1, 3) for _ in range(p.rng.randint(0, 2)))
    y_shape = [shape[a] for a in axes] + list(free)
    order = list(range(len(y_shape)))
    p.rng.shuffle(order)
    y_axes = [order.index(k) for k in range(len(axes))]
    y = p.operand(tuple(y_shape[order[k]] for k in range(len(order))))
    return f"B.tensordot({x}, {y}, axes=({axes!r}, {y_axes!r}))"


def small_product(function: str):
    """inner (matching last axes), outer and kron of a value and a small second operand."""
    def op(p: Program):
        x = p.pick(lambda v: v.size <= 12)
        if x is None:
            return None
        shape = p.value(x).shape
        if function == "inner":
            other = tuple(p.rng.randint(1, 2) for _ in range(p.rng.randint(0, 1))) + shape[-1:]
        else:
            other = tuple(p.rng.randint(1, 3) for _ in range(p.rng.randint(0, 2)))
        y = p.operand(other)
        left, right = (x, y) if p.rng.random() < 0.5 else (y, x)
        return f"B.{function}({left}, {right})"
    op.__name__ = function
    return op


def diagonals(p: Program, kind: str):
    x = p.pick(lambda v: v.ndim >= 1)
    if x is None:
        return None
    ndim = p.value(x).ndim
    k = p.rng.randint(-1, 1)
    if kind != "diag" and ndim < 2:
        return None
    if kind == "diag":
        return f"B.diag({x}, {k})" if ndim <= 2 else None
    if kind in ("triu", "tril"):
        return f"B.{kind}({x}, {k})"
    axis1, axis2 = p.rng.sample(range(-ndim, 0), 2)
    return f"B.{kind}({x}, {k}, {axis1}, {axis2})"


def take_or_sort(p: Program, kind: str):
    x = p.pick(lambda v: v.ndim >= 1)
    if x is None:
        return None
    v = p.value(x)
    axis = p.rng.randint(-v.ndim, v.ndim - 1)
    if kind == "sort":  # ties anywhere are kinks: every neighbour in order kept apart
        gaps = np.diff(np.sort(v, axis=axis), axis=axis)
        return f"B.sort({x}, axis={axis})" if gaps.size == 0 or np.min(gaps) > MARGIN else None
    if kind == "take_along_axis":
        shape = list(v.shape)
        shape[axis] = p.rng.randint(1, 3)
        indices = np.array([p.rng.randrange(v.shape[axis]) for _ in range(int(np.prod(shape)))],
                           dtype=np.intp).reshape(shape)
        return f"B.take_along_axis({x}, {p.const(indices)}, {axis})"
    if kind == "repeat":
        return f"B.repeat({x}, {p.rng.randint(1, 3)}, axis={p.rng.choice([axis, None])})"
    counts = [p.rng.randint(0, 2) for _ in range(v.shape[axis])]
    return f"B.repeat({x}, {counts!r}, axis={axis})"


def reorder(p: Program, kind: str):
    x = p.pick(lambda v: v.ndim >= 1)
    if x is None:
        return None
    ndim = p.value(x).ndim
    axis = p.rng.randint(-ndim, ndim - 1)
    if kind == "flip":
        return f"B.flip({x}, {p.rng.choice([None, axis])!r})"
    if kind == "roll":
        return f"B.roll({x}, {p.rng.randint(-3, 3)}, {axis})"
    if kind == "rot90":
        return f"B.rot90({x}, {p.rng.randint(-1, 3)}, {tuple(p.rng.sample(range(ndim), 2))!r})" if ndim >= 2 else None
    if kind == "moveaxis":
        return f"B.moveaxis({x}, {axis}, {p.rng.randint(-ndim, ndim - 1)})"
    if kind == "ravel":
        return f"B.ravel({x})"
    reps = tuple(p.rng.randint(1, 2) for _ in range(p.rng.randint(1, 3)))
    return f"B.tile({x}, {reps!r})" if p.value(x).size * int(np.prod(reps)) <= MAX_SIZE else None


def splitting(p: Program):
    x = p.pick(lambda v: v.ndim >= 1)
    if x is None:
        return None
    shape = p.value(x).shape
    function = p.rng.choice(["split", "array_split"])
    axis = p.rng.randint(-len(shape), len(shape) - 1)
    n = shape[axis]
    if function == "split":
        sections = p.rng.choice([d for d in range(1, n + 1) if n % d == 0])
    else:
        sections = p.rng.choice([p.rng.randint(1, 3), sorted(p.rng.sample(range(n + 1), min(2, n + 1)))])
    pieces = np.array_split(np.arange(n), sections) if function == "array_split" else np.split(np.arange(n), sections)
    k = p.rng.randrange(len(pieces))
    return f"B.{function}({x}, {sections!r}, axis={axis})[{k}]"


def at_least_and_stacks(p: Program, kind: str):
    x = p.pick()
    shape = p.value(x).shape
    if kind.startswith("atleast"):
        return f"B.{kind}({x})"
    if kind == "column_stack" and len(shape) > 2:
        return None
    y = p.operand(shape)
    return f"B.{kind}([{x}, {y}])"


def pad(p: Program):
    x = p.pick(lambda v: v.ndim >= 1 and v.size <= 24)
    if x is None:
        return None
    shape = p.value(x).shape
    mode = p.rng.choice(["constant", "constant", "edge", "reflect", "symmetric", "wrap"])
    widths = tuple((p.rng.randint(0, 2), p.rng.randint(0, 2)) for _ in shape)
    if mode == "constant":
        value = p.rng.choice([0.0, 0.5])
        return f"B.pad({x}, {widths!r}, constant_values={value!r})"
    return f"B.pad({x}, {widths!r}, mode={mode!r})"


def windows(p: Program):
    x = p.pick(lambda v: v.ndim >= 1)
    if x is None:
        return None
    shape = p.value(x).shape
    axis = p.rng.randrange(len(shape))
    window = p.rng.randint(1, shape[axis])
    return f"B.sliding_window_view({x}, {window}, axis={axis})"


def norm(p: Program):
    x = p.pick(lambda v: v.ndim >= 1)
    if x is None:
        return None
    v = p.value(x)
    axis = p.rng.randrange(v.ndim)
    ord = p.rng.choice([None, 2, 1, 3, np.inf, -np.inf])
    if not away_from_zero(v):  # |x| has a kink at 0 (and the norm at a zero vector)
        return None
    if ord in (np.inf, -np.inf) and gap_along(np.abs(v), axis) <= MARGIN:
        return None
    if not np.all(np.linalg.norm(v, axis=axis) > 0.1):
        return None
    text = {np.inf: "float('inf')", -np.inf: "-float('inf')"}.get(ord, repr(ord))
    return f"B.linalg.norm({x}, {text}, axis={axis}, keepdims={p.rng.random() < 0.5!r})"


def conditioned(v, limit=30.0) -> bool:
    """Matrices far from singular, relative to their size (cond) and absolutely."""
    s = np.linalg.svd(v, compute_uv=False)
    return bool(np.all(s[..., -1] > 0.1) and np.all(s[..., 0] < limit * s[..., -1]))


def matrices(p: Program, square: bool, limit: float) -> str | None:
    """A value that is (a stack of) well-conditioned matrices: an existing one, else a new
    input (matrices rarely arise by chance; an input, so the program depends on it)."""
    def fits(v):
        return v.ndim >= 2 and (v.shape[-1] == v.shape[-2] or not square) and conditioned(v, limit)
    x = p.pick(fits)
    if x is None:
        shape = (p.rng.randint(1, 3),) * 2 if square else (p.rng.randint(1, 3), p.rng.randint(1, 3))
        if p.input_size() + int(np.prod(shape)) > MAX_INPUT_SIZE:
            return None
        x = p.input(shape)
        if not fits(p.value(x)):
            return None  # (add rolls the new input back)
    return x


def qr_is_continuous_at(v) -> bool:
    """LAPACK's Householder QR chooses each reflection's sign by the sign of a diagonal
    entry (and skips a column already zero below it), so Q and R jump where one is 0
    (qr(I) keeps Q = I; nearby, Q's first column is near -e1): keep away from such values."""
    rng = np.random.default_rng(0)
    q = np.linalg.qr(v)[0]
    return all(np.max(np.abs(np.linalg.qr(v + 1e-4 * rng.standard_normal(v.shape))[0] - q)) < 1e-2
               for _ in range(6))


def square_matrices(p: Program, kind: str):
    """det, slogdet, inv and solve of a value seen as (a stack of) well-conditioned matrices."""
    x = matrices(p, square=True, limit=30.0)
    if x is None:
        return None
    if kind == "slogdet":
        return f"B.linalg.slogdet({x})[1]"
    if kind == "solve":
        b = p.operand(p.value(x).shape[:-1] + (p.rng.randint(1, 2),))
        return f"B.linalg.solve({x}, {b})"
    return f"B.linalg.{kind}({x})"


def decompositions(p: Program, kind: str):
    """pinv, qr, cholesky, eigh, svd where the factors are smooth: full rank, distinct
    eigenvalues and singular values; only functions independent of the factors' signs."""
    x = matrices(p, square=False, limit=20.0)
    if x is None:
        return None
    v = p.value(x)
    if kind == "pinv":
        return f"B.linalg.pinv({x})"
    if kind == "qr":
        if v.shape[-2] < v.shape[-1] or not qr_is_continuous_at(v):
            return None
        return f"B.linalg.qr({x})[{p.rng.randint(0, 1)}]"
    if v.shape[-1] != v.shape[-2]:
        if kind != "svd":
            return None
    if kind == "cholesky":
        return f"B.linalg.cholesky(B.matmul({x}, B.swapaxes({x}, -1, -2)))"
    if kind == "eigh":
        symmetric = v + np.swapaxes(v, -1, -2)
        w = np.linalg.eigvalsh(symmetric)
        if w.shape[-1] > 1 and np.min(np.diff(w, axis=-1)) < 0.1:
            return None
        part = p.rng.choice(["[0]", "[1] ** 2"])
        return f"B.linalg.eigh({x} + B.swapaxes({x}, -1, -2)){part}"
    s = np.linalg.svd(v, compute_uv=False)
    if s.shape[-1] > 1 and np.min(-np.diff(s, axis=-1)) < 0.1:
        return None
    part = p.rng.choice(["[0] ** 2", "[1]", "[2] ** 2"])
    return f"B.linalg.svd({x}, full_matrices=False){part}"


def kinds(group, *names: str) -> list:
    """One operation per kind of a group (each as likely as any other operation)."""
    def one(name):
        op = lambda p: group(p, name)  # noqa: E731
        op.__name__ = name
        return op
    return [one(name) for name in names]


SECOND_ROUND_OPERATIONS = [
    unary("tan", between(-1.2, 1.2)), unary("arcsin", between(-0.9, 0.9)),
    unary("arccos", between(-0.9, 0.9)), unary("arctan"), unary("sinh"), unary("cosh"),
    unary("arcsinh"), shifted("arccosh", "{x} * {x} + 1.25"), unary("arctanh", between(-0.9, 0.9)),
    unary("log2", between(0.05, BOUND)), unary("log10", between(0.05, BOUND)),
    unary("exp2", between(-BOUND, 5)), unary("reciprocal", lambda v: np.all(np.abs(v) > 0.1)),
    arctan2, binary("hypot", ok=lambda x, y: np.all(np.hypot(x, y) > 0.1)),
    unary("cbrt", lambda v: np.all(np.abs(v) > 0.05)), diff,
    binary("logaddexp"),
    binary("logaddexp2"), step("sign"), step("floor"), step("ceil"), step("round"), step("rint"),
    step("trunc"), quotient("%"), quotient("remainder"), quotient("fmod"), quotient("floor_divide"),
    prod, scan("cumsum"), scan("cumprod"), std, reduction("ptp", ties_are_kinks=True),
    reduction("nansum"), reduction("nanmean"), average, reduction("amax", ties_are_kinks=True),
    reduction("amin", ties_are_kinks=True),
    einsum, einsum, tensordot, small_product("inner"), small_product("outer"), small_product("kron"),
    splitting, pad, windows, norm,
    *kinds(diagonals, "diag", "diagonal", "trace", "triu", "tril"),
    *kinds(take_or_sort, "take_along_axis", "sort", "repeat", "repeat counts"),
    *kinds(reorder, "flip", "roll", "rot90", "moveaxis", "ravel", "tile"),
    *kinds(at_least_and_stacks, "atleast_1d", "atleast_2d", "atleast_3d", "vstack", "hstack",
           "dstack", "column_stack"),
    *kinds(square_matrices, "det", "slogdet", "inv", "solve"),
    *kinds(decompositions, "pinv", "qr", "cholesky", "eigh", "svd"),
]


OPERATIONS = [
    binary("+"), binary("-"), binary("*"), divide, power,
    unary("exp", lambda v: np.all(v < 5)), unary("log", lambda v: np.all(v > 0.05)),
    # (|x| < 100 for tanh and sigmoid: HIPS' second derivative of tanh, -2 sinh / cosh^3,
    # is inf / inf = NaN once cosh^3 overflows, near |x| = 237; ours is the exact 0.)
    unary("sqrt", lambda v: np.all(v > 0.05)), unary("tanh", between(-100, 100)),
    unary("sigmoid", between(-100, 100)),
    unary("relu", away_from_zero), unary("abs", away_from_zero),
    reduction("sum"), reduction("mean"), reduction("max", ties_are_kinks=True),
    reduction("min", ties_are_kinks=True), reduction("logsumexp"), along_one_axis("softmax"),
    reshape, transpose, index, matmul, join("concatenate"), join("stack"), where,
    binary("maximum", ok=apart), binary("minimum", ok=apart),
    unary("sin"), unary("cos"), unary("log1p", lambda v: np.all(v > -0.9)),
    unary("expm1", lambda v: np.all(v < 5)), clip, var, along_one_axis("log_softmax"), squeeze_or_expand,
    swapaxes, broadcast_to, cross_entropy,
    in_place("+="), in_place("-="), in_place("*="), in_place("/="),
] + SECOND_ROUND_OPERATIONS


@st.composite
def programs(draw, max_steps: int = 8, operations: list = OPERATIONS) -> Built:
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
        p.add(p.rng.choice(operations))
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
# The second round's operations (a part of OPERATIONS), looked for in short programs of
# those operations alone: in full programs each is rare enough to make the search slow.
SECOND_ROUND_WORDS = [
                   "B.hypot(", "B.cbrt(", "B.diff(", "B.tan(", "B.arcsin(", "B.arccos(", "B.arctan(", "B.arctan2(", "B.sinh(",
                   "B.cosh(", "B.arcsinh(", "B.arccosh(", "B.arctanh(", "B.log2(", "B.log10(",
                   "B.exp2(", "B.logaddexp(", "B.logaddexp2(", "B.reciprocal(", "B.sign(",
                   "B.floor(", "B.ceil(", "B.round(", "B.rint(", "B.trunc(", " % ",
                   "B.remainder(", "B.fmod(", "B.floor_divide(", "B.prod(", "B.cumsum(",
                   "B.cumprod(", "B.std(", "B.ptp(", "B.nansum(", "B.nanmean(", "B.average(",
                   "B.amax(", "B.amin(", "B.einsum(", "optimize=True", "B.tensordot(",
                   "B.inner(", "B.outer(", "B.kron(", "B.diag(", "B.diagonal(", "B.trace(",
                   "B.triu(", "B.tril(", "B.take_along_axis(", "B.sort(", "B.repeat(",
                   "B.flip(", "B.roll(", "B.rot90(", "B.moveaxis(", "B.ravel(", "B.tile(",
                   "B.split(", "B.array_split(", "B.atleast_1d(", "B.atleast_2d(",
                   "B.atleast_3d(", "B.vstack(", "B.hstack(", "B.dstack(", "B.column_stack(",
                   "B.pad(", "mode='reflect'", "mode='wrap'", "B.sliding_window_view(",
                   "B.linalg.norm(", "B.linalg.det(", "B.linalg.slogdet(", "B.linalg.inv(",
                   "B.linalg.solve(", "B.linalg.pinv(", "B.linalg.qr(", "B.linalg.cholesky(",
                   "B.linalg.eigh(", "B.linalg.svd("]
KEY_WORDS = ["[slice(", ", slice(", "None", "Ellipsis", "[array([[", "), array(", "array([True",
             ", -1)", ", 2)", "[-"]


BODIES = programs().map(lambda program: program.source.split("\n    return")[0])


@pytest.mark.parametrize("word", OPERATION_WORDS)
def test_the_generator_makes_every_operation(word):
    """The fuzzer is only as good as what it generates: each operation must appear."""
    assert generates(BODIES, word)


def test_the_generator_makes_every_operation_of_the_second_round():
    """Each second-round operation, drawn alone in short programs, shows every form it has
    (looked for one word at a time in programs of all of them, the search took minutes)."""
    assert set(SECOND_ROUND_OPERATIONS) <= set(OPERATIONS)  # (and the fuzzer draws them all)
    seen = set()

    def look(operation, examples: int) -> None:
        @given(programs(max_steps=2, operations=[operation]).map(lambda program: program.source))
        @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
                  phases=[Phase.generate], suppress_health_check=list(HealthCheck))
        def collect(source):
            seen.update(word for word in SECOND_ROUND_WORDS if word in source)
        collect()

    for operation in SECOND_ROUND_OPERATIONS:
        look(operation, 40)  # (20 missed one of pad's five modes once)
    assert set(SECOND_ROUND_WORDS) - seen == set()


@st.composite
def index_expressions(draw):
    p = Program(draw, random.Random(draw(st.integers(0, 2 ** 32 - 1))))
    p.input(draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=3)))
    return index(p)


@pytest.mark.parametrize("word", KEY_WORDS)
def test_the_generator_makes_every_kind_of_index(word):
    assert generates(index_expressions(), word)
