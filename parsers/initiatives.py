"""Unit-initiative records from an article: which unit did what, with its numbers, documents and people.

A record starts where a unit becomes the subject of a clause: at the start of a sentence, or after a
leading clause (作为…,航发动力组织…) when no other unit is already the subject of that sentence, or after
any comma when the party committee is named as the actor (…,中国航发中传党委…). It runs to the next
record in the same paragraph. Units joined by 、/和/与 form one record (joint actors).

Roles (issue 14): a unit is an actor only as the subject of the action. A unit followed by its people
(领导, 书记…) is their affiliation unless the person leads the action (党委书记张三带领…); units in a
sentence about a visit or an attendance are places and guests; descriptions (…是…, …成为…) are not actions.

Subject tracking: the current actor carries over paragraphs that name no unit, until another unit, a
general statement (各单位…), the group acting itself (集团公司党组…) or a new section takes over. In a
single-unit article (the title names one unit, or only one unit ever acts) every measure is a record of
that unit: one per paragraph, and one per item of 一是…二是….
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import accumulate
from typing import Final, NamedTuple

from parsers import initiative_fields as fields
from parsers.cjkfold import fold
from parsers.phrases import Phrases, phrases
from parsers.records import Article, Initiative, UnitRef
from parsers.units import GazetteerUnit, UnitMatch, gazetteer

__all__ = ["campaigns", "no_records_reason", "parse"]

_CAMPAIGN_LEFT_CHARS = 6
_UNQUOTED_LEFT_CHARS = 8
_SENTENCE_LOOKBACK = 400
_CAMPAIGN_PREFIX_MAX = 4
#: how far after a unit's title the name and the person's verb may sit (党委书记、董事长张三带领).
_PERSON_WINDOW = 16
#: a measure shorter than this (after its ordinal) is a heading-like fragment, not a record of its own.
_MIN_MEASURE_CHARS = 8
#: a speaker's clause (一院党委有关负责同志表示) is short: only this much of a paragraph is looked at for it.
_SPEECH_CLAUSE_CHARS = 40
#: what ends a paragraph's first clause.
_CLAUSE_MARKS = (",", "。", ":")
_CLAUSE_END = re.compile("[" + "".join(_CLAUSE_MARKS) + "]")
#: the bits of a paragraph's gate flags: it may hold a visit; it holds a background mark; it holds a visit
#: marker proper (not only a visit purpose word such as 调研, which `p.visit` does not look for).
_VISIT, _BACKGROUND, _VISIT_MARKER = 1, 2, 4
#: mypyc compiled this module (parsers/build_compiled.py): its loops of str.find then skip text several times
#: faster than a regex's character-class scan, while the interpreter's loops cost more than that one C scan,
#: so the helpers that scan for a few marks (`_clause_end`, `_sentence_start`...) pick by this.
_COMPILED: Final = not __file__.endswith(".py")
#: the opening marks the campaign pattern starts with (phrases.py: [“"‘]); folded text has no full-width ＂.
_CAMPAIGN_OPENINGS = ("“", '"', "‘")
#: endings of a unit-shaped short alias, which count bare once the article named the unit in full.
_UNIT_SHAPED = ("院", "所", "厂", "公司", "中心", "集团")


class _Start(NamedTuple):
    statement_start: int
    group_start: int
    units: tuple[UnitMatch, ...]
    org_body: str | None


@dataclass
class _Context:
    """What one article tells about its units: its group, and abbreviations it defines."""

    group: str | None = None
    abbreviations: dict[str, tuple[str, GazetteerUnit | None, str | None]] = field(default_factory=dict)
    #: unresolved names the article gave a short form of: 江苏省电力 → 江苏电力.
    renames: dict[str, str] = field(default_factory=dict)
    #: bare numbered forms of unresolved sub-units the article named with their parent (23所 → 二院23所,
    #: group): later the bare form is that sub-unit, not another group's registry institute (CETC 23所).
    tails: dict[str, tuple[str, str | None]] = field(default_factory=dict)


@dataclass
class _Actor:
    units: tuple[UnitRef, ...]
    org_body: str | None


class _Paragraph(NamedTuple):
    section: str | None
    text: str
    folded: str
    records: list[Initiative]
    #: the paragraph names a unit (acting or not).
    names_unit: bool
    #: the paragraph opens by describing a unit (14所是我国…): background, no one's measure.
    background: bool = False
    #: units its opening sentence names as partners of an unnamed subject (院团委还与核动力院团委联合…).
    partners: tuple[UnitRef, ...] = ()


def parse(article: Article) -> tuple[Initiative, ...]:
    """Records in article order; each carries the latest section heading before it."""
    p = phrases()
    cores = _campaign_cores(article)
    ctx = _context(article, p)
    section: str | None = None
    paragraphs: list[_Paragraph | None] = []  # None marks a heading: the actor of a round-up ends there
    visits = iter(_gate_flags([fold(b.text) for b in article.body if b.kind != "heading"], p))
    for block in article.body:
        if block.kind == "heading":
            if _is_layout(block.text, p):  # a caption or byline between paragraphs: no section, same actor
                continue
            section = block.text.strip() or section
            paragraphs.append(None)
            continue
        folded = fold(block.text)
        flags = next(visits)  # one per non-heading block, taken before any block is skipped
        if _is_quotation(folded, p):  # “……”某某说: what someone says is no measure nor part of the last one
            continue
        if not _is_prose(folded):  # navigation, headline lists, footers are not statements of anyone
            continue
        if _is_speech(folded, p):  # 某某表示,…: no record of its own; it may go on the last
            paragraphs.append(_Paragraph(section, block.text, folded, [], False))
        else:
            records, named, background, partners = _paragraph_records(
                block.text, folded, section, cores, p, ctx, flags
            )
            paragraphs.append(_Paragraph(section, block.text, folded, records, named, background, partners))
    hosts = _hosts(article, ctx, p)
    if hosts:  # a visit to a unit: what the host says and shows is not an initiative
        paragraphs = [
            para._replace(records=[r for r in para.records if not {u.name for u in r.units} <= hosts])
            if para is not None
            else None
            for para in paragraphs
        ]
    single = _single_actor(article, paragraphs, ctx, p)
    actor: _Actor | None = single
    out: list[Initiative] = []
    for para in paragraphs:
        if para is None:
            actor = single
            continue
        section, text, folded, records, named, background, partners = para
        if background:
            continue  # a description of a unit: neither a record nor part of the last one
        if records:
            if single is not None:
                records = _split_measures(records, cores, p)
            out.extend(records)
            actor = single or _Actor(records[-1].units, records[-1].org_body)
            continue
        if named and single is None:
            continue  # units named, none acting (a visit, a speaker): context, not anyone's measure
        opening = folded.lstrip()
        # 各级党组织 after the actor's own opening (院党委与…,纳入各级党组织…) is an object, not the subject
        general = _is_general(folded, p) and p.measure_subject.match(opening) is None
        if general or opening.startswith(p.group_level_openings) or _group_acts(opening, ctx, p):
            actor = single
            continue
        if actor is None or (_is_visit(folded, p) and not _own_people(text, folded, actor, ctx)):
            continue
        # in a single-unit article a new section always opens a new measure (its heading names the measure)
        if _is_background(folded, p) or _is_outcome(opening, p):  # only paragraphs about to join a record
            continue
        if opening.startswith(p.intent_openings):  # 下一步,该所将…: a plan, not a measure nor part of one
            continue
        if single is not None and (not out or out[-1].section != section or _opens_measure(opening, p)):
            skip = _after_unit_sentences(text, folded, ctx) if named and not partners else 0
            measures = _measure_records(section, text[skip:], folded[skip:], actor, cores, p)
            if partners and measures:  # 院团委还与核动力院团委联合举办…: a joint measure
                first = measures[0]
                units = tuple({u.name: u for u in (*first.units, *partners)}.values())
                measures[0] = _build(first.section, first.statement, units, first.org_body, cores, p)
            out.extend(measures)
        elif single is None and opening.startswith(p.reference_words):
            # 该所还选派…: the actor named again opens a measure of its own (as in a single-unit article)
            out.extend(_measure_records(section, text, folded, actor, cores, p))
        elif out and (single is not None or _continues(out[-1], section, opening, p)):
            last = out[-1]
            out[-1] = _build(section, f"{last.statement}\n{text.strip()}", last.units, last.org_body, cores, p)
    return tuple(out)


def _group_acts(opening: str, ctx: _Context, p: Phrases) -> bool:
    """The article's group acting under its own name (中国电科党组…, 中国电子科技集团公司党组…), like 集团公司党组…:
    not a measure of a single-unit article's unit (seen while fixing fresh6's family F)."""
    prefixes = gazetteer().prefixes.get(ctx.group or "", ())
    if not prefixes or not opening.startswith(prefixes):
        return False
    rest = opening[max(len(x) for x in prefixes if opening.startswith(x)) :]
    return rest.startswith(p.group_level_openings)


def _is_background(folded: str, p: Phrases) -> bool:
    """A paragraph carried to the current actor that is background: its first sentence describes a unit or
    sets a reporter's scene, or it quotes an unnamed witness (一名突击队员说)."""
    if p.background.search(folded, 0, _first_sentence_end(folded, 0, len(folded), p)) is not None:
        return True
    return "一名" in folded and p.testimony.search(folded) is not None


