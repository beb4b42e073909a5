"""What one record says: counted things, documents in 《》, named methods in quotes, and people.

All functions take the statement as written plus its folded twin (same length, half-width digits and
punctuation) so patterns are written once for one spelling while results are cut from the original text.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Collection

from parsers.numbers import CHINESE_NUMERAL_CHARS, to_number
from parsers.phrases import Phrases
from parsers.records import Metric, Person

_QUOTE = re.compile(r'“[^”]*”|「[^」]*」|‘[^’]*’|"[^"]*"')
_DOCUMENT = re.compile(r"《([^《》]{1,60})》")
_SENTENCE_PUNCT = frozenset("。,!?;:")
_CLAUSE_PUNCT = frozenset("。,;:!?、")
_VERB_CHARS = 2
#: aspect and structure particles that are never the first character of an object.
_PARTICLES = frozenset("了着过的")
_HAN_RUN = re.compile("[\u4e00-\u9fff]+")
_NAME_END = frozenset('。,、;:!?“”"()《》 \n')
#: an age bound between a count and its object (为45名35岁以下技术骨干配备导师): issue 14 family H of fresh6
_AGE_BOUND = re.compile(r"[0-9]{1,2}周?岁(?:以下|以上|及以下|及以上)?")
#: a conjunction after a title joins a second title (支部书记和技术带头人), it opens no name: issue 14 family I
_NOT_NAME_START = frozenset("和与及")
#: a title word before a noun is a modifier (推行党员项目制, 设立党员先锋岗): such a noun is no name (family I)
_NOT_NAME_END = frozenset("制岗队组室站")


def _object_char(ch: str) -> bool:
    """Characters of an object written before its count: words and quoted names (“对话老航天”交流活动)."""
    return "\u4e00" <= ch <= "\u9fff" or ch in "“”‘’"


def _is_word_char(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or ch.isalnum()


def quote_spans(folded: str) -> list[tuple[int, int]]:
    """Top-level quoted spans as (index of opening mark, index of closing mark); nested quotes stay inside.

    Most statements quote only with “”: then two str.find per pair give the regex's spans (an alternation
    has no first-character prefix, so `re` tries it at every position)."""
    if "「" in folded or "‘" in folded or '"' in folded:
        return [(i, j - 1) for i, j in map(re.Match.span, _QUOTE.finditer(folded))]
    out = []
    k = folded.find("“")
    while k != -1:
        j = folded.find("”", k + 1)
        if j == -1:  # no closing mark after this opening, so none after any later one either
            break
        out.append((k, j))
        k = folded.find("“", j + 1)
    return out


def documents(text: str, folded: str) -> tuple[str, ...]:
    if "《" not in folded:
        return ()
    return tuple(dict.fromkeys(text[m.start(1) : m.end(1)] for m in _DOCUMENT.finditer(folded)))


def frameworks(
    text: str, folded: str, spans: list[tuple[int, int]], campaign_cores: Collection[str], p: Phrases
) -> tuple[str, ...]:
    """Quoted named methods and frameworks; campaign words, speech, themes and metaphors are left out."""
    found: list[str] = []
    max_chars, not_after, speech_before = p.max_framework_chars, p.non_framework_after, p.speech_before
    for i, j in spans:
        if folded.startswith(not_after, j + 1):
            continue
        content = folded[i + 1 : j].strip()
        if not content or len(content) > max_chars or content in campaign_cores:
            continue
        if not _SENTENCE_PUNCT.isdisjoint(content):
            continue
        if folded[max(0, i - 6) : i].rstrip(":, ").endswith(speech_before):
            continue
        found.append(text[i + 1 : j].strip())
    return tuple(dict.fromkeys(found)) if found else ()


def metrics(text: str, folded: str, spans: list[tuple[int, int]], p: Phrases) -> tuple[Metric, ...]:
    """Counted things (246项具体措施); counts inside short quoted names (一支部一特色) are part of the name."""
    short_quotes: list[tuple[int, int]] | None = None
    opens: list[int] = []
    out: list[Metric] = []
    for m in p.metric.finditer(folded):
        start = m.start()
        num = m.group("num")
        before = folded[start - 1] if start else ""
        # the filters below only reject; the cheapest and most frequent (一场, 一个) goes first
        if num[0] in CHINESE_NUMERAL_CHARS:
            if before in p.numeral_word_before or num in p.article_numerals:  # 一场学习交流, 一个时期
                continue
        elif (before.isascii() and before.isalnum()) or before in "+.-":
            continue
        if short_quotes is None:
            short_quotes = [(i, j) for i, j in spans if j - i - 1 <= p.framework_quote_max_chars]
            opens = [i for i, _j in short_quotes]
        k = bisect_left(opens, start) - 1  # quotes do not nest at top level: only the last one before counts
        if k >= 0 and short_quotes[k][0] < start < short_quotes[k][1]:
            continue
        after = m.end()
        while after < len(folded) and after - m.end() < 3 and folded[after] in CHINESE_NUMERAL_CHARS:
            after += 1
        if folded.startswith(p.ordinal_after, after):  # 二十届三中全会, 十四五规划
            continue
        value = to_number(num)
        if not value:  # None, or 零 of a word (零件, 零部件, 零事故): nobody counts nothing
            continue
        if folded.endswith(p.subset_before, 0, start):  # 其中2支: a part of a count already given
            continue
        if m.group("word") == "部" and (folded.startswith(p.org_bodies, m.end()) or before in "院所"):
            continue  # 二部党委, 二院二部: a unit, not a count (the latter: issue 14 family H of fresh6)
        obj = _object(text, folded, m.end(), p) or _object_before(text, folded, start, p)
        if len(obj) > 2 and obj.endswith(p.object_trailing_drop):
            obj = obj[:-1]
        if len(obj) > 2 and obj[0] in _PARTICLES:  # 建立了党建联系点12个 → 党建联系点
            obj = obj[1:]
        if obj.startswith(p.not_metric_objects):  # 从三个方面: structure, not a count
            continue
        out.append(Metric(value=value, measure=text[m.start("word") : m.end("word")], object=obj))
    return tuple(out)


def _object(text: str, folded: str, k: int, p: Phrases) -> str:
    """The counted object after the measure word: words and whole quoted names, up to a stop word,
    a verb, a digit or punctuation."""
    if k < len(folded) and folded[k].isdigit() and (age := _AGE_BOUND.match(folded, k)) is not None:
        k = age.end()  # 45名35岁以下技术骨干: the age bound is no object
    m = p.object_run.match(folded, k)
    if m is None or p.object_verb.match(folded, k):  # 200余名参与: what follows is a verb, not the object
        return ""
    end = min(m.end(), k + p.max_object_chars)
    verb = p.object_verb.search(folded, k + 1, end)
    if verb is not None:
        end = verb.start()
    return text[k:end].strip()


def _object_before(text: str, folded: str, k: int, p: Phrases) -> str:
    """The object of a count written after it (组建攻关团队26个): the words between the last known verb
    and the number; failing that, a clause that opens with the count's words reads verb + object, and
    Chinese verbs are mostly two characters (共建实习基地5个 → 实习基地)."""
    start = k
    while start > 0 and k - start < p.max_object_chars and _object_char(folded[start - 1]):
        start -= 1
    bounded = False
    if start > 0 and folded[start - 1].isdigit() and k - start > 1:
        start += 1  # 35岁以下技术骨干40名: the run opens with the measure word of the number before it
        if folded.startswith(p.after_number_bounds, start):
            start += 2
            bounded = True
    run = folded[start:k]
    for qualifier in p.count_qualifiers:
        if run.endswith(qualifier):
            run, k = run[: -len(qualifier)], k - len(qualifier)
            break
    best = -1
    for verb in p.object_verbs_before:
        at = run.rfind(verb)
        # 基层党组织: no verb 组织; a verb that ends the run is the counted thing itself (开展技术帮扶48场,
        # 组织专题研讨40场: issue 14 family H of fresh6), so the verb before it is looked for
        while at != -1 and (_in_noun(run, at, verb, p.object_verb_nouns) or at + len(verb) == len(run)):
            at = run.rfind(verb, 0, at + len(verb) - 1)
        if at != -1 and at + len(verb) > best:
            best = at + len(verb)
    if best <= 0 and run.startswith("等") and len(run) > 2:  # 《…》等质量管理制度11项: the kind after 等
        best = 1
    elif (e := run.rfind("等", max(best, 0))) != -1 and len(run) - e > 2:
        best = e + 1  # 解决试验资源紧张等问题15个: the kind after 等 is what is counted
    if best <= 0 and start > 0 and folded[start - 1] == "、":
        return text[start:k]  # an item of a list (设立党员先锋岗65个、党员责任区40个) shares the first's verb
    if best <= 0 and bounded:  # 选拔35岁以下青年骨干86名: the age bound opened the object (family H of fresh6)
        return text[start:k]
    at_clause_start = start == 0 or folded[start - 1] in _CLAUSE_PUNCT
    if best <= 0 and at_clause_start and len(run) >= _VERB_CHARS + 2:
        best = _VERB_CHARS
    if best <= 0 or best >= len(run):
        return ""
    # 解决导引头批产中的工艺问题18个: the head after a 的-clause (family H of fresh6); a head of two characters
    # (不符合要求的单位) says too little alone, the clause stays
    head = run.rfind("的", best)
    if head != -1 and len(run) - head > 3:
        best = head + 1
    return text[start + best : k]


def _in_noun(run: str, at: int, verb: str, nouns: tuple[str, ...]) -> bool:
    """The verb at `at` is part of one of `nouns` (组织 in 党组织)."""
    for noun in nouns:
        k = noun.find(verb)
        if k != -1 and at >= k and run.startswith(noun, at - k):
            return True
    return False


def people(text: str, folded: str, p: Phrases) -> tuple[Person, ...]:
    """Names right after a title (党支部书记郝玉扬), checked by surname and by what follows the name.
    Titles joined by 、 before one name (党委书记、董事长张军) are kept together."""
    found: dict[str, Person] = {}
    title_start, prev_start, prev_end = -1, -1, -1
    for _title, start, k in p.titles.find_matches_as_indexes(folded):
        title_start = prev_start if prev_end == start - 1 and folded[prev_end] == "、" else start
        if folded.endswith(p.title_modifiers, 0, title_start):  # 青年工程师: the modifier is part of the title
            title_start -= len(next(m for m in p.title_modifiers if folded.endswith(m, 0, title_start)))
        prev_start, prev_end = title_start, k
        name = _name_at(folded, k, p) if folded[k : k + 1] not in _NOT_NAME_START else None
        if name:
            original = text[k : k + len(name)]
            found.setdefault(original, Person(name=original, title=text[title_start:k]))
    return tuple(found.values())


def _name_at(folded: str, k: int, p: Phrases) -> str | None:
    if folded.startswith(p.compound_surnames, k):
        lengths: tuple[int, ...] = (3, 4)
    elif k < len(folded) and folded[k] in p.surnames:
        lengths = (2, 3)
    else:
        return None
    for length in lengths:
        name = folded[k : k + length]
        if len(name) < length or not _HAN_RUN.fullmatch(name):
            return None
        rest = k + length
        if rest == len(folded) or folded[rest] in _NAME_END or folded.startswith(p.after_name, rest):
            return name if name[-1] not in _NOT_NAME_END else None
    return None
