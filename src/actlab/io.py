"""Model and data files: actlab JSON, PyTorch and ONNX; every bad file is one clear ActlabError.

Formats (chosen by suffix when writing, by suffix or content when reading):

- ``.json``: the contract's ``{"format": "actlab-mlp/1", "layers": [{"weight", "bias",
  "activation"}]}``, weight (out, in); activation any catalogue spec (the head ``sigmoid``,
  ``softmax`` or ``identity``).
- ``.pt`` / ``.pth``: read ONLY with ``torch.load(weights_only=True)``. actlab writes
  ``{"format": "actlab-mlp/1", "activations": [spec, ...], "state_dict": ...}`` where the state
  dict is that of ``to_torch(network)``, an ``nn.Sequential`` of Linear and activation modules.
  A plain state dict of Linear layers (e.g. ``model.state_dict()``) is read when the activation
  specs are given.
- ``.onnx``: a chain of Gemm (or MatMul + Add) and activation nodes. actlab writes float64 by
  default; activations ONNX lacks (or lacks in float64 in onnxruntime) are written as a small
  pattern of primitive ops whose nodes carry ``doc_string = "actlab-activation:<spec>"`` and are
  recognised by that tag on import. ONNX has no float64 Erf in onnxruntime, so an exact ``gelu``
  in a float64 file evaluates erf in float32 there (about 1e-7 relative); actlab reads it back
  as exact gelu.

Data files: ``{"x": [[...], ...], "y": [...]}``, ``y`` optional. Limits on untrusted input:
files larger than ``MAX_FILE_BYTES``, JSON files with more than ``MAX_JSON_VALUES`` values
(counted before parsing), PyTorch archives that unpack to more than ``MAX_FILE_BYTES`` (a zip
bomb) and models with more than ``MAX_PARAMETERS`` parameters are refused. Writes are atomic.
"""

from __future__ import annotations

import functools
import io as _io
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from actlab.activations import Activation, parse_activation
from actlab.activations.base import format_number
from actlab.data import Dataset
from actlab.errors import ActlabError
from actlab.fileio import atomic_write_bytes, atomic_write_text
from actlab.network import Network, _head_or_hidden

if TYPE_CHECKING:
    import onnx
    import torch

FORMAT = "actlab-mlp/1"
MAX_FILE_BYTES = 100 * 1024 * 1024
MAX_JSON_VALUES = 10_000_000      # a parsed JSON number costs ~32 bytes of Python objects
MAX_PARAMETERS = 10_000_000
TAG = "actlab-activation:"
JSON_SUFFIXES = (".json",)
TORCH_SUFFIXES = (".pt", ".pth")
ONNX_SUFFIXES = (".onnx",)
ONNX_OPSET = 17


