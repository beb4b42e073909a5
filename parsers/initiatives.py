"""Unit-initiative records from an article: which unit did what, with its numbers, documents and people.

A record starts where a unit becomes the subject of a clause: at the start of a sentence, or after a
leading clause (作为…,航发动力组织…) when no other unit is already the subject of that sentence, or after
any comma when the party committee is named as the actor (…,中国航发中传党委…). It runs to the next
record in the same paragraph. Units joined by 、/和 before 等单位 form one record. Paragraphs with no unit
in subject position (statements about 各直属单位) are article context and make no record.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection, Sequence
from functools import lru_cache
from typing import NamedTuple

from parsers import initiative_fields as fields
from parsers.cjkfold import fold
from parsers.phrases import Phrases, phrases
from parsers.records import Article, Block, Initiative, UnitRef
from parsers.units import UnitMatch, gazetteer

__all__ = ["campaigns", "no_records_reason", "parse"]

_CAMPAIGN_LEFT_CHARS = 6
_UNQUOTED_LEFT_CHARS = 8
_SENTENCE_LOOKBACK = 400
_LEFT_WORD = re.compile(r"[\u4e00-\u9fff]+$")
_CAMPAIGN_PREFIX_MAX = 4


class _Start(NamedTuple):
    statement_start: int
    group_start: int
    units: tuple[UnitMatch, ...]
    org_body: str | None


def parse(article: Article) -> tuple[Initiative, ...]:
    """Records in article order; each carries the latest section heading before it."""
    p = phrases()
    cores = _campaign_cores(article)
    section: str | None = None
    out: list[Initiative] = []
    for block in article.body:
        if block.kind == "heading":
            section = block.text.strip() or section
            continue
        text = block.text
        records = _paragraph_records(text, section, cores, p)
        if records:
            out.extend(records)
        elif out and out[-1].section == section and fold(text).lstrip().startswith(p.continuation_openings):
            last = out[-1]
            out[-1] = _build(section, f"{last.statement}\n{text.strip()}", last.units, last.org_body, cores, p)
    return tuple(out)


def campaigns(article: Article) -> tuple[str, ...]:
    """Article-level campaigns (党建“铸心”深化提升行动): a quoted core with a fixed tail such as 行动,
    named in the title or column or at least twice in the body."""
    found = _campaign_occurrences(article.title, article.column, article.body)
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
    if any(g.find(t) for t in texts):
        return "units_not_subject: units are named, but never as the subject of a clause"
    if any(marker in fold(t) for t in texts for marker in p.general_markers):
        return "general_only: only general statements about all units, no unit named"
    return "no_units: no gazetteer unit or unit-shaped name in the text"


def _paragraph_records(text: str, section: str | None, cores: Collection[str], p: Phrases) -> list[Initiative]:
    folded = fold(text)
    matches = gazetteer().find_folded(text, folded)
    if not matches:
        return []
    starts: list[_Start] = []
    for group in _chains(matches, folded, p):
        start = _record_start(folded, group, starts, p)
        if start is not None:
            starts.append(start)
    records = []
    for n, start in enumerate(starts):
        end = starts[n + 1].statement_start if n + 1 < len(starts) else len(text)
        while end > start.statement_start and text[end - 1].isspace():
            end -= 1
        statement, folded_statement = text[start.statement_start : end], folded[start.statement_start : end]
        refs = tuple({m.name: m.ref() for m in start.units}.values())
        records.append(_build(section, statement, refs, start.org_body, cores, p, folded_statement))
    return records


def _chains(matches: Sequence[UnitMatch], folded: str, p: Phrases) -> list[list[UnitMatch]]:
    """Unit mentions joined by 、/和/与 (optionally after 公司) are one list, acting together."""
    separators = gazetteer().rules.separators
    groups: list[list[UnitMatch]] = [[matches[0]]]
    for m in matches[1:]:
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


def _record_start(folded: str, group: list[UnitMatch], earlier: list[_Start], p: Phrases) -> _Start | None:
    first = group[0].start
    tail_end, org_body = _tail(folded, group[-1].end, p)
    if folded.startswith(p.not_subject_before, tail_end):
        return None
    prev = first - 1
    while prev >= 0 and folded[prev].isspace():
        prev -= 1
    for word in p.subject_left_words:  # 据中国航发东安党委介绍: the source is the unit the record is about
        if folded.endswith(word, 0, prev + 1):
            before = prev - len(word)
            if before < 0 or folded[before] in p.sentence_ends:
                return _Start(before + 1, first, tuple(group), org_body)
    if prev < 0 or folded[prev] in p.sentence_ends:
        return _Start(first, first, tuple(group), org_body)
    if folded[prev] not in p.clause_ends:
        return None
    sentence_start = _sentence_start(folded, prev, p)
    subject_before = bool(earlier) and earlier[-1].group_start >= sentence_start
    if subject_before:
        return _Start(first, first, tuple(group), org_body) if org_body else None
    lead = folded[sentence_start:first]
    if org_body is None and any(marker in lead for marker in p.general_markers):
        return None
    lead = lead.lstrip()
    starts_with_lead = lead.startswith(p.leading_markers) or p.leading_pattern.match(lead) is not None
    statement_start = sentence_start if starts_with_lead else first
    return _Start(statement_start, first, tuple(group), org_body)


def _sentence_start(folded: str, before: int, p: Phrases) -> int:
    # bounded look-back keeps pathological paragraphs (no full stop for 100k characters) linear
    floor = max(0, before - _SENTENCE_LOOKBACK)
    start = max(max(folded.rfind(ch, floor, before) for ch in p.sentence_ends) + 1, floor)
    while start < before and folded[start].isspace():
        start += 1
    return start


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
    found = _campaign_occurrences(article.title, article.column, article.body)
    return frozenset(core for _name, core in found if core)


@lru_cache(maxsize=256)
def _campaign_occurrences(title: str, column: str | None, body: tuple[Block, ...]) -> tuple[tuple[str, str], ...]:
    """(campaign name, quoted core) pairs. The words before the quote that every mention shares (党建)
    belong to the name; verbs that differ between mentions (落实, 推进) do not.

    Cached on the texts (not the Article) because callers set `campaigns` on a copy and parse that."""
    p = phrases()
    lefts: dict[tuple[str, str], list[str]] = defaultdict(list)
    prominent: set[tuple[str, str]] = set()
    heads = [fold(title), fold(column or "")]
    bodies = [fold(b.text) for b in body if b.kind == "paragraph"]
    quoted_spans: list[list[tuple[int, int]]] = []
    for n, folded in enumerate((*heads, *bodies)):
        spans = []
        for m in p.campaign.finditer(folded):
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


def _left_word(folded: str, k: int, chars: int = _CAMPAIGN_LEFT_CHARS) -> str:
    m = _LEFT_WORD.search(folded, max(0, k - chars), k)
    return m.group() if m else ""


def _common_suffix(words: list[str]) -> str:
    shortest = min(words, key=len)
    n = 0
    while n < len(shortest) and all(w[len(w) - n - 1] == shortest[len(shortest) - n - 1] for w in words):
        n += 1
    return shortest[len(shortest) - n :]
