"""Bad input: each raises a clear error of the right type, and nothing changes.

Every case builds fresh objects, names those that must come through untouched (their
data, gradient, version, or a module's state), makes the bad call, and checks the
exception's type, its message, and that the watched objects are exactly as before.
"""
from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pytest

import autograd_lite as ag
import nn


@dataclass
class Case:
    id: str
    error: type
    match: str                       # regex searched in the message
    make: Callable[[], tuple]        # -> (bad call, objects that must not change)
    after: Callable | None = field(default=None)  # a call that must still work afterwards


def leaf(shape=(2, 3)):
    return ag.tensor(np.arange(np.prod(shape), dtype=float).reshape(shape) / 7,
                     requires_grad=True)


def snapshot(obj):
    """A comparable copy of everything about ``obj`` a failed call could have changed."""
    if isinstance(obj, ag.Tensor):
        return ("tensor", obj.data.copy(), None if obj.grad is None else obj.grad.copy(),
                obj._version, obj.requires_grad, obj.grad_fn)
    if isinstance(obj, nn.Module):
        return ("module", [snapshot(p) for p in obj.parameters()])
    if isinstance(obj, np.ndarray):
        return ("array", obj.copy())
    if isinstance(obj, list):
        return ("list", [snapshot(o) for o in obj])
    return ("object", obj)


