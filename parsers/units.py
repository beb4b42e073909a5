"""Unit registry and unit matching, scoped by group.

The registry is data: `data/groups.tsv` (one row per central SOE group: prefixes, merges, sources) and
`data/units.tsv` (one row per unit: aliases, type, city, sources), so adding a group, a unit or an alias is
one row. All aliases, every group prefix glued to every alias of that group's units, and the group prefixes
themselves go into ONE Aho-Corasick automaton scanned once per text with leftmost-longest semantics:
航天科工三院 beats 航天 + 科工三院, and the cost does not grow with the number of units.

Recognition (issue 14): distinctive aliases (four or more characters) count anywhere; short or
ordinary-word aliases (东安, 一院, 十四所) only after their own group's prefix, in subject position (followed
by an org body) or inside a list joined to an accepted unit (航空工业洪都、昌飞、哈飞等单位党委). Numbered
units (509所, 八院804所, 七〇二所) and departments of a known unit (五院总体设计部) are read by shape. A name
after a known group prefix that no alias covers (航空工业XX党委) comes back as an unresolved unit of that
group, never dropped, so operators can see what to add.

units.tsv columns: group (key into groups.tsv), name (canonical short name), full_name, aliases
(`|`-separated), subject_aliases (`|`-separated subset matched only in subject position or after a
prefix), unit_type, city, source (where the row was seen), confidence, note.
groups.tsv columns: key, label, prefixes (`|`-separated), merged_into (the key that absorbed a historic
group: its prefixes then name the successor's units), sasac_list, source, note.
"""

from __future__ import annotations

import csv
import re
from bisect import bisect_left, insort
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Final, NamedTuple

import ahocorasick_rs

from parsers.cjkfold import fold
from parsers.datafiles import data_path, load_toml
from parsers.records import UnitRef


@dataclass(frozen=True, slots=True)
class Group:
    """One central SOE group: the prefixes news writes before its units' names."""

    key: str
    label: str
    prefixes: tuple[str, ...]
    merged_into: str | None = None
    source: str = ""
    note: str = ""


