"""A whole training step traced once and replayed: `compile_step`.

    step = nn.compile_step(lambda X, y: criterion(model(X), y), optimizer)
    for epoch in range(100):
        loss = step(X, y)          # forward, backward and the optimizer's update

The forward and backward are ``ag.compile_grad`` of the loss with respect to the
optimizer's parameters: recorded once, replayed as straight-line NumPy (see its
docstring for what a trace freezes and what makes it trace again).  The replay's
gradients are fresh arrays nobody else holds, so the update takes them over
(`Optimizer.apply_gradients` with ``private=True``): plain SGD scales each one in place
and subtracts it from its parameter, with no temporary.  The update is the optimizer's
own array code, run at every step with the current ``param_groups``: a scheduler that
changes ``lr`` between steps is obeyed, and the optimizer's state (momentum buffers,
Adam's moments and step count) advances exactly as in the eager loop.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

import autograd_lite as ag

from .optim import Optimizer


def compile_step(loss_fn: Callable[..., ag.Tensor], optimizer: Optimizer,
                 check_every: int = 0) -> "CompiledStep":
    """``step(*args) -> float``: ``loss_fn(*args)``, backpropagated, and one update of
    ``optimizer`` (a scalar loss that depends on the optimizer's parameters).

    The parameters after each call equal those of the eager loop
    ``optimizer.zero_grad(); loss_fn(*args).backward(); optimizer.step()`` (to rounding:
    the same NumPy calls run in the same order).  The parameters' ``.grad`` is not set.
    A parameter the loss does not depend on is skipped, as the eager step skips a
    ``.grad`` of None.  New shapes, dtypes or Python-scalar arguments trace again.

    ``check_every=N`` (N > 0) runs every N-th call both ways, the replay and the eager
    loop, from the same parameters and optimizer state, and raises
    ``ag.TraceMismatchError`` if the parameters or the loss differ; the eager result is
    kept.
    """
    return CompiledStep(loss_fn, optimizer, check_every)


class CompiledStep:
    """The callable made by `compile_step`.  ``traces`` counts traces, ``calls`` calls;
    ``code`` is the source of the latest replayed program (forward and backward)."""

    def __init__(self, loss_fn: Callable[..., ag.Tensor], optimizer: Optimizer,
                 check_every: int = 0) -> None:
        if not callable(loss_fn):
            raise TypeError(f"compile_step needs a loss function, got {type(loss_fn).__name__}")
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"compile_step needs an nn.optim optimizer, got "
                            f"{type(optimizer).__name__}")
        if not isinstance(check_every, int) or check_every < 0:
            raise ValueError(f"check_every must be an int >= 0 (0: never), got {check_every!r}")
        self.loss_fn = loss_fn
        self.optimizer = optimizer
        self.check_every = check_every
        self.calls = 0

        def loss_of_parameters(parameters: list, *args: Any, **kwargs: Any) -> ag.Tensor:
            return loss_fn(*args, **kwargs)  # the parameters are the ones loss_fn reads

        loss_of_parameters.__name__ = getattr(loss_fn, "__name__", "loss_fn")
        self._grad = ag.compile_grad(loss_of_parameters)

    @property
    def traces(self) -> int:
        return self._grad.traces

    @property
    def code(self) -> str:
        return self._grad.code

    def value_and_grad(self, *args: Any, **kwargs: Any) -> tuple[float, list[np.ndarray]]:
        """The replay's loss and gradients (one array per parameter, in the optimizer's
        order), without updating anything: what the step would apply."""
        return self._grad(self.optimizer.params, *args, **kwargs)

    def __call__(self, *args: Any, **kwargs: Any) -> float:
        self.calls += 1
        if self.check_every and self.calls % self.check_every == 0:
            return self.check(*args, **kwargs)
        return self._replay(args, kwargs)

    def _replay(self, args: tuple, kwargs: dict) -> float:
        loss, grads = self.value_and_grad(*args, **kwargs)
        unused = self._grad.unused
        if any(unused):
            grads = [None if skip else g for g, skip in zip(grads, unused)]
        self.optimizer.apply_gradients(grads, private=True)
        return loss

    def check(self, *args: Any, **kwargs: Any) -> float:
        """One step both ways from the same state; raise ``ag.TraceMismatchError`` unless
        the parameters and the loss agree (to 1e-12 relative); the eager step's result
        stays.  Returns the loss."""
        optimizer = self.optimizer
        start = [p.data.copy() for p in optimizer.params]
        start_state = optimizer.state_dict()
        replayed_loss = self._replay(args, kwargs)
        replayed = [p.data.copy() for p in optimizer.params]
        with ag.no_grad():
            for p, array in zip(optimizer.params, start):
                p.copy_(array)
        optimizer.load_state_dict(start_state)
        optimizer.zero_grad()
        loss = self.loss_fn(*args, **kwargs)
        loss.backward()
        optimizer.step()
        expected_loss = float(loss.data)
        _check_close("the loss", np.asarray(replayed_loss), np.asarray(expected_loss))
        for i, (p, r) in enumerate(zip(optimizer.params, replayed)):
            _check_close(f"parameter {i} (shape {p.shape})", r, p.data)
        return expected_loss

    def __repr__(self) -> str:
        name = getattr(self.loss_fn, "__name__", "loss_fn")
        return (f"<compile_step of {name} with {type(self.optimizer).__name__}: "
                f"{self.traces} trace(s), {self.calls} call(s)>")


def _check_close(what: str, replayed: np.ndarray, eager: np.ndarray) -> None:
    """Raise ``ag.TraceMismatchError`` unless equal to 1e-12 of the largest magnitude."""
    scale = max(float(np.max(np.abs(eager), initial=0.0)), 1e-300)
    with np.errstate(invalid="ignore"):
        off = np.where(replayed == eager, 0.0, np.abs(replayed - eager))
    error = float(np.max(off, initial=0.0)) / scale
    if not error <= 1e-12:
        raise ag.TraceMismatchError(
            f"compile_step: after the replayed step {what} is off by {error} (relative) from "
            "the eager step's. The loss's graph depends on more than argument shapes (Python "
            "control flow on values, arrays or random draws frozen at trace time); train it "
            "eagerly, or make those values arguments.")
