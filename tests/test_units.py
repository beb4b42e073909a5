"""Unit gazetteer: data integrity, longest-match resolution, subject-only aliases, unknown units."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from parsers.units import Gazetteer, gazetteer, load_units


def names(text: str, *, unknown: bool = True) -> list[tuple[str, str, bool]]:
    return [(m.mention, m.name, m.resolved) for m in gazetteer().find(text, unknown=unknown)]


def test_every_row_has_a_source_type_and_group() -> None:
    units = gazetteer().units
    assert len(units) >= 25
    for u in units:
        assert u.source and u.unit_type in {"company", "research institute", "headquarters"}, u
        assert u.group and u.aliases, u
        assert set(u.subject_aliases) <= set(u.aliases)
    assert len({(u.group, u.name) for u in units}) == len(units)
    assert {u.group for u in units} >= {"AECC", "CASC", "CETC"}


def test_units_only_in_the_founding_article_are_marked_unverified() -> None:
    for name in ("红林", "北京航科", "长春控制"):
        unit = gazetteer().by_name[name]
        assert unit.source.startswith("founding article 2023-11-16")
        assert "unverified" in unit.note


def test_full_names_come_from_the_reference_data(shared_dir: Path) -> None:
    with (shared_dir / "reference" / "aecc_units.tsv").open(encoding="utf-8") as fh:
        reference = {row["canonical_full_name"] for row in csv.DictReader(fh, delimiter="\t")}
    aecc = [u for u in gazetteer().units if u.group == "AECC" and u.full_name]
    assert aecc
    assert all(any(ref.startswith(u.full_name) for ref in reference) for u in aecc if u.full_name)


@pytest.mark.parametrize("unit", gazetteer().units, ids=lambda u: f"{u.group}-{u.name}")
def test_every_alias_resolves_to_its_unit(unit: object) -> None:
    from parsers.units import GazetteerUnit

    assert isinstance(unit, GazetteerUnit)
    for alias in unit.aliases:
        found = gazetteer().find(f"。{alias}党委召开会议。", unknown=False)
        assert [(m.mention, m.unit) for m in found] == [(alias, unit)], alias


def test_longest_match_wins() -> None:
    assert names("中国航发动力所党委成立临时党支部") == [("中国航发动力所", "动力所", True)]
    assert names("航发动力组织召开会议") == [("航发动力", "航发动力", True)]


@pytest.mark.parametrize(
    "text",
    [
        "黎明时分,工人们已经上岗。",
        "南方地区持续降雨。",
        "燃机项目型号攻关",
        "四川燃气涡轮研究院党委召开会议",
        "。黎明、南方等地区持续降雨。",
    ],
)
def test_subject_only_aliases_are_not_matched_inside_ordinary_words(text: str) -> None:
    assert all(name not in {"黎明", "南方", "燃机", "研究院"} for _m, name, _r in names(text))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("东安党委召开会议", ["东安"]),
        ("中国航发燃机党委组建突击队", ["燃机"]),
        ("航材院、黎阳动力、红林、西控科技等单位党委", ["航材院", "黎阳动力", "红林", "西控科技"]),
        ("。南方、黎明等单位参加。", ["南方", "黎明"]),
        ("东安、黎明等党委召开会议", ["东安", "黎明"]),
        ("航天五院党委开展活动", ["五院"]),
        ("中国电科14所党委", ["十四所"]),
        ("中国航发资产党委", ["航发资产"]),  # group prefix and alias share 航发
    ],
)
def test_subject_position_aliases(text: str, expected: list[str]) -> None:
    assert [name for _m, name, _r in names(text)] == expected


def test_unknown_units_are_returned_unresolved() -> None:
    assert names("中国航发西安新材党委召开会议") == [("中国航发西安新材", "西安新材", False)]
    assert names("。华东精密机械研究所党支部开展学习") == [("华东精密机械研究所", "华东精密机械研究所", False)]
    assert names("中国航发各直属单位党委认真学习") == []
    assert names("中国航发西安新材党委召开会议", unknown=False) == []


def test_traditional_and_full_width_text_matches() -> None:
    assert names("中國航發東安黨委") == [("中國航發東安", "东安", True)]


def test_adding_a_unit_is_a_data_change(tmp_path: Path) -> None:
    source = Path(__file__).resolve().parents[1] / "parsers" / "data" / "gazetteer.tsv"
    extra = "新锐\t中国航发新锐科技有限公司\t中国航发新锐\t新锐\tcompany\t西安\tAECC\ttest row\t\n"
    path = tmp_path / "gazetteer.tsv"
    path.write_text(source.read_text(encoding="utf-8") + extra, encoding="utf-8")
    g = Gazetteer(load_units(path), gazetteer().prefixes)
    (match,) = g.find("中国航发新锐党委发布方案")
    assert (match.name, match.resolved, match.unit and match.unit.city) == ("新锐", True, "西安")
