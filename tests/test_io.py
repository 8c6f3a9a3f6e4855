"""Model files: JSON <-> PyTorch <-> ONNX round trips with identical outputs, checked by
independent evaluators (onnxruntime for ONNX, torch.nn modules for PyTorch); foreign files
(PyTorch's own ONNX export, hand-built MatMul+Add graphs, plain state dicts)."""

from __future__ import annotations

import io as _io
import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper
from torch import nn

from actlab import io
from actlab.errors import ActlabError
from actlab.models import xor_initial
from actlab.network import Network

SPECS = ["relu", "sigmoid", "tanh", "leaky_relu:slope=0.01", "elu:alpha=0.1", "selu", "gelu",
         "gelu:approx=tanh", "swish:beta=1", "swish:beta=2.5", "softplus:beta=2", "mish",
         "hardtanh", "plu:alpha=0.2,c=1", "jumprelu:q=0.3", "identity"]
HEADS = [("sigmoid", 1), ("softmax", 3), ("identity", 2)]


def random_network(seed: int, spec: str, head: str, outputs: int) -> Network:
    rng = np.random.default_rng(seed)
    return Network.from_arrays(
        [rng.normal(size=(5, 3)), rng.normal(size=(4, 5)), rng.normal(size=(outputs, 4))],
        [rng.normal(size=5), rng.normal(size=4), rng.normal(size=outputs)], [spec, spec, head])


def head_output(net: Network, x: np.ndarray) -> np.ndarray:
    """What the exported models output: probabilities for sigmoid / softmax, else logits."""
    head = net.layers[-1].activation.name
    if head == "sigmoid":
        return net.predict_proba(x)[:, None]
    return net.predict_proba(x) if head == "softmax" else net.logits(x)


def onnxruntime_output(path: Path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return session.run(None, {name: x})[0]


@pytest.mark.parametrize("head, outputs", HEADS)
@pytest.mark.parametrize("spec", SPECS)
def test_round_trips_give_identical_outputs(tmp_path: Path, spec: str, head: str,
                                            outputs: int) -> None:
    net = random_network(len(spec) + outputs, spec, head, outputs)
    x = np.random.default_rng(1).normal(size=(200, 3)) * 3
    logits = net.logits(x)
    # JSON -> PyTorch -> ONNX -> JSON, and each format alone
    current = net
    for suffix in (".json", ".pt", ".onnx", ".json"):
        path = tmp_path / f"model{suffix}"
        io.save_model(current, path)
        current = io.load_model(path)
        assert [l.activation.spec for l in current.layers] == [
            l.activation.spec for l in net.layers]
        np.testing.assert_array_equal(current.logits(x), logits)
    for a, b in zip(current.parameters(), net.parameters(), strict=True):
        np.testing.assert_array_equal(a, b)
    # independent evaluators of the written files
    expected = head_output(net, x)
    onnx_tol = 1e-6 if spec == "gelu" else 1e-12  # onnxruntime has no float64 Erf
    np.testing.assert_allclose(onnxruntime_output(tmp_path / "model.onnx", x), expected,
                               rtol=onnx_tol, atol=onnx_tol)
    module = io.to_torch(io.load_model(tmp_path / "model.pt"))
    with torch.no_grad():
        np.testing.assert_allclose(module(torch.tensor(x)).numpy(), expected, rtol=1e-12,
                                   atol=1e-12)


def test_float32_onnx_export_runs_in_onnxruntime(tmp_path: Path) -> None:
    net = random_network(0, "gelu", "softmax", 3)
    path = tmp_path / "m.onnx"
    path.write_bytes(io.to_onnx(net, dtype="float32").SerializeToString())
    x = np.random.default_rng(2).normal(size=(50, 3)).astype(np.float32)
    np.testing.assert_allclose(onnxruntime_output(path, x), net.predict_proba(x), atol=1e-5)
    np.testing.assert_allclose(io.load_model(path).logits(x), net.logits(x), atol=1e-5)


def test_pytorch_file_is_an_nn_sequential_state_dict(tmp_path: Path) -> None:
    """The saved state dict loads into a hand-built nn.Sequential(Linear, ReLU, Linear,
    Sigmoid) that reproduces the seed's network on the four XOR inputs."""
    path = tmp_path / "xor.pt"
    io.save_model(xor_initial(), path)
    obj = torch.load(path, weights_only=True)
    assert obj["activations"] == ["relu", "sigmoid"]
    seq = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1), nn.Sigmoid()).double()
    seq.load_state_dict(obj["state_dict"])
    x = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], dtype=torch.float64)
    p = seq(x).detach().numpy()[:, 0]
    np.testing.assert_allclose(p, 1 / (1 + np.exp([0.5, -0.5, -0.5, 0.5])), rtol=1e-15)


