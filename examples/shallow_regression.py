"""Tutorial 001: a shallow regression network for y = 2 x1 x2 + 2.

The tutorial ("Shallow Neural Network") draws, after `np.random.seed(0)`,
m = 10000 samples x1 ~ N(0, 2), x2 ~ N(10, 2), stacks them as X (2, m) and sets
y = 2 x1 x2 + 2. The network (its `nn` class) is, in its column layout,

    Z1 = W1 X + b1,  A1 = sigmoid(Z1)   (10 hidden units)
    Z2 = W2 A1 + b2, A2 = Z2            (linear output)

with W1 (10, 2), b1 (10, 1), W2 (1, 10), b2 (1, 1) from `np.random.rand` (uniform [0, 1)),
learning rate alpha = 0.001 and 10000 full-batch iterations. Before the class, a notebook
cell draws W1, b1, W2, b (same shapes) once more, so the class's weights are the 5th to 8th
draws after the data; `initial_params` reproduces that stream.

What loss? The text says "average error, where error is the difference between predicted
and actual values" (the formula itself is a missing image), and the class records
`np.mean(A2 - y)`, the mean *signed* error. That is not a loss one can minimise: it is
unbounded below and zero for a model that is wrong in both directions. The backpropagation
(`dZ2 = A2 - y`, `dW2 = (1/m) dZ2 A1^T`, ...) is the gradient of half the mean squared error

    J = 1/(2m) * sum_i (A2_i - y_i)^2,

which is what the examples take as the loss the tutorial means, and what they train.

Formula errors (details in `formula_findings`):
- the class's `db1 = (1/m) * np.sum(dZ1)` sums over *both* axes: every hidden unit gets the
  same scalar, the sum over all units, instead of its own sum over the samples (axis 1);
- the notebook cell's `db = (1/m) * np.sum(Z1)` sums Z1 instead of dZ1;
- the notebook cell's `dW2 = (1/m) * dZ2 * np.transpose(A2)` multiplies elementwise by A2^T
  instead of taking the matrix product with A1^T: it broadcasts to an (m, m) matrix;
- the written rule dZ1 = W2 dZ2 * g'(dZ1) lacks the transpose of W2 ((1, 10) times (1, m)
  is not defined) and evaluates g' at dZ1 instead of Z1 (the code has both right:
  np.transpose(W2) and A1 (1 - A1) = g'(Z1));
- the summary formulas say A2 = sigmoid(Z2); for that output dZ2 = A2 - y is the gradient
  of the cross-entropy, not of a squared error, which would need the factor A2 (1 - A2).
  The class uses a linear output, for which dZ2 = A2 - y is right.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any, Callable

import numpy as np

import autograd_lite as ag
import nn
from examples._common import (
    RETRACES,
    UNDER_A_RETRACING_CURVE,
    ExampleResult,
    Figure,
    FormulaFinding,
    FormulaSpec,
    ParamDict,
    ParamLayout,
    figure_at,
    judge_formulas,
    max_relative_error,
    parameter_variants,
    plot_loss_curves,
    plot_predictions,
    progress,
    relative_error,
    sigmoid,
    render_graph,
)

NAME = "shallow_regression"
TUTORIAL = "001: shallow regression network for y = 2*x1*x2 + 2 (sigmoid hidden layer, linear output)"

NUM_SAMPLES = 10_000
HIDDEN_SIZE = 10
LEARNING_RATE = 0.001
NUM_ITERATIONS = 10_000

# What the tutorial's own code gives (it prints no loss; its seed fixes data and weights):
# J = 1/(2m) sum (A2 - y)^2 after 100, 3000 and 10000 iterations, with the class's
# gradients (db1 summed over all axes) and with the corrected ones. MSE = 2 J.
TUTORIAL_J = {
    "tutorial's gradients": {100: 769.972669772087, 3000: 175.28296445616922, NUM_ITERATIONS: 100.39514371479946},
    "correct gradients": {100: 770.1707891079529, 3000: 172.19134049660056, NUM_ITERATIONS: 54.56764006822016},
}
# Relative tolerance per iteration. Up to about 3000 iterations the runs agree between BLAS
# kernels to the last digit; from about 3500 to 6000 they pass an unstable stretch that
# amplifies rounding (J differs by up to 3e-4 relative between OpenBLAS kernels at 4000)
# and then contract again: at 10000 the Haswell, Sandybridge and Prescott kernels differ by
# up to 9e-6 relative (a 1e-15 nudge of one initial weight moves J by 8e-7), hence 1e-3.
J_TOLERANCE = {100: 1e-9, 3000: 1e-9, NUM_ITERATIONS: 1e-3}
J_VARIES = ("J at 10000 iterations varies by up to 1e-5 relative between BLAS kernels: the run passes an "
            "unstable stretch (iterations 3500-6000) that amplifies rounding")


def _draw_data(rng: np.random.RandomState, m: int) -> tuple[np.ndarray, np.ndarray]:
    x1 = rng.normal(0, 2, m)
    x2 = rng.normal(10, 2, m)
    return np.stack([x1, x2]), 2 * x1 * x2 + 2


def make_test_data(m: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """Held-out samples from the same distribution, seed 1 (the tutorial has no test set)."""
    return _draw_data(np.random.RandomState(1), m)


def make_data(m: int = NUM_SAMPLES) -> tuple[np.ndarray, np.ndarray]:
    """The tutorial's data after `np.random.seed(0)`: X (2, m) float64 and y (m,)."""
    return _draw_data(np.random.RandomState(0), m)


