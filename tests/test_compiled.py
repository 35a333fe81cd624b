"""compile_grad: a traced, replayed step gives the ordinary engine's value and gradients
(to 1e-12), retraces when argument kinds change, says clearly what it refuses, and
detects a replay that has gone wrong."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import autograd_lite as ag
import nn
from autograd_lite.compiled import RETRACE_WARNING, TraceMismatchError, compile_grad

RNG = np.random.default_rng(11)


def assert_same(actual, expected) -> None:
    """Equal to 1e-12 relative to the largest entry (the same NumPy calls in the same order)."""
    if isinstance(expected, (list, tuple)):
        assert type(actual) is type(expected) and len(actual) == len(expected)
        for a, e in zip(actual, expected):
            assert_same(a, e)
        return
    assert type(actual) is type(expected) or isinstance(actual, np.ndarray)
    a, e = np.asarray(actual), np.asarray(expected)
    assert a.shape == e.shape and a.dtype == e.dtype
    np.testing.assert_allclose(a, e, rtol=0, atol=1e-12 * max(np.max(np.abs(e), initial=0), 1e-300))


def assert_matches_engine(fun, *args, argnum=0, calls=3) -> ag.compiled.CompiledGrad:
    """The compiled step equals ag.value_and_grad on the first call (the trace) and on
    replays with new random values of the differentiated arguments."""
    step = compile_grad(fun, argnum)
    reference = ag.value_and_grad(fun, argnum)
    argnums = argnum if isinstance(argnum, tuple) else (argnum,)
    for call in range(calls):
        value, grads = step(*args)
        expected_value, expected_grads = reference(*args)
        assert_same(value, expected_value)
        assert_same(grads, expected_grads)
        args = tuple(_perturbed(a) if i in argnums else a for i, a in enumerate(args))
    assert step.traces == 1
    return step


def _perturbed(x):
    if isinstance(x, float):
        return x + 0.25
    return (x + 0.1 * RNG.standard_normal(np.shape(x))).astype(x.dtype)


# ---- the same gradients as the engine ----------------------------------------------------------
def moons_loss(params, X, y, rows):
    """The benchmark's W1: 2-3-2 tanh, log-softmax cross-entropy by fancy indexing, L2."""
    W1, b1, W2, b2 = params
    h = ag.tanh(X @ W1 + b1)
    z = h @ W2 + b2
    n = len(X)
    loss = -ag.log_softmax(z)[rows, y].sum() / n
    return loss + 0.01 / (2 * n) * sum((W * W).sum() for W in (W1, W2))


def test_moons_network_with_indexing_reductions_broadcasting():
    X = RNG.standard_normal((50, 2))
    y = RNG.integers(0, 2, 50)
    params = [RNG.standard_normal((2, 3)), np.zeros(3), RNG.standard_normal((3, 2)), np.zeros(2)]
    step = compile_grad(moons_loss)
    for _ in range(3):
        value, grads = step(params, X, y, np.arange(50))
        expected = ag.value_and_grad(lambda *ps: moons_loss(ps, X, y, np.arange(50)),
                                     (0, 1, 2, 3))(*params)
        assert_same(value, expected[0])
        assert_same(grads, list(expected[1]))
        params = [p - 0.5 * g for p, g in zip(params, grads)]
    assert step.traces == 1


def test_new_data_arguments_are_read_each_call():
    W = RNG.standard_normal((3, 2))
    fun = lambda W, X, y: ag.softmax_cross_entropy(X @ W, y).mean()
    step = compile_grad(fun)
    for _ in range(3):
        X, y = RNG.standard_normal((8, 3)), RNG.integers(0, 2, 8)
        value, grad = step(W, X, y)
        expected = ag.value_and_grad(fun)(W, X, y)
        assert_same(value, expected[0])
        assert_same(grad, expected[1])
    assert step.traces == 1


