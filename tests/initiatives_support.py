"""Shared by the initiative tests and benchmark: build Articles from text, and score records against gold.

The seed and the genre set (tests/genre_support.py) are text dumps turned into Articles by simple explicit
rules (not by the gold's section list): the first line is the title, the second the source/date line, the
seed's last three lines the hosting notice; image file-name lines are dropped; short lines without sentence
punctuation are headings.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from parsers.cjkfold import fold
from parsers.records import Article, Block, Initiative

FIXTURES = Path(__file__).parent / "fixtures" / "initiatives"
_IMAGE_LINE = re.compile(r"^(?:\d{8}_\d{6}_\d{3}|[\w-]+\.(?:jpe?g|png|gif|webp))$", re.IGNORECASE)
#: a heading is a short line with no sentence end; commas, quotes and spaces may join its phrases (深学细悟,筑牢根基;
#: 组建机构 压实责任 确保“高站位”), while every paragraph of a dump ends a sentence.
_SENTENCE_END = re.compile("[。;!?:\uff1b\uff01\uff1f\uff1a]")
HEADING_MAX_CHARS = 24


def seed_article(path: Path) -> Article:
    return dump_article(path, notice_lines=3)


def dump_article(path: Path, notice_lines: int = 0) -> Article:
    """A text dump like the seed; `notice_lines` trailing lines are a hosting notice, not body."""
    lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    title, body_lines = lines[0], lines[2 : len(lines) - notice_lines]
    blocks = []
    for line in body_lines:
        if _IMAGE_LINE.match(line):
            continue
        short = len(line) <= HEADING_MAX_CHARS and not _SENTENCE_END.search(line) and line[-1] not in ",\uff0c、"
        blocks.append(Block("heading" if short else "paragraph", line))
    return Article(title=title, body=tuple(blocks))


def fixture_article(path: Path) -> Article:
    """Fixture articles: first line the title, `== ` marks a heading, other lines are paragraphs."""
    lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    blocks = [Block("heading", ln[3:].strip()) if ln.startswith("== ") else Block("paragraph", ln) for ln in lines[1:]]
    return Article(title=lines[0], body=tuple(blocks))


def fixture_cases() -> list[tuple[Path, Path]]:
    return [(txt, txt.with_suffix(".expected.json")) for txt in sorted(FIXTURES.glob("*.txt"))]


def load_expected(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    def add(self, found: set[Any], expected: set[Any]) -> None:
        self.tp += len(found & expected)
        self.fp += len(found - expected)
        self.fn += len(expected - found)


FIELDS = ("records", "units", "section", "org_body", "metrics", "documents", "frameworks", "people")


@dataclass
class Report:
    scores: dict[str, Score] = field(default_factory=lambda: {f: Score() for f in FIELDS})
    #: gold ids with no parsed record; statements that wrongly came from general statements.
    missing: list[str] = field(default_factory=list)
    from_general: list[str] = field(default_factory=list)


#: what ends a sentence (or a 一是…;二是… item) in folded text, and the line break parse() puts between a
#: record and a continuation paragraph it absorbed.
_STATEMENT_BREAK = re.compile("[。;!?\n]")


def _key(text: str) -> str:
    """Texts are compared folded, so full-width and traditional spellings match their simplified twin."""
    return fold(text)


def match_records(records: Iterable[Initiative], gold: list[dict[str, Any]]) -> dict[int, str]:
    """Parsed record index → gold id, one to one, in article order.

    A parsed record matches the first unmatched gold record whose statement opening occurs in the parsed
    statement with no sentence end before it: the parsed record begins in the sentence the gold record
    begins in (a leading clause such as 作为…, may come first). A record that swallowed a whole paragraph
    of measures matches only the first of them, so the others count as missed."""
    out: dict[int, str] = {}
    for i, rec in enumerate(records):
        statement = _key(rec.statement)
        for g in gold:
            if g["id"] in out.values():
                continue
            at = statement.find(_key(g["statement_starts"]))
            if at != -1 and not _STATEMENT_BREAK.search(statement, 0, at):
                out[i] = g["id"]
                break
    return out


def score(
    records: tuple[Initiative, ...], expected: dict[str, Any], report: Report | None = None, where: str = ""
) -> Report:
    """Add one article's records to `report`: each field scores (matched gold id or extraN, value) pairs,
    so `units` is the (record, unit) pair score on unit short names. `where` prefixes missing gold ids."""
    report = report or Report()
    gold = expected["initiatives"]
    ids = match_records(records, gold)
    key = [ids.get(i, f"extra{i}") for i in range(len(records))]
    pairs = list(zip(key, records, strict=True))
    k_ = _key
    s = report.scores
    s["records"].add(set(key), {g["id"] for g in gold})
    s["units"].add(
        {(k, k_(u.name)) for k, r in pairs for u in r.units},
        {(g["id"], k_(u["short"])) for g in gold for u in g["units"]},
    )
    s["section"].add({(k, k_(r.section or "")) for k, r in pairs}, {(g["id"], k_(g["section"] or "")) for g in gold})
    s["org_body"].add(
        {(k, k_(r.org_body)) for k, r in pairs if r.org_body},
        {(g["id"], k_(g["org_body"])) for g in gold if g["org_body"]},
    )
    s["metrics"].add(
        {(k, m.value, k_(m.measure), k_(m.object)) for k, r in pairs for m in r.metrics},
        {(g["id"], m["value"], k_(m["measure"]), k_(m["object"])) for g in gold for m in g["metrics"]},
    )
    s["documents"].add(
        {(k, k_(d)) for k, r in pairs for d in r.documents}, {(g["id"], k_(d)) for g in gold for d in g["documents"]}
    )
    s["frameworks"].add(
        {(k, k_(f)) for k, r in pairs for f in r.frameworks}, {(g["id"], k_(f)) for g in gold for f in g["frameworks"]}
    )
    s["people"].add(
        {(k, k_(p.name), k_(p.title or "")) for k, r in pairs for p in r.people},
        {(g["id"], k_(p["name"]), k_(p["title"] or "")) for g in gold for p in g["people"]},
    )
    report.missing += [where + g["id"] for g in gold if g["id"] not in ids.values()]
    for opening in expected.get("not_unit_records", []):
        probe = k_(opening[:12])
        report.from_general += [r.statement for r in records if probe in k_(r.statement)]
    return report
