"""nn.utils (gradient clipping) and nn.init (initialisation) against hand-written NumPy."""
import math

import numpy as np
import pytest

import autograd_lite as ag
import nn

rng = np.random.default_rng(0)


def with_grads(*grads):
    params = [nn.Parameter(np.zeros_like(g)) for g in grads]
    for p, g in zip(params, grads):
        p.grad = g.copy()
    return params


# ---- clip_grad_norm_ / clip_grad_value_ ------------------------------------------------------------
@pytest.mark.parametrize("norm_type", [1.0, 2.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm(norm_type, max_norm):
    grads = [rng.normal(size=(4, 3)), rng.normal(size=5)]
    flat = np.concatenate([g.ravel() for g in grads])
    expected = (np.abs(flat).max() if norm_type == math.inf
                else (np.abs(flat) ** norm_type).sum() ** (1 / norm_type))
    params = with_grads(*grads)
    total = nn.utils.clip_grad_norm_(params, max_norm, norm_type=norm_type)
    assert isinstance(total, float) and total == pytest.approx(expected, rel=1e-12)
    coef = max_norm / (expected + 1e-6)  # PyTorch's coefficient, applied only when < 1
    for p, g in zip(params, grads):
        if coef < 1:
            np.testing.assert_allclose(p.grad, g * coef, rtol=1e-12)
        else:
            np.testing.assert_array_equal(p.grad, g)


def test_clip_grad_norm_takes_one_tensor_skips_missing_grads_and_keeps_dtype():
    p = nn.Parameter(np.zeros(2, np.float32))
    p.grad = np.array([3.0, 4.0], np.float32)
    assert nn.utils.clip_grad_norm_(p, 1.0) == pytest.approx(5.0)
    assert p.grad.dtype == np.float32
    np.testing.assert_allclose(p.grad, [0.6, 0.8], rtol=1e-6)
    assert nn.utils.clip_grad_norm_([nn.Parameter(np.ones(2))], 1.0) == 0.0


def test_clip_grad_norm_scales_a_shared_gradient_array_once():
    a, b = nn.Parameter(np.zeros(2)), nn.Parameter(np.zeros(2))
    a.grad = b.grad = np.array([3.0, 4.0])  # the same array twice
    total = nn.utils.clip_grad_norm_([a, b], 1.0)
    assert total == pytest.approx(math.sqrt(50), rel=1e-14)
    np.testing.assert_allclose(a.grad, np.array([3.0, 4.0]) / (math.sqrt(50) + 1e-6), rtol=1e-14)
    np.testing.assert_array_equal(a.grad, b.grad)


def test_clip_grad_norm_non_finite():
    params = with_grads(np.array([1.0, np.nan]))
    with pytest.raises(RuntimeError, match="total norm of order 2.0 of the gradients is nan"):
        nn.utils.clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    assert math.isnan(nn.utils.clip_grad_norm_(params, 1.0))


def test_clip_grad_value():
    g = rng.normal(size=(3, 4))
    params = with_grads(g, -g[0])
    params.append(nn.Parameter(np.ones(2)))  # no gradient: skipped
    nn.utils.clip_grad_value_(params, 0.5)
    np.testing.assert_array_equal(params[0].grad, np.clip(g, -0.5, 0.5))
    np.testing.assert_array_equal(params[1].grad, np.clip(-g[0], -0.5, 0.5))
    assert params[2].grad is None


# ---- nn.init -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("nonlinearity, param, gain", [
    ("linear", None, 1.0), ("conv2d", None, 1.0), ("sigmoid", None, 1.0), ("tanh", None, 5 / 3),
    ("relu", None, math.sqrt(2)), ("leaky_relu", None, math.sqrt(2 / (1 + 0.01 ** 2))),
    ("leaky_relu", 0.2, math.sqrt(2 / 1.04)), ("leaky_relu", 0, math.sqrt(2)), ("selu", None, 0.75),
])
def test_calculate_gain(nonlinearity, param, gain):
    assert nn.init.calculate_gain(nonlinearity, param) == pytest.approx(gain, rel=1e-15)


@pytest.mark.parametrize("nonlinearity, param, message", [
    ("gelu", None, "unsupported nonlinearity 'gelu'"),
    ("leaky_relu", "0.1", "negative_slope '0.1' is not a number"),
    ("leaky_relu", True, "negative_slope True"),
])
def test_calculate_gain_errors(nonlinearity, param, message):
    with pytest.raises(ValueError, match=message):
        nn.init.calculate_gain(nonlinearity, param)


