"""How alike two pages are, to tell a catch-all host (every path answers the same page) from a real one.

Character shingles rather than words because Chinese has no spaces; Jaccard rather than simhash because
unrelated pages must score near 0, not near 0.5, for a fixed threshold to mean anything.
"""

from __future__ import annotations

import re

#: shingle width in characters: long enough that shared boilerplate words do not dominate.
SHINGLE = 5
#: characters of each text compared; catch-all pages differ at most in an echoed path, so the start and
#: end of the page carry all the signal and long pages stay cheap.
HEAD_CHARS = 20_000
TAIL_CHARS = 5_000
_WS = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Lower-case and collapse white space, so markup-induced spacing differences do not count."""
    text = _WS.sub(" ", text).strip().lower()
    if len(text) > HEAD_CHARS + TAIL_CHARS:
        text = text[:HEAD_CHARS] + " " + text[-TAIL_CHARS:]
    return text


def shingles(text: str, k: int = SHINGLE) -> frozenset[int]:
    norm = normalise(text)
    if len(norm) <= k:
        return frozenset({hash(norm)}) if norm else frozenset()
    return frozenset(hash(norm[i:i + k]) for i in range(len(norm) - k + 1))


def similarity(a: str, b: str) -> float:
    """Jaccard similarity (0..1) of the two texts' character shingles; two empty texts are identical."""
    sa, sb = shingles(a), shingles(b)
    if not sa and not sb:
        return 1.0
    if not sa or not sb:
        return 0.0
    inter = len(sa & sb)
    return inter / (len(sa) + len(sb) - inter)
