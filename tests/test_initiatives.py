"""Unit-initiative parser: the seed against its gold file, own fixture articles, and bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parsers.initiatives import campaigns, no_records_reason, parse
from parsers.numbers import to_number
from parsers.records import Article, Block, Initiative
from tests.initiatives_support import (
    fixture_article,
    fixture_cases,
    load_expected,
    match_records,
    score,
    seed_article,
)


def article(*lines: str, title: str = "测试") -> Article:
    """Lines starting with '== ' are headings, the rest paragraphs."""
    return Article(
        title=title,
        body=tuple(Block("heading", ln[3:]) if ln.startswith("== ") else Block("paragraph", ln) for ln in lines),
    )


@pytest.fixture(scope="module")
def gold(gold_path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(gold_path.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def seed_records(seed_path: Path) -> tuple[Initiative, ...]:
    return parse(seed_article(seed_path))


def assert_matches_expected(records: tuple[Initiative, ...], expected: dict[str, Any]) -> None:
    """Every expected record is found with exactly its units, org body, metrics, documents and people,
    and at least its frameworks; no extra record; none made from a general statement."""
    gold = expected["initiatives"]
    ids = match_records(records, gold)
    by_id = {gid: records[i] for i, gid in ids.items()}
    assert [g["id"] for g in gold if g["id"] not in by_id] == []
    assert len(records) == len(gold), [r.statement[:20] for r in records]
    for g in gold:
        rec = by_id[g["id"]]
        where = f"{g['id']}: {rec.statement[:30]}"
        assert rec.section == g["section"], where
        assert [(u.mention, u.name) for u in rec.units] == [(u["mention"], u["short"]) for u in g["units"]]
        assert rec.org_body == g["org_body"], where
        assert g["statement_starts"] in rec.statement, where
        assert {(m.value, m.measure, m.object) for m in rec.metrics} == {
            (m["value"], m["measure"], m["object"]) for m in g["metrics"]
        }, where
        assert list(rec.documents) == g["documents"], where
        assert set(g["frameworks"]) <= set(rec.frameworks), where
        assert {(p.name, p.title) for p in rec.people} == {(p["name"], p["title"]) for p in g["people"]}
    report = score(records, expected)
    assert report.from_general == []


def test_seed_matches_gold(seed_records: tuple[Initiative, ...], gold: dict[str, Any]) -> None:
    assert_matches_expected(seed_records, gold)


def test_seed_records_are_in_article_order(seed_records: tuple[Initiative, ...], gold: dict[str, Any]) -> None:
    ids = match_records(seed_records, gold["initiatives"])
    assert [ids[i] for i in range(len(seed_records))] == [g["id"] for g in gold["initiatives"]]


def test_seed_campaigns(gold: dict[str, Any], seed_path: Path) -> None:
    assert list(campaigns(seed_article(seed_path))) == gold["article"]["campaigns"]


def test_seed_statements_stop_at_the_next_record(seed_records: tuple[Initiative, ...]) -> None:
    changchun = next(r for r in seed_records if r.units[0].name == "长春控制")
    assert "轻动" not in changchun.statement
    assert changchun.statement.endswith("提升党建工作质量。")
    leading = next(r for r in seed_records if r.units[0].name == "航发动力")
    assert leading.statement.startswith("作为集团川陕片区党建协作组组长单位")


def test_seed_units_are_resolved_with_gazetteer_facts(seed_records: tuple[Initiative, ...]) -> None:
    units = [u for r in seed_records for u in r.units]
    assert all(u.resolved and u.group == "AECC" and u.aliases for u in units)
    dongan = next(u for u in units if u.name == "东安")
    assert dongan.full_name == "中国航发哈尔滨东安发动机有限公司"
    assert "中国航发东安" in dongan.aliases


@pytest.mark.parametrize(("text_path", "expected_path"), fixture_cases(), ids=lambda p: Path(p).stem)
def test_fixture_articles(text_path: Path, expected_path: Path) -> None:
    expected = load_expected(expected_path)
    art = fixture_article(text_path)
    assert_matches_expected(parse(art), expected)
    if "campaigns" in expected:
        assert list(campaigns(art)) == expected["campaigns"]


def test_there_are_fixture_articles_for_other_groups() -> None:
    groups = {u["short"] for _t, e in fixture_cases() for g in load_expected(e)["initiatives"] for u in g["units"]}
    assert {"一院", "十四所"} & groups


def test_unknown_unit_is_kept_unresolved() -> None:
    recs = parse(article("中国航发西安新材党委召开专题会议,部署3项重点任务。"))
    assert len(recs) == 1
    (unit,) = recs[0].units
    assert (unit.resolved, unit.name, unit.mention) == (False, "西安新材", "中国航发西安新材")
    assert recs[0].org_body == "党委"


def test_unknown_unit_shaped_name_after_clause() -> None:
    recs = parse(article("为提升质量,华东精密机械研究所党委制定《质量提升方案》。"))
    assert [(u.name, u.resolved) for u in recs[0].units] == [("华东精密机械研究所", False)]
    assert recs[0].documents == ("质量提升方案",)


def test_general_statement_is_not_a_record() -> None:
    art = article("中国航发各直属单位精心谋划,扎实部署学习措施。", "各单位党委认真组织学习。")
    assert parse(art) == ()
    assert (no_records_reason(art, ()) or "").startswith("general_only")


def test_org_body_followed_by_secretary_is_a_title() -> None:
    (rec,) = parse(article("中国航发东安党委书记张明介绍,公司推行“一岗双责”清单。"))
    assert rec.org_body is None
    assert [(p.name, p.title) for p in rec.people] == [("张明", "党委书记")]


def test_a_speakers_affiliation_is_not_a_record_and_ends_the_previous_one() -> None:
    recs = parse(article("中国航发东安党委开展5次调研。航空工业成飞党委书记李强表示,将加强学习。"))
    assert [(r.units[0].name, len(r.people)) for r in recs] == [("东安", 0)]


def test_object_position_unit_does_not_start_a_record() -> None:
    (rec,) = parse(article("中国航发黎明党委组织党员赴中国航发东安学习交流,并与南方公司开展共建。"))
    assert [u.name for u in rec.units] == ["黎明"]


def test_chinese_and_full_width_numbers() -> None:
    (rec,) = parse(article("中国航发南方党委制定十四项举措,组建１２支突击队,开展二百余场培训。"))
    assert [(m.value, m.measure, m.object) for m in rec.metrics] == [
        (14, "项", "举措"),
        (12, "支", "突击队"),
        (200, "场", "培训"),
    ]


def test_numbers_in_short_quoted_names_are_not_counts() -> None:
    (rec,) = parse(article("中国航发轻动党委深化“一支部一特色”品牌,编制“三册一本两单”。"))
    assert rec.metrics == ()
    assert {"一支部一特色", "三册一本两单"} <= set(rec.frameworks)


def test_straight_quotes_and_themes() -> None:
    (rec,) = parse(article('中国航发东安党委围绕"强基固本"主题,推行"三个一"工作法和"揭榜挂帅"机制。'))
    assert "强基固本" not in rec.frameworks
    assert {"三个一", "揭榜挂帅"} <= set(rec.frameworks)


def test_mixed_traditional_text_is_matched() -> None:
    (rec,) = parse(article("中國航發東安黨委發布12項措施。"))
    assert rec.units[0].name == "东安"
    assert rec.org_body == "党委"
    assert rec.metrics[0].value == 12


@pytest.mark.parametrize(
    ("art", "code"),
    [
        (Article(title=""), "empty_body"),
        (article("   "), "empty_body"),
        (article("今天天气很好,大家去公园散步。"), "no_units"),
        (article("会议邀请了中国航发东安的专家作报告。"), "units_not_subject"),
    ],
)
def test_no_records_reason(art: Article, code: str) -> None:
    recs = parse(art)
    assert recs == ()
    assert (no_records_reason(art, recs) or "").split(":")[0] == code


def test_reason_is_none_when_there_are_records() -> None:
    art = article("中国航发东安党委召开会议。")
    recs = parse(art)
    assert recs and no_records_reason(art, recs) is None


def test_extremely_long_paragraph_is_parsed() -> None:
    # Speed on such input is benchmarks/bench_initiatives.py's job; pytest-timeout catches a hang.
    filler = "坚持问题导向,强化过程管控," * 20_000  # ~280k characters
    art = article(filler + "中国航发东安党委发布3项举措。" + filler)
    recs = parse(art)
    assert [r.units[0].name for r in recs] == ["东安"]


@pytest.mark.parametrize(
    ("text", "records", "units"),
    [
        ("中国航发东安党委," * 20_000, 20_000, 1),  # many records, no full stop
        ("东安、黎明、" * 10_000 + "燃机等单位党委召开会议。", 1, 3),  # one very long list of units
        ("中国航发西安新材党委," * 20_000, 20_000, 1),  # many unknown units
        ("“铸心”" * 50_000, 0, 0),
        ("509所党委," * 20_000, 20_000, 1),  # many numbered units (kept sorted by insertion, not re-sorted)
        ("一院十二所党委," * 10_000, 10_000, 1),  # many academy + institute units
        ("中航工业宏远(以下简称“宏远”)党委。" + "中航工业宏远党委,宏远党委," * 10_000, 20_001, 1),  # abbreviations
        ("中国航发东安的做法。" + "该公司党委," * 20_000, 1, 1),  # references back
    ],
)
def test_pathological_paragraphs_give_the_right_records(text: str, records: int, units: int) -> None:
    recs = parse(article(text))
    assert len(recs) == records
    assert all(len(r.units) == units for r in recs)


def test_headings_set_sections_in_order() -> None:
    recs = parse(article("中国航发东安党委召开会议。", "== 第一部分", "中国航发黎明党委发布方案。"))
    assert [r.section for r in recs] == [None, "第一部分"]


def test_reference_paragraph_is_a_measure_of_the_actor_in_a_round_up() -> None:
    # the gold of the genre sets (cssc_719_safety_fullwidth R4, fresh3_cetc_38_dianke_joint R3): 该所还… is a
    # record of its own, of the unit named last
    recs = parse(article("中国航发东安党委召开会议。", "该公司还制定了5项措施。", "中国航发黎明党委发布方案。"))
    got = [(r.units[0].name, [m.value for m in r.metrics]) for r in recs]
    assert got == [("东安", []), ("东安", [5]), ("黎明", [])]


def test_continuation_paragraph_joins_previous_record_in_a_round_up() -> None:
    recs = parse(article("中国航发东安党委召开会议。", "此外还制定了5项措施。", "中国航发黎明党委发布方案。"))
    assert len(recs) == 2
    assert recs[0].metrics[0].value == 5


def test_in_a_single_unit_article_each_paragraph_is_a_measure() -> None:
    recs = parse(article("中国航发东安党委召开会议。", "该公司还制定了5项措施。"))
    assert [(r.units[0].name, [m.value for m in r.metrics]) for r in recs] == [("东安", []), ("东安", [5])]


@pytest.mark.parametrize(
    ("text", "value"),
    [("十四", 14), ("二百四十六", 246), ("两", 2), ("２４６", 246), ("1,200", 1200), ("三〇五", 305), ("x", None)],
)
def test_to_number(text: str, value: int | None) -> None:
    assert to_number(text) == value


def test_date_lead_belongs_to_the_record() -> None:
    (rec,) = parse(article("4月20日,中国航发商发党委召开常委会。"))
    assert rec.statement.startswith("4月20日,")


def test_general_lead_clause_is_not_in_the_statement() -> None:
    (rec,) = parse(article("各单位积极行动,中国航发东安党委率先发布方案。"))
    assert rec.statement.startswith("中国航发东安党委")


def test_counts_written_after_their_object() -> None:
    (rec,) = parse(article("中国航发东安党委组建攻关团队26个,累计开展专题培训30余期。"))
    assert [(m.value, m.measure, m.object) for m in rec.metrics] == [(26, "个", "攻关团队"), (30, "期", "专题培训")]


def test_numbers_inside_unit_names_are_not_counts() -> None:
    (rec,) = parse(article("中国电科38所党委召开会议。"))
    assert rec.metrics == ()


_ALPHABET = (
    '中国航发东安黎明南方研究院党委党支部书记郝玉扬等单位、,,。;:“”"《》十四246１２项个支名余多行动“铸心” \n國發黨'
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=_ALPHABET, max_size=80), max_size=6), st.lists(st.booleans(), max_size=6))
def test_any_text_gives_records_or_a_reason(texts: list[str], headings: list[bool]) -> None:
    blocks = tuple(
        Block("heading" if i < len(headings) and headings[i] else "paragraph", t) for i, t in enumerate(texts)
    )
    art = Article(title="".join(texts[:1]), body=blocks)
    recs = parse(art)
    assert isinstance(campaigns(art), tuple)
    assert (no_records_reason(art, recs) is None) == bool(recs)
    for rec in recs:
        assert rec.units and rec.statement
        assert any(rec.statement in b.text for b in blocks if b.kind == "paragraph") or "\n" in rec.statement


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("empty text", ""),
        ("only spaces", "   \n  "),
        ("no units", "今天天气很好,大家一起学习。"),
        ("traditional script", "中國航發東安黨委組織開展１２場專題宣講。"),
        ("full-width digits", "中国电科１４所党委建成１５个标准化党支部。"),
        ("a 5,000-digit number", "中国航发东安党委开展" + "9" * 5000 + "项活动。"),
        ("a 4,301-digit count", "中国航发东安党委组建" + "1" * 4301 + "支突击队。"),
        ("a 200,000-character paragraph", "航空工业成飞党委召开会议," + "学习" * 100_000),
        ("mixed scripts", "AVIC航空工業成飛黨委 and 中国航发东安党委 с партией 開展学习。"),
        ("control characters", "中国航发东安党委\x00\x07开展学习。"),
        ("a lone surrogate", "中国航发东安党委\ud800開展学习。"),
    ],
)
def test_bad_input_gives_records_or_a_reason_never_an_exception(name: str, body: str) -> None:
    art = article(body) if body else Article(title="")
    recs = parse(art)
    reason = no_records_reason(art, recs)
    assert (reason is None) == bool(recs), name
    assert all(r.units for r in recs)
    assert all(len(str(m.value)) <= 20 for r in recs for m in r.metrics)


def test_traditional_text_keeps_its_original_spelling() -> None:
    (rec,) = parse(article("航空工業瀋飛黨委組織開展３場專題培訓。"))
    assert (rec.units[0].name, rec.units[0].mention, rec.org_body) == ("沈飞", "航空工業瀋飛", "党委")
    assert rec.statement.startswith("航空工業瀋飛黨委") and rec.metrics[0].measure == "場"


def test_attendees_visits_and_descriptions_are_not_records() -> None:
    art = article(
        "中国电科十四所、三十八所等有关单位领导参加会见。",
        "集团公司领导一行到航空工业成飞调研,详细了解生产情况。",
        "中国航发黎明也成为当地重要的科普教育基地。",
        "航天科技集团党组召开专题会议,部署全年工作。",
    )
    assert parse(art) == ()


def test_joint_actors_are_one_record_with_their_people() -> None:
    (rec,) = parse(
        article(
            "航空工业西飞党委与中国商飞上飞院党委开展党建共建活动。西飞党委书记王强、上飞院党委副书记李军共同揭牌。"
        )
    )
    assert [u.name for u in rec.units] == ["西飞", "上飞院"]
    assert {p.name for p in rec.people} == {"王强", "李军"}


def test_a_single_unit_article_gives_one_record_per_measure() -> None:
    art = article(
        "中国船舶七〇二所党委着力加强青年工作,主要做法如下。",
        "一是强化思想引领,举办青年讲堂6期。二是搭建成长平台,组建青年突击队4支。",
        "三是完善激励机制,评选优秀青年20名。",
        title="七〇二所党委三举措服务青年成长",
    )
    recs = parse(art)
    assert [r.units[0].name for r in recs] == ["七〇二所"] * 4
    assert [[m.value for m in r.metrics] for r in recs] == [[], [6], [4], [20]]


def test_an_abbreviation_with_the_group_prefix_names_the_unit_without_it() -> None:
    """Issue 14 family D (fresh5): 以下简称“中建三局” is the unit 三局, as 中建八局党委 is 八局; a name left of
    two characters that is no number and unit word keeps its prefix (中建科工)."""
    art = article(
        "中国建筑第三工程局有限公司(以下简称“中建三局”)党委设立党员安全责任区1460个。",
        "中建三局还在28个重点项目推行安全积分管理。",
        "中建八局党委组建青年突击队12支。",
    )
    assert [(r.units[0].name, r.units[0].group) for r in parse(art)] == [("三局", "CSCEC")] * 2 + [("八局", "CSCEC")]
    from parsers.initiatives import _strip_group

    assert _strip_group("中建科工", "CSCEC") == "中建科工"
    assert _strip_group("国网江苏电力", "SGCC") == "江苏电力"


def test_a_unit_missing_from_the_registry_named_after_its_prefix_counts_bare_later() -> None:
    """Issue 14 family B (fresh5): a round-up names its units once after the group's prefix, then opens each
    unit's section with the bare name."""
    art = article(
        "兵器装备集团长安汽车、建设工业等单位党委聚焦科研生产中心任务。",
        "== 长安汽车 党员攻关",
        "长安汽车党委围绕智能网联汽车研发,组建党员攻关团队23个。",
        "== 建设工业 质量品牌",
        "建设工业党委书记、董事长唐志明带领党委班子深入生产一线,评出工匠标兵15名。",
    )
    assert [([u.name for u in r.units], r.units[0].group) for r in parse(art)] == [
        (["长安汽车", "建设工业"], "CSGC"),
        (["长安汽车"], "CSGC"),
        (["建设工业"], "CSGC"),
    ]


