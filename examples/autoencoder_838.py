"""Tutorial 003: the 8-3-8 autoencoder, trained online one sample at a time.

The tutorial ("a Neural Network from scratch, just using mathematical libraries of numpy")
builds a dense [8, 3, 8] network with sigmoid activations,

    z0 = a0 w0 + b0, a1 = sigmoid(z0);  z1 = a1 w1 + b1, a2 = sigmoid(z1)

w0 (8, 3), b0 (3,), w1 (3, 8), b1 (8,) all from `np.random.rand` (uniform [0, 1), no seed:
we use `RandomState(seed)` in the same order), learning rate mu = 1, and trains on the
eight one-hot vectors of length 8 (input = target), one sample at a time, in order, until
the epoch's summed error ("distance") is at most 0.002. It then prints the 3-unit hidden
code of each input: it aims at "a boolean internal representation on 3 bits", but its
own printout (unseeded) is not binary (0.64, 0.7, 0.12, ...), and neither are ours: most
values near 0 or 1, several in between, and rounded to bits two inputs share a code.

Its per-sample rule is

    d1 = (y - a2) * sigmoid'(z1);  d0 = (w1 . d1) * sigmoid'(z0)
    w[i][j, k] += mu * a[i][j] * d[i][k];  b[i][k] += mu * d[i][k]   (once per k)

and the error it returns and sums is E = sum (y - a2)^2 (before the update). Against the
gradient of that stated error, every update direction is exactly -1/2 times dE: the -1 is
a sign convention (d is minus the gradient and the update adds it: a descent step); the
1/2 means the rule descends 1/2 sum (y - a2)^2, not the E it prints, so its effective
learning rate on E is mu / 2. The formulas are otherwise right (hidden deltas use w1 before
its update; the bias update sits in the k loop, confirmed against a public copy of the
same notebook, since the seed lost its indentation).

The tutorial's exercises are solved here in NumPy and then with autodiff: a different
activation per layer (`ACTIVATIONS`, e.g. tanh hidden + sigmoid output) and minibatch
backpropagation (`minibatch_gradients`).
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Sequence

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
    not_compared,
    parameter_variants,
    plot_loss_curves,
    progress,
    sigmoid,
    render_graph,
)

NAME = "autoencoder_838"
TUTORIAL = "003: 8-3-8 sigmoid autoencoder, online backpropagation until distance <= 0.002"

LAYER_SIZES = (8, 3, 8)
LEARNING_RATE = 1.0  # the tutorial's mu
FINAL_ERROR = 0.002  # the tutorial's stopping criterion on the epoch's summed error
MAX_EPOCHS = 100_000  # a guard the tutorial does not have
WEIGHT_SEED = 0
# What the tutorial's code gives with RandomState(0) weights (the page prints the distance of
# every epoch, from its own unseeded weights): the first epoch's distance and the number of
# epochs until the distance is at most 0.002 (the last one is 1.3e-8 below it, the one
# before 3.3e-8 above: far from what rounding could move).
TUTORIAL_FIRST_DISTANCE = 24.709217581280594
TUTORIAL_EPOCHS = 45549
# A hidden value this close to 0 or 1 counts as a bit in the printout's tally.
BIT_DISTANCE = 0.05

# name -> (activation, derivative with respect to the pre-activation z), elementwise.
Activation = tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]


ACTIVATIONS: dict[str, Activation] = {
    "sigmoid": (sigmoid, lambda z: sigmoid(z) * (1 - sigmoid(z))),
    "tanh": (np.tanh, lambda z: 1 - np.tanh(z) ** 2),
    # As the tutorial's relu/reluderiv: derivative 1 at z = 0.
    "relu": (lambda z: np.maximum(z, 0.0), lambda z: (z >= 0).astype(np.float64)),
}


def make_data() -> np.ndarray:
    """The eight one-hot inputs (and targets), (8, 8) float64, in the tutorial's order."""
    return np.eye(8)


def initial_params(seed: int = WEIGHT_SEED) -> ParamDict:
    """The tutorial's initialisation, `np.random.rand` in its order: w0, b0, w1, b1."""
    rng = np.random.RandomState(seed)
    params: ParamDict = {}
    for layer in range(len(LAYER_SIZES) - 1):
        params[f"w{layer}"] = rng.rand(LAYER_SIZES[layer], LAYER_SIZES[layer + 1])
        params[f"b{layer}"] = rng.rand(LAYER_SIZES[layer + 1])
    return params


