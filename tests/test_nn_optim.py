"""Optimizers against hand-written NumPy updates (torch.optim's documented formulas); parameter
groups, state dicts and exact resuming; errors."""
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


def numpy_run(rule, steps=5, maximize=False):
    """Apply ``rule(p, g, state, t) -> new p`` to both parameters for ``steps`` steps."""
    params, states = [W0.copy(), B0.copy()], [{}, {}]
    for t in range(1, steps + 1):
        for i, g in enumerate(numpy_gradients(*params)):
            params[i] = rule(params[i], -g if maximize else g, states[i], t)
    return params


def numpy_sgd(lr, momentum=0.0, nesterov=False, weight_decay=0.0, dampening=0.0, maximize=False):
    def rule(p, g, state, t):
        g = g + weight_decay * p
        if momentum:
            buf = state.get("buf")
            state["buf"] = buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        return p - lr * g
    return numpy_run(rule, maximize=maximize)


def numpy_adam(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
               maximize=False, decoupled=False):
    """The textbook form: m_hat / (sqrt(v_hat) + eps); AdamW's decay scales p first."""
    b1, b2 = betas

    def rule(p, g, state, t):
        if decoupled:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
        state["m"] = b1 * state.get("m", 0.0) + (1 - b1) * g
        state["v"] = b2 * state.get("v", 0.0) + (1 - b2) * g * g
        state["v_max"] = np.maximum(state.get("v_max", 0.0), state["v"])
        v = state["v_max"] if amsgrad else state["v"]
        return p - lr * (state["m"] / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
    return numpy_run(rule, maximize=maximize)


def numpy_adamw(weight_decay=1e-2, **settings):
    return numpy_adam(weight_decay=weight_decay, decoupled=True, **settings)


def numpy_rmsprop(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                  centered=False, maximize=False):
    def rule(p, g, state, t):
        g = g + weight_decay * p
        state["v"] = v = alpha * state.get("v", 0.0) + (1 - alpha) * g * g
        if centered:
            state["g_avg"] = alpha * state.get("g_avg", 0.0) + (1 - alpha) * g
            v = v - state["g_avg"] ** 2
        if momentum > 0:
            state["buf"] = momentum * state.get("buf", 0.0) + g / (np.sqrt(v) + eps)
            return p - lr * state["buf"]
        return p - lr * g / (np.sqrt(v) + eps)
    return numpy_run(rule, maximize=maximize)


def numpy_adagrad(lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
                  eps=1e-10, maximize=False):
    def rule(p, g, state, t):
        g = g + weight_decay * p
        state["sum"] = state.get("sum", initial_accumulator_value) + g * g
        return p - lr / (1 + (t - 1) * lr_decay) * g / (np.sqrt(state["sum"]) + eps)
    return numpy_run(rule, maximize=maximize)


SETTINGS = {
    nn.optim.SGD: (numpy_sgd, [
        dict(lr=0.01), dict(lr=0.01, momentum=0.9), dict(lr=0.01, momentum=0.9, nesterov=True),
        dict(lr=0.02, weight_decay=0.1), dict(lr=0.01, momentum=0.5, weight_decay=0.01),
        dict(lr=0.01, momentum=0.9, dampening=0.3), dict(lr=0.01, momentum=0.9, maximize=True)]),
    nn.optim.Adam: (numpy_adam, [
        dict(lr=0.01), dict(lr=0.1, betas=(0.8, 0.99)), dict(lr=0.01, weight_decay=0.5),
        dict(lr=0.05, eps=1e-3), dict(lr=0.05, amsgrad=True), dict(lr=0.1, betas=(0.3, 0.9)),
        dict(lr=0.01, maximize=True)]),
    nn.optim.AdamW: (numpy_adamw, [
        dict(), dict(lr=0.05, weight_decay=0.3), dict(lr=0.05, weight_decay=0.1, amsgrad=True),
        dict(lr=0.01, maximize=True)]),
    nn.optim.RMSprop: (numpy_rmsprop, [
        dict(), dict(lr=0.001, alpha=0.9, eps=1e-6), dict(weight_decay=0.1),
        dict(lr=0.001, momentum=0.9), dict(centered=True), dict(lr=0.001, alpha=0.3, momentum=0.5,
                                                                centered=True, maximize=True)]),
    nn.optim.Adagrad: (numpy_adagrad, [
        dict(), dict(lr=0.1, lr_decay=0.05), dict(weight_decay=0.1),
        dict(initial_accumulator_value=0.5, eps=1e-3), dict(lr=0.1, maximize=True)]),
}


@pytest.mark.parametrize("optimizer,reference,settings",
                         [(o, ref, s) for o, (ref, ss) in SETTINGS.items() for s in ss],
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


SHARED = nn.Parameter([1.0])


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
    (lambda: nn.optim.AdamW([nn.Parameter([1.0])], weight_decay=-1), ValueError,
     r"AdamW: invalid betas \(0.9, 0.999\), eps 1e-08 or weight_decay -1"),
    (lambda: nn.optim.SGD([nn.Parameter([1.0])], momentum=-1), ValueError,
     r"SGD: momentum \(-1\) and weight_decay \(0.0\) must be >= 0"),
    (lambda: nn.optim.RMSprop([nn.Parameter([1.0])], alpha=-0.5), ValueError,
     r"RMSprop: alpha \(-0.5\), eps \(1e-08\), momentum \(0.0\) and weight_decay"),
    (lambda: nn.optim.Adagrad([nn.Parameter([1.0])], lr_decay=-1), ValueError,
     r"Adagrad: lr_decay \(-1\), weight_decay"),
    (lambda: nn.optim.SGD([{"params": [nn.Parameter([1.0])], "lr": -2}], lr=0.1), ValueError,
     "invalid learning rate -2"),
    (lambda: nn.optim.SGD([{"params": [nn.Parameter([1.0])], "nesterov": True}]), ValueError,
     "Nesterov"),
    (lambda: nn.optim.SGD([{"lr": 0.1}]), ValueError, "needs a 'params' entry"),
    (lambda: nn.optim.SGD([{"params": {nn.Parameter([1.0])}}]), TypeError, "set"),
    (lambda: nn.optim.SGD([{"params": [nn.Parameter([1.0]), np.ones(1)]}]), TypeError,
     "parameter 1 is a ndarray"),
    (lambda: nn.optim.SGD([{"params": [SHARED]}, {"params": [SHARED]}]), ValueError,
     "parameter 1 appears twice"),
])
def test_constructor_errors(make, error, message):
    with pytest.raises(error, match=message):
        make()


