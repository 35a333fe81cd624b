"""Gallery: a small convolutional network on scikit-learn's 8x8 digits.

Not one of the tutorials: what a PyTorch user writes next, with nn's Conv2d, MaxPool2d,
Flatten, Linear, CrossEntropyLoss, Adam and DataLoader.  The gradient check compares the
gradients through the derivative table's convolution and pooling entries with the
gradients of the same network written from plain table operations (each convolution a
sum over kernel offsets of shifted slices times the weights, each pooling a maximum of
four strided slices): two independent ways to the same numbers.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import autograd_lite as ag
import nn
from examples._common import ExampleResult, load_pyplot, plot_loss_curves, progress, relative_error

NAME = "digits_cnn"
TUTORIAL = "gallery: a CNN on sklearn's 8x8 digits (beyond the tutorials)"
RUN_SIZES = {"quick": {"epochs": 1}, "default": {"epochs": 12}, "tutorial": {"epochs": 12}}
BATCH_SIZE = 64
LEARNING_RATE = 1e-2


def make_data() -> tuple[np.ndarray, ...]:
    """X (n, 1, 8, 8) pixels / 16, y classes; a stratified 75/25 split (random_state 0)."""
    digits = load_digits()
    X = (digits.images / 16.0).reshape(-1, 1, 8, 8)
    return tuple(train_test_split(X, digits.target, test_size=0.25, random_state=0,
                                  stratify=digits.target))


def make_model(rng: np.random.Generator) -> nn.Sequential:
    """Conv(1->16, 3x3, pad 1), ReLU, 2x2 max pool, Conv(16->32), ReLU, pool, Linear(128, 10)."""
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(128, 10, rng=rng))


def _conv_by_slices(x, weight, bias):
    """A 3x3 convolution with padding 1 from plain table operations: for each kernel
    offset, the shifted slice of the padded input contracted with that offset's weights."""
    n, c, h, w = x.shape
    padded = ag.concatenate([np.zeros((n, c, 1, w)), x, np.zeros((n, c, 1, w))], axis=2)
    padded = ag.concatenate([np.zeros((n, c, h + 2, 1)), padded, np.zeros((n, c, h + 2, 1))], axis=3)
    total = 0.0
    for i in range(3):
        for j in range(3):
            shifted = ag.transpose(padded[:, :, i:i + h, j:j + w], 0, 2, 3, 1)  # (N, H, W, C)
            total = total + ag.matmul(shifted, ag.transpose(weight[:, :, i, j]))
    return ag.transpose(total + bias, 0, 3, 1, 2)


def _pool_by_slices(x):
    return ag.maximum(ag.maximum(x[:, :, 0::2, 0::2], x[:, :, 0::2, 1::2]),
                      ag.maximum(x[:, :, 1::2, 0::2], x[:, :, 1::2, 1::2]))


def gradient_check(model: nn.Sequential, X: np.ndarray, y: np.ndarray) -> float:
    """Worst relative difference between the gradients through nn's layers and through
    the same network written from plain table operations."""
    loss_fn = nn.CrossEntropyLoss()
    model.zero_grad()
    loss_fn(model(X), y).backward()
    layers = {name: p.grad.copy() for name, p in model.named_parameters()}
    conv1, conv2, linear = model[0], model[3], model[7]
    model.zero_grad()
    h = _pool_by_slices(ag.relu(_conv_by_slices(X, conv1.weight, conv1.bias)))
    h = _pool_by_slices(ag.relu(_conv_by_slices(h, conv2.weight, conv2.bias)))
    loss_fn(linear(ag.reshape(h, (len(X), -1))), y).backward()
    return max(relative_error(layers[name], p.grad) for name, p in model.named_parameters())


def accuracy(model: nn.Module, X: np.ndarray, y: np.ndarray) -> float:
    with ag.no_grad():
        return float(np.mean(model(X).data.argmax(axis=1) == y))


