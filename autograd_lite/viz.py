"""See the graph: Graphviz drawings of a recorded graph (``ag.draw_graph``).

Reads the nodes behind a tensor (through `listing.Walk`, shared with the text tape)
and changes nothing.  Traversal is iterative, so graphs of any depth work; after a
plain ``backward()`` the structure is still there, with every gradient kept.

Drawing convention (also drawn as a legend unless ``legend=False``):

==============  ============================================================
input           grey box: a leaf that does not require grad (data, targets)
parameter       blue box: a leaf that requires grad (``nn.Parameter``)
intermediate    white rounded box: a tensor recorded by an operation
output          orange double-bordered box: the tensor that was drawn
operation       small yellow ellipse: the primitive (``sum(axis=0)``)
constant        small grey text: an array or scalar operand
==============  ============================================================

Tensor boxes show the name (or the tape id ``v3`` / ``x0`` when unnamed), the shape
and the dtype.  Edges point the way data flows, from operands to operation to
result; for operations whose operand order matters the edges carry the position.
Operations recorded inside a sub-module's forward (or an ``ag.name_scope``) sit in
a dashed cluster labelled with its dotted path (``0``, ``0.hidden``), nested like
the modules; parameters sit in the cluster of the module that owns them.  The
outermost module called (the model, and likewise a loss module) has no path, so
its own operations are not boxed.
"""
from __future__ import annotations

import contextlib
import html
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from .engine import inputs_of
from .listing import (Walk, constant_label, count_text, dtype_text, is_parameter, op_label,
                   shape_text, summary)
from .tensor import Tensor

try:
    import graphviz
except ImportError:  # drawing is optional (pip install "autograd_lite[graph]"); tape() is not
    graphviz = None

__all__ = ["draw_graph", "render", "GraphvizNotInstalled"]

# Edges between computed values weigh more, so dot draws the chain of activations
# straight down and hangs parameters and constants beside it: without it, each layer
# shifts the chain sideways and a deep model's drawing grows too wide to read scaled
# into a notebook cell.
_SPINE = "8"
_ORDERED_OPS_SKIP = frozenset({"add", "multiply", "maximum", "minimum"})  # operand order is moot

_STYLES = {  # node kind -> Graphviz attributes (the documented convention)
    "input": dict(shape="box", style="filled", fillcolor="#e5e5e5", color="#7f7f7f"),
    "parameter": dict(shape="box", style="filled", fillcolor="#cfe2ff", color="#3d6bb3"),
    "intermediate": dict(shape="box", style="rounded", color="#7f7f7f"),
    "output": dict(shape="box", style="filled", fillcolor="#ffd8a8", color="#c2410c",
                   peripheries="2"),
    "operation": dict(shape="ellipse", style="filled", fillcolor="#fff5c2", color="#b59f3b",
                      fontsize="10", height="0.3"),
    "constant": dict(shape="plaintext", fontsize="9", fontcolor="#666666", height="0.2"),
    "module": dict(shape="box3d", style="filled", fillcolor="#e8dcf5", color="#6b4fa0"),
}


# ---- the drawing ------------------------------------------------------------------------
def _attr_text(attrs: dict[str, str]) -> str:
    """DOT attributes; values are ours (no quotes inside), HTML-like labels go unquoted."""
    return " ".join(f"{k}={v}" if v.startswith("<") else f'{k}="{v}"' for k, v in attrs.items())


_STYLE_TEXT = {kind: _attr_text(attrs) for kind, attrs in _STYLES.items()}


