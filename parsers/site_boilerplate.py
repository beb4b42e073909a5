"""Site-level boilerplate: lines that repeat across many pages of one host are that site's chrome.

A crawl sees many pages per host. A promotion line, a reprint notice or a column's standing footer that
shows up on most of them is not any one article's text, whatever it looks like. The state kept per host
is small and pure: how many pages were observed and, per line fingerprint, on how many of them it
appeared. The loader updates it as new articles come in and stores it with the site
(``sites.boilerplate``); the flows hand the learned set to ``parsers.pipeline.process``, and the
extractor drops lines whose fingerprint is in it. ``inspect`` of one file passes nothing and extracts by
the page-level rules alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from parsers.article import line_fingerprint
from parsers.document import Document

#: fewer pages than this and nothing counts as boilerplate yet: a series of a few related articles may
#: share an editor's note or a standard paragraph, and that is their text; a line on dozens of a host's
#: pages is the site's.
MIN_PAGES = 30
#: a line on at least this share of the host's observed pages (and on MIN_PAGES of them) is boilerplate.
SHARE = 0.5
#: lines outside these lengths are not fingerprinted: one or two characters are left to the page rules,
#: and long lines are article prose (a site's standing notices are shorter).
MIN_LINE, MAX_LINE = 4, 300
#: the most fingerprints kept per host; past it, those seen on one page only are dropped first.
MAX_FINGERPRINTS = 2000


@dataclass(frozen=True, slots=True)
class SiteBoilerplate:
    pages: int = 0
    #: fingerprint -> number of observed pages that had the line.
    counts: Mapping[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"pages": self.pages, "counts": dict(self.counts)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> SiteBoilerplate:
        if not data:
            return cls()
        counts = data.get("counts") or {}
        return cls(int(data.get("pages") or 0), {str(k): int(v) for k, v in counts.items()})


def page_fingerprints(doc: Document) -> frozenset[str]:
    """The fingerprints of a page's visible lines (each counted once per page; a line repeated on the
    page, a menu in header and footer, is hashed once)."""
    return frozenset(line_fingerprint(line) for line in set(doc.lines) if MIN_LINE <= len(line) <= MAX_LINE)


def observe(state: SiteBoilerplate, fingerprints: Iterable[str]) -> SiteBoilerplate:
    """The state after one more page of the host. Callers observe a page once per new content (a page
    fetched again unchanged must not count twice, or its own lines would turn into boilerplate)."""
    seen = frozenset(fingerprints)
    counts = dict(state.counts)
    for fp in seen:
        counts[fp] = counts.get(fp, 0) + 1
    if len(counts) > MAX_FINGERPRINTS:
        counts = {fp: n for fp, n in counts.items() if n > 1 or fp in seen}
    if len(counts) > MAX_FINGERPRINTS:
        keep = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_FINGERPRINTS]
        counts = dict(keep)
    return SiteBoilerplate(state.pages + 1, counts)


def learned(state: SiteBoilerplate) -> frozenset[str]:
    """Fingerprints that are boilerplate for the host now; empty until MIN_PAGES pages were observed.

    The share is of all observed pages, so after a redesign the old chrome stops counting as the new
    pages come in.
    """
    if state.pages < MIN_PAGES:
        return frozenset()
    floor = max(MIN_PAGES, SHARE * state.pages)
    return frozenset(fp for fp, n in state.counts.items() if n >= floor)
