"""nn.Module and nn.Parameter: registration, naming, scopes, modes, repr, state and files."""
import zipfile

import numpy as np
import pytest

import autograd_lite as ag
import nn


class TwoLayer(nn.Module):
    def __init__(self, rng=None):
        super().__init__()
        self.hidden = nn.Linear(3, 4, rng=rng)
        self.out = nn.Linear(4, 2, rng=rng)

    def forward(self, x):
        return self.out(ag.tanh(self.hidden(x)))


class Outer(nn.Module):
    """A Parameter registered between two sub-modules, and a nested Sequential."""

    def __init__(self):
        super().__init__()
        self.encoder = TwoLayer(np.random.default_rng(0))
        self.scale = nn.Parameter(np.ones(2))
        self.head = nn.Sequential(nn.Linear(2, 2), nn.ReLU())

    def forward(self, x):
        return self.head(self.encoder(x) * self.scale)


# ---- Parameter ---------------------------------------------------------------------------
def test_parameter_is_a_tensor_that_requires_grad():
    p = nn.Parameter([1.0, 2.0])
    assert isinstance(p, ag.Tensor) and p.requires_grad and p.is_leaf
    assert p.dtype == np.float64


@pytest.mark.parametrize("data, dtype", [([1, 2], np.float64), (np.array([True]), np.float64),
                                         (np.zeros(2, np.float32), np.float32),
                                         (np.zeros(2, np.float16), np.float16)])
def test_parameter_converts_integers_to_float64_and_keeps_float_dtypes(data, dtype):
    assert nn.Parameter(data).dtype == dtype


def test_parameter_shares_the_array_and_refuses_complex():
    a = np.zeros(3)
    assert nn.Parameter(a).data is a
    assert nn.Parameter(ag.tensor(a)).data is a
    with pytest.raises(TypeError, match="real"):
        nn.Parameter(np.zeros(2, complex))


def test_parameter_repr_says_parameter():
    assert repr(nn.Parameter([1.0])).startswith("Parameter([1.]")


def test_parameter_gradient_accumulates_like_a_tensor():
    p = nn.Parameter([1.0, -2.0])
    (p * p).sum().backward()
    np.testing.assert_array_equal(p.grad, [2.0, -4.0])


# ---- registration ------------------------------------------------------------------------
def test_named_parameters_follow_registration_order_depth_first():
    names = [n for n, _ in Outer().named_parameters()]
    assert names == ["encoder.hidden.weight", "encoder.hidden.bias", "encoder.out.weight",
                     "encoder.out.bias", "scale", "head.0.weight", "head.0.bias"]
    model = Outer()
    assert [id(p) for p in model.parameters()] == [id(p) for _, p in model.named_parameters()]


def test_children_and_modules():
    model = Outer()
    assert [type(m).__name__ for m in model.children()] == ["TwoLayer", "Sequential"]
    assert [n for n, _ in model.named_modules()] == [
        "", "encoder", "encoder.hidden", "encoder.out", "head", "head.0", "head.1"]
    assert next(model.modules()) is model


def test_shared_parameter_and_module_are_listed_once_under_their_first_name():
    model = nn.Module()
    model.a = nn.Linear(2, 2)
    model.b = model.a
    model.w = model.a.weight
    assert [n for n, _ in model.named_parameters()] == ["a.weight", "a.bias"]
    assert [n for n, _ in model.named_modules()] == ["", "a"]


def test_reassigning_or_deleting_an_attribute_unregisters_it():
    model = nn.Module()
    model.layer = nn.Linear(2, 2)
    model.p = nn.Parameter([1.0])
    model.layer = None
    assert [n for n, _ in model.named_parameters()] == ["p"]
    del model.p
    assert list(model.parameters()) == []
    model.p = nn.Parameter([2.0])  # registering again works
    assert [n for n, _ in model.named_parameters()] == ["p"]


def test_plain_tensors_are_not_registered():
    model = nn.Module()
    model.t = ag.tensor([1.0], requires_grad=True)
    assert list(model.parameters()) == []


