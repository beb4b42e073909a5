"""Article extraction on the seed, on hand-written fixture pages and on the 35 annotated news pages.

The corpus floors pin today's quality so a change that loses body text or dates fails loudly.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from parsers.article import Extraction, extract, is_image_name
from parsers.document import Document
from parsers.records import RawPage, Verdict
from tests.conftest import GOLD, SEED, SHARED

NEWS = SHARED / "corpus" / "news"
FIXTURES = Path(__file__).parent / "fixtures" / "article"
OK = Verdict(name="ok")

#: pinned just under what extraction achieves today (see benchmarks/bench_extract.py).
BODY_F1_FLOOR = 0.91
DATE_ACCURACY_FLOOR = 0.86


def body_f1(found: str, gold: str) -> float:
    """Bag-of-characters F1, whitespace ignored: the measure used for the corpus and the benchmark."""
    a, b = Counter("".join(found.split())), Counter("".join(gold.split()))
    common = sum((a & b).values())
    if not common:
        return 0.0
    p, r = common / sum(a.values()), common / sum(b.values())
    return 2 * p * r / (p + r)


def gold_date(text: str) -> tuple[int, ...] | None:
    """The corpus date as (year[, month[, day]]); None when the page shows no date."""
    m = re.match(r"\s*(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?", text)
    return tuple(int(g) for g in m.groups() if g is not None) if m else None


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
