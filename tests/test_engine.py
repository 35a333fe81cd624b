"""The engine: accumulation, grad mode, freeing, in-place safety, depth, hooks,
retain_grad, graphs that survive backward, and the package's import graph."""
from __future__ import annotations

import sys
import threading

import numpy as np
import pytest

import autograd_lite as ag
from oracles import assert_close, numeric_gradient, readme_block

RNG = np.random.default_rng(42)


# ---- accumulation, grad mode, freeing ---------------------------------------------------------
def test_gradients_accumulate_and_leaf_grads_are_not_shared():
    x = ag.Tensor([1.0, 2.0], requires_grad=True)
    y = ag.Tensor([3.0, 4.0], requires_grad=True)
    (x + y).sum().backward()
    assert x.grad is not y.grad
    x.grad += 10  # must not leak into y.grad
    assert_close(y.grad, [1.0, 1.0])
    (x * y).sum().backward()
    assert_close(x.grad, [14.0, 15.0])
    assert_close(y.grad, [2.0, 3.0])


def test_no_grad_context_and_decorator():
    x = ag.Tensor([1.0], requires_grad=True)
    assert ag.is_grad_enabled()
    with ag.no_grad():
        assert not ag.is_grad_enabled()
        y = x * 2
    assert ag.is_grad_enabled() and y.grad_fn is None and not y.requires_grad

    @ag.no_grad()
    def double(t):
        return t * 2

    assert double(x).grad_fn is None and ag.is_grad_enabled()
    with pytest.raises(KeyError):
        with ag.no_grad():
            raise KeyError("restored on exceptions too")
    assert ag.is_grad_enabled()


def test_no_record_when_no_input_requires_grad():
    y = ag.Tensor([1.0, 2.0]) * 3
    assert y.grad_fn is None and not y.requires_grad


def test_second_backward_needs_retain_graph():
    x = ag.Tensor([1.0, 2.0], requires_grad=True)
    loss = (ag.exp(x) * x).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        loss.backward()


def test_retain_graph_lets_gradients_accumulate_again():
    x = ag.Tensor([1.0, 2.0], requires_grad=True)
    loss = (ag.exp(x) * x).sum()
    loss.backward(retain_graph=True)
    first = x.grad.copy()
    loss.backward()
    assert_close(x.grad, 2 * first)


def test_backward_frees_saved_operands():
    x = ag.Tensor([1.0, 2.0], requires_grad=True)
    h = ag.tanh(x)
    loss = (h * h).sum()
    loss.backward()
    assert h.grad_fn.saved is None and loss.grad_fn.saved is None
    assert h.grad_fn.inputs == (x,)  # the structure stays readable


# ---- in-place operations --------------------------------------------------------------------------
@pytest.mark.parametrize("symbol", ["+=", "-=", "*=", "/="])
def test_inplace_operators_mutate_the_same_array(symbol):
    t = ag.Tensor(np.array([1.0, 2.0, 4.0]))
    array = t.data
    expected = {"+=": array + 2, "-=": array - 2, "*=": array * 2, "/=": array / 2}[symbol]
    before = t._version
    exec(f"t {symbol} 2", {}, {"t": t})
    assert t.data is array and t._version == before + 1
    assert_close(array, expected)


def test_backward_through_an_operand_modified_in_place_raises_naming_the_op():
    w = ag.Tensor([1.0, 2.0], requires_grad=True)
    x = ag.Tensor([3.0, 4.0])
    loss = (w * x).sum()
    x += 1  # multiply saved x for w's gradient
    with pytest.raises(RuntimeError, match="multiply"):
        loss.backward()


def test_modified_output_that_a_rule_reads_is_detected():
    x = ag.Tensor([0.5, 1.0], requires_grad=True)
    y = ag.exp(x)          # exp's rule reads its output y ...
    z = y * 2              # (multiply's rule for y reads only the 2)
    with ag.no_grad():
        y *= 3             # ... which changes now
    with pytest.raises(RuntimeError, match="`exp` needs its output"):
        z.sum().backward()


