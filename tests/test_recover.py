"""Recovery from loopback web archives that answer like the Wayback Machine and Common Crawl.

Lookup, capture choice, provenance, idempotence, and the bad input the issue names: an index that times
out, answers 429 or returns malformed lines; a capture that is itself a parking page or a redirect.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session
from warcio.archiveiterator import ArchiveIterator

from benchmarks.crawl_site import article_html
from flows import session
from flows.archive import RawArchive
from flows.recover import Want, find_captures, recover_batch
from flows.recover_fetch import Archives, archive_policy
from flows.sources import Site
from initiatives.fake_archives import FakeArchive, FakeCapture
from initiatives.settings import Settings
from initiatives.testsite import SiteServer
from schema import models as m
from schema.db import make_engine, upgrade

FIXTURES = Path(__file__).parent / "fixtures"
PARKED = (FIXTURES / "verdict" / "domain_for_sale_zh.html").read_bytes()
EXPIRED = Path(__file__).resolve().parents[1] / "initiatives" / "demo_site" / "dead" / "expired.html"
SITE = "http://dead-soe.test"
BEFORE = "20240301080000"


def archives_at(url: str, use: tuple[str, ...] = ("wayback", "commoncrawl")) -> Archives:
    return Archives(url, url, url, 1, use)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Engine]:
    database = f"sqlite:///{tmp_path / 'r.db'}"
    upgrade(database)
    engine = make_engine(database)
    yield engine
    engine.dispose()


def run_batch(fake: FakeArchive, engine: Engine, tmp_path: Path, wants: list[Want],
              history: dict[str, dt.datetime | None] | None = None, timeout: float = 5.0,
              use: tuple[str, ...] = ("wayback", "commoncrawl")) -> tuple[list[Any], list[str], list[str]]:
    archives = archives_at(fake.url, use)
    policy = archive_policy(archives, "test-agent", 200.0, 4, 2, timeout, {"allow_addresses": ("127.0.0.1",)})
    site = Site(name="dead", base_url=f"{SITE}/", allow=(r"/news/\d+\.html$",))
    archive = RawArchive(tmp_path / "raw")
    with session.FetchSession(policy, archive) as fetch:
        found, problems = fetch.run(find_captures(fetch.fetcher, archives, [site], wants, history or {}, None, None))
        outcomes, lines, _ = recover_batch(fetch, engine, archive, archives, found, {"dead": site}, 3, "recover-t")
    return outcomes, lines, problems


def titles(engine: Engine) -> dict[str, str]:
    with Session(engine) as s:
        return dict(s.execute(select(m.Page.url, m.Article.title).join(m.Article)).tuples().all())


def test_the_newest_good_capture_is_recovered_with_its_provenance_and_archived(db: Engine, tmp_path: Path) -> None:
    url = f"{SITE}/news/7.html"
    with FakeArchive() as fake:
        fake.add(FakeCapture(url, "20230105000000", article_html(1007)))
        fake.add(FakeCapture(url, BEFORE, article_html(7)))  # newest before the death: this one
        fake.add(FakeCapture(url, "20250901000000", PARKED))  # after the death: the parking page
        died = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
        outcomes, lines, problems = run_batch(fake, db, tmp_path, [Want(url, "dead", died)], use=("wayback",))
    assert problems == [] and lines == []
    assert [(o.verdict, o.article_written) for o in outcomes] == [("ok", True)]
    assert "（7）" in titles(db)[url]
    with Session(db) as s:
        (prov,) = s.scalars(select(m.RecoveredCapture)).all()
        assert prov.archive == "wayback" and prov.capture_url.endswith(f"/web/{BEFORE}id_/{url}")
        assert prov.captured_at.replace(tzinfo=None) == dt.datetime(2024, 3, 1, 8, 0)
        view = s.execute(text("SELECT recovered_from, capture_url FROM v_articles WHERE url = :u"), {"u": url}).one()
        assert view[0] == "wayback" and view[1] == prov.capture_url
    # the capture is in the project's WARC archive, dated when it was captured, naming where it came from
    responses = []
    for path in sorted((tmp_path / "raw" / "warc").glob("*/*.warc.gz")):
        with open(path, "rb") as fh:
            responses += [r.rec_headers for r in ArchiveIterator(fh) if r.rec_type == "response"]
    (rec,) = responses
    assert rec.get_header("WARC-Target-URI") == url and rec.get_header("WARC-Date").startswith("2024-03-01T08:00:00")
    assert rec.get_header("WARC-Source-URI") == prov.capture_url


def test_parking_and_redirect_captures_are_skipped_for_the_next_one(db: Engine, tmp_path: Path) -> None:
    parked_then_good = f"{SITE}/news/1.html"
    redirect_only = f"{SITE}/news/2.html"
    parked_only = f"{SITE}/news/3.html"
    with FakeArchive() as fake:
        fake.add(FakeCapture(parked_then_good, "20240501000000", PARKED))
        fake.add(FakeCapture(parked_then_good, "20240101000000", article_html(1)))
        fake.add(FakeCapture(redirect_only, "20240501000000", b"", location="http://parking.test/lander"))
        fake.add(FakeCapture(parked_only, "20240501000000", PARKED))
        wants = [Want(u, "dead", None) for u in (parked_then_good, redirect_only, parked_only)]
        outcomes, lines, problems = run_batch(fake, db, tmp_path, wants, use=("wayback",))
    assert problems == []
    assert [o.url for o in outcomes if o.article_written] == [parked_then_good]
    assert len(lines) == 2
    assert "redirects to" in next(line for line in lines if line.startswith(redirect_only))
    assert "is itself parked" in next(line for line in lines if line.startswith(parked_only))


def test_common_crawl_records_are_fetched_by_byte_range(db: Engine, tmp_path: Path) -> None:
    url = f"{SITE}/news/9.html"
    with FakeArchive() as fake:
        fake.add(FakeCapture(f"{SITE}/news/8.html", BEFORE, article_html(8), archive="commoncrawl"))
        fake.add(FakeCapture(url, BEFORE, article_html(9), archive="commoncrawl"))
        outcomes, lines, problems = run_batch(fake, db, tmp_path, [Want(url, "dead", None)])
        ranged = [p for p in fake.requests if p.startswith("/crawl-data/")]
    assert problems == [] and lines == []
    assert [o.article_written for o in outcomes] == [True] and "（9）" in titles(db)[url]
    assert len(ranged) == 1  # one Range request for the one record, not the file
    with Session(db) as s:
        (prov,) = s.scalars(select(m.RecoveredCapture)).all()
    assert prov.archive == "commoncrawl" and "@" in prov.capture_url


def test_an_index_that_answers_429_then_recovers_is_waited_for(db: Engine, tmp_path: Path) -> None:
    url = f"{SITE}/news/4.html"
    with FakeArchive(cdx_faults=["429", "503"]) as fake:
        fake.add(FakeCapture(url, BEFORE, article_html(4)))
        outcomes, _, problems = run_batch(fake, db, tmp_path, [Want(url, "dead", None)], use=("wayback",))
        asked = [p for p in fake.requests if p.startswith("/cdx/")]
    assert problems == [] and [o.article_written for o in outcomes] == [True]
    assert len(asked) == 3  # 429, 503, then the answer (Retry-After: 0 honoured)


def test_an_index_that_keeps_failing_times_out_or_lies_is_a_recorded_problem(db: Engine, tmp_path: Path) -> None:
    good, other = f"{SITE}/news/5.html", f"{SITE}/news/6.html"
    with FakeArchive(cdx_faults=["429"] * 6) as fake:  # both pages' Wayback lookups, past their 2 retries
        fake.add(FakeCapture(good, BEFORE, article_html(5)))
        fake.add(FakeCapture(other, BEFORE, article_html(6), archive="commoncrawl"))
        wants = [Want(good, "dead", None), Want(other, "dead", None)]
        outcomes, lines, problems = run_batch(fake, db, tmp_path, wants)
    assert any("HTTP 429 after retries" in p for p in problems)
    assert {o.url for o in outcomes if o.article_written} == {other}  # the run went on
    assert any(line.startswith(good) and "no capture" in line for line in lines)

    with FakeArchive(cdx_faults=["slow"] * 3, slow_seconds=2.0) as fake:
        fake.add(FakeCapture(good, BEFORE, article_html(5)))
        _, _, problems = run_batch(fake, db, tmp_path, [Want(good, "dead", None)], timeout=0.5, use=("wayback",))
    assert any("timeout" in p.lower() for p in problems)

    with FakeArchive(cdx_faults=["garbage"]) as fake:
        fake.add(FakeCapture(good, BEFORE, article_html(5)))
        outcomes, _, problems = run_batch(fake, db, tmp_path, [Want(good, "dead", None)], use=("wayback",))
    assert any("malformed" in p for p in problems)
    assert [o.article_written for o in outcomes] == [True]  # the good row was used


def test_a_dead_site_s_history_is_listed_by_domain_and_filtered_by_its_article_patterns(
    db: Engine, tmp_path: Path
) -> None:
    with FakeArchive() as fake:
        for i in range(1, 6):
            fake.add(FakeCapture(f"{SITE}/news/{i}.html", BEFORE, article_html(i)))
        fake.add(FakeCapture(f"{SITE}/about.html", BEFORE, article_html(99)))  # not an article URL
        fake.add(FakeCapture("http://other.test/news/1.html", BEFORE, article_html(77)))  # another domain
        outcomes, lines, problems = run_batch(fake, db, tmp_path, [], history={"dead": None}, use=("wayback",))
    assert problems == [] and lines == [] and len(outcomes) == 5
    assert sorted(titles(db)) == sorted(f"{SITE}/news/{i}.html" for i in range(1, 6))


# --- the whole flow -------------------------------------------------------------------------------------
SOURCES = """\
[[sites]]
name = "dead"
base_url = "{url}/"
start_urls = ["{url}/", {starts}]
allow = ['/news/\\d+\\.html$']

