"""ag.detect_anomaly(): the first NaN/inf, forward or backward, raises FloatingPointError
naming the op, its input shapes and (backward) the user's line that recorded it."""
from __future__ import annotations

import threading

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite import engine

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def leaf(values):
    return ag.tensor(np.array(values, dtype=float), requires_grad=True)


# (name, op, input values, expected op name in the message, input shapes in the message)
FORWARD = [
    ("log of a negative", lambda x: ag.log(x - 2.0), [1.0, 3.0], "log", "(2,)"),
    ("log of zero", lambda x: ag.log(x), [0.0, 3.0], "log", "(2,)"),
    ("sqrt of a negative", lambda x: np.sqrt(x), [-1.0, 3.0], "sqrt", "(2,)"),
    ("division by zero", lambda x: 1.0 / x, [0.0, 3.0], "divide", "(), (2,)"),
    ("exp overflow", lambda x: ag.exp(x * 1000.0), [1.0, 3.0], "exp", "(2,)"),
    ("matmul overflow", lambda x: x[None, :] @ ag.tensor([[1e308], [1e308]]), [2.0, 3.0],
     "matmul", "(1, 2), (2, 1)"),
]


@pytest.mark.parametrize("name, op, values, prim, shapes", FORWARD, ids=[c[0] for c in FORWARD])
def test_forward_anomaly_names_the_op_and_shapes(name, op, values, prim, shapes):
    with ag.detect_anomaly():
        with pytest.raises(FloatingPointError, match=f"forward result of `{prim}`") as info:
            op(leaf(values))
    assert f"input shapes {shapes}" in str(info.value)
    assert "test_anomaly.py" in str(info.value)  # where it was called


def sqrt_at_zero(x):
    return ag.sqrt(x)


def power_half_at_zero(x):
    return x ** 0.5


def numpy_sqrt_at_zero(x):
    return np.sqrt(x)


def max_of_inf_grad(x):
    return ag.max(ag.sqrt(x), axis=0)


# Finite forward, NaN/inf backward: only the backward check can catch these.
BACKWARD = [(sqrt_at_zero, "sqrt"), (power_half_at_zero, "power"), (numpy_sqrt_at_zero, "sqrt"),
            (max_of_inf_grad, "sqrt")]


@pytest.mark.parametrize("make, prim", BACKWARD, ids=[b[1] + "-" + b[0].__name__ for b in BACKWARD])
def test_backward_anomaly_names_the_op_and_the_recording_line(make, prim):
    x = leaf([[0.0, 4.0], [1.0, 9.0]])
    with ag.detect_anomaly():
        y = make(x)
        loss = (y * 3.0).sum()  # a line that is *not* the culprit
        with pytest.raises(FloatingPointError, match=f"backward of `{prim}`") as info:
            loss.backward()
    message = str(info.value)
    assert "input shapes (2, 2)" in message
    assert "y = make(x)" in message                   # the test's line...
    assert f"in {make.__name__}" in message           # ...and the helper's line inside it
    assert "loss = (y * 3.0)" not in message
    assert "autograd_lite/" not in message             # library frames are left out
    assert x.grad is None                              # nothing was accumulated


def test_backward_of_a_graph_recorded_outside_says_so():
    x = leaf([0.0, 1.0])
    loss = ag.sqrt(x).sum()
    with ag.detect_anomaly():
        with pytest.raises(FloatingPointError, match="recorded outside detect_anomaly"):
            loss.backward()


def test_second_order_backward_is_checked():
    x = leaf([0.0, 1.0])
    first = ag.grad(lambda t: (t ** 3).sum())  # second derivative 6x: finite
    with ag.detect_anomaly():
        np.testing.assert_allclose(ag.grad(lambda t: first(t).sum())(x.data), [0.0, 6.0])
        with pytest.raises(FloatingPointError, match="backward of `sqrt`"):
            ag.grad(lambda t: ag.grad(lambda u: ag.sqrt(u).sum())(t).sum())(np.array([0.0, 1.0]))


def test_a_nan_from_outside_is_reported_as_such():
    with ag.detect_anomaly():
        with pytest.raises(FloatingPointError, match="an input already held NaN"):
            leaf([np.nan, 1.0]) * 2.0


def test_finite_computations_are_unchanged():
    x = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
    f = lambda t: (ag.softmax(t, axis=1) * ag.tanh(t)).sum() + ag.logsumexp(t)
    expected = ag.value_and_grad(f)(x)
    with ag.detect_anomaly():
        value, gradient = ag.value_and_grad(f)(x)
    assert value == expected[0]
    np.testing.assert_array_equal(gradient, expected[1])


def test_outside_the_block_nothing_is_checked_or_recorded():
    assert engine.hooks.anomaly is None  # the engine's hook slot is empty: nothing is called
    x = leaf([0.0, -1.0])
    y = ag.sqrt(x)
    y.sum().backward()
    assert y.grad_fn.trace is None
    assert np.isnan(y.data[1]) and np.isinf(x.grad[0])


def test_blocks_nest_and_restore_the_state_even_after_an_exception():
    assert engine.hooks.anomaly is None
    with ag.detect_anomaly():
        with ag.detect_anomaly():
            assert engine.hooks.anomaly is not None
        assert engine.hooks.anomaly is not None  # the inner exit leaves the outer block on
        with pytest.raises(FloatingPointError):
            with ag.detect_anomaly():
                ag.log(leaf([-1.0]))
        assert engine.hooks.anomaly is not None
    assert engine.hooks.anomaly is None
    with pytest.raises(KeyError):
        with ag.detect_anomaly():
            raise KeyError("unrelated")
    assert engine.hooks.anomaly is None


def test_works_as_a_decorator():
    @ag.detect_anomaly()
    def step(x):
        return ag.log(x)

    with pytest.raises(FloatingPointError, match="`log`"):
        step(leaf([-1.0]))
    assert engine.hooks.anomaly is None


def test_overlapping_blocks_in_two_threads():
    """The mode is process-wide: on while any thread is inside, off when all have left."""
    first_inside, first_left = threading.Event(), threading.Event()
    seen = []

    def first():
        with ag.detect_anomaly():
            first_inside.set()
            second_inside.wait()
        first_left.set()

    def second():
        first_inside.wait()
        with ag.detect_anomaly():
            second_inside.set()
            first_left.wait()
            seen.append(engine.hooks.anomaly is not None)

    second_inside = threading.Event()
    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert seen == [True]
    assert engine.hooks.anomaly is None


def test_an_in_place_operation_keeps_its_recording_site():
    """``h += b`` moves the tape entry to ``h``: the line that recorded it stays with it."""
    x = leaf([0.0, 1.0])
    with ag.detect_anomaly():
        h = x * 1.0
        h += ag.sqrt(x)  # the line the message must show
        with pytest.raises(FloatingPointError, match="backward of `sqrt`") as info:
            h.sum().backward()
    assert "h += ag.sqrt(x)  # the line the message must show" in str(info.value)
    assert h.grad_fn.name == "add" and h.grad_fn.trace is not None
    assert any("h += ag.sqrt(x)" in (frame.line or "") for frame in h.grad_fn.trace)