def initial_params(m: int = NUM_SAMPLES) -> ParamDict:
    """The class's `initialize_weights` as the notebook reaches it.

    The stream after `seed(0)`: x1, x2 (m each), then the notebook cell's W1, b1, W2, b,
    then the class's W1 (10, 2), b1 (10, 1), W2 (1, 10), b2 (1, 1), which are returned.
    """
    rng = np.random.RandomState(0)
    _draw_data(rng, m)
    for shape in ((HIDDEN_SIZE, 2), (HIDDEN_SIZE, 1), (1, HIDDEN_SIZE), (1, 1)):
        rng.rand(*shape)  # the notebook cell's weights, drawn and then replaced
    return {
        "W1": rng.rand(HIDDEN_SIZE, 2),
        "b1": rng.rand(HIDDEN_SIZE, 1),
        "W2": rng.rand(1, HIDDEN_SIZE),
        "b2": rng.rand(1, 1),
    }


def forward(params: ParamDict, X: np.ndarray) -> dict[str, np.ndarray]:
    """The class's `forward`: Z1, A1 (10, m), Z2 = A2 (1, m)."""
    Z1 = params["W1"] @ X + params["b1"]
    A1 = sigmoid(Z1)
    Z2 = params["W2"] @ A1 + params["b2"]
    return {"Z1": Z1, "A1": A1, "Z2": Z2, "A2": Z2}


def stated_loss(params: ParamDict, X: np.ndarray, y: np.ndarray, xp: ModuleType = np):
    """J = 1/(2m) sum (A2 - y)^2, the loss the tutorial's gradients belong to; any `xp`."""
    A1 = 1 / (1 + xp.exp(-(xp.dot(params["W1"], X) + params["b1"])))
    A2 = xp.dot(params["W2"], A1) + params["b2"]
    return xp.sum((A2 - y) ** 2) / (2 * X.shape[1])


def tutorial_recorded_loss(params: ParamDict, X: np.ndarray, y: np.ndarray) -> float:
    """What the class appends to `self.loss`: the mean signed error mean(A2 - y)."""
    return float(np.mean(forward(params, X)["A2"] - y))


def tutorial_gradients(params: ParamDict, X: np.ndarray, y: np.ndarray) -> ParamDict:
    """The class's `backward`, transcribed: dW1 (10, 2), db1 (scalar!), dW2 (1, 10), db2 (scalar)."""
    m = X.shape[1]
    cache = forward(params, X)
    A1, A2 = cache["A1"], cache["A2"]
    dZ2 = A2 - y
    dW2 = (1 / m) * dZ2 @ np.transpose(A1)
    db2 = (1 / m) * np.sum(dZ2)
    dZ1 = np.transpose(params["W2"]) @ dZ2 * (A1 * (1 - A1))
    dW1 = (1 / m) * dZ1 @ np.transpose(X)
    db1 = (1 / m) * np.sum(dZ1)
    return {"W1": dW1, "b1": np.asarray(db1), "W2": dW2, "b2": np.asarray(db2)}