# ---- parameter groups ------------------------------------------------------------------------
def elementwise_grads(params):
    """Gradients of a smooth non-quadratic loss, elementwise (no BLAS: exact comparisons
    between runs are legitimate)."""
    for p in params:
        p.grad = np.sin(3 * p.data) + p.data - 0.5


def make_params():
    data = np.random.default_rng(1)
    return [nn.Parameter(data.normal(size=shape)) for shape in [(3, 2), (2,), (4,)]]


def train(optimizer, params, steps):
    for _ in range(steps):
        optimizer.zero_grad()
        elementwise_grads(params)
        optimizer.step()


def test_groups_take_their_own_hyperparameters_and_the_defaults_for_the_rest():
    a, b, c = make_params()
    grouped = nn.optim.SGD([{"params": [a, b], "momentum": 0.9}, {"params": c, "lr": 0.3}],
                           lr=0.1)
    assert [g["lr"] for g in grouped.param_groups] == [0.1, 0.3]
    assert [g["momentum"] for g in grouped.param_groups] == [0.9, 0.0]
    train(grouped, [a, b, c], steps=3)
    a2, b2, c2 = make_params()
    train(nn.optim.SGD([a2, b2], lr=0.1, momentum=0.9), [a2, b2], steps=3)
    train(nn.optim.SGD([c2], lr=0.3), [c2], steps=3)
    for p, q in zip([a, b, c], [a2, b2, c2]):
        np.testing.assert_array_equal(p.data, q.data)