def _is_outcome(opening: str, p: Phrases) -> bool:
    """An outcome closing (据统计,今年一季度…增长21%): a report of results that does not name the actor again."""
    if not opening.startswith(p.outcome_leads):
        return False
    m = _CLAUSE_END.search(opening, 0, _SPEECH_CLAUSE_CHARS)
    return m is None or p.measure_subject.match(opening, m.end()) is None


def _own_people(text: str, folded: str, actor: _Actor, ctx: _Context) -> bool:
    """The paragraph names only the acting units (成飞党委书记王军、西飞党委副书记李明出席…): their own people
    at their own event, which belongs to the record."""
    names = {m.name for m in _matches(text, folded, ctx)}
    return bool(names) and names <= {u.name for u in actor.units}


def _continues(last: Initiative, section: str | None, opening: str, p: Phrases) -> bool:
    return last.section == section and opening.startswith(p.continuation_openings)


def campaigns(article: Article) -> tuple[str, ...]:
    """Article-level campaigns (党建“铸心”深化提升行动): a quoted core with a fixed tail such as 行动,
    named in the title or column or at least twice in the body."""
    found = _campaign_occurrences(article.title, article.column, _paragraph_texts(article))
    names = [name for name, _core in found]
    return tuple(dict.fromkeys((*article.campaigns, *names)))


def no_records_reason(article: Article, records: tuple[Initiative, ...]) -> str | None:
    """Why an article gave no records (None when it gave some), as `code: explanation`."""
    if records:
        return None
    texts = [b.text for b in article.body if b.kind == "paragraph" and b.text.strip()]
    if not texts:
        return "empty_body: the article has no paragraph text"
    g, p = gazetteer(), phrases()
    if any(g.find(t) or g.mentions(t) for t in texts):
        return "units_not_subject: units are named, but never as the subject of an action"
    if any(marker in fold(t) for t in texts for marker in p.general_markers):
        return "general_only: only general statements about all units, no unit named"
    return "no_units: no registry unit or unit-shaped name in the text"


