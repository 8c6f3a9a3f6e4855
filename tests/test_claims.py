"""``actlab claims``: every verdict follows from numbers computed at run time, checked here
against closed forms and independent computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import brentq

import oracles
from actlab.activations import parse_activation
from actlab.claims import FAILS, HOLDS, PARTLY, ClaimsContext, check_claims
from actlab.data import xor
from actlab.jumprelu import retrofit
from actlab.models import xor_initial, xor_trained
from conftest import assert_clean_error, run_cli


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
    s15 = 1 / (1 + math.exp(-1.5))  # swish'(x) = s + x s (1 - s)
    assert by_id["swish-peak"].computed["derivative_at_1.5"] == pytest.approx(
        s15 + 1.5 * s15 * (1 - s15), rel=1e-14)
    # gelu'(x) = Phi(x) + x phi(x) = 0 on the negative side
    phi = lambda x: math.exp(-x * x / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    root = brentq(lambda x: 0.5 * math.erfc(-x / math.sqrt(2)) + x * phi(x), -3, -0.1,
                  xtol=1e-15)
    ((lo, hi),) = by_id["gelu-peak"].computed["negative_derivative"]
    assert lo is None and hi == pytest.approx(root, abs=1e-12)
    # (eps, eps) from (0,0): h1 = 2 eps, h2 = relu(2 eps - 1) = 0, z = 2 eps - 1/2 > 0
    assert by_id["oae-initial-epsilon"].computed["epsilon"] == pytest.approx(0.25, abs=1e-12)
    fwd = by_id["xor-forward-00"].computed
    assert fwd["p"] == pytest.approx(1 / (1 + math.exp(0.5)))
    assert fwd["loss"] == pytest.approx(-math.log(1 - 1 / (1 + math.exp(0.5))))
    assert by_id["oae-initial-epsilon"].computed["distance"] == pytest.approx(math.sqrt(2) / 4)


def test_verdicts_on_the_seed(report) -> None:
    verdicts = {c.id: c.verdict for c in report.claims}
    assert verdicts["jumprelu-q0.1"] == FAILS  # the trained distances do not move at q = 0.1
    assert verdicts["gelu-peak"] == PARTLY and verdicts["plu-flat-outside"] == PARTLY
    assert verdicts["xor-forward-00"] == HOLDS and verdicts["training-loss-plot"] == FAILS
    assert verdicts["swish-peak"] == PARTLY and verdicts["oae-after-training"] == PARTLY
    assert verdicts["jumprelu-tuned"] == HOLDS


def test_tuned_q_against_the_oracle(report) -> None:
    """The tuned claim's best q and distances, re-derived with the pattern-enumeration oracle."""
    c = {c.id: c for c in report.claims}["jumprelu-tuned"].computed
    net, data = xor_trained(), xor()
    retro = retrofit(net, c["best_q"])
    exact = [oracles.enumerate_patterns_distance(retro, x, "l2").distance for x in data.x]
    assert c["distances_best"] == pytest.approx(exact, abs=1e-9)
    assert np.mean(retro.classify(data.x) == data.y) == c["accuracy_q0"] == 1.0
    zero = [oracles.enumerate_patterns_distance(net, x, "l2").distance for x in data.x]
    assert np.mean(exact) > np.mean(zero) + 0.01
    assert all(e >= z - 1e-9 for e, z in zip(exact, zero, strict=True))


def test_evidence_follows_the_numbers() -> None:
    """With other activations the evidence text changes with the verdict (nothing typed in)."""
    from actlab.claims import gelu_peak, plu_shape

    ctx = ClaimsContext(specs={"relu": "relu", "sigmoid": "sigmoid", "plu": "plu:alpha=0,c=1",
                               "swish": "swish:beta=1", "elu": "elu:alpha=0.1",
                               "gelu": "gelu:approx=tanh"})
    plu, gelu = plu_shape(ctx), gelu_peak(ctx)
    assert plu.verdict == HOLDS and "(flat)" in plu.evidence and "not flat" not in plu.evidence
    act = parse_activation("gelu:approx=tanh")
    assert abs(gelu.computed["peak_at"] - math.sqrt(2)) > 1e-3 and "sqrt 2" not in gelu.evidence
    root = brentq(lambda x: float(act.derivative(x)), -3, -0.1, xtol=1e-15)
    assert f"{root:.4f}" in gelu.evidence


def test_verdicts_follow_the_networks() -> None:
    """Check the OAE and JumpReLU claims against xor-initial as the 'trained' network: nothing
    changes with training (does not hold) and no q beats q = 0 (the best q is 0)."""
    from actlab.claims import jumprelu_tuned, oae_training

    ctx = ClaimsContext(trained=xor_initial())
    after = oae_training(ctx)
    assert after.verdict == PARTLY  # the distances still exist, but none reduces
    assert not after.checks["the mean distance reduces"]
    tuned = jumprelu_tuned(ctx)
    assert tuned.verdict == FAILS and tuned.computed["best_q"] == 0.0


def test_verdicts_are_computed_not_written_in() -> None:
    """Change what the claims are checked against and the verdicts follow."""
    ctx = ClaimsContext(specs={"relu": "relu", "sigmoid": "sigmoid", "plu": "plu:alpha=0,c=1",
                               "swish": "swish:beta=1.6", "elu": "elu:alpha=0.1",
                               "gelu": "gelu"})
    by_id = {c.id: c for c in check_claims(ctx).claims}
    assert by_id["plu-flat-outside"].verdict == HOLDS  # slope 0 outside: flat
    peak = by_id["swish-peak"].computed["peak_at"]
    r2 = brentq(lambda r: r * math.tanh(r / 2) - 2, 0.1, 10, xtol=1e-15)  # beta = 1's peak
    assert peak == pytest.approx(r2 / 1.6, abs=1e-9)  # swish_beta'(x) = swish_1'(beta x)
    assert by_id["swish-peak"].checks["largest around 1.5 (peak within 0.5)"]
    s = 1 / (1 + math.exp(-1.6 * 1.5))  # swish_beta'(x) = s + beta x s (1 - s), s = sigma(beta x)
    assert by_id["swish-peak"].computed["derivative_at_1.5"] == pytest.approx(
        s + 1.6 * 1.5 * s * (1 - s), rel=1e-14)


def test_cli_json_matches_library(report) -> None:
    out = run_cli("claims", "--json")
    assert out.code == 0, out.stderr
    doc = out.json()
    assert [c["verdict"] for c in doc["claims"]] == [c.verdict for c in report.claims]
    assert np.isclose(doc["claims"][0]["computed"]["right_derivative_at_0"], 1.0)


def test_cli_bad_norm() -> None:
    assert_clean_error(run_cli("claims", "--norm", "l5"))
