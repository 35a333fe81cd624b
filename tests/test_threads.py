"""Grad mode is per thread: no_grad in one thread does not affect another."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import autograd_lite as ag

TIMEOUT = 10


def run_in_thread(target):
    """Run ``target`` in a new thread; re-raise whatever it raised."""
    errors = []

    def wrapper():
        try:
            target()
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            errors.append(exc)
    thread = threading.Thread(target=wrapper)
    thread.start()
    return thread, errors


def off_switches():
    """Ways to turn recording off in a thread: context managers and a decorator."""
    def decorated(body):
        return ag.no_grad()(body)()
    return {
        "no_grad": lambda body: _within(ag.no_grad(), body),
        "set_grad_enabled(False)": lambda body: _within(ag.set_grad_enabled(False), body),
        "@no_grad()": decorated,
    }


def _within(manager, body):
    with manager:
        return body()


@pytest.mark.parametrize("switch", off_switches().values(), ids=list(off_switches()))
def test_no_grad_in_one_thread_leaves_another_recording(switch):
    inside, checked = threading.Event(), threading.Event()
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    seen = {}

    def quiet():
        def body():
            inside.set()
            assert checked.wait(TIMEOUT)
            seen["quiet mode"] = ag.is_grad_enabled()
            seen["quiet records"] = (x * 2.0).requires_grad
        switch(body)
        seen["quiet after"] = ag.is_grad_enabled()

    thread, errors = run_in_thread(quiet)
    assert inside.wait(TIMEOUT)
    # The other thread is inside its no_grad block now; this one still records.
    seen["main mode"] = ag.is_grad_enabled()
    y = (x * x).sum()
    checked.set()
    thread.join(TIMEOUT)
    assert not errors, errors
    y.backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])
    assert seen == {"quiet mode": False, "quiet records": False, "quiet after": True,
                    "main mode": True}


def test_a_new_thread_records_even_when_its_creator_is_in_no_grad():
    seen = []
    with ag.no_grad():
        thread, errors = run_in_thread(
            lambda: seen.append((ag.is_grad_enabled(),
                                 (ag.tensor(1.0, requires_grad=True) * 2).requires_grad)))
        thread.join(TIMEOUT)
        assert not ag.is_grad_enabled()
    assert not errors and seen == [(True, True)]


def test_enable_grad_in_one_thread_does_not_reenable_another():
    inside, checked = threading.Event(), threading.Event()

    def loud():
        with ag.enable_grad():
            inside.set()
            assert checked.wait(TIMEOUT)

    with ag.no_grad():
        thread, errors = run_in_thread(loud)
        assert inside.wait(TIMEOUT)
        recorded = (ag.tensor(1.0, requires_grad=True) * 2).requires_grad
        checked.set()
        thread.join(TIMEOUT)
    assert not errors and recorded is False


def gradient_with_interleaved_no_grad(seed: int) -> np.ndarray:
    """Many small graphs, each interrupted by no_grad work, as a thread would do."""
    rng = np.random.default_rng(seed)
    w = ag.tensor(rng.standard_normal((3, 2)), requires_grad=True)
    x = rng.standard_normal((5, 3))
    for _ in range(50):
        loss = ag.tanh(x @ w).sum()
        with ag.no_grad():
            assert not (x @ w).requires_grad
        loss.backward()
        with ag.no_grad():
            w -= 0.01 * w.grad
        w.grad = None
    return w.data


def test_threads_training_concurrently_get_the_single_threaded_results():
    seeds = range(8)
    expected = [gradient_with_interleaved_no_grad(s) for s in seeds]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(gradient_with_interleaved_no_grad, seeds))
    for got, want in zip(results, expected):
        np.testing.assert_array_equal(got, want)
