"""Recurrent entries: one LSTM step's elementwise part (`lstm_cell`), and a whole LSTM
layer's recurrence (`lstm_sequence`, below).

An LSTM step is one matmul for all four gates (outside, in the caller) and then a dozen
elementwise operations; recorded one by one they would cost a dozen nodes per time
step, which dominates a small recurrent network.  Fused, a step is one node whose rule
reuses the forward's activations (the residual) in a plain backward and recomputes them
with table operations under create_graph, so second order still works.
"""
from __future__ import annotations

import numpy as np

from ..recording import call_in_rule, primitive
from .elementwise import sigmoid_array, sigmoid
from .linalg import matmul
from .shape import transpose


def _lstm_cell(gates, state):
    """``gates`` (..., 4H) pre-activations in PyTorch's order (input, forget, cell, output);
    ``state`` (..., 2H) = [h | c] of the previous step.  Returns the new [h | c] (..., 2H)
    and the residual (the gate activations and tanh(c)) for the rules."""
    hidden = state.shape[-1] // 2
    act = sigmoid_array(gates)
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


# ---- a whole LSTM layer's recurrence as one entry ------------------------------------------
# A layer run step by step records a handful of nodes per step (the gate matmul, the adds,
# the cell, the slices of the state), and each slice's rule scatters into zeros of the full
# shape.  One entry for the recurrence keeps the forward and backpropagation through time in
# NumPy loops over preallocated arrays, as a hand-written LSTM does: per step one matmul each
# way and the cell's elementwise work; the weight gradient of all steps is one matmul.

def _lstm_sequence(projection, w_hh, state):
    """``projection`` (T, ..., 4H): each step's ``x_t W_ih^T`` plus the biases, PyTorch's gate
    order; ``w_hh`` (4H, H); ``state`` (..., 2H) the initial [h | c].  Returns every step's
    [h | c] (T, ..., 2H) and the residual (gate activations (T, ..., 4H), tanh c (T, ..., H)).

    The four gates' activations are one sigmoid over a step's contiguous (..., 4H) block,
    the cell gate's tanh as ``tanh x = 2 sigmoid(2x) - 1``: so the gate pre-activations are
    computed negated (and the cell gate's doubled), which folds into ``projection`` and
    ``w_hh`` once, and each step is one matmul written in place, one exp and a few cheap
    operations.  Where e^-x overflows the sigmoid is exactly 0 (and tanh -1).
    """
    hidden = w_hh.shape[-1]
    dtype = np.result_type(projection, w_hh, state)
    scale = np.full(4 * hidden, -1, dtype=dtype)
    scale[2 * hidden:3 * hidden] = -2
    negated = projection * scale
    w_negated = np.ascontiguousarray((w_hh * scale[:, None]).T)  # (H, 4H)
    out = np.empty(projection.shape[:-1] + (2 * hidden,), dtype=dtype)
    act = np.empty(projection.shape, dtype=dtype)
    tanh_c = np.empty(projection.shape[:-1] + (hidden,), dtype=dtype)
    previous = state
    with np.errstate(over="ignore"):
        for t in range(projection.shape[0]):
            a = act[t]
            np.matmul(previous[..., :hidden], w_negated, out=a)
            a += negated[t]
            np.exp(a, out=a)
            a += 1
            np.reciprocal(a, out=a)  # i, f, sigmoid(2 x_g), o
            cell = a[..., 2 * hidden:3 * hidden]
            cell *= 2
            cell -= 1  # g = tanh x_g
            c = out[t, ..., hidden:]
            np.multiply(a[..., hidden:2 * hidden], previous[..., hidden:], out=c)
            c += a[..., :hidden] * cell
            np.tanh(c, out=tanh_c[t])
            np.multiply(a[..., 3 * hidden:], tanh_c[t], out=out[t, ..., :hidden])
            previous = out[t]
    return out, (act, tanh_c)


