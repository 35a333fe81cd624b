"""A small training loop with a progress bar: `fit`."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .module import Module
from .optim import Optimizer

try:
    from tqdm.auto import tqdm
except ImportError:  # tqdm is optional: no bar then
    tqdm = None


def fit(model: Module, loss_fn: Callable, optimizer: Optimizer, X: Any, y: Any,
        epochs: int = 1, batch_size: int | None = None,
        rng: np.random.Generator | None = None, progress: bool = True,
        callback: Callable[[int, float], Any] | None = None, desc: str | None = None,
        leave: bool = True) -> list[float]:
    """Train ``model`` (in training mode) on ``X`` (N, ...) and targets ``y`` (N, ...).

    Each epoch visits the N samples in mini-batches of ``batch_size`` (all of them
    when None), shuffled with ``rng`` (or NumPy's global state) unless the batch is the
    whole set.  Per batch: ``zero_grad``, ``loss_fn(model(X_b), y_b).backward()``,
    ``step``.  Returns the mean loss of each epoch (batch losses weighted by batch
    size, exact for ``reduction="mean"``).  ``callback(epoch, loss)`` runs after each
    epoch; returning True stops training early.  With ``progress`` and tqdm installed
    a bar labelled ``desc`` shows the latest epoch loss (``leave=False`` removes it when
    done).
    """
    n = len(X)
    batch_size = n if batch_size is None else int(batch_size)
    if batch_size < 1:
        raise ValueError(f"fit: batch_size must be >= 1, got {batch_size}")
    shuffle = (np.random if rng is None else rng).permutation
    model.train()
    epochs_iter = range(epochs)
    bar = (tqdm(epochs_iter, disable=not progress, unit="epoch", desc=desc, leave=leave)
           if tqdm is not None else None)
    history: list[float] = []
    for epoch in bar if bar is not None else epochs_iter:
        order = shuffle(n) if batch_size < n else None  # a full batch needs no shuffle
        total = 0.0
        for start in range(0, n, batch_size):
            if order is None:
                X_batch, y_batch = X, y
            else:
                batch = order[start:start + batch_size]
                X_batch, y_batch = X[batch], y[batch]
            optimizer.zero_grad()
            loss = loss_fn(model(X_batch), y_batch)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(X_batch)
        history.append(total / n)
        if bar is not None:
            bar.set_postfix(loss=f"{history[-1]:.4g}", refresh=False)
        if callback is not None and callback(epoch, history[-1]) is True:
            break
    if bar is not None:
        bar.close()
    return history
