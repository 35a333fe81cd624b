"""Gallery: a character-level LSTM language model on a generated word list.

Not one of the tutorials: Embedding -> LSTM -> Linear, trained to predict the next
character of words drawn from a small made-up language (syllables with weighted
onsets, vowels and codas, so there is structure to learn and nothing to download).  Its
held-out loss per character is compared with the unigram and bigram baselines, and it
writes new words.  The gradient check compares nn.LSTM (its fused ``lstm_sequence`` entry)
with the same recurrence written from plain table operations.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

import autograd_lite as ag
import nn
from examples._common import ExampleResult, plot_loss_curves, progress, relative_error

NAME = "char_lstm"
TUTORIAL = "gallery: a character-level LSTM language model (beyond the tutorials)"
RUN_SIZES = {"quick": {"steps": 20}, "default": {"steps": 500}, "tutorial": {"steps": 500}}
ALPHABET = ".abcdefghijklmnopqrstuvwxyz"  # "." ends a word
STEPS, BATCH, EMBED, HIDDEN = 16, 32, 16, 64
LEARNING_RATE = 1e-2

_ONSETS = ["", "b", "br", "k", "ch", "d", "dr", "f", "g", "gr", "h", "l", "m", "n", "p", "pl", "r",
           "s", "sh", "st", "t", "th", "tr", "v", "w", "z"]
_VOWELS = ["a", "e", "i", "o", "u", "ai", "ea", "oo", "ou", "y"]
_CODAS = ["", "n", "r", "s", "l", "nd", "st", "ng", "th", "x", "m"]


def _zipf(count: int, rng: np.random.Generator) -> np.ndarray:
    """Weights ~ 1/rank in a random order: some parts are common, most are rare."""
    weights = 1.0 / np.arange(1, count + 1)
    return rng.permutation(weights / weights.sum())


def make_words(count: int = 3000, seed: int = 0) -> list[str]:
    """``count`` distinct words of one to three syllables (onset + vowel, a coda at the end)."""
    rng = np.random.default_rng(seed)
    onset_p, vowel_p, coda_p = _zipf(len(_ONSETS), rng), _zipf(len(_VOWELS), rng), _zipf(len(_CODAS), rng)
    words: dict[str, None] = {}
    while len(words) < count:
        syllables = rng.choice([1, 2, 3], p=[0.3, 0.5, 0.2])
        word = "".join(_ONSETS[rng.choice(len(_ONSETS), p=onset_p)] + _VOWELS[rng.choice(len(_VOWELS), p=vowel_p)]
                       for _ in range(syllables)) + _CODAS[rng.choice(len(_CODAS), p=coda_p)]
        words[word] = None
    return list(words)


def encode(words: list[str]) -> np.ndarray:
    """The words as one stream of character indices, each word followed by '.'."""
    return np.array([ALPHABET.index(ch) for ch in "".join(w + "." for w in words)])


class CharModel(nn.Module):
    """Embedding(27, 16) -> LSTM(16, 64) -> Linear(64, 27): next-character logits (T, N, 27)."""

    def __init__(self, rng: np.random.Generator) -> None:
        super().__init__()
        self.embedding = nn.Embedding(len(ALPHABET), EMBED, rng=rng)
        self.lstm = nn.LSTM(EMBED, HIDDEN, rng=rng)
        self.head = nn.Linear(HIDDEN, len(ALPHABET), rng=rng)

    def forward(self, x, state=None):
        output, state = self.lstm(self.embedding(x), state)
        return self.head(output), state


def batch(stream: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``BATCH`` random windows of ``STEPS + 1`` characters: inputs and next characters (T, N)."""
    starts = rng.integers(0, len(stream) - STEPS - 1, BATCH)
    windows = stream[starts[:, None] + np.arange(STEPS + 1)].T
    return windows[:-1], windows[1:]


def sequence_loss(model: CharModel, x: np.ndarray, y: np.ndarray):
    logits, _ = model(x)
    return nn.CrossEntropyLoss()(ag.reshape(logits, (-1, len(ALPHABET))), y.reshape(-1))


def held_out_loss(model: CharModel, stream: np.ndarray) -> float:
    """Mean cross-entropy per character (nats) over consecutive windows of the stream."""
    usable = (len(stream) - 1) // STEPS * STEPS
    x = stream[:usable].reshape(-1, STEPS).T
    y = stream[1:usable + 1].reshape(-1, STEPS).T
    with ag.no_grad():
        return sequence_loss(model, x, y).item()


def baselines(train: np.ndarray, test: np.ndarray) -> tuple[float, float]:
    """Cross-entropy on ``test`` of the unigram and the (add-one) bigram model of ``train``."""
    k = len(ALPHABET)
    unigram = np.bincount(train, minlength=k) / len(train)
    pairs = np.ones((k, k))
    np.add.at(pairs, (train[:-1], train[1:]), 1)
    bigram = pairs / pairs.sum(axis=1, keepdims=True)
    return float(-np.mean(np.log(unigram[test[1:]]))), float(-np.mean(np.log(bigram[test[:-1], test[1:]])))


