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

from pathlib import Path
from types import ModuleType
from typing import Any, Sequence

import numpy as np

import autograd_lite as ag
import nn
from examples._common import (
    ExampleResult,
    ParamDict,
    ParamLayout,
    accuracy,
    max_relative_error,
    parameter_variants,
    plot_decision_boundaries,
    plot_loss_curves,
    predict_argmax,
    progress,
    render_graph,
)

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


# --------------------------------------------------------------------------------------
# The rebuild: autograd_lite + nn
# --------------------------------------------------------------------------------------

LAYOUT = ParamLayout({"l1.weights": "0.weight", "l1.biases": "0.bias", "l2.weights": "2.weight",
                      "l2.biases": "2.bias"})
ADAM_LEARNING_RATE = 0.01
WIDE_HIDDEN_SIZES = (64, 64)


def build_model(params: ParamDict) -> "nn.Sequential":
    """Linear(2, h) -> ReLU -> Linear(h, 12) (logits), holding the tutorial-layout `params`."""
    hidden_size = params["l1.weights"].shape[1]
    model = nn.Sequential(nn.Linear(2, hidden_size), nn.ReLU(), nn.Linear(hidden_size, N_CLASSES))
    return LAYOUT.load(model, params)


def build_wide_model(seed: int = 0) -> "nn.Sequential":
    """The wider alternative: 2 -> 64 -> ReLU -> 64 -> ReLU -> 12, nn's default initialisation."""
    rng = np.random.default_rng(seed)
    sizes = (2, *WIDE_HIDDEN_SIZES)
    layers: list = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(n_in, n_out, rng=rng), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(sizes[-1], N_CLASSES, rng=rng))


def clipped_model_loss(model: "nn.Sequential", X: np.ndarray, y: np.ndarray):
    """The tutorial's stated loss with the core API: mean -log(clip(softmax, 1e-7, 1 - 1e-7)[y])."""
    probabilities = ag.softmax(model(X), axis=1)
    return -ag.log(ag.clip(probabilities, CLIP, 1 - CLIP)[np.arange(len(X)), y]).mean()


def model_gradients(params: ParamDict, X: np.ndarray, y: np.ndarray) -> ParamDict:
    """Autodiff gradient of the stated (clipped) loss through the nn model, tutorial layout."""
    return LAYOUT.gradients(build_model(params), params, lambda model: clipped_model_loss(model, X, y))


def train_with_adam(model: "nn.Sequential", X: np.ndarray, y: np.ndarray, steps: int,
                    show_progress: bool) -> list[float]:
    """Full-batch Adam (lr 0.01) on nn.CrossEntropyLoss (the stated loss without the clip,
    which only matters for probabilities below 1e-7); the loss before each step."""
    optimizer = nn.optim.Adam(model.parameters(), lr=ADAM_LEARNING_RATE)
    return nn.fit(model, nn.CrossEntropyLoss(), optimizer, X, y.astype(np.int64), epochs=steps,
                  progress=show_progress)


# How long each part trains, per run length (see examples.RUN_LENGTHS). The tutorial's
# 1,000,000 search iterations are never run: its method is shown on a short run.
RUN_SIZES = {
    "quick": {"search_iterations": 1000, "adam_steps": 300, "wide_adam_steps": 300},
    "default": {"search_iterations": 10_000, "adam_steps": 2000, "wide_adam_steps": 1500},
    "tutorial": {"search_iterations": 50_000, "adam_steps": 5000, "wide_adam_steps": 5000},
}


