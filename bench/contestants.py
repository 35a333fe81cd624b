"""The contestants: each turns a workload into a `Runner` (gradients + one training step).

Every contestant starts from the same initial parameters and data (fresh copies), and
writes the model the way its users do: PyTorch and autograd_lite's ``nn`` with layers,
a loss object and an optimizer; the tape libraries with leaves, ``loss.backward()`` and a
manual SGD update; HIPS ``autograd`` and ``ag.grad`` as a gradient function. A framework
that is not installed raises `Skip` from `load`, and the run goes on without it.
"""
from __future__ import annotations

import dataclasses
import importlib.metadata
import math
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, ClassVar

import numpy as np

from .workloads import CNN, MLP, Chain, CharLSTM, chain_loss, mlp_loss


class Skip(Exception):
    """This contestant does not run this workload (or at all); the message says why."""


@dataclasses.dataclass
class Runner:
    """A prepared workload: ``gradients()`` at the current parameters, without updating
    them, in the order of ``MLP.initial_params`` (or ``[d loss / d x]`` for a chain), and
    ``step()``, one timed training step."""

    gradients: Callable[[], list[np.ndarray]]
    step: Callable[[], None]
    # Module style only, for tools that inspect the recorded graph (bench.floor): the
    # loss recorded but not yet backpropagated, and the parameters in `gradients` order.
    loss: Callable[[], Any] | None = None
    parameters: list | None = None


class Contestant:
    """Base: a name, the package whose version is reported, and one method per kind of
    workload. ``traced_memory`` says whether tracemalloc sees its arrays (NumPy's do)."""

    name = ""
    distribution: str | None = None
    traced_memory = True
    missing: str | None = None  # why it cannot run at all, once `available` has said so

    def load(self) -> None:
        """Import the framework; raise `Skip` when it is missing."""

    def available(self) -> bool:
        try:
            self.load()
        except Skip as exc:
            self.missing = str(exc)
        except Exception as exc:  # noqa: BLE001 - a broken install must not stop the run
            self.missing = f"failed to load: {type(exc).__name__}: {exc}"
        return self.missing is None

    def version(self) -> str:
        return importlib.metadata.version(self.distribution) if self.distribution else "-"

    def prepare(self, spec: MLP | Chain | CNN | CharLSTM) -> Runner:
        if self.missing:
            raise Skip(self.missing)
        if spec.kind == "chain":
            return self.chain(spec, spec.initial_input())
        # mlp, cnn, lstm: the method of that name, with fresh parameters and data
        return getattr(self, spec.kind)(spec, spec.initial_params(), spec.make_data())

    def mlp(self, spec: MLP, params: list[np.ndarray], data: dict) -> Runner:
        raise Skip("not applicable")

    def cnn(self, spec: CNN, params: list[np.ndarray], data: dict) -> Runner:
        raise Skip("not applicable (no layers)")

    def lstm(self, spec: CharLSTM, params: list[np.ndarray], data: dict) -> Runner:
        raise Skip("not applicable (no layers)")

    def chain(self, spec: Chain, x: np.ndarray) -> Runner:
        raise Skip("not applicable")


