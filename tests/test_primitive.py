"""Your own operation: ag.primitive / defvjp with every transform, the checks, the debugging
tools and the compiler; clear errors for rules that are missing or misshaped; the README's
sections on it run as written."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import autograd_lite as ag
from oracles import assert_close, numeric_gradient

RNG = np.random.default_rng(5)


@ag.primitive
def softplus(x):
    return np.logaddexp(0.0, x)


softplus.defvjp(lambda g, ans, x: g / (1.0 + np.exp(-x)))  # NumPy calls: differentiable again


@ag.primitive(name="weighted_logsumexp")
def wlse(x, w, axis=-1):
    """log sum_i w_i exp(x_i) over ``axis``; ``w`` broadcasts against ``x``."""
    return np.log(np.sum(w * np.exp(x), axis=axis))


def _wlse_shares(ans, x, w, axis):
    return w * np.exp(x - np.expand_dims(ans, axis))


wlse.defvjp(
    lambda g, ans, x, w, axis=-1: np.expand_dims(g, axis) * _wlse_shares(ans, x, w, axis),
    lambda g, ans, x, w, axis=-1: np.expand_dims(g, axis) * _wlse_shares(ans, x, w, axis) / w)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def test_a_user_primitive_records_and_its_rule_runs():
    x = ag.Tensor(RNG.standard_normal(4), requires_grad=True)
    y = softplus(x)
    assert isinstance(y, ag.Tensor) and y.grad_fn.name == "softplus"
    assert_close(y.data, np.log1p(np.exp(x.data)))
    y.sum().backward()
    assert_close(x.grad, _sigmoid(x.data))


def test_a_user_primitive_to_second_and_third_order_against_finite_differences():
    x = RNG.standard_normal(5)
    f = lambda x: np.sum(softplus(x))
    H = ag.hessian(f)(x)
    first = lambda v, k: ag.grad(f)(v)[k]
    numeric = np.stack([numeric_gradient(lambda v: first(v, k), x) for k in range(5)])
    assert_close(H, numeric, rtol=1e-6, atol=1e-8)
    s = _sigmoid(x)
    assert_close(H, np.diag(s * (1 - s)), rtol=1e-10, atol=1e-14)  # closed form too
    third = ag.grad(lambda t: ag.grad(ag.grad(lambda u: softplus(u)))(t))(0.3)
    second = lambda t: ag.grad(ag.grad(lambda u: softplus(u)))(t)
    assert third == pytest.approx((second(0.3 + 1e-5) - second(0.3 - 1e-5)) / 2e-5, rel=1e-6)
    assert ag.gradcheck(softplus, x) and ag.gradgradcheck(softplus, x)


def test_keyword_arguments_and_broadcasting_reach_the_rules():
    x, w = RNG.standard_normal((3, 4)), RNG.uniform(0.5, 2.0, size=4)  # w broadcasts over rows
    out = wlse(ag.Tensor(x), w, axis=1)
    assert out.shape == (3,)
    assert_close(out.data, np.log(np.sum(w * np.exp(x), axis=1)))
    assert ag.gradcheck(lambda x, w: wlse(x, w, axis=1), x, w)
    assert ag.gradgradcheck(lambda x, w: wlse(x, w, axis=0), x, w)
    gx, gw = ag.grad(lambda x, w: ag.sum(wlse(x, w, axis=1)), argnum=(0, 1))(x, w)
    assert gw.shape == (4,)  # the engine summed the broadcast rows away
    assert_close(gw, numeric_gradient(lambda w: np.sum(np.log(np.sum(w * np.exp(x), axis=1))), w),
                 rtol=1e-6)


def test_a_user_primitive_in_every_transform():
    x, v = RNG.standard_normal(3), RNG.standard_normal(3)
    s = _sigmoid(x)
    assert_close(ag.jacobian(softplus)(x), np.diag(s), rtol=1e-12)
    out, vjp_fn = ag.vjp(softplus, x)
    assert_close(vjp_fn(v)[0], s * v, rtol=1e-12)
    _, tangent = ag.jvp(softplus, (x,), (v,))
    assert_close(tangent, s * v, rtol=1e-12)
    (hv,) = ag.hvp(lambda x: ag.sum(softplus(x)), (x,), (v,))
    assert_close(hv, s * (1 - s) * v, rtol=1e-10)
    g = ag.grad(lambda p: ag.sum(softplus(p["a"]) * p["b"][0]))({"a": x, "b": [2.0]})
    assert_close(g["a"], 2 * s, rtol=1e-12) and g["b"][0] == pytest.approx(np.sum(np.log1p(np.exp(x))))


def test_a_user_primitive_compiles():
    X = RNG.standard_normal((5, 3))
    loss = lambda w: ag.sum(softplus(X @ w)) + ag.sum(wlse(X @ w, np.ones(2), axis=1))
    step = ag.compile_grad(loss)
    w = RNG.standard_normal((3, 2))
    for _ in range(2):
        value, g = step(w)
        expected_value, expected = ag.value_and_grad(loss)(w)
        assert value == pytest.approx(expected_value)
        assert_close(g, expected, rtol=1e-12)
        w = w + 0.01
    assert step.traces == 1 and "softplus" in step.code and "weighted_logsumexp" in step.code


def test_a_user_primitive_in_the_tape_the_drawing_and_anomaly_mode():
    x = ag.Tensor(np.array([0.5, 1.0]), requires_grad=True, name="x")
    y = ag.sum(softplus(x))
    assert "softplus" in [entry.op for entry in ag.tape(y)]
    graphviz = pytest.importorskip("graphviz")
    assert "softplus" in ag.draw_graph(y).source and isinstance(ag.draw_graph(y), graphviz.Digraph)


def test_anomaly_mode_names_a_user_primitive():
    @ag.primitive
    def reciprocal_sqrt(x):
        return 1 / np.sqrt(x)

    reciprocal_sqrt.defvjp(lambda g, ans, x: -0.5 * g * ans / x)
    x = ag.Tensor(np.array([1.0, 0.0]), requires_grad=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        with pytest.raises(FloatingPointError, match="reciprocal_sqrt"):
            with ag.detect_anomaly():
                reciprocal_sqrt(x)
        y = ag.Tensor(np.array([1.0, 4.0]), requires_grad=True)
        with pytest.raises(FloatingPointError, match="reciprocal_sqrt"):
            with ag.detect_anomaly():
                (reciprocal_sqrt(y) * np.array([np.inf, 1.0])).sum().backward()


def test_a_missing_rule_names_the_primitive_and_the_argument():
    @ag.primitive
    def scale(x, factor):
        return x * factor

    scale.defvjp(lambda g, ans, x, factor: g * factor)  # none for ``factor``
    x = ag.Tensor(np.ones(2), requires_grad=True)
    scale(x, 3.0).sum().backward()  # a constant factor needs no rule
    with pytest.raises(NotImplementedError, match="`scale` has no derivative rule for argument 1"):
        ag.grad(lambda f: ag.sum(scale(np.ones(2), f)))(2.0)
    scale.defvjp(lambda g, ans, x, factor: g * factor, None)  # None says the same, explicitly
    with pytest.raises(NotImplementedError, match="argument 1"):
        ag.grad(lambda f: ag.sum(scale(np.ones(2), f)))(2.0)


@pytest.mark.parametrize("rule,what", [
    (lambda g, ans, x: np.ones(5), r"shape \(5,\)"),
    (lambda g, ans, x: g.T, r"shape \(3, 2\)"),
    (lambda g, ans, x: None, "NoneType"),
], ids=["too long", "transposed", "None"])
def test_a_misshaped_rule_names_the_primitive(rule, what):
    @ag.primitive(name="my_double")
    def double(x):
        return 2 * x

    double.defvjp(rule)
    x = ag.Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(ValueError, match=rf"rule of `my_double` for argument 0 returned .*{what}.*\(2, 3\)"):
        double(x).sum().backward()


def test_a_rule_returning_a_broadcastable_gradient_is_fitted():
    @ag.primitive
    def total(x):
        return np.sum(x)

    total.defvjp(lambda g, ans, x: g)  # one value: the engine stretches it to x's shape
    assert_close(ag.grad(total)(np.ones((2, 3))), np.ones((2, 3)))
    assert ag.gradgradcheck(total, np.ones((2, 3)), allow_unused=False)


# ---- the README's sections run as written ---------------------------------------------------
README = Path(__file__).resolve().parents[1] / "README.md"


def readme_blocks(marker: str) -> list[str]:
    """Every ```python block that follows an ``<!-- marker -->`` line in README.md."""
    text = README.read_text()
    pattern = rf"<!-- {re.escape(marker)} -->\s*```python\n(.*?)```"
    return re.findall(pattern, text, flags=re.S)


@pytest.mark.parametrize("marker,count", [("test: own-operation", 1), ("test: containers", 2),
                                          ("test: functional-call", 1)])
def test_the_readme_sections_run_as_written(marker, count, capsys):
    blocks = readme_blocks(marker)
    assert len(blocks) == count  # the marker finds the blocks (a renamed marker fails here)
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, f"README.md ({marker})", "exec"), namespace)  # noqa: S102
    assert capsys.readouterr().out  # each section prints what it shows


def test_the_readme_own_operation_example_computes_the_right_things():
    namespace: dict = {}
    exec(compile(readme_blocks("test: own-operation")[0], "README.md", "exec"), namespace)  # noqa: S102
    x = namespace["x"]
    assert_close(namespace["slope"], _sigmoid(x), rtol=1e-12)
    assert_close(namespace["curvature"], _sigmoid(x) * (1 - _sigmoid(x)), rtol=1e-10)


def test_a_rule_reading_only_an_operands_shape_does_not_read_it():
    """sum's rule uses x.shape only: changing x in place afterwards is harmless (as in
    PyTorch), and the compiler may fold the rule on a constant gradient."""
    from autograd_lite.primitives.reductions import sum as sum_primitive
    assert 0 not in sum_primitive.reads(0).operands
    a = ag.tensor(np.arange(3.0), requires_grad=True)
    x = a * 1.0
    y = x.sum()
    x += 1.0
    y.backward()
    np.testing.assert_array_equal(a.grad, np.ones(3))
