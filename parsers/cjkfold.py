"""Length-preserving folding of Chinese news text before matching.

Pages mix full-width and half-width digits and punctuation, and re-hosts are often traditional-script
mirrors of simplified originals. Folding one character to one character lets every matcher see one
spelling while offsets still point into the original text, so statements and mentions are cut from what
was actually written.

Traditional → simplified is OpenCC's t2s (a maintained converter; the C++ wheel, 18 us per 600 traditional
characters here against ~1 ms for the pure-Python reimplementation). t2s maps phrases, not only characters,
so a conversion may in principle change the length; then the text is converted clause by clause and any
clause whose length changed is kept as written, so offsets always map back.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from typing import Any

import opencc

#: full-width ASCII → ASCII, ideographic and no-break space → space; 〇-like ring (○) → 〇 for numerals.
#: Lone surrogates (JSON and surrogateescape decoding let them through) → U+FFFD: the automata and OpenCC
#: take UTF-8 and would raise on them.
_WIDTH = (
    {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
    | {0x3000: 0x20, 0xA0: 0x20, 0x25CB: 0x3007}
    | dict.fromkeys(range(0xD800, 0xE000), 0xFFFD)
)
_NEEDS_WIDTH = re.compile("[" + "".join(re.escape(chr(cp)) for cp in sorted(_WIDTH)) + "]")
#: clause boundaries for the length-changed fallback: short pieces keep most of a text converted.
_CLAUSE = re.compile(r"[^。,，、;；:：!！?？\n]*[。,，、;；:：!！?？\n]?")


@cache
def _converter() -> Any:
    return opencc.OpenCC("t2s")


@cache
def _traditional() -> re.Pattern[str]:
    """Characters OpenCC's t2s changes on their own, built once per process (~0.1 s) from the converter
    itself: most pages hold none of them, and one regex scan (~11 us per 2,000 characters) is far cheaper
    than a conversion (~45 us) that would change nothing."""
    chars = [chr(cp) for cp in range(0x3400, 0xA000)] + [chr(cp) for cp in range(0xF900, 0xFB00)]
    changed = [ch for ch in chars if _converter().convert(ch) != ch]
    return re.compile("[" + "".join(re.escape(ch) for ch in changed) + "]")


@cache
def _foldable() -> re.Pattern[str]:
    """Either kind of character `fold` changes, in one class: most paragraphs hold none, and one scan
    that says so is cheaper than the two (width, then script) it replaces."""
    return re.compile(_NEEDS_WIDTH.pattern[:-1] + _traditional().pattern[1:])


def to_simplified(text: str) -> str:
    """t2s with the same length as `text` (clauses whose conversion changed length stay as written)."""
    if text.isascii() or _traditional().search(text) is None:
        return text
    out: str = _converter().convert(text)
    if len(out) == len(text):
        return out
    pieces = []
    for m in _CLAUSE.finditer(text):
        piece = m.group()
        if not piece:
            continue
        conv: str = _converter().convert(piece)
        pieces.append(conv if len(conv) == len(piece) else piece)
    return "".join(pieces)


@lru_cache(maxsize=4096)
def fold(text: str) -> str:
    """Same-length text: full-width ASCII made half-width, traditional characters simplified.

    Cached: campaign detection and record parsing fold the same paragraphs one after the other."""
    if _foldable().search(text) is None:
        return text
    if _NEEDS_WIDTH.search(text) is not None:
        text = text.translate(_WIDTH)
    return to_simplified(text)
