"""Exact OAE on real data (scikit-learn's bundled digits) and per-input jobs through the executor:
the MILP agrees with the independent branch and bound over activation patterns, and the same
batch gives the same answers sequentially, in local processes and on a local Dask cluster."""

from __future__ import annotations

import numpy as np
import pytest

from actlab.data import digits
from actlab.io import save_model
from actlab.network import Network
from actlab.oae.api import oae_jobs
from actlab.oae.exact import oae_branch_and_bound
from actlab.oae.milp import oae_milp
from actlab.oae.rational import exact_class
from actlab.train import train


@pytest.fixture(scope="module")
def digits_net() -> Network:
    """A small 64-6-10 ReLU classifier of the digits (few units: the pattern search stays cheap)."""
    return train(digits("train"), hidden=(6,), epochs=30, lr=0.2, batch=64, seed=0).network


@pytest.fixture(scope="module")
def test_points() -> np.ndarray:
    return digits("test").x[:3]


def test_digits_split_is_the_bundled_set() -> None:
    from sklearn.datasets import load_digits

    train_set, test_set = digits("train"), digits("test")
    assert train_set.x.shape == (1437, 64) and test_set.x.shape == (360, 64)
    assert train_set.x.min() >= 0.0 and train_set.x.max() <= 1.0
    every = np.vstack([train_set.x, test_set.x]) * 16
    bundled = load_digits().data
    assert sorted(map(tuple, every)) == sorted(map(tuple, bundled))  # a partition of the set


@pytest.mark.parametrize("norm", ["linf", "l1"])
def test_digits_milp_equals_pattern_search(digits_net: Network, test_points: np.ndarray,
                                           norm: str) -> None:
    """Two independent exact methods (MILP with tightened bounds; best-first traversal of the
    linear regions, an LP each) give the same certified distance within the pixel box."""
    for x in test_points:
        by_milp = oae_milp(digits_net, x, norm, box=(0.0, 1.0), time_limit=120)
        by_regions = oae_branch_and_bound(digits_net, x, norm, box=(0.0, 1.0), time_limit=120)
        assert by_milp.certified and by_regions.certified
        assert by_milp.distance == pytest.approx(by_regions.distance, rel=1e-6, abs=1e-8)
        witness = np.array(by_milp.witness)
        assert np.all((witness >= 0.0) & (witness <= 1.0))
        assert exact_class(digits_net, witness) != by_milp.cls
        assert int(digits_net.classify(witness)[0]) != by_milp.cls


def test_jobs_agree_everywhere(digits_net: Network, test_points: np.ndarray) -> None:
    """Sequential, two local processes and a local Dask cluster: the same results, in order."""
    distributed = pytest.importorskip("dask.distributed")
    here = oae_jobs(digits_net, test_points, "linf", (0.0, 1.0), "milp", workers=1)
    processes = oae_jobs(digits_net, test_points, "linf", (0.0, 1.0), "milp", workers=2)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        dask = oae_jobs(digits_net, test_points, "linf", (0.0, 1.0), "milp",
                        scheduler=cluster.scheduler_address)
    for runs in (processes, dask):
        for a, b in zip(here, runs, strict=True):
            assert a.result.x == b.result.x and a.result.certified and b.result.certified
            assert a.result.distance == pytest.approx(b.result.distance, rel=1e-9)


def test_cli_on_digits_with_workers(digits_net: Network, tmp_path, cli) -> None:
    model = tmp_path / "digits.json"
    save_model(digits_net, model)
    args = ["oae", "--model", str(model), "--data", "digits-test", "--limit", "2", "--norm",
            "linf", "--box", "0,1", "--json"]
    one, two = cli(*args, "--workers", "1"), cli(*args, "--workers", "2")
    assert one.code == 0 and two.code == 0, one.stderr + two.stderr
    rows_one, rows_two = one.json()["results"], two.json()["results"]
    assert len(rows_one) == 2
    for a, b in zip(rows_one, rows_two, strict=True):
        assert a["x"] == b["x"] and a["certified"] and b["certified"]
        assert a["distance"] == pytest.approx(b["distance"], rel=1e-9)
        expected = oae_branch_and_bound(digits_net, np.array(a["x"]), "linf", box=(0.0, 1.0))
        assert a["distance"] == pytest.approx(expected.distance, rel=1e-6, abs=1e-8)


@pytest.mark.parametrize("limit", [0.001, 0.05, 0.3])
def test_milp_bracket_at_a_time_limit_holds_the_exact_distance(digits_net: Network,
                                                               test_points: np.ndarray,
                                                               limit: float) -> None:
    """Stopped early, the MILP's bracket [lower_bound, upper_bound] still holds the distance the
    independent pattern search proves, and a certificate is only claimed when they agree."""
    for x in test_points[:2]:
        exact = oae_branch_and_bound(digits_net, x, "linf", box=(0.0, 1.0), time_limit=120)
        assert exact.certified
        stopped = oae_milp(digits_net, x, "linf", box=(0.0, 1.0), time_limit=limit)
        assert stopped.lower_bound <= exact.distance * (1 + 1e-9) + 1e-12
        if stopped.witness is not None:
            assert stopped.upper_bound >= exact.distance * (1 - 1e-9) - 1e-12
            assert exact_class(digits_net, np.array(stopped.witness)) != stopped.cls
        if stopped.certified:
            assert stopped.distance == pytest.approx(exact.distance, rel=1e-6, abs=1e-8)
