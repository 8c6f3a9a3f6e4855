"""run_map: the same results, in input order, sequentially, in local processes and on a real
local Dask cluster (dask.distributed.LocalCluster, two worker processes); clear errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from actlab.engine import check_scheduler, run_map
from actlab.ensemble import SweepJob, run_sweep_job
from actlab.errors import ActlabError

# first job largest, so completion order differs from input order
JOBS = [SweepJob("xor", act, (2,), 3, start, stop, 30, 0.1, "seed")
        for act, start, stop in [("relu", 0, 3000), ("gelu", 5, 9), ("tanh", 0, 1),
                                 ("elu:alpha=0.1", 100, 140)]]


def _same(a, b) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x.first == y.first
        for name in ("final_loss", "solved", "accuracy", "dead_initial", "dead_final",
                     "diverged"):
            np.testing.assert_array_equal(getattr(x, name), getattr(y, name))


@pytest.fixture(scope="module")
def sequential():
    return [run_sweep_job(job) for job in JOBS]   # the plain loop, no run_map


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as local:
        yield local


def test_in_process(sequential) -> None:
    _same(run_map(run_sweep_job, JOBS, workers=1), sequential)


def test_local_processes(sequential) -> None:
    results = run_map(run_sweep_job, JOBS, workers=2)
    _same(results, sequential)
    assert [r.solved.size for r in results] == [3000, 4, 1, 40]


def test_dask_cluster(cluster, sequential) -> None:
    _same(run_map(run_sweep_job, JOBS, scheduler=cluster.scheduler_address), sequential)


@pytest.mark.parametrize("where", ["here", "processes", "dask"])
def test_a_failing_job_names_its_item(where: str, request) -> None:
    kwargs = {"here": {"workers": 1}, "processes": {"workers": 2},
              "dask": {"scheduler": request.getfixturevalue("cluster").scheduler_address
                       if where == "dask" else None}}[where]
    with pytest.raises(ActlabError, match=r"job 2 of 3 \(-1\.0\) failed: ValueError: math "
                                          r"domain error"):
        run_map(math.sqrt, [4.0, -1.0, 9.0], **kwargs)


def test_results_of_plain_functions_keep_order(cluster) -> None:
    items = [5, 0, 3, 10, 1]
    expected = [120, 1, 6, 3628800, 1]
    assert run_map(math.factorial, items, workers=2) == expected
    assert run_map(math.factorial, items, scheduler=cluster.scheduler_address) == expected
    assert run_map(math.factorial, []) == []


def test_sweep_cli_on_the_cluster_equals_in_process(cluster, cli) -> None:
    args = ["sweep", "--act", "relu", "swish", "--nets", "30", "--epochs", "10", "--chunk",
            "7", "--json"]
    here = cli(*args)
    there = cli(*args, "--scheduler", cluster.scheduler_address)
    assert here.code == 0 and there.code == 0, here.stderr + there.stderr
    assert here.json() == there.json()


def test_unpicklable_function_is_a_clear_error() -> None:
    with pytest.raises(ActlabError, match="top-level function"):
        run_map(lambda v: v, [1, 2], workers=2)


@pytest.mark.parametrize("address", ["localhost:8786", "http://h:1", "tcp://h", "tcp://h:0",
                                     "tcp://h:99999", "tcp:// h:1"])
def test_bad_scheduler_address(address: str) -> None:
    with pytest.raises(ActlabError, match="tcp://HOST:PORT"):
        check_scheduler(address)


def test_good_scheduler_addresses() -> None:
    for address in ("tcp://127.0.0.1:8786", "tcp://node-3.cluster:8786", "tls://[::1]:8786"):
        assert check_scheduler(address) == address


def test_workers_and_scheduler_together_is_an_error() -> None:
    with pytest.raises(ActlabError, match="give one of the two"):
        run_map(math.sqrt, [1.0], scheduler="tcp://127.0.0.1:8786", workers=2)
    with pytest.raises(ActlabError, match="workers"):
        run_map(math.sqrt, [1.0], workers=0)