def tutorial_cell_gradients(params: ParamDict, X: np.ndarray, y: np.ndarray) -> ParamDict:
    """The stand-alone notebook cell's backpropagation, transcribed (before the class).

    That cell's forward pass has a sigmoid output, A2 = sigmoid(Z2). Its dW2 is
    `(1/m) * dZ2 * A2.T`: (1, m) times (m, 1) broadcasts to (m, m), so call this only with
    a small m. Its bias gradient for the hidden layer is `(1/m) * np.sum(Z1)`.
    Returns {"W1": dW1 (10, 2), "b1": db (scalar), "W2": dW2 (m, m), "b2": db2 (scalar)}.
    """
    m = X.shape[1]
    Z1 = params["W1"] @ X + params["b1"]
    A1 = sigmoid(Z1)
    A2 = sigmoid(params["W2"] @ A1 + params["b2"])
    dZ2 = A2 - y
    dW2 = (1 / m) * dZ2 * np.transpose(A2)
    db2 = (1 / m) * np.sum(dZ2)
    dZ1 = np.transpose(params["W2"]) @ dZ2 * (A1 * (1 - A1))
    dW1 = (1 / m) * dZ1 @ np.transpose(X)
    db = (1 / m) * np.sum(Z1)
    return {"W1": dW1, "b1": np.asarray(db), "W2": dW2, "b2": np.asarray(db2)}


def _backprop(params: ParamDict, X: np.ndarray, dJ_dA2, sigmoid_output: bool) -> ParamDict:
    """Exact backpropagation through W1, b1, sigmoid, W2, b2 and the output activation.

    `dJ_dA2(A2)` gives the loss's gradient with respect to the outputs (1, m); the output
    activation is the identity, or a sigmoid when `sigmoid_output`. Shapes like the params.
    """
    A1 = sigmoid(params["W1"] @ X + params["b1"])
    Z2 = params["W2"] @ A1 + params["b2"]
    A2 = sigmoid(Z2) if sigmoid_output else Z2
    dZ2 = dJ_dA2(A2) * (A2 * (1.0 - A2) if sigmoid_output else 1.0)  # (1, m)
    dZ1 = (params["W2"].T @ dZ2) * A1 * (1.0 - A1)  # (10, m)
    return {
        "W1": dZ1 @ X.T,
        "b1": dZ1.sum(axis=1, keepdims=True),  # one sum per hidden unit, over the samples
        "W2": dZ2 @ A1.T,
        "b2": dZ2.sum(axis=1, keepdims=True),
    }


def corrected_gradients(params: ParamDict, X: np.ndarray, y: np.ndarray) -> ParamDict:
    """The gradient of J = 1/(2m) sum (A2 - y)^2 for the class's linear-output network."""
    return _backprop(params, X, lambda A2: (A2 - y) / X.shape[1], sigmoid_output=False)


def signed_error_gradients(params: ParamDict, X: np.ndarray, y: np.ndarray) -> ParamDict:
    """The gradient of the loss the tutorial states and records, mean(A2 - y)."""
    return _backprop(params, X, lambda A2: np.full_like(A2, 1.0 / X.shape[1]), sigmoid_output=False)


def summary_formula_gradients(params: ParamDict, X: np.ndarray, y: np.ndarray) -> ParamDict:
    """The written summary's rules for its sigmoid-output model (A2 = sigmoid(Z2)):
    dZ2 = A2 - y, dW2 = (1/m) dZ2 A1^T, ... (with g'(Z1) for the hidden layer, as its code)."""
    m = X.shape[1]
    A1 = sigmoid(params["W1"] @ X + params["b1"])
    A2 = sigmoid(params["W2"] @ A1 + params["b2"])
    dZ2 = A2 - y
    dZ1 = (params["W2"].T @ dZ2) * A1 * (1 - A1)
    return {"W1": (1 / m) * dZ1 @ X.T, "b1": (1 / m) * np.sum(dZ1, axis=1, keepdims=True),
            "W2": (1 / m) * dZ2 @ A1.T, "b2": (1 / m) * np.sum(dZ2, axis=1, keepdims=True)}


def sigmoid_output_squared_error_gradients(params: ParamDict, X: np.ndarray, y: np.ndarray) -> ParamDict:
    """The gradient of J = 1/(2m) sum (A2 - y)^2 when A2 = sigmoid(Z2), as the summary writes."""
    return _backprop(params, X, lambda A2: (A2 - y) / X.shape[1], sigmoid_output=True)


