"""The optimizer base: parameter groups, per-parameter state, `state_dict`, and the step loop.

Subclasses give ``_update(param, grad, state, group, private)``, the amount to subtract from a
parameter, computed from NumPy arrays with torch.optim's formulas in torch's order of
operations (so a float64 run matches torch's to the last bit or so).  `step` runs under
``ag.no_grad()`` and changes each parameter by one in-place Tensor operation
(``p -= update``), which bumps its version: a graph recorded before the step refuses to
backpropagate afterwards instead of giving a silently wrong gradient.  Parameters whose
``.grad`` is None are skipped and keep their state.
"""
from __future__ import annotations

import copy
from typing import Any, Callable, Iterable, Sequence

import numpy as np

import autograd_lite as ag

ParamsT = Iterable[ag.Tensor] | Iterable[tuple[str, ag.Tensor]] | Iterable[dict[str, Any]]


def lerp_(start: np.ndarray, end: np.ndarray, weight: float) -> None:
    """``start += weight * (end - start)`` in place, rounded as torch's ``lerp_`` is
    (which switches form at weight 0.5 to stay exact near both ends)."""
    if abs(weight) < 0.5:
        start += weight * (end - start)
    else:
        np.subtract(end, (end - start) * (1.0 - weight), out=start)


def check_nonnegative(name: str, group: dict[str, Any], *keys: str) -> None:
    """A ValueError like ``SGD: momentum (-1) and weight_decay (0.0) must be >= 0``."""
    if all(group[key] >= 0.0 for key in keys):
        return
    named = [f"{key} ({group[key]})" for key in keys]
    listed = named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]
    raise ValueError(f"{name}: {listed} must be >= 0")


