"""Shared test helpers: run the installed ``actlab`` CLI as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ACTLAB = Path(sys.executable).with_name("actlab")


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 600) -> CliResult:
    """Run ``actlab ARGS`` in a subprocess; stdout and stderr captured as text."""
    env = {**os.environ, "COLUMNS": "160"}
    proc = subprocess.run([str(ACTLAB), *args], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout, env=env)
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def assert_clean_error(result: CliResult) -> None:
    """Bad input: exit status 2, exactly one line on stderr, no traceback, nothing on stdout."""
    assert result.code == 2, (result.code, result.stderr)
    lines = [l for l in result.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("actlab: error: "), lines[0]
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def run_in_process(capsys: pytest.CaptureFixture[str], *args: str) -> CliResult:
    """Run ``actlab ARGS`` in this process (fast: no interpreter start-up); any uncaught
    exception propagates, so a traceback fails the test."""
    from actlab.cli.main import run

    code = run(list(args))
    out, err = capsys.readouterr()
    return CliResult(code, out, err)


@pytest.fixture
def cli():
    return run_cli