def _context(article: Article, p: Phrases) -> _Context:
    """The article's group (named in the title, else in the first block) and its abbreviations."""
    g = gazetteer()
    ctx = _Context()
    for text in (article.title, *(b.text for b in article.body[:1])):
        named = g.groups_named(text)
        if named:
            ctx.group = named[0]
            break
    for block in article.body:
        if "简称" not in block.text:
            continue
        folded = fold(block.text)
        for m in g.find_folded(block.text, folded, group_hint=ctx.group):
            d = p.abbreviation.match(folded, m.end)
            if d is None:
                continue
            abbr = d.group("abbr")
            name = m.name
            # a sub-unit named with its academy and shortened to its bare number (航天科技五院502所(以下简称
            # “502所”)) keeps the academy in its name, as 八院811所 … 811所 does without the definition (issue
            # 14 family A of fresh6, seen on its 中国航天报 page); the bare number is tied to it by `tails`
            if m.unit is None and g.numbered_tail(m.name) != abbr:  # a unit the registry lacks: named as defined
                name = _strip_group(abbr, m.group)
                ctx.renames[m.name] = name
            ctx.abbreviations.setdefault(abbr, (name, m.unit, m.group))
    return ctx


def _strip_group(name: str, group: str | None) -> str:
    g = gazetteer()
    for prefix in sorted(g.prefixes.get(group or "", ()), key=len, reverse=True):
        if not name.startswith(prefix) or len(name) == len(prefix):
            continue
        rest = name[len(prefix) :]
        # 国网江苏电力 → 江苏电力; 电科思仪 stays; a number and a unit word is a name however short (以下简称
        # “中建三局” → 三局, as 中建八局党委 reads: issue 14 family D, seen on fresh5's 中国建筑 page)
        if len(rest) >= 3 or g.is_numbered_name(rest):
            return rest
    return name


def _matches(text: str, folded: str, ctx: _Context) -> list[UnitMatch]:
    """Registry matches, plus the article's own short forms: abbreviations it defines, and the bare
    short alias (上飞院, 黎明) of a unit it has already named in full, which then counts at a clause start."""
    g = gazetteer()
    found = g.find_folded(text, folded, group_hint=ctx.group)
    if ctx.renames:
        found = [m._replace(name=ctx.renames.get(m.name, m.name)) if m.unit is None else m for m in found]
    for m in found:
        if m.unit is not None:
            continue
        tail = g.numbered_tail(m.name)
        if tail is not None and tail not in ctx.tails:
            ctx.tails[tail] = (m.name, m.group)
        # a unit the registry lacks, read after its group's prefix (兵器装备集团长安汽车、建设工业…等单位党委), is
        # named bare later (长安汽车党委围绕…): the article's own short form of it, like an abbreviation it defines
        # (issue 14 family B, seen on fresh5's CSGC round-up). Not a name of two characters, nor a numbered one
        # (805所, 八院805所, 三局): those are read by shape wherever they stand, and tied to a parent by `tails`
        if m.group is not None and len(m.name) >= 3 and not g.opens_with_numeral(m.name):
            ctx.abbreviations.setdefault(m.name, (m.name, None, m.group))
    if ctx.tails:
        found = _with_tails(found, folded, ctx)
    for unit in {m.unit for m in found if m.unit is not None}:
        for alias in _short_forms(unit):
            ctx.abbreviations.setdefault(alias, (unit.name, unit, unit.group))
    if not ctx.abbreviations:
        return found
    # most paragraphs hold none of the article's short forms: look for them before building anything
    present = [(abbr, entry, k) for abbr, entry in ctx.abbreviations.items() if (k := folded.find(abbr)) != -1]
    if not present:
        return found
    boundary = gazetteer().rules.left_boundary
    # registry units keep their spans; a name read by shape (电科 + 思仪党委) yields to the article's
    # own abbreviation (电科思仪) where they overlap
    spans = sorted((m.start, m.end) for m in found if m.unit is not None)
    # a sub-unit read by shape (一院12所) keeps its span against its parent's short form (一院) inside it
    longer = [(m.start, m.end) for m in found if m.unit is None]
    extra = []
    for abbr, (name, known, group), k in present:
        while k != -1:
            end = k + len(abbr)
            i = bisect_left(spans, (end, end))
            free = not any(s < end and k < e for s, e in spans[max(0, i - 2) : i])
            free = free and not any(s <= k and end <= e and e - s > end - k for s, e in longer)
            if free and (k == 0 or folded[k - 1] in boundary):
                extra.append(UnitMatch(k, end, text[k:end], name, known, group))
            k = folded.find(abbr, end)
    if not extra:
        return found
    extra.sort(key=lambda e: e.start)
    starts = [e.start for e in extra]

    def overlapped(m: UnitMatch) -> bool:
        i = bisect_left(starts, m.end)  # abbreviation hits starting before m ends; they do not overlap each other
        return i > 0 and extra[i - 1].end > m.start

    kept = [m for m in found if m.unit is not None or not overlapped(m)]
    return sorted(kept + extra, key=lambda m: m.start)


def _with_tails(found: list[UnitMatch], folded: str, ctx: _Context) -> list[UnitMatch]:
    """Bare numbered mentions (12所, 23所) of a sub-unit the article named with its parent (一院12所) are that
    sub-unit, unless the registry unit they match is of the sub-unit's own group (then the registry knows it)."""
    out = []
    for m in found:
        key = folded[m.start : m.end]
        hit = ctx.tails.get(key)
        if hit is None and m.unit is not None and len(key) > len(m.name):
            # a department read with its institute (206所第三研究室): the institute's bare form opens it
            hit = next((v for t, v in ctx.tails.items() if key.startswith(t)), None)
        if hit is not None and (m.unit is None or m.group != hit[1]):
            m = m._replace(name=hit[0], unit=None, group=hit[1])
        out.append(m)
    return out