[sites.politeness]
concurrency = 8
min_delay = 0.0
"""


@pytest.mark.slow
@pytest.mark.flow
def test_a_dead_site_of_200_pages_is_recovered_whole_without_replacing_live_articles_and_a_rerun_changes_nothing(
    prefect_harness: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.crawl import crawl
    from flows.recover import recover

    live_root = tmp_path / "live"
    (live_root / "news").mkdir(parents=True)
    live = [1, 2, 3]
    for i in live:
        (live_root / "news" / f"{i}.html").write_bytes(article_html(i))
    with SiteServer(live_root) as server, FakeArchive() as fake:
        starts = ", ".join(f'"{server.url}/news/{i}.html"' for i in live)
        path = tmp_path / "sources.toml"
        path.write_text(SOURCES.format(url=server.url, starts=starts), encoding="utf-8")
        monkeypatch.delenv("INITIATIVES_DATABASE_URL", raising=False)
        for key, value in {"DATA_DIR": str(tmp_path), "WAYBACK_URL": fake.url, "COMMONCRAWL_INDEX_URL": fake.url,
                           "COMMONCRAWL_DATA_URL": fake.url, "ARCHIVE_RATE": "50", "ARCHIVE_CONCURRENCY": "8",
                           "BATCH_SIZE": "50"}.items():
            monkeypatch.setenv(f"INITIATIVES_{key}", value)
        crawl(sources_file=str(path))  # the live articles
        server.catch_all = EXPIRED
        crawl(sources_file=str(path))  # the site has expired
        engine = make_engine(Settings().database)
        before = titles(engine)
        assert len(before) == 3
        # the archives captured 200 articles; the live three were captured with other text
        for i in range(1, 201):
            body = article_html(i + 1000 if i in live else i)
            fake.add(FakeCapture(f"{server.url}/news/{i}.html", BEFORE, body,
                                 archive="commoncrawl" if i % 5 == 0 else "wayback"))
        fake.add(FakeCapture(f"{server.url}/news/201.html", BEFORE, PARKED))
        first = recover(sites=["dead"], history=True, sources_file=str(path))
        after = titles(engine)
        asked = len(fake.requests)
        second = recover(sites=["dead"], history=True, sources_file=str(path))
        again = titles(engine)
        with Session(engine) as s:
            provenance = s.execute(text(
                "SELECT url, recovered_from FROM v_articles WHERE recovered_from IS NOT NULL")).tuples().all()
        engine.dispose()
    recovered = {u for u in after if u not in before}
    assert len(recovered) == 197  # 100 % of the captured articles that were not live
    assert {u: after[u] for u in before} == before  # 0 live articles replaced
    assert first["articles_written"] == 197
    assert len(provenance) == 197 and {a for _, a in provenance} == {"wayback", "commoncrawl"}
    assert again == after and second["articles_written"] == 0  # a second recover changes nothing
    assert second["skipped"]["already holds an article"] == 200
    refetched = [p for p in fake.requests[asked:] if p.startswith(("/web/", "/crawl-data/"))]
    assert all(p.endswith("/news/201.html") for p in refetched)  # nothing recovered is fetched again
    assert any("201.html: not recovered" in p for p in first["problems"])


def test_the_recover_automation_runs_the_deployment_when_a_site_expires() -> None:
    import uuid

    import yaml
    from prefect.server.events.schemas.automations import AutomationCore
    from prefect.server.events.schemas.events import ReceivedEvent

    from flows.signals import site_signals
    from schema.loader import LoadOutcome

    path = Path(__file__).resolve().parents[1] / "deploy" / "automations" / "recover-expired.yaml"
    automation = AutomationCore.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    (action,) = automation.actions
    assert action.type == "run-deployment" and action.parameters == {  # type: ignore[union-attr]
        "sites": ["{{ event.resource['prefect.resource.name'] }}"], "history": True}
    now = dt.datetime.now(dt.UTC)
    for status, fires in (("expired", True), ("parked", True), ("active", False), ("unreachable", False)):
        (signal,) = site_signals([LoadOutcome("http://a.example/p", status, site_transition=("degraded", status))],
                                 lambda _: "jungong")
        event = ReceivedEvent(occurred=now, received=now, event=signal.event, resource=signal.resource,
                              payload=signal.payload, id=uuid.uuid4())
        assert automation.trigger.covers(event) is fires  # type: ignore[union-attr]
        assert signal.resource["prefect.resource.name"] == "jungong"  # what the template hands to `sites`


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["--since", "2024-02-01", "--until", "2024-01-01"], "--until 2024-01-01"),
        (["--since", "2024-13-01"], "--since 2024-13-01"),
        (["--site", "nope"], "unknown site nope"),
    ],
)
def test_recover_command_bad_input_is_one_line_and_nonzero(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], names: str
) -> None:
    from typer.testing import CliRunner

    from initiatives import cli

    def no_flow(**params: object) -> None:
        raise AssertionError(f"a flow ran despite bad input: {params}")

    monkeypatch.setattr(cli, "call_recover", no_flow)
    sources = tmp_path / "sources.toml"
    sources.write_text('[[sites]]\nname = "one"\nbase_url = "http://127.0.0.1:9/"\n', encoding="utf-8")
    result = CliRunner().invoke(cli.app, ["recover", *args, "--sources", str(sources)])
    assert result.exit_code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and names in lines[0]


def test_recover_command_asks_for_the_site_s_history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from initiatives import cli

    seen: dict[str, object] = {}
    monkeypatch.setattr(cli, "call_recover", lambda **params: seen.update(params) or {"pages_by_verdict": {}})
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    sources = tmp_path / "sources.toml"
    sources.write_text('[[sites]]\nname = "one"\nbase_url = "http://127.0.0.1:9/"\n', encoding="utf-8")
    result = CliRunner().invoke(cli.app, ["recover", "--site", "one", "--since", "2023-01-01", "--until", "2024-12-31",
                                          "--sources", str(sources)])
    assert result.exit_code == 0, result.stderr
    assert seen["sites"] == ["one"] and seen["history"] is True
    assert str(seen["since"]) == "2023-01-01" and str(seen["until"]) == "2024-12-31"


def test_recover_flow_refuses_bad_parameters_before_any_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Submitted through Prefect (no CLI in front), a rule no parameter schema can state still stops the run
    as its first step: Failed with the one line, nothing fetched, no database made."""
    from flows.recover import recover

    monkeypatch.setenv("INITIATIVES_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("INITIATIVES_DATABASE_URL", raising=False)
    sources = tmp_path / "sources.toml"
    sources.write_text('[[sites]]\nname = "one"\nbase_url = "http://127.0.0.1:9/"\n', encoding="utf-8")
    fn: Any = recover.fn  # the undecorated function: the refusal comes before Prefect does anything
    for params, says in [
        ({"since": dt.date(2024, 2, 1), "until": dt.date(2024, 1, 1)}, "until 2024-01-01 is before since 2024-02-01"),
        ({"sites": ["nope"]}, "unknown site nope"),
    ]:
        state = fn(**params, sources_file=str(sources))
        assert state.is_failed() and state.message.startswith("refused: ") and says in state.message
    assert not (tmp_path / "initiatives.db").exists()
