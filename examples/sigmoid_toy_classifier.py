"""Tutorial 000: a one-hidden-layer sigmoid classifier on three toy data sets.

The notebook ("A simple neural network with one hidden layer in pure Python") builds

    A1 = sigmoid(X W1 + b1)   (3 hidden units)
    A2 = sigmoid(A1 W2 + b2)  (one output)

with every parameter drawn from `np.random.rand` (uniform [0, 1), no seed given: we use
`RandomState(0)` and draw in the notebook's order W1 (2, 3), b1 (3,), W2 (3, 1), b2 (1,)),
learning rate 0.01 and 100000 full-batch iterations, printing and recording
`sum((y - A2)**2)` every 1000 iterations. Its stated loss is the sum of squares

    L = sum_n (A2_n - y_n)^2.

Data: scikit-learn's classifier-comparison toy sets, made exactly as the notebook does:
`make_moons(200, noise=0.1, random_state=0)`, `make_circles(200, noise=0.1, factor=0.5,
random_state=1)`, and `make_classification(n_features=2, n_redundant=0, n_informative=2,
random_state=1, n_clusters_per_class=1)` plus `2 * RandomState(2).uniform(size=X.shape)`;
each split by `train_test_split(test_size=0.4, random_state=42)`. The notebook trains on
the linearly separable set; the issue asks for all three.

Its backpropagation is right, with one convention to know: `delta1 = 2 (y - A2) A2 (1 - A2)`
is minus dL/dZ2, so `d_weights2`, `d_bias2`, `d_weights1`, `d_bias1` are each exactly
minus the gradient, and the update `weights += learning_rate * d_weights` is an ordinary
descent step. (`sigmoid_derivative(x) = x (1 - x)` takes the activation, and the code does
pass activations to it, so that is right too.)
"""

from __future__ import annotations

from types import ModuleType

import numpy as np
from sklearn.datasets import make_circles, make_classification, make_moons
from sklearn.model_selection import train_test_split

from examples._common import FormulaFinding, FormulaSpec, ParamDict, judge_formulas, parameter_variants, progress

NAME = "sigmoid_toy_classifier"
TUTORIAL = "000: one-hidden-layer sigmoid classifier on moons / circles / linearly separable"

HIDDEN_SIZE = 3
LEARNING_RATE = 0.01
NUM_ITERATIONS = 100_000
RECORD_EVERY = 1000  # the notebook records the loss every 1000 iterations
WEIGHT_SEED = 0  # the notebook draws its weights unseeded; this fixes them

DatasetSplit = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def make_datasets() -> dict[str, DatasetSplit]:
    """The notebook's three data sets, each as (X_train, X_test, y_train, y_test).

    X_* are (n, 2) float64, y_* are (n,) int; 120 training and 80 test points for moons
    and circles, 60 and 40 for the linearly separable set.
    """
    X, y = make_classification(
        n_features=2, n_redundant=0, n_informative=2, random_state=1, n_clusters_per_class=1
    )
    rng = np.random.RandomState(2)
    X += 2 * rng.uniform(size=X.shape)
    sources = {
        "moons": make_moons(n_samples=200, noise=0.1, random_state=0),
        "circles": make_circles(n_samples=200, noise=0.1, factor=0.5, random_state=1),
        "linearly_separable": (X, y),
    }
    splits = {}
    for name, (features, labels) in sources.items():
        X_train, X_test, y_train, y_test = train_test_split(features, labels, test_size=0.4, random_state=42)
        splits[name] = (X_train, X_test, y_train, y_test)
    return splits


