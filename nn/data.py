"""`DataLoader`: mini-batches of arrays, optionally shuffled."""
from __future__ import annotations

from typing import Any, Iterator

import numpy as np

import autograd_lite as ag


class DataLoader:
    """Iterate over aligned arrays in mini-batches: ``for X_b, y_b in DataLoader(X, y)``.

    ``arrays`` share their first axis (N samples); Tensors contribute their values.
    Each iteration yields a tuple with one batch of each array (``batch_size`` rows,
    the last one smaller unless ``drop_last``).  With ``shuffle`` every pass draws a
    fresh order from ``rng`` (a ``numpy.random.Generator``) or NumPy's global state;
    without it the batches are views of the arrays, in order.  ``len()`` is the number
    of batches per pass.
    """

    def __init__(self, *arrays: Any, batch_size: int = 32, shuffle: bool = False,
                 drop_last: bool = False, rng: np.random.Generator | None = None) -> None:
        if not arrays:
            raise ValueError("DataLoader needs at least one array")
        self.arrays = tuple(np.asarray(ag.unwrap(a))
                            for a in arrays)
        lengths = [len(a) if a.ndim else None for a in self.arrays]
        if None in lengths:
            raise ValueError(f"DataLoader: array {lengths.index(None)} is a scalar (shape ()): "
                             "arrays need a first axis of samples")
        if len(set(lengths)) > 1:
            shapes = ", ".join(str(a.shape) for a in self.arrays)
            raise ValueError(f"DataLoader: the arrays have different numbers of samples "
                             f"{lengths} (shapes {shapes}); they must share the first axis")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive integer, got "
                             f"{batch_size!r}")
        self.n = lengths[0]
        self.batch_size, self.shuffle, self.drop_last, self.rng = (int(batch_size), shuffle,
                                                                   drop_last, rng)

    def __len__(self) -> int:
        if self.drop_last:
            return self.n // self.batch_size
        return -(-self.n // self.batch_size)

    def __iter__(self) -> Iterator[tuple[np.ndarray, ...]]:
        order = (np.random if self.rng is None else self.rng).permutation(self.n) \
            if self.shuffle else None
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            rows = slice(start, start + self.batch_size)
            if order is not None:
                rows = order[rows]
            yield tuple(a[rows] for a in self.arrays)

    def __repr__(self) -> str:
        return (f"DataLoader({len(self.arrays)} arrays of {self.n} samples, batch_size="
                f"{self.batch_size}, shuffle={self.shuffle}, drop_last={self.drop_last})")
