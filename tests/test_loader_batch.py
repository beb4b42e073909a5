"""Batch loading (``load_pages``), on SQLite and PostgreSQL: a batch writes exactly what loading its pages
one by one writes, and a page the database refuses fails alone without leaving anything half-written."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy import exc as sa_exc

from flows.batches import RunStats
from parsers.records import Article, Block, Evidence, Initiative, PageResult, Person, UnitRef, Verdict
from schema import loader
from schema.db import make_engine, upgrade
from schema.loader import FetchFacts, load_page, load_pages

T0 = dt.datetime(2026, 1, 1, 8, 0, tzinfo=dt.UTC)
SITE_A = "http://a.test"
SITE_B = "http://b.test"

DONGAN = UnitRef("中国航发东安", "东安", "东安全称", ("东安", "中国航发东安"), True, "company", "AECC")
DONGAN_BARE = UnitRef("东安", "东安", None, (), False)
XIHANG = UnitRef("西航", "西航", "西航全称", ("西航", "XH"), True, "company", "AECC")
# the same mention as one of 西航's aliases, naming another unit: the first page to write it keeps it.
HAZHOU = UnitRef("XH", "哈轴", None, (), False)


def good(
    url: str,
    title: str = "标题",
    units: tuple[UnitRef, ...] = (DONGAN,),
    extra: str = "",
    second: tuple[UnitRef, ...] = (XIHANG, HAZHOU),
) -> PageResult:
    article = Article(
        title=title,
        published=dt.date(2024, 5, 1),
        source="来源",
        body=(
            Block("heading", "学习"),
            Block("paragraph", "甲单位做了一件事。" + extra),
            Block("heading", "学习"),
            Block("paragraph", "乙单位做了另一件事。"),
        ),
        campaigns=("行动", "行动"),
    )
    records = (
        Initiative("学习", "甲单位做了一件事。" + extra, "党委", units, documents=("细则",), frameworks=("2+4+N",),
                   people=(Person("王", "书记"), Person("王", "书记"))),
        Initiative("学习", "甲单位做了一件事。" + extra, None, second),
        Initiative(None, "乙单位做了另一件事。", None, (DONGAN_BARE,), documents=("细则", "办法")),
    )
    return PageResult(url, Verdict("ok", text_length=10, main_length=8), article, records, "utf-8")


def dead(url: str, verdict: str = "expired") -> PageResult:
    return PageResult(url, Verdict(verdict, (Evidence("hosting.expired_notice", "已到期", "body"),)))  # type: ignore[arg-type]


def at(url: str, hours: int, **kw: Any) -> FetchFacts:
    return FetchFacts(url=url, fetched_at=T0 + dt.timedelta(hours=hours), http_status=200, final_url=url,
                      content_hash=f"{hours:064d}", etag=f'"{hours}"', site_name="站",
                      base_url=url.split("/n/")[0] + "/", **kw)


def scenario() -> list[tuple[list[loader.Item], str]]:
    """Batches that exercise every ordering rule: a URL twice in one batch (newer, then older), dead after
    good, a home page closing then confirmed (site retired), replays, changed text, shared aliases."""
    a1, a2, home, b1 = f"{SITE_A}/n/1.html", f"{SITE_A}/n/2.html", f"{SITE_A}/", f"{SITE_B}/n/1.html"
    return [
        ([(good(a1), at(a1, 0)), (good(a2, units=(HAZHOU,)), at(a2, 1)), (good(b1, second=(XIHANG,)), at(b1, 0)),
          (dead(home), at(home, 1)), (good(a1, extra="改。"), at(a1, 3)), (dead(a1), at(a1, 2))], "run-1"),
        ([(dead(home), at(home, 3)), (dead(a2, "parked"), at(a2, 4)), (good(b1), at(b1, 4, replay=True)),
          (dead(home), at(home, 5)), (good(a2, title="新"), at(a2, 3))], "run-2"),
        ([(good(home), at(home, 9)), (good(a1, extra="改。"), at(a1, 9)), (dead(b1, "error"), at(b1, 9))], "run-2"),
    ]


DUMP = {
    "sites": "SELECT host, name, base_url, status, status_since, shows_closure_notice, health FROM sites ORDER BY host",
    "history": "SELECT s.host, h.from_status, h.to_status, h.at, h.reason FROM site_status_history h "
               "JOIN sites s ON s.id = h.site_id ORDER BY h.id",
    "pages": "SELECT p.url, s.host, p.first_seen, p.last_fetched_at, p.last_verdict, p.last_good_at, p.etag, "
             "p.last_modified, p.content_hash FROM pages p JOIN sites s ON s.id = p.site_id ORDER BY p.url",
    "fetches": "SELECT p.url, f.load_id, f.fetched_at, f.verdict, f.evidence, f.content_hash "
               "FROM fetches f JOIN pages p ON p.id = f.page_id ORDER BY p.url, f.load_id",
    "articles": "SELECT p.url, a.title, a.body, a.text_hash, a.last_good_at FROM articles a "
                "JOIN pages p ON p.id = a.page_id ORDER BY p.url",
    "sections": "SELECT p.url, s.position, s.heading FROM sections s JOIN articles a ON a.id = s.article_id "
                "JOIN pages p ON p.id = a.page_id ORDER BY 1, 2",
    "campaigns": "SELECT p.url, c.name FROM article_campaigns x JOIN campaigns c ON c.id = x.campaign_id "
                 "JOIN articles a ON a.id = x.article_id JOIN pages p ON p.id = a.page_id ORDER BY 1, 2",
    "versions": "SELECT p.url, v.text_hash, v.status, v.title, v.first_seen, v.last_seen, v.seen_count, v.likeness "
                "FROM article_versions v JOIN articles a ON a.id = v.article_id JOIN pages p ON p.id = a.page_id "
                "ORDER BY 1, 2",
    "units": "SELECT name, full_name, resolved, group_name FROM units ORDER BY name",
    "groups": "SELECT key, name FROM groups ORDER BY key",
    "aliases": "SELECT a.alias, u.name FROM unit_aliases a JOIN units u ON u.id = a.unit_id ORDER BY 1",
    "records": "SELECT i.key, p.url, i.position, s.position, i.statement FROM initiatives i "
               "JOIN articles a ON a.id = i.article_id JOIN pages p ON p.id = a.page_id "
               "LEFT JOIN sections s ON s.id = i.section_id ORDER BY 1",
    "record_units": "SELECT i.key, u.name, x.position, x.mention FROM initiative_units x "
                    "JOIN initiatives i ON i.id = x.initiative_id JOIN units u ON u.id = x.unit_id ORDER BY 1, 2",
    "record_documents": "SELECT i.key, d.title FROM initiative_documents x JOIN initiatives i "
                        "ON i.id = x.initiative_id JOIN documents d ON d.id = x.document_id ORDER BY 1, 2",
    "record_people": "SELECT i.key, d.name, d.title FROM initiative_people x JOIN initiatives i "
                     "ON i.id = x.initiative_id JOIN people d ON d.id = x.person_id ORDER BY 1, 2",
}


def dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every table with ids replaced by natural keys (ids may be allocated in another order)."""

    def plain(v: Any) -> Any:
        return v.replace(tzinfo=None) if isinstance(v, dt.datetime) else v

    with engine.connect() as conn:
        return {name: [tuple(map(plain, row)) for row in conn.execute(text(sql))] for name, sql in DUMP.items()}