def test_a_sub_unit_shortened_to_its_bare_number_keeps_its_academy() -> None:
    """Issue 14 family A (fresh6): 航天科技五院502所(以下简称“502所”) is the unit 五院502所, in the defining
    record and every later 502所; a unit named without its parent still takes the abbreviation (宏远)."""
    art = article(
        "航天科技五院502所(以下简称“502所”)党委推行“四个一线”工作法,组建党员突击队13支。",
        "502所团委组建青年突击队驻场保障。",
    )
    assert [r.units[0].name for r in parse(art)] == ["五院502所"] * 2


def test_numbered_items_of_a_list_under_an_academy_are_its_sub_units() -> None:
    """Issue 14 family B (fresh6): 航天科工二院二部、23所、25所等单位党委 names three sub-units of 二院, and the bare
    23所/25所 that open later measures are those sub-units; a list of registry institutes stays as it was."""
    art = article(
        "航天科工二院二部、23所、25所等单位党委组建党员突击队27支。",
        "23所党委书记、所长高远航带领技术骨干驻厂攻关。",
        "25所团委组织开展青年岗位能手评选。",
        "中国电科十所、二十九所等单位党委成立临时党支部47个。",
        title="航天科工",
    )
    assert [[u.name for u in r.units] for r in parse(art)] == [
        ["二院二部", "二院23所", "二院25所"],
        ["二院23所"],
        ["二院25所"],
        ["十所", "二十九所"],
    ]


