"""Shared by the initiative tests and benchmark: build Articles from text, and score records against gold.

The seed is turned into an Article by simple explicit rules (not by the gold's section list): the first
line is the title, the second the source/date line, the last three lines the hosting notice; image
file-name lines are dropped; short lines without sentence punctuation are headings.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from parsers.records import Article, Block, Initiative

FIXTURES = Path(__file__).parent / "fixtures" / "initiatives"
_IMAGE_LINE = re.compile(r"^(?:\d{8}_\d{6}_\d{3}|[\w-]+\.(?:jpe?g|png|gif|webp))$", re.IGNORECASE)
_SENTENCE_PUNCT = re.compile(r"[。,,;;!?!?:]")
HEADING_MAX_CHARS = 16


def seed_article(path: Path) -> Article:
    lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    title, body_lines = lines[0], lines[2:-3]
    blocks = []
    for line in body_lines:
        if _IMAGE_LINE.match(line):
            continue
        short = len(line) <= HEADING_MAX_CHARS and not _SENTENCE_PUNCT.search(line)
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


FIELDS = ("records", "units", "org_body", "metrics", "documents", "frameworks", "people")


@dataclass
class Report:
    scores: dict[str, Score] = field(default_factory=lambda: {f: Score() for f in FIELDS})
    #: gold ids with no parsed record; statements that wrongly came from general statements.
    missing: list[str] = field(default_factory=list)
    from_general: list[str] = field(default_factory=list)


def match_records(records: Iterable[Initiative], gold: list[dict[str, Any]]) -> dict[int, str]:
    """Parsed record index → gold id, matched by the gold's statement opening."""
    out: dict[int, str] = {}
    for i, rec in enumerate(records):
        for g in gold:
            if g["id"] not in out.values() and g["statement_starts"] in rec.statement:
                out[i] = g["id"]
                break
    return out


def score(records: tuple[Initiative, ...], expected: dict[str, Any], report: Report | None = None) -> Report:
    report = report or Report()
    gold = expected["initiatives"]
    ids = match_records(records, gold)
    key = [ids.get(i, f"extra{i}") for i in range(len(records))]
    s = report.scores
    s["records"].add(set(key), {g["id"] for g in gold})
    s["units"].add(
        {(k, u.name) for k, r in zip(key, records, strict=True) for u in r.units},
        {(g["id"], u["short"]) for g in gold for u in g["units"]},
    )
    s["org_body"].add(
        {(k, r.org_body) for k, r in zip(key, records, strict=True) if r.org_body},
        {(g["id"], g["org_body"]) for g in gold if g["org_body"]},
    )
    s["metrics"].add(
        {(k, m.value, m.measure, m.object) for k, r in zip(key, records, strict=True) for m in r.metrics},
        {(g["id"], m["value"], m["measure"], m["object"]) for g in gold for m in g["metrics"]},
    )
    s["documents"].add(
        {(k, d) for k, r in zip(key, records, strict=True) for d in r.documents},
        {(g["id"], d) for g in gold for d in g["documents"]},
    )
    s["frameworks"].add(
        {(k, f) for k, r in zip(key, records, strict=True) for f in r.frameworks},
        {(g["id"], f) for g in gold for f in g["frameworks"]},
    )
    s["people"].add(
        {(k, p.name, p.title) for k, r in zip(key, records, strict=True) for p in r.people},
        {(g["id"], p["name"], p["title"]) for g in gold for p in g["people"]},
    )
    report.missing += [g["id"] for g in gold if g["id"] not in ids.values()]
    for opening in expected.get("not_unit_records", []):
        probe = opening[:12]
        report.from_general += [r.statement for r in records if probe in r.statement]
    return report