def test_assigning_before_super_init_is_a_clear_error():
    class Forgot(nn.Module):
        def __init__(self):
            self.w = nn.Parameter([1.0])

    with pytest.raises(AttributeError, match=r"super\(\)\.__init__\(\)"):
        Forgot()


def test_a_module_holding_itself_does_not_loop_forever():
    model = nn.Linear(1, 1)
    model.me = model
    assert [n for n, _ in model.named_parameters()] == ["weight", "bias"]


def test_deepcopy_gives_an_independent_model():
    import copy
    model = TwoLayer()
    twin = copy.deepcopy(model)
    assert [n for n, _ in twin.named_parameters()] == [n for n, _ in model.named_parameters()]
    twin.hidden.weight.data[...] = 0.0
    assert np.any(model.hidden.weight.data != 0.0)
    assert isinstance(twin.hidden.weight, nn.Parameter)


def test_forward_must_be_defined():
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(1.0)


# ---- parameter names and name scopes (for graph drawing) ---------------------------------
def test_calling_the_outermost_model_names_every_parameter_by_its_dotted_path():
    model = Outer()
    model(np.ones((5, 3)))
    for name, p in model.named_parameters():
        assert p.name == name


def test_sequential_parameters_are_named_by_index():
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    model(np.ones((1, 2)))
    assert [p.name for p in model.parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_names_follow_a_changed_tree_and_the_outermost_caller():
    model, replacement = TwoLayer(), nn.Linear(3, 4)
    x = np.ones((1, 3))
    model(x)
    assert model.hidden.weight.name == "hidden.weight"
    model.hidden = replacement  # its parameters get their names at the next call
    model(x)
    assert replacement.weight.name == "hidden.weight"
    y = model.hidden(x)  # called on its own it is the outermost model
    assert model.hidden.weight.name == "weight" and y.grad_fn.scope == ""
    model(x)
    assert model.hidden.weight.name == "hidden.weight"


def test_an_unchanged_model_does_not_walk_its_tree_again(monkeypatch):
    model = Outer()
    x = np.ones((2, 3))
    model(x)
    loss = nn.MSELoss()
    loss(model(x), np.zeros((2, 2)))  # another outermost module in between
    walks = []
    monkeypatch.setattr(nn.Module, "named_parameters",
                        lambda self: walks.append(self) or iter(()))
    for _ in range(3):
        loss(model(x), np.zeros((2, 2)))
    assert walks == []


def test_operations_carry_the_dotted_module_path_as_scope():
    model = Outer()
    y = model(np.ones((2, 3)))
    relu = y
    linear_add = relu.grad_fn.inputs[0]             # head.0: x @ W + b
    assert (relu.grad_fn.scope, linear_add.grad_fn.scope) == ("head.1", "head.0")
    scaled = linear_add.grad_fn.inputs[0].grad_fn.inputs[0]  # encoder(x) * scale, the root's own op
    assert scaled.grad_fn.scope == ""
    out_add = scaled.grad_fn.inputs[0]
    assert out_add.grad_fn.scope == "encoder.out"
    tanh = out_add.grad_fn.inputs[0].grad_fn.inputs[0]     # ag.tanh in TwoLayer.forward
    assert tanh.grad_fn.scope == "encoder"
    assert tanh.grad_fn.inputs[0].grad_fn.scope == "encoder.hidden"


def test_a_module_in_two_parents_keeps_its_first_name_as_scope():
    shared = nn.Linear(2, 2)
    first, second = nn.Sequential(shared), nn.Module()
    second.layer = shared
    y = nn.Sequential(first)(np.ones((1, 2)))
    assert y.grad_fn.scope == "0.0"
    assert shared._scope_name == "0"


def test_no_scope_or_recording_under_no_grad():
    model = TwoLayer()
    with ag.no_grad():
        y = model(np.ones((1, 3)))
    assert y.grad_fn is None


def test_an_exception_in_forward_resets_the_call_depth():
    class Broken(nn.Module):
        def forward(self, x):
            raise RuntimeError("boom")

    model = nn.Sequential(Broken())
    with pytest.raises(RuntimeError, match="boom"):
        model(1.0)
    lone = nn.Linear(2, 2)
    assert lone(np.ones((1, 2))).grad_fn.scope == ""  # still the outermost call


# ---- modes, gradients, repr ----------------------------------------------------------------
def test_train_and_eval_are_recursive_and_return_self():
    model = Outer()
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_zero_grad_sets_grads_to_none():
    model = TwoLayer()
    model(np.ones((2, 3))).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_repr_shows_the_module_tree():
    assert repr(Outer()) == (
        "Outer(\n"
        "  (encoder): TwoLayer(\n"
        "    (hidden): Linear(in_features=3, out_features=4, bias=True)\n"
        "    (out): Linear(in_features=4, out_features=2, bias=True)\n"
        "  )\n"
        "  (head): Sequential(\n"
        "    (0): Linear(in_features=2, out_features=2, bias=True)\n"
        "    (1): ReLU()\n"
        "  )\n"
        ")")


# ---- state dicts -------------------------------------------------------------------------------
def _snapshot(model):
    return {n: (p.data.copy(), p.data.dtype) for n, p in model.named_parameters()}


def _assert_unchanged(model, snapshot):
    for n, p in model.named_parameters():
        np.testing.assert_array_equal(p.data, snapshot[n][0])
        assert p.dtype == snapshot[n][1]


def test_state_dict_holds_copies():
    model = TwoLayer()
    state = model.state_dict()
    assert list(state) == [n for n, _ in model.named_parameters()]
    state["hidden.weight"][...] = 7.0
    assert not np.any(model.hidden.weight.data == 7.0)


def test_load_state_dict_writes_in_place_keeping_dtype():
    source = TwoLayer(np.random.default_rng(1))
    target = TwoLayer(np.random.default_rng(2))
    target.hidden.weight = nn.Parameter(target.hidden.weight.data.astype(np.float32))
    arrays = {n: p.data for n, p in target.named_parameters()}
    result = target.load_state_dict(source.state_dict())
    assert result == nn.IncompatibleKeys([], [])
    for n, p in target.named_parameters():
        assert p.data is arrays[n]
        np.testing.assert_allclose(p.data, source.state_dict()[n], rtol=1e-7)
    assert target.hidden.weight.dtype == np.float32


def test_load_state_dict_accepts_tensors_and_lists():
    model = nn.Linear(2, 1)
    model.load_state_dict({"weight": ag.tensor([[1.0], [2.0]]), "bias": [3]})
    np.testing.assert_array_equal(model.bias.data, [3.0])


def test_optimizer_keeps_working_after_load_state_dict():
    model = nn.Linear(2, 1)
    optimizer = nn.optim.SGD(model.parameters(), lr=1.0)
    model.load_state_dict({"weight": np.zeros((2, 1)), "bias": np.zeros(1)})
    model(np.ones((1, 2))).sum().backward()
    optimizer.step()
    np.testing.assert_array_equal(model.weight.data, [[-1.0], [-1.0]])


@pytest.mark.parametrize("change, message", [
    (lambda s: s.pop("out.bias"), "missing keys 'out.bias'"),
    (lambda s: s.update(extra=np.ones(1)), "unexpected keys 'extra'"),
    (lambda s: s.update({"hidden.weight": np.ones((4, 3))}),
     r"'hidden.weight' has shape \(4, 3\), the parameter \(3, 4\)"),
    (lambda s: s.update({"out.bias": np.array(["a", "b"])}), "non-numeric"),
])
def test_load_state_dict_errors_load_nothing(change, message):
    model = TwoLayer()
    before = _snapshot(model)
    state = {n: a + 1.0 for n, a in model.state_dict().items()}
    change(state)
    with pytest.raises(ValueError, match=message):
        model.load_state_dict(state)
    _assert_unchanged(model, before)


def test_load_state_dict_names_every_offending_key():
    model = TwoLayer()
    state = model.state_dict()
    del state["hidden.bias"], state["out.bias"]
    state["hidden.weight"] = np.ones(2)
    with pytest.raises(ValueError) as info:
        model.load_state_dict(state)
    for key in ("hidden.bias", "out.bias", "hidden.weight"):
        assert key in str(info.value)


def test_load_state_dict_not_strict_reports_what_it_skipped():
    model = TwoLayer()
    state = model.state_dict()
    new_bias = state.pop("out.bias") + 1.0
    state["hidden.bias"] = state["hidden.bias"] + 1.0
    state["extra"] = new_bias
    result = model.load_state_dict(state, strict=False)
    assert result == nn.IncompatibleKeys(["out.bias"], ["extra"])
    np.testing.assert_array_equal(model.hidden.bias.data, state["hidden.bias"])
    with pytest.raises(ValueError, match="shape"):  # shapes are checked even then
        model.load_state_dict({"out.bias": np.ones(5)}, strict=False)


# ---- files ---------------------------------------------------------------------------------------
def test_save_and_load_round_trip(tmp_path):
    path = tmp_path / "model.weights"  # no .npz suffix: the exact path is used
    source = Outer()
    source.save(path)
    assert path.exists() and not (tmp_path / "model.weights.npz").exists()
    target = Outer()
    assert target.load(path) is target
    for (n, a), (m, b) in zip(source.state_dict().items(), target.state_dict().items()):
        assert n == m
        np.testing.assert_array_equal(a, b)
    assert list(tmp_path.iterdir()) == [path]  # no temporary files left behind


def test_saved_file_is_a_plain_npz(tmp_path):
    path = tmp_path / "m.npz"
    model = nn.Linear(2, 3)
    model.save(path)
    with np.load(path, allow_pickle=False) as archive:
        assert sorted(archive.files) == ["bias", "weight"]
        np.testing.assert_array_equal(archive["weight"], model.weight.data)


def test_save_and_load_keep_float32(tmp_path):
    model = nn.Linear(2, 2, dtype=np.float32)
    model.save(tmp_path / "m.npz")
    fresh = nn.Linear(2, 2, dtype=np.float32).load(tmp_path / "m.npz")
    assert fresh.weight.dtype == np.float32
    np.testing.assert_array_equal(fresh.weight.data, model.weight.data)


def _write_corrupt_files(tmp_path, model):
    good = tmp_path / "good.npz"
    model.save(good)
    data = good.read_bytes()
    flipped = bytearray(data)
    flipped[len(data) // 3] ^= 0xFF  # inside the first member's array bytes
    files = {
        "truncated": data[: len(data) // 2],
        "flipped byte": bytes(flipped),
        "text": b"this is not an archive",
        "empty": b"",
    }
    paths = {}
    for name, content in files.items():
        paths[name] = tmp_path / f"{name}.npz"
        paths[name].write_bytes(content)
    paths["object array"] = tmp_path / "object.npz"
    np.savez(paths["object array"], weight=np.array([None, 1], dtype=object))
    paths["single npy"] = tmp_path / "single.npy"
    np.save(paths["single npy"], np.ones(3))
    paths["bad member"] = tmp_path / "member.npz"
    with zipfile.ZipFile(paths["bad member"], "w") as archive:
        archive.writestr("weight.npy", b"\x93NUMPY garbage")
    return paths


def test_every_bad_file_is_refused_and_the_module_is_unchanged(tmp_path):
    model = TwoLayer()
    before = _snapshot(model)
    for kind, path in _write_corrupt_files(tmp_path, model).items():
        with pytest.raises(ValueError, match="cannot load") as info:
            model.load(path)
        assert str(path) in str(info.value), kind
        _assert_unchanged(model, before)


def test_a_valid_archive_with_the_wrong_keys_is_refused_unchanged(tmp_path):
    model, other = TwoLayer(), nn.Linear(3, 4)
    other.save(tmp_path / "other.npz")
    before = _snapshot(model)
    with pytest.raises(ValueError, match="missing keys"):
        model.load(tmp_path / "other.npz")
    _assert_unchanged(model, before)


def test_loading_a_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        nn.Linear(1, 1).load(tmp_path / "nope.npz")


def test_graph_drawing_labels_parameters_and_groups_modules():
    pytest.importorskip("graphviz")
    model = TwoLayer()
    loss = nn.MSELoss()(model(np.ones((4, 3))), np.zeros((4, 2)))
    source = ag.draw_graph(loss).source
    for name in ("hidden.weight", "hidden.bias", "out.weight", "out.bias"):
        assert name in source
    assert '"cluster:hidden"' in source and '"cluster:out"' in source


def test_load_state_dict_invalidates_graphs_recorded_before_it():
    model = nn.Linear(2, 1, rng=np.random.default_rng(0))
    x = ag.tensor(np.ones((3, 2)), requires_grad=True)  # x's gradient reads the weight
    loss = model(x).sum()
    model.load_state_dict({"weight": np.zeros((2, 1)), "bias": np.zeros(1)})
    with pytest.raises(RuntimeError, match="modified in place"):
        loss.backward()


# ---- buffers and astype ------------------------------------------------------------------------
class Counting(nn.Module):
    """A layer with a float buffer, an integer counter and a transient buffer."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 2, rng=np.random.default_rng(0))
        self.register_buffer("running_mean", np.zeros(2))
        self.register_buffer("count", np.array(0))
        self.register_buffer("scratch", np.ones(3), persistent=False)

    def forward(self, x):
        self.count += 1
        self.running_mean = 0.9 * self.running_mean + 0.1 * np.mean(ag.tensor(x).data, axis=0)
        return self.linear(x)


def test_buffers_are_listed_and_saved_but_are_not_parameters():
    model = nn.Sequential(Counting())
    assert [n for n, _ in model.named_buffers()] == ["0.running_mean", "0.count", "0.scratch"]
    assert len(list(model.buffers())) == 3
    assert [n for n, _ in model.named_parameters()] == ["0.linear.weight", "0.linear.bias"]
    assert list(model.state_dict()) == ["0.linear.weight", "0.linear.bias", "0.running_mean",
                                        "0.count"]


def test_assigning_to_a_buffer_replaces_its_array():
    model = Counting()
    model(np.ones((4, 2)))
    model(np.ones((4, 2)))
    assert model.count == 2 and model.count.dtype.kind == "i"
    np.testing.assert_allclose(model.state_dict()["running_mean"], [0.19, 0.19])
    model.running_mean = ag.tensor([5.0, 6.0])  # a Tensor's values, as an array
    assert type(model.running_mean) is np.ndarray
    np.testing.assert_array_equal(dict(model.named_buffers())["running_mean"], [5.0, 6.0])
    model.running_mean = None  # a None buffer is listed nowhere
    assert "running_mean" not in model.state_dict() and len(list(model.buffers())) == 2
    del model.count
    assert [n for n, _ in model.named_buffers()] == ["scratch"]


def test_buffers_round_trip_through_save_and_load(tmp_path):
    source, target = Counting(), Counting()
    source(np.full((3, 2), 2.0))
    source.save(tmp_path / "m.npz")
    count_array = target.count
    target.load(tmp_path / "m.npz")
    assert target.count is count_array and target.count == 1  # loaded in place
    np.testing.assert_array_equal(target.running_mean, source.running_mean)
    np.testing.assert_array_equal(target.scratch, np.ones(3))  # transient: not in the file


@pytest.mark.parametrize("change, message", [
    (lambda s: s.pop("running_mean"), "missing keys 'running_mean'"),
    (lambda s: s.update(running_mean=np.zeros(3)), r"'running_mean' has shape \(3,\), the buffer"),
    (lambda s: s.update(count=np.array(1.5)), "'count' has dtype float64, the buffer int64"),
])
def test_load_state_dict_checks_buffers_and_loads_nothing_then(change, message):
    model = Counting()
    state = {n: a + 1 for n, a in model.state_dict().items()}
    change(state)
    with pytest.raises(ValueError, match=message):
        model.load_state_dict(state)
    assert model.count == 0 and np.all(model.running_mean == 0)
    np.testing.assert_array_equal(model.linear.bias.data, Counting().linear.bias.data)


@pytest.mark.parametrize("name, value, error, message", [
    ("a.b", np.zeros(1), KeyError, "without '.'"),
    ("", np.zeros(1), KeyError, "non-empty"),
    ("linear", np.zeros(1), KeyError, "'linear' already exists"),
    ("forward", np.zeros(1), KeyError, "'forward' already exists"),
    ("words", np.array(["a"]), TypeError, "'words' must hold numbers"),
])
def test_register_buffer_errors(name, value, error, message):
    with pytest.raises(error, match=message):
        Counting().register_buffer(name, value)


def test_astype_converts_parameters_grads_and_float_buffers_in_place():
    model = Counting()
    weight = model.linear.weight
    optimizer = nn.optim.SGD(model.parameters(), lr=0.1)
    model.linear(np.ones((1, 2))).sum().backward()
    assert model.astype(np.float32) is model
    assert model.linear.weight is weight and weight.dtype == np.float32
    assert weight.grad.dtype == np.float32 and model.linear.bias.dtype == np.float32
    assert model.running_mean.dtype == np.float32 and model.count.dtype.kind == "i"
    optimizer.step()  # the optimizer holds the same Parameters
    assert weight.dtype == np.float32
    assert model(np.ones((1, 2), np.float32)).dtype == np.float32
    with pytest.raises(TypeError, match="floating dtype"):
        model.astype(np.int32)


# ---- containers --------------------------------------------------------------------------------
def _layer(n):
    return nn.Linear(n, n)


def test_module_list_registers_and_renumbers_like_a_list():
    a, b, c, d = _layer(1), _layer(2), _layer(3), _layer(4)
    layers = nn.ModuleList([a, b])
    layers.append(c)
    layers.insert(0, d)
    assert list(layers) == [d, a, b, c] and len(layers) == 4 and layers[-1] is c
    assert [n for n, _ in layers.named_parameters()][::2] == ["0.weight", "1.weight", "2.weight",
                                                              "3.weight"]
    del layers[1]
    layers[0] = a
    layers += [d]
    assert list(layers) == [a, b, c, d]
    assert isinstance(layers[1:3], nn.ModuleList) and list(layers[1:3]) == [b, c]
    model = nn.Module()
    model.blocks = layers
    assert [n for n, _ in model.named_parameters()][0] == "blocks.0.weight"
    assert model.blocks[3].weight.shape == (4, 4)


def test_module_dict_registers_by_key():
    a, b = _layer(1), _layer(2)
    layers = nn.ModuleDict({"encoder": a})
    layers["decoder"] = b
    assert list(layers) == ["encoder", "decoder"] and layers.keys() == ["encoder", "decoder"]
    assert layers.values() == [a, b] and layers.items() == [("encoder", a), ("decoder", b)]
    assert "encoder" in layers and len(layers) == 2 and layers["decoder"] is b
    assert [n for n, _ in layers.named_parameters()] == ["encoder.weight", "encoder.bias",
                                                        "decoder.weight", "decoder.bias"]
    assert layers.pop("encoder") is a and list(layers) == ["decoder"]
    layers.update([("x", a)])
    layers.clear()
    assert len(layers) == 0 and list(layers.parameters()) == []


@pytest.mark.parametrize("make, error, message", [
    (lambda: nn.ModuleList([_layer(1), np.ones(2)]), TypeError,
     "ModuleList takes Modules, got ndarray at position 1"),
    (lambda: nn.ModuleList().append("relu"), TypeError, "ModuleList takes Modules, got str"),
    (lambda: nn.ModuleList().extend(_layer(1)), TypeError, "use append"),
    (lambda: nn.ModuleDict({"a": 3}), TypeError, "ModuleDict takes Modules, got int for key 'a'"),
    (lambda: nn.ModuleDict({"a.b": _layer(1)}), KeyError, "without '.'"),
    (lambda: nn.ModuleDict({"train": _layer(1)}), KeyError, "shadow"),
    (lambda: nn.ModuleDict()["missing"], KeyError, "missing"),
])
def test_container_errors(make, error, message):
    with pytest.raises(error, match=message):
        make()


# ---- functional_call ------------------------------------------------------------------------------
class Normalised(nn.Module):
    """A linear layer after a shift by a running-mean buffer that forward updates."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(3, 2, rng=np.random.default_rng(4))
        self.register_buffer("running_mean", np.zeros(3))

    def forward(self, x):
        if self.training:
            self.running_mean = 0.9 * ag.unwrap(self.running_mean) + 0.1 * ag.unwrap(x).mean(axis=0)
        return ag.tanh(self.fc1(x - self.running_mean))


def _members_now(module):
    return ({n: (p, p.data.copy()) for n, p in module.named_parameters()},
            {n: b.copy() for n, b in module.named_buffers()})


def _as_before(module, snapshot):
    parameters, buffers = snapshot
    for name, p in module.named_parameters():
        assert p is parameters[name][0] and np.array_equal(p.data, parameters[name][1])
        assert module.__dict__.get(name) is None or module.__dict__[name] is p
    for name, b in module.named_buffers():
        np.testing.assert_array_equal(b, buffers[name])
    assert [n for n, _ in module.named_parameters()] == list(parameters)


def test_functional_call_uses_the_given_parameters_and_leaves_the_module_alone():
    model = TwoLayer(np.random.default_rng(1))
    X = np.random.default_rng(2).standard_normal((5, 3))
    before = _members_now(model)
    other = TwoLayer(np.random.default_rng(9))
    params = {n: p.data for n, p in other.named_parameters()}
    np.testing.assert_allclose(nn.functional_call(model, params, (X,)).data, other(X).data)
    _as_before(model, before)
    partial = nn.functional_call(model, {"out.bias": np.full(2, 10.0)}, X)  # a subset; args not a tuple
    np.testing.assert_allclose(partial.data, model(X).data - model.out.bias.data + 10.0)
    _as_before(model, before)
    assert model.hidden.weight.name == "hidden.weight"


def test_gradients_of_a_dict_of_parameters_equal_backward_on_the_model():
    model = TwoLayer(np.random.default_rng(3))
    rng = np.random.default_rng(4)
    X, y = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    loss_fn = nn.MSELoss()
    params = {n: p.data.copy() for n, p in model.named_parameters()}
    grads = ag.grad(lambda ps: loss_fn(nn.functional_call(model, ps, (X,)), y))(params)
    assert all(p.grad is None for p in model.parameters())  # the model's own were not touched
    loss_fn(model(X), y).backward()
    assert list(grads) == list(params)
    for name, p in model.named_parameters():
        np.testing.assert_allclose(grads[name], p.grad, rtol=1e-12)


def test_hessian_and_gradcheck_over_a_models_parameters():
    model = nn.Sequential(nn.Linear(2, 3, rng=np.random.default_rng(5)), nn.Tanh(),
                          nn.Linear(3, 1, rng=np.random.default_rng(6)))
    rng = np.random.default_rng(7)
    X, y = rng.standard_normal((4, 2)), rng.standard_normal((4, 1))
    loss_fn = nn.MSELoss()
    params = {n: p.data for n, p in model.named_parameters()}
    loss = lambda ps: loss_fn(nn.functional_call(model, ps, (X,)), y)
    assert ag.gradcheck(loss, params) and ag.gradgradcheck(loss, params)
    H = ag.hessian(loss)(params)
    flat_names = list(params)
    sizes = [params[n].size for n in flat_names]
    vector = np.concatenate([params[n].ravel() for n in flat_names])

    def flat_loss(v):  # the same loss of one flat vector
        ends = np.cumsum(sizes)
        pieces = [v[end - size:end] for end, size in zip(ends, sizes)]
        return loss({n: piece.reshape(params[n].shape) for n, piece in zip(flat_names, pieces)})

    flat_H = ag.hessian(flat_loss)(vector)
    blocks = np.block([[H[a][b].reshape(params[a].size, params[b].size) for b in flat_names]
                       for a in flat_names])
    np.testing.assert_allclose(blocks, flat_H, rtol=1e-10, atol=1e-13)


def test_gradcheck_names_the_failing_parameter_and_refuses_the_vacuous_check():
    class Wrong(nn.Module):  # a layer whose recorded gradient for fc1.weight is off
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(2, 2, rng=np.random.default_rng(8))

        def forward(self, x):
            w = self.fc1.weight
            halved = 0.5 * w + 0.5 * ag.Tensor(ag.unwrap(w).copy())  # value w, derivative w / 2
            return ag.tanh(x @ halved + self.fc1.bias)

    model = Wrong()
    X = np.random.default_rng(9).standard_normal((3, 2))
    params = {n: p.data for n, p in model.named_parameters()}
    with pytest.raises(ag.GradcheckError, match="input 'fc1.weight' at element index"):
        ag.gradcheck(lambda ps: nn.functional_call(model, ps, (X,)), params)
    healthy = TwoLayer(np.random.default_rng(1))
    loss_fn = nn.MSELoss()
    y = np.zeros((3, 2))
    X3 = np.random.default_rng(9).standard_normal((3, 3))
    with pytest.raises(ag.GradcheckError, match="does not depend on input 0"):
        ag.gradcheck(lambda *ps: loss_fn(healthy(X3), y), *healthy.parameters())


def test_functional_call_replaces_buffers_and_restores_them_after_forward_reassigns():
    model = Normalised()
    X = np.random.default_rng(10).standard_normal((4, 3))
    before = _members_now(model)
    shift = np.full(3, 0.25)
    model.eval()
    out = nn.functional_call(model, {"running_mean": shift}, (X,))
    np.testing.assert_allclose(out.data, np.tanh((X - shift) @ model.fc1.weight.data + model.fc1.bias.data))
    model.train()  # forward now reassigns the buffer: restored afterwards
    nn.functional_call(model, {"running_mean": shift}, (X,))
    _as_before(model, before)
    assert model.running_mean is model._buffers["running_mean"]
    model.eval()
    g = ag.grad(lambda m: ag.sum(nn.functional_call(model, {"running_mean": m}, (X,))))(shift)
    h = np.tanh((X - shift) @ model.fc1.weight.data + model.fc1.bias.data)
    expected = -((1 - h ** 2) @ model.fc1.weight.data.T).sum(axis=0)
    np.testing.assert_allclose(g, expected, rtol=1e-12)


def test_functional_call_restores_the_module_when_forward_raises():
    model = TwoLayer(np.random.default_rng(1))
    before = _members_now(model)
    with pytest.raises(ValueError):
        nn.functional_call(model, {"hidden.weight": np.ones((3, 4))}, (np.ones((2, 7)),))
    _as_before(model, before)
    with pytest.raises(KeyError, match="no parameter or buffer 'hidden.weigth'"):
        nn.functional_call(model, {"hidden.weigth": np.ones((3, 4))}, (np.ones((2, 3)),))


def test_functional_call_keeps_tied_parameters_tied():
    shared = nn.Linear(2, 2, rng=np.random.default_rng(0))
    model = nn.Sequential(shared, nn.Tanh(), shared)
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias"]
    X = np.ones((1, 2))
    params = {"0.weight": np.eye(2), "0.bias": np.zeros(2)}
    np.testing.assert_allclose(nn.functional_call(model, params, (X,)).data, np.tanh(X))


def test_functional_call_passes_keyword_arguments():
    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(np.ones(2))

        def forward(self, x, scale=1.0):
            return x * self.w * scale

    out = nn.functional_call(Scaled(), {"w": np.array([2.0, 3.0])}, (np.ones(2),), {"scale": 10.0})
    np.testing.assert_allclose(out.data, [20.0, 30.0])


def test_module_calls_reuse_one_scope_object_per_name_and_keep_scopes_right():
    # Issue 16: __call__ enters a cached ag.name_scope rather than making one per call.
    from nn import module as module_impl

    class Inner(nn.Module):
        def forward(self, x):
            return x * 2.0

    class Outer(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = Inner()

        def forward(self, x):
            return self.inner(x) + 1.0

    model, x = Outer(), ag.tensor([1.0], requires_grad=True)
    first = model(x)
    cached = dict(module_impl._scopes)
    second = model(x)
    assert all(module_impl._scopes[k] is v for k, v in cached.items())
    for y in (first, second):
        assert y.grad_fn.scope == "" and y.grad_fn.inputs[0].grad_fn.scope == "inner"
