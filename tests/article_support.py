"""Scoring shared by the extraction quality gate (tests/test_article.py) and ``make bench-extract``.

One definition, so the floor the tests pin and the figures the benchmark prints are the same measure.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter


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


_SUFFIX_LABELS = frozenset(("com", "net", "org", "gov", "edu", "co", "ac", "info"))


def page_site(origin: str) -> str:
    """The publisher of a news2 page from its origin name (20111209_news.sina.com.hk_<sha>): the label
    before the public suffix, so news.sina.com.cn, news.sina.com.hk and news.sina.com.tw are one site."""
    parts = origin.split("_")
    labels = (parts[1] if len(parts) >= 3 else origin).lower().split(".")
    if len(labels) > 1 and len(labels[-1]) == 2:  # a country code (.cn, .hk, .tw)
        labels.pop()
    if len(labels) > 1 and labels[-1] in _SUFFIX_LABELS:
        labels.pop()
    return labels[-1]


def site_half(site: str) -> str:
    """A stable split of sites into halves A and B (develop on A, check on B)."""
    return "AB"[zlib.crc32(site.encode()) % 2]
