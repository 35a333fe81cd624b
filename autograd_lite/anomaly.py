"""Anomaly mode: find the operation that first produced a NaN or an infinity.

    with ag.detect_anomaly():
        loss = model(x)          # a forward NaN/inf raises here, naming the op
        loss.backward()          # a backward NaN/inf raises here, naming the op and
                                 # the line of your code that recorded it

Inside ``detect_anomaly()`` this module fills the engine's hook slot
(``engine.hooks.anomaly``): the engine then calls `check_forward` after every
operation and `check_backward` after every gradient rule, and each recorded node
keeps the stack of the code that recorded it (``Node.trace``).  Outside it the
engine reads the empty slot once per operation and does nothing else.

The mode is process-wide (one slot), so it is on while any thread is inside a
``detect_anomaly()`` block; blocks nest, and leaving one (normally or by an
exception) restores the state it found.
"""
from __future__ import annotations

import contextlib
import os
import threading
import traceback

import numpy as np

from . import engine
from .tensor import unwrap

__all__ = ["detect_anomaly", "check_forward", "check_backward", "user_frames", "format_user_frames"]

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_NUMPY_DIR = os.path.dirname(os.path.abspath(np.__file__))
_LIBRARY_DIRS = (_PACKAGE_DIR + os.sep, _NUMPY_DIR + os.sep)  # frames not shown to the user
_lock = threading.Lock()
_depth = 0  # how many detect_anomaly() blocks are open, over all threads


class detect_anomaly(contextlib.ContextDecorator):
    """Context manager (and decorator) under which the first operation whose forward
    result or backward gradient holds NaN or inf raises `FloatingPointError`."""

    def __enter__(self) -> "detect_anomaly":
        global _depth
        with _lock:
            _depth += 1
            engine.hooks.anomaly = _CHECKS
        return self

    def __exit__(self, *exc: object) -> None:
        global _depth
        with _lock:
            _depth -= 1
            engine.hooks.anomaly = _CHECKS if _depth > 0 else None


def _data(x) -> np.ndarray:
    return np.asarray(unwrap(x))


def _bad_count(x) -> int:
    """How many elements of ``x`` (array or Tensor) are NaN or infinite (0 for non-floats)."""
    data = _data(x)
    if not np.issubdtype(data.dtype, np.inexact):
        return 0
    return int(data.size - np.count_nonzero(np.isfinite(data)))


def _describe(operands) -> str:
    return ", ".join(str(_data(a).shape) for a in operands)


def user_frames(stack) -> list:
    """The frames of ``stack`` (a ``traceback.StackSummary``, e.g. ``Node.trace``) outside
    autograd_lite and NumPy: the caller's own code, innermost last."""
    return [f for f in stack
            if not os.path.abspath(f.filename).startswith(_LIBRARY_DIRS)]


def format_user_frames(stack) -> str:
    """The caller's frames of ``stack`` (at most five, innermost last) as a traceback
    excerpt: what error messages show for "where was this recorded"."""
    frames = user_frames(stack)
    if not frames:
        return "  (no frame outside autograd_lite)\n"
    return "".join(traceback.format_list(frames[-5:]))


def check_forward(prim, args, out) -> None:
    """Raise when ``out``, the result of ``prim`` on ``args``, holds NaN or inf."""
    bad = _bad_count(out)
    if not bad:
        return
    inputs_bad = sum(_bad_count(a) for a in args)
    origin = (" (an input already held NaN/inf: it came from outside the recorded "
              "operations)" if inputs_bad else "")
    message = (f"anomaly: the forward result of `{prim.name}` holds {bad} NaN/inf value(s) "
               f"of {np.size(out)}{origin}; input shapes {_describe(args)}, output shape "
               f"{np.shape(out)}.\nCalled at (most recent call last):\n"
               f"{format_user_frames(traceback.extract_stack()[:-1])}")
    tensor = engine.differentiating()
    if tensor is not None:  # a rule's own operations, recorded for a higher derivative
        node = tensor.grad_fn
        message += (f"while computing the backward of `{node.name}` (input shapes "
                    f"{_describe(node.inputs)}), recorded at (most recent call last)"
                    + (":\n" + format_user_frames(node.trace) if node.trace is not None else
                       " an unknown place (outside detect_anomaly())."))
    raise FloatingPointError(message)


def check_backward(node, argnum: int, grad) -> None:
    """Raise when ``grad``, the gradient the rule of ``node`` gave its input ``argnum``,
    holds NaN or inf; the message names the op and where it was recorded."""
    bad = _bad_count(grad)
    if not bad:
        return
    trace = node.trace
    where = (":\n" + format_user_frames(trace) if trace is not None else
             " an unknown place: it was recorded outside detect_anomaly(); run the forward "
             "pass inside the block too to see where.")
    raise FloatingPointError(
        f"anomaly: the backward of `{node.name}` gave its input {argnum} a gradient "
        f"holding {bad} NaN/inf value(s) of {np.size(_data(grad))}; "
        f"input shapes {_describe(node.inputs)}, output shape {_output_shape(node)}."
        f"\nThe operation was recorded at (most recent call last){where}")


def _output_shape(node) -> tuple:
    tensor = engine.differentiating()
    return tensor.shape if tensor is not None and tensor.grad_fn is node else "unknown"


class _Checks:
    """What fills ``engine.hooks.anomaly`` while anomaly mode is on."""

    forward = staticmethod(check_forward)
    backward = staticmethod(check_backward)

    @staticmethod
    def recording_site():
        return traceback.extract_stack()[:-2]


_CHECKS = _Checks()
