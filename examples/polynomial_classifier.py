"""Tutorial 002: which of 12 polynomials does a point (x, y) lie on? Random search vs gradients.

The tutorial ("Polynomial Class" / "Complete Neural Network") samples, after
`np.random.seed(0)`, 100 points per polynomial: for each of the 12 polynomials in turn and
each sample, r = uniform(-1, 1) and the point (r, p(r)) labelled with the polynomial's
index (1200 points). The network is

    Dense(2, 12) -> ReLU -> Dense(12, 12) -> softmax

with weights 0.1 * randn(n_inputs, n_neurons) and zero biases (1, n_neurons), and the loss
is the mean categorical cross-entropy of the clipped probabilities,
mean(-log(clip(p[n, y_n], 1e-7, 1 - 1e-7))).

It has no gradient at all: it trains by random search. Each iteration adds
learn_rate * randn to every weight and bias (learn_rate = 0.0005), keeps the new values if
the loss went down and otherwise restores the best ones. It reports 77.83 % accuracy (loss
0.667) after 1,000,000 iterations. Here: its method on a short run, then gradient-based
training of the same architecture (which passes 77.83 % within a few thousand steps), and a
wider network that does better still.

The first numbers the tutorial prints are reproduced exactly: after seed 0, the data set,
then layer 1's and layer 2's weights, the untrained loss is 2.4942046014713335 and the
accuracy 0.015833333333333335.

`corrected_gradients` gives the analytic gradient of the stated (clipped) loss, checked
against autodiff; there are no hand-derived formulas in this tutorial to judge.
"""

from __future__ import annotations

from types import ModuleType
from typing import Sequence

import numpy as np

from examples._common import ParamDict, parameter_variants, progress

NAME = "polynomial_classifier"
TUTORIAL = "002: 12-polynomial classifier, 2-12-12 ReLU/softmax, random search"

# Coefficients from the highest power down, as the tutorial's P(*coeffs).
POLYNOMIALS: tuple[tuple[int, ...], ...] = (
    (3, 1), (-2, -3), (4, -1, -2), (-1, 2, 0), (3, 0, 2), (1, -1, 3, 2), (-3, 1, 0, 0),
    (2, 0, 1, -2), (5, -3, 1, -2, 2), (-2, -3, 0, 4, 1), (1, 0, -4, 2, 3), (1, 0, 0, 0, -2),
)
N_CLASSES = len(POLYNOMIALS)
SAMPLES_PER_CLASS = 100
SEARCH_STEP = 0.0005  # the tutorial's learn_rate: the scale of the random perturbation
CLIP = 1e-7
TUTORIAL_ACCURACY = 0.7783  # after 1,000,000 random-search iterations
TUTORIAL_INITIAL_LOSS = 2.4942046014713335
TUTORIAL_INITIAL_ACCURACY = 0.015833333333333335


def evaluate_polynomial(coefficients: Sequence[int], x: float) -> float:
    """p(x) summed term by term from the highest power, in the tutorial's order."""
    degree = len(coefficients) - 1
    return sum(coefficient * (x ** (degree - power)) for power, coefficient in enumerate(coefficients))


def polynomial_text(coefficients: Sequence[int]) -> str:
    """A readable form such as '-x^2 + 1' (for plot legends)."""
    degree = len(coefficients) - 1
    terms = []
    for power, coefficient in zip(range(degree, -1, -1), coefficients):
        if coefficient == 0:
            continue
        magnitude = abs(coefficient)
        body = ("" if magnitude == 1 and power > 0 else str(magnitude)) + ("x" if power > 0 else "")
        body += f"^{power}" if power > 1 else ""
        sign = "-" if coefficient < 0 else "+"
        terms.append((sign, body))
    first_sign, first_body = terms[0]
    text = ("-" if first_sign == "-" else "") + first_body
    return text + "".join(f" {sign} {body}" for sign, body in terms[1:])


def generate_dataset(rng: np.random.RandomState, samples_per_class: int = SAMPLES_PER_CLASS
                     ) -> tuple[np.ndarray, np.ndarray]:
    """The tutorial's `generate_dataset`: X (12 * n, 2) float64, y (12 * n,) uint8, class-major."""
    X = np.zeros((samples_per_class * N_CLASSES, 2))
    y = np.zeros(samples_per_class * N_CLASSES, dtype="uint8")
    for index, coefficients in enumerate(POLYNOMIALS):
        for sample in range(samples_per_class):
            r = rng.uniform(-1, 1)
            X[index * samples_per_class + sample] = [r, evaluate_polynomial(coefficients, r)]
            y[index * samples_per_class + sample] = index
    return X, y


def dense_params(rng: np.random.RandomState, n_inputs: int, n_neurons: int, prefix: str) -> ParamDict:
    """The tutorial's `Dense_Layer`: weights 0.1 * randn (n_inputs, n_neurons), biases zeros (1, n_neurons)."""
    return {f"{prefix}weights": 0.1 * rng.randn(n_inputs, n_neurons), f"{prefix}biases": np.zeros((1, n_neurons))}


def make_data_and_params(hidden_size: int = N_CLASSES) -> tuple[np.ndarray, np.ndarray, ParamDict, np.random.RandomState]:
    """The tutorial's first cells: seed 0, the data set, layer 1, layer 2.

    Returns X (1200, 2), y (1200,), the parameters {"l1.weights" (2, h), "l1.biases" (1, h),
    "l2.weights" (h, 12), "l2.biases" (1, 12)} and the random stream, positioned after them
    (the tutorial's search goes on drawing from it).
    """
    rng = np.random.RandomState(0)
    X, y = generate_dataset(rng)
    params = {**dense_params(rng, 2, hidden_size, "l1."), **dense_params(rng, hidden_size, N_CLASSES, "l2.")}
    return X, y, params, rng


