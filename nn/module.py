"""Parameter, Module and the containers ModuleList / ModuleDict: registration, buffers,
naming, train/eval, and saving state.

A Module registers every `Parameter` or `Module` assigned to one of its attributes,
in assignment order, and the buffers declared with `Module.register_buffer`.  Calling a module runs ``forward`` inside
``ag.name_scope(<its attribute name>)`` so recorded operations know which module
made them, and the outermost call keeps each Parameter's ``.name`` equal to its
dotted path (``"hidden.weight"``): that is what graph drawing labels nodes with.
"""
from __future__ import annotations

import os
import pickle
import tempfile
import threading
import zipfile
import zlib
from typing import Any, Iterable, Iterator, Mapping, NamedTuple

import numpy as np

import autograd_lite as ag

# What layers and losses accept: a Tensor, or an array (which records nothing itself).
TensorLike = ag.Tensor | np.ndarray

# Bumped by every registration (and by a renaming walk that changed a name), so the
# outermost __call__ can tell in O(1) whether the Parameter names are still right.
_tree_generation = 0


def _bump_generation() -> None:
    global _tree_generation
    _tree_generation += 1


class _CallDepth(threading.local):
    """How many Module calls are running in this thread (0: the next call is outermost)."""

    def __init__(self) -> None:
        self.depth = 0


_calls = _CallDepth()

# One `ag.name_scope` per scope name, made once and entered by every call: a scope object
# keeps no state of its own (entering pushes on ag's per-thread stack, leaving pops), so
# sharing it across calls, nesting and threads is safe, and a call allocates nothing.
_scopes: dict[str, ag.name_scope] = {}


def _scope_named(name: str) -> ag.name_scope:
    scope = _scopes.get(name)
    if scope is None:
        scope = _scopes[name] = ag.name_scope(name)
    return scope


class Parameter(ag.Tensor):
    """A Tensor that a Module registers and an optimizer updates; it always requires grad.

    Integer or boolean data becomes float64; floating data keeps its dtype (float32
    stays float32).  The array is not copied.
    """

    __slots__ = ()

    def __init__(self, data: Any, name: str | None = None) -> None:
        array = np.asarray(ag.unwrap(data))
        if array.dtype.kind in "biu":
            array = array.astype(np.float64)
        elif array.dtype.kind != "f":
            raise TypeError(f"Parameter needs real numbers, got dtype {array.dtype}")
        super().__init__(array, requires_grad=True, name=name)

    def __repr__(self) -> str:
        return "Parameter" + super().__repr__().removeprefix("Tensor")


def _buffer_array(value: Any, name: str) -> np.ndarray | None:
    """What a buffer holds: an ndarray (a Tensor's values, detached) or None."""
    if value is None:
        return None
    array = np.asarray(ag.unwrap(value))
    if array.dtype.kind not in "biuf":
        raise TypeError(f"buffer {name!r} must hold numbers, got dtype {array.dtype}")
    return array


class IncompatibleKeys(NamedTuple):
    """What `Module.load_state_dict(strict=False)` skipped."""

    missing: list[str]
    unexpected: list[str]


