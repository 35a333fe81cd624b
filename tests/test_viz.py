"""Graph rendering and the printable tape: structure from the DOT source, real rendering."""
from __future__ import annotations

import re
import shutil

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite import listing, viz

graphviz = pytest.importorskip("graphviz")
needs_dot = pytest.mark.skipif(shutil.which("dot") is None,
                               reason="the Graphviz `dot` program is not installed")

NODE = re.compile(r'^\s*"([^"]+)" \[label=(<.*>) (.*)\]$')
EDGE = re.compile(r'^\s*"([^"]+)" -> "([^"]+)"')


def parse(graph) -> tuple[dict[str, str], list[tuple[str, str]], dict[str, tuple]]:
    """Nodes (id -> label), edges (tail, head) and each node's cluster labels, outermost first."""
    nodes, edges, cluster_of, stack = {}, [], {}, []
    for line in graph.source.splitlines():
        if line.strip().startswith("subgraph"):
            stack.append(None)
        elif line.strip() == "}" and stack:
            stack.pop()
        elif stack and stack[-1] is None and (label := re.search(r'\blabel=("[^"]*"|\S+)', line)):
            stack[-1] = label.group(1).strip('"')
        if edge := EDGE.match(line):
            edges.append(edge.groups())
        elif node := NODE.match(line):
            nodes[node.group(1)] = node.group(2)
            cluster_of[node.group(1)] = tuple(stack)
    return nodes, edges, cluster_of


def label_of(nodes: dict[str, str], text: str) -> str:
    """The id of the only node whose label contains ``text``."""
    found = [name for name, label in nodes.items() if text in label]
    assert len(found) == 1, (text, found)
    return found[0]


def output_id(nodes: dict[str, str]) -> str:
    """The newest recorded tensor's id (``v<n>`` with the largest n): the root."""
    return max((n for n in nodes if re.fullmatch(r"v\d+", n)), key=lambda n: int(n[1:]))


def small_graph():
    a = ag.tensor([1.0, 2.0], requires_grad=True, name="a")
    b = ag.tensor([3.0, 4.0], requires_grad=True, name="b")
    return a, b, (a * b + b).sum()


# ---- structure ---------------------------------------------------------------------------
def test_known_graph_has_one_node_per_tensor_and_operation():
    a, b, y = small_graph()
    nodes, edges, _ = parse(ag.draw_graph(y, legend=False))
    # tensors a, b, a*b, a*b+b, sum; operations multiply, add, sum
    assert len(nodes) == 8
    assert sorted(n for n in nodes if n.startswith("op")) == ["op0", "op1", "op2"]
    assert len(edges) == 8  # a, b -> multiply -> v0; v0, b -> add -> v1; v1 -> sum -> v2


def test_shared_subexpression_is_drawn_once_and_fans_out():
    x = ag.tensor([0.5, -1.0], requires_grad=True, name="x")
    h = ag.tanh(x)
    h.name = "h"
    y = (h * h + h).sum()
    nodes, edges, _ = parse(ag.draw_graph(y, legend=False))
    h_node = label_of(nodes, "<B>h</B>")
    assert sum(tail == h_node for tail, _ in edges) == 3  # twice into multiply, once into add


def test_edges_follow_data_flow():
    a, b, y = small_graph()
    nodes, edges, _ = parse(ag.draw_graph(y, legend=False))
    a_node, out = label_of(nodes, "<B>a</B>"), output_id(nodes)
    assert all(head != a_node for _, head in edges)  # nothing flows into an input
    assert all(tail != out for tail, _ in edges)  # nothing flows out of the output
    assert (a_node, "op0") in edges and ("op0", "v0") in edges  # operand -> op -> result