def train_with(
    gradient_formula: Callable[[ParamDict, np.ndarray, np.ndarray], ParamDict],
    X: np.ndarray,
    y: np.ndarray,
    num_iterations: int = NUM_ITERATIONS,
    record_every: int = 10,
    show_progress: bool = False,
    label: str = "",
) -> tuple[ParamDict, dict[str, list[float]]]:
    """The class's `__call__` loop in NumPy, with `gradient_formula(params, X, y)` as its backward.

    Records, every `record_every` iterations and after the last one, the iteration number
    (updates done so far), the tutorial's recorded loss mean(A2 - y) (the class appends it
    from the forward pass before the update) and J. Returns the final parameters and the
    record {"iteration": [...], "signed_error": [...], "half_mse": [...]}.
    """
    params = initial_params(X.shape[1])
    record: dict[str, list[float]] = {"iteration": [], "signed_error": [], "half_mse": []}

    def note(iteration: int) -> None:
        residual = forward(params, X)["A2"] - y
        record["iteration"].append(iteration)
        record["signed_error"].append(float(np.mean(residual)))
        record["half_mse"].append(float(np.sum(residual**2) / (2 * X.shape[1])))

    for iteration in progress(range(num_iterations), f"001 NumPy {label}", enabled=show_progress):
        if iteration % record_every == 0:
            note(iteration)
        gradients = gradient_formula(params, X, y)
        for name in ("W1", "W2", "b1", "b2"):  # the class's update order
            params[name] -= LEARNING_RATE * gradients[name]
    note(num_iterations)
    return params, record


def formula_findings(params: ParamDict, X: np.ndarray, y: np.ndarray) -> list[FormulaFinding]:
    """Every formula of the tutorial against the correct gradient of the loss it is meant for.

    The class's backward (the code that trains) against dJ; the stand-alone notebook cell's
    formulas (on its first 50 samples: its dW2 is (m, m)) against the gradient the cell's own
    dZ2 leads to; the written summary (sigmoid output) against the squared error it states;
    and the class's gradients against the loss the text states and records, mean(A2 - y).
    """
    tutorial = tutorial_gradients(params, X, y)
    findings = judge_formulas(tutorial, corrected_gradients(params, X, y), [
        FormulaSpec("W1", "dW1", "(1/m) dZ1 @ X.T", "(1/m) dZ1 @ X.T", "Right."),
        FormulaSpec("W2", "dW2", "(1/m) dZ2 @ A1.T", "(1/m) dZ2 @ A1.T", "Right."),
        FormulaSpec("b2", "db2", "(1/m) sum(dZ2)", "(1/m) sum(dZ2)", "Right (one output unit)."),
        FormulaSpec(
            "b1", "db1 (class)", "(1/m) * np.sum(dZ1), one scalar summed over units and samples",
            "(1/m) * np.sum(dZ1, axis=1, keepdims=True), one value per hidden unit",
            "Sum over the wrong axis: the sum also runs over the 10 hidden units, so every "
            "hidden bias gets the same update, the total of all ten true gradients.",
        ),
    ])
    X_small, y_small = X[:, :50], y[:50]
    cell = tutorial_cell_gradients(params, X_small, y_small)
    cell_intended = summary_formula_gradients(params, X_small, y_small)
    findings += judge_formulas(cell, cell_intended, [
        FormulaSpec(
            "W2", "dW2 (notebook cell)", "(1/m) * dZ2 * np.transpose(A2), elementwise: an (m, m) matrix",
            "(1/m) * dZ2 @ np.transpose(A1), shape (1, 10)",
            "Wrong operation and wrong quantity: an elementwise product with A2 instead of the "
            "matrix product with A1; the result does not have the weights' shape.",
        ),
        FormulaSpec(
            "b1", "db (notebook cell)", "(1/m) * np.sum(Z1)", "(1/m) * np.sum(dZ1, axis=1, keepdims=True)",
            "Wrong quantity and axis: it sums the pre-activations Z1, not their gradients dZ1, "
            "and over all units as well as samples.",
        ),
    ])
    findings += judge_formulas(
        summary_formula_gradients(params, X, y), sigmoid_output_squared_error_gradients(params, X, y), [
            FormulaSpec(
                "W2", "dZ2 = A2 - y (written summary, A2 = sigmoid(Z2))", "dW2 = (1/m) (A2 - y) A1^T",
                "(1/m) ((A2 - y) * A2 (1 - A2)) A1^T",
                "Gradient of a different loss: with a sigmoid output, A2 - y is dL/dZ2 for the "
                "cross-entropy; the squared error needs the factor sigmoid'(Z2) = A2 (1 - A2). "
                "(The class drops the sigmoid on the output, and there it is right.)",
                wrong_verdict="the gradient of a different loss",
            ),
        ])
    findings.append(FormulaFinding(
        formula="dZ1 = W2 dZ2 * g'(dZ1) (written summary): W2",
        tutorial="W2 dZ2, W2 without the transpose: (1, 10) times (1, m) is not defined",
        correct="W2^T dZ2, (10, 1) times (1, m) (the code has np.transpose(W2))",
        verdict="wrong",
        relative_difference=_written_dZ1_relative_difference(params, X, y),
        explanation="The transpose of W2 is missing: the product as written has incompatible "
                    "shapes (the code transposes W2, which is right).",
    ))
    findings.append(FormulaFinding(
        formula="dZ1 = W2 dZ2 * g'(dZ1) (written summary): g'",
        tutorial="g' evaluated at dZ1, which the formula is defining",
        correct="g'(Z1) = A1 (1 - A1)",
        verdict="wrong",
        relative_difference=float("nan"),
        explanation="Derivative evaluated at the wrong quantity (circular as written, so no "
                    "number can be measured); the code uses A1 (1 - A1) = g'(Z1), which is right.",
    ))
    findings += judge_formulas(tutorial, signed_error_gradients(params, X, y), [
        FormulaSpec(
            "W2", "the loss: 'average error', mean(A2 - y) (text and recorded loss)",
            "mean(A2 - y) named and recorded as the loss, while backward() minimises "
            "J = 1/(2m) sum (A2 - y)^2 (its dW2 = (1/m) (A2 - y) A1^T)",
            "J named and recorded as the loss, the one the formulas minimise "
            "(mean(A2 - y), with dW2 = (1/m) 1 A1^T, has no minimum)",
            "Gradient of a different loss than stated: the formulas minimise half the mean "
            "squared error, while the text names, and the class records, the mean signed "
            "error, which is no training objective (unbounded below, zero for errors that "
            "cancel). The examples report J and the RMSE.",
            wrong_verdict="the gradient of a different loss",
        ),
    ])
    return findings


