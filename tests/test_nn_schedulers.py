"""Learning-rate schedulers against PyTorch's documented closed forms, hand-worked
ReduceLROnPlateau runs, momentum cycling, exact resuming from state dicts, and errors."""
import math
from bisect import bisect_right

import numpy as np
import pytest

import nn

sched = nn.optim.lr_scheduler
BASE_LRS = [0.1, 0.2]


def make_optimizer(kind=nn.optim.SGD, **settings):
    """Two parameter groups with learning rates BASE_LRS."""
    groups = [{"params": [nn.Parameter(np.ones(2))], "lr": lr} for lr in BASE_LRS]
    return kind(groups, **settings)


def step(scheduler, metrics, t):
    scheduler.step() if metrics is None else scheduler.step(metrics[t])


def run(make_scheduler, steps, optimizer=None, metrics=None):
    """The learning rates (one list per group) after construction and after each step."""
    optimizer = optimizer or make_optimizer()
    scheduler = make_scheduler(optimizer)
    history = [scheduler.get_last_lr()]
    for t in range(steps):
        optimizer.step()
        step(scheduler, metrics, t)
        history.append(scheduler.get_last_lr())
        assert history[-1] == [g["lr"] for g in optimizer.param_groups]
    return np.array(history)


def closed_form(formula, steps):
    return np.array([[formula(base, epoch) for base in BASE_LRS] for epoch in range(steps + 1)])


def cosine(base, epoch, T_max=7, eta_min=0.01):
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * epoch / T_max)) / 2


