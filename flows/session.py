"""One fetcher for a whole run: an event loop on its own thread, shared by every batch task.

Prefect tasks are synchronous functions here, and a fresh ``asyncio.run`` per batch would mean a fresh
client (new connections, new robots.txt reads, no memory of when a host was last hit) for every 50
pages. Instead the flow opens a ``FetchSession`` and registers it under the run's key; batch tasks find
it by that key and hand their coroutines to its loop, so connection pool, robots cache and per-host
politeness span the run. Batches can be submitted ahead, which keeps the fetch pipe full while the
previous batch is parsed. A task that lands in another process (a Dask worker) finds no session under
the key and opens a private one for its batch: correct, only less efficient.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
import time
from collections.abc import Coroutine, Iterator, Sequence
from types import TracebackType
from typing import Any, TypeVar

from flows import politeness
from flows.archive import RawArchive
from flows.archive_writer import ArchiveWriter
from flows.fetch import Fetcher, FetchPolicy, HostLimiter
from flows.pages import FetchedPage, Target, fetch_and_archive
from flows.run_registry import RunRegistry

T = TypeVar("T")

_SESSIONS: RunRegistry[FetchSession] = RunRegistry()


class FetchSession:
    def __init__(
        self,
        policy: FetchPolicy,
        archive: RawArchive,
        transport: Any = None,
        limiter: HostLimiter | None = None,
    ) -> None:
        self.policy = policy
        self.archive = archive
        self._transport = transport
        # Per-host politeness shared across workers when the policy says "prefect"; in-process otherwise.
        self._limiter = limiter if limiter is not None else politeness.host_limiter(policy)
        self._loop = new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fetch-loop", daemon=True)
        self._fetcher: Fetcher | None = None
        self._writer = ArchiveWriter(archive.root, policy.user_agent)

    def __enter__(self) -> FetchSession:
        self._thread.start()
        self._fetcher = self.run(self._open())
        self.run(self._writer.start())
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        if self._fetcher is not None:
            self.run(self._fetcher.__aexit__(None, None, None))
        self.run(self._writer.aclose())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    async def _open(self) -> Fetcher:
        fetcher = Fetcher(self.policy, self._transport, self._limiter)
        return await fetcher.__aenter__()

    @property
    def fetcher(self) -> Fetcher:
        assert self._fetcher is not None, "use FetchSession as a context manager"
        return self._fetcher

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.submit(coro).result()

    def submit_batch(self, targets: Sequence[Target]) -> concurrent.futures.Future[list[FetchedPage]]:
        return self.submit(self._batch(targets))

    def fetch_batch(self, targets: Sequence[Target]) -> list[FetchedPage]:
        return self.submit_batch(targets).result()

    async def _batch(self, targets: Sequence[Target]) -> list[FetchedPage]:
        return await fetch_and_archive(self.fetcher, self.archive, targets, self._writer)

    def cpu_seconds(self) -> float:
        """CPU time used so far by the loop thread, for the per-stage split (archive writes run in the
        writer's child process and count there)."""
        return self.run(_thread_time())


async def _thread_time() -> float:
    return time.thread_time()


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop's C event loop where it exists (not on Windows): this loop does nothing but requests, and
    with uvloop's socket and timer handling bench-crawl fetched 20% more pages/s (docs/crawling.md)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - Windows
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


register = _SESSIONS.register
unregister = _SESSIONS.unregister
lookup = _SESSIONS.lookup


def fetch_batch(key: str, targets: Sequence[Target], policy: FetchPolicy, archive: RawArchive) -> list[FetchedPage]:
    """Fetch through the run's shared session, or a private one when this process has none."""
    session = lookup(key)
    if session is not None:
        return session.fetch_batch(targets)
    with FetchSession(policy, archive) as private:
        return private.fetch_batch(targets)


@contextlib.contextmanager
def shared(key: str, policy: FetchPolicy, archive: RawArchive) -> Iterator[FetchSession]:
    """Open the run's session and make it findable by batch tasks under ``key``."""
    with FetchSession(policy, archive) as session:
        register(key, session)
        try:
            yield session
        finally:
            unregister(key)
