"""A variant homework (examples/variant.toml: PLU slope 0.1, ELU a = 0.5, Swish beta = 2.5,
other XOR weights, lr, epochs, two norms, a q grid) changes exactly the numbers it should:
each checked against direct library calls, and the unchanged parts against the homework's."""

from __future__ import annotations

import json
import math
import subprocess
from typing import Any

import numpy as np
import pytest

from actlab.backprop import trace
from actlab.claims import check_claims
from actlab.cli.output import dumps
from actlab.data import xor
from actlab.jumprelu import jumprelu_sweep
from actlab.models import xor_initial
from actlab.network import Network
from actlab.oae.api import oae
from actlab.regions import gradient_regions
from actlab.report import load_config, write_report
from actlab.train import seed_training, xor_params
from conftest import REPO

VARIANT = REPO / "examples" / "variant.toml"
HOMEWORK = {"relu": "relu", "sigmoid": "sigmoid", "plu": "plu:alpha=0.2,c=1",
            "swish": "swish:beta=1", "elu": "elu:alpha=0.1", "gelu": "gelu"}
CHANGED = {"plu": "plu:alpha=0.1,c=1", "swish": "swish:beta=2.5", "elu": "elu:alpha=0.5"}


def normal(data: Any) -> Any:
    return json.loads(dumps(data))


def variant_network() -> Network:
    """The variant's weights, typed in here from the file's numbers."""
    return Network.from_arrays([[[1.0, -1.0], [-1.0, 1.0]], [[1.5, -1.0]]], [[0.0, 0.5], [-0.25]],
                               ["relu", "sigmoid"])


@pytest.fixture(scope="module")
def variant(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("variant") / "out"
    (out / "figures").mkdir(parents=True)
    (out / "notes.txt").write_text("mine")            # not the report's: must survive
    (out / "figures" / "stale.svg").write_text("old")  # the report's folder: replaced
    files = write_report(out, VARIANT, progress=False)
    text = subprocess.run(["pdftotext", "-layout", str(out / "report.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    return {"out": out, "files": files, "json": json.loads((out / "results.json").read_text()),
            "pdf": text.replace("\u2212", "-")}


def test_existing_folder_keeps_other_files(variant: dict[str, Any]) -> None:
    out = variant["out"]
    assert (out / "notes.txt").read_text() == "mine"
    names = {p.name for p in (out / "figures").iterdir()}
    assert "stale.svg" not in names
    assert names == {"regions-1.svg", "regions-2.svg", "regions-3.svg", "regions-4.svg",
                     "regions-5.svg", "regions-6.svg", "training.svg", "oae-l2.svg",
                     "oae-linf.svg", "jumprelu.svg", "jumprelu-oae.svg"}
    assert not [p for p in out.parent.iterdir() if p.name != "out"]


def test_regions_change_exactly_for_the_changed_activations(variant: dict[str, Any]) -> None:
    entries = {a["name"]: a for a in variant["json"]["regions"]["activations"]}
    for name, spec in HOMEWORK.items():
        homework = normal(gradient_regions(spec).to_dict())
        if name in CHANGED:
            assert entries[name] == normal(gradient_regions(CHANGED[name]).to_dict())
            assert entries[name] != homework
        else:
            assert entries[name] == homework


def test_backprop_and_training_follow_the_variant_weights(variant: dict[str, Any]) -> None:
    data = variant["json"]
    net = variant_network()
    expected = normal(trace(net, xor()).to_dict())
    expected["model"] = "initial"
    assert data["xor_trace"] == expected
    assert data["xor_trace"] != normal(trace(xor_initial(), xor()).to_dict())
    run = seed_training(net, xor(), epochs=60, lr=0.5)
    assert data["xor_train"]["params"] == normal(xor_params(run.network))
    assert data["xor_train"]["epoch_loss_last"] == normal(run.epoch_loss_last)
    assert len(data["xor_train"]["epoch_loss_mean"]) == 60


def test_oae_for_both_norms(variant: dict[str, Any]) -> None:
    data = variant["json"]
    trained = seed_training(variant_network(), xor(), epochs=60, lr=0.5).network
    assert [(r["network"], r["norm"]) for r in data["oae"]] == [
        ("initial", "l2"), ("trained", "l2"), ("initial", "linf"), ("trained", "linf")]
    for run in data["oae"]:
        net = variant_network() if run["network"] == "initial" else trained
        expected = [oae(net, x, run["norm"]).distance for x in xor().x]
        assert [r["distance"] for r in run["results"]] == pytest.approx(expected, abs=1e-12)


def test_jumprelu_on_the_configured_grid(variant: dict[str, Any]) -> None:
    sweep = variant["json"]["jumprelu"]
    trained = seed_training(variant_network(), xor(), epochs=60, lr=0.5).network
    direct = jumprelu_sweep(trained, xor().x, xor().y, [0.0, 0.1, 0.25, 0.5, 0.7, 1.0], "l2")
    assert [r["q"] for r in sweep["rows"]] == [0.0, 0.1, 0.25, 0.5, 0.7, 1.0]
    assert [r["distances"] for r in sweep["rows"]] == normal([r.distances for r in direct.rows])
    assert sweep["best_q"] == direct.best_q


def test_claims_stay_about_the_homework(variant: dict[str, Any]) -> None:
    assert variant["json"]["claims"] == normal(check_claims().to_dict())
    assert variant["json"]["config"] == load_config(VARIANT).to_dict()


def _section(text: str, start: str, end: str) -> str:
    """The body of a section (its heading's second occurrence: the first is the outline)."""
    begin = text.index(start, text.index(start) + 1)
    return text[begin:text.index(end, begin)]


def test_pdf_shows_the_variant(variant: dict[str, Any]) -> None:
    text = variant["pdf"]
    backprop = _section(text, "2 Backpropagation through the XOR network", "3 Training")
    p = 1 / (1 + math.exp(0.75))                        # sample (0, 0): z = -0.75
    assert f"{p:.4f}" in backprop and f"{-math.log(1 - p):.4f}" in backprop
    assert "0.3775" not in backprop                     # the homework's p for (0, 0)
    assert f"{math.log(0.01 / 0.5):.4f}" in text         # ELU a = 0.5: slow below ln(0.02)
    swish = gradient_regions("swish:beta=2.5").region("slow")[0].hi
    assert f"{swish:.4f}" in text
    assert "L-infinity norm" in text
    np.testing.assert_allclose(load_config(VARIANT).W, [[1, -1], [-1, 1]])
