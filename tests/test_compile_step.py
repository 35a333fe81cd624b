"""nn.compile_step: a traced and replayed training step leaves the parameters where the eager
``zero_grad(); loss.backward(); step()`` loop does (to 1e-12), for every optimizer, with
parameter groups and schedulers; check mode catches a replay that has gone wrong."""
from __future__ import annotations

import numpy as np
import pytest

import autograd_lite as ag
import nn
from tests.oracles import readme_block


def make_problem(seed: int = 0, hidden: int = 5):
    """A 2-hidden-3 tanh network with cross-entropy plus an L2 term (the shape of W1)."""
    rng = np.random.default_rng(seed)
    model = nn.Sequential(nn.Linear(2, hidden, rng=rng), nn.Tanh(), nn.Linear(hidden, 3, rng=rng))
    criterion = nn.CrossEntropyLoss()

    def loss_fn(X, y):
        weights = (model[0].weight, model[2].weight)
        return criterion(model(X), y) + 0.01 / (2 * len(X)) * sum((W * W).sum() for W in weights)
    return model, loss_fn


def batches(steps: int, n: int = 20, seed: int = 1):
    rng = np.random.default_rng(seed)
    X, y = rng.standard_normal((n, 2)), rng.integers(0, 3, n)
    return [(X + 0.1 * rng.standard_normal(X.shape), y) for _ in range(steps)]


def assert_same_parameters(compiled_model, eager_model):
    for (name, p), q in zip(compiled_model.named_parameters(), eager_model.parameters()):
        scale = max(float(np.max(np.abs(q.data))), 1e-300)
        np.testing.assert_allclose(p.data, q.data, rtol=0, atol=1e-12 * scale, err_msg=name)


def run_both(make_optimizer, steps: int = 6, schedule=None):
    """The same training both ways; returns the two models and both loss sequences."""
    compiled_model, compiled_loss = make_problem()
    eager_model, eager_loss = make_problem()
    compiled_opt, eager_opt = make_optimizer(compiled_model), make_optimizer(eager_model)
    schedulers = [schedule(o) for o in (compiled_opt, eager_opt)] if schedule else []
    step = nn.compile_step(compiled_loss, compiled_opt)
    losses, expected = [], []
    for X, y in batches(steps):
        losses.append(step(X, y))
        eager_opt.zero_grad()
        loss = eager_loss(X, y)
        loss.backward()
        eager_opt.step()
        expected.append(float(loss.data))
        for scheduler in schedulers:
            scheduler.step()
        assert_same_parameters(compiled_model, eager_model)
    assert step.traces == 1
    np.testing.assert_allclose(losses, expected, rtol=1e-12)
    return compiled_model, eager_model, step


@pytest.mark.parametrize("make_optimizer", [
    lambda m: nn.optim.SGD(m.parameters(), lr=0.1),
    lambda m: nn.optim.SGD(m.parameters(), lr=0.1, momentum=0.9),
    lambda m: nn.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-2),
    lambda m: nn.optim.SGD(m.parameters(), lr=0.1, momentum=0.5, dampening=0.1, maximize=True),
    lambda m: nn.optim.Adam(m.parameters(), lr=0.01),
    lambda m: nn.optim.Adam(m.parameters(), lr=0.01, weight_decay=0.1, amsgrad=True),
    lambda m: nn.optim.AdamW(m.parameters(), lr=0.01),
    lambda m: nn.optim.RMSprop(m.parameters(), lr=0.01, momentum=0.9, centered=True),
    lambda m: nn.optim.RMSprop(m.parameters(), lr=0.01, weight_decay=0.1),
    lambda m: nn.optim.Adagrad(m.parameters(), lr=0.1, lr_decay=0.01, weight_decay=0.1),
], ids=["sgd", "sgd-momentum", "sgd-nesterov-wd", "sgd-dampening-maximize", "adam",
        "adam-wd-amsgrad", "adamw", "rmsprop-centered-momentum", "rmsprop-wd", "adagrad"])
def test_parameters_equal_the_eager_loop(make_optimizer):
    run_both(make_optimizer)


def test_parameter_groups_with_their_own_hyperparameters():
    run_both(lambda m: nn.optim.SGD([{"params": m[0].parameters(), "lr": 0.3, "momentum": 0.9},
                                     {"params": m[2].parameters()}], lr=0.05))


@pytest.mark.parametrize("schedule", [
    lambda o: nn.optim.lr_scheduler.StepLR(o, step_size=2, gamma=0.5),
    lambda o: nn.optim.lr_scheduler.OneCycleLR(o, max_lr=0.5, total_steps=10),
], ids=["steplr", "onecycle"])
def test_a_scheduler_changing_lr_and_momentum_between_steps_is_obeyed(schedule):
    run_both(lambda m: nn.optim.SGD(m.parameters(), lr=0.1, momentum=0.9), steps=8,
             schedule=schedule)