def test_plain_state_dict_of_the_seeds_xornet(tmp_path: Path) -> None:
    class XORNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden = nn.Linear(2, 2)
            self.output = nn.Linear(2, 1)
            self.hidden.weight.data = torch.tensor([[1., 1.], [1., 1.]])
            self.hidden.bias.data = torch.tensor([0., -1.])
            self.output.weight.data = torch.tensor([[1., -2.]])
            self.output.bias.data = torch.tensor([-0.5])

    path = tmp_path / "state.pth"
    torch.save(XORNet().state_dict(), path)
    with pytest.raises(ActlabError, match="plain state dict"):
        io.load_model(path)
    net = io.load_model(path, activations="relu")
    for a, b in zip(net.parameters(), xor_initial().parameters(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert [l.activation.spec for l in net.layers] == ["relu", "sigmoid"]


def test_from_torch_reads_a_sequential() -> None:
    torch.manual_seed(0)
    seq = nn.Sequential(nn.Linear(3, 6), nn.SiLU(), nn.Dropout(0.1),
                        nn.Sequential(nn.Linear(6, 4), nn.ELU(0.5)), nn.Linear(4, 2))
    seq.eval()
    net = io.from_torch(seq)
    assert [l.activation.spec for l in net.layers] == ["swish:beta=1", "elu:alpha=0.5",
                                                       "identity"]
    x = np.random.default_rng(0).normal(size=(30, 3))
    with torch.no_grad():
        ref = seq.double()(torch.tensor(x)).numpy()
    np.testing.assert_allclose(net.logits(x), ref, rtol=1e-12, atol=1e-12)
    with pytest.raises(ActlabError, match="unsupported PyTorch module Conv1d"):
        io.from_torch(nn.Sequential(nn.Linear(2, 2), nn.Conv1d(1, 1, 1)))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_pytorch_onnx_export_is_imported(tmp_path: Path) -> None:
    torch.manual_seed(1)
    seq = nn.Sequential(nn.Linear(3, 5), nn.SiLU(), nn.Linear(5, 4), nn.LeakyReLU(0.05),
                        nn.Linear(4, 3), nn.Softmax(dim=-1))
    path = tmp_path / "torch_export.onnx"
    buffer = _io.BytesIO()
    torch.onnx.export(seq, (torch.randn(2, 3),), buffer, dynamo=False, input_names=["x"],
                      output_names=["y"], dynamic_axes={"x": {0: "n"}})
    path.write_bytes(buffer.getvalue())
    net = io.load_model(path)
    assert [l.activation.spec for l in net.layers] == ["swish:beta=1", "leaky_relu:slope=0.05",
                                                       "softmax"]
    x = np.random.default_rng(3).normal(size=(40, 3)).astype(np.float32)
    np.testing.assert_allclose(net.predict_proba(x), onnxruntime_output(path, x), atol=1e-6)


def matmul_add_model(op: str = "Relu") -> onnx.ModelProto:
    """A hand-built float32 MLP: MatMul + Add, an activation, Gemm (transB=0), Sigmoid."""
    rng = np.random.default_rng(5)
    inits = [numpy_helper.from_array(rng.normal(size=(2, 3)).astype(np.float32), "B1"),
             numpy_helper.from_array(rng.normal(size=(3,)).astype(np.float32), "C1"),
             numpy_helper.from_array(rng.normal(size=(3, 1)).astype(np.float32), "B2"),
             numpy_helper.from_array(rng.normal(size=(1, 1)).astype(np.float32), "C2")]
    nodes = [helper.make_node("MatMul", ["x", "B1"], ["m"]),
             helper.make_node("Add", ["m", "C1"], ["a"]),
             helper.make_node(op, ["a"], ["h"]),
             helper.make_node("Gemm", ["h", "B2", "C2"], ["z"]),
             helper.make_node("Sigmoid", ["z"], ["p"])]
    graph = helper.make_graph(nodes, "mlp",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 2])],
                              [helper.make_tensor_value_info("p", TensorProto.FLOAT, ["n", 1])],
                              inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def test_matmul_add_onnx_is_imported(tmp_path: Path) -> None:
    path = tmp_path / "mm.onnx"
    path.write_bytes(matmul_add_model().SerializeToString())
    net = io.load_model(path)
    x = np.random.default_rng(4).normal(size=(25, 2)).astype(np.float32)
    np.testing.assert_allclose(net.predict_proba(x)[:, None], onnxruntime_output(path, x),
                               atol=1e-6)


def test_expr_activation_has_no_onnx_form(tmp_path: Path) -> None:
    net = random_network(0, "expr:x*sigmoid(3*x)", "sigmoid", 1)
    with pytest.raises(ActlabError, match="cannot be written to ONNX"):
        io.save_model(net, tmp_path / "e.onnx")
    assert not (tmp_path / "e.onnx").exists()
    io.save_model(net, tmp_path / "e.pt")
    x = np.random.default_rng(0).normal(size=(10, 3))
    np.testing.assert_array_equal(io.load_model(tmp_path / "e.pt").logits(x), net.logits(x))


def test_data_files(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_text(json.dumps({"x": [[0, 1], [2, 3.5]], "y": [0, 1]}))
    data = io.load_data(path)
    np.testing.assert_array_equal(data.x, [[0, 1], [2, 3.5]])
    np.testing.assert_array_equal(data.y, [0, 1])
    path.write_text(json.dumps({"x": [[0, 1]]}))
    assert io.load_data(path).y is None


def test_writes_are_atomic(tmp_path: Path) -> None:
    target = tmp_path / "m.json"
    target.write_text("old")
    net = random_network(0, "expr:x*sigmoid(3*x)", "sigmoid", 1)
    with pytest.raises(ActlabError):
        io.save_model(net, tmp_path / "m.onnx")
    io.save_model(xor_initial(), target)
    assert json.loads(target.read_text())["format"] == "actlab-mlp/1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]
