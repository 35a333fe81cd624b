"""Helpers shared by the five tutorial examples.

Gradient comparison (relative errors, exact factors, central finite differences, the
HIPS-autograd and autograd_lite oracles), the record of a tutorial formula finding, the
per-example result that the main command summarises, progress bars, the matplotlib plots
(loss curves, decision boundaries, predictions), moving parameters between a tutorial's
layout and its rebuilt `nn` model, and the graph-rendering hook.

Nothing here knows about a particular tutorial.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

ParamDict = dict[str, np.ndarray]

# Agreement demanded between an autodiff gradient and a correct hand-derived formula
# (both float64, both exact up to rounding).
EXACT_RTOL = 1e-10
# A tutorial formula is called wrong when it differs from the correct gradient by more
# than this (relative); real errors are factors (2, N, -1) or whole terms, far above it.
WRONG_FORMULA_THRESHOLD = 1e-6


# --------------------------------------------------------------------------------------
# Gradient comparison
# --------------------------------------------------------------------------------------


def relative_error(actual: np.ndarray, expected: np.ndarray) -> float:
    """max |actual - expected| / max(|expected|).

    The denominator is the largest magnitude of the reference array (not elementwise),
    so that tiny entries of a large gradient do not dominate. `actual` is broadcast to
    `expected`'s shape when it can be (a tutorial's scalar or (h,) bias gradient is
    broadcast by its update just the same), else reshaped when the sizes agree; a result
    that fits neither way has the wrong shape and gives inf.
    """
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    try:
        actual = np.broadcast_to(actual, expected.shape)
    except ValueError:
        if actual.size != expected.size:
            return float("inf")
        actual = actual.reshape(expected.shape)
    scale = max(float(np.max(np.abs(expected), initial=0.0)), 1e-300)
    return float(np.max(np.abs(actual - expected), initial=0.0) / scale)


def max_relative_error(actual: Mapping[str, np.ndarray], expected: Mapping[str, np.ndarray]) -> float:
    """The worst `relative_error` over the arrays of `expected` (same keys in both)."""
    return max(relative_error(actual[name], expected[name]) for name in expected)


def central_difference_gradient(
    loss: Callable[[ParamDict], float], params: Mapping[str, np.ndarray], eps: float = 1e-6
) -> ParamDict:
    """Gradient of a scalar `loss(params)` by central differences, one element at a time.

    float64 only: in float32 the difference quotient would be mostly rounding noise.
    The parameters are copied; `loss` is called with perturbed copies.
    """
    work = {name: np.array(value, dtype=np.float64, copy=True) for name, value in params.items()}
    gradient: ParamDict = {}
    for name, array in work.items():
        grad = np.zeros_like(array)
        flat, flat_grad = array.reshape(-1), grad.reshape(-1)
        for index in range(flat.size):
            original = flat[index]
            flat[index] = original + eps
            upper = float(loss(work))
            flat[index] = original - eps
            lower = float(loss(work))
            flat[index] = original
            flat_grad[index] = (upper - lower) / (2.0 * eps)
        gradient[name] = grad
    return gradient


def hips_autograd_gradient(loss: Callable[[ParamDict], Any], params: Mapping[str, np.ndarray]) -> ParamDict:
    """Gradient of `loss(params)` by HIPS `autograd` (an independent reverse-mode oracle).

    `loss` must be written with `autograd.numpy` (the examples' loss functions take an
    `xp` argument for this).
    """
    import autograd

    names = list(params)

    def loss_of_list(values: list) -> Any:
        return loss(dict(zip(names, values)))

    grads = autograd.grad(loss_of_list)([np.asarray(params[name], dtype=np.float64) for name in names])
    return {name: np.asarray(g) for name, g in zip(names, grads)}


def fitted_factor(tutorial: Mapping[str, np.ndarray] | np.ndarray, correct: Mapping[str, np.ndarray] | np.ndarray,
                  tolerance: float = 1e-8) -> float | None:
    """The constant c with tutorial == c * correct, or None when no constant fits.

    Accepts two arrays or two dicts of arrays (one c for all of them). Finds the
    least-squares c, then checks the residual relative to the tutorial's size.
    """
    if not isinstance(correct, Mapping):
        tutorial, correct = {"": tutorial}, {"": correct}
    pairs = []
    for name in correct:
        t, c = np.asarray(tutorial[name], dtype=np.float64), np.asarray(correct[name], dtype=np.float64)
        try:
            t = np.broadcast_to(t, c.shape)
        except ValueError:
            if t.size != c.size:
                return None
        pairs.append((np.ravel(t), np.ravel(c)))
    t = np.concatenate([pair[0] for pair in pairs])
    c = np.concatenate([pair[1] for pair in pairs])
    if not np.any(c):
        return None
    factor = float(t @ c / (c @ c))
    residual = np.max(np.abs(t - factor * c)) / max(float(np.max(np.abs(t))), 1e-300)
    return factor if residual <= tolerance else None


def parameter_variants(initial: Mapping[str, np.ndarray], count: int, seed: int = 0, scale: float = 0.5) -> list[ParamDict]:
    """`initial` (copied) followed by `count - 1` random perturbations of it (N(0, scale^2) added).

    Gradient formulas are compared at several parameter values so that a formula that is
    right only at the initial point (e.g. at zero biases) is still caught.
    """
    rng = np.random.default_rng(seed)
    variants = [{name: np.array(value, dtype=np.float64) for name, value in initial.items()}]
    for _ in range(count - 1):
        variants.append({name: value + scale * rng.standard_normal(np.shape(value))
                         for name, value in initial.items()})
    return variants


def autodiff_gradient(loss: Callable[[ParamDict], Any], params: Mapping[str, np.ndarray]) -> ParamDict:
    """Gradient of `loss(params)` by autograd_lite's `ag.grad` over every entry of `params`.

    `loss` may be written with plain NumPy calls: on autograd_lite Tensors they are
    recorded through NumPy's protocol.
    """
    import autograd_lite as ag

    names = list(params)
    gradient_of_all = ag.grad(lambda *values: loss(dict(zip(names, values))), argnum=tuple(range(len(names))))
    return dict(zip(names, gradient_of_all(*[np.asarray(params[name], dtype=np.float64) for name in names])))


# --------------------------------------------------------------------------------------
# Findings and results
# --------------------------------------------------------------------------------------


@dataclasses.dataclass
class FormulaFinding:
    """One hand-derived tutorial formula, checked against the correct gradient.

    `verdict` is "correct", "sign convention" (the tutorial's variable holds minus the
    gradient and its update adds it, which is a correct descent step), "wrong", or a more
    specific word for wrong such as "the gradient of a different loss".
    `relative_difference` is `relative_error(tutorial, correct)` measured on the example's
    data at its initial parameters (inf for a result of the wrong shape, nan when the
    formula cannot be evaluated as written).
    """

    formula: str
    tutorial: str
    correct: str
    verdict: str
    relative_difference: float
    explanation: str
    factor: float | None = None  # tutorial == factor * correct, when such a constant exists

    def as_dict(self) -> dict[str, Any]:
        result = dataclasses.asdict(self)
        if np.isnan(self.relative_difference):
            result["relative_difference"] = "not measurable"
        elif np.isinf(self.relative_difference):
            result["relative_difference"] = "wrong shape"
        return result

    def measured(self) -> str:
        """The size of the disagreement in words: relative difference and exact factor if any."""
        if np.isnan(self.relative_difference):
            return "not measurable"
        if np.isinf(self.relative_difference):
            return "wrong shape"
        text = f"relative difference {self.relative_difference:.4g}"
        if self.factor is not None and self.verdict != "correct":
            text += f" (exactly {self.factor:.6g} x the correct value)"
        return text

    def sentence(self) -> str:
        """The finding in plain words (without the explanation)."""
        if self.verdict == "correct":
            return f"{self.formula}: correct ({self.tutorial}; {self.measured()})"
        return f"{self.formula}: {self.verdict}. Tutorial: {self.tutorial}. Correct: {self.correct}. {self.measured()}."


@dataclasses.dataclass(frozen=True)
class FormulaSpec:
    """How to describe one tutorial formula: which gradient entry it computes and in words."""

    key: str  # the entry of the gradient dicts it is compared on
    formula: str  # its name in the tutorial, e.g. "dW2"
    tutorial: str  # what the tutorial's code computes
    correct: str  # what the correct gradient is
    explanation: str  # why they differ (or agree), in plain words
    wrong_verdict: str = "wrong"  # e.g. "the gradient of a different loss"


def judge_formulas(
    tutorial: Mapping[str, np.ndarray], correct: Mapping[str, np.ndarray], specs: Sequence[FormulaSpec]
) -> list[FormulaFinding]:
    """One finding per spec: relative difference, exact factor if any, and a verdict.

    The verdict is "correct" within WRONG_FORMULA_THRESHOLD, "sign convention" when the
    tutorial's value is exactly minus the gradient (its update then adds it: a correct
    descent step under another name), else "wrong".
    """
    findings = []
    for spec in specs:
        difference = relative_error(tutorial[spec.key], correct[spec.key])
        factor = fitted_factor(tutorial[spec.key], correct[spec.key])
        if difference <= WRONG_FORMULA_THRESHOLD:
            verdict = "correct"
        elif factor is not None and abs(factor + 1.0) <= 1e-9:
            verdict = "sign convention"
        else:
            verdict = spec.wrong_verdict
        findings.append(FormulaFinding(spec.formula, spec.tutorial, spec.correct, verdict, difference,
                                       spec.explanation, factor))
    return findings


# Verdicts of a reproduced figure. Only NOT_REPRODUCED fails the main command.
REPRODUCED = "reproduced"
NOT_REPRODUCED = "NOT reproduced"
MACHINE_DEPENDENT = "machine-dependent"
NOT_COMPARED = "not compared"


@dataclasses.dataclass
class Figure:
    """One number a tutorial printed, or that its own code reproducibly gives, and this run's value.

    `tolerance` is absolute (`|got - expected| <= tolerance`; 0 for counts) unless
    `relative`; with `at_least`, `got` must be at least `expected` (a figure to beat).
    A machine-dependent figure is reported with `why` and not compared; neither is a
    figure this run does not reach (`got` None) or that cannot be reproduced from the page.
    """

    name: str
    source: str  # where `expected` comes from
    expected: float | str | None
    got: float | str | None
    tolerance: float | None = None
    relative: bool = False
    at_least: bool = False
    verdict: str = NOT_COMPARED
    why: str = ""

    def __post_init__(self) -> None:
        if self.verdict == NOT_COMPARED and self.why == "" and None not in (self.expected, self.got):
            self.verdict = REPRODUCED if self.agrees() else NOT_REPRODUCED

    def agrees(self) -> bool:
        if isinstance(self.expected, str):
            return self.got == self.expected
        if self.at_least:
            return self.got >= self.expected
        allowed = self.tolerance * (abs(self.expected) if self.relative else 1.0)
        return bool(abs(self.got - self.expected) <= allowed)

    def tolerance_text(self) -> str:
        if self.verdict == MACHINE_DEPENDENT or self.expected is None:
            return "-"
        if isinstance(self.expected, str):
            return "exact"
        if self.at_least:
            return "at least"
        if self.tolerance == 0:
            return "exact"
        if self.tolerance is None:
            return "-"
        return f"{self.tolerance:.0e}" + (" relative" if self.relative else "")

    def line(self) -> str:
        """`verdict: name: got ... (expected ..., tolerance ...)` in one line."""
        got = "-" if self.got is None else _figure_number(self.got)
        if self.verdict == MACHINE_DEPENDENT:
            return f"{self.verdict}: {self.name}: {got} ({self.why})"
        if self.verdict == NOT_COMPARED:
            return f"{self.verdict}: {self.name}: {self.why}"
        return (f"{self.verdict}: {self.name}: {got} (expected {_figure_number(self.expected)}, "
                f"{self.tolerance_text()}; {self.source})")

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "verdict": self.verdict, "expected": self.expected, "got": self.got,
                "tolerance": self.tolerance, "tolerance_text": self.tolerance_text(), "source": self.source,
                "why": self.why}


def _figure_number(value: float | str) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return f"{value:.12g}"


def machine_dependent(name: str, got: float, why: str) -> Figure:
    """A figure whose last digits depend on rounding (BLAS kernel, summation order): reported, not compared."""
    return Figure(name, "this machine", None, got, verdict=MACHINE_DEPENDENT, why=why)


def not_compared(name: str, expected: float | None, why: str) -> Figure:
    """A tutorial figure this run does not reach or the page does not let us reproduce."""
    return Figure(name, "", expected, None, why=why)


def figure_at(name: str, source: str, expected: float, values: Mapping[int, float], index: int,
              tolerance: float, relative: bool = False, unit: str = "iteration") -> Figure:
    """The figure `values[index]` (an entry of a training record), or `not_compared` when
    this run stopped before `index`."""
    if index not in values:
        return not_compared(name, expected, f"this run stops before {unit} {index}")
    return Figure(name, source, expected, values[index], tolerance, relative)


@dataclasses.dataclass
class ExampleResult:
    """What one example reports to the main command's summary table and summary.json."""

    name: str
    tutorial: str
    data: str
    model: str
    final_loss: float
    accuracy: float | None
    gradcheck_max_rel_error: float
    findings: list[FormulaFinding]
    quantity: str = "loss"  # what `final_loss` is, e.g. "J = MSE/2 after 10000 iterations"
    accuracy_on: str = "train"  # which data `accuracy` was measured on ("train" or "test")
    figures: list[Figure] = dataclasses.field(default_factory=list)  # tutorial figures vs this run
    varies_by_machine: str = ""  # why `final_loss` and `accuracy` vary between machines, if they do
    headline: str = ""  # one line of the most telling numbers, for the summary table
    images: list[str] = dataclasses.field(default_factory=list)
    metrics: dict[str, Any] = dataclasses.field(default_factory=dict)
    notes: list[str] = dataclasses.field(default_factory=list)
    printout: list[str] = dataclasses.field(default_factory=list)  # lines the tutorial itself prints
    seconds: float = 0.0

    def formula_verdicts(self) -> str:
        """Short verdict for the table, e.g. "3 correct, 1 wrong"."""
        if not self.findings:
            return "no hand-derived formulas"
        counts: dict[str, int] = {}
        for finding in self.findings:
            counts[finding.verdict] = counts.get(finding.verdict, 0) + 1
        return ", ".join(f"{count} {verdict}" for verdict, count in counts.items())

    def figure_counts(self) -> str:
        """Short reproduction tally for the table, e.g. "6 of 6, 1 machine-dependent"."""
        if not self.figures:
            return "- (gallery: no tutorial)"
        compared = [figure for figure in self.figures if figure.verdict in (REPRODUCED, NOT_REPRODUCED)]
        text = f"{sum(figure.verdict == REPRODUCED for figure in compared)} of {len(compared)}"
        for verdict in (MACHINE_DEPENDENT, NOT_COMPARED):
            count = sum(figure.verdict == verdict for figure in self.figures)
            text += f", {count} {verdict}" if count else ""
        return text

    def failures(self) -> list[str]:
        """Why this example fails the main command: a failed gradient check, figures not reproduced."""
        reasons = []
        if not self.gradcheck_max_rel_error <= EXACT_RTOL:
            reasons.append(f"{self.name}: gradient check failed (max relative error "
                           f"{self.gradcheck_max_rel_error:.2e} > {EXACT_RTOL:.0e})")
        reasons += [f"{self.name}: {figure.name} not reproduced (got {_figure_number(figure.got)}, expected "
                    f"{_figure_number(figure.expected)}, {figure.tolerance_text()})"
                    for figure in self.figures if figure.verdict == NOT_REPRODUCED]
        return reasons

    def explanations(self) -> list[str]:
        """The findings' explanations, each once, in order of first appearance."""
        return list(dict.fromkeys(finding.explanation for finding in self.findings if finding.verdict != "correct"))

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "tutorial": self.tutorial,
            "data": self.data,
            "model": self.model,
            "final_loss": self.final_loss,
            "quantity": self.quantity,
            "varies_by_machine": self.varies_by_machine,
            "accuracy": self.accuracy,
            "accuracy_on": self.accuracy_on,
            "headline": self.headline,
            "gradcheck_max_rel_error": self.gradcheck_max_rel_error,
            "formula_verdicts": self.formula_verdicts(),
            "findings": [finding.as_dict() for finding in self.findings],
            "figures": [_jsonable(figure.as_dict()) for figure in self.figures],
            "figures_reproduced": self.figure_counts(),
            "images": list(self.images),
            "metrics": _jsonable(self.metrics),
            "notes": list(self.notes),
            "printout": list(self.printout),
            "seconds": self.seconds,
        }