class Module:
    """Base class of layers and models: subclasses set attributes in ``__init__``
    (after ``super().__init__()``) and define ``forward``.

    ``parameters()`` and ``named_parameters()`` follow registration order, depth
    first; a Parameter or Module reachable by two paths is listed once, under the
    first.  Plain Tensors assigned as attributes are not registered (wrap them in
    `Parameter` to train them).
    """

    training: bool
    # This module's own parameters that PyTorch's module of the same name stores with
    # the two axes swapped (Linear keeps the seeds' (in, out) weight; PyTorch's is (out,
    # in)).  Everything else already has PyTorch's layout; see state_dict(format="torch").
    torch_transposed: tuple[str, ...] = ()

    def __init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "_registry", {})     # attribute name -> Parameter | Module, in order
        set_(self, "_buffers", {})      # attribute name -> ndarray | None, in order
        set_(self, "_transient", set())  # names of buffers left out of the state dict
        set_(self, "_scope_name", "")   # attribute name in the first parent ("" if none)
        set_(self, "_named_at", -1)     # _tree_generation when this root last named its tree
        set_(self, "training", True)
        _bump_generation()  # a new module may reuse the id() of a dead one

    # ---- registration ----------------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        registry = self.__dict__.get("_registry")
        if registry is None:
            raise AttributeError(
                f"cannot assign {name!r} before Module.__init__() ran: call "
                f"super().__init__() first in {type(self).__name__}.__init__")
        if name in self._buffers:
            value = self._buffers[name] = _buffer_array(value, name)
        elif isinstance(value, (Parameter, Module)):
            if isinstance(value, Module) and value is not self and not value._scope_name:
                object.__setattr__(value, "_scope_name", name)  # the first parent names it
            registry[name] = value
            _bump_generation()
        elif registry.pop(name, None) is not None:
            _bump_generation()
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        if self._registry.pop(name, None) is not None:
            _bump_generation()
        self._buffers.pop(name, None)
        self._transient.discard(name)
        object.__delattr__(self, name)

    def register_buffer(self, name: str, array: Any, persistent: bool = True) -> None:
        """Keep ``array`` (state that is not trained, e.g. a running mean) as ``self.<name>``.

        A buffer is a NumPy array (a Tensor's values, or anything ``numpy.asarray``
        takes) or None.  It is listed by `buffers` and, unless ``persistent=False``,
        saved and loaded with the parameters; an optimizer never sees it.  Assigning
        to ``self.<name>`` later replaces the buffer's array.
        """
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"{type(self).__name__}.register_buffer: buffer name must be a "
                           f"non-empty string without '.', got {name!r}")
        if name not in self._buffers and hasattr(self, name):
            raise KeyError(f"{type(self).__name__}.register_buffer: attribute {name!r} "
                           "already exists")
        self._buffers[name] = None  # from now on __setattr__ treats `name` as a buffer
        (self._transient.discard if persistent else self._transient.add)(name)
        setattr(self, name, array)

    def _named_members(self, prefix: str = "", seen: set | None = None
                       ) -> Iterator[tuple[str, "Parameter | Module"]]:
        """(dotted name, member) for everything registered below, depth first."""
        seen = {id(self)} if seen is None else seen
        for name, member in self._registry.items():
            if id(member) in seen:
                continue
            seen.add(id(member))
            path = prefix + name
            yield path, member
            if isinstance(member, Module):
                yield from member._named_members(path + ".", seen)

    def named_parameters(self) -> Iterator[tuple[str, Parameter]]:
        """``(dotted name, Parameter)`` pairs, e.g. ``("hidden.weight", W)``."""
        return ((n, m) for n, m in self._named_members() if isinstance(m, Parameter))

    def parameters(self) -> Iterator[Parameter]:
        return (m for _, m in self.named_parameters())

    def named_buffers(self) -> Iterator[tuple[str, np.ndarray]]:
        """``(dotted name, array)`` for every buffer that is not None, module by module
        in `named_modules` order (``("bn.running_mean", array)``)."""
        for path, module in self.named_modules():
            prefix = path + "." if path else ""
            for name, array in module._buffers.items():
                if array is not None:
                    yield prefix + name, array

    def buffers(self) -> Iterator[np.ndarray]:
        return (array for _, array in self.named_buffers())

    def _persistent_buffers(self) -> Iterator[tuple[str, np.ndarray, "Module", str]]:
        """(dotted name, array, owning module, attribute name) of what the state dict holds."""
        for path, module in self.named_modules():
            prefix = path + "." if path else ""
            for name, array in module._buffers.items():
                if array is not None and name not in module._transient:
                    yield prefix + name, array, module, name

    def named_modules(self) -> Iterator[tuple[str, "Module"]]:
        """``("", self)`` then every sub-module with its dotted name."""
        yield "", self
        yield from ((n, m) for n, m in self._named_members() if isinstance(m, Module))

    def modules(self) -> Iterator["Module"]:
        return (m for _, m in self.named_modules())

    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        return ((n, m) for n, m in self._registry.items() if isinstance(m, Module))

    def children(self) -> Iterator["Module"]:
        return (m for _, m in self.named_children())

    # ---- calling ----------------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # Every layer of every step comes through here: the common path reads a few
        # fields and enters a cached scope (see `_scopes`); only the outermost call checks
        # the Parameter names, in O(1) unless the module tree changed.
        calls = _calls
        depth = calls.depth
        if depth == 0:
            if self._named_at != _tree_generation:
                self._name_parameters()
            scope = ""  # the outermost module's own operations carry scope ""
        else:
            scope = self._scope_name
        calls.depth = depth + 1
        try:
            if not ag.is_grad_enabled():  # nothing is recorded, so no scope is needed
                return self.forward(*args, **kwargs)
            with _scope_named(scope):
                return self.forward(*args, **kwargs)
        finally:
            calls.depth = depth

    def _name_parameters(self) -> None:
        """Set every Parameter's ``.name`` to its dotted path from this (outermost) module."""
        changed = False
        for name, parameter in self.named_parameters():
            if parameter.name != name:
                parameter.name = name
                changed = True
        if changed:  # other roots sharing these parameters must rename them again
            _bump_generation()
        object.__setattr__(self, "_named_at", _tree_generation)

    # ---- modes and gradients --------------------------------------------------------------
    def train(self, mode: bool = True) -> "Module":
        """Set training mode here and in every sub-module; returns self."""
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self) -> "Module":
        return self.train(False)

    def zero_grad(self) -> None:
        """Set every parameter's ``.grad`` to None (as PyTorch's default, set_to_none=True)."""
        for parameter in self.parameters():
            parameter.grad = None

    # ---- state ---------------------------------------------------------------------------------
    def state_dict(self, format: str = "native") -> dict[str, np.ndarray]:
        """Dotted name -> a copy of its array: the parameters, then the persistent buffers.

        ``format="torch"`` gives PyTorch's layout, which ``torch.nn`` modules of the same
        structure load (after ``torch.from_numpy``): `Linear` weights transposed to
        (out_features, in_features); every other layer's layout is PyTorch's already.
        """
        state = {name: p.data.copy() for name, p in self.named_parameters()}
        state.update((name, array.copy()) for name, array, _, _ in self._persistent_buffers())
        return self._in_layout(state, format)

    def _in_layout(self, state: dict, format: str) -> dict:
        """``state`` converted between this library's layout and ``format``'s (the
        conversion is its own inverse: a transpose of two axes)."""
        if format not in ("native", "torch"):
            raise ValueError(f"state dict format must be 'native' or 'torch', got {format!r}")
        if format == "native":
            return state
        swapped = {prefix + name for prefix, module in
                   ((path + "." if path else "", module) for path, module in self.named_modules())
                   for name in module.torch_transposed}
        return {key: np.ascontiguousarray(np.swapaxes(np.asarray(ag.unwrap(value)), 0, 1))
                if key in swapped and np.ndim(ag.unwrap(value)) == 2 else value
                for key, value in state.items()}

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True,
                        format: str = "native") -> IncompatibleKeys:
        """Copy ``state``'s arrays into the parameters and buffers, in place and keeping
        their dtype.

        Missing or unexpected keys (when ``strict``), and wrong shapes or values that do
        not fit the dtype (always), raise one ValueError naming every offending key, and
        then nothing is loaded.  Optimizers holding the parameters keep working.
        ``format="torch"`` reads PyTorch's layout (what ``state_dict(format="torch")``
        writes, or a ``torch.nn`` module's state dict as NumPy arrays); shapes in its
        errors are then this library's (a Linear weight's transposed).
        """
        state = self._in_layout(dict(state), format)
        parameters = dict(self.named_parameters())
        buffers = {name: array for name, array, _, _ in self._persistent_buffers()}
        own = {**parameters, **buffers}
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        problems = []
        if strict and missing:
            problems.append("missing keys " + ", ".join(map(repr, missing)))
        if strict and unexpected:
            problems.append("unexpected keys " + ", ".join(map(repr, unexpected)))
        arrays = {}
        for key in (k for k in own if k in state):
            value = state[key]
            array = np.asarray(ag.unwrap(value))
            kind = "parameter" if key in parameters else "buffer"
            if array.dtype.kind not in "biuf":
                problems.append(f"{key!r} has non-numeric dtype {array.dtype}")
            elif array.shape != own[key].shape:
                problems.append(f"{key!r} has shape {array.shape}, the {kind} "
                                f"{own[key].shape}")
            elif not np.can_cast(array.dtype, own[key].dtype, "same_kind"):
                problems.append(f"{key!r} has dtype {array.dtype}, the {kind} "
                                f"{own[key].dtype}")
            else:
                arrays[key] = array
        if problems:
            raise ValueError(f"{type(self).__name__}.load_state_dict: " + "; ".join(problems)
                             + "; nothing was loaded")
        with ag.no_grad():
            for key, array in arrays.items():
                if key in parameters:
                    # In place (optimizers keep the same arrays), bumping the version so a
                    # graph recorded before the load refuses to backward.
                    parameters[key].copy_(array)
                else:
                    np.copyto(buffers[key], array, casting="same_kind")
        return IncompatibleKeys(missing, unexpected)

    def astype(self, dtype: Any) -> "Module":
        """Convert every floating parameter (and its gradient) and floating buffer to
        ``dtype``, in place: the Parameter objects stay, so do the optimizers holding
        them (whose state keeps its old dtype until they are rebuilt).  Integer buffers
        (counters) keep theirs, as in PyTorch.  Returns self.
        """
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"{type(self).__name__}.astype needs a floating dtype, got {dtype}")
        for parameter in self.parameters():
            parameter.data = parameter.data.astype(dtype, copy=False)
            if parameter.grad is not None:
                parameter.grad = parameter.grad.astype(dtype, copy=False)
        for module in self.modules():
            for name, array in module._buffers.items():
                if array is not None and array.dtype.kind == "f":
                    setattr(module, name, array.astype(dtype, copy=False))
        return self

    def save(self, path: str | os.PathLike) -> None:
        """Write the state dict to ``path`` as an ``.npz`` archive (exactly that path).

        Written to a temporary file first, so a failed save leaves an old file intact.
        """
        path = os.fspath(path)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), suffix=".npz")
        try:
            with os.fdopen(fd, "wb") as f, zipfile.ZipFile(f, "w") as archive:
                for name, array in self.state_dict().items():
                    with archive.open(name + ".npy", "w") as member:
                        np.lib.format.write_array(member, array, allow_pickle=False)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise

    def load(self, path: str | os.PathLike, strict: bool = True) -> "Module":
        """Load a file written by `save` (read without pickle); returns self.

        A file that is not a valid ``.npz`` archive, or holds object arrays, raises
        ValueError and the module is unchanged.
        """
        try:
            with open(path, "rb") as f:  # np.load would try a non-zip as .npy or pickle
                if not zipfile.is_zipfile(f):
                    raise ValueError("it is not a zip archive")
            with np.load(path, allow_pickle=False) as archive:
                state = {name: archive[name] for name in archive.files}
        except FileNotFoundError:
            raise
        except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile, zlib.error,
                pickle.UnpicklingError) as exc:
            raise ValueError(f"cannot load {os.fspath(path)!r}: not a valid .npz archive of "
                             f"numeric arrays ({exc})") from exc
        self.load_state_dict(state, strict=strict)
        return self

    # ---- repr ----------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The text inside the parentheses of this module's repr (its settings)."""
        return ""

    def __repr__(self) -> str:
        head = f"{type(self).__name__}({self.extra_repr()}"
        lines = [f"({name}): " + repr(child).replace("\n", "\n  ")
                 for name, child in self.named_children()]
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"


