"""Page verdicts: the labelled corpus as an evaluation gate, our own fixtures, bad input and the probe."""

from __future__ import annotations

import csv
import time
from collections import Counter
from pathlib import Path

import pytest

from parsers.decode import looks_binary
from parsers.document import Document
from parsers.records import CLOSURE_VERDICTS, GOOD_VERDICTS, VERDICTS, Probe, RawPage, Verdict
from parsers.verdict import catalogue, judge, needs_probe
from tests.conftest import SEED, SHARED

PAGES = SHARED / "corpus" / "pages"
NEWS = SHARED / "corpus" / "news"
FIXTURES = Path(__file__).parent / "fixtures" / "verdict"
TEMPLATE_KINDS = ("expired", "parked", "suspended", "default_page")


def _raw(url: str, body: bytes, status: int | None = 200, content_type: str = "",
         final_url: str | None = None) -> RawPage:
    headers = {"content-type": content_type} if content_type else {}
    return RawPage(url=url, body=body, status=status, headers=headers, final_url=final_url)


def _judge(raw: RawPage, probe: Probe | None = None) -> tuple[Verdict, Document | None]:
    doc = None if looks_binary(raw.body) else Document.from_raw(raw)
    return judge(raw, doc, probe), doc


def _labelled(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


# ───────────────────────────── evaluation gate on the labelled corpus ─────────────────────────────


@pytest.fixture(scope="module")
def corpus_results(shared_dir: Path) -> list[tuple[str, str, Verdict]]:
    out = []
    for row in _labelled(PAGES / "labels.tsv"):
        raw = _raw(f"http://example.com/p/{row['file']}", (PAGES / row["file"]).read_bytes())
        out.append((row["file"], row["verdict"], _judge(raw)[0]))
    return out


def test_corpus_gate_closure_precision(corpus_results: list[tuple[str, str, Verdict]]) -> None:
    predicted: Counter[str] = Counter(v.name for _, _, v in corpus_results)
    correct: Counter[str] = Counter(v.name for _, gold, v in corpus_results if v.name == gold)
    for name in CLOSURE_VERDICTS:
        if predicted[name]:
            precision = correct[name] / predicted[name]
            assert precision >= 0.99, f"precision of {name} is {precision:.2f}"


def test_corpus_gate_no_ok_page_closed(corpus_results: list[tuple[str, str, Verdict]]) -> None:
    wrongly_closed = [f for f, gold, v in corpus_results if gold in GOOD_VERDICTS and v.name not in GOOD_VERDICTS]
    assert wrongly_closed == []


def test_corpus_gate_recall(corpus_results: list[tuple[str, str, Verdict]]) -> None:
    hits = sum(1 for _, gold, v in corpus_results if v.name == gold)
    assert hits / len(corpus_results) >= 0.85
    template = [(gold, v) for _, gold, v in corpus_results if gold in TEMPLATE_KINDS]
    assert template, "the corpus lost its template pages"
    assert sum(1 for gold, v in template if v.name == gold) / len(template) >= 0.95


def test_corpus_verdicts_carry_evidence(corpus_results: list[tuple[str, str, Verdict]]) -> None:
    for file, _, v in corpus_results:
        if v.name not in GOOD_VERDICTS:
            assert v.evidence, file
            assert all(e.rule and e.where for e in v.evidence), file


def test_news_articles_are_ok(shared_dir: Path) -> None:
    """Real Chinese news pages (several GBK, some lying about their charset) are never closed."""
    folders = sorted(p for p in NEWS.iterdir() if (p / "page.html").is_file())
    assert len(folders) >= 30
    for folder in folders:
        v, _ = _judge(_raw(f"http://news.example.com/a/{folder.name}.html", (folder / "page.html").read_bytes()))
        assert v.name in GOOD_VERDICTS, (folder.name, v)


# ───────────────────────────── the seed ─────────────────────────────


def test_seed_is_ok_with_notice_and_notice_is_fully_covered(shared_dir: Path) -> None:
    text = SEED.read_text(encoding="utf-8")
    doc = Document.from_text(str(SEED), text)
    v = judge(RawPage(url="http://www.junkew.com/2023/1116/a.html", body=text.encode()), doc)
    assert v.name == "ok_with_notice"
    assert set(v.notice_blocks) == {"网站已关闭", "您的网站已到期,请及时续费", "联系电话:400-606-1198"}
    assert all(block in doc.lines for block in v.notice_blocks)
    kept = [line for line in doc.lines if line not in v.notice_blocks]
    for leftover in ("网站已关闭", "到期", "续费", "400-606-1198"):
        assert not any(leftover in line for line in kept), leftover
    assert {e.where for e in v.evidence if e.rule.startswith("hosting.")} == {"tail"}
    assert v.main_length > 1000 and v.text_length > v.main_length


# ───────────────────────────── our own fixtures ─────────────────────────────


FIXTURE_ROWS = _labelled(FIXTURES / "labels.tsv")


@pytest.mark.parametrize("row", FIXTURE_ROWS, ids=[f"{r['file']}-{r['status']}-{r['verdict']}" for r in FIXTURE_ROWS])
def test_fixture_verdicts(row: dict[str, str]) -> None:
    raw = _raw(f"http://example.com/news/{row['file']}", (FIXTURES / row["file"]).read_bytes(),
               int(row["status"]), row["content_type"], row["final_url"] or None)
    v, _ = _judge(raw)
    assert v.name == row["verdict"], v
    if v.name != "ok":
        assert v.evidence, v


def test_banner_above_article_lists_every_notice_line() -> None:
    v, doc = _judge(_raw("http://example.com/n/1.html", (FIXTURES / "top_banner_article.html").read_bytes()))
    assert doc is not None
    assert v.notice_blocks == ("您的网站已到期，请及时续费", "客服电话：400-123-4567")
    assert {e.where for e in v.evidence if e.rule.startswith(("hosting.", "notice."))} == {"head"}


def test_gbk_notice_is_matched_on_decoded_text() -> None:
    v, doc = _judge(_raw("http://example.com/", (FIXTURES / "gbk_expired.html").read_bytes()))
    assert doc is not None and doc.encoding == "gb18030"
    assert any(e.match == "您的网站已到期" for e in v.evidence)


def test_quoted_template_inside_article_is_not_a_notice() -> None:
    v, _ = _judge(_raw("http://example.com/n/2.html", (FIXTURES / "article_quotes_template.html").read_bytes()))
    assert v.name == "ok" and v.notice_blocks == ()


# ───────────────────────────── transport and bad input ─────────────────────────────


def test_transport_error_is_error_with_evidence() -> None:
    v = judge(RawPage(url="http://dead.example.com/", body=b"", status=None, error="ConnectTimeout"), None)
    assert v.name == "error"
    assert v.evidence[0].rule == "transport.error" and v.evidence[0].where == "status"


def test_binary_body_is_not_html() -> None:
    v = judge(RawPage(url="http://example.com/a.png", body=b"\x89PNG\x00\x00"), None)
    assert v.name == "not_html" and v.evidence


def test_huge_page_is_bounded_and_still_judged() -> None:
    para = "<p>" + "中国航发各单位深入推进党建工作，取得了显著成效。" * 4 + "</p>\n"
    body = ("<html><head><meta charset='utf-8'><title>长文</title></head><body>"
            + para * (30_000_000 // len(para.encode())) + "</body></html>").encode()
    assert len(body) > 29_000_000
    raw = RawPage(url="http://example.com/big.html", body=body)
    doc = Document.from_raw(raw)
    start = time.perf_counter()
    v = judge(raw, doc)
    elapsed = time.perf_counter() - start
    assert v.name == "ok"
    assert v.text_length > 1_000_000
    assert elapsed < 10, elapsed


def test_huge_suspended_page_keeps_its_head_template() -> None:
    body = ("<html><head><title>Account Suspended</title></head><body>"
            + "<!-- padding -->" * 200_000 + "<p>x</p>" * 300_000 + "</body></html>").encode()
    raw = RawPage(url="http://example.com/", body=body)
    v = judge(raw, Document.from_raw(raw))
    assert v.name == "suspended"


ODD_BODIES = [b"\x00\x01\x02", b"<html", b"<<<>>>&&&", "<p>\ud800</p>".encode("utf-8", "surrogatepass"),
              b"<html><body></body></html>", b"   \n\t  ", b"<script>" * 10_000,
              b"<html><head><title>unclosed title<body><p>text"]


@pytest.mark.parametrize("body", ODD_BODIES)
def test_odd_bodies_never_raise(body: bytes) -> None:
    raw = RawPage(url="http://example.com/x", body=body)
    v, _ = _judge(raw)
    assert v.name in VERDICTS
    assert v.name in GOOD_VERDICTS or v.evidence


# ───────────────────────────── probe ─────────────────────────────


def _thin_page() -> tuple[RawPage, Document]:
    raw = _raw("http://example.com/news/123.html", (FIXTURES / "short_news_ok.html").read_bytes())
    return raw, Document.from_raw(raw)


def test_thin_page_needs_probe_and_catch_all_probe_makes_it_not_found() -> None:
    raw, doc = _thin_page()
    v = judge(raw, doc)
    assert v.name == "ok" and needs_probe(raw, doc, v)
    probe = Probe("http://example.com/news/zz9qx.html", 200, 0.97)
    pv = judge(raw, doc, probe)
    assert pv.name == "not_found" and pv.probe == probe
    assert pv.evidence[0].rule == "probe.catch_all" and pv.evidence[0].where == "probe"
    assert not needs_probe(raw, doc, pv)


@pytest.mark.parametrize("probe", [Probe("http://example.com/zz", 404, 0.99), Probe("http://example.com/zz", 200, 0.3),
                                   Probe("http://example.com/zz", None, None)])
def test_distinct_or_failed_probe_keeps_the_page(probe: Probe) -> None:
    raw, doc = _thin_page()
    v = judge(raw, doc, probe)
    assert v.name == "ok" and v.probe == probe
    assert any(e.where == "probe" for e in v.evidence)


def test_home_page_is_never_called_catch_all() -> None:
    raw = _raw("http://example.com/", (FIXTURES / "short_news_ok.html").read_bytes())
    doc = Document.from_raw(raw)
    assert not needs_probe(raw, doc, judge(raw, doc))
    assert judge(raw, doc, Probe("http://example.com/zz", 200, 1.0)).name == "ok"


def test_closure_page_is_not_flipped_by_probe() -> None:
    raw = _raw("http://example.com/a.html", (FIXTURES / "bt_stop.html").read_bytes())
    doc = Document.from_raw(raw)
    assert not needs_probe(raw, doc, judge(raw, doc))
    assert judge(raw, doc, Probe("http://example.com/zz", 200, 1.0)).name == "suspended"


def test_not_found_words_inside_a_rich_page_title_ask_for_a_probe() -> None:
    para = "<p>" + "这里是很多很多的导航和推荐内容，帮助读者找到他们想看的新闻报道与专题。" * 3 + "</p>"
    body = f"<html><head><title>网页不存在的几种原因 - 某新闻网</title></head><body>{para * 12}</body></html>"
    raw = _raw("http://example.com/a/1.html", body.encode())
    doc = Document.from_raw(raw)
    v = judge(raw, doc)
    assert v.name == "ok"
    assert needs_probe(raw, doc, v)


def test_a_title_part_that_is_only_a_status_code_is_a_soft_404_even_on_a_rich_page() -> None:
    para = "<p>" + "这里是很多很多的导航和推荐内容，帮助读者找到他们想看的新闻报道与专题。" * 3 + "</p>"
    body = f"<html><head><title>404 - 某新闻网</title></head><body>{para * 12}</body></html>".encode()
    raw = _raw("http://example.com/a/1.html", body)
    v = judge(raw, Document.from_raw(raw))
    assert v.name == "not_found"
    assert [(e.rule, e.match, e.where) for e in v.evidence] == [("signal.title.not_found.by_code", "404", "title")]


def test_long_article_does_not_need_probe() -> None:
    raw = _raw("http://example.com/n/3.html", (FIXTURES / "article_risky_words.html").read_bytes())
    doc = Document.from_raw(raw)
    v = judge(raw, doc)
    assert v.name == "ok" and not needs_probe(raw, doc, v)


# ───────────────────────────── catalogue ─────────────────────────────


def test_catalogue_is_data_with_unique_ids_and_known_kinds() -> None:
    cat = catalogue()
    ids = [r.id for r in cat.rules]
    assert len(ids) == len(set(ids)) and len(ids) >= 40
    assert {r.strength for r in cat.rules} == {"strong", "loader", "weak", "adjunct"}
    assert all(r.anchors for r in cat.rules)
    assert cat.status[404] == "not_found" and cat.status[509] == "suspended"
    assert catalogue() is cat  # compiled once


def test_prose_next_to_a_notice_stays_in_the_article() -> None:
    prose = "公司对即将到期的合同及时续签，" + "各单位扎实推进科研生产任务，确保全年目标圆满完成。" * 4
    text = "\n".join(["标题", prose, prose, prose, "网站已关闭", "您的网站已到期,请及时续费", "联系电话:400-606-1198"])
    v = judge(RawPage(url="http://example.com/a/1.html", body=text.encode()), Document.from_text("t", text))
    assert v.name == "ok_with_notice"
    assert v.notice_blocks == ("网站已关闭", "您的网站已到期,请及时续费", "联系电话:400-606-1198")
