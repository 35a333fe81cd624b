"""Recurrent cells as functions: ``ag.lstm_cell``."""
from __future__ import annotations

import numpy as np

from . import primitives as P
from .tensor import Tensor, unwrap


def lstm_cell(gates, state) -> Tensor:
    """One LSTM step after its gate matmul, fused into one table entry.

    ``gates`` (..., 4H): the pre-activations ``x W_ih^T + b_ih + h W_hh^T + b_hh`` in
    PyTorch's order (input, forget, cell, output); ``state`` (..., 2H): the previous
    ``[h | c]`` side by side.  Returns the next ``[h | c]`` (..., 2H), where
    ``c' = f c + i g`` and ``h' = o tanh(c')`` with ``i, f, o = sigmoid(...)`` and
    ``g = tanh(...)`` of the four slices.  So the state is one array: ``h = s[..., :H]``.
    """
    g_shape, s_shape = np.shape(unwrap(gates)), np.shape(unwrap(state))
    if not g_shape or not s_shape or g_shape[-1] != 2 * s_shape[-1] or s_shape[-1] % 2:
        raise ValueError(f"lstm_cell: gates must be (..., 4H) and state (..., 2H), got shapes "
                         f"{g_shape} and {s_shape}")
    return P.lstm_cell(gates, state)