def test_nn_model_parameters_as_a_list_argument():
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(2, 5, rng=rng), nn.Tanh(), nn.Linear(5, 3, rng=rng))
    criterion = nn.CrossEntropyLoss()
    X, y = rng.standard_normal((20, 2)), rng.integers(0, 3, 20)
    params = list(model.parameters())
    step = compile_grad(lambda params, X, y: criterion(model(X), y))
    optimizer = nn.optim.SGD(params, lr=0.1)
    for _ in range(3):
        value, grads = step(params, X, y)
        optimizer.zero_grad()
        loss = criterion(model(X), y)
        loss.backward()
        assert_same(value, float(loss.data))
        assert_same(grads, [p.grad for p in params])
        optimizer.step()  # in place: the next replay must read the new values
    assert step.traces == 1 and len(grads) == 4


@pytest.mark.parametrize("fun, shapes", [
    (lambda x, b: ((x[:, None] * b[None, :] + b) ** 2).mean(), [(4,), (3,)]),
    (lambda x, b: ag.sum(ag.exp(x - ag.max(x, axis=1, keepdims=True)) * b, axis=0).var(), [(5, 3), (1, 3)]),
    (lambda x, b: ag.logsumexp(x @ b.T, axis=0).sum() + ag.sigmoid(b).sum(), [(4, 2), (3, 2)]),
    (lambda x, b: ag.where(x > 0, x, 0.1 * x).sum() + ag.maximum(x, b).sum(), [(3, 4), (4,)]),
    (lambda x, b: (ag.concatenate([x, b[None]], axis=0) ** 2).sum()
     + ag.stack([b, 2 * b]).softmax(axis=0)[1].sum(), [(2, 3), (3,)]),
    (lambda x, b: ag.relu(x.reshape(6, 2).T).clip(0.1, 0.8).sum() + ag.abs(b).sum(), [(3, 4), (2, 1)]),
    (lambda x, b: (x[1:, ::2] * b).sum() + x[[0, 0, 2], 1].sum(), [(3, 4), (2,)]),
    (lambda x, b: ag.softmax_cross_entropy(x, ag.softmax(b)).sum(), [(4, 3), (4, 3)]),
])
@pytest.mark.filterwarnings("ignore::autograd_lite.FrozenValueWarning")  # (x > 0: at the trace's point)
def test_engine_gradients_on_assorted_programs(fun, shapes):
    args = tuple(RNG.standard_normal(s) for s in shapes)
    assert_matches_engine(fun, *args, argnum=(0, 1))


def test_float_argument_gives_a_float_gradient():
    step = assert_matches_engine(lambda a, x: (a * x ** 3).sum(), 1.5, RNG.standard_normal(3))
    value, grad = step(2.0, np.ones(3))
    assert isinstance(value, float) and isinstance(grad, float) and grad == 3.0


def test_argument_the_output_does_not_depend_on_gets_zeros():
    step = compile_grad(lambda x, y: (x * 2).sum(), (0, 1))
    _, (gx, gy) = step(np.ones(3), np.ones((2, 2)))
    assert_same(gx, np.full(3, 2.0))
    assert_same(gy, np.zeros((2, 2)))


def test_float32_stays_float32():
    x = RNG.standard_normal((4, 3)).astype(np.float32)
    step = assert_matches_engine(lambda x: (ag.tanh(x) * x).sum(), x)
    assert step(x)[1].dtype == np.float32


def test_returned_gradients_are_fresh_arrays():
    step = compile_grad(lambda x: x.sum() + 0.0)  # add's rule passes the seed on unchanged
    _, g = step(np.float64(3.0) * np.ones(()))
    g += 100
    assert_same(step(np.ones(()))[1], np.ones(()))


# ---- when it traces again --------------------------------------------------------------------
def test_retraces_on_new_shape_or_dtype_but_not_on_new_values():
    step = compile_grad(lambda x: (x * x).sum())
    step(np.ones(3))
    step(np.arange(3.0))
    assert step.traces == 1
    assert_same(step(np.ones(4))[1], np.full(4, 2.0))
    assert step.traces == 2
    assert step(np.ones(4, dtype=np.float32))[1].dtype == np.float32
    assert step.traces == 3
    step(np.ones(3))  # the first program is still cached
    assert step.traces == 3