@pytest.fixture
def twin(db_url: str, tmp_path: Path) -> Iterator[Engine]:
    """A second empty database on the same backend as ``engine``."""
    if db_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'twin.db'}"
        upgrade(url)
        eng = make_engine(url)
        yield eng
        eng.dispose()
        return
    import psycopg

    name = db_url.rsplit("/", 1)[1] + "_twin"
    admin = db_url.replace("+psycopg", "")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = db_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        upgrade(url)
        eng = make_engine(url)
        yield eng
        eng.dispose()
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_batch_writes_exactly_what_page_by_page_writes(engine: Engine, twin: Engine) -> None:
    for items, load_id in scenario():
        batch = load_pages(engine, items, load_id, "1")
        single = [load_page(twin, result, facts, load_id, "1") for result, facts in items]
        assert batch == single
    state = dump(engine)
    assert state == dump(twin)
    # the scenario did reach the cases it is about
    assert [row[2] for row in state["history"]] == ["degraded", "active", "degraded", "expired", "active", "degraded"]
    assert ("XH", "哈轴") in state["aliases"]  # the first page to name it (last mention within that page)
    assert {row[0]: row[4] for row in state["pages"]}[f"{SITE_A}/n/1.html"] == "ok"
    # the edited texts became current, the first ones stayed as superseded versions
    assert sorted(v[2] for v in state["versions"] if v[0] == f"{SITE_A}/n/1.html") == ["current", "superseded"]
    assert sorted(v[2] for v in state["versions"] if v[0] == f"{SITE_A}/n/2.html") == ["current", "superseded"]


def test_repeated_url_in_a_batch_keeps_the_newest_verdict_and_the_good_copy(engine: Engine) -> None:
    url = f"{SITE_A}/n/1.html"
    outcomes = load_pages(engine, [(good(url), at(url, 5)), (dead(url), at(url, 2))], "run-1", "1")
    assert outcomes[0].article_written and outcomes[1].kept_good_copy
    pages = dump(engine)["pages"]
    assert [(p[4], p[8]) for p in pages] == [("ok", at(url, 5).content_hash)]
    assert [f[3] for f in dump(engine)["fetches"]] == ["expired"]  # one fetch row per run: the later load


