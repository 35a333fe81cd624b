"""Recurrent cells: one LSTM step's elementwise part as one entry.

An LSTM step is one matmul for all four gates (outside, in the caller) and then a dozen
elementwise operations; recorded one by one they would cost a dozen nodes per time
step, which dominates a small recurrent network.  Fused, a step is one node whose rule
reuses the forward's activations (the residual) in a plain backward and recomputes them
with table operations under create_graph, so second order still works.
"""
from __future__ import annotations

import numpy as np

from ..recording import call_in_rule, primitive
from .elementwise import _stable_sigmoid, sigmoid


def _lstm_cell(gates, state):
    """``gates`` (..., 4H) pre-activations in PyTorch's order (input, forget, cell, output);
    ``state`` (..., 2H) = [h | c] of the previous step.  Returns the new [h | c] (..., 2H)
    and the residual (the gate activations and tanh(c)) for the rules."""
    hidden = state.shape[-1] // 2
    act = _stable_sigmoid(gates)
    act[..., 2 * hidden:3 * hidden] = np.tanh(gates[..., 2 * hidden:3 * hidden])
    i, f, g, o = (act[..., k * hidden:(k + 1) * hidden] for k in range(4))
    out = np.empty_like(state)
    c = out[..., hidden:]
    np.multiply(f, state[..., hidden:], out=c)
    c += i * g
    tanh_c = np.tanh(c)
    np.multiply(o, tanh_c, out=out[..., :hidden])
    return out, (act, tanh_c)


def _activations(gates, ans, residual):
    """(i, f, g, o, tanh c): from the residual in a plain backward, else recomputed with
    table operations (under create_graph they must be differentiable)."""
    hidden = gates.shape[-1] // 4
    if residual is not None:
        act, tanh_c = residual
        return tuple(act[..., k * hidden:(k + 1) * hidden] for k in range(4)) + (tanh_c,)
    i = call_in_rule(sigmoid, gates[..., :hidden])
    f = call_in_rule(sigmoid, gates[..., hidden:2 * hidden])
    g = np.tanh(gates[..., 2 * hidden:3 * hidden])
    o = call_in_rule(sigmoid, gates[..., 3 * hidden:])
    return i, f, g, o, np.tanh(ans[..., hidden:])


def _cell_gradient(g, ans, gates, state, residual):
    """The gate activations, tanh(c) and dL/dc (from both outputs h and c)."""
    hidden = gates.shape[-1] // 4
    i, f, gg, o, tanh_c = _activations(gates, ans, residual)
    dh, dc = g[..., :hidden], g[..., hidden:]
    return (i, f, gg, o, tanh_c), dc + dh * o * (1 - tanh_c * tanh_c)


def _lstm_cell_vjp_gates(g, ans, gates, state, residual=None):
    hidden = gates.shape[-1] // 4
    (i, f, gg, o, tanh_c), dc = _cell_gradient(g, ans, gates, state, residual)
    return np.concatenate([dc * gg * i * (1 - i),
                           dc * state[..., hidden:] * f * (1 - f),
                           dc * i * (1 - gg * gg),
                           g[..., :hidden] * tanh_c * o * (1 - o)], axis=-1)


def _lstm_cell_vjp_state(g, ans, gates, state, residual=None):
    # h of the previous step does not enter the cell (only the caller's matmul): zero.
    (_, f, _, _, _), dc = _cell_gradient(g, ans, gates, state, residual)
    return np.concatenate([np.zeros(np.shape(f), dtype=f.dtype), dc * f], axis=-1)


# c' = f c + i g,  h' = o tanh(c'),  with i, f, o = sigmoid and g = tanh of the gate slices.
lstm_cell = primitive(_lstm_cell, name="lstm_cell", residual=True).defvjp(
    _lstm_cell_vjp_gates, _lstm_cell_vjp_state)
