"""Embedding: a lookup table from integer indices to trainable vectors."""
from __future__ import annotations

from typing import Any

import numpy as np

import autograd_lite as ag

from .module import Module, Parameter, TensorLike


class Embedding(Module):
    """``weight[indices]``: integer indices of any shape (...) -> vectors (..., embedding_dim).

    ``weight`` (num_embeddings, embedding_dim) starts N(0, 1) (PyTorch's default), drawn
    from ``rng`` or NumPy's global state.  The row ``padding_idx`` (negative counts from
    the end) starts at zero and gets no gradient, so training leaves it unchanged.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 rng: np.random.Generator | None = None, dtype: Any = np.float64) -> None:
        super().__init__()
        if num_embeddings < 1 or embedding_dim < 1:
            raise ValueError(f"Embedding needs positive sizes, got num_embeddings={num_embeddings}, "
                             f"embedding_dim={embedding_dim}")
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"Embedding: padding_idx {padding_idx} is not within "
                                 f"num_embeddings={num_embeddings}")
            padding_idx = int(padding_idx) % num_embeddings
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        self.padding_idx = padding_idx
        source = np.random if rng is None else rng
        weight = source.standard_normal((num_embeddings, embedding_dim)).astype(dtype)
        if padding_idx is not None:
            weight[padding_idx] = 0
        self.weight = Parameter(weight)

    def forward(self, indices: TensorLike) -> TensorLike:
        layer = f"Embedding(num_embeddings={self.num_embeddings})"
        index = np.asarray(ag.unwrap(indices))
        if index.dtype.kind not in "iu":
            raise TypeError(f"{layer}: indices must be integers, got dtype {index.dtype} "
                            f"(shape {index.shape})")
        if index.size and (index.min() < 0 or index.max() >= self.num_embeddings):
            bad = index.min() if index.min() < 0 else index.max()
            raise IndexError(f"{layer}: index {bad} is out of range 0..{self.num_embeddings - 1} "
                             f"(shape {index.shape})")
        vectors = self.weight[index]
        if self.padding_idx is not None:
            padding = (index == self.padding_idx)[..., None]
            if padding.any():  # the padding row as a constant: it gets no gradient
                vectors = ag.where(padding, self.weight.data[self.padding_idx], vectors)
        return vectors

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        return text if self.padding_idx is None else text + f", padding_idx={self.padding_idx}"