def test_python_scalar_arguments_are_frozen_by_value():
    step = compile_grad(lambda x, power: (x ** power).sum())
    assert_same(step(np.full(2, 3.0), 2)[1], np.full(2, 6.0))
    assert_same(step(np.full(2, 3.0), 3)[1], np.full(2, 27.0))
    assert step.traces == 2


def test_array_argument_used_off_the_tape_retraces_when_it_is_a_new_object():
    fun = lambda x, y: (x * np.asarray(y, dtype=float)).sum()  # y is copied: not on the tape
    step = compile_grad(fun)
    assert_same(step(np.ones(3), np.array([1, 2, 3]))[1], np.array([1.0, 2.0, 3.0]))
    assert_same(step(np.ones(3), np.array([4, 5, 6]))[1], np.array([4.0, 5.0, 6.0]))
    assert step.traces == 2


def test_closure_parameters_are_read_at_each_call():
    w = ag.Tensor(np.ones(3), requires_grad=True)
    step = compile_grad(lambda x: (x * w).sum())
    assert_same(step(np.ones(3))[1], np.ones(3))
    with ag.no_grad():
        w *= 5
    assert_same(step(np.ones(3))[1], np.full(3, 5.0))
    assert step.traces == 1 and w.grad is None


def test_keeps_warning_when_it_retraces_again_and_again():
    step = compile_grad(lambda x: x.sum())
    for n in range(1, RETRACE_WARNING):
        step(np.ones(n))
    with pytest.warns(RuntimeWarning, match="traced .* 8 times"):
        step(np.ones(RETRACE_WARNING))


# ---- it can fail, and says so ------------------------------------------------------------------
def branchy(x):
    """Python control flow on a value: frozen at trace time."""
    return (x * x).sum() if float(x.data.sum()) > 0 else (-x).sum()


def test_value_dependent_control_flow_is_frozen_and_check_mode_catches_it():
    step = compile_grad(branchy)
    step(np.ones(3))
    assert_same(step(-np.ones(3))[1], np.full(3, -2.0))  # silently the traced branch ...
    assert_same(ag.grad(branchy)(-np.ones(3)), np.full(3, -1.0))  # ... the engine takes the other
    with pytest.raises(TraceMismatchError, match="disagrees with the ordinary engine.*gradient 0"):
        step.check(-np.ones(3))
    checked = compile_grad(branchy, check_every=2)
    checked(np.ones(3))
    with pytest.raises(TraceMismatchError, match="a later call's arguments"):
        checked(-np.ones(3))  # call 2 is checked


def leaky_by_hand(x):
    return ag.sum(np.where(x > 0, x, 0.1 * x))  # the mask is computed outside the tape


def test_a_mask_compared_from_traced_values_warns_and_is_frozen():
    step = compile_grad(leaky_by_hand)
    with pytest.warns(ag.FrozenValueWarning, match=r"computed greater from the values.*"
                                                    r"reuses the one from this trace"):
        step(np.array([1.0, -1.0]))
    assert_same(step(np.array([-1.0, 1.0]))[1], np.array([1.0, 0.1]))  # the trace's mask: wrong ...
    assert_same(ag.grad(leaky_by_hand)(np.array([-1.0, 1.0])), np.array([0.1, 1.0]))  # ... as warned
    for read in (lambda x: np.argsort(x), lambda x: np.allclose(x, 0), lambda x: x != 1):
        with pytest.warns(ag.FrozenValueWarning):
            compile_grad(lambda x: ag.sum(x * x) + 0 * float(np.sum(read(x))))(np.ones(2))


