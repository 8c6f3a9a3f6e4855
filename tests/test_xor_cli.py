"""``actlab xor trace | verify | train`` and ``actlab train``: values against the seed's XORNet
in PyTorch (autograd float64 and the seed's float32 training code) and closed forms."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from actlab import io
from actlab.cli.main import run
from actlab.models import xor_trained
from actlab.network import Network
from conftest import CliResult, run_cli
from test_network import XOR_X, XOR_Y, seed_xornet_float64
from test_train import run_seed_code


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> CliResult:
    code = run(list(args))
    out, err = capsys.readouterr()
    return CliResult(code, out, err)


def test_trace_json_matches_autograd_per_sample(capsys) -> None:
    result = cli(capsys, "xor", "trace", "--json")
    assert result.code == 0, result.stderr
    doc = result.json()
    assert len(doc["samples"]) == 4
    for i, sample in enumerate(doc["samples"]):
        ref = seed_xornet_float64(XOR_X[i:i + 1], XOR_Y[i:i + 1])
        assert sample["x"] == XOR_X[i].tolist() and sample["y"] == XOR_Y[i]
        np.testing.assert_allclose(sample["a"], ref["a"][0], atol=1e-15)
        np.testing.assert_allclose(sample["h"], ref["h"][0], atol=1e-15)
        assert sample["z"] == pytest.approx(ref["z"][0], abs=1e-15)
        assert sample["p"] == pytest.approx(ref["p"][0], abs=1e-15)
        assert sample["loss"] == pytest.approx(math.log1p(math.exp(-0.5)), abs=1e-15)
        np.testing.assert_allclose(sample["grads"]["W"], ref["W"], atol=1e-15)
        np.testing.assert_allclose(sample["grads"]["c"], ref["c"], atol=1e-15)
        np.testing.assert_allclose(sample["grads"]["w"], ref["w"][0], atol=1e-15)
        assert sample["grads"]["b"] == pytest.approx(ref["b"][0], abs=1e-15)
    kinked = [s["x"] for s in doc["samples"] if s["kinks"]]
    assert kinked == [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0]]
    # right-hand relu'(0) = 1 at (0,0): dL/dc1 = dL/dh1 = (p - y) w1 = sigmoid(-0.5)
    right = doc["samples"][0]["grads_one_sided"]["right"]
    assert right["c"][0] == pytest.approx(1 / (1 + math.exp(0.5)), abs=1e-15)
    # sums: the gradient of the summed loss, by autograd
    ref = seed_xornet_float64(XOR_X, XOR_Y)
    np.testing.assert_allclose(doc["sum"]["grads"]["W"], 4 * ref["W"], atol=1e-14)
    np.testing.assert_allclose(doc["sum"]["grads"]["c"], 4 * ref["c"], atol=1e-14)


def test_trace_text_is_a_hand_calculation(capsys) -> None:
    text = cli(capsys, "xor", "trace").stdout
    assert "z     = w.h + b           = 1*0 + (-2)*0 - 0.5 = -0.5" in text
    assert "p     = sigmoid(z)        = 1/(1 + exp(0.5)) = 0.3775" in text
    assert "L     = -log(1-p)         = -log(1 - 0.3775) = 0.4741" in text
    assert "L     = -log(p)           = -log(0.6225) = 0.4741" in text
    assert "seed's worked example for (0,0) (z = -0.5, p = 0.3775, loss 0.474) matches" in text
    assert text.count("sits exactly on relu's kink") == 3
    assert "with the right-hand derivative" in text and "relu'(0) = 0" in text
    assert "Sum over the 4 samples" in text
    assert "with the right-hand derivative at every kink" in text


def test_trace_one_sided_gradients_match_autograd_of_one_sided_relus(capsys) -> None:
    """Left: F.relu (relu'(0) = 0). Right: where(a >= 0, a, 0), whose autograd slope at 0 is 1.
    Both per sample and summed over the samples, against the trace's one-sided gradients."""
    import torch
    import torch.nn.functional as F

    doc = cli(capsys, "xor", "trace", "--json").json()
    relus = {"left": F.relu, "right": lambda a: torch.where(a >= 0, a, torch.zeros_like(a))}
    for side, relu in relus.items():
        total = {k: 0.0 for k in ("W", "c", "w", "b")}
        for i, sample in enumerate(doc["samples"]):
            W = torch.tensor([[1.0, 1.0], [1.0, 1.0]], dtype=torch.float64, requires_grad=True)
            c = torch.tensor([0.0, -1.0], dtype=torch.float64, requires_grad=True)
            w = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
            b = torch.tensor(-0.5, dtype=torch.float64, requires_grad=True)
            z = w @ relu(W @ torch.tensor(XOR_X[i]) + c) + b
            loss = F.binary_cross_entropy_with_logits(z, torch.tensor(XOR_Y[i]))
            ref = dict(zip("Wcwb", torch.autograd.grad(loss, [W, c, w, b]), strict=True))
            grads = sample["grads_one_sided"][side] if sample["kinks"] else sample["grads"]
            if not sample["kinks"]:
                assert "grads_one_sided" not in sample
            for key, value in ref.items():
                np.testing.assert_allclose(grads[key], value.numpy(), atol=1e-15,
                                           err_msg=f"{side} {i} {key}")
                total[key] = total[key] + value.numpy()
        for key, value in total.items():
            np.testing.assert_allclose(doc["sum"]["grads_one_sided"][side][key], value,
                                       atol=1e-15, err_msg=f"sum {side} {key}")


def test_verify_passes_and_reports_largest_discrepancy(capsys) -> None:
    result = cli(capsys, "xor", "verify", "--json")
    assert result.code == 0
    doc = result.json()
    assert doc["ok"] and doc["max_discrepancy"] < 1e-8
    references = {c["reference"] for c in doc["checks"]}
    assert "torch autograd float64" in references and "central differences" in references
    assert any("one-sided" in r for r in references)
    text = cli(capsys, "xor", "verify", "--model", "xor-trained").stdout
    assert "largest discrepancy" in text and "OK" in text


def test_verify_catches_a_wrong_gradient(capsys, monkeypatch) -> None:
    original = Network.backward

    def off_by_a_little(self, fwd, reduction="mean", kink="default"):
        grads = original(self, fwd, reduction, kink)
        grads.bias[1][...] += 1e-7
        return grads

    monkeypatch.setattr(Network, "backward", off_by_a_little)
    result = cli(capsys, "xor", "verify")
    assert result.code == 1
    assert "FAILED" in result.stdout


def test_xor_train_json_equals_pytorch_run(tmp_path: Path, capsys) -> None:
    plot = tmp_path / "loss.png"
    result = cli(capsys, "xor", "train", "--json", "--plot", str(plot))
    assert result.code == 0, result.stderr
    doc = result.json()
    ref, last, every = run_seed_code()
    for key in ("W", "c", "w", "b"):
        np.testing.assert_allclose(doc["params"][key], ref[key], rtol=0, atol=1e-6)
    np.testing.assert_allclose(doc["epoch_loss_last"], last, atol=1e-6)
    np.testing.assert_allclose(doc["epoch_loss_mean"], every.mean(axis=1), atol=1e-6)
    assert doc["predictions"] == [0, 1, 1, 0] and doc["accuracy"] == 1.0
    assert "last sample" in doc["definitions"]["epoch_loss_last"]
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert doc["diagnosis"]["converged"] is False


def test_xor_train_text_and_pdf(tmp_path: Path, capsys) -> None:
    plot = tmp_path / "loss.pdf"
    result = cli(capsys, "xor", "train", "--epochs", "20", "--lr", "0.1", "--plot", str(plot))
    assert result.code == 0
    assert "last-sample loss (seed's curve)" in result.stdout
    assert "converged: no" in result.stdout
    assert plot.read_bytes()[:5] == b"%PDF-"


def test_trace_of_a_model_file_and_a_retrofit(tmp_path: Path, capsys) -> None:
    path = tmp_path / "trained.onnx"
    io.save_model(xor_trained(), path)
    from_file = cli(capsys, "xor", "trace", "--json", "--model", str(path)).json()
    builtin = cli(capsys, "xor", "trace", "--json", "--model", "xor-trained").json()
    assert from_file["samples"] == builtin["samples"]
    jump = cli(capsys, "xor", "trace", "--json", "--act", "jumprelu:q=0.5").json()
    assert jump["hidden_activation"] == "jumprelu:q=0.5"
    # a2 = 0 at (0,1) is below q: jumprelu gives 0 there; a1 = 1 >= q passes
    assert jump["samples"][1]["h"] == [1.0, 0.0]


def test_general_train_is_deterministic_across_processes(tmp_path: Path, capsys) -> None:
    args = ["train", "--data", "circles", "--hidden", "6,4", "--act", "swish:beta=2.5",
            "--epochs", "20", "--lr", "0.3", "--batch", "32", "--seed", "3", "--json"]
    first = run_cli(*args, "--out", str(tmp_path / "a.json"))
    assert first.code == 0, first.stderr
    second = cli(capsys, *args, "--out", str(tmp_path / "b.json"))
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    a, b = first.json(), second.json()
    assert a.pop("out") != b.pop("out")
    assert a == b
    other = cli(capsys, *args[:-2], "4", "--json", "--out", str(tmp_path / "c.json"))
    assert other.json()["epoch_loss"] != a["epoch_loss"]
    model = json.loads((tmp_path / "a.json").read_text())
    assert [len(l["weight"]) for l in model["layers"]] == [6, 4, 1]


def test_plain_state_dict_takes_its_activation_from_act(tmp_path: Path, capsys) -> None:
    """A user's nn.Sequential(Linear, ReLU, Linear, Sigmoid).state_dict() holds no activations:
    --act names them; the trace then equals the seed's network by autograd."""
    import torch

    seq = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU(), torch.nn.Linear(2, 1),
                              torch.nn.Sigmoid())
    with torch.no_grad():
        seq[0].weight.copy_(torch.tensor([[1.0, 1.0], [1.0, 1.0]]))
        seq[0].bias.copy_(torch.tensor([0.0, -1.0]))
        seq[2].weight.copy_(torch.tensor([[1.0, -2.0]]))
        seq[2].bias.copy_(torch.tensor([-0.5]))
    path = tmp_path / "plain.pt"
    torch.save(seq.state_dict(), path)
    without = cli(capsys, "xor", "trace", "--model", str(path))
    assert without.code == 2 and "--act relu" in without.stderr
    doc = cli(capsys, "xor", "trace", "--json", "--model", str(path), "--act", "relu").json()
    for i, sample in enumerate(doc["samples"]):
        ref = seed_xornet_float64(XOR_X[i:i + 1], XOR_Y[i:i + 1])
        np.testing.assert_allclose(sample["grads"]["W"], ref["W"], atol=1e-15)
        assert sample["p"] == pytest.approx(ref["p"][0], abs=1e-15)