def _jsonable(value: Any) -> Any:
    """NumPy scalars and arrays (nested in dicts and lists) as plain JSON values."""
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return str(value)
    return value


# --------------------------------------------------------------------------------------
# Progress and plotting
# --------------------------------------------------------------------------------------


def progress(iterable: Iterable, description: str, total: int | None = None, enabled: bool = True) -> Iterable:
    """A tqdm progress bar over `iterable` (on stderr), or the iterable itself when disabled."""
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=description, total=total, leave=False, mininterval=0.5)


def load_pyplot():
    # Plots are written to files only; the Agg backend needs no display.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


Curve = tuple  # (x values, y values) or (x values, y values, matplotlib line options)


def _draw_curves(axes: Any, curves: Mapping[str, Curve], title: str,
                 xlabel: str, ylabel: str, log_y: bool, log_x: bool) -> None:
    for label, (xs, ys, *options) in curves.items():
        xs, ys = np.asarray(xs), np.asarray(ys)
        if log_x:  # iteration 0 has no place on a log axis
            xs, ys = xs[xs > 0], ys[xs > 0]
        axes.plot(xs, ys, label=label, **(options[0] if options else {}))
    if log_y and all(np.all(np.asarray(curve[1]) > 0) for curve in curves.values()):
        axes.set_yscale("log")
    if log_x:
        axes.set_xscale("log")
    axes.set_title(title, fontsize=10)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)


