"""Tutorial 004: two moons, one tanh hidden layer, softmax output, L2 regularisation.

The tutorial ("Try building a neural network in Python without using a library")
trains, with full-batch gradient descent,

    z1 = X W1 + b1,  a1 = tanh(z1),  z2 = a1 W2 + b2,  probs = softmax(z2)

on `make_moons(200, noise=0.20)` drawn right after `np.random.seed(0)`, with the
weights drawn after a second `np.random.seed(0)`:
W1 ~ randn(2, h) / sqrt(2), W2 ~ randn(h, 2) / sqrt(h), b1 = b2 = 0.
Learning rate epsilon = 0.01, reg_lambda = 0.01, 20000 passes, loss printed every 1000.

Its stated loss (the `calculate_loss` it prints) is the mean cross-entropy plus an L2
term that is also divided by N:

    L = (1/N) * [ sum_n -log probs[n, y_n] + reg_lambda/2 * (|W1|^2 + |W2|^2) ]

Its backpropagation (`delta3 = probs - onehot`, `dW2 = a1.T delta3 + reg_lambda W2`, ...)
has no 1/N anywhere: it is the gradient of N * L, i.e. exactly N = 200 times the gradient
of the loss it prints. Each formula is right in direction, every one is 200x too large,
so the effective learning rate on the printed loss is epsilon * N = 2.0.

The period-2 oscillation: with that effective step the iteration for hidden size 3
settles, from about iteration 2000, into a 2-cycle: consecutive losses alternate between
about 0.070758 and 0.071316. Which branch lands on a multiple of 1000 depends on
floating-point rounding: perturbing the initial weights by 1e-15 (or summing in a
different order, as any other implementation does) can swap the branches. The mean of
two consecutive losses does not depend on it (0.0710369 at the end, to 1e-8), and that
is what we compare between the tutorial's NumPy code and the rebuild.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np
import sklearn.datasets

from examples._common import FormulaFinding, FormulaSpec, ParamDict, judge_formulas, parameter_variants, progress

NAME = "moons_tanh_softmax"
TUTORIAL = "004: moons, tanh hidden layer, softmax, L2 (tutorial's NumPy, batch gradient descent)"

INPUT_DIM = 2
OUTPUT_DIM = 2
NUM_EXAMPLES = 200
LEARNING_RATE = 0.01  # the tutorial's epsilon
REG_LAMBDA = 0.01
NUM_PASSES = 20000
HIDDEN_SIZES = (1, 2, 3, 4, 5, 20, 50)

# The numbers the tutorial's own code prints for hidden size 3 (issue 6).
TUTORIAL_LOSS_AT_0 = 0.432386631525
TUTORIAL_LOSS_AT_1000 = 0.068946538120
# Mean of the two branches of the final 2-cycle (iterations 19998 and 19999) as the
# tutorial's own NumPy code gives it here; the issue quotes it as 0.0710369.
TUTORIAL_FINAL_TWO_STEP_MEAN = 0.0710368773


def make_data() -> tuple[np.ndarray, np.ndarray]:
    """The tutorial's data: `np.random.seed(0); make_moons(200, noise=0.20)`.

    A fresh `RandomState(0)` is exactly the global state after `np.random.seed(0)`, so the
    points are identical without touching NumPy's global random state.
    Returns X (200, 2) float64 and y (200,) int.
    """
    return sklearn.datasets.make_moons(NUM_EXAMPLES, noise=0.20, random_state=np.random.RandomState(0))


def make_test_data() -> tuple[np.ndarray, np.ndarray]:
    """A held-out moons sample (not in the tutorial, which has no test set): seed 1."""
    return sklearn.datasets.make_moons(NUM_EXAMPLES, noise=0.20, random_state=np.random.RandomState(1))


def initial_params(hidden_size: int) -> ParamDict:
    """The tutorial's initialisation after `np.random.seed(0)`.

    W1 (2, h), b1 (1, h), W2 (h, 2), b2 (1, 2), drawn in that order.
    """
    rng = np.random.RandomState(0)
    W1 = rng.randn(INPUT_DIM, hidden_size) / np.sqrt(INPUT_DIM)
    b1 = np.zeros((1, hidden_size))
    W2 = rng.randn(hidden_size, OUTPUT_DIM) / np.sqrt(hidden_size)
    b2 = np.zeros((1, OUTPUT_DIM))
    return {"W1": W1, "b1": b1, "W2": W2, "b2": b2}


def forward_probs(params: ParamDict, X: np.ndarray) -> np.ndarray:
    """The tutorial's forward pass, operation for operation: (N, 2) class probabilities."""
    z1 = X.dot(params["W1"]) + params["b1"]
    a1 = np.tanh(z1)
    z2 = a1.dot(params["W2"]) + params["b2"]
    exp_scores = np.exp(z2)
    return exp_scores / np.sum(exp_scores, axis=1, keepdims=True)


