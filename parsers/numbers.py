"""Numbers as Chinese news writes them: Arabic (half- or full-width) or Chinese numerals.

Counted things in initiative reports mix both styles in one article (246项 beside 十四项), so the metric
extractor needs one value for either spelling.
"""

from __future__ import annotations

import re

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000}
_BIG = {"万": 10_000, "亿": 100_000_000}

#: every character a Chinese numeral may be written with; used to build the metric pattern.
CHINESE_NUMERAL_CHARS = "".join(_DIGITS) + "".join(_UNITS) + "".join(_BIG)
_FULL_WIDTH = str.maketrans("０１２３４５６７８９．，", "0123456789.,")
_ARABIC = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?")
#: longer numerals are not counts a report gives (and int() refuses more than 4,300 digits): not a number.
MAX_NUMERAL_CHARS = 20


def chinese_to_int(text: str) -> int | None:
    """Value of a Chinese numeral such as 十四, 二百四十六, 一万二千, 三〇五; None when it is not one."""
    if not text or any(ch not in CHINESE_NUMERAL_CHARS for ch in text):
        return None
    if all(ch in _DIGITS for ch in text) and len(text) > 1:
        # positional spelling (二〇二三): digits read one by one
        return int("".join(str(_DIGITS[ch]) for ch in text))
    total = 0
    section = 0
    digit: int | None = None
    for ch in text:
        if ch in _DIGITS:
            digit = _DIGITS[ch]
        elif ch in _UNITS:
            section += (1 if digit is None else digit) * _UNITS[ch]
            digit = None
        else:
            section += digit or 0
            total += (section or 1) * _BIG[ch]
            section = 0
            digit = None
    return total + section + (digit or 0)


def to_number(text: str) -> int | float | None:
    """Value of an Arabic (half- or full-width) or Chinese numeral; None when the text is neither, or longer
    than MAX_NUMERAL_CHARS (a 5,000-digit run in a page must not fail the parse)."""
    if len(text) > MAX_NUMERAL_CHARS:
        return None
    if text.isascii() and text.isdigit():
        return int(text)
    folded = text.translate(_FULL_WIDTH).strip()
    scale = 1
    if len(folded) > 1 and folded[-1] in _BIG and folded[0].isdigit():  # 2万, 3.5亿
        folded, scale = folded[:-1], _BIG[folded[-1]]
    if _ARABIC.fullmatch(folded):
        plain = folded.replace(",", "")
        value = float(plain) * scale if "." in plain else int(plain) * scale
        return int(value) if isinstance(value, float) and value.is_integer() and scale > 1 else value
    return chinese_to_int(folded) if scale == 1 else None