def test_changing_lr_by_hand_takes_effect_at_the_next_step():
    model, loss_fn = make_problem()
    optimizer = nn.optim.SGD(model.parameters(), lr=0.1)
    step = nn.compile_step(loss_fn, optimizer)
    (X, y), = batches(1)
    step(X, y)
    before = [p.data.copy() for p in model.parameters()]
    optimizer.param_groups[0]["lr"] = 0.0
    step(X, y)
    for p, b in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.data, b)


def test_a_parameter_the_loss_does_not_use_is_skipped_as_eagerly():
    model, loss_fn = make_problem()
    spare = nn.Parameter(np.ones(3))
    optimizer = nn.optim.Adam([*model.parameters(), spare], lr=0.1, weight_decay=0.5)
    step = nn.compile_step(loss_fn, optimizer)
    for X, y in batches(2):
        step(X, y)
    np.testing.assert_array_equal(spare.data, np.ones(3))
    assert optimizer.state[-1] == {}  # no step counted, no moments: as with .grad None


def test_retraces_on_new_shapes_and_keeps_both_programs():
    model, loss_fn = make_problem()
    step = nn.compile_step(loss_fn, nn.optim.SGD(model.parameters(), lr=0.1))
    small, large = batches(1, n=10)[0], batches(1, n=30)[0]
    for batch in (small, large, small, large):
        step(*batch)
    assert step.traces == 2 and step.calls == 4
    assert "(30, 2) float64" in step.code


def test_the_update_bumps_versions_so_a_stale_graph_refuses_backward():
    model, loss_fn = make_problem()
    step = nn.compile_step(loss_fn, nn.optim.SGD(model.parameters(), lr=0.1))
    (X, y), = batches(1)
    stale = loss_fn(X, y)
    step(X, y)
    with pytest.raises(RuntimeError, match="modified in place"):
        stale.backward()


def test_check_mode_compares_with_the_eager_step_and_catches_frozen_control_flow():
    model, loss_fn = make_problem()
    optimizer = nn.optim.SGD(model.parameters(), lr=0.1)

    def value_dependent(X, y):  # the branch taken at trace time is frozen into the program
        loss = loss_fn(X, y)
        return loss * 2 if float(X[0, 0]) > 0 else loss

    step = nn.compile_step(value_dependent, optimizer, check_every=1)
    X, y = batches(1)[0]
    X[0, 0] = 1.0
    step(X, y)
    X2 = X.copy()
    X2[0, 0] = -1.0
    before = [p.data.copy() for p in model.parameters()]
    with pytest.raises(ag.TraceMismatchError, match="compile_step.*off by"):
        step(X2, y)
    assert not all(np.array_equal(p.data, b) for p, b in zip(model.parameters(), before))


def test_check_mode_passes_and_keeps_training_on_a_sound_step():
    compiled_model, loss_fn = make_problem()
    eager_model, eager_loss = make_problem()
    step = nn.compile_step(loss_fn, nn.optim.Adam(compiled_model.parameters(), lr=0.01),
                           check_every=2)
    eager_opt = nn.optim.Adam(eager_model.parameters(), lr=0.01)
    for X, y in batches(5):
        step(X, y)
        eager_opt.zero_grad()
        eager_loss(X, y).backward()
        eager_opt.step()
    assert_same_parameters(compiled_model, eager_model)


@pytest.mark.parametrize("args, error, message", [
    ((lambda X: X, "not an optimizer"), TypeError, "needs an nn.optim optimizer"),
    ((3, None), TypeError, "needs a loss function"),
])
def test_clear_errors(args, error, message):
    with pytest.raises(error, match=message):
        nn.compile_step(*args)


def test_negative_check_every_is_refused():
    model, loss_fn = make_problem()
    with pytest.raises(ValueError, match="check_every"):
        nn.compile_step(loss_fn, nn.optim.SGD(model.parameters(), lr=0.1), check_every=-1)


def test_readme_example_runs():
    rng = np.random.default_rng(0)
    namespace = {"np": np, "nn": nn, "ag": ag,
                 "model": nn.Sequential(nn.Linear(2, 8, rng=rng), nn.Tanh(), nn.Linear(8, 2, rng=rng)),
                 "X": rng.standard_normal((64, 2)), "y": rng.integers(0, 2, 64)}
    exec(readme_block("### A compiled training step: `nn.compile_step`"), namespace)  # noqa: S102
    assert namespace["loss"] < namespace["first"]
