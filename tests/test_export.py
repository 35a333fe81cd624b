"""ONNX export: onnxruntime runs the exported models and agrees with autograd_lite.

Agreement is the largest difference relative to the largest output,
max|onnx - ours| / max(1, max|ours|): within 1e-10 in float64 and 1e-5 in float32, for
the five tutorial models (at the traced batch size and others, via dynamic_axes),
random programs from the gradient fuzzer's generator (forward only), and the layers'
models (a digits CNN, an LSTM language model) once those layers exist.
"""
from __future__ import annotations

import re
import sys

import numpy as np
import onnx
import onnxruntime
import pytest
from hypothesis import given, note, settings, HealthCheck
from hypothesis import strategies as st

import autograd_lite as ag
import nn
from autograd_lite.export import ONNX_OPS, REFUSED, ExportError, TraceWarning
from oracles import readme_block
import test_fuzz as fuzz

TOLERANCE = {np.dtype(np.float64): 1e-10, np.dtype(np.float32): 1e-5}


def run_onnx(path, *inputs, names=None) -> list[np.ndarray]:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1  # a small shared machine
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    names = names or [i.name for i in session.get_inputs()]
    return session.run(None, dict(zip(names, inputs)))


def disagreement(actual, expected) -> tuple[float, float]:
    """(max |actual - expected|, that divided by max(1, max |expected|))."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    if actual.size == 0:
        return 0.0, 0.0
    worst = float(np.max(np.abs(actual.astype(np.float64) - expected.astype(np.float64))))
    return worst, worst / max(1.0, float(np.max(np.abs(expected))))


def assert_agrees(actual, expected, what: str = "") -> float:
    absolute, relative = disagreement(actual, expected)
    tolerance = TOLERANCE[np.asarray(expected).dtype]
    assert relative <= tolerance, f"{what}: onnxruntime differs by {absolute:.3g} ({relative:.3g} relative)"
    return relative


def op_types(model) -> list[str]:
    return [node.op_type for node in model.graph.node]


# ---- the five tutorial models -----------------------------------------------------------
def tutorial_model(name: str):
    """The tutorial's model as its example rebuilds it (initial weights), and its inputs."""
    from examples import (autoencoder_838, moons_tanh_softmax, polynomial_classifier,
                          shallow_regression, sigmoid_toy_classifier)
    if name == "sigmoid_toy_classifier":
        return sigmoid_toy_classifier.build_model(), sigmoid_toy_classifier.make_datasets()["moons"][0]
    if name == "shallow_regression":
        return shallow_regression.build_model(), shallow_regression.make_data()[0].T
    if name == "polynomial_classifier":  # its forward gives probabilities: logits, then softmax
        X, _, params, _ = polynomial_classifier.make_data_and_params()
        return nn.Sequential(polynomial_classifier.build_model(params), nn.Softmax()), X
    if name == "autoencoder_838":
        return autoencoder_838.build_model(), autoencoder_838.make_data()
    if name == "moons_tanh_softmax":
        X = moons_tanh_softmax.make_data()[0]
        return nn.Sequential(moons_tanh_softmax.build_model(3), nn.Softmax()), X
    raise KeyError(name)


TUTORIALS = ["sigmoid_toy_classifier", "shallow_regression", "polynomial_classifier",
             "autoencoder_838", "moons_tanh_softmax"]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", TUTORIALS)