# Functions whose pieces, orders or clamps change with the values: each chooses inside a
# table entry, so a program traced at one point replays at another exactly as the engine
# runs there, without a warning.
criterion_bce, criterion_kl = nn.BCELoss(), nn.KLDivLoss(reduction="sum")
PIECEWISE = {
    "leaky_relu": lambda x: ag.sum(ag.leaky_relu(x, 0.1) * np.arange(1.0, 5.0)),
    "elu": lambda x: ag.sum(ag.elu(x, 0.7) * np.arange(1.0, 5.0)),
    "softplus": lambda x: ag.sum(ag.softplus(10 * x, beta=2.0, threshold=3.0)),
    "hardtanh": lambda x: ag.sum(ag.hardtanh(2 * x, -1.0, 2.0) * np.arange(1.0, 5.0)),
    "sort": lambda x: ag.sum(np.sort(x) * np.arange(1.0, 5.0)),
    "nansum": lambda x: ag.sum(np.nansum(ag.log(x + 1.5) * x)),
    "nanmean": lambda x: ag.sum(np.nanmean(ag.log(x + 1.5) * x)),
    "nn.LeakyReLU, nn.ELU": lambda x: ag.sum(nn.ELU()(nn.LeakyReLU(0.2)(x)) * np.arange(1.0, 5.0)),
    "nn.HuberLoss": lambda x: nn.HuberLoss(delta=0.5)(x, np.zeros(4)),
    "nn.SmoothL1Loss": lambda x: nn.SmoothL1Loss(beta=0.5)(x, np.zeros(4)),
    "nn.BCELoss (clamped logs)": lambda x: criterion_bce(ag.clip(x, 0.0, 1.0), np.full(4, 0.3)),
    "nn.KLDivLoss (0 log 0)": lambda x: criterion_kl(np.zeros(4), ag.relu(x)),
}