def _written_dZ1_relative_difference(params: ParamDict, X: np.ndarray, y: np.ndarray) -> float:
    """relative_error of the summary's W2 dZ2 (no transpose) against W2^T dZ2: inf when
    the product is not defined (a wrong shape)."""
    dZ2 = forward(params, X)["A2"] - y
    try:
        as_written = params["W2"] @ dZ2
    except ValueError:
        return float("inf")
    return relative_error(as_written, params["W2"].T @ dZ2)


def gradient_check_cases(count: int = 3, m: int = NUM_SAMPLES) -> list[tuple[ParamDict, tuple]]:
    """(params, (X, y)) pairs on the first m samples: the notebook's initial weights, then
    perturbations. `stated_loss`, `tutorial_gradients` and `corrected_gradients` take
    `(params, *data)`."""
    X, y = make_data()
    return [(params, (X[:, :m], y[:m])) for params in parameter_variants(initial_params(), count)]


# --------------------------------------------------------------------------------------
# The rebuild: autograd_lite + nn
# --------------------------------------------------------------------------------------

# The tutorial's Z = W X layout stores weights as (out, in); nn.Linear's are (in, out).
LAYOUT = ParamLayout({"W1": "0.weight", "b1": "0.bias", "W2": "2.weight", "b2": "2.bias"},
                     transposed=frozenset({"W1", "W2"}))


def build_model(params: ParamDict | None = None) -> "nn.Sequential":
    """Linear(2, 10) -> Sigmoid -> Linear(10, 1), on samples as rows (X.T), holding `params`."""
    model = nn.Sequential(nn.Linear(2, HIDDEN_SIZE), nn.Sigmoid(), nn.Linear(HIDDEN_SIZE, 1))
    return LAYOUT.load(model, initial_params() if params is None else params)


def half_mse(predictions, targets) -> "ag.Tensor":
    """J = 1/(2m) sum (A2 - y)^2 with nn: half of MSELoss; predictions and targets (m, 1)."""
    return nn.MSELoss()(predictions, targets) / 2


