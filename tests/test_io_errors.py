"""Every bad model or data file gives one clear line on stderr and exit status 2 (no traceback,
nothing on stdout). Most cases run the CLI in-process (fast); two run the installed binary."""

from __future__ import annotations

import io as _io
import json
from pathlib import Path

import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from conftest import assert_clean_error, run_cli
from conftest import run_in_process as run_inprocess

GOOD_LAYERS = [{"weight": [[1, 1], [1, 1]], "bias": [0, -1], "activation": "relu"},
               {"weight": [[1, -2]], "bias": [-0.5], "activation": "sigmoid"}]


def model_json(**changes) -> str:
    obj = {"format": "actlab-mlp/1", "layers": json.loads(json.dumps(GOOD_LAYERS))}
    obj.update(changes)
    return json.dumps(obj)


def layer_json(index: int, key: str, value) -> str:
    layers = json.loads(json.dumps(GOOD_LAYERS))
    layers[index][key] = value
    return json.dumps({"format": "actlab-mlp/1", "layers": layers})


BAD_MODEL_FILES = {
    "empty.json": ("", "empty"),
    "blank.json": ("   \n", "empty"),
    "truncated.json": (model_json()[:60], "not valid JSON"),
    "text.json": ("hello world", "not valid JSON"),
    "list.json": ("[1, 2, 3]", "JSON object"),
    "nan.json": (model_json().replace("-0.5", "NaN"), "not a number JSON allows"),
    "infinity.json": (model_json().replace("-0.5", "-Infinity"), "not a number JSON allows"),
    "overflow.json": (model_json().replace("-0.5", "1e999"), "finite"),
    "string_weight.json": (layer_json(0, "weight", [["a", 1], [1, 1]]), "must be a number"),
    "bool_weight.json": (layer_json(0, "weight", [[True, 1], [1, 1]]), "must be a number"),
    "null_bias.json": (layer_json(0, "bias", [None, 1]), "must be a number"),
    "ragged.json": (layer_json(0, "weight", [[1, 1], [1]]), "different lengths"),
    "flat_weight.json": (layer_json(0, "weight", [1, 1]), "list of numbers"),
    "bias_shape.json": (layer_json(0, "bias", [0, -1, 3]), "bias"),
    "chain.json": (layer_json(1, "weight", [[1, -2, 3]]), "takes 3 inputs"),
    "unknown_act.json": (layer_json(0, "activation", "foo"), "unknown activation 'foo'"),
    "bad_param.json": (layer_json(0, "activation", "jumprelu:q=-1"), "q"),
    "bad_head.json": (layer_json(1, "activation", "relu"), "last layer's activation"),
    "act_number.json": (layer_json(0, "activation", 3), "spec string"),
    "unknown_key.json": (model_json(extra=1), "unknown key 'extra'"),
    "layer_key.json": (layer_json(0, "wieght", 1), "unknown key 'wieght'"),
    "format.json": (model_json(format="keras"), "actlab-mlp/1"),
    "no_layers.json": (model_json(layers=[]), "non-empty"),
    "no_format.json": (json.dumps({"layers": GOOD_LAYERS}), "lacks 'format'"),
}


@pytest.mark.parametrize("name", sorted(BAD_MODEL_FILES))
def test_bad_json_model_files(tmp_path: Path, capsys, name: str) -> None:
    text, message = BAD_MODEL_FILES[name]
    path = tmp_path / name
    path.write_text(text)
    result = run_inprocess(capsys, "xor", "trace", "--model", str(path))
    assert_clean_error(result)
    assert message in result.stderr, result.stderr


def test_non_utf8_json(tmp_path: Path, capsys) -> None:
    path = tmp_path / "latin.json"
    path.write_bytes(b'{"format": "\xff\xfe"}')
    result = run_inprocess(capsys, "xor", "trace", "--model", str(path))
    assert_clean_error(result)
    assert "UTF-8" in result.stderr


def test_missing_directory_unknown_name_and_huge_files(tmp_path: Path, capsys) -> None:
    cases = {str(tmp_path / "nope.json"): "no such model file",
             str(tmp_path): "is a directory",
             "xor-foo": "unknown model 'xor-foo'"}
    huge = tmp_path / "huge.json"
    with huge.open("wb") as fh:  # sparse: no disk space used
        fh.truncate(201 * 2**20)
    cases[str(huge)] = "limit"
    for model, message in cases.items():
        result = run_inprocess(capsys, "xor", "trace", "--model", model)
        assert_clean_error(result)
        assert message in result.stderr, result.stderr