# A curve that retraces another exactly would hide it: draw it dashed on top of the
# other's wider solid line, and say so in its label.
RETRACES = {"linestyle": (0, (4, 3)), "linewidth": 1.6}
UNDER_A_RETRACING_CURVE = {"linewidth": 3.5, "alpha": 0.45}


def plot_loss_curves(
    path: Path,
    curves: Mapping[str, Curve],
    title: str,
    xlabel: str = "iteration",
    ylabel: str = "loss",
    log_y: bool = True,
    log_x: bool = False,
) -> Path:
    """Write one PNG with a line per entry of `curves` (label -> (x values, y values[, line options]))."""
    return plot_loss_curve_panels(path, {title: curves}, xlabel, ylabel, log_y, log_x)


def plot_loss_curve_panels(
    path: Path,
    panels: Mapping[str, Mapping[str, Curve]],
    xlabel: str = "iteration",
    ylabel: str = "loss",
    log_y: bool = True,
    log_x: bool = False,
) -> Path:
    """Write one PNG with a panel per entry of `panels` (title -> curves, as `plot_loss_curves`)."""
    plt = load_pyplot()
    figure, axes_row = plt.subplots(1, len(panels), figsize=(7 * len(panels), 4.5), squeeze=False)
    for axes, (title, curves) in zip(axes_row[0], panels.items()):
        _draw_curves(axes, curves, title, xlabel, ylabel, log_y, log_x)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def class_colours(n_classes: int) -> tuple[Any, Any]:
    """(colour map, norm) giving class k one colour in both the filled regions and the points.

    Two classes: coolwarm's ends; more: tab10's ten hues, then two darker ones (tab20b).
    """
    from matplotlib.colors import BoundaryNorm, ListedColormap

    plt = load_pyplot()
    if n_classes <= 2:
        colours = ["#3b4cc0", "#b40426"][:max(n_classes, 1)]
    else:
        colours = list(plt.get_cmap("tab10").colors) + ["#393b79", "#637939", "#7b4173", "#843c39"]
        colours = colours[:n_classes]
    return ListedColormap(colours), BoundaryNorm(np.arange(len(colours) + 1) - 0.5, len(colours))


