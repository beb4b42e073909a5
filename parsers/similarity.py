"""How alike two pages are, to tell a catch-all host (every path answers the same page) from a real one.

Character shingles rather than words because Chinese has no spaces; Jaccard rather than simhash because
unrelated pages must score near 0, not near 0.5, for a fixed threshold to mean anything; and multiset
(weighted) Jaccard because templated pages repeat themselves, so a set would let one echoed path weigh as
much as the whole repeated body.
"""

from __future__ import annotations

import re
from collections import Counter

#: shingle width in characters: long enough that shared boilerplate words do not dominate.
SHINGLE = 5
#: characters of each text compared; catch-all pages differ at most in an echoed path, so the start and
#: end of the page carry all the signal and long pages stay cheap.
HEAD_CHARS = 20_000
TAIL_CHARS = 5_000
_WS = re.compile(r"\s+")
#: URLs and paths: catch-all and soft-404 pages echo the requested address, which says nothing.
_PATHISH = re.compile(r"(?:[a-z][a-z0-9+.-]*:)?[\w.~%-]*(?:/[\w.~%+=&?#-]*)+", re.ASCII | re.IGNORECASE)


def normalise(text: str) -> str:
    """Lower-case, drop echoed URLs and collapse white space: differences a catch-all page would show.

    The raw text is cut first (normalising only shrinks it), so a 30 MB page costs what a 100 KB one does.
    """
    if len(text) > 4 * (HEAD_CHARS + TAIL_CHARS):
        text = text[: 4 * HEAD_CHARS] + " " + text[-4 * TAIL_CHARS :]
    text = _WS.sub(" ", _PATHISH.sub(" ", text)).strip().lower()
    if len(text) > HEAD_CHARS + TAIL_CHARS:
        text = text[:HEAD_CHARS] + " " + text[-TAIL_CHARS:]
    return text


def shingles(text: str, k: int = SHINGLE) -> Counter[str]:
    norm = normalise(text)
    if len(norm) <= k:
        return Counter([norm]) if norm else Counter()
    return Counter(norm[i:i + k] for i in range(len(norm) - k + 1))


def similarity(a: str, b: str) -> float:
    """Weighted Jaccard (0..1) of the texts' character shingles; two empty texts are identical."""
    sa, sb = shingles(a), shingles(b)
    if not sa and not sb:
        return 1.0
    if not sa or not sb:
        return 0.0
    inter = sum((sa & sb).values())
    union = sum((sa | sb).values())
    return inter / union