@lru_cache(maxsize=4096)
def _short_forms(unit: GazetteerUnit) -> tuple[str, ...]:
    """A unit's folded short aliases that count bare once the article named the unit: 上飞院, not 黎明
    (黎明时分 is a time of day) nor a generic word (研究院). Registry facts, so worked out once per unit
    rather than per paragraph (the fold and the checks were ~5 % of a seed parse)."""
    generic = gazetteer().generic_names
    return tuple(fold(a) for a in unit.subject_aliases if a.endswith(_UNIT_SHAPED) and a not in generic)


def _hosts(article: Article, ctx: _Context, p: Phrases) -> set[str]:
    """Units the title names only as the place of a visit (…到三院开展主题党日)."""
    title = fold(article.title)
    hosts: set[str] = set()
    actors: set[str] = set()
    for start, _end, names in gazetteer().mentions(title):
        (hosts if title.endswith(p.host_before, 0, start) else actors).update(names)
    return hosts - actors


def _single_actor(article: Article, paragraphs: list[_Paragraph | None], ctx: _Context, p: Phrases) -> _Actor | None:
    """The one unit a single-unit article is about: named alone in the title (not a round-up), or the
    only unit that ever acts in the body. None for round-ups of several units."""
    title = fold(article.title)
    if _is_visit(title, p) or _hosts(article, ctx, p):
        return None  # a visit to a unit: the unit is a place
    if not any(marker in title for marker in p.single_unit_title_markers):
        in_title = {m.name: m for m in _matches(article.title, title, ctx)}
        if len(in_title) == 1:
            (m,) = in_title.values()
            tail = p.unit_tail.match(title, m.end)
            org = tail.group("org") if tail else None
            first = next((r for para in paragraphs if para for r in para.records), None)
            if org is None and first is not None and [u.name for u in first.units] == [m.name]:
                org = first.org_body  # the title says 沈飞, the first record 沈飞党委
            return _Actor((m.ref(),), org)
    actors: dict[tuple[str, ...], _Actor] = {}
    for para in paragraphs:
        for rec in para.records if para is not None else ():
            actors.setdefault(tuple(u.name for u in rec.units), _Actor(rec.units, rec.org_body))
            if len(actors) > 1:
                return None
    return next(iter(actors.values())) if actors else None


def _after_unit_sentences(text: str, folded: str, ctx: _Context) -> int:
    """Where a measure starts in a paragraph whose first sentences name the unit without it acting
    (今年是航天科工四院的“质量提升年”。院党委书记…带领…): after the last such sentence, if text is left."""
    matches = _matches(text, folded, ctx)
    end = max(m.end for m in matches) if matches else 0
    stop = folded.find("。", end)
    return stop + 1 if 0 <= stop < len(folded) - _MIN_MEASURE_CHARS else 0


def _measure_org(folded: str, actor: _Actor, p: Phrases) -> str | None:
    """The org body of a measure: the one its own subject names (公司党委…; 该所… has none), else the
    article's unit's."""
    m = p.measure_subject.search(folded, 0, 40)
    if m is not None and m.group("org") and folded.startswith(p.org_body_not_before, m.end()):
        return None  # 所党委书记王海涛带领…: a person leads, the body is only part of the title
    return actor.org_body if m is None else m.group("org")


def _org_acts(clause: str, p: Phrases) -> bool:
    """An org body in the clause that is not part of a person's title (党支部开展…, not 党委书记王军出席…)."""
    for body in p.org_bodies:
        k = clause.find(body)
        while k != -1:
            # 王立平代表客服公司党委介绍…: a person speaking for the unit, not a part of it acting
            if not clause.startswith(p.org_body_not_before, k + len(body)) and "代表" not in clause[:k]:
                return True
            k = clause.find(body, k + 1)
    return False


def _opens_measure(opening: str, p: Phrases) -> bool:
    """A paragraph of a single-unit article that starts a new measure rather than continuing the event
    before it: an enumerator, a leading clause (围绕…, 针对…), the actor named again (公司党委…), or a short
    heading sentence (健全责任体系。). Reported speech (杨志国表示,…) continues."""
    clause = re.split(r"[,:;。]", opening, maxsplit=1)[0]
    if clause.startswith(p.reporting_leads) and len(clause) < len(opening):
        # 据介绍,该所还开展…: the source of the report, then the actor named again
        return p.measure_subject.match(opening, len(clause) + 1) is not None
    if clause.endswith(p.speech_verbs):
        return False
    if p.enumerator.match(opening) or opening.startswith((*p.measure_openings, *p.leading_markers)):
        return True
    if opening.startswith(p.sequencers):
        return any(ref in opening[:12] for ref in p.actor_references)
    if _org_acts(clause, p):  # 业务发展部党支部与…党支部开展共建: a part of the unit acts
        return True
    if p.leading_pattern.match(opening):
        return True
    first = opening.split("。", 1)[0]
    return len(first) <= p.measure_heading_max_chars and "。" in opening and "," not in first


def _is_layout(heading: str, p: Phrases) -> bool:
    """A short line that is page layout (图为…, 本报记者…, 首页 > 新闻中心) rather than a section heading."""
    text = fold(heading).strip()  # fold keeps whitespace whitespace, so this is fold(heading.strip())
    return text.startswith(p.layout_heading_openings) or any(mark in text for mark in p.layout_heading_marks)


def _is_speech(folded: str, p: Phrases) -> bool:
    """Intent in reported speech: the first clause ends in a speech verb and what follows is what will be
    done (一院党委有关负责同志表示,下一步,一院将…). A leader telling what the unit did (东安党委书记张明介绍,公司
    推行…) stays a record. Only the opening of a paragraph is looked at."""
    start = len(folded) - len(folded.lstrip()) if folded[:1].isspace() else 0
    limit = start + _SPEECH_CLAUSE_CHARS
    k = _clause_end(folded, start, limit)
    # the intent word right after the first clause is the rarest condition: tested first
    if k == -1 or not folded.startswith(p.speech_intent_openings, k + 1, limit):
        return False
    clause = folded[start:k]
    return clause.endswith(p.speech_verbs) and not clause.startswith(p.reporting_leads)