def tutorial_loss(params: ParamDict, X: np.ndarray, y: np.ndarray, reg_lambda: float = REG_LAMBDA) -> float:
    """The tutorial's `calculate_loss`, operation for operation (so its printout is reproduced)."""
    probs = forward_probs(params, X)
    correct_logprobs = -np.log(probs[range(len(X)), y])
    data_loss = np.sum(correct_logprobs)
    data_loss += reg_lambda / 2 * (np.sum(np.square(params["W1"])) + np.sum(np.square(params["W2"])))
    return 1.0 / len(X) * data_loss


def stated_loss(params: ParamDict, X: np.ndarray, y: np.ndarray, reg_lambda: float = REG_LAMBDA,
                xp: ModuleType = np):
    """The same loss written for any array namespace `xp` (NumPy or HIPS `autograd.numpy`).

    Uses log-softmax (stable) rather than log(softmax); the value equals `tutorial_loss`
    to rounding. Returns a scalar of `xp`'s kind.
    """
    z1 = xp.dot(X, params["W1"]) + params["b1"]
    z2 = xp.dot(xp.tanh(z1), params["W2"]) + params["b2"]
    shifted = z2 - xp.max(z2, axis=1, keepdims=True)
    log_probs = shifted - xp.log(xp.sum(xp.exp(shifted), axis=1, keepdims=True))
    data_loss = -xp.sum(log_probs[np.arange(len(X)), y])
    penalty = reg_lambda / 2 * (xp.sum(params["W1"] ** 2) + xp.sum(params["W2"] ** 2))
    return (data_loss + penalty) / len(X)


def tutorial_gradients(params: ParamDict, X: np.ndarray, y: np.ndarray, reg_lambda: float = REG_LAMBDA) -> ParamDict:
    """The tutorial's backpropagation, transcribed as written (without the update).

    Shapes as the tutorial makes them: dW1 (2, h), db1 (h,) (its sum drops the leading
    axis; the update broadcasts it onto b1 (1, h)), dW2 (h, 2), db2 (1, 2).
    """
    W1, W2 = params["W1"], params["W2"]
    z1 = X.dot(W1) + params["b1"]
    a1 = np.tanh(z1)
    z2 = a1.dot(W2) + params["b2"]
    exp_scores = np.exp(z2)
    probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)
    delta3 = probs
    delta3[range(len(X)), y] -= 1
    dW2 = (a1.T).dot(delta3)
    db2 = np.sum(delta3, axis=0, keepdims=True)
    delta2 = delta3.dot(W2.T) * (1 - np.power(a1, 2))
    dW1 = np.dot(X.T, delta2)
    db1 = np.sum(delta2, axis=0)
    dW2 += reg_lambda * W2
    dW1 += reg_lambda * W1
    return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def corrected_gradients(params: ParamDict, X: np.ndarray, y: np.ndarray, reg_lambda: float = REG_LAMBDA) -> ParamDict:
    """The gradient of the stated loss L (mean cross-entropy + reg_lambda/(2N) |W|^2).

    Every term carries the 1/N the tutorial's formulas omit; shapes match the parameters.
    """
    n = len(X)
    W1, W2 = params["W1"], params["W2"]
    a1 = np.tanh(X @ W1 + params["b1"])
    probs = forward_probs(params, X)
    delta_logits = probs.copy()
    delta_logits[np.arange(n), y] -= 1.0
    delta_logits /= n
    delta_hidden = (delta_logits @ W2.T) * (1.0 - a1**2)
    return {
        "W1": X.T @ delta_hidden + (reg_lambda / n) * W1,
        "b1": delta_hidden.sum(axis=0, keepdims=True),
        "W2": a1.T @ delta_logits + (reg_lambda / n) * W2,
        "b2": delta_logits.sum(axis=0, keepdims=True),
    }


