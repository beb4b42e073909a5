"""Article extraction on the seed, on hand-written fixture pages and on the 35 annotated news pages.

The corpus floors pin today's quality so a change that loses body text or dates fails loudly.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from parsers.article import Extraction, extract, is_image_name
from parsers.document import Document
from parsers.records import RawPage, Verdict
from tests.article_support import body_f1, gold_date
from tests.conftest import GOLD, SEED, SHARED

NEWS = SHARED / "corpus" / "news"
FIXTURES = Path(__file__).parent / "fixtures" / "article"
OK = Verdict(name="ok")

#: pinned just under what extraction achieves today (see benchmarks/bench_extract.py).
BODY_F1_FLOOR = 0.91
DATE_ACCURACY_FLOOR = 0.96


def _page(path: Path) -> Document:
    return Document.from_raw(RawPage(url=f"file://{path}", body=path.read_bytes()))


def _seed_extraction(notices: tuple[str, ...]) -> Extraction:
    doc = Document.from_text(str(SEED), SEED.read_text("utf-8"))
    return extract(doc, Verdict(name="ok_with_notice", notice_blocks=notices))


@pytest.fixture(scope="module")
def gold() -> dict[str, object]:
    data: dict[str, object] = json.loads(GOLD.read_text("utf-8"))["article"]
    return data


def test_seed_fields_match_gold(gold: dict[str, object]) -> None:
    notice = tuple(gold["closure_notice"]["text"])  # type: ignore[index]
    ex = _seed_extraction(notice)
    assert ex.reason is None and ex.article is not None
    art = ex.article
    assert art.title == gold["title"]
    assert art.source == gold["source"]
    assert art.published is not None and art.published.isoformat() == gold["published"]
    assert art.sections == gold["sections"]
    assert art.column == "党建“铸心”深化提升行动"
    body = "\n".join(b.text for b in art.body)
    for bad in gold["must_not_be_in_body"]:  # type: ignore[attr-defined]
        assert bad not in body
    assert art.campaigns == ()


def test_seed_paragraphs_kept_verbatim(gold: dict[str, object]) -> None:
    art = _seed_extraction(tuple(gold["closure_notice"]["text"])).article  # type: ignore[index]
    assert art is not None
    lines = SEED.read_text("utf-8").splitlines()
    for para in art.paragraphs:
        assert para in lines
    assert art.paragraphs[0].startswith("一分部署,九分落实。")
    assert art.paragraphs[-1].startswith("发挥党员在科研任务攻关中的引领作用")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("20231116_093244_000", True),
        ("微信图片_20240315152142", True),
        ("IMG_20230801_101010.jpg", True),
        ("DSC01234.JPG", True),
        ("2023年11月16日", False),
        ("中国航发燃机党委组建16支突击队", False),
    ],
)
def test_image_name_lines(line: str, expected: bool) -> None:
    assert is_image_name(line) is expected


def _corpus() -> list[Path]:
    return sorted(p for p in NEWS.iterdir() if p.is_dir())


def test_corpus_quality_floor() -> None:
    f1s: list[float] = []
    hits = known = 0
    for page in _corpus():
        ex = extract(_page(page / "page.html"), OK)
        body = "\n".join(b.text for b in ex.article.body) if ex.article else ""
        f1s.append(body_f1(body, (page / "cleaned.txt").read_text("utf-8")))
        want = gold_date((page / "date.txt").read_text("utf-8"))
        if want is not None:
            known += 1
            got = ex.article.published if ex.article else None
            hits += got is not None and (got.year, got.month, got.day)[: len(want)] == want
    assert len(f1s) == 35
    assert sum(f1s) / len(f1s) >= BODY_F1_FLOOR
    assert hits / known >= DATE_ACCURACY_FLOOR


def _fixture(name: str, url: str = "http://example.cn/news/2024/0315/c123.html") -> Extraction:
    raw = RawPage(url=url, body=(FIXTURES / name).read_bytes())
    return extract(Document.from_raw(raw), OK)


def test_gbk_page_with_lying_meta_charset() -> None:
    ex = _fixture("gbk_lying_meta.html")
    art = ex.article
    assert art is not None
    assert art.title == (FIXTURES / "gbk_lying_meta.title").read_text("utf-8").strip()
    assert art.published is not None and art.published.isoformat() == "2024-03-15"
    assert art.published_at is not None and art.published_at.hour == 10
    assert (art.source, art.author, art.editor) == ("航发动力", "李明", "张华")
    assert art.sections == ["压实责任 夯实基础", "创新方法 提升效能"]
    assert art.captions == ("会议现场（摄影：王强）", "与会人员参观质量展示区")
    body = "\n".join(b.text for b in art.body)
    for chrome in ("您现在的位置", "ICP备", "版权所有", "微信图片_", "20240315_093244_000", "分享到", "相关新闻",
                   "字号", "责任编辑", "航发动力举办技能大赛"):
        assert chrome not in body
    assert art.paragraphs[0].startswith("3月14日，航发动力召开")
    assert art.paragraphs[-1] == "会议还对质量工作先进集体和个人进行了表彰。"


def test_og_title_json_ld_date_and_spaced_byline() -> None:
    art = _fixture("utf8_jsonld.html").article
    assert art is not None
    assert art.title == "中国航发南方举办青年创新成果展"
    assert art.published_at is not None and art.published_at.isoformat() == "2023-06-08T16:05:00"
    assert (art.author, art.editor) == ("赵雪", "孙丽")
    assert art.sections == ["一、聚焦生产难题"]
    body = "\n".join(b.text for b in art.body)
    assert "脚本里的文字" not in body and "热点推荐" not in body and "ICP" not in body
    assert len(art.paragraphs) == 4


def test_site_selectors_override_generic_rules() -> None:
    from parsers.records import SiteSelectors

    raw = RawPage(url="http://example.cn/a", body=(FIXTURES / "utf8_jsonld.html").read_bytes())
    sel = SiteSelectors(title="p.meta", body="section.body", drop=("h3",))
    art = extract(Document.from_raw(raw), OK, sel).article
    assert art is not None and art.title.startswith("湖南日报记者")
    assert art.sections == [] and len(art.paragraphs) == 4


def test_url_date_when_page_shows_none() -> None:
    html = "<html><body><div class='content'><p>" + "航发科技开展安全检查，排查隐患十二项，整改完成率百分之百。" * 3
    html += "</p></div></body></html>"
    doc = Document.from_text("http://example.gov.cn/xw/202311/t20231116_123.html", html)
    art = extract(doc, OK).article
    assert art is not None and art.published is not None and art.published.isoformat() == "2023-11-16"


@pytest.mark.parametrize(
    "body",
    [
        b"<html><head><title>t</title></head><body><div><p>\xe6\x88\x91\xe4\xbb\xac",  # truncated
        b"<html><head><title>only head</title></head></html>",
        b"<html><body>" + b"<table><tr><td>" * 3000 + "深".encode() + b"</td></tr></table>" * 3000,
        b"<html><body><script>" + b"var a=1;" * 5000 + b"</script></body></html>",
        bytes(range(256)) * 64,
        b"",
    ],
    ids=["truncated", "no-body", "nested-tables", "script-only", "binary", "empty"],
)
def test_bad_input_gives_reason_not_exception(body: bytes) -> None:
    ex = extract(Document.from_raw(RawPage(url="http://example.cn/x", body=body)), OK)
    assert ex.article is None
    assert ex.reason


def test_huge_page_is_bounded() -> None:
    import time

    para = "<p>" + "中国航发各直属单位坚持党建引领，扎实推进各项工作，取得明显成效。" * 4 + "</p>\n"
    body = ("<html><body><div class='content'>" + para * 80_000 + "</div></body></html>").encode()
    assert len(body) > 30_000_000
    t0 = time.perf_counter()
    ex = extract(Document.from_raw(RawPage(url="http://example.cn/big", body=body)), OK)
    assert time.perf_counter() - t0 < 10
    assert ex.article is not None and ex.article.paragraphs


@pytest.mark.parametrize(
    ("line", "heading"),
    [
        ("深学细悟，筑牢根基", True),
        ("组建机构 压实责任 确保“高站位”", True),
        ("学习宣贯 凝聚思想共识", True),
        ("近日，公司党委召开专题会议。", False),
        ("一分部署，九分落实，各单位结合实际制定了细化方案并推动落实落地", False),
    ],
)
def test_headings_may_have_commas_quotes_and_spaces(line: str, heading: bool) -> None:
    from parsers.article import _phrase_heading

    assert _phrase_heading(line) is heading
