"""Progress of a long run, for whoever is watching: a no-op unless the CLI installs a reporter.

Flows call ``start``/``advance`` after each batch (never per page); the CLI sets a rich progress bar.
A module-level hook rather than a flow parameter, because a flow's parameters must be plain data.
"""

from __future__ import annotations

from typing import Protocol


class Reporter(Protocol):
    def start(self, label: str, total: int | None) -> None: ...

    def advance(self, done: int, note: str = "") -> None: ...


_reporter: Reporter | None = None


def install(reporter: Reporter | None) -> None:
    global _reporter
    _reporter = reporter


def start(label: str, total: int | None) -> None:
    if _reporter is not None:
        _reporter.start(label, total)


def advance(done: int, note: str = "") -> None:
    if _reporter is not None:
        _reporter.advance(done, note)