def _substitution_slots(module: Module) -> dict[str, list[tuple[Module, str, bool]]]:
    """Dotted name -> every ``(owning module, attribute, is_buffer)`` that holds it: a
    parameter shared by two modules is substituted in both (tied weights stay tied)."""
    holders: dict[int, list] = {}
    for owner in module.modules():
        for attr, member in owner._registry.items():
            if isinstance(member, Parameter):
                holders.setdefault(id(member), []).append((owner, attr, False))
    slots = {name: holders[id(p)] for name, p in module.named_parameters()}
    for path, owner in module.named_modules():
        prefix = path + "." if path else ""
        for attr in owner._buffers:
            slots[prefix + attr] = [(owner, attr, True)]
    return slots


def functional_call(module: Module, params: Mapping[str, Any], args: Any = (),
                    kwargs: Mapping[str, Any] | None = None) -> Any:
    """``module(*args, **kwargs)`` computed with ``params`` in place of its own parameters
    and buffers; the module itself is left as it was (also when the call raises).

    ``params`` maps dotted names (``"fc1.weight"``, ``"bn.running_mean"``, as in
    `Module.named_parameters` / `named_buffers`) to arrays or Tensors of any subset of
    them; the others keep the module's values.  ``args`` is a tuple of positional
    arguments (anything else is one argument).  This makes a model a function of its
    parameters, for the transforms::

        params = {n: p.data for n, p in model.named_parameters()}
        grads = ag.grad(lambda ps: loss_fn(nn.functional_call(model, ps, (X,)), y))(params)

    A substituted parameter is a Tensor (an array is wrapped, without grad); a buffer
    is used as given.  A buffer the forward reassigns (a running mean) is restored
    after the call.  Not thread-safe for one module shared by threads.
    """
    if not isinstance(args, tuple):
        args = (args,)
    slots = _substitution_slots(module)
    unknown = [name for name in params if name not in slots]
    if unknown:
        raise KeyError(f"functional_call: {type(module).__name__} has no parameter or buffer "
                       f"{unknown[0]!r}; its names are {', '.join(slots) or 'none'}")
    saved: list[tuple[Module, str, Any, Any]] = []
    try:
        for name, value in params.items():
            for owner, attr, is_buffer in slots[name]:
                saved.append((owner, attr, owner.__dict__.get(attr),
                              owner._buffers[attr] if is_buffer else None))
                if not is_buffer and not isinstance(value, ag.Tensor):
                    value = ag.Tensor(value)
                # Past __setattr__: registration must not change, only what forward reads.
                object.__setattr__(owner, attr, value)
        return module(*args, **(kwargs or {}))
    finally:
        for owner, attr, attribute, buffer in reversed(saved):
            object.__setattr__(owner, attr, attribute)
            if attr in owner._buffers:
                owner._buffers[attr] = buffer


