"""One bad page never fails a batch or a run: at each stage (discovery, fetch, parse, load, reparse) a page
that raises becomes that page's recorded outcome, its batch-mates load, and a rerun does the same."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from benchmarks.crawl_site import article_html
from flows import batches, state
from flows.archive import RawArchive
from flows.fetch import FetchPolicy
from flows.pages import FetchedPage, Target
from flows.reparse import reparse_batch
from flows.session import FetchSession
from flows.sources import Listing, Site
from parsers import pipeline
from parsers.records import RawPage
from schema import loader
from schema import models as m
from tests.fault_server import huge_number_article

HOST = "127.0.0.1:9"
BASE = f"http://{HOST}"
HTML = {"content-type": "text/html; charset=utf-8"}
T0 = dt.datetime(2024, 5, 1, 8, 0, tzinfo=dt.UTC)


def page(n: int, body: bytes | None = None) -> FetchedPage:
    url = f"{BASE}/news/{n}.html"
    raw = RawPage(url, body if body is not None else article_html(n), 200, HTML, url)
    return FetchedPage(Target(url, "s"), raw, T0, 0.01, f"{n:064x}", 200)


def counts(engine: Engine) -> tuple[int, int, int]:
    with Session(engine) as s:
        return tuple(s.scalar(select(func.count()).select_from(t)) or 0  # type: ignore[return-value]
                     for t in (m.Fetch, m.Article, m.Initiative))


def error_evidence(engine: Engine, url: str) -> str:
    with Session(engine) as s:
        fetch = s.scalars(select(m.Fetch).join(m.Page).where(m.Page.url == url)).one()
    assert fetch.verdict == "error"
    return str(fetch.evidence)


# --- parse --------------------------------------------------------------------------------------------
def test_a_stage_raising_on_one_page_is_that_pages_outcome(monkeypatch: pytest.MonkeyPatch) -> None:
    real = pipeline.initiatives_stage.parse

    def parse(article):  # type: ignore[no-untyped-def]
        if "第3篇" in "".join(b.text for b in article.body) + article.title:
            raise RuntimeError("boom in records")
        return real(article)

    monkeypatch.setattr(pipeline.initiatives_stage, "parse", parse)
    results = batches.parse_batch([page(i) for i in range(1, 6)], {})
    bad = [r for r in results if r.verdict.name == "error"]
    assert len(results) == 5 and len(bad) == 1
    assert bad[0].target.endswith("/news/3.html")
    assert bad[0].verdict.evidence[0].match == "RuntimeError: boom in records"
    assert all(r.verdict.name == "ok" and r.initiatives for r in results if r is not bad[0])


def test_a_4301_digit_number_never_fails_the_batch() -> None:
    """Whether or not the number parser caps digits, the page has an outcome and the others parse."""
    pages = [page(1), page(2, huge_number_article()), page(3)]
    results = batches.parse_batch(pages, {})
    assert [r.target for r in results] == [p.raw.url for p in pages]
    assert results[0].initiatives and results[2].initiatives
    if results[1].verdict.name == "error":
        assert "ValueError" in results[1].verdict.evidence[0].match


def test_inspect_path_never_raises_on_the_huge_number() -> None:
    result = pipeline.process(RawPage("x.html", huge_number_article(), 200, HTML))
    assert result.verdict.name in ("ok", "error")


# --- load ---------------------------------------------------------------------------------------------
def test_a_page_the_loader_breaks_on_is_recorded_and_the_rest_load(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = loader._write_articles
    bad_url = f"{BASE}/news/3.html"

    def write(conn, goods, existing, parser_version):  # type: ignore[no-untyped-def]
        if any(good.url == bad_url for good in goods):
            raise KeyError("a value the loader did not foresee")
        return real(conn, goods, existing, parser_version)

    monkeypatch.setattr(loader, "_write_articles", write)
    pages = [page(i) for i in range(1, 6)]
    results = batches.parse_batch(pages, {})
    for attempt in range(2):  # the rerun writes the same rows
        outcomes = batches.load_batch(engine, pages, results, {}, "crawl-1")
        assert [o.error is None for o in outcomes] == [True, True, False, True, True]
        assert counts(engine)[:2] == (5, 4), attempt
    assert "KeyError" in error_evidence(engine, bad_url)


def test_the_huge_number_page_loads_as_its_outcome_with_the_good_ones(engine: Engine) -> None:
    pages = [page(1), page(2, huge_number_article()), page(3)]
    for _ in range(2):
        outcomes = batches.load_batch(engine, pages, batches.parse_batch(pages, {}), {}, "crawl-1")
        assert all(o.error is None for o in outcomes)
        fetches, articles, records = counts(engine)
        assert fetches == 3 and articles >= 2 and records > 0


# --- discovery and fetch ------------------------------------------------------------------------------
def listing_with(links: list[str]) -> bytes:
    items = "".join(f'<li><a class="art" href="{u}">标题{i}</a></li>' for i, u in enumerate(links))
    return f"<html><body><ul>{items}</ul></body></html>".encode()


def mock_session(tmp_path: Path, routes: dict[str, bytes]) -> FetchSession:
    def handler(request: httpx.Request) -> httpx.Response:
        body = routes.get(str(request.url))
        return httpx.Response(200, content=body, headers=HTML) if body is not None else httpx.Response(404)

    policy = FetchPolicy(min_delay=0.0, retries=0, obey_robots=False, allow_addresses=("127.0.0.1",))
    return FetchSession(policy, RawArchive(tmp_path / "raw"), transport=httpx.MockTransport(handler))


def site(name: str, base: str) -> Site:
    return Site(name=name, base_url=f"{base}/", listings=(Listing(url=f"{base}/list.html", link_selector="a.art"),))


def test_one_listing_that_breaks_discovery_leaves_every_other_site(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good, bad = site("good", "http://127.0.0.1:8001"), site("bad", "http://127.0.0.1:8002")
    routes = {
        "http://127.0.0.1:8001/list.html": listing_with(["/news/1.html", "/news/2.html"]),
        # an unparseable link beside a good one: at worst this listing page is lost, never the run
        "http://127.0.0.1:8002/list.html": listing_with(["http://[::1/x", "/news/9.html"]),
    }
    with mock_session(tmp_path, routes) as session:
        found, problems = batches.discover(session, [bad, good])
        urls = {f.url for _, f in found}
        assert {"http://127.0.0.1:8001/news/1.html", "http://127.0.0.1:8001/news/2.html"} <= urls

        # a reader raising on one document (whatever it is) is that document's problem
        real = batches.disc.listing_links

        def listing_links(raw, listing, s):  # type: ignore[no-untyped-def]
            if s.name == "bad":
                raise ValueError("unreadable listing")
            return real(raw, listing, s)

        monkeypatch.setattr(batches.disc, "listing_links", listing_links)
        found, problems = batches.discover(session, [bad, good])
    assert {f.url for _, f in found} >= {"http://127.0.0.1:8001/news/1.html"}
    assert any("ValueError: unreadable listing" in p and "8002/list.html" in p for p in problems)


def test_a_fetch_that_raises_is_that_pages_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    routes = {f"{BASE}/news/{i}.html": article_html(i) for i in range(1, 4)}
    with mock_session(tmp_path, routes) as session:
        real = session.fetcher.fetch

        async def fetch(url: str, conditional: object = None):  # type: ignore[no-untyped-def]
            if url.endswith("/2.html"):
                raise OSError("disk gone for this one")
            return await real(url, conditional)  # type: ignore[arg-type]

        monkeypatch.setattr(session.fetcher, "fetch", fetch)
        fetched = session.fetch_batch([Target(u, "s") for u in routes])
    assert [p.raw.error for p in fetched] == [None, "fetch failed: OSError: disk gone for this one", None]
    assert fetched[0].content_hash and fetched[2].content_hash


# --- reparse ------------------------------------------------------------------------------------------
@pytest.fixture
def archived(engine: Engine, tmp_path: Path) -> Iterator[tuple[RawArchive, list[str]]]:
    archive = RawArchive(tmp_path / "raw")
    urls = []
    for n in (1, 2, 3):
        body = article_html(n)
        digest = archive.put(body, HTML)
        url = f"{BASE}/news/{n}.html"
        facts = loader.FetchFacts(url, T0, 200, url, content_hash=digest)
        loader.load_page(engine, pipeline.process(RawPage(url, body, 200, HTML)), facts, "crawl-1", "0")
        urls.append(url)
    yield archive, urls


def test_reparse_reports_the_page_that_breaks_and_refreshes_the_rest(
    engine: Engine, archived: tuple[RawArchive, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    archive, urls = archived
    real: Callable[..., object] = pipeline.article_stage.extract

    def extract(doc, verdict, selectors, boilerplate=frozenset()):  # type: ignore[no-untyped-def]
        if doc.target.endswith("/2.html"):
            raise IndexError("extractor tripped")
        return real(doc, verdict, selectors, boilerplate)

    monkeypatch.setattr(pipeline.article_stage, "extract", extract)
    db = engine.url.render_as_string(hide_password=False)
    for _ in range(2):
        bodies = state.good_bodies(engine, None, None, None, None)
        outcomes, problems = reparse_batch(db, str(archive.root), bodies, {}, "reparse-1")
        assert [o.url for o in outcomes] == [urls[0], urls[2]]
        assert len(problems) == 1 and urls[1] in problems[0] and "IndexError: extractor tripped" in problems[0]
    with Session(engine) as s:
        kept = s.scalars(select(m.Page.last_verdict).where(m.Page.url == urls[1])).one()
    assert kept == "ok"  # the stored copy is left as the older parser wrote it


def test_inspect_prints_the_pages_outcome_not_a_traceback(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from initiatives.cli import app

    page_file = tmp_path / "huge.html"
    page_file.write_bytes(huge_number_article())
    result = CliRunner().invoke(app, ["inspect", str(page_file), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert '"verdict"' in result.stdout
