"""Site health: when to stop treating a site as a news source, and when to take it back.

One dead page says little (a moved article, a flaky host), so a site is retired only when its home page,
or K distinct pages, give a closure verdict that a second fetch at least ``confirm_after`` later repeats.
Retired sites are only probed now and then, and any real page brings them straight back. The logic is a
pure function over a plain state record so the loader can keep it in one JSON column and tests can
replay histories without a database.

Page or site? Only what says the *site* is gone moves its status: closure verdicts, connections refused
or names that do not resolve (on any page), and timeouts or broken connections on the home page, K times
in a row. A redirect loop, a 30-hop chain, a 50 MB body, a 404, a URL that cannot be parsed, a refused
internal address or a page that broke the parser are that page's story: a site that answered with them
is reachable (an earlier failure streak ends), and nothing about them retires it. And a status changes at
most once per site per run (``observe(..., run=load_id)``), so a site on the edge does not flap (one site
flipped active/degraded/unreachable 12 times in one run, an event each time, before this rule).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from parsers.records import CLOSURE_VERDICTS, GOOD_VERDICTS

SiteStatus = Literal["active", "degraded", "expired", "parked", "suspended", "unreachable"]
SITE_STATUSES: tuple[SiteStatus, ...] = (
    "active", "degraded", "expired", "parked", "suspended", "unreachable"
)
#: statuses in which a site is only probed periodically.
RETIRED: frozenset[str] = frozenset({"expired", "parked", "suspended"})
#: closure verdict -> retired status; a server default page means the site's content is gone, which for
#: crawling is the same as a suspension.
_STATUS_OF: Mapping[str, SiteStatus] = {
    "expired": "expired",
    "parked": "parked",
    "suspended": "suspended",
    "default_page": "suspended",
}
#: when the evidence is split, the more specific cause wins (same order as the page verdicts).
_ORDER: tuple[SiteStatus, ...] = ("expired", "suspended", "parked")


@dataclass(frozen=True, slots=True)
class HealthPolicy:
    #: distinct pages with a confirmed closure verdict that retire a site.
    k_pages: int = 3
    confirm_after: dt.timedelta = dt.timedelta(hours=1)
    probe_every: dt.timedelta = dt.timedelta(days=1)
    #: consecutive site-level failures (see ``site_level``) before a site counts as unreachable.
    unreachable_after: int = 3
    #: closure sightings kept per site (most recent), so the JSON column stays small.
    max_tracked: int = 50


@dataclass(frozen=True, slots=True)
class Observation:
    url: str
    is_home: bool
    verdict_name: str
    at: dt.datetime
    #: the fetch's transport error (``RawPage.error``) and HTTP status, which tell a dead host from a bad page.
    error: str | None = None
    http_status: int | None = None


#: transport errors that say the host is gone whatever page was asked for: connection refused and name
#: resolution failures are both httpx ``ConnectError`` (the fetcher does not retry them).
SITE_ERRORS_ANYWHERE: tuple[str, ...] = ("ConnectError",)
#: transport errors that say so only when the home page gets them (an article may just be slow).
SITE_ERRORS_ON_HOME: tuple[str, ...] = ("timeout", "ConnectTimeout", "ReadTimeout", "ReadError", "WriteError",
                                        "RemoteProtocolError")


def site_level(obs: Observation) -> bool:
    """Is this ``error`` observation evidence against the site (rather than one page)?

    Only transport failures without any HTTP answer qualify, by an explicit list: whatever the fetcher
    or an upstream policy adds later (refused addresses, size caps, redirect limits) is page-level
    until it is named here."""
    if obs.verdict_name != "error" or obs.http_status is not None or not obs.error:
        return False
    return obs.error.startswith(SITE_ERRORS_ANYWHERE) or (obs.is_home and obs.error.startswith(SITE_ERRORS_ON_HOME))


@dataclass(frozen=True, slots=True)
class Sighting:
    """A URL seen with a closure verdict: when first and last, and how often."""

    verdict: str
    is_home: bool
    first_seen: dt.datetime
    last_seen: dt.datetime
    count: int = 1


@dataclass(frozen=True, slots=True)
class SiteHealth:
    status: SiteStatus = "active"
    since: dt.datetime | None = None
    closures: Mapping[str, Sighting] = field(default_factory=dict)
    error_streak: int = 0
    first_error: dt.datetime | None = None
    last_observed: dt.datetime | None = None
    last_good: dt.datetime | None = None
    #: the run (load id) that last changed ``status``: a status changes at most once per run.
    changed_in: str | None = None

    @property
    def retired(self) -> bool:
        return self.status in RETIRED

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "since": _iso(self.since),
            "closures": {
                url: {"verdict": s.verdict, "is_home": s.is_home, "first_seen": _iso(s.first_seen),
                      "last_seen": _iso(s.last_seen), "count": s.count}
                for url, s in self.closures.items()
            },
            "error_streak": self.error_streak,
            "first_error": _iso(self.first_error),
            "last_observed": _iso(self.last_observed),
            "last_good": _iso(self.last_good),
            "changed_in": self.changed_in,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SiteHealth:
        status = data.get("status", "active")
        if status not in SITE_STATUSES:
            raise ValueError(f"unknown site status {status!r}")
        closures = {
            str(url): Sighting(str(s["verdict"]), bool(s.get("is_home", False)), _parse(s["first_seen"]),
                               _parse(s["last_seen"]), int(s.get("count", 1)))
            for url, s in dict(data.get("closures", {})).items()
        }
        return cls(status, _parse_opt(data.get("since")), closures, int(data.get("error_streak", 0)),
                   _parse_opt(data.get("first_error")), _parse_opt(data.get("last_observed")),
                   _parse_opt(data.get("last_good")), data.get("changed_in"))


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse(value: Any) -> dt.datetime:
    return dt.datetime.fromisoformat(str(value))


def _parse_opt(value: Any) -> dt.datetime | None:
    return None if value is None else _parse(value)


def _confirmed_closure(closures: Mapping[str, Sighting], policy: HealthPolicy) -> SiteStatus | None:
    """The retired status the evidence supports, or None while it is not yet confirmed.

    Evidence is complete at time T (home first seen closed, or the K-th distinct page first seen
    closed); it is confirmed once one of those URLs has been seen closed again at T + confirm_after.
    """
    home = [s for s in closures.values() if s.is_home]
    pages = sorted(closures.values(), key=lambda s: s.first_seen)
    candidates: list[tuple[dt.datetime, list[Sighting]]] = []
    if home:
        candidates.append((min(s.first_seen for s in home), home))
    if len(pages) >= policy.k_pages:
        candidates.append((pages[policy.k_pages - 1].first_seen, pages))
    for complete_at, group in candidates:
        if any(s.count > 1 and s.last_seen >= complete_at + policy.confirm_after for s in group):
            return _kind(group)
    return None


def _kind(group: list[Sighting]) -> SiteStatus:
    votes: dict[SiteStatus, int] = {}
    for s in group:
        status = _STATUS_OF.get(s.verdict)
        if status is not None:
            votes[status] = votes.get(status, 0) + (2 if s.is_home else 1)
    ranked = sorted((v for v in _ORDER if v in votes), key=lambda v: -votes[v])
    return ranked[0] if ranked else "suspended"


def _with_status(state: SiteHealth, status: SiteStatus, at: dt.datetime, **changes: Any) -> SiteHealth:
    since = state.since if status == state.status and state.since is not None else at
    return replace(state, status=status, since=since, **changes)


def observe(
    state: SiteHealth, obs: Observation, policy: HealthPolicy | None = None, run: str | None = None
) -> SiteHealth:
    """The site's health after one more fetch; the caller compares statuses to log a transition.

    With ``run`` (the load id), a site whose status already changed in that run keeps it for the rest
    of the run: the evidence is still counted, and the next run applies what it supports."""
    new = _observe(state, obs, policy or HealthPolicy())
    if run is None or new.status == state.status:
        return new
    if state.changed_in == run:
        return replace(new, status=state.status, since=state.since)
    return replace(new, changed_in=run)


def _observe(state: SiteHealth, obs: Observation, pol: HealthPolicy) -> SiteHealth:
    last = max(obs.at, state.last_observed) if state.last_observed else obs.at
    name = obs.verdict_name

    if name in GOOD_VERDICTS:  # a real page: the site is alive whatever it said before
        return _with_status(state, "active", obs.at, closures={}, error_streak=0, first_error=None,
                            last_good=obs.at, last_observed=last)

    if name in CLOSURE_VERDICTS:
        closures = dict(state.closures)
        old = closures.get(obs.url)
        if old is None:
            closures[obs.url] = Sighting(name, obs.is_home, obs.at, obs.at)
        else:
            closures[obs.url] = Sighting(name, old.is_home or obs.is_home, min(old.first_seen, obs.at),
                                         max(old.last_seen, obs.at), old.count + 1)
        if len(closures) > pol.max_tracked:
            keep = sorted(closures.items(), key=lambda kv: kv[1].last_seen)[-pol.max_tracked:]
            closures = dict(keep)
        confirmed = _confirmed_closure(closures, pol)
        status: SiteStatus = confirmed or (state.status if state.retired else "degraded")
        return _with_status(state, status, obs.at, closures=closures, error_streak=0, first_error=None,
                            last_observed=last)

    if site_level(obs):
        streak = state.error_streak + 1
        first = state.first_error or obs.at
        if state.retired or streak < pol.unreachable_after:  # not yet K in a row, or nothing new
            return replace(state, error_streak=streak, first_error=first, last_observed=last)
        return _with_status(state, "unreachable", obs.at, error_streak=streak, first_error=first,
                            last_observed=last)

    if name == "error" and obs.http_status is None:  # page-level and no answer: nothing about the host
        return replace(state, last_observed=last)

    # not_found, blocked, not_html, or an error page the host did answer (a redirect loop, a body over
    # the cap, a page that broke the parser): the host is reachable, but nothing about the site.
    if state.status == "unreachable":
        status = "degraded" if state.closures else "active"
        return _with_status(state, status, obs.at, error_streak=0, first_error=None, last_observed=last)
    if state.status == "degraded" and not state.closures:
        return _with_status(state, "active", obs.at, error_streak=0, first_error=None, last_observed=last)
    return replace(state, error_streak=0, first_error=None, last_observed=last)


def due_for_probe(state: SiteHealth, now: dt.datetime, policy: HealthPolicy | None = None) -> bool:
    """May this site be fetched now? Live sites always; retired or unreachable ones once per period."""
    pol = policy or HealthPolicy()
    if state.status not in RETIRED and state.status != "unreachable":
        return True
    return state.last_observed is None or now - state.last_observed >= pol.probe_every