def same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype \
            and np.array_equal(a, b)
    if isinstance(a, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(map(same, a, b))
    return a is b or a == b


# ---- incompatible shapes in every binary operation -------------------------------------
BINARY = {
    "add": lambda a, b: a + b, "subtract": lambda a, b: a - b,
    "multiply": lambda a, b: a * b, "divide": lambda a, b: a / b,
    "power": lambda a, b: a ** b, "maximum": ag.maximum, "minimum": ag.minimum,
    "where": lambda a, b: ag.where(np.ones((2, 3), bool), a, b),
}


def shapes_case(name, op, b_shape=(4,), b_is_tensor=True, reverse=False):
    def make():
        a = leaf((2, 3))
        b = leaf(b_shape) if b_is_tensor else np.ones(b_shape)
        first, second = (b, a) if reverse else (a, b)
        return (lambda: op(first, second)), [a, b]
    shapes = [r"\(2, 3\)", re.escape(str(b_shape))]
    if reverse:
        shapes.reverse()
    return Case(f"{name}-{'tensor' if b_is_tensor else 'ndarray'}{'-reversed' if reverse else ''}",
                ValueError, rf"^{name}: .*operand shapes (.*, )?{shapes[0]}, {shapes[1]}", make)


SHAPE_CASES = (
    [shapes_case(name, op) for name, op in BINARY.items()]
    + [shapes_case("add", BINARY["add"], b_is_tensor=False, reverse=True),
       shapes_case("multiply", BINARY["multiply"], b_is_tensor=False),
       shapes_case("matmul", lambda a, b: a @ b, b_shape=(4, 2)),
       shapes_case("matmul", lambda a, b: a @ b, b_shape=(4, 3), b_is_tensor=False, reverse=True),
       shapes_case("matmul", ag.matmul, b_shape=(4,)),
       shapes_case("concatenate", lambda a, b: ag.concatenate([a, b]), b_shape=(2, 2, 2)),
       shapes_case("stack", lambda a, b: ag.stack([a, b]), b_shape=(3, 2))]
)


def inplace_case(recorded: bool):
    def make():
        a = ag.tensor(np.ones((2, 3)))
        source = leaf((2, 3)) if recorded else None
        target = source * 1.0 if recorded else a

        def call():
            nonlocal target
            target += np.ones(4)
        return call, [target] + ([source] if recorded else [])
    match = (r"^add: .*\(2, 3\), \(4,\)" if recorded
             else r"in-place `\+=` on a Tensor of shape \(2, 3\)")
    return Case(f"in-place += {'recorded' if recorded else 'plain'}", ValueError, match, make)


# ---- backward ------------------------------------------------------------------------------
def backward_case(id, match, grad, error):
    state = {}

    def make():
        x = leaf((2,))
        y = x * 3.0
        state["y"] = y
        return (lambda: y.backward() if grad is None else y.backward(grad)), [x, y]

    def after():  # the graph was not freed by the failed call
        state["y"].backward(np.ones(2))
    return Case(id, error, match, make, after)


# ---- NumPy functions that would drop the gradient ----------------------------------------
UNSUPPORTED = {
    "partition": lambda t: np.partition(t, 1), "linalg.eig": np.linalg.eig,
    "fft.fft": np.fft.fft, "linalg.lstsq": lambda t: np.linalg.lstsq(t, t),
    "add.reduce": np.add.reduce, "add with out=": lambda t: np.add(t, 1.0, out=np.zeros((2, 3))),
}


def unsupported_case(name, function):
    def make():
        t = leaf()
        return (lambda: function(t)), [t]
    return Case(f"numpy.{name}", TypeError, rf"numpy\.{re.escape(name)} is not supported", make)


# ---- nn: state dicts and files -----------------------------------------------------------------
def model():
    return nn.Sequential(nn.Linear(3, 4, rng=np.random.default_rng(0)), nn.Tanh(),
                         nn.Linear(4, 2, rng=np.random.default_rng(1)))


def state_case(id, edit, match):
    def make():
        m = model()
        state = m.state_dict()
        edit(state)
        return (lambda: m.load_state_dict(state)), [m]
    return Case(f"load_state_dict {id}", ValueError, match, make)


def valid_npz(tmp_path) -> bytes:
    path = tmp_path / "good.npz"
    model().save(path)
    return path.read_bytes()


UNPICKLED = []  # grows if a file's object is ever unpickled


def record_unpickling(message):
    UNPICKLED.append(message)


class Trap:
    def __reduce__(self):
        return (record_unpickling, ("unpickled!",))


def file_case(id, content, match=r"cannot load .*not a valid \.npz archive"):
    def make(tmp_path):
        m = model()
        path = tmp_path / "bad.npz"
        data = content(tmp_path)
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            np.savez(path, **data)
        return (lambda: m.load(path)), [m, UNPICKLED]
    return Case(f"load {id}", ValueError, match, make)


def corrupted(tmp_path):
    data = bytearray(valid_npz(tmp_path))
    for i in range(40, len(data) - 40, 7):  # inside the members, keeping the zip headers
        data[i] ^= 0xFF
    return bytes(data)


def payload_corrupted(tmp_path):
    """Zip structure intact, one array's bytes changed: only its CRC-32 can tell."""
    data = bytearray(valid_npz(tmp_path))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        member = archive.infolist()[0]
    start = member.header_offset + 30 + len(member.filename) + len(member.extra)
    for i in range(start + 130, start + member.compress_size):  # past the .npy header
        data[i] ^= 0x55
    return bytes(data)


def object_arrays(tmp_path):
    return {"0.weight": np.array([Trap()], dtype=object), "0.bias": np.zeros(4),
            "2.weight": np.zeros((4, 2)), "2.bias": np.zeros(2)}


def zip_with_pickle(tmp_path):
    """A zip whose member is a pickle, not an .npy: must not be unpickled either."""
    import pickle
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("0.weight.npy", pickle.dumps(Trap()))
    return buffer.getvalue()


# ---- losses and optimizers -----------------------------------------------------------------
def loss_case(id, loss, prediction_shape, target, match):
    def make():
        prediction = leaf(prediction_shape)
        return (lambda: loss(prediction, target)), [prediction]
    return Case(f"{type(loss).__name__} {id}", ValueError, match, make)


def optimizer_case(id, error, params, match):
    def make():
        m = model()
        return (lambda: nn.optim.SGD(params(m), lr=0.1)), [m]
    return Case(f"SGD {id}", error, match, make)


CASES = SHAPE_CASES + [
    inplace_case(False), inplace_case(True),
    backward_case("backward() on a non-scalar", r"exactly one element.*shape \(2,\)", None,
                  RuntimeError),
    backward_case("backward(grad) of the wrong shape",
                  r"grad of shape \(3,\) for a tensor of shape \(2,\)", np.ones(3), ValueError),
    backward_case("backward(grad) of a broadcastable shape",
                  r"grad of shape \(1,\) for a tensor of shape \(2,\)", np.ones(1), ValueError),
    Case("integer requires_grad", TypeError, r"only floating-point tensors can require grad, got "
         r"dtype int", lambda: ((lambda: ag.tensor([1, 2], requires_grad=True)), [])),
    Case("Parameter of strings", TypeError, r"Parameter needs real numbers",
         lambda: ((lambda: nn.Parameter(np.array(["a"]))), [])),
    *[unsupported_case(name, f) for name, f in UNSUPPORTED.items()],
    Case("gradcheck float32", TypeError, r"input 0 is float32.*float64",
         lambda: ((lambda: ag.gradcheck(ag.exp, np.ones(3, np.float32))), [])),
    *[Case(f"draw_graph({kind})", TypeError, r"expected an autograd_lite Tensor, got " + kind,
           (lambda v: lambda: ((lambda: ag.draw_graph(v)), []))(value))
      for kind, value in [("ndarray", np.ones(2)), ("float", 1.0), ("list", [1.0]),
                          ("Linear", nn.Linear(2, 2))]],
    state_case("wrong shape", lambda s: s.update({"0.weight": np.ones((4, 3))}),
               r"'0\.weight' has shape \(4, 3\), the parameter \(3, 4\); nothing was loaded"),
    state_case("missing key", lambda s: s.pop("2.bias"), r"missing keys '2\.bias'"),
    state_case("unexpected key", lambda s: s.update({"3.weight": np.ones(2)}),
               r"unexpected keys '3\.weight'"),
    state_case("non-numeric", lambda s: s.update({"0.bias": np.array(["a"] * 4)}),
               r"'0\.bias' has non-numeric dtype"),
    state_case("one good, one bad", lambda s: (s.update({"0.bias": np.zeros(4)}),
                                                s.update({"2.bias": np.zeros(3)})),
               r"'2\.bias' has shape \(3,\)"),
    loss_case("shape", nn.MSELoss(), (4, 2), np.ones((4, 1)),
              r"MSELoss: prediction shape \(4, 2\) and target shape \(4, 1\) differ"),
    loss_case("shape", nn.BCEWithLogitsLoss(), (4,), np.ones((4, 1)),
              r"BCEWithLogitsLoss: prediction shape \(4,\) and target shape \(4, 1\) differ"),
    loss_case("shape", nn.BCELoss(), (4,), np.ones(3), r"BCELoss: prediction shape \(4,\)"),
    loss_case("class index too large", nn.CrossEntropyLoss(), (4, 3), np.array([0, 1, 3, 2]),
              r"class index 3 out of range for 3 classes"),
    loss_case("negative class index", nn.CrossEntropyLoss(), (4, 3), np.array([0, -1, 1, 2]),
              r"class index -1 out of range for 3 classes"),
    loss_case("class targets shape", nn.CrossEntropyLoss(), (4, 3), np.array([0, 1, 2]),
              r"integer class targets of shape \(3,\) do not fit logits of shape \(4, 3\)"),
    loss_case("probability targets shape", nn.CrossEntropyLoss(), (4, 3), np.ones((4, 2)) / 2,
              r"probability targets of shape \(4, 2\) do not match logits of shape \(4, 3\)"),
    optimizer_case("no parameters", ValueError, lambda m: [], r"SGD got an empty parameter list"),
    optimizer_case("an ndarray", TypeError, lambda m: [np.ones(3)],
                   r"parameter 0 is a ndarray, not a Tensor"),
    optimizer_case("a Tensor without grad", ValueError,
                   lambda m: [*m.parameters(), ag.tensor(np.ones(3))],
                   r"parameter 4 \(shape \(3,\)\) must be a leaf Tensor that requires grad"),
    optimizer_case("a non-leaf Tensor", ValueError,
                   lambda m: [next(iter(m.parameters())) * 2.0], r"must be a leaf Tensor"),
    optimizer_case("one Tensor, not a list", TypeError, lambda m: next(iter(m.parameters())),
                   r"got a single Tensor: wrap it in a list"),
    optimizer_case("a parameter twice", ValueError,
                   lambda m: [*m.parameters(), next(iter(m.parameters()))],
                   r"parameter 4 appears twice"),
]
FILE_CASES = [
    file_case("truncated", lambda t: valid_npz(t)[: len(valid_npz(t)) // 2]),
    file_case("corrupted", corrupted),
    file_case("array bytes corrupted", payload_corrupted),
    file_case("not a zip", lambda t: b"weight,bias\n1,2\n"),
    file_case("empty file", lambda t: b""),
    file_case("a pickle, not a zip", lambda t: __import__("pickle").dumps(Trap())),
    file_case("pickled object arrays", object_arrays),
    # NumPy reads a member without the .npy magic as raw bytes: refused as non-numeric.
    file_case("a zip holding a pickle", zip_with_pickle, r"'0\.weight' has non-numeric dtype"),
]


def check(case: Case, make_args=()):
    call, watched = case.make(*make_args)
    before = [snapshot(o) for o in watched]
    with pytest.raises(case.error, match=case.match) as info:
        call()
    assert all(same(b, snapshot(o)) for b, o in zip(before, watched)), "a failed call changed state"
    if case.after is not None:
        case.after()
    return info.value


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_raises_a_clear_error_and_changes_nothing(case):
    check(case)


@pytest.mark.parametrize("case", FILE_CASES, ids=[c.id for c in FILE_CASES])
def test_bad_files_are_refused_without_unpickling_and_change_nothing(case, tmp_path):
    check(case, (tmp_path,))
    assert UNPICKLED == []


def test_a_good_file_still_loads(tmp_path):
    """The refusals above are specific: a valid file of another model loads."""
    source, target = model(), nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    source.save(tmp_path / "good.npz")
    target.load(tmp_path / "good.npz")
    assert all(same(a, b) for a, b in zip(source.state_dict().values(),
                                          target.state_dict().values()))


def test_the_trap_would_be_noticed():
    """The unpickling check can fail: unpickling a Trap does record it."""
    import pickle
    pickle.loads(pickle.dumps(Trap()))
    assert UNPICKLED == ["unpickled!"]
    UNPICKLED.clear()