def test_optimizer_style_update_then_fresh_forward():
    w = ag.Tensor([1.0, -1.0], requires_grad=True)
    x = np.array([2.0, 3.0])
    for _ in range(3):
        loss = ((w * x).sum() - 1) ** 2
        loss.backward()
        with ag.no_grad():
            w -= 0.01 * w.grad
        w.grad = None
    expected = np.array([1.0, -1.0])
    for _ in range(3):
        residual = expected @ x - 1
        expected = expected - 0.01 * 2 * residual * x
    assert_close(w.data, expected)


def test_copy_writes_in_place_and_invalidates_saved_graphs():
    w = ag.Tensor([1.0, 2.0], requires_grad=True)
    array = w.data
    loss = (w * w).sum()
    with pytest.raises(RuntimeError, match="no_grad"):
        w.copy_([5.0, 6.0])
    with ag.no_grad():
        w.copy_(np.array([5.0, 6.0]))
    assert w.data is array
    assert_close(array, [5.0, 6.0])
    with pytest.raises(RuntimeError, match="multiply"):
        loss.backward()
    with pytest.raises(ValueError, match=r"copy_.*\(2,\)"):
        ag.Tensor([1.0, 2.0]).copy_(np.ones(3))


def test_inplace_on_leaf_that_requires_grad_is_refused_while_recording():
    w = ag.Tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        w += 1
    assert_close(w.data, [1.0])


def test_inplace_on_intermediate_is_recorded_correctly():
    x_value = np.array([0.3, -0.7, 1.1])

    def f(v):
        h = ag.tanh(v)
        h *= v        # h = tanh(v) * v, recorded
        h += 1
        return (h * h).sum()

    x = ag.Tensor(x_value, requires_grad=True)
    f(x).backward()
    reference = lambda v: np.sum((np.tanh(v) * v + 1) ** 2)
    assert_close(x.grad, numeric_gradient(reference, x_value), rtol=1e-6)


