"""Reparse from the archive: records rebuilt with no network, good copies never replaced by dead pages,
site health left alone (plain functions, no Prefect)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from benchmarks.crawl_site import article_html
from flows import state
from flows.archive import RawArchive
from flows.reparse import reparse_batch
from parsers.pipeline import process
from parsers.records import RawPage
from schema import models as m
from schema.loader import FetchFacts, load_page

URL = "http://127.0.0.1:9/news/7.html"
EXPIRED = b"<html><head><title>\xe5\x9f\x9f\xe5\x90\x8d\xe5\x88\xb0\xe6\x9c\x9f</title></head><body>" + (
    "<h1>该域名已过期</h1><p>This domain has expired. 域名到期停止解析,请联系注册商续费。</p>".encode()
) + b"</body></html>"


def load(engine: Engine, archive: RawArchive, body: bytes, at: dt.datetime, load_id: str) -> str:
    headers = {"content-type": "text/html; charset=utf-8"}
    digest = archive.put(body, headers)
    raw = RawPage(URL, body, 200, headers)
    load_page(engine, process(raw), FetchFacts(URL, at, 200, URL, content_hash=digest), load_id, "1")
    return digest


def counts(engine: Engine) -> tuple[int, int, int]:
    with Session(engine) as s:
        return (
            s.scalar(select(func.count()).select_from(m.Article)) or 0,
            s.scalar(select(func.count()).select_from(m.Initiative)) or 0,
            s.scalar(select(func.count()).select_from(m.Fetch)) or 0,
        )


def test_reparse_rebuilds_from_newest_good_body_and_keeps_it_over_dead(engine: Engine, tmp_path: Path) -> None:
    archive = RawArchive(tmp_path / "raw")
    t0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    good = load(engine, archive, article_html(7), t0, "crawl-1")
    articles, records, fetches = counts(engine)
    assert articles == 1 and records > 0
    load(engine, archive, EXPIRED, t0 + dt.timedelta(days=1), "crawl-2")  # the page died since
    with Session(engine) as s:
        s.execute(m.Initiative.__table__.delete())
        s.execute(m.Article.__table__.update().values(parser_version="0"))
        site_before = s.scalars(select(m.Site.health)).one()
        last_verdict = s.scalars(select(m.Page.last_verdict)).one()
        s.commit()
    assert last_verdict != "ok"

    bodies = state.good_bodies(engine, None, None, None, "0")
    assert [(b.url, b.content_hash) for b in bodies] == [(URL, good)]
    url = engine.url.render_as_string(hide_password=False)
    outcomes, problems = reparse_batch(url, str(tmp_path / "raw"), bodies, {}, "reparse-t")
    assert problems == [] and outcomes[0].verdict == "ok" and outcomes[0].records_written == records

    with Session(engine) as s:
        article = s.scalars(select(m.Article)).one()
        page = s.scalars(select(m.Page)).one()
        site_after = s.scalars(select(m.Site.health)).one()
    assert article.parser_version != "0" and "第7篇" in article.body
    assert page.last_verdict == last_verdict  # the newest fetch is still the dead one
    assert site_after == site_before  # re-reading old bytes says nothing about the site today
    assert counts(engine) == (1, records, fetches + 1)  # no fetch row for the replay
    assert state.good_bodies(engine, None, None, None, "0") == []


def test_missing_archived_body_is_reported(engine: Engine, tmp_path: Path) -> None:
    body = state.GoodBody(URL, "0" * 64, dt.datetime(2024, 1, 1, tzinfo=dt.UTC), 200, URL)
    url = engine.url.render_as_string(hide_password=False)
    outcomes, problems = reparse_batch(url, str(tmp_path), [body], {}, "reparse-t")
    assert outcomes == [] and problems and "missing" in problems[0]