def draw_decision_boundary(
    axes: Any,
    predict_class: Callable[[np.ndarray], np.ndarray],
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_test: np.ndarray | None = None,
    y_test: np.ndarray | None = None,
    title: str = "",
    resolution: int = 200,
    n_classes: int | None = None,
) -> None:
    """Fill `axes` with the predicted class over a grid and scatter the points on top.

    `predict_class` maps an (n, 2) array of points to n integer classes. Training points
    are solid with black edges; test points (if given) are lighter with white edges.
    Class k has the same colour in every panel (`class_colours`); axes are x1, x2.
    """
    all_points = X_train if X_test is None else np.vstack([X_train, X_test])
    x_min, x_max = all_points[:, 0].min() - 0.5, all_points[:, 0].max() + 0.5
    y_min, y_max = all_points[:, 1].min() - 0.5, all_points[:, 1].max() + 0.5
    grid_x, grid_y = np.meshgrid(np.linspace(x_min, x_max, resolution), np.linspace(y_min, y_max, resolution))
    grid_classes = np.asarray(predict_class(np.c_[grid_x.ravel(), grid_y.ravel()])).reshape(grid_x.shape)
    if n_classes is None:
        n_classes = int(max(np.max(y_train), np.max(grid_classes))) + 1
    colour_map, norm = class_colours(n_classes)
    axes.contourf(grid_x, grid_y, grid_classes, levels=np.arange(n_classes + 1) - 0.5, cmap=colour_map,
                  norm=norm, alpha=0.35)
    axes.scatter(X_train[:, 0], X_train[:, 1], c=y_train, cmap=colour_map, norm=norm,
                 s=18, edgecolors="k", linewidths=0.5, label="train")
    if X_test is not None and y_test is not None:
        axes.scatter(X_test[:, 0], X_test[:, 1], c=y_test, cmap=colour_map, norm=norm,
                     s=18, alpha=0.6, edgecolors="w", linewidths=0.8, label="test")
        axes.legend(loc="lower right", fontsize=7)
    axes.set_xlim(x_min, x_max)
    axes.set_ylim(y_min, y_max)
    axes.set_xlabel("x1")
    axes.set_ylabel("x2")
    axes.set_title(title, fontsize=8)