def initial_params(seed: int = WEIGHT_SEED) -> ParamDict:
    """The notebook's `np.random.rand` initialisation in its order, from `RandomState(seed)`.

    W1 (2, 3), b1 (3,), W2 (3, 1), b2 (1,), all uniform in [0, 1).
    """
    rng = np.random.RandomState(seed)
    return {
        "W1": rng.rand(2, HIDDEN_SIZE),
        "b1": rng.rand(HIDDEN_SIZE),
        "W2": rng.rand(HIDDEN_SIZE, 1),
        "b2": rng.rand(1),
    }


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def forward(params: ParamDict, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The notebook's `feedforward`: hidden activations (n, 3) and outputs (n, 1)."""
    layer1 = _sigmoid(X @ params["W1"] + params["b1"])
    output = _sigmoid(layer1 @ params["W2"] + params["b2"])
    return layer1, output


def stated_loss(params: ParamDict, X: np.ndarray, y: np.ndarray, xp: ModuleType = np):
    """L = sum_n (A2_n - y_n)^2 with y (n,) or (n, 1); written for any array namespace `xp`."""
    hidden = 1 / (1 + xp.exp(-(xp.dot(X, params["W1"]) + params["b1"])))
    output = 1 / (1 + xp.exp(-(xp.dot(hidden, params["W2"]) + params["b2"])))
    return xp.sum((output - np.reshape(y, (-1, 1))) ** 2)


def tutorial_gradients(params: ParamDict, X: np.ndarray, y: np.ndarray) -> ParamDict:
    """The notebook's `backprop`, transcribed (without the update); y is (n,) or (n, 1).

    Returns its `d_weights1` (2, 3), `d_bias1` (3,), `d_weights2` (3, 1), `d_bias2` (scalar)
    under the parameter names. Each is minus the gradient (see the module docstring).
    """
    y = np.reshape(y, (-1, 1))
    layer1, output = forward(params, X)

    def sigmoid_derivative(activation: np.ndarray) -> np.ndarray:
        return activation * (1 - activation)

    delta1 = 2 * (y - output) * sigmoid_derivative(output)
    d_weights2 = layer1.T @ delta1
    d_bias2 = np.sum(delta1)
    delta2 = (delta1 @ params["W2"].T) * sigmoid_derivative(layer1)
    d_weights1 = X.T @ delta2
    d_bias1 = np.ones(delta2.shape[0]) @ delta2
    return {"W1": d_weights1, "b1": d_bias1, "W2": d_weights2, "b2": np.asarray(d_bias2)}


def corrected_gradients(params: ParamDict, X: np.ndarray, y: np.ndarray) -> ParamDict:
    """The gradient of L = sum (A2 - y)^2, shaped like the parameters."""
    y = np.reshape(y, (-1, 1))
    layer1, output = forward(params, X)
    delta_output = 2.0 * (output - y) * output * (1.0 - output)  # dL/dZ2, (n, 1)
    delta_hidden = (delta_output @ params["W2"].T) * layer1 * (1.0 - layer1)  # dL/dZ1, (n, 3)
    return {
        "W1": X.T @ delta_hidden,
        "b1": delta_hidden.sum(axis=0),
        "W2": layer1.T @ delta_output,
        "b2": delta_output.sum(axis=0),
    }


def train_like_tutorial(
    X: np.ndarray,
    y: np.ndarray,
    num_iterations: int = NUM_ITERATIONS,
    seed: int = WEIGHT_SEED,
    show_progress: bool = False,
    label: str = "",
) -> tuple[ParamDict, list[float]]:
    """The notebook's training loop: `nn.train(X, y)` repeated, in plain NumPy.

    Returns the final parameters and the losses it records (every RECORD_EVERY-th
    iteration, the loss of the forward pass before that iteration's update).
    """
    params = initial_params(seed)
    loss_history = []
    for iteration in progress(range(1, num_iterations + 1), f"000 tutorial NumPy {label}", enabled=show_progress):
        if iteration % RECORD_EVERY == 0:
            # The notebook records the loss of this iteration's feedforward, which runs
            # before the update.
            loss_history.append(float(stated_loss(params, X, y)))
        directions = tutorial_gradients(params, X, y)
        for name in ("W1", "W2", "b1", "b2"):  # the notebook's update order
            params[name] += LEARNING_RATE * directions[name]
    return params, loss_history


def predict_class(params: ParamDict, X: np.ndarray) -> np.ndarray:
    """Class 1 where the output exceeds 0.5: (n,) ints."""
    return (forward(params, X)[1][:, 0] > 0.5).astype(int)


def formula_findings(params: ParamDict, X: np.ndarray, y: np.ndarray) -> list[FormulaFinding]:
    """Compare each notebook formula with the gradient of L = sum (A2 - y)^2."""
    sign = ("The notebook's delta1 = 2 (y - A2) A2 (1 - A2) is minus dL/dZ2, so this variable "
            "holds minus the gradient; the update adds it (weights += lr * d), which is plain "
            "gradient descent. Not a bug, but it is not the gradient its name suggests.")
    specs = [
        FormulaSpec("W2", "d_weights2", "layer1.T @ delta1", "-layer1.T @ delta1", sign),
        FormulaSpec("b2", "d_bias2", "sum(delta1)", "-sum(delta1)", sign),
        FormulaSpec("W1", "d_weights1", "X.T @ ((delta1 @ W2.T) * s'(layer1))",
                    "-X.T @ ((delta1 @ W2.T) * s'(layer1))", sign),
        FormulaSpec("b1", "d_bias1", "ones(n) @ delta2", "-ones(n) @ delta2", sign),
    ]
    return judge_formulas(tutorial_gradients(params, X, y), corrected_gradients(params, X, y), specs)


def gradient_check_cases(count: int = 3) -> list[tuple[ParamDict, tuple]]:
    """(params, (X_train, y_train)) pairs cycling over the three data sets: the initial
    weights, then perturbations. `stated_loss`, `tutorial_gradients` and
    `corrected_gradients` take `(params, *data)`."""
    splits = list(make_datasets().values())
    return [(params, (splits[index % len(splits)][0], splits[index % len(splits)][2]))
            for index, params in enumerate(parameter_variants(initial_params(), count))]