def make_test_data() -> tuple[np.ndarray, np.ndarray]:
    """A held-out sample made the same way from seed 1 (the tutorial measures training accuracy only)."""
    return generate_dataset(np.random.RandomState(1))


def forward_probabilities(params: ParamDict, X: np.ndarray) -> np.ndarray:
    """Dense -> ReLU -> Dense -> softmax, as the tutorial computes it: (n, 12)."""
    hidden = np.maximum(0, np.dot(X, params["l1.weights"]) + params["l1.biases"])
    logits = np.dot(hidden, params["l2.weights"]) + params["l2.biases"]
    exp_values = np.exp(logits - np.max(logits, axis=1, keepdims=True))
    return exp_values / np.sum(exp_values, axis=1, keepdims=True)


def tutorial_loss_and_accuracy(params: ParamDict, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """The tutorial's `Loss_CategoricalCrossentropy.calculate` and accuracy."""
    probabilities = forward_probabilities(params, X)
    clipped = np.clip(probabilities, CLIP, 1 - CLIP)
    loss = float(np.mean(-np.log(clipped[range(len(probabilities)), y])))
    return loss, float(np.mean(np.argmax(probabilities, axis=1) == y))


def stated_loss(params: ParamDict, X: np.ndarray, y: np.ndarray, xp: ModuleType = np):
    """The same clipped mean cross-entropy for any array namespace `xp`."""
    hidden = xp.maximum(xp.dot(X, params["l1.weights"]) + params["l1.biases"], 0.0)
    logits = xp.dot(hidden, params["l2.weights"]) + params["l2.biases"]
    shifted = logits - xp.max(logits, axis=1, keepdims=True)
    exp_values = xp.exp(shifted)
    probabilities = exp_values / xp.sum(exp_values, axis=1, keepdims=True)
    clipped = xp.clip(probabilities, CLIP, 1 - CLIP)
    return -xp.mean(xp.log(clipped[np.arange(len(X)), y]))


def corrected_gradients(params: ParamDict, X: np.ndarray, y: np.ndarray) -> ParamDict:
    """Analytic gradient of the clipped mean cross-entropy; shapes like the parameters.

    dL/dlogits = (p - onehot) / n, except for samples whose true-class probability is
    clipped (the clip's derivative there is 0, so they contribute nothing).
    """
    n = len(X)
    pre_hidden = X @ params["l1.weights"] + params["l1.biases"]
    hidden = np.maximum(pre_hidden, 0.0)
    probabilities = forward_probabilities(params, X)
    true_probability = probabilities[np.arange(n), y]
    inside_clip = (true_probability > CLIP) & (true_probability < 1 - CLIP)
    delta_logits = probabilities.copy()
    delta_logits[np.arange(n), y] -= 1.0
    delta_logits *= inside_clip[:, None] / n
    delta_hidden = (delta_logits @ params["l2.weights"].T) * (pre_hidden > 0)
    return {
        "l1.weights": X.T @ delta_hidden,
        "l1.biases": delta_hidden.sum(axis=0, keepdims=True),
        "l2.weights": hidden.T @ delta_logits,
        "l2.biases": delta_logits.sum(axis=0, keepdims=True),
    }


def random_search(
    params: ParamDict,
    X: np.ndarray,
    y: np.ndarray,
    rng: np.random.RandomState,
    iterations: int,
    show_progress: bool = False,
) -> tuple[ParamDict, list[float], list[float]]:
    """The tutorial's `train` loop (random search), from `params`, drawing from `rng`.

    Returns the best parameters and, per iteration, the best loss and its accuracy so far.
    """
    best = {name: value.copy() for name, value in params.items()}
    current = {name: value.copy() for name, value in params.items()}
    lowest_loss, best_accuracy = np.inf, 0.0
    best_losses, best_accuracies = [], []
    for _ in progress(range(iterations), "002 random search", enabled=show_progress):
        for name in ("l1.weights", "l1.biases", "l2.weights", "l2.biases"):  # the tutorial's draw order
            current[name] += SEARCH_STEP * rng.randn(*current[name].shape)
        loss, accuracy = tutorial_loss_and_accuracy(current, X, y)
        if loss < lowest_loss:
            lowest_loss, best_accuracy = loss, accuracy
            best = {name: value.copy() for name, value in current.items()}
        else:
            current = {name: value.copy() for name, value in best.items()}
        best_losses.append(lowest_loss)
        best_accuracies.append(best_accuracy)
    return best, best_losses, best_accuracies


def predict_class(params: ParamDict, X: np.ndarray) -> np.ndarray:
    """argmax of the probabilities: (n,) ints."""
    return np.argmax(forward_probabilities(params, X), axis=1)


def gradient_check_cases(count: int = 3, hidden_size: int = N_CLASSES) -> list[tuple[ParamDict, tuple]]:
    """(params, (X, y)) pairs: the tutorial's initial weights, then perturbations.
    `stated_loss` and `corrected_gradients` take `(params, *data)`."""
    X, y, params, _ = make_data_and_params(hidden_size)
    return [(variant, (X, y)) for variant in parameter_variants(params, count)]