def _layer_count(params: ParamDict) -> int:
    return sum(name.startswith("w") for name in params)


def forward(params: ParamDict, X: np.ndarray, activations: Sequence[str] = ("sigmoid", "sigmoid")
            ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Pre-activations [z0, z1] and activations [a0 = X, a1, a2]; X is (8,) or (batch, 8)."""
    zs, activities = [], [X]
    for layer, name in zip(range(_layer_count(params)), activations):
        zs.append(activities[-1] @ params[f"w{layer}"] + params[f"b{layer}"])
        activities.append(ACTIVATIONS[name][0](zs[-1]))
    return zs, activities


def stated_loss(params: ParamDict, X: np.ndarray, Y: np.ndarray, activations: Sequence[str] = ("sigmoid", "sigmoid"),
                xp: ModuleType = np):
    """E = sum (Y - output)^2 over samples and units (the tutorial's error); any `xp`.

    `activations` name the function of each layer ("sigmoid", "tanh", "relu").
    """
    functions = {
        "sigmoid": lambda z: 1 / (1 + xp.exp(-z)),
        "tanh": xp.tanh,
        "relu": lambda z: xp.maximum(z, 0.0),
    }
    activity = X
    for layer, name in zip(range(_layer_count(params)), activations):
        activity = functions[name](xp.dot(activity, params[f"w{layer}"]) + params[f"b{layer}"])
    return xp.sum((Y - activity) ** 2)


def tutorial_gradients(params: ParamDict, x: np.ndarray, y: np.ndarray) -> ParamDict:
    """What the tutorial's `update(x, y)` adds to each parameter per unit of mu.

    Transcribed from its loops for one sample x, y (8,): w[i][j, k] gets a[i][j] * d[i][k],
    b[i][k] gets d[i][k]. Shapes like the parameters.
    """
    zs, activities = forward(params, x)
    layers = len(zs)
    sigderiv = ACTIVATIONS["sigmoid"][1]
    deltas: list[np.ndarray] = [np.empty(0)] * layers
    deltas[layers - 1] = (y - activities[-1]) * sigderiv(zs[layers - 1])
    for layer in range(layers - 2, -1, -1):
        deltas[layer] = np.dot(params[f"w{layer + 1}"], deltas[layer + 1]) * sigderiv(zs[layer])
    increments: ParamDict = {}
    for layer in range(layers):
        weight_step = np.zeros_like(params[f"w{layer}"])
        bias_step = np.zeros_like(params[f"b{layer}"])
        for k in range(weight_step.shape[1]):
            for j in range(weight_step.shape[0]):
                weight_step[j, k] = activities[layer][j] * deltas[layer][k]
            bias_step[k] = deltas[layer][k]
        increments[f"w{layer}"] = weight_step
        increments[f"b{layer}"] = bias_step
    return increments


def tutorial_sample_step(params: ParamDict, x: np.ndarray, y: np.ndarray) -> tuple[float, ParamDict]:
    """`tutorial_gradients` without the Python loops, for training speed, plus the error the
    tutorial's `update` returns (E before the update).

    The same products a[j] * d[k]; sigmoid'(z) is taken as a (1 - a) from the stored
    activation, which equals the tutorial's sigmoid(z) (1 - sigmoid(z)) to rounding.
    """
    w0, b0, w1, b1 = params["w0"], params["b0"], params["w1"], params["b1"]
    hidden = 1 / (1 + np.exp(-(x @ w0 + b0)))
    output = 1 / (1 + np.exp(-(hidden @ w1 + b1)))
    residual = y - output
    delta1 = residual * (output * (1 - output))
    delta0 = np.dot(w1, delta1) * (hidden * (1 - hidden))
    increments = {"w0": np.outer(x, delta0), "b0": delta0, "w1": np.outer(hidden, delta1), "b1": delta1}
    return float(residual @ residual), increments


def minibatch_gradients(params: ParamDict, X: np.ndarray, Y: np.ndarray,
                        activations: Sequence[str] = ("sigmoid", "sigmoid")) -> ParamDict:
    """The exercises solved: backpropagation for a minibatch X, Y (batch, 8), any activation per layer.

    Returns the gradient of E = sum (Y - output)^2 over the batch (the correct sign and
    factor), shaped like the parameters.
    """
    zs, activities = forward(params, X, activations)
    layers = len(zs)
    delta = 2.0 * (activities[-1] - Y) * ACTIVATIONS[activations[-1]][1](zs[-1])  # dE/dz, (batch, units)
    gradients: ParamDict = {}
    for layer in range(layers - 1, -1, -1):
        gradients[f"w{layer}"] = activities[layer].T @ delta
        gradients[f"b{layer}"] = delta.sum(axis=0)
        if layer > 0:
            delta = (delta @ params[f"w{layer}"].T) * ACTIVATIONS[activations[layer - 1]][1](zs[layer - 1])
    return {name: gradients[name] for name in params}


def corrected_gradients(params: ParamDict, x: np.ndarray, y: np.ndarray) -> ParamDict:
    """The gradient of the stated error E = sum (y - a2)^2 for one sample (sigmoid layers)."""
    return minibatch_gradients(params, x[None, :], y[None, :])


def train_online_like_tutorial(
    params: ParamDict,
    X: np.ndarray,
    final_error: float = FINAL_ERROR,
    max_epochs: int = MAX_EPOCHS,
    show_progress: bool = False,
) -> tuple[ParamDict, list[float]]:
    """The tutorial's loop: epochs of online updates, in order, until distance <= final_error.

    Each sample's error is measured before its own update (as the tutorial's `update`
    returns it) and summed over the epoch. Updates `params` in place; returns them and the
    distance of every epoch.
    """
    distances = []
    bar = progress(range(max_epochs), "003 tutorial online epochs", enabled=show_progress)
    for _ in bar:
        distance = 0.0
        for x in X:
            error, steps = tutorial_sample_step(params, x, x)
            distance += error
            for name in params:
                params[name] += LEARNING_RATE * steps[name]
        distances.append(distance)
        if distance <= final_error:
            break
    return params, distances


def hidden_codes(params: ParamDict, X: np.ndarray, activations: Sequence[str] = ("sigmoid", "sigmoid")) -> np.ndarray:
    """The hidden layer's activations for each input, (n, 3)."""
    return forward(params, X, activations)[1][1]


# The same kind of verdict as tutorial 004's "the exact gradient of N x the printed loss".
VERDICT = "minus the exact gradient of 1/2 x the printed error (factor -1/2)"


def formula_findings(params: ParamDict, x: np.ndarray) -> list[FormulaFinding]:
    """The tutorial's per-sample update directions against the gradient of its stated error."""
    why = ("Exactly -1/2 times the gradient of the stated error E = sum (y - a)^2: the -1 is a "
           "sign convention (d holds minus the gradient and the update adds it, a descent "
           "step); the 1/2 is because the rule is the gradient of 1/2 sum (y - a)^2, not of "
           "the E it prints and stops on, so its effective learning rate on E is mu/2.")
    specs = [
        FormulaSpec("w1", "w1 update (output layer)", "a1[j] * (y - a2)[k] * s'(z1)[k]",
                    "dE/dw1[j, k] = -2 a1[j] (y - a2)[k] s'(z1)[k]", why,
                    wrong_verdict=VERDICT),
        FormulaSpec("b1", "b1 update (output layer)", "(y - a2) * s'(z1)", "-2 (y - a2) * s'(z1)", why,
                    wrong_verdict=VERDICT),
        FormulaSpec("w0", "w0 update (hidden layer)", "a0[j] * (w1 . d1)[k] * s'(z0)[k]",
                    "-2 a0[j] (w1 . d1)[k] s'(z0)[k]", why,
                    wrong_verdict=VERDICT),
        FormulaSpec("b0", "b0 update (hidden layer)", "(w1 . d1) * s'(z0)", "-2 (w1 . d1) * s'(z0)", why,
                    wrong_verdict=VERDICT),
    ]
    return judge_formulas(tutorial_gradients(params, x, x), corrected_gradients(params, x, x), specs)


def gradient_check_cases(count: int = 3) -> list[tuple[ParamDict, tuple]]:
    """(params, (x, x)) pairs, one one-hot sample each: the initial weights, then
    perturbations. `stated_loss`, `tutorial_gradients` and `corrected_gradients` take
    `(params, *data)`."""
    X = make_data()
    return [(params, (X[index % len(X)], X[index % len(X)]))
            for index, params in enumerate(parameter_variants(initial_params(), count))]


def train_minibatch_numpy(params: ParamDict, X: np.ndarray, batch_size: int, learning_rate: float,
                          activations: Sequence[str], max_epochs: int, seed: int = 0,
                          show_progress: bool = False) -> tuple[ParamDict, list[float]]:
    """The minibatch exercise in NumPy: shuffled minibatches, step -lr * `minibatch_gradients`.

    Stops when the epoch's error E over all eight inputs, measured after the epoch, is at
    most FINAL_ERROR. Updates `params` in place; returns them and E per epoch.
    """
    rng = np.random.default_rng(seed)
    errors = []
    for _ in progress(range(max_epochs), "003 NumPy minibatch epochs", enabled=show_progress):
        order = rng.permutation(len(X))
        for start in range(0, len(X), batch_size):
            batch = X[order[start:start + batch_size]]
            gradients = minibatch_gradients(params, batch, batch, activations)
            for name in params:
                params[name] -= learning_rate * gradients[name]
        errors.append(float(stated_loss(params, X, X, activations)))
        if errors[-1] <= FINAL_ERROR:
            break
    return params, errors


# --------------------------------------------------------------------------------------
# The rebuild: autograd_lite + nn
# --------------------------------------------------------------------------------------

LAYOUT = ParamLayout({"w0": "0.weight", "b0": "0.bias", "w1": "2.weight", "b1": "2.bias"})
ACTIVATION_MODULES = {"sigmoid": lambda: nn.Sigmoid(), "tanh": lambda: nn.Tanh(), "relu": lambda: nn.ReLU()}


def build_model(params: ParamDict | None = None, activations: Sequence[str] = ("sigmoid", "sigmoid")
                ) -> "nn.Sequential":
    """Linear(8, 3) -> act0 -> Linear(3, 8) -> act1, holding `params` (default: the initial ones)."""
    model = nn.Sequential(nn.Linear(8, 3), ACTIVATION_MODULES[activations[0]](),
                          nn.Linear(3, 8), ACTIVATION_MODULES[activations[1]]())
    return LAYOUT.load(model, initial_params() if params is None else params)


def model_loss(model: "nn.Sequential", X: np.ndarray, Y: np.ndarray):
    """The stated error with nn: E = sum (Y - output)^2 (MSELoss with reduction "sum")."""
    return nn.MSELoss(reduction="sum")(model(X), Y)


def model_gradients(params: ParamDict, X: np.ndarray, Y: np.ndarray,
                    activations: Sequence[str] = ("sigmoid", "sigmoid")) -> ParamDict:
    """Autodiff gradient of E through the nn model, in the tutorial's layout; X, Y (8,) or (batch, 8)."""
    X2, Y2 = np.atleast_2d(X), np.atleast_2d(Y)
    return LAYOUT.gradients(build_model(activations=activations), params, lambda model: model_loss(model, X2, Y2))


def train_rebuild_online(X: np.ndarray, epochs: int, show_progress: bool = True) -> tuple["nn.Sequential", list[float]]:
    """The tutorial's online procedure on the rebuild: per-sample SGD on E, in order.

    The tutorial's step is mu * (-1/2) dE, so the same trajectory needs lr = mu / 2.
    Returns the model and each epoch's distance (errors before each sample's update).
    """
    model = build_model()
    optimizer = nn.optim.SGD(model.parameters(), lr=LEARNING_RATE / 2)
    distances = []
    for _ in progress(range(epochs), "003 rebuild online epochs", enabled=show_progress):
        distance = 0.0
        for x in X:
            optimizer.zero_grad()
            loss = model_loss(model, x[None, :], x[None, :])
            loss.backward()
            optimizer.step()
            distance += loss.item()
        distances.append(distance)
    return model, distances


def train_rebuild_minibatch(X: np.ndarray, activations: Sequence[str], batch_size: int, max_epochs: int,
                            seed: int = 0, show_progress: bool = True) -> tuple["nn.Sequential", list[float]]:
    """The exercises on the rebuild: per-layer activations, shuffled minibatches, Adam (lr 0.05).

    Stops once E over all inputs (after an epoch) is at most FINAL_ERROR. Returns the model
    and E per epoch.
    """
    model = build_model(activations=activations)
    optimizer = nn.optim.Adam(model.parameters(), lr=0.05)
    errors: list[float] = []

    def record_and_stop(epoch: int, mean_batch_loss: float) -> bool:
        with ag.no_grad():
            errors.append(model_loss(model, X, X).item())
        return errors[-1] <= FINAL_ERROR

    nn.fit(model, nn.MSELoss(reduction="sum"), optimizer, X, X, epochs=max_epochs, batch_size=batch_size,
           rng=np.random.default_rng(seed), progress=show_progress, callback=record_and_stop)
    return model, errors


def _code_lines(codes: np.ndarray, bits: tuple[float, float] = (0.0, 1.0)) -> list[str]:
    """The codes as the tutorial prints them, and how close they are to a binary code whose
    two levels are `bits` (the hidden activation's ends: (0, 1) for sigmoid, (-1, 1) for tanh)."""
    lines = [f"input {index}: hidden code {np.array2string(code, precision=2, suppress_small=True)}"
             for index, code in enumerate(codes)]
    low, high = bits
    near_a_bit = np.minimum(np.abs(codes - low), np.abs(codes - high)) <= BIT_DISTANCE
    distinct = len({tuple(np.abs(code - high) < np.abs(code - low)) for code in codes})
    lines.append(f"hidden values within {BIT_DISTANCE} of {low:g} or {high:g}: {int(near_a_bit.sum())} of "
                 f"{codes.size}; rounded to the nearer, {distinct} distinct codes of {len(codes)}")
    return lines


def reproduced_figures(distances: list[float], trajectory_difference: float, rebuild_epochs: int,
                       max_epochs: int) -> list[Figure]:
    """The tutorial code's distances with RandomState(0) weights, and the rebuild's online
    training (its first `rebuild_epochs`) against them."""
    source = "the tutorial's code with RandomState(0) weights"
    by_epoch = dict(enumerate(distances, start=1))
    figures = [figure_at("distance (summed error) of epoch 1", source, TUTORIAL_FIRST_DISTANCE, by_epoch, 1, 1e-12,
                         relative=True, unit="epoch")]
    if distances[-1] <= FINAL_ERROR:
        figures.append(Figure("epochs until distance <= 0.002", source, TUTORIAL_EPOCHS, len(distances), 0))
    else:
        figures.append(not_compared("epochs until distance <= 0.002", TUTORIAL_EPOCHS,
                                    f"this run stops after {max_epochs} epochs"))
    figures += [
        not_compared("the page's hidden codes (0.02 0. 0.64, ...)", None,
                     "the tutorial does not seed its weights; ours (RandomState(0)) give other codes"),
        Figure(f"rebuild (online SGD, lr mu/2) vs the tutorial code's distance, epochs 1-{rebuild_epochs}, "
               "largest relative difference", "the same procedure: equal up to rounding", 0.0,
               trajectory_difference, 1e-10),
    ]
    return figures


# How long each part trains, per run length (see examples.RUN_LENGTHS).
RUN_SIZES = {
    "quick": {"max_epochs": 2000, "rebuild_online_epochs": 20, "exercise_max_epochs": 300},
    "default": {"max_epochs": MAX_EPOCHS, "rebuild_online_epochs": 300, "exercise_max_epochs": 20_000},
    "tutorial": {"max_epochs": MAX_EPOCHS, "rebuild_online_epochs": 2000, "exercise_max_epochs": 20_000},
}


def run(out_dir: Path, length: str = "default", show_progress: bool = True) -> ExampleResult:
    """Everything for tutorial 003: checks, online training to its criterion, the two exercises.

    The rebuild repeats the tutorial's online procedure for a prefix of its epochs (its
    trajectory is compared with the NumPy run's); the NumPy run goes on to the criterion.
    """
    sizes = RUN_SIZES[length]
    max_epochs, rebuild_online_epochs = sizes["max_epochs"], sizes["rebuild_online_epochs"]
    exercise_max_epochs = sizes["exercise_max_epochs"]
    X = make_data()

    gradcheck_errors = []
    for params, (x, target) in gradient_check_cases(count=3):
        autodiff = model_gradients(params, x, target)
        gradcheck_errors.append(max_relative_error(corrected_gradients(params, x, target), autodiff))
        gradcheck_errors.append(max_relative_error(
            {name: -2 * value for name, value in tutorial_gradients(params, x, target).items()}, autodiff))
        for activations in (("tanh", "sigmoid"), ("relu", "sigmoid")):
            gradcheck_errors.append(max_relative_error(minibatch_gradients(params, X[:4], X[:4], activations),
                                                       model_gradients(params, X[:4], X[:4], activations)))
    findings = formula_findings(initial_params(), X[0])

    params, distances = train_online_like_tutorial(initial_params(), X, max_epochs=max_epochs,
                                                   show_progress=show_progress)
    reached = distances[-1] <= FINAL_ERROR
    rebuild_model, rebuild_distances = train_rebuild_online(X, rebuild_online_epochs, show_progress)
    trajectory_difference = max(abs(a - b) / b for a, b in zip(rebuild_distances, distances))
    figures = reproduced_figures(distances, trajectory_difference, len(rebuild_distances), max_epochs)
    codes = hidden_codes(params, X)

    numpy_minibatch_params, numpy_minibatch_errors = train_minibatch_numpy(
        initial_params(), X, batch_size=4, learning_rate=1.0, activations=("tanh", "sigmoid"),
        max_epochs=exercise_max_epochs)
    exercise_model, exercise_errors = train_rebuild_minibatch(X, ("tanh", "sigmoid"), batch_size=4,
                                                              max_epochs=exercise_max_epochs,
                                                              show_progress=show_progress)
    with ag.no_grad():
        exercise_codes = exercise_model[1](exercise_model[0](X)).numpy()

    printout = [f"tutorial's online training: distance {distances[-1]:.6f} after {len(distances)} epochs"
                + ("" if reached else f" (criterion {FINAL_ERROR} not reached: {length} run)")]
    printout += _code_lines(codes)
    printout.append(f"exercise in NumPy (tanh hidden, sigmoid output, minibatches of 4, SGD lr 1): "
                    f"E {numpy_minibatch_errors[-1]:.6f} after {len(numpy_minibatch_errors)} epochs")
    printout.append(f"exercise on the rebuild (tanh hidden, sigmoid output, minibatches of 4, Adam lr 0.05): "
                    f"E {exercise_errors[-1]:.6f} after {len(exercise_errors)} epochs")
    printout += _code_lines(exercise_codes, bits=(-1.0, 1.0))
    metrics: dict[str, Any] = {
        "online_epochs": len(distances),
        "online_final_distance": distances[-1],
        "criterion_reached": reached,
        "hidden_codes": np.round(codes, 4),
        "rebuild_online_epochs": rebuild_online_epochs,
        "rebuild_online_vs_numpy_max_rel_distance_difference": trajectory_difference,
        "exercise_numpy_minibatch_tanh_sigmoid_sgd": {"epochs": len(numpy_minibatch_errors),
                                                      "final_error": numpy_minibatch_errors[-1]},
        "exercise_rebuild_minibatch_tanh_sigmoid_adam": {"epochs": len(exercise_errors),
                                                         "final_error": exercise_errors[-1],
                                                         "hidden_codes": np.round(exercise_codes, 4)},
    }

    out_dir.mkdir(parents=True, exist_ok=True)
    images = [plot_loss_curves(out_dir / f"{NAME}_loss.png", {
        "tutorial: online, sigmoid/sigmoid, mu 1 (NumPy)": (np.arange(1, len(distances) + 1), distances,
                                                            UNDER_A_RETRACING_CURVE),
        "rebuild: online SGD lr mu/2 (prefix; dashed: retraces the tutorial's)": (
            np.arange(1, len(rebuild_distances) + 1), rebuild_distances, RETRACES),
        "exercise: minibatch 4, tanh/sigmoid, SGD lr 1 (NumPy)": (np.arange(1, len(numpy_minibatch_errors) + 1),
                                                            numpy_minibatch_errors),
        "exercise: minibatch 4, tanh/sigmoid, Adam (rebuild)": (np.arange(1, len(exercise_errors) + 1),
                                                               exercise_errors),
    }, title="8-3-8 autoencoder: error per epoch", xlabel="epoch", ylabel="E = sum (y - output)^2", log_x=True).name]
    graph_files, graph_note = render_graph(model_loss(rebuild_model, X, X), out_dir, f"{NAME}_graph",
                                           module=rebuild_model)
    return ExampleResult(
        name=NAME, tutorial=TUTORIAL,
        data="the 8 one-hot vectors of length 8 (input = target)",
        model="8 -> sigmoid(3) -> sigmoid(8), E = sum (y - a)^2, online, mu 1",
        final_loss=distances[-1], accuracy=None, figures=figures,
        quantity=f"distance (summed squared error) at epoch {len(distances)}",
        headline=(f"{len(distances)} online epochs to distance {distances[-1]:.4g}; exercise (tanh/sigmoid, "
                  f"minibatch Adam): {len(exercise_errors)} epochs"),
        gradcheck_max_rel_error=max(gradcheck_errors),
        findings=findings, images=images + graph_files, metrics=metrics,
        notes=[graph_note] if graph_note else [], printout=printout,
    )
