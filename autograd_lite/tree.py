"""Containers of arrays (pytrees): flatten to a list of leaves and back.

    leaves, treedef = ag.tree_flatten({"w": W, "b": [b1, b2]})   # [W, b1, b2]
    ag.tree_unflatten(treedef, [g_W, g_b1, g_b2])               # {"w": g_W, "b": [g_b1, g_b2]}
    ag.tree_map(lambda p, g: p - 0.1 * g, params, grads)

The containers are tuples (named tuples too), lists and dicts, nested to any depth;
``None`` is an empty container (no leaves), as in JAX.  Everything else is a leaf:
arrays, Tensors, Python numbers.  A dict's leaves come in its insertion order, and
a dict given to `tree_map` as one of ``rest`` is matched by key, not by order.

Every transform (``grad``, ``jacobian``, ``vjp``, ``compile_grad``, ``gradcheck``)
flattens its arguments here once on entry and rebuilds its results once on exit; the
engine itself only ever sees leaves.
"""
from __future__ import annotations

from typing import Any, Callable, Hashable, Iterator

_LEAF = None  # a TreeDef's kind for a leaf


def _is_namedtuple(x: Any) -> bool:
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


class TreeDef:
    """The shape of a container, without its leaves: what `tree_unflatten` rebuilds.

    ``kind`` is ``None`` for a leaf, else the container type; ``keys`` the dict keys
    (in order) or the positions; ``children`` one TreeDef per key.  Hashable and
    comparable, so two containers of the same structure have equal TreeDefs.
    """

    __slots__ = ("kind", "keys", "children", "num_leaves", "_hash")

    def __init__(self, kind: type | None, keys: tuple, children: tuple) -> None:
        self.kind = kind
        self.keys = keys
        self.children = children
        self.num_leaves = 1 if kind is _LEAF else sum(c.num_leaves for c in children)
        self._hash = hash((kind, keys, children))  # compile_grad keys its cache by TreeDefs

    def unflatten(self, leaves: Any) -> Any:
        """The container of this structure holding ``leaves`` (any iterable), in order."""
        leaves = list(leaves)
        if len(leaves) != self.num_leaves:
            raise ValueError(f"tree_unflatten: {self} holds {self.num_leaves} leaves, "
                             f"got {len(leaves)}")
        return self._build(iter(leaves))

    def _build(self, leaves: Iterator) -> Any:
        if self.kind is _LEAF:
            return next(leaves)
        values = [child._build(leaves) for child in self.children]
        if self.kind is type(None):
            return None
        if issubclass(self.kind, dict):
            return self.kind(zip(self.keys, values))
        if issubclass(self.kind, tuple) and hasattr(self.kind, "_fields"):
            return self.kind(*values)
        return self.kind(values)

    def flatten_up_to(self, tree: Any, what: str = "tree") -> list:
        """The subtrees of ``tree`` at this structure's leaves (a dict matched by key).
        Raises ValueError, naming the first place where ``tree`` differs."""
        out: list = []
        self._collect(tree, out, (), what)
        return out

    def _collect(self, tree: Any, out: list, path: tuple, what: str) -> None:
        if self.kind is _LEAF:
            out.append(tree)
            return
        if type(tree) is not self.kind:
            raise ValueError(f"{what} has {type(tree).__name__} at {format_path(path) or 'the top'} "
                             f"where a {self.kind.__name__} was expected")
        if isinstance(tree, dict):
            if set(tree) != set(self.keys):
                raise ValueError(f"{what} has keys {sorted(map(repr, tree))} at "
                                 f"{format_path(path) or 'the top'}, expected "
                                 f"{sorted(map(repr, self.keys))}")
            values = [tree[k] for k in self.keys]
        else:
            values = [] if tree is None else list(tree)
            if len(values) != len(self.keys):
                raise ValueError(f"{what} has {len(values)} items at "
                                 f"{format_path(path) or 'the top'}, expected {len(self.keys)}")
        for key, child, value in zip(self.keys, self.children, values):
            child._collect(value, out, path + (key,), what)

    def paths(self) -> list[tuple]:
        """The key path of every leaf, in leaf order (``("fc1.weight",)``, ``(0, 2)``)."""
        if self.kind is _LEAF:
            return [()]
        return [(key, *rest) for key, child in zip(self.keys, self.children)
                for rest in child.paths()]

    def _identity(self) -> tuple:
        return (self.kind, self.keys, self.children)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TreeDef) and self._identity() == other._identity()

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        return f"TreeDef({self._text()})"

    def _text(self) -> str:
        if self.kind is _LEAF:
            return "*"
        if self.kind is type(None):
            return "None"
        if issubclass(self.kind, dict):
            return "{" + ", ".join(f"{k!r}: {c._text()}" for k, c in zip(self.keys, self.children)) + "}"
        inner = ", ".join(c._text() for c in self.children)
        if self.kind is list:
            return f"[{inner}]"
        if self.kind is tuple:
            return f"({inner}{',' if len(self.children) == 1 else ''})"
        return f"{self.kind.__name__}({inner})"


