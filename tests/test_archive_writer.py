"""The archive writer's child process stores exactly what ``RawArchive`` would, and survives its child dying."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from flows import archive_writer
from flows.archive import Capture, RawArchive, Stored, content_hash
from flows.archive_writer import ArchiveWriter, ArchiveWriterError
from flows.session import new_event_loop

BODIES = [f"第{i}篇:中国航发东安党委构建“2+4+N”工作体系".encode() * 40 for i in range(4)]


def cap(body: bytes, headers: dict[str, str] | None = None, n: int = 0) -> Capture:
    return Capture(f"http://127.0.0.1/{n}.html", body, headers=headers or {})


def digests_of(stored: list[Stored]) -> list[str]:
    return [s.sha256 for s in stored]


def run(coro: object) -> object:
    """On the loop the fetch session uses (uvloop where it exists), as in production."""
    loop = new_event_loop()
    try:
        return loop.run_until_complete(coro)  # type: ignore[arg-type]
    finally:
        loop.close()


def test_bodies_written_by_the_child_are_read_here(tmp_path: Path) -> None:
    async def go() -> tuple[list[Stored], list[Stored]]:
        writer = ArchiveWriter(tmp_path)
        try:
            first, second = await asyncio.gather(  # two batches in flight: answered in order
                writer.put_many([cap(b, {"etag": f'"{i}"'}, i) for i, b in enumerate(BODIES)] + [cap(BODIES[0])]),
                writer.put_many([cap(BODIES[1]), cap(b"new", {"x": "1"}, 9)]),
            )
        finally:
            await writer.aclose()
        return first, second

    stored, stored_again = run(go())  # type: ignore[misc]
    digests, again = digests_of(stored), digests_of(stored_again)
    assert digests == [content_hash(b) for b in [*BODIES, BODIES[0]]]
    assert again == [content_hash(BODIES[1]), content_hash(b"new")]
    assert len({s.record_id for s in [*stored, *stored_again]}) == 7  # one record per fetch, repeats included
    archive = RawArchive(tmp_path)
    for i, body in enumerate(BODIES):
        assert archive.page(digests[i]) == ({"etag": f'"{i}"', "content-length": str(len(body))}, body)
    assert archive.page(again[1]) == ({"x": "1", "content-length": "3"}, b"new")
    assert len(list((tmp_path / "warc").glob("*/*.warc.gz"))) == 2  # one file per batch


def test_after_the_child_dies_the_next_write_starts_a_new_one(tmp_path: Path) -> None:
    async def go() -> list[str]:
        writer = ArchiveWriter(tmp_path)
        try:
            await writer.put_many([cap(BODIES[0])])
            assert writer._child is not None
            os.kill(writer._child._proc.pid, signal.SIGKILL)
            await writer._child._proc.wait()
            return digests_of(await writer.put_many([cap(BODIES[1])]))
        finally:
            await writer.aclose()

    assert run(go()) == [content_hash(BODIES[1])]
    assert RawArchive(tmp_path).get(content_hash(BODIES[1])) == BODIES[1]


def test_a_batch_in_flight_when_the_child_dies_fails_with_the_reason(tmp_path: Path) -> None:
    async def go() -> None:
        writer = ArchiveWriter(tmp_path)
        try:
            await writer.put_many([cap(BODIES[0])])
            assert writer._child is not None
            proc = writer._child._proc
            batch = asyncio.ensure_future(writer.put_many([cap(b"x" * 5_000_000)]))
            await asyncio.sleep(0)
            os.kill(proc.pid, signal.SIGKILL)
            with pytest.raises(ArchiveWriterError, match="exited"):
                await batch
        finally:
            await writer.aclose()

    run(go())


def test_a_failed_write_is_reported_and_the_child_keeps_serving(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")

    async def go() -> None:
        writer = ArchiveWriter(blocker / "raw")
        try:
            for _ in range(2):
                with pytest.raises(ArchiveWriterError, match=r"raw: .*Error"):
                    await writer.put_many([cap(BODIES[0])])
        finally:
            await writer.aclose()

    run(go())


def test_the_child_stores_nothing_from_a_cut_off_request(tmp_path: Path) -> None:
    header = {"captures": [cap(b"0123456789").to_wire(), cap(b"9876543210", n=1).to_wire()]}
    request = json.dumps(header).encode() + b"\n" + b"0123456789" + b"01234"
    done = subprocess.run([sys.executable, "-m", archive_writer.__name__, str(tmp_path)], input=request,
                          capture_output=True, check=False, timeout=60)
    assert done.returncode == 0 and done.stdout == b""
    assert not list(tmp_path.glob("warc/*/*.warc.gz"))


def test_the_writer_hands_the_cpu_over_between_bodies_after_a_stretch_of_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    yields: list[float] = []
    monkeypatch.setattr(archive_writer.os, "sched_yield", lambda: yields.append(1))
    between = archive_writer._yielding(0.05)
    between()
    assert yields == []  # not after a moment's work
    clock = [archive_writer.time.perf_counter() + 0.06]
    monkeypatch.setattr(archive_writer.time, "perf_counter", lambda: clock[0])
    between()
    between()
    assert yields == [1]  # once the stretch is over, and then a new stretch starts

    calls: list[int] = []
    stored = RawArchive(tmp_path / "raw").put_many([cap(b, n=i) for i, b in enumerate(BODIES)],
                                                   lambda: calls.append(1))
    assert len(calls) == 2 * len(BODIES)  # after each hash and each record built
    assert digests_of(stored) == [content_hash(b) for b in BODIES]


def test_start_waits_for_a_ready_child_and_writes_follow(tmp_path: Path) -> None:
    async def scenario() -> tuple[bool, list[str]]:
        writer = ArchiveWriter(tmp_path / "raw")
        await writer.start()
        ready = writer._child is not None and not writer._child.dead
        digests = digests_of(await writer.put_many([cap(BODIES[0])]))
        await writer.aclose()
        return ready, digests

    ready, digests = run(scenario())  # type: ignore[misc]
    assert ready and digests == [content_hash(BODIES[0])]
    assert RawArchive(tmp_path / "raw").get(digests[0]) == BODIES[0]
