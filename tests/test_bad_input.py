"""The bad-input corpus across every command: each case gets one line on stderr starting with
``actlab: error:``, exit status 2, nothing on stdout and no file left behind (not even a
temporary one). The file formats' own corpora live in test_io_errors.py (models, data),
test_report_config.py (TOML) and test_regions_cli.py (specs); this file holds what is common to
every command: missing and unreadable inputs, unwritable outputs, wrong shapes, bad numbers.

Runs in-process (``run_in_process``): an uncaught exception, i.e. a traceback, fails the test.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import assert_clean_error, run_in_process

MODEL = {"format": "actlab-mlp/1",
         "layers": [{"weight": [[1, 1], [1, 1]], "bias": [0, -1], "activation": "relu"},
                    {"weight": [[1, -2]], "bias": [-0.5], "activation": "sigmoid"}]}

# Each case: the arguments ({tmp} is the test's folder, {model} a good model file, {data3} a
# data file with three features, {huge} one whose values overflow float64, {dir} a folder)
# and a fragment the error line must contain.
CASES: dict[str, tuple[list[str], str]] = {
    # unwritable outputs: a folder, a missing folder, a bad suffix, a file system that refuses
    "regions-plot-dir": (["regions", "--plot", "{dir}"], "cannot write"),
    "regions-plot-proc": (["regions", "--plot", "/proc/actlab.png"], "cannot write"),
    "regions-plot-suffix": (["regions", "--plot", "{tmp}/f.gif"], ".png"),
    "xor-train-plot-missing": (["xor", "train", "--plot", "{tmp}/no/loss.png"], "does not exist"),
    "xor-train-plot-proc": (["xor", "train", "--plot", "/proc/loss.png"], "cannot write"),
    "train-out-dir": (["train", "--data", "xor", "--epochs", "1", "--out", "{dir}"],
                      "directory"),
    "train-out-proc": (["train", "--data", "xor", "--epochs", "1", "--out", "/proc/m.json"],
                       "cannot write"),
    "train-out-suffix": (["train", "--data", "xor", "--epochs", "1", "--out", "{tmp}/m.h5"],
                         ".json"),
    "oae-plot-proc": (["oae", "--plot", "/proc/oae.png"], "cannot write"),
    "jumprelu-plot-dir": (["jumprelu", "--q", "0,0.5", "--plot", "{dir}"], "cannot write"),
    "sweep-plot-proc": (["sweep", "--act", "relu", "--nets", "4", "--epochs", "2", "--plot",
                         "/proc/s.png"], "cannot write"),
    "report-out-file": (["report", "--out", "{model}"], "report"),
    "report-out-proc": (["report", "--out", "/proc/actlab-report"], "cannot write"),
    # missing or unreadable inputs
    "xor-model-missing": (["xor", "trace", "--model", "{tmp}/none.json"], "no such model file"),
    "oae-model-dir": (["oae", "--model", "{dir}"], "directory"),
    "jumprelu-model-missing": (["jumprelu", "--model", "{tmp}/none.pt"], "no such model file"),
    "xor-model-unreadable": (["xor", "trace", "--model", "/proc/self/mem"], "cannot read"),
    "oae-model-endless": (["oae", "--model", "/dev/zero"], "limit"),
    "oae-data-missing": (["oae", "--data", "{tmp}/none.json"], "none.json"),
    "jumprelu-data-dir": (["jumprelu", "--data", "{dir}"], "directory"),
    "train-data-missing": (["train", "--data", "{tmp}/none.json"], "none.json"),
    "report-config-missing": (["report", "--out", "{tmp}/r", "--config", "{tmp}/c.toml"],
                              "does not exist"),
    # data of the wrong dimension for the model
    "oae-data-dim": (["oae", "--model", "{model}", "--data", "{data3}"], "features"),
    "jumprelu-data-dim": (["jumprelu", "--model", "{model}", "--data", "{data3}"], "features"),
    "xor-trace-data-dim": (["xor", "trace", "--data", "{data3}"], "features"),
    # numbers that overflow float64 in the forward pass although each is finite
    "xor-trace-overflow": (["xor", "trace", "--data", "{huge}"], "overflow"),
    "oae-overflow": (["oae", "--data", "{huge}"], "overflow"),
    # bad option values
    "regions-thresholds": (["regions", "--fast", "0.1", "--slow", "0.5"], "slow <= fast"),
    "regions-nan": (["regions", "--slow", "nan"], "finite"),
    "regions-spec": (["regions", "--act", "plu:alpha=0.2,c=0"], "c"),
    "regions-range": (["regions", "--range", "3,3"], "LO < HI"),
    "xor-act": (["xor", "verify", "--act", "relu:slope=1"], "slope"),
    "xor-lr": (["xor", "train", "--lr", "inf"], "learning rate"),
    "train-hidden": (["train", "--data", "xor", "--hidden", "8,,8"], "hidden"),
    "train-seed": (["train", "--data", "xor", "--seed", "99999999999"], "seed"),
    "oae-norm": (["oae", "--norm", "l0"], "norm"),
    "oae-method": (["oae", "--method", "simplex"], "method"),
    "oae-box": (["oae", "--box", "0,1,2"], "box"),
    "oae-act-smooth": (["oae", "--act", "gelu"], "piecewise-linear"),
    "oae-milp-l2": (["oae", "--method", "milp", "--box", "0,1"], "l2"),
    "jumprelu-q": (["jumprelu", "--q", "0,nan"], "q"),
    "jumprelu-norm": (["jumprelu", "--norm", "L2"], "norm"),
    "sweep-nets": (["sweep", "--act", "relu", "--nets", "-5"], "nets"),
    "sweep-mode": (["sweep", "--act", "relu", "--nets", "4", "--mode", "adam"], "mode"),
    "sweep-scheduler": (["sweep", "--act", "relu", "--nets", "4", "--scheduler", "http://x"],
                        "tcp://"),
    "unknown-option": (["claims", "--verbose"], "No such option"),
    "unknown-command": (["explain"], "No such command"),
}


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "folder").mkdir()
    model = tmp_path / "model.json"
    model.write_text(json.dumps(MODEL))
    data3 = tmp_path / "data3.json"
    data3.write_text(json.dumps({"x": [[0, 0, 0], [1, 1, 1]], "y": [0, 1]}))
    huge = tmp_path / "huge.json"
    huge.write_text(json.dumps({"x": [[1e308, 1e308]], "y": [0]}))
    return {"tmp": str(tmp_path), "dir": str(tmp_path / "folder"), "model": str(model),
            "data3": str(data3), "huge": str(huge)}


def _listing(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_is_one_clean_line(name: str, files: dict[str, str], tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    template, fragment = CASES[name]
    before = _listing(tmp_path)
    result = run_in_process(capsys, *(arg.format(**files) for arg in template))
    assert_clean_error(result)
    assert fragment.lower() in result.stderr.lower(), result.stderr
    assert _listing(tmp_path) == before  # nothing written, no temporary file left


# Random junk in every option of every command: never a traceback, never exit 1. The values
# are chosen so that a command that does accept them finishes quickly.
COMMANDS = {
    "regions": ["--act", "--fast", "--slow", "--range"],
    "xor trace": ["--model", "--act", "--data"],
    "xor train": ["--epochs", "--lr", "--act"],
    "train": ["--data", "--hidden", "--act", "--lr", "--batch", "--seed"],
    "oae": ["--norm", "--box", "--method", "--time-limit", "--act", "--limit"],
    "jumprelu": ["--q", "--norm", "--box"],
    "sweep": ["--act", "--nets", "--lr", "--seed", "--mode", "--hidden", "--chunk"],
}
JUNK = st.sampled_from(["", " ", "-1", "0", "1e400", "nan", "-inf", "abc", "1,2,3", "0:1:0",
                        "relu:", "relu:x", ":", "expr:", "expr:x**", "expr:()", "expr:1/x",
                        "jumprelu:q=-0", "plu:c=nan", "l2,l1", "0,0", "\x00", "é", "[1]",
                        "tcp://", "xor-", "{}"])


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(command=st.sampled_from(sorted(COMMANDS)), data=st.data())
def test_junk_options_never_crash(command: str, data: st.DataObject,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    options = data.draw(st.lists(st.sampled_from(COMMANDS[command]), min_size=1, max_size=2,
                                 unique=True))
    args = [*command.split(), "--json"]
    for option in options:
        args += [option, data.draw(JUNK)]
    if command in ("train", "xor train"):
        args += ["--epochs", "2"]
    if command == "sweep" and "--nets" not in options:
        args += ["--nets", "3", "--epochs", "2"]
    result = run_in_process(capsys, *args)
    assert result.code in (0, 2), (args, result.code, result.stderr)
    if result.code == 2:
        assert_clean_error(result)
    else:
        json.loads(result.stdout)


def test_plain_state_dict_takes_its_activation_from_act(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """A state dict holds no activations: oae takes them from --act (else a clear error naming
    --act), jumprelu retrofits it as the ReLU network it is assumed to be; both then give the
    seed network's closed-form distances, sqrt(2)/4."""
    import math

    import torch

    seq = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU(), torch.nn.Linear(2, 1))
    with torch.no_grad():
        for param, value in zip(seq.parameters(), [[[1.0, 1.0], [1.0, 1.0]], [0.0, -1.0],
                                                   [[1.0, -2.0]], [-0.5]], strict=True):
            param.copy_(torch.tensor(value))
    state = tmp_path / "sd.pt"
    torch.save(seq.state_dict(), state)
    data = tmp_path / "d.json"
    data.write_text(json.dumps({"x": [[0, 0], [1, 1]], "y": [0, 0]}))
    missing = run_in_process(capsys, "oae", "--model", str(state), "--data", str(data))
    assert_clean_error(missing)
    assert "--act" in missing.stderr
    expected = pytest.approx([math.sqrt(2) / 4] * 2, rel=1e-12)
    done = run_in_process(capsys, "oae", "--model", str(state), "--act", "relu", "--data",
                          str(data), "--json")
    assert done.code == 0, done.stderr
    assert [r["distance"] for r in json.loads(done.stdout)["results"]] == expected
    sweep = run_in_process(capsys, "jumprelu", "--model", str(state), "--q", "0", "--data",
                           str(data), "--json")
    assert sweep.code == 0, sweep.stderr
    assert json.loads(sweep.stdout)["rows"][0]["distances"] == expected
