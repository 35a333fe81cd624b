"""erf (a table entry) and the activations (composites), against math.erf and closed
forms written here; gradients by finite differences, PyTorch's conventions at kinks."""
from __future__ import annotations

import math

import numpy as np
import pytest

import autograd_lite as ag
import nn
from oracles import assert_close

X = np.concatenate([np.linspace(-6, 6, 97), [-40.0, -25.0, -3.0, -0.5, 0.3, 2.0, 25.0, 40.0]])
_math_erf = np.vectorize(math.erf)


def test_erf_is_float64_accurate_against_math_erf():
    x = np.concatenate([np.linspace(-30, 30, 60001), np.linspace(-0.6, 0.6, 4001),
                        [0.46875, -0.46875, 4.0, -4.0, 5e-324, -0.0, 26.6]])
    got = ag.erf(x).data
    reference = _math_erf(x)
    assert np.max(np.abs(got - reference)) <= 4.5e-16
    tiny = np.abs(reference) > 0
    assert np.max(np.abs(got - reference)[tiny] / np.abs(reference[tiny])) <= 1e-15
    assert np.all(got[x != 0] == -ag.erf(-x[x != 0]).data)  # odd


def test_erf_special_values_and_float32():
    assert_close(ag.erf(np.array([np.inf, -np.inf, 0.0])).data, [1.0, -1.0, 0.0])
    assert np.isnan(ag.erf(np.array([np.nan])).data[0])
    y = ag.erf(np.array([0.5], dtype=np.float32))
    assert y.dtype == np.float32 and abs(float(y.data[0]) - math.erf(0.5)) < 1e-7


def test_erf_derivatives_are_the_gaussian_and_its_derivative():
    x = ag.tensor(np.linspace(-3, 3, 13), requires_grad=True)
    ag.erf(x).sum().backward()
    assert_close(x.grad, 2 / np.sqrt(np.pi) * np.exp(-x.data ** 2), rtol=1e-14)
    second = ag.grad(lambda v: ag.sum(ag.grad(lambda u: ag.sum(ag.erf(u)))(v)))(x.data)
    assert_close(second, -4 * x.data / np.sqrt(np.pi) * np.exp(-x.data ** 2), rtol=1e-12)


def _sigmoid(x):
    return 0.5 * (1 + np.tanh(0.5 * x))


def _softplus(x, beta=1.0, threshold=20.0):
    return np.where(beta * x > threshold, x, np.logaddexp(0, beta * x) / beta)


# name -> (ours, closed form in NumPy, its derivative)
CLOSED_FORMS = {
    "gelu": (ag.gelu, lambda x: 0.5 * x * (1 + _math_erf(x / np.sqrt(2))),
             lambda x: 0.5 * (1 + _math_erf(x / np.sqrt(2))) + x * np.exp(-x * x / 2) / np.sqrt(2 * np.pi)),
    "gelu tanh": (lambda x: ag.gelu(x, approximate="tanh"),
                  lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3))), None),
    "leaky_relu 0.2": (lambda x: ag.leaky_relu(x, 0.2), lambda x: np.where(x > 0, x, 0.2 * x),
                       lambda x: np.where(x > 0, 1.0, 0.2)),
    "elu 1.5": (lambda x: ag.elu(x, 1.5), lambda x: np.where(x > 0, x, 1.5 * np.expm1(np.minimum(x, 0))),
                lambda x: np.where(x > 0, 1.0, 1.5 * np.exp(np.minimum(x, 0)))),
    "silu": (ag.silu, lambda x: x * _sigmoid(x), lambda x: _sigmoid(x) * (1 + x * (1 - _sigmoid(x)))),
    "softplus": (ag.softplus, _softplus, lambda x: np.where(x > 20, 1.0, _sigmoid(x))),
    "softplus beta 2": (lambda x: ag.softplus(x, beta=2.0, threshold=10.0),
                        lambda x: _softplus(x, 2.0, 10.0), lambda x: np.where(2 * x > 10, 1.0, _sigmoid(2 * x))),
    "mish": (ag.mish, lambda x: x * np.tanh(_softplus(x)), None),
    "hardtanh": (lambda x: ag.hardtanh(x, -2.0, 1.5), lambda x: np.clip(x, -2.0, 1.5),
                 lambda x: ((x > -2.0) & (x < 1.5)).astype(float)),
}


@pytest.mark.parametrize("name", list(CLOSED_FORMS))
def test_activation_values_and_gradients_match_closed_forms(name):
    ours, value, derivative = CLOSED_FORMS[name]
    x = ag.tensor(X, requires_grad=True)
    y = ours(x)
    assert np.all(np.isfinite(y.data))
    assert_close(y.data, value(X), rtol=1e-13, atol=1e-15)
    y.sum().backward()
    if derivative is not None:
        assert_close(x.grad, derivative(X), rtol=1e-12, atol=1e-15)
    kinks = np.array([0.0, -2.0, 1.5])  # leaky_relu, elu at 0; the hardtanh bounds
    smooth = X[(np.abs(X) < 5) & (np.abs(X[:, None] - kinks).min(axis=1) > 1e-3)]
    assert ag.gradcheck(ours, smooth)
    assert ag.gradgradcheck(ours, smooth)


def test_kink_conventions_are_pytorchs():
    def grad_at(f, point):
        x = ag.tensor(np.array([point]), requires_grad=True)
        f(x).sum().backward()
        return x.grad[0]

    assert grad_at(lambda x: ag.leaky_relu(x, 0.1), 0.0) == pytest.approx(0.1)
    assert grad_at(lambda x: ag.elu(x, 2.0), 0.0) == pytest.approx(2.0)
    assert grad_at(ag.hardtanh, 1.0) == 0.0 and grad_at(ag.hardtanh, -1.0) == 0.0
    assert grad_at(ag.softplus, 20.0) == pytest.approx(_sigmoid(20.0))


def test_large_inputs_do_not_overflow():
    with np.errstate(over="raise", invalid="raise"):
        big = np.array([-1000.0, 1000.0])
        assert_close(ag.softplus(big).data, [0.0, 1000.0])
        assert_close(ag.elu(big).data, [-1.0, 1000.0])
        assert_close(ag.gelu(big).data, [0.0, 1000.0])
        assert_close(ag.mish(big).data, [0.0, 1000.0], atol=1e-300)


MODULES = [(nn.GELU(), ag.gelu), (nn.GELU("tanh"), lambda x: ag.gelu(x, "tanh")),
           (nn.LeakyReLU(0.3), lambda x: ag.leaky_relu(x, 0.3)), (nn.ELU(0.5), lambda x: ag.elu(x, 0.5)),
           (nn.SiLU(), ag.silu), (nn.Softplus(2.0, 5.0), lambda x: ag.softplus(x, 2.0, 5.0)),
           (nn.Mish(), ag.mish), (nn.Hardtanh(-0.5, 0.5), lambda x: ag.hardtanh(x, -0.5, 0.5))]


@pytest.mark.parametrize("module,function", MODULES, ids=lambda m: repr(m) if isinstance(m, nn.Module) else "")
def test_activation_modules_compute_their_functions_and_have_no_parameters(module, function):
    assert_close(module(X).data, function(X).data)
    assert list(module.parameters()) == [] and module.state_dict() == {}


def test_activation_module_arguments_are_checked():
    with pytest.raises(ValueError, match="approximate"):
        nn.GELU("fast")
    with pytest.raises(ValueError, match="min_val"):
        nn.Hardtanh(1.0, -1.0)
    assert repr(nn.LeakyReLU(0.2)) == "LeakyReLU(negative_slope=0.2)"