CLOSED_FORMS = {
    "StepLR": (lambda o: sched.StepLR(o, step_size=3, gamma=0.5),
               lambda base, e: base * 0.5 ** (e // 3)),
    "MultiStepLR": (lambda o: sched.MultiStepLR(o, milestones=[2, 5, 5, 9], gamma=0.3),
                    lambda base, e: base * 0.3 ** bisect_right([2, 5, 5, 9], e)),
    "ExponentialLR": (lambda o: sched.ExponentialLR(o, gamma=0.9),
                      lambda base, e: base * 0.9 ** e),
    "CosineAnnealingLR": (lambda o: sched.CosineAnnealingLR(o, T_max=7, eta_min=0.01), cosine),
    "LambdaLR": (lambda o: sched.LambdaLR(o, lambda e: 1 / (1 + e) + 0.01 * e),
                 lambda base, e: base * (1 / (1 + e) + 0.01 * e)),
    "LambdaLR per group": (lambda o: sched.LambdaLR(o, [lambda e: 0.5 ** e, lambda e: 0.5 ** e]),
                           lambda base, e: base * 0.5 ** e),
}


@pytest.mark.parametrize("name", CLOSED_FORMS)
def test_schedules_follow_their_closed_forms(name):
    make, formula = CLOSED_FORMS[name]
    steps = 30  # the cosine goes past T_max: PyTorch's recursion rises again
    np.testing.assert_allclose(run(make, steps), closed_form(formula, steps), rtol=1e-12)


def test_the_schedule_reaches_the_optimizer_step():
    p = nn.Parameter(np.zeros(1))
    optimizer = nn.optim.SGD([p], lr=1.0)
    scheduler = sched.StepLR(optimizer, step_size=1, gamma=0.5)
    for _ in range(3):
        p.grad = np.ones(1)
        optimizer.step()
        scheduler.step()
    np.testing.assert_allclose(p.data, [-(1.0 + 0.5 + 0.25)], rtol=1e-15)


# ---- OneCycleLR --------------------------------------------------------------------------------
def one_cycle_reference(total, max_lr, pct_start=0.3, div_factor=25.0, final_div_factor=1e4,
                        three_phase=False, strategy="cos", base_m=0.85, max_m=0.95):
    """(lr, momentum) per step, from the phase table in PyTorch's documentation."""
    initial = max_lr / div_factor
    low = initial / final_div_factor
    anneal = ((lambda a, b, f: b + (a - b) * (1 + math.cos(math.pi * f)) / 2) if strategy == "cos"
              else (lambda a, b, f: a + (b - a) * f))
    up = pct_start * total - 1
    if three_phase:
        phases = [(up, initial, max_lr, max_m, base_m), (2 * up, max_lr, initial, base_m, max_m),
                  (total - 1, initial, low, max_m, max_m)]
    else:
        phases = [(up, initial, max_lr, max_m, base_m), (total - 1, max_lr, low, base_m, max_m)]
    out = []
    for t in range(total + 1):
        start = 0.0
        for i, (end, lr0, lr1, m0, m1) in enumerate(phases):
            if t <= end or i == len(phases) - 1:
                f = (t - start) / (end - start)
                out.append((anneal(lr0, lr1, f), anneal(m0, m1, f)))
                break
            start = end
    return np.array(out)


def momentum_of(group):
    return group["betas"][0] if "betas" in group else group["momentum"]


@pytest.mark.parametrize("kind, settings, reference", [
    (nn.optim.SGD, dict(total_steps=37), dict(total=37)),
    (nn.optim.SGD, dict(epochs=4, steps_per_epoch=5, pct_start=0.25, div_factor=10,
                        final_div_factor=100, anneal_strategy="linear"),
     dict(total=20, pct_start=0.25, div_factor=10, final_div_factor=100, strategy="linear")),
    (nn.optim.Adam, dict(total_steps=30, three_phase=True), dict(total=30, three_phase=True)),
    (nn.optim.Adam, dict(total_steps=25, base_momentum=0.8, max_momentum=0.9),
     dict(total=25, base_m=0.8, max_m=0.9)),
])
def test_one_cycle_follows_the_phase_table_and_cycles_momentum(kind, settings, reference):
    expected = one_cycle_reference(max_lr=1.0, **reference)
    optimizer = kind([nn.Parameter(np.ones(2))], lr=123.0)  # replaced by the schedule
    scheduler = sched.OneCycleLR(optimizer, max_lr=1.0, **settings)
    history = [(scheduler.get_last_lr()[0], momentum_of(optimizer.param_groups[0]))]
    for _ in range(reference["total"]):
        scheduler.step()
        history.append((scheduler.get_last_lr()[0], momentum_of(optimizer.param_groups[0])))
    np.testing.assert_allclose(history, expected, rtol=1e-12)
    if kind is nn.optim.Adam:
        assert optimizer.param_groups[0]["betas"][1] == 0.999  # beta2 is left alone
    with pytest.raises(ValueError, match=f"stepped {reference['total'] + 1} times, more than"):
        scheduler.step()


def test_one_cycle_defaults_and_landmarks():
    optimizer = make_optimizer(momentum=0.5)
    scheduler = sched.OneCycleLR(optimizer, max_lr=[1.0, 2.0], total_steps=100)
    np.testing.assert_allclose(scheduler.get_last_lr(), [1.0 / 25, 2.0 / 25], rtol=1e-14)
    assert [g["momentum"] for g in optimizer.param_groups] == [0.95, 0.95]
    history = [scheduler.get_last_lr()]
    for _ in range(99):
        scheduler.step()
        history.append(scheduler.get_last_lr())
    history = np.array(history)
    assert np.argmax(history[:, 0]) == 29 and history[29, 0] == pytest.approx(1.0, rel=1e-14)
    np.testing.assert_allclose(history[-1], [1.0 / 25 / 1e4, 2.0 / 25 / 1e4], rtol=1e-12)
    assert optimizer.param_groups[0]["momentum"] == pytest.approx(0.95, rel=1e-14)


def test_one_cycle_without_momentum_cycling_works_for_any_optimizer():
    optimizer = make_optimizer(nn.optim.Adagrad)
    with pytest.raises(ValueError, match="cycle_momentum.*Adagrad has neither"):
        sched.OneCycleLR(optimizer, max_lr=1.0, total_steps=10)
    scheduler = sched.OneCycleLR(optimizer, max_lr=1.0, total_steps=10, cycle_momentum=False)
    scheduler.step()
    assert "momentum" not in optimizer.param_groups[0]


# ---- ReduceLROnPlateau ---------------------------------------------------------------------------
@pytest.mark.parametrize("settings, metrics, expected_first_group", [
    # patience 2: the third epoch without improvement over the best (0.9) reduces.
    (dict(patience=2, factor=0.5), [1, 0.9, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95],
     [0.1, 0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025]),
    # Improvements smaller than the relative threshold (1e-4 of the best) do not count.
    (dict(patience=1, factor=0.5), [1, 0.99995, 0.9999, 0.5],
     [0.1, 0.1, 0.1, 0.05, 0.05]),
    # Cooldown: two epochs after a reduction do not count as bad.
    (dict(patience=0, factor=0.5, cooldown=2), [1, 2, 2, 2, 2, 2],
     [0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025]),
    # mode="max" with an absolute threshold of 0.1.
    (dict(mode="max", patience=0, threshold=0.1, threshold_mode="abs"), [1, 1.05, 1.2, 1.25],
     [0.1, 0.1, 0.01, 0.01, 0.001]),
    # min_lr floors, and a change below eps is skipped.
    (dict(patience=0, factor=0.1, min_lr=[0.05, 0.0]), [1, 1, 1], [0.1, 0.1, 0.05, 0.05]),
    (dict(patience=0, factor=0.5, eps=0.06), [1, 1, 1], [0.1, 0.1, 0.1, 0.1]),
])
def test_reduce_on_plateau(settings, metrics, expected_first_group):
    history = run(lambda o: sched.ReduceLROnPlateau(o, **settings), len(metrics),
                  metrics=metrics)
    np.testing.assert_allclose(history[:, 0], expected_first_group, rtol=1e-15)


# ---- state dicts -----------------------------------------------------------------------------------
RESUMABLE = {
    "StepLR": (lambda o: sched.StepLR(o, 3, 0.5), None),
    "MultiStepLR": (lambda o: sched.MultiStepLR(o, [2, 7, 8]), None),
    "ExponentialLR": (lambda o: sched.ExponentialLR(o, 0.8), None),
    "CosineAnnealingLR": (lambda o: sched.CosineAnnealingLR(o, 5, 0.01), None),
    "LambdaLR": (lambda o: sched.LambdaLR(o, lambda e: 0.9 ** e), None),
    "OneCycleLR": (lambda o: sched.OneCycleLR(o, [1.0, 2.0], total_steps=20), None),
    "ReduceLROnPlateau": (lambda o: sched.ReduceLROnPlateau(o, patience=1, cooldown=1),
                          [1, 0.5, 0.6, 0.7, 0.6, 0.4, 0.5, 0.5, 0.5, 0.3, 0.3, 0.3, 0.3, 0.3]),
}


@pytest.mark.parametrize("name", RESUMABLE)
@pytest.mark.parametrize("kind", [nn.optim.SGD, nn.optim.Adam])
def test_resuming_from_state_dicts_continues_the_same_schedule(name, kind):
    make, metrics = RESUMABLE[name]

    def record(scheduler, optimizer):  # momentum too: OneCycleLR cycles it
        return scheduler.get_last_lr() + [momentum_of(g) for g in optimizer.param_groups]

    optimizer = make_optimizer(kind, momentum=0.5) if kind is nn.optim.SGD else make_optimizer(kind)
    scheduler = make(optimizer)
    straight = []
    for t in range(14):
        step(scheduler, metrics, t)
        straight.append(record(scheduler, optimizer))

    optimizer = make_optimizer(kind, momentum=0.5) if kind is nn.optim.SGD else make_optimizer(kind)
    scheduler = make(optimizer)
    for t in range(6):
        step(scheduler, metrics, t)
    saved_optimizer, saved_scheduler = optimizer.state_dict(), scheduler.state_dict()
    step(scheduler, metrics, 6)  # what happens after saving must not leak into the saved state

    optimizer = make_optimizer(kind, momentum=0.5) if kind is nn.optim.SGD else make_optimizer(kind)
    scheduler = make(optimizer)  # a fresh start, overwritten by the loads
    optimizer.load_state_dict(saved_optimizer)
    scheduler.load_state_dict(saved_scheduler)
    resumed = [record(scheduler, optimizer)]
    for t in range(6, 14):
        step(scheduler, metrics, t)
        resumed.append(record(scheduler, optimizer))
    assert resumed == straight[5:]


def test_lambda_state_saves_callable_objects_but_not_functions():
    class Warmup:
        def __init__(self):
            self.length = 5

        def __call__(self, epoch):
            return min(1.0, (epoch + 1) / self.length)

    optimizer = make_optimizer()
    rule = Warmup()
    scheduler = sched.LambdaLR(optimizer, [rule, lambda e: 1.0])
    state = scheduler.state_dict()
    assert state["lr_lambdas"] == [{"length": 5}, None] and "optimizer" not in state
    rule.length = 10
    scheduler.load_state_dict(state)
    assert rule.length == 5


# ---- errors ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("make, error, message", [
    (lambda o: sched.StepLR(object(), 3), TypeError, "StepLR needs an nn.optim optimizer"),
    (lambda o: sched.ReduceLROnPlateau([1]), TypeError, "needs an nn.optim optimizer"),
    (lambda o: sched.StepLR(o, 3, last_epoch=4), KeyError, r"param_groups\[0\] has no "
                                                           "'initial_lr'"),
    (lambda o: sched.StepLR(o, 0), ValueError, "step_size must be >= 1"),
    (lambda o: sched.CosineAnnealingLR(o, 0), ValueError, "T_max must be > 0"),
    (lambda o: sched.LambdaLR(o, [lambda e: 1.0]), ValueError, "lr_lambda has 1 values, the "
                                                               "optimizer 2 parameter groups"),
    (lambda o: sched.OneCycleLR(o, 1.0), ValueError, "total_steps, or epochs and steps_per_epoch"),
    (lambda o: sched.OneCycleLR(o, 1.0, total_steps=0), ValueError, "positive integer"),
    (lambda o: sched.OneCycleLR(o, 1.0, epochs=2, steps_per_epoch=1.5), ValueError,
     "steps_per_epoch must be a positive integer"),
    (lambda o: sched.OneCycleLR(o, 1.0, 10, pct_start=1.5), ValueError, "pct_start"),
    (lambda o: sched.OneCycleLR(o, 1.0, 10, anneal_strategy="exp"), ValueError, "'exp'"),
    (lambda o: sched.OneCycleLR(o, [1.0], 10), ValueError, "max_lr has 1 values"),
    (lambda o: sched.ReduceLROnPlateau(o, factor=1.0), ValueError, "factor must be < 1"),
    (lambda o: sched.ReduceLROnPlateau(o, mode="lowest"), ValueError, "'lowest'"),
    (lambda o: sched.ReduceLROnPlateau(o, min_lr=[0.0]), ValueError, "min_lr has 1 values"),
])
def test_scheduler_errors(make, error, message):
    with pytest.raises(error, match=message):
        make(make_optimizer())
