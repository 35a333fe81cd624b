"""Recurrent layers: RNN, LSTM, GRU and their cells, with PyTorch's parameter names,
shapes, gate order and initialisation, so state dicts move both ways.

Each time step costs one matmul for all gates on its input, one on the hidden state and
the gate arithmetic, which for an LSTM cell is one table entry (``ag.lstm_cell``, its state
``[h | c]`` one array).  The RNN and GRU layers' time loops stay in Python.  An LSTM layer
projects the whole sequence's input in one matmul and runs its recurrence as one entry
(``ag.lstm_sequence``): a node per layer and direction instead of several per step.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

import autograd_lite as ag

from .module import Module, Parameter, TensorLike, input_error

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _input_bias(mode: str, b_ih, b_hh):
    """What is added to ``x W_ih^T``: ``b_ih + b_hh``, but only ``b_ih`` for a GRU (whose
    ``b_hn`` sits inside the reset gate's product); None without biases."""
    if b_ih is None:
        return None
    return b_ih if mode == "GRU" else b_ih + b_hh


def _step(mode: str, xp: TensorLike, state: TensorLike, w_hh_t: TensorLike, b_hh,
          hidden: int) -> TensorLike:
    """One time step from the input projection ``xp`` (N, G*H) and the state (N, H), or
    for an LSTM ``[h | c]`` (N, 2H); returns the next state.  PyTorch's equations."""
    if mode == "LSTM":
        return ag.lstm_cell(xp + ag.matmul(state[..., :hidden], w_hh_t), state)
    recurrent = ag.matmul(state, w_hh_t)
    if b_hh is not None and mode == "GRU":
        recurrent = recurrent + b_hh
    if mode == "RNN_TANH":
        return ag.tanh(xp + recurrent)
    if mode == "RNN_RELU":
        return ag.relu(xp + recurrent)
    # GRU, gates (r, z, n): n = tanh(x_n + r (W_hn h + b_hn)), h' = (1 - z) n + z h
    reset_update = ag.sigmoid(xp[..., :2 * hidden] + recurrent[..., :2 * hidden])
    reset, update = reset_update[..., :hidden], reset_update[..., hidden:]
    candidate = ag.tanh(xp[..., 2 * hidden:] + reset * recurrent[..., 2 * hidden:])
    return candidate + update * (state - candidate)


class _Recurrent(Module):
    """What the layers and the cells share: the mode, the sizes, the parameters' init."""

    def _init_recurrent(self, mode: str, input_size: int, hidden_size: int, bias: bool) -> None:
        name = type(self).__name__
        if input_size < 1 or hidden_size < 1:
            raise ValueError(f"{name} needs positive sizes, got input_size={input_size}, "
                             f"hidden_size={hidden_size}")
        if mode not in _GATES:
            raise ValueError(f"{name}: nonlinearity must be 'tanh' or 'relu'")
        self.mode, self.input_size, self.hidden_size = mode, int(input_size), int(hidden_size)
        self.bias = bool(bias)

    def _add_weights(self, suffix: str, input_size: int, source: Any, dtype: Any) -> None:
        """``weight_ih<suffix>`` (G*H, input_size), ``weight_hh`` (G*H, H), ``bias_ih`` and
        ``bias_hh`` (G*H,), in that order, each U(-1/sqrt(H), 1/sqrt(H)) (PyTorch's)."""
        rows, bound = _GATES[self.mode] * self.hidden_size, 1.0 / math.sqrt(self.hidden_size)
        shapes = [("weight_ih", (rows, input_size)), ("weight_hh", (rows, self.hidden_size))]
        if self.bias:
            shapes += [("bias_ih", (rows,)), ("bias_hh", (rows,))]
        for name, shape in shapes:
            setattr(self, name + suffix, Parameter(source.uniform(-bound, bound, shape).astype(dtype)))

    def _weights(self, suffix: str) -> tuple:
        bias = (getattr(self, "bias_ih" + suffix), getattr(self, "bias_hh" + suffix)) \
            if self.bias else (None, None)
        return (getattr(self, "weight_ih" + suffix), getattr(self, "weight_hh" + suffix)) + bias

    @property
    def _layer(self) -> str:
        return f"{type(self).__name__}(input_size={self.input_size})"

    def _check_state(self, state: TensorLike, expected: tuple, what: str) -> TensorLike:
        if tuple(np.shape(state)) != expected:
            raise input_error(self._layer, f"{what} must have shape {expected}", np.shape(state))
        return state


class _RNNBase(_Recurrent):
    """A multi-layer, optionally bidirectional recurrent network (see `LSTM`)."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int, bias: bool,
                 batch_first: bool, dropout: float, bidirectional: bool,
                 rng: np.random.Generator | None, dtype: Any) -> None:
        super().__init__()
        self._init_recurrent(mode, input_size, hidden_size, bias)
        if num_layers < 1:
            raise ValueError(f"{type(self).__name__} needs num_layers >= 1, got {num_layers}")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"{type(self).__name__}: dropout must be in [0, 1], got {dropout}")
        self.num_layers, self.batch_first = int(num_layers), bool(batch_first)
        self.dropout, self.bidirectional = float(dropout), bool(bidirectional)
        self.rng = rng  # also draws the dropout masks between layers
        source = np.random if rng is None else rng
        directions = 2 if bidirectional else 1
        for layer in range(num_layers):
            for suffix in ("", "_reverse")[:directions]:
                self._add_weights(f"_l{layer}{suffix}",
                                  input_size if layer == 0 else hidden_size * directions,
                                  source, dtype)

    def forward(self, input: TensorLike, hx: Any = None) -> tuple:
        """``input`` (L, N, H_in), (N, L, H_in) with ``batch_first``, or unbatched
        (L, H_in); ``hx`` the initial state (num_layers * directions, N, H), for an LSTM a
        pair ``(h_0, c_0)``, zeros when omitted.  Returns ``(output, h_n)`` (LSTM:
        ``(output, (h_n, c_n))``) with ``output`` (L, N, directions * H) (batch first if
        the input is) and ``h_n`` (num_layers * directions, N, H)."""
        shape = np.shape(input)
        if len(shape) not in (2, 3):
            raise input_error(self._layer, "input must be (L, N, H_in), (N, L, H_in) with "
                              "batch_first, or unbatched (L, H_in)", shape)
        if shape[-1] != self.input_size:
            raise input_error(self._layer, f"input has {shape[-1]} features", shape)
        unbatched = len(shape) == 2
        if unbatched:
            x = ag.reshape(input, (shape[0], 1, shape[1]))
        else:
            x = ag.swapaxes(input, 0, 1) if self.batch_first else input
        batch = np.shape(x)[1]
        initial = self._initial_states(hx, batch, unbatched)
        directions = 2 if self.bidirectional else 1
        finals = []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                sequence, final = self._run(x, suffix, initial[layer * directions + direction],
                                            reverse=bool(direction))
                outputs.append(sequence)
                finals.append(final)
            x = outputs[0] if directions == 1 else ag.concatenate(outputs, axis=-1)
            if self.training and self.dropout and layer < self.num_layers - 1:
                x = self._dropout(x)
        output = ag.reshape(x, (shape[0], -1)) if unbatched else (
            ag.swapaxes(x, 0, 1) if self.batch_first else x)
        return output, self._final_states(finals, unbatched)

    def _run(self, x: TensorLike, suffix: str, state: TensorLike, reverse: bool) -> tuple:
        """One layer in one direction: ((T, N, H) outputs, the final state).

        Each step projects its own input: slicing one projection of the whole sequence
        would give every step's gradient the whole sequence's shape (a slice's gradient
        is zeros around it), T times over.
        """
        w_ih, w_hh, b_ih, b_hh = self._weights(suffix)
        bias = _input_bias(self.mode, b_ih, b_hh)
        if self.mode == "LSTM":
            return self._run_lstm(x, w_ih, w_hh, bias, state, reverse)
        w_ih_t, w_hh_t = ag.transpose(w_ih), ag.transpose(w_hh)
        steps = range(np.shape(x)[0])
        states = [None] * len(steps)
        for t in (reversed(steps) if reverse else steps):
            projection = ag.matmul(x[t], w_ih_t)
            if bias is not None:
                projection = projection + bias
            state = _step(self.mode, projection, state, w_hh_t, b_hh, self.hidden_size)
            states[t] = state
        return ag.stack(states), state

    def _run_lstm(self, x: TensorLike, w_ih, w_hh, bias, state: TensorLike, reverse: bool) -> tuple:
        """An LSTM layer in one direction: the input projection of all steps is one matmul,
        the recurrence one table entry (``ag.lstm_sequence``), whose rule writes every
        step's gradient into one array (no per-step slices of the projection)."""
        steps, batch, features = np.shape(x)
        if reverse:
            x = ag.flip(x, axis=0)
        projection = ag.matmul(ag.reshape(x, (steps * batch, features)), ag.transpose(w_ih))
        if bias is not None:
            projection = projection + bias
        projection = ag.reshape(projection, (steps, batch, 4 * self.hidden_size))
        states = ag.lstm_sequence(projection, w_hh, state)
        final = states[-1]
        if reverse:
            states = ag.flip(states, axis=0)
        return states[..., :self.hidden_size], final

    def _initial_states(self, hx: Any, batch: int, unbatched: bool) -> list:
        """One initial state per layer and direction ((N, 2H) [h | c] for an LSTM)."""
        count = self.num_layers * (2 if self.bidirectional else 1)
        width = self.hidden_size * (2 if self.mode == "LSTM" else 1)
        if hx is None:
            dtype = self.weight_ih_l0.dtype
            return [np.zeros((batch, width), dtype=dtype) for _ in range(count)]
        expected = (count, self.hidden_size) if unbatched else (count, batch, self.hidden_size)
        if self.mode == "LSTM":
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(f"{self._layer}: hx must be a pair (h_0, c_0)")
            h0 = self._check_state(hx[0], expected, "h_0")
            c0 = self._check_state(hx[1], expected, "c_0")
            states = ag.concatenate([h0, c0], axis=-1)
        else:
            states = self._check_state(hx, expected, "h_0")
        if unbatched:
            states = ag.reshape(states, (count, 1, width))
        return [states[k] for k in range(count)]

    def _final_states(self, finals: list, unbatched: bool) -> Any:
        stacked = ag.stack(finals)
        if unbatched:
            stacked = ag.reshape(stacked, (len(finals), -1))
        if self.mode != "LSTM":
            return stacked
        return stacked[..., :self.hidden_size], stacked[..., self.hidden_size:]

    def _dropout(self, x: TensorLike) -> TensorLike:
        """Inverted dropout with probability ``self.dropout`` (between layers, training)."""
        source = np.random if self.rng is None else self.rng
        keep = source.random(np.shape(x)) >= self.dropout
        scale = 0.0 if self.dropout == 1.0 else 1.0 / (1.0 - self.dropout)
        return x * (keep * scale).astype(ag.unwrap(x).dtype)

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if self.mode == "RNN_RELU":
            text += ", nonlinearity='relu'"
        for name, default in (("bias", True), ("batch_first", False), ("dropout", 0.0),
                              ("bidirectional", False)):
            if getattr(self, name) != default:
                text += f", {name}={getattr(self, name)}"
        return text


def _rnn_mode(nonlinearity: str) -> str:
    return {"tanh": "RNN_TANH", "relu": "RNN_RELU"}.get(nonlinearity, nonlinearity)


class RNN(_RNNBase):
    """Elman RNN: ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`` (or relu).
    Parameters ``weight_ih_l{k}`` (H, H_in or D*H), ``weight_hh_l{k}`` (H, H),
    ``bias_ih_l{k}``, ``bias_hh_l{k}`` (H,), ``_reverse`` for the backward direction."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False,
                 rng: np.random.Generator | None = None, dtype: Any = np.float64) -> None:
        super().__init__(_rnn_mode(nonlinearity), input_size, hidden_size, num_layers, bias,
                         batch_first, dropout, bidirectional, rng, dtype)


class LSTM(_RNNBase):
    """Long short-term memory, PyTorch's: gates (input, forget, cell, output) stacked in
    ``weight_ih_l{k}`` (4H, H_in or D*H), ``weight_hh_l{k}`` (4H, H), ``bias_ih_l{k}`` and
    ``bias_hh_l{k}`` (4H,); ``c_t = f c_{t-1} + i g``, ``h_t = o tanh(c_t)``.
    ``forward(input, (h_0, c_0))`` returns ``(output, (h_n, c_n))``."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 rng: np.random.Generator | None = None, dtype: Any = np.float64) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, rng, dtype)


class GRU(_RNNBase):
    """Gated recurrent unit, PyTorch's: gates (reset, update, new) stacked in
    ``weight_ih_l{k}`` (3H, H_in or D*H) and ``weight_hh_l{k}`` (3H, H);
    ``n = tanh(x W_in^T + b_in + r (h W_hn^T + b_hn))``, ``h' = (1 - z) n + z h``."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 rng: np.random.Generator | None = None, dtype: Any = np.float64) -> None:
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, rng, dtype)


class _Cell(_Recurrent):
    """One step of a recurrent layer: parameters ``weight_ih``, ``weight_hh``, ``bias_ih``,
    ``bias_hh`` (as the layers' without the ``_l0`` suffix)."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, bias: bool,
                 rng: np.random.Generator | None, dtype: Any) -> None:
        super().__init__()
        self._init_recurrent(mode, input_size, hidden_size, bias)
        self._add_weights("", input_size, np.random if rng is None else rng, dtype)

    def _state(self, x: TensorLike, hx: Any) -> tuple:
        """(x as (N, H_in), the state (N, H) or [h | c] (N, 2H), whether unbatched)."""
        shape = np.shape(x)
        if len(shape) not in (1, 2) or shape[-1] != self.input_size:
            raise input_error(self._layer, f"input must be (N, {self.input_size}) or "
                              f"({self.input_size},)", shape)
        unbatched = len(shape) == 1
        if unbatched:
            x = ag.reshape(x, (1, shape[0]))
        batch = np.shape(x)[0]
        expected = (self.hidden_size,) if unbatched else (batch, self.hidden_size)
        width = self.hidden_size * (2 if self.mode == "LSTM" else 1)
        if hx is None:
            return x, np.zeros((batch, width), dtype=self.weight_ih.dtype), unbatched
        if self.mode == "LSTM":
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(f"{self._layer}: hx must be a pair (h, c)")
            state = ag.concatenate([self._check_state(hx[0], expected, "h"),
                                    self._check_state(hx[1], expected, "c")], axis=-1)
        else:
            state = self._check_state(hx, expected, "h")
        return x, (ag.reshape(state, (1, width)) if unbatched else state), unbatched

    def forward(self, input: TensorLike, hx: Any = None) -> Any:
        """``input`` (N, H_in) or (H_in,), ``hx`` (N, H) (LSTM: a pair ``(h, c)``), zeros when
        omitted; returns the next ``h`` (LSTM: ``(h, c)``), shaped like ``hx``."""
        x, state, unbatched = self._state(input, hx)
        w_ih, w_hh, b_ih, b_hh = self._weights("")
        projection = ag.matmul(x, ag.transpose(w_ih))
        bias = _input_bias(self.mode, b_ih, b_hh)
        if bias is not None:
            projection = projection + bias
        state = _step(self.mode, projection, state, ag.transpose(w_hh), b_hh, self.hidden_size)
        if unbatched:
            state = ag.reshape(state, (-1,))
        if self.mode != "LSTM":
            return state
        return state[..., :self.hidden_size], state[..., self.hidden_size:]

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.mode == "RNN_RELU":
            text += ", nonlinearity='relu'"
        return text + ("" if self.bias else ", bias=False")


class RNNCell(_Cell):
    """``h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)`` (or relu)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", rng: np.random.Generator | None = None,
                 dtype: Any = np.float64) -> None:
        super().__init__(_rnn_mode(nonlinearity), input_size, hidden_size, bias, rng, dtype)


class LSTMCell(_Cell):
    """One LSTM step: ``forward(x, (h, c))`` returns ``(h', c')`` (see `LSTM`)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 rng: np.random.Generator | None = None, dtype: Any = np.float64) -> None:
        super().__init__("LSTM", input_size, hidden_size, bias, rng, dtype)


class GRUCell(_Cell):
    """One GRU step: ``forward(x, h)`` returns ``h'`` (see `GRU`)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 rng: np.random.Generator | None = None, dtype: Any = np.float64) -> None:
        super().__init__("GRU", input_size, hidden_size, bias, rng, dtype)
