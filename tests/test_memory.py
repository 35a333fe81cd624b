"""Memory: training holds steady memory, and graphs die by reference counting alone
(no reference cycles keep them alive after backward, or when they are never used)."""
from __future__ import annotations

import gc
import tracemalloc
import weakref

import numpy as np
import pytest

import autograd_lite as ag
import nn

STEPS = 10_000
GROWTH_BOUND = 1_000_000   # bytes over all 10,000 steps: a leaked graph per step is far more
STEADY_BOUND = 100_000     # bytes between step 2,000 and step 10,000 (after NumPy's caches fill)


def test_ten_thousand_training_steps_hold_steady_memory():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((32, 4)), rng.integers(0, 3, 32)
    model = nn.Sequential(nn.Linear(4, 16, rng=rng), nn.Tanh(), nn.Linear(16, 3, rng=rng))
    optimizer = nn.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        optimizer.zero_grad()
        loss = loss_fn(model(X), y)
        loss.backward()
        optimizer.step()
        return loss.item()

    step()
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        samples = []
        for i in range(1, STEPS + 1):
            last = step()
            if i % 1000 == 0:
                samples.append(tracemalloc.get_traced_memory()[0] - start)
        peak = tracemalloc.get_traced_memory()[1] - start
    finally:
        tracemalloc.stop()
    print(f"memory growth over {STEPS} steps: {samples[-1]} B (per 1000 steps: {samples}); "
          f"peak {peak} B above the start; final loss {last:.3g}")
    assert last < 0.05  # it did train
    assert samples[-1] < GROWTH_BOUND
    assert samples[-1] - samples[1] < STEADY_BOUND


# ---- graphs die without the cycle collector ---------------------------------------------
def chain(x):
    """A few intermediates (a shared one, a broadcast, a reduction): returns them and the loss."""
    a = ag.tanh(x * 2.0)
    b = a @ a.T + 1.0
    c = ag.logsumexp(b, axis=1) * a.sum()
    return [a, b, c], c.sum()


def after_backward():
    x = ag.tensor(np.ones((3, 2)), requires_grad=True)
    inner, loss = chain(x)
    loss.backward()
    return inner + [loss]


def never_used():
    inner, loss = chain(ag.tensor(np.ones((3, 2)), requires_grad=True))
    return inner + [loss]


def retained():
    x = ag.tensor(np.ones((3, 2)), requires_grad=True)
    inner, loss = chain(x)
    loss.backward(retain_graph=True)
    loss.backward()
    return inner + [loss, x]


def second_order():
    kept = []

    def f(x):
        inner, loss = chain(x)
        kept.extend(inner)
        return loss
    ag.grad(lambda x: ag.grad(f)(x).sum())(np.ones((3, 2)))
    ag.hessian(f)(np.ones((2, 2)))
    return kept


def module():
    model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1))
    out = model(np.ones((5, 2)))
    hidden = model[0](np.ones((5, 2)))
    (out.sum() + hidden.sum()).backward()
    return [out, hidden, model]


def in_place():
    x = ag.tensor(np.ones(3), requires_grad=True)
    y = x * 2.0
    y += 1.0
    y *= x
    y.sum().backward()
    return [y]


def anomaly_mode():
    with ag.detect_anomaly():
        return after_backward()


def failed_backward():
    x = ag.tensor(np.ones(3), requires_grad=True)
    y = ag.exp(x)
    y.sum().backward()
    try:
        y.sum().backward()  # a second backward through the freed exp: RuntimeError
    except RuntimeError:
        pass
    z = x * 1.0
    try:
        z.backward()  # a non-scalar: RuntimeError before anything runs
    except RuntimeError:
        pass
    return [y, z]


SCENARIOS = [after_backward, never_used, retained, second_order, module, in_place,
             anomaly_mode, failed_backward]


@pytest.fixture
def no_cycle_collector():
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.__name__ for s in SCENARIOS])
def test_graphs_are_freed_by_reference_counting(scenario, no_cycle_collector):
    refs = [weakref.ref(t) for t in scenario()]  # the scenario's locals are gone now
    alive = [r() for r in refs if r() is not None]
    assert not alive, f"kept alive without the cycle collector: {alive!r:.300}"
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        found = gc.collect()
        garbage = [type(o).__name__ for o in gc.garbage[:10]]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert found == 0, f"{scenario.__name__} made {found} objects in reference cycles: {garbage}"


def test_the_check_notices_a_cycle(no_cycle_collector):
    """The weakref check can fail: a graph tied into a cycle is not freed by refcounting."""
    inner, loss = chain(ag.tensor(np.ones((3, 2)), requires_grad=True))
    holder = {"loss": loss}
    holder["self"] = holder
    refs = [weakref.ref(t) for t in inner]
    del inner, loss, holder
    assert all(r() is not None for r in refs)
    gc.collect()
    assert all(r() is None for r in refs)
