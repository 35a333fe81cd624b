"""Recurrent cells as functions: ``ag.lstm_cell``, ``ag.lstm_sequence``."""
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


def lstm_sequence(projection, w_hh, state) -> Tensor:
    """Every step of one LSTM layer in one direction, as one table entry.

    ``projection`` (T, ..., 4H): each step's input projection ``x_t W_ih^T + b_ih + b_hh``
    (one matmul for the whole sequence, outside); ``w_hh`` (4H, H): the recurrent weights
    in PyTorch's layout; ``state`` (..., 2H): the initial ``[h | c]``.  Returns every
    step's ``[h_t | c_t]`` (T, ..., 2H), where step ``t`` is
    ``lstm_cell(projection[t] + h_{t-1} @ w_hh.T, [h_{t-1} | c_{t-1}])``.  Its rule is one
    backpropagation through time (one matmul per step, one for ``w_hh``'s gradient of all
    steps), where the steps written out would record several nodes each.
    """
    p_shape, w_shape, s_shape = (np.shape(unwrap(a)) for a in (projection, w_hh, state))
    if (len(p_shape) < 2 or len(w_shape) != 2 or not s_shape
            or w_shape[0] != 4 * w_shape[1] or p_shape[-1] != w_shape[0]
            or s_shape[-1] != 2 * w_shape[1] or tuple(p_shape[1:-1]) != tuple(s_shape[:-1])):
        raise ValueError(f"lstm_sequence: projection must be (T, ..., 4H), w_hh (4H, H) and state "
                         f"(..., 2H), got shapes {p_shape}, {w_shape} and {s_shape}")
    return P.lstm_sequence(projection, w_hh, state)
