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


# ---- containers (pytrees) ---------------------------------------------------------------------
X6, Y6 = RNG.standard_normal((6, 3)), RNG.standard_normal(6)


def _tree_loss(params, m=np):
    """A two-layer regression loss over nested containers: a dict holding a list of
    (weight, bias) tuples and a Python float."""
    h = X6
    for w, b in params["layers"][:-1]:
        h = m.tanh(h @ w + b)
    w, b = params["layers"][-1]
    return m.mean((h @ w + b - Y6) ** 2) + params["decay"] * m.sum(params["layers"][0][0] ** 2)


def _tree_params():
    return {"layers": [(RNG.standard_normal((3, 4)), RNG.standard_normal(4)),
                       (RNG.standard_normal(4), 0.3)],
            "decay": 0.01}


def _flat_loss(vector, treedef, shapes):
    """`_tree_loss` of one flat vector, cut into the leaves' shapes: the flattened computation."""
    leaves, start = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        piece = vector[start:start + size]
        leaves.append(piece.reshape(shape) if shape else piece[0])
        start += size
    return _tree_loss(ag.tree_unflatten(treedef, leaves))


def test_pytree_gradients_equal_the_flattened_computation_and_hips():
    params = _tree_params()
    leaves, treedef = ag.tree_flatten(params)
    shapes = [np.shape(x) for x in leaves]
    g = ag.grad(_tree_loss)(params)
    assert ag.tree_flatten(g)[1] == treedef  # the same structure: dict, list, tuples
    assert isinstance(g["decay"], float) and isinstance(g["layers"][1][1], float)
    vector = np.concatenate([np.ravel(x) for x in leaves])
    flat = ag.grad(_flat_loss)(vector, treedef, shapes)
    assert_close(np.concatenate([np.ravel(x) for x in ag.tree_flatten(g)[0]]), flat, rtol=1e-12)
    hips = autograd.grad(lambda p: _tree_loss(p, anp))(params)  # HIPS differentiates containers too
    for ours, theirs in zip(ag.tree_flatten(g)[0], ag.tree_flatten(hips)[0]):
        assert_close(ours, theirs, rtol=1e-10)
    value, g2 = ag.value_and_grad(_tree_loss)(params)
    assert value == pytest.approx(_tree_loss(params))
    ag.tree_map(lambda a, b: assert_close(a, b, rtol=0, atol=0), g2, g)


def test_containers_may_hold_tensors_and_tuples_of_argnums_mix_containers():
    params = _tree_params()
    params["layers"][0] = (ag.Tensor(params["layers"][0][0]), params["layers"][0][1])
    f = lambda p, scale: _tree_loss(p) * scale
    gp, gs = ag.grad(f, argnum=(0, 1))(params, 2.0)
    plain = ag.tree_map(ag.unwrap, params)
    assert isinstance(gp["layers"][0][0], np.ndarray)
    ag.tree_map(lambda a, b: assert_close(a, 2 * b, rtol=1e-12), gp, ag.grad(_tree_loss)(plain))
    assert gs == pytest.approx(_tree_loss(plain))


def test_jacobian_and_hessian_of_container_arguments_match_the_flattened_ones():
    params = {"a": RNG.standard_normal(3), "b": [RNG.standard_normal((2, 3))]}
    f = lambda p: ag.tanh(p["b"][0] @ p["a"])           # R^3 x R^6 -> R^2
    J = ag.jacobian(f)(params)
    J_a = ag.jacobian(lambda a: f({"a": a, "b": params["b"]}))(params["a"])
    J_b = ag.jacobian(lambda b: f({"a": params["a"], "b": [b]}))(params["b"][0])
    assert J["a"].shape == (2, 3) and J["b"][0].shape == (2, 2, 3)
    assert_close(J["a"], J_a, rtol=1e-12)
    assert_close(J["b"][0], J_b, rtol=1e-12)
    scalar = lambda p: ag.sum(f(p) ** 2)
    H = ag.hessian(scalar)(params)                      # a dict of dicts (JAX's convention)
    assert_close(H["a"]["a"], autograd.hessian(lambda a: anp.sum(anp.tanh(params["b"][0] @ a) ** 2))(params["a"]), rtol=1e-8)
    assert H["a"]["b"][0].shape == (3, 2, 3) and H["b"][0]["a"].shape == (2, 3, 3)
    assert_close(H["a"]["b"][0], np.transpose(H["b"][0]["a"], (2, 0, 1)), rtol=1e-10, atol=1e-12)


