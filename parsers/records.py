"""Typed records passed between the pure stages.

Each stage is a function from one of these records to the next, so any stage can be run on a saved
page without network or database. Records are frozen: a stage never edits what an earlier one made.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, get_args

VerdictName = Literal[
    "ok",
    "ok_with_notice",
    "expired",
    "parked",
    "suspended",
    "default_page",
    "not_found",
    "blocked",
    "error",
    "not_html",
]

#: every verdict name, in the contract's order.
VERDICTS: tuple[VerdictName, ...] = get_args(VerdictName)

#: Verdicts whose page carries an article worth keeping.
GOOD_VERDICTS: frozenset[str] = frozenset({"ok", "ok_with_notice"})
#: Verdicts that say the site (not just the page) is dead; they drive site health.
CLOSURE_VERDICTS: frozenset[str] = frozenset({"expired", "parked", "suspended", "default_page"})


@dataclass(frozen=True, slots=True)
class RawPage:
    """What a fetch (or a file on disk) hands to the parsers: bytes plus transport facts."""

    url: str
    body: bytes
    status: int | None = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    final_url: str | None = None
    #: every hop as (status, url), the last being the final response.
    status_chain: tuple[tuple[int, str], ...] = ()
    #: set when the transport failed before any body arrived (DNS, timeout, refused…).
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Evidence:
    """One reason behind a verdict: which rule fired, on what text, and where it sat."""

    rule: str
    match: str
    where: str = "body"


@dataclass(frozen=True, slots=True)
class Probe:
    """Result of fetching a random sibling path on the same host, to spot catch-all and soft-404 hosts."""

    url: str
    status: int | None
    #: similarity (0..1) between the sibling's body and the page under judgement.
    similarity: float | None


@dataclass(frozen=True, slots=True)
class Verdict:
    name: VerdictName
    evidence: tuple[Evidence, ...] = ()
    text_length: int = 0
    main_length: int = 0
    #: text blocks recognised as a closure notice; extraction leaves them out of the article.
    notice_blocks: tuple[str, ...] = ()
    probe: Probe | None = None


@dataclass(frozen=True, slots=True)
class Block:
    """One unit of article body in reading order: a section heading or a paragraph."""

    kind: Literal["heading", "paragraph"]
    text: str


@dataclass(frozen=True, slots=True)
class Article:
    title: str
    published: dt.date | None = None
    published_at: dt.datetime | None = None
    #: "month" when the page shows only a year and month (2003年5月): `published` is then the 1st.
    published_precision: Literal["day", "month"] = "day"
    source: str | None = None
    author: str | None = None
    editor: str | None = None
    column: str | None = None
    body: tuple[Block, ...] = ()
    captions: tuple[str, ...] = ()
    campaigns: tuple[str, ...] = ()

    @property
    def sections(self) -> list[str]:
        return [b.text for b in self.body if b.kind == "heading"]

    @property
    def paragraphs(self) -> list[str]:
        return [b.text for b in self.body if b.kind == "paragraph"]


@dataclass(frozen=True, slots=True)
class UnitRef:
    """A unit as mentioned in text, resolved against the gazetteer when possible."""

    mention: str
    name: str
    full_name: str | None = None
    aliases: tuple[str, ...] = ()
    resolved: bool = False
    unit_type: str | None = None
    group: str | None = None


@dataclass(frozen=True, slots=True)
class Metric:
    value: int | float
    measure: str
    object: str


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    title: str | None = None


@dataclass(frozen=True, slots=True)
class Initiative:
    """What one or more units did, as one record of the article."""

    section: str | None
    statement: str
    org_body: str | None
    units: tuple[UnitRef, ...]
    metrics: tuple[Metric, ...] = ()
    documents: tuple[str, ...] = ()
    frameworks: tuple[str, ...] = ()
    people: tuple[Person, ...] = ()


@dataclass(frozen=True, slots=True)
class PageResult:
    """Everything the pure stages learned from one page; the loader's only input besides fetch facts."""

    target: str
    verdict: Verdict
    article: Article | None = None
    initiatives: tuple[Initiative, ...] = ()
    encoding: str | None = None
    #: why there is no article or no records, for operators reading a run summary.
    reason: str | None = None
    #: fingerprints of the page's lines, from which the loader learns the site's boilerplate
    #: (parsers.site_boilerplate); empty for pages without an article.
    fingerprints: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class SiteSelectors:
    """Optional per-site CSS selectors (from the site configuration) that override generic extraction."""

    title: str | None = None
    body: str | None = None
    published: str | None = None
    source: str | None = None
    drop: tuple[str, ...] = ()