def test_labels_name_shape_dtype_operation_options_and_constants():
    x = ag.tensor(np.ones((4, 3), dtype=np.float32), requires_grad=True, name="x")
    y = (x.sum(axis=0) * 2.5).mean()
    nodes, edges, _ = parse(ag.draw_graph(y, legend=False))
    assert "(4, 3) float32" in nodes[label_of(nodes, "<B>x</B>")]
    assert label_of(nodes, "sum(axis=0)")
    constant = label_of(nodes, "<2.5>")
    assert constant.startswith("c") and any(tail == constant for tail, _ in edges)
    assert "scalar float32" in nodes[output_id(nodes)]


def test_node_kinds_have_distinct_styles():
    data = ag.tensor([1.0, 2.0], name="data")
    w = ag.tensor([0.5, 0.5], requires_grad=True, name="w")
    y = (data * w).sum()
    source = ag.draw_graph(y).source
    styles = {kind: viz._STYLE_TEXT[kind] for kind in ("input", "parameter", "intermediate",
                                                       "output", "operation")}
    assert len(set(styles.values())) == len(styles)
    nodes, _, _ = parse(ag.draw_graph(y, legend=False))
    lines = {name: next(line for line in source.splitlines() if line.strip().startswith(f'"{name}"'))
             for name in nodes}
    assert styles["input"] in lines[label_of(nodes, "<B>data</B>")]
    assert styles["parameter"] in lines[label_of(nodes, "<B>w</B>")]
    assert styles["output"] in lines["v1"] and styles["intermediate"] in lines["v0"]
    assert "cluster_legend" in source and "legend_parameter" in source


def test_the_legend_lists_only_the_kinds_of_node_drawn():
    w = ag.tensor(np.ones(3), requires_grad=True, name="w")
    source = ag.draw_graph((w * np.arange(3.0)).sum()).source  # data as a constant: no input node
    legend = source[source.index("cluster_legend"):]
    for kind in ("parameter", "intermediate", "output", "operation", "constant"):
        assert f"legend_{kind}" in legend
    assert "legend_input" not in legend and "legend_module" not in legend
    with_input = ag.draw_graph((w * ag.tensor(np.arange(3.0), name="data")).sum()).source
    assert "legend_input" in with_input


def test_values_and_grads_appear_only_when_asked():
    a, b, y = small_graph()
    y.backward(retain_graph=True)
    plain = ag.draw_graph(y).source
    assert "value " not in plain and "grad " not in plain
    values = ag.draw_graph(y, show_values=True, legend=False)
    nodes, _, _ = parse(values)
    assert "value [1, 2]" in nodes[label_of(nodes, "<B>a</B>")]
    assert "value 18" in nodes["v2"]  # 1*3 + 2*4 + 3 + 4
    assert "grad " not in values.source
    grads, _, _ = parse(ag.draw_graph(y, show_grads=True, legend=False))
    assert "grad [3, 4]" in grads[label_of(grads, "<B>a</B>")]
    assert "grad [2, 3]" in grads[label_of(grads, "<B>b</B>")]
    assert "value " not in "".join(grads.values())


@pytest.mark.parametrize("values, text", [
    (np.float64(np.log(2)), "0.6931"),
    (np.array([1.0, -2.0, 3e-7]), "[1, -2, 3e-7]"),
    (np.array([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]), "[0, 5] mean 2.5"),
    (np.full(10, 0.25), "all 0.25"),
    (np.array([1.0, np.nan, 3.0, np.inf, 5.0]), "[1, 5] mean 3  (2 non-finite)"),
    (np.array([True, False, True]), "2 of 3 true"),
    (np.array([1.5e10]), "1.5e10"),
    (np.array(-0.0), "0"),
])
def test_compact_number_summaries(values, text):
    assert listing.summary(values) == text


