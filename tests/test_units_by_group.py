"""Units of different groups stay apart in the database (units keyed by group and name, migration 0007)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from initiatives.cli import app
from parsers.records import Article, Block, Initiative, Metric, PageResult, UnitRef, Verdict
from schema.db import alembic_config, make_engine, upgrade
from schema.loader import FetchFacts, load_pages

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
# Two academies both called 四院 in their own group; 二部 is unresolved in both groups.
CASC_4 = UnitRef("航天四院", "四院", "中国航天科技集团有限公司第四研究院", ("四院", "航天四院"), True, "academy",
                 "CASC")
CASIC_4 = UnitRef("航天科工四院", "四院", "中国航天科工集团第四研究院", ("四院", "航天科工四院"), True, "academy",
                  "CASIC")
CASC_DEPT = UnitRef("航天二部", "二部", group="CASC")
CASIC_DEPT = UnitRef("航天科工二部", "二部", group="CASIC")
NO_GROUP = UnitRef("某研究所", "某研究所")


def page(
    url: str, statement: str, *units: UnitRef, metrics: tuple[Metric, ...] = ()
) -> tuple[PageResult, FetchFacts]:
    article = Article(title="党建工作纪实", body=(Block("paragraph", statement),))
    record = Initiative(None, statement, "党委", units, metrics=metrics)
    result = PageResult(url, Verdict("ok"), article, (record,), "utf-8")
    return result, FetchFacts(url=url, fetched_at=T0, http_status=200, final_url=url, content_hash="b" * 64)


PAGES = [
    page("http://127.0.0.1:1/casc.html", "航天四院党委组织青年突击队攻关固体动力难题。", CASC_4, CASC_DEPT),
    page("http://127.0.0.1:1/casic.html", "航天科工四院党委开展“支部联建”活动二十场。", CASIC_4, CASIC_DEPT,
         metrics=(Metric(20, "场", "“支部联建”活动"),)),
    page("http://127.0.0.1:1/none.html", "某研究所党委召开专题学习会3场。", NO_GROUP,
         metrics=(Metric(3, "场", "专题学习会"),)),
]


def rows(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    queries = {
        "units": "SELECT group_name, name, full_name, resolved FROM units ORDER BY group_name, name",
        "aliases": "SELECT a.alias, u.group_name FROM unit_aliases a JOIN units u ON u.id = a.unit_id ORDER BY 1, 2",
        "view": "SELECT url, unit, unit_group, unit_full_name FROM v_unit_initiatives ORDER BY url, unit",
        "links": "SELECT initiative_id, unit_id FROM initiative_units ORDER BY 1, 2",
    }
    with engine.connect() as conn:
        return {name: [tuple(r) for r in conn.execute(text(sql))] for name, sql in queries.items()}


def test_same_short_name_in_two_groups_is_two_units(engine: Engine) -> None:
    load_pages(engine, PAGES, "run-1", "1")
    got = rows(engine)
    assert [(g, n, bool(r)) for g, n, _, r in got["units"]] == [
        ("", "某研究所", False),
        ("CASC", "二部", False),
        ("CASC", "四院", True),
        ("CASIC", "二部", False),
        ("CASIC", "四院", True),
    ]
    # Each record shows its own unit's group (no group reads NULL), one row per (record, unit).
    assert got["view"] == [
        ("http://127.0.0.1:1/casc.html", "二部", "CASC", None),
        ("http://127.0.0.1:1/casc.html", "四院", "CASC", "中国航天科技集团有限公司第四研究院"),
        ("http://127.0.0.1:1/casic.html", "二部", "CASIC", None),
        ("http://127.0.0.1:1/casic.html", "四院", "CASIC", "中国航天科工集团第四研究院"),
        ("http://127.0.0.1:1/none.html", "某研究所", None, None),
    ]
    with engine.connect() as conn:
        groups = conn.execute(text("SELECT url, unit_groups FROM v_initiative_metrics ORDER BY url")).all()
    assert groups == [("http://127.0.0.1:1/casic.html", "CASIC"), ("http://127.0.0.1:1/none.html", None)]
    # The alias 四院 belongs to both academies; each group's long alias to its own.
    assert [a for a in got["aliases"] if a[0] in ("四院", "航天四院", "航天科工四院")] == [
        ("四院", "CASC"), ("四院", "CASIC"), ("航天四院", "CASC"), ("航天科工四院", "CASIC"),
    ]


def test_rerun_and_one_by_one_write_the_same_rows(engine: Engine, tmp_path: Path) -> None:
    load_pages(engine, PAGES, "run-1", "1")
    first = rows(engine)
    load_pages(engine, PAGES, "run-1", "1")
    load_pages(engine, list(reversed(PAGES)), "run-2", "1")
    assert rows(engine) == first
    # Page by page, in another order, gives the same units and aliases as the batch.
    other = make_engine(f"sqlite:///{tmp_path / 'one_by_one.db'}")
    upgrade(f"sqlite:///{tmp_path / 'one_by_one.db'}")
    for item in reversed(PAGES):
        load_pages(other, [item], "run-1", "1")
    apart = rows(other)
    other.dispose()
    assert apart["units"] == first["units"] and apart["aliases"] == first["aliases"]


def test_cli_units_shows_both_groups_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    upgrade(url)
    engine = make_engine(url)
    load_pages(engine, PAGES, "run-1", "1")
    engine.dispose()
    monkeypatch.setenv("INITIATIVES_DATABASE_URL", url)
    known = CliRunner().invoke(app, ["units"])
    assert known.exit_code == 0, known.output
    four = [line.split("\t")[:4] for line in known.stdout.splitlines() if line.startswith("四院\t")]
    assert [(g, n) for _, _, g, n in four] == [("CASC", "1"), ("CASIC", "1")]
    unresolved = CliRunner().invoke(app, ["units", "--unresolved"])
    assert sorted(line.split()[1:3] for line in unresolved.stdout.splitlines() if "二部" in line) == [
        ["二部", "CASC"], ["二部", "CASIC"],
    ]


# --- migration 0007 carries units keyed by name over ------------------------------------------------
@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url_at_0005(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'old.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    upgrade(url, "0005")
    return url


OLD_ROWS = [
    "INSERT INTO sites (id, host, status, status_since, shows_closure_notice, health) "
    "VALUES (1, '127.0.0.1:1', 'active', '2026-03-01 00:00:00', false, '{}')",
    "INSERT INTO pages (id, url, site_id, first_seen) "
    "VALUES (1, 'http://127.0.0.1:1/old.html', 1, '2026-03-01 00:00:00')",
    "INSERT INTO articles (id, page_id, title, published_precision, body, text_hash, parser_version, last_good_at) "
    "VALUES (1, 1, '旧文章', 'day', '航天四院党委开展活动。', 'h', '1', '2026-03-01 00:00:00')",
    "INSERT INTO article_versions (id, article_id, status, text_hash, parser_version, title, published_precision, "
    "body, first_seen, last_seen, seen_count) "
    "VALUES (1, 1, 'current', 'h', '1', '旧文章', 'day', '航天四院党委开展活动。', '2026-03-01 00:00:00', "
    "'2026-03-01 00:00:00', 1)",
    "INSERT INTO initiatives (id, key, article_id, version_id, position, statement, org_body) "
    "VALUES (1, 'k1', 1, 1, 0, '航天四院党委开展活动。', '党委')",
    "INSERT INTO units (id, name, full_name, unit_type, group_name, resolved) "
    "VALUES (1, '四院', '中国航天科技集团有限公司第四研究院', 'academy', 'CASC', true)",
    "INSERT INTO units (id, name, group_name, resolved) VALUES (2, '某研究所', NULL, false)",
    "INSERT INTO unit_aliases (id, unit_id, alias) VALUES (1, 1, '四院'), (2, 1, '航天四院'), (3, 2, '某研究所')",
    "INSERT INTO initiative_units (initiative_id, unit_id, position, mention) VALUES (1, 1, 0, '航天四院'), "
    "(1, 2, 1, '某研究所')",
]


def test_0007_carries_units_over(url_at_0005: str) -> None:
    engine = make_engine(url_at_0005)
    with engine.begin() as conn:
        for sql in OLD_ROWS:
            conn.execute(text(sql))
        if conn.dialect.name == "postgresql":  # rows came with their ids: the loader's next ids follow them
            for table in ("sites", "pages", "articles", "article_versions", "initiatives", "units", "unit_aliases"):
                sequence = f"pg_get_serial_sequence('{table}', 'id')"
                conn.execute(text(f"SELECT setval({sequence}, (SELECT max(id) FROM {table}))"))
    upgrade(url_at_0005)
    got = rows(engine)
    assert [(g, n, f, bool(r)) for g, n, f, r in got["units"]] == [
        ("", "某研究所", None, False),
        ("CASC", "四院", "中国航天科技集团有限公司第四研究院", True),
    ]
    assert got["aliases"] == [("四院", "CASC"), ("某研究所", ""), ("航天四院", "CASC")]
    assert [(u, g) for _, u, g, _ in got["view"]] == [("四院", "CASC"), ("某研究所", None)]
    # The new loader writes the other group's 四院 beside the migrated one, and the old record keeps its unit.
    load_pages(engine, PAGES[1:2], "run-1", "1")
    got = rows(engine)
    assert [(g, n) for g, n, *_ in got["units"] if n == "四院"] == [("CASC", "四院"), ("CASIC", "四院")]
    assert ("http://127.0.0.1:1/old.html", "四院", "CASC", "中国航天科技集团有限公司第四研究院") in got["view"]
    # Going back to one unit per name would merge the two academies: refused, and nothing changes.
    with pytest.raises(RuntimeError, match="share names: 四院"):
        command.downgrade(alembic_config(url_at_0005), "0005")
    assert rows(engine) == got
    engine.dispose()
