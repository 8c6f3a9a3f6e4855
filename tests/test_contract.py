"""The public JSON contract, checked by the contract checker the outside world uses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ACTLAB, REPO

SHARED_CHECKER = REPO.parent / "shared" / "tools" / "contract_check.py"
VENDORED_CHECKER = REPO / "tests" / "tools" / "contract_check.py"
CHECKER = SHARED_CHECKER if SHARED_CHECKER.exists() else VENDORED_CHECKER

# Commands whose JSON the contract fixes; each must pass (no "not available" allowed).
COMMANDS = ["regions", "xor-trace", "xor-train", "oae", "jumprelu", "sweep"]


@pytest.mark.parametrize("command", COMMANDS)
def test_command_meets_contract(command: str) -> None:
    proc = subprocess.run([sys.executable, str(CHECKER), str(ACTLAB), command],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{command}: ok" in proc.stdout


def test_vendored_checker_matches_shared_one() -> None:
    if not SHARED_CHECKER.exists():
        pytest.skip("no ../shared checkout next to this clone")
    assert Path(SHARED_CHECKER).read_text() == VENDORED_CHECKER.read_text()