def input_error(layer: str, problem: str, shape: tuple) -> ValueError:
    """The error for an input a layer cannot take, naming the layer and its setting:
    ``Conv2d(in_channels=3): input has 4 channels (shape (8, 4, 32, 32))``."""
    return ValueError(f"{layer}: {problem} (shape {tuple(shape)})")


def check_module(owner: str, module: Any, where: str) -> "Module":
    """``module`` if it is a Module, else a TypeError naming the container and the slot."""
    if not isinstance(module, Module):
        raise TypeError(f"{owner} takes Modules, got {type(module).__name__} {where}")
    return module


class ModuleList(Module):
    """A list of modules, registered as ``"0"``, ``"1"``, ... (so their parameters are the
    container's).  ``len``, iteration, indexing (a slice gives a ModuleList of the same
    modules), assignment and deletion by index, ``append``, ``extend``, ``insert`` and
    ``+=`` work as on a list; it has no ``forward``: the owner decides how to call them.
    """

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _renumber(self, modules: list[Module]) -> None:
        """Register ``modules`` as "0", "1", ... (names follow positions, as in PyTorch)."""
        for name in list(self._registry):
            delattr(self, name)
        for i, module in enumerate(modules):
            setattr(self, str(i), check_module("ModuleList", module, f"at position {i}"))

    def __len__(self) -> int:
        return len(self._registry)

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._registry.values()))

    def __getitem__(self, index: int | slice) -> "Module":
        modules = list(self._registry.values())
        return ModuleList(modules[index]) if isinstance(index, slice) else modules[index]

    def __setitem__(self, index: int, module: Module) -> None:
        modules = list(self._registry.values())
        modules[index] = module
        self._renumber(modules)

    def __delitem__(self, index: int | slice) -> None:
        modules = list(self._registry.values())
        del modules[index]
        self._renumber(modules)

    def insert(self, index: int, module: Module) -> None:
        modules = list(self._registry.values())
        modules.insert(index, module)
        self._renumber(modules)

    def append(self, module: Module) -> "ModuleList":
        setattr(self, str(len(self)), check_module("ModuleList", module, "in append"))
        return self

    def extend(self, modules: Iterable[Module]) -> "ModuleList":
        if isinstance(modules, Module) and not isinstance(modules, ModuleList):
            raise TypeError(f"ModuleList.extend takes an iterable of Modules, got a "
                            f"{type(modules).__name__}: use append")
        start = len(self)
        for i, module in enumerate(list(modules)):
            setattr(self, str(start + i),
                    check_module("ModuleList", module, f"at position {start + i}"))
        return self

    def __iadd__(self, modules: Iterable[Module]) -> "ModuleList":
        return self.extend(modules)


