"""Run one function over many items, here, in local processes or on a Dask cluster.

``run_map(fn, items)`` returns ``[fn(item) for item in items]``, in input order, whichever
executor ran the jobs:

- ``scheduler=None, workers=1`` (or a single item): sequentially, in this process.
- ``scheduler=None, workers=None or > 1``: local processes, a
  ``concurrent.futures.ProcessPoolExecutor`` with the *spawn* start method (no fork of a
  threaded parent; the same on Linux, macOS and Windows); ``workers=None`` is one per CPU,
  never more than there are items.
- ``scheduler="tcp://HOST:PORT"`` (or ``tls://``): a ``dask.distributed.Client`` connected to
  that running scheduler; its workers run the jobs and need actlab installed (same version).
  Start one with ``dask scheduler`` and ``dask worker tcp://HOST:8786``.

What can be sent (picklable-friendly):
- ``fn`` must be a top-level function of an importable module (``actlab.ensemble.run_sweep_job``),
  not a lambda, a closure or a function defined under ``if __name__ == "__main__"``: processes and
  Dask workers import it by module and name. In a script, call ``run_map`` under
  ``if __name__ == "__main__":`` (spawn re-imports the main module).
- each item and each result should be plain data: numbers, strings, tuples, lists, dicts, numpy
  arrays, frozen dataclasses defined at module top level (``actlab.ensemble.SweepJob``).
  Keep items small (a spec and a few numbers); let the job build its arrays.

Errors: a job that raises stops the map (the pending jobs are cancelled) with an ``ActlabError``
naming the job's index and item, chained to the original exception.
A progress bar is drawn on stderr only when stderr is a terminal.
"""

from __future__ import annotations

import os
import pickle
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from actlab.errors import ActlabError

T = TypeVar("T")
R = TypeVar("R")
SCHEDULER_PATTERN = re.compile(r"^(tcp|tls)://(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$")
CONNECT_TIMEOUT = 10.0  # seconds to reach a Dask scheduler


def check_scheduler(address: str) -> str:
    """``tcp://HOST:PORT`` (or ``tls://``), port 1..65535; ActlabError otherwise."""
    text = str(address).strip()
    match = SCHEDULER_PATTERN.match(text)
    if not match or not 1 <= int(match.group(3)) <= 65535:
        raise ActlabError(f"the scheduler address must look like tcp://HOST:PORT, got "
                          f"{address!r}")
    return text


def default_workers() -> int:
    """The CPUs this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def run_map(fn: Callable[[T], R], items: Iterable[T], scheduler: str | None = None,
            workers: int | None = None, progress: bool = True,
            description: str = "jobs") -> list[R]:
    """[fn(item) for item in items] in input order (module docstring: executors, what can be
    sent, errors). ``workers`` is for local processes; a Dask cluster has its own."""
    jobs = list(items)
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise ActlabError(f"workers must be a positive whole number, got {workers}")
    if scheduler is not None:
        address = check_scheduler(scheduler)
        if workers is not None:
            raise ActlabError("workers sets local processes; a Dask scheduler brings its own "
                              "workers: give one of the two")
        return _run_dask(fn, jobs, address, progress, description)
    count = min(default_workers() if workers is None else workers, len(jobs))
    if count <= 1:
        return _run_here(fn, jobs, progress, description)
    return _run_processes(fn, jobs, count, progress, description)


def _describe(item: Any, limit: int = 160) -> str:
    text = str(item)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _job_error(index: int, total: int, item: Any, error: BaseException) -> ActlabError:
    reason = str(error) if isinstance(error, ActlabError) else (
        f"{type(error).__name__}: {error}")
    return ActlabError(f"job {index + 1} of {total} ({_describe(item)}) failed: {reason}")


def _bar(iterable: Iterable[T], total: int, description: str, show: bool) -> Iterator[T]:
    if not show:
        return iter(iterable)
    from actlab.cli.output import progress

    return progress(iterable, total, description)


def _run_here(fn: Callable[[T], R], jobs: list[T], show: bool, description: str) -> list[R]:
    results = []
    for i, item in _bar(enumerate(jobs), len(jobs), description, show):
        try:
            results.append(fn(item))
        except Exception as error:
            raise _job_error(i, len(jobs), item, error) from error
    return results


def _check_picklable(fn: Callable[..., Any]) -> None:
    try:
        pickle.dumps(fn)
    except Exception as error:
        raise ActlabError(f"{getattr(fn, '__qualname__', fn)!r} cannot be sent to worker "
                          "processes: pass a top-level function of an importable module "
                          f"(not a lambda or a closure) ({type(error).__name__})") from error


def _run_processes(fn: Callable[[T], R], jobs: list[T], count: int, show: bool,
                   description: str) -> list[R]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    _check_picklable(fn)
    results: list[Any] = [None] * len(jobs)
    pool = ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("spawn"))
    try:
        index = {pool.submit(fn, item): i for i, item in enumerate(jobs)}
        for future in _bar(as_completed(index), len(jobs), description, show):
            i = index[future]
            try:
                results[i] = future.result()
            except BrokenProcessPool as error:
                raise ActlabError(f"a worker process died while running job {i + 1} of "
                                  f"{len(jobs)} ({_describe(jobs[i])}); out of memory?"
                                  ) from error
            except Exception as error:
                raise _job_error(i, len(jobs), jobs[i], error) from error
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return results


def _run_dask(fn: Callable[[T], R], jobs: list[T], address: str, show: bool,
              description: str) -> list[R]:
    try:
        from dask.distributed import Client, as_completed
    except ImportError as error:
        raise ActlabError("--scheduler needs dask.distributed: pip install "
                          "'dask[distributed]'") from error
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except Exception as error:
        raise ActlabError(f"cannot connect to the Dask scheduler at {address}: "
                          f"{type(error).__name__}: {error}") from error
    results: list[Any] = [None] * len(jobs)
    try:
        name = getattr(fn, "__name__", "job")
        token = uuid.uuid4().hex[:12]
        futures = client.map(fn, jobs, key=[f"actlab-{name}-{token}-{i}"
                                             for i in range(len(jobs))], pure=False)
        index = {future.key: i for i, future in enumerate(futures)}
        done = as_completed(futures, loop=client.loop)  # not the default client: ours
        for future in _bar(done, len(jobs), description, show):
            i = index[future.key]
            try:
                results[i] = future.result()     # re-raises the job's own exception
            except Exception as error:
                client.cancel(futures)
                raise _job_error(i, len(jobs), jobs[i], error) from error
    finally:
        client.close()
    return results
