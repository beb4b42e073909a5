"""Parsing in a small pool of worker processes, beside the process that fetches and loads.

Parsing (verdict, extraction, records) is the one CPU-bound stage of a run. In the run's own process it
shares one GIL with the fetch loop and the loader, so a run used one CPU whatever the machine had. A
``ParsePool`` hands batches to ``INITIATIVES_PARSE_WORKERS`` processes (``concurrent.futures`` with the
``spawn`` start method: no copy of the parent's threads, locks or open connections) while fetching (the
session's event loop), probing (it needs that session) and loading (in batch order, one transaction
each) stay where they were. Each flow run owns one pool (``shared``), registered under the run's key as
the fetch session is; a batch task finds it by that key, and a task that finds none (a Dask worker, or
``INITIATIVES_PARSE_WORKERS=0``) parses in its own process. Results never depend on where a batch was
parsed: each batch is a pure function of its pages.

Workers end with the run: the pool closes them when the run ends, and each asks the kernel to end it when
its parent dies (``flows.lifetime.die_with_parent``), even after ``kill -9``. The kernel's notice comes
when the parent *thread* that started the worker exits, so ``start`` spawns every worker at once from the
calling thread (the flow's), which outlives the pool; a restart after a crash spawns from the thread that
saw the crash, one of the flow's task threads, which live until the flow's task runner closes, after the
pool. A worker that dies (killed, out of memory) breaks the pool (``BrokenProcessPool``): every batch it
held is parsed again in the run's own process, the pool is restarted (at most ``MAX_RESTARTS`` times a
run, then the run parses in its own process), and the run summary says so; the run goes on.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType
from typing import TYPE_CHECKING

from flows import parse_worker
from flows.parse_worker import ParseItem
from flows.run_registry import RunRegistry
from parsers.records import PageResult

if TYPE_CHECKING:
    from initiatives.settings import Settings

#: pool restarts a run allows after workers died; past them it parses in its own process.
MAX_RESTARTS = 3
#: seconds a starting worker waits for its siblings (``parse_worker.ready``) before it takes work anyway.
START_TIMEOUT = 120.0
#: seconds a broken executor's manager thread gets to close its call queue itself (``_unblock_feeder``).
FEEDER_GRACE = 2.0

_POOLS: RunRegistry[ParsePool] = RunRegistry()


class Parsed:
    """A submitted batch: ``result()`` gives its results, parsing it here if its worker died."""

    def __init__(self, pool: ParsePool, executor: ProcessPoolExecutor | None, items: list[ParseItem],
                 future: Future[tuple[bytes, float]] | None) -> None:
        self._pool, self._executor, self._items, self._future = pool, executor, items, future

    def result(self) -> list[PageResult]:
        return self._pool._finish(self._executor, self._items, self._future)


class ParsePool:
    """``workers`` parse processes, started by ``start`` (nothing runs before). Not started, or with
    ``workers=0``, every batch is parsed in the calling thread, as ``flows.batches.parse_batch`` does."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.restarts = 0
        #: CPU seconds the workers spent parsing (their own clocks, reported with each batch).
        self.worker_cpu = 0.0
        self._problems: list[str] = []
        self._executor: ProcessPoolExecutor | None = None
        self._closed = False
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._executor is not None

    def __enter__(self) -> ParsePool:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def start(self) -> None:
        """Start the workers (once; a no-op with ``workers=0`` or after ``close``). They get ready (parsers
        imported and warmed) while the caller goes on; the first batches queue behind that."""
        with self._lock:
            if self._executor is None and self.workers > 0 and not self._closed:
                self._executor = self._spawn()

    def _spawn(self) -> ProcessPoolExecutor:
        context = multiprocessing.get_context("spawn")
        barrier = context.Barrier(self.workers)
        executor = ProcessPoolExecutor(self.workers, mp_context=context, initializer=parse_worker.start,
                                       initargs=(os.getpid(), barrier))
        # The executor starts a worker per submission while none is idle; no warm-up finishes before all
        # workers have met at the barrier, so these submissions start every worker, from this thread.
        for _ in range(self.workers):
            executor.submit(parse_worker.ready, START_TIMEOUT)
        return executor

    def submit(self, items: Sequence[ParseItem]) -> Parsed:
        batch = list(items)
        with self._lock:
            executor = self._executor
        if executor is not None:
            try:
                return Parsed(self, executor, batch, executor.submit(parse_worker.parse_timed, batch))
            except BrokenProcessPool as exc:
                self._broken(executor, exc)
            except RuntimeError:  # closed meanwhile: parsed here
                pass
        return Parsed(self, None, batch, None)

    def parse(self, items: Sequence[ParseItem]) -> list[PageResult]:
        return self.submit(items).result()

    def _finish(self, executor: ProcessPoolExecutor | None, items: list[ParseItem],
                future: Future[tuple[bytes, float]] | None) -> list[PageResult]:
        if future is not None and executor is not None:
            try:
                packed, cpu = future.result()
                results = parse_worker.unpack(packed)
            except BrokenProcessPool as exc:
                self._broken(executor, exc)
            except Exception as exc:  # a batch that could not come back (pickling): this batch's problem only
                with self._lock:
                    self._problems.append(f"a parse worker could not return a batch ({type(exc).__name__}: "
                                          f"{exc}"[:200] + "): parsed in the run's process")
            else:
                with self._lock:
                    self.worker_cpu += cpu
                return results
        return parse_worker.parse_items(items)

    def _broken(self, executor: ProcessPoolExecutor, exc: BaseException) -> None:
        """Replace a broken executor once, whichever of the batches it held notices first."""
        with self._lock:
            if self._executor is not executor:
                return
            _unblock_feeder(executor)
            executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
            if self._closed:
                return
            note = f"a parse worker process died ({type(exc).__name__}): its batches were parsed in the run's process"
            if self.restarts < MAX_RESTARTS:
                self.restarts += 1
                self._executor = self._spawn()
                self._problems.append(f"{note}; workers restarted ({self.restarts} of {MAX_RESTARTS})")
            else:
                self._problems.append(f"{note}; no more restarts, the rest of the run parses in its process")

    def ahead(self, parse_ahead: int) -> int:
        """Batches to keep in flight beyond the one awaited: ``parse_ahead``, and at least one per running
        worker, so every worker has a batch and one more waits for the first to free up."""
        return max(parse_ahead, self.workers if self.running else 0)

    def take_problems(self) -> list[str]:
        """What went wrong with the workers since the last call, for the run summary."""
        with self._lock:
            problems, self._problems = self._problems, []
        return problems

    def close(self) -> None:
        with self._lock:
            executor, self._executor, self._closed = self._executor, None, True
        if executor is not None:
            if getattr(executor, "_broken", False):
                _unblock_feeder(executor)
            executor.shutdown(wait=True, cancel_futures=True)