def _is_quotation(folded: str, p: Phrases) -> bool:
    """A paragraph that opens with a quotation whose speaker follows it (“……。”某某说): only the text right
    after the first closing quote is looked at, and only when the paragraph opens with a quote mark."""
    opening = folded.lstrip()
    if not opening.startswith(p.quote_openings):
        return False
    close = opening.find("”")
    if close == -1:
        return False
    after = opening[close + 1 : close + 1 + p.quote_speech_window]
    said = after[: _first_clause_end(after)]
    return said.endswith(p.speech_verbs) or any(v + "," in after or v + ":" in after for v in p.speech_verbs)


def _clause_end(folded: str, start: int, limit: int) -> int:
    """Where `_CLAUSE_END` first matches in folded[start:limit], or -1: compiled, a str.find per mark."""
    if not _COMPILED:
        m = _CLAUSE_END.search(folded, start, limit)
        return -1 if m is None else m.start()
    found = -1
    for mark in _CLAUSE_MARKS:
        k = folded.find(mark, start, limit)
        if k != -1:
            found, limit = k, k  # a later mark only counts before this one
    return found


def _first_clause_end(text: str) -> int:
    m = _CLAUSE_END.search(text)
    return len(text) if m is None else m.start()


def _is_prose(folded: str) -> bool:
    """A paragraph with no sentence punctuation is a menu, a headline list or a footer line. Five
    membership tests (fast substring search) beat one character-class regex scan here."""
    return "。" in folded or "," in folded or ";" in folded or "!" in folded or "?" in folded


def _is_general(folded: str, p: Phrases) -> bool:
    return any(marker in folded for marker in p.general_markers)


def _is_visit(folded: str, p: Phrases, start: int = 0, end: int | None = None, markers: bool = True) -> bool:
    """A visit or an attendance: a marker (一行, 陪同, 出席…), or someone going to a named unit to inspect
    it (到中国航发黎明调研); going somewhere that is not a unit (赴园区开展调研) is the actor's fieldwork."""
    end = len(folded) if end is None else end
    if markers and p.visit.search(folded, start, end) is not None:  # no marker in the paragraph: none here
        return True
    for m in p.visit_place.finditer(folded, start, end):
        place = m.group("place")
        if place and gazetteer().find(place):
            return True
    return False


def _measure_records(
    section: str | None, text: str, folded: str, actor: _Actor, cores: Collection[str], p: Phrases
) -> list[Initiative]:
    """A paragraph of a single-unit article naming no unit: one record per 一是/二是 item, else one."""
    out = []
    for start, end in _measure_spans(folded, p):
        statement = text[start:end].strip()
        if len(statement) >= _MIN_MEASURE_CHARS:
            org = _measure_org(folded[start:end], actor, p)
            out.append(_build(section, statement, actor.units, org, cores, p))
    return out


def _measure_spans(folded: str, p: Phrases) -> list[tuple[int, int]]:
    cuts = [m.start() for m in p.enumerator.finditer(folded)]
    if len(cuts) < 2:
        return [(0, len(folded))]
    cuts[0] = 0  # the lead-in before 一是 belongs to the first measure
    return list(zip(cuts, [*cuts[1:], len(folded)], strict=True))


def _split_measures(records: list[Initiative], cores: Collection[str], p: Phrases) -> list[Initiative]:
    """In a single-unit article a record listing 一是…二是… is one record per item."""
    out = []
    for rec in records:
        spans = _measure_spans(fold(rec.statement), p)
        if len(spans) < 2:
            out.append(rec)
            continue
        for start, end in spans:
            statement = rec.statement[start:end].strip()
            if len(statement) >= _MIN_MEASURE_CHARS:
                out.append(_build(rec.section, statement, rec.units, rec.org_body, cores, p))
    return out


def _gate_flags(foldeds: list[str], p: Phrases) -> list[int]:
    """Per paragraph, whether it holds a visit marker or purpose word (a paragraph with neither has no visit
    in any of its sentences) and whether it holds a background mark (是我国, 记者见到: else none of its
    records needs the background test). One automaton scan over the paragraphs joined by line breaks (no
    key holds one, so no match spans two paragraphs) instead of calls per paragraph or per record. The two
    flags are bits (_VISIT, _BACKGROUND) of one int per paragraph."""
    flags = [0] * len(foldeds)
    # scanned as UTF-8 with byte offsets: the automaton then skips mapping every offset back to a character's
    parts = [f.encode() for f in foldeds]
    hits = p.visit_gate_utf8.find_matches_as_indexes(b"\n".join(parts), overlapping=True)
    if hits:
        ends = list(accumulate(len(b) + 1 for b in parts))  # where each paragraph's successor starts
        first_background, first_place_end = p.gate_first_background, p.gate_first_place_end
        for key, start, _end in hits:
            if key >= first_background:
                bit = _BACKGROUND
            else:
                bit = _VISIT | _VISIT_MARKER if key < first_place_end else _VISIT
            flags[bisect_right(ends, start)] |= bit
    return flags