def _lstm_sequence_backward(g, ans, projection, w_hh, state, residual):
    """Backpropagation through time from the residual (a plain backward): the gradients of
    (projection, w_hh, state), all three at once."""
    act, tanh_c = residual
    hidden = w_hh.shape[-1]
    steps = projection.shape[0]
    # Each gate's derivative for all steps at once: s (1 - s) for the sigmoids, 1 - g^2 for
    # the tanh gate; and tanh'(c) = 1 - tanh^2 c.  dgates is then one product per step.
    dgates = act * (1 - act)
    cell = act[..., 2 * hidden:3 * hidden]
    np.multiply(cell, cell, out=dgates[..., 2 * hidden:3 * hidden])
    np.subtract(1, dgates[..., 2 * hidden:3 * hidden], out=dgates[..., 2 * hidden:3 * hidden])
    dtanh_c = tanh_c * tanh_c
    np.subtract(1, dtanh_c, out=dtanh_c)
    w_hh = np.ascontiguousarray(w_hh)
    factors = np.empty(act.shape[1:], dtype=dgates.dtype)  # what multiplies each gate's derivative
    dh = dc = None  # what flows into the previous step's h and c
    for t in range(steps - 1, -1, -1):
        a = act[t]
        dh_t = g[t, ..., :hidden] if dh is None else g[t, ..., :hidden] + dh
        dc_t = dh_t * a[..., 3 * hidden:]
        dc_t *= dtanh_c[t]
        dc_t += g[t, ..., hidden:]
        if dc is not None:
            dc_t += dc
        c_previous = state[..., hidden:] if t == 0 else ans[t - 1, ..., hidden:]
        np.multiply(dc_t, a[..., 2 * hidden:3 * hidden], out=factors[..., :hidden])  # i: dc g
        np.multiply(dc_t, c_previous, out=factors[..., hidden:2 * hidden])           # f: dc c_{t-1}
        np.multiply(dc_t, a[..., :hidden], out=factors[..., 2 * hidden:3 * hidden])  # g: dc i
        np.multiply(dh_t, tanh_c[t], out=factors[..., 3 * hidden:])                  # o: dh tanh c
        d = dgates[t]
        d *= factors
        dh = d @ w_hh
        dc = dc_t * a[..., hidden:2 * hidden]
    h_previous = np.empty(ans.shape[:-1] + (hidden,), dtype=ans.dtype)
    h_previous[0] = state[..., :hidden]
    h_previous[1:] = ans[:-1, ..., :hidden]
    dw = dgates.reshape(-1, 4 * hidden).T @ h_previous.reshape(-1, hidden)
    return dgates, dw, np.concatenate([dh, dc], axis=-1)


def _lstm_sequence_graph(g, ans, projection, w_hh, state):
    """The same gradients with table operations (under create_graph, so they are
    differentiable again): each step's cell rule, and the matmuls, recorded."""
    hidden = w_hh.shape[-1]
    w_t = transpose(w_hh)
    dgates, carry = [None] * projection.shape[0], None
    for t in range(projection.shape[0] - 1, -1, -1):
        previous = state if t == 0 else ans[t - 1]
        gates = projection[t] + matmul(previous[..., :hidden], w_t)
        g_t = g[t] if carry is None else g[t] + carry
        dgates[t] = _lstm_cell_vjp_gates(g_t, ans[t], gates, previous)
        dc = _lstm_cell_vjp_state(g_t, ans[t], gates, previous)[..., hidden:]
        carry = np.concatenate([matmul(dgates[t], w_hh), dc], axis=-1)
    dgates = np.stack(dgates)
    h_previous = np.concatenate([state[None, ..., :hidden], ans[:-1, ..., :hidden]], axis=0)
    dw = matmul(transpose(np.reshape(dgates, (-1, 4 * hidden))),
                np.reshape(h_previous, (-1, hidden)))
    return dgates, dw, carry


def _lstm_sequence_vjp(argnum):
    def rule(g, ans, projection, w_hh, state, residual=None):
        if residual is None:  # create_graph: recompute with table operations
            return _lstm_sequence_graph(g, ans, projection, w_hh, state)[argnum]
        # One backward pass through time serves all three rules: the first computes it and
        # leaves it on the residual for the others, keyed by this gradient ``g``.
        if len(residual) == 2 or residual[2] is not g:
            residual[2:] = [g, _lstm_sequence_backward(g, ans, projection, w_hh, state,
                                                       residual[:2])]
        return residual[3][argnum]
    return rule


def _lstm_sequence_forward(projection, w_hh, state):
    out, (act, tanh_c) = _lstm_sequence(projection, w_hh, state)
    return out, [act, tanh_c]  # a list: the rules add their shared result to it


# Every step of an LSTM layer: c_t = f c_{t-1} + i g, h_t = o tanh(c_t), with the gates
# projection[t] + h_{t-1} W_hh^T as in `lstm_cell`.
lstm_sequence = primitive(_lstm_sequence_forward, name="lstm_sequence", residual=True).defvjp(
    _lstm_sequence_vjp(0), _lstm_sequence_vjp(1), _lstm_sequence_vjp(2))
