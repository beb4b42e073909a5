"""Scoring shared by the extraction quality gate (tests/test_article.py) and ``make bench-extract``.

One definition, so the floor the tests pin and the figures the benchmark prints are the same measure.
"""

from __future__ import annotations

import re
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
