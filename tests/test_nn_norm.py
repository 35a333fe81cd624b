"""BatchNorm, LayerNorm and GroupNorm against their definitions written in NumPy here,
PyTorch's running statistics (unbiased variance, momentum, cumulative average), and the
documented state-dict names and shapes."""
from __future__ import annotations

import re

import numpy as np
import pytest

import autograd_lite as ag
import nn
from oracles import assert_close

RNG = np.random.default_rng(11)


def _normalized(x, axes, eps=1e-5):
    mean = x.mean(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(x.var(axis=axes, keepdims=True) + eps)


def test_batchnorm2d_state_dict_is_pytorchs():
    state = nn.BatchNorm2d(8).state_dict()
    assert list(state) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert [state[k].shape for k in state] == [(8,), (8,), (8,), (8,), ()]
    assert state["num_batches_tracked"].dtype == np.int64
    assert_close(state["running_var"], np.ones(8))
    assert list(nn.BatchNorm1d(3, affine=False).state_dict()) == [
        "running_mean", "running_var", "num_batches_tracked"]
    assert nn.BatchNorm1d(3, track_running_stats=False).state_dict().keys() == {"weight", "bias"}


def test_batchnorm_training_normalises_per_channel_and_updates_running_stats():
    bn = nn.BatchNorm2d(3)
    with ag.no_grad():
        bn.weight.copy_(np.array([1.0, 2.0, 0.5]))
        bn.bias.copy_(np.array([0.0, -1.0, 3.0]))
    batches = [RNG.normal(2.0, 3.0, (4, 3, 2, 5)) for _ in range(2)]
    mean, var = np.zeros(3), np.ones(3)
    for x in batches:
        y = bn(x)
        expected = _normalized(x, (0, 2, 3)) * bn.weight.data[:, None, None] + bn.bias.data[:, None, None]
        assert_close(y.data, expected, rtol=1e-12)
        mean = 0.9 * mean + 0.1 * x.mean(axis=(0, 2, 3))
        var = 0.9 * var + 0.1 * x.var(axis=(0, 2, 3), ddof=1)  # unbiased, as PyTorch
    assert_close(bn.running_mean, mean, rtol=1e-12)
    assert_close(bn.running_var, var, rtol=1e-12)
    assert int(bn.num_batches_tracked) == 2


def test_batchnorm_momentum_none_is_the_cumulative_average():
    bn = nn.BatchNorm1d(2, momentum=None)
    batches = [RNG.standard_normal((5, 2)) * (k + 1) for k in range(3)]
    for x in batches:
        bn(x)
    assert_close(bn.running_mean, np.mean([x.mean(0) for x in batches], axis=0), rtol=1e-12)
    assert_close(bn.running_var, np.mean([x.var(0, ddof=1) for x in batches], axis=0), rtol=1e-12)


def test_batchnorm_eval_uses_running_stats_and_they_survive_save_and_load(tmp_path):
    bn = nn.BatchNorm1d(3)
    for _ in range(3):
        bn(RNG.normal(1.0, 2.0, (6, 3, 4)))
    bn.eval()
    x = RNG.standard_normal((2, 3, 4))
    expected = (x - bn.running_mean[:, None]) / np.sqrt(bn.running_var[:, None] + 1e-5)
    assert_close(bn(x).data, expected, rtol=1e-12)
    bn.save(tmp_path / "bn.npz")
    fresh = nn.BatchNorm1d(3).load(tmp_path / "bn.npz").eval()
    assert_close(fresh(x).data, expected, rtol=1e-12)
    assert int(fresh.num_batches_tracked) == 3


def test_batchnorm_without_running_stats_always_uses_the_batch():
    bn = nn.BatchNorm2d(2, track_running_stats=False, affine=False).eval()
    x = RNG.standard_normal((3, 2, 2, 2))
    assert_close(bn(x).data, _normalized(x, (0, 2, 3)), rtol=1e-12)
    assert bn.running_mean is None and list(bn.buffers()) == []


def test_batchnorm_gradients():
    bn = nn.BatchNorm2d(2)
    x = RNG.standard_normal((3, 2, 2, 2))
    assert ag.gradcheck(lambda x: bn(x), x)
    assert ag.gradgradcheck(lambda x: bn(x) ** 2, x)
    g = RNG.standard_normal(x.shape)
    (bn(x) * g).sum().backward()  # closed forms for the affine parameters
    assert_close(bn.weight.grad, (g * _normalized(x, (0, 2, 3))).sum(axis=(0, 2, 3)), rtol=1e-10)
    assert_close(bn.bias.grad, g.sum(axis=(0, 2, 3)), rtol=1e-12)


def test_batchnorm_errors_name_the_layer():
    with pytest.raises(ValueError, match=re.escape("BatchNorm2d(num_features=3): input has 4 channels "
                                                   "(shape (2, 4, 5, 5))")):
        nn.BatchNorm2d(3)(np.zeros((2, 4, 5, 5)))
    with pytest.raises(ValueError, match=re.escape("BatchNorm1d(num_features=3): input must be")):
        nn.BatchNorm1d(3)(np.zeros((2, 3, 4, 4)))
    with pytest.raises(ValueError, match="more than one value per channel"):
        nn.BatchNorm1d(3)(np.zeros((1, 3)))


def test_layernorm_normalises_each_sample_over_the_last_axes():
    ln = nn.LayerNorm((3, 4))
    assert {k: v.shape for k, v in ln.state_dict().items()} == {"weight": (3, 4), "bias": (3, 4)}
    with ag.no_grad():
        ln.weight.copy_(RNG.standard_normal((3, 4)))
        ln.bias.copy_(RNG.standard_normal((3, 4)))
    x = RNG.normal(5.0, 2.0, (2, 5, 3, 4))
    assert_close(ln(x).data, _normalized(x, (2, 3)) * ln.weight.data + ln.bias.data, rtol=1e-12)
    assert ag.gradcheck(lambda x: ln(x), x[:1, :2])
    assert ag.gradgradcheck(lambda x: nn.LayerNorm(4)(x) ** 2, x[0, :2, 0])
    assert nn.LayerNorm(4, elementwise_affine=False).state_dict() == {}
    with pytest.raises(ValueError, match=re.escape("LayerNorm(normalized_shape=(3, 4)): input does not "
                                                   "end in (3, 4) (shape (2, 4, 3))")):
        ln(np.zeros((2, 4, 3)))


def test_groupnorm_normalises_groups_of_channels():
    gn = nn.GroupNorm(2, 4)
    assert {k: v.shape for k, v in gn.state_dict().items()} == {"weight": (4,), "bias": (4,)}
    with ag.no_grad():
        gn.weight.copy_(np.array([1.0, 2.0, 3.0, 4.0]))
    x = RNG.standard_normal((3, 4, 2, 5))
    grouped = _normalized(x.reshape(3, 2, -1), (2,)).reshape(x.shape)
    assert_close(gn(x).data, grouped * gn.weight.data[:, None, None], rtol=1e-12)
    # one group is LayerNorm over (C, H, W); as many groups as channels is instance norm
    assert_close(nn.GroupNorm(1, 4, affine=False)(x).data, _normalized(x, (1, 2, 3)), rtol=1e-12)
    assert_close(nn.GroupNorm(4, 4, affine=False)(x).data, _normalized(x, (2, 3)), rtol=1e-12)
    assert ag.gradcheck(lambda x: gn(x), x[:2, :, :1])
    with pytest.raises(ValueError, match="must divide"):
        nn.GroupNorm(3, 4)
    with pytest.raises(ValueError, match=re.escape("GroupNorm(num_groups=2, num_channels=4)")):
        gn(np.zeros((3, 5, 2)))


def test_norm_layers_are_stable_for_large_offsets():
    x = 1e8 + RNG.standard_normal((8, 3))  # E[x^2] - E[x]^2 would lose every digit
    assert_close(nn.BatchNorm1d(3)(x).data, _normalized(x, (0,)), rtol=1e-6)
    assert_close(nn.LayerNorm(3)(x).data, _normalized(x, (1,)), rtol=1e-6)