def model_loss(model: "nn.Sequential", X: np.ndarray, y: np.ndarray):
    """J of `model` on the tutorial's X (2, m) and y (m,)."""
    return half_mse(model(X.T), np.reshape(y, (-1, 1)))


def model_gradients(params: ParamDict, X: np.ndarray, y: np.ndarray) -> ParamDict:
    """Autodiff gradient of J through the nn model, in the tutorial's layout."""
    return LAYOUT.gradients(build_model(), params, lambda model: model_loss(model, X, y))


def model_predict(model: "nn.Sequential", X: np.ndarray) -> np.ndarray:
    """Predictions (m,) for X (2, m), without recording."""
    with ag.no_grad():
        return model(X.T).numpy()[:, 0]


def _rmse(predicted: np.ndarray, target: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.ravel(predicted) - np.ravel(target)) ** 2)))


# How long each part trains, per run length (see examples.RUN_LENGTHS). Both NumPy runs
# take the tutorial's 10000 iterations by default (the effect of its bias bug only shows
# late: at 3000 iterations the two runs are within 1 % of each other); the rebuild's SGD
# prefix and Adam run stay short, one iteration on the 10000 samples costing ~4 ms.
RUN_SIZES = {
    "quick": {"iterations": 300, "rebuild_sgd_steps": 100, "adam_steps": 150},
    "default": {"iterations": NUM_ITERATIONS, "rebuild_sgd_steps": 300, "adam_steps": 1000},
    "tutorial": {"iterations": NUM_ITERATIONS, "rebuild_sgd_steps": 1000, "adam_steps": 3000},
}


