"""The initiative parser's phrase catalogue (`data/initiative_phrases.toml`), loaded and compiled once.

Wording changes between outlets and groups; keeping it in data means a new phrasing is a data change and
the patterns are compiled a single time per process, which the throughput target needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

import ahocorasick_rs

from parsers.datafiles import load_toml
from parsers.numbers import CHINESE_NUMERAL_CHARS


def _alternation(words: list[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


@dataclass(frozen=True, slots=True)
class Phrases:
    org_bodies: tuple[str, ...]
    org_body_not_before: tuple[str, ...]
    unit_tails: tuple[str, ...]
    #: the longest text that can join two units of one list (tail + org body + separator): a longer gap
    #: between two mentions never joins them, so it needs no word-by-word check.
    join_gap_max: int
    list_ends: tuple[str, ...]
    not_subject_before: tuple[str, ...]
    #: their first characters: one set lookup rules most units' next character out (党委, 组织…).
    not_subject_first: frozenset[str]
    #: marks of a background sentence (a description, a reporter's scene), one alternation.
    background: re.Pattern[str]
    testimony: re.Pattern[str]
    description_after_unit: tuple[str, ...]
    partner_joins: frozenset[str]
    partner_gap_max: int
    sentence_ends: frozenset[str]
    #: one character class over sentence_ends: one C search instead of a str.find per character.
    sentence_end: re.Pattern[str]
    #: everything up to and including the last sentence end: where the sentence before a point starts.
    through_last_sentence_end: re.Pattern[str]
    clause_ends: frozenset[str]
    leading_markers: tuple[str, ...]
    leading_pattern: re.Pattern[str]
    general_markers: tuple[str, ...]
    continuation_openings: tuple[str, ...]
    layout_heading_openings: tuple[str, ...]
    layout_heading_marks: tuple[str, ...]
    quote_openings: tuple[str, ...]
    quote_speech_window: int
    speech_intent_openings: tuple[str, ...]
    intent_openings: tuple[str, ...]
    titles_after_unit: tuple[str, ...]
    host_before: tuple[str, ...]
    reference_words: tuple[str, ...]
    reference: re.Pattern[str]
    #: the first characters of the reference words, to skip paragraphs with none in one search.
    reference_start: re.Pattern[str]
    person_leads: tuple[str, ...]
    visit_markers: tuple[str, ...]
    visit: re.Pattern[str]
    group_level_openings: tuple[str, ...]
    enumerator: re.Pattern[str]
    single_unit_title_markers: tuple[str, ...]
    abbreviation: re.Pattern[str]
    ordinal_after: tuple[str, ...]
    not_metric_objects: tuple[str, ...]
    after_number_bounds: tuple[str, ...]
    outcome_leads: tuple[str, ...]
    subset_before: tuple[str, ...]
    object_trailing_drop: tuple[str, ...]
    speech_verbs: tuple[str, ...]
    reporting_leads: tuple[str, ...]
    measure_openings: tuple[str, ...]
    measure_heading_max_chars: int
    sequencers: tuple[str, ...]
    actor_references: tuple[str, ...]
    measure_subject: re.Pattern[str]
    short_lead_max_chars: int
    visit_place: re.Pattern[str]
    #: every visit marker and visit purpose word, for one scan that rules a paragraph out; over UTF-8 bytes
    #: (`_gate_flags`), as byte offsets need no conversion to character offsets.
    visit_gate_utf8: ahocorasick_rs.BytesAhoCorasick
    #: the index of the gate's first background mark: keys from it on are background marks, not visits.
    gate_first_background: int
    #: the index of the gate's first visit purpose word: keys before it are visit markers (`visit`).
    gate_first_place_end: int
    article_numerals: frozenset[str]
    #: a run of digits or Chinese numerals (group `num`), then its measure word (group `word`).
    metric: re.Pattern[str]
    #: what may follow a list of units: 公司, 等单位, then the org body unless it starts a title (党委书记).
    unit_tail: re.Pattern[str]
    numeral_word_before: frozenset[str]
    #: a run of object words (quoted names kept whole), and the verbs that end an object.
    object_run: re.Pattern[str]
    object_verb: re.Pattern[str]
    object_verbs_before: tuple[str, ...]
    #: nouns holding one of `object_verbs_before` (党组织): no verb inside them.
    object_verb_nouns: tuple[str, ...]
    count_qualifiers: tuple[str, ...]
    subject_left_words: tuple[str, ...]
    #: prefixes two groups share (中国兵器): a unit right after one opens a clause from the prefix.
    shared_prefixes: tuple[str, ...]
    max_object_chars: int
    framework_quote_max_chars: int
    non_framework_after: tuple[str, ...]
    speech_before: tuple[str, ...]
    max_framework_chars: int
    campaign: re.Pattern[str]
    #: the tails the campaign pattern ends with: a text holding none of them holds no campaign.
    campaign_tails: tuple[str, ...]
    campaign_tail: re.Pattern[str]
    #: automaton over person titles (leftmost-longest).
    titles: ahocorasick_rs.AhoCorasick
    after_name: tuple[str, ...]
    title_modifiers: tuple[str, ...]
    surnames: frozenset[str]
    compound_surnames: tuple[str, ...]


def _automaton(words: list[str]) -> ahocorasick_rs.AhoCorasick:
    """Leftmost-longest matches as (word, start, end) in one call (the unit registry's library too)."""
    return ahocorasick_rs.AhoCorasick(
        [w for w in words if w],
        matchkind=ahocorasick_rs.MatchKind.LeftmostLongest,
        implementation=ahocorasick_rs.Implementation.DFA,  # the fastest scan; built once per process
    )


@cache
def phrases() -> Phrases:
    data: dict[str, Any] = load_toml("initiative_phrases.toml")
    seg, met, quo, cam, peo = (data[k] for k in ("segment", "metrics", "quotes", "campaigns", "people"))
    # one character class scans several times faster than an alternation; to_number validates the run.
    # Written [x][x]* rather than [x]+ so the pattern opens with a character set, which re uses to skip
    # ahead to the next numeral (27 -> 18 us per seed, measured); same matches.
    digit = f"[0-9{CHINESE_NUMERAL_CHARS}]"
    numeral = rf"{digit}{digit}*(?:\.[0-9]+)?"
    metric = re.compile(
        rf"(?P<num>{numeral})(?:{_alternation(met['approximate'])})?(?P<word>{_alternation(met['measures'])})"
    )
    campaign = re.compile(
        rf"[“\"‘](?P<core>[^“”\"‘’]{{1,12}})[”\"’](?P<tail>[\u4e00-\u9fff]{{0,{int(cam['max_tail_chars'])}}}?"
        rf"(?:{_alternation(cam['tails'])}))"
    )
    from parsers.units import gazetteer  # the list ends are the gazetteer's, kept in one place

    rules = gazetteer().rules
    list_ends = [*rules.list_ends, rules.list_end_before_follower]

    return Phrases(
        org_bodies=tuple(sorted(seg["org_bodies"], key=len, reverse=True)),
        org_body_not_before=tuple(seg["org_body_not_before"]),
        unit_tails=tuple(sorted(seg["unit_tails"], key=len, reverse=True)),
        join_gap_max=sum(max(map(len, w), default=0) for w in (seg["unit_tails"], seg["org_bodies"], rules.separators)),
        list_ends=rules.list_ends,
        not_subject_before=tuple(seg["not_subject_before"]),
        not_subject_first=frozenset(w[0] for w in seg["not_subject_before"]),
        background=re.compile(_alternation(seg["background_marks"])),
        testimony=re.compile(seg["testimony_pattern"]),
        description_after_unit=tuple(seg["description_after_unit"]),
        partner_joins=frozenset(seg["partner_joins"]),
        partner_gap_max=int(seg["partner_gap_max"]),
        sentence_ends=frozenset(seg["sentence_ends"]),
        sentence_end=re.compile("[" + re.escape(seg["sentence_ends"]) + "]"),
        through_last_sentence_end=re.compile("(?s).*[" + re.escape(seg["sentence_ends"]) + "]"),
        clause_ends=frozenset(seg["clause_ends"]),
        leading_markers=tuple(seg["leading_markers"]),
        leading_pattern=re.compile("|".join(f"(?:{pat})" for pat in seg["leading_patterns"])),
        general_markers=tuple(seg["general_markers"]),
        continuation_openings=tuple(seg["continuation_openings"]),
        layout_heading_openings=tuple(seg["layout_heading_openings"]),
        layout_heading_marks=tuple(seg["layout_heading_marks"]),
        quote_openings=tuple(seg["quote_openings"]),
        quote_speech_window=int(seg["quote_speech_window"]),
        speech_intent_openings=tuple(seg["speech_intent_openings"]),
        intent_openings=tuple(seg["intent_openings"]),
        titles_after_unit=tuple(sorted(seg["titles_after_unit"], key=len, reverse=True)),
        host_before=tuple(seg["host_before"]),
        reference_words=tuple(seg["reference_words"]),
        reference=re.compile(_alternation(seg["reference_words"])),
        reference_start=re.compile("[" + "".join(re.escape(w[0]) for w in seg["reference_words"]) + "]"),
        person_leads=tuple(seg["person_leads"]),
        visit_markers=tuple(seg["visit_markers"]),
        visit=re.compile(_alternation(seg["visit_markers"])),
        group_level_openings=tuple(seg["group_level_openings"]),
        enumerator=re.compile(seg["enumerator_pattern"]),
        single_unit_title_markers=tuple(seg["single_unit_title_markers"]),
        abbreviation=re.compile(seg["abbreviation_pattern"]),
        ordinal_after=tuple(met["ordinal_after"]),
        not_metric_objects=tuple(met["not_metric_objects"]),
        after_number_bounds=tuple(met["after_number_bounds"]),
        outcome_leads=tuple(seg["outcome_leads"]),
        subset_before=tuple(met["subset_before"]),
        object_trailing_drop=tuple(met["object_trailing_drop"]),
        speech_verbs=tuple(seg["speech_verbs"]),
        reporting_leads=tuple(seg["reporting_leads"]),
        measure_openings=tuple(seg["measure_openings"]),
        measure_heading_max_chars=int(seg["measure_heading_max_chars"]),
        sequencers=tuple(seg["sequencers"]),
        actor_references=tuple(seg["actor_references"]),
        measure_subject=re.compile(seg["measure_subject_pattern"]),
        short_lead_max_chars=int(seg["short_lead_max_chars"]),
        visit_place=re.compile(
            f"(?:{_alternation(seg['visit_place_verbs'])})(?P<place>[^。;,]{{1,{int(seg['visit_place_max_chars'])}}}?)"
            f"(?:{_alternation(seg['visit_place_ends'])})"
        ),
        # a visit needs a marker or a purpose word: a paragraph with neither has no visit in any sentence
        # the background marks ride in the same scan (their keys come after the visit words); every
        # occurrence is reported (standard match kind, overlapping), so a background mark never hides a visit
        # word it overlaps (记者见到访…) nor the reverse
        visit_gate_utf8=ahocorasick_rs.BytesAhoCorasick(
            [w.encode() for w in (*seg["visit_markers"], *seg["visit_place_ends"], *seg["background_marks"]) if w],
            matchkind=ahocorasick_rs.MatchKind.Standard,
            implementation=ahocorasick_rs.Implementation.DFA,
        ),
        gate_first_background=len([w for w in (*seg["visit_markers"], *seg["visit_place_ends"]) if w]),
        gate_first_place_end=len([w for w in seg["visit_markers"] if w]),
        article_numerals=frozenset(met["article_numerals"]),
        metric=metric,
        unit_tail=re.compile(
            rf"(?:{_alternation(seg['unit_tails'])})?"
            # a short aside between unit and body: 中航工业宏远(以下简称“宏远”)党委, 西安应用光学研究所(205所)党委
            r"(?:\([^()]{1,12}\))?"
            rf"(?:{_alternation(list_ends)})?"
            # 各 before the body: the unit's own branches act (黎明公司各党支部…)
            rf"(?:各?(?P<org>{_alternation(seg['org_bodies'])})(?!{_alternation(seg['org_body_not_before'])}))?"
        ),
        numeral_word_before=frozenset(met["numeral_word_before"]),
        object_run=re.compile(
            rf"(?:“[^”]{{0,{int(met['max_object_chars'])}}}”|[^\W\d_{re.escape(''.join(met['object_stops']))}])+"
        ),
        object_verb=re.compile(_alternation(met["object_verb_stops"])),
        object_verbs_before=tuple(met["object_verbs_before"]),
        object_verb_nouns=tuple(met["object_verb_nouns"]),
        count_qualifiers=tuple(sorted(met["count_qualifiers"], key=len, reverse=True)),
        subject_left_words=tuple(seg["subject_left_words"]),
        shared_prefixes=rules.shared_prefixes,
        max_object_chars=int(met["max_object_chars"]),
        framework_quote_max_chars=int(met["framework_quote_max_chars"]),
        non_framework_after=tuple(quo["non_framework_after"]),
        speech_before=tuple(quo["speech_before"]),
        max_framework_chars=int(quo["max_framework_chars"]),
        campaign=campaign,
        campaign_tails=tuple(cam["tails"]),
        campaign_tail=re.compile(_alternation(cam["unquoted_tails"])),
        titles=_automaton(peo["titles"]),
        after_name=tuple(peo["after_name"]),
        title_modifiers=tuple(sorted(peo["title_modifiers"], key=len, reverse=True)),
        surnames=frozenset("".join(peo["surnames"].split())),
        compound_surnames=tuple(peo["compound_surnames"]),
    )