def test_an_institute_named_by_its_legal_name_after_the_groups_legal_name() -> None:
    """Issue 14 family F (fresh6): 中国电子科技集团公司第五十研究所(以下简称“50所”)党委 opens a record of 50所
    (the registry lacks it), and 50所 names it later; the group acting (…集团公司党组) is still no unit."""
    art = article(
        "中国电子科技集团公司第五十研究所(以下简称“50所”)党委推行“一支部一课题”工作机制,设立支部攻关课题16项。",
        "50所还与兄弟单位开展联学联建。",
        "中国电子科技集团公司党组召开会议研究部署。",
        title="中国电科",
    )
    assert [(r.units[0].name, r.units[0].group) for r in parse(art)] == [("50所", "CETC")] * 2


def test_units_in_the_groups_sentence_speakers_history_and_units_of_a_unit_are_no_actors() -> None:
    """Issue 14 families D and E (fresh6): units listed in a sentence the group opens, a unit's history (先后参与,
    被誉为), a speaker of its body (党委有关负责同志表示) and its units (二院各单位累计…) give no record."""
    art = article(
        "组织体系进一步健全。集团公司在重点型号队伍中组建临时党组织312个,一院、五院、八院等单位在发射场全部成立临时党委。",
        title="航天科技集团上半年基层党建工作综述",
    )
    assert parse(art) == ()
    art = article(
        "今年以来,航天科技五院502所党委组建党员突击队13支。",
        "建所50多年来,502所先后参与了神舟、嫦娥等工程的研制,被誉为控制系统人才的“摇篮”。",
        "五院党委有关负责同志表示,502所的做法提供了有益借鉴。",
        "据了解,主题实践开展以来,五院各单位累计解决技术问题300余项。",
        title="航天科技",
    )
    assert [r.statement[:7] for r in parse(art)] == ["今年以来,航天"]