def run(out_dir: Path, length: str = "default", show_progress: bool = True) -> ExampleResult:
    """Everything for tutorial 002: its random search on a short run, then gradients."""
    sizes = RUN_SIZES[length]
    search_iterations, adam_steps, wide_adam_steps = (sizes["search_iterations"], sizes["adam_steps"],
                                                      sizes["wide_adam_steps"])
    X, y, initial, rng = make_data_and_params()
    X_test, y_test = make_test_data()
    initial_loss, initial_accuracy = tutorial_loss_and_accuracy(initial, X, y)

    gradcheck_errors = [max_relative_error(corrected_gradients(params, *data), model_gradients(params, *data))
                        for params, data in gradient_check_cases(count=3)]

    searched, search_losses, search_accuracies = random_search(initial, X, y, rng, search_iterations, show_progress)
    same_model = build_model(initial)
    same_losses = train_with_adam(same_model, X, y, adam_steps, show_progress)
    wide_model = build_wide_model()
    wide_losses = train_with_adam(wide_model, X, y, wide_adam_steps, show_progress)

    def scores(predict) -> tuple[float, float]:
        return accuracy(predict(X), y), accuracy(predict(X_test), y_test)

    accuracies = {
        "random search (tutorial)": scores(lambda points: predict_class(searched, points)),
        "Adam, same 2-12-12 network": scores(lambda points: predict_argmax(same_model, points)),
        "Adam, wider 2-64-64-12 network": scores(lambda points: predict_argmax(wide_model, points)),
    }
    with ag.no_grad():
        stated_after_adam = clipped_model_loss(same_model, X, y).item()
    metrics: dict[str, Any] = {
        "initial_loss_and_accuracy": (initial_loss, initial_accuracy),
        "tutorial_initial_loss_and_accuracy": (TUTORIAL_INITIAL_LOSS, TUTORIAL_INITIAL_ACCURACY),
        "search_iterations": search_iterations,
        "search_final_loss": search_losses[-1],
        "adam_steps": adam_steps,
        "wide_adam_steps": wide_adam_steps,
        "adam_same_network_final_stated_loss": stated_after_adam,
        "adam_wide_network_final_cross_entropy": wide_losses[-1],
        "accuracy_train_test": accuracies,
        "tutorial_reported_accuracy_after_1e6_search_iterations": TUTORIAL_ACCURACY,
    }

    out_dir.mkdir(parents=True, exist_ok=True)
    panels = [dict(predict_class=predict, X_train=X, y_train=y, X_test=X_test, y_test=y_test,
                   title=f"{label}: train {accuracies[label][0]:.3f}, test {accuracies[label][1]:.3f}")
              for label, predict in (
                  ("random search (tutorial)", lambda points: predict_class(searched, points)),
                  ("Adam, same 2-12-12 network", lambda points: predict_argmax(same_model, points)),
                  ("Adam, wider 2-64-64-12 network", lambda points: predict_argmax(wide_model, points)))]
    images = [
        plot_loss_curves(out_dir / f"{NAME}_loss.png", {
            "random search: best loss so far": (np.arange(1, search_iterations + 1), search_losses),
            "Adam, same 2-12-12 network": (np.arange(adam_steps), same_losses),
            "Adam, wider 2-64-64-12 network": (np.arange(wide_adam_steps), wide_losses),
        }, title="12 polynomials: cross-entropy, random search vs gradients", xlabel="iteration / step", log_x=True).name,
        plot_decision_boundaries(out_dir / f"{NAME}_regions.png", panels, columns=3, panel_size=5.0).name,
    ]
    graph_files, graph_note = render_graph(clipped_model_loss(same_model, X, y), out_dir, f"{NAME}_graph")
    same_train = accuracies["Adam, same 2-12-12 network"][0]
    headline = (f"train accuracy: random search {accuracies['random search (tutorial)'][0]:.3f} after "
                f"{search_iterations} iterations (tutorial: {TUTORIAL_ACCURACY:.4f} after 1e6); Adam "
                f"{same_train:.3f} after {adam_steps} steps; wider {accuracies['Adam, wider 2-64-64-12 network'][0]:.3f}"
                f" after {wide_adam_steps}")
    return ExampleResult(
        name=NAME, tutorial=TUTORIAL,
        data="12 polynomials x 100 points, x ~ U(-1, 1), after seed 0 (+ 1200 test points, seed 1)",
        model="2 -> ReLU(12) -> softmax(12), clipped cross-entropy",
        final_loss=stated_after_adam, accuracy=same_train, headline=headline,
        gradcheck_max_rel_error=max(gradcheck_errors), findings=[],
        images=images + graph_files, metrics=metrics,
        notes=([graph_note] if graph_note else []) + [
            "No hand-derived gradients in this tutorial (it trains by random search); the analytic "
            "gradient written here (corrected_gradients) is checked against autodiff instead."],
    )
