"""State dicts in PyTorch's layout: ``state_dict(format="torch")`` and
``load_state_dict(state, format="torch")``.

PyTorch itself stays out of the tests: the expected names and shapes below are the ones
PyTorch documents for each layer (``torch.nn.Linear``: weight (out_features,
in_features); ``torch.nn.LSTM``: weight_ih_l{k} (4*hidden_size, input_size), ...).
"""
from __future__ import annotations

import numpy as np
import pytest

import nn

# (how to build the layer, PyTorch's state dict names -> shapes for that call)
LAYERS = {
    "Linear": ("nn.Linear(3, 5)", {"weight": (5, 3), "bias": (5,)}),
    "Linear without bias": ("nn.Linear(3, 5, bias=False)", {"weight": (5, 3)}),
    "Sequential": ("nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))",
                   {"0.weight": (4, 2), "0.bias": (4,), "2.weight": (1, 4), "2.bias": (1,)}),
    "Conv1d": ("nn.Conv1d(4, 6, 3, groups=2)", {"weight": (6, 2, 3), "bias": (6,)}),
    "Conv2d": ("nn.Conv2d(2, 4, (3, 5))", {"weight": (4, 2, 3, 5), "bias": (4,)}),
    "BatchNorm1d": ("nn.BatchNorm1d(5)", {"weight": (5,), "bias": (5,), "running_mean": (5,),
                                          "running_var": (5,), "num_batches_tracked": ()}),
    "BatchNorm2d": ("nn.BatchNorm2d(3)", {"weight": (3,), "bias": (3,), "running_mean": (3,),
                                          "running_var": (3,), "num_batches_tracked": ()}),
    "LayerNorm": ("nn.LayerNorm((4, 5))", {"weight": (4, 5), "bias": (4, 5)}),
    "GroupNorm": ("nn.GroupNorm(2, 6)", {"weight": (6,), "bias": (6,)}),
    "Embedding": ("nn.Embedding(10, 3)", {"weight": (10, 3)}),
    "RNN": ("nn.RNN(3, 5, num_layers=2, bidirectional=True)", {
        f"{kind}_l{layer}{suffix}": shape
        for layer, width in ((0, 3), (1, 10)) for suffix in ("", "_reverse")
        for kind, shape in (("weight_ih", (5, width)), ("weight_hh", (5, 5)),
                            ("bias_ih", (5,)), ("bias_hh", (5,)))}),
    "LSTM": ("nn.LSTM(3, 4)", {"weight_ih_l0": (16, 3), "weight_hh_l0": (16, 4),
                               "bias_ih_l0": (16,), "bias_hh_l0": (16,)}),
    "GRU": ("nn.GRU(3, 4, bias=False)", {"weight_ih_l0": (12, 3), "weight_hh_l0": (12, 4)}),
    "RNNCell": ("nn.RNNCell(3, 4)", {"weight_ih": (4, 3), "weight_hh": (4, 4), "bias_ih": (4,),
                                     "bias_hh": (4,)}),
    "LSTMCell": ("nn.LSTMCell(3, 4)", {"weight_ih": (16, 3), "weight_hh": (16, 4),
                                       "bias_ih": (16,), "bias_hh": (16,)}),
    "GRUCell": ("nn.GRUCell(3, 4)", {"weight_ih": (12, 3), "weight_hh": (12, 4),
                                     "bias_ih": (12,), "bias_hh": (12,)}),
}


def build(name: str):
    expression, expected = LAYERS[name]
    np.random.seed(0)
    layer = eval(expression, {"nn": nn})
    for _, parameter in layer.named_parameters():  # random values: a transpose must show
        parameter.data[...] = np.random.default_rng(1).standard_normal(parameter.shape)
    return layer, expected


@pytest.mark.parametrize("name", LAYERS)
def test_names_and_shapes_are_pytorchs(name):
    layer, expected = build(name)
    state = layer.state_dict(format="torch")
    assert {key: np.shape(value) for key, value in state.items()} == expected


@pytest.mark.parametrize("name", LAYERS)
def test_a_round_trip_through_pytorchs_layout_changes_nothing(name):
    layer, _ = build(name)
    before = layer.state_dict()
    layer.load_state_dict(layer.state_dict(format="torch"), format="torch")
    after = layer.state_dict()
    assert list(after) == list(before)
    for key in before:
        np.testing.assert_array_equal(after[key], before[key], err_msg=key)
        assert after[key].dtype == before[key].dtype


def test_only_linear_weights_are_transposed():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 3))
    native, torch = model.state_dict(), model.state_dict(format="torch")
    np.testing.assert_array_equal(torch["0.weight"], native["0.weight"].T)
    np.testing.assert_array_equal(torch["2.weight"], native["2.weight"].T)  # square: values tell
    np.testing.assert_array_equal(torch["0.bias"], native["0.bias"])
    assert torch["0.weight"].flags.c_contiguous  # as torch.from_numpy likes it


def test_loading_pytorchs_layout_transposes_back_and_errors_stay_clear():
    source, target = nn.Linear(2, 3), nn.Linear(2, 3)
    target.load_state_dict(source.state_dict(format="torch"), format="torch")
    np.testing.assert_array_equal(target.weight.data, source.weight.data)
    with pytest.raises(ValueError, match=r"'weight' has shape \(3, 2\), the parameter \(2, 3\)"):
        target.load_state_dict(source.state_dict(), format="torch")  # not PyTorch's layout
    with pytest.raises(ValueError, match="format must be 'native' or 'torch'"):
        target.state_dict(format="pytorch")


def test_the_readme_round_trip_runs(tmp_path, monkeypatch):
    from oracles import readme_block
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(readme_block("## Export"), "README.md", "exec"), namespace)
    model, state = namespace["model"], namespace["state"]
    assert {k: v.shape for k, v in state.items()} == {
        "0.weight": (16, 4), "0.bias": (16,), "2.weight": (3, 16), "2.bias": (3,)}
    np.testing.assert_array_equal(state["0.weight"], model[0].weight.data.T)