def test_a_university_read_by_shape_is_no_unit() -> None:
    """Issue 14 family G (fresh6): a partner outside the groups (上海交通大学相关学院党委) is not read as a unit."""
    (rec,) = parse(article("50所还与上海交通大学相关学院党委开展联学联建。", title="中国电科50所"))
    assert [u.name for u in rec.units] == ["50所"]


def test_metric_objects_and_people_on_long_pages() -> None:
    """Issue 14 families H and I (fresh6): verbs around the object (讲, 研讨, 服务, 配备, 选拔, 命名, 遴选; 实行,
    承担, 逐一), a verbal noun counted (开展技术帮扶48场), an age bound after the count, the head after a 的-clause,
    一一对应 and durations, 二院二部 in a list; 和 after a title and a title word before a noun are no person."""
    (rec,) = parse(
        article(
            "航天科工二院二部党委组织技术专家开展技术帮扶48场,为45名35岁以下技术骨干配备导师,从一线选拔青年技能骨干120名,"
            "共同研讨技术难题11项,协调解决导引头批产中的工艺问题18个,组建青年课题组9个承担预先研究任务,"
            "实现党支部与生产单元一一对应,研制周期缩短近两个月,由支部书记和技术带头人共同领衔,推行党员项目制。",
            title="航天科工",
        )
    )
    assert [(m.value, m.object) for m in rec.metrics] == [
        (48, "技术帮扶"),
        (45, "技术骨干"),
        (120, "青年技能骨干"),
        (11, "技术难题"),
        (18, "工艺问题"),
        (9, "青年课题组"),
    ]
    assert rec.people == ()


