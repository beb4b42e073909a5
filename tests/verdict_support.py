"""Labelled verdict sets, their template split and their score: shared by tests/test_verdict.py and
benchmarks/bench_verdicts.py so the floors and the report measure the same thing."""

from __future__ import annotations

import csv
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from parsers.decode import looks_binary
from parsers.document import Document
from parsers.records import CLOSURE_VERDICTS, GOOD_VERDICTS, RawPage

#: template slugs that name one-off site pages, not a shared template (wild/README.md): split by page.
ONE_OFF_SLUGS = frozenset({"site", "site-404", "custom-404", "custom-403", "custom-maintenance", "site-500"})


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    gold: str
    template: str
    raw: RawPage


@dataclass
class Score:
    pairs: list[tuple[str, str]]
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.counts = Counter(self.pairs)

    @property
    def n(self) -> int:
        return len(self.pairs)

    @property
    def closure_precision(self) -> float:
        said = [(g, p) for g, p in self.pairs if p in CLOSURE_VERDICTS]
        return sum(g == p for g, p in said) / len(said) if said else 1.0

    @property
    def closure_recall(self) -> float:
        gold = [(g, p) for g, p in self.pairs if g in CLOSURE_VERDICTS]
        return sum(g == p for g, p in gold) / len(gold) if gold else 1.0

    @property
    def non_articles(self) -> int:
        return sum(1 for g, _ in self.pairs if g not in GOOD_VERDICTS)

    @property
    def dead_as_article(self) -> int:
        return sum(1 for g, p in self.pairs if g not in GOOD_VERDICTS and p in GOOD_VERDICTS)

    @property
    def dead_as_article_share(self) -> float:
        return self.dead_as_article / self.non_articles if self.non_articles else 0.0

    @property
    def articles(self) -> int:
        return sum(1 for g, _ in self.pairs if g in GOOD_VERDICTS)

    @property
    def articles_as_dead(self) -> int:
        return sum(1 for g, p in self.pairs if g in GOOD_VERDICTS and p not in GOOD_VERDICTS)

    @property
    def exact(self) -> float:
        return sum(g == p for g, p in self.pairs) / len(self.pairs) if self.pairs else 1.0


def load_labelled(folder: Path) -> list[Case]:
    """``labels.tsv`` of wild/ (file, verdict, template) or pages/ (file, verdict, kind); pages are served
    as fetched from a path that is not the home page, with no HTTP facts (the crawl kept none)."""
    cases = []
    pages = folder / "pages" if (folder / "pages").is_dir() else folder
    with (folder / "labels.tsv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            body = (pages / row["file"]).read_bytes()
            template = row.get("template") or row.get("kind") or ""
            raw = RawPage(url=f"http://example.com/p/{row['file']}", body=body)
            cases.append(Case(row["file"], row["verdict"], template, raw))
    return cases


def load_news(folder: Path) -> list[Case]:
    return [Case(f"{folder.name}/{d.name}", "ok", "news",
                 RawPage(url=f"http://news.example.com/{d.name}.html", body=(d / "page.html").read_bytes()))
            for d in sorted(folder.iterdir()) if (d / "page.html").is_file()]


def half_of(case: Case) -> int:
    """0 or 1 by template slug, so every page of one shared template lands in the same half."""
    key = case.name if case.template in ONE_OFF_SLUGS else case.template
    return zlib.crc32(key.encode("utf-8")) & 1


def split(cases: list[Case]) -> tuple[list[Case], list[Case]]:
    return [c for c in cases if half_of(c) == 0], [c for c in cases if half_of(c) == 1]


def parse(raw: RawPage) -> Document | None:
    if looks_binary(raw.body):
        return None
    doc = Document.from_raw(raw)
    _ = doc.lines, doc.title
    return doc


def score(cases: list[Case], predicted: list[str]) -> Score:
    return Score([(c.gold, p) for c, p in zip(cases, predicted, strict=True) if c.gold != "unsure"])