def run(out_dir: Path, length: str = "default", show_progress: bool = True) -> ExampleResult:
    """Everything for tutorial 001: checks, training with the tutorial's and the correct gradients, plots.

    The rebuild repeats the procedure with SGD for a prefix of the iterations (its J must
    follow the correct-gradient NumPy run), then trains with Adam on standardised inputs.
    """
    sizes = RUN_SIZES[length]
    iterations, rebuild_sgd_steps, adam_steps = sizes["iterations"], sizes["rebuild_sgd_steps"], sizes["adam_steps"]
    X, y = make_data()
    X_test, y_test = make_test_data()

    gradcheck_errors = []
    for params, (X_case, y_case) in gradient_check_cases(count=3):
        gradcheck_errors.append(max_relative_error(corrected_gradients(params, X_case, y_case),
                                                   model_gradients(params, X_case, y_case)))
    findings = formula_findings(initial_params(), X, y)

    # Trained both ways, as the tutorial trains (full batch, alpha 0.001, its initial weights).
    record_every = 10 if iterations <= 1000 else 50
    tutorial_params, tutorial_record = train_with(tutorial_gradients, X, y, iterations, record_every,
                                                  show_progress=show_progress, label="tutorial's gradients")
    correct_params, correct_record = train_with(corrected_gradients, X, y, iterations, record_every,
                                                show_progress=show_progress, label="correct gradients")
    # The rebuild, same procedure (SGD on J): it must follow the correct-gradient trajectory.
    samples, targets = X.T, y.reshape(-1, 1)  # nn's layout: one sample per row
    sgd_model = build_model()
    sgd_losses = nn.fit(sgd_model, half_mse, nn.optim.SGD(sgd_model.parameters(), lr=LEARNING_RATE),
                        samples, targets, epochs=rebuild_sgd_steps, progress=show_progress)
    shared = [(iteration, value) for iteration, value in zip(correct_record["iteration"], correct_record["half_mse"])
              if iteration < rebuild_sgd_steps]
    trajectory_difference = max(abs(sgd_losses[iteration] - value) / value for iteration, value in shared)

    # The modern alternative: standardised inputs and Adam (same 2-10-1 architecture).
    mean, std = X.mean(axis=1, keepdims=True), X.std(axis=1, keepdims=True)
    adam_model = nn.Sequential(nn.Linear(2, HIDDEN_SIZE, rng=np.random.default_rng(0)), nn.Sigmoid(),
                               nn.Linear(HIDDEN_SIZE, 1, rng=np.random.default_rng(1)))
    X_standard = (X - mean) / std
    adam_losses = nn.fit(adam_model, half_mse, nn.optim.Adam(adam_model.parameters(), lr=0.1),
                         X_standard.T, targets, epochs=adam_steps, progress=show_progress)

    def forward_numpy(params: ParamDict, inputs: np.ndarray) -> np.ndarray:
        return forward(params, inputs)["A2"][0]

    predictions = {
        "tutorial's gradients": (forward_numpy(tutorial_params, X), forward_numpy(tutorial_params, X_test)),
        "correct gradients": (forward_numpy(correct_params, X), forward_numpy(correct_params, X_test)),
        "standardised + Adam": (model_predict(adam_model, X_standard), model_predict(adam_model, (X_test - mean) / std)),
    }
    rmse = {label: (_rmse(train, y), _rmse(test, y_test)) for label, (train, test) in predictions.items()}
    metrics: dict[str, Any] = {
        "iterations": iterations,
        "final_half_mse": {"tutorial's gradients": tutorial_record["half_mse"][-1],
                           "correct gradients": correct_record["half_mse"][-1],
                           "standardised + Adam": float(adam_losses[-1])},
        "final_recorded_loss_mean_signed_error": {"tutorial's gradients": tutorial_record["signed_error"][-1],
                                                  "correct gradients": correct_record["signed_error"][-1]},
        "rmse_train_test": rmse,
        "target_std": float(np.std(y)),
        "rebuild_sgd_steps": rebuild_sgd_steps,
        "rebuild_sgd_vs_numpy_correct_max_rel_loss_difference": trajectory_difference,
        "adam_steps": adam_steps,
    }

    out_dir.mkdir(parents=True, exist_ok=True)
    images = [
        plot_loss_curves(out_dir / f"{NAME}_loss.png", {
            "tutorial's gradients (db1 summed over all axes)": (tutorial_record["iteration"], tutorial_record["half_mse"]),
            "correct gradients": (correct_record["iteration"], correct_record["half_mse"], UNDER_A_RETRACING_CURVE),
            "rebuild, SGD as the tutorial (prefix; dashed: retraces the correct-gradient curve)": (
                np.arange(rebuild_sgd_steps), sgd_losses, RETRACES),
            "rebuild, standardised inputs + Adam": (np.arange(adam_steps), adam_losses),
        }, title="y = 2 x1 x2 + 2: J = 1/(2m) sum (A2 - y)^2", ylabel="J", log_x=True).name,
        plot_predictions(out_dir / f"{NAME}_predictions.png", [
            (f"{label}: test RMSE {rmse[label][1]:.3g}", y_test, test) for label, (_, test) in predictions.items()
        ]).name,
    ]
    graph_files, graph_note = render_graph(model_loss(sgd_model, X, y), out_dir, f"{NAME}_graph", module=sgd_model)
    figures = []
    for label, record in (("tutorial's gradients", tutorial_record), ("correct gradients", correct_record)):
        by_iteration = dict(zip(record["iteration"], record["half_mse"]))
        source = "the tutorial's code (seed 0)" + (", its db1 corrected" if label == "correct gradients" else "")
        figures += [figure_at(f"J = MSE/2 after {iteration} iterations, {label}", source,
                              TUTORIAL_J[label][iteration], by_iteration, iteration, J_TOLERANCE[iteration],
                              relative=True)
                    for iteration in TUTORIAL_J[label]]
    figures.append(Figure("rebuild (SGD as the tutorial) vs the correct-gradient NumPy run's J, largest relative "
                          "difference", "the same procedure: equal up to rounding", 0.0, trajectory_difference, 1e-10))
    headline = "test RMSE: " + ", ".join(f"{label} {rmse[label][1]:.3g}" for label in predictions)
    headline += f" (std of y: {np.std(y):.3g})"
    return ExampleResult(
        name=NAME, tutorial=TUTORIAL,
        data="x1 ~ N(0, 2), x2 ~ N(10, 2), m = 10000 after seed 0; y = 2 x1 x2 + 2 (+ 2000 test, seed 1)",
        model="2 -> sigmoid(10) -> linear(1), J = 1/(2m) sum (A2 - y)^2, alpha 0.001",
        final_loss=correct_record["half_mse"][-1], accuracy=None, headline=headline, figures=figures,
        varies_by_machine=J_VARIES if iterations > 3000 else "",
        quantity=f"J = MSE/2 at iteration {iterations} (correct gradients)",
        gradcheck_max_rel_error=max(gradcheck_errors),
        findings=findings, images=images + graph_files, metrics=metrics,
        notes=[graph_note] if graph_note else [],
    )
