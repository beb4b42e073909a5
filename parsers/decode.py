"""Bytes to text, the way browsers do it, plus a check that the result is not mojibake.

Order of trust: BOM, then the HTTP header, then ``<meta charset>``; GB2312 and GBK are decoded as their
superset GB18030 because real pages labelled GB2312 routinely contain GBK-only characters. A declared
charset that does not decode cleanly is treated as a lie and detection takes over.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from charset_normalizer import from_bytes

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_\-]+)""", re.IGNORECASE)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([a-zA-Z0-9_\-]+)", re.IGNORECASE)
#: UTF-32 LE first: its BOM begins with the UTF-16 LE BOM.
_BOMS = (
    (codecs.BOM_UTF8, "utf-8", "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le", "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16"),
)
#: wide encodings a page can be sent in without a BOM; told apart by where the NUL bytes sit.
#: (codec, bytes per unit, offset of the ASCII byte in a unit whose other bytes are NUL).
_WIDE = (("utf-32-le", 4, 0), ("utf-32-be", 4, 3), ("utf-16-le", 2, 0), ("utf-16-be", 2, 1))
_SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "gb_2312-80": "gb18030",
              "iso-8859-1": "cp1252", "latin-1": "cp1252", "ascii": "utf-8", "us-ascii": "utf-8"}
#: codecs under which every byte string decodes, so a clean decode proves nothing.
_SINGLE_BYTE = frozenset({"cp1252", "iso8859-1", "iso8859-15", "cp1251", "koi8-r", "mac-roman"})
_LATIN_RUN = re.compile(r"[\u00c0-\u00ff][\u0080-\u00ff]")
#: C0 control bytes other than tab, newline, vertical tab, form feed and carriage return.
_CONTROL_BYTES = bytes(range(9)) + bytes(range(14, 32))
#: share of U+FFFD in decoded text above which the decode is considered wrong.
_MAX_REPLACEMENT_SHARE = 0.001


@dataclass(frozen=True, slots=True)
class Decoded:
    text: str
    encoding: str
    #: how the encoding was chosen: bom, header, meta, fallback or detected.
    method: str


def _normalise(label: str | None) -> str | None:
    if not label:
        return None
    label = label.strip().lower()
    label = _SUPERSETS.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def _strict(body: bytes, encoding: str) -> str | None:
    """A clean decode; a page cut inside its last character (truncated download) still counts."""
    try:
        return body.decode(encoding)
    except UnicodeDecodeError as err:
        if err.start >= len(body) - 4:
            return body.decode(encoding, errors="replace")
        return None
    except LookupError:
        return None


def _lenient(body: bytes, encoding: str) -> str | None:
    """Accept a decode with a handful of broken bytes (truncated pages), never a wholesale mismatch."""
    try:
        text = body.decode(encoding, errors="replace")
    except LookupError:
        return None
    if text.count("\ufffd") <= max(1, int(len(text) * _MAX_REPLACEMENT_SHARE)):
        return text
    return None


def declared_charset(body: bytes, content_type: str | None) -> tuple[str | None, str]:
    """The charset the page claims, and where the claim was found."""
    if content_type:
        hm = _HEADER_CHARSET.search(content_type)
        if hm and _normalise(hm.group(1)):
            return _normalise(hm.group(1)), "header"
    m = _META_CHARSET.search(body[:8192])
    if m:
        enc = _normalise(m.group(1).decode("ascii", "ignore"))
        if enc:
            return enc, "meta"
    return None, "none"


def decode(body: bytes, content_type: str | None = None) -> Decoded:
    for bom, enc, name in _BOMS:
        if body.startswith(bom):
            return Decoded(body[len(bom):].decode(enc, errors="replace"), name, "bom")
    wide = wide_encoding(body)
    if wide is not None:
        return Decoded(body.decode(wide, errors="replace"), wide, "detected")
    declared, where = declared_charset(body, content_type)
    candidates: list[tuple[str, str]] = []
    if declared and declared not in _SINGLE_BYTE:
        candidates.append((declared, where))
    # A page with no claim, or a false one, is nearly always UTF-8 or GB18030 in this field.
    candidates += [("utf-8", "fallback"), ("gb18030", "fallback")]
    if declared in _SINGLE_BYTE:
        # A single-byte codec decodes any bytes without error, so a clean decode proves nothing:
        # UTF-8 (which almost never decodes by accident) goes first, and the claim must not read
        # as mojibake.
        utf8 = _strict(body, "utf-8")
        if utf8 is not None:
            return Decoded(utf8, "utf-8", "detected")
        text = _strict(body, declared)
        if text is not None and not looks_mojibake(text):
            return Decoded(text, declared, where)
    for enc, method in candidates:
        text = _strict(body, enc)
        if text is not None:
            return Decoded(text, enc, method)
    for enc, method in candidates:
        text = _lenient(body, enc)
        if text is not None:
            return Decoded(text, enc, method)
    best = from_bytes(body[:200_000]).best()
    if best is not None and best.encoding:
        enc = _normalise(best.encoding) or best.encoding
        return Decoded(body.decode(enc, errors="replace"), enc, "detected")
    return Decoded(body.decode("utf-8", errors="replace"), "utf-8", "fallback")


def looks_mojibake(text: str) -> bool:
    """UTF-8 or GBK bytes read as Latin-1 leave runs like 'ä¸­' or 'ÖÐ'; real Latin text rarely does."""
    sample = text[:20_000]
    latin = sum(1 for ch in sample if "\u0080" <= ch <= "\u00ff")
    if latin < 20:
        return False
    letters = sum(1 for ch in sample if ch.isalpha())
    # in real Western text accented letters are a few percent of letters; in mojibake most of them
    return latin > 0.3 * letters or len(_LATIN_RUN.findall(sample)) * 2 > latin * 0.5


def wide_encoding(body: bytes) -> str | None:
    """UTF-16 or UTF-32 without a BOM: ASCII markup leaves NUL bytes at fixed offsets of every unit.

    Checked on the head only and only when NULs are common, so ordinary pages pay one ``count``.
    """
    head = body[:4096]
    if head.count(0) < len(head) // 4:
        return None
    for enc, width, lead in _WIDE:
        units = [head[i:i + width] for i in range(0, len(head) - width + 1, width)]
        ascii_units = sum(1 for u in units if 0 < u[lead] < 128 and u.count(0) == width - 1)
        if units and ascii_units >= 0.6 * len(units):
            return enc
    return None


def looks_binary(body: bytes) -> bool:
    """NUL bytes or a large share of control bytes in the head mean this is not a text page.

    UTF-16 and UTF-32 pages are full of NULs but are text: a BOM, or NULs where wide ASCII puts them,
    says so.
    """
    head = body[:4096]
    if not head:
        return False
    if head.startswith(tuple(bom for bom, _, _ in _BOMS)) or wide_encoding(head) is not None:
        return False
    if b"\x00" in head:
        return True
    # counted by deleting them in C: a Python loop over the head was a large part of a page's decode
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    return controls / len(head) > 0.1