def _import(module: str, install: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise Skip(f"not installed ({install}): {exc}") from None


def _sgd_in_place(params: list[np.ndarray], grads: list[np.ndarray], lr: float) -> None:
    for p, g in zip(params, grads):
        p -= lr * g


# ---- the floor ----------------------------------------------------------------------
class HandNumPy(Contestant):
    """Hand-derived backpropagation with NumPy: the same BLAS calls, no tape."""

    name = "NumPy (hand)"
    distribution = "numpy"
    _ACTIVATIONS: ClassVar[dict] = {  # name -> (function, derivative from the function's output)
        "tanh": (np.tanh, lambda a: 1 - a * a),
        "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda a: a * (1 - a)),
        "relu": (lambda z: np.maximum(z, 0), lambda a: a > 0),
    }

    def mlp(self, spec, params, data):
        X, y, rows, n = data["X"], data["y"], data["rows"], spec.batch
        act, act_derivative = self._ACTIVATIONS[spec.activation]
        sigmoid = self._ACTIVATIONS["sigmoid"][0]
        last = len(params) // 2 - 1

        def gradients():
            inputs = [X]  # the input of each layer, kept for its weight gradient
            for layer in range(last + 1):
                z = inputs[-1] @ params[2 * layer] + params[2 * layer + 1]
                if layer < last:
                    inputs.append(act(z))
            if spec.loss == "cross_entropy":
                e = np.exp(z - z.max(axis=1, keepdims=True))
                delta = e / e.sum(axis=1, keepdims=True)
                delta[rows, y] -= 1
                delta /= n
            else:
                a = sigmoid(z)
                delta = (2 / n) * (a - y) * a * (1 - a)
            grads = [None] * len(params)
            for layer in range(last, -1, -1):
                W = params[2 * layer]
                grads[2 * layer] = inputs[layer].T @ delta
                if spec.l2:
                    grads[2 * layer] += (spec.l2 / n) * W
                grads[2 * layer + 1] = delta.sum(axis=0)
                if layer:
                    delta = (delta @ W.T) * act_derivative(inputs[layer])
            return grads

        return Runner(gradients, lambda: _sgd_in_place(params, gradients(), spec.lr))

    def cnn(self, spec, params, data):
        """Hand-derived CNN backpropagation, written for speed: activations kept as
        (C, H, W, N) (the batch the innermost, longest contiguous run), im2col by one
        slice copy per kernel offset, col2im by one strided add per offset, 2x2 pooling by
        reshaping into windows (ties, frequent on digits' flat backgrounds, go to the first
        maximum, as in PyTorch)."""
        X, y, n = data["X"], data["y"], spec.batch
        rows = np.arange(n)

        def conv(a, W, b):  # a (C, H, W, N) -> (O, H, W, N), padding 1, stride 1
            c, h, w, _ = a.shape
            padded = np.zeros((c, h + 2, w + 2, n), a.dtype)
            padded[:, 1:-1, 1:-1] = a
            cols = np.empty((c, 3, 3, h, w, n), a.dtype)
            for i in range(3):
                for j in range(3):
                    cols[:, i, j] = padded[:, i:i + h, j:j + w]
            cols = cols.reshape(c * 9, -1)
            z = W.reshape(len(W), -1) @ cols + b[:, None]
            return z.reshape(len(W), h, w, n), cols

        def conv_input_grad(dz, W, shape):
            c, h, w, _ = shape
            shares = (W.reshape(len(W), -1).T @ dz.reshape(len(W), -1)).reshape(c, 3, 3, h, w, n)
            padded = np.zeros((c, h + 2, w + 2, n), dz.dtype)
            for i in range(3):
                for j in range(3):
                    padded[:, i:i + h, j:j + w] += shares[:, i, j]
            return padded[:, 1:-1, 1:-1]

        def pool(a):  # 2x2 max pooling of (C, H, W, N), and which of the 4 won (the first)
            c, h, w, _ = a.shape
            windows = a.reshape(c, h // 2, 2, w // 2, 2, n).transpose(0, 1, 3, 5, 2, 4)
            windows = windows.reshape(c, h // 2, w // 2, n, 4)
            winner = windows.argmax(axis=-1)[..., None]
            return np.take_along_axis(windows, winner, axis=-1)[..., 0], winner

        def unpool(dp, winner):
            c, h, w, _ = dp.shape
            spread = np.zeros((c, h, w, n, 4), dp.dtype)
            np.put_along_axis(spread, winner, dp[..., None], axis=-1)
            return spread.reshape(c, h, w, n, 2, 2).transpose(0, 1, 4, 2, 5, 3).reshape(c, 2 * h, 2 * w, n)

        W1, b1, W2, b2, Wf, bf = params

        def gradients():
            a0 = np.ascontiguousarray(X.transpose(1, 2, 3, 0))
            z1, cols1 = conv(a0, W1, b1)
            p1, winner1 = pool(np.maximum(z1, 0))
            z2, cols2 = conv(p1, W2, b2)
            p2, winner2 = pool(np.maximum(z2, 0))
            flat = p2.reshape(-1, n).T  # (N, C*H*W), PyTorch's flatten order
            logits = flat @ Wf + bf
            e = np.exp(logits - logits.max(axis=1, keepdims=True))
            delta = e / e.sum(axis=1, keepdims=True)
            delta[rows, y] -= 1
            delta /= n
            dWf, dbf = flat.T @ delta, delta.sum(axis=0)
            dz2 = unpool((delta @ Wf.T).T.reshape(p2.shape), winner2) * (z2 > 0)
            dW2 = (dz2.reshape(len(W2), -1) @ cols2.T).reshape(W2.shape)
            db2 = dz2.sum(axis=(1, 2, 3))
            dz1 = unpool(conv_input_grad(dz2, W2, p1.shape), winner1) * (z1 > 0)
            dW1 = (dz1.reshape(len(W1), -1) @ cols1.T).reshape(W1.shape)
            return [dW1, dz1.sum(axis=(1, 2, 3)), dW2, db2, dWf, dbf]

        return Runner(gradients, lambda: _sgd_in_place(params, gradients(), spec.lr))

    def lstm(self, spec, params, data):
        """Hand-derived LSTM backpropagation through time: the input projection of all
        steps in one matmul, one matmul per step each way, the weight gradients of all
        steps in one matmul each."""
        x, y = data["x"], data["y"]
        E, W_ih, W_hh, b_ih, b_hh, Wf, bf = params
        steps, n, hidden = spec.steps, spec.batch, spec.hidden
        rows = np.arange(steps * n)
        sigmoid = self._ACTIVATIONS["sigmoid"][0]

        def gradients():
            emb = E[x]  # (T, N, embed)
            projection = emb @ W_ih.T + (b_ih + b_hh)
            h = np.zeros((steps + 1, n, hidden))  # h[t + 1] after step t
            c = np.zeros((steps + 1, n, hidden))
            acts = np.empty((steps, n, 4 * hidden))
            tanh_c = np.empty((steps, n, hidden))
            for t in range(steps):
                gates = projection[t] + h[t] @ W_hh.T
                act = acts[t]
                act[:] = sigmoid(gates)
                act[:, 2 * hidden:3 * hidden] = np.tanh(gates[:, 2 * hidden:3 * hidden])
                i, f, g, o = np.split(act, 4, axis=1)
                c[t + 1] = f * c[t] + i * g
                tanh_c[t] = np.tanh(c[t + 1])
                h[t + 1] = o * tanh_c[t]
            outputs = h[1:].reshape(-1, hidden)
            logits = outputs @ Wf + bf
            e = np.exp(logits - logits.max(axis=1, keepdims=True))
            delta = e / e.sum(axis=1, keepdims=True)
            delta[rows, y.reshape(-1)] -= 1
            delta /= steps * n
            dWf, dbf = outputs.T @ delta, delta.sum(axis=0)
            dh_all = (delta @ Wf.T).reshape(steps, n, hidden)
            dgates = np.empty((steps, n, 4 * hidden))
            dh, dc = np.zeros((n, hidden)), np.zeros((n, hidden))
            for t in range(steps - 1, -1, -1):
                i, f, g, o = np.split(acts[t], 4, axis=1)
                dh = dh + dh_all[t]
                dc = dc + dh * o * (1 - tanh_c[t] ** 2)
                d = dgates[t]
                d[:, :hidden] = dc * g * i * (1 - i)
                d[:, hidden:2 * hidden] = dc * c[t] * f * (1 - f)
                d[:, 2 * hidden:3 * hidden] = dc * i * (1 - g * g)
                d[:, 3 * hidden:] = dh * tanh_c[t] * o * (1 - o)
                dh = d @ W_hh
                dc = dc * f
            flat = dgates.reshape(-1, 4 * hidden)
            dW_ih = flat.T @ emb.reshape(-1, spec.embed)
            dW_hh = flat.T @ h[:-1].reshape(-1, hidden)
            db = flat.sum(axis=0)
            dE = np.zeros_like(E)
            np.add.at(dE, x.reshape(-1), flat @ W_ih)
            return [dE, dW_ih, dW_hh, db, db.copy(), dWf, dbf]

        return Runner(gradients, lambda: _sgd_in_place(params, gradients(), spec.lr))

    def chain(self, spec, x):
        def gradients():
            v = x
            for i in range(spec.depth):
                v = v * spec.MUL if i % 2 == 0 else v + spec.ADD
            v.sum()
            g = np.ones_like(x)
            for i in range(spec.depth - 1, -1, -1):
                if i % 2 == 0:
                    g = g * spec.MUL
            return [g]

        return Runner(gradients, gradients)


# ---- tape libraries used with leaves, loss.backward() and a manual update ---------------
class TapeContestant(Contestant):
    """Leaves that record, ``mlp_loss(...).backward()``, a manual SGD step. Subclasses say
    how to make a leaf, read and clear its gradient, and update it; ``F`` is the namespace
    `mlp_loss` needs."""

    F: Any = None

    def leaf(self, array: np.ndarray) -> Any: raise NotImplementedError
    def grad(self, leaf: Any) -> np.ndarray: raise NotImplementedError
    def clear(self, leaf: Any) -> None: raise NotImplementedError
    def sgd(self, leaves: list, lr: float) -> None: raise NotImplementedError

    def _runner(self, leaves: list, loss: Callable[[], Any], update: Callable[[], None]) -> Runner:
        def backward():
            for p in leaves:
                self.clear(p)
            loss().backward()

        def gradients():
            backward()
            return [self.grad(p) for p in leaves]

        def step():
            backward()
            update()

        return Runner(gradients, step)

    def mlp(self, spec, params, data):
        leaves = [self.leaf(p) for p in params]
        return self._runner(
            leaves, lambda: mlp_loss(self.F, leaves, data["X"], data["y"], data["rows"], spec),
            lambda: self.sgd(leaves, spec.lr))

    def chain(self, spec, x):
        leaf = self.leaf(x)
        return self._runner([leaf], lambda: chain_loss(leaf, spec), lambda: None)


class _AutogradLite:
    """What the autograd_lite contestants share: the import, the ``ag`` functions that
    `mlp_loss` needs, and the version, read at import (the code may change during a run)."""

    def load(self):
        self.ag = ag = _import("autograd_lite", "pip install -e .")
        self.F = SimpleNamespace(tanh=ag.tanh, sigmoid=ag.sigmoid, relu=ag.relu,
                                 log_softmax=ag.log_softmax)
        self._version = _autograd_lite_version()

    def version(self):
        return self._version


class AutogradLiteTensor(_AutogradLite, TapeContestant):
    """autograd_lite's core API: ``ag.Tensor`` leaves, ``ag`` functions, ``no_grad`` update."""

    name = "autograd_lite Tensor"

    def leaf(self, array): return self.ag.Tensor(array, requires_grad=True)
    def grad(self, leaf): return leaf.grad.copy()
    def clear(self, leaf): leaf.grad = None

    def sgd(self, leaves, lr):
        with self.ag.no_grad():
            for p in leaves:
                p -= lr * p.grad


class MyGrad(TapeContestant):
    """MyGrad: ``mygrad.Tensor`` leaves, its ``nnet`` activations, update through ``.data``."""

    name = "MyGrad"
    distribution = "mygrad"

    def load(self):
        self.mg = mg = _import("mygrad", "pip install mygrad")
        act = mg.nnet.activations
        self.F = SimpleNamespace(tanh=mg.tanh, sigmoid=act.sigmoid, relu=act.relu,
                                 log_softmax=lambda x: act.logsoftmax(x, axis=-1))

    def leaf(self, array): return self.mg.tensor(array)
    def grad(self, leaf): return np.array(leaf.grad)
    def clear(self, leaf): leaf.null_grad()

    def sgd(self, leaves, lr):
        for p in leaves:
            p.data -= lr * p.grad


class Micrograd(TapeContestant):
    """Karpathy's scalar engine. Its PyPI release has only + * ** relu, so exp, log and
    tanh are added in its own style (a closure per node); arrays are NumPy object arrays of
    `Value`s, so the same `mlp_loss` runs on it. Only small workloads: it is scalar."""

    name = "micrograd"
    distribution = "micrograd"
    MAX_SCALAR_MULTIPLIES = 10_000  # per step; W1 has 2,400, W3 already 201,600

    def load(self):
        self.Value = Value = _import("micrograd.engine", "pip install micrograd").Value

        def unary(x, value, derivative, op):
            out = Value(value, (x,), op)

            def _backward():
                x.grad += derivative * out.grad
            out._backward = _backward
            return out

        def exp(x):
            e = math.exp(x.data)
            return unary(x, e, e, "exp")

        def tanh(x):
            t = math.tanh(x.data)
            return unary(x, t, 1 - t * t, "tanh")

        def log(x):
            return unary(x, math.log(x.data), 1 / x.data, "log")

        each = lambda f: np.frompyfunc(f, 1, 1)  # noqa: E731  (elementwise over Values)

        def log_softmax(z):
            # Shift by the largest value (a constant: it cancels in the gradient).
            shift = max(v.data for v in z.flat)
            shifted = z - shift
            return shifted - each(log)(each(exp)(shifted).sum(axis=1, keepdims=True))

        self.F = SimpleNamespace(tanh=each(tanh), relu=each(Value.relu), log_softmax=log_softmax,
                                 sigmoid=each(lambda x: 1 / (1 + exp(-x))))

    def leaf(self, array):
        values = np.empty(array.shape, dtype=object)
        values.flat = [self.Value(v) for v in array.ravel().tolist()]  # Python floats, as its users
        return values

    def grad(self, leaf): return np.vectorize(lambda v: v.grad, otypes=[float])(leaf)

    def clear(self, leaf):
        for v in leaf.flat:
            v.grad = 0

    def sgd(self, leaves, lr):
        for p in leaves:
            for v in p.flat:
                v.data -= lr * v.grad

    def mlp(self, spec, params, data):
        multiplies = spec.batch * sum(fan_in * fan_out for fan_in, fan_out in spec.layers)
        if multiplies > self.MAX_SCALAR_MULTIPLIES:
            raise Skip(f"scalar engine: {multiplies:,} scalar multiplies per step")
        return super().mlp(spec, params, data)


# ---- functional gradients -------------------------------------------------------------
class Functional(Contestant):
    """``grad(loss)(*params)`` with NumPy arrays in and out; the update is plain NumPy."""

    def grad_function(self, fun: Callable, argnum) -> Callable: raise NotImplementedError

    def mlp(self, spec, params, data):
        grad = self.grad_function(
            lambda *ps: mlp_loss(self.F, ps, data["X"], data["y"], data["rows"], spec),
            tuple(range(len(params))))

        def gradients():
            return list(grad(*params))

        return Runner(gradients, lambda: _sgd_in_place(params, gradients(), spec.lr))

    def chain(self, spec, x):
        grad = self.grad_function(lambda v: chain_loss(v, spec), 0)
        return Runner(lambda: [grad(x)], lambda: grad(x))


class AutogradLiteGrad(_AutogradLite, Functional):
    """autograd_lite's functional ``ag.grad``, NumPy arrays in and out."""

    name = "autograd_lite grad"

    def grad_function(self, fun, argnum):
        return self.ag.grad(fun, argnum=argnum)


class AutogradLiteCompiled(AutogradLiteGrad):
    """The issue's stretch goal: ``ag.compile_grad`` records the step once and replays it
    as straight-line NumPy (skipped where the installed autograd_lite has no such thing)."""

    name = "autograd_lite compiled"
    MAX_CHAIN = 10_000  # a trace is written out as one line of Python per op

    def load(self):
        super().load()
        if not hasattr(self.ag, "compile_grad"):
            raise Skip("ag.compile_grad is not in this version of autograd_lite")

    def grad_function(self, fun, argnum):
        compiled = self.ag.compile_grad(fun, argnum)
        return lambda *args: compiled(*args)[1]

    def chain(self, spec, x):
        if spec.depth > self.MAX_CHAIN:
            raise Skip(f"a {spec.depth:,}-op trace would be {spec.depth:,} lines of Python")
        return super().chain(spec, x)


class HipsAutograd(Functional):
    """HIPS autograd, the loss written with ``autograd.numpy`` as its users do."""

    name = "HIPS autograd"
    distribution = "autograd"

    def load(self):
        self.autograd = _import("autograd", "pip install autograd")
        anp = _import("autograd.numpy", "pip install autograd")
        logsumexp = _import("autograd.scipy.special", "pip install autograd scipy").logsumexp
        self.F = SimpleNamespace(tanh=anp.tanh, sigmoid=lambda x: 1 / (1 + anp.exp(-x)),
                                 relu=lambda x: anp.maximum(x, 0),
                                 log_softmax=lambda x: x - logsumexp(x, axis=-1, keepdims=True))

    def grad_function(self, fun, argnum):
        return self.autograd.grad(fun, argnum)


# ---- module style: layers, a loss object, an optimizer -----------------------------------
def _module_runner(spec: MLP, linears: list, forward: Callable, criterion: Callable,
                   sigmoid: Callable, optimizer: Any, X: Any, target: Any,
                   grads_of: Callable[[Any], list[np.ndarray]]) -> Runner:
    """The training step a PyTorch user writes, shared by PyTorch and autograd_lite's nn."""
    n = spec.batch

    def loss():
        out = forward(X)
        value = criterion(out if spec.loss == "cross_entropy" else sigmoid(out), target)
        if spec.l2:
            value = value + spec.l2 / (2 * n) * sum((lin.weight * lin.weight).sum() for lin in linears)
        return value

    def backward():
        optimizer.zero_grad()
        loss().backward()

    def gradients():
        backward()
        return [g for lin in linears for g in grads_of(lin)]

    def step():
        backward()
        optimizer.step()

    return Runner(gradients, step, loss, [p for lin in linears for p in (lin.weight, lin.bias)])


def _first_output(nn: Any, module: Any) -> Any:
    """A module returning the first of ``module``'s outputs (an RNN's output sequence)."""
    class First(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = module

        def forward(self, x):
            return self.inner(x)[0]

    return First()


def _layers_runner(ag: Any, model: Any, params: list[np.ndarray], criterion: Callable,
                   inputs: Callable, target: Any, lr: float, sgd: Any) -> Runner:
    """A layer model as a user writes it: the parameters (in ``params`` order) loaded,
    a loss object, SGD."""
    parameters = list(model.parameters())
    with ag.no_grad():
        for p, value in zip(parameters, params, strict=True):
            p.data = value
    optimizer = sgd(parameters, lr=lr)

    def loss():
        return criterion(model(*inputs()), target)

    def gradients():
        optimizer.zero_grad()
        loss().backward()
        return [p.grad.copy() for p in parameters]

    def step():
        optimizer.zero_grad()
        loss().backward()
        optimizer.step()

    return Runner(gradients, step, loss, parameters)


class AutogradLiteNN(_AutogradLite, Contestant):
    """autograd_lite as a user writes it: nn.Linear layers, an nn loss, nn.optim.SGD."""

    name = "autograd_lite nn"

    def load(self):
        super().load()
        self.nn = nn = _import("nn", "pip install -e .")
        needed = ("Linear", "Sequential", "Tanh", "Sigmoid", "ReLU", "CrossEntropyLoss", "MSELoss")
        missing = [n for n in needed if not hasattr(nn, n)]
        if missing or not hasattr(getattr(nn, "optim", None), "SGD"):
            raise Skip(f"nn is not complete yet (missing {', '.join(missing) or 'optim.SGD'})")

    def mlp(self, spec, params, data):
        linears, model, criterion = self._model(spec, params)
        return _module_runner(spec, linears, model, criterion, self.ag.sigmoid,
                              self.nn.optim.SGD(model.parameters(), lr=spec.lr), data["X"],
                              data["y"], lambda lin: [lin.weight.grad.copy(), lin.bias.grad.copy()])

    def _model(self, spec: MLP, params: list[np.ndarray]) -> tuple[list, Any, Any]:
        """The Linear layers (holding ``params``), the Sequential model and the loss object."""
        nn = self.nn
        linears, modules = [], []
        for layer, (fan_in, fan_out) in enumerate(spec.layers):
            linear = nn.Linear(fan_in, fan_out)
            linear.weight.data = params[2 * layer]
            linear.bias.data = params[2 * layer + 1]
            linears.append(linear)
            modules += [linear, {"tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "relu": nn.ReLU}[spec.activation]()]
        criterion = nn.CrossEntropyLoss() if spec.loss == "cross_entropy" else nn.MSELoss()
        return linears, nn.Sequential(*modules[:-1]), criterion

    def cnn(self, spec, params, data):
        nn = self.nn
        c1, c2 = spec.channels
        model = nn.Sequential(nn.Conv2d(1, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Flatten(), nn.Linear(c2 * 4, 10))
        return _layers_runner(self.ag, model, params, nn.CrossEntropyLoss(),
                              lambda: (data["X"],), data["y"], spec.lr, nn.optim.SGD)

    def lstm(self, spec, params, data):
        nn = self.nn
        embedding, lstm = nn.Embedding(spec.vocab, spec.embed), nn.LSTM(spec.embed, spec.hidden)
        linear = nn.Linear(spec.hidden, spec.vocab)
        model = nn.Sequential(embedding, _first_output(nn, lstm), linear)
        criterion = nn.CrossEntropyLoss()
        return _layers_runner(self.ag, model, params, lambda logits, y: criterion(
            logits.reshape(-1, spec.vocab), y.reshape(-1)), lambda: (data["x"],), data["y"],
            spec.lr, nn.optim.SGD)

    def chain(self, spec, x):
        raise Skip("no layers in a chain: see autograd_lite Tensor")


class AutogradLiteCompiledStep(AutogradLiteNN):
    """The same nn model, loss and SGD, as one ``nn.compile_step``: forward, backward and
    update traced once and replayed (skipped where nn has no compile_step)."""

    name = "autograd_lite compile_step"

    def load(self):
        super().load()
        if not hasattr(self.nn, "compile_step"):
            raise Skip("nn.compile_step is not in this version of nn")

    def mlp(self, spec, params, data):
        linears, model, criterion = self._model(spec, params)
        n, sigmoid = spec.batch, self.ag.sigmoid

        def loss(X, y):
            out = model(X)
            value = criterion(out if spec.loss == "cross_entropy" else sigmoid(out), y)
            if spec.l2:
                value = value + spec.l2 / (2 * n) * sum((lin.weight * lin.weight).sum()
                                                        for lin in linears)
            return value

        step = self.nn.compile_step(loss, self.nn.optim.SGD(model.parameters(), lr=spec.lr))
        X, y = data["X"], data["y"]
        return Runner(lambda: [g.copy() for g in step.value_and_grad(X, y)[1]],
                      lambda: step(X, y))


class PyTorch(TapeContestant):
    """PyTorch CPU eager: torch.nn layers and loss, torch.optim.SGD; the chain on a leaf."""

    name = "PyTorch"
    distribution = "torch"
    traced_memory = False  # torch's allocator is invisible to tracemalloc

    def load(self):
        self.torch = _import("torch", "pip install torch==2.13.0")

    def leaf(self, array): return self.torch.from_numpy(array).requires_grad_()
    def grad(self, leaf): return leaf.grad.numpy().copy()
    def clear(self, leaf): leaf.grad = None

    def cnn(self, spec, params, data):
        torch, f64 = self.torch, self.torch.float64
        c1, c2 = spec.channels
        fc = torch.nn.Linear(c2 * 4, 10, dtype=f64)
        model = torch.nn.Sequential(
            torch.nn.Conv2d(1, c1, 3, padding=1, dtype=f64), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(c1, c2, 3, padding=1, dtype=f64), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Flatten(), fc)
        return _torch_runner(torch, model, params, {id(fc.weight)}, torch.nn.CrossEntropyLoss(),
                             torch.from_numpy(data["X"]), torch.from_numpy(data["y"]), spec.lr)

    def lstm(self, spec, params, data):
        torch, f64 = self.torch, self.torch.float64
        fc = torch.nn.Linear(spec.hidden, spec.vocab, dtype=f64)
        model = torch.nn.ModuleList([torch.nn.Embedding(spec.vocab, spec.embed, dtype=f64),
                                     torch.nn.LSTM(spec.embed, spec.hidden, dtype=f64), fc])

        def forward(x):
            return fc(model[1](model[0](x))[0]).reshape(-1, spec.vocab)

        return _torch_runner(torch, model, params, {id(fc.weight)}, torch.nn.CrossEntropyLoss(),
                             torch.from_numpy(data["x"]), torch.from_numpy(data["y"]).reshape(-1),
                             spec.lr, forward)

    def mlp(self, spec, params, data):
        torch = self.torch
        dtype = getattr(torch, spec.dtype)
        linears, modules = [], []
        for layer, (fan_in, fan_out) in enumerate(spec.layers):
            linear = torch.nn.Linear(fan_in, fan_out, dtype=dtype)
            with torch.no_grad():  # torch keeps weight as (out, in): the transpose of ours
                linear.weight.copy_(torch.from_numpy(params[2 * layer].T))
                linear.bias.copy_(torch.from_numpy(params[2 * layer + 1]))
            linears.append(linear)
            modules += [linear, {"tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid,
                                 "relu": torch.nn.ReLU}[spec.activation]()]
        model = torch.nn.Sequential(*modules[:-1])
        criterion = torch.nn.CrossEntropyLoss() if spec.loss == "cross_entropy" else torch.nn.MSELoss()
        return _module_runner(spec, linears, model, criterion, torch.sigmoid,
                              torch.optim.SGD(model.parameters(), lr=spec.lr),
                              torch.from_numpy(data["X"]), torch.from_numpy(data["y"]),
                              lambda lin: [lin.weight.grad.T.numpy().copy(),
                                           lin.bias.grad.numpy().copy()])


def _torch_runner(torch: Any, model: Any, params: list[np.ndarray], transposed: set,
                  criterion: Any, X: Any, y: Any, lr: float, forward: Callable | None = None
                  ) -> Runner:
    """torch.nn layers with ``params`` loaded (``transposed``: ids of the Linear weights,
    which torch keeps as (out, in)), a loss object, torch.optim.SGD; gradients in our layouts.
    ``forward`` replaces ``model(X)`` where the model is not a plain chain."""
    parameters = list(model.parameters())
    flip = [id(p) in transposed for p in parameters]
    with torch.no_grad():
        for p, value, t in zip(parameters, params, flip, strict=True):
            p.copy_(torch.from_numpy(value.T if t else value))
    optimizer = torch.optim.SGD(parameters, lr=lr)
    forward = forward or model

    def gradients():
        optimizer.zero_grad()
        criterion(forward(X), y).backward()
        return [(p.grad.T if t else p.grad).numpy().copy() for p, t in zip(parameters, flip)]

    def step():
        optimizer.zero_grad()
        criterion(forward(X), y).backward()
        optimizer.step()

    return Runner(gradients, step)


def _autograd_lite_version() -> str:
    """Its version, the last commit that changed autograd_lite/ or nn/, and whether their
    files differ from it (others edit them while benchmarks run)."""
    import subprocess
    from pathlib import Path

    import autograd_lite
    root = Path(autograd_lite.__file__).resolve().parent.parent

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], capture_output=True, text=True, cwd=root,
                              check=True).stdout.strip()

    try:
        commit = git("log", "-1", "--format=%h", "--", "autograd_lite", "nn")
        dirty = git("status", "--porcelain", "--", "autograd_lite", "nn")
    except (OSError, subprocess.CalledProcessError):
        return autograd_lite.__version__
    state = ", with uncommitted changes" if dirty else ""
    return f"{autograd_lite.__version__} (autograd_lite/ and nn/ at commit {commit}{state})"


def all_contestants() -> list[Contestant]:
    """NumPy first (the reference for the gradient check), then the rest in table order."""
    return [HandNumPy(), AutogradLiteNN(), AutogradLiteTensor(), AutogradLiteGrad(),
            AutogradLiteCompiled(), AutogradLiteCompiledStep(), PyTorch(), HipsAutograd(), MyGrad(), Micrograd()]