class Optimizer:
    """Holds parameter groups and the state of each parameter.

    ``params`` is an iterable of parameters, of ``(name, parameter)`` pairs (as
    ``model.named_parameters()`` gives), or of groups: dicts with ``"params"`` and
    any hyperparameters that differ from the optimizer's defaults, e.g.
    ``[{"params": model.body.parameters()}, {"params": model.head.parameters(), "lr": 1e-2}]``.

    Attributes (as torch.optim's):
      - ``param_groups``: list of dicts; changing a value (``group["lr"] = 0.01``) takes
        effect at the next `step`.  Schedulers work through it.
      - ``defaults``: the constructor's hyperparameters.
      - ``params``: every parameter, group by group; ``state[i]`` is the state dict of
        ``params[i]`` (empty until its first update).
    """

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        name = type(self).__name__
        if isinstance(params, ag.Tensor):
            raise TypeError(f"{name} takes an iterable of parameters, got a single Tensor: "
                            "wrap it in a list")
        self.defaults = dict(defaults)
        check_learning_rate(name, self.defaults)
        self._check_group(self.defaults)
        self.param_groups: list[dict[str, Any]] = []
        self.params: list[ag.Tensor] = []
        self.state: list[dict[str, Any]] = []
        groups = list(params)
        if not groups:
            raise ValueError(f"{name} got an empty parameter list")
        for group in groups if isinstance(groups[0], dict) else [{"params": groups}]:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Append a group (a dict with ``"params"``; missing hyperparameters take the
        defaults), e.g. to start training layers that were frozen."""
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}: a parameter group must be a dict, got "
                            f"{type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError(f"{name}: a parameter group needs a 'params' entry")
        params = param_group["params"]
        if isinstance(params, set):
            raise TypeError(f"{name}: parameters in a set have no stable order; use a list")
        params = [params] if isinstance(params, ag.Tensor) else list(params)
        group = {**self.defaults, **param_group}
        if params and all(isinstance(p, tuple) and len(p) == 2 for p in params):
            group["param_names"] = [n for n, _ in params]
            params = [p for _, p in params]
        group["params"] = params
        first = len(self.params)
        seen = {id(p) for p in self.params}
        for i, p in enumerate(params, start=first):
            if not isinstance(p, ag.Tensor):
                raise TypeError(f"{name}: parameter {i} is a {type(p).__name__}, not a Tensor "
                                "(pass model.parameters())")
            if not p.requires_grad or not p.is_leaf:
                raise ValueError(f"{name}: parameter {i} (shape {p.shape}) must be a leaf "
                                 "Tensor that requires grad, e.g. an nn.Parameter")
            if id(p) in seen:
                raise ValueError(f"{name}: parameter {i} appears twice in the list")
            seen.add(id(p))
        check_learning_rate(name, group)
        self._check_group(group)
        self.param_groups.append(group)
        self.params.extend(params)
        self.state.extend({} for _ in params)

    def _check_group(self, group: dict[str, Any]) -> None:
        """Raise ValueError for hyperparameters this optimizer cannot use."""

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Set every parameter's ``.grad`` to None (PyTorch's default), or to zeros."""
        for p in self.params:
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad = np.zeros_like(p.grad)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient, with its group's hyperparameters.

        ``closure`` (optional) re-evaluates the model and returns the loss; it runs
        first, with gradient recording on, and its result is returned.
        """
        loss = None
        if closure is not None:
            with ag.enable_grad():
                loss = closure()
        self.apply_gradients([p.grad for p in self.params])
        return loss

    def apply_gradients(self, grads: Sequence[np.ndarray | None], private: bool = False) -> None:
        """One update with ``grads`` (arrays, one per parameter in `params` order; None
        skips that parameter, as a ``.grad`` of None does) in place of the ``.grad``s.

        ``private=True`` hands the arrays over: the update may overwrite them (plain SGD
        then scales the gradient in place instead of allocating ``lr * grad``), which is
        how `nn.compile_step` applies the fresh gradients its replay returns.  Each
        parameter changes by one in-place Tensor operation, so its version is bumped.
        """
        states = iter(self.state)
        grads = iter(grads)
        with ag.no_grad():
            for group in self.param_groups:
                maximize = group.get("maximize", False)
                for p in group["params"]:
                    state, grad = next(states), next(grads)
                    if grad is not None:
                        if maximize:
                            grad = -grad
                        p -= self._update(p.data, grad, state, group,
                                          private=private or maximize)

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any], private: bool = False) -> np.ndarray:
        """The amount to subtract from ``param`` (which the rule may scale in place first,
        as AdamW's decoupled weight decay does); ``state`` is updated in place.  With
        ``private`` the rule may overwrite ``grad`` (nobody else reads it)."""
        raise NotImplementedError

    # ---- saving and resuming ----------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """``{"state": {index: {...}}, "param_groups": [{..., "params": [indices]}]}`` as in
        torch.optim, parameters referred to by their position in ``params``.

        Everything is copied, so further steps do not change a saved state dict.
        """
        groups, start = [], 0
        for group in self.param_groups:
            saved = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            saved["params"] = list(range(start, start + len(group["params"])))
            start += len(group["params"])
            groups.append(saved)
        state = {i: {k: copy.deepcopy(v) for k, v in s.items()}
                 for i, s in enumerate(self.state) if s}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyperparameters and state saved by `state_dict` from an optimizer of
        the same kind over parameters of the same shapes, grouped the same way; training
        then continues exactly as if it had never stopped.

        Arrays are copied and cast to their parameter's dtype.  A mismatch raises
        ValueError and changes nothing.
        """
        name = type(self).__name__
        groups, saved_state = state_dict["param_groups"], state_dict["state"]
        if len(groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: the state dict has {len(groups)} "
                             f"parameter groups, this optimizer {len(self.param_groups)}")
        for g, (saved, own) in enumerate(zip(groups, self.param_groups)):
            if len(saved["params"]) != len(own["params"]):
                raise ValueError(f"{name}.load_state_dict: group {g} has "
                                 f"{len(saved['params'])} parameters in the state dict, "
                                 f"{len(own['params'])} here")
        # Saved indices -> this optimizer's parameters, group by group (as torch maps them).
        index_of = {i: j for j, i in enumerate(i for saved in groups for i in saved["params"])}
        state: list[dict[str, Any]] = [{} for _ in self.params]
        for i, entries in saved_state.items():
            if i not in index_of:
                raise ValueError(f"{name}.load_state_dict: state for parameter {i}, which "
                                 "no group of the state dict lists")
            p = self.params[index_of[i]]
            for key, value in entries.items():
                if isinstance(value, np.ndarray) and value.ndim and value.shape != p.shape:
                    raise ValueError(f"{name}.load_state_dict: state {key!r} of parameter "
                                     f"{i} has shape {value.shape}, the parameter {p.shape}")
                floating = isinstance(value, np.ndarray) and value.dtype.kind == "f"
                # astype copies also when the dtype agrees: later steps must not write
                # into the caller's state dict.
                state[index_of[i]][key] = (value.astype(p.dtype) if floating
                                           else copy.deepcopy(value))
        for saved, own in zip(groups, self.param_groups):
            own.update({k: copy.deepcopy(v) for k, v in saved.items() if k != "params"})
        self.state[:] = state


def check_learning_rate(name: str, group: dict[str, Any]) -> None:
    if not group["lr"] >= 0.0:
        raise ValueError(f"{name}: invalid learning rate {group['lr']}")