def test_a_department_of_the_single_unit_gives_its_own_org_body() -> None:
    """Issue 14 family H (fresh6): 该所通信系统研究部党支部… and 502所第三研究室党支部… are measures of the unit whose
    acting body is the department's 党支部; 该所坚持机关党支部与研究室党支部… names no department subject."""
    art = article(
        "今年以来,航天科技五院502所(以下简称“502所”)党委推行“四个一线”工作法。",
        "502所第三研究室党支部针对研制进度滞后问题,提出优化设计方案6项。",
        "该所通信系统研究部党支部推行双导师制,为新入职青年配备导师65名。",
        title="五院502所党委推行“四个一线”工作法",
    )
    assert [r.org_body for r in parse(art)] == ["党委", "党支部", "党支部"]


def test_a_partner_that_is_a_sub_unit_of_an_academy_joins_the_record() -> None:
    """Issue 14 family C (fresh6): …党委与五院513所党委 and …党委与二院23所党委: the partner's org body follows
    its number; a registry institute named with its academy (航天科工三院8357所) is one unit, not two."""
    (rec,) = parse(article("4月,航天科工三院8357所党委与二院23所党委开展联学共建。", title="航天科工"))
    assert [u.name for u in rec.units] == ["8357所", "二院23所"]
    (rec,) = parse(article("7月,航天科技八院党委与五院513所党委开展党建联建。", title="航天科技"))
    assert [u.name for u in rec.units] == ["八院", "五院513所"]


def test_a_joint_record_under_a_byline_with_legal_names_and_signers() -> None:
    """Issue 14 family E (fresh5): the byline and date lead into the record, a partner's legal name opens with
    its province (上海外高桥造船有限公司), and both signers before 代表双方签约 are the record's people."""
    (rec,) = parse(
        article(
            "本报讯(通讯员 陈晓雯)5月12日,中国船舶集团第七〇八研究所(以下简称“七〇八所”)党委与上海外高桥造船有限公司"
            "(以下简称“外高桥造船”)党委签订联建共建协议。七〇八所党委书记郭立平、外高桥造船党委书记沈国华代表双方签约。"
        )
    )
    assert rec.statement.startswith("本报讯")
    assert [u.name for u in rec.units] == ["七〇八所", "外高桥造船"]
    assert [p.name for p in rec.people] == ["郭立平", "沈国华"]