def test_jacobian_of_a_container_output():
    x = RNG.standard_normal(3)
    J = ag.jacobian(lambda x: {"double": 2 * x, "sum": [ag.sum(x)]})(x)
    assert_close(J["double"], 2 * np.eye(3))
    assert_close(J["sum"][0], np.ones(3))


# ---- keyword arguments, has_aux, tuple argnum, non-floating outputs -------------------------------
def test_keyword_arguments_reach_fun_and_are_not_differentiated():
    f = lambda x, scale=1.0, *, shift=0.0: ag.sum(x * scale + shift) ** 2
    x = RNG.standard_normal(3)
    expected = 2 * (3.0 * x.sum() + 3 * 0.5) * 3.0 * np.ones(3)
    assert_close(ag.grad(f)(x, scale=3.0, shift=0.5), expected)
    value, g = ag.value_and_grad(f)(x, scale=3.0, shift=0.5)
    assert value == pytest.approx((3.0 * x.sum() + 1.5) ** 2)
    J = ag.jacobian(lambda x, scale: x * scale)(x, scale=2.0)
    assert_close(J, 2 * np.eye(3))
    H = ag.hessian(f)(x, scale=3.0, shift=0.5)
    assert_close(H, 2 * 9.0 * np.ones((3, 3)))
    step = ag.compile_grad(f)
    for scale in (3.0, 3.0, 2.0):  # a new keyword value traces again
        value_c, g_c = step(x, scale=scale, shift=0.5)
        assert_close(g_c, ag.grad(f)(x, scale=scale, shift=0.5), rtol=1e-12)
    assert step.traces == 2


def test_has_aux_follows_jax():
    x = RNG.standard_normal(4)

    def loss_and_prediction(x):
        prediction = ag.tanh(x)
        return ag.sum(prediction ** 2), {"prediction": prediction, "note": "kept"}

    g, aux = ag.grad(loss_and_prediction, has_aux=True)(x)
    assert_close(g, 2 * np.tanh(x) * (1 - np.tanh(x) ** 2))
    assert isinstance(aux["prediction"], np.ndarray) and aux["note"] == "kept"
    assert_close(aux["prediction"], np.tanh(x))
    (value, aux2), g2 = ag.value_and_grad(loss_and_prediction, has_aux=True)(x)
    assert value == pytest.approx(np.sum(np.tanh(x) ** 2))
    assert_close(g2, g) and assert_close(aux2["prediction"], np.tanh(x))
    with pytest.raises(TypeError, match="pair"):
        ag.grad(lambda x: ag.sum(x), has_aux=True)(x)
    with pytest.raises(TypeError, match="has_aux"):
        ag.grad(loss_and_prediction)(x)


