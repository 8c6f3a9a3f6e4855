"""``actlab claims``: every verdict follows from numbers computed at run time, checked here
against closed forms and independent computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import brentq

from actlab.claims import FAILS, HOLDS, PARTLY, ClaimsContext, check_claims
from conftest import run_cli


@pytest.fixture(scope="module")
def report():
    return check_claims()


def test_covers_at_least_ten_statements_with_evidence(report) -> None:
    assert len(report.claims) >= 10
    assert len({c.id for c in report.claims}) == len(report.claims)
    for claim in report.claims:
        assert claim.statement and claim.evidence and claim.checks
        truths = list(claim.checks.values())
        expected = HOLDS if all(truths) else FAILS if not any(truths) else PARTLY
        assert claim.verdict == expected


def test_numbers_agree_with_closed_forms(report) -> None:
    by_id = {c.id: c for c in report.claims}
    # sigmoid' = s(1 - s) = 0.01  <=>  s = (1 + sqrt(1 - 0.04)) / 2
    s = (1 + math.sqrt(1 - 0.04)) / 2
    assert by_id["sigmoid-vanishes"].computed["slow_beyond"] == pytest.approx(
        math.log(s / (1 - s)), abs=1e-9)
    assert by_id["gelu-peak"].computed["peak_at"] == pytest.approx(math.sqrt(2), abs=1e-12)
    r2 = brentq(lambda r: r * math.tanh(r / 2) - 2, 0.1, 10, xtol=1e-15)
    assert by_id["swish-peak"].computed["peak_at"] == pytest.approx(r2, abs=1e-9)
    fwd = by_id["xor-forward-00"].computed
    assert fwd["p"] == pytest.approx(1 / (1 + math.exp(0.5)))
    assert fwd["loss"] == pytest.approx(-math.log(1 - 1 / (1 + math.exp(0.5))))
    assert by_id["oae-initial-epsilon"].computed["distance"] == pytest.approx(math.sqrt(2) / 4)


def test_verdicts_on_the_seed(report) -> None:
    verdicts = {c.id: c.verdict for c in report.claims}
    assert verdicts["jumprelu-q0.1"] == FAILS  # the trained distances do not move at q = 0.1
    assert verdicts["gelu-peak"] == PARTLY and verdicts["plu-flat-outside"] == PARTLY
    assert verdicts["xor-forward-00"] == HOLDS and verdicts["training-loss-plot"] == FAILS


def test_verdicts_are_computed_not_written_in() -> None:
    """Change what the claims are checked against and the verdicts follow."""
    ctx = ClaimsContext(specs={"relu": "relu", "sigmoid": "sigmoid", "plu": "plu:alpha=0,c=1",
                               "swish": "swish:beta=1.6", "elu": "elu:alpha=0.1",
                               "gelu": "gelu"})
    by_id = {c.id: c for c in check_claims(ctx).claims}
    assert by_id["plu-flat-outside"].verdict == HOLDS  # slope 0 outside: flat
    peak = by_id["swish-peak"].computed["peak_at"]
    assert peak == pytest.approx(2.399357280515467 / 1.6, abs=1e-9)
    assert by_id["swish-peak"].checks["largest around 1.5 (peak within 0.5)"]


def test_cli_json_matches_library(report) -> None:
    out = run_cli("claims", "--json")
    assert out.code == 0, out.stderr
    doc = out.json()
    assert [c["verdict"] for c in doc["claims"]] == [c.verdict for c in report.claims]
    assert np.isclose(doc["claims"][0]["computed"]["right_derivative_at_0"], 1.0)