def test_an_abbreviation_defined_in_the_article_names_its_unit() -> None:
    art = article(
        "航空工业长河(以下简称“长河”)党委召开质量工作会。",
        "会后,长河党委组建5个质量攻关小组。",
        "中国航发东安党委召开会议。",
    )
    assert [(r.units[0].name, r.units[0].group, r.units[0].resolved) for r in parse(art)] == [
        ("长河", "AVIC", False),
        ("长河", "AVIC", False),
        ("东安", "AECC", True),
    ]


def test_metric_objects_leave_out_the_verbs_around_them() -> None:
    """Issue 14 family G (fresh5): 组织/确定/处置 before the object, 组成/揭榜 after it; 党组织 is a noun."""
    (rec,) = parse(
        article(
            "中国航发东安党委组织中心组专题学习12次,首批确定联合攻关项目8个,协助用户处置技术问题530项,"
            "选派32名党员技术骨干组成驻厂团队,已有21个团队揭榜,新建基层党组织6个。"
        )
    )
    assert [(m.value, m.object) for m in rec.metrics] == [
        (12, "中心组专题学习"),
        (8, "联合攻关项目"),
        (530, "技术问题"),
        (32, "党员技术骨干"),
        (21, "团队"),
        (6, "基层党组织"),
    ]


def test_idioms_and_ordinals_are_not_metrics() -> None:
    (rec,) = parse(article("中国航发东安党委开展一场学习交流,学习二十届三中全会精神,从三个方面推进,组织5场培训。"))
    assert [(m.value, m.measure) for m in rec.metrics] == [(5, "场")]


#: quality floors on the project's genre set (tests/fixtures/genre, 39 articles of 12 groups, 12 negatives),
#: pinned a little below what the parser measured when they were set ((record, unit) pairs P 1.000 R 0.992;
#: found: metrics 75/78, documents 11/11, frameworks 31/33, people 15/15): a change that loses quality fails.
GENRE_FLOORS = {
    "units_precision": 0.97,
    "units_recall": 0.95,
    "metrics": 0.92,
    "documents": 0.95,
    "frameworks": 0.9,
    "people": 0.9,
}


#: floors on the blind part of the genre set (tests/fixtures/genre/blind_*, 18 articles of 10 groups, 6 negatives,
#: written before its writer read the rules), pinned a little below what the parser measured after the fixes
#: of docs/records-evaluation.md ((record, unit) pairs P 0.981 R 0.981; found: metrics 42/47, documents 8/8,
#: frameworks 26/29, people 14/14). Before those fixes it measured P 0.936 R 0.830.
BLIND_FLOORS = {
    "units_precision": 0.95,
    "units_recall": 0.95,
    "metrics": 0.85,
    "documents": 0.95,
    "frameworks": 0.85,
    "people": 0.9,
}


#: floors on the page-like fresh2 set (13 articles of 9 groups, 4 negatives, bylines, captions, quotes and
#: related-news footers; docs/records-evaluation.md), pinned a little below what the second round of fixes
#: reached (pairs P 0.965 R 0.982; found: metrics 57/70, documents 3/3, frameworks 26/26, people 8/9).
FRESH2_FLOORS = {
    "units_precision": 0.93,
    "units_recall": 0.95,
    "metrics": 0.78,
    "documents": 0.95,
    "frameworks": 0.95,
    "people": 0.85,
}


#: floors on the page-like fresh5 set (11 articles of 7 groups: CNNC, CEC, CSSC, CSGC, COMAC, CASIC, 中国建筑; 4
#: negatives; docs/records-evaluation.md), pinned a little below what the fixes by family reached (pairs P 1.000
#: R 1.000; found: metrics 43/47, documents 3/3, frameworks 17/17, people 8/8). Before them, on the unseen set,
#: the parser measured pairs P 0.839 R 0.650, metrics 25/47, people 2/8 and one record on a negative.
FRESH5_FLOORS = {
    "units_precision": 0.95,
    "units_recall": 0.95,
    "metrics": 0.85,
    "documents": 0.95,
    "frameworks": 0.9,
    "people": 0.85,
}


#: floors on the page-like fresh6 set (12 articles on the seven groups of the kept-apart real articles, 3 long
#: pages of ~1,800 characters, 4 negatives; docs/records-evaluation.md), pinned a little below what the fixes by
#: family reached (pairs P 1.000 R 1.000; found: metrics 71/74, documents 7/7, frameworks 24/24, people 17/17).
#: Before them, on the unseen set, the parser measured pairs P 0.688 R 0.733, metrics 56/74 and two records on a
#: negative.
FRESH6_FLOORS = {
    "units_precision": 0.95,
    "units_recall": 0.95,
    "metrics": 0.9,
    "documents": 0.95,
    "frameworks": 0.95,
    "people": 0.95,
}


