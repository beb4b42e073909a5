"""Unit gazetteer and unit matching.

The gazetteer is data (`data/gazetteer.tsv`, one row per unit with its sources) so adding a unit or a whole
group is a data change. All aliases, plus every group prefix glued to every alias, go into ONE Aho-Corasick
automaton scanned once per text with leftmost-longest semantics: 中国航发动力所 beats 航发动力, and the cost
does not grow with the number of units. Short aliases that are ordinary words (黎明, 南方, 研究院) only count
in unit-subject position. Unit-shaped names missing from the gazetteer come back unresolved instead of
being dropped, so operators can see what to add.
"""

from __future__ import annotations

import csv
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import ahocorasick

from parsers.cjkfold import fold
from parsers.records import UnitRef

_DATA = Path(__file__).with_name("data")


@dataclass(frozen=True, slots=True)
class GazetteerUnit:
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
        return UnitRef(
            mention=mention,
            name=self.name,
            full_name=self.full_name,
            aliases=self.aliases,
            resolved=True,
            unit_type=self.unit_type,
            group=self.group,
        )


@dataclass(frozen=True, slots=True)
class UnitMatch:
    """One unit mention: offsets into the searched text, and the unit (None when not in the gazetteer)."""

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


@dataclass(frozen=True, slots=True)
class _Entry:
    unit: GazetteerUnit
    subject_only: bool


@dataclass(frozen=True, slots=True)
class SubjectRules:
    followers: tuple[str, ...]
    separators: tuple[str, ...]
    list_ends: tuple[str, ...]
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
            left_boundary=frozenset(sub["left_boundary"]),
        )
        unk = conf["unknown"]
        self._unknown = _unknown_patterns(
            [p for ps in prefixes.values() for p in ps],
            unk["suffixes"],
            unk["org_followers"],
            self.rules.left_boundary,
            int(unk["max_name_chars"]),
        )
        self._excluded_starts: tuple[str, ...] = tuple(unk["excluded_starts"])
        self._automaton = ahocorasick.Automaton()
        entries: dict[str, _Entry] = {}
        for unit in self.units:
            group_prefixes = prefixes.get(unit.group, ())
            free = [unit.full_name] if unit.full_name else []
            free += [a for a in unit.aliases if a not in unit.subject_aliases]
            for alias in (*unit.aliases, unit.name):
                if group_prefixes and not alias.startswith(group_prefixes):
                    free += [p + alias for p in group_prefixes]
            for alias in free:
                entries.setdefault(fold(alias), _Entry(unit, subject_only=False))
            for alias in unit.subject_aliases:
                entries.setdefault(fold(alias), _Entry(unit, subject_only=True))
        for key, entry in entries.items():
            self._automaton.add_word(key, (len(key), entry))
        self._automaton.make_automaton()
        self.by_name = {u.name: u for u in self.units}

    def find(self, text: str, *, unknown: bool = True) -> list[UnitMatch]:
        """Unit mentions in reading order; with `unknown`, unit-shaped names not in the gazetteer too."""
        folded = fold(text)
        known = self._known(text, folded)
        if not unknown:
            return known
        extra = self._unknown_matches(text, folded, known)
        if not extra:
            return known
        return sorted(known + extra, key=lambda m: m.start)

    def _known(self, text: str, folded: str) -> list[UnitMatch]:
        raw: list[tuple[int, int, _Entry]] = []
        for end, (length, entry) in self._automaton.iter_long(folded):
            raw.append((end + 1 - length, end + 1, entry))
        if not raw:
            return []
        accepted = [not e.subject_only or self._subject_alone(folded, s, t) for s, t, e in raw]
        # a subject-only alias also counts inside a list of units (A、B、C等单位), in either direction
        changed = True
        while changed:
            changed = False
            for i, (s, t, _e) in enumerate(raw):
                if accepted[i] or not self._left_ok(folded, s, raw, i, accepted):
                    continue
                linked_left = i > 0 and accepted[i - 1] and self._joined(folded, raw[i - 1][1], s)
                linked_right = i + 1 < len(raw) and accepted[i + 1] and self._joined(folded, t, raw[i + 1][0])
                listed = folded.startswith(self.rules.list_ends, t) and self._list_member(folded, s, raw, i)
                if linked_left or linked_right or listed:
                    accepted[i] = changed = True
        return [
            UnitMatch(s, t, text[s:t], e.unit.name, e.unit) for (s, t, e), ok in zip(raw, accepted, strict=True) if ok
        ]

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

    def _unknown_matches(self, text: str, folded: str, known: list[UnitMatch]) -> list[UnitMatch]:
        taken = [(m.start, m.end) for m in known]
        out: list[UnitMatch] = []
        for pattern in self._unknown:
            for m in pattern.finditer(folded):
                start, end = m.span("mention")
                name = m.group("name")
                if name.startswith(self._excluded_starts) or any(s < end and start < t for s, t in taken):
                    continue
                taken.append((start, end))
                out.append(UnitMatch(start, end, text[start:end], text[m.start("name") : m.end("name")], None))
        return out


def _unknown_patterns(
    prefixes: list[str],
    suffixes: list[str],
    followers: list[str],
    left_boundary: frozenset[str],
    max_chars: int,
) -> tuple[re.Pattern[str], ...]:
    cjk = r"[\u4e00-\u9fffA-Za-z0-9]"
    prefix = "|".join(re.escape(p) for p in sorted(prefixes, key=len, reverse=True))
    follow = "|".join(re.escape(f) for f in followers)
    suffix = "|".join(re.escape(s) for s in sorted(suffixes, key=len, reverse=True))
    boundary = "".join(re.escape(c) for c in sorted(left_boundary))
    grouped = re.compile(rf"(?P<mention>(?:{prefix})(?P<name>{cjk}{{1,{max_chars}}}?))(?:公司)?(?={follow})")
    shaped = re.compile(
        rf"(?:^|(?<=[{boundary}]))(?P<mention>(?P<name>{cjk}{{1,{max_chars}}}?(?:{suffix})))(?={follow})"
    )
    return grouped, shaped


@cache
def _config() -> dict[str, Any]:
    return tomllib.loads((_DATA / "units.toml").read_text(encoding="utf-8"))


def _split(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split("|") if v.strip())


def load_units(path: Path | None = None) -> tuple[GazetteerUnit, ...]:
    with (path or _DATA / "gazetteer.tsv").open(encoding="utf-8", newline="") as fh:
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
