"""Progress of a long run: a log line every N pages, and a live reporter when the CLI installs one.

Flows call ``start``/``advance`` after each batch (never per page). The log line (pages done, pages/s,
pages by verdict) goes through the run's logger, so a worker's output, the UI's run page and a log
collector all show how a crawl of thousands of pages is doing; the reporter is the CLI's progress bar.
Module-level state rather than a flow parameter, because a flow's parameters must be plain data.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

#: pages between two progress lines when the flow does not say (``Settings.progress_every``).
DEFAULT_EVERY = 500


class Reporter(Protocol):
    def start(self, label: str, total: int | None) -> None: ...

    def advance(self, done: int, note: str = "") -> None: ...


@dataclass
class Meter:
    label: str
    total: int | None
    every: int
    started: float = field(default_factory=time.monotonic)
    done: int = 0
    logged: int = 0
    verdicts: dict[str, int] = field(default_factory=dict)

    def line(self, now: float) -> str:
        rate = self.done / max(now - self.started, 1e-9)
        of = f"/{self.total}" if self.total is not None else ""
        counts = ", ".join(f"{v} {n}" for v, n in sorted(self.verdicts.items(), key=lambda kv: (-kv[1], kv[0])))
        return f"{self.label}: {self.done}{of} pages, {rate:.1f} pages/s" + (f"; {counts}" if counts else "")


_reporter: Reporter | None = None
_meter: Meter | None = None


def install(reporter: Reporter | None) -> None:
    global _reporter
    _reporter = reporter


def _log(message: str) -> None:
    from prefect import get_run_logger
    from prefect.exceptions import MissingContextError

    try:
        get_run_logger().info(message)
    except MissingContextError:
        logging.getLogger("initiatives.progress").info(message)


def start(label: str, total: int | None, every: int = DEFAULT_EVERY) -> None:
    global _meter
    _meter = Meter(label, total, max(1, every))
    if _reporter is not None:
        _reporter.start(label, total)


def advance(done: int, verdicts: Mapping[str, int] | None = None, note: str = "") -> None:
    """``done`` more pages; ``verdicts`` is the run's count by verdict so far (cumulative)."""
    meter = _meter
    if meter is not None:
        meter.done += done
        if verdicts is not None:
            meter.verdicts = dict(verdicts)
        if meter.done - meter.logged >= meter.every:
            meter.logged = meter.done
            _log(meter.line(time.monotonic()))
    if _reporter is not None:
        _reporter.advance(done, note)
