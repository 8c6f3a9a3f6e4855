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
    assert "L     = -log(1-p)         = 0.4741" in text
    assert "seed's worked example for (0,0) (z = -0.5, p = 0.3775, loss 0.474) matches" in text
    assert text.count("sits exactly on relu's kink") == 3
    assert "with the right-hand derivative" in text and "relu'(0) = 0" in text
    assert "Sum over the 4 samples" in text


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