def test_tutorial_models_agree_at_every_batch_size(name, dtype, tmp_path):
    model, X = tutorial_model(name)
    model.astype(dtype)
    X = X.astype(dtype)
    path = tmp_path / f"{name}.onnx"
    exported = ag.export_onnx(model, X[:5], path, input_names=["x"], output_names=["y"],
                              dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
    assert exported.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert exported.graph.output[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert {i.name for i in exported.graph.initializer} >= {n for n, _ in model.named_parameters()}
    for batch in (X[:5], X[:1], X[:7], X):  # the traced size, and others
        (y,) = run_onnx(path, batch)
        assert_agrees(y, model(batch).data, f"{name} at batch {len(batch)}")


def test_softmax_and_log_softmax_export_as_their_operators(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4, rng=np.random.default_rng(0)), nn.Softmax())
    exported = ag.export_onnx(model, np.ones((2, 3)), tmp_path / "m.onnx")
    assert op_types(exported) == ["MatMul", "Add", "Softmax"]
    exported = ag.export_onnx(lambda x: ag.log_softmax(x, axis=0), np.ones((2, 3)), tmp_path / "l.onnx")
    assert op_types(exported) == ["LogSoftmax"]
    assert exported.graph.node[0].attribute[0].i == 0
    # log_softmax by hand over two axes is no LogSoftmax: its parts are exported instead
    x = np.arange(6.0).reshape(2, 3)
    exported = ag.export_onnx(lambda t: t - ag.logsumexp(t, axis=(0, 1), keepdims=True), x,
                              tmp_path / "two.onnx")
    assert op_types(exported) == ["ReduceLogSumExp", "Sub"]
    assert_agrees(run_onnx(tmp_path / "two.onnx", x)[0], x - np.log(np.exp(x).sum()))


# ---- random programs from the fuzzer ------------------------------------------------------------
SINKS = re.compile(r"B\.sum\((\w+) \* c\d+\)")


def forward_program(program: "fuzz.Built", dtype) -> tuple:
    """The fuzzed program's values nothing else used, returned as outputs (not summed), with
    floating constants and inputs in ``dtype``."""
    body, ret = program.source.split("\n    return")
    source = body + f"\n    return ({', '.join(SINKS.findall(ret))},)\n"
    consts = {n: v.astype(dtype) if v.dtype.kind == "f" else v for n, v in program.consts.items()}
    namespace = {"ag": ag, "array": np.array, **consts}
    exec(compile(source, "<fuzzed program>", "exec"), namespace)
    return namespace["program"], [x.astype(dtype) for x in program.inputs], source


# The first round's operations: each has an ONNX form (of the second round's, only some do).
EXPORTABLE = [op for op in fuzz.OPERATIONS if op not in fuzz.SECOND_ROUND_OPERATIONS]


@given(program=fuzz.programs(operations=EXPORTABLE))
@settings(max_examples=150, derandomize=True, deadline=None, print_blob=True,
          suppress_health_check=list(HealthCheck))
def test_random_programs_from_the_fuzzer_agree(program, tmp_path_factory):
    """Programs from the fuzzer's generator over its exportable operations."""
    path = tmp_path_factory.mktemp("fuzz") / "program.onnx"
    for dtype in (np.float64, np.float32):
        fn, xs, source = forward_program(program, dtype)
        note(f"{np.dtype(dtype)}:\n{source}")
        expected = [t.data for t in fn(*map(ag.tensor, xs))]  # (an array -= a Tensor is refused)
        ag.export_onnx(fn, xs, path)
        for k, (got, want) in enumerate(zip(run_onnx(path, *xs), expected)):
            assert_agrees(got, want, f"output {k}")


# ---- dynamic axes -----------------------------------------------------------------------------
class Recurrent(nn.Module):
    """What an RNN does with the batch: a zero state of shape (N, H), a stack over time
    steps, a reshape merging time and batch for the output layer."""

    def __init__(self) -> None:
        super().__init__()
        rng = np.random.default_rng(1)
        self.cell = nn.Linear(3 + 4, 4, rng=rng)
        self.out = nn.Linear(4, 2, rng=rng)

    def forward(self, x):  # x (T, N, 3)
        h = np.zeros((x.shape[1], 4))
        states = []
        for t in range(x.shape[0]):
            h = ag.tanh(self.cell(ag.concatenate([x[t], h], axis=-1)))
            states.append(h)
        hs = ag.stack(states)                             # (T, N, 4)
        flat = ag.reshape(hs, (-1, 4))                    # (T*N, 4)
        logits = self.out(flat).reshape(x.shape[0], x.shape[1], 2)
        return ag.log_softmax(logits), hs[-1]


def test_dynamic_batch_through_zero_states_stacks_and_reshapes(tmp_path):
    model = Recurrent()
    x = np.random.default_rng(0).standard_normal((5, 3, 3))
    path = tmp_path / "rnn.onnx"
    exported = ag.export_onnx(model, x, path, input_names=["x"], output_names=["y", "h"],
                              dynamic_axes={"x": {1: "batch"}})
    dims = [[d.dim_param or d.dim_value for d in o.type.tensor_type.shape.dim]
            for o in exported.graph.output]
    assert dims == [[5, "batch", 2], ["batch", 4]]  # found from the two recordings
    for batch in (3, 1, 8):
        xb = np.random.default_rng(batch).standard_normal((5, batch, 3))
        y, h = run_onnx(path, xb)
        expected_y, expected_h = model(xb)
        assert_agrees(y, expected_y.data, f"batch {batch}")
        assert_agrees(h, expected_h.data, f"batch {batch}")


def test_a_constant_that_follows_the_batch_is_refused_with_dynamic_axes(tmp_path):
    def mean_over_batch(x):
        return x - ag.mean(x, axis=0)  # divides by the batch size, a number in the graph

    x = np.ones((4, 3))
    ag.export_onnx(mean_over_batch, x, tmp_path / "static.onnx")  # without: fine
    with pytest.raises(ExportError, match=r"cannot export `divide`.*operand 1, a constant, "
                                          r"changes when the example does"):
        ag.export_onnx(mean_over_batch, x, tmp_path / "m.onnx", input_names=["x"],
                       dynamic_axes={"x": [0]})


def test_control_flow_on_the_batch_size_is_refused_with_dynamic_axes(tmp_path):
    def branches(x):
        return ag.exp(x) if len(x) % 2 == 0 else ag.tanh(x)

    with pytest.raises(ExportError, match="control flow depends on those lengths"):
        ag.export_onnx(branches, np.ones((4, 3)), tmp_path / "m.onnx", input_names=["x"],
                       dynamic_axes={"x": [0]})


def test_value_dependent_control_flow_is_exported_as_traced(tmp_path):
    def relu_if_all_ones(x):  # (any other example takes the other branch)
        return ag.relu(x) if np.all(x.data == 1.0) else -x

    path = tmp_path / "m.onnx"
    with pytest.warns(TraceWarning, match="exported as traced"):
        ag.export_onnx(relu_if_all_ones, np.ones(3), path)
    (y,) = run_onnx(path, -np.ones(3))
    np.testing.assert_array_equal(y, np.zeros(3))  # the branch taken when tracing


@pytest.mark.parametrize("key", [
    (slice(None), slice(1, None)), (Ellipsis, -1), (None, slice(None, None, -1)), (slice(1, -1), 0),
    (slice(None), slice(None, None, 2), None), (slice(None), np.array([2, 0, 2])),
    (Ellipsis, np.array([[1], [0]])), ()])
def test_indexing_keeps_the_batch_dynamic(key, tmp_path):
    path = tmp_path / "index.onnx"
    ag.export_onnx(lambda x: x[key] * 2.0, np.ones((4, 3)), path, input_names=["x"],
                   dynamic_axes={"x": [0]})
    for batch in (4, 2, 6):
        x = np.arange(batch * 3.0).reshape(batch, 3)
        assert_agrees(run_onnx(path, x)[0], x[key] * 2.0, f"batch {batch}")


def test_fancy_indexing_that_needs_the_whole_shape_is_refused_with_dynamic_axes(tmp_path):
    def pick(x):
        return x[np.array([0, 1]), np.array([2, 0])]  # gathered by flat positions

    ag.export_onnx(pick, np.ones((4, 3)), tmp_path / "static.onnx")
    with pytest.raises(ExportError, match=r"`getitem`.*indexing with arrays and masks needs "
                                          r"operand 0's whole shape"):
        ag.export_onnx(pick, np.ones((4, 3)), tmp_path / "m.onnx", input_names=["x"],
                       dynamic_axes={"x": [0]})


def test_a_mask_computed_from_the_values_outside_the_graph_is_refused(tmp_path):
    def leaky(x):  # the comparison is no recorded operation: its mask would be frozen
        return ag.where(x.data > 0, x, 0.1 * x)

    with pytest.raises(ExportError, match=r"(?s)`where`.*operand 0, a constant, changes when "
                                          r"the example does.*a mask from comparing arrays"):
        ag.export_onnx(leaky, np.linspace(-1, 1, 6), tmp_path / "m.onnx")
    ag.export_onnx(lambda x: ag.maximum(x, 0.1 * x), np.linspace(-1, 1, 6), tmp_path / "ok.onnx")


def test_a_model_that_fails_at_another_batch_size_is_an_export_error(tmp_path):
    def pick(x):
        return x[np.array([True, False, True, True])]  # a mask the size of the batch

    with pytest.raises(ExportError, match=r"fails for a second example with the dynamic axes one longer.*"
                                          r"boolean index did not match"):
        ag.export_onnx(pick, np.ones((4, 3)), tmp_path / "m.onnx", input_names=["x"],
                       dynamic_axes={"x": [0]})


def test_integer_inputs_index_an_embedding_table(tmp_path):
    table = ag.Tensor(np.random.default_rng(0).standard_normal((10, 3)), requires_grad=True,
                      name="table")
    tokens = np.array([[1, 2], [9, 0], [3, 3]])
    path = tmp_path / "embedding.onnx"
    exported = ag.export_onnx(lambda t, w: ag.sum(table[t], axis=1) * w, (tokens, np.ones((3, 3))),
                              path, input_names=["tokens", "w"],
                              dynamic_axes={"tokens": {0: "batch"}, "w": {0: "batch"}})
    initializers = {i.name: onnx.numpy_helper.to_array(i) for i in exported.graph.initializer}
    assert "table" in initializers  # and the tokens are an input, not a constant:
    assert not any(a.shape == tokens.shape for a in initializers.values())
    assert "Gather" in op_types(exported)
    other = np.array([[4, 5], [6, 7], [8, 9], [0, 1], [2, 3]])
    w = np.full((5, 3), 0.5)
    assert_agrees(run_onnx(path, other, w)[0], table.data[other].sum(axis=1) * w)


# ---- what the exporter gives and refuses --------------------------------------------------------
def test_parameters_are_named_initializers_and_the_module_is_exported_in_eval_mode(tmp_path):
    model = nn.Sequential(nn.Linear(2, 3, rng=np.random.default_rng(0)), nn.Dropout(0.5),
                          nn.ReLU())
    model.train()
    path = tmp_path / "m.onnx"
    exported = ag.export_onnx(model, np.ones((4, 2)), path)
    assert model.training and model[1].training  # restored
    assert sorted(i.name for i in exported.graph.initializer) == ["0.bias", "0.weight"]
    assert "Dropout" not in op_types(exported) and "Mul" not in op_types(exported)
    x = np.random.default_rng(1).standard_normal((4, 2))
    assert_agrees(run_onnx(path, x)[0], model.eval()(x).data)


def test_containers_of_outputs_are_flattened_and_inputs_may_be_outputs(tmp_path):
    path = tmp_path / "m.onnx"
    exported = ag.export_onnx(lambda a, b: {"sum": a + b, "pair": (a, ag.exp(b))},
                              (np.ones(2), np.zeros(2)), path, output_names=["s", "a", "e"])
    assert [o.name for o in exported.graph.output] == ["s", "a", "e"]
    s, a, e = run_onnx(path, np.array([1.0, 2.0]), np.array([0.0, 1.0]))
    np.testing.assert_allclose([s, a, e], [[1, 3], [1, 2], [1, np.e]], rtol=1e-15)


def test_an_operation_without_an_onnx_form_is_an_error_naming_it_and_the_line(tmp_path):
    @ag.primitive
    def softsign(x):
        return x / (1 + np.abs(x))

    softsign.defvjp(lambda g, ans, x: g / (1 + np.abs(x)) ** 2)

    def model(x):
        h = ag.tanh(x)
        return softsign(h)  # the line named

    line = model.__code__.co_firstlineno + 2
    with pytest.raises(ExportError) as error:
        ag.export_onnx(model, np.ones(3), tmp_path / "m.onnx")
    message = str(error.value)
    assert "cannot export `softsign` to ONNX: no ONNX form" in message
    assert f"test_export.py:{line} in model: return softsign(h)" in message


def test_an_example_holding_nan_still_exports_and_errors_say_where_they_cannot(tmp_path):
    x = np.array([np.nan, 1.0])
    path = tmp_path / "m.onnx"
    ag.export_onnx(lambda t: ag.exp(t) + 1.0, x, path)
    np.testing.assert_allclose(run_onnx(path, x)[0], np.exp(x) + 1.0, rtol=1e-15)

    unknown = ag.primitive(lambda t: t, name="unknown").defvjp(lambda g, ans, t: g)
    with pytest.raises(ExportError, match="(?s)`unknown`.*unknown place"):
        ag.export_onnx(lambda t: unknown(ag.exp(t)), x, tmp_path / "u.onnx")


def test_every_primitive_of_the_table_has_an_onnx_form_or_a_reason():
    import autograd_lite.primitives as table
    names = {p.name for p in vars(table).values() if isinstance(p, ag.Primitive)}
    assert names - set(ONNX_OPS) - set(REFUSED) == set()
    assert set(ONNX_OPS) & set(REFUSED) == set()


def test_log1p_and_expm1_keep_their_digits_near_zero(tmp_path):
    x = np.array([1e-12, -3e-9, 1e-5, 0.3, -0.7, 4.0, 0.0, -1e-300])
    path = tmp_path / "m.onnx"
    ag.export_onnx(lambda t: (ag.log1p(t), ag.expm1(t)), x, path)
    log1p, expm1 = run_onnx(path, x)
    np.testing.assert_allclose(log1p, np.log1p(x), rtol=4e-16, atol=0)
    np.testing.assert_allclose(expm1, np.expm1(x), rtol=4e-16, atol=0)


def test_operands_of_other_dtypes_are_cast_as_numpy_promotes(tmp_path):
    def mixed(x):  # float32 input, a float64 constant: NumPy computes in float64
        return ag.concatenate([x * np.float64(0.1), x.astype(np.float64)]) + np.ones(1)

    x = np.array([1.5, -2.25], dtype=np.float32)
    path = tmp_path / "m.onnx"
    ag.export_onnx(mixed, x, path)
    (y,) = run_onnx(path, x)
    assert y.dtype == np.float64
    assert_agrees(y, mixed(ag.tensor(x)).data)


def test_bad_names_and_axes_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="input_names must be 1 distinct names"):
        ag.export_onnx(ag.exp, np.ones(2), tmp_path / "m.onnx", input_names=["a", "b"])
    with pytest.raises(ValueError, match="names 'z', which is neither an input"):
        ag.export_onnx(ag.exp, np.ones(2), tmp_path / "m.onnx", input_names=["x"],
                       dynamic_axes={"z": [0]})