def test_module_scopes_become_nested_clusters_with_parameters_inside():
    x = ag.tensor(np.ones((4, 2)), name="x")
    w = ag.tensor(np.full((2, 3), 0.1), requires_grad=True, name="0.hidden.weight")
    v = ag.tensor(np.full((3, 2), 0.1), requires_grad=True, name="1.weight")
    with ag.name_scope(""):  # what the outermost nn.Module does
        with ag.name_scope("0"):
            with ag.name_scope("hidden"):
                h = x @ w
            h = ag.tanh(h)
        with ag.name_scope("1"):
            out = h @ v
        out = ag.softmax(out)  # the outermost module's own operations: scope ""
    loss = (out * out).mean()
    graph = ag.draw_graph(loss, legend=False)
    nodes, _, cluster_of = parse(graph)
    assert cluster_of[label_of(nodes, "0.hidden.weight")] == ("0", "0.hidden")
    assert cluster_of["op0"] == ("0", "0.hidden")  # x @ w
    assert cluster_of[label_of(nodes, "tanh")] == ("0",)
    assert cluster_of[label_of(nodes, "<B>1.weight")] == ("1",)
    # scope "": the outermost module's own operations (model or loss: "" cannot tell)
    assert cluster_of[label_of(nodes, "logsumexp")] == ()
    assert cluster_of[label_of(nodes, "<B>x</B>")] == ()  # data is not part of the model
    assert cluster_of[output_id(nodes)] == ()  # nor is the loss


def test_a_module_passed_in_adds_class_names_to_cluster_labels():
    class Linear:  # stands in for nn modules: only named_modules() is read
        def named_modules(self):
            return iter([("", MLP()), ("hidden", self)])

    class MLP:
        pass

    x = ag.tensor(np.ones((1, 2)), requires_grad=True)
    with ag.name_scope(""):
        with ag.name_scope("hidden"):
            h = x * 2.0
        y = ag.tanh(h).sum()
    nodes, _, cluster_of = parse(ag.draw_graph(y, module=Linear(), legend=False))
    assert cluster_of[label_of(nodes, "<multiply>")] == ("hidden (Linear)",)


def test_collapse_modules_draws_each_top_level_module_as_one_node():
    x = ag.tensor(np.ones((4, 2)), name="x")
    w = ag.tensor(np.full((2, 3), 0.1), requires_grad=True, name="encoder.weight")
    with ag.name_scope("encoder"):
        h = ag.tanh(x @ w)
    loss = h.sum()
    nodes, edges, _ = parse(ag.draw_graph(loss, collapse_modules=True, legend=False))
    module = label_of(nodes, "<B>encoder</B>")
    assert "2 operations" in nodes[module] and "1 parameter (6 values): weight" in nodes[module]
    assert not any("matmul" in label or "tanh" in label for label in nodes.values())
    assert (label_of(nodes, "<B>x</B>"), module) in edges
    assert (module, "v1") in edges and ("v1", "op2") in edges  # the module's output is shown


def test_after_a_plain_backward_the_drawing_shows_every_leaf_with_its_gradient():
    a, b, y = small_graph()
    before = parse(ag.draw_graph(y, legend=False))[:2]
    y.backward()
    nodes, edges, _ = parse(ag.draw_graph(y, show_grads=True, legend=False))
    assert (set(nodes), sorted(edges)) == (set(before[0]), sorted(before[1]))  # all of it
    assert "grad [3, 4]" in nodes[label_of(nodes, "<B>a</B>")]     # d/da = b
    assert "grad [2, 3]" in nodes[label_of(nodes, "<B>b</B>")]     # d/db = a + 1
    assert "retain_graph=True" in str(ag.tape(y))  # the listing says another backward needs it


def test_a_leaf_is_drawn_as_one_output_node():
    nodes, edges, _ = parse(ag.draw_graph(ag.tensor(3.0, name="t"), legend=False))
    assert list(nodes) == ["x0"] and edges == []


def test_drawing_changes_nothing():
    a, b, y = small_graph()
    node = y.grad_fn
    fields = {name: getattr(node, name) for name in node.__slots__}
    ag.draw_graph(y, show_values=True, show_grads=True)
    str(ag.tape(y))
    assert all(getattr(node, name) is value for name, value in fields.items())
    assert y.grad_fn is node and a.grad is None
    y.backward()
    np.testing.assert_allclose(a.grad, [3.0, 4.0])