def _quote(name: str) -> str:
    """A DOT node id (module scopes may hold any character)."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _html(*lines: str) -> str:
    """A Graphviz HTML-like label from already-escaped lines."""
    return "<" + "<BR/>".join(line for line in lines if line) + ">"


def _small(text: str, color: str = "#555555") -> str:
    return f'<FONT POINT-SIZE="11" COLOR="{color}">{html.escape(text)}</FONT>'


class _Drawing:
    """Collects nodes per cluster and edges, then builds the `graphviz.Digraph`."""

    def __init__(self, walk: Walk, show_values: bool, show_grads: bool,
                 collapse_modules: bool, module: Any = None) -> None:
        self.walk = walk
        self.show_values = show_values
        self.show_grads = show_grads
        self.collapse = collapse_modules
        # Scopes hold dotted paths only; a module passed in names their classes.
        self.classes = ({} if module is None else
                        {path: type(m).__name__ for path, m in module.named_modules()})
        self.clusters: dict[str | None, list[str]] = {None: []}  # scope -> node statements
        self._placed: set[str] = set()  # leaves already ranked beside an operation
        self.edges: list[str] = []
        self._edge_set: set[tuple[str, str]] = set()
        self._constants = 0
        self.kinds: set[str] = set()  # the kinds of node drawn: the legend shows only these
        self.scopes = self._module_scopes()

    # -- where things go
    def _module_scopes(self) -> set[str]:
        """Every named module scope of a recorded operation, with its ancestors.

        Scope ``""`` (an outermost module's own operations) gets no cluster: the model
        and the loss are both outermost modules, and ``""`` cannot tell them apart.
        """
        scopes: set[str] = set()
        for scope in {t.grad_fn.scope for t in self.walk.ops if t.grad_fn.scope}:
            scopes.add(scope)
            while "." in scope:
                scope = scope.rpartition(".")[0]
                scopes.add(scope)
        return scopes

    def scope_of(self, t) -> str | None:
        """The named scope of a tensor: its op's, or for a parameter its owner's."""
        if t.grad_fn is not None:
            return t.grad_fn.scope or None
        if is_parameter(t) and t.name:
            owner = t.name.rpartition(".")[0]
            if owner in self.scopes:
                return owner
        return None

    def cluster(self, scope: str | None) -> str | None:
        """The cluster a node of ``scope`` is drawn in (none when modules are collapsed)."""
        return None if self.collapse else scope

    def home(self, t) -> str | None:
        """The collapsed top-level module that swallows ``t``, if any."""
        scope = self.scope_of(t)
        return scope.split(".")[0] if self.collapse and scope else None

    def scope_label(self, scope: str) -> str:
        """``"0.hidden (Linear)"`` when the module is known, else the dotted path."""
        cls = self.classes.get(scope)
        return f"{scope} ({cls})" if cls else scope

    # -- statements (DOT text written here: graphviz's per-attribute quoting is too slow
    #    for 100,000-node graphs, and every label is an HTML-like label we escaped)
    def node(self, scope: str | None, name: str, label: str, kind: str) -> None:
        self.kinds.add(kind)
        self.clusters.setdefault(self.cluster(scope), []).append(
            f"\t{_quote(name)} [label={label} {_STYLE_TEXT[kind]}]\n")

    def beside(self, scope: str | None, leaf: str, operation: str) -> None:
        """Draw a leaf (a parameter, a constant) level with the first operation that reads
        it: above it, the leaf would share a rank with the previous module's cluster,
        pushing this one sideways, layer after layer."""
        if leaf not in self._placed:
            self._placed.add(leaf)
            self.clusters.setdefault(self.cluster(scope), []).append(
                f"\t{{rank=same; {_quote(leaf)}; {_quote(operation)}}}\n")

    def edge(self, tail: str, head: str, dedupe: bool = False, **attrs: str) -> None:
        if dedupe:
            if (tail, head) in self._edge_set:
                return
            self._edge_set.add((tail, head))
        options = f" [{_attr_text(attrs)}]" if attrs else ""
        self.edges.append(f"\t{_quote(tail)} -> {_quote(head)}{options}\n")

    def tensor_label(self, t) -> str:
        walk = self.walk
        title = (f"<B>{html.escape(t.name)}</B>" if t.name
                 else _small(walk.ids[id(t)], "#999999"))
        lines = [title, _small(f"{shape_text(t.shape)} {dtype_text(t.dtype)}")]
        if self.show_values:
            lines.append(_small(f"value {summary(t.data)}", "#1f4e79"))
        if self.show_grads and t.grad is not None:
            lines.append(_small(f"grad {summary(t.grad)}", "#9c2a00"))
        return _html(*lines)

    def constant(self, value: Any, scope: str | None) -> str:
        name = f"c{self._constants}"
        self._constants += 1
        text = constant_label(value)
        if self.show_values and np.ndim(value) > 0:
            text += f"\n{summary(value)}"
        self.node(scope, name, _html(*(html.escape(line) for line in text.split("\n"))),
                  "constant")
        return name

    # -- the whole graph
    def build(self) -> None:
        walk = self.walk
        exported = {id(walk.root)}  # tensors of a collapsed module that are used outside it
        if self.collapse:
            for node in walk.ops:
                for operand in inputs_of(node):
                    if isinstance(operand, Tensor) and self.home(operand) != self.home(node):
                        exported.add(id(operand))
        modules: dict[str, list] = {}
        for t in walk.leaves + walk.ops:
            module = self.home(t)
            if module is not None:
                modules.setdefault(module, []).append(t)
            if module is None or id(t) in exported:
                self.node(self.scope_of(t), walk.ids[id(t)], self.tensor_label(t), walk.kind(t))
        for module, members in modules.items():
            self.node(module, f"module:{module}", self._module_label(module, members), "module")
        for node in walk.ops:
            self._operation(node, exported)

    def _operation(self, node, exported: set[int]) -> None:
        walk = self.walk
        module = self.home(node)
        scope = self.scope_of(node)
        tensor_id = walk.ids[id(node)]
        if module is None:
            target = f"op{tensor_id[1:]}"
            self.node(scope, target, _html(html.escape(op_label(node))), "operation")
            self.edge(target, tensor_id, weight=_SPINE)
        else:
            target = f"module:{module}"
            if id(node) in exported:
                self.edge(target, tensor_id, dedupe=True)
        operands = inputs_of(node)
        ordered = len(operands) > 1 and node.grad_fn.name not in _ORDERED_OPS_SKIP
        for position, operand in enumerate(operands):
            attrs = {"label": str(position), "fontsize": "8"} if ordered and module is None else {}
            if not isinstance(operand, Tensor):
                if module is None:
                    constant = self.constant(operand, scope)
                    self.beside(scope, constant, target)
                    self.edge(constant, target, style="dashed", color="#999999", **attrs)
            elif module is None or self.home(operand) != module:
                if module is None and operand.grad_fn is None and self.scope_of(operand) == scope:
                    self.beside(scope, walk.ids[id(operand)], target)
                if operand.grad_fn is not None:  # computed values form the spine
                    attrs["weight"] = _SPINE
                self.edge(walk.ids[id(operand)], target, dedupe=module is not None, **attrs)

    def _module_label(self, module: str, members: list) -> str:
        ops = [t for t in members if t.grad_fn is not None]
        params = [t for t in members if t.grad_fn is None]
        lines = [f"<B>{html.escape(self.scope_label(module))}</B>",
                 _small(count_text(len(ops), "operation"))]
        if params:
            names = ", ".join(p.name.partition(".")[2] for p in params)
            values = count_text(sum(p.size for p in params), "value")
            lines.append(_small(f"{count_text(len(params), 'parameter')} ({values}): {names}"))
        return _html(*lines)

    def digraph(self, legend: bool, rankdir: str) -> "graphviz.Digraph":
        graph = Graph(name="autograd_lite", graph_attr=dict(rankdir=rankdir, fontsize="12", nodesep="0.15",
                                                   ranksep="0.25"),
                      node_attr=dict(fontname="Helvetica", fontsize="13", margin="0.05,0.03"),
                      edge_attr=dict(arrowsize="0.6", fontname="Helvetica"))
        # Graphviz nests a cluster by adding it to its parent: fill the deepest first.
        scopes = [] if self.collapse else sorted(self.scopes, key=lambda s: (-s.count("."), s))
        bodies = {s: Graph(name=f"cluster:{s}") for s in scopes}
        for scope in scopes:
            body = bodies[scope]
            body.attr(label=self.scope_label(scope), style="rounded,dashed", color="#8c8c8c",
                      fontcolor="#555555", labeljust="l")
            body.body.extend(self.clusters.get(scope, ()))
        for scope in scopes:  # deepest first, so each child is complete when added
            bodies.get(scope.rpartition(".")[0], graph).subgraph(bodies[scope])
        graph.body.extend(self.clusters[None])
        graph.body.extend(self.edges)
        if legend:
            _add_legend(graph, self.kinds)
        return graph


def _add_legend(graph: "graphviz.Digraph", drawn: set[str]) -> None:
    """A small cluster with one sample node of each kind the drawing has, in a column."""
    with graph.subgraph(name="cluster_legend") as box:
        box.attr(label="legend", style="rounded", color="#bbbbbb", fontcolor="#777777")
        kinds = [kind for kind in ("input", "parameter", "intermediate", "output", "operation", "constant",
                                   "module") if kind in drawn]
        for kind in kinds:
            box.node(f"legend_{kind}", kind, **{**_STYLES[kind], "fontsize": "9"})
        for a, b in zip(kinds, kinds[1:]):
            box.edge(f"legend_{a}", f"legend_{b}", style="invis")


def draw_graph(root: Tensor, show_values: bool = False, show_grads: bool = False, *,
               collapse_modules: bool = False, module: Any = None, legend: bool = True,
               rankdir: str = "TB") -> "graphviz.Digraph":
    """A `graphviz.Digraph` of everything that produced ``root``.

    One node per tensor (name, shape, dtype) and per operation (name and options),
    edges in the direction data flows; a shared subexpression is drawn once.  See the
    module docstring for the colours and shapes.

    - ``show_values``: add a compact summary of each tensor's values (the value of a
      scalar, up to four entries, else min / mean / max).
    - ``show_grads``: add the same summary of ``.grad`` where it is set (leaves, after
      ``backward(retain_graph=True)``: without it backward frees the graph to draw).
    - ``collapse_modules``: draw each top-level sub-module (first component of the
      dotted scope) as one node listing its operation and parameter counts, for large
      models; tensors it hands to the rest of the graph stay visible, constants used
      inside it are not drawn.
    - ``module``: optionally the ``nn.Module`` that ran, only to add class names to
      the cluster labels (``hidden (Linear)``); names and clusters need no module.
    - ``legend``: add the legend cluster; ``rankdir``: ``"TB"`` (top to bottom) or ``"LR"``.

    Draw it with ``.render(...)`` or ``.pipe(format="svg")``, or show it in Jupyter.
    Building the graph needs the ``graphviz`` Python package only; rendering needs
    the Graphviz ``dot`` program (`GraphvizNotInstalled` says how to get it).
    """
    if graphviz is None:
        raise ImportError("draw_graph needs the graphviz Python package: "
                          "pip install graphviz (and the Graphviz program: apt-get install "
                          "graphviz)")
    drawing = _Drawing(Walk(root), show_values, show_grads, collapse_modules, module)
    drawing.build()
    return drawing.digraph(legend, rankdir)


def render(root: Tensor, path_stem: str | Path, formats: Sequence[str] = ("svg", "png"),
           **draw_kwargs: Any) -> list[Path]:
    """Draw ``root`` (see `draw_graph` for the options) into ``path_stem.<format>`` files.

    Any Graphviz output format works; ``"dot"`` writes the DOT source itself (no
    Graphviz program needed).  Returns the paths written, e.g.
    ``[Path("out/model.svg"), Path("out/model.png")]``.
    """
    graph = draw_graph(root, **draw_kwargs)
    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        path = stem.with_name(f"{stem.name}.{fmt}")
        if fmt == "dot":
            path.write_text(graph.source, encoding="utf-8")
        else:
            path.write_bytes(graph.pipe(format=fmt))
        paths.append(path)
    return paths


if graphviz is not None:
    class GraphvizNotInstalled(graphviz.ExecutableNotFound):
        """The Graphviz programs are missing: the message says which package to install."""

        _msg = ("cannot run the Graphviz program {!r}: it is not installed or not on PATH. "
                "Install Graphviz: `sudo apt-get install graphviz` (Debian/Ubuntu package "
                "`graphviz`), `brew install graphviz` (macOS) or `conda install graphviz`. "
                "The graph itself is fine: its DOT source is in `.source`.")

    class Graph(graphviz.Digraph):
        """A `graphviz.Digraph` whose rendering explains a missing Graphviz installation."""

        def pipe(self, *args: Any, **kwargs: Any):
            with self._needs_program(kwargs.get("engine")):
                return super().pipe(*args, **kwargs)

        def render(self, *args: Any, **kwargs: Any):
            with self._needs_program(kwargs.get("engine")):
                return super().render(*args, **kwargs)

        @contextlib.contextmanager
        def _needs_program(self, engine: str | None) -> Iterator[None]:
            try:
                yield
            except graphviz.ExecutableNotFound as exc:
                raise GraphvizNotInstalled([engine or self.engine]) from exc
else:
    class GraphvizNotInstalled(RuntimeError):
        """Raised by drawing when Graphviz is missing (the graphviz package is absent here)."""