def test_jacobian_and_hessian_with_a_tuple_argnum_give_nested_tuples_like_hips():
    a, b = RNG.standard_normal(3), RNG.standard_normal((2, 3))
    f = lambda a, b, m=np: m.tanh(b @ a) * m.sum(a)
    Ja, Jb = ag.jacobian(f, argnum=(0, 1))(a, b)
    assert_close(Ja, autograd.jacobian(lambda a: f(a, b, anp))(a), rtol=1e-10)
    assert_close(Jb, autograd.jacobian(lambda b: f(a, b, anp))(b), rtol=1e-10)
    s = lambda a, b, m=np: m.sum(f(a, b, m) ** 2)
    (Haa, Hab), (Hba, Hbb) = ag.hessian(s, argnum=(0, 1))(a, b)
    assert (Haa.shape, Hab.shape, Hba.shape, Hbb.shape) == ((3, 3), (3, 2, 3), (2, 3, 3), (2, 3, 2, 3))
    assert_close(Haa, autograd.hessian(lambda a: s(a, b, anp))(a), rtol=1e-8)
    assert_close(Hbb, autograd.hessian(lambda b: s(a, b, anp))(b), rtol=1e-8)
    hips_ab = autograd.jacobian(lambda b: autograd.grad(lambda a: s(a, b, anp))(a))(b)  # (3, 2, 3)
    assert_close(Hab, hips_ab, rtol=1e-8)
    assert_close(Hba, np.transpose(Hab, (1, 2, 0)), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("fun", [lambda x: np.allclose(x, x), lambda x: ag.sum(x) > 0,
                                 lambda x: 3, lambda x: np.argmax(x)],
                         ids=["allclose", "comparison", "int", "argmax"])
def test_a_non_floating_output_is_a_type_error_not_a_zero_gradient(fun):
    for transform in (ag.grad, ag.jacobian, lambda f: (lambda x: ag.vjp(f, x))):
        with pytest.raises(TypeError, match="floating|dtype"):
            transform(fun)(np.ones(3))
    with pytest.raises(TypeError, match="NoneType"):  # forgot to return: for the others, no leaves
        ag.grad(lambda x: None)(np.ones(3))


def test_a_constant_floating_output_has_a_zero_gradient():
    assert_close(ag.grad(lambda x: 2.5)(np.ones(3)), np.zeros(3))


def test_argnum_out_of_range_is_a_clear_error():
    with pytest.raises(TypeError, match="argnum 2"):
        ag.grad(lambda x, y: ag.sum(x * y), argnum=2)(np.ones(2), np.ones(2))


# ---- vjp, jvp, hvp ------------------------------------------------------------------------------
def _two_argument_function(a, p):
    """R^3 x {"w": R^(2x3), "c": float} -> R^2."""
    return ag.tanh(p["w"] @ a) * p["c"] + ag.sum(a ** 2)


def _primals():
    return RNG.standard_normal(3), {"w": RNG.standard_normal((2, 3)), "c": 0.7}


def test_vjp_equals_the_transposed_jacobian_product():
    a, p = _primals()
    out, vjp_fn = ag.vjp(_two_argument_function, a, p)
    assert_close(out, _two_argument_function(a, p).data)
    Ja, Jp = ag.jacobian(_two_argument_function, argnum=(0, 1))(a, p)
    for u in (np.array([1.0, 0.0]), RNG.standard_normal(2)):
        ga, gp = vjp_fn(u)  # callable again: the recording is kept
        assert_close(ga, u @ Ja, rtol=1e-12)
        assert_close(gp["w"], np.tensordot(u, Jp["w"], axes=1), rtol=1e-12)
        assert isinstance(gp["c"], float) and gp["c"] == pytest.approx(u @ Jp["c"])
    with pytest.raises(ValueError, match="shape"):
        vjp_fn(np.ones(3))


def test_vjp_with_has_aux_returns_it_third():
    out, vjp_fn, aux = ag.vjp(lambda x: (x * 2, "aux"), np.ones(2), has_aux=True)
    assert aux == "aux" and vjp_fn(np.ones(2))[0].tolist() == [2.0, 2.0]


def test_jvp_equals_the_jacobian_product():
    a, p = _primals()
    ta, tp = RNG.standard_normal(3), {"w": RNG.standard_normal((2, 3)), "c": -1.3}
    out, tangent = ag.jvp(_two_argument_function, (a, p), (ta, tp))
    Ja, Jp = ag.jacobian(_two_argument_function, argnum=(0, 1))(a, p)
    expected = Ja @ ta + np.tensordot(Jp["w"], tp["w"], axes=2) + Jp["c"] * tp["c"]
    assert_close(out, _two_argument_function(a, p).data)
    assert_close(tangent, expected, rtol=1e-10)


def test_jvp_of_a_container_output_and_finite_differences():
    x, v = RNG.standard_normal(4), RNG.standard_normal(4)
    f = lambda x: {"s": ag.sum(ag.sin(x)), "p": [x * x]}
    out, tangent = ag.jvp(f, (x,), (v,))
    assert tangent["s"] == pytest.approx(np.cos(x) @ v)
    eps = 1e-6
    numeric = (np.sin(x + eps * v).sum() - np.sin(x - eps * v).sum()) / (2 * eps)
    assert tangent["s"] == pytest.approx(numeric, rel=1e-6)
    assert_close(tangent["p"][0], 2 * x * v)


def test_jvp_composes_with_grad():
    # d/dx <J(x) v, 1> for f = sin: sum(cos(x) v), whose gradient is -sin(x) v.
    v = RNG.standard_normal(3)
    g = ag.grad(lambda x: ag.sum(ag.jvp(ag.sin, (x,), (v,))[1]))(RNG.standard_normal(3) * 0 + 0.4)
    assert_close(g, -np.sin(0.4) * v, rtol=1e-10)


def test_hvp_equals_the_hessian_product():
    a, p = _primals()
    f = lambda a, p: ag.sum(_two_argument_function(a, p) ** 2)
    va, vp = RNG.standard_normal(3), {"w": RNG.standard_normal((2, 3)), "c": 0.4}
    ha, hp = ag.hvp(f, (a, p), (va, vp))
    # JAX's nesting: the gradient's structure outside, then the argnum tuple, then each
    # argument's structure: H[1]["w"][1]["c"] is d2 f / d p["w"] d p["c"].
    (Haa, Hap), Hp = ag.hessian(f, argnum=(0, 1))(a, p)
    expected_a = Haa @ va + np.tensordot(Hap["w"], vp["w"], axes=2) + Hap["c"] * vp["c"]
    (Hwa, Hwp), (Hca, Hcp) = Hp["w"], Hp["c"]
    expected_w = (np.tensordot(Hwa, va, axes=1) + np.tensordot(Hwp["w"], vp["w"], axes=2)
                  + Hwp["c"] * vp["c"])
    expected_c = Hca @ va + np.sum(Hcp["w"] * vp["w"]) + Hcp["c"] * vp["c"]
    assert_close(ha, expected_a, rtol=1e-9, atol=1e-12)
    assert_close(hp["w"], expected_w, rtol=1e-9, atol=1e-12)
    assert hp["c"] == pytest.approx(expected_c)
    assert_close(Hwp["c"], Hcp["w"], rtol=1e-10)  # symmetric


def test_hvp_matches_hips_on_a_network_loss():
    A = RNG.standard_normal((5, 4))
    f = lambda x, m=np: m.sum(m.tanh(A @ x)) ** 2
    x, v = RNG.standard_normal(4), RNG.standard_normal(4)
    (hv,) = ag.hvp(f, (x,), (v,))
    assert_close(hv, autograd.hessian_vector_product(lambda x: f(x, anp))(x, v), rtol=1e-9)


def test_compile_grad_over_containers_equals_grad():
    params = _tree_params()
    step = ag.compile_grad(lambda p, X, y, l2=0.0: _tree_loss(p) + l2 * ag.sum(p["layers"][1][0] ** 2))
    for shift in (0.0, 0.01):
        params = ag.tree_map(lambda x: x + shift, params)
        value, g = step(params, X6, Y6, l2=0.5)
        expected_value, expected = ag.value_and_grad(
            lambda p: _tree_loss(p) + 0.5 * ag.sum(p["layers"][1][0] ** 2))(params)
        assert value == pytest.approx(expected_value)
        assert ag.tree_flatten(g)[1] == ag.tree_flatten(params)[1]
        ag.tree_map(lambda a, b: assert_close(a, b, rtol=1e-12), g, expected)
    assert step.traces == 1
    assert "# a2: argument 0 'layers[1][0]', (4,) float64, differentiated" in step.code
    assert "keyword l2" not in step.code  # a Python float is frozen into the program, not an input
    step_with_array = ag.compile_grad(lambda p, X, scale: _tree_loss(p) * ag.sum(scale))
    step_with_array(params, X6, scale=np.ones(2))
    assert "keyword scale, (2,) float64, data" in step_with_array.code


def test_a_non_numeric_leaf_of_a_differentiated_argument_is_named():
    with pytest.raises(TypeError, match="argument 0 'config.name'.*str"):
        ag.grad(lambda p: ag.sum(p["w"] ** 2))({"w": np.ones(2), "config": {"name": "relu"}})
    with pytest.raises(TypeError, match=r"argument 1\[2\]"):  # None is an empty container
        ag.grad(lambda x, p: ag.sum(x), argnum=(0, 1))(np.ones(2), [1.0, None, "b"])


def test_tangents_must_match_the_primals():
    f = lambda x, p: ag.sum(x * p["w"])
    x, p = np.ones(2), {"w": np.ones(2)}
    with pytest.raises(ValueError, match=r"the tangents\[1\]\.w has shape \(3,\), expected \(2,\)"):
        ag.jvp(f, (x, p), (np.ones(2), {"w": np.ones(3)}))
    with pytest.raises(ValueError, match="keys"):
        ag.hvp(f, (x, p), (np.ones(2), {"v": np.ones(2)}))
