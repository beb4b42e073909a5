"""Real Prefect processes for integration tests: a server, a process worker, each in its own process group.

Every process is started with ``start_new_session`` and stopped by its group id, so a flow-run child of a
worker dies with it; every wait is bounded and a timeout reports the tail of the process logs.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TypeVar

import httpx

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env(prefect_home: Path, api_url: str | None, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The parent's environment without any Prefect or pipeline setting, plus what the test decides."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "INITIATIVES_"))}
    env.update(
        PREFECT_HOME=str(prefect_home),
        DO_NOT_TRACK="1",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PYTHONUNBUFFERED="1",
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
    )
    if api_url:
        env["PREFECT_API_URL"] = api_url
    env.update(extra or {})
    return env


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    _handle: IO[bytes] = field(repr=False)

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        return f"--- {self.name} (exit {self.popen.poll()}) ---\n" + "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM to the whole group, SIGKILL if it lingers; safe to call twice."""
        if self.popen.poll() is None:
            for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
                try:
                    os.killpg(self.popen.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.popen.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        # the group may outlive its leader (a flow-run child); make sure nothing of it is left.
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self._handle.close()

    def kill(self) -> None:
        """What an out-of-memory killer or a pulled plug does: no cleanup, whole group at once."""
        with suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(10)


def start(name: str, args: list[str], env: Mapping[str, str], logs: Path, cwd: Path = ROOT) -> Proc:
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{name}.log"
    handle = log.open("ab")
    popen = subprocess.Popen(
        args, cwd=cwd, env=dict(env), stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
    )
    return Proc(name, popen, log, handle)


def wait_for(check: Callable[[], T | None], timeout: float, what: str, procs: list[Proc], every: float = 0.5) -> T:
    deadline = time.monotonic() + timeout
    while True:
        for p in procs:
            if p.popen.poll() is not None:
                raise AssertionError(f"{p.name} exited while waiting for {what}\n{p.tail()}")
        value = check()
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            tails = "\n".join(p.tail() for p in procs)
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{tails}")
        time.sleep(every)


def healthy(api_url: str) -> bool | None:
    try:
        r = httpx.get(f"{api_url}/health", timeout=2, trust_env=False)
    except httpx.HTTPError:
        return None
    return r.status_code == 200 or None


@dataclass
class Server:
    api_url: str
    home: Path
    logs: Path
    proc: Proc

    def env(self, **extra: str) -> dict[str, str]:
        return clean_env(self.home, self.api_url, extra)


@contextmanager
def prefect_server(workdir: Path, timeout: float = 90.0) -> Iterator[Server]:
    home, logs = workdir / "prefect-home", workdir / "logs"
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = clean_env(home, None, {"PREFECT_SERVER_UI_ENABLED": "false"})
    proc = start(
        "server",
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port), "--no-ui",
         "--no-scheduler", "--analytics-off"],
        env,
        logs,
    )
    try:
        wait_for(lambda: healthy(api_url), timeout, "the Prefect server's /health", [proc], every=1.0)
        yield Server(api_url, home, logs, proc)
    finally:
        proc.stop()


def run_cli(args: list[str], env: Mapping[str, str], timeout: float = 90.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=ROOT, env=dict(env), capture_output=True, text=True, timeout=timeout, start_new_session=True
    )
