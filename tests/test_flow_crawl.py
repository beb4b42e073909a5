"""The crawl flow end to end under one Prefect test harness: local sites, real fetches, SQLite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from initiatives.settings import Settings
from schema import models as m
from schema.db import make_engine
from tests.conftest import GOLD

pytestmark = [pytest.mark.flow, pytest.mark.slow]


def test_demo_crawls_then_keeps_everything_when_site_expires(
    prefect_harness: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from initiatives.demo import run_demo

    monkeypatch.delenv("INITIATIVES_DATABASE_URL", raising=False)
    monkeypatch.setenv("INITIATIVES_DATA_DIR", str(tmp_path))
    first, second = run_demo(Settings(data_dir=tmp_path))

    gold = json.loads(GOLD.read_text(encoding="utf-8"))
    assert first.pages_by_verdict.get("ok_with_notice") == 1  # the founding article with its banner
    assert first.pages_by_verdict.get("ok") == 2  # a normal article and the GBK article
    assert first.pages_by_verdict.get("not_found") == 1  # the dead link
    assert first.pages_by_verdict.get("expired") == 2  # the expired site's pages
    assert first.articles >= 3
    assert first.initiatives >= len(gold["initiatives"])

    # Pass 2: the live site now answers with a hosting notice; nothing collected is lost.
    assert second.articles == first.articles
    assert second.initiatives == first.initiatives
    assert second.pages_by_verdict.get("ok_with_notice", 0) == 0

    engine = make_engine(Settings(data_dir=tmp_path / "demo").database)
    with Session(engine) as s:
        seed = s.scalar(select(m.Article).where(m.Article.title == gold["article"]["title"]))
        assert seed is not None
        seed_records = s.scalar(
            select(func.count()).select_from(m.Initiative).where(m.Initiative.article_id == seed.id)
        )
        gbk = s.scalar(select(m.Article).where(m.Article.title.like("%红色引擎%")))
        page = s.get(m.Page, seed.page_id)
        fetch_verdicts = list(
            s.scalars(select(m.Fetch.verdict).where(m.Fetch.page_id == seed.page_id).order_by(m.Fetch.fetched_at))
        )
    engine.dispose()
    assert seed_records == len(gold["initiatives"])
    assert not any(text in seed.body for text in gold["article"]["must_not_be_in_body"])
    assert gbk is not None and "中国航发南方党委" in gbk.body
    assert page is not None and page.last_verdict == "expired"
    assert fetch_verdicts == ["ok_with_notice", "expired"]
    assert (tmp_path / "demo" / "raw").is_dir()
