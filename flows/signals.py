"""Prefect events for site status changes, so automations (not people reading logs) notice a dead site.

A site's status changes inside the loader's transaction (``LoadOutcome.site_transition``); the flow hands
the batch's outcomes here after the load. Each change becomes one event named after the new status,
``initiatives.site.<status>`` (e.g. ``initiatives.site.expired``), about the resource
``initiatives.site.<host>``; the flow run that saw it is attached by Prefect as a related resource, so an
automation can link straight to the run. ``deploy/automations/site-status.yaml`` notifies on them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from parsers.hosts import NO_HOST, host_key_or_none
from schema.loader import LoadOutcome

EVENT_PREFIX = "initiatives.site."
RESOURCE_PREFIX = "initiatives.site."
#: statuses an operator should hear about; a site coming back (``active``) is emitted too, so a
#: notification about an expiry can be closed by the recovery.
STATUSES = ("active", "degraded", "expired", "parked", "suspended", "unreachable")

Emit = Callable[..., Any]


@dataclass(frozen=True, slots=True)
class SiteSignal:
    host: str
    site: str | None
    from_status: str
    to_status: str
    url: str

    @property
    def event(self) -> str:
        return f"{EVENT_PREFIX}{self.to_status}"

    @property
    def resource(self) -> dict[str, str]:
        return {
            "prefect.resource.id": f"{RESOURCE_PREFIX}{self.host}",
            "prefect.resource.name": self.site or self.host,
            "initiatives.site.host": self.host,
            "initiatives.site.status": self.to_status,
        }

    @property
    def payload(self) -> dict[str, str]:
        return {"from": self.from_status, "to": self.to_status, "url": self.url, "host": self.host}


def site_signals(
    outcomes: Iterable[LoadOutcome], site_of: Callable[[str], str | None] | None = None
) -> list[SiteSignal]:
    """One signal per status change in ``outcomes``, in load order; a repeated identical change is kept once."""
    seen: set[tuple[str, str, str]] = set()
    out = []
    for outcome in outcomes:
        if not outcome.site_transition:
            continue
        old, new = outcome.site_transition
        host = host_key_or_none(outcome.url) or NO_HOST
        if (host, old, new) in seen or old == new:
            continue
        seen.add((host, old, new))
        out.append(SiteSignal(host, site_of(outcome.url) if site_of else None, old, new, outcome.url))
    return out


def emit_site_transitions(
    outcomes: Iterable[LoadOutcome],
    site_of: Callable[[str], str | None] | None = None,
    emit: Emit | None = None,
) -> list[SiteSignal]:
    """Emit one Prefect event per site status change; never raises, since the rows are already committed.

    ``emit`` defaults to ``prefect.events.emit_event``, which is a no-op when events are off; the log
    line is written either way, so a transition is never silent.
    """
    import logging

    signals = site_signals(outcomes, site_of)
    if not signals:
        return signals
    if emit is None:
        from prefect.events import emit_event

        emit = emit_event
    logger = _logger()
    for s in signals:
        logger.warning(
            "site %s changed status %s -> %s (seen at %s)",
            s.host, s.from_status, s.to_status, s.url,
            extra={"site_host": s.host, "from_status": s.from_status, "to_status": s.to_status},
        )
        try:
            emit(event=s.event, resource=s.resource, payload=s.payload)
        except Exception:  # an event bus outage must not fail a load that already committed
            logging.getLogger(__name__).exception("could not emit %s for %s", s.event, s.host)
    return signals


def _logger() -> Any:
    """The run logger inside a flow or task (so the line carries the run id), a module logger outside."""
    import logging

    from prefect.exceptions import MissingContextError
    from prefect.logging import get_run_logger

    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger(__name__)
