"""Archive writes in a child process, so hashing and compressing never compete with the fetch loop.

In a thread the writes were cheap in CPU (about 0.1 ms per 30 KB page) but not in throughput: every
``hashlib``/``zlib`` call drops and retakes the GIL, and each retake can stall the event loop that is
serving 32 connections (docs/crawling.md has the figures). Here the loop writes a batch's bodies to the
child's stdin (the loop's pipe transport copies them in C, no pickling), with what a WARC record needs
about each fetch (URL, status, headers, time, final URL, request headers), and reads back one line of
sha256s and record ids; the child stores them with ``RawArchive.put_many``, so the archive on disk is the
same as an in-process write. The child is ``python -m flows.archive_writer``, not a ``multiprocessing`` worker, so
it never re-imports the caller's main module (a script without a ``__main__`` guard still works).

Wire format, both ways one message at a time, answered in order:
  request  = one JSON line ``{"captures": [Capture.to_wire(), ...], "user_agent": ...}`` then the bodies
             back to back (the user agent, the same for every request of a run, goes once per batch)
  response = one JSON line ``{"stored": [[sha256, record id], ...]}`` or ``{"error": "..."}``

A child that dies fails the batches it was given (the task's retries repeat them) and the next write
starts a new one. The child ignores Ctrl-C: the parent decides when to stop, and a pack is renamed into
place whole or not at all. It ends with its parent, ``kill -9`` included: end-of-file on stdin, and on
Linux the kernel's parent-death signal (``flows/lifetime.py``).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from flows.archive import Capture, RawArchive, Stored
from flows.lifetime import die_with_parent

Items = Sequence[Capture]


class ArchiveWriterError(Exception):
    """The child could not store a batch, or exited before answering."""


class ArchiveWriter:
    """One child per writer, started on the first write; use it from one event loop."""

    def __init__(self, root: Path, user_agent: str | None = None) -> None:
        self.root = root
        self.user_agent = user_agent
        self._child: _Child | None = None
        self._starting: asyncio.Lock | None = None

    async def start(self) -> None:
        """Start the child now and wait until it answers (an empty batch), rather than at the first write:
        a Python start-up is ~0.1 s the first batch would wait. Writes start a child anyway if none runs."""
        await (await self._live_child()).put_many([], None)

    async def put_many(self, items: Items) -> list[Stored]:
        """``RawArchive.put_many`` in the child: every item's sha256 and record id, once its file is on disk."""
        child = await self._live_child()
        return await child.put_many(items, self.user_agent)

    async def _live_child(self) -> _Child:
        if self._starting is None:
            self._starting = asyncio.Lock()
        async with self._starting:  # batches arriving together share one new child
            if self._child is None or self._child.dead:
                self._child = await _Child.start(self.root)
            return self._child

    async def aclose(self) -> None:
        child, self._child = self._child, None
        if child is not None:
            await child.aclose()


class _Child:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self._proc = proc
        self._waiting: collections.deque[asyncio.Future[list[Stored]]] = collections.deque()
        self._reader = asyncio.ensure_future(self._read_answers())
        self._exited = False

    @property
    def dead(self) -> bool:
        stdin = self._proc.stdin
        return self._exited or self._proc.returncode is not None or stdin is None or stdin.is_closing()

    @classmethod
    async def start(cls, root: Path) -> _Child:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "flows.archive_writer", str(root), str(os.getpid()),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )
        return cls(proc)

    async def put_many(self, items: Items, user_agent: str | None) -> list[Stored]:
        stdin = self._proc.stdin
        if stdin is None or self.dead:
            raise ArchiveWriterError("archive writer exited before this batch was sent")
        header = {"captures": [c.to_wire() for c in items], "user_agent": user_agent}
        stdin.write(json.dumps(header, ensure_ascii=False).encode() + b"\n")
        stdin.writelines(c.body for c in items)
        answer: asyncio.Future[list[Stored]] = asyncio.get_running_loop().create_future()
        self._waiting.append(answer)
        # A child gone mid-write: the reader sees it exit and fails every waiting batch with the reason.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            await stdin.drain()
        return await answer

    async def _read_answers(self) -> None:
        assert self._proc.stdout is not None
        while line := await self._proc.stdout.readline():
            answer = json.loads(line)
            waiter = self._waiting.popleft()
            if "error" in answer:
                waiter.set_exception(ArchiveWriterError(answer["error"]))
            else:
                waiter.set_result([Stored(d, r) for d, r in answer["stored"]])
        self._exited = True
        code = await self._proc.wait()
        while self._waiting:
            self._waiting.popleft().set_exception(
                ArchiveWriterError(f"archive writer exited (code {code}) before storing the batch"))

    async def aclose(self) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        await self._reader
        await self._proc.wait()


#: work done between two offers of the CPU to other runnable threads (see ``_yielding``).
YIELD_EVERY = 0.001


def _yielding(every: float) -> Callable[[], None]:
    """A callback that gives the CPU away (``sched_yield``) once per ``every`` seconds of work.

    A batch is several milliseconds of hashing and compressing, and the fetch loop beside it wakes every
    few hundred microseconds; a woken loop could wait for the rest of the writer's time slice. Yielding
    each millisecond took bench-crawl from 4,154 to 4,430 pages/s at 5 ms (A/B, medians of 4 rounds),
    and with two CPU hogs running beside it cost nothing (2,301 against 2,276 pages/s). A lower priority
    does not: at SCHED_IDLE the same hogs left the writer 33 pages/s, since it then runs only on idle CPUs.
    """
    if not hasattr(os, "sched_yield"):  # pragma: no cover - Windows
        return lambda: None
    last = time.perf_counter()

    def between() -> None:
        nonlocal last
        now = time.perf_counter()
        if now - last >= every:
            os.sched_yield()
            last = time.perf_counter()

    return between


def serve(root: Path, parent: int | None = None) -> None:
    """The child: answer requests on stdin until it closes, or until the parent dies (SIGTERM from the
    kernel, ``flows.lifetime.die_with_parent``: stdin may stay open when a forked sibling inherited it)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent(parent)
    archive = RawArchive(root)
    between = _yielding(YIELD_EVERY)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while line := stdin.readline():
        request = json.loads(line)
        items = []
        for meta in request["captures"]:
            body = stdin.read(meta["size"])
            if len(body) != meta["size"]:
                return  # the parent died mid-request: store nothing from a cut-off batch
            items.append(Capture.from_wire(meta, body, request.get("user_agent")))
        try:
            stored = archive.put_many(items, between)
            answer: dict[str, object] = {"stored": [[s.sha256, s.record_id] for s in stored]}
        except Exception as exc:  # reported to the batch that asked; the child keeps serving
            answer = {"error": f"{root}: {type(exc).__name__}: {exc}"}
        stdout.write(json.dumps(answer).encode() + b"\n")
        stdout.flush()


if __name__ == "__main__":
    serve(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else None)