@pytest.mark.parametrize("function", [ag.draw_graph, ag.tape])
def test_non_tensor_root_is_a_clear_type_error(function):
    with pytest.raises(TypeError, match="Tensor.*ndarray"):
        function(np.ones(3))


def test_nn_model_is_drawn_with_module_clusters_and_parameter_names(tmp_path):
    nn = pytest.importorskip("nn")
    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(8, 2)), rng.integers(0, 2, size=8)
    model = nn.Sequential(nn.Linear(2, 3, rng=rng), nn.Tanh(), nn.Linear(3, 2, rng=rng))
    weights = (model[0].weight ** 2).sum() + (model[2].weight ** 2).sum()
    loss = nn.CrossEntropyLoss()(model(X), y) + 0.01 / 2 * weights  # seed 004: 2-3-2, L2
    loss.backward(retain_graph=True)
    nodes, edges, cluster_of = parse(ag.draw_graph(loss, legend=False))
    for name, cluster in [("0.weight", "0"), ("0.bias", "0"), ("2.weight", "2"),
                          ("2.bias", "2")]:
        node = label_of(nodes, f"<B>{name}</B>")
        assert cluster_of[node] == (cluster,), name
        assert "grad " not in nodes[node]
    assert cluster_of[label_of(nodes, "<tanh>")] == ("1",)
    assert cluster_of[label_of(nodes, "softmax_cross_entropy")] == ()  # the loss module is outermost
    assert {c for path in cluster_of.values() for c in path} == {"0", "1", "2"}
    named = ag.draw_graph(loss, show_grads=True, module=model)
    nodes, _, cluster_of = parse(named)
    assert {c for path in cluster_of.values() for c in path} >= {"0 (Linear)", "1 (Tanh)",
                                                                 "2 (Linear)"}
    assert sum("grad " in label for label in nodes.values()) == 4  # the parameters' .grad
    if shutil.which("dot"):
        [svg] = ag.render(loss, tmp_path / "seed004", formats=("svg",), module=model)
        assert b"0.weight" in svg.read_bytes() and b"2 (Linear)" in svg.read_bytes()


# ---- the tape ----------------------------------------------------------------------------
def test_tape_lists_leaves_then_operations_in_execution_order():
    a, b, y = small_graph()
    entries = ag.tape(y)
    assert isinstance(entries, list)
    assert [e.op for e in entries] == ["parameter", "parameter", "multiply", "add", "sum"]
    assert [e.index for e in entries] == [None, None, 0, 1, 2]
    assert entries[3].inputs == ("v0", "b") and entries[-1].tensor is y
    lines = str(entries).splitlines()
    assert lines[0].split() == ["#", "id", "op", "inputs", "shape", "dtype", "module"]
    assert lines[3].split() == ["0", "v0", "multiply", "a,", "b", "(2,)", "float64"]
    assert repr(entries) == str(entries)


def test_tape_shows_options_constants_and_scopes():
    x = ag.tensor(np.ones((2, 3)), requires_grad=True)
    with ag.name_scope("block"):
        y = (x.sum(axis=1) / 3.0).reshape(1, 2)
    last = str(ag.tape(y)).splitlines()
    assert "sum(axis=1)" in last[2] and "block" in last[2]
    assert "divide" in last[3] and "v0, 3" in last[3]
    assert "reshape(shape=(1, 2))" in last[4] and "(1, 2)" in last[4]


# ---- depth -------------------------------------------------------------------------------
def test_a_100000_deep_chain_gives_a_tape_and_dot_source():
    x = ag.tensor(1.0, requires_grad=True, name="x")
    y = x
    for _ in range(100_000):
        y = y * 1.0
    entries = ag.tape(y)
    assert len(entries) == 100_001 and entries[-1].index == 99_999
    assert len(str(entries).splitlines()) == 100_002
    source = ag.draw_graph(y, legend=False).source
    assert source.count(" -> ") == 300_000  # operand, constant, result per multiply


