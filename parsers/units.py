"""Unit gazetteer and unit matching.

The gazetteer is data (`data/gazetteer.tsv`, one row per unit with its sources) so adding a unit or a whole
group is a data change. All aliases, plus every group prefix glued to every alias, go into ONE Aho-Corasick
automaton scanned once per text with leftmost-longest semantics: 中国航发动力所 beats 航发动力, and the cost
does not grow with the number of units. Short aliases that are ordinary words (黎明, 南方, 研究院) only count
in unit-subject position. Unit-shaped names missing from the gazetteer come back unresolved instead of
being dropped, so operators can see what to add.

gazetteer.tsv columns: name (canonical short name), full_name (legal name, empty when unknown), aliases
(`|`-separated, matched anywhere), subject_aliases (`|`-separated, matched only in unit-subject position),
unit_type (company / research institute / headquarters), city, group (key into units.toml [groups]),
source (where the row was seen), note (confidence, caveats). Group prefixes live in units.toml.
"""

from __future__ import annotations

import csv
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import ahocorasick

from parsers.cjkfold import fold
from parsers.datafiles import data_path, load_toml
from parsers.records import UnitRef


@dataclass(frozen=True, slots=True, eq=False)
class GazetteerUnit:
    """One gazetteer row. Compared and hashed by identity: each unit exists once per Gazetteer, and
    identity hashing keeps the per-mention UnitRef cache cheap."""

    name: str
    full_name: str | None
    aliases: tuple[str, ...]
    unit_type: str
    city: str | None
    group: str
    source: str
    #: aliases that are ordinary words or generic names and only count in unit-subject position.
    subject_aliases: tuple[str, ...] = ()
    note: str = ""

    def ref(self, mention: str) -> UnitRef:
        return _unit_ref(self, mention)


@lru_cache(maxsize=4096)
def _unit_ref(unit: GazetteerUnit, mention: str) -> UnitRef:
    """UnitRefs are immutable, so one per (unit, spelling) is shared by every record that names it."""
    return UnitRef(
        mention=mention,
        name=unit.name,
        full_name=unit.full_name,
        aliases=unit.aliases,
        resolved=True,
        unit_type=unit.unit_type,
        group=unit.group,
    )


class UnitMatch(NamedTuple):
    """One unit mention: offsets into the searched text, and the unit (None when not in the gazetteer).

    A NamedTuple rather than a frozen dataclass: thousands are made per second and tuples build faster."""

    start: int
    end: int
    mention: str
    name: str
    unit: GazetteerUnit | None

    @property
    def resolved(self) -> bool:
        return self.unit is not None

    def ref(self) -> UnitRef:
        if self.unit is not None:
            return self.unit.ref(self.mention)
        return UnitRef(mention=self.mention, name=self.name, resolved=False)


_UNIT, _PREFIX, _FOLLOWER = 0, 1, 2


@dataclass(frozen=True, slots=True)
class _Entry:
    unit: GazetteerUnit
    subject_only: bool


@dataclass(frozen=True, slots=True)
class SubjectRules:
    followers: tuple[str, ...]
    separators: tuple[str, ...]
    list_ends: tuple[str, ...]
    list_end_before_follower: str
    left_boundary: frozenset[str]