@pytest.mark.parametrize("name", list(PIECEWISE))
def test_functions_that_choose_by_value_replay_their_choice(name):
    fun = PIECEWISE[name]
    traced_at, replayed_at = np.array([0.9, -0.6, 0.2, -1.2]), np.array([-0.8, 0.7, -0.1, 1.1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        step = compile_grad(fun)
        step(traced_at)
        value, grad = step(replayed_at)
    expected_value, expected_grad = ag.value_and_grad(fun)(replayed_at)
    assert step.traces == 1
    np.testing.assert_allclose(value, expected_value, rtol=1e-12)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-12, atol=1e-15)
    assert not np.allclose(grad, ag.grad(fun)(traced_at)), "the choice did change"


def test_a_deliberately_wrong_program_is_detected():
    step = compile_grad(lambda x: ag.tanh(x).sum())
    step(np.ones(3))
    program = step._programs[next(iter(step._programs))]
    rule = next(name for name in program.namespace if name.startswith("r"))
    correct = program.namespace[rule]
    program.namespace[rule] = lambda g, ans, *args, **kwargs: 1.0001 * correct(g, ans, *args, **kwargs)
    with pytest.raises(TraceMismatchError, match="off by"):
        step.check(np.ones(3))


def test_the_program_source_is_readable():
    step = compile_grad(lambda W, x: ag.tanh(x @ W).sum())
    with pytest.raises(RuntimeError, match="call the compiled function once"):
        _ = step.code
    step(np.ones((2, 3)), np.ones((4, 2)))
    code = step.code
    assert code.startswith("def replay(a0, a1):")
    assert "# matmul (4, 3)" in code and "# tanh, operand 0" in code
    assert "operand 1" not in code.split("matmul, operand")[0]  # no rule for the data x @ ...
    assert "compile_grad of <lambda>" in repr(step)


@pytest.mark.parametrize("make, call, error, message", [
    (lambda: compile_grad(lambda x: x * 2), (np.ones(3),), TypeError, "scalar-valued.*shape \\(3,\\)"),
    (lambda: compile_grad(lambda x: ag.Tensor(np.ones(2)).sum(), 0), (np.ones(3),),
     TypeError, "does not depend on the differentiated arguments 0"),
    (lambda: compile_grad(lambda x: 3.0), (np.ones(3),), TypeError, "nothing to compile"),
    (lambda: compile_grad(lambda x: x.sum()), (ag.Tensor(np.ones(2), requires_grad=True) * 2,),
     TypeError, "recorded history"),
    (lambda: compile_grad(lambda x: x.sum()), ("text",), TypeError, "a float, an array, a Tensor"),
    (lambda: compile_grad(lambda x: x.sum(), argnum=[0]), (), TypeError, "argnum must be"),
    (lambda: compile_grad(lambda x: x.sum(), argnum=(0, 0)), (), ValueError, "names an argument twice"),
    (lambda: compile_grad(lambda x: x.sum(), argnum=-1), (), ValueError, "no negative"),
    (lambda: compile_grad(lambda x, y: x.sum(), argnum=1), (np.ones(2),), TypeError,
     "differentiates argument 1, but was called with 1 argument"),
    (lambda: compile_grad(lambda x: x.sum(), check_every=-1), (), ValueError, "check_every"),
    (lambda: compile_grad(3), (), TypeError, "needs a function"),
])
def test_clear_errors(make, call, error, message):
    with pytest.raises(error, match=message):
        make()(*call)


def test_refuses_to_run_inside_another_transform():
    step = compile_grad(lambda x: (x * x).sum())
    with pytest.raises(TypeError, match="cannot run inside ag.grad"):
        ag.grad(lambda x: step(x)[0])(np.ones(2))


def test_no_warnings_on_ordinary_use():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        step = compile_grad(moons_loss)
        X, y = RNG.standard_normal((10, 2)), RNG.integers(0, 2, 10)
        params = [np.ones((2, 3)), np.zeros(3), np.ones((3, 2)), np.zeros(2)]
        for _ in range(20):
            step(params, X, y, np.arange(10))


def test_in_place_operations_inside_the_function():
    def fun(x, b):
        h = x * 2
        h += b  # recorded in place: the tape entry moves, the replay follows it
        return (h * h).sum()
    assert_matches_engine(fun, RNG.standard_normal((3, 2)), RNG.standard_normal(2), argnum=(0, 1))


def test_random_numbers_drawn_inside_are_frozen_and_check_mode_says_so():
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(4, 8, rng=rng), nn.Dropout(0.5, rng=rng), nn.Linear(8, 1, rng=rng))
    params = list(model.parameters())
    step = compile_grad(lambda params, X: model(X).sum(), check_every=2)
    X = rng.standard_normal((16, 4))
    step(params, X)  # the dropout mask of this trace is now part of the program
    with pytest.raises(TraceMismatchError):
        step(params, X)  # the engine draws a new mask


def test_nan_and_inf_agree_with_the_engine_where_the_engine_gives_them():
    fun = lambda x: (ag.log(x) * x).sum()  # log(0) * 0 is nan, log(-1) is nan
    step = compile_grad(fun)
    with np.errstate(all="ignore"):
        value, grad = step(np.array([0.0, 1.0, -1.0]))
        assert np.isnan(value) and np.isnan(grad[0]) and grad[1] == 1.0
        step.check(np.array([0.0, 2.0, -1.0]))  # equal NaNs are agreement


def test_rebinding_a_closure_or_global_array_retraces():
    W = RNG.standard_normal((3, 2))
    batches = [RNG.standard_normal((4, 3)) for _ in range(3)]
    X = batches[0]
    step = compile_grad(lambda W: (ag.tanh(X @ W) ** 2).sum())  # reads X when called, on purpose
    for X in batches:  # the lambda reads the loop variable: each batch is a new object
        assert_same(step(W)[1], ag.grad(lambda W: (ag.tanh(X @ W) ** 2).sum())(W))  # noqa: B023
    assert step.traces == 3
    step(W)
    assert step.traces == 3  # same objects: the program is replayed
    global GLOBAL_SCALE
    GLOBAL_SCALE = 2.0
    scaled = compile_grad(lambda W: (W * GLOBAL_SCALE).sum())
    assert_same(scaled(W)[1], np.full((3, 2), 2.0))
    GLOBAL_SCALE = 3.0
    assert_same(scaled(W)[1], np.full((3, 2), 3.0))
    GLOBAL_SCALE = 3.0 + 0.0  # an equal number is no change
    scaled(W)
    assert scaled.traces == 2


