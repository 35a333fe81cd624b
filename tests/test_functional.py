"""Functional transforms (grad, value_and_grad, jacobian, hessian) and gradcheck,
against closed forms, finite differences and HIPS autograd."""
from __future__ import annotations

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd_lite as ag
from oracles import assert_close, numeric_gradient
from test_ops import ELEMENTWISE, REDUCTIONS, STRUCTURAL

RNG = np.random.default_rng(7)


# ---- grad and value_and_grad -------------------------------------------------------------------
def test_grad_of_numpy_written_function_with_array_argument():
    f = lambda x: np.sum(np.sin(x) ** 2)
    x = RNG.standard_normal(5)
    g = ag.grad(f)(x)
    assert isinstance(g, np.ndarray) and g.shape == x.shape
    assert_close(g, 2 * np.sin(x) * np.cos(x))


def test_grad_of_float_argument_is_a_float():
    g = ag.grad(lambda x: x ** 3 + 2 * x)(1.5)
    assert isinstance(g, float) and g == pytest.approx(3 * 1.5 ** 2 + 2)


def test_grad_accepts_tensor_arguments_and_tuples_of_argnums():
    f = lambda a, b, c: ag.sum(a * b) + c * 0
    a, b = RNG.standard_normal(3), ag.Tensor(RNG.standard_normal(3))
    ga, gb = ag.grad(f, argnum=(0, 1))(a, b, 1.0)
    assert_close(ga, b.data)
    assert_close(gb, a)
    value, gb = ag.value_and_grad(f, argnum=1)(a, b, 1.0)
    assert value == pytest.approx(float(a @ b.data))
    assert_close(gb, a)


def test_gradient_of_an_input_the_output_ignores_is_zero():
    assert_close(ag.grad(lambda x, y: ag.sum(y * 2), argnum=0)(np.ones(3), np.ones(2)), np.zeros(3))


def test_non_scalar_output_suggests_jacobian():
    with pytest.raises(TypeError, match="jacobian"):
        ag.grad(lambda x: x * 2)(np.ones(3))


# ---- higher order ---------------------------------------------------------------------------------
def test_polynomial_derivatives_to_third_order():
    f = lambda x: 2 * x ** 4 - 3 * x ** 3 + x
    d1, d2, d3 = ag.grad(f), ag.grad(ag.grad(f)), ag.grad(ag.grad(ag.grad(f)))
    for x in (-1.3, 0.0, 0.7, 2.0):
        assert d1(x) == pytest.approx(8 * x ** 3 - 9 * x ** 2 + 1)
        assert d2(x) == pytest.approx(24 * x ** 2 - 18 * x)
        assert d3(x) == pytest.approx(48 * x - 18)


def test_mixed_partials_through_closures():
    # d/dx d/dy (x^2 y^3) = 6 x y^2, the inner gradient depends on the outer variable.
    dxdy = ag.grad(lambda x: ag.grad(lambda y: x ** 2 * y ** 3)(0.5))
    assert dxdy(1.5) == pytest.approx(6 * 1.5 * 0.5 ** 2)


def test_jacobian_of_softmax_is_diag_s_minus_s_s_transpose():
    x = RNG.standard_normal(5)
    J = ag.jacobian(ag.softmax)(x)
    s = np.exp(x - x.max()) / np.exp(x - x.max()).sum()
    assert J.shape == (5, 5)
    assert_close(J, np.diag(s) - np.outer(s, s), atol=1e-12)


def test_jacobian_shape_is_out_shape_plus_in_shape():
    W = RNG.standard_normal((3, 4))
    J = ag.jacobian(lambda x: ag.tanh(x @ W))(RNG.standard_normal((2, 3)))
    assert J.shape == (2, 4, 2, 3)
    x = RNG.standard_normal((2, 3))
    J = ag.jacobian(lambda v: ag.tanh(v @ W))(x)
    # d tanh(xW)_ik / d x_ac = (1 - tanh^2)_ik W_ck [i == a]
    assert_close(J, np.einsum("ik,ck,ia->ikac", 1 - np.tanh(x @ W) ** 2, W, np.eye(2)))


def test_hessian_of_logistic_regression_is_xt_diag_p_1_minus_p_x():
    X = RNG.standard_normal((20, 3))
    y = (RNG.random(20) > 0.5).astype(float)
    w = RNG.standard_normal(3) * 0.5

    def loss(w):  # mean binary cross-entropy of sigmoid(X w), in the stable softplus form
        z = X @ w
        return ag.mean(ag.logsumexp(ag.stack([np.zeros(20), z], axis=1), axis=1) - y * z)

    p = 1 / (1 + np.exp(-X @ w))
    assert_close(ag.grad(loss)(w), X.T @ (p - y) / 20)
    assert_close(ag.hessian(loss)(w), X.T @ np.diag(p * (1 - p)) @ X / 20, rtol=1e-9)


