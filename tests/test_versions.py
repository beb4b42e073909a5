"""Article versions on SQLite and PostgreSQL: no fetch destroys collected data.

The issue's scenario: a good article, then the same URL answers 200 with a soft-404 the verdict took for an
article, then a real edit, then the whole run again. Plus the suspect rules (confirmation, dropping) and the
plausibility measure on texts written for these tests.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from initiatives.cli import app
from parsers.records import Article, Block, Initiative, PageResult, UnitRef, Verdict
from schema import models as m
from schema import versions
from schema.db import make_engine, upgrade
from schema.loader import load_pages
from tests.test_loader import T0, URL, dead_result, facts, good_result

SOFT_404 = PageResult(
    URL,
    Verdict("ok"),
    Article(
        title="页面不存在",
        body=(
            Block("paragraph", "抱歉，您访问的页面不存在或已被删除，请检查网址是否正确。"),
            Block("paragraph", "您可以返回网站首页继续浏览，或稍后再试。"),
        ),
    ),
    (),
    "utf-8",
)

CASC = UnitRef("航天八院", "八院", "上海航天技术研究院", ("八院",), True, "research institute", "CASC")


def other_article() -> PageResult:
    """A different article with records (the URL was reused): never plausibly the first one."""
    statement = "航天八院党委组织青年骨干开展科普进校园活动，覆盖二十余所学校。"
    article = Article(
        title="科普进校园 航天精神代代传",
        body=(Block("paragraph", statement), Block("paragraph", "活动持续一个月，受到师生欢迎。")),
    )
    return PageResult(URL, Verdict("ok"), article, (Initiative(None, statement, "党委", (CASC,)),), "utf-8")


def load(engine: Engine, result: PageResult, at: dt.datetime, load_id: str) -> Any:
    return load_pages(engine, [(result, facts(at))], load_id, "1")[0]


def reader_keys(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT record_key, unit FROM v_unit_initiatives ORDER BY record_position"))
        return [(str(k), str(u)) for k, u in rows]


def statuses(engine: Engine) -> list[tuple[str, str]]:
    with Session(engine) as s:
        return list(
            s.execute(select(m.ArticleVersion.title, m.ArticleVersion.status).order_by(m.ArticleVersion.id)).tuples()
        )


def snapshot(engine: Engine) -> dict[str, Any]:
    """Every table's row count, every record key and every version's state."""
    with Session(engine) as s:
        counts = {t.name: s.scalar(select(func.count()).select_from(t)) for t in m.Base.metadata.sorted_tables}
        keys = sorted(s.scalars(select(m.Initiative.key)))
        states = list(
            s.execute(
                select(m.ArticleVersion.status, m.ArticleVersion.seen_count, m.ArticleVersion.text_hash)
                .order_by(m.ArticleVersion.id)
            ).tuples()
        )
    return {"counts": counts, "keys": keys, "versions": states, "readers": reader_keys(engine)}


def test_soft_404_then_edit_then_repeat(engine: Engine) -> None:
    steps = [
        (good_result(), T0, "run-1"),
        (SOFT_404, T0 + dt.timedelta(days=1), "run-2"),
        (good_result("另行修订。"), T0 + dt.timedelta(days=2), "run-3"),
    ]
    first = load(engine, *steps[0])
    assert first.article_written and first.records_written == 2
    before = reader_keys(engine)
    assert [u for _, u in before] == ["东安", "红林"]

    soft = load(engine, *steps[1])
    assert soft.suspect and soft.kept_good_copy and not soft.article_written and soft.records_written == 0
    assert reader_keys(engine) == before  # readers still see the good article's records
    assert statuses(engine) == [("落实党建“铸心”深化提升行动", "current"), ("页面不存在", "suspect")]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT title FROM v_articles")).scalar_one() == "落实党建“铸心”深化提升行动"

    edit = load(engine, *steps[2])
    assert edit.article_written and edit.records_written == 2 and not edit.suspect
    after = reader_keys(engine)
    assert after[1] == before[1]  # the unchanged statement keeps its key
    assert after[0] != before[0]  # the edited one has a new key
    assert [s for _, s in statuses(engine)] == ["superseded", "dropped", "current"]
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(m.Initiative)) == 4  # nothing deleted

    done = snapshot(engine)
    for step in steps:
        load(engine, *step)
    assert snapshot(engine) == done


def test_suspect_without_records_never_displaces_an_article(engine: Engine) -> None:
    load(engine, good_result(), T0, "run-0")
    for day in range(1, 6):
        outcome = load(engine, SOFT_404, T0 + dt.timedelta(days=day), f"run-{day}")
        assert outcome.suspect
    assert [s for _, s in statuses(engine)] == ["current", "suspect"]
    assert [u for _, u in reader_keys(engine)] == ["东安", "红林"]
    with Session(engine) as s:
        assert s.scalars(select(m.ArticleVersion.seen_count).where(m.ArticleVersion.status == "suspect")).one() == 5


def test_suspect_with_records_is_confirmed_after_repeated_fetches(engine: Engine) -> None:
    load(engine, good_result(), T0, "run-0")
    for day in range(1, versions.CONFIRMATIONS):
        assert load(engine, other_article(), T0 + dt.timedelta(days=day), f"run-{day}").suspect
        assert [u for _, u in reader_keys(engine)] == ["东安", "红林"]
    outcome = load(engine, other_article(), T0 + dt.timedelta(days=versions.CONFIRMATIONS), "run-confirm")
    assert outcome.article_written and outcome.records_written == 1 and not outcome.suspect
    assert [u for _, u in reader_keys(engine)] == ["八院"]
    assert [s for _, s in statuses(engine)] == ["superseded", "current"]
    with engine.connect() as conn:
        group = conn.execute(text("SELECT unit_group, unit_group_name FROM v_unit_initiatives")).one()
    assert group[0] == "CASC" and group[1]  # the gazetteer names the group


def test_current_text_served_again_drops_the_suspect(engine: Engine) -> None:
    load(engine, good_result(), T0, "run-0")
    load(engine, other_article(), T0 + dt.timedelta(days=1), "run-1")
    load(engine, good_result(), T0 + dt.timedelta(days=2), "run-2")
    # Seen again later, a dropped text is counted but not promoted: it lost its streak.
    for day in (3, 4, 5):
        load(engine, other_article(), T0 + dt.timedelta(days=day), f"run-{day}")
    assert [s for _, s in statuses(engine)] == ["current", "dropped"]
    assert [u for _, u in reader_keys(engine)] == ["东安", "红林"]


def test_an_older_fetch_loaded_late_never_moves_the_current_version(engine: Engine) -> None:
    load(engine, good_result("另行修订。"), T0 + dt.timedelta(days=2), "run-new")
    keys = reader_keys(engine)
    load(engine, good_result(), T0, "run-old")  # plausible, but older than what readers see
    assert reader_keys(engine) == keys
    assert [s for _, s in statuses(engine)] == ["current", "superseded"]


def test_likeness_separates_edits_from_unrelated_pages() -> None:
    article = good_result().article
    assert article is not None
    body = "\n".join(article.paragraphs)
    edited = body.replace("体系。", "体系，并于年底前完成评估。")
    assert versions.likeness(article.title, body, article.title, edited).plausible
    retitled = versions.likeness(article.title, body, article.title + "(更新)", edited)
    assert retitled.plausible and retitled.title < 1.0
    soft = SOFT_404.article
    assert soft is not None
    unrelated = versions.likeness(article.title, body, soft.title, "\n".join(soft.paragraphs))
    assert not unrelated.plausible and unrelated.text < versions.TEXT_MIN_SAME_TITLE
    assert not versions.confirmed(versions.CONFIRMATIONS, 0, 2)
    assert versions.confirmed(versions.CONFIRMATIONS, 1, 2)
    assert not versions.confirmed(versions.CONFIRMATIONS - 1, 3, 2)


# --- initiatives history --------------------------------------------------------------------------------
def test_history_lists_versions_and_fetches(engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    load(engine, good_result(), T0, "run-1")
    load(engine, SOFT_404, T0 + dt.timedelta(days=1), "run-2")
    load_pages(engine, [(dead_result(), facts(T0 + dt.timedelta(days=2)))], "run-3", "1")
    monkeypatch.setenv("INITIATIVES_DATABASE_URL", db_url)
    done = CliRunner().invoke(app, ["history", URL])
    assert done.exit_code == 0, done.output
    lines = done.output.splitlines()
    versions = [line.split() for line in lines if line.startswith("  ") and "records" in line]
    assert [v[0] for v in versions] == ["current", "suspect"]
    assert "records 2" in " ".join(versions[0]) and "页面不存在" in versions[1]
    fetches = [line.split() for line in lines if "run-" in line]
    assert [(f[3], f[-1]) for f in fetches] == [("ok_with_notice", "run-1"), ("ok", "run-2"), ("expired", "run-3")]


def test_history_of_unknown_url_is_one_line(engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INITIATIVES_DATABASE_URL", db_url)
    done = CliRunner().invoke(app, ["history", "http://127.0.0.1:1/never.html"])
    assert done.exit_code == 1
    assert done.output.strip() == "initiatives: error: http://127.0.0.1:1/never.html: no such page in the database"


def test_history_never_creates_or_migrates_a_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "nowhere" / "x.db"
    monkeypatch.setenv("INITIATIVES_DATABASE_URL", f"sqlite:///{missing}")
    done = CliRunner().invoke(app, ["history", URL])
    assert done.exit_code == 2 and "no database at" in done.output and len(done.output.splitlines()) == 1
    assert not missing.parent.exists()
    old = tmp_path / "old.db"
    upgrade(f"sqlite:///{old}", "0002")
    monkeypatch.setenv("INITIATIVES_DATABASE_URL", f"sqlite:///{old}")
    done = CliRunner().invoke(app, ["history", URL])
    assert done.exit_code == 2 and "revision 0002" in done.output
    with make_engine(f"sqlite:///{old}").connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0002"


def test_reparse_reads_the_current_versions_body_not_a_newer_suspects(engine: Engine) -> None:
    from flows import state

    article, soft = "1" * 64, "2" * 64
    load_pages(engine, [(good_result(), facts(T0, article))], "run-1", "1")
    load_pages(engine, [(SOFT_404, facts(T0 + dt.timedelta(days=1), soft))], "run-2", "1")
    bodies = state.good_bodies(engine, None, None, None, None)
    assert [(b.content_hash, b.fetched_at) for b in bodies] == [(article, T0)]
    # A replay of that body with a new parser rebuilds the current version and counts no fetch.
    replay = dataclasses.replace(facts(T0, article), replay=True)
    outcome = load_pages(engine, [(good_result(), replay)], "reparse-1", "2")[0]
    assert outcome.article_written and outcome.records_written == 2
    with Session(engine) as s:
        rows = s.execute(
            select(m.ArticleVersion.status, m.ArticleVersion.parser_version, m.ArticleVersion.seen_count)
            .order_by(m.ArticleVersion.id)
        ).tuples().all()
    assert rows == [("current", "2", 1), ("suspect", "1", 1)]


def test_an_undone_edit_brings_the_earlier_version_back(engine: Engine) -> None:
    load(engine, good_result(), T0, "run-1")
    original = reader_keys(engine)
    load(engine, good_result("另行修订。"), T0 + dt.timedelta(days=1), "run-2")
    assert reader_keys(engine) != original
    outcome = load(engine, good_result(), T0 + dt.timedelta(days=2), "run-3")
    assert outcome.article_written and outcome.records_written == 2
    assert reader_keys(engine) == original
    assert [s for _, s in statuses(engine)] == ["current", "superseded"]


@pytest.mark.postgres
def test_history_on_a_missing_postgres_database_is_one_line(pg_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    url = pg_server.rsplit("/", 1)[0].replace("postgres@", "postgres:hunter2@") + "/initiatives_never_created"
    monkeypatch.setenv("INITIATIVES_DATABASE_URL", url)
    done = CliRunner().invoke(app, ["history", URL])
    assert done.exit_code == 2 and len(done.output.splitlines()) == 1
    assert "cannot open database" in done.output and "hunter2" not in done.output