# ---- depth, stability -----------------------------------------------------------------------------
def test_graph_of_depth_100000_at_the_default_recursion_limit():
    assert sys.getrecursionlimit() <= 10_000
    x = ag.Tensor(np.full(3, 0.5), requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.00001
    y.sum().backward()
    assert_close(x.grad, np.full(3, 1.00001 ** 100_000), rtol=1e-9)



def test_a_plain_backward_through_indexing_computes_with_arrays():
    # Rules see arrays in a plain backward (NumPy speed); only create_graph uses Tensors.
    x = ag.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    loss = (x[[0, 0, 1]] * 2).sum()
    (gradient,) = ag.engine.backprop(loss, np.array(1.0), inputs=(x,))
    assert type(gradient) is np.ndarray
    assert_close(gradient, [[4.0] * 3, [2.0] * 3])


def test_a_residual_is_kept_until_backward_and_freed_with_the_node():
    # softmax_cross_entropy's forward leaves its exponentials for the rule (one exp a step).
    z = ag.Tensor(RNG.standard_normal((4, 3)), requires_grad=True)
    losses = ag.softmax_cross_entropy(z, np.array([0, 2, 1, 1]))
    assert losses.grad_fn.residual is not None
    losses.sum().backward()
    assert losses.grad_fn.residual is None
    softmax = np.exp(z.data) / np.exp(z.data).sum(axis=1, keepdims=True)
    assert_close(z.grad, softmax - np.eye(3)[[0, 2, 1, 1]])


# ---- hooks and retain_grad -----------------------------------------------------------------
def small_chain():
    """x -> h = 3x -> y = sum(h * h): dy/dh = 2h = 6x, dy/dx = 18x."""
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    return x, h, (h * h).sum()


def test_retain_grad_keeps_an_intermediate_gradient_and_accumulates():
    x, h, y = small_chain()
    h.retain_grad()
    x.retain_grad()  # a leaf keeps its gradient anyway: no-op
    y.backward(retain_graph=True)
    assert_close(h.grad, [6.0, 12.0])
    assert_close(x.grad, [18.0, 36.0])
    y.backward()
    assert_close(h.grad, [12.0, 24.0])  # accumulates like a leaf's
    assert h.retains_grad and not x.retains_grad


def test_without_retain_grad_an_intermediate_has_no_gradient():
    x, h, y = small_chain()
    y.backward()
    assert h.grad is None and x.grad is not None


def test_retain_grads_covers_every_recorded_tensor_of_the_graph():
    x, h, y = small_chain()
    ag.retain_grads(y)
    y.backward()
    assert_close(y.grad, 1.0)
    assert_close(h.grad, [6.0, 12.0])
    squares = y.grad_fn.inputs[0]
    assert_close(squares.grad, [1.0, 1.0])


@pytest.mark.parametrize("on", ["leaf", "intermediate"])
def test_a_hook_sees_the_complete_gradient_and_may_replace_it(on):
    x, h, y = small_chain()
    seen = []

    def double(grad):
        seen.append(grad.copy())
        return grad * 2

    (x if on == "leaf" else h).register_hook(double)
    y.backward()
    if on == "leaf":
        assert_close(seen, [[18.0, 36.0]])
        assert_close(x.grad, [36.0, 72.0])
    else:
        assert_close(seen, [[6.0, 12.0]])  # the sum over h's consumers, once
        assert_close(x.grad, [36.0, 72.0])  # the replaced gradient flows on


def test_a_hook_returning_none_keeps_the_gradient_and_hooks_run_in_order():
    x, h, y = small_chain()
    order = []
    h.register_hook(lambda g: order.append("first"))
    h.register_hook(lambda g: (order.append("second"), g + 1)[1])
    h.retain_grad()
    y.backward()
    assert order == ["first", "second"]
    assert_close(h.grad, [7.0, 13.0])  # .grad holds what the hooks made of it
    assert_close(x.grad, [21.0, 39.0])


def test_a_removed_hook_no_longer_runs():
    x, h, y = small_chain()
    handle = h.register_hook(lambda g: g * 0)
    handle.remove()
    handle.remove()  # twice is harmless
    y.backward()
    assert_close(x.grad, [18.0, 36.0])


def test_a_hook_that_changes_the_shape_is_refused():
    x, h, y = small_chain()
    h.register_hook(lambda g: g.sum())
    with pytest.raises(ValueError, match="keep the shape"):
        y.backward()


def test_hooks_run_in_transforms_and_see_tensors_under_higher_order():
    kinds = []

    def f(x):
        h = x ** 3
        h.register_hook(lambda g: kinds.append(type(g).__name__))
        return (h * h).sum()  # x**6: h's gradient 2h depends on x

    assert_close(ag.grad(f)(np.array([1.0, 2.0])), [6.0, 192.0])
    assert_close(ag.grad(lambda x: ag.grad(f)(x).sum())(np.array([1.0, 2.0])), [30.0, 480.0])
    # First call: a plain backward (arrays). Second: the inner backward records (Tensors),
    # and the outer one passes h again (arrays).
    assert kinds == ["ndarray", "Tensor", "ndarray"]


def test_register_hook_needs_a_tensor_that_requires_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        ag.tensor([1.0]).register_hook(lambda g: g)


# ---- the graph after backward ---------------------------------------------------------------
def test_a_plain_backward_keeps_the_structure_and_frees_only_saved_values():
    x, h, y = small_chain()
    squares = y.grad_fn.inputs[0]
    y.backward()
    assert y.grad_fn.inputs == (squares,) and squares.grad_fn.inputs == (h, h)
    assert h.grad_fn.inputs[0] is x and h.grad_fn.inputs[1] == 3
    assert all(t.grad_fn.freed for t in (y, squares, h))
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


# ---- in-place: only a value a rule will read is a hazard ------------------------------------
def test_an_in_place_update_that_no_rule_reads_is_allowed():
    x = ag.tensor(1.0, requires_grad=True)
    d = x * 1.0
    d += d * 2   # d * 2's rule for d reads only the 2
    d.backward()
    assert_close(x.grad, 3.0)


def test_micrograd_more_ops_unchanged():
    """micrograd's own test_more_ops (in-place updates of recorded values), against finite
    differences of the same program."""
    def program(a, b):
        c = a + b
        d = a * b + b ** 3
        c += c + 1
        c += 1 + c + (-a)
        d += d * 2 + (b + a).relu()
        d += 3 * d + (b - a).relu()
        e = c - d
        f = e ** 2
        g = f / 2.0
        g += 10.0 / f
        return g

    a, b = ag.tensor(-4.0, requires_grad=True), ag.tensor(2.0, requires_grad=True)
    g = program(a, b)
    g.backward()
    value = lambda a_, b_: program(ag.tensor(a_), ag.tensor(b_)).item()
    eps = 1e-6
    assert_close(g.item(), value(-4.0, 2.0))
    assert_close(a.grad, (value(-4 + eps, 2.0) - value(-4 - eps, 2.0)) / (2 * eps), rtol=1e-6)
    assert_close(b.grad, (value(-4.0, 2 + eps) - value(-4.0, 2 - eps)) / (2 * eps), rtol=1e-6)


@pytest.mark.parametrize("case", ["operand of multiply", "operand of exp", "output of exp",
                                  "operand of matmul", "operand under no_grad"])
def test_an_in_place_change_a_rule_reads_raises(case):
    x = ag.tensor([0.5, 1.0], requires_grad=True)
    w = ag.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    h = x * 1.0
    if case == "operand of multiply":
        y, op = h * x, "multiply"   # multiply's rule for x reads h
        h += 1.0
    elif case == "operand of exp":
        y, op = ag.exp(h), "exp"    # exp reads its output only: then the output changes
        y += 1.0
        y = y * 1.0
        op = None
    elif case == "output of exp":
        y, op = ag.exp(h), "exp"
        with ag.no_grad():
            y *= 2.0
    elif case == "operand of matmul":
        y, op = h @ w, "matmul"
        h *= 2.0
    else:
        y, op = h * h, "multiply"
        with ag.no_grad():
            h += 1.0
    if op is None:  # a recorded in-place op on the output moves exp's node: still exact
        y.sum().backward()
        assert_close(x.grad, np.exp([0.5, 1.0]))
        return
    with pytest.raises(RuntimeError, match=f"`{op}` needs"):
        y.sum().backward()


# ---- the package's own imports --------------------------------------------------------------
def package_imports() -> dict[str, set[str]]:
    """Each module of autograd_lite (dotted, ``primitives.shape``) -> the package's modules it
    imports, read with ``ast`` (imports inside functions count too)."""
    import ast
    import pathlib

    root = pathlib.Path(ag.__file__).parent
    modules = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts) or "__init__"
        package = parts[:-1]  # where relative imports start
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = list(package[:len(package) - node.level + 1])
                targets = [node.module] if node.module else [a.name for a in node.names]
                found.update(".".join(base + t.split(".")) for t in targets)
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("autograd_lite."):
                found.add(node.module.removeprefix("autograd_lite."))
        modules[name] = found
    # "from .primitives import x" names the package; "from .tensor import x" the module
    return {name: {t for t in found if t in modules} - {name} for name, found in modules.items()}


