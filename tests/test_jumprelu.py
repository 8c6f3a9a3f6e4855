"""The JumpReLU retrofit sweep and its exact thresholds, against closed forms derived here, the
pattern-enumeration oracle (tests/oracles.py) and exact distances just before and after each
threshold."""

from __future__ import annotations

import math

import numpy as np
import pytest

import oracles
from actlab.data import xor
from actlab.errors import ActlabError
from actlab.jumprelu import jumprelu_sweep, parse_q_list, retrofit
from actlab.models import xor_initial, xor_trained
from conftest import assert_clean_error, run_cli

QS = [0.0, 0.1, 0.5, 0.7, 1.0]


@pytest.fixture(scope="module")
def sweeps():
    data = xor()
    return {net.name: (net, jumprelu_sweep(net, data.x, data.y, QS, "l2"))
            for net in (xor_initial(), xor_trained())}


@pytest.mark.parametrize("name", ["xor-initial", "xor-trained"])
def test_rows_match_pattern_enumeration(sweeps, name: str) -> None:
    net, sweep = sweeps[name]
    data = xor()
    assert [r.q for r in sweep.rows] == QS
    for row in sweep.rows:
        retro = retrofit(net, row.q)
        regions = oracles.linear_regions(retro)
        assert row.certified
        assert row.accuracy == pytest.approx(np.mean(retro.classify(data.x) == data.y))
        for x, d in zip(data.x, row.distances, strict=True):
            exact = oracles.enumerate_patterns_distance(retro, x, "l2", regions=regions)
            assert d == pytest.approx(exact.distance, abs=1e-9)
        assert row.mean_distance == pytest.approx(np.mean(row.distances))


def test_xor_initial_closed_forms(sweeps) -> None:
    """h1 = x1+x2 passes iff x1+x2 >= q. From (0,0) class 1 needs h1 > 1/2: for q <= 1/2 the
    boundary stays at x1+x2 = 1/2 (distance sqrt2/4); for q > 1/2 it moves to x1+x2 = q
    (distance q/sqrt2). From (0,1) the band 0 < x1+x2 < q now outputs z = -1/2 (class 0): it is
    (1-q)/sqrt2 away, closer than sqrt2/4 once q > 1/2."""
    _, sweep = sweeps["xor-initial"]
    for row in sweep.rows:
        d00, d01 = row.distances[0], row.distances[1]
        if row.q <= 0.5:
            assert d00 == pytest.approx(math.sqrt(2) / 4) and d01 == pytest.approx(math.sqrt(2) / 4)
        else:
            assert d00 == pytest.approx(row.q / math.sqrt(2))
            assert d01 == pytest.approx((1 - row.q) / math.sqrt(2))
    assert [t.q_star for t in sweep.thresholds] == pytest.approx([0.5] * 4, abs=1e-9)
    assert [t.direction for t in sweep.thresholds] == ["up", "down", "down", "down"]


def test_trained_up_threshold_is_the_active_pre_activation_at_the_closest_point(sweeps) -> None:
    """Where the distance goes up, the closest point's pattern breaks when q passes the smallest
    positive pre-activation there."""
    net, sweep = sweeps["xor-trained"]
    for t in sweep.thresholds:
        if t.direction != "up":
            continue
        point = np.array(sweep.rows[0].results[t.index].point)
        pre = net.layers[0].weight @ point + net.layers[0].bias
        assert t.q_star == pytest.approx(min(pre[pre > 1e-9]), abs=1e-9)


@pytest.mark.parametrize("name", ["xor-initial", "xor-trained"])
def test_distances_change_exactly_at_the_thresholds(sweeps, name: str) -> None:
    net, sweep = sweeps[name]
    for t in sweep.thresholds:
        if t.q_star is None:
            continue
        x = np.array(t.x)
        before, after = (oracles.enumerate_patterns_distance(retrofit(net, q), x, "l2").distance
                         for q in (t.q_star - 1e-7, t.q_star + 1e-4))
        assert before == pytest.approx(t.distance_at_zero, abs=1e-9)
        assert (after > t.distance_at_zero + 1e-7) if t.direction == "up" else (
            after < t.distance_at_zero - 1e-7)


def test_best_q_rule(sweeps) -> None:
    for _, sweep in sweeps.values():
        base = sweep.rows[0].accuracy
        eligible = [r for r in sweep.rows if r.accuracy == base]
        top = max(r.mean_distance for r in eligible)
        assert sweep.best_q == min(r.q for r in eligible if r.mean_distance == top)


def test_default_grid_contains_the_thresholds() -> None:
    data = xor()
    sweep = jumprelu_sweep(xor_initial(), data.x, data.y, None, "linf")
    qs = [r.q for r in sweep.rows]
    assert len(qs) > 20 and qs[0] == 0.0
    for t in sweep.thresholds:
        assert t.q_star is None or any(abs(q - t.q_star) < 1e-12 for q in qs)


@pytest.mark.parametrize(("text", "expected"), [
    ("0,0.1,0.5", [0.0, 0.1, 0.5]), ("0.5,0", [0.0, 0.5]), ("0:1:0.25", [0, 0.25, 0.5, 0.75, 1])])
def test_q_lists(text: str, expected: list[float]) -> None:
    assert parse_q_list(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["", "a", "-0.1", "nan", "1:0:0.1", "0:1:0", "inf"])
def test_bad_q_lists(text: str) -> None:
    with pytest.raises(ActlabError):
        parse_q_list(text)


def test_cli_json(tmp_path) -> None:
    out = run_cli("jumprelu", "--model", "xor-initial", "--q", "0,0.7", "--json",
                  "--plot", str(tmp_path / "j.svg"))
    assert out.code == 0, out.stderr
    doc = out.json()
    assert [r["q"] for r in doc["rows"]] == [0.0, 0.7]
    assert doc["rows"][1]["distances"][0] == pytest.approx(0.7 / math.sqrt(2))
    assert (tmp_path / "j.svg").read_text().lstrip().startswith("<?xml")


@pytest.mark.parametrize("args", [["--q", "x"], ["--norm", "l5"], ["--model", "nope"],
                                  ["--plot", "/no/such/dir/j.png"], ["--box", "2,1"]])
def test_cli_bad_input(args: list[str]) -> None:
    assert_clean_error(run_cli("jumprelu", *args))
