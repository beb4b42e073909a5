"""Units of different groups stay apart in the database (units keyed by group and name, migration 0007)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from initiatives.cli import app
from parsers.initiatives import parse
from parsers.records import Article, Block, Initiative, Metric, PageResult, UnitRef, Verdict
from parsers.units import gazetteer
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


# --- registry rows of the non-defence groups (parsers/data/units.tsv, appended blocks) ------------------
# Short articles written for these tests. Each group's units named bare (no group prefix) resolve to their
# group; the risky short names (江苏电力, 广东电网, 时代电气, 中铁建设 …) only count as subjects.


def _article(*lines: str, title: str) -> Article:
    return Article(title=title, body=tuple(Block("paragraph", ln) for ln in lines))


def _actors(art: Article) -> list[tuple[str, str | None, bool]]:
    return [(u.name, u.group, u.resolved) for r in parse(art) for u in r.units]


def test_bare_units_of_the_energy_groups_resolve_to_their_group() -> None:
    art = _article(
        "迎峰度夏期间，各单位党组织组织党员冲锋在保供一线。",
        "大庆油田党委组建党员突击队16支，保障冬季天然气稳定供应。",
        "胜利油田党委在采油一线设立党员示范岗230个。",
        "镇海炼化党委推行“支部包片”机制，划分责任片区64个。",
        "国网浙江电力党委组织党员服务队深入园区开展用电安全检查。",
        "宝钢股份党委开展“党员身边无事故”活动，覆盖产线21条。",
        "长江电力党委在6座梯级电站设立党员责任区。",
        title="能源央企党组织迎峰度夏保供纪实",
    )
    assert _actors(art) == [
        ("大庆油田", "CNPC", True),
        ("胜利油田", "SINOPEC", True),
        ("镇海炼化", "SINOPEC", True),
        ("浙江电力", "SGCC", True),
        ("宝钢股份", "BAOWU", True),
        ("长江电力", "CTG", True),
    ]


def test_bare_units_of_the_builders_and_rolling_stock_resolve_to_their_group() -> None:
    art = _article(
        "中铁十一局党委开展“党员先锋工程”创建活动，命名示范项目12个。",
        "中铁四局党委在桥梁工地设立党员责任区40个。",
        "中建八局党委组建青年突击队18支。",
        "中车四方党委围绕动车组交付开展技能比武3场。",
        title="基建与装备企业党建引领重点工程",
    )
    # 中铁十一局 is 中国铁建's although it opens with 中国中铁's prefix 中铁: the whole name is the longer key
    assert _actors(art) == [
        ("十一局", "CRCC", True),
        ("四局", "CREC", True),
        ("八局", "CSCEC", True),
        ("中车四方", "CRRCGC", True),
    ]


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("江苏电力市场交易规模持续扩大。", "SGCC"),
        ("广东电网负荷连创新高。", "CSG"),
        ("由中铁建设的跨江大桥建成通车。", None),
        ("新时代电气化铁路建设加快推进。", None),
        ("上海电力股份有限公司发布年度报告。", "SGCC"),  # SPIC's listed 上海电力: no alias of SGCC's row
        ("这场比赛取得了胜利。四方宾客齐聚一堂。", None),
        ("湖北能源结构持续优化。", "CTG"),
        ("三峡国际旅游节开幕。", "CTG"),
        ("一航局", None),
    ],
)
def test_risky_short_names_do_not_match_outside_subject_position(text: str, hint: str | None) -> None:
    assert [m.name for m in gazetteer().find(text, unknown=False, group_hint=hint)] == []


@pytest.mark.parametrize(
    ("text", "hint", "expected"),
    [
        ("。江苏电力党委组织党员服务队。", "SGCC", ("江苏电力", "SGCC")),
        ("。广东电网公司党委开展活动。", "CSG", ("广东电网", "CSG")),
        ("。中铁建设党委开展活动。", "CRCC", ("中铁建设", "CRCC")),
        ("。时代电气党委开展活动。", "CRRCGC", ("中车时代电气", "CRRCGC")),
        ("国网上海电力党委开展活动", None, ("上海电力", "SGCC")),
        ("中国铁建十一局党委开展活动", None, ("十一局", "CRCC")),
        ("中国电科院党委开展活动", None, ("中国电力科学研究院", "SGCC")),  # not CETC's prefix + 院
        ("。二航局党委开展活动。", "CCCC", ("二航局", "CCCC")),
        ("中国交建一航局党委开展活动", None, ("一航局", "CCCC")),
        ("。湖北能源党委开展活动。", "CTG", ("湖北能源", "CTG")),
    ],
)
def test_risky_short_names_count_in_subject_position_or_after_the_prefix(
    text: str, hint: str | None, expected: tuple[str, str]
) -> None:
    assert [(m.name, m.group) for m in gazetteer().find(text, unknown=False, group_hint=hint)] == [expected]