def _refuse_title(engine: Engine, title: str) -> None:
    """A database-side rule that refuses one article: the database, not Python, raises mid-batch."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text(
                f"CREATE TRIGGER refuse BEFORE INSERT ON articles WHEN NEW.title = '{title}' "
                "BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END"
            ))
        else:
            conn.execute(text(
                "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN "
                f"IF NEW.title = '{title}' THEN RAISE EXCEPTION 'refused by test trigger'; END IF; "
                "RETURN NEW; END $$ LANGUAGE plpgsql"
            ))
            conn.execute(text("CREATE TRIGGER refuse BEFORE INSERT ON articles FOR EACH ROW EXECUTE FUNCTION refuse()"))


def test_a_page_the_database_refuses_fails_alone_and_is_recorded(engine: Engine) -> None:
    _refuse_title(engine, "毒")
    urls = [f"{SITE_A}/n/{i}.html" for i in range(4)]
    items = [(good(urls[0]), at(urls[0], 0)), (good(urls[1], title="毒"), at(urls[1], 0)),
             (dead(urls[2]), at(urls[2], 0)), (good(urls[3]), at(urls[3], 0))]
    outcomes = load_pages(engine, items, "run-1", "1")
    assert [o.url for o in outcomes] == urls
    assert [o.error is None for o in outcomes] == [True, False, True, True]
    assert outcomes[1].error is not None and "refused by test trigger" in outcomes[1].error
    assert outcomes[0].article_written and outcomes[3].article_written and outcomes[3].records_written == 3
    state = dump(engine)
    # nothing of the refused page, not even its page or fetch row (written before the article in its
    # transaction); everything of the others
    assert [p[0] for p in state["pages"]] == [urls[0], urls[2], urls[3]]
    assert [f[0] for f in state["fetches"]] == [urls[0], urls[2], urls[3]]
    assert [a[0] for a in state["articles"]] == [urls[0], urls[3]]
    stats = RunStats()
    stats.add(outcomes)
    assert stats.pages == 3 and stats.skipped["load failed"] == 1
    assert len(stats.errors) == 1 and stats.errors[0].startswith(f"{urls[1]}: not loaded:")


def test_single_page_batch_refused_is_recorded_not_raised(engine: Engine) -> None:
    _refuse_title(engine, "毒")
    url = f"{SITE_A}/n/1.html"
    [outcome] = load_pages(engine, [(good(url, title="毒"), at(url, 0))], "run-1", "1")
    assert outcome.error is not None and not outcome.article_written
    assert dump(engine)["pages"] == []


def test_transient_error_rolls_back_the_whole_batch_and_raises(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """A lost connection or locked database says nothing about a page: the caller retries the batch."""
    calls = []

    def flaky(*args: object) -> None:
        calls.append(args)
        raise sa_exc.OperationalError("INSERT …", {}, Exception("database is locked"))

    monkeypatch.setattr(loader, "_write_records", flaky)
    urls = [f"{SITE_A}/n/{i}.html" for i in range(3)]
    with pytest.raises(sa_exc.OperationalError):
        load_pages(engine, [(good(u), at(u, 0)) for u in urls], "run-1", "1")
    assert len(calls) == 1  # not retried page by page
    state = dump(engine)
    assert state["pages"] == [] and state["fetches"] == [] and state["sites"] == []


def test_batch_larger_than_a_group_loads_every_page(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader, "GROUP", 2)
    urls = [f"{SITE_A}/n/{i}.html" for i in range(5)]
    outcomes = load_pages(engine, [(good(u), at(u, i)) for i, u in enumerate(urls)], "run-1", "1")
    assert all(o.article_written and o.records_written == 3 for o in outcomes)
    state = dump(engine)
    assert len(state["articles"]) == 5 and len(state["records"]) == 15
    # one site row, however many groups touched it
    assert [s[0] for s in state["sites"]] == ["a.test"]


def test_replay_in_a_batch_writes_no_fetch_and_leaves_health(engine: Engine) -> None:
    url = f"{SITE_A}/n/1.html"
    load_pages(engine, [(good(url), at(url, 0))], "run-1", "1")
    before = dump(engine)["sites"]
    outcomes = load_pages(
        engine, [(dataclasses.replace(good(url, extra="新"), target=url), at(url, 1, replay=True))], "reparse-1", "2"
    )
    assert outcomes[0].article_written
    state = dump(engine)
    assert state["sites"] == before
    assert [f[1] for f in state["fetches"]] == ["run-1"]