_LEAF_DEF = TreeDef(_LEAF, (), ())


def _treedef_of(tree: Any, leaves: list) -> TreeDef:
    if isinstance(tree, (list, tuple)) and (type(tree) in (list, tuple) or _is_namedtuple(tree)):
        children = tuple(_treedef_of(x, leaves) for x in tree)
        keys = tree._fields if _is_namedtuple(tree) else tuple(range(len(tree)))
        return TreeDef(type(tree), keys, children)
    if isinstance(tree, dict):
        keys = tuple(tree)
        for k in keys:
            if not isinstance(k, Hashable):
                raise TypeError(f"tree_flatten: dict key {k!r} is not hashable")
        return TreeDef(type(tree), keys, tuple(_treedef_of(tree[k], leaves) for k in keys))
    if tree is None:
        return TreeDef(type(None), (), ())
    leaves.append(tree)
    return _LEAF_DEF


def tree_flatten(tree: Any) -> tuple[list, TreeDef]:
    """``(leaves, treedef)``: the leaves of nested tuples, lists and dicts, depth first
    (dicts in insertion order), and the structure to rebuild it with `tree_unflatten`."""
    leaves: list = []
    treedef = _treedef_of(tree, leaves)
    return leaves, treedef


def tree_unflatten(treedef: TreeDef, leaves: Any) -> Any:
    """The container described by ``treedef`` holding ``leaves`` (in `tree_flatten` order)."""
    return treedef.unflatten(leaves)


def tree_leaves(tree: Any) -> list:
    """The leaves of ``tree`` (``tree_flatten(tree)[0]``)."""
    return tree_flatten(tree)[0]


def tree_map(f: Callable, tree: Any, *rest: Any) -> Any:
    """``tree`` with every leaf ``x`` replaced by ``f(x, *the leaves of rest at x's place)``.

    Each of ``rest`` must have ``tree``'s structure (dicts matched by key).
    """
    leaves, treedef = tree_flatten(tree)
    others = [treedef.flatten_up_to(r, what=f"tree_map argument {k + 2}")
              for k, r in enumerate(rest)]
    return treedef.unflatten(f(*xs) for xs in zip(leaves, *others))


def path_suffix(path: tuple) -> str:
    """How messages name a leaf after its argument: ``argument 0`` + ``" 'fc1.weight'"``,
    ``"[2]"``, or ``""`` for the argument itself."""
    text = format_path(path)
    return "" if not text else text if text.startswith("[") else f" {text!r}"


def format_path(path: tuple) -> str:
    """A leaf's key path as text: dict keys joined with dots, positions in brackets
    (``fc1.weight``, ``layers[0].bias``, ``[2]``)."""
    text = ""
    for key in path:
        if isinstance(key, int):
            text += f"[{key}]"
        else:
            text += (f".{key}" if text else str(key))
    return text
