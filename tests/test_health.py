"""Site health transitions: retire only on confirmed closure, probe retired sites, come back on real pages."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

import pytest

from parsers.health import HealthPolicy, Observation, SiteHealth, due_for_probe, observe

T0 = dt.datetime(2024, 5, 1, 8, 0, tzinfo=dt.UTC)
HOME = "http://www.junkew.com/"


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def run(events: Sequence[tuple[str, bool, str, float]], policy: HealthPolicy | None = None) -> list[SiteHealth]:
    state = SiteHealth()
    states = []
    for url, is_home, verdict, minutes in events:
        state = observe(state, Observation(url, is_home, verdict, at(minutes)), policy)
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


def test_repeated_transport_errors_make_a_site_unreachable_then_an_answer_revives_it() -> None:
    states = run([(HOME, True, "error", 0), (HOME, True, "error", 10), (HOME, True, "error", 20),
                  (HOME, True, "not_found", 30)])
    assert [s.status for s in states] == ["degraded", "degraded", "unreachable", "active"]
    assert states[2].error_streak == 3 and states[2].first_error == at(0)
    assert states[3].error_streak == 0


def test_errors_do_not_unretire_a_dead_site() -> None:
    states = run([(HOME, True, "parked", 0), (HOME, True, "parked", 61), (HOME, True, "error", 200)])
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
