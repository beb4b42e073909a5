"""Length-preserving folding of Chinese news text before matching.

Pages mix full-width and half-width digits and punctuation, and sometimes traditional characters. Folding
one character to one character lets every matcher see one spelling while offsets still point into the
original text, so statements and mentions are cut from what was actually written.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache

from parsers.datafiles import load_toml


@cache
def _table() -> dict[int, int]:
    table = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}  # full-width ASCII → ASCII
    table[0x3000] = 0x20  # ideographic space
    table[0xA0] = 0x20  # no-break space, common in pasted news text
    pairs = load_toml("cjk_fold.toml")["pairs"].split()
    for pair in pairs:
        if len(pair) == 2 and pair[0] != pair[1]:
            table[ord(pair[0])] = ord(pair[1])
    return table


@cache
def _needs_fold() -> re.Pattern[str]:
    return re.compile("[" + "".join(re.escape(chr(cp)) for cp in sorted(_table())) + "]")


@lru_cache(maxsize=4096)
def fold(text: str) -> str:
    """Same-length text with full-width ASCII made half-width and known traditional characters simplified.

    Cached: campaign detection and record parsing fold the same paragraphs one after the other."""
    # most pages need nothing folded; a single regex scan is far cheaper than a per-character translate
    if _needs_fold().search(text) is None:
        return text
    return text.translate(_table())