def plot_decision_boundaries(
    path: Path,
    panels: Sequence[dict[str, Any]],
    columns: int = 3,
    panel_size: float = 4.0,
    class_names: Sequence[str] | None = None,
) -> Path:
    """Write a grid of decision-boundary panels to one PNG.

    Each panel is a dict of keyword arguments for `draw_decision_boundary`
    (predict_class, X_train, y_train and optionally X_test, y_test, title).
    `class_names` adds a key below the panels: which colour is which class.
    """
    from matplotlib.patches import Patch

    plt = load_pyplot()
    rows = (len(panels) + columns - 1) // columns
    columns = min(columns, len(panels))
    key_columns = 6
    key_height = 0.0 if class_names is None else 0.3 * (2 + (len(class_names) + key_columns - 1) // key_columns)
    figure, axes_grid = plt.subplots(rows, columns, squeeze=False,
                                     figsize=(panel_size * columns, panel_size * rows + key_height))
    n_classes = None if class_names is None else len(class_names)
    for axes, panel in zip(axes_grid.ravel(), panels):
        draw_decision_boundary(axes, **panel, n_classes=n_classes)
    for axes in axes_grid.ravel()[len(panels):]:
        axes.axis("off")
    # The key sits in a strip below the panels, which tight_layout leaves free.
    figure.tight_layout(rect=(0, key_height / (panel_size * rows + key_height), 1, 1))
    if class_names is not None:
        colour_map, _ = class_colours(len(class_names))
        handles = [Patch(facecolor=colour_map(index), edgecolor="k", linewidth=0.5, label=f"{index}: {name}")
                   for index, name in enumerate(class_names)]
        figure.legend(handles=handles, loc="lower center", ncol=min(key_columns, len(handles)), fontsize=9,
                      title="class", frameon=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def plot_predictions(path: Path, panels: Sequence[tuple[str, np.ndarray, np.ndarray]], xlabel: str = "true y",
                     ylabel: str = "predicted y") -> Path:
    """Write a row of predicted-vs-true scatter plots (one per (title, true, predicted)) to a PNG."""
    plt = load_pyplot()
    figure, axes_row = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4), squeeze=False)
    for axes, (title, true, predicted) in zip(axes_row[0], panels):
        true, predicted = np.ravel(true), np.ravel(predicted)
        axes.scatter(true, predicted, s=4, alpha=0.4)
        low, high = float(min(true.min(), predicted.min())), float(max(true.max(), predicted.max()))
        axes.plot([low, high], [low, high], color="k", linewidth=0.8)
        axes.set_title(title, fontsize=9)
        axes.set_xlabel(xlabel)
        axes.set_ylabel(ylabel)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)) elementwise, as the tutorials write it (plain NumPy)."""
    return 1 / (1 + np.exp(-x))


def accuracy(predicted: np.ndarray, target: np.ndarray) -> float:
    """Fraction of equal entries (both flattened)."""
    return float(np.mean(np.asarray(predicted).ravel() == np.asarray(target).ravel()))


# --------------------------------------------------------------------------------------
# Training and the rebuilt models (autograd_lite + nn, public API only)
# --------------------------------------------------------------------------------------


def named_gradients(model: Any, compute_loss: Callable[[], Any]) -> ParamDict:
    """Backward of `compute_loss()` from zeroed gradients; {dotted parameter name: gradient copy}."""
    model.zero_grad()
    compute_loss().backward()
    return {name: np.array(parameter.grad, copy=True) for name, parameter in model.named_parameters()}


@dataclasses.dataclass(frozen=True)
class ParamLayout:
    """Where each of a tutorial's parameters lives in the rebuilt `nn` model.

    `names` maps a tutorial name ("W1") to the model's dotted name ("0.weight").
    Tutorial weights in the column layout (Z = W X) are `transposed` relative to
    nn.Linear's (in, out) weight; tutorial biases shaped (1, h) or (h, 1) are the
    model's (h,).
    """

    names: Mapping[str, str]
    transposed: frozenset = frozenset()

    def to_model(self, params: Mapping[str, np.ndarray]) -> ParamDict:
        """Tutorial-layout params -> a state dict for `model.load_state_dict` (float64 copies)."""
        state = {}
        for name, dotted in self.names.items():
            value = np.array(params[name], dtype=np.float64, copy=True)
            value = value.T if name in self.transposed else value
            state[dotted] = value.reshape(-1) if dotted.endswith("bias") else value
        return state

    def from_model(self, state: Mapping[str, np.ndarray], like: Mapping[str, np.ndarray]) -> ParamDict:
        """Model-layout arrays (a state dict or gradients) -> the tutorial's names and shapes (`like`)."""
        result = {}
        for name, dotted in self.names.items():
            value = np.asarray(state[dotted])
            value = value.T if name in self.transposed else value
            result[name] = value.reshape(np.shape(like[name]))
        return result

    def load(self, model: Any, params: Mapping[str, np.ndarray]) -> Any:
        """Put tutorial-layout `params` into `model`; returns the model."""
        model.load_state_dict(self.to_model(params))
        return model

    def gradients(self, model: Any, params: Mapping[str, np.ndarray], compute_loss: Callable[[Any], Any]) -> ParamDict:
        """Autodiff gradient of `compute_loss(model)` at `params`, in the tutorial's layout."""
        self.load(model, params)
        return self.from_model(named_gradients(model, lambda: compute_loss(model)), like=params)