@pytest.mark.parametrize("shape, fans", [
    ((64, 10), (64, 10)),            # Linear.weight: (in_features, out_features)
    ((16, 3, 5, 5), (75, 400)),      # Conv2d: (out, in // groups, kh, kw)
    ((8, 4, 3), (12, 24)),           # Conv1d
])
def test_fans_follow_the_library_layouts(shape, fans):
    assert nn.init.calculate_fan_in_and_fan_out(np.empty(shape)) == fans


def test_fans_need_two_dimensions():
    with pytest.raises(ValueError, match=r"at least 2 dimensions, got shape \(5,\)"):
        nn.init.xavier_uniform_(nn.Parameter(np.zeros(5)))


SHAPE = (30, 20, 3)  # a conv-like weight: fan_in 60, fan_out 90
FAN_IN, FAN_OUT = 20 * 3, 30 * 3


@pytest.mark.parametrize("fill, expected", [
    (lambda t, r: nn.init.uniform_(t, -2.0, 3.0, rng=r), lambda r: r.uniform(-2.0, 3.0, SHAPE)),
    (lambda t, r: nn.init.normal_(t, 1.0, 0.5, rng=r), lambda r: r.normal(1.0, 0.5, SHAPE)),
    (lambda t, r: nn.init.xavier_uniform_(t, gain=2.0, rng=r),
     lambda r: r.uniform(-1, 1, SHAPE) * 2.0 * math.sqrt(6 / (FAN_IN + FAN_OUT))),
    (lambda t, r: nn.init.xavier_normal_(t, rng=r),
     lambda r: r.normal(0, 1, SHAPE) * math.sqrt(2 / (FAN_IN + FAN_OUT))),
    (lambda t, r: nn.init.kaiming_uniform_(t, a=math.sqrt(5), rng=r),  # nn.Linear's old default
     lambda r: r.uniform(-1, 1, SHAPE) * math.sqrt(6 / ((1 + 5) * FAN_IN))),
    (lambda t, r: nn.init.kaiming_uniform_(t, mode="fan_out", nonlinearity="relu", rng=r),
     lambda r: r.uniform(-1, 1, SHAPE) * math.sqrt(6 / FAN_OUT)),
    (lambda t, r: nn.init.kaiming_normal_(t, nonlinearity="tanh", rng=r),
     lambda r: r.normal(0, 1, SHAPE) * 5 / 3 / math.sqrt(FAN_IN)),
    (lambda t, r: nn.init.constant_(t, 0.25), lambda r: np.full(SHAPE, 0.25)),
    (lambda t, r: nn.init.zeros_(t), lambda r: np.zeros(SHAPE)),
    (lambda t, r: nn.init.ones_(t), lambda r: np.ones(SHAPE)),
])
def test_init_draws_the_documented_distribution_in_place(fill, expected):
    p = nn.Parameter(np.full(SHAPE, np.nan))
    array = p.data
    loss = (p * p).sum()  # recorded before the fill
    assert fill(p, np.random.default_rng(3)) is p
    assert p.data is array and p.is_leaf and p.requires_grad
    # uniform(-b, b) and b * uniform(-1, 1) round differently near 0: hence the atol
    np.testing.assert_allclose(p.data, expected(np.random.default_rng(3)), rtol=1e-13, atol=1e-15)
    with pytest.raises(RuntimeError, match="in place"):
        loss.backward()


def test_init_uses_the_global_state_keeps_dtype_and_fills_arrays():
    p = nn.Parameter(np.zeros((3, 4), np.float32))
    np.random.seed(7)
    nn.init.normal_(p)
    np.random.seed(7)
    np.testing.assert_allclose(p.data, np.random.normal(0, 1, (3, 4)), rtol=1e-6)
    assert p.dtype == np.float32
    array = np.zeros((3, 4))
    assert nn.init.uniform_(array, 1.0, 2.0, rng=np.random.default_rng(0)) is array
    assert np.all((array >= 1) & (array < 2))
    t = ag.tensor(np.zeros(2))
    nn.init.ones_(t)
    np.testing.assert_array_equal(t.data, [1.0, 1.0])


def test_kaiming_leaves_an_empty_tensor_and_refuses_a_bad_mode():
    empty = nn.Parameter(np.zeros((0, 3)))
    assert nn.init.kaiming_uniform_(empty) is empty
    with pytest.raises(ValueError, match="mode 'fan_avg' is not supported"):
        nn.init.kaiming_normal_(nn.Parameter(np.zeros((2, 3))), mode="fan_avg")