def _paragraph_records(
    text: str,
    folded: str,
    section: str | None,
    cores: Collection[str],
    p: Phrases,
    ctx: _Context,
    gate: int = _VISIT | _BACKGROUND | _VISIT_MARKER,
) -> tuple[list[Initiative], bool, bool, tuple[UnitRef, ...]]:
    """The paragraph's records, whether it names any unit at all, whether it opens by describing one
    (then it gives no records: its later sentences are background too), and the partners its opening
    sentence names for a subject that is no unit name (院团委还与核动力院团委联合…). `gate` holds the
    paragraph's _VISIT and _BACKGROUND bits (`_gate_flags`)."""
    matches = _matches(text, folded, ctx)
    if not matches:
        return [], False, False, ()
    matches = _with_references(text, folded, matches, p)
    may_visit = bool(gate & _VISIT)
    starts: list[_Start] = []
    acting: set[str] = set()
    partners: list[UnitMatch] | None = None
    last_end = 0  # where the units of the last record start end
    for group in _chains(matches, folded, p):
        if group[0].mention.startswith(p.reference_words) and group[0].name in acting:
            continue  # 该公司还… after the unit's own record: the same record goes on
        start = _record_start(folded, group, starts, p, may_visit, bool(gate & _VISIT_MARKER))
        if start is not None:
            # the paragraph opens with a unit that does not act because it is described (14所是我国…)
            if (
                not starts
                and not start.units
                and not folded[: start.statement_start].strip()
                and folded.startswith(p.description_after_unit, _tail(folded, group[-1].end, p)[0])
            ):
                return [], True, True, ()
            starts.append(start)
            last_end = group[-1].end
            acting.update([m.name for m in start.units])
            continue
        first = group[0].start
        # most groups that open no record sit after no 与/同: one membership test rules them out
        if first and folded[first - 1] in p.partner_joins and _is_partner(folded, group, last_end, p):
            # X团委同步与Y团委开展…: Y is a partner of the record X opened (or of the paragraph's subject)
            if starts and starts[-1].units:
                starts[-1] = starts[-1]._replace(units=(*starts[-1].units, *group))
            elif not starts:
                partners = [*(partners or ()), *group]
    if starts and starts[0].units and starts[0].statement_start > 0:
        lead = folded[: starts[0].statement_start].strip()
        if p.enumerator.match(lead) and lead.count("。") <= 1:  # 一是压实质量责任。宏远党委…: one measure
            starts[0] = starts[0]._replace(statement_start=0)
    records = []
    for n, start in enumerate(starts):
        if not start.units:  # a cut, not a record
            continue
        end = starts[n + 1].statement_start if n + 1 < len(starts) else len(text)
        while end > start.statement_start and text[end - 1].isspace():
            end -= 1
        statement, folded_statement = text[start.statement_start : end], folded[start.statement_start : end]
        if gate & _BACKGROUND and p.background.search(
            folded, start.statement_start, _sentence_end(folded, start.group_start, p)
        ):
            continue  # 核动力院与原子能院在…领域有着密切的业务联系: a description, not an action
        units = start.units
        refs = (units[0].ref(),) if len(units) == 1 else tuple({m.name: m.ref() for m in units}.values())
        records.append(_build(section, statement, refs, start.org_body, cores, p, folded_statement))
    refs_of = tuple({m.name: m.ref() for m in partners}.values()) if partners else ()
    return records, True, False, refs_of


def _is_partner(folded: str, group: list[UnitMatch], since: int, p: Phrases) -> bool:
    """Units after 与/同 with an org body of their own, close after the subject in the same clause
    (38所团委同步与电科院团委开展…; 上飞院(…)党委与上飞公司党委签署…): they act with it."""
    first = group[0].start
    if first - since > p.partner_gap_max:
        return False
    gap = folded[since : first - 1]
    if any(c in p.sentence_ends or c in p.clause_ends for c in gap):
        return False
    return _tail(folded, group[-1].end, p)[1] is not None


def _with_references(text: str, folded: str, matches: list[UnitMatch], p: Phrases) -> list[UnitMatch]:
    """该院党委/该公司… at a clause start names the unit mentioned last before it in the paragraph
    (李明辉代表航材院党委介绍经验:该院党委推行… is a record of 航材院)."""
    if p.reference_start.search(folded) is None:  # most paragraphs: no reference word at all
        return matches
    refs = []
    ends = [u.end for u in matches]  # matches are in reading order and do not overlap: ends ascend
    for m in p.reference.finditer(folded):
        k = m.start()
        if k and folded[k - 1] not in p.sentence_ends and folded[k - 1] not in p.clause_ends:
            continue
        i = bisect_right(ends, k)
        if i:
            last = matches[i - 1]
            refs.append(UnitMatch(k, m.end(), text[k : m.end()], last.name, last.unit, last.group))
    return sorted(matches + refs, key=lambda u: u.start) if refs else matches


def _chains(matches: Sequence[UnitMatch], folded: str, p: Phrases) -> list[list[UnitMatch]]:
    """Unit mentions joined by 、/和/与/联合 (optionally after 公司 or an org body) are one list, acting
    together (X党委与Y党委…开展党建共建 is one record with both units)."""
    separators = gazetteer().rules.separators
    groups: list[list[UnitMatch]] = [[matches[0]]]
    for m in matches[1:]:
        if m.start - groups[-1][-1].end > p.join_gap_max:  # most gaps: too long to join two units
            groups.append([m])
            continue
        gap = folded[groups[-1][-1].end : m.start]
        for tail in p.unit_tails:
            if gap.startswith(tail):
                gap = gap[len(tail) :]
                break
        for body in p.org_bodies:  # 东安党委、黎明党委分别…
            if gap.startswith(body):
                gap = gap[len(body) :]
                break
        if gap in separators:
            groups[-1].append(m)
        else:
            groups.append([m])
    return groups


