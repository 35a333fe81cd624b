"""RNN, LSTM, GRU and their cells against recurrences written here in NumPy (PyTorch's
equations), gradients by finite differences, and the documented parameter names/shapes."""
from __future__ import annotations

import re

import numpy as np
import pytest

import autograd_lite as ag
import nn
from oracles import assert_close, numeric_gradient

RNG = np.random.default_rng(5)


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def numpy_step(mode, x, h, c, w_ih, w_hh, b_ih, b_hh):
    """One step by PyTorch's documented equations (gate order i, f, g, o / r, z, n)."""
    gi, gh = x @ w_ih.T + b_ih, h @ w_hh.T + b_hh
    if mode == "LSTM":
        i, f, g, o = np.split(gi + gh, 4, axis=-1)
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        return _sigmoid(o) * np.tanh(c), c
    if mode == "GRU":
        (ir, iz, in_), (hr, hz, hn) = np.split(gi, 3, axis=-1), np.split(gh, 3, axis=-1)
        r, z = _sigmoid(ir + hr), _sigmoid(iz + hz)
        n = np.tanh(in_ + r * hn)
        return (1 - z) * n + z * h, c
    return (np.tanh if mode == "tanh" else lambda v: np.maximum(v, 0))(gi + gh), c


def numpy_network(module, mode, x, h0, c0):
    """The whole multi-layer, bidirectional network, step by step (x (T, N, I))."""
    directions = 2 if module.bidirectional else 1
    state = dict(module.named_parameters())
    layer_input, hs, cs = x, [], []
    for layer in range(module.num_layers):
        outputs = []
        for d in range(directions):
            suffix = f"_l{layer}" + ("_reverse" if d else "")
            weights = [state[n + suffix].data for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            h, c = h0[layer * directions + d], c0[layer * directions + d]
            out = [None] * len(x)
            for t in (reversed(range(len(x))) if d else range(len(x))):
                h, c = numpy_step(mode, layer_input[t], h, c, *weights)
                out[t] = h
            outputs.append(np.stack(out))
            hs.append(h)
            cs.append(c)
        layer_input = np.concatenate(outputs, axis=-1)
    return layer_input, np.stack(hs), np.stack(cs)


def _make(mode, **options):
    rng = np.random.default_rng(0)
    if mode == "LSTM":
        return nn.LSTM(3, 4, rng=rng, **options)
    if mode == "GRU":
        return nn.GRU(3, 4, rng=rng, **options)
    return nn.RNN(3, 4, nonlinearity=mode, rng=rng, **options)


MODES = ["LSTM", "GRU", "tanh", "relu"]
CONFIGS = [dict(), dict(num_layers=2, bidirectional=True), dict(num_layers=2, batch_first=True)]


@pytest.mark.parametrize("options", CONFIGS, ids=str)
@pytest.mark.parametrize("mode", MODES)
def test_recurrent_layers_match_the_numpy_recurrence(mode, options):
    module = _make(mode, **options)
    directions = 2 if module.bidirectional else 1
    x = RNG.standard_normal((5, 2, 3))
    h0 = RNG.standard_normal((module.num_layers * directions, 2, 4))
    c0 = RNG.standard_normal(h0.shape)
    expected, h_n, c_n = numpy_network(module, mode, x, h0, c0)
    given = np.swapaxes(x, 0, 1) if module.batch_first else x
    output, state = module(given, (h0, c0) if mode == "LSTM" else h0)
    got_h = state[0] if mode == "LSTM" else state
    assert_close(np.swapaxes(output.data, 0, 1) if module.batch_first else output.data, expected, rtol=1e-12)
    assert_close(got_h.data, h_n, rtol=1e-12)
    if mode == "LSTM":
        assert_close(state[1].data, c_n, rtol=1e-12)
    # zeros when no state is given, and unbatched (L, H_in) input
    zeros = np.zeros_like(h0)
    expected0, h_n0, _ = numpy_network(module, mode, x, zeros, zeros)
    assert_close(module(given)[0].data, np.swapaxes(expected0, 0, 1) if module.batch_first else expected0,
                 rtol=1e-12)
    single, single_state = module(x[:, 0])
    assert_close(single.data, expected0[:, 0], rtol=1e-12)
    assert (single_state[0] if mode == "LSTM" else single_state).shape == h_n0[:, 0].shape


@pytest.mark.parametrize("mode", MODES)
def test_recurrent_gradients_match_finite_differences(mode):
    module = _make(mode, bidirectional=True)
    x = RNG.standard_normal((3, 2, 3))
    weights = RNG.standard_normal((3, 2, 8))

    def loss(v):
        return ag.sum(module(v)[0] * weights)

    assert ag.gradcheck(loss, x)
    module.zero_grad()
    loss(x).backward()
    for name, parameter in module.named_parameters():
        def f(value, parameter=parameter):
            saved = parameter.data
            parameter.data = value
            with ag.no_grad():
                result = loss(x).item()
            parameter.data = saved
            return result
        assert_close(parameter.grad, numeric_gradient(f, parameter.data), rtol=1e-6, atol=1e-8, what=name)


def test_lstm_second_order_through_the_fused_cell():
    module = nn.LSTM(2, 3, rng=np.random.default_rng(1))
    assert ag.gradgradcheck(lambda x: module(x)[0], RNG.standard_normal((3, 1, 2)))


def test_parameter_names_and_shapes_are_pytorchs():
    lstm = nn.LSTM(16, 64, num_layers=2, bidirectional=True)
    expected = {}
    for layer, size in ((0, 16), (1, 128)):
        for suffix in ("", "_reverse"):
            expected |= {f"weight_ih_l{layer}{suffix}": (256, size), f"weight_hh_l{layer}{suffix}": (256, 64),
                         f"bias_ih_l{layer}{suffix}": (256,), f"bias_hh_l{layer}{suffix}": (256,)}
    state = lstm.state_dict()
    assert list(state) == list(expected)  # PyTorch's order too
    assert {k: v.shape for k, v in state.items()} == expected
    assert {k: v.shape for k, v in nn.GRU(5, 7, bias=False).state_dict().items()} == {
        "weight_ih_l0": (21, 5), "weight_hh_l0": (21, 7)}
    assert nn.RNN(5, 7).state_dict()["weight_ih_l0"].shape == (7, 5)
    assert {k: v.shape for k, v in nn.LSTMCell(5, 7).state_dict().items()} == {
        "weight_ih": (28, 5), "weight_hh": (28, 7), "bias_ih": (28,), "bias_hh": (28,)}
    assert nn.GRUCell(5, 7).state_dict()["weight_hh"].shape == (21, 7)
    assert nn.RNNCell(5, 7).state_dict()["weight_ih"].shape == (7, 5)


def test_initialisation_is_uniform_within_one_over_sqrt_hidden_drawn_in_order():
    lstm = nn.LSTM(3, 4, rng=np.random.default_rng(9))
    source = np.random.default_rng(9)
    for name, parameter in lstm.named_parameters():
        assert_close(parameter.data, source.uniform(-0.5, 0.5, parameter.shape), what=name)


@pytest.mark.parametrize("mode", ["LSTM", "GRU", "tanh"])
def test_cells_match_one_numpy_step(mode):
    cls = {"LSTM": nn.LSTMCell, "GRU": nn.GRUCell, "tanh": nn.RNNCell}[mode]
    cell = cls(3, 4, rng=np.random.default_rng(2))
    weights = [getattr(cell, n).data for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    x, h, c = RNG.standard_normal((2, 3)), RNG.standard_normal((2, 4)), RNG.standard_normal((2, 4))
    expected_h, expected_c = numpy_step(mode, x, h, c, *weights)
    out = cell(x, (h, c) if mode == "LSTM" else h)
    assert_close((out[0] if mode == "LSTM" else out).data, expected_h, rtol=1e-12)
    if mode == "LSTM":
        assert_close(out[1].data, expected_c, rtol=1e-12)
    zero_h, _ = numpy_step(mode, x[0], np.zeros(4), np.zeros(4), *weights)
    single = cell(x[0])
    assert_close((single[0] if mode == "LSTM" else single).data, zero_h, rtol=1e-12)


def test_dropout_between_layers_only_in_training():
    lstm = nn.LSTM(3, 4, num_layers=2, dropout=0.5, rng=np.random.default_rng(3))
    plain = nn.LSTM(3, 4, num_layers=2, rng=np.random.default_rng(3))
    x = RNG.standard_normal((4, 2, 3))
    assert not np.allclose(lstm(x)[0].data, plain(x)[0].data)
    lstm.eval()
    assert_close(lstm(x)[0].data, plain(x)[0].data)


def test_recurrent_errors_name_the_layer():
    lstm = nn.LSTM(16, 8)
    with pytest.raises(ValueError, match=re.escape("LSTM(input_size=16): input has 15 features "
                                                   "(shape (5, 2, 15))")):
        lstm(np.zeros((5, 2, 15)))
    with pytest.raises(ValueError, match=re.escape("LSTM(input_size=16): h_0 must have shape (1, 2, 8)")):
        lstm(np.zeros((5, 2, 16)), (np.zeros((1, 3, 8)), np.zeros((1, 2, 8))))
    with pytest.raises(TypeError, match="pair"):
        lstm(np.zeros((5, 2, 16)), np.zeros((1, 2, 8)))
    with pytest.raises(ValueError, match=re.escape("GRUCell(input_size=3)")):
        nn.GRUCell(3, 4)(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(3, 4, nonlinearity="sigmoid")


# ---- the LSTM layer's recurrence as one entry (ag.lstm_sequence) ----------------------------
def _sequence_inputs(steps=4, batch=(3,), hidden=2, seed=11):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((steps, *batch, 4 * hidden)),
            rng.standard_normal((4 * hidden, hidden)), rng.standard_normal((*batch, 2 * hidden)))


def _steps_with_cells(projection, w_hh, state):
    """The same recurrence step by step: a matmul, an add and `lstm_cell` per step."""
    hidden = np.shape(w_hh)[-1]
    states = []
    for t in range(np.shape(projection)[0]):
        state = ag.lstm_cell(projection[t] + ag.matmul(state[..., :hidden], ag.transpose(w_hh)), state)
        states.append(state)
    return ag.stack(states)


@pytest.mark.parametrize("batch", [(3,), (2, 1), ()], ids=str)
def test_lstm_sequence_gradients_to_second_order(batch):
    inputs = _sequence_inputs(batch=batch)
    assert ag.gradcheck(ag.lstm_sequence, *inputs)
    assert ag.gradgradcheck(ag.lstm_sequence, *inputs)


def test_lstm_sequence_is_the_steps_of_lstm_cell_and_its_fast_rule_their_gradient():
    # The fused rule (backpropagation through time from the residual, in a plain backward)
    # against the step-by-step graph of lstm_cell entries, and against the entry's own rule
    # under create_graph (recomputed with table operations).
    inputs = _sequence_inputs(steps=5, batch=(4,), hidden=3)
    weights = RNG.standard_normal((5, 4, 6))
    results = []
    for how in ("fused", "steps", "fused, create_graph"):
        leaves = [ag.Tensor(a, requires_grad=True) for a in inputs]
        run = _steps_with_cells if how == "steps" else ag.lstm_sequence
        out = run(*leaves)
        grads = ag.engine.backprop(ag.sum(out * weights), np.array(1.0), inputs=tuple(leaves),
                                   create_graph=how.endswith("create_graph"))
        results.append((out.data, [ag.unwrap(g) for g in grads]))
    for out, grads in results[1:]:
        assert_close(out, results[0][0], rtol=1e-12, atol=1e-14)
        for got, expected in zip(grads, results[0][1]):
            assert_close(got, expected, rtol=1e-10, atol=1e-12)


def test_lstm_sequence_runs_one_pass_through_time_for_all_three_gradients(monkeypatch):
    from autograd_lite.primitives import recurrent
    calls = []
    original = recurrent._lstm_sequence_backward
    monkeypatch.setattr(recurrent, "_lstm_sequence_backward",
                        lambda *args: calls.append(1) or original(*args))
    leaves = [ag.Tensor(a, requires_grad=True) for a in _sequence_inputs()]
    out = ag.lstm_sequence(*leaves)
    first = RNG.standard_normal(out.shape)
    ag.sum(out * first).backward(retain_graph=True)
    assert len(calls) == 1
    grads = [leaf.grad.copy() for leaf in leaves]
    # A second backward (another gradient) is not served the first one's result.
    for leaf in leaves:
        leaf.grad = None
    ag.sum(out * (2 * first)).backward()
    assert len(calls) == 2
    for leaf, grad in zip(leaves, grads):
        assert_close(leaf.grad, 2 * grad, rtol=1e-12)


def test_lstm_sequence_keeps_float32_and_checks_shapes():
    projection, w_hh, state = (a.astype(np.float32) for a in _sequence_inputs())
    leaves = [ag.Tensor(a, requires_grad=True) for a in (projection, w_hh, state)]
    out = ag.lstm_sequence(*leaves)
    ag.sum(out).backward()
    assert out.dtype == np.float32 and all(leaf.grad.dtype == np.float32 for leaf in leaves)
    with pytest.raises(ValueError, match="lstm_sequence"):
        ag.lstm_sequence(projection[..., :4], w_hh, state)
    with pytest.raises(ValueError, match="lstm_sequence"):
        ag.lstm_sequence(projection, w_hh, state[:2])


@pytest.mark.parametrize("bidirectional", [False, True])
def test_the_lstm_layer_records_one_sequence_entry_per_direction(bidirectional):
    from autograd_lite.engine import graph_nodes
    module = nn.LSTM(3, 4, bidirectional=bidirectional, rng=np.random.default_rng(2))
    output, _ = module(RNG.standard_normal((6, 2, 3)))
    ops = [t.grad_fn.op.name for t in graph_nodes(output)]
    assert ops.count("lstm_sequence") == (2 if bidirectional else 1)
    assert "lstm_cell" not in ops
