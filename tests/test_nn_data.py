"""nn.DataLoader: batches, order, shuffling, lengths and errors."""
import numpy as np
import pytest

import autograd_lite as ag
import nn


def dataset(n):
    X = np.arange(n * 2, dtype=float).reshape(n, 2)
    return X, np.arange(n)


@pytest.mark.parametrize("n, batch_size, drop_last, sizes", [
    (10, 4, False, [4, 4, 2]),
    (10, 4, True, [4, 4]),
    (8, 4, False, [4, 4]),
    (3, 32, False, [3]),
    (3, 32, True, []),
    (0, 5, False, []),
])
def test_batches_in_order(n, batch_size, drop_last, sizes):
    X, y = dataset(n)
    loader = nn.DataLoader(X, y, batch_size=batch_size, drop_last=drop_last)
    batches = list(loader)
    assert len(loader) == len(sizes) and [len(b[1]) for b in batches] == sizes
    assert all(isinstance(b, tuple) and len(b) == 2 for b in batches)
    seen = np.concatenate([b[1] for b in batches]) if batches else np.array([], int)
    np.testing.assert_array_equal(seen, np.arange(sum(sizes)))
    for X_b, y_b in batches:
        np.testing.assert_array_equal(X_b, X[y_b])


def test_shuffling_visits_every_sample_once_per_pass_in_a_new_order():
    X, y = dataset(50)
    loader = nn.DataLoader(X, y, batch_size=8, shuffle=True, rng=np.random.default_rng(0))
    orders = []
    for _ in range(2):
        batches = list(loader)
        for X_b, y_b in batches:
            np.testing.assert_array_equal(X_b, X[y_b])  # rows stay aligned
        orders.append(np.concatenate([b[1] for b in batches]))
        np.testing.assert_array_equal(np.sort(orders[-1]), y)
    assert not np.array_equal(orders[0], orders[1]) and not np.array_equal(orders[0], y)
    again = nn.DataLoader(X, y, batch_size=8, shuffle=True, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(np.concatenate([b[1] for b in again]), orders[0])


def test_shuffle_with_drop_last_and_the_global_state():
    X, y = dataset(10)
    np.random.seed(1)
    batches = list(nn.DataLoader(y, batch_size=3, shuffle=True, drop_last=True))
    np.random.seed(1)
    expected = np.random.permutation(10)[:9].reshape(3, 3)
    np.testing.assert_array_equal([b[0] for b in batches], expected)


def test_single_array_tensors_and_lists():
    X, _ = dataset(5)
    (first,) = next(iter(nn.DataLoader(ag.tensor(X), batch_size=2)))
    assert type(first) is np.ndarray
    np.testing.assert_array_equal(first, X[:2])
    assert [b[0].tolist() for b in nn.DataLoader([1, 2, 3], batch_size=2)] == [[1, 2], [3]]


@pytest.mark.parametrize("make, message", [
    (lambda: nn.DataLoader(), "at least one array"),
    (lambda: nn.DataLoader(np.ones((4, 2)), np.ones(3)),
     r"different numbers of samples \[4, 3\] \(shapes \(4, 2\), \(3,\)\)"),
    (lambda: nn.DataLoader(np.ones(3), np.float64(1.0)), r"array 1 is a scalar"),
    (lambda: nn.DataLoader(np.ones(3), batch_size=0), "batch_size must be a positive integer"),
    (lambda: nn.DataLoader(np.ones(3), batch_size=2.5), "got 2.5"),
])
def test_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()
