"""Child processes that end with their parent, even when the parent is killed with ``kill -9``.

Two tools, for two kinds of child:

- ``die_with_parent()``, called by a child we write ourselves (the archive writer): on Linux the kernel
  sends it SIGTERM when its parent dies (``PR_SET_PDEATHSIG``), so it ends even if a forked sibling still
  holds its stdin open (its usual exit is end-of-file on stdin). The kernel's notice comes when the *thread*
  that started the child exits, so such children must be started by a thread that outlives them (the
  archive writer is started and closed by the fetch session's loop thread).
- ``start_reaper()``, called by a parent whose children are started by code we do not control (the
  temporary Prefect server that ``initiatives run`` gets from Prefect): a small watchdog process notes
  the parent's descendants four times a second and, once the parent is gone (its stdin pipe from the
  parent reaches end-of-file), sends them SIGTERM, then SIGKILL to any still alive after a grace period.
  A process is only signalled if it is still the one noted (same pid and start time), so a reused pid is
  never hit. A child started less than one poll before the parent died can be missed.

Both are Linux-only (``prctl``, ``/proc``) and do nothing elsewhere.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

PR_SET_PDEATHSIG = 1
#: seconds between two readings of the parent's descendants.
POLL = 0.25
#: seconds between SIGTERM and SIGKILL for the descendants of a dead parent.
GRACE = 5.0


def die_with_parent(expected_parent: int | None = None, sig: int = signal.SIGTERM) -> bool:
    """Ask the kernel for ``sig`` when the parent dies; if it already has (we were re-parented before the
    request took effect), end now. Returns whether the request could be made (Linux only)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):
        return False
    if expected_parent is not None and os.getppid() != expected_parent:
        os.kill(os.getpid(), sig)
    return True


def _start_time(pid: int) -> str | None:
    """Field 22 of /proc/<pid>/stat (start time in clock ticks): with the pid, names one process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rfind(")") + 2 :].split()[19]


def descendants(pid: int) -> dict[int, str]:
    """Every live descendant of ``pid`` with its start time (Linux /proc)."""
    out: dict[int, str] = {}
    todo = [pid]
    while todo:
        current = todo.pop()
        for children in Path(f"/proc/{current}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                for text in children.read_text().split():
                    child = int(text)
                    started = _start_time(child)
                    if started is not None and child not in out:
                        out[child] = started
                        todo.append(child)
    return out


def _signal_all(noted: dict[int, str], sig: int) -> list[int]:
    """Send ``sig`` to every noted process that is still the one noted; returns those signalled."""
    hit = []
    for pid, started in noted.items():
        if _start_time(pid) == started:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
                hit.append(pid)
    return hit


def reap(parent: int, poll: float = POLL, grace: float = GRACE) -> None:
    """The watchdog: note ``parent``'s descendants until stdin closes, then end the ones still running."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent; the parent's end is our cue
    me = os.getpid()
    noted: dict[int, str] = {}
    stdin = sys.stdin.fileno()
    while True:
        ready, _, _ = select.select([stdin], [], [], poll)
        if ready and not os.read(stdin, 4096):
            break  # end of file: the parent exited, whichever way
        if _start_time(parent) is None:
            break
        noted.update({p: s for p, s in descendants(parent).items() if p != me})
    if not _signal_all(noted, signal.SIGTERM):
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not any(_start_time(p) == s for p, s in noted.items()):
            return
        time.sleep(0.05)
    _signal_all(noted, signal.SIGKILL)


def start_reaper() -> subprocess.Popen[bytes] | None:
    """Start the watchdog for this process (Linux); it lives until this process ends, however it ends.

    Its own session, so a terminal's hang-up or Ctrl-C reaches only the parent; its stdin is a pipe only
    this process holds (Python's pipes are not inherited by other children)."""
    if not sys.platform.startswith("linux"):
        return None
    return subprocess.Popen(
        [sys.executable, "-m", "flows.lifetime", str(os.getpid())],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, start_new_session=True,
    )


if __name__ == "__main__":
    reap(int(sys.argv[1]))
