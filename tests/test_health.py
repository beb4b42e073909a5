"""Site health transitions: retire only on confirmed closure, probe retired sites, come back on real pages."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

import pytest

from parsers.health import HealthPolicy, Observation, SiteHealth, due_for_probe, observe, site_level

T0 = dt.datetime(2024, 5, 1, 8, 0, tzinfo=dt.UTC)
HOME = "http://www.junkew.com/"
REFUSED = "ConnectError: [Errno 111] Connection refused"
NO_NAME = "ConnectError: [Errno -2] Name or service not known"


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


Event = tuple[str, bool, str, float] | tuple[str, bool, str, float, str | None, int | None]


def run(events: Sequence[Event], policy: HealthPolicy | None = None, run_id: str | None = None,
        state: SiteHealth | None = None) -> list[SiteHealth]:
    state = state or SiteHealth()
    states = []
    for url, is_home, verdict, minutes, *fetch in events:
        error, status = fetch if fetch else (None, 200 if verdict != "error" else None)
        state = observe(state, Observation(url, is_home, verdict, at(minutes), error, status), policy, run_id)
        states.append(state)
    return states


def test_home_closure_needs_a_confirming_fetch_an_hour_later() -> None:
    states = run([(HOME, True, "expired", 0), (HOME, True, "expired", 30), (HOME, True, "expired", 61)])
    assert [s.status for s in states] == ["degraded", "degraded", "expired"]
    assert states[0].since == at(0)
    assert states[2].since == at(61)
    assert states[2].retired


def test_one_dead_article_never_retires_a_site() -> None:
    a = "http://www.junkew.com/a/1.html"
    states = run([(a, False, "suspended", 0), (a, False, "suspended", 120), (a, False, "suspended", 60 * 24)])
    assert all(s.status == "degraded" for s in states)


def test_k_distinct_pages_confirmed_retire_the_site() -> None:
    pages = [f"http://www.junkew.com/a/{i}.html" for i in range(3)]
    events = [(u, False, "parked", i) for i, u in enumerate(pages)]
    events.append((pages[0], False, "parked", 90))
    states = run(events)
    assert [s.status for s in states] == ["degraded", "degraded", "degraded", "parked"]


def test_k_is_configurable() -> None:
    pages = [f"http://x.example/a/{i}.html" for i in range(2)]
    events = [(pages[0], False, "suspended", 0), (pages[1], False, "suspended", 1), (pages[1], False, "suspended", 70)]
    assert run(events, HealthPolicy(k_pages=2))[-1].status == "suspended"
    assert run(events, HealthPolicy(k_pages=3))[-1].status == "degraded"


def test_confirmation_too_early_does_not_count() -> None:
    policy = HealthPolicy(confirm_after=dt.timedelta(hours=2))
    states = run([(HOME, True, "expired", 0), (HOME, True, "expired", 90)], policy)
    assert states[-1].status == "degraded"


def test_real_page_brings_a_retired_site_back() -> None:
    states = run([(HOME, True, "expired", 0), (HOME, True, "expired", 70), (HOME, True, "ok", 60 * 30)])
    assert states[1].status == "expired"
    back = states[2]
    assert back.status == "active" and back.since == at(60 * 30)
    assert back.closures == {} and back.last_good == at(60 * 30)


def test_ok_with_notice_is_a_real_page() -> None:
    assert run([(HOME, True, "expired", 0), (HOME, True, "ok_with_notice", 5)])[-1].status == "active"


def test_repeated_refused_connections_make_a_site_unreachable_then_an_answer_revives_it() -> None:
    states = run([(HOME, True, "error", 0, REFUSED, None), (HOME, True, "error", 10, NO_NAME, None),
                  (HOME, True, "error", 20, REFUSED, None), (HOME, True, "not_found", 30)])
    assert [s.status for s in states] == ["active", "active", "unreachable", "active"]
    assert states[2].error_streak == 3 and states[2].first_error == at(0)
    assert states[3].error_streak == 0


def test_errors_do_not_unretire_a_dead_site() -> None:
    states = run([(HOME, True, "parked", 0), (HOME, True, "parked", 61), (HOME, True, "error", 200, REFUSED, None)])
    assert states[-1].status == "parked" and states[-1].since == at(61)


def test_split_evidence_prefers_the_home_page_kind() -> None:
    pages = [f"http://x.example/a/{i}.html" for i in range(2)]
    events = [(pages[0], False, "parked", 0), (pages[1], False, "parked", 1), (HOME, True, "expired", 2),
              (HOME, True, "expired", 70)]
    assert run(events)[-1].status == "expired"


def test_default_page_counts_as_closure() -> None:
    assert run([(HOME, True, "default_page", 0), (HOME, True, "default_page", 61)])[-1].status == "suspended"


@pytest.mark.parametrize("status", ["expired", "unreachable"])
def test_retired_sites_are_probed_once_a_day(status: str) -> None:
    state = SiteHealth.from_dict({"status": status, "since": at(0).isoformat(), "last_observed": at(0).isoformat()})
    assert not due_for_probe(state, at(60 * 23))
    assert due_for_probe(state, at(60 * 24))
    assert due_for_probe(state, at(30), HealthPolicy(probe_every=dt.timedelta(minutes=30)))


def test_live_sites_are_always_due() -> None:
    assert due_for_probe(SiteHealth(), T0)
    assert due_for_probe(run([(HOME, True, "expired", 0)])[-1], at(1))


def test_state_round_trips_through_json() -> None:
    pages = [f"http://x.example/a/{i}.html" for i in range(3)]
    state = run([(pages[0], False, "parked", 0), (pages[1], False, "error", 5), (pages[2], False, "suspended", 9),
                 (pages[2], False, "suspended", 80)])[-1]
    data = json.loads(json.dumps(state.to_dict()))
    again = SiteHealth.from_dict(data)
    assert again == state
    assert again.closures[pages[2]].count == 2


def test_from_dict_rejects_unknown_status() -> None:
    with pytest.raises(ValueError):
        SiteHealth.from_dict({"status": "zombie"})


def test_tracked_closures_are_bounded() -> None:
    policy = HealthPolicy(max_tracked=5, k_pages=100)
    events = [(f"http://x.example/{i}", False, "parked", i) for i in range(20)]
    assert len(run(events, policy)[-1].closures) == 5


# --- page-level failures never retire a site; site-level ones do, after K in a row ------------------
ARTICLE = "http://www.junkew.com/a/1.html"
PAGE_LEVEL = [
    ("redirect loop", 302), ("too many redirects (>5)", 301), ("body too large: over 10485760 bytes", 200),
    ("invalid URL: Invalid port: '99999'", None), ("refused address 10.0.0.1 (private)", None),
    ("redirect to another site: http://other.example/", 302),
    (None, 404), (None, 500), ("robots.txt unavailable (HTTP 503)", None),
]


@pytest.mark.parametrize(("error", "status"), PAGE_LEVEL)
@pytest.mark.parametrize("url", [HOME, ARTICLE])
def test_page_level_failures_never_retire_a_site(url: str, error: str | None, status: int | None) -> None:
    verdict = "not_found" if status == 404 else "error"
    events: list[Event] = [(url, url == HOME, verdict, float(i * 90), error, status) for i in range(10)]
    states = run(events, HealthPolicy(unreachable_after=2))
    assert {s.status for s in states} == {"active"}
    assert not site_level(Observation(url, url == HOME, verdict, T0, error, status))


def test_the_issues_three_page_errors_on_a_site_answering_normally_keep_it_active() -> None:
    """A redirect loop, a 30-hop chain and a 50 MB body, between good pages: not a dead site."""
    events: list[Event] = [
        (ARTICLE, False, "ok", 0), ("http://www.junkew.com/loop", False, "error", 1, "redirect loop", 302),
        ("http://www.junkew.com/chain", False, "error", 2, "too many redirects (>5)", 302),
        ("http://www.junkew.com/huge", False, "error", 3, "body too large: over 10485760 bytes", 200),
    ]
    assert [s.status for s in run(events)] == ["active"] * 4


@pytest.mark.parametrize("error", ["timeout: ReadTimeout", "timeout: whole request took too long",
                                   "RemoteProtocolError: peer closed connection"])
def test_timeouts_count_against_the_site_only_on_its_home_page(error: str) -> None:
    on_articles: list[Event] = [(f"{ARTICLE}?{i}", False, "error", i, error, None) for i in range(6)]
    assert run(on_articles)[-1].status == "active"
    on_home: list[Event] = [(HOME, True, "error", i, error, None) for i in range(3)]
    assert [s.status for s in run(on_home)] == ["active", "active", "unreachable"]


def test_refused_connections_count_on_any_page_and_k_is_a_setting() -> None:
    events: list[Event] = [(f"{ARTICLE}?{i}", False, "error", i, REFUSED, None) for i in range(5)]
    assert [s.status for s in run(events, HealthPolicy(unreachable_after=5))][-2:] == ["active", "unreachable"]
    assert run(events[:4], HealthPolicy(unreachable_after=5))[-1].status == "active"


def test_an_answer_between_failures_breaks_the_streak() -> None:
    events: list[Event] = [(HOME, True, "error", 0, REFUSED, None), (HOME, True, "error", 1, REFUSED, None),
                           (ARTICLE, False, "error", 2, "redirect loop", 302),
                           (HOME, True, "error", 3, REFUSED, None), (HOME, True, "error", 4, REFUSED, None)]
    assert {s.status for s in run(events)} == {"active"}


def test_a_flip_flopping_site_changes_status_at_most_once_per_run() -> None:
    """A site on the edge (refusals, then answers, then closures, then real pages) in one run."""
    cycle: list[Event] = [
        (HOME, True, "error", 0, REFUSED, None), (HOME, True, "error", 0, REFUSED, None),
        (HOME, True, "error", 0, REFUSED, None), (ARTICLE, False, "not_found", 0, None, 404),
        (HOME, True, "expired", 0, None, 200), (ARTICLE, False, "ok", 0, None, 200),
    ]
    events = [(u, h, v, float(i), e, st) for i, (u, h, v, _, e, st) in enumerate(cycle * 12)]
    without = run(events)
    changes = sum(a.status != b.status for a, b in zip([SiteHealth(), *without], without, strict=False))
    assert changes >= 12  # the rule is what stops it, not the sequence
    states = run(events, run_id="crawl-1")
    statuses = [s.status for s in states]
    changes = sum(a != b for a, b in zip(["active", *statuses], statuses, strict=False))
    assert changes == 1 and statuses[-1] == "unreachable"
    # the next run applies what the evidence supports (the last observation was a real page)
    after = run([(ARTICLE, False, "ok", 500.0)], run_id="crawl-2", state=states[-1])
    assert after[-1].status == "active" and after[-1].changed_in == "crawl-2"
