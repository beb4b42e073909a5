"""The loader's invariants, on SQLite and PostgreSQL: idempotent, transactional, never good-over-dead."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from parsers.records import (
    Article,
    Block,
    Evidence,
    Initiative,
    Metric,
    PageResult,
    Person,
    UnitRef,
    Verdict,
)
from schema import loader
from schema import models as m
from schema.loader import FetchFacts, load_page

URL = "http://127.0.0.1:1/news/1.html"
T0 = dt.datetime(2026, 1, 1, 8, 0, tzinfo=dt.UTC)

DONGAN = UnitRef(
    "中国航发东安", "东安", "中国航发哈尔滨东安发动机有限公司", ("东安", "中国航发东安"), True, "company", "AECC"
)
HONGLIN = UnitRef("红林", "红林", None, (), False)


def good_result(statement_suffix: str = "") -> PageResult:
    article = Article(
        title="落实党建“铸心”深化提升行动",
        published=dt.date(2023, 11, 16),
        source="军工资源网",
        body=(
            Block("heading", "学习宣贯 凝聚思想共识"),
            Block("paragraph", "中国航发东安党委确立了“2+4+N”的贯彻落实体系。" + statement_suffix),
            Block("paragraph", "红林等单位党委发布14项具体举措。"),
        ),
        campaigns=("党建“铸心”深化提升行动",),
    )
    records = (
        Initiative(
            section="学习宣贯 凝聚思想共识",
            statement="中国航发东安党委确立了“2+4+N”的贯彻落实体系。" + statement_suffix,
            org_body="党委",
            units=(DONGAN,),
            documents=("临时党支部工作细则",),
            frameworks=("2+4+N",),
            people=(Person("郝玉扬", "党支部书记"),),
        ),
        Initiative(
            section="学习宣贯 凝聚思想共识",
            statement="红林等单位党委发布14项具体举措。",
            org_body="党委",
            units=(HONGLIN,),
            metrics=(Metric(14, "项", "具体举措"),),
        ),
    )
    return PageResult(URL, Verdict("ok_with_notice", (Evidence("hosting.expired_notice", "网站已关闭", "tail"),)),
                      article, records, "utf-8")


def dead_result() -> PageResult:
    return PageResult(URL, Verdict("expired", (Evidence("hosting.expired_notice", "您的网站已到期", "body"),)))


def facts(at: dt.datetime, digest: str = "a" * 64) -> FetchFacts:
    return FetchFacts(url=URL, fetched_at=at, http_status=200, final_url=URL, content_hash=digest)


def count(engine: Engine, model: type[m.Base]) -> int:
    with Session(engine) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def record_keys(engine: Engine) -> list[str]:
    """Keys of the records readers see: the current version's."""
    with Session(engine) as s:
        return list(
            s.scalars(
                select(m.Initiative.key)
                .join(m.ArticleVersion, m.ArticleVersion.id == m.Initiative.version_id)
                .where(m.ArticleVersion.status == m.CURRENT)
                .order_by(m.Initiative.position)
            )
        )


def test_good_page_fills_every_table(engine: Engine) -> None:
    outcome = load_page(engine, good_result(), facts(T0), "run-1", "1")
    assert outcome.article_written and outcome.records_written == 2
    assert count(engine, m.Article) == 1
    assert count(engine, m.Section) == 1
    assert count(engine, m.Initiative) == 2
    assert count(engine, m.InitiativeUnit) == 2
    assert count(engine, m.Metric) == 1
    assert count(engine, m.Document) == count(engine, m.InitiativeDocument) == 1
    assert count(engine, m.Framework) == 1
    assert count(engine, m.Person) == 1
    assert count(engine, m.Campaign) == count(engine, m.ArticleCampaign) == 1
    with Session(engine) as s:
        units = {u.name: u.resolved for u in s.scalars(select(m.Unit))}
        aliases = set(s.scalars(select(m.UnitAlias.alias)))
        section = s.scalar(select(m.Initiative.section_id).where(m.Initiative.position == 0))
        site = s.scalar(select(m.Site))
    assert units == {"东安": True, "红林": False}
    assert {"东安", "中国航发东安", "红林"} <= aliases
    assert section is not None
    assert site is not None and site.shows_closure_notice