def gradient_check(model: CharModel, x: np.ndarray, y: np.ndarray) -> float:
    """Worst relative difference between the gradients through nn.LSTM and through the
    same recurrence written from matmuls, sigmoids and tanhs."""
    model.zero_grad()
    sequence_loss(model, x, y).backward()
    layers = {name: p.grad.copy() for name, p in model.named_parameters()}
    model.zero_grad()
    lstm = model.lstm
    inputs = model.embedding(x)
    h = c = np.zeros((x.shape[1], HIDDEN))
    outputs = []
    for t in range(len(x)):
        gates = (ag.matmul(inputs[t], ag.transpose(lstm.weight_ih_l0)) + lstm.bias_ih_l0
                 + ag.matmul(h, ag.transpose(lstm.weight_hh_l0)) + lstm.bias_hh_l0)
        i, f = ag.sigmoid(gates[:, :HIDDEN]), ag.sigmoid(gates[:, HIDDEN:2 * HIDDEN])
        g, o = ag.tanh(gates[:, 2 * HIDDEN:3 * HIDDEN]), ag.sigmoid(gates[:, 3 * HIDDEN:])
        c = f * c + i * g
        h = o * ag.tanh(c)
        outputs.append(h)
    logits = model.head(ag.stack(outputs))
    nn.CrossEntropyLoss()(ag.reshape(logits, (-1, len(ALPHABET))), y.reshape(-1)).backward()
    return max(relative_error(layers[name], p.grad) for name, p in model.named_parameters())


def sample_words(model: CharModel, count: int, rng: np.random.Generator, max_length: int = 16) -> list[str]:
    """Words the model writes: from '.', draw each next character from its softmax."""
    words = []
    with ag.no_grad():
        for _ in range(count):
            state, current, word = None, 0, ""
            while len(word) < max_length:
                logits, state = model(np.array([[current]]), state)
                p = np.exp(logits.data[0, 0] - logits.data[0, 0].max())
                current = int(rng.choice(len(ALPHABET), p=p / p.sum()))
                if current == 0:
                    break
                word += ALPHABET[current]
            words.append(word)
    return words


def run(out_dir: Path, length: str = "default", show_progress: bool = True) -> ExampleResult:
    steps = RUN_SIZES[length]["steps"]
    words = make_words()
    split = int(0.9 * len(words))
    train, test = encode(words[:split]), encode(words[split:])
    rng = np.random.default_rng(0)
    model = CharModel(rng)
    gradcheck_error = gradient_check(model, *batch(train, np.random.default_rng(1)))
    unigram, bigram = baselines(train, test)

    optimizer = nn.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    losses, checkpoints, test_losses = [], [0], [held_out_loss(model, test)]
    for step in progress(range(1, steps + 1), "char LSTM", enabled=show_progress):
        optimizer.zero_grad()
        loss = sequence_loss(model, *batch(train, rng))
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        losses.append(loss.item())
        if step % 50 == 0 or step == steps:
            checkpoints.append(step)
            test_losses.append(held_out_loss(model, test))
    final = test_losses[-1]
    samples = sample_words(model, 12, np.random.default_rng(2))
    novel = [w for w in samples if w and w not in set(words)]

    out_dir.mkdir(parents=True, exist_ok=True)
    curve = plot_loss_curves(
        out_dir / "char_lstm_loss.png",
        {"training loss (batch)": (list(range(1, steps + 1)), losses),
         "held-out loss": (checkpoints, test_losses),
         f"unigram baseline {unigram:.3f}": ([0, steps], [unigram, unigram]),
         f"bigram baseline {bigram:.3f}": ([0, steps], [bigram, bigram])},
        f"char LSTM: nats per character on held-out words ({len(test)} characters)",
        xlabel="step", log_y=False)
    headline = (f"held-out {final:.3f} nats/char vs unigram {unigram:.3f} and bigram {bigram:.3f}; "
                f"samples: {', '.join(samples[:6])}")
    return ExampleResult(
        name=NAME, tutorial=TUTORIAL, headline=headline,
        data=f"{len(words)} generated words ({split} train, {len(words) - split} held out), "
             f"alphabet a-z and '.' (end of word)",
        model=f"Embedding(27,{EMBED}) LSTM({EMBED},{HIDDEN}) Linear({HIDDEN},27); windows of "
              f"{STEPS} x {BATCH}; Adam lr {LEARNING_RATE}, gradient norm clipped at 1",
        final_loss=final, accuracy=None, gradcheck_max_rel_error=gradcheck_error, findings=[],
        quantity=f"held-out cross-entropy, nats per character (unigram baseline {unigram:.3f})",
        images=[curve.name],
        metrics={"steps": steps, "held_out_loss": final, "unigram_baseline": unigram,
                 "bigram_baseline": bigram, "held_out_curve": dict(zip(checkpoints, test_losses)),
                 "samples": samples, "novel_samples": novel},
        printout=[f"held-out loss {final:.4f} nats/char (unigram {unigram:.4f}, bigram {bigram:.4f})",
                  f"samples: {' '.join(samples)}",
                  f"{len(novel)} of {len(samples)} samples are new words (not in the list)"],
        notes=["gradcheck: gradients through nn.LSTM (the fused lstm_sequence entry) vs the same "
               "recurrence from matmuls, sigmoids and tanhs, on one batch."],
    )