def test_hessian_matches_hips_autograd_on_a_network_loss():
    X, W2 = RNG.standard_normal((6, 2)), RNG.standard_normal((3, 2))

    def loss(m, w1):
        h = m.tanh(X @ w1)
        logits = h @ W2
        return m.sum(m.log(m.sum(m.exp(logits), axis=1)) - logits[:, 0])

    w1 = RNG.standard_normal((2, 3))
    ours = ag.hessian(lambda w: loss(np, w))(w1)
    assert ours.shape == (2, 3, 2, 3)
    assert_close(ours, autograd.hessian(lambda w: loss(anp, w))(w1), rtol=1e-8)


COMPOSITIONS = [  # random programs of the table's ops, as (name, function)
    ("tanh-matmul-logsumexp", lambda x: ag.logsumexp(ag.tanh(x @ x.T), axis=0).sum()),
    ("broadcast-power-mean", lambda x: ag.mean((x[:, None, :] - x[None, :, :]) ** 2 + 1) ** 0.5),
    ("indexing-softmax", lambda x: (ag.softmax(x[::-1], axis=1)[:, [0, 0, 1]] * x[:, :3]).sum()),
    ("sigmoid-var-concat", lambda x: ag.var(ag.concatenate([ag.sigmoid(x), x ** 2], axis=1), axis=0).sum()),
]


@pytest.mark.parametrize("name,f", COMPOSITIONS, ids=[c[0] for c in COMPOSITIONS])
@settings(max_examples=10, deadline=None)
@given(x=hnp.arrays(np.float64, (3, 4), elements=st.floats(-1.5, 1.5)))
def test_hessian_rows_match_finite_differences_of_the_gradient(name, f, x):
    H = ag.hessian(f)(x)
    direction = np.linspace(-1, 1, x.size).reshape(x.shape)
    numeric = numeric_gradient(lambda v: np.sum(ag.grad(f)(v) * direction), x)
    assert_close(np.einsum("ijkl,ij->kl", H, direction), numeric, rtol=1e-5, atol=1e-6)


# ---- gradcheck ----------------------------------------------------------------------------------------
def _table_cases():
    rng = np.random.default_rng(3)
    for case in ELEMENTWISE:
        binary = case.name in ("add", "subtract", "multiply", "divide", "power", "maximum",
                               "minimum", "where")
        shape_pair = [(2, 3), (3,)] if binary else [(2, 3)]
        inputs = [rng.uniform(0.4, 1.6, size=s) * rng.choice([-1, 1], size=s) for s in shape_pair]
        if case.name in ("log", "log1p", "sqrt", "power"):
            inputs[0] = np.abs(inputs[0])
        yield pytest.param(case.ours, inputs, id=case.name)
    for name, (ours, _) in REDUCTIONS.items():
        yield pytest.param(lambda t, ours=ours: ours(t, axis=1), [rng.standard_normal((3, 4))], id=name)
    for name, ours, _, xs in STRUCTURAL:
        yield pytest.param(ours, list(xs), id=name)
    yield pytest.param(ag.matmul, [rng.standard_normal((2, 3)), rng.standard_normal((3, 4))], id="matmul")
    yield pytest.param(ag.softmax, [rng.standard_normal((2, 3))], id="softmax")


@pytest.mark.parametrize("function,inputs", list(_table_cases()))
def test_gradcheck_and_gradgradcheck_pass_on_every_op_of_the_table(function, inputs):
    assert ag.gradcheck(function, *inputs)
    assert ag.gradcheck(function, *inputs, fast_mode=True)
    assert ag.gradgradcheck(function, *inputs)


def _copy_treated_as_constant(x):
    return x * ag.Tensor(x.data.copy())  # true derivative 2x; the recorded one is x


def test_gradcheck_catches_a_wrong_recorded_gradient():
    with pytest.raises(ag.GradcheckError, match=r"input 0 at element index \(0,\).*analytic 0.5.*numeric 1"):
        ag.gradcheck(_copy_treated_as_constant, np.array([0.5, -1.0]))
    with pytest.raises(ag.GradcheckError, match="fast mode"):
        ag.gradcheck(_copy_treated_as_constant, np.array([0.5, -1.0]), fast_mode=True)


def test_gradgradcheck_catches_a_first_order_only_rule():
    def exp_with_constant_gradient(x):  # right value and gradient, wrong second derivative
        e = ag.exp(x.detach())
        return e * (x - x.detach()) + e

    assert ag.gradcheck(exp_with_constant_gradient, np.array([0.3, 1.0]))
    with pytest.raises(ag.GradcheckError):
        ag.gradgradcheck(exp_with_constant_gradient, np.array([0.3, 1.0]))


def test_gradcheck_names_the_second_input():
    with pytest.raises(ag.GradcheckError, match="input 1"):
        ag.gradcheck(lambda a, b: a * 2 + _copy_treated_as_constant(b), np.ones(2), np.ones((2,)))


def test_gradcheck_refuses_float32():
    with pytest.raises(TypeError, match="float64"):
        ag.gradcheck(ag.exp, np.ones(3, dtype=np.float32))