# ---- rendering ---------------------------------------------------------------------------
@needs_dot
def test_svg_and_png_render_with_the_dot_program(tmp_path):
    _, _, y = small_graph()
    graph = ag.draw_graph(y, show_values=True)
    svg = graph.pipe(format="svg")
    assert svg.lstrip().startswith(b"<?xml") and b"<svg" in svg and b"multiply" in svg
    paths = ag.render(y, tmp_path / "sub" / "graph", show_values=True)
    assert [p.name for p in paths] == ["graph.svg", "graph.png"]
    assert b"<svg" in paths[0].read_bytes()
    assert paths[1].read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert not list((tmp_path / "sub").glob("graph")), "no stray DOT file"
    rendered = graph.render(outfile=tmp_path / "r.svg", cleanup=True)
    assert rendered.endswith("r.svg")
    assert "<svg" in graph._repr_mimebundle_()["image/svg+xml"]  # Jupyter's inline display


def test_missing_dot_names_the_package_to_install(tmp_path, monkeypatch):
    _, _, y = small_graph()
    graph = ag.draw_graph(y)
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no `dot` anywhere
    assert "digraph" in graph.source  # building works without Graphviz
    [dot_file] = ag.render(y, tmp_path / "source", formats=("dot",))
    assert dot_file.read_text().startswith("digraph")
    for attempt in (lambda: graph.pipe(format="svg"), graph._repr_mimebundle_,
                    lambda: graph.render(outfile=tmp_path / "g.png"),
                    lambda: ag.render(y, tmp_path / "g")):
        with pytest.raises(ag.GraphvizNotInstalled, match="apt-get install graphviz") as info:
            attempt()
        assert isinstance(info.value, graphviz.ExecutableNotFound)
        assert "`graphviz`" in str(info.value)


def test_the_classic_picture_every_node_with_value_and_gradient_in_three_calls():
    a, b, y = small_graph()
    ag.retain_grads(y)
    y.backward()
    nodes, _, _ = parse(ag.draw_graph(y, show_values=True, show_grads=True, legend=False))
    tensors = {name: label for name, label in nodes.items() if re.fullmatch(r"[vx]\d+", name)}
    assert len(tensors) == 5  # a, b, a * b, a * b + b and the sum
    assert all("value" in label and "grad" in label for label in tensors.values())
    assert "grad 1" in nodes[output_id(nodes)] and "value 18" in nodes[output_id(nodes)]  # 1*3+3 + 2*4+4


@needs_dot
def test_a_three_layer_mlp_with_values_and_gradients_reads_in_a_notebook_cell():
    """Scaled to a 1000 px wide cell, the smallest text of the drawing stays >= 11 px."""
    import nn
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(2, 16, rng=rng), nn.Tanh(), nn.Linear(16, 16, rng=rng),
                          nn.Tanh(), nn.Linear(16, 3, rng=rng))
    loss = nn.CrossEntropyLoss()(model(rng.standard_normal((8, 2))), rng.integers(0, 3, 8))
    ag.retain_grads(loss)
    loss.backward()
    svg = ag.draw_graph(loss, show_values=True, show_grads=True, module=model).pipe(
        format="svg").decode()
    width_pt = float(re.search(r'<svg width="([\d.]+)pt"', svg).group(1))
    scale = 1000 / (width_pt * 4 / 3)  # a pt is 4/3 px
    value_lines = re.findall(r'font-size="([\d.]+)"[^>]*>(?:value|grad) ', svg)
    assert len(value_lines) >= 2 * 11  # every tensor's value and gradient line is there
    smallest = min(float(size) for size in value_lines)
    assert smallest * 4 / 3 * scale >= 11, (width_pt, smallest)


def test_the_tape_has_an_html_view_for_jupyter():
    a, b, y = small_graph()
    page = ag.tape(y)._repr_html_()
    assert page.startswith("<table>") and page.count("<tr>") == len(ag.tape(y)) + 1
    assert "<td>multiply</td>" in page and "<td>a</td>" not in page  # a leaf row's id is x0
    y.backward()
    assert "retain_graph=True" in ag.tape(y)._repr_html_()