def find_cycle(imports: dict[str, set[str]]) -> list[str] | None:
    """A path of modules that ends where it started, or None (depth first, iterative)."""
    state = {}  # module -> "visiting" | "done"
    for start in sorted(imports):
        if start in state:
            continue
        path, stack = [start], [iter(sorted(imports[start]))]
        state[start] = "visiting"
        while stack:
            dependency = next(stack[-1], None)
            if dependency is None:
                state[path.pop()] = "done"
                stack.pop()
            elif state.get(dependency) == "visiting":
                return path[path.index(dependency):] + [dependency]
            elif dependency not in state:
                state[dependency] = "visiting"
                path.append(dependency)
                stack.append(iter(sorted(imports[dependency])))
    return None


def test_the_import_graph_of_the_package_has_no_cycle():
    imports = package_imports()
    assert {"engine", "tensor", "node", "primitives", "primitives.shape"} <= set(imports)
    imports.pop("__init__")  # the package's face imports everything, and nothing imports it
    assert find_cycle(imports) is None, " -> ".join(find_cycle(imports))
    assert "tensor" not in imports["engine"] and "engine" in imports["tensor"]
    assert "primitives" in imports["functions"]


def test_the_import_check_sees_a_cycle():
    """The check can fail: an import from the engine up to the Tensor closes a cycle."""
    imports = package_imports()
    imports.pop("__init__")
    imports["engine"] = imports["engine"] | {"tensor"}
    assert find_cycle(imports) == ["engine", "tensor", "engine"]


