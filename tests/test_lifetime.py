"""Child processes end with their parent after a real ``kill -9`` of it: the archive writer (end of stdin,
and the kernel's parent-death signal when a forked sibling keeps stdin open) and the temporary Prefect
server a local run gets (the watchdog of ``flows/lifetime.py``). Waits are bounded, never timed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flows.lifetime import descendants

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl and /proc are Linux's")


def alive(pid: int) -> bool:
    """Running (a zombie waiting for a reaper that is not ours counts as ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] != "Z"


def wait_gone(pid: int, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.1)
    return False


def spawn(code: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", code, *args], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})})


def read_pids(parent: subprocess.Popen[str], timeout: float = 120.0) -> list[int]:
    """The line of pids the parent prints once its children run (bounded wait)."""
    assert parent.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = parent.stdout.readline()
        if line.startswith("PIDS"):
            return [int(p) for p in line.split()[1:]]
        if not line and parent.poll() is not None:
            break
    raise AssertionError(f"the parent never reported its children (exit code {parent.poll()})")


WRITER_PARENT = """
import asyncio, os, sys, time
from pathlib import Path
from flows.archive_writer import ArchiveWriter

async def main():
    writer = ArchiveWriter(Path(sys.argv[1]))
    await writer.start()
    sibling = 0
    if sys.argv[2] == "fork":  # a forked sibling inherits the write end of the writer's stdin
        sibling = os.fork()
        if sibling == 0:
            time.sleep(120)
            os._exit(0)
    print("PIDS", writer._child._proc.pid, sibling, flush=True)
    await asyncio.sleep(600)

asyncio.run(main())
"""


@pytest.mark.parametrize("how", ["plain", "fork"])
def test_archive_writer_ends_after_its_parent_is_killed(tmp_path: Path, how: str) -> None:
    parent = spawn(WRITER_PARENT, str(tmp_path / "raw"), how)
    sibling = 0
    try:
        writer, sibling = read_pids(parent)
        assert alive(writer)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=30)
        assert wait_gone(writer), "the archive writer outlived its parent"
        if sibling:
            assert alive(sibling)  # its stdin was still open: only the parent-death signal ended the writer
    finally:
        parent.kill()
        parent.wait(timeout=30)
        if sibling and alive(sibling):
            os.kill(sibling, signal.SIGKILL)


REAPED_PARENT = """
import subprocess, sys, time
from initiatives.remote import trigger_or_run

def local():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    time.sleep(1.0)  # several of the watchdog's polls
    print("PIDS", child.pid, flush=True)
    time.sleep(600)

trigger_or_run("crawl/crawl", {}, local, api_url="")
"""


def test_a_local_runs_children_end_after_it_is_killed() -> None:
    parent = spawn(REAPED_PARENT)
    try:
        (child,) = read_pids(parent)
        watchdogs = [p for p in descendants(parent.pid) if p != child]
        assert alive(child) and watchdogs
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=30)
        assert wait_gone(child), "a child of the killed run is still running"
        assert all(wait_gone(p) for p in watchdogs)  # the watchdog itself ends once its job is done
    finally:
        parent.kill()
        parent.wait(timeout=30)


PREFECT_PARENT = """
import time
from initiatives.remote import trigger_or_run

def local():
    from prefect.client.orchestration import get_client
    from prefect.server.api.server import SubprocessASGIServer

    with get_client(sync_client=True) as client:  # starts Prefect's temporary server, as a flow run does
        client.api_healthcheck()
    server = SubprocessASGIServer._instances[None]
    time.sleep(1.0)
    print("PIDS", server.server_process.pid, flush=True)
    time.sleep(600)

trigger_or_run("crawl/crawl", {}, local, api_url="")
"""


@pytest.mark.slow
def test_the_temporary_prefect_server_ends_after_the_run_is_killed(tmp_path: Path) -> None:
    env = {"PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_API_URL": "", "DO_NOT_TRACK": "1",
           "PREFECT_SERVER_ALLOW_EPHEMERAL_MODE": "true", "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "150"}
    parent = spawn(PREFECT_PARENT, env=env)
    try:
        (server,) = read_pids(parent, timeout=240)
        assert alive(server)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=30)
        assert wait_gone(server, timeout=60), "the temporary Prefect server outlived the killed run"
    finally:
        parent.kill()
        parent.wait(timeout=30)
