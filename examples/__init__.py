"""The five "neural network from scratch" tutorials, rebuilt with autograd_lite and nn.

Each module holds one tutorial: its data set made as the tutorial makes it, its
hand-derived gradient formulas transcribed as written (`tutorial_gradients`) and
corrected (`corrected_gradients`), its own training procedure in NumPy where its printed
numbers are reproduced, the rebuilt model (`nn`), and `run(out_dir, length)` which trains,
checks and plots. Two gallery models (a digits CNN, a character LSTM) follow them.
`python -m examples` runs them all and writes the report.
"""

from __future__ import annotations

import importlib
from types import ModuleType

# In the order of the tutorials' file numbers (000 to 004).
TUTORIAL_NAMES: tuple[str, ...] = (
    "sigmoid_toy_classifier",
    "shallow_regression",
    "polynomial_classifier",
    "autoencoder_838",
    "moons_tanh_softmax",
)
# The gallery: the models users write next (no tutorial, so no tutorial figures to reproduce).
GALLERY_NAMES: tuple[str, ...] = ("digits_cnn", "char_lstm")
EXAMPLE_NAMES: tuple[str, ...] = TUTORIAL_NAMES + GALLERY_NAMES


# How long the examples train: "quick" (seconds each, for the tests), "default" (the main
# command: a few minutes in all), "tutorial" (every tutorial's own iteration counts).
RUN_LENGTHS: tuple[str, ...] = ("quick", "default", "tutorial")


def load_example(name: str) -> ModuleType:
    """The example module called `name` (one of EXAMPLE_NAMES)."""
    if name not in EXAMPLE_NAMES:
        raise ValueError(f"unknown example {name!r}; choose from {', '.join(EXAMPLE_NAMES)}")
    return importlib.import_module(f"examples.{name}")
