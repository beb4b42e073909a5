"""Site status changes become Prefect events, and the shipped automation fires on exactly those events."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from flows.signals import STATUSES, emit_site_transitions, site_signals
from schema.loader import LoadOutcome
from tests.conftest import ROOT

AUTOMATION = ROOT / "deploy" / "automations" / "site-status.yaml"


def _outcomes() -> list[LoadOutcome]:
    return [
        LoadOutcome("http://a.example/1.html", "ok"),
        LoadOutcome("http://a.example/2.html", "expired", kept_good_copy=True, site_transition=("active", "expired")),
        LoadOutcome("http://a.example/3.html", "expired", site_transition=("active", "expired")),  # same change
        LoadOutcome("http://B.example:8080/x", "parked", site_transition=("degraded", "parked")),
        LoadOutcome("http://c.example/y", "ok", site_transition=("active", "active")),  # not a change
    ]


def test_one_signal_per_change_in_load_order() -> None:
    signals = site_signals(_outcomes(), site_of=lambda url: "site-a" if "a.example" in url else None)
    assert [(s.host, s.from_status, s.to_status) for s in signals] == [
        ("a.example", "active", "expired"),
        ("b.example:8080", "degraded", "parked"),
    ]
    first = signals[0]
    assert first.event == "initiatives.site.expired"
    assert first.resource["prefect.resource.id"] == "initiatives.site.a.example"
    assert first.resource["prefect.resource.name"] == "site-a"
    assert signals[1].resource["prefect.resource.name"] == "b.example:8080"
    assert first.payload == {"from": "active", "to": "expired", "url": "http://a.example/2.html", "host": "a.example"}


def test_no_transitions_emit_nothing() -> None:
    calls: list[dict[str, Any]] = []
    assert emit_site_transitions([LoadOutcome("http://a.example/", "ok")], emit=lambda **kw: calls.append(kw)) == []
    assert calls == []


def test_emit_failure_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    def broken(**_: Any) -> None:
        raise ConnectionError("event bus down")

    with caplog.at_level(logging.WARNING):
        signals = emit_site_transitions(_outcomes(), emit=broken)
    assert len(signals) == 2
    assert "changed status active -> expired" in caplog.text
    assert "could not emit initiatives.site.expired" in caplog.text


@pytest.fixture
def asserting_events() -> Iterator[Any]:
    from prefect.events.clients import AssertingEventsClient
    from prefect.events.worker import EventsWorker

    worker = EventsWorker.instance(AssertingEventsClient)
    original = EventsWorker.instance
    EventsWorker.instance = lambda *_: worker  # type: ignore[method-assign, assignment, misc]
    try:
        yield worker
    finally:
        worker.drain()
        EventsWorker.instance = original  # type: ignore[method-assign]
        AssertingEventsClient.reset()


@pytest.mark.flow
@pytest.mark.slow
def test_events_inside_a_flow_carry_the_flow_run(prefect_harness: None, asserting_events: Any) -> None:
    from prefect import flow
    from prefect.events.clients import AssertingEventsClient
    from prefect.runtime import flow_run

    @flow(name="signals-test")
    def run() -> str:
        emit_site_transitions(_outcomes())
        return str(flow_run.get_id())

    run_id = run()
    asserting_events.drain()
    assert AssertingEventsClient.last is not None
    ours = [e for e in AssertingEventsClient.last.events if e.event.startswith("initiatives.site.")]
    assert [e.event for e in ours] == ["initiatives.site.expired", "initiatives.site.parked"]
    assert ours[0].payload["to"] == "expired"
    related = {r.id for r in ours[0].related}
    assert f"prefect.flow-run.{run_id}" in related


def test_automation_file_is_a_valid_prefect_automation() -> None:
    from prefect.events.schemas.automations import AutomationCore

    data = yaml.safe_load(AUTOMATION.read_text(encoding="utf-8"))
    automation = AutomationCore.model_validate(data)
    assert automation.actions and automation.actions[0].type == "send-notification"


@pytest.mark.parametrize("status", ["expired", "parked", "suspended", "unreachable", "active"])
def test_automation_fires_on_the_events_signals_emit(status: str) -> None:
    import datetime as dt
    import uuid

    from prefect.server.events.schemas.automations import AutomationCore
    from prefect.server.events.schemas.events import ReceivedEvent

    (signal,) = site_signals([LoadOutcome("http://a.example/p", status, site_transition=("degraded", status))])
    automation = AutomationCore.model_validate(yaml.safe_load(AUTOMATION.read_text(encoding="utf-8")))
    now = dt.datetime.now(dt.UTC)
    event = ReceivedEvent(
        occurred=now, received=now, event=signal.event, resource=signal.resource, payload=signal.payload,
        id=uuid.uuid4(),
    )
    assert automation.trigger.covers(event)  # type: ignore[union-attr]
    other = ReceivedEvent(
        occurred=now, received=now, event=signal.event, resource={"prefect.resource.id": "prefect.flow-run.x"},
        id=uuid.uuid4(),
    )
    assert not automation.trigger.covers(other)  # type: ignore[union-attr]


def test_automation_ignores_degraded_only() -> None:
    data = yaml.safe_load(AUTOMATION.read_text(encoding="utf-8"))
    expected = {e.removeprefix("initiatives.site.") for e in data["trigger"]["expect"]}
    assert expected == set(STATUSES) - {"degraded"}  # a slow week is not worth a page to someone


def test_a_flip_flopping_site_emits_one_event_per_run(engine: Any) -> None:
    """Batches of one run in which a site refuses connections, answers, shows a closure and recovers,
    twelve times over: one status change, one history row, one event; the next run may change it again."""
    import datetime as dt

    from sqlalchemy import text

    from parsers.records import Evidence, PageResult, Verdict
    from schema.loader import FetchFacts, load_pages

    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    home, page = "http://flaky.test/", "http://flaky.test/n/1.html"
    refused = "ConnectError: [Errno 111] Connection refused"

    def item(url: str, verdict: str, minute: int, error: str | None = None, status: int | None = 200) -> Any:
        evidence = (Evidence("transport.error", error, "status"),) if error else ()
        facts = FetchFacts(url, t0 + dt.timedelta(minutes=minute), status, url, error=error)
        return PageResult(url, Verdict(verdict, evidence)), facts  # type: ignore[arg-type]

    outcomes: list[LoadOutcome] = []
    minute = 0
    for _ in range(12):
        batch = [item(home, "error", minute + i, refused, None) for i in range(3)]
        batch += [item(page, "not_found", minute + 3, status=404), item(home, "expired", minute + 4)]
        minute += 10
        outcomes += load_pages(engine, batch, "crawl-1", "1")
    signals = site_signals(outcomes)
    assert [(s.from_status, s.to_status) for s in signals] == [("active", "unreachable")]
    # the next run applies what the evidence supports: the home page's closure, seen for over an hour
    later = load_pages(engine, [item(home, "expired", minute + 90)], "crawl-2", "1")
    assert [o.site_transition for o in later] == [("unreachable", "expired")]
    with engine.connect() as conn:
        history = conn.execute(text("SELECT from_status, to_status FROM site_status_history ORDER BY id")).all()
    assert [tuple(h) for h in history] == [("active", "unreachable"), ("unreachable", "expired")]
