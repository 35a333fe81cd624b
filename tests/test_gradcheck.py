"""gradcheck and gradgradcheck over containers, input names, and unused inputs."""
from __future__ import annotations

import numpy as np
import pytest

import autograd_lite as ag

RNG = np.random.default_rng(11)


def _halved_gradient(x):
    """Right value x * c, but the recorded derivative with respect to ``x`` is half the true one."""
    return 0.5 * x + 0.5 * ag.Tensor(x.data.copy())


def test_a_dict_of_named_inputs_passes_and_a_wrong_leaf_is_named_by_its_key():
    params = {"fc1.weight": RNG.standard_normal((3, 4)), "fc1.bias": RNG.standard_normal(4)}
    X = RNG.standard_normal((2, 3))
    good = lambda p: ag.tanh(X @ p["fc1.weight"] + p["fc1.bias"])
    assert ag.gradcheck(good, params)
    assert ag.gradgradcheck(good, params)
    bad = lambda p: ag.tanh(X @ _halved_gradient(p["fc1.weight"]) + p["fc1.bias"])
    with pytest.raises(ag.GradcheckError, match=r"input 'fc1.weight' at element index \(\d, \d\)"):
        ag.gradcheck(bad, params)
    with pytest.raises(ag.GradcheckError, match="input 'fc1.weight' along a random direction"):
        ag.gradcheck(bad, params, fast_mode=True)


def test_nested_containers_and_several_inputs_are_named_by_position_and_path():
    x = RNG.standard_normal(3)
    layers = [{"w": RNG.standard_normal(3)}, {"w": RNG.standard_normal(3)}]
    f = lambda x, layers: x * layers[0]["w"] + _halved_gradient(layers[1]["w"]) ** 2
    with pytest.raises(ag.GradcheckError, match=r"input 1\[1\]\.w at element index"):
        ag.gradcheck(f, x, layers)
    with pytest.raises(ag.GradcheckError, match=r"input 1 at element index"):
        ag.gradcheck(lambda a, b: a + _halved_gradient(b), x, x)


def test_a_container_output_is_checked_element_by_element():
    x = RNG.standard_normal(3)
    assert ag.gradcheck(lambda x: {"a": ag.sin(x), "b": [ag.sum(x ** 3)]}, x)
    with pytest.raises(ag.GradcheckError):
        ag.gradcheck(lambda x: {"a": ag.sin(x), "b": [ag.sum(_halved_gradient(x))]}, x)


def test_a_function_ignoring_its_inputs_no_longer_passes_vacuously():
    W = ag.Tensor(RNG.standard_normal((3, 2)), requires_grad=True)  # "the model's parameter"
    X = RNG.standard_normal((4, 3))
    loss = lambda *ps: ag.sum(ag.tanh(X @ W))  # uses W, not the inputs it is given
    with pytest.raises(ag.GradcheckError, match="does not depend on input 0 at all"):
        ag.gradcheck(loss, W.data.copy())
    with pytest.raises(ag.GradcheckError, match="does not depend on input 0"):
        ag.gradcheck(loss, W.data.copy(), fast_mode=True)
    with pytest.raises(ag.GradcheckError, match="does not depend on input 0"):
        ag.gradgradcheck(loss, W.data.copy())
    assert ag.gradcheck(loss, W.data.copy(), allow_unused=True)
    assert ag.gradgradcheck(loss, W.data.copy(), allow_unused=True)


def test_one_unused_input_is_named():
    f = lambda p: ag.sum(p["used"] ** 2)
    params = {"used": np.ones(2), "spare": np.ones(3)}
    with pytest.raises(ag.GradcheckError, match="does not depend on input 'spare'"):
        ag.gradcheck(f, params)
    assert ag.gradcheck(f, params, allow_unused=True)


def test_gradgradcheck_accepts_an_input_the_output_is_linear_in():
    # d f / d a = b does not depend on a: checked to be zero, not refused as unused.
    assert ag.gradgradcheck(lambda a, b: a * b, RNG.standard_normal(3), RNG.standard_normal(3))


def test_gradgradcheck_over_a_dict_names_the_key():
    def first_order_only(p):  # right value and gradient in "x", wrong second derivative
        x = p["x"]
        e = ag.exp(x.detach())
        return e * (x - x.detach()) + e + p["y"] ** 2

    params = {"x": np.array([0.3, 1.0]), "y": np.array([0.5])}
    assert ag.gradcheck(first_order_only, params)
    with pytest.raises(ag.GradcheckError, match="input 'x'"):
        ag.gradgradcheck(first_order_only, params)


def test_float32_leaves_are_refused_by_name():
    with pytest.raises(TypeError, match="input 'w' is float32"):
        ag.gradcheck(lambda p: p["w"] * 2, {"w": np.ones(2, np.float32)})
