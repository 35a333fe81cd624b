"""End to end: a small network trains on make_moons; the fit helper; the README training-kit example."""
import numpy as np
import pytest
from sklearn.datasets import make_moons

import nn
from oracles import readme_block


def test_two_layer_network_learns_make_moons():
    X, y = make_moons(n_samples=300, noise=0.1, random_state=0)
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(2, 16, rng=rng), nn.Tanh(), nn.Linear(16, 2, rng=rng))
    loss_fn = nn.CrossEntropyLoss()
    optimizer = nn.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(150):
        optimizer.zero_grad()
        loss = loss_fn(model(X), y)
        loss.backward()
        optimizer.step()
    accuracy = (model(X).data.argmax(axis=1) == y).mean()
    assert accuracy > 0.95


def test_fit_with_minibatches_trains_and_returns_the_loss_history():
    X, y = make_moons(n_samples=200, noise=0.1, random_state=1)
    rng = np.random.default_rng(1)
    model = nn.Sequential(nn.Linear(2, 16, rng=rng), nn.ReLU(), nn.Linear(16, 1, rng=rng))
    optimizer = nn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model.eval()
    history = nn.fit(model, nn.BCEWithLogitsLoss(), optimizer, X, y[:, None].astype(float),
                     epochs=40, batch_size=32, rng=rng, progress=False)
    assert model.training  # fit trains in training mode
    assert len(history) == 40 and history[-1] < 0.5 * history[0]
    assert ((model(X).data[:, 0] > 0) == y).mean() > 0.95


def test_fit_epoch_loss_is_the_mean_over_samples():
    # One epoch of full-batch SGD with lr=0: the reported loss is the loss of the data.
    X, y = np.arange(10.0)[:, None], np.ones((10, 1))
    model = nn.Linear(1, 1, rng=np.random.default_rng(0))
    expected = nn.MSELoss()(model(X), y).item()
    for batch_size in (None, 3, 10):
        history = nn.fit(model, nn.MSELoss(), nn.optim.SGD(model.parameters(), lr=0.0), X, y,
                         batch_size=batch_size, progress=False, rng=np.random.default_rng(0))
        assert history == [pytest.approx(expected, rel=1e-12)]


class Spy(nn.Module):
    """A linear model that records the first feature of every sample it sees."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(1, 1)
        self.seen = []

    def forward(self, x):
        self.seen.extend(x[:, 0].tolist())
        return self.linear(x)


def test_fit_visits_every_sample_once_per_epoch_in_a_fresh_shuffled_order():
    X, y = np.arange(12.0)[:, None], np.zeros((12, 1))
    model = Spy()
    nn.fit(model, nn.MSELoss(), nn.optim.SGD(model.parameters(), lr=0.0), X, y, epochs=2,
           batch_size=5, rng=np.random.default_rng(0), progress=False)
    first, second = model.seen[:12], model.seen[12:]
    assert sorted(first) == sorted(second) == list(range(12))
    assert first != list(range(12)) and first != second


def test_fit_shuffles_reproducibly_with_rng():
    X, y = make_moons(n_samples=50, random_state=2)

    def train():
        model = nn.Sequential(nn.Linear(2, 4, rng=np.random.default_rng(0)), nn.Tanh(),
                              nn.Linear(4, 2, rng=np.random.default_rng(1)))
        return nn.fit(model, nn.CrossEntropyLoss(), nn.optim.SGD(model.parameters(), lr=0.1),
                      X, y, epochs=3, batch_size=8, rng=np.random.default_rng(5), progress=False)

    assert train() == train()


def test_fit_callback_sees_each_epoch_and_can_stop_early():
    X, y = np.ones((4, 1)), np.zeros((4, 1))
    model = nn.Linear(1, 1)
    seen = []
    history = nn.fit(model, nn.MSELoss(), nn.optim.SGD(model.parameters(), lr=0.01), X, y,
                     epochs=10, progress=False,
                     callback=lambda epoch, loss: seen.append((epoch, loss)) or epoch == 2)
    assert [e for e, _ in seen] == [0, 1, 2] and len(history) == 3
    assert [loss for _, loss in seen] == history


def test_fit_progress_bar_shows_the_loss(capsys):
    pytest.importorskip("tqdm")
    X, y = np.ones((4, 1)), np.zeros((4, 1))
    model = nn.Linear(1, 1)
    nn.fit(model, nn.MSELoss(), nn.optim.SGD(model.parameters(), lr=0.01), X, y, epochs=2)
    assert "loss=" in capsys.readouterr().err
    nn.fit(model, nn.MSELoss(), nn.optim.SGD(model.parameters(), lr=0.01), X, y, epochs=2,
           progress=False)
    assert capsys.readouterr().err == ""
    nn.fit(model, nn.MSELoss(), nn.optim.SGD(model.parameters(), lr=0.01), X, y, epochs=2,
           desc="moons")
    assert "moons" in capsys.readouterr().err


def test_fit_refuses_a_bad_batch_size():
    model = nn.Linear(1, 1)
    with pytest.raises(ValueError, match="batch_size"):
        nn.fit(model, nn.MSELoss(), nn.optim.SGD(model.parameters(), lr=0.1), np.ones((2, 1)),
               np.ones((2, 1)), batch_size=0)


def test_the_readme_training_kit_example_runs_and_resumes_on_the_same_path(capsys):
    namespace = {}
    exec(compile(readme_block("### The training kit"), "README.md", "exec"), namespace)
    assert namespace["gap"] < 1e-12  # the printed 0.0, with a margin for BLAS
    assert namespace["accuracy"] > 0.9
    assert len(namespace["loader"]) == 29  # 1797 digits in batches of 64
    assert capsys.readouterr().out.startswith(str(namespace["gap"]))