@pytest.mark.parametrize(
    ("set_name", "floors"),
    [
        ("own", GENRE_FLOORS),
        ("blind", BLIND_FLOORS),
        ("fresh2", FRESH2_FLOORS),
        ("fresh5", FRESH5_FLOORS),
        ("fresh6", FRESH6_FLOORS),
    ],
)
def test_genre_set_quality_floor(set_name: str, floors: dict[str, float]) -> None:
    from tests.genre_support import FOUND, evaluate, genre_cases

    report = evaluate(genre_cases(sets=(set_name,)))
    units = report.overall.scores["units"]
    assert units.precision >= floors["units_precision"], units
    assert units.recall >= floors["units_recall"], units
    for name in FOUND:
        assert report.overall.scores[name].recall >= floors[name], (name, report.overall.scores[name])
    assert report.negative_records == []


def test_a_unit_the_title_names_as_the_place_of_a_visit_hosts_it() -> None:
    art = article(
        "3月5日,国资委机关党支部到航空工业成飞开展联学共建活动。成飞党委副书记张华陪同参观。",
        "张华表示,成飞将持续深化共建合作。成飞党委宣传部介绍了企业文化建设情况。",
        title="国资委机关党支部到航空工业成飞开展联学共建",
    )
    recs = parse(art)
    assert recs == ()
    assert (no_records_reason(art, recs) or "").startswith("units_not_subject")


def test_intent_in_reported_speech_is_not_an_action() -> None:
    recs = parse(article("中国航发东安党委开展5次调研。", "王强表示,黎明公司将进一步加强合作。"))
    assert [r.units[0].name for r in recs] == ["东安"]


def test_a_legal_form_name_with_a_ring_zero_resolves_in_its_group() -> None:
    (rec,) = parse(article("近日,中国船舶集团第七〇二研究所党委组织党员开展主题党日活动。"))
    assert (rec.units[0].name, rec.units[0].group, rec.units[0].resolved) == ("七〇二所", "CSSC", True)


def test_the_actors_own_people_at_their_own_event_join_the_record() -> None:
    recs = parse(
        article(
            "6月12日,航空工业沈飞党委与航空工业陕飞党委开展党建联建活动。",
            "沈飞党委书记赵刚、陕飞党委副书记钱明出席活动并讲话。",
            title="沈飞与陕飞开展党建联建",
        )
    )
    assert [([u.name for u in r.units], {p.name for p in r.people}) for r in recs] == [
        (["沈飞", "陕飞"], {"赵刚", "钱明"})
    ]


def test_a_numbered_department_is_not_a_count() -> None:
    (rec,) = parse(article("航天科工二院二部党委组织开展质量专题培训5期,完成巡检800站次。"))
    assert rec.units[0].name == "二院二部"
    assert [(m.value, m.measure) for m in rec.metrics] == [(5, "期"), (800, "站次")]


def test_a_generic_short_alias_does_not_become_an_article_abbreviation() -> None:
    recs = parse(article("中国航发研究院党委召开会议。", "中国航发东安党委发布方案。", "研究院,是科研人员工作的地方。"))
    assert [r.units[0].name for r in recs] == ["研究院", "东安"]


@settings(max_examples=300, derandomize=True)
@given(st.text(alphabet="“”「」‘’\"ab。", max_size=40))
def test_quote_spans_fast_path_agrees_with_the_quote_pattern(text: str) -> None:
    """quote_spans finds “” pairs with str.find when no other quote kind is present; the regex is the
    reference for every mix of marks, unclosed ones included."""
    import re

    from parsers import initiative_fields

    expected = [(i, j - 1) for i, j in map(re.Match.span, initiative_fields._QUOTE.finditer(text))]
    assert initiative_fields.quote_spans(text) == expected


_VISIT_PIECES = ["到", "赴", "走进", "黎明", "调研", "督导", "一行", "陪同", "出", "席", "。", ","]


@settings(max_examples=300, derandomize=True)
@given(st.lists(st.sampled_from(_VISIT_PIECES), max_size=12))
def test_the_visit_gate_never_rules_out_a_visit(words: list[str]) -> None:
    """The paragraph-level gate may let a paragraph through that has no visit, never the reverse."""
    from parsers.phrases import phrases

    p, text = phrases(), "".join(words)
    if p.visit.search(text) or p.visit_place.search(text):
        assert p.visit_gate_utf8.find_matches_as_indexes(text.encode())


@settings(max_examples=300, derandomize=True)
@given(st.text(alphabet="党建行动a“\n,", max_size=12), st.integers(min_value=0, max_value=12))
def test_left_word_is_the_run_of_chinese_characters_before_a_position(text: str, k: int) -> None:
    import re

    from parsers.initiatives import _left_word

    k = min(k, len(text))
    m = re.compile(r"[\u4e00-\u9fff]+$").search(text, max(0, k - 6), k)  # the definition it replaced
    assert _left_word(text, k) == (m.group() if m else "")


@settings(max_examples=300, derandomize=True)
@given(st.lists(st.text(alphabet="党建深化", min_size=0, max_size=6), min_size=1, max_size=5))
def test_common_suffix_is_shared_by_every_word(words: list[str]) -> None:
    from parsers.initiatives import _common_suffix

    suffix = _common_suffix(words)
    assert all(w.endswith(suffix) for w in words)
    assert len(suffix) == min(len(w) for w in words) or len({w[len(w) - len(suffix) - 1] for w in words}) > 1