def test_the_readme_hooks_example_runs_as_written():
    namespace = {"ag": ag}
    exec(compile(readme_block("### Hooks and retained gradients"), "README.md", "exec"), namespace)
    h, x = namespace["h"], namespace["x"]
    assert_close(h.grad, [12.0, 24.0])  # d/dh sum(h^2) = 2h = [6, 12], doubled by the hook
    assert_close(x.grad, [36.0, 72.0])


# ---- issue 16: what a recorded node costs ------------------------------------------------
def test_a_node_without_keywords_shares_one_read_only_empty_mapping():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    a, b = (x * 2.0).grad_fn, (x + 1.0).grad_fn
    assert a.kwargs is b.kwargs and dict(a.kwargs) == {}
    with pytest.raises(TypeError):
        a.kwargs["axis"] = 0  # shared by every such node: must not be writable
    assert x.sum(axis=0).grad_fn.kwargs == {"axis": 0, "keepdims": False}


def test_output_version_is_zero_for_a_fresh_node_and_follows_an_inplace_move():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2.0
    assert h.grad_fn.output_version == 0
    h += 1.0  # h now holds the add node; the overwritten value moved to `previous`
    assert h.grad_fn.previous is not None and h.grad_fn.output_version == h.version == 1


def test_the_later_of_defvjp_and_defvjp_argnum_gives_the_rules():
    p = ag.primitive(lambda a, b: a * b, name="times")
    p.defvjp(lambda g, ans, a, b: g * b, lambda g, ans, a, b: g * a)
    p.defvjp_argnum(lambda i, g, ans, a, b: 10.0 * g)
    x, y = ag.tensor(2.0, requires_grad=True), ag.tensor(3.0, requires_grad=True)
    p(x, y).backward()
    assert x.grad == 10.0 and y.grad == 10.0
    p.defvjp(lambda g, ans, a, b: g * b, lambda g, ans, a, b: g * a)
    x.grad = y.grad = None
    p(x, y).backward()
    assert x.grad == 3.0 and y.grad == 2.0


def test_a_recorded_node_leaves_three_objects_for_the_cyclic_collector():
    # The Tensor, its Node and the Node's operand tuple; the saved arrays' and the
    # versions' tuples hold no containers, so a collection stops tracking them.
    import gc
    x = ag.tensor(np.arange(3.0), requires_grad=True)
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        before = len(gc.get_objects())
        y = x
        for _ in range(100):
            y = y * 1.5
        gc.collect()
        assert len(gc.get_objects()) - before <= 3 * 100 + 5
    finally:
        if was_enabled:
            gc.enable()


def test_value_reads_are_noted_for_the_watching_thread_only():
    """compile_grad's FrozenValueWarning rests on this: a comparison of a Tensor that
    requires grad is noted while this thread watches, not one in another thread, and not
    one of a Tensor that does not require grad."""
    t = ag.tensor(np.array([1.0, -1.0]), requires_grad=True)
    with ag.engine.watching_value_reads() as reads:
        other = threading.Thread(target=lambda: t > 0)
        other.start()
        other.join()
        assert reads == []
        assert list(ag.tensor([1.0]) < 2) == [True]  # no grad: nothing to freeze
        assert reads == []
        assert list(t > 0) == [True, False] and np.argsort(t).tolist() == [1, 0]
    assert reads == ["greater", "argsort"]
    assert list(t > 0) == [True, False]  # not watching: nothing noted
    assert reads == ["greater", "argsort"]