def _record_start(
    folded: str,
    group: list[UnitMatch],
    earlier: list[_Start],
    p: Phrases,
    may_visit: bool = True,
    markers: bool = True,
) -> _Start | None:
    first = group[0].start
    prev = first - 1
    while prev >= 0 and folded[prev].isspace():
        prev -= 1
    left = folded[prev] if prev >= 0 else "。"
    at_boundary = left in p.sentence_ends or left in p.clause_ends
    if not at_boundary and not folded.endswith(p.subject_left_words, 0, prev + 1):
        if not folded.endswith(p.shared_prefixes, 0, first):
            return None  # inside a clause (到中国航发黎明调研, 与东安合作): never a subject, nothing more to check
        # 中国兵器二〇三所党委…: a prefix two groups share is part of the subject's name
        first -= next(len(w) for w in p.shared_prefixes if folded.endswith(w, 0, first))
        prev = first - 1
        left = folded[prev] if prev >= 0 else "。"
        if prev >= 0 and left not in p.sentence_ends and left not in p.clause_ends:
            return None
    tail_end, org_body = _tail(folded, group[-1].end, p)
    if org_body is None and tail_end < len(folded) and folded[tail_end] == "第":
        # 502所第三研究室党支部 after the article's short form of the institute: the department's body acts
        # (issue 14 family H of fresh6; the registry match of a department is extended in parsers.units)
        department = gazetteer().department_end(folded, tail_end)
        if department > tail_end:
            tail_end, org_body = _tail(folded, department, p)
    sentence_start = _sentence_start(folded, max(prev, 0), p) if prev >= 0 else 0
    not_actor = (
        folded[tail_end : tail_end + 1] in p.not_subject_first and folded.startswith(p.not_subject_before, tail_end)
    ) or not _acts(folded, tail_end, p)
    if not_actor or (
        may_visit and _is_visit(folded, p, sentence_start, _sentence_end(folded, tail_end, p), markers)
    ):
        # a sentence opening with a unit that does not act (a speaker's affiliation, a visit) still ends
        # the record before it: its people and numbers are not the previous unit's. Its own people (一飞院
        #党委书记杨志国…) stay in the record of that unit.
        at_start = prev < 0 or folded[prev] in p.sentence_ends
        acting = {m.name for start in earlier[-1:] for m in start.units}
        if not at_start or (acting and {m.name for m in group} <= acting):
            return None
        return _Start(first, first, (), None)
    for word in p.subject_left_words:  # 据中国航发东安党委介绍: the source is the unit the record is about
        if folded.endswith(word, 0, prev + 1):
            before = prev - len(word)
            if before < 0 or folded[before] in p.sentence_ends:
                return _Start(before + 1, first, tuple(group), org_body)
    if prev < 0 or folded[prev] in p.sentence_ends:
        return _Start(first, first, tuple(group), org_body)
    if folded[prev] not in p.clause_ends:
        return None
    subject_before = bool(earlier) and bool(earlier[-1].units) and earlier[-1].group_start >= sentence_start
    # units listed inside a sentence the group opens (集团公司在…组建临时党组织312个,…,一院、五院、八院等单位…):
    # examples of the group's count, not actors (issue 14 family D of fresh6, seen on its group round-up)
    if not subject_before and folded.startswith(p.group_level_openings, sentence_start):
        return None
    if subject_before:
        return _Start(first, first, tuple(group), org_body) if org_body else None
    lead = folded[sentence_start:first]
    if org_body is None and any(marker in lead for marker in p.general_markers):
        return None
    lead = lead.strip()
    if lead.rstrip(",:").endswith(p.speech_verbs):  # 林晓峰表示,上飞院将…: reported speech, no action
        return None
    starts_with_lead = lead.startswith(p.leading_markers) or p.leading_pattern.match(lead) is not None
    starts_with_lead = starts_with_lead or len(lead.rstrip(",:")) <= p.short_lead_max_chars  # 机制上,…
    statement_start = sentence_start if starts_with_lead else first
    return _Start(statement_start, first, tuple(group), org_body)


def _acts(folded: str, k: int, p: Phrases) -> bool:
    """False when a person's title follows the unit (the unit is the person's affiliation), unless the
    person then leads an action (东安党委书记、董事长张三带领…)."""
    if not folded.startswith(p.titles_after_unit, k):
        return True
    window = folded[k : k + _PERSON_WINDOW]
    return any(verb in window for verb in p.person_leads)


def _sentence_start(folded: str, before: int, p: Phrases) -> int:
    # bounded look-back keeps pathological paragraphs (no full stop for 100k characters) linear
    floor = max(0, before - _SENTENCE_LOOKBACK)
    if _COMPILED:  # after the last sentence end before `before`: an rfind per mark, each after the last found
        start = floor
        for mark in p.sentence_ends:
            k = folded.rfind(mark, start, before)
            if k != -1:
                start = k + 1
    else:
        m = p.through_last_sentence_end.match(folded, floor, before)  # one call, not an rfind per mark
        start = m.end() if m else floor
    while start < before and folded[start].isspace():
        start += 1
    return start


def _sentence_end(folded: str, after: int, p: Phrases) -> int:
    return _first_sentence_end(folded, after, min(len(folded), after + _SENTENCE_LOOKBACK), p)


def _first_sentence_end(folded: str, start: int, end: int, p: Phrases) -> int:
    """Where `p.sentence_end` first matches in folded[start:end], else `end`: compiled, a str.find per mark,
    each only before the first one found."""
    if not _COMPILED:
        m = p.sentence_end.search(folded, start, end)
        return end if m is None else m.start()
    for mark in p.sentence_ends:
        k = folded.find(mark, start, end)
        if k != -1:
            end = k
    return end


def _tail(folded: str, k: int, p: Phrases) -> tuple[int, str | None]:
    """Skip 公司 and 等单位 after the units, then read the org body (党委) if the text names one."""
    m = p.unit_tail.match(folded, k)
    return (m.end(), m.group("org")) if m else (k, None)