# ---- the layers' models (once nn has them) -------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_digits_cnn_agrees(dtype, tmp_path):
    from sklearn.datasets import load_digits
    images = load_digits().images.astype(dtype)[:, None] / 16.0  # (1797, 1, 8, 8)
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(8, 16, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(16 * 2 * 2, 10, rng=rng), nn.LogSoftmax())
    model.astype(dtype)
    path = tmp_path / "cnn.onnx"
    exported = ag.export_onnx(model, images[:4], path, input_names=["images"],
                              output_names=["log_p"], dynamic_axes={"images": {0: "batch"}})
    assert {"Conv", "MaxPool"} <= set(op_types(exported)) or dtype == np.float64
    for batch in (images[:4], images[:1], images[:64]):
        assert_agrees(run_onnx(path, batch)[0], model(batch).data, f"batch {len(batch)}")


class OutputSequence(nn.Module):
    """A recurrent layer's output sequence, without its final state."""

    def __init__(self, recurrent) -> None:
        super().__init__()
        self.recurrent = recurrent

    def forward(self, x):
        return self.recurrent(x)[0]


LAYER_MODELS = {  # name -> (the model, its input's shape, whose axis 0 is the batch)
    "Conv1d groups, dilation, stride": ("nn.Conv1d(4, 6, 3, stride=2, padding=2, dilation=2, groups=2)",
                                        (3, 4, 11)),
    "Conv2d same padding": ("nn.Conv2d(2, 3, (3, 2), padding='same')", (2, 2, 5, 6)),
    "MaxPool2d padded": ("nn.MaxPool2d(3, stride=2, padding=1)", (2, 3, 7, 6)),
    "AvgPool2d padded": ("nn.AvgPool2d(3, stride=2, padding=1)", (2, 3, 7, 6)),
    "MaxPool1d": ("nn.MaxPool1d(2)", (2, 3, 8)),
    "AvgPool1d": ("nn.AvgPool1d(3, stride=1)", (2, 3, 8)),
    "BatchNorm2d (eval)": ("nn.BatchNorm2d(3)", (4, 3, 2, 2)),
    "LayerNorm": ("nn.LayerNorm((3, 4))", (2, 3, 4)),
    "GroupNorm": ("nn.GroupNorm(2, 4)", (3, 4, 5)),
    "GRU, two layers, bidirectional": ("nn.Sequential(nn.GRU(3, 4, num_layers=2, bidirectional=True))",
                                       (5, 2, 3)),
    "activations": ("nn.Sequential(nn.SiLU(), nn.GELU(approximate='tanh'), nn.Tanh())", (4, 6)),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", LAYER_MODELS)
def test_layers_agree_at_every_batch_size(name, dtype, tmp_path):
    expression, shape = LAYER_MODELS[name]
    model = eval(expression, {"nn": nn})
    if "GRU" in name:
        model = OutputSequence(model[0])
    model.eval()  # (as exported: BatchNorm on its running statistics)
    rng = np.random.default_rng(0)
    if hasattr(model, "named_buffers"):  # running statistics that are not 0 and 1
        for name_, buffer in model.named_buffers():
            if buffer.dtype.kind == "f":
                buffer[...] = rng.uniform(0.5, 1.5, buffer.shape)
    model.astype(dtype)
    x = rng.standard_normal(shape).astype(dtype)
    path = tmp_path / "layer.onnx"
    batch_axis = 1 if "GRU" in name else 0
    ag.export_onnx(model, x, path, input_names=["x"], dynamic_axes={"x": {batch_axis: "batch"}})
    for n in (shape[batch_axis], 1, shape[batch_axis] + 3):
        shape_n = list(shape)
        shape_n[batch_axis] = n
        xn = rng.standard_normal(shape_n).astype(dtype)
        assert_agrees(run_onnx(path, xn)[0], model(xn).data, f"batch {n}")


@pytest.mark.parametrize("layer, op_type", [("LeakyReLU", "LeakyRelu"), ("ELU", "Elu"),
                                            ("Hardtanh", "Clip"), ("Softplus", "Softplus")])
def test_piecewise_activations_export_as_their_onnx_operators(layer, op_type, tmp_path):
    """They choose their piece inside a table entry (no mask compared outside the
    recording), so the exported model chooses again for new inputs."""
    model = getattr(nn, layer)()
    path = tmp_path / "m.onnx"
    assert op_type in op_types(ag.export_onnx(model, np.linspace(-3, 3, 8, dtype=np.float32), path))
    x = np.linspace(30, -30, 8, dtype=np.float32)  # other signs, and past softplus' threshold
    assert_agrees(run_onnx(path, x)[0], model(x).data)


def test_cbrt_and_hypot_export(tmp_path):
    x = np.array([[-8.0, 0.5, 27.0], [1e-3, -2.0, 3.0]])
    path = tmp_path / "roots.onnx"
    ag.export_onnx(lambda t: np.cbrt(t) + np.hypot(t, 2.0), x, path)
    y = np.array([[0.2, -1.0, 4.0], [-64.0, 0.0, 5.0]])
    assert_agrees(run_onnx(path, y)[0], np.cbrt(y) + np.hypot(y, 2.0))


def test_sort_exports_as_topk(tmp_path):
    x = np.array([[3.0, -1.0, 2.0], [0.5, 0.25, -4.0]])
    path = tmp_path / "sort.onnx"
    assert "TopK" in op_types(ag.export_onnx(lambda t: np.sort(t, axis=1), x, path))
    y = np.array([[-2.0, 7.0, 1.0], [9.0, 9.0, 0.0]])
    assert_agrees(run_onnx(path, y)[0], np.sort(y, axis=1))


def test_gelu_exports_erf(tmp_path):
    model = nn.GELU()
    x = np.linspace(-4, 4, 9, dtype=np.float32)
    path = tmp_path / "gelu.onnx"
    assert "Erf" in op_types(ag.export_onnx(model, x, path))
    assert_agrees(run_onnx(path, x)[0], model(x).data)  # (onnxruntime has Erf in float32 only)


class CharLM(nn.Module):
    """Embedding -> LSTM -> Linear: next-character logits for (T, N) token indices."""

    def __init__(self, vocabulary: int = 12, width: int = 8, hidden: int = 16) -> None:
        super().__init__()
        rng = np.random.default_rng(0)
        self.embed = nn.Embedding(vocabulary, width, rng=rng)
        self.lstm = nn.LSTM(width, hidden, rng=rng)
        self.head = nn.Linear(hidden, vocabulary, rng=rng)

    def forward(self, tokens):
        output, _ = self.lstm(self.embed(tokens))
        return ag.log_softmax(self.head(output))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_an_lstm_language_model_agrees(dtype, tmp_path):
    model = CharLM()
    model.astype(dtype)
    tokens = np.random.default_rng(1).integers(0, 12, size=(6, 3))
    path = tmp_path / "lstm.onnx"
    ag.export_onnx(model, tokens, path, input_names=["tokens"], output_names=["log_p"],
                   dynamic_axes={"tokens": {1: "batch"}})
    for batch in (3, 1, 5):
        other = np.random.default_rng(batch).integers(0, 12, size=(6, batch))
        assert_agrees(run_onnx(path, other)[0], model(other).data, f"batch {batch}")


# ---- the README -----------------------------------------------------------------------------
def test_the_readme_export_example_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(readme_block("## Export"), "README.md", "exec"), namespace)
    assert (tmp_path / "classifier.onnx").exists()
    assert namespace["difference"] <= 1e-10