def test_same_input_twice_changes_nothing(engine: Engine) -> None:
    tables = (m.Article, m.Section, m.Initiative, m.InitiativeUnit, m.Unit, m.UnitAlias, m.Metric,
              m.Document, m.Framework, m.Person, m.Campaign, m.Page, m.Site)
    load_page(engine, good_result(), facts(T0), "run-1", "1")
    keys = record_keys(engine)
    before = {t.__tablename__: count(engine, t) for t in tables}
    second = load_page(engine, good_result(), facts(T0 + dt.timedelta(hours=1)), "run-2", "1")
    assert not second.article_written and second.records_written == 0
    assert record_keys(engine) == keys
    assert {t.__tablename__: count(engine, t) for t in tables} == before
    assert count(engine, m.Fetch) == 2  # every attempt is recorded, once per run


def test_retried_batch_in_same_run_does_not_duplicate_fetch_rows(engine: Engine) -> None:
    load_page(engine, good_result(), facts(T0), "run-1", "1")
    load_page(engine, good_result(), facts(T0), "run-1", "1")
    assert count(engine, m.Fetch) == 1


def test_expired_fetch_keeps_article_and_records(engine: Engine) -> None:
    load_page(engine, good_result(), facts(T0), "run-1", "1")
    keys = record_keys(engine)
    outcome = load_page(engine, dead_result(), facts(T0 + dt.timedelta(days=1), "b" * 64), "run-2", "1")
    assert outcome.kept_good_copy and not outcome.article_written
    assert record_keys(engine) == keys
    assert count(engine, m.Metric) == 1 and count(engine, m.InitiativeUnit) == 2
    with Session(engine) as s:
        page = s.scalar(select(m.Page))
        article = s.scalar(select(m.Article))
        verdicts = list(s.scalars(select(m.Fetch.verdict).order_by(m.Fetch.fetched_at)))
    assert page is not None and article is not None
    assert page.last_verdict == "expired"
    assert loader._aware(article.last_good_at) == T0
    assert verdicts == ["ok_with_notice", "expired"]


def test_changed_text_replaces_records_keeping_unchanged_keys(engine: Engine) -> None:
    load_page(engine, good_result(), facts(T0), "run-1", "1")
    old = record_keys(engine)
    load_page(engine, good_result("另行修订。"), facts(T0 + dt.timedelta(hours=2)), "run-2", "1")
    new = record_keys(engine)
    assert len(new) == 2
    assert new[1] == old[1]  # the unchanged statement keeps its key
    assert new[0] != old[0]
    assert count(engine, m.ArticleVersion) == 2  # the first text stays, superseded, with its records
    assert count(engine, m.Initiative) == 4


def test_parser_version_change_rewrites_records(engine: Engine) -> None:
    load_page(engine, good_result(), facts(T0), "run-1", "1")
    outcome = load_page(engine, good_result(), facts(T0), "reparse-1", "2")
    assert outcome.article_written and outcome.records_written == 2
    assert count(engine, m.Initiative) == 2


def test_crash_midway_leaves_nothing(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> int:
        raise RuntimeError("worker killed")

    monkeypatch.setattr(loader, "_write_records", boom)
    with pytest.raises(RuntimeError):
        load_page(engine, good_result(), facts(T0), "run-1", "1")
    for model in (m.Page, m.Fetch, m.Article, m.Section, m.Site):
        assert count(engine, model) == 0


def test_resolved_mention_upgrades_unresolved_unit(engine: Engine) -> None:
    load_page(engine, good_result(), facts(T0), "run-1", "1")
    known = dataclasses.replace(HONGLIN, full_name="红林公司全称", resolved=True, unit_type="company")
    result = good_result()
    records = (dataclasses.replace(result.initiatives[1], units=(known,)),)
    other = dataclasses.replace(result, target=URL + "?2", initiatives=records)
    load_page(engine, other, dataclasses.replace(facts(T0), url=URL + "?2"), "run-1", "1")
    with Session(engine) as s:
        unit = s.scalar(select(m.Unit).where(m.Unit.name == "红林"))
    assert unit is not None and unit.resolved and unit.full_name == "红林公司全称"


def test_run_row_is_written_once_per_load_id(engine: Engine) -> None:
    loader.record_run(engine, "crawl-1", "crawl", T0, {"records_written": 0})
    loader.record_run(engine, "crawl-1", "crawl", T0, {"records_written": 17})
    with Session(engine) as s:
        runs = list(s.scalars(select(m.LoadRun)))
    assert len(runs) == 1
    assert runs[0].flow == "crawl" and runs[0].stats == {"records_written": 17}
    assert runs[0].finished_at is not None and loader._aware(runs[0].started_at) == T0
