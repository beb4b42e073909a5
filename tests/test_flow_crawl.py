"""The crawl flow end to end under one Prefect test harness: local sites, real fetches, SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from initiatives.settings import Settings
from schema import models as m
from schema.db import make_engine
from tests.conftest import DEMO_SITE

pytestmark = [pytest.mark.flow, pytest.mark.slow]


def test_demo_crawls_then_keeps_everything_when_site_expires(
    prefect_harness: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from initiatives.demo import run_demo

    monkeypatch.delenv("INITIATIVES_DATABASE_URL", raising=False)
    monkeypatch.setenv("INITIATIVES_DATA_DIR", str(tmp_path))
    first, second, third = run_demo(Settings(data_dir=tmp_path))

    from parsers.pipeline import process_file

    founding = process_file(DEMO_SITE / "aecc-zhuxin.html")  # the project's own copy of the seed page
    assert founding.article is not None and founding.initiatives
    assert first.pages_by_verdict.get("ok_with_notice") == 1  # the founding article with its banner
    assert first.pages_by_verdict.get("ok") == 2  # a normal article and the GBK article
    assert first.pages_by_verdict.get("not_found") == 1  # the dead link
    assert first.pages_by_verdict.get("expired") == 2  # the expired site's pages
    assert first.articles >= 3
    assert first.initiatives >= len(founding.initiatives)

    # Pass 2: the live site now answers with a hosting notice; nothing collected is lost.
    assert second.articles == first.articles
    assert second.initiatives == first.initiatives
    assert second.pages_by_verdict.get("ok_with_notice", 0) == 0

    engine = make_engine(Settings(data_dir=tmp_path / "demo").database)
    with Session(engine) as s:
        seed = s.scalar(select(m.Article).where(m.Article.title == founding.article.title))
        assert seed is not None
        seed_records = s.scalar(
            select(func.count()).select_from(m.Initiative).where(m.Initiative.article_id == seed.id)
        )
        gbk = s.scalar(select(m.Article).where(m.Article.title.like("%红色引擎%")))
        page = s.get(m.Page, seed.page_id)
        runs = list(s.scalars(select(m.LoadRun.flow).order_by(m.LoadRun.started_at)))
        fetch_verdicts = list(
            s.scalars(select(m.Fetch.verdict).where(m.Fetch.page_id == seed.page_id).order_by(m.Fetch.fetched_at))
        )
    engine.dispose()
    assert seed_records == len(founding.initiatives)
    notice = founding.verdict.notice_blocks  # the hosting provider's closure banner
    assert notice and not any(text in seed.body for text in notice)
    assert gbk is not None and "中国航发南方党委" in gbk.body
    assert page is not None and page.last_verdict == "expired"
    assert fetch_verdicts == ["ok_with_notice", "expired"]
    assert runs == ["crawl", "crawl", "recover"]  # one load_runs row per flow run
    assert (tmp_path / "demo" / "raw").is_dir()

    # Pass 3: the founding article comes back at its original address on the expired site, from the
    # loopback web archive, with its records and where it came from.
    from initiatives.demo import CAPTURED, FOUNDING_PATH

    assert third.articles == first.articles + 1
    assert third.initiatives == first.initiatives + len(founding.initiatives)
    engine = make_engine(Settings(data_dir=tmp_path / "demo").database)
    with engine.connect() as conn:
        (row,) = conn.execute(text(
            "SELECT url, title, recovered_from, capture_url FROM v_articles WHERE recovered_from IS NOT NULL"
        )).tuples().all()
    engine.dispose()
    assert row[0].endswith(FOUNDING_PATH) and row[1] == founding.article.title
    assert row[2] == "wayback" and f"/web/{CAPTURED}id_/" in row[3]


FAULTY_SOURCES = """\
[[sites]]
name = "bench"
base_url = "{url}/"
start_urls = ["{url}/news/3.html", "{url}/private/x.html"]
feeds = ["{url}/feed.xml"]
allow = ['/news/\\d+\\.html$', '/private/']

[[sites.listings]]
url = "{url}/list_{{page}}.html"
link_selector = "a.art"

[[sites.listings]]
url = "{url}/list_{{page}}.html"
link_selector = "ul.gone a"

[sites.politeness]
concurrency = 8
min_delay = 0.0

[[sites]]
name = "ghost"
base_url = "http://ghost.invalid/"
start_urls = ["http://ghost.invalid/a.html"]
"""


def test_crawl_faults_conditional_get_and_recheck(
    prefect_harness: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from benchmarks.crawl_site import Background
    from flows.crawl import crawl
    from flows.recheck import recheck

    monkeypatch.delenv("INITIATIVES_DATABASE_URL", raising=False)
    monkeypatch.setenv("INITIATIVES_DATA_DIR", str(tmp_path))
    with Background(25) as site:
        sources = tmp_path / "sources.toml"
        sources.write_text(FAULTY_SOURCES.format(url=site.url), encoding="utf-8")
        first = crawl(sources_file=str(sources))
        second = crawl(sources_file=str(sources))
        again = recheck(sites=["bench"], sources_file=str(sources))
        hits = list(site.hits)

    # Run 1: listing + feed give 25 articles; robots.txt forbids /private/; the .invalid host fails DNS;
    # the listing whose selector no longer matches is reported.
    assert first["pages_by_verdict"] == {"ok": 25, "error": 1}
    assert first["skipped"] == {"robots.txt forbids": 1}
    assert any("ghost.invalid" in e and "ConnectError" in e for e in first["errors"])
    assert any("ul.gone a" in p for p in first["problems"])
    assert "/private/x.html" not in hits
    # Run 2: stored pages are not refetched; the start URL costs one 304 and changes nothing.
    assert second["not_modified"] == 1 and second["skipped"]["already stored"] == 24
    assert second["pages_by_verdict"] == {"ok": 1, "error": 1} and second["articles_written"] == 0
    assert again["not_modified"] == 25 and again["pages_by_verdict"] == {"ok": 25}

    engine = make_engine(Settings(data_dir=tmp_path).database)
    with Session(engine) as s:
        page = s.scalars(select(m.Page).where(m.Page.url.like("%/news/3.html"))).one()
        statuses = list(s.scalars(select(m.Fetch.http_status).where(m.Fetch.page_id == page.id)
                                  .order_by(m.Fetch.fetched_at)))
        bench_status = s.scalar(select(m.Site.status).where(m.Site.name == "bench"))
        articles = s.scalar(select(func.count()).select_from(m.Article))
    engine.dispose()
    assert statuses == [200, 304, 304]
    assert bench_status == "active" and articles == 25
