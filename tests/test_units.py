"""Unit registry: data integrity, group-scoped recognition, numbered and unknown units, adding a row."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import pytest

from parsers.units import Gazetteer, GazetteerUnit, gazetteer, load_groups, load_units

DATA = Path(__file__).resolve().parents[1] / "parsers" / "data"


def names(text: str, *, unknown: bool = True, hint: str | None = None) -> list[tuple[str, str, bool]]:
    return [(m.mention, m.name, m.resolved) for m in gazetteer().find(text, unknown=unknown, group_hint=hint)]


def groups_of(text: str, hint: str | None = None) -> list[tuple[str, str | None]]:
    return [(m.name, m.group) for m in gazetteer().find(text, group_hint=hint)]


def test_every_row_has_a_source_type_and_a_known_group() -> None:
    g = gazetteer()
    assert len(g.groups) >= 100 and len(g.units) >= 200
    for u in g.units:
        assert u.source and u.unit_type and u.group in g.groups, u
        assert (u.aliases or u.full_name) and set(u.subject_aliases) <= set(u.aliases), u
    for group in g.groups.values():
        assert group.prefixes and group.source, group
        assert group.merged_into is None or group.merged_into in g.groups
    assert len({(u.group, u.name) for u in g.units}) == len(g.units)


def test_registry_covers_the_reference_tables(shared_dir: Path) -> None:
    with (shared_dir / "reference" / "central_soes.tsv").open(encoding="utf-8") as fh:
        keys = {row["key"] for row in csv.DictReader(fh, delimiter="\t")}
    with (shared_dir / "reference" / "subsidiaries.tsv").open(encoding="utf-8") as fh:
        subs = {(row["group"], row["name"]) for row in csv.DictReader(fh, delimiter="\t")}
    assert keys == set(gazetteer().groups)
    assert subs <= {(u.group, u.name) for u in gazetteer().units}


def test_units_only_in_the_founding_article_are_marked_unverified() -> None:
    for name in ("红林", "北京航科", "长春控制"):
        unit = gazetteer().by_name[name]
        assert "founding article 2023-11-16" in unit.source
        assert "unverified" in unit.note


def test_full_names_come_from_the_reference_data(shared_dir: Path) -> None:
    with (shared_dir / "reference" / "aecc_units.tsv").open(encoding="utf-8") as fh:
        reference = {row["canonical_full_name"] for row in csv.DictReader(fh, delimiter="\t")}
    aecc = [u for u in gazetteer().units if u.group == "AECC" and u.full_name]
    assert aecc
    assert all(any(ref.startswith(u.full_name) for ref in reference) for u in aecc if u.full_name)


def _owners() -> dict[str, list[GazetteerUnit]]:
    owners: dict[str, list[GazetteerUnit]] = defaultdict(list)
    for u in gazetteer().units:
        for alias in u.aliases:
            owners[alias].append(u)
    return owners


@pytest.mark.parametrize("unit", gazetteer().units, ids=lambda u: f"{u.group}-{u.name}")
def test_every_alias_resolves_to_its_unit_in_its_groups_context(unit: GazetteerUnit) -> None:
    owners = _owners()
    for alias in unit.aliases:
        same_group = [u for u in owners[alias] if u.group == unit.group]
        expected = same_group[0]  # two rows of one group sharing an alias: the first row wins
        found = gazetteer().find(f"。{alias}党委召开会议。", unknown=False, group_hint=unit.group)
        assert [(m.mention, m.unit) for m in found] == [(alias, expected)], alias


def test_an_alias_two_groups_share_needs_the_groups_context() -> None:
    assert groups_of("。四院党委召开会议。", hint="CASIC") == [("四院", "CASIC")]
    assert groups_of("。四院党委召开会议。", hint="CASC") == [("四院", "CASC")]
    assert names("。四院党委召开会议。") == [("四院", "四院", False)]  # kept, but not resolved to a guess
    assert groups_of("航天科工四院党委召开会议") == [("四院", "CASIC")]


def test_longest_match_wins() -> None:
    assert names("中国航发动力所党委成立临时党支部") == [("中国航发动力所", "动力所", True)]
    assert names("航发动力组织召开会议") == [("航发动力", "航发动力", True)]
    assert groups_of("航天科工三院党委召开会议") == [("三院", "CASIC")]  # never 航天 + 科工三院


@pytest.mark.parametrize(
    "text",
    [
        "黎明时分,工人们已经上岗。",
        "南方地区持续降雨。",
        "燃机项目型号攻关",
        "四川燃气涡轮研究院党委召开会议",
        "。黎明、南方等地区持续降雨。",
        "西飞的航线经过这里。",
        "那一院子的花开了。",
        "他在洪都拉斯工作",
    ],
)
def test_short_aliases_are_not_matched_inside_ordinary_words(text: str) -> None:
    assert all(name not in {"黎明", "南方", "燃机", "研究院", "西飞", "一院", "洪都"} for _m, name, _r in names(text))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("东安党委召开会议", ["东安"]),
        ("中国航发燃机党委组建突击队", ["燃机"]),
        ("航材院、黎阳动力、红林、西控科技等单位党委", ["航材院", "黎阳动力", "红林", "西控科技"]),
        ("。南方、黎明等单位参加。", ["南方", "黎明"]),
        ("航天五院党委开展活动", ["五院"]),
        ("中国电科14所党委", ["十四所"]),
        ("中国航发资产党委", ["航发资产"]),
        ("航空工业成飞党委开展", ["成飞"]),
        ("中航西飞召开", ["西飞"]),
        ("航空工业洪都、昌飞、哈飞等单位党委", ["洪都", "昌飞", "哈飞"]),
        ("中国船舶七〇二所党委", ["七〇二所"]),
        ("中船重工702所开展", ["七〇二所"]),  # a merged group's prefix names the successor's unit
        ("中国商飞上飞院党委", ["上飞院"]),
        ("兵器工业集团204所党委", ["204所"]),
    ],
)
def test_group_prefix_and_subject_position_aliases(text: str, expected: list[str]) -> None:
    assert [name for _m, name, _r in names(text)] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("航天科技八院804所党委开展", [("八院804所", "CASC")]),
        ("。八院805所组织青年", [("八院805所", "CASC")]),
        ("五院总体设计部党委开展", [("五院总体设计部", "CASC")]),
        ("一院党校举办培训", [("一院", "CASC")]),
        ("中国电科509所党委书记", [("509所", "CETC")]),
        ("。十四所聚焦主责主业", [("十四所", "CETC")]),
    ],
)
def test_numbered_units_and_departments(text: str, expected: list[tuple[str, str]]) -> None:
    assert groups_of(text) == expected


def test_a_bare_numbered_unit_takes_the_articles_group() -> None:
    assert groups_of("。509所党委开展主题党日。", hint="CETC") == [("509所", "CETC")]
    assert names("建成一所学校。三所学校参加。二十届三中全会。") == []


def test_unknown_units_are_kept_as_units_of_their_group() -> None:
    assert groups_of("中国航发西安新材党委召开会议") == [("西安新材", "AECC")]
    assert groups_of("航空工业蓝天党委召开会议") == [("蓝天", "AVIC")]
    assert names("。华东精密机械研究所党支部开展学习") == [("华东精密机械研究所", "华东精密机械研究所", False)]
    assert names("中国航发各直属单位党委认真学习") == []
    assert names("中国航发西安新材党委召开会议", unknown=False) == []
    assert names("工作中核心任务党支部") == []  # 中核 is a two-character prefix: the name must be unit-shaped


def test_a_unit_name_never_starts_with_a_verb_or_a_person() -> None:
    assert [n for _m, n, _r in names("紧密结合航空研究院党委")] == ["中国航空研究院"]
    assert [n for _m, n, _r in names("张小光代表上飞公司党委")] == ["上飞公司"]
    assert [n for _m, n, _r in names("。王大勇代表华东新材料研究所党委")] == ["华东新材料研究所"]
    # nor a reference back or an aspect particle (issue 14 family F, fresh5)
    assert names("代表获奖单位发言,介绍了该公司党委开展品牌创建的做法") == []
    assert names("。成立了华东新材料研究所党委") == [("华东新材料研究所", "华东新材料研究所", False)]


def test_traditional_and_full_width_text_matches() -> None:
    assert names("中國航發東安黨委") == [("中國航發東安", "东安", True)]
    assert groups_of("航空工業瀋飛黨委") == [("沈飞", "AVIC")]
    assert groups_of("中国电科１４所党委") == [("十四所", "CETC")]


def test_a_legal_name_that_opens_with_its_province_is_one_mention() -> None:
    """Issue 14 family E (fresh5): 上海外高桥造船有限公司; a province before an alias with no legal tail stays apart."""
    assert names("党委与上海外高桥造船有限公司党委") == [("上海外高桥造船", "外高桥造船", True)]
    assert names("在上海外高桥造船有限公司") == [("外高桥造船", "外高桥造船", True)]
    assert names("上海外高桥造船党委") == [("外高桥造船", "外高桥造船", True)]


def test_a_unit_missing_from_the_registry_is_named_by_its_folded_spelling() -> None:
    """Issue 14 family C (fresh5): 三院３１所 and 三院31所 are one unit, as 中國航發東安 and 中国航发东安 are."""
    assert names("航天科工三院３１所党委") == [("航天科工三院３１所", "三院31所", False)]
    # (镇海炼化 is a registry row now: 扬子石化 is still missing)
    assert names("中國石化揚子石化黨委") == [("中國石化揚子石化", "扬子石化", False)]
    assert names("。８０５所黨委開展") == [("８０５所", "805所", False)]


def test_adding_a_unit_is_a_data_row(tmp_path: Path) -> None:
    rows = (DATA / "units.tsv").read_text(encoding="utf-8")
    extra = "AVIC\t蓝天\t蓝天航空制造有限公司\t航空工业蓝天\t蓝天\tcompany\t西安\ttest row\thigh\t\n"
    path = tmp_path / "units.tsv"
    path.write_text(rows + extra, encoding="utf-8")
    g = Gazetteer(load_units(path), load_groups())
    (match,) = g.find("航空工业蓝天党委发布方案")
    assert (match.name, match.resolved, match.unit and match.unit.city) == ("蓝天", True, "西安")
    (bare,) = g.find("。蓝天党委发布方案", group_hint="AVIC")
    assert bare.resolved


def test_adding_a_group_is_a_data_row(tmp_path: Path) -> None:
    groups = (DATA / "groups.tsv").read_text(encoding="utf-8")
    path = tmp_path / "groups.tsv"
    path.write_text(groups + "NEWCO\t中国新星集团有限公司\t新星集团|中国新星\t\tyes\ttest row\t\n", encoding="utf-8")
    g = Gazetteer(load_units(), load_groups(path))
    (match,) = g.find("中国新星东方研究所党委召开会议")
    assert (match.name, match.group, match.resolved) == ("东方研究所", "NEWCO", False)


def test_a_long_list_of_short_aliases_is_bounded() -> None:
    text = "、".join(["东安", "黎明", "南方"] * 20_000) + "等单位党委"
    found = gazetteer().find(text)
    assert found and all(m.resolved for m in found)


def test_cli_registry_view_picks_up_a_new_row_without_code_changes(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from initiatives.cli import app

    path = tmp_path / "units.tsv"
    extra = "AVIC\t蓝天\t\t航空工业蓝天\t蓝天\tcompany\t西安\ttest row\thigh\t\n"
    path.write_text((DATA / "units.tsv").read_text(encoding="utf-8") + extra, encoding="utf-8")
    result = CliRunner().invoke(app, ["units", "--registry", "--units-file", str(path)])
    assert result.exit_code == 0, result.output
    avic = next(line for line in result.stdout.splitlines() if line.startswith("AVIC\t"))
    assert "42 units" in avic and avic.endswith("、蓝天")
    bad = tmp_path / "bad.tsv"
    bad.write_text("group\tname\nAVIC\n", encoding="utf-8")
    failed = CliRunner().invoke(app, ["units", "--registry", "--units-file", str(bad)])
    assert failed.exit_code == 2 and str(bad) in failed.output and "Traceback" not in failed.output


def test_cli_units_lists_resolved_and_unresolved_units_per_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from initiatives.cli import app
    from schema.db import make_engine
    from schema.loader import load_page
    from tests.test_loader import T0, facts, good_result

    monkeypatch.setenv("INITIATIVES_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("INITIATIVES_DATABASE_URL", raising=False)
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    engine = make_engine(f"sqlite:///{(tmp_path / 'initiatives.db').resolve()}")
    load_page(engine, good_result(), facts(T0), "run-1", "1")
    engine.dispose()
    resolved = runner.invoke(app, ["units"]).stdout.splitlines()
    row = next(line for line in resolved if line.startswith("东安\t")).split("\t")
    assert row[2] == "AECC" and int(row[3]) >= 1 and row[4].startswith("e.g. ")
    unresolved = runner.invoke(app, ["units", "--unresolved"]).stdout.split()
    assert unresolved[:3] == ["1", "红林", "-"]


def test_one_prefix_over_a_list_of_unknown_units() -> None:
    assert groups_of("中国石化镇海炼化、燕山石化、茂名石化等企业党委组织") == [
        ("镇海炼化", "SINOPEC"),
        ("燕山石化", "SINOPEC"),
        ("茂名石化", "SINOPEC"),
    ]
    assert groups_of("国家电网各单位、所属企业党委") == []


def test_fold_keeps_length_and_simplifies_traditional_text() -> None:
    from parsers.cjkfold import fold

    text = "中國航發東安黨委１２場，ＡＢＣ　測試"
    folded = fold(text)
    assert len(folded) == len(text)
    assert folded == "中国航发东安党委12场,ABC 测试"


def test_a_conversion_that_changes_length_keeps_that_clause_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    import parsers.cjkfold as cjkfold

    class Stretching:
        """A converter that lengthens one phrase, as a phrase table may: the offsets must still map back."""

        def convert(self, text: str) -> str:
            return text.replace("黨委", "党委会").replace("國", "国")

    monkeypatch.setattr(cjkfold, "_converter", lambda: Stretching())
    monkeypatch.setattr(cjkfold, "_traditional", lambda: __import__("re").compile("[國黨]"))
    text = "中國航發,東安黨委召開會議。"
    out = cjkfold.to_simplified(text)
    assert len(out) == len(text)
    assert out == "中国航發,東安黨委召開會議。"  # the first clause converted, the stretched one as written


def test_a_short_alias_joined_after_another_units_org_body_is_a_joint_actor() -> None:
    assert groups_of("中国商飞客服公司党委与试飞中心党委开展共建") == [("客服公司", "COMAC"), ("试飞中心", "COMAC")]
    assert groups_of("活动由客服公司党委书记主持") == []  # never 活动由客服公司


def test_the_word_run_pattern_accepts_exactly_the_word_characters() -> None:
    """Names are checked with one regex match; it must accept the same characters as _is_word_char."""
    from parsers.units import _WORD_RUN, _is_word_char

    differ = [
        hex(cp)
        for cp in range(0x20, 0x30000)
        if not 0xD800 <= cp < 0xE000 and bool(_WORD_RUN.fullmatch(chr(cp))) != _is_word_char(chr(cp))
    ]
    assert differ == []
