"""Publication dates as Chinese news pages write them: 2023年11月16日, 2023-11-16 09:32, 2023/11/16,
ISO timestamps in meta tags, US and European day/month orders on older pages, and dates in URLs.

Only plausible dates are returned (1980 to next year), so counters, phone numbers and image file names
do not turn into dates.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

_TIME = (
    r"(?:\s*(?:T|\s|-|日)?\s*(上午|下午|早上|晚上)?\s*(\d{1,2})\s*[:：时]\s*(\d{2})"
    r"(?:\s*[:：分]\s*(\d{2}))?(?:\s*([AaPp][Mm]))?)?"
)
_YMD_CN = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日" + _TIME)
_YMD = re.compile(r"(?<!\d)(\d{4})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{1,2})(?!\d)" + _TIME)
_DMY = re.compile(r"(?<![\d/.])(\d{1,2})/(\d{1,2})/(\d{4})(?!\d)" + _TIME)
_YM_CN = re.compile(r"(?<!\d)(\d{4})\s*年\s*(\d{1,2})\s*月(?!\s*\d)")
_URL = re.compile(
    r"(?:/|[a-z_])((?:19|20)\d{2})[-_/]?(0[1-9]|1[0-2])[-_/]?(0[1-9]|[12]\d|3[01])(?:[/_.]|\d{0,6}[/_.])"
)


@dataclass(frozen=True, slots=True)
class Found:
    date: dt.date
    #: the time of day when the text shows one.
    at: dt.datetime | None
    start: int
    #: written as d/m/yyyy or m/d/yyyy with both numbers 12 or less and the text itself giving no
    #: order: the page's other dates or its URL may settle it (``settle``).
    ambiguous: bool = False


def _valid(y: int, m: int, d: int) -> dt.date | None:
    if not 1980 <= y <= dt.date.today().year + 1:
        return None
    try:
        return dt.date(y, m, d)
    except ValueError:
        return None


def _time(date: dt.date, groups: tuple[str | None, ...]) -> dt.datetime | None:
    half, hh, mm, ss, ampm = groups
    if hh is None or mm is None:
        return None
    h, mi, s = int(hh), int(mm), int(ss or 0)
    pm = (ampm or "").lower() == "pm" or half in ("下午", "晚上")
    if pm and h < 12:
        h += 12
    if (ampm or "").lower() == "am" and h == 12:
        h = 0
    try:
        return dt.datetime(date.year, date.month, date.day, h, mi, s)
    except ValueError:
        return None


#: every date pattern above holds a four-digit year: one scan for it spares most lines (prose, bylines,
#: links) the three full scans.
_YEAR_DIGITS = re.compile(r"\d{4}")


def find_dates(text: str) -> list[Found]:
    """Every plausible date in ``text``, in order of appearance."""
    out: list[Found] = []
    if not _YEAR_DIGITS.search(text):
        return out
    for pattern in (_YMD_CN, _YMD):
        for m in pattern.finditer(text):
            d = _valid(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            if d is not None:
                out.append(Found(d, _time(d, m.groups()[3:8]), m.start()))
    if not out:
        slashed = list(_DMY.finditer(text))
        # The text's own unambiguous dates settle the order of its ambiguous ones: 25/12/2004 beside
        # 7/5/2005 says day first, 12/25/2004 says month first.
        day_first = any(int(m.group(1)) > 12 >= int(m.group(2)) for m in slashed)
        month_first = any(int(m.group(2)) > 12 >= int(m.group(1)) for m in slashed)
        for m in slashed:
            a, b, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
            unsettled = False
            if b > 12 or a > 12:
                us = b > 12
            elif day_first != month_first:
                us = month_first
            else:
                # No such evidence: a 12-hour clock is the US habit (9/17/2004 5:54:13 AM); otherwise
                # day first, as most non-US sites write it, until the page says otherwise (settle).
                us = m.group(8) is not None
                unsettled = a != b
            d = _valid(y, a, b) if us else _valid(y, b, a)
            if d is not None:
                out.append(Found(d, _time(d, m.groups()[3:8]), m.start(), unsettled))
    out.sort(key=lambda f: f.start)
    return out


def slash_order(text: str, url: str = "") -> bool | None:
    """Whether the page writes slash dates month first (True), day first (False) or gives no sign (None).

    Evidence, strongest first: the page's unambiguous slash dates (25/12/2004 is day first, 12/25/2004
    month first), then a date in its URL, then its year-first dates, each compared with the ambiguous
    ones read both ways.
    """
    slashed = list(_DMY.finditer(text))
    day_first = any(int(m.group(1)) > 12 >= int(m.group(2)) for m in slashed)
    month_first = any(int(m.group(2)) > 12 >= int(m.group(1)) for m in slashed)
    if day_first != month_first:
        return month_first
    in_url = url_date(url) if url else None
    if in_url is not None:
        for m in slashed:
            a, b, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
            if _valid(y, a, b) == in_url:
                return True
            if _valid(y, b, a) == in_url:
                return False
    # Last, the page's year-first dates (comment stamps, a footer's update time): the reading that lies
    # nearer to them is the page's order.
    others = [
        d for pattern in (_YMD_CN, _YMD) for m in pattern.finditer(text)
        if (d := _valid(int(m.group(1)), int(m.group(2)), int(m.group(3)))) is not None
    ]
    if not others:
        return None
    for m in slashed:
        a, b, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
        us, eu = _valid(y, a, b), _valid(y, b, a)
        if us is None or eu is None or us == eu:
            continue
        near_us = min(abs((us - d).days) for d in others)
        near_eu = min(abs((eu - d).days) for d in others)
        if near_us != near_eu:
            return near_us < near_eu
    return None


def settle(found: Found, month_first: bool | None) -> Found:
    """An ambiguous slash date read in the page's order (``slash_order``); unchanged without evidence.

    Unsettled dates were read day first (see ``find_dates``), so month first swaps day and month.
    """
    if not found.ambiguous or month_first is None:
        return found
    if not month_first:
        return Found(found.date, found.at, found.start)
    d = _valid(found.date.year, found.date.day, found.date.month)
    if d is None:
        return found
    at = found.at.replace(month=d.month, day=d.day) if found.at is not None else None
    return Found(d, at, found.start)


def first_date(text: str) -> Found | None:
    found = find_dates(text)
    return found[0] if found else None


def parse_iso(value: str) -> Found | None:
    """A meta-tag or JSON-LD value: ISO 8601, or any of the text forms."""
    value = value.strip()
    try:
        stamp = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return first_date(value)
    d = _valid(stamp.year, stamp.month, stamp.day)
    if d is None:
        return None
    has_time = "T" in value or ":" in value
    return Found(d, stamp.replace(tzinfo=None) if has_time else None, 0)


def url_date(url: str) -> dt.date | None:
    """Dates CMSs put in article paths: /20231116/, /2023-11/16/, t20231116_123.html."""
    for m in _URL.finditer(url):
        d = _valid(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if d is not None:
            return d
    return None


def strip_dates(text: str) -> str:
    """``text`` with every date (and the time after it) blanked out."""
    for pattern in (_YMD_CN, _YMD, _DMY):
        text = pattern.sub(" ", text)
    return text


def find_month(text: str) -> dt.date | None:
    """A year and month with no day (2003年5月, 1996年6月号), as the month's first day."""
    if "年" not in text:
        return None
    for m in _YM_CN.finditer(text):
        d = _valid(int(m.group(1)), int(m.group(2)), 1)
        if d is not None:
            return d
    return None


def strip_month(text: str) -> str:
    return _YM_CN.sub(" ", text)


_LEFTOVER = re.compile(r"[\s:：,，.。()（）\[\]【】|/·\-—]*")


def date_only(text: str) -> Found | None:
    """The date when ``text`` is a date and nothing else (a signature date, a post's time stamp)."""
    found = find_dates(text)
    if len(found) != 1 or _LEFTOVER.fullmatch(strip_dates(text)) is None:
        return None
    return found[0]
