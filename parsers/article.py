"""The article on a page: title, date, source, author, editor, column, headings, paragraphs, captions.

Main content is found the way readability does it, on the blocks `Document.walk` already made from the
shared tree: text-rich, link-poor blocks vote for the containers around them, the best container wins,
and its blocks are then sorted into body, headings, captions and metadata lines, with page chrome, image
file-name lines and closure notices dropped. Text dumps (one paragraph per line) go through the same
line rules with the whole dump as the container. Every failure is an empty `Extraction` with a reason,
never an exception, because one odd page must not stop a batch.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Literal

from selectolax.lexbor import LexborHTMLParser

from parsers import dates
from parsers.cjkfold import fold
from parsers.datafiles import load_toml
from parsers.document import Container, Document, TextBlock, Walk, clean_space, walk_blocks
from parsers.non_article import is_non_article
from parsers.records import Article, Block, SiteSelectors, Verdict


@dataclass(frozen=True, slots=True)
class Extraction:
    article: Article | None
    #: why there is no article ("empty body", "no main content", "not html"…); None when there is one.
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class _Rules:
    boilerplate: re.Pattern[str]
    boilerplate_max: int
    exact: frozenset[str]
    image_name: re.Pattern[str]
    positive: re.Pattern[str]
    negative: re.Pattern[str]
    aside: re.Pattern[str]
    caption: re.Pattern[str]
    caption_text: CaptionText
    layout: CaptionText
    layout_max: int
    related_labels: tuple[str, ...]
    dump_heading_max: int
    meta_published: tuple[str, ...]
    meta_title: tuple[str, ...]
    meta_source: tuple[str, ...]
    meta_author: tuple[str, ...]
    source_line: re.Pattern[str]
    author_line: re.Pattern[str]
    author_spaced: re.Pattern[str]
    editor_line: re.Pattern[str]
    date_label: re.Pattern[str]
    column_line: re.Pattern[str]
    doc_number: re.Pattern[str]
    written_label: re.Pattern[str]
    authority: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class CaptionText:
    """The caption patterns (and the layout patterns) of ``article_rules.toml``, split by whether they name
    anchors.

    Tried one by one in a combined alternation, the patterns cost a search at every position of every
    short line (most of them are anchored at the line's end, which ``re`` cannot jump to); the anchored
    ones are only tried on a line holding one of their anchors, which one scan for a few characters
    finds, so the answer is the same and most lines skip them.
    """

    #: patterns without anchors, combined; None when every pattern has anchors.
    plain: re.Pattern[str] | None
    #: patterns with anchors, combined, and the alternation of all their anchors.
    anchored: re.Pattern[str] | None
    anchors: re.Pattern[str] | None

    @classmethod
    def from_rules(cls, entries: Sequence[dict[str, str]]) -> CaptionText:
        plain = [e["pattern"] for e in entries if not e.get("anchor")]
        anchored = [e for e in entries if e.get("anchor")]
        pieces = {a for e in anchored for a in e["anchor"].split("|") if a}
        if any(not [a for a in e["anchor"].split("|") if a] for e in anchored):
            raise ValueError("an anchored pattern needs at least one piece of text in its anchor")
        return cls(
            re.compile("|".join(f"(?:{p})" for p in plain)) if plain else None,
            re.compile("|".join(f"(?:{e['pattern']})" for e in anchored)) if anchored else None,
            re.compile(_alternation(sorted(pieces))) if pieces else None,
        )

    def search(self, text: str) -> bool:
        if self.plain is not None and self.plain.search(text):
            return True
        return (
            self.anchors is not None and self.anchored is not None
            and self.anchors.search(text) is not None and self.anchored.search(text) is not None
        )


def _alternation(words: Sequence[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_VALUE = r"\s*[:：/]\s*[\[【(（]?\s*([^\s\]】)）|,，;；]{2,30})"


@cache
def rules() -> _Rules:
    raw = load_toml("article_rules.toml")
    bp, hints, meta, labels = raw["boilerplate"], raw["hints"], raw["meta"], raw["labels"]
    layout = raw["layout"]
    official = raw["official"]
    return _Rules(
        boilerplate=re.compile(_alternation(bp["contains"])),
        boilerplate_max=int(bp["max_len"]),
        exact=frozenset(bp["exact"]),
        image_name=re.compile("|".join(f"(?:{p})" for p in raw["image_names"]["patterns"])),
        positive=re.compile(_alternation(hints["positive"])),
        negative=re.compile(r"(?:^|[\s_\-])(?:" + _alternation(hints["negative"]) + r")"),
        aside=re.compile(r"(?:^|[\s_\-])(?:" + _alternation(hints["aside"]) + r")"),
        caption=re.compile(_alternation(hints["caption"])),
        caption_text=CaptionText.from_rules(hints["caption_text"]),
        layout=CaptionText.from_rules(layout["patterns"]),
        layout_max=int(layout["max_len"]),
        related_labels=tuple(layout["related_labels"]),
        dump_heading_max=int(layout["dump_heading_max"]),
        meta_published=tuple(m.lower() for m in meta["published"]),
        meta_title=tuple(m.lower() for m in meta["title"]),
        meta_source=tuple(m.lower() for m in meta["source"]),
        meta_author=tuple(m.lower() for m in meta["author"]),
        source_line=re.compile(r"(?:" + _alternation(labels["source"]) + r")" + _VALUE),
        author_line=re.compile(r"(?:^|[\s【\[(（])(?:" + _alternation(labels["author"]) + r")" + _VALUE),
        author_spaced=re.compile(
            r"(?:" + _alternation(labels["author_spaced"]) + r")\s+([\u4e00-\u9fff·]{2,5})(?![\u4e00-\u9fff])"
        ),
        editor_line=re.compile(r"(?:" + _alternation(labels["editor"]) + r")" + _VALUE),
        date_label=re.compile(_alternation(labels["date"])),
        column_line=re.compile(r"(?:" + _alternation(labels["column"]) + r")" + _VALUE),
        doc_number=re.compile(official["doc_number"]),
        written_label=re.compile(_alternation(official["written_labels"])),
        authority=re.compile(
            r"^[\u4e00-\u9fff（）()]{2,38}(?:" + _alternation(official["authority_suffixes"]) + r")$"
        ),
    )


_PUNCT = re.compile(r"[，。、；：！？,;!?…“”]")
#: punctuation of running text, which metadata lines (来源：… 作者：… | 2023-11-16) do not use.
_CLAUSE = re.compile(r"[，。；！？]")
_SENTENCE_END = re.compile(r"[。！？；!?;…」”\"'）)]$")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_TITLE_SPLIT = re.compile(r"\s*(?:\s[-|–—_]\s|_|\||｜|--|——|-{1,2}(?=[^\d])| - )\s*")
_STRIP_KEY = re.compile(r"[\s\[\]【】()（）|·•>»<«]+")
_COLUMN_TAIL = re.compile(r"\s*[·•|>»]+\s*$")
_HEADING_TAGS = frozenset(("h2", "h3", "h4", "h5", "h6"))
_HEADLINE_TAGS = frozenset(("h1", "h2", "h3", "h4"))


# ---------------------------------------------------------------- public entry


def extract(
    doc: Document,
    verdict: Verdict,
    selectors: SiteSelectors | None = None,
    boilerplate: frozenset[str] = frozenset(),
) -> Extraction:
    """``boilerplate`` holds fingerprints (``line_fingerprint``) of lines that repeat across pages of the
    page's host, learned by ``parsers.site_boilerplate`` from pages already fetched; empty when nothing
    is known (one file under ``inspect``), and then the page-level rules do the work alone."""
    try:
        return _extract(doc, verdict, selectors, boilerplate)
    except RecursionError:  # pragma: no cover - the walk is iterative; this guards regex engines
        return Extraction(None, "page too deeply nested")


def _extract(
    doc: Document, verdict: Verdict, selectors: SiteSelectors | None, boilerplate: frozenset[str]
) -> Extraction:
    if doc.is_html and doc.tree is None:
        return Extraction(None, "no parse tree")
    if _garbled(doc.text):
        return Extraction(None, "not text (binary or undecodable)")
    # text dumps have no containers, and site selectors name the body outright: no teaser lists to find
    teasers: frozenset[int] = frozenset()
    if doc.tree is None:
        blocks = tuple(_text_block(line) for line in doc.lines)
        walk = Walk(blocks, ())
        region = range(len(blocks))
    else:
        walk = doc.walk
        custom = _selector_walk(doc.tree, selectors)
        if custom is not None:
            walk = custom
            region = range(len(walk.blocks))
        else:
            weights = [_weight(b) for b in walk.blocks]
            teasers = teaser_lists(walk, weights)
            region = main_region(walk, teasers, weights)
    if not walk.blocks:
        return Extraction(None, "no visible text")
    if not region:
        return Extraction(None, "no main content")
    return _assemble(doc, walk, region, verdict, selectors, boilerplate, teasers)


_GARBLE = re.compile(r"[\x00-\x08\x0e-\x1f\ufffd]")


def _garbled(text: str) -> bool:
    """Control bytes or replacement characters all over the head: bytes that are not a text page."""
    head = text[:4096]
    return bool(head) and len(_GARBLE.findall(head)) > 0.05 * len(head)


def _text_block(line: str) -> TextBlock:
    return TextBlock(line, "p", "", 0, 0, -1, False, False)


def _selector_walk(tree: LexborHTMLParser, selectors: SiteSelectors | None) -> Walk | None:
    if selectors is None or not selectors.body:
        return None
    node = tree.css_first(selectors.body)
    if node is None:
        return None
    walk = walk_blocks(node)
    dropped = {b.text for sel in selectors.drop for n in node.css(sel) for b in walk_blocks(n).blocks}
    if dropped:
        walk = Walk(tuple(b for b in walk.blocks if b.text not in dropped), walk.containers)
    return walk


# ---------------------------------------------------------------- main content


def _weight(b: TextBlock) -> float:
    """How much a block looks like article prose: sentences with punctuation and few links."""
    n = len(b.text)
    if n < 10 or b.link_chars * 2 > n:
        return 0.0
    punct = len(_PUNCT.findall(b.text))
    if n < 25 and punct == 0:
        return 0.0
    if "。" not in b.text and _is_enumeration(b.text):
        return 0.0
    return 1.0 + punct + min(n / 50.0, 6.0)


_SENTENCE_PUNCT = re.compile(r"[。！？；!?;]")
_LIST_SEP = re.compile(r"[、,，|/／·•]|\s{1,}")


def _is_enumeration(text: str) -> bool:
    """A keyword, tag or name list (钢铁 、 电力 、 煤炭 、 航运 …): short items between list separators and
    no sentence punctuation. Its enumeration commas would otherwise count as prose punctuation and let a
    tag list outvote a short article."""
    if _SENTENCE_PUNCT.search(text):
        return False
    items = [t for t in _LIST_SEP.split(text) if t]
    return len(items) >= 6 and len(text) / len(items) < 9


def main_region(
    walk: Walk, teasers: frozenset[int] | None = None, weights: Sequence[float] | None = None
) -> range:
    """Indices of the blocks inside the best-scoring container (a contiguous run, in reading order).
    ``teasers`` and ``weights`` (``_weight`` per block): when the caller has them already."""
    blocks, conts = walk.blocks, walk.containers
    if weights is None:
        weights = [_weight(b) for b in blocks]
    if not conts:
        return range(len(blocks)) if any(weights) else range(0)
    r = rules()
    score = [0.0] * len(conts)
    total = [0] * len(conts)
    links = [0] * len(conts)
    if teasers is None:
        teasers = teaser_lists(walk, weights)
    for b, bw in zip(blocks, weights, strict=True):
        c = b.container
        if c < 0:
            continue
        total[c] += len(b.text)
        links[c] += b.link_chars
        w = 0.0 if c in teasers else bw
        if w:
            score[c] += w
            c = conts[c].parent
            level = 1
            while c >= 0 and level < 5:
                score[c] += w / 2 if level == 1 else w / (level * 3)
                level += 1
                c = conts[c].parent
    # Text and link totals of every container, summed up the tree in one pass: containers are numbered in
    # document order, so children come after their parents.
    for c in range(len(conts) - 1, -1, -1):
        parent = conts[c].parent
        if parent >= 0:
            total[parent] += total[c]
            links[parent] += links[c]
    # Containers inside a comment area, a form or a tag strip (at any depth) are comments, not the
    # article, however well their text reads: a blog's comment list or a portal's comment-policy list.
    # (Forms are not judged here: many CMS pages wrap the whole page, article and all, in one.) Only
    # scored containers are asked, and each ancestor once.
    aside_hint = r.aside
    aside: dict[int, bool] = {}

    def in_aside(i: int) -> bool:
        chain = []
        c = i
        while c >= 0 and c not in aside:
            chain.append(c)
            c = conts[c].parent
        found = aside.get(c, False)
        for c in reversed(chain):
            hint = conts[c].hint
            found = found or (bool(hint) and aside_hint.search(hint) is not None)
            aside[c] = found
        return aside[i]

    ranked: list[tuple[float, int]] = []
    for i, cont in enumerate(conts):
        s = score[i]
        if not s:
            continue
        s *= 1.0 - (links[i] / total[i] if total[i] else 0.0)
        if cont.hint:
            if r.positive.search(cont.hint):
                s *= 1.25
            if r.negative.search(cont.hint):
                s *= 0.6
        if s > 0:
            ranked.append((-s, i))
    ranked.sort()
    best, best_score = -1, 0.0
    # The comment-area penalty only lowers scores, so it is asked from the top down until no container
    # left could still win.
    for neg, i in ranked:
        s = -neg
        if s <= best_score:
            break
        if in_aside(i):
            s *= 0.1
        if s > best_score or (s == best_score and i < best):
            best, best_score = i, s
    if best < 0:
        return range(0)
    best = _first_entry(conts, score, best, best_score)
    # Like readability, siblings that score close to the winner are the same article split in parts
    # (one <div> per paragraph, a page-two box).
    parent = conts[best].parent
    chosen = [best]
    if parent >= 0:
        floor = max(3.0, 0.2 * best_score)
        chosen += [
            i
            for i in range(len(conts))
            if i != best and conts[i].parent == parent and score[i] >= floor
            and links[i] * 2 < max(total[i], 1)
        ]
    lo = hi = -1
    for c in chosen:
        span = _block_span(walk, c)
        if span:
            lo = span.start if lo < 0 else min(lo, span.start)
            hi = max(hi, span.stop)
    return range(lo, hi) if lo >= 0 else range(0)


def _entry_class(hint: str) -> str:
    """The class part of a container's hint ("class id"): posts share a class, each has its own id."""
    return hint.rsplit(" ", 1)[0]


def _first_entry(conts: Sequence[Container], score: Sequence[float], best: int, best_score: float) -> int:
    """The first of a run of entries when the winner is one of them (loss kind 2: a forum thread's
    replies or a blog page's later posts outvoting the first post).

    Entries are containers of one kind (tag and class; each post's own id differs) that each carry
    prose and sit under different parents (a post per wrapper); the paragraphs of one article split
    into sibling <div>s share a parent and are left to the sibling merge.
    """
    floor = max(3.0, 0.1 * best_score)
    scored = [(i, x.tag, _entry_class(x.hint)) for i, x in enumerate(conts) if score[i] >= floor and x.hint]
    c, level = best, 0
    # the winner itself or a close ancestor may be the entry (a post's body cell inside its post table)
    while c >= 0 and level < 5:
        sig = (conts[c].tag, _entry_class(conts[c].hint))
        if sig[1].strip():
            entries = [i for i, tag, cls in scored if tag == sig[0] and cls == sig[1]]
            if len(entries) >= 2 and len({conts[i].parent for i in entries}) == len(entries):
                return best if entries[0] == c else entries[0]
        c, level = conts[c].parent, level + 1
    return best


def _is_link_line(b: TextBlock) -> bool:
    return len(b.text) >= 4 and b.link_chars * 10 >= 8 * len(b.text)


def teaser_lists(walk: Walk, weights: Sequence[float] | None = None) -> frozenset[int]:
    """Containers that hold a list of teasers: a link line (another story's headline) followed by its
    summary, three times or more, making at least half of the container's prose. The summaries read like
    prose, so without this a "further reading" list outvotes a short article (loss kind 2)."""
    blocks = walk.blocks
    w = weights if weights is not None else [_weight(b) for b in blocks]
    pairs: dict[int, int] = {}
    for i in range(len(blocks) - 1):
        b = blocks[i]
        if b.link_chars and w[i + 1] and b.container >= 0 and _is_link_line(b):
            nxt = blocks[i + 1]
            if nxt.container == b.container and not nxt.link_chars:
                pairs[b.container] = pairs.get(b.container, 0) + 1
    lists = {c: n for c, n in pairs.items() if n >= 3}
    if not lists:
        return frozenset()
    prose = dict.fromkeys(lists, 0)
    for b, bw in zip(blocks, w, strict=True):
        if bw and b.container in prose:
            prose[b.container] += 1
    return frozenset(c for c, n in lists.items() if n * 2 >= prose[c])


def _aside_containers(walk: Walk, region: range, teasers: frozenset[int]) -> frozenset[int]:
    """Containers inside the region's own container that hold comments, forms, tag strips or share bars.

    The region's container is the nearest one holding both its first and last block; containers are
    numbered in document order with parents first, so one pass marks each aside and its descendants.
    """
    blocks, conts = walk.blocks, walk.containers
    if not region or not conts:
        return frozenset()
    first, last = blocks[region.start].container, blocks[region.stop - 1].container
    ups: set[int] = set()
    c = last
    while c >= 0:
        ups.add(c)
        c = conts[c].parent
    root = first
    while root >= 0 and root not in ups:
        root = conts[root].parent
    if root < 0:
        return frozenset()
    aside_hint = rules().aside
    depth = conts[root].depth
    # text per container inside the region: a <form> holding most of it wraps the page, article and all
    # (ASP.NET-style pages); a small one is a comment or reply form.
    end = root + 1
    while end < len(conts) and conts[end].depth > depth:
        end += 1
    forms = [i for i in range(root + 1, end) if conts[i].tag == "form"]
    chars: dict[int, int] = {}
    whole = sum(len(b.text) for b in blocks[region.start : region.stop]) or 1
    if forms:
        # text per container below the root, summed up the tree in one pass (children after parents)
        for b in blocks[region.start : region.stop]:
            if b.container > root:
                chars[b.container] = chars.get(b.container, 0) + len(b.text)
        for c in range(end - 1, root, -1):
            parent = conts[c].parent
            if parent > root and c in chars:
                chars[parent] = chars.get(parent, 0) + chars[c]
    marked: set[int] = set()
    for i in range(root + 1, end):
        cont = conts[i]
        small_form = cont.tag == "form" and chars.get(i, 0) * 4 < whole
        if cont.parent in marked or small_form or i in teasers or (cont.hint and aside_hint.search(cont.hint)):
            marked.add(i)
    return frozenset(marked)


def _block_span(walk: Walk, c: int) -> range:
    """Blocks inside container ``c``: containers are numbered in document order, so its descendants
    are the following run of deeper ones and their blocks a contiguous run too."""
    conts = walk.containers
    depth = conts[c].depth
    end = c + 1
    while end < len(conts) and conts[end].depth > depth:
        end += 1
    idx = [i for i, b in enumerate(walk.blocks) if c <= b.container < end]
    return range(idx[0], idx[-1] + 1) if idx else range(0)


# ---------------------------------------------------------------- assembling the article


def line_fingerprint(text: str) -> str:
    """A short stable digest of a line's key (spaces and brackets ignored), for site-level boilerplate:
    the store keeps digests, not the sites' text."""
    return hashlib.blake2b(_key(text).encode("utf-8"), digest_size=8).hexdigest()


@lru_cache(maxsize=8192)
def _key(text: str) -> str:
    """The text without spaces, brackets and separators, for comparing lines; cached because the title
    search, the body pass and the chrome test all ask for the same lines' keys."""
    return _STRIP_KEY.sub("", text)


def _is_chrome(b: TextBlock) -> bool:
    r = rules()
    text = b.text
    n = len(text)
    key = _key(text)
    if not key or key in r.exact:
        return True
    # the search last: prose lines (long, with a full stop) never need it
    if n <= r.boilerplate_max and (n <= 40 or "。" not in text) and r.boilerplate.search(text):
        return True
    if b.link_chars * 2 > n and (n < 60 or b.link_chars > 0.8 * n):
        return True
    return bool(r.negative.search(b.hint)) and _weight(b) == 0.0


def is_image_name(text: str) -> bool:
    return bool(rules().image_name.match(text.strip()))


def _is_caption(b: TextBlock, after_img: bool) -> bool:
    r = rules()
    if b.in_caption or (b.hint and r.caption.search(b.hint)):
        return True
    if len(b.text) <= 80 and r.caption_text.search(b.text):
        return True
    return after_img and len(b.text) <= 60 and "。" not in b.text[:-1] and not _is_prose(b.text)


def _is_prose(text: str) -> bool:
    return len(_PUNCT.findall(text)) >= 2 or (len(text) >= 50 and bool(_PUNCT.search(text)))


def is_layout(text: str) -> bool:
    """A short line of page layout (``[layout] patterns``): a byline, breadcrumb, editor or source line, a
    site footer. The caller asks only short lines that are no prose sentence."""
    return rules().layout.search(fold(text.strip()))


def _is_related_label(text: str) -> bool:
    """A label opening the footer list of other stories (相关新闻, 【相关稿件】, 上一篇:…)."""
    return _key(fold(text)).startswith(rules().related_labels)


def _no_prose_after(blocks: Sequence[TextBlock], i: int, region: range) -> bool:
    """No prose sentence below block ``i`` in the region: a related-news label there opens the page's footer.
    One with prose below is a box inside the article (相關鏈接, then its heading and paragraphs: corpus/news2)."""
    return not any(_is_prose_sentence(blocks[j].text) for j in range(i + 1, region.stop))


_DUMP_SENTENCE_END = re.compile(r"[。;!?:；！？：]")


def _is_heading(b: TextBlock, dump: bool = False) -> bool:
    """A section heading: set as one (h2-h6, bold), or a short line of phrases (see ``_phrase_heading``).
    In a text dump (``dump``: one paragraph per line, no markup) any short line without a sentence end is
    one, as the seed's dump rule has it (``[layout] dump_heading_max``)."""
    text = b.text
    n = len(text)
    if _phrase_heading(text):
        return True
    if dump and n <= rules().dump_heading_max and _CJK.search(text) and not _DUMP_SENTENCE_END.search(text):
        return text.rstrip()[-1:] not in ",，、"
    if n > 40 or _SENTENCE_END.search(text) or "，" in text or "。" in text:
        return False
    if b.tag in _HEADING_TAGS:
        return True
    if b.bold_chars >= 0.9 * len(text.replace(" ", "")):
        return True
    # A short standalone line of two phrases or a numbered item (学习宣贯 凝聚思想共识, 一、加强领导).
    return 4 <= n <= 30 and bool(_CJK.search(text)) and (
        " " in text or bool(re.match(r"^[一二三四五六七八九十]+[、.．]|^（[一二三四五六七八九十]+）", text))
    )


#: 〇 (U+3007) sits outside the unified ideographs but writes institute numbers (二〇三所, 七〇二所).
_HEADING_PHRASE = re.compile(r"[\u4e00-\u9fff〇“”‘’\"]{2,12}")
_HEADING_SPLIT = re.compile(r"[，,、\s]+")


def _phrase_heading(text: str) -> bool:
    """Two to four short phrases split by commas or spaces, quotes allowed (深学细悟，筑牢根基;
    组建机构 压实责任 确保“高站位”): a section heading, though it has a comma or ends with a quote."""
    text = text.strip()
    if len(text) > 30 or text.count("“") != text.count("”"):
        return False
    parts = [part for part in _HEADING_SPLIT.split(text) if part]
    return 2 <= len(parts) <= 4 and all(_HEADING_PHRASE.fullmatch(part) for part in parts)


@dataclass
class _Meta:
    published: dates.Found | None = None
    #: the line that gave ``published`` names it (发布日期：…).
    labelled: bool = False
    #: ``published`` was quoted inside running text (【看中国2005年07月03日报道】一九八九年…), not a
    #: line of its own: it may be the source's date rather than this page's.
    quoted: bool = False
    #: ``published`` came from a line after the first paragraph (a closing signature or footer date).
    trailing: bool = False
    #: a year-month on a line above the first paragraph (2003年5月).
    month: dt.date | None = None
    #: a year-month on a later line (——《北京之春》1996年6月号), the last resort.
    late_month: dt.date | None = None
    source: str | None = None
    author: str | None = None
    editor: str | None = None
    column: str | None = None


def _clean_value(value: str) -> str | None:
    value = value.strip(" :：[]【】()（）|·")
    return value or None


def _read_meta_line(text: str, meta: _Meta, leading: bool = True) -> bool:
    """Fill metadata from a header/footer line; True when the line is only metadata."""
    r = rules()
    hit = False
    # the labelled patterns (source, editor, author, column) all end in ``_VALUE``, whose separator is
    # one of these characters: most lines have none, and skip four scans
    separated = ":" in text or "：" in text or "/" in text
    if separated and meta.source is None and (m := r.source_line.search(text)):
        meta.source = _clean_value(m.group(1))
        hit = True
    if separated and meta.editor is None and (m := r.editor_line.search(text)):
        meta.editor = _clean_value(m.group(1))
        hit = True
    if separated and meta.author is None and (m := r.author_line.search(text)):
        value = _clean_value(m.group(1))
        if value and not dates.first_date(value):
            meta.author = value
            hit = True
    if meta.author is None and len(text) <= 40 and (m := r.author_spaced.search(text)):
        meta.author = m.group(1)
        hit = True
    if separated and meta.column is None and (m := r.column_line.search(text)):
        meta.column = _clean_value(m.group(1))
        hit = True
    found = dates.find_dates(text)
    if found and not leading and len(dates.strip_dates(text).strip()) > 20 and not r.date_label.search(text):
        # past the first paragraph only a line that is mostly a date counts (a signature date)
        found = []
    if found:
        hit = True
        labelled = bool(r.date_label.search(text))
        # A labelled date (发表于 …) beats an unlabelled one read earlier, such as a poster's
        # registration date in a forum's author panel above the post.
        if meta.published is None or (labelled and not meta.labelled and not meta.trailing):
            meta.published = found[0]
            meta.labelled = labelled
            meta.trailing = not leading
            rest = dates.strip_dates(text).strip()
            meta.quoted = not meta.labelled and len(rest) > 20 and bool(_CLAUSE.search(rest))
        if meta.source is None:
            meta.source = _source_beside_date(text)
    elif len(text) <= 40 and (month := dates.find_month(text)) and _month_line(text):
        if leading and meta.month is None:
            meta.month = month
        elif meta.late_month is None:
            meta.late_month = month
        hit = True
    return hit and len(text) <= 120 and not _is_prose_sentence(text)


#: how far above the main container a headline may sit for the lines between to count as a lead.
_LEAD_GAP = 12


def _lead_from(blocks: Sequence[TextBlock], title_idx: int | None, region: range) -> int:
    """Where the body may start: just under the headline when it sits a little above the main container
    and nothing link-heavy lies between (loss kind 4 of issue 19: a lead or summary paragraph styled
    apart, in its own element beside the container that won the vote)."""
    if title_idx is None or not 0 < region.start - title_idx <= _LEAD_GAP:
        return region.start
    between = blocks[title_idx + 1 : region.start]
    chars = sum(len(b.text) for b in between)
    links = sum(b.link_chars for b in between)
    if links * 4 > chars:
        return region.start
    return title_idx + 1


def _is_lead(b: TextBlock) -> bool:
    """A lead paragraph above the main container: prose, link-free, not chrome or a notice."""
    text = b.text
    return (
        len(text) >= 30
        and not b.link_chars
        and _weight(b) > 0
        and _is_prose(text)
        and not _is_chrome(b)
        and not is_non_article(text)
        and not _is_caption(b, b.after_img)
    )


_CLOCK = re.compile(r"\d\s*[:：时]\s*\d")


def _is_stamp(text: str) -> bool:
    """A comment's or reply's time stamp line: one date with a time of day, little else (a name)."""
    if len(text) > 50 or not _CLOCK.search(text):
        return False
    found = dates.find_dates(text)
    if len(found) != 1 or found[0].at is None:
        return False
    rest = dates.strip_dates(text).strip()
    return len(rest) <= 20 and not _CLAUSE.search(rest)


def _before_comments(body: list[Block], stamps: Sequence[int]) -> list[Block]:
    """The body up to the comments: two or more time-stamped entries after the first paragraph are a
    comment list or a thread's replies (comment structure, loss kind 2), which end the article. The
    commenter's name line just above the first stamp goes with them."""
    if len(stamps) < 2 or stamps[0] == 0:
        return body
    cut = stamps[0]
    last = body[cut - 1].text
    if cut > 1 and len(last) < 20 and not _is_prose(last):
        cut -= 1
    return body[:cut]


def _month_line(text: str) -> bool:
    """A line that is a year-month and little else (not an archive link like 2005年06月(7))."""
    rest = dates.strip_month(text)
    return len(rest.strip()) <= 12 and not re.search(r"\d", rest)


def _is_prose_sentence(text: str) -> bool:
    return "。" in text or text.count("，") >= 2


def _source_beside_date(text: str) -> str | None:
    """'军工资源网 2023年11月16日' or '2003-7-24 钱江晚报': the name written beside the date."""
    rest = dates.strip_dates(text)
    rest = re.sub(r"https?://\S+|[\w.-]+\.(?:com|cn|net|org)\S*", " ", rest, flags=re.IGNORECASE)
    parts = [p for p in re.split(r"[\s|/·]+", rest) if p]
    if len(parts) != 1:
        return None
    part = parts[0].strip("[]【】()（）:：")
    if 2 <= len(part) <= 20 and _CJK.search(part) and not re.search(r"\d", part):
        if rules().date_label.fullmatch(part) or rules().exact.issuperset({part}):
            return None
        return part
    return None


def _assemble(
    doc: Document,
    walk: Walk,
    region: range,
    verdict: Verdict,
    selectors: SiteSelectors | None,
    boilerplate: frozenset[str],
    teasers: frozenset[int],
) -> Extraction:
    blocks = walk.blocks
    notices = {clean_space(n) for n in verdict.notice_blocks if n.strip()}
    title, title_idx = _title(doc, blocks, region, selectors)
    title_key = _key(title)
    meta = _Meta()
    body: list[Block] = []
    captions: list[str] = []
    start = region.start
    if title_idx is not None and region.start <= title_idx < region.stop:
        start = title_idx + 1
    # Header: lines between the headline and the body, scanned for metadata.
    above = title_idx is not None and title_idx < region.start
    header_from = title_idx + 1 if above and title_idx is not None else max(0, region.start - 8)
    # Lines before the main container are read apart: a date inside the container is the article's
    # own, while one above it may be a portal's repost time or today's date in the site banner.
    head = _Meta()
    for i in range(header_from, region.start):
        if len(blocks[i].text) <= 160:
            _read_meta_line(blocks[i].text, head)
    seen_prose = False
    first_body = last_body = region.start
    pending: list[Block] = []
    #: keys of the lines already taken: a page holding the article two or three times (desktop, mobile
    #: and print copies) gives each line once.
    taken: set[str] = set()
    aside = _aside_containers(walk, region, teasers)
    #: body positions of time stamps met after the first paragraph (comments, replies).
    stamps: list[int] = []
    after_img = False
    #: in the page's footer list of other stories (after 相关新闻, 上一篇… with no prose below): the rest are
    #: their headlines and the site's footer, not the article.
    related = False
    r = rules()
    dump = doc.tree is None
    if start == region.start:
        start = _lead_from(blocks, title_idx, region)
    for i in range(start, region.stop):
        b = blocks[i]
        text = b.text
        if i < region.start and not _is_lead(b):
            continue  # a header line, already read for metadata above
        if b.container in aside:
            continue
        # an image's file-name line sits between the image and its caption
        after_img = b.after_img or (after_img and is_image_name(blocks[i - 1].text))
        key = _key(text)
        if text in notices or key == title_key or is_image_name(text) or key in taken:
            continue
        if notices and len(text) >= 6 and any(text in n for n in notices):
            continue
        short = len(text) <= r.layout_max and not _is_prose_sentence(text)
        if short and seen_prose and (related or (_is_related_label(text) and _no_prose_after(blocks, i, region))):
            related = True
            _read_meta_line(text, meta, False)
            continue
        if _is_chrome(b) or is_non_article(text) or (boilerplate and line_fingerprint(text) in boilerplate):
            if not seen_prose:
                _read_meta_line(text, meta)
            continue
        if seen_prose and _is_stamp(text):
            stamps.append(len(body))
        if len(text) <= 120 and not _is_prose_sentence(text) and _read_meta_line(text, meta, not seen_prose):
            continue
        if not seen_prose and meta.column is None and _COLUMN_TAIL.search(text) and len(text) <= 40:
            meta.column = _COLUMN_TAIL.sub("", text) or None
            continue
        if _is_caption(b, after_img):
            captions.append(text)
            continue
        if short and is_layout(text):
            continue  # a byline, breadcrumb, editor or footer line: neither a heading nor body
        if _is_heading(b, dump):
            if seen_prose:
                pending.append(Block("heading", text))
                taken.add(key)
            continue
        if not seen_prose and not _is_prose(text) and len(text) < 20:
            # short chrome-ish lines before the first paragraph (bylines, tags, controls)
            continue
        if not seen_prose:
            first_body = i
        seen_prose = True
        last_body = i
        body.extend(pending)
        pending.clear()
        body.append(Block("paragraph", text))
        taken.add(key)
    body = _before_comments(body, stamps)
    if meta.published is None and meta.month is None and not head.labelled:
        # A page of dated entries (a blog's front page) is dated by its newest entry, not by whichever
        # entry's stamp happens to sit above the one post the main-content vote picked; a labelled
        # date above the post (发表于 …) beats the stamps of the replies and comments below it.
        meta.published = _listing_date(blocks, region)
    if meta.published is None and meta.month is None:
        meta.published, meta.month = head.published, head.month
    elif (meta.quoted or (meta.trailing and not meta.labelled)) and head.labelled:
        # A labelled date in the page header (发布日期：…) beats a date quoted inside the first paragraph
        # and an unlabelled one under the last (a letter's or notice's closing date).
        meta.published = head.published
    # A little past the region too: sources and bylines often sit just after the body; a date there
    # is trusted less than the page's meta tags.
    meta.source = meta.source or head.source
    meta.author = meta.author or head.author
    meta.editor = meta.editor or head.editor
    meta.column = meta.column or head.column
    tail = _Meta(source=meta.source, author=meta.author, editor=meta.editor, column=meta.column)
    for i in range(region.stop, min(len(blocks), region.stop + 8)):
        if len(blocks[i].text) <= 120:
            _read_meta_line(blocks[i].text, tail)
    meta.source, meta.author, meta.editor = tail.source, tail.author, tail.editor
    if any(m.published is not None and m.published.ambiguous for m in (meta, tail)):
        # 7/5/2005: the page's own unambiguous slash dates or its URL say which number is the month.
        order = dates.slash_order(doc.visible_text, doc.final_url or doc.target)
        for m in (meta, tail):
            if m.published is not None:
                m.published = dates.settle(m.published, order)
    published, published_at = _published(doc, meta, tail, selectors)
    if body and (written := _written_date(blocks, first_body, last_body)) is not None:
        published, published_at = written.date, written.at
    precision: Literal["day", "month"] = "day"
    if meta.published is None and meta.month is not None:
        published, published_at, precision = meta.month, None, "month"
    elif published is None and (late := meta.late_month or tail.month or tail.late_month):
        published, precision = late, "month"
    if meta.source is None:
        meta.source = _meta_value(doc, rules().meta_source)
    if meta.author is None:
        meta.author = _meta_value(doc, rules().meta_author)
    if not body:
        return Extraction(None, "empty body")
    article = Article(
        title=title,
        published=published,
        published_at=published_at,
        published_precision=precision,
        source=meta.source,
        author=meta.author,
        editor=meta.editor,
        column=meta.column,
        body=tuple(body),
        captions=tuple(captions),
    )
    return Extraction(article)


# ---------------------------------------------------------------- title and date


def _meta_value(doc: Document, names: Sequence[str]) -> str | None:
    values = doc.meta
    for name in names:
        v = values.get(name)
        if v:
            return clean_space(v)
    return None


def _title(
    doc: Document, blocks: Sequence[TextBlock], region: range, selectors: SiteSelectors | None
) -> tuple[str, int | None]:
    """The headline and its block index; prefers the on-page headline over a <title> with the site name."""
    if doc.tree is None:
        return (blocks[0].text, 0) if blocks else ("", None)
    if selectors is not None and selectors.title:
        node = doc.tree.css_first(selectors.title)
        if node is not None and clean_space(node.text()):
            text = clean_space(node.text())
            return text, _find_block(blocks, text, region)
    page_title = doc.title
    candidates: list[str] = []
    og = _meta_value(doc, rules().meta_title)
    for node in doc.tree.css("h1"):
        t = clean_space(node.text())
        if 4 <= len(t) <= 120:
            candidates.append(t)
    if og:
        candidates.append(og)
    parts = [p for p in _TITLE_SPLIT.split(page_title) if p]
    # The headline is the on-page block that the <title> starts with (or contains).
    stop = min(region.stop, len(blocks))
    limit = max(0, region.start - 60)
    # (index, strength, length): a block that is the whole <title> beats one that only starts it or is
    # an <h1> (a site name set in <h1> above the headline); among equals the longest, then the first.
    best: tuple[int, int, int] | None = None
    first_key = _key(parts[0]) if parts else None
    title_key = _key(page_title)
    if page_title:
        for i in range(limit, stop):
            t = blocks[i].text
            if len(t) < 4 or len(t) > 120:
                continue
            named = (
                page_title.startswith(t)
                or (first_key is not None and len(t) >= len(first_key) and _key(t) == first_key)
                or t in candidates
            )
            if not named:
                continue
            rank = (2 if _key(t) == title_key else 1, len(t))
            if best is None or rank > best[1:] or (rank == best[1:] and i < region.start):
                best = (i, *rank)
    if best is not None:
        return blocks[best[0]].text, best[0]
    for c in candidates:
        idx = _find_block(blocks, c, region)
        if idx is not None:
            return blocks[idx].text, idx
    if candidates:
        return candidates[0], None
    if not page_title:
        # No <title>: the headline is the last short, link-free line before the body that is not a
        # date or byline.
        for i in range(region.start - 1, max(-1, region.start - 10), -1):
            b = blocks[i]
            if 6 <= len(b.text) <= 60 and not b.link_chars and not dates.find_dates(b.text) and not (
                _is_chrome(b) or _is_prose_sentence(b.text)
            ):
                return b.text, i
    else:
        # The <title> names no block on the page (a site name alone: 某某电视台 新闻网): a headline set as
        # a heading or in bold just above the body is the better title.
        for i in range(region.start - 1, max(-1, region.start - 15), -1):
            b = blocks[i]
            shown = b.tag in _HEADLINE_TAGS or b.bold_chars * 10 >= 9 * len(b.text) or "title" in b.hint
            if shown and 6 <= len(b.text) <= 80 and not b.link_chars and not dates.find_dates(b.text) and not (
                _is_chrome(b) or _is_prose_sentence(b.text) or _key(b.text) in _key(page_title)
            ):
                return b.text, i
    if parts:
        return max(parts[:2], key=len) if len(parts[0]) < 4 else parts[0], None
    return "", None


def _find_block(blocks: Sequence[TextBlock], text: str, region: range) -> int | None:
    key = _key(text)
    for i in range(max(0, region.start - 60), min(len(blocks), region.stop)):
        if _key(blocks[i].text) == key:
            return i
    return None


def _published(
    doc: Document, meta: _Meta, tail: _Meta, selectors: SiteSelectors | None
) -> tuple[dt.date | None, dt.datetime | None]:
    found = meta.published
    if found is None and selectors is not None and selectors.published and doc.tree is not None:
        node = doc.tree.css_first(selectors.published)
        if node is not None:
            found = dates.first_date(node.text()) or dates.parse_iso(node.attributes.get("content") or "")
    if found is None:
        found = _meta_date(doc)
    if found is None:
        found = tail.published
    if found is not None:
        return found.date, found.at
    url_day = dates.url_date(doc.final_url or doc.target)
    return url_day, None


def _meta_date(doc: Document) -> dates.Found | None:
    values = doc.meta
    for name in rules().meta_published:
        v = values.get(name)
        if v and (found := dates.parse_iso(v)):
            return found
    if doc.tree is None:
        return None
    for node in doc.tree.css('script[type="application/ld+json"]'):
        try:
            data = json.loads(node.text())
        except ValueError:
            continue
        for item in data if isinstance(data, list) else [data]:
            if isinstance(item, dict) and isinstance(item.get("datePublished"), str):
                found = dates.parse_iso(item["datePublished"])
                if found:
                    return found
    return None


def _written_date(blocks: Sequence[TextBlock], first_body: int, last_body: int) -> dates.Found | None:
    """An official document's 成文日期: the labelled written date in its header, else the date that
    closes the body under the issuing authority's name (吉林省人民政府 / 2022年1月27日).

    Only for pages whose header carries a document number, so a news story that merely ends with an
    organisation's name and a date keeps its own publication date.
    """
    r = rules()
    header = blocks[:first_body]
    if not any(len(b.text) <= 60 and r.doc_number.search(b.text) for b in header):
        return None
    for i, b in enumerate(header):
        m = r.written_label.search(b.text)
        if m is None:
            continue
        found = dates.first_date(b.text[m.end():])
        if found is None and i + 1 < len(header) and r.written_label.sub("", b.text).strip(" :：") == "":
            found = dates.date_only(header[i + 1].text)
        if found is not None:
            return found
    for i in range(max(first_body + 1, last_body - 2), min(len(blocks), last_body + 8)):
        found = dates.date_only(blocks[i].text)
        if found is not None and r.authority.match(blocks[i - 1].text.replace(" ", "")):
            return found
    return None


def _listing_date(blocks: Sequence[TextBlock], region: range) -> dates.Found | None:
    """The newest stamp when the page is a run of dated entries around the main content.

    Entries are recognised as three or more lines that are only a date, in the same tag and class,
    with some before and some after the main region: a related-news list sits on one side of the
    article, a blog's posts surround the one that won the vote.
    """
    groups: dict[tuple[str, str], list[int]] = {}
    first: dict[tuple[str, str], int] = {}
    last: dict[tuple[str, str], int] = {}
    for i, b in enumerate(blocks):
        text = b.text
        # a date-only line starts with its year or month (after at most one bracket)
        if len(text) > 40 or not (text[:1].isdigit() or text[1:2].isdigit()):
            continue
        key = (b.tag, b.hint.strip())
        groups.setdefault(key, []).append(i)
        first.setdefault(key, i)
        last[key] = i
    for key, members in groups.items():
        if len(members) < 3 or first[key] >= region.start or last[key] < region.stop:
            continue
        stamps = [(i, f) for i in members if (f := dates.date_only(blocks[i].text)) is not None]
        if len(stamps) >= 3 and stamps[0][0] < region.start and stamps[-1][0] >= region.stop:
            return max((f for _, f in stamps), key=lambda f: (f.date, f.at or dt.datetime.min))
    return None