# --- reading files safely ---------------------------------------------------------------------
def read_input_bytes(path: str | os.PathLike[str], what: str = "file") -> bytes:
    """The bytes of an input file; ActlabError when it is missing, a directory, empty,
    unreadable or larger than MAX_FILE_BYTES."""
    p = Path(path)
    if p.is_dir():
        raise ActlabError(f"{p} is a directory, not a {what}")
    if not p.exists():
        raise ActlabError(f"no such {what}: {p}")
    try:
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ActlabError(f"{p} is {size / 2**20:.0f} MB, more than the "
                              f"{MAX_FILE_BYTES // 2**20} MB limit for input files")
        with p.open("rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise ActlabError(f"cannot read {p}: {error.strerror or error}") from None
    if len(data) > MAX_FILE_BYTES:
        raise ActlabError(f"{p} is larger than the {MAX_FILE_BYTES // 2**20} MB limit")
    if not data.strip():
        raise ActlabError(f"{p} is empty")
    return data


def _reject_constant(name: str) -> float:
    raise ActlabError(f"{name} is not a number JSON allows (weights must be finite numbers)")


def read_json(path: str | os.PathLike[str], what: str = "JSON file") -> Any:
    """Parse a JSON file strictly (no NaN / Infinity); ActlabError with the position on failure."""
    data = read_input_bytes(path, what)
    if data.count(b",") >= MAX_JSON_VALUES:  # every value but one follows a comma
        raise ActlabError(f"{path} holds more than {MAX_JSON_VALUES:,} values, the limit for a "
                          f"JSON {what}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ActlabError(f"{path} is not UTF-8 text, so not a JSON {what}") from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        raise ActlabError(f"{path} is not valid JSON ({error.msg} at line {error.lineno}, "
                          f"column {error.colno}; truncated?)") from None
    except RecursionError:
        raise ActlabError(f"{path} is nested too deeply to be a {what}") from None


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ActlabError(f"{where} must be a number, got {json.dumps(value)[:40]}")
    number = float(value)
    if not math.isfinite(number):
        raise ActlabError(f"{where} must be a finite number, got {value}")
    return number


def _vector(value: Any, where: str) -> np.ndarray:
    if not isinstance(value, list) or not value:
        raise ActlabError(f"{where} must be a non-empty list of numbers")
    return np.array([_number(v, f"{where}[{i}]") for i, v in enumerate(value)])


def _matrix(value: Any, where: str) -> np.ndarray:
    if not isinstance(value, list) or not value:
        raise ActlabError(f"{where} must be a non-empty list of rows")
    rows = [_vector(r, f"{where}[{i}]") for i, r in enumerate(value)]
    if len({len(r) for r in rows}) != 1:
        raise ActlabError(f"{where}: rows have different lengths "
                          f"({sorted({len(r) for r in rows})})")
    return np.array(rows)


def _keys(obj: Any, where: str, required: set[str],
          optional: frozenset[str] | set[str] = frozenset()) -> None:
    if not isinstance(obj, dict):
        raise ActlabError(f"{where} must be a JSON object")
    missing = sorted(required - set(obj))
    if missing:
        raise ActlabError(f"{where} lacks {', '.join(repr(m) for m in missing)}")
    unknown = sorted(set(obj) - required - optional)
    if unknown:
        allowed = ", ".join(sorted(required | optional))
        raise ActlabError(f"{where} has unknown key {unknown[0]!r} (allowed: {allowed})")


# --- actlab JSON ------------------------------------------------------------------------------
def network_to_dict(network: Network) -> dict[str, Any]:
    """The contract's JSON model: {"format": "actlab-mlp/1", "layers": [...]}."""
    return {"format": FORMAT, "layers": [
        {"weight": layer.weight.tolist(), "bias": layer.bias.tolist(),
         "activation": layer.activation.spec} for layer in network.layers]}


def network_from_dict(obj: Any, name: str = "network") -> Network:
    """Validate a JSON model object and build the Network."""
    _keys(obj, "the model", {"format", "layers"}, {"name"})
    if obj["format"] != FORMAT:
        raise ActlabError(f"format is {obj['format']!r}; actlab reads {FORMAT!r}")
    layers = obj["layers"]
    if not isinstance(layers, list) or not layers:
        raise ActlabError("'layers' must be a non-empty list")
    weights, biases, acts = [], [], []
    for i, layer in enumerate(layers):
        _keys(layer, f"layers[{i}]", {"weight", "bias", "activation"})
        weights.append(_matrix(layer["weight"], f"layers[{i}].weight"))
        biases.append(_vector(layer["bias"], f"layers[{i}].bias"))
        if not isinstance(layer["activation"], str):
            raise ActlabError(f"layers[{i}].activation must be a spec string like \"relu\"")
        try:
            acts.append(_head_or_hidden(layer["activation"]))
        except ActlabError as error:
            raise ActlabError(f"layers[{i}].activation: {error}") from None
    label = obj.get("name", name)
    return Network.from_arrays(weights, biases, acts, name=str(label))


# --- PyTorch ----------------------------------------------------------------------------------
def __getattr__(name: str) -> Any:
    """``ActlabActivation`` (a torch Module) is built on first use so that importing actlab.io
    does not import torch."""
    if name == "ActlabActivation":
        return _actlab_module_class()
    raise AttributeError(name)


@functools.cache
def _actlab_module_class() -> type:
    import torch

    class ActlabActivation(torch.nn.Module):
        """Any catalogue activation as a torch Module: ActlabActivation("plu:alpha=0.2,c=1").
        It has no parameters, so a Sequential's state_dict holds only its Linear layers."""

        def __init__(self, spec: str) -> None:
            super().__init__()
            self.activation = parse_activation(spec)
            self.spec = self.activation.spec

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.activation.torch(x)

        def extra_repr(self) -> str:
            return repr(self.spec)

    return ActlabActivation


def _torch_module(activation: Activation) -> torch.nn.Module | None:
    """The PyTorch module for an activation: a built-in where PyTorch's equals ours exactly,
    else ActlabActivation(spec). identity -> None (no module)."""
    from torch import nn

    name, params = activation.name, activation.params
    simple = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "selu": nn.SELU,
              "mish": nn.Mish}
    if name == "identity":
        return None
    if name in simple:
        return simple[name]()
    if name == "softmax":
        return nn.Softmax(dim=-1)
    if name == "leaky_relu":
        return nn.LeakyReLU(float(params["slope"]))
    if name == "elu":
        return nn.ELU(float(params["alpha"]))
    if name == "gelu":
        return nn.GELU(approximate=str(params["approx"]))
    if name == "hardtanh":
        return nn.Hardtanh(float(params["min_val"]), float(params["max_val"]))
    if name == "swish" and float(params["beta"]) == 1.0:
        return nn.SiLU()
    return _actlab_module_class()(activation.spec)


def to_torch(network: Network, dtype: torch.dtype | None = None) -> torch.nn.Sequential:
    """nn.Sequential of Linear + activation modules computing the network (head included:
    Sigmoid / Softmax give probabilities, identity gives logits). float64 unless told."""
    import torch
    from torch import nn

    dtype = torch.float64 if dtype is None else dtype
    modules: list[nn.Module] = []
    for layer in network.layers:
        out_dim, in_dim = layer.weight.shape
        linear = nn.utils.skip_init(nn.Linear, in_dim, out_dim, dtype=dtype)  # no RNG use
        with torch.no_grad():
            linear.weight.copy_(torch.as_tensor(layer.weight))
            linear.bias.copy_(torch.as_tensor(layer.bias))
        modules.append(linear)
        act = _torch_module(layer.activation)
        if act is not None:
            modules.append(act)
    return nn.Sequential(*modules)


def _spec_of_module(module: torch.nn.Module) -> str | None:
    """The catalogue spec of a PyTorch activation module (None for Identity / Dropout).
    nn.Softplus is read as the exact softplus: its linear cut-off above ``threshold`` (default
    20) changes values by less than exp(-threshold) / beta."""
    from torch import nn

    fmt = format_number
    if isinstance(module, nn.Identity | nn.Dropout):
        return None
    if type(module) is _actlab_module_class():
        return module.spec
    table: dict[type, Any] = {
        nn.ReLU: lambda m: "relu", nn.Sigmoid: lambda m: "sigmoid", nn.Tanh: lambda m: "tanh",
        nn.SELU: lambda m: "selu", nn.Mish: lambda m: "mish", nn.SiLU: lambda m: "swish:beta=1",
        nn.LeakyReLU: lambda m: f"leaky_relu:slope={fmt(m.negative_slope)}",
        nn.ELU: lambda m: f"elu:alpha={fmt(m.alpha)}",
        nn.GELU: lambda m: f"gelu:approx={m.approximate}",
        nn.Hardtanh: lambda m: f"hardtanh:min_val={fmt(m.min_val)},max_val={fmt(m.max_val)}",
        nn.Softplus: lambda m: f"softplus:beta={fmt(m.beta)}",
        nn.Softmax: lambda m: "softmax" if m.dim in (-1, 1, None) else None,
        nn.LogSoftmax: lambda m: "softmax" if m.dim in (-1, 1, None) else None,
    }
    for cls, spec in table.items():
        if type(module) is cls:
            result = spec(module)
            if result is None:
                raise ActlabError(f"{module} must act on the last dimension")
            return result
    raise ActlabError(f"unsupported PyTorch module {type(module).__name__}: actlab reads "
                      "Linear layers and the catalogue's activations")


def _flatten(module: torch.nn.Module) -> list[torch.nn.Module]:
    from torch import nn

    if isinstance(module, nn.Sequential):
        return [m for child in module for m in _flatten(child)]
    return [module]


def from_torch(module: torch.nn.Module, name: str = "network") -> Network:
    """The Network an nn.Sequential of Linear + activation modules computes (nested Sequentials
    are flattened; Identity and Dropout are skipped; a missing activation is identity)."""
    from torch import nn

    weights, biases, acts = [], [], []
    for m in _flatten(module):
        if isinstance(m, nn.Linear):
            weights.append(m.weight.detach().double().numpy())
            biases.append(np.zeros(m.out_features) if m.bias is None
                          else m.bias.detach().double().numpy())
            acts.append(None)
            continue
        spec = _spec_of_module(m)
        if spec is None:
            continue
        if not acts or acts[-1] is not None:
            raise ActlabError(f"{type(m).__name__} must follow a Linear layer")
        acts[-1] = spec
    if not weights:
        raise ActlabError("the module has no Linear layer")
    return Network.from_arrays(weights, biases, [a or "identity" for a in acts], name=name)


def _layers_from_state_dict(state: Any) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Weights and biases of the Linear layers in a state dict, in order."""
    import torch

    if not isinstance(state, dict) or not state:
        raise ActlabError("the state dict must be a non-empty mapping of names to tensors")
    groups: dict[str, dict[str, np.ndarray]] = {}
    for key, value in state.items():
        prefix, _, kind = str(key).rpartition(".")
        if kind not in ("weight", "bias"):
            raise ActlabError(f"unsupported state dict entry {key!r}: actlab reads Linear "
                              "layers (name.weight, name.bias)")
        if not isinstance(value, torch.Tensor) or not value.is_floating_point():
            raise ActlabError(f"state dict entry {key!r} is not a floating-point tensor")
        groups.setdefault(prefix, {})[kind] = value.detach().double().numpy()
    weights, biases = [], []
    for prefix, group in groups.items():
        if "weight" not in group or group["weight"].ndim != 2:
            raise ActlabError(f"layer {prefix!r} has no 2-D weight")
        weights.append(group["weight"])
        biases.append(group.get("bias", np.zeros(group["weight"].shape[0])))
    return weights, biases


def _activation_list(specs: str | Sequence[str] | None, layers: int,
                     outputs: int) -> list[str]:
    """Per-layer specs: one per layer, or one per hidden layer (head: sigmoid for one output,
    softmax for several), or a single spec for every hidden layer."""
    if specs is None:
        raise ActlabError("this is a plain state dict: it holds no activations, so give them "
                          "(one spec per hidden layer, e.g. relu; on the command line --act relu)")
    head = "sigmoid" if outputs == 1 else "softmax"
    if isinstance(specs, str):
        return [specs] * (layers - 1) + [head]
    specs = list(specs)
    if len(specs) == layers - 1:
        return [*specs, head]
    if len(specs) == layers:
        return specs
    raise ActlabError(f"{layers} layers need {layers - 1} hidden activations (or {layers}), "
                      f"got {len(specs)}")


def network_from_torch_object(obj: Any, activations: str | Sequence[str] | None = None,
                              name: str = "network") -> Network:
    """Network from what torch.load(weights_only=True) returned: actlab's dict or a plain
    state dict (then ``activations`` are needed)."""
    if isinstance(obj, dict) and "format" in obj:
        _keys(obj, "the PyTorch file", {"format", "activations", "state_dict"})
        if obj["format"] != FORMAT:
            raise ActlabError(f"format is {obj['format']!r}; actlab reads {FORMAT!r}")
        specs = obj["activations"]
        if not isinstance(specs, list) or not all(isinstance(s, str) for s in specs):
            raise ActlabError("'activations' must be a list of spec strings")
        weights, biases = _layers_from_state_dict(obj["state_dict"])
        if len(specs) != len(weights):
            raise ActlabError(f"{len(weights)} Linear layers but {len(specs)} activations")
    else:
        weights, biases = _layers_from_state_dict(obj)
        specs = _activation_list(activations, len(weights), weights[-1].shape[0])
    return Network.from_arrays(weights, biases, specs, name=name)


def _check_archive_size(data: bytes) -> None:
    """ActlabError when a zip (PyTorch's format) would unpack to more than MAX_FILE_BYTES: torch
    reads compressed entries too, so a small file could otherwise fill the memory."""
    import zipfile

    if data[:4] != b"PK\x03\x04":
        return
    try:
        with zipfile.ZipFile(_io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # not a readable zip: torch.load reports it
    if unpacked > MAX_FILE_BYTES:
        raise ActlabError(f"the PyTorch archive unpacks to {unpacked / 2**20:.0f} MB, more than "
                          f"the {MAX_FILE_BYTES // 2**20} MB limit for input files")


def _load_torch(data: bytes) -> Any:
    import torch

    _check_archive_size(data)
    try:
        return torch.load(_io.BytesIO(data), weights_only=True, map_location="cpu")
    except Exception as error:  # any failure to parse an untrusted file is the user's input
        text = str(error)
        if "Unsupported global" in text or "GLOBAL" in text:
            raise ActlabError("the file holds pickled Python objects (e.g. a whole nn.Module), "
                              "which actlab never unpickles: save model.state_dict() or use "
                              "actlab.io.save_model") from None
        raise ActlabError(f"not a readable PyTorch file ({type(error).__name__}; truncated or "
                          "corrupt?)") from None


# --- ONNX -------------------------------------------------------------------------------------
class _OnnxWriter:
    """Collects nodes and constants of the exported graph."""

    def __init__(self, elem: int, np_dtype: type) -> None:
        self.elem, self.np_dtype = elem, np_dtype
        self.nodes: list[Any] = []
        self.inits: list[Any] = []
        self.count = 0

    def const(self, value: float | np.ndarray, name: str | None = None) -> str:
        from onnx import numpy_helper

        self.count += 1
        name = name or f"k{self.count}"
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype=self.np_dtype), name))
        return name

    def node(self, op: str, inputs: list[str], tag: str = "", **attrs: Any) -> str:
        from onnx import helper

        self.count += 1
        out = f"t{self.count}"
        self.nodes.append(helper.make_node(op, inputs, [out], name=f"n{self.count}_{op}",
                                           doc_string=tag, **attrs))
        return out


def _onnx_softplus(w: _OnnxWriter, x: str, tag: str) -> str:
    """softplus(x) = relu(x) + log(1 + exp(-|x|)), stable for any x."""
    tail = w.node("Log", [w.node("Add", [w.const(1.0), w.node("Exp", [
        w.node("Neg", [w.node("Abs", [x], tag)], tag)], tag)], tag)], tag)
    return w.node("Add", [w.node("Relu", [x], tag), tail], tag)


def _onnx_activation(w: _OnnxWriter, act: Activation, x: str) -> str:
    """Append the nodes computing act(x); return the output name."""
    from onnx import TensorProto

    name, p = act.name, act.params
    native = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh"}
    if name == "identity":
        return x
    if name in native:
        return w.node(native[name], [x])
    if name == "softmax":
        return w.node("Softmax", [x], axis=-1)
    tag = TAG + act.spec
    if act.piecewise_linear:
        # f(x) = sum over pieces of [x in piece] * (slope * x + intercept)
        total = None
        for piece in act.pieces():
            masks = []
            if piece.lo != -math.inf:
                op = "GreaterOrEqual" if piece.closed_lo else "Greater"
                masks.append(w.node(op, [x, w.const(piece.lo)], tag))
            if piece.hi != math.inf:
                op = "LessOrEqual" if piece.closed_hi else "Less"
                masks.append(w.node(op, [x, w.const(piece.hi)], tag))
            mask = masks[0] if len(masks) == 1 else w.node("And", masks, tag)
            line = w.node("Add", [w.node("Mul", [x, w.const(piece.slope)], tag),
                                  w.const(piece.intercept)], tag)
            term = w.node("Mul", [w.node("Cast", [mask], tag, to=w.elem), line], tag)
            total = term if total is None else w.node("Add", [total, term], tag)
        assert total is not None
        return total
    if name in ("elu", "selu"):
        alpha = float(p["alpha"]) if name == "elu" else act.ALPHA  # type: ignore[attr-defined]
        neg = w.node("Mul", [w.const(alpha), w.node("Sub", [w.node("Exp", [w.node(
            "Min", [x, w.const(0.0)], tag)], tag), w.const(1.0)], tag)], tag)
        out = w.node("Where", [w.node("Greater", [x, w.const(0.0)], tag), x, neg], tag)
        return out if name == "elu" else w.node("Mul", [w.const(act.SCALE), out], tag)  # type: ignore[attr-defined]
    if name == "swish":
        scaled = w.node("Mul", [x, w.const(float(p["beta"]))], tag)
        return w.node("Mul", [x, w.node("Sigmoid", [scaled], tag)], tag)
    if name == "softplus":
        beta = float(p["beta"])
        sp = _onnx_softplus(w, w.node("Mul", [x, w.const(beta)], tag), tag)
        return w.node("Div", [sp, w.const(beta)], tag)
    if name == "mish":
        return w.node("Mul", [x, w.node("Tanh", [_onnx_softplus(w, x, tag)], tag)], tag)
    if name == "gelu" and p["approx"] == "tanh":
        from actlab.activations.smooth import GELU_TANH_C, GELU_TANH_K

        cube = w.node("Mul", [w.node("Mul", [x, x], tag), x], tag)
        inner = w.node("Add", [x, w.node("Mul", [cube, w.const(GELU_TANH_C)], tag)], tag)
        t = w.node("Tanh", [w.node("Mul", [inner, w.const(GELU_TANH_K)], tag)], tag)
        half_x = w.node("Mul", [x, w.const(0.5)], tag)
        return w.node("Mul", [half_x, w.node("Add", [w.const(1.0), t], tag)], tag)
    if name == "gelu":
        u = w.node("Div", [x, w.const(math.sqrt(2.0))], tag)
        if w.elem == TensorProto.DOUBLE:  # onnxruntime has Erf in float32 only
            u = w.node("Cast", [u], tag, to=TensorProto.FLOAT)
        erf = w.node("Erf", [u], tag)
        if w.elem == TensorProto.DOUBLE:
            erf = w.node("Cast", [erf], tag, to=TensorProto.DOUBLE)
        half_x = w.node("Mul", [x, w.const(0.5)], tag)
        return w.node("Mul", [half_x, w.node("Add", [w.const(1.0), erf], tag)], tag)
    raise ActlabError(f"{act.spec} cannot be written to ONNX (a user's own expression has no "
                      "ONNX form); save it as JSON or PyTorch")


def to_onnx(network: Network, dtype: str = "float64") -> onnx.ModelProto:
    """ONNX model: input "input" (N, d) -> Gemm + activation per layer -> output "output"
    (probabilities for a sigmoid / softmax head, logits for identity)."""
    import onnx
    from onnx import TensorProto, helper

    if dtype not in ("float64", "float32"):
        raise ActlabError(f"ONNX dtype must be float64 or float32, not {dtype!r}")
    elem = TensorProto.DOUBLE if dtype == "float64" else TensorProto.FLOAT
    w = _OnnxWriter(elem, np.float64 if dtype == "float64" else np.float32)
    cur = "input"
    for l, layer in enumerate(network.layers):
        weight = w.const(layer.weight, f"layer{l}.weight")
        bias = w.const(layer.bias, f"layer{l}.bias")
        cur = w.node("Gemm", [cur, weight, bias], transB=1)
        cur = _onnx_activation(w, layer.activation, cur)
    w.nodes.append(helper.make_node("Identity", [cur], ["output"], name="output"))
    graph = helper.make_graph(
        w.nodes, network.name,
        [helper.make_tensor_value_info("input", elem, ["N", network.input_dim])],
        [helper.make_tensor_value_info("output", elem, ["N", network.num_outputs])],
        w.inits)
    model = helper.make_model(graph, producer_name="actlab",
                              opset_imports=[helper.make_opsetid("", ONNX_OPSET)])
    model.ir_version = 8
    model.doc_string = f"actlab MLP ({FORMAT}); activations: " + ", ".join(
        layer.activation.spec for layer in network.layers)
    onnx.checker.check_model(model)
    return model


def _onnx_float(value: float) -> float:
    """An ONNX float attribute (stored as float32) as the decimal it was written from."""
    return float(str(np.float32(value)))


def from_onnx(model: onnx.ModelProto, name: str = "network") -> Network:
    """Read a plain MLP: a chain of Gemm / MatMul(+Add) and activation nodes."""
    from onnx import TensorProto, helper, numpy_helper

    graph = model.graph
    consts: dict[str, np.ndarray] = {}

    def tensor(init: Any, what: str) -> np.ndarray:
        if init.data_location == TensorProto.EXTERNAL or init.external_data:
            # numpy_helper would read the named file (relative to the working directory):
            # a model file must never make actlab read other files
            raise ActlabError(f"ONNX {what} keeps its data in an external file; actlab reads "
                              "self-contained ONNX files only")
        try:
            return numpy_helper.to_array(init).astype(np.float64)
        except Exception:  # odd types, inconsistent sizes
            raise ActlabError(f"cannot read ONNX {what} (an unsupported type?)") from None

    for init in graph.initializer:
        consts[init.name] = tensor(init, f"initializer {init.name!r}")
    inputs = [i.name for i in graph.input if i.name not in consts]
    if len(inputs) != 1 or len(graph.output) != 1:
        raise ActlabError("actlab reads ONNX models with one input and one output")
    cur = inputs[0]
    weights: list[np.ndarray] = []
    biases: list[np.ndarray] = []
    acts: list[str | None] = []
    nodes = list(graph.node)

    def attrs(node: Any) -> dict[str, Any]:
        values = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        return {k: v.decode() if isinstance(v, bytes) else v for k, v in values.items()}

    def const(name: str, node: Any) -> np.ndarray:
        if name not in consts:
            raise ActlabError(f"ONNX node {node.name or node.op_type}: {name!r} must be a "
                              "constant (initializer)")
        return consts[name]

    def set_activation(spec: str, node: Any) -> None:
        if not acts or acts[-1] is not None:
            raise ActlabError(f"ONNX node {node.name or node.op_type} ({node.op_type}) must "
                              "follow a linear layer (Gemm or MatMul)")
        acts[-1] = spec

    i = 0
    while i < len(nodes):
        node = nodes[i]
        op = node.op_type
        if op == "Constant":
            value = attrs(node).get("value")
            if value is None:
                raise ActlabError("unsupported ONNX Constant (only tensor values)")
            consts[node.output[0]] = tensor(value, f"Constant {node.name or node.output[0]!r}")
            i += 1
            continue
        if node.doc_string.startswith(TAG):
            tag, j = node.doc_string, i
            known = {cur}
            while j < len(nodes) and nodes[j].doc_string == tag:
                if not all(t in known or t in consts for t in nodes[j].input):
                    raise ActlabError(f"ONNX node {nodes[j].name}: tagged activation pattern "
                                      "reads a tensor from outside the pattern")
                known.update(nodes[j].output)
                j += 1
            set_activation(tag[len(TAG):], node)
            cur, i = nodes[j - 1].output[0], j
            continue
        if cur not in node.input:
            raise ActlabError(f"ONNX node {node.name or op} ({op}) does not continue the chain: "
                              "actlab reads plain MLPs (one path from input to output)")
        a = attrs(node)
        if op == "Gemm":
            if a.get("transA", 0):
                raise ActlabError("ONNX Gemm with transA=1 is not a dense layer on the input")
            b_mat = const(node.input[1], node)
            weight = b_mat if a.get("transB", 0) else b_mat.T
            weight = weight * _onnx_float(a.get("alpha", 1.0))
            bias = (_bias(const(node.input[2], node), weight.shape[0], node)
                    * _onnx_float(a.get("beta", 1.0)) if len(node.input) > 2 and node.input[2]
                    else np.zeros(weight.shape[0]))
            weights.append(np.array(weight, dtype=np.float64))
            biases.append(np.array(bias, dtype=np.float64))
            acts.append(None)
            cur = node.output[0]
        elif op == "MatMul":
            if node.input[0] != cur:
                raise ActlabError("ONNX MatMul must multiply the input by a constant matrix")
            weights.append(const(node.input[1], node).T.copy())
            bias = np.zeros(weights[-1].shape[0])
            cur = node.output[0]
            if i + 1 < len(nodes) and nodes[i + 1].op_type == "Add" and cur in nodes[i + 1].input:
                other = [t for t in nodes[i + 1].input if t != cur]
                bias = _bias(const(other[0], nodes[i + 1]), len(bias), nodes[i + 1])
                cur = nodes[i + 1].output[0]
                i += 1
            biases.append(bias)
            acts.append(None)
        elif op == "Identity":
            cur = node.output[0]
        elif op == "Sigmoid" and i + 1 < len(nodes) and nodes[i + 1].op_type == "Mul" and set(
                nodes[i + 1].input) == {cur, node.output[0]}:
            set_activation("swish:beta=1", node)    # x * sigmoid(x): how PyTorch exports SiLU
            cur, i = nodes[i + 1].output[0], i + 1
        else:
            set_activation(_onnx_activation_spec(node, a, consts), node)
            cur = node.output[0]
        i += 1
    if cur != graph.output[0].name:
        raise ActlabError("the ONNX graph's output is not the end of the layer chain")
    if not weights:
        raise ActlabError("the ONNX model has no Gemm or MatMul layer")
    return Network.from_arrays(weights, biases, [s or "identity" for s in acts], name=name)


def _bias(value: np.ndarray, size: int, node: Any) -> np.ndarray:
    """A bias constant of shape (), (1,), (size,) or (1, size) as a vector of ``size``."""
    if value.size == 1:
        return np.full(size, float(value.reshape(-1)[0]))
    if value.size == size and value.ndim <= 2:
        return value.reshape(-1).astype(np.float64)
    raise ActlabError(f"ONNX node {node.name or node.op_type}: bias of shape {value.shape} does "
                      f"not fit {size} outputs")


def _onnx_activation_spec(node: Any, a: dict[str, Any], consts: dict[str, np.ndarray]) -> str:
    """The catalogue spec of a single ONNX activation node."""
    from actlab.activations.smooth import SELU

    op, f = node.op_type, lambda v: format_number(_onnx_float(v))
    simple = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "Mish": "mish"}
    if op in simple:
        return simple[op]
    if op in ("Softmax", "LogSoftmax"):
        if a.get("axis", -1) not in (-1, 1):
            raise ActlabError(f"ONNX {op} must act on the last axis")
        return "softmax"
    if op == "LeakyRelu":
        return f"leaky_relu:slope={f(a.get('alpha', 0.01))}"
    if op == "Elu":
        return f"elu:alpha={f(a.get('alpha', 1.0))}"
    if op == "Selu":
        alpha, gamma = a.get("alpha", SELU.ALPHA), a.get("gamma", SELU.SCALE)
        if abs(alpha - SELU.ALPHA) > 1e-6 or abs(gamma - SELU.SCALE) > 1e-6:
            raise ActlabError("ONNX Selu with non-standard alpha/gamma is not in the catalogue")
        return "selu"
    if op == "Softplus":
        return "softplus:beta=1"
    if op == "Gelu":
        return "gelu" if a.get("approximate", "none") == "none" else "gelu:approx=tanh"
    if op == "Clip":
        bounds = [float(consts[t]) if t and t in consts else None for t in node.input[1:3]]
        bounds += [None] * (2 - len(bounds))
        lo = bounds[0] if bounds[0] is not None else a.get("min")
        hi = bounds[1] if bounds[1] is not None else a.get("max")
        if lo == 0 and hi is None:
            return "relu"
        if lo is None or hi is None:
            raise ActlabError("ONNX Clip needs both bounds (hardtanh) or min 0 only (relu)")
        return f"hardtanh:min_val={format_number(lo)},max_val={format_number(hi)}"
    raise ActlabError(f"unsupported ONNX operator {op} (node {node.name or op}): actlab reads "
                      "plain MLPs: Gemm or MatMul+Add and the catalogue's activations")


def _load_onnx(data: bytes) -> onnx.ModelProto:
    import onnx

    try:
        model = onnx.load_model_from_string(data)
    except Exception:  # protobuf decode errors on a corrupt or foreign file
        raise ActlabError("not a readable ONNX file (truncated or corrupt?)") from None
    if not model.graph.node:
        raise ActlabError("the ONNX file has no graph (not an ONNX model?)")
    return model


# --- loading and saving models ------------------------------------------------------------
def model_format(path: str | os.PathLike[str], data: bytes | None = None) -> str:
    """json, torch or onnx from the suffix (or, for a file being read, its first bytes)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in JSON_SUFFIXES:
        return "json"
    if suffix in TORCH_SUFFIXES:
        return "torch"
    if suffix in ONNX_SUFFIXES:
        return "onnx"
    if data is not None:
        if data.lstrip()[:1] == b"{":
            return "json"
        if data[:4] == b"PK\x03\x04":
            return "torch"
        return "onnx"
    raise ActlabError(f"cannot tell the model format of {path}: use .json, .pt/.pth or .onnx")


def load_model(name_or_path: str | os.PathLike[str],
               activations: str | Sequence[str] | None = None) -> Network:
    """A built-in model by name (xor-initial, xor-trained) or a model file (JSON, PyTorch,
    ONNX). ``activations`` are needed only for a plain PyTorch state dict."""
    from actlab import models

    text = str(name_or_path)
    if models.is_builtin(text):
        return models.builtin_model(text)
    path = Path(text)
    if not path.exists() and not path.suffix and os.sep not in text:
        raise ActlabError(f"unknown model {text!r}: not a built-in model "
                          f"({', '.join(models.BUILTIN_MODELS)}) and no such file")
    data = read_input_bytes(path, "model file")
    kind = model_format(path, data)
    try:
        if kind == "json":
            network = network_from_dict(read_json(path, "model file"), name=path.stem)
        elif kind == "torch":
            network = network_from_torch_object(_load_torch(data), activations, name=path.stem)
        else:
            network = from_onnx(_load_onnx(data), name=path.stem)
        count = sum(layer.weight.size + layer.bias.size for layer in network.layers)
        if count > MAX_PARAMETERS:
            raise ActlabError(f"the model has {count:,} parameters, more than the limit of "
                              f"{MAX_PARAMETERS:,}")
        return network
    except ActlabError as error:
        if str(error).startswith(str(path)):
            raise
        raise ActlabError(f"{path}: {error}") from None


def save_model(network: Network, path: str | os.PathLike[str], onnx_dtype: str = "float64"
               ) -> Path:
    """Write the network as JSON, PyTorch (.pt/.pth) or ONNX by the file's suffix, atomically."""
    target = Path(path)
    kind = model_format(target)
    if kind == "json":
        return atomic_write_text(target, json.dumps(network_to_dict(network), indent=1) + "\n")
    if kind == "torch":
        import torch

        obj = {"format": FORMAT, "activations": [l.activation.spec for l in network.layers],
               "state_dict": to_torch(network).state_dict()}
        buffer = _io.BytesIO()
        torch.save(obj, buffer)
        return atomic_write_bytes(target, buffer.getvalue())
    return atomic_write_bytes(target, to_onnx(network, onnx_dtype).SerializeToString())


# --- data files ---------------------------------------------------------------------------------
def load_data(path: str | os.PathLike[str]) -> Dataset:
    """A data file {"x": [[...], ...], "y": [...]} (y optional) as a Dataset."""
    p = Path(path)
    try:
        obj = read_json(p, "data file")
        _keys(obj, "the data file", {"x"}, {"y"})
        x = _matrix(obj["x"], "x")
        y = None
        if "y" in obj:
            y = _vector(obj["y"], "y")
            if len(y) != len(x):
                raise ActlabError(f"x has {len(x)} samples but y has {len(y)} labels")
    except ActlabError as error:
        if str(error).startswith(str(p)):
            raise
        raise ActlabError(f"{p}: {error}") from None
    return Dataset(x, y, p.stem)


def save_data(dataset: Dataset, path: str | os.PathLike[str]) -> Path:
    """Write a data file atomically."""
    return atomic_write_text(path, json.dumps(dataset.to_dict()) + "\n")
