"""Template-free signals of a dead page: what its title, headings and short lines say it is.

Templates (``data/verdict_rules.toml``) only know the servers and vendors someone wrote down; a soft-404
or a maintenance page of any other site still names itself in its title or heading, in its own language.
A segment of text is read as a signal when phrases of ``data/verdict_phrases.toml`` and HTTP status codes
cover most of its letters: "404 - 找不到文件或目录" is all signal, "Server error hits the bank" is a
headline. Coverage, not presence, is what keeps real pages that mention 404 or 维护 out.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache

import ahocorasick

from parsers.datafiles import load_toml
from parsers.document import TextBlock
from parsers.records import VerdictName

#: kinds in the order they win when one text carries several ("Error 404 (Not Found)" is a not-found).
KIND_ORDER: tuple[str, ...] = (
    "not_found", "blocked", "expired", "parked", "maintenance", "closed", "coming_soon", "error"
)
_FILLER = "-"
#: separators between a title's parts ("404 - 某某网", "Fehler 404 | Bank", "页面不存在_某网").
_TITLE_SPLIT = re.compile(
    r"\s+[|\-–—:·»/]+\s+|\s*[|｜_]+\s*|::+|\s+-\s*|\s*-\s+|(?<=[\d\u3000-\u9fff])-|-(?=[\u3000-\u9fff])"
)
#: a status code standing alone ("404", "403.503", "۴۰۴"); other digits never count as covered or not.
_CODE = re.compile(r"(?<![\w.])(\d{3})(?:\.\d{1,3})?(?![\w])")


@dataclass(frozen=True, slots=True)
class SignalLimits:
    title_cover: float = 0.6
    heading_cover: float = 0.6
    line_cover: float = 0.5
    heading_max: int = 90
    line_max: int = 90
    head_lines: int = 3
    rich_main: int = 1500
    thin_main: int = 700
    thin_text: int = 4000
    line_signal_main: int = 1200
    presence_main: int = 450
    presence_text: int = 1000
    presence_site_text: int = 600
    presence_line_max: int = 150
    presence_latin_min: int = 8
    presence_cjk_min: int = 3


@dataclass(frozen=True)
class PhraseTable:
    verdict_of: dict[str, VerdictName]
    codes: dict[int, str]
    paths: dict[str, re.Pattern[str]]
    limits: SignalLimits
    #: payload: (kind or "-" for filler, phrase length, needs word boundaries)
    automaton: ahocorasick.Automaton = field(repr=False)
    #: the not-found phrases alone: the prefilter of line_signal
    not_found_automaton: ahocorasick.Automaton = field(repr=False)
    languages: tuple[str, ...] = ()

    def kind_of_code(self, code: int) -> str | None:
        """Only codes servers send (CDNs' 52x included): "498" in a phone number is no status."""
        if not (400 <= code <= 431 or code == 451 or 500 <= code <= 511 or 520 <= code <= 530):
            return None
        return self.codes.get(code, "error")


@dataclass(frozen=True, slots=True)
class Reading:
    """What one piece of text says: the kinds its phrases name, a status code, and the covered share."""

    kinds: frozenset[str]
    code_kind: str | None
    cover: float

    @property
    def kind(self) -> str | None:
        """A code names the kind more precisely than words ("500 - 页面不存在" is a server error)."""
        if self.code_kind is not None:
            return self.code_kind
        return next((k for k in KIND_ORDER if k in self.kinds), None)


_HAS_DIGIT = re.compile(r"\d")
_SILENT = Reading(frozenset(), None, 0.0)


@dataclass(frozen=True, slots=True)
class Signal:
    kind: str
    verdict: VerdictName
    #: title, heading, line, message, refresh or redirect
    where: str
    text: str
    cover: float
    #: the kind comes from a status code written in the text, the most precise word a page can say
    by_code: bool = False


def _latin(ch: str) -> bool:
    return ch.isascii() or "\u00c0" <= ch <= "\u024f" or "\u0370" <= ch <= "\u04ff"


@cache
def table() -> PhraseTable:
    """The compiled phrase table (loaded once per process)."""
    data = load_toml("verdict_phrases.toml")
    verdict_of: dict[str, VerdictName] = dict(data["kinds"])
    if set(verdict_of) != set(KIND_ORDER):
        raise ValueError("verdict phrases: [kinds] must name exactly " + ", ".join(KIND_ORDER))
    codes = {int(k): str(v) for k, v in data.get("codes", {}).items()}
    if not set(codes.values()) <= set(KIND_ORDER):
        raise ValueError("verdict phrases: [codes] maps to an unknown kind")
    automaton = ahocorasick.Automaton()
    entries: dict[str, tuple[str, int, bool]] = {}

    def add(phrase: str, kind: str) -> None:
        low = phrase.strip().lower()
        if not low:
            return
        bounded = _latin(low[0]) or _latin(low[-1])
        old = entries.get(low)
        if old is not None and old[0] != _FILLER and old[0] != kind:
            # one phrase, two kinds: the earlier kind in KIND_ORDER is the more specific reading
            kind = min(old[0], kind, key=KIND_ORDER.index)
        entries[low] = (kind, len(low), bounded)

    langs: list[str] = []
    for lang in data["language"]:
        langs.append(str(lang["code"]))
        if not str(lang.get("source", "")).strip():
            raise ValueError(f"verdict phrases: language {lang['code']} has no source")
        for kind in KIND_ORDER:
            for phrase in lang.get(kind, []):
                add(str(phrase), kind)
    for word in data.get("filler", {}).get("words", []):
        low = str(word).lower()
        if low not in entries:
            entries[low] = (_FILLER, len(low), _latin(low[0]) or _latin(low[-1]))
    not_found = ahocorasick.Automaton()
    for low, payload in entries.items():
        automaton.add_word(low, payload)
        if payload[0] == "not_found":
            not_found.add_word(low, payload)
    automaton.make_automaton()
    not_found.make_automaton()
    paths = {k: re.compile(str(v)) for k, v in data.get("paths", {}).items()}
    limits = SignalLimits(**data.get("signal", {}))
    return PhraseTable(verdict_of, codes, paths, limits, automaton, not_found, tuple(langs))


def read(text: str, tab: PhraseTable | None = None) -> Reading:
    """Which kinds the phrases in ``text`` name and what share of its letters and digits phrases and codes
    cover (a phone number or a price next to a code is not covered)."""
    tab = tab or table()
    low = text.lower()
    if len(low) != len(text):  # a few characters change length when lower-cased; offsets must hold
        low = "".join(ch.lower()[:1] or ch for ch in text)
    covered = bytearray(len(low))
    kinds: set[str] = set()
    for end, (kind, length, bounded) in tab.automaton.iter(low):
        start = end - length + 1
        if bounded and ((start > 0 and low[start - 1].isalnum()) or (end + 1 < len(low) and low[end + 1].isalnum())):
            continue
        covered[start:end + 1] = b"\x01" * length
        if kind != _FILLER:
            kinds.add(kind)
    code_kind = None
    if not kinds and _HAS_DIGIT.search(low) is None:
        return _SILENT  # most lines of most pages: no phrase, no code, no need to count letters
    for m in _CODE.finditer(low):
        kind = tab.kind_of_code(int(m.group(1)))
        if kind is not None:
            covered[m.start():m.end()] = b"\x01" * (m.end() - m.start())
            code_kind = code_kind or kind
    total = hit = 0
    for ch, c in zip(low, covered, strict=True):
        if ch.isalnum():
            total += 1
            hit += c
    return Reading(frozenset(kinds), code_kind, hit / total if total else 0.0)


def title_parts(title: str) -> list[str]:
    return [p for p in (s.strip() for s in _TITLE_SPLIT.split(title)) if p]


def best(signals: Iterable[Signal | None]) -> Signal | None:
    """Status codes first ("405 - … the page you are looking for …" is a 405), then KIND_ORDER."""
    ranked = sorted((s for s in signals if s is not None),
                    key=lambda s: (not s.by_code, KIND_ORDER.index(s.kind), -s.cover))
    return ranked[0] if ranked else None


def _signal(text: str, where: str, minimum: float, tab: PhraseTable) -> Signal | None:
    r = read(text, tab)
    kind = r.kind
    if kind is None or r.cover < minimum:
        return None
    return Signal(kind, tab.verdict_of[kind], where, text[:200], round(r.cover, 2), r.code_kind is not None)


def title_signal(title: str, tab: PhraseTable | None = None) -> Signal | None:
    """The title, whole or one of its parts (the other part is usually the site's name)."""
    tab = tab or table()
    if not title or len(title) > 300:
        return None
    parts = title_parts(title)
    # dict, not set: among equally good readings the first wins, and a set's order changes with the hash
    # seed (the evidence named the whole title in one run and one of its parts in the next)
    found = [s for s in (_signal(p, "title", tab.limits.title_cover, tab) for p in dict.fromkeys((title, *parts))) if s]
    return best(found)


def heading_signal(headings: Sequence[str], tab: PhraseTable | None = None) -> Signal | None:
    tab = tab or table()
    found = []
    for text in headings:
        if len(text) > tab.limits.heading_max:
            continue
        for part in dict.fromkeys((text, *title_parts(text))):  # in order, as in title_signal
            s = _signal(part, "heading", tab.limits.heading_cover, tab)
            if s is not None:
                found.append(s)
    return best(found)


#: class or id words of elements that scripts show on demand (an error overlay kept in every page).
_SCRIPT_SHOWN = re.compile(r"modal|popup|overlay|dialog|loader|toast|tooltip|hidden|template|alert")
_HEADING_TAGS = frozenset({"h1", "h2", "h3", "h4"})


def line_signal(blocks: Sequence[TextBlock], tab: PhraseTable | None = None) -> Signal | None:
    """A short line that is a not-found sentence: soft-404s behind a site's normal title and navigation.

    A heading counts wherever it sits; another block only before the page's last tenth (where
    script-shown messages and footers live) and never inside an element named as a modal or overlay.
    """
    tab = tab or table()
    n = len(blocks)
    short = [i for i, b in enumerate(blocks) if 3 <= len(b.text) <= tab.limits.line_max]
    # one automaton pass and one regex pass over all short lines find the few worth reading
    joined = "\n".join(blocks[i].text for i in short).lower()
    starts = list(itertools.accumulate((len(blocks[i].text) + 1 for i in short), initial=0))
    marked = {bisect.bisect_right(starts, end) - 1 for end, _ in tab.not_found_automaton.iter(joined)}
    marked |= {bisect.bisect_right(starts, m.start()) - 1 for m in _CODE.finditer(joined)}
    for k in sorted(marked):
        i = short[k]
        block = blocks[i]
        if block.tag not in _HEADING_TAGS and (i >= n * 0.9 or _SCRIPT_SHOWN.search(block.hint)):
            continue
        s = _signal(block.text, "line", tab.limits.line_cover, tab)
        if s is not None and s.kind == "not_found":
            return s
    return None


def presence_signal(blocks: Sequence[TextBlock], tab: PhraseTable | None = None) -> Signal | None:
    """On a page that is only a short message, a phrase anywhere in it speaks: "This site is currently
    undergoing maintenance", "leider ist ein Fehler aufgetreten". Only phrases long enough to be a formula
    (two Latin words, three CJK characters) count, so a lone "error" in a footer does not."""
    tab = tab or table()
    lim = tab.limits
    found: list[Signal] = []
    for block in blocks[:40]:
        text = block.text
        # a link is navigation ("メンテナンス情報" in a menu), not the page speaking
        if len(text) > lim.presence_line_max or block.link_chars * 2 > len(text):
            continue
        low = text.lower()
        for end, (kind, length, bounded) in tab.automaton.iter(low):
            if kind == _FILLER or length < (lim.presence_latin_min if bounded else lim.presence_cjk_min):
                continue
            start = end - length + 1
            if bounded and ((start > 0 and low[start - 1].isalnum())
                            or (end + 1 < len(low) and low[end + 1].isalnum())):
                continue
            found.append(Signal(kind, tab.verdict_of[kind], "message", text[:200], round(length / len(low), 2)))
    return best(found)


def path_signal(url: str, where: str, tab: PhraseTable | None = None) -> Signal | None:
    """A refresh or redirect target whose path names an error page (/404.html, /waf/deny02.html)."""
    tab = tab or table()
    path = url.lower().split("?", 1)[0].split("#", 1)[0]
    if "://" in path:
        path = path.split("://", 1)[1].partition("/")[2]
    for kind in KIND_ORDER:
        pattern = tab.paths.get(kind)
        if pattern is not None and pattern.search("/" + path):
            return Signal(kind, tab.verdict_of[kind], where, url[:200], 1.0)
    return None