class Gazetteer:
    """All units plus the compiled automaton over their aliases."""

    def __init__(self, units: Iterable[GazetteerUnit], prefixes: dict[str, tuple[str, ...]]) -> None:
        self.units: tuple[GazetteerUnit, ...] = tuple(units)
        self.prefixes = prefixes
        conf = _config()
        sub = conf["subject"]
        self.rules = SubjectRules(
            followers=tuple(sub["followers"]),
            separators=tuple(sorted(sub["separators"], key=len, reverse=True)),
            list_ends=tuple(sorted(sub["list_ends"], key=len, reverse=True)),
            list_end_before_follower=sub["list_end_before_follower"],
            left_boundary=frozenset(sub["left_boundary"]),
        )
        unk = conf["unknown"]
        all_prefixes = sorted({p for ps in prefixes.values() for p in ps}, key=len, reverse=True)
        self._max_name = int(unk["max_name_chars"])
        self._suffixes: tuple[str, ...] = tuple(sorted(unk["suffixes"], key=len, reverse=True))
        self._suffix_ends = tuple({sfx[-1] for sfx in self._suffixes})
        self._excluded_starts: tuple[str, ...] = tuple(unk["excluded_starts"])
        self._automaton = ahocorasick.Automaton()
        entries: dict[str, _Entry] = {}
        for unit in self.units:
            group_prefixes = prefixes.get(unit.group, ())
            free = [unit.full_name] if unit.full_name else []
            free += [a for a in unit.aliases if a not in unit.subject_aliases]
            for alias in (*unit.aliases, unit.name):
                if group_prefixes and not alias.startswith(group_prefixes):
                    free += [_glue(p, alias) for p in group_prefixes]
            for alias in free:
                entries.setdefault(fold(alias), _Entry(unit, subject_only=False))
            for alias in unit.subject_aliases:
                entries.setdefault(fold(alias), _Entry(unit, subject_only=True))
        for key, entry in entries.items():
            self._automaton.add_word(key, (len(key), _UNIT, entry))
        # group prefixes and org-body words ride in the same automaton as markers, so the one scan also
        # yields where an unknown unit may sit (中国航发 … 党委) without any further pass over the text
        for key in all_prefixes:
            if key not in entries:
                self._automaton.add_word(key, (len(key), _PREFIX, None))
        for key in unk["org_followers"]:
            if key not in entries:
                self._automaton.add_word(key, (len(key), _FOLLOWER, None))
        self._automaton.make_automaton()
        self.by_name = {u.name: u for u in self.units}

    def find(self, text: str, *, unknown: bool = True) -> list[UnitMatch]:
        """Unit mentions in reading order; with `unknown`, unit-shaped names not in the gazetteer too."""
        return self.find_folded(text, fold(text), unknown=unknown)

    def find_folded(self, text: str, folded: str, *, unknown: bool = True) -> list[UnitMatch]:
        """`find` for callers that already folded the text (same length, see parsers.cjkfold)."""
        raw: list[tuple[int, int, _Entry]] = []
        markers: list[tuple[int, int, int]] = []
        for last, (length, kind, entry) in self._automaton.iter_long(folded):
            if kind == _UNIT:
                raw.append((last + 1 - length, last + 1, entry))
            else:
                markers.append((last + 1 - length, last + 1, kind))
        known = self._known(text, folded, raw)
        if not unknown or not markers:
            return known
        extra = self._unknown_matches(text, folded, known, markers)
        if not extra:
            return known
        return sorted(known + extra, key=lambda m: m.start)

    def _known(self, text: str, folded: str, raw: list[tuple[int, int, _Entry]]) -> list[UnitMatch]:
        if not raw:
            return []
        accepted = [not e.subject_only or self._subject_alone(folded, s, t) for s, t, e in raw]
        # a subject-only alias also counts inside a list of units (A、B、C等单位), in either direction;
        # alternate forward and backward passes so a long list settles in a few passes, not one per item
        order = range(len(raw))
        changed = not all(accepted)
        while changed:
            changed = False
            for i in (*order, *reversed(order)):
                if not accepted[i] and self._in_list(folded, raw, i, accepted):
                    accepted[i] = changed = True
        return [
            UnitMatch(s, t, text[s:t], e.unit.name, e.unit) for (s, t, e), ok in zip(raw, accepted, strict=True) if ok
        ]

    def _in_list(self, folded: str, raw: list[tuple[int, int, _Entry]], i: int, accepted: list[bool]) -> bool:
        s, t, _e = raw[i]
        if not self._left_ok(folded, s, raw, i, accepted):
            return False
        if i > 0 and accepted[i - 1] and self._joined(folded, raw[i - 1][1], s):
            return True
        if i + 1 < len(raw) and accepted[i + 1] and self._joined(folded, t, raw[i + 1][0]):
            return True
        r = self.rules
        ends_list = folded.startswith(r.list_ends, t) or (
            folded.startswith(r.list_end_before_follower, t)
            and folded.startswith(r.followers, t + len(r.list_end_before_follower))
        )
        return ends_list and self._list_member(folded, s, raw, i)

    def _subject_alone(self, folded: str, start: int, end: int) -> bool:
        left = start == 0 or folded[start - 1] in self.rules.left_boundary
        return left and folded.startswith(self.rules.followers, end)

    def _left_ok(
        self, folded: str, start: int, raw: list[tuple[int, int, _Entry]], i: int, accepted: list[bool]
    ) -> bool:
        if start == 0 or folded[start - 1] in self.rules.left_boundary:
            return True
        return i > 0 and accepted[i - 1] and self._joined(folded, raw[i - 1][1], start)

    def _list_member(self, folded: str, start: int, raw: list[tuple[int, int, _Entry]], i: int) -> bool:
        """A lone subject-only alias before 等单位 still needs a list: a separator right before it."""
        return i > 0 and self._joined(folded, raw[i - 1][1], start)

    def _joined(self, folded: str, left_end: int, right_start: int) -> bool:
        return folded[left_end:right_start] in self.rules.separators

    def _unknown_matches(
        self, text: str, folded: str, known: list[UnitMatch], markers: list[tuple[int, int, int]]
    ) -> list[UnitMatch]:
        """Unit-shaped names before an org body (XX党委) that no gazetteer alias covers: after a group
        prefix (中国航发XX党委), or ending in a unit suffix at a clause start (XX研究所党委)."""
        known_ends = {m.end for m in known}
        known_starts = [m.start for m in known]
        out: list[UnitMatch] = []
        last_end = -1
        prefix_end = -1
        prefix_start = -1
        for start, end, kind in markers:
            if kind == _PREFIX:
                prefix_start, prefix_end = start, end
                continue
            f = start
            if f in known_ends or (folded.endswith("公司", 0, f) and f - 2 in known_ends):
                continue
            found = self._after_prefix(folded, prefix_start, prefix_end, f) or self._shaped_before(folded, f)
            if found is None:
                continue
            m_start, m_end, name_start, name_end = found
            name = folded[name_start:name_end]
            if name.startswith(self._excluded_starts) or m_start < last_end:
                continue
            i = bisect_left(known_starts, m_end)  # the known match starting before m_end, if any, overlaps?
            if i and known[i - 1].end > m_start:
                continue
            last_end = m_end
            out.append(UnitMatch(m_start, m_end, text[m_start:m_end], text[name_start:name_end], None))
        return out

    def _after_prefix(
        self, folded: str, prefix_start: int, prefix_end: int, f: int
    ) -> tuple[int, int, int, int] | None:
        if prefix_end < 0 or not 0 < f - prefix_end <= self._max_name + 2:
            return None
        name_end = f - 2 if folded.endswith("公司", prefix_end, f) and f - prefix_end > 2 else f
        if not all(_is_word_char(ch) for ch in folded[prefix_end:name_end]):
            return None
        return prefix_start, name_end, prefix_end, name_end

    def _shaped_before(self, folded: str, f: int) -> tuple[int, int, int, int] | None:
        if not folded.endswith(self._suffix_ends, 0, f):
            return None
        k = f
        while k > 0 and f - k <= self._max_name and _is_word_char(folded[k - 1]):
            k -= 1
        if f - k > self._max_name or (k > 0 and folded[k - 1] not in self.rules.left_boundary):
            return None
        name = folded[k:f]
        if name.endswith(self._suffixes) and name not in self._suffixes:
            return k, f, k, f
        return None