@dataclass(frozen=True, slots=True, eq=False)
class GazetteerUnit:
    """One units.tsv row. Compared and hashed by identity: each unit exists once per Gazetteer, and
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
    confidence: str = ""

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
    """One unit mention: offsets into the searched text, and the unit (None when not in the registry;
    `group` then says whose unit it is when a prefix or context told). The `name` of a unit not in the
    registry is its folded spelling (三院３１所 → 三院31所, traditional → simplified), as a registry unit's name
    is the registry's: the same unit gets one name however a page writes it (issue 14 family C, fresh5).

    A NamedTuple rather than a frozen dataclass: thousands are made per second and tuples build faster."""

    start: int
    end: int
    mention: str
    name: str
    unit: GazetteerUnit | None
    group: str | None = None

    @property
    def resolved(self) -> bool:
        return self.unit is not None

    def ref(self) -> UnitRef:
        if self.unit is not None:
            return self.unit.ref(self.mention)
        return UnitRef(mention=self.mention, name=self.name, resolved=False, group=self.group)


_UNIT, _PREFIX, _FOLLOWER = 0, 1, 2
#: mypyc compiled this module: a loop of str.find then beats a character-class scan (not so interpreted).
_COMPILED: Final = not __file__.endswith(".py")
#: builds a NamedTuple from a full tuple of fields without its Python-level __new__ (hot loops only).
_tuple_new = tuple.__new__


@dataclass(frozen=True, slots=True)
class _Entry:
    #: more than one unit when a bare alias is shared between groups (四院: CASC and CASIC).
    units: tuple[GazetteerUnit, ...]
    subject_only: bool


@dataclass(frozen=True, slots=True)
class SubjectRules:
    followers: tuple[str, ...]
    separators: tuple[str, ...]
    list_ends: tuple[str, ...]
    list_end_before_follower: str
    left_boundary: frozenset[str]
    partner_left: frozenset[str]
    partner_left_not_after: frozenset[str]
    shared_prefixes: tuple[str, ...]


class _Raw(NamedTuple):
    start: int
    end: int
    entry: _Entry


class Gazetteer:
    """All groups and units plus the compiled automaton over their aliases."""

    def __init__(self, units: Iterable[GazetteerUnit], groups: Iterable[Group] | Mapping[str, tuple[str, ...]]) -> None:
        self.units: tuple[GazetteerUnit, ...] = tuple(units)
        if isinstance(groups, Mapping):  # {key: prefixes}, for callers that only know prefixes
            groups = [Group(k, k, tuple(v)) for k, v in groups.items()]
        self.groups: dict[str, Group] = {g.key: g for g in groups}
        #: prefixes that name each group's units, the successor's including its merged predecessors'.
        self.prefixes: dict[str, tuple[str, ...]] = {}
        for g in self.groups.values():
            owner = g.merged_into or g.key
            self.prefixes[owner] = (*self.prefixes.get(owner, ()), *g.prefixes)
        conf = _config()
        sub = conf["subject"]
        self.rules = SubjectRules(
            followers=tuple(sub["followers"]),
            separators=tuple(sorted(sub["separators"], key=len, reverse=True)),
            list_ends=tuple(sorted(sub["list_ends"], key=len, reverse=True)),
            list_end_before_follower=sub["list_end_before_follower"],
            left_boundary=frozenset(sub["left_boundary"]),
            partner_left=frozenset(sub["partner_left"]),
            partner_left_not_after=frozenset(sub["partner_left_not_after"]),
            shared_prefixes=tuple(fold(w) for w in sub["shared_prefixes"]),
        )
        unk, num = conf["unknown"], conf["numbered"]
        self._max_name = int(unk["max_name_chars"])
        self._suffixes: tuple[str, ...] = tuple(sorted(unk["suffixes"], key=len, reverse=True))
        #: words that name a kind of unit (研究院, 公司): never a unit on their own.
        self.generic_names = frozenset(self._suffixes)
        self._suffix_ends = tuple({sfx[-1] for sfx in self._suffixes})
        self._excluded_starts: tuple[str, ...] = tuple(unk["excluded_starts"])
        self._breakers = re.compile("|".join(re.escape(w) for w in sorted(unk["name_breakers"], key=len, reverse=True)))
        self._weak_prefix = int(unk["weak_prefix_max_chars"])
        self._org_followers: tuple[str, ...] = tuple(sorted(unk["org_followers"], key=len, reverse=True))
        self._not_followers: tuple[str, ...] = tuple(unk["not_org_followers"])
        self._follower_re = re.compile("|".join(re.escape(f) for f in self._org_followers))
        self._generic: tuple[str, ...] = tuple(unk["generic_endings"])
        self._outside: tuple[str, ...] = tuple(unk["outside_words"])
        self._regions = frozenset(unk["region_names"])
        #: every group's own names (中国商飞, 中国商飞公司): read by shape they are the group acting, not a unit.
        self._group_names = frozenset(pre for g in self.groups.values() for pre in g.prefixes)
        self._numerals = frozenset(_char_range(num["numerals"]))
        self._number_words: tuple[str, ...] = tuple(sorted(num["words"], key=len, reverse=True))
        number_word_chars = tuple(dict.fromkeys(w[0] for w in self._number_words))
        self._number_word_order = {ch: n for n, ch in enumerate(number_word_chars)}
        self._number_word_chars = number_word_chars
        #: no numeral is a unit word's first character: then the pattern's matches never overlap, and a
        #: str.find per word character finds them (several times faster than the class scan).
        self._numeral_word_by_find = self._numerals.isdisjoint(number_word_chars)
        #: a numeral then the first character of a unit word (804所, 十四所): one C scan finds the few
        #: candidates, where a str.find per word visited every 所 and 院 of the text in Python.
        self._numeral_word = re.compile(
            f"[{re.escape(''.join(sorted(self._numerals)))}][{re.escape(''.join(number_word_chars))}]"
        )
        self._bare_words: tuple[str, ...] = tuple(num["bare_words"])
        self._bare_min = int(num["bare_min_numeral_chars"])
        self._subunit_endings: tuple[str, ...] = tuple(sorted(num["subunit_endings"], key=len, reverse=True))
        self._subunit_max = int(num["subunit_max_chars"])
        self._department_parents: tuple[str, ...] = tuple(num["department_parent_endings"])
        found: dict[str, list[tuple[GazetteerUnit, bool]]] = {}
        for unit in self.units:
            group_prefixes = self.prefixes.get(unit.group, ())
            free = [unit.full_name] if unit.full_name else []
            free += [a for a in unit.aliases if a not in unit.subject_aliases]
            for alias in (*unit.aliases, unit.name):
                if group_prefixes and not alias.startswith(group_prefixes):
                    free += [_glue(p, alias) for p in group_prefixes]
            for alias in free:
                found.setdefault(fold(alias), []).append((unit, False))
            for alias in unit.subject_aliases:
                found.setdefault(fold(alias), []).append((unit, True))
        own_prefixes = {(g.key, fold(p)) for g in self.groups.values() for p in g.prefixes}
        entries: dict[str, _Entry] = {}
        for key, pairs in found.items():
            if any((u.group, key) in own_prefixes for u, _s in pairs):
                continue  # a group's headquarters named by the group's own name: a prefix, not a unit
            free_units = [u for u, subject in pairs if not subject]
            if free_units:  # a free spelling of one unit wins over a bare alias of another
                entries[key] = _Entry((free_units[0],), subject_only=False)
            else:
                entries[key] = _Entry(tuple(dict.fromkeys(u for u, _s in pairs)), subject_only=True)
        #: every automaton key with (kind, payload): a unit entry, a prefix's group, or None for an org body.
        self._keys: dict[str, tuple[int, Any]] = {key: (_UNIT, entry) for key, entry in entries.items()}
        # group prefixes and org-body words ride in the same automaton as markers, so the one scan also
        # yields where an unknown unit may sit (中国航发 … 党委) without any further pass over the text
        for owner, group_prefixes in self.prefixes.items():
            for key in group_prefixes:
                key = fold(key)
                if key not in entries:
                    self._keys[key] = (_PREFIX, owner)
        for key in self._org_followers:
            if key not in entries:
                self._keys[key] = (_FOLLOWER, None)
        self._keys.pop("", None)  # an empty key would match everywhere
        self._values = list(self._keys.values())
        # leftmost-longest, so 航天科工三院 is CASIC's 三院 and never 航天 + 科工三院
        # a DFA scans faster than the default NFA (seed paragraphs: 21.5 against 23.8 us per article, measured
        # with benchmarks' seed); it costs more memory, which one registry of about a thousand keys can spare
        self._automaton = ahocorasick_rs.AhoCorasick(
            self._keys,
            matchkind=ahocorasick_rs.MatchKind.LeftmostLongest,
            implementation=ahocorasick_rs.Implementation.DFA,
        )
        self.by_name: dict[str, GazetteerUnit] = {}
        for u in self.units:
            self.by_name.setdefault(u.name, u)

    def groups_named(self, text: str) -> list[str]:
        """Groups named in `text` (by prefix or by one of their units), in reading order."""
        out: list[str] = []
        for i, _start, _end in self._automaton.find_matches_as_indexes(fold(text)):
            kind, payload = self._values[i]
            if kind == _PREFIX:
                out.append(payload)
            elif kind == _UNIT and len(payload.units) == 1 and not payload.subject_only:
                out.append(payload.units[0].group)
        return out

    def mentions(self, text: str) -> list[tuple[int, int, tuple[str, ...]]]:
        """Every registry alias in `text` with the names of the units it may be, in subject position or
        not (八院 in 到八院督导): for telling where a unit is a place, and why an article gave no record."""
        values = self._values
        return [
            (start, end, tuple(u.name for u in values[i][1].units))
            for i, start, end in self._automaton.find_matches_as_indexes(fold(text))
            if values[i][0] == _UNIT
        ]

    def find(self, text: str, *, unknown: bool = True, group_hint: str | None = None) -> list[UnitMatch]:
        """Unit mentions in reading order; with `unknown`, unit-shaped names not in the registry too."""
        return self.find_folded(text, fold(text), unknown=unknown, group_hint=group_hint)

    def find_folded(
        self, text: str, folded: str, *, unknown: bool = True, group_hint: str | None = None
    ) -> list[UnitMatch]:
        """`find` for callers that already folded the text (same length, see parsers.cjkfold).

        `group_hint` is the article's group: it resolves a bare alias two groups share (四院) and names the
        group of a bare numbered unit (509所)."""
        hits = self._automaton.find_matches_as_indexes(folded)
        if not hits:
            return []  # no alias, prefix or org body: nothing unit-shaped either (numbered units need one)
        raw: list[_Raw] = []
        markers: list[tuple[int, int, int, str | None]] = []
        values = self._values
        alias_end = -1
        followers = 0
        for i, start, end in hits:
            kind, payload = values[i]
            if kind == _UNIT:  # tuple.__new__ skips the NamedTuple's Python-level __new__ (a frame per hit)
                raw.append(_tuple_new(_Raw, (start, end, payload)))
                alias_end = end
            elif kind == _PREFIX:
                # the legal form of a group's name before its units (中国电子科技集团公司第五十研究所): 公司 is
                # part of the prefix (issue 14 family F of fresh6, seen on its 国资委 page)
                if folded.startswith("集团公司", end - 2):
                    end += 2
                markers.append((start, end, kind, payload))
            elif start != alias_end:  # an org body right after an alias is that unit's
                markers.append((start, end, kind, payload))
                followers += 1
        known = self._known(text, folded, raw, markers, group_hint)
        if not unknown:
            return known
        known = self._extend(text, folded, known)
        # unknown names sit before an org body: none left to look at, none to find
        extra = self._unknown_matches(text, folded, known, markers, group_hint, raw) if followers else []
        extra += self._numbered(text, folded, known, extra, markers, group_hint)
        if not extra:
            return known
        return _without_overlaps(sorted(known + extra, key=lambda m: (m.start, -m.end)))

    def _known(
        self,
        text: str,
        folded: str,
        raw: list[_Raw],
        markers: list[tuple[int, int, int, str | None]],
        hint: str | None,
    ) -> list[UnitMatch]:
        if not raw:
            return []
        accepted = [not r.entry.subject_only or self._subject_alone(folded, r.start, r.end) for r in raw]
        # a subject-only alias also counts inside a list of units (A、B、C等单位), in either direction;
        # alternate forward and backward passes so a list settles in a few passes. The number of passes is
        # bounded: a pathological text of thousands of list items must not cost quadratic time.
        order = range(len(raw))
        changed = not all(accepted)
        passes = 0
        while changed and passes < 4:
            changed, passes = False, passes + 1
            for i in (*order, *reversed(order)):
                if not accepted[i] and self._in_list(folded, raw, i, accepted):
                    accepted[i] = changed = True
        out: list[UnitMatch] = []
        prefix_at: list[tuple[int, str | None]] | None = None  # built for the first shared alias only
        for r, ok in zip(raw, accepted, strict=True):
            if not ok:
                continue
            units = r.entry.units
            unit: GazetteerUnit | None = units[0]
            if len(units) > 1:  # the group named last before it (by prefix or by a unit), else the article's
                if prefix_at is None:
                    prefix_at = [(s, owner) for s, _e, kind, owner in markers if kind == _PREFIX]
                before = _group_before(prefix_at, r.start)
                last_unit = out[-1].group if out else None
                context = last_unit if out and (before is None or out[-1].start > r.start) else before
                unit = _pick(units, context or hint) or _pick(units, hint)
            start = r.start
            if start > 1 and folded.startswith(_LEGAL_TAILS, r.end):  # most aliases: no legal tail after them
                start = self._place_before(folded, start)
            mention = text[start : r.end]
            name = unit.name if unit else folded[start : r.end]
            out.append(_tuple_new(UnitMatch, (start, r.end, mention, name, unit, unit.group if unit else None)))
        return out

    def _place_before(self, folded: str, start: int) -> int:
        """Where a legal name starts that writes its province before the alias (上海外高桥造船有限公司: the
        region then the alias then a company tail; issue 14 family E, seen on fresh5's CSSC joint page), so
        the name is one unit joined to what precedes it (…党委与上海外高桥造船有限公司…党委)."""
        for n in (3, 2):
            k = start - n
            if k < 0 or folded[k:start] not in self._regions:
                continue
            if k == 0 or folded[k - 1] in self.rules.left_boundary or folded[k - 1] in self.rules.partner_left:
                return k
        return start

    def _in_list(self, folded: str, raw: list[_Raw], i: int, accepted: list[bool]) -> bool:
        s, t, _e = raw[i]
        if not self._left_ok(folded, s, raw, i, accepted):
            return False
        if i > 0 and accepted[i - 1] and self._joined(folded, raw[i - 1].end, s):
            return True
        if i + 1 < len(raw) and accepted[i + 1] and self._joined(folded, t, raw[i + 1].start):
            return True
        r = self.rules
        ends_list = folded.startswith(r.list_ends, t) or (
            folded.startswith(r.list_end_before_follower, t)
            and folded.startswith(r.followers, t + len(r.list_end_before_follower))
        )
        return ends_list and i > 0 and self._joined(folded, raw[i - 1].end, s)

    def _subject_alone(self, folded: str, start: int, end: int) -> bool:
        r = self.rules
        left = start == 0 or folded[start - 1] in r.left_boundary
        if not left:  # 同步与电科院团委: a partner with an org body of its own
            if folded[start - 1] not in r.partner_left or (start > 1 and folded[start - 2] in r.partner_left_not_after):
                return False
            # …党委与五院513所党委: the partner is a sub-unit of the academy, its org body after the number
            # (issue 14 family C of fresh6, seen on its 中国航天报 and 航天科工 pages)
            return folded.startswith(r.followers, end) or folded.startswith(r.followers, self._numbered_at(folded, end))
        followed = folded.startswith(r.followers, end)
        return followed or self._numbered_at(folded, end) > end or self.department_end(folded, end) > end

    def _left_ok(self, folded: str, start: int, raw: list[_Raw], i: int, accepted: list[bool]) -> bool:
        if start == 0 or folded[start - 1] in self.rules.left_boundary:
            return True
        return i > 0 and accepted[i - 1] and self._joined(folded, raw[i - 1].end, start)

    def _joined(self, folded: str, left_end: int, right_start: int) -> bool:
        """Two units joined by a separator, the first one's org body allowed between (东安党委与黎明党委)."""
        gap = folded[left_end:right_start]
        for body in self.rules.followers:
            if gap.startswith(body):
                gap = gap[len(body) :]
                break
        return gap in self.rules.separators

    def _numbered_at(self, folded: str, k: int) -> int:
        """End of a numbered unit (804所, 七〇二所) starting at k, or k when there is none."""
        j = k
        while j < len(folded) and j - k < 6 and folded[j] in self._numerals:
            j += 1
        if j == k:
            return k
        for word in self._number_words:
            if folded.startswith(word, j):
                return j + len(word)
        return k

    def numbered_tail(self, name: str) -> str | None:
        """The numbered institute that ends a sub-unit name read by shape (二院23所 → 23所, 一院12所 → 12所),
        or None: the bare form an article uses for that sub-unit once it has named it with its parent."""
        j = len(name)
        for word in self._number_words:
            if name.endswith(word):
                j -= len(word)
                break
        else:
            return None
        k = j
        while k > 0 and name[k - 1] in self._numerals:
            k -= 1
        return name[k:] if 0 < k < j else None

    def opens_with_numeral(self, name: str) -> bool:
        """A name read by its number (805所, 八院805所, 三局)."""
        return bool(name) and name[0] in self._numerals

    def is_numbered_name(self, name: str) -> bool:
        """A name that is a number and a unit word (三局, 八院, 31所): a name of its own within its group, however
        short (中建三局 → 三局 as 中国电科14所 → 十四所)."""
        k = 0
        while k < len(name) and name[k] in self._numerals:
            k += 1
        return 0 < k < len(name) and name[k:] in self.generic_names

    def _extend(self, text: str, folded: str, known: list[UnitMatch]) -> list[UnitMatch]:
        """A known unit followed by a numbered institute or a department of its own (八院804所,
        五院总体设计部党委) is that sub-unit, unresolved, of the known unit's group."""
        out = []
        numerals, n = self._numerals, len(folded)
        covered = -1  # end of the last extended match: a registry alias inside it (三院 + 8357所) is part of it
        for m in known:
            if m.start < covered:
                continue
            k = m.end
            # most units are followed by punctuation or an org body: rule those out before any call
            if k >= n or not (folded[k] in numerals or "\u4e00" <= folded[k] <= "\u9fff"):
                out.append(m)
                continue
            end = self._numbered_at(folded, k) if folded[k] in numerals else k
            # a department never starts like 党委 or 公司 (excluded starts): no look-ahead search then
            if end == k and not folded.startswith(self._excluded_starts, k):
                end = self.department_end(folded, k)
                if end != k and folded.endswith(self._department_parents, m.start, k):
                    # 206所第三研究室党支部: a department of an institute acts as the institute
                    out.append(m._replace(end=end, mention=text[m.start : end]))
                    continue
            if end == k:
                out.append(m)
                continue
            covered = end
            own = self._in_group(folded[m.end : end], m.group)  # 九院771所: the registry knows 771所
            if own is not None:
                out.append(UnitMatch(m.start, end, text[m.start : end], own.name, own, own.group))
                continue
            name = _strip_prefix(folded[m.start : end], self.prefixes.get(m.group or "", ()))
            out.append(UnitMatch(m.start, end, text[m.start : end], name, None, m.group))
        return out

    def department_end(self, folded: str, k: int) -> int:
        """End of a department named at k, right after a unit (五院总体设计部党委, 502所第三研究室党支部) and
        followed by an org body, or k."""
        m = self._follower_re.search(folded, k + 1, k + self._subunit_max + 3)
        if m is None:
            return k
        name = folded[k : m.start()]
        if not name.endswith(self._subunit_endings) or name.startswith(self._excluded_starts):
            return k
        return m.start() if _HAN_RUN.fullmatch(name) else k

    def _numbered(
        self,
        text: str,
        folded: str,
        known: list[UnitMatch],
        extra: list[UnitMatch],
        markers: list[tuple[int, int, int, str | None]],
        hint: str | None,
    ) -> list[UnitMatch]:
        """Numbered units by shape: after a group prefix (中国电科509所), or bare with an org body after
        them or at a sentence start (509所党委…, 十四所聚焦…)."""
        # unit words right after a numeral, word by word in the catalogue's order (the first taken wins)
        found = self._numeral_words(folded)
        if not found:  # most paragraphs: no candidate, nothing to build
            return []
        found.sort()
        taken = sorted((m.start, m.end) for m in (*known, *extra))
        out: list[UnitMatch] = []
        prefix_end = {e: owner for _s, e, kind, owner in markers if kind == _PREFIX}
        prefix_start = {e: s for s, e, kind, _o in markers if kind == _PREFIX}
        listed = "、" in folded  # a list of numbered units under one prefix needs its separator
        for _rank, i in found:
            m = self._listed_numbered(text, folded, i, (*known, *extra, *out)) if listed else None
            if m is not None:
                # the last item, before 等单位党委, was read by shape as a bare name: it is the sibling too
                same = [j for j, e in enumerate(extra) if e.start == m.start and e.end == m.end and e.unit is None]
                if same:
                    extra[same[0]] = m
                    continue
            else:
                m = self._numbered_match(text, folded, i, prefix_end, prefix_start, hint)
            if m is not None and not _overlaps(taken, m.start, m.end):
                out.append(m)
                insort(taken, (m.start, m.end))  # not a re-sort per unit: long lists stay linear
        return out

    def _numeral_words(self, folded: str) -> list[tuple[int, int]]:
        """(rank of the word, index) of each unit word's first character right after a numeral: the matches
        of `_numeral_word`, unsorted. Compiled, found by a str.find per word character."""
        if not (_COMPILED and self._numeral_word_by_find):
            if self._numeral_word.search(folded) is None:  # most paragraphs: no candidate
                return []
            order = self._number_word_order
            return [(order[folded[m.end() - 1]], m.end() - 1) for m in self._numeral_word.finditer(folded)]
        out: list[tuple[int, int]] = []
        numerals = self._numerals
        for rank, ch in enumerate(self._number_word_chars):
            k = folded.find(ch, 1)
            while k != -1:
                if folded[k - 1] in numerals:
                    out.append((rank, k))
                k = folded.find(ch, k + 1)
        return out

    def _listed_numbered(
        self, text: str, folded: str, word_at: int, units: tuple[UnitMatch, ...]
    ) -> UnitMatch | None:
        """A bare numbered item of a list under one prefix (航天科工二院二部、23所、25所等单位党委): right after a
        unit and 、, followed by 、 or the list's end; of the first item's parent (二院 → 二院23所) and group
        (issue 14 family B of fresh6, seen on its 航天科工 page)."""
        k = word_at
        while k > 0 and word_at - k < 6 and folded[k - 1] in self._numerals:
            k -= 1
        end = self._numbered_at(folded, k)
        if end <= word_at or k < 2 or folded[k - 1] != "、":
            return None
        if not (folded.startswith("、", end) or folded.startswith(self.rules.list_ends, end)):
            return None
        left = next((u for u in units if u.end == k - 1), None)
        if left is None or left.group is None:
            return None
        item = folded[k:end]
        own = self._in_group(item, left.group)
        if own is not None:
            return UnitMatch(k, end, text[k:end], own.name, own, own.group)
        tail = self.numbered_tail(left.name) if left.unit is None else None
        parent = left.name[: len(left.name) - len(tail)] if tail else ""
        return UnitMatch(k, end, text[k:end], parent + item, None, left.group)

    def _numbered_match(
        self,
        text: str,
        folded: str,
        word_at: int,
        prefix_end: dict[int, str | None],
        prefix_start: dict[int, int],
        hint: str | None,
    ) -> UnitMatch | None:
        k = word_at
        while k > 0 and word_at - k < 6 and folded[k - 1] in self._numerals:
            k -= 1
        end = self._numbered_at(folded, k)
        if end <= word_at:
            return None
        if k in prefix_end:  # 中国电科509所
            owner = prefix_end[k]
            return UnitMatch(prefix_start[k], end, text[prefix_start[k] : end], folded[k:end], None, owner)
        if k > 0 and folded[k - 1] not in self.rules.left_boundary:
            return None
        followed = folded.startswith(self._org_followers, end) or folded.startswith(self.rules.followers, end)
        at_start = k == 0 or folded[k - 1] in "。;!?\n"
        bare = folded.startswith(self._bare_words, end - 1) and word_at - k >= self._bare_min
        if not (followed or (at_start and bare and end < len(folded) and "\u4e00" <= folded[end] <= "\u9fff")):
            return None
        payload = self._keys.get(folded[k:end])  # a registry alias (十四所) in a bare position
        if payload is not None and payload[0] == _UNIT:
            units = payload[1].units
            unit = units[0] if len(units) == 1 else _pick(units, hint)
            if unit is not None:
                return UnitMatch(k, end, text[k:end], unit.name, unit, unit.group)
        return UnitMatch(k, end, text[k:end], folded[k:end], None, hint)

    def _unknown_matches(
        self,
        text: str,
        folded: str,
        known: list[UnitMatch],
        markers: list[tuple[int, int, int, str | None]],
        hint: str | None,
        raw: list[_Raw],
    ) -> list[UnitMatch]:
        """Unit-shaped names before an org body (XX党委) that no registry alias covers: after a group
        prefix (中国航发XX党委, kept as that group's unit), or ending in a unit suffix at a clause start
        (XX研究所党委, of the article's group)."""
        if not markers:
            return []
        # a registry alias ends there, even one not accepted in this position (活动由客服公司党委书记…):
        # the name is that unit's, not a new one
        known_ends = {m.end for m in known} | {r.end for r in raw}
        known_starts = [m.start for m in known]
        out: list[UnitMatch] = []
        last_end = -1
        prefix: tuple[int, int, str | None] = (-1, -1, None)
        for start, end, kind, owner in markers:
            if kind == _PREFIX:
                prefix = (start, end, owner)
                continue
            f = start
            if f > 1 and folded[f - 1] == ")":  # an aside before the org body: 第五十研究所(以下简称“50所”)党委
                a = folded.rfind("(", max(0, f - _ASIDE_MAX), f)
                f = a if a > 0 else f
            if f in known_ends or (folded.endswith("公司", 0, f) and f - 2 in known_ends):
                continue
            if folded.startswith(self._not_followers, f):  # 基层党组织: 党组 inside a word
                continue
            group, prefixed = prefix[2], True
            # most org bodies (基层党支部, 党支部书记) have no prefix before them nor a unit suffix: no calls then
            found = self._after_prefix(folded, prefix[0], prefix[1], f) if prefix[1] >= 0 else None
            if found is None and prefix[1] >= 0 and prefix[1] > last_end:
                items = self._prefixed_list(folded, prefix[1], f)
                # a list that opens with a registry unit and its sub-unit (航天科工二院二部、23所、25所等单位党委)
                # is not a list of unknown names: its numbered items are the sub-unit's siblings (`_listed_numbered`)
                if items and _overlaps([(m.start, m.end) for m in known], items[0][0], items[0][1]):
                    items = []
                if items:  # 中国石化镇海炼化、燕山石化、茂名石化等企业党委: three units of the group
                    for k, (a, b) in enumerate(items):
                        a0 = prefix[0] if k == 0 else a
                        out.append(UnitMatch(a0, b, text[a0:b], folded[a:b], None, group))
                    last_end = items[-1][1]
                    continue
            if found is None:
                group, prefixed = hint, False
                found = self._shaped_before(folded, f) if folded.endswith(self._suffix_ends, 0, f) else None
            if found is None:
                continue
            m_start, m_end, name_start, name_end = found
            name_start = self._after_breakers(folded, name_start, name_end)
            if not prefixed:
                m_start = name_start
            name = folded[name_start:name_end]
            if not name or name.startswith(self._excluded_starts) or m_start < last_end:
                continue
            if name.endswith(self._generic) or (not prefixed and name.removesuffix("公司") in self._group_names):
                continue
            if not prefixed and not (name.endswith(self._suffixes) and name not in self._suffixes):
                continue
            if not prefixed and any(word in name for word in self._outside):  # 上海交通大学相关学院党委
                continue
            if name_end - name_start > self._max_name:
                continue
            i = bisect_left(known_starts, m_end)  # the known match starting before m_end, if any, overlaps?
            if i and known[i - 1].end > m_start:
                continue
            last_end = m_end
            if not prefixed and name_end - name_start >= 4 and name.endswith("公司") and not name.endswith("有限公司"):
                name_end -= 2  # 宏远公司 is the unit 宏远: short names do not carry 公司
                name = folded[name_start:name_end]
            unit = self._in_group(name, group)
            if unit is not None:
                out.append(UnitMatch(m_start, m_end, text[m_start:m_end], unit.name, unit, unit.group))
            else:
                out.append(UnitMatch(m_start, m_end, text[m_start:m_end], name, None, group))
        return out

    def _in_group(self, name: str, group: str | None) -> GazetteerUnit | None:
        """A name the text spells its own way but the registry knows for this group: 第五研究院 → 五院,
        第十四研究所 → 十四所 (the legal form of numbered units)."""
        if group is None:
            return None
        short = name
        for long_form, short_form in (("研究院", "院"), ("研究所", "所")):
            if short.startswith("第") and short.endswith(long_form):
                short = short[1 : -len(long_form)] + short_form
        payload = self._keys.get(short)
        if payload is None or payload[0] != _UNIT:
            return None
        return _pick(payload[1].units, group)

    def _prefixed_list(self, folded: str, prefix_end: int, f: int) -> list[tuple[int, int]]:
        """Names joined by 、 after one group prefix and before an org body, none of them known: their spans."""
        span = folded[prefix_end:f]
        if "、" not in span or len(span) > 4 * (self._max_name + 1):
            return []
        for end in (*self.rules.list_ends, self.rules.list_end_before_follower):
            if span.endswith(end):
                span = span[: -len(end)]
                break
        items, k = [], prefix_end
        for name in span.split("、"):
            if not 2 <= len(name) <= self._max_name or not _WORD_RUN.fullmatch(name):
                return []
            if name.startswith(self._excluded_starts) or name.endswith(self._generic):
                return []
            items.append((k, k + len(name)))
            k += len(name) + 1
        return items

    def _after_breakers(self, folded: str, start: int, end: int) -> int:
        """Cut a name after the last verb or act in it (张小光代表上飞公司 → 上飞公司)."""
        cut = start
        for m in self._breakers.finditer(folded, start, end):
            cut = m.end()
        return cut

    def _after_prefix(
        self, folded: str, prefix_start: int, prefix_end: int, f: int
    ) -> tuple[int, int, int, int] | None:
        # a legal name may run past the length of a name by its company tail (中国航发商用航空发动机有限责任公司
        # (以下简称“商发”): issue 14 family 3, seen on fresh2 pages); the name without the tail may not
        if prefix_end < 0 or not 0 < f - prefix_end <= self._max_name + 2 + _COMPANY_TAIL_MAX:
            return None
        name_end = f
        for tail in _COMPANY_TAILS:  # 江苏省电力有限公司 → 江苏省电力
            if folded.endswith(tail, prefix_end, f) and f - prefix_end > len(tail) + 1:
                if not self._keeps_company(folded[prefix_end : f - len(tail)], tail):
                    name_end = f - len(tail)
                break
        if name_end - prefix_end > self._max_name + 2:
            return None
        if prefix_end < name_end and not _WORD_RUN.fullmatch(folded, prefix_end, name_end):
            return None
        if prefix_end - prefix_start <= self._weak_prefix and not (
            prefix_start == 0 or folded[prefix_start - 1] in self.rules.left_boundary
        ):
            return None  # 工作中核心任务党支部: a two-character prefix inside a word is no prefix
        return prefix_start, name_end, prefix_end, name_end

    def _keeps_company(self, rest: str, tail: str) -> bool:
        """A bare 公司 is part of the name when what is left is no name of its own: a region (华能山东公司 is
        山东公司, not the province 山东) or a branch (江苏分公司)."""
        return tail == "公司" and (rest.endswith("分") or rest.rstrip("省市") in self._regions)

    def _shaped_before(self, folded: str, f: int) -> tuple[int, int, int, int] | None:
        if not folded.endswith(self._suffix_ends, 0, f):
            return None
        # look back twice the name length: a person or a verb before the name is cut off afterwards
        k = f
        while k > 0 and f - k <= 2 * self._max_name and _is_word_char(folded[k - 1]):
            k -= 1
        if f - k > 2 * self._max_name or (k > 0 and folded[k - 1] not in self.rules.left_boundary):
            return None
        return k, f, k, f


#: legal-form tails a short name leaves out, longest first.
_COMPANY_TAILS = ("股份有限公司", "有限责任公司", "有限公司", "公司")
#: what follows an alias inside a legal name (外高桥造船有限公司, 江南造船(集团)有限责任公司).
_LEGAL_TAILS = ("股份有限公司", "有限责任公司", "有限公司", "(集团)")
_COMPANY_TAIL_MAX = max(map(len, _COMPANY_TAILS))
#: the longest aside between a name and its org body: (以下简称“七〇八所”), (西安应用光学研究所)
_ASIDE_MAX = 20


def _pick(units: tuple[GazetteerUnit, ...], group: str | None) -> GazetteerUnit | None:
    """The unit of `group` among units sharing a bare alias; None when the context names none of them."""
    return next((u for u in units if u.group == group), None)


def _group_before(prefix_at: list[tuple[int, str | None]], k: int) -> str | None:
    group = None
    for start, owner in prefix_at:
        if start >= k:
            break
        group = owner
    return group


def _strip_prefix(name: str, prefixes: tuple[str, ...]) -> str:
    for p in sorted(prefixes, key=len, reverse=True):
        if name.startswith(p) and len(name) > len(p):
            return name[len(p) :]
    return name


def _overlaps(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    i = bisect_left(spans, (end, end))
    return any(s < end and start < e for s, e in spans[max(0, i - 2) : i])


def _without_overlaps(matches: list[UnitMatch]) -> list[UnitMatch]:
    out: list[UnitMatch] = []
    for m in matches:
        if out and m.start < out[-1].end:
            continue
        out.append(m)
    return out


def _glue(prefix: str, alias: str) -> str:
    """Prefix + alias, sharing the overlap: 中国航发 + 航发资产 → 中国航发资产, 中国航发 + 东安 → 中国航发东安."""
    for k in range(min(len(prefix), len(alias)) - 1, 0, -1):
        if prefix.endswith(alias[:k]):
            return prefix + alias[k:]
    return prefix + alias


def _is_word_char(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or ch == "〇" or (ch.isascii() and ch.isalnum())


#: runs of what `_is_word_char` accepts, and of Chinese characters: one C match instead of a Python
#: call per character.
_WORD_RUN = re.compile("[\u4e00-\u9fff〇0-9A-Za-z]+")
_HAN_RUN = re.compile("[\u4e00-\u9fff]+")


def _char_range(spec: str) -> str:
    """`一二三0-9` → the characters it names (only ASCII ranges are written with a dash)."""
    out, i = [], 0
    while i < len(spec):
        if i + 2 < len(spec) and spec[i + 1] == "-":
            out += [chr(c) for c in range(ord(spec[i]), ord(spec[i + 2]) + 1)]
            i += 3
        else:
            out.append(spec[i])
            i += 1
    return "".join(out)


def _config() -> dict[str, Any]:
    return load_toml("units.toml")


def _split(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split("|") if v.strip())


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))


def load_groups(path: Path | None = None) -> tuple[Group, ...]:
    return tuple(
        Group(
            key=row["key"].strip(),
            label=row["label"].strip(),
            prefixes=_split(row["prefixes"]),
            merged_into=row["merged_into"].strip() or None,
            source=row["source"].strip(),
            note=row["note"].strip(),
        )
        for row in _rows(path or data_path("groups.tsv"))
    )


def load_units(path: Path | None = None) -> tuple[GazetteerUnit, ...]:
    units = []
    for row in _rows(path or data_path("units.tsv")):
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
                confidence=row.get("confidence", "").strip(),
            )
        )
    return tuple(units)


@cache
def gazetteer() -> Gazetteer:
    """The registry built from the data files, compiled once per process."""
    return Gazetteer(load_units(), load_groups())
