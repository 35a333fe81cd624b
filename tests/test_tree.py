"""Containers (pytrees): ag.tree_flatten, ag.tree_unflatten, ag.tree_map."""
from __future__ import annotations

from collections import OrderedDict, namedtuple

import numpy as np
import pytest

import autograd_lite as ag

Pair = namedtuple("Pair", "left right")


def nested():
    a, b, c, d = (np.full(2, float(k)) for k in range(4))
    return {"w": a, "layers": [(b, 2.0), {"bias": c}], "pair": Pair(d, None)}, [a, b, 2.0, c, d]


def test_flatten_lists_leaves_depth_first_in_insertion_order():
    tree, expected = nested()
    leaves, treedef = ag.tree_flatten(tree)
    assert len(leaves) == len(expected) == treedef.num_leaves
    for leaf, want in zip(leaves, expected):
        assert leaf is want  # the leaves themselves, not copies
    assert treedef.paths() == [("w",), ("layers", 0, 0), ("layers", 0, 1), ("layers", 1, "bias"),
                               ("pair", "left")]


def test_unflatten_rebuilds_the_same_types_and_keys():
    tree, _ = nested()
    leaves, treedef = ag.tree_flatten(tree)
    rebuilt = ag.tree_unflatten(treedef, [x * 10 if isinstance(x, np.ndarray) else x for x in leaves])
    assert list(rebuilt) == ["w", "layers", "pair"]
    assert type(rebuilt["layers"]) is list and type(rebuilt["layers"][0]) is tuple
    assert type(rebuilt["pair"]) is Pair and rebuilt["pair"].right is None
    np.testing.assert_array_equal(rebuilt["layers"][1]["bias"], tree["layers"][1]["bias"] * 10)
    assert ag.tree_flatten(rebuilt)[1] == treedef  # same structure, equal (and hashable) TreeDefs
    assert hash(ag.tree_flatten(rebuilt)[1]) == hash(treedef)


def test_a_bare_leaf_and_empty_containers():
    leaves, treedef = ag.tree_flatten(np.ones(3))
    assert len(leaves) == 1 and treedef.num_leaves == 1
    for empty in ([], (), {}, None):
        leaves, treedef = ag.tree_flatten(empty)
        assert leaves == [] and ag.tree_unflatten(treedef, []) == empty


def test_unflatten_refuses_the_wrong_number_of_leaves():
    _, treedef = ag.tree_flatten([1.0, (2.0, 3.0)])
    with pytest.raises(ValueError, match="holds 3 leaves, got 2"):
        ag.tree_unflatten(treedef, [1.0, 2.0])


def test_tree_map_applies_leafwise_and_matches_dicts_by_key():
    params = {"w": np.array([1.0, 2.0]), "b": 0.5}
    grads = OrderedDict([("b", 1.0), ("w", np.array([10.0, 20.0]))])  # another order
    grads = dict(grads)
    updated = ag.tree_map(lambda p, g: p - 0.1 * g, params, grads)
    assert list(updated) == ["w", "b"]
    np.testing.assert_allclose(updated["w"], [0.0, 0.0])
    assert updated["b"] == pytest.approx(0.4)


def test_tree_map_names_where_the_structures_differ():
    with pytest.raises(ValueError, match="keys"):
        ag.tree_map(lambda a, b: a + b, {"w": 1.0}, {"v": 1.0})
    with pytest.raises(ValueError, match="1 items at a, expected 2"):
        ag.tree_map(lambda a, b: a + b, {"a": [1.0, 2.0]}, {"a": [1.0]})
    with pytest.raises(ValueError, match="tuple"):
        ag.tree_map(lambda a, b: a + b, (1.0,), [1.0])


def test_tensors_are_leaves():
    t = ag.Tensor(np.ones(2), requires_grad=True)
    leaves, _ = ag.tree_flatten({"t": t, "l": [t]})
    assert leaves[0] is t and leaves[1] is t
