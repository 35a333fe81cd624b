"""The workloads W1..W8: each defined once, as data, with its inputs made deterministically.

Four kinds:

* `MLP`: a fully connected network trained by full-batch SGD. One *step* is forward,
  backward and parameter update. The parameters are ``[W1, b1, W2, b2, ...]`` with
  ``W`` shaped ``(fan_in, fan_out)`` and ``y = x @ W + b`` (the seeds' convention).
* `Chain`: ``depth`` elementwise ops on a small array, then ``sum`` and backward. One
  *step* is forward + backward (there is nothing to update).

* `CNN` (W7): one SGD step of a small convolutional network on 8x8 digits.
* `CharLSTM` (W8): one SGD step of Embedding -> LSTM -> Linear on a batch of characters.

Every contestant computes the same loss; `mlp_loss` and `chain_loss` are that loss written
once for the array-style contestants, against a small namespace ``F`` of the few functions
whose spelling differs between frameworks.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np


@dataclasses.dataclass(frozen=True)
class MLP:
    """A fully connected network: ``sizes[0]`` inputs, hidden layers, ``sizes[-1]`` outputs.

    ``loss`` is ``"cross_entropy"`` (mean softmax cross-entropy on the logits, integer
    targets) or ``"mse"`` (mean squared error of ``sigmoid(logits)``, as tutorial 001).
    With ``l2`` the loss gains ``l2 / (2 N) * sum(|W|^2)`` over the weights (tutorial 004's
    printed loss).
    """

    name: str
    title: str
    sizes: tuple[int, ...]
    activation: str  # of the hidden layers: "tanh", "sigmoid" or "relu"
    loss: str
    batch: int
    dtype: str = "float64"
    l2: float = 0.0
    lr: float = 0.01
    rounds: int | None = None  # cap on timing rounds (None: the command's --rounds)
    measure_memory: bool = False  # peak memory of a step, against the parameter bytes

    kind = "mlp"

    @property
    def layers(self) -> list[tuple[int, int]]:
        return list(zip(self.sizes[:-1], self.sizes[1:]))

    def make_data(self) -> dict[str, np.ndarray]:
        """``X`` (batch, sizes[0]) in ``dtype``, ``y`` (int classes or (batch, 1) floats), ``rows``."""
        X, y = _DATA[self.name.split("-")[0]](np.random.default_rng(0), self.batch, self)
        if self.loss == "mse":
            y = y.reshape(-1, 1).astype(self.dtype)
        return {"X": X.astype(self.dtype), "y": y, "rows": np.arange(self.batch)}

    def initial_params(self) -> list[np.ndarray]:
        """``[W1, b1, ...]``: weights ~ N(0, 1/fan_in), biases zero (fresh copies each call)."""
        rng = np.random.default_rng(1)
        params = []
        for fan_in, fan_out in self.layers:
            params.append((rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in)).astype(self.dtype))
            params.append(np.zeros(fan_out, dtype=self.dtype))
        return params

    @property
    def param_bytes(self) -> int:
        itemsize = np.dtype(self.dtype).itemsize
        return sum((fan_in + 1) * fan_out for fan_in, fan_out in self.layers) * itemsize


@dataclasses.dataclass(frozen=True)
class Chain:
    """``depth`` elementwise ops on a ``size``-element array, alternating ``x * MUL`` and
    ``x + ADD`` (bounded for any depth: the fixed point is 1), then ``sum`` and backward.

    The gradient with respect to the input is ``MUL ** (number of multiplications)``.
    """

    name: str
    title: str
    depth: int
    size: int = 10
    dtype: str = "float64"
    rounds: int | None = None

    kind = "chain"
    MUL = 0.9999
    ADD = 1e-4

    def initial_input(self) -> np.ndarray:
        return np.random.default_rng(2).standard_normal(self.size).astype(self.dtype)


@dataclasses.dataclass(frozen=True)
class CNN:
    """``Conv2d(1, c1, 3, padding=1)``, ReLU, ``MaxPool2d(2)``, ``Conv2d(c1, c2, 3, padding=1)``,
    ReLU, ``MaxPool2d(2)``, flatten (PyTorch's (C, H, W) order), ``Linear(c2 * 4, 10)``, mean
    softmax cross-entropy, on ``batch`` of sklearn's 8x8 digits (pixels / 16).

    Parameters ``[conv1.weight (c1, 1, 3, 3), conv1.bias, conv2.weight (c2, c1, 3, 3),
    conv2.bias, fc.weight (c2 * 4, 10), fc.bias]`` (PyTorch's conv layout, the seeds' Linear).
    """

    name: str
    title: str
    channels: tuple[int, int] = (16, 32)
    batch: int = 64
    lr: float = 0.1
    dtype: str = "float64"
    rounds: int | None = None

    kind = "cnn"

    def make_data(self) -> dict[str, np.ndarray]:
        from sklearn.datasets import load_digits  # ships with scikit-learn (no download)
        digits = load_digits()
        return {"X": (digits.images[:self.batch] / 16.0).reshape(self.batch, 1, 8, 8).astype(self.dtype),
                "y": digits.target[:self.batch].astype(np.int64)}

    def initial_params(self) -> list[np.ndarray]:
        """PyTorch's default initialisation, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), from default_rng(1)."""
        rng = np.random.default_rng(1)
        c1, c2 = self.channels
        shapes = [((c1, 1, 3, 3), 9), ((c1,), 9), ((c2, c1, 3, 3), 9 * c1), ((c2,), 9 * c1),
                  ((c2 * 4, 10), c2 * 4), ((10,), c2 * 4)]
        return [rng.uniform(-1, 1, shape).astype(self.dtype) / np.sqrt(fan_in) for shape, fan_in in shapes]


@dataclasses.dataclass(frozen=True)
class CharLSTM:
    """``Embedding(vocab, embed)`` -> ``LSTM(embed, hidden)`` (sequence first) ->
    ``Linear(hidden, vocab)``, mean softmax cross-entropy of the next character, on
    ``steps`` x ``batch`` random characters.

    Parameters ``[embedding (vocab, embed), weight_ih (4 hidden, embed), weight_hh
    (4 hidden, hidden), bias_ih (4 hidden,), bias_hh, fc.weight (hidden, vocab), fc.bias]``.
    """

    name: str
    title: str
    vocab: int = 27
    embed: int = 16
    hidden: int = 64
    batch: int = 32
    steps: int = 16
    lr: float = 0.1
    dtype: str = "float64"
    rounds: int | None = None

    kind = "lstm"

    def make_data(self) -> dict[str, np.ndarray]:
        text = np.random.default_rng(0).integers(0, self.vocab, (self.steps + 1, self.batch))
        return {"x": text[:-1], "y": text[1:]}

    def initial_params(self) -> list[np.ndarray]:
        """PyTorch's defaults: N(0, 1) embeddings, U(-1/sqrt(hidden), 1/sqrt(hidden)) for the
        LSTM, U(-1/sqrt(hidden), ...) for the Linear; from default_rng(1)."""
        rng = np.random.default_rng(1)
        bound = 1 / np.sqrt(self.hidden)
        gates = 4 * self.hidden
        params = [rng.standard_normal((self.vocab, self.embed))]
        params += [rng.uniform(-bound, bound, shape) for shape in
                   ((gates, self.embed), (gates, self.hidden), (gates,), (gates,),
                    (self.hidden, self.vocab), (self.vocab,))]
        return [p.astype(self.dtype) for p in params]


def mlp_loss(F: Any, params: Sequence, X: Any, y: Any, rows: np.ndarray, spec: MLP) -> Any:
    """The MLP loss in array style, for any framework whose arrays support ``@ + - * **``,
    indexing and ``.sum()``; ``F`` gives ``tanh``, ``sigmoid``, ``relu``, ``log_softmax``."""
    activation = getattr(F, spec.activation)
    h = X
    last = len(params) // 2 - 1
    for layer in range(last + 1):
        h = h @ params[2 * layer] + params[2 * layer + 1]
        if layer < last:
            h = activation(h)
    n = spec.batch
    if spec.loss == "cross_entropy":
        loss = -F.log_softmax(h)[rows, y].sum() / n
    else:
        loss = ((F.sigmoid(h) - y) ** 2).sum() / n
    if spec.l2:
        loss = loss + spec.l2 / (2 * n) * sum((W * W).sum() for W in params[0::2])
    return loss


def chain_loss(x: Any, spec: Chain) -> Any:
    """``spec.depth`` alternating ``* MUL`` / ``+ ADD`` ops on ``x``, then the sum."""
    for i in range(spec.depth):
        x = x * spec.MUL if i % 2 == 0 else x + spec.ADD
    return x.sum()


# ---- data, deterministic (NumPy's default_rng(0)), shaped like the seeds' --------------
def _moons(rng: np.random.Generator, n: int, spec: MLP) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved half circles with Gaussian noise 0.2 (sklearn's make_moons)."""
    half = n // 2
    angle = np.concatenate([np.linspace(0, np.pi, half), np.linspace(0, np.pi, n - half)])
    upper = np.arange(n) < half
    X = np.where(upper[:, None],
                 np.stack([np.cos(angle), np.sin(angle)], axis=1),
                 np.stack([1 - np.cos(angle), 0.5 - np.sin(angle)], axis=1))
    return X + rng.normal(0, 0.2, X.shape), (~upper).astype(np.int64)


def _regression(rng: np.random.Generator, n: int, spec: MLP) -> tuple[np.ndarray, np.ndarray]:
    """Tutorial 001: x1 ~ N(0, 2), x2 ~ N(10, 2), y = 2 x1 x2 + 2."""
    x1, x2 = rng.normal(0, 2, n), rng.normal(10, 2, n)
    return np.stack([x1, x2], axis=1), 2 * x1 * x2 + 2


# Tutorial 002's twelve polynomials (coefficients, highest power first).
_POLYNOMIALS = ((3, 1), (-2, -3), (4, -1, -2), (-1, 2, 0), (3, 0, 2), (1, -1, 3, 2), (-3, 1, 0, 0),
                (2, 0, 1, -2), (5, -3, 1, -2, 2), (-2, -3, 0, 4, 1), (1, 0, -4, 2, 3), (1, 0, 0, 0, -2))


def _polynomials(rng: np.random.Generator, n: int, spec: MLP) -> tuple[np.ndarray, np.ndarray]:
    """Tutorial 002: points (r, p_k(r)), r ~ U(-1, 1), labelled with the polynomial k."""
    y = np.arange(n) % len(_POLYNOMIALS)
    r = rng.uniform(-1, 1, n)
    values = np.array([np.polyval(_POLYNOMIALS[k], x) for k, x in zip(y, r)])
    return np.stack([r, values], axis=1), y


def _random_classes(rng: np.random.Generator, n: int, spec: MLP) -> tuple[np.ndarray, np.ndarray]:
    return rng.standard_normal((n, spec.sizes[0])), rng.integers(0, spec.sizes[-1], n)


_DATA = {"W1": _moons, "W2": _regression, "W3": _polynomials, "W4": _random_classes}


def all_workloads(quick: bool = False) -> list[MLP | Chain | CNN | CharLSTM]:
    """The issue's workloads in order. ``quick`` shortens the long chain (100,000 -> 10,000)."""
    long_chain = 10_000 if quick else 100_000
    return [
        MLP("W1", "moons 200x2, 2-3-2 tanh, softmax CE + L2 0.01", (2, 3, 2), "tanh",
            "cross_entropy", 200, l2=0.01),
        MLP("W2", "regression 10000x2, 2-10-1 sigmoid, MSE", (2, 10, 1), "sigmoid", "mse", 10_000),
        MLP("W3", "polynomials 1200x2, 2-12-12 ReLU, softmax CE", (2, 12, 12), "relu",
            "cross_entropy", 1200),
        MLP("W4-f64", "batch 256, 784-512-512-10 ReLU MLP, float64", (784, 512, 512, 10), "relu",
            "cross_entropy", 256, measure_memory=True),
        MLP("W4-f32", "batch 256, 784-512-512-10 ReLU MLP, float32", (784, 512, 512, 10), "relu",
            "cross_entropy", 256, dtype="float32", measure_memory=True),
        Chain("W5-5k", "chain of 5,000 elementwise ops on 10 elements", 5_000),
        Chain("W5-long", f"chain of {long_chain:,} elementwise ops on 10 elements", long_chain,
              rounds=3),
        Chain("W6", "one elementwise op + sum + backward on 10 elements", 1),
        CNN("W7", "digits 64x1x8x8, conv 16 -> pool -> conv 32 -> pool -> linear 10, softmax CE"),
        CharLSTM("W8", "characters 16x32, embedding 16 -> LSTM 64 -> linear 27, softmax CE"),
    ]
