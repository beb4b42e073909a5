"""Which Prefect task runner a flow uses, and a bounded in-order pipeline over submitted tasks.

Parsing is the CPU-bound stage; on one machine threads share one core under the GIL, so scaling it out
means processes. ``INITIATIVES_TASK_RUNNER=dask`` runs submitted tasks on Dask (prefect-dask, dependency
group ``dask``): a ``LocalCluster`` of ``INITIATIVES_DASK_WORKERS`` processes, or the existing scheduler
at ``INITIATIVES_DASK_ADDRESS``. The default, ``thread``, is Prefect's thread pool. Results do not depend on
the runner, because each task is a pure function of its batch.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol, TypeVar

ENV_TASK_RUNNER = "INITIATIVES_TASK_RUNNER"
ENV_DASK_ADDRESS = "INITIATIVES_DASK_ADDRESS"
ENV_DASK_WORKERS = "INITIATIVES_DASK_WORKERS"
ENV_PARSE_AHEAD = "INITIATIVES_PARSE_AHEAD"

P = TypeVar("P")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)


class Future(Protocol[R_co]):
    def result(self) -> R_co: ...


def task_runner(kind: str | None = None) -> Any:
    """A fresh task runner for a flow (``@flow(task_runner=task_runner())`` or ``.with_options``)."""
    choice = (kind if kind is not None else os.environ.get(ENV_TASK_RUNNER, "thread")).strip().lower() or "thread"
    if choice == "thread":
        from prefect.task_runners import ThreadPoolTaskRunner

        return ThreadPoolTaskRunner()
    if choice == "dask":
        try:
            from prefect_dask.task_runners import DaskTaskRunner
        except ImportError:
            raise ValueError(
                f"{ENV_TASK_RUNNER}=dask needs prefect-dask: uv sync --group dask"
            ) from None
        address = os.environ.get(ENV_DASK_ADDRESS, "").strip()
        if address:
            return DaskTaskRunner(address=address)
        workers = int(os.environ.get(ENV_DASK_WORKERS, "") or (os.cpu_count() or 2))
        return DaskTaskRunner(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True})
    raise ValueError(f"{ENV_TASK_RUNNER}={choice!r}: choose thread or dask")


def parse_ahead(default: int = 2) -> int:
    """Batches in flight on the runner at once: enough to keep Dask workers busy, bounded for memory."""
    value = os.environ.get(ENV_PARSE_AHEAD, "").strip()
    return max(0, int(value)) if value else default


def in_order(items: Iterable[P], submit: Callable[[P], Future[R]], ahead: int | None = None) -> Iterator[tuple[P, R]]:
    """Submit each item as it arrives, keep ``ahead`` more in flight, yield (item, result) in input order.

    In order so loading stays sequential and deterministic; ahead so parsing batch i+1.. overlaps loading
    batch i on another process. ``ahead=0`` is the plain sequential loop.
    """
    window: deque[tuple[P, Future[R]]] = deque()
    limit = parse_ahead() if ahead is None else ahead
    for item in items:
        window.append((item, submit(item)))
        while len(window) > limit:
            done, future = window.popleft()
            yield done, future.result()
    while window:
        done, future = window.popleft()
        yield done, future.result()