def _build(
    section: str | None,
    statement: str,
    units: tuple[UnitRef, ...],
    org_body: str | None,
    cores: Collection[str],
    p: Phrases,
    folded: str | None = None,
) -> Initiative:
    folded = fold(statement) if folded is None else folded
    spans = fields.quote_spans(folded)
    return Initiative(
        section=section,
        statement=statement,
        org_body=org_body,
        units=units,
        metrics=fields.metrics(statement, folded, spans, p),
        documents=fields.documents(statement, folded),
        frameworks=fields.frameworks(statement, folded, spans, cores, p),
        people=fields.people(statement, folded, p),
    )


def _campaign_cores(article: Article) -> frozenset[str]:
    found = _campaign_occurrences(article.title, article.column, _paragraph_texts(article))
    return frozenset(core for _name, core in found if core)


def _paragraph_texts(article: Article) -> tuple[str, ...]:
    """The cache key of `_campaign_occurrences`: strings cache their hash, a Block hashes in Python."""
    return tuple([b.text for b in article.body if b.kind == "paragraph"])


@lru_cache(maxsize=256)
def _campaign_occurrences(title: str, column: str | None, body: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """(campaign name, quoted core) pairs. The words before the quote that every mention shares (党建)
    belong to the name; verbs that differ between mentions (落实, 推进) do not.

    Cached on the texts (not the Article) because callers set `campaigns` on a copy and parse that."""
    p = phrases()
    lefts: dict[tuple[str, str], list[str]] = defaultdict(list)
    prominent: set[tuple[str, str]] = set()
    heads = [fold(title), fold(column or "")]
    bodies = [fold(text) for text in body]
    quoted_spans: list[list[tuple[int, int]]] = []
    for n, folded in enumerate((*heads, *bodies)):
        spans: list[tuple[int, int]] = []
        if not _has_quote(folded):  # most texts: a membership test rather than a regex scan
            quoted_spans.append(spans)
            continue
        for m in _campaign_matches(folded, p):
            key = (m.group("core").strip(), m.group("tail"))
            lefts[key].append(_left_word(folded, m.start()))
            spans.append(m.span())
            if n < len(heads):
                prominent.add(key)
        quoted_spans.append(spans)
    out = []
    for key, contexts in lefts.items():
        if key not in prominent and len(contexts) < 2:
            continue
        core, tail = key
        prefix = _common_suffix(contexts) if len(contexts) > 1 else contexts[0][-2:]
        out.append((f"{prefix[-_CAMPAIGN_PREFIX_MAX:]}“{core}”{tail}", core))
    out += _unquoted_campaigns(heads, bodies, quoted_spans, p)
    return tuple(dict.fromkeys(out))


def _unquoted_campaigns(
    heads: list[str], bodies: list[str], quoted: list[list[tuple[int, int]]], p: Phrases
) -> list[tuple[str, str]]:
    """Campaigns named without quotes (质量提升行动): a name ending in a campaign tail in the title or
    column whose words before the tail recur in the body; the shared words are the name."""

    def contexts(texts: list[str], spans: list[list[tuple[int, int]]]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = defaultdict(list)
        for folded, inside in zip(texts, spans, strict=True):
            for m in p.campaign_tail.finditer(folded):
                if not any(i <= m.start() < j for i, j in inside):
                    found[m.group()].append(_left_word(folded, m.start(), _UNQUOTED_LEFT_CHARS))
        return found

    out: list[tuple[str, str]] = []
    in_heads = contexts(heads, quoted[: len(heads)])
    if not in_heads:  # the usual case: nothing unquoted in the title, so the body need not be scanned
        return out
    in_body = contexts(bodies, quoted[len(heads) :])
    for tail, head_lefts in in_heads.items():
        for head_left in head_lefts:
            shared = [c for c in in_body.get(tail, []) if len(_common_suffix([head_left, c])) >= 2]
            if shared:
                out.append((_common_suffix([head_left, *shared]) + tail, ""))
    return out


def _campaign_matches(folded: str, p: Phrases) -> list[re.Match[str]]:
    """`p.campaign.finditer(folded)`. Compiled, tried only where an opening mark stands: the pattern opens
    with one, so a match at each mark (left to right, the next after the last match's end) finds the same
    matches, while a search tests a character class at every position of the text; and not at all when the
    text holds none of the pattern's tails."""
    if not _COMPILED:
        return list(p.campaign.finditer(folded))
    if not any(tail in folded for tail in p.campaign_tails):
        return []
    marks = sorted(k for mark in _CAMPAIGN_OPENINGS for k in _positions(folded, mark))
    out: list[re.Match[str]] = []
    end = 0
    for k in marks:
        if k < end:
            continue
        m = p.campaign.match(folded, k)
        if m is not None:
            out.append(m)
            end = m.end()
    return out


def _positions(text: str, ch: str) -> list[int]:
    out = []
    k = text.find(ch)
    while k != -1:
        out.append(k)
        k = text.find(ch, k + 1)
    return out


def _has_quote(folded: str) -> bool:
    """The opening marks the campaign pattern starts with (folded text has no full-width ＂)."""
    return "“" in folded or '"' in folded or "‘" in folded


def _left_word(folded: str, k: int, chars: int = _CAMPAIGN_LEFT_CHARS) -> str:
    """The run of Chinese characters ending at k, at most `chars` long (a right-anchored regex search
    retried every start of the window; a step back per character does the same)."""
    floor = max(0, k - chars)
    if k > floor and folded[k - 1] == "\n":  # as `$` does, a line break right before k is skipped
        k -= 1
    j = k
    while j > floor and "\u4e00" <= folded[j - 1] <= "\u9fff":
        j -= 1
    return folded[j:k]


def _common_suffix(words: list[str]) -> str:
    """The longest suffix every word shares: the common prefix of the reversed words, which only the
    smallest and the largest of them decide."""
    backwards = [w[::-1] for w in words]
    low, high = min(backwards), max(backwards)
    n = 0
    while n < len(low) and low[n] == high[n]:
        n += 1
    return low[:n][::-1]