def torch_bytes(obj) -> bytes:
    buffer = _io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def onnx_bytes(op: str, extra_inputs: tuple[str, ...] = ()) -> bytes:
    w = numpy_helper.from_array(torch.ones(2, 2).double().numpy(), "W")
    b = numpy_helper.from_array(torch.zeros(2).double().numpy(), "b")
    nodes = [helper.make_node("Gemm", ["x", "W", "b"], ["a"], transB=1),
             helper.make_node(op, ["a", *extra_inputs], ["y"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info(
        "x", TensorProto.DOUBLE, ["n", 2])], [helper.make_tensor_value_info(
            "y", TensorProto.DOUBLE, ["n", 2])], [w, b])
    return helper.make_model(graph).SerializeToString()


class Pickled(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(2, 1)


BAD_BINARY_FILES = {
    "garbage.pt": (b"\x00\x01not a zip at all" * 10, "not a readable PyTorch file"),
    "module.pt": (torch_bytes(Pickled()), "pickled Python objects"),
    "plain.pt": (torch_bytes(torch.nn.Linear(2, 1).state_dict()), "plain state dict"),
    "ints.pt": (torch_bytes({"0.weight": torch.ones(1, 2, dtype=torch.int64)}),
                "not a floating-point tensor"),
    "batchnorm.pt": (torch_bytes(torch.nn.BatchNorm1d(2).state_dict()),
                     "unsupported state dict entry"),
    "badspec.pt": (torch_bytes({"format": "actlab-mlp/1", "activations": ["nope", "sigmoid"],
                                "state_dict": torch.nn.Sequential(
                                    torch.nn.Linear(2, 2), torch.nn.Linear(2, 1)).state_dict()}),
                   "unknown activation"),
    "truncated.pt": (torch_bytes({"a": torch.ones(3)})[:40], "not a readable PyTorch file"),
    "garbage.onnx": (b"\xff" * 100, "not a readable ONNX file"),
    "conv.onnx": (onnx_bytes("Abs"), "unsupported ONNX operator Abs"),
    "branch.onnx": (onnx_bytes("Add", ("x",)), "ONNX"),
}


@pytest.mark.parametrize("name", sorted(BAD_BINARY_FILES))
def test_bad_pytorch_and_onnx_files(tmp_path: Path, capsys, name: str) -> None:
    data, message = BAD_BINARY_FILES[name]
    path = tmp_path / name
    path.write_bytes(data)
    result = run_inprocess(capsys, "xor", "trace", "--model", str(path))
    assert_clean_error(result)
    assert message in result.stderr, result.stderr


BAD_DATA_FILES = {
    "ragged.json": ({"x": [[0, 1], [1]], "y": [0, 1]}, "different lengths"),
    "count.json": ({"x": [[0, 1], [1, 0]], "y": [0]}, "2 samples but y has 1"),
    "key.json": ({"x": [[0, 1]], "label": [0]}, "unknown key 'label'"),
    "nox.json": ({"y": [0]}, "lacks 'x'"),
    "nolabels.json": ({"x": [[0, 1], [1, 0]]}, "no labels"),
    "text.json": ({"x": [["a", 1]], "y": [0]}, "must be a number"),
    "badlabel.json": ({"x": [[0, 1], [1, 0]], "y": [0, 0.5]}, "labels"),
}


@pytest.mark.parametrize("name", sorted(BAD_DATA_FILES))
def test_bad_data_files(tmp_path: Path, capsys, name: str) -> None:
    obj, message = BAD_DATA_FILES[name]
    path = tmp_path / name
    path.write_text(json.dumps(obj))
    result = run_inprocess(capsys, "train", "--data", str(path), "--epochs", "1")
    assert_clean_error(result)
    assert message in result.stderr, result.stderr


def test_bad_options_are_clean_errors(tmp_path: Path, capsys) -> None:
    cases = [("train", "--hidden", "8,x"), ("train", "--act", "nope"),
             ("train", "--data", "spirals"), ("train", "--out", str(tmp_path / "m.txt")),
             ("train", "--out", str(tmp_path / "missing" / "m.json")),
             ("xor", "train", "--plot", str(tmp_path / "loss.gif")),
             ("xor", "train", "--lr", "-1"), ("xor", "train", "--epochs", "0"),
             ("xor", "trace", "--act", "foo"), ("xor", "trace", "--model", "xor-initial",
                                                "--data", str(tmp_path / "none.json"))]
    for args in cases:
        result = run_inprocess(capsys, *args)
        assert_clean_error(result)
    assert not any(tmp_path.iterdir())


def test_installed_binary_reports_bad_files_cleanly(tmp_path: Path) -> None:
    (tmp_path / "module.pt").write_bytes(BAD_BINARY_FILES["module.pt"][0])
    result = run_cli("xor", "trace", "--model", str(tmp_path / "module.pt"), "--json")
    assert_clean_error(result)
    result = run_cli("train", "--data", str(tmp_path / "missing.json"), "--json")
    assert_clean_error(result)


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_unwritable_outputs_fail_before_training(capsys) -> None:
    """/proc takes no new files, even for root (os.access says yes there): the real try of
    writable_target reports it at once, before any training."""
    cases = [("train", "--epochs", "100000", "--out", "/proc/actlab-model.json"),
             ("train", "--epochs", "100000", "--plot", "/proc/actlab-loss.png"),
             ("xor", "train", "--epochs", "1000000", "--plot", "/proc/actlab-loss.png")]
    for args in cases:
        result = run_inprocess(capsys, *args)
        assert_clean_error(result)
        assert "cannot write /proc/" in result.stderr


def test_learning_rate_beyond_float32(capsys) -> None:
    result = run_inprocess(capsys, "xor", "train", "--lr", "1e39")
    assert_clean_error(result)
    assert "float32" in result.stderr