class ModuleDict(Module):
    """An ordered mapping from names to modules, each registered under its key (so
    ``"encoder.weight"``-style dotted names work).  Keys are non-empty strings without
    ``.`` that do not shadow an attribute (``"train"`` would); ``[]``, ``in``, ``len``,
    iteration over keys, ``keys``, ``values``, ``items``, ``update``, ``pop`` and
    ``clear`` work as on a dict.
    """

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None
                 = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._registry[key]

    def __setitem__(self, key: str, module: Module) -> None:
        if not isinstance(key, str) or not key or "." in key:
            raise KeyError(f"ModuleDict keys must be non-empty strings without '.', got {key!r}")
        if key not in self._registry and hasattr(self, key):
            raise KeyError(f"ModuleDict key {key!r} would shadow the attribute of that name")
        setattr(self, key, check_module("ModuleDict", module, f"for key {key!r}"))

    def __delitem__(self, key: str) -> None:
        if key not in self._registry:
            raise KeyError(key)
        delattr(self, key)

    def __len__(self) -> int:
        return len(self._registry)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._registry))

    def __contains__(self, key: object) -> bool:
        return key in self._registry

    def keys(self) -> list[str]:
        return list(self._registry)

    def values(self) -> list[Module]:
        return list(self._registry.values())

    def items(self) -> list[tuple[str, Module]]:
        return list(self._registry.items())

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> None:
        pairs = modules.items() if isinstance(modules, (Mapping, ModuleDict)) else modules
        for key, module in pairs:
            self[key] = module

    def pop(self, key: str) -> Module:
        module = self[key]
        del self[key]
        return module

    def clear(self) -> None:
        for key in list(self._registry):
            del self[key]