def predict_argmax(model: Any, X: np.ndarray) -> np.ndarray:
    """Class with the largest output of `model` for each row of X, without recording: (n,) ints."""
    import autograd_lite as ag

    with ag.no_grad():
        return np.argmax(np.asarray(model(X).numpy()), axis=1)


# ----------------------------------------------------------------------------------
# HOOK for the graph-rendering issue: `ag.draw_graph` comes from another engineer.
# Every example calls `render_graph(loss_tensor, out_dir, stem)` on the loss of its
# rebuilt model; once `ag.draw_graph` exists this writes <stem>.svg and <stem>.png and
# the files appear in report.md. Until then it writes nothing and says why.
# ----------------------------------------------------------------------------------


def render_graph(root: Any, out_dir: Path, stem: str, module: Any = None) -> tuple[list[str], str | None]:
    """Draw the graph that produced the loss `root` with `ag.draw_graph` to <stem>.svg and <stem>.png.

    The root is named `loss` in the drawing; `module` (the model that ran) adds its
    layers' class names to the clusters (`0 (Linear)`).
    Returns (file names written, a note when nothing could be drawn).
    """
    import autograd_lite as ag

    draw_graph = getattr(ag, "draw_graph", None)
    if draw_graph is None:
        return [], "graph rendering skipped: autograd_lite has no draw_graph yet"
    root.name = "loss"
    try:
        graph = draw_graph(root, module=module)
        written = []
        for file_format in ("svg", "png"):
            path = out_dir / f"{stem}.{file_format}"
            path.write_bytes(graph.pipe(format=file_format))
            written.append(path.name)
        return written, None
    except Exception as error:  # the Graphviz `dot` program missing, or a rendering bug
        return [], f"graph rendering failed: {type(error).__name__}: {error}"