def plot_filters_and_mistakes(path: Path, model: nn.Sequential, X: np.ndarray, y: np.ndarray) -> Path:
    """The 16 first-layer filters, and test digits with the model's guesses (misses in red)."""
    plt = load_pyplot()
    with ag.no_grad():
        predicted = model(X).data.argmax(axis=1)
    wrong = np.flatnonzero(predicted != y)
    shown = np.concatenate([wrong[:8], np.flatnonzero(predicted == y)[:16 - min(8, len(wrong))]])
    figure, axes = plt.subplots(2, 16, figsize=(16, 2.6))
    for k, ax in enumerate(axes[0]):
        ax.imshow(model[0].weight.data[k, 0], cmap="RdBu_r")
        ax.set_title(f"filter {k}", fontsize=7)
    for ax, index in zip(axes[1], shown):
        ax.imshow(X[index, 0], cmap="gray_r")
        ax.set_title(f"{predicted[index]} (true {y[index]})", fontsize=7,
                     color="red" if predicted[index] != y[index] else "black")
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def run(out_dir: Path, length: str = "default", show_progress: bool = True) -> ExampleResult:
    epochs = RUN_SIZES[length]["epochs"]
    X_train, X_test, y_train, y_test = make_data()
    rng = np.random.default_rng(0)
    model = make_model(rng)
    gradcheck_error = gradient_check(model, X_train[:16], y_train[:16])

    optimizer = nn.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    loss_fn = nn.CrossEntropyLoss()
    loader = nn.DataLoader(X_train, y_train, batch_size=BATCH_SIZE, shuffle=True, rng=rng)
    steps, losses, epoch_marks, test_accuracies = [], [], [], []
    for epoch in progress(range(epochs), "digits CNN", enabled=show_progress):
        model.train()
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            steps.append(len(steps))
            losses.append(loss.item())
        model.eval()
        epoch_marks.append(len(steps))
        test_accuracies.append(accuracy(model, X_test, y_test))
    train_accuracy, test_accuracy = accuracy(model, X_train, y_train), test_accuracies[-1]
    with ag.no_grad():
        test_loss = loss_fn(model(X_test), y_test).item()

    out_dir.mkdir(parents=True, exist_ok=True)
    curve = plot_loss_curves(out_dir / "digits_cnn_loss.png",
                             {"training loss (minibatch)": (steps, losses),
                              "test error rate (per epoch)": (epoch_marks, [1 - a for a in test_accuracies])},
                             f"digits CNN: Adam lr {LEARNING_RATE}, batches of {BATCH_SIZE}",
                             xlabel="step")
    filters = plot_filters_and_mistakes(out_dir / "digits_cnn_filters.png", model, X_test, y_test)
    headline = (f"test accuracy {test_accuracy:.4f} on {len(y_test)} held-out digits after {epochs} "
                f"epochs (train {train_accuracy:.4f})")
    return ExampleResult(
        name=NAME, tutorial=TUTORIAL, headline=headline,
        data=f"sklearn load_digits: {len(y_train)} train / {len(y_test)} test images 8x8 (stratified)",
        model="Conv2d(1,16,3,p=1) ReLU MaxPool2d(2) Conv2d(16,32,3,p=1) ReLU MaxPool2d(2) "
              "Flatten Linear(128,10); cross-entropy, Adam",
        final_loss=test_loss, accuracy=test_accuracy, accuracy_on="test",
        quantity="test cross-entropy (mean per image)",
        gradcheck_max_rel_error=gradcheck_error, findings=[],
        images=[curve.name, filters.name],
        metrics={"epochs": epochs, "train_accuracy": train_accuracy, "test_accuracy": test_accuracy,
                 "test_loss": test_loss, "test_accuracy_per_epoch": test_accuracies},
        printout=[f"epoch {k + 1}: test accuracy {a:.4f}" for k, a in enumerate(test_accuracies)],
        notes=["gradcheck: gradients through the table's conv/pool entries vs the same network "
               "from slices, matmuls and maxima (plain table operations), on 16 training images."],
    )