@settings(max_examples=300, derandomize=True)
@given(st.text(alphabet="党委。,!? ;a\n", max_size=30), st.integers(min_value=0, max_value=30))
def test_sentence_start_is_after_the_last_sentence_end_before_a_point(text: str, before: int) -> None:
    from parsers.initiatives import _sentence_start
    from parsers.phrases import phrases

    p = phrases()
    before = min(before, len(text))
    start = max([0, *(text.rfind(ch, 0, before) + 1 for ch in p.sentence_ends)])
    while start < before and text[start].isspace():
        start += 1
    assert _sentence_start(text, before, p) == start


def test_a_sub_unit_named_with_its_parent_keeps_its_bare_form() -> None:
    """二院23所 (not in the registry) and later 23所 are one unit; a bare 12所 after 一院12所 is not CETC's 十二所."""
    recs = parse(
        article(
            "二院23所党委实施“青年托举计划”,遴选技术骨干40名。",
            "23所团委开展青年创新项目评选,首批立项12项。",
            "一院12所党委开展承诺践诺活动。12所还设立党员示范岗31个。",
            title="航天科工二院与航天一院所属单位创新举措",
        )
    )
    assert [[u.name for u in r.units] for r in recs] == [["二院23所"], ["二院23所"], ["一院12所"], ["一院12所"]]


def test_layout_lines_and_quotations_are_not_sections_or_measures() -> None:
    """A caption is no section heading; “……”某某说 is nobody's measure and adds no person to the last one."""
    art = Article(
        title="中国电科14所党委推行“党建+项目”工作法",
        body=(
            Block("paragraph", "中国电科14所党委推行“党建+项目”工作法,设立党员攻关课题52项。"),
            Block("heading", "图为14所党员攻关团队在外场试验"),
            Block("paragraph", "“党建工作融入中心才有生命力。”14所党委书记胡启明说。"),
        ),
    )
    (rec,) = parse(art)
    assert rec.section is None and rec.people == ()


def test_visit_and_background_flags_are_per_paragraph_with_one_scan() -> None:
    from parsers.initiatives import _gate_flags
    from parsers.phrases import phrases

    paragraphs = ["黎明党委开展主题教育。", "集团领导一行到黎明调研。", "", "陪同", "东安党委推进改革。"]
    paragraphs.append("14所是我国雷达工业的发源地。")
    # bits: 1 a visit word (marker or purpose), 4 a visit marker proper (一行, 陪同), 2 a background mark
    assert _gate_flags(paragraphs, phrases()) == [0, 5, 0, 5, 0, 2]
    assert _gate_flags(["赴园区开展调研。"], phrases()) == [1]  # a purpose word only: no marker to look for
    assert _gate_flags([], phrases()) == []


def test_background_records_are_dropped_but_end_the_record_before() -> None:
    text = "中国航发东安党委开展主题教育,组织党员学习12次。中国航发黎明党委与东安在叶片制造领域有着密切的业务联系。"
    recs = parse(article(text, "中国航发黎明党委发布方案。"))
    assert [r.units[0].name for r in recs] == ["东安", "黎明"]
    assert "业务联系" not in recs[0].statement and "业务联系" not in recs[1].statement


_SPEECH_PIECES = ["据介绍", "有关负责人", "表示", "说", "指出", ",", "。", ":", "下一步", "将", "公司", "推行", " "]


@settings(max_examples=400, derandomize=True)
@given(st.lists(st.sampled_from(_SPEECH_PIECES), max_size=10))
def test_speech_intent_pattern_reads_the_first_clause(pieces: list[str]) -> None:
    """The one-match speech test agrees with its definition: the first clause (to , 。 or :) ends in a
    speech verb, is not a report's source, and what follows it opens with an intent word."""
    from parsers.initiatives import _is_speech
    from parsers.phrases import phrases

    p, paragraph = phrases(), "".join(pieces)
    opening = paragraph.lstrip()[:40]
    ends = [k for k in (opening.find(","), opening.find("。"), opening.find(":")) if k != -1]
    end = min(ends) if ends else len(opening)
    clause = opening[:end]
    expected = (
        clause.endswith(p.speech_verbs)
        and not clause.startswith(p.reporting_leads)
        and opening.startswith(p.speech_intent_openings, end + 1)
    )
    assert _is_speech(paragraph, p) == expected


_GATE_PIECES = ["记者见到", "到访", "访", "陪同", "是我国", "黎明", "调研", "分别位于", "于", "。", ","]


@settings(max_examples=300, derandomize=True)
@given(st.lists(st.sampled_from(_GATE_PIECES), max_size=10))
def test_gate_flags_see_every_visit_and_background_mark_even_overlapping(words: list[str]) -> None:
    """Visit words and background marks share one scan: one kind of key must not hide the other where they
    overlap (记者见到访)."""
    from parsers.initiatives import _BACKGROUND, _VISIT, _gate_flags
    from parsers.phrases import phrases

    p, text = phrases(), "".join(words)
    flags = _gate_flags([text], p)[0]
    if p.visit.search(text) or p.visit_place.search(text):
        assert flags & _VISIT
    if p.background.search(text):
        assert flags & _BACKGROUND
