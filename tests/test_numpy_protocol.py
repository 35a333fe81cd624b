"""NumPy's own functions on Tensors: recorded, refused, or run on the arrays."""
from __future__ import annotations


import numpy as np
import pytest

import autograd_lite as ag
from oracles import assert_close, numeric_gradient

RNG = np.random.default_rng(42)


# ---- NumPy interoperability -----------------------------------------------------------------------
A = RNG.standard_normal((3, 4))
B = RNG.standard_normal((4, 2))
NUMPY_CALLS = {
    "np.add": lambda a: np.add(a, 1.0), "np.multiply": lambda a: np.multiply(2.0, a),
    "np.exp": np.exp, "np.log": lambda a: np.log(a * a + 1), "np.tanh": np.tanh,
    "np.maximum": lambda a: np.maximum(a, 0), "np.matmul": lambda a: np.matmul(a, B),
    "np.sum": lambda a: np.sum(a, axis=0), "np.mean": lambda a: np.mean(a, axis=(0, 1)),
    "np.dot": lambda a: np.dot(a, B), "np.concatenate": lambda a: np.concatenate([a, a * 2]),
    "np.stack": lambda a: np.stack([a, a], axis=-1), "np.where": lambda a: np.where(A > 0, a, 0),
    "np.reshape": lambda a: np.reshape(a, (2, 6)), "np.transpose": np.transpose,
    "np.clip": lambda a: np.clip(a, -0.5, 0.5), "np.max": lambda a: np.max(a, axis=1),
    "np.var": lambda a: np.var(a, axis=1, ddof=1), "np.sqrt": lambda a: np.sqrt(a * a + 1),
    "np.abs": np.abs, "np.power": lambda a: np.power(a, 2), "np.outer": lambda a: np.outer(a[0], a[1]),
}


@pytest.mark.parametrize("name", list(NUMPY_CALLS))
def test_numpy_functions_record_and_return_tensors(name):
    call = NUMPY_CALLS[name]
    t = ag.Tensor(A, requires_grad=True)
    out = call(t)
    assert isinstance(out, ag.Tensor) and out.grad_fn is not None
    assert_close(out.data, call(A))
    out.sum().backward()
    assert_close(t.grad, numeric_gradient(lambda v: np.sum(call(v)), A), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("call,name", [
    (lambda t: np.linalg.eig(t), "linalg.eig"), (lambda t: np.fft.fft(t), "fft.fft"),
    (lambda t: np.add.reduce(t), "add.reduce"), (lambda t: np.partition(t, 1), "partition"),
    (lambda t: np.exp(t, out=np.empty(2)), "exp with out="),
])
def test_unsupported_numpy_functions_raise_naming_them(call, name):
    t = ag.Tensor(np.ones((2, 2)), requires_grad=True)
    with pytest.raises(TypeError, match=f"numpy.{name}.*detach"):
        call(t)


def test_non_differentiable_numpy_functions_return_arrays():
    t = ag.Tensor([1.0, -2.0], requires_grad=True)
    assert np.shape(t) == (2,) and np.argmax(t) == 0 and np.allclose(t, [1.0, -2.0])
    assert isinstance(np.isfinite(t), np.ndarray)


def test_implicit_array_conversion_refuses_to_drop_a_gradient():
    with pytest.raises(TypeError, match="detach"):
        np.asarray(ag.Tensor([1.0], requires_grad=True))
    assert_close(np.asarray(ag.Tensor([1.0])), [1.0])
