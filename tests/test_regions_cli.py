"""``actlab regions``: JSON contract, tables, figures, and clean errors.

A few runs go through the installed console script (a subprocess, as a user would); most run the
same entry point in-process (``actlab.cli.main.run``) to keep the suite fast. Expected numbers are
closed forms written here.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from actlab.cli.main import run
from actlab.errors import ActlabError
from conftest import CliResult, assert_clean_error, run_cli

HOMEWORK = ["relu", "sigmoid", "plu:alpha=0.2,c=1", "swish:beta=1", "elu:alpha=0.1", "gelu"]
MAGIC = {"png": b"\x89PNG\r\n\x1a\n", "pdf": b"%PDF-", "svg": b"<?xml"}


@pytest.fixture
def actlab(capsys):
    """Run ``actlab ARGS`` in-process; returns a CliResult like conftest.run_cli."""
    def call(*args: str) -> CliResult:
        code = run(list(args))
        out, err = capsys.readouterr()
        return CliResult(code, out, err)
    return call


def logit(p: float) -> float:
    return math.log(p / (1 - p))


def by_spec(doc: dict) -> dict[str, dict]:
    return {a["spec"]: a for a in doc["activations"]}


# --- JSON ------------------------------------------------------------------------------------
def test_default_json_subprocess() -> None:
    result = run_cli("regions", "--json")
    assert result.code == 0, result.stderr
    doc = json.loads(result.stdout)  # exactly one document, nothing else on stdout
    assert doc["thresholds"] == {"fast": 0.99, "slow": 0.01}
    assert [a["spec"] for a in doc["activations"]] == HOMEWORK
    acts = by_spec(doc)
    assert acts["relu"]["regions"] == {"fast": [[0.0, None]], "active": [], "slow": [],
                                       "inactive": [[None, 0.0]]}
    assert acts["relu"]["nondifferentiable"] == [0.0]
    x0 = logit((1 - math.sqrt(1 - 4 * 0.01)) / 2)  # sigmoid'(x) = 0.01
    (active,) = acts["sigmoid"]["regions"]["active"]
    assert abs(active[0] - x0) < 1e-9 and abs(active[1] + x0) < 1e-9
    assert acts["plu:alpha=0.2,c=1"]["regions"]["fast"] == [[-1.0, 1.0]]
    elu = acts["elu:alpha=0.1"]["regions"]
    assert abs(elu["slow"][0][1] - math.log(0.1)) < 1e-9 and elu["slow"][0][0] is None
    for spec in ("swish:beta=1", "gelu"):
        (point,) = acts[spec]["regions"]["inactive"]
        assert point[0] == point[1]
    for a in doc["activations"]:
        assert set(a["regions"]) == {"fast", "active", "slow", "inactive"}
        assert isinstance(a["params"], dict) and isinstance(a["name"], str)


def test_json_variants_and_thresholds(actlab) -> None:
    result = actlab("regions", "--act", "elu:alpha=0.5", "--act", "jumprelu:q=0.1",
                    "--act", "leaky_relu:slope=0.005", "--act", "tanh",
                    "--fast", "0.5", "--slow", "0.5", "--json")
    assert result.code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["thresholds"] == {"fast": 0.5, "slow": 0.5}
    acts = by_spec(doc)
    elu = acts["elu:alpha=0.5"]["regions"]  # 0.5 e^x: never above 0.5 for x <= 0
    assert elu["fast"] == [[0.0, None]] and elu["active"] == [[0.0, 0.0]]
    assert elu["slow"] == [[None, 0.0]]
    assert acts["jumprelu:q=0.1"]["regions"]["inactive"] == [[None, 0.1]]
    assert acts["leaky_relu:slope=0.005"]["regions"]["slow"] == [[None, 0.0]]
    a = math.atanh(math.sqrt(0.5))  # tanh' = 1/2
    points = acts["tanh"]["regions"]["active"]
    assert len(points) == 2 and all(abs(abs(p[0]) - a) < 1e-9 and p[0] == p[1] for p in points)


def test_json_with_plot_still_one_document(actlab, tmp_path: Path) -> None:
    out = tmp_path / "r.svg"
    result = actlab("regions", "--act", "relu", "--json", "--plot", str(out))
    assert result.code == 0
    assert json.loads(result.stdout)["activations"][0]["spec"] == "relu"
    assert out.read_bytes().startswith(MAGIC["svg"])


# --- tables ----------------------------------------------------------------------------------
def test_human_table(actlab) -> None:
    result = actlab("regions")
    assert result.code == 0 and result.stderr == ""
    text = result.stdout
    for spec in HOMEWORK:
        assert spec in text
    assert "(-inf, 0]" in text and "(0, inf)" in text  # relu
    assert "[-1, 1]" in text  # plu's fast interval
    assert "{-1.27846}" in text  # swish's isolated inactive point, 6 significant digits
    assert "f'(0-) = 0, f'(0+) = 1; used f'(0) = 0" in text  # relu's kink and convention
    assert "max |f'|" in text and "0.25 at x = 0" in text


# --- figures ---------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
def test_plot_formats(actlab, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"regions.{fmt}"
    result = actlab("regions", "--act", "jumprelu:q=0.1", "--act", "swish", "--plot", str(out),
                    "--range", "-3,3")
    assert result.code == 0, result.stderr
    assert out.read_bytes().startswith(MAGIC[fmt])
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]


def test_outputs_are_deterministic(actlab, tmp_path: Path) -> None:
    args = ["regions", "--act", "swish:beta=2.5", "--act", "expr:max(x, tanh(x))", "--json"]
    first, second = actlab(*args).stdout, actlab(*args).stdout
    assert first == second and json.loads(first)
    for name in ("a.svg", "b.svg"):
        assert actlab("regions", "--act", "gelu", "--plot", str(tmp_path / name)).code == 0
    assert (tmp_path / "a.svg").read_bytes() == (tmp_path / "b.svg").read_bytes()


def test_plot_subprocess_png(tmp_path: Path) -> None:
    out = tmp_path / "r.png"
    result = run_cli("regions", "--act", "gelu", "--plot", str(out), "--json")
    assert result.code == 0, result.stderr
    assert out.read_bytes()[:8] == MAGIC["png"]


def test_failed_figure_write_leaves_nothing(tmp_path: Path, monkeypatch) -> None:
    from matplotlib.figure import Figure

    from actlab.figures.regions import plot_regions
    from actlab.regions import gradient_regions

    def broken(self, fname, **kwargs):
        Path(fname).write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(Figure, "savefig", broken)
    with pytest.raises((OSError, ActlabError), match="disk full"):
        plot_regions([gradient_regions("relu")], tmp_path / "r.png")
    assert list(tmp_path.iterdir()) == []


# --- errors ----------------------------------------------------------------------------------
def test_bad_spec_subprocess(tmp_path: Path) -> None:
    out = tmp_path / "r.png"
    result = run_cli("regions", "--act", "nonsense", "--plot", str(out))
    assert_clean_error(result)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args", [
    ["--act", "plu:c=0"], ["--act", "swish:beta=-1"], ["--act", "relu:slope=1"],
    ["--act", "expr:import os"], ["--fast", "0.1", "--slow", "0.5"], ["--fast", "nan"],
    ["--fast", "inf"], ["--slow", "-1"], ["--fast", "abc"], ["--range", "5,-5"],
    ["--range", "abc"], ["--range", "1,2,3"], ["--range", "nan,1"], ["--range", "0,inf"],
    ["--range", "-1e308,1e308"], ["--act", "expr:(10**999)**999*x"],
    ["--plot", "{tmp}/out.txt"], ["--plot", "{tmp}/missing/out.png"], ["--plot", "{tmp}"],
    ["--bogus"]])
def test_bad_input_is_one_line_exit_2(actlab, tmp_path: Path, args: list[str]) -> None:
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    if "--plot" not in args:
        args += ["--plot", str(tmp_path / "r.png")]
    result = actlab("regions", *args, "--json")
    assert_clean_error(result)
    assert list(tmp_path.iterdir()) == []


def test_expression_errors_are_clean(actlab, tmp_path: Path) -> None:
    result = actlab("regions", "--act", "expr:1/x", "--plot", str(tmp_path / "r.pdf"))
    assert_clean_error(result)
    assert list(tmp_path.iterdir()) == []