def train_like_tutorial(
    X: np.ndarray,
    y: np.ndarray,
    hidden_size: int,
    num_passes: int = NUM_PASSES,
    record_every: int = 1,
    show_progress: bool = False,
) -> tuple[ParamDict, dict[int, float]]:
    """The tutorial's `build_model` in NumPy: full-batch descent with its own formulas.

    Returns the final parameters and {iteration: tutorial_loss after that iteration's
    update} for every `record_every`-th iteration and the last two (the tutorial prints
    iterations 0, 1000, 2000, ...).
    """
    params = initial_params(hidden_size)
    losses: dict[int, float] = {}
    for iteration in progress(range(num_passes), f"004 tutorial NumPy h={hidden_size}", enabled=show_progress):
        gradients = tutorial_gradients(params, X, y)
        # The tutorial's update, in its order and with its in-place `+= -epsilon * d`.
        params["W1"] += -LEARNING_RATE * gradients["W1"]
        params["b1"] += -LEARNING_RATE * gradients["b1"]
        params["W2"] += -LEARNING_RATE * gradients["W2"]
        params["b2"] += -LEARNING_RATE * gradients["b2"]
        if iteration % record_every == 0 or iteration >= num_passes - 2:
            losses[iteration] = tutorial_loss(params, X, y)
    return params, losses


def predict_tutorial(params: ParamDict, X: np.ndarray) -> np.ndarray:
    """The tutorial's `predict`: argmax of the probabilities, (N,) ints."""
    return np.argmax(forward_probs(params, X), axis=1)


def formula_findings(params: ParamDict, X: np.ndarray, y: np.ndarray) -> list[FormulaFinding]:
    """Compare each tutorial formula with the correct gradient of the stated loss."""
    n = len(X)
    why = (f"The printed loss is divided by N = {n} (data term and L2 term alike), the "
           f"backpropagated gradient is not: it is the gradient of N * loss, {n}x too large, so "
           f"the effective learning rate on the printed loss is epsilon * N = {LEARNING_RATE * n:g}.")
    specs = [
        FormulaSpec("W1", "dW1", "X.T @ delta2 + reg_lambda * W1", "(X.T @ delta2 + reg_lambda * W1) / N", why),
        FormulaSpec("b1", "db1", "sum(delta2, axis=0)", "sum(delta2, axis=0) / N", why),
        FormulaSpec("W2", "dW2", "a1.T @ delta3 + reg_lambda * W2", "(a1.T @ delta3 + reg_lambda * W2) / N", why),
        FormulaSpec("b2", "db2", "sum(delta3, axis=0)", "sum(delta3, axis=0) / N", why),
    ]
    return judge_formulas(tutorial_gradients(params, X, y), corrected_gradients(params, X, y), specs)


def gradient_check_cases(count: int = 3, hidden_size: int = 3) -> list[tuple[ParamDict, tuple]]:
    """(params, (X, y)) pairs: the tutorial's initial weights and `count - 1` perturbations,
    on the tutorial's data. `stated_loss`, `tutorial_gradients` and `corrected_gradients`
    take `(params, *data)`."""
    X, y = make_data()
    return [(params, (X, y)) for params in parameter_variants(initial_params(hidden_size), count)]