def _glue(prefix: str, alias: str) -> str:
    """Prefix + alias, sharing the overlap: 中国航发 + 航发资产 → 中国航发资产, 中国航发 + 东安 → 中国航发东安."""
    for k in range(min(len(prefix), len(alias)) - 1, 0, -1):
        if prefix.endswith(alias[:k]):
            return prefix + alias[k:]
    return prefix + alias


def _is_word_char(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or (ch.isascii() and ch.isalnum())


def _config() -> dict[str, Any]:
    return load_toml("units.toml")


def _split(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split("|") if v.strip())


def load_units(path: Path | None = None) -> tuple[GazetteerUnit, ...]:
    with (path or data_path("gazetteer.tsv")).open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    units = []
    for row in rows:
        subject = _split(row["subject_aliases"])
        aliases = tuple(dict.fromkeys((*_split(row["aliases"]), *subject)))
        units.append(
            GazetteerUnit(
                name=row["name"].strip(),
                full_name=row["full_name"].strip() or None,
                aliases=aliases,
                unit_type=row["unit_type"].strip(),
                city=row["city"].strip() or None,
                group=row["group"].strip(),
                source=row["source"].strip(),
                subject_aliases=subject,
                note=row["note"].strip(),
            )
        )
    return tuple(units)


@cache
def gazetteer() -> Gazetteer:
    """The gazetteer built from the data files, compiled once per process."""
    groups = _config()["groups"]
    prefixes = {name: tuple(spec["prefixes"]) for name, spec in groups.items()}
    return Gazetteer(load_units(), prefixes)