def test_a_changed_learning_rate_is_used_by_the_next_step():
    p = nn.Parameter(np.zeros(2))
    optimizer = nn.optim.SGD([p], lr=0.1)
    p.grad = np.ones(2)
    optimizer.step()
    optimizer.param_groups[0]["lr"] = 0.5
    optimizer.step()
    np.testing.assert_allclose(p.data, [-0.6, -0.6], rtol=1e-15)


def test_named_parameters_and_add_param_group():
    model = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    optimizer = nn.optim.Adam(model[0].named_parameters(), lr=0.1)
    assert optimizer.param_groups[0]["param_names"] == ["weight", "bias"]
    optimizer.add_param_group({"params": model[1].parameters(), "lr": 0.01})
    assert len(optimizer.params) == 4 and len(optimizer.state) == 4
    assert optimizer.param_groups[1]["betas"] == (0.9, 0.999)  # from the defaults
    model(np.ones((1, 2))).sum().backward()
    optimizer.step()
    assert all(s["step"] == 1 for s in optimizer.state)


def test_maximize_ascends_and_closure_is_evaluated_and_returned():
    p = nn.Parameter(np.array([1.0]))
    optimizer = nn.optim.SGD([p], lr=0.1, maximize=True)

    def closure():
        optimizer.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    assert optimizer.step(closure).item() == 1.0
    np.testing.assert_allclose(p.data, [1.2], rtol=1e-15)


def test_zero_grad_can_keep_zero_arrays():
    p = nn.Parameter(np.ones(2, np.float32))
    p.grad = np.ones(2, np.float32)
    nn.optim.SGD([p], lr=0.1).zero_grad(set_to_none=False)
    assert p.grad.dtype == np.float32 and np.all(p.grad == 0)


# ---- state dicts and resuming ------------------------------------------------------------------
RESUMABLE = [
    lambda ps: nn.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    lambda ps: nn.optim.Adam([{"params": ps[:2]}, {"params": ps[2:], "lr": 0.1}], lr=0.05,
                             amsgrad=True),
    lambda ps: nn.optim.AdamW(ps, lr=0.05, weight_decay=0.1),
    lambda ps: nn.optim.RMSprop(ps, lr=0.01, momentum=0.5, centered=True, weight_decay=0.1),
    lambda ps: nn.optim.Adagrad(ps, lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1),
]


