"""SGD and Adam against hand-written NumPy updates (PyTorch's formulas), and their errors."""
import numpy as np
import pytest

import autograd_lite as ag
import nn

data_rng = np.random.default_rng(0)
X, Y = data_rng.normal(size=(8, 3)), data_rng.normal(size=(8, 2))
W0, B0 = data_rng.normal(size=(3, 2)), data_rng.normal(size=2)


def numpy_gradients(W, b):
    """d/dW, d/db of sum((X W + b - Y)^2) by hand."""
    G = 2 * (X @ W + b - Y)
    return X.T @ G, G.sum(axis=0)


def run_optimizer(make_optimizer, steps):
    W, b = nn.Parameter(W0.copy()), nn.Parameter(B0.copy())
    optimizer = make_optimizer([W, b])
    for _ in range(steps):
        optimizer.zero_grad()
        ((X @ W + b - Y) ** 2).sum().backward()
        optimizer.step()
    return W.data, b.data


def numpy_sgd(lr, momentum=0.0, nesterov=False, weight_decay=0.0, dampening=0.0, steps=5):
    params, bufs = [W0.copy(), B0.copy()], [None, None]
    for _ in range(steps):
        for i, g in enumerate(numpy_gradients(*params)):
            p = params[i]
            g = g + weight_decay * p
            if momentum:
                bufs[i] = g.copy() if bufs[i] is None else momentum * bufs[i] + (1 - dampening) * g
                g = g + momentum * bufs[i] if nesterov else bufs[i]
            params[i] = p - lr * g
    return params


def numpy_adam(lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, steps=5):
    """The textbook form: m_hat / (sqrt(v_hat) + eps)."""
    b1, b2 = betas
    params = [W0.copy(), B0.copy()]
    m, v = [np.zeros_like(p) for p in params], [np.zeros_like(p) for p in params]
    for t in range(1, steps + 1):
        for i, g in enumerate(numpy_gradients(*params)):
            g = g + weight_decay * params[i]
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            m_hat, v_hat = m[i] / (1 - b1 ** t), v[i] / (1 - b2 ** t)
            params[i] = params[i] - lr * m_hat / (np.sqrt(v_hat) + eps)
    return params


SGD_SETTINGS = [dict(lr=0.01), dict(lr=0.01, momentum=0.9), dict(lr=0.01, momentum=0.9, nesterov=True),
                dict(lr=0.02, weight_decay=0.1), dict(lr=0.01, momentum=0.5, weight_decay=0.01),
                dict(lr=0.01, momentum=0.9, dampening=0.3)]
ADAM_SETTINGS = [dict(lr=0.01), dict(lr=0.1, betas=(0.8, 0.99)), dict(lr=0.01, weight_decay=0.5),
                 dict(lr=0.05, eps=1e-3)]


@pytest.mark.parametrize("optimizer,reference,settings",
                         [(nn.optim.SGD, numpy_sgd, s) for s in SGD_SETTINGS]
                         + [(nn.optim.Adam, numpy_adam, s) for s in ADAM_SETTINGS],
                         ids=lambda v: getattr(v, "__name__", str(v)))
def test_optimizer_matches_hand_written_numpy(optimizer, reference, settings):
    W, b = run_optimizer(lambda ps: optimizer(ps, **settings), steps=5)
    W_ref, b_ref = reference(**settings)
    np.testing.assert_allclose(W, W_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(b, b_ref, rtol=1e-12, atol=1e-12)


def test_adam_first_step_moves_each_element_by_lr():
    # After bias correction the first update is lr * g / (|g| + eps) ~ lr * sign(g).
    p = nn.Parameter(np.zeros(3))
    p.grad = np.array([1e-3, -2.0, 50.0])
    nn.optim.Adam([p], lr=0.1).step()
    np.testing.assert_allclose(p.data, [-0.1, 0.1, -0.1], rtol=1e-4)


def test_parameters_without_gradient_are_skipped_and_keep_their_state():
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
    optimizer = nn.optim.Adam([a, b], lr=0.1)
    a.grad = np.ones(2)
    optimizer.step()
    np.testing.assert_array_equal(b.data, np.ones(2))
    assert optimizer.state[1] == {} and optimizer.state[0]["step"] == 1


def test_step_updates_in_place_without_recording_and_keeps_dtype():
    p = nn.Parameter(np.ones(3, np.float32))
    array = p.data
    p.grad = np.full(3, 0.5, np.float32)
    optimizer = nn.optim.SGD([p], lr=0.1, momentum=0.9)
    optimizer.step()
    optimizer.step()
    assert p.data is array and p.dtype == np.float32 and p.is_leaf and p.grad_fn is None
    np.testing.assert_allclose(p.data, 1 - 0.1 * 0.5 - 0.1 * (0.9 * 0.5 + 0.5), rtol=1e-6)


def test_backward_through_a_graph_recorded_before_the_step_raises():
    p = nn.Parameter(np.ones(2))
    loss = (p * p).sum()
    p.grad = np.ones(2)
    nn.optim.SGD([p], lr=0.1).step()
    with pytest.raises(RuntimeError, match="in place"):
        loss.backward()


def test_zero_grad_sets_grads_to_none():
    model = nn.Linear(2, 2)
    optimizer = nn.optim.SGD(model.parameters(), lr=0.1)
    model(np.ones((1, 2))).sum().backward()
    optimizer.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_accepts_a_generator_of_parameters():
    model = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    assert len(nn.optim.Adam(model.parameters()).params) == 4


@pytest.mark.parametrize("make, error, message", [
    (lambda: nn.optim.SGD([], lr=0.1), ValueError, "SGD got an empty parameter list"),
    (lambda: nn.optim.Adam(iter(()),), ValueError, "Adam got an empty parameter list"),
    (lambda: nn.optim.SGD([np.ones(2)], lr=0.1), TypeError, "parameter 0 is a ndarray"),
    (lambda: nn.optim.SGD([ag.tensor([1.0])], lr=0.1), ValueError, "requires grad"),
    (lambda: nn.optim.SGD([ag.tensor([1.0], requires_grad=True) * 2], lr=0.1), ValueError, "leaf"),
    (lambda: nn.optim.SGD(nn.Parameter([1.0]), lr=0.1), TypeError, "single Tensor"),
    (lambda: nn.optim.SGD([nn.Linear(1, 1).weight] * 2, lr=0.1), ValueError, "twice"),
    (lambda: nn.optim.SGD([nn.Parameter([1.0])], lr=-1), ValueError, "learning rate"),
    (lambda: nn.optim.SGD([nn.Parameter([1.0])], lr=0.1, nesterov=True), ValueError, "Nesterov"),
    (lambda: nn.optim.Adam([nn.Parameter([1.0])], betas=(0.9, 1.0)), ValueError, "betas"),
])
def test_constructor_errors(make, error, message):
    with pytest.raises(error, match=message):
        make()