def test_replay_frees_values_and_gradients_as_it_goes_like_the_engine():
    import tracemalloc

    def chain(x):
        for _ in range(20):
            x = ag.tanh(x * 1.5)
        return x.sum()
    x = RNG.standard_normal(50_000)  # 400 KB per array
    step = compile_grad(chain)
    step(x)

    def peak(run) -> int:
        tracemalloc.start()
        try:
            run()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    engine, replay = peak(lambda: ag.value_and_grad(chain)(x)), peak(lambda: step(x))
    assert replay <= 1.1 * engine, (replay, engine)  # holding every gradient would be ~1.5x
    assert "del " in step.code


# ---- trace-time simplification -------------------------------------------------------------
def test_scalar_chains_and_constant_gradients_are_folded_away():
    """The mean's and the L2 term's scalar rules, sum's and indexing's rules on the
    constant seed: no statement left for them, and the same numbers as the engine."""
    X, y = RNG.standard_normal((30, 2)), RNG.integers(0, 2, 30)
    params = [RNG.standard_normal((2, 3)), np.zeros(3), RNG.standard_normal((3, 2)), np.zeros(2)]
    step = compile_grad(lambda ps: moons_loss(ps, X, y, np.arange(30)))
    for _ in range(2):
        value, grads = step(params)
        expected = ag.value_and_grad(lambda ps: moons_loss(ps, X, y, np.arange(30)))(params)
        assert_same(value, expected[0])
        assert_same(grads, expected[1])
    backward = step.code.split("# backward")[1]
    for folded in ("divide, operand", "sum, operand", "getitem, operand", "negative, operand",
                   "seed"):
        assert folded not in backward, folded
    assert "logsumexp, operand 0" in backward and "tanh, operand 0" in backward


def test_gradients_are_added_in_place_only_into_buffers_the_program_owns():
    c = RNG.standard_normal(4)
    # (a + b)'s rules pass one array to both a and b; a's later part must not be added into it.
    fun = lambda a, b: ((a + b) * c).sum() * 0 + (a * a * c).sum() + ((a + b) * c).sum()
    step = assert_matches_engine(fun, RNG.standard_normal(4), RNG.standard_normal(4), argnum=(0, 1))
    assert "+= " in step.code  # a * a: the first part is fresh, the second is added into it
    a_grad, b_grad = step(np.ones(4), np.ones(4))[1]
    assert a_grad is not b_grad and not np.shares_memory(a_grad, b_grad)


def test_returned_gradients_never_share_a_buffer():
    step = compile_grad(lambda a, b: ((a + b) * ag.tanh(a)).sum(), argnum=(0, 1))
    a, b = RNG.standard_normal(3), RNG.standard_normal(3)
    for _ in range(2):
        grads = step(a, b)[1]
        expected = ag.value_and_grad(lambda a, b: ((a + b) * ag.tanh(a)).sum(), (0, 1))(a, b)[1]
        assert not np.shares_memory(grads[0], grads[1])
        np.add(grads[0], 1000.0, out=grads[0])  # the caller owns each one
        assert_same(grads[1], expected[1])


def test_a_gradient_that_is_a_constant_is_returned_as_a_fresh_copy():
    step = compile_grad(lambda x: (3.0 * x).sum())
    first = step(np.ones(2))[1]
    first[...] = 0.0
    assert_same(step(np.ones(2))[1], np.full(2, 3.0))
