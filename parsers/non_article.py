"""Lines that read like sentences but are not the article (issue 19, loss kind 1): promotion and social/app
calls, reprint/copyright/disclaimer notices, comment-area text (comment policies, invitations to comment)
and credit lines written whole in brackets.

Each family needs several signals at once (a platform *and* a call to act on it *and* the reader
addressed; a notice word opening the line *and* the site speaking of itself), so a news sentence that
merely names a platform, a statement or copyright keeps its place. The vocabulary is data: the
``[non_article]`` section of ``data/article_rules.toml``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from parsers.datafiles import load_toml


@dataclass(frozen=True, slots=True)
class _Families:
    max_len: int
    social_max: int
    social: re.Pattern[str]
    social_call: re.Pattern[str]
    social_address: re.Pattern[str]
    call_lead: int
    comment_words: re.Pattern[str]
    comment_rules: re.Pattern[str]
    imperative: re.Pattern[str]
    comment_max: int
    notice_lead: int
    notice: re.Pattern[str]
    notice_scope: re.Pattern[str]
    credit: re.Pattern[str]
    #: a platform, notice or comment word, one of which every family but credit lines needs: one
    #: search turns most lines away.
    any_family: re.Pattern[str]


#: first characters of credit lines (brackets, 资料来源, 消息来源, 原文链接): see ``credit`` in the data.
_CREDIT_OPENERS = frozenset("（([【资資消原")


def _words(words: Sequence[str]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)))


@cache
def _families() -> _Families:
    raw = load_toml("article_rules.toml")["non_article"]
    return _Families(
        max_len=int(raw["max_len"]),
        social_max=int(raw["social_max_len"]),
        social=_words(raw["social"]),
        social_call=_words(raw["social_call"]),
        social_address=_words(raw["social_address"]),
        call_lead=int(raw["call_lead"]),
        comment_words=_words(raw["comment_words"]),
        comment_rules=_words(raw["comment_rules"]),
        imperative=_words(raw["imperative"]),
        comment_max=int(raw["comment_max_len"]),
        notice_lead=int(raw["notice_lead"]),
        notice=_words(raw["notice"]),
        notice_scope=_words(raw["notice_scope"]),
        credit=re.compile("|".join(f"(?:{p})" for p in raw["credit"])),
        any_family=_words([*raw["social"], *raw["notice"], *raw["comment_words"]]),
    )


def is_non_article(text: str) -> bool:
    """True for a promotion, social/app, notice, comment-area or credit line (see the module docstring)."""
    r = _families()
    n = len(text)
    if n > r.max_len or not (text[:1] in _CREDIT_OPENERS or r.any_family.search(text)):
        return False
    if r.credit.match(text):
        return True
    call = r.social_call.search(text) if n <= r.social_max and r.social.search(text) else None
    if call is not None and (call.start() <= r.call_lead or r.social_address.search(text)):
        return True
    scope = r.notice_scope.search(text)
    if (
        n <= r.comment_max
        and r.comment_words.search(text)
        and r.comment_rules.search(text)
        and (scope or r.social_address.search(text) or r.imperative.search(text))
    ):
        return True
    if not scope:
        return False
    words = {m.group() for m in r.notice.finditer(text)}
    if not words:
        return False
    return r.notice.search(text[: r.notice_lead]) is not None or len(words) >= 2
