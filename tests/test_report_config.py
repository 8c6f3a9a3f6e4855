"""actlab report's configuration and output folder: defaults, round trips, clean errors, and
nothing written when the input is bad or the work fails (no report is computed here)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from actlab.activations import HOMEWORK_SPECS
from actlab.errors import ActlabError
from actlab.models import XOR_B, XOR_C, XOR_W, XOR_w
from actlab.report import DEFAULT_TOML, default_config, load_config, write_report
from actlab.report.build import check_output
from actlab.report.config import parse_config
from conftest import assert_clean_error, run_cli

REPO = Path(__file__).resolve().parents[1]


def test_defaults_are_the_homework() -> None:
    cfg = default_config()
    assert cfg.specs == HOMEWORK_SPECS
    assert (cfg.fast, cfg.slow, cfg.plot_range) == (0.99, 0.01, (-5.0, 5.0))
    assert [list(r) for r in cfg.W] == XOR_W and list(cfg.c) == XOR_C
    assert [list(cfg.w)] == XOR_w and [cfg.b] == XOR_B
    assert cfg.x == ((0, 0), (0, 1), (1, 0), (1, 1)) and cfg.y == (0, 1, 1, 0)
    assert (cfg.lr, cfg.epochs, cfg.norms, cfg.box, cfg.q) == (0.1, 100, ("l2",), None, None)
    assert cfg.is_homework()


def test_example_files() -> None:
    assert (REPO / "examples" / "homework.toml").read_text() == DEFAULT_TOML
    assert load_config(REPO / "examples" / "homework.toml") == default_config()
    variant = load_config(REPO / "examples" / "variant.toml")
    assert "plu:alpha=0.1,c=1" in variant.specs and "elu:alpha=0.5" in variant.specs
    assert "swish:beta=2.5" in variant.specs and not variant.is_homework()


@pytest.mark.parametrize("text", ["", "[training]\nlr = 0.5\n",
                                  '[oae]\nnorms = ["l1", "linf"]\nbox = [-1, 2]\n',
                                  "[jumprelu]\nq = [0.5, 0, 0.25]\n"])
def test_toml_round_trip(text: str) -> None:
    cfg = parse_config(text)
    assert parse_config(cfg.to_toml()) == cfg
    assert tomllib.loads(cfg.to_toml()) == cfg.to_dict()


def test_partial_override_keeps_the_rest() -> None:
    cfg = parse_config("[xor]\nb = 0.25\n[jumprelu]\nq = [0.5, 0, 0.25]\n")
    assert cfg.b == 0.25 and cfg.q == (0.0, 0.25, 0.5)
    assert cfg.W == default_config().W and cfg.epochs == 100


BAD = [
    ("[colour]\nx = 1\n", "colour: unknown table"),
    ("[xor]\nweights = 1\n", "xor.weights: unknown key"),
    ("[xor]\nW = [[1, 1], [1, 'a']]\n", "xor.W[1][1]: must be a finite number"),
    ("[xor]\nW = [[1, 1, 1], [1, 1, 1]]\n", "xor.W[0]: must have 2 entries"),
    ("[xor]\nc = [0, 1, 2]\n", "xor.c: must have 2 entries"),
    ("[xor]\nb = nan\n", "xor.b: must be a finite number"),
    ("[xor]\nb = true\n", "xor.b: must be a finite number"),
    ("[xor]\ny = [0, 1, 2, 0]\n", "xor.y[2]: must be 0 or 1"),
    ("[xor]\ny = [0, 1, 1]\n", "xor.y: must have one label per sample"),
    ("[training]\nlr = 0\n", "training.lr: must be positive"),
    ("[training]\nepochs = 2.5\n", "training.epochs: must be a whole number"),
    ("[training]\nepochs = 0\n", "training.epochs: must be a whole number"),
    ("[activations]\nspecs = ['plu:alpha=0.1,c=-1']\n", "activations.specs[0]: plu"),
    ("[activations]\nspecs = ['nosuch']\n", "activations.specs[0]: unknown activation"),
    ("[activations]\nspecs = []\n", "activations.specs: must have 1 to"),
    ("[activations]\nslow = 0.5\nfast = 0.1\n", "activations.fast, activations.slow"),
    ("[activations]\nplot_range = [5, -5]\n", "activations.plot_range: must be [lo, hi]"),
    ("[oae]\nnorms = ['l3']\n", "oae.norms[0]: must be one of l2, linf, l1"),
    ("[oae]\nnorms = ['l2', 'l2']\n", "oae.norms: lists a norm twice"),
    ("[oae]\nbox = [0.5, 1]\n", "oae.box: sample xor.x[0]"),
    ("[jumprelu]\nq = [0, -0.1]\n", "jumprelu.q[1]: must be >= 0"),
    ("[jumprelu]\nq = [0.1, 0.1]\n", "jumprelu.q: lists a value twice"),
    ("[jumprelu]\nq = 'some'\n", 'jumprelu.q: must be "auto" or a list'),
    ("[jumprelu]\nnorm = 'l5'\n", "jumprelu.norm: must be one of"),
    ("xor = 1\n", "xor: must be a table"),
    ("[xor\n", "not valid TOML"),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_bad_values_name_the_key(text: str, message: str) -> None:
    with pytest.raises(ActlabError) as error:
        parse_config(text, "config v.toml")
    assert str(error.value).startswith("config v.toml: ")
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(ActlabError, match="does not exist"):
        load_config(tmp_path / "missing.toml")
    with pytest.raises(ActlabError, match="is not a file"):
        load_config(tmp_path)
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ActlabError, match="cannot read"):
        load_config(binary)


def test_output_folder_checks(tmp_path: Path) -> None:
    afile = tmp_path / "file.txt"
    afile.write_text("x")
    with pytest.raises(ActlabError, match="not a folder"):
        check_output(afile)
    with pytest.raises(ActlabError, match="does not exist"):
        check_output(tmp_path / "no" / "out")
    with pytest.raises(ActlabError, match=r"file\.txt is not a folder"):
        check_output(afile / "out")
    (tmp_path / "out" / "report.pdf").mkdir(parents=True)
    with pytest.raises(ActlabError, match="in the way"):
        check_output(tmp_path / "out")


def _only(folder: Path, names: set[str]) -> None:
    assert {p.name for p in folder.iterdir()} == names


def test_cli_bad_config_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[xor]\nW = [[1, 1], [1, 'a']]\n")
    result = run_cli("report", "--out", str(tmp_path / "out"), "--config", str(bad))
    assert_clean_error(result)
    assert "xor.W[1][1]" in result.stderr
    _only(tmp_path, {"bad.toml"})


def test_cli_unknown_key_and_bad_out(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[training]\nlearning_rate = 0.1\n")
    result = run_cli("report", "--out", str(tmp_path / "out"), "--config", str(bad))
    assert_clean_error(result)
    assert "training.learning_rate: unknown key" in result.stderr
    afile = tmp_path / "file.txt"
    afile.write_text("x")
    assert_clean_error(run_cli("report", "--out", str(afile / "out")))  # more: check_output
    assert_clean_error(run_cli("report"))
    _only(tmp_path, {"bad.toml", "file.txt"})


def test_cli_default_config_is_documented() -> None:
    result = run_cli("report", "--default-config")
    assert result.code == 0 and result.stdout == DEFAULT_TOML
    as_json = run_cli("report", "--default-config", "--json")  # --json: one JSON document
    assert as_json.code == 0 and json.loads(as_json.stdout) == default_config().to_dict()


def test_failure_midway_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("simulated failure")

    monkeypatch.setattr("actlab.report.build.compute", broken)
    with pytest.raises(RuntimeError, match="simulated"):
        write_report(tmp_path / "out", progress=False)
    _only(tmp_path, set())
    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "notes.txt").write_text("mine")
    with pytest.raises(RuntimeError, match="simulated"):
        write_report(existing, progress=False)
    _only(tmp_path, {"existing"})
    _only(existing, {"notes.txt"})