@pytest.mark.parametrize("make", RESUMABLE, ids=["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_resuming_from_a_state_dict_gives_the_same_trajectory(make):
    def halve_first_lr(optimizer):  # as a scheduler would: the state dict must keep it
        optimizer.param_groups[0]["lr"] /= 2

    straight = make_params()
    optimizer = make(straight)
    train(optimizer, straight, steps=4)
    halve_first_lr(optimizer)
    train(optimizer, straight, steps=6)

    first = make_params()
    optimizer = make(first)
    train(optimizer, first, steps=4)
    halve_first_lr(optimizer)
    saved_model = [p.data.copy() for p in first]
    saved = optimizer.state_dict()
    train(optimizer, first, steps=2)  # what happens after saving must not leak into `saved`

    resumed = [nn.Parameter(a) for a in saved_model]
    fresh = make(resumed)
    fresh.load_state_dict(saved)
    train(fresh, resumed, steps=6)
    for p, q in zip(straight, resumed):
        np.testing.assert_array_equal(p.data, q.data)


def test_state_dict_format_follows_torch():
    a, b, c = make_params()
    optimizer = nn.optim.Adam([{"params": [a]}, {"params": [b, c], "lr": 0.1}])
    b.grad = np.ones(2)
    optimizer.step()
    state = optimizer.state_dict()
    assert [g["params"] for g in state["param_groups"]] == [[0], [1, 2]]
    assert state["param_groups"][1]["lr"] == 0.1 and state["param_groups"][0]["lr"] == 1e-3
    assert list(state["state"]) == [1] and state["state"][1]["step"] == 1
    assert sorted(state["state"][1]) == ["exp_avg", "exp_avg_sq", "step"]


def test_load_state_dict_casts_state_to_the_parameters_dtype():
    source = nn.Parameter(np.ones(3))
    optimizer = nn.optim.Adam([source])
    source.grad = np.ones(3)
    optimizer.step()
    target = nn.Parameter(np.ones(3, np.float32))
    resumed = nn.optim.Adam([target])
    resumed.load_state_dict(optimizer.state_dict())
    assert resumed.state[0]["exp_avg"].dtype == np.float32 and resumed.state[0]["step"] == 1


@pytest.mark.parametrize("change, message", [
    (lambda s: s["param_groups"].pop(), "has 1 parameter groups, this optimizer 2"),
    (lambda s: s["param_groups"][1]["params"].pop(), "group 1 has 1 parameters in the state "
                                                      "dict, 2 here"),
    (lambda s: s["state"][1].update(exp_avg=np.ones(5)), r"'exp_avg' of parameter 1 has shape "
                                                        r"\(5,\), the parameter \(2,\)"),
    (lambda s: s["state"].update({7: {}}), "parameter 7, which no group"),
])
def test_load_state_dict_refuses_a_mismatch_and_changes_nothing(change, message):
    params = make_params()
    optimizer = nn.optim.Adam([{"params": params[:1]}, {"params": params[1:]}], lr=0.1)
    train(optimizer, params, steps=1)
    state = optimizer.state_dict()
    for group in state["param_groups"]:
        group["lr"] = 0.5
    change(state)
    before = optimizer.state_dict()
    with pytest.raises(ValueError, match=message):
        optimizer.load_state_dict(state)
    assert [g["lr"] for g in optimizer.param_groups] == [0.1, 0.1]
    for i, entries in before["state"].items():
        for key, value in entries.items():
            np.testing.assert_array_equal(optimizer.state[i][key], value)


def test_plain_sgd_step_loops_over_arrays_and_matches_the_general_rule():
    # Issue 16: plain SGD (no momentum, weight decay or maximize) takes its own loop;
    # it must do what the general path does, bit for bit, and bump versions the same.
    rng = np.random.default_rng(3)
    values = [rng.normal(size=(3, 2)), rng.normal(size=2), rng.normal(size=4)]
    grads = [rng.normal(size=(3, 2)), None, rng.normal(size=4)]
    plain = [nn.Parameter(v.copy()) for v in values]
    general = [nn.Parameter(v.copy()) for v in values]
    for ps in (plain, general):
        for p, g in zip(ps, grads):
            p.grad = None if g is None else g.copy()
    nn.optim.SGD([{"params": plain[:2]}, {"params": plain[2:], "lr": 0.5}], lr=0.1).step()
    # the reference: the base class's step, which goes through SGD._update per parameter
    opt = nn.optim.SGD([{"params": general[:2]}, {"params": general[2:], "lr": 0.5}], lr=0.1)
    nn.optim.Optimizer.step(opt)
    for a, b, g in zip(plain, general, grads):
        assert np.array_equal(a.data, b.data)
        assert a.version == b.version == (0 if g is None else 1)
    assert np.array_equal(plain[1].data, values[1])  # no gradient: untouched


def test_sgd_with_momentum_in_one_group_takes_the_general_path_for_all():
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
    opt = nn.optim.SGD([{"params": [a]}, {"params": [b], "momentum": 0.9}], lr=0.1)
    for _ in range(2):
        a.grad, b.grad = np.ones(2), np.ones(2)
        opt.step()
    assert np.allclose(a.data, 1 - 0.2) and np.allclose(b.data, 1 - 0.1 - 0.1 * 1.9)
    assert "momentum_buffer" in opt.state[1] and not opt.state[0]


def test_plain_sgd_step_runs_the_closure_with_grad_enabled():
    w = nn.Parameter(np.array([2.0]))
    opt = nn.optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with ag.no_grad():
        loss = opt.step(closure)
    assert float(loss) == 4.0 and w.data[0] == 2.0 - 0.25 * 4.0
