"""What a fetch returned: an article, an article under a hosting banner, or one of the ways sites die.

Sites in this field expire, get parked or suspended far more often than they publish, and a dead page
loaded as an article would overwrite good data. So every fetch gets a named verdict with the evidence
behind it, and the rules live in ``data/verdict_rules.toml`` so a new hosting template is a data change.

Layering, from most to least trusted:
  * transport facts (error, binary body, content type, HTTP status);
  * strong template rules: decide alone, except when the template is a banner at the top or bottom of a
    page that still carries a real article (``ok_with_notice``; the banner lines go to
    ``Verdict.notice_blocks``);
  * loader rules (script, iframe and refresh loaders of challenge, parking and ICP hosts): decide only on
    a page with next to no visible text, since real pages load the same CDNs' scripts;
  * template-free signals (``verdict_signals``): a title, heading or short line that is mostly a
    not-found / forbidden / error / maintenance phrase in one of many languages or a status code, and a
    refresh to an error path;
  * weak phrases: decide only on a thin page, by summed weight; on a real article only a multi-phrase
    banner at the head or tail counts, and then only as a notice;
  * a sibling probe from the flow: a host that answers a random path with the same page is a catch-all.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from urllib.parse import urlsplit

import ahocorasick_rs

from parsers import verdict_signals as signals
from parsers.datafiles import load_toml
from parsers.document import Document
from parsers.records import GOOD_VERDICTS, Evidence, Probe, RawPage, Verdict, VerdictName

_TEXT_WHERE = frozenset({"title", "head", "tail", "body"})
_WHERE = _TEXT_WHERE | {"script_src", "markup", "final_url"}
_RULE_VERDICTS = frozenset(
    {"expired", "parked", "suspended", "default_page", "not_found", "blocked", "error", "notice"}
)
_STRENGTHS = frozenset({"strong", "loader", "weak", "adjunct"})
#: when templates of several kinds fire together, the most specific cause of death wins
#: (an expired domain is usually also parked by its registrar).
_PRECEDENCE: tuple[VerdictName, ...] = (
    "expired", "suspended", "parked", "default_page", "not_found", "blocked", "error"
)
#: punctuation stripped before whole-line matching, so "It works!" and "【网站已关闭】" are whole lines.
_LINE_STRIP = " \t!！.。,，:：;；-—_|·•*#>【】[]()（）<《》\"'“”‘’?？~"
#: a probe sibling this similar, answered with 200, means the host serves one page for every path.
CATCH_ALL_SIMILARITY = 0.9
_ALLOWED_TYPES = ("html", "xml", "text/plain")
_HOME_PATHS = frozenset({"", "/", "/index.html", "/index.htm", "/index.php", "/index.shtml", "/default.aspx",
                         "/default.asp", "/default.htm", "/index.jsp", "/index.asp"})


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    verdict: str
    strength: str
    where: frozenset[str]
    regex: re.Pattern[str]
    line: bool
    anchors: tuple[str, ...]
    weight: int
    notes: str = ""


@dataclass(frozen=True, slots=True)
class Limits:
    head_lines: int = 4
    tail_lines: int = 6
    thin_main: int = 300
    thin_text: int = 1500
    article_main: int = 300
    paragraph_min: int = 30
    weak_min_weight: int = 2
    max_lines: int = 4000
    huge_chars: int = 2_000_000
    markup_head: int = 65536
    markup_tail: int = 16384
    max_scripts: int = 200
    notice_line_max: int = 80
    loader_main: int = 120
    loader_text: int = 400
    page_template_main: int = 700
    max_headings: int = 8


@dataclass(frozen=True)
class Catalogue:
    rules: tuple[Rule, ...]
    limits: Limits
    status: dict[int, VerdictName]
    #: one automaton over the anchors of every visible-text rule, and per anchor (by its index in the
    #: automaton) the indexes of the rules it belongs to. The Rust automaton: the visible text of an
    #: article page is long and mostly CJK, which it scans faster than pyahocorasick (docs/extraction.md).
    text_automaton: ahocorasick_rs.AhoCorasick = field(repr=False)
    text_anchor_rules: tuple[tuple[int, ...], ...] = field(repr=False)
    #: per (place, loaders included), the anchors of that place's rules and the rules of each: loader rules
    #: only matter on a bare page, so other pages never pay for their frequent anchors. A few dozen
    #: anchors at most: a substring search each (in C) finds which occur sooner than an automaton whose
    #: every step is a Python iteration, and which occur is all a scan needs.
    other_anchors: dict[tuple[str, bool], dict[str, tuple[int, ...]]] = field(repr=False)


@dataclass(frozen=True, slots=True)
class Hit:
    rule: Rule
    where: str
    match: str
    #: index into the judged lines, -1 for title and non-text places.
    line: int = -1

    def evidence(self) -> Evidence:
        return Evidence(self.rule.id, self.match[:200], self.where)


def _parse_rule(raw: dict[str, object]) -> Rule:
    rid = str(raw["id"])
    verdict = str(raw["verdict"])
    strength = str(raw["strength"])
    where_raw = raw.get("where", ["body"])
    where = frozenset(str(w) for w in where_raw) if isinstance(where_raw, list) else frozenset()
    if verdict not in _RULE_VERDICTS or strength not in _STRENGTHS or not where <= _WHERE:
        raise ValueError(f"verdict rule {rid}: bad verdict, strength or where")
    pattern = str(raw["pattern"])
    is_regex = bool(raw.get("regex", False))
    line = raw.get("match", "contains") == "line"
    source = pattern.lower() if is_regex else re.escape(pattern.lower())
    anchors = tuple(a for a in str(raw.get("anchor", "") if is_regex else pattern).lower().split("|") if a)
    if not anchors:
        raise ValueError(f"verdict rule {rid}: a regex rule needs an anchor")
    weight_raw = raw.get("weight", 1)
    weight = weight_raw if isinstance(weight_raw, int) else 1
    return Rule(rid, verdict, strength, where, re.compile(source, re.IGNORECASE), line, anchors, weight,
                str(raw.get("notes", "")))


@cache
def catalogue() -> Catalogue:
    """The compiled rule catalogue (loaded once per process)."""
    data = load_toml("verdict_rules.toml")
    rules = tuple(_parse_rule(r) for r in data["rule"])
    ids = [r.id for r in rules]
    if len(set(ids)) != len(ids):
        raise ValueError("verdict rules: duplicate ids")
    limits = Limits(**{k: int(v) for k, v in data.get("limits", {}).items()})
    status: dict[int, VerdictName] = {int(k): v for k, v in data.get("status", {}).items()}
    by_anchor: dict[str, list[int]] = {}
    other: dict[str, list[int]] = {w: [] for w in ("script_src", "markup", "final_url")}
    for i, rule in enumerate(rules):
        if rule.where & _TEXT_WHERE:
            for anchor in rule.anchors:
                by_anchor.setdefault(anchor, []).append(i)
        for w in other:
            if w in rule.where:
                other[w].append(i)
    if any(_REPLACEMENT in anchor for anchor in by_anchor):
        raise ValueError("verdict rules: an anchor holds U+FFFD, which text_hits reads lone surrogates as")
    automaton = ahocorasick_rs.AhoCorasick(list(by_anchor))
    other_anchors: dict[tuple[str, bool], dict[str, tuple[int, ...]]] = {}
    for where, idx in other.items():
        for with_loaders in (False, True):
            anchors: dict[str, list[int]] = {}
            for i in idx:
                if with_loaders or rules[i].strength != "loader":
                    for anchor in rules[i].anchors:
                        anchors.setdefault(anchor, []).append(i)
            other_anchors[(where, with_loaders)] = {a: tuple(members) for a, members in anchors.items()}
    return Catalogue(rules, limits, status, automaton, tuple(tuple(i) for i in by_anchor.values()), other_anchors)


# ───────────────────────────── page view ─────────────────────────────


@dataclass(frozen=True, slots=True)
class PageView:
    """The bounded slice of a page the rules look at."""

    title: str
    lines: Sequence[str]
    text_length: int
    main_length: int
    #: h1/h2 text near the top and the first lines: where a page names itself after its title.
    headings: tuple[str, ...] = ()


def main_length(lines: Sequence[str], paragraph_min: int, skip: Iterable[int] = ()) -> int:
    """Longest run of paragraph-like lines: short lines (headings, captions) within a run are tolerated,
    three in a row end it — the shape of an article as opposed to navigation, footers or notices."""
    skipped = set(skip)
    best = run = gap = 0
    for i, line in enumerate(lines):
        if i in skipped:
            continue
        if len(line) >= paragraph_min:
            run += len(line)
            gap = 0
            best = max(best, run)
        else:
            gap += 1
            if gap > 2:
                run = 0
    return best


def page_view(doc: Document, limits: Limits | None = None) -> PageView:
    lim = limits or catalogue().limits
    if len(doc.text) > lim.huge_chars:
        # Parsing a 30 MB page fully only to find a banner is waste: notices live at the ends.
        half = lim.huge_chars // 2
        head = Document.from_text(doc.target, doc.text[:half], doc.encoding, doc.content_type).lines
        tail = Document.from_text(doc.target, doc.text[-half // 4:], doc.encoding, doc.content_type).lines
        lines: list[str] = head + tail
        # visible share of the sliced markup, extrapolated: an estimate, the page is never walked whole
        sliced = sum(len(s) for s in lines) / (half + half // 4)
        text_length = int(sliced * len(doc.text))
    else:
        lines = doc.lines
        text_length = sum(len(s) for s in lines)
    if len(lines) > lim.max_lines:
        keep_head = lim.max_lines * 3 // 4
        lines = lines[:keep_head] + lines[-(lim.max_lines - keep_head):]
    try:
        title = doc.title
    except Exception:  # a tree too broken to query still has lines to judge
        title = ""
    return PageView(title[:500], lines, text_length, main_length(lines, lim.paragraph_min),
                    _headings(doc, lines, lim))


def _headings(doc: Document, lines: Sequence[str], lim: Limits) -> tuple[str, ...]:
    """h1/h2 among the first blocks (menus further down use headings too) and the first lines that are
    not links (a menu item named "Maintenance" is navigation, not the page speaking)."""
    head_lines = signals.table().limits.head_lines
    if len(doc.text) > lim.huge_chars or not doc.walk.blocks:
        return tuple(lines[:head_lines])
    top = doc.walk.blocks[: lim.max_headings * 5]
    found = [b.text for b in top if b.tag in ("h1", "h2")][: lim.max_headings]
    found += [b.text for b in top[:head_lines] if b.link_chars * 2 <= len(b.text) and b.text not in found]
    return tuple(found)


# ───────────────────────────── matching ─────────────────────────────


def _position(i: int, n: int, lim: Limits) -> str:
    if i < lim.head_lines:
        return "head"
    if i >= n - lim.tail_lines:
        return "tail"
    return "body"


def _allowed(rule: Rule, where: str) -> bool:
    if where == "title":
        return "title" in rule.where
    return where in rule.where or "body" in rule.where


def _verify(rule: Rule, text: str) -> str | None:
    if rule.line:
        stripped = text.strip(_LINE_STRIP)
        return stripped if rule.regex.fullmatch(stripped) else None
    m = rule.regex.search(text)
    return m.group(0) if m else None


def text_hits(view: PageView, cat: Catalogue | None = None) -> list[Hit]:
    """Every rule that fires on the title or a visible line, found with one Aho-Corasick pass."""
    cat = cat or catalogue()
    segments = [view.title, *view.lines]
    lowered = [s.lower() for s in segments]
    joined = "\n".join(lowered)
    starts: list[int] = []
    pos = 0
    for s in lowered:
        starts.append(pos)
        pos += len(s) + 1
    candidates: set[tuple[int, int]] = set()
    for anchor, _, end in _occurrences(cat.text_automaton, joined):
        seg = bisect.bisect_right(starts, end - 1) - 1
        for r in cat.text_anchor_rules[anchor]:
            candidates.add((seg, r))
    n = len(view.lines)
    hits: list[Hit] = []
    for seg, r in sorted(candidates):
        rule = cat.rules[r]
        where = "title" if seg == 0 else _position(seg - 1, n, cat.limits)
        if not _allowed(rule, where):
            continue
        found = _verify(rule, lowered[seg])
        if found is None:
            continue
        original = segments[seg]
        match = original if rule.line else _original_span(original, lowered[seg], found)
        hits.append(Hit(rule, where, match, seg - 1))
    return hits


#: what ``_occurrences`` reads a lone surrogate as; no anchor may hold it (``catalogue`` checks).
_REPLACEMENT = "\ufffd"


def _occurrences(automaton: ahocorasick_rs.AhoCorasick, text: str) -> list[tuple[int, int, int]]:
    """Every occurrence of every anchor, overlapping ones too, as (anchor, start, end).

    The Rust automaton reads UTF-8, which a lone surrogate has none of; decoded pages never hold one, but
    a str handed in directly may. It is read as U+FFFD (one code point for one, so offsets hold), which
    no anchor holds: a surrogate could not be part of an occurrence either.
    """
    try:
        return automaton.find_matches_as_indexes(text, overlapping=True)
    except UnicodeEncodeError:
        cleaned = "".join(_REPLACEMENT if "\ud800" <= ch <= "\udfff" else ch for ch in text)
        return automaton.find_matches_as_indexes(cleaned, overlapping=True)


def _original_span(original: str, lowered: str, found: str) -> str:
    """The matched text as the page wrote it (case kept), when lower-casing kept the offsets."""
    at = lowered.find(found)
    if at >= 0 and len(original) == len(lowered):
        return original[at:at + len(found)]
    return found


def _scan(cat: Catalogue, where: str, values: Iterable[str], loaders: bool = True) -> list[Hit]:
    hits: list[Hit] = []
    anchors = cat.other_anchors[(where, loaders)]
    if not anchors:
        return hits
    for value in values:
        low = value.lower()
        # only the rules whose anchors occur run their regex
        candidates = sorted({r for anchor, idx in anchors.items() if anchor in low for r in idx})
        for r in candidates:
            rule = cat.rules[r]
            found = _verify(rule, low)
            if found is not None:
                hits.append(Hit(rule, where, value if where != "markup" else found))
    return hits


def _final_url(raw: RawPage, doc: Document | None) -> str | None:
    if raw.final_url:
        return raw.final_url
    if raw.status_chain:
        return raw.status_chain[-1][1]
    return doc.final_url if doc is not None else None


def markup_hits(raw: RawPage, doc: Document, cat: Catalogue | None = None, loaders: bool = True) -> list[Hit]:
    """Rules on script sources, raw markup slices and the final URL (places a reader never sees);
    ``loaders=False`` skips the rules that only count on a bare page."""
    cat = cat or catalogue()
    lim = cat.limits
    hits: list[Hit] = []
    if doc.tree is not None:
        srcs: list[str] = []
        try:
            for node in doc.tree.css("script[src]")[: lim.max_scripts]:
                src = node.attributes.get("src")
                if src:
                    srcs.append(src)
        except Exception:  # selectolax on broken trees: no scripts is the honest answer
            srcs = []
        hits += _scan(cat, "script_src", srcs, loaders)
        text = doc.text
        if len(text) > lim.markup_head + lim.markup_tail:
            slices = [text[: lim.markup_head], text[-lim.markup_tail:]]
        else:
            slices = [text]
        hits += _scan(cat, "markup", slices, loaders)
    url = _final_url(raw, doc)
    if url:
        hits += _scan(cat, "final_url", [url], loaders)
    return hits


# ───────────────────────────── decision ─────────────────────────────


def _best(hits: Sequence[Hit], weighted: bool = False) -> VerdictName:
    score: dict[str, int] = {}
    for h in hits:
        score[h.rule.verdict] = score.get(h.rule.verdict, 0) + (h.rule.weight if weighted else 1)
    ranked = [v for v in _PRECEDENCE if v in score]
    if weighted:
        ranked.sort(key=lambda v: -score[v])  # stable: ties keep precedence order
    return ranked[0] if ranked else "ok"


def _notice_cluster(seeds: set[int], line_hits: dict[int, list[Hit]], lines: Sequence[str],
                    lim: Limits) -> list[int]:
    """Seed lines plus short neighbours that carry any hit (phone line, renew-now line, another template);
    a long neighbour is article prose even when it mentions 到期, and must stay in the article."""
    members = set(seeds)
    n = len(lines)
    for s in seeds:
        for step in (-1, 1):
            j = s + step
            while (0 <= j < n and j in line_hits and j not in members
                   and len(lines[j]) <= lim.notice_line_max):
                members.add(j)
                j += step
    return sorted(members)


def _short(hit: Hit, lines: Sequence[str], lim: Limits) -> bool:
    return hit.line < 0 or len(lines[hit.line]) <= lim.notice_line_max


def _in_band(i: int, n: int, lim: Limits) -> bool:
    return i < lim.head_lines or i >= n - lim.tail_lines


def _dedupe(evidence: Iterable[Evidence]) -> tuple[Evidence, ...]:
    seen: dict[tuple[str, str, str], Evidence] = {}
    for e in evidence:
        seen.setdefault((e.rule, e.match, e.where), e)
    return tuple(seen.values())


def bare(view: PageView, lim: Limits) -> bool:
    """Next to no visible text: what a script, iframe or refresh loader shows before it moves on."""
    return view.main_length < lim.loader_main and view.text_length < lim.loader_text


#: template kinds about one page (not a hosting notice that may sit as a banner over a real article).
_PAGE_TEMPLATE_KINDS = frozenset({"not_found", "blocked", "error", "default_page"})


def _content_verdict(view: PageView, hits: list[Hit], lim: Limits,
                     heard: Callable[[], Verdict | None] = lambda: None) -> Verdict:
    """Templates first; then what the page says of itself (``heard``, asked only when no template
    decided); then loaders on a bare page; then weak phrases."""
    lines = view.lines
    n = len(lines)
    size = (view.text_length, view.main_length)
    strong = [h for h in hits if h.rule.strength == "strong"]
    # A weak phrase inside a long paragraph is prose (合同到期, 手续费), not a notice.
    weak = [h for h in hits if h.rule.strength == "weak" and _short(h, lines, lim)]
    line_hits: dict[int, list[Hit]] = {}
    for h in hits:
        if h.line >= 0:
            line_hits.setdefault(h.line, []).append(h)
    # An error, refusal or not-found template at the top of the page, or on a page with no article-length
    # text, is the page itself; a hosting notice elsewhere may be a banner over a real article.
    article = view.main_length >= lim.page_template_main
    page_level = [h for h in strong if h.rule.verdict in _PAGE_TEMPLATE_KINDS and h.line >= 0
                  and (h.line < lim.head_lines or not article) and _owns_line(h, lines, lim, article=article)]
    placeless = [h for h in strong if h.line < 0 and (
        h.rule.verdict not in _PAGE_TEMPLATE_KINDS or _owns_line(h, lines, lim, view.title, article))]
    strong = [h for h in strong if h.line >= 0 or h in placeless]
    decisive = placeless or page_level

    if decisive:
        return _refined(Verdict(_best(strong), _dedupe(h.evidence() for h in strong), *size), heard)

    body_strong = [h for h in strong if h.line >= 0]
    if body_strong:
        # a notice banner is a short line at either end; a long paragraph there quotes the template.
        seeds = {h.line for h in body_strong if _in_band(h.line, n, lim) and _short(h, lines, lim)}
        cluster = _notice_cluster(seeds, line_hits, lines, lim) if seeds else []
        residual = main_length(lines, lim.paragraph_min, skip=cluster)
        if residual >= lim.article_main:
            if not cluster:  # a template quoted inside an article is not a notice
                return Verdict("ok", (Evidence("content.article", str(residual), "body"),), *size)
            return _with_notice(lines, cluster, line_hits, residual, view)
        return Verdict(_best(strong), _dedupe(h.evidence() for h in strong + weak), *size)

    said = heard()
    if said is not None:
        return said
    loaders = [h for h in hits if h.rule.strength == "loader"] if bare(view, lim) else []
    if loaders:
        return Verdict(_best(loaders), _dedupe(h.evidence() for h in loaders), *size)
    if weak:
        thin = view.main_length < lim.thin_main and view.text_length < lim.thin_text
        total = sum(h.rule.weight for h in weak)
        if thin and total >= lim.weak_min_weight:
            return Verdict(_best(weak, weighted=True), _dedupe(h.evidence() for h in weak), *size)
        banner = _weak_banner(weak, line_hits, lines, lim)
        if banner and not thin:
            residual = main_length(lines, lim.paragraph_min, skip=banner)
            if residual >= lim.article_main:
                return _with_notice(lines, banner, line_hits, residual, view)
        suspect = tuple(h.evidence() for h in weak if h.rule.verdict == "not_found")
        return Verdict("ok", _dedupe(suspect), *size)
    return Verdict("ok", (), *size)


def _owns_line(hit: Hit, lines: Sequence[str], lim: Limits, title: str = "", article: bool = False) -> bool:
    """The template is the line or the title (a heading, a notice), not a few words quoted in a paragraph
    or a headline of news ("专家解读：您的访问被阻断是怎么回事"). On a page with article-length text the
    template must be most of its line; on a short page a short line or a third of a long one will do."""
    text = title if hit.where == "title" else (lines[hit.line] if hit.line >= 0 else "")
    if not text:
        return True
    if article:
        return len(hit.match) * 2 >= len(text)
    return len(text) <= lim.notice_line_max or len(hit.match) * 3 >= len(text)


def _refined(verdict: Verdict, heard: Callable[[], Verdict | None]) -> Verdict:
    """A generic error template (an ASP.NET yellow page, a framework's exception page) on a page whose
    title or heading says more precisely what happened (404, 403) takes the page's word for the kind."""
    if verdict.name != "error":
        return verdict
    said = heard()
    if said is None or said.name not in ("not_found", "blocked"):
        return verdict
    if not any(e.where == "title" or e.rule.endswith(".by_code") for e in said.evidence):
        return verdict  # "the page you are looking for is unavailable" in an error page's text is no 404
    return Verdict(said.name, (*said.evidence, *verdict.evidence), verdict.text_length, verdict.main_length)


def _weak_banner(weak: list[Hit], line_hits: dict[int, list[Hit]], lines: Sequence[str],
                 lim: Limits) -> list[int]:
    """Head/tail lines whose weak phrases together read like a notice (到期 + 续费, not one word)."""
    n = len(lines)
    seeds = {h.line for h in weak
             if h.line >= 0 and _in_band(h.line, n, lim) and h.rule.verdict != "not_found"}
    if not seeds:
        return []
    cluster = _notice_cluster(seeds, line_hits, lines, lim)
    rules = {h.rule.id for i in cluster for h in line_hits.get(i, []) if h.rule.strength == "weak"}
    return cluster if len(rules) >= 2 else []


def _with_notice(lines: Sequence[str], cluster: list[int], line_hits: dict[int, list[Hit]], residual: int,
                 view: PageView) -> Verdict:
    evidence = [h.evidence() for i in cluster for h in line_hits.get(i, [])]
    evidence.append(Evidence("content.article", str(residual), "body"))
    return Verdict("ok_with_notice", _dedupe(evidence), view.text_length, residual,
                   tuple(lines[i] for i in cluster))


def _content_type(raw: RawPage, doc: Document | None) -> str | None:
    ct = next((v for k, v in raw.headers.items() if k.lower() == "content-type"), None)
    return ct if ct else (doc.content_type if doc is not None else None)


def _apply_probe(verdict: Verdict, raw: RawPage, probe: Probe | None) -> Verdict:
    if probe is None:
        return verdict
    catch_all = (
        verdict.name in GOOD_VERDICTS
        and not is_home(raw.url)
        and probe.status is not None
        and 200 <= probe.status < 300
        and probe.similarity is not None
        and probe.similarity >= CATCH_ALL_SIMILARITY
    )
    if catch_all:
        facts = f"{probe.url} {probe.status} similarity={probe.similarity:.2f}"
        ev = Evidence("probe.catch_all", facts, "probe")
        return Verdict("not_found", (ev, *verdict.evidence), verdict.text_length, verdict.main_length,
                       (), probe)
    ev = Evidence("probe.distinct", f"{probe.url} {probe.status} similarity={probe.similarity}", "probe")
    return Verdict(verdict.name, (*verdict.evidence, ev), verdict.text_length, verdict.main_length,
                   verdict.notice_blocks, probe)


def _judge(raw: RawPage, doc: Document | None) -> Verdict:
    cat = catalogue()
    if raw.error:
        return Verdict("error", (Evidence("transport.error", raw.error[:200], "status"),))
    if doc is None:
        return Verdict("not_html", (Evidence("body.binary", f"{len(raw.body)} bytes", "markup"),))
    ct = _content_type(raw, doc)
    if ct and not any(t in ct.lower() for t in _ALLOWED_TYPES):
        return Verdict("not_html", (Evidence("content_type.not_text", ct[:100], "status"),))
    if not raw.body.strip() and not doc.text.strip():
        said = () if raw.status is None else (Evidence(f"http.{raw.status}", str(raw.status), "status"),)
        return Verdict("error", (Evidence("body.empty", "0 bytes", "markup"), *said))

    view = page_view(doc, cat.limits)
    hits = text_hits(view, cat) + markup_hits(raw, doc, cat, loaders=bare(view, cat.limits))
    status = raw.status
    if status is not None and not 200 <= status < 400:
        # a template names the cause more precisely than the status (a 403 that is a cPanel suspension, a
        # 503 that is a Cloudflare challenge); an error or not-found template says no more than the status
        strong = [h for h in hits if h.rule.verdict not in ("not_found", "error") and (
            h.rule.strength == "strong" or (h.rule.strength == "loader" and bare(view, cat.limits)))]
        status_ev = Evidence(f"http.{status}", str(status), "status")
        if strong:
            return Verdict(_best(strong), (status_ev, *_dedupe(h.evidence() for h in strong)),
                           view.text_length, view.main_length)
        if status >= 500:  # most maintenance pages answer 503: the page's words say it is the whole site
            heard = signal_verdict(view, doc, raw)
            if heard is not None and heard.name == "suspended":
                return Verdict("suspended", (status_ev, *heard.evidence), view.text_length, view.main_length)
        name: VerdictName = cat.status.get(status, "error")
        return Verdict(name, (status_ev,), view.text_length, view.main_length)

    verdict = _content_verdict(view, hits, cat.limits, lambda: signal_verdict(view, doc, raw))
    landed = _final_url(raw, None)
    if verdict.name in GOOD_VERDICTS and landed and not is_home(raw.url) and is_home(landed):
        # an article URL that now lands on the home page: the article is gone, whatever the home page says
        return Verdict("not_found", (Evidence("redirect.to_home", landed[:200], "status"),),
                       view.text_length, view.main_length)
    if verdict.name == "ok" and view.text_length == 0:
        scripts = doc.tree is not None and doc.tree.css_first("script") is not None
        rule = "page.script_only" if scripts else "page.no_text"
        return Verdict("error", (Evidence(rule, view.title[:200], "markup"),), 0, 0)
    return verdict


def signal_verdict(view: PageView, doc: Document, raw: RawPage) -> Verdict | None:
    """What the page says it is when no template knows it: title, headings, short lines, refresh target.

    Beyond a thin page, the title counts only when one of the headings says the same (an article may be
    headlined "Access Denied"; a soft-404 with a long list of recommended reading repeats "page not
    found" in its h1), and a rich page is heard through nothing else. A page's own words about the whole site
    (maintenance, closed, coming soon) only count on a thin page, since news lists say 系统维护 too.
    """
    tab = signals.table()
    lim = tab.limits
    rich = view.main_length >= lim.rich_main
    thin = view.main_length < lim.thin_main and view.text_length < lim.thin_text
    titled = signals.title_signal(view.title, tab)
    if not thin and titled is not None and len(doc.text) <= cat_limits().huge_chars:
        headings = [b.text for b in doc.walk.blocks[: cat_limits().max_lines] if b.tag in ("h1", "h2", "h3")]
        said = signals.heading_signal([*view.headings, *headings], tab)
        titled = titled if said is not None and said.kind == titled.kind else None
    found = [titled]
    if not rich:
        found.append(signals.heading_signal(view.headings, tab))
    if thin and view.main_length < lim.presence_main and view.text_length < lim.presence_text:
        message = signals.presence_signal(doc.walk.blocks, tab)
        if message is not None and (message.kind in _PAGE_KINDS or view.text_length < lim.presence_site_text):
            found.append(message)
    heard = [s for s in found if s is not None and (thin or s.kind in _PAGE_KINDS)]
    best = signals.best(heard)
    if best is None and view.main_length < lim.line_signal_main and len(doc.text) <= cat_limits().huge_chars:
        best = signals.line_signal(doc.walk.blocks[: cat_limits().max_lines], tab)
    if best is None and thin:
        target = refresh_target(doc)
        if target:
            best = signals.path_signal(target, "refresh", tab)
    if best is None and not rich:
        landed = _final_url(raw, None)
        if landed and landed != raw.url and not is_home(landed):
            # redirected to /404.html or /error/: the site's way of saying so while answering 200
            best = signals.path_signal(landed, "redirect", tab)
    if best is None:
        return None
    rule = f"signal.{best.where}.{best.kind}" + (".by_code" if best.by_code else "")
    ev = Evidence(rule, best.text, best.where)
    return Verdict(best.verdict, (ev,), view.text_length, view.main_length)


def cat_limits() -> Limits:
    return catalogue().limits


#: signal kinds about one page, heard on rich pages too; the others speak for the whole site.
_PAGE_KINDS = frozenset({"not_found", "blocked", "error"})
_REFRESH_URL = re.compile(r"url\s*=\s*['\"]?([^'\";\s>]+)", re.IGNORECASE)


def refresh_target(doc: Document) -> str | None:
    """The URL a <meta http-equiv=refresh> sends the reader to, if any."""
    if doc.tree is None:
        return None
    try:
        for node in doc.tree.css("meta[http-equiv]")[:10]:
            if (node.attributes.get("http-equiv") or "").strip().lower() == "refresh":
                m = _REFRESH_URL.search(node.attributes.get("content") or "")
                if m:
                    return m.group(1)
    except Exception:  # selectolax on broken trees: no refresh is the honest answer
        return None
    return None


def judge(raw: RawPage, doc: Document | None, probe: Probe | None = None) -> Verdict:
    """The verdict for one fetch. Never raises: a page that breaks the judge is an ``error`` with evidence."""
    try:
        verdict = _judge(raw, doc)
    except Exception as exc:  # the pipeline must keep going on any page; the evidence says what broke
        broke = f"{type(exc).__name__}: {exc}"[:200]
        verdict = Verdict("error", (Evidence("verdict.exception", broke, "body"),))
    return _apply_probe(verdict, raw, probe)


def is_home(url: str) -> bool:
    """Home pages are never called catch-all: unknown paths redirecting home look identical to it."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.path.lower() in _HOME_PATHS and not parts.query


def needs_probe(raw: RawPage, doc: Document | None, verdict: Verdict) -> bool:
    """Pages the flow should double-check with a random sibling path: accepted but thin, or accepted
    while the title or first lines read like a 404."""
    if doc is None or verdict.probe is not None or verdict.name not in GOOD_VERDICTS:
        return False
    if raw.status is not None and not 200 <= raw.status < 300:
        return False
    if is_home(raw.url):
        return False
    if any(e.rule.startswith("soft404.") for e in verdict.evidence):
        return True
    lim = catalogue().limits
    return verdict.main_length < lim.thin_main
