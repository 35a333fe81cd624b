"""Draw the seed-004 network (2-3-2 tanh, softmax cross-entropy + L2) with values and
gradients: ``python docs/moons_graph.py`` writes docs/moons_graph.svg."""
from pathlib import Path

import numpy as np
from sklearn.datasets import make_moons

import autograd_lite as ag
import nn

np.random.seed(0)
X, y = make_moons(200, noise=0.20)
model = nn.Sequential(nn.Linear(2, 3, rng=np.random.default_rng(0)), nn.Tanh(),
                      nn.Linear(3, 2, rng=np.random.default_rng(1)))
l2 = (model[0].weight ** 2).sum() + (model[2].weight ** 2).sum()
loss = nn.CrossEntropyLoss()(model(X), y) + 0.01 / 2 * l2 / len(X)
loss.name = "loss"
ag.retain_grads(loss)  # every intermediate keeps its gradient, to be drawn
loss.backward()
ag.render(loss, Path(__file__).with_name("moons_graph"), formats=("svg",), show_values=True,
          show_grads=True, module=model)