def _unblock_feeder(executor: ProcessPoolExecutor) -> None:
    """Without CPython's fix for gh-94777 (in 3.11.7, not in Debian's 3.11.2 that CI may run) a worker's
    death can hang the process at exit: the executor's manager thread joins the call queue's feeder
    thread, which may be stuck writing a batch into a pipe no live worker reads. Closing this process's
    read end of that pipe (what the upstream fix does) makes the write fail and the feeder end; nothing in
    this process reads it.

    With the fix, the manager thread closes that pipe itself just after it fails the futures, so closing it
    here at once raced it: both could close one descriptor number, the second time after the run had reused
    it for a new pipe (seen as EBADF at exit; the likely cause of a test run that once recorded no death).
    So the manager thread gets ``FEEDER_GRACE`` seconds to finish first; one still running after that is the
    unfixed one, stuck joining the feeder, and no longer touches the pipe."""
    manager = getattr(executor, "_executor_manager_thread", None)
    if isinstance(manager, threading.Thread) and manager is not threading.current_thread():
        manager.join(FEEDER_GRACE)
    reader = getattr(getattr(executor, "_call_queue", None), "_reader", None)
    if reader is not None and not reader.closed:
        with contextlib.suppress(OSError):
            reader.close()


def workers_for(settings: Settings) -> int:
    """Parse processes for a run: none when the flow's task runner is Dask, whose workers parse already."""
    return settings.parse_workers if settings.task_runner == "thread" else 0


register = _POOLS.register
unregister = _POOLS.unregister
lookup = _POOLS.lookup


@contextlib.contextmanager
def shared(key: str, workers: int) -> Iterator[ParsePool]:
    """The run's pool, findable by batch tasks under ``key``; started by the first ``run_targets`` with
    more than one batch, closed (its workers ended) when the run ends."""
    with ParsePool(workers) as pool:
        register(key, pool)
        try:
            yield pool
        finally:
            unregister(key)
