"""Backfill against a local dated site: the date range, stopping the walk, resuming after a crash.

Also the parameter errors that must stop a run before any work. Flow tests share the session harness.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from benchmarks.crawl_site import Background, published
from initiatives.settings import Settings
from schema import models as m
from schema.db import make_engine

SOURCES = """\
[[sites]]
name = "bench"
base_url = "{url}/"
allow = ['/news/\\d+\\.html$']

[[sites.listings]]
url = "{url}/list_{{page}}.html"
link_selector = "a.art"
date_selector = ".date"
pages = 1

[sites.politeness]
concurrency = 8
min_delay = 0.0
"""


def configure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, batch: int = 50) -> Path:
    monkeypatch.delenv("INITIATIVES_DATABASE_URL", raising=False)
    monkeypatch.setenv("INITIATIVES_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("INITIATIVES_BATCH_SIZE", str(batch))
    path = tmp_path / "sources.toml"
    path.write_text(SOURCES.format(url=url), encoding="utf-8")
    return path


def article_dates(tmp_path: Path) -> list[dt.date]:
    engine = make_engine(Settings(data_dir=tmp_path).database)
    with Session(engine) as s:
        out = [d for d in s.scalars(select(m.Article.published)) if d is not None]
    engine.dispose()
    return sorted(out)


def test_bad_parameters_fail_before_any_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.backfill import backfill

    path = configure(tmp_path, monkeypatch, "http://127.0.0.1:9")
    fn: Any = backfill.fn  # the undecorated function: these errors come before Prefect does anything
    # A run that breaks a rule ends Failed with the one line (no traceback on the worker), before any work.
    for params, says in [
        ({"since": dt.date(2024, 2, 1), "until": dt.date(2024, 1, 1)}, "until 2024-01-01 is before since 2024-02-01"),
        ({"sites": ["nope"]}, "unknown site nope"),
        ({"urls_file": str(tmp_path / "missing.txt")}, "URL file not found"),
    ]:
        state = fn(**params, sources_file=str(path))
        assert state.is_failed() and state.message.startswith("refused: ") and says in state.message
    assert not (tmp_path / "initiatives.db").exists()


@pytest.mark.slow
@pytest.mark.flow
def test_backfill_walks_back_through_the_range_and_stops(
    prefect_harness: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.backfill import backfill

    with Background(120) as site:
        path = configure(tmp_path, monkeypatch, site.url)
        since, until = published(45), published(6)  # articles 6..45 (one a day, 1 is newest)
        result = backfill(since=since, until=until, sources_file=str(path))
        listing_hits = sorted({h for h in site.hits if h.startswith("/list_")})
        article_hits = [h for h in site.hits if h.startswith("/news/")]
    dates = article_dates(tmp_path)
    assert len(dates) == 40 and dates[0] == since and dates[-1] == until
    assert len(article_hits) == 40  # nothing outside the range was fetched
    # 20 articles a page: page 4 (61-80) is the first all older than `since`, so page 5 is never read.
    assert listing_hits == ["/list_1.html", "/list_2.html", "/list_3.html", "/list_4.html"]
    assert result["pages_by_verdict"] == {"ok": 40}


@pytest.mark.slow
@pytest.mark.flow
def test_overlapping_backfill_asks_conditionally_for_stored_pages(
    prefect_harness: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wider backfill over a range an earlier one stored gets a 304 for every stored page (ETag)."""
    from flows.backfill import backfill

    with Background(60) as site:
        path = configure(tmp_path, monkeypatch, site.url)
        first = backfill(since=published(20), until=published(6), sources_file=str(path))
        second = backfill(since=published(30), until=published(1), sources_file=str(path))
    assert first["pages_by_verdict"] == {"ok": 15} and first["not_modified"] == 0
    assert second["not_modified"] == 15  # articles 6..20 again, each answered 304
    assert second["pages_by_verdict"] == {"ok": 30}
    assert len(article_dates(tmp_path)) == 30


@pytest.mark.slow
@pytest.mark.flow
def test_killed_backfill_resumes_without_refetching(
    prefect_harness: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import flows.crawl
    from flows.backfill import backfill, backfill_key

    real_load = flows.crawl.load_task
    calls = {"n": 0}

    def dying_load(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("worker killed")
        return real_load(*args, **kwargs)

    with Background(60) as site:
        path = configure(tmp_path, monkeypatch, site.url, batch=5)
        since, until = published(30), published(1)
        monkeypatch.setattr(flows.crawl, "load_task", dying_load)
        with pytest.raises(RuntimeError, match="worker killed"):
            backfill(since=since, until=until, sources_file=str(path))
        monkeypatch.setattr(flows.crawl, "load_task", real_load)
        engine = make_engine(Settings(data_dir=tmp_path).database)
        key = backfill_key(None, since, until, None)
        with Session(engine) as s:
            done_first = set(s.scalars(select(m.Page.url).join(m.Fetch).where(m.Fetch.load_id == key)))
        first_hits = len(site.hits)
        result = backfill(since=since, until=until, sources_file=str(path))
        second = [h for h in site.hits[first_hits:] if h.startswith("/news/")]
        with Session(engine) as s:
            fetch_rows = s.scalar(select(func.count()).select_from(m.Fetch).where(m.Fetch.load_id == key))
            pages = s.scalar(select(func.count()).select_from(m.Page))
            articles = s.scalar(select(func.count()).select_from(m.Article))
        engine.dispose()
    assert len(done_first) == 10  # two batches of five were loaded before the crash
    assert not {site.url + h for h in second} & done_first  # finished URLs were not fetched again
    assert len(second) == 20
    assert fetch_rows == pages == articles == 30  # nothing lost, nothing duplicated
    assert result["skipped"] == {"finished by an earlier attempt": 10}
