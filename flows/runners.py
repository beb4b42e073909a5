"""Which Prefect task runner a flow uses, and a bounded in-order pipeline over submitted tasks.

Parsing is the CPU-bound stage; on one machine threads share one core under the GIL, so scaling it out
means processes. ``Settings.task_runner`` (``INITIATIVES_TASK_RUNNER``) ``dask`` runs submitted tasks on
Dask (prefect-dask, dependency group ``dask``): a ``LocalCluster`` of ``dask_workers`` processes, or the
existing scheduler at ``dask_address``. The default, ``thread``, is Prefect's thread pool. Results do not
depend on the runner, because each task is a pure function of its batch.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from initiatives.settings import Settings

P = TypeVar("P")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)


class Future(Protocol[R_co]):
    def result(self) -> R_co: ...


def task_runner(settings: Settings) -> Any:
    """A fresh task runner for a flow (``@flow(task_runner=task_runner(settings))`` or ``.with_options``)."""
    if settings.task_runner == "thread":
        from prefect.task_runners import ThreadPoolTaskRunner

        return ThreadPoolTaskRunner()
    try:
        from prefect_dask.task_runners import DaskTaskRunner
    except ImportError:
        raise ValueError("INITIATIVES_TASK_RUNNER=dask needs prefect-dask: uv sync --group dask") from None
    if settings.dask_address:
        return DaskTaskRunner(address=settings.dask_address)
    workers = settings.dask_workers or os.cpu_count() or 2
    return DaskTaskRunner(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True})


def in_order(items: Iterable[P], submit: Callable[[P], Future[R]], ahead: int = 2) -> Iterator[tuple[P, R]]:
    """Submit each item as it arrives, keep ``ahead`` more in flight, yield (item, result) in input order.

    In order so loading stays sequential and deterministic; ahead so parsing batch i+1.. overlaps loading
    batch i on another process. ``ahead=0`` is the plain sequential loop.
    """
    window: deque[tuple[P, Future[R]]] = deque()
    for item in items:
        window.append((item, submit(item)))
        while len(window) > ahead:
            done, future = window.popleft()
            yield done, future.result()
    while window:
        done, future = window.popleft()
        yield done, future.result()
