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


# ---- NumPy's keyword names ----------------------------------------------------------------------
# Options that choose NumPy's output buffer, dtype or memory layout, not the value: not
# part of the supported calls (out= into an array would drop the gradient).
NOT_VALUE_OPTIONS = {"out", "dtype", "casting", "subok", "where", "initial", "order", "like",
                     "copy", "mean", "correction", "device", "newshape"}


def _numpy_object(name: str):
    obj = np
    for part in name.split(".")[1:]:
        obj = getattr(obj, part)
    return obj


def _keyword_parameters(function) -> list[str]:
    """NumPy's parameters that may be passed by keyword, less the non-value options."""
    import inspect
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):  # a C function without a signature: nothing to compare
        return []
    return [p.name for p in parameters
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in NOT_VALUE_OPTIONS]


FUNCTIONS = [name for name in ag.SUPPORTED_NUMPY if not isinstance(_numpy_object(name), np.ufunc)]


@pytest.mark.parametrize("name", FUNCTIONS)
def test_every_supported_function_takes_numpys_keyword_names(name):
    """Each keyword NumPy's own signature allows is accepted by the Tensor implementation
    under the same name (so ``np.sum(a=t, axis=0, keepdims=True)`` means what it means
    for arrays)."""
    import inspect
    from autograd_lite.numpy_protocol import IMPLEMENTATIONS
    function = _numpy_object(name)
    ours = inspect.signature(IMPLEMENTATIONS[function]).parameters
    takes_any = any(p.kind == p.VAR_KEYWORD for p in ours.values())
    missing = [k for k in _keyword_parameters(function)
               if not takes_any and (k not in ours or ours[k].kind == ours[k].POSITIONAL_ONLY)]
    assert not missing, f"{name} on Tensors does not accept NumPy's keyword(s) {missing}"


X34 = RNG.standard_normal((3, 4))
# name -> a call of the NumPy function on ``a`` with every value argument that can be
# passed by keyword passed by keyword, under NumPy's name.
KEYWORD_CALLS = {
    "numpy.sum": lambda a: np.sum(a=a, axis=0, keepdims=True),
    "numpy.mean": lambda a: np.mean(a=a, axis=(0, 1), keepdims=True),
    "numpy.var": lambda a: np.var(a=a, axis=1, ddof=1, keepdims=True),
    "numpy.max": lambda a: np.max(a=a, axis=1, keepdims=True),
    "numpy.amax": lambda a: np.amax(a=a, axis=0, keepdims=False),
    "numpy.min": lambda a: np.min(a=a, axis=-1, keepdims=True),
    "numpy.amin": lambda a: np.amin(a=a, axis=None),
    "numpy.clip": lambda a: np.clip(a=a, a_min=-0.5, a_max=0.5),
    "numpy.transpose": lambda a: np.transpose(a=a[None], axes=(1, 0, 2)),
    "numpy.swapaxes": lambda a: np.swapaxes(a=a, axis1=0, axis2=1),
    "numpy.expand_dims": lambda a: np.expand_dims(a=a, axis=1),
    "numpy.squeeze": lambda a: np.squeeze(a=a[None], axis=0),
    "numpy.broadcast_to": lambda a: np.broadcast_to(array=a, shape=(2, 3, 4)),
    "numpy.concatenate": lambda a: np.concatenate([a, 2 * a], axis=1),
    "numpy.stack": lambda a: np.stack(arrays=[a, a * a], axis=2),
    "numpy.where": lambda a: np.where(X34 > 0, a, 0.0),
    "numpy.dot": lambda a: np.dot(a=a, b=X34.T),
    "numpy.outer": lambda a: np.outer(a=a[0], b=a[1]),
    "numpy.reshape": lambda a: np.reshape(a, shape=(2, 6)),
}


@pytest.mark.parametrize("name", sorted(KEYWORD_CALLS))
def test_supported_functions_called_with_numpys_keywords(name):
    assert name in ag.SUPPORTED_NUMPY
    call = KEYWORD_CALLS[name]
    t = ag.Tensor(X34, requires_grad=True)
    out = call(t)
    assert isinstance(out, ag.Tensor) and out.grad_fn is not None
    assert_close(out.data, call(X34))
    weights = np.linspace(-1, 1, out.size).reshape(out.shape)
    (out * weights).sum().backward()
    assert_close(t.grad, numeric_gradient(lambda v: np.sum(call(v) * weights), X34),
                 rtol=1e-5, atol=1e-6)


def test_transpose_with_the_axes_keyword():
    x = RNG.standard_normal((2, 3, 4))
    t = ag.Tensor(x, requires_grad=True)
    out = np.transpose(t, axes=(1, 0, 2))
    assert out.shape == (3, 2, 4)
    assert_close(out.data, np.transpose(x, axes=(1, 0, 2)))
    g = ag.grad(lambda v: np.sum(np.transpose(v, axes=(2, 0, 1)) * np.arange(24.0).reshape(4, 2, 3)))(x)
    assert_close(g, np.transpose(np.arange(24.0).reshape(4, 2, 3), (1, 2, 0)))


METHODS = [("prod", dict(axis=0)), ("prod", dict(keepdims=True)), ("std", dict(axis=1, ddof=1)),
           ("var", dict(axis=0)), ("cumsum", dict(axis=1)), ("cumsum", {}), ("cumprod", dict(axis=0)),
           ("trace", dict(offset=1)), ("diagonal", dict(offset=-1)), ("repeat", dict(repeats=2, axis=1)),
           ("round", dict(decimals=1)), ("ravel", {}), ("sum", dict(axis=(0, 1))), ("max", dict(axis=1))]


@pytest.mark.parametrize("name, kwargs", METHODS, ids=[f"{n}{k}" for n, k in METHODS])
def test_tensor_methods_are_ndarrays_and_record_as_the_numpy_function_does(name, kwargs):
    x = np.random.default_rng(3).standard_normal((3, 4)) + 2.0
    t = ag.tensor(x, requires_grad=True)
    out = getattr(t, name)(**kwargs)
    assert isinstance(out, ag.Tensor) and out.requires_grad
    np.testing.assert_allclose(out.data, getattr(x, name)(**kwargs), rtol=1e-13)
    assert ag.gradcheck(lambda u: getattr(u, name)(**kwargs), x)


def test_argmax_and_argmin_methods_give_plain_indices():
    t = ag.tensor(np.array([[1.0, 3.0], [4.0, 2.0]]), requires_grad=True)
    assert t.argmax() == 2 and list(t.argmin(axis=1)) == [0, 1]
