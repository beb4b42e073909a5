"""One parsed page shared by every stage (verdict, extraction, link discovery).

Parsing is the single most expensive step, so it happens once here; everything else reads this object.
The visible-text walk happens once too: it yields text blocks that carry what extraction needs (link
share, bold share, enclosing containers, a preceding image), so `.lines` and the article extractor
share one pass over the tree. Text dumps (one paragraph per line, like the seed) become a Document
without a tree.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

from selectolax.lexbor import LexborHTMLParser, LexborNode

from parsers.decode import decode, looks_binary
from parsers.records import RawPage


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: invisible characters that `str.split` does not count as whitespace but pages use as spacing.
_ZERO_WIDTH = str.maketrans({"\u200b": " ", "\ufeff": " "})
#: elements whose text is never shown to a reader.
_INVISIBLE = _words(
    "script style noscript template iframe svg head select option textarea button object embed "
    "-comment"
)
#: elements that start a new line of text in a browser.
_BLOCK_TAGS = _words(
    "p div section article main header footer aside nav li ul ol dl dt dd table tr td th tbody thead "
    "h1 h2 h3 h4 h5 h6 blockquote pre figure figcaption form center address hr br body html "
    "caption tfoot"
)
#: block elements that can hold a whole article; the extractor scores these.
_CONTAINER_TAGS = _words(
    "div section article main td table body ul ol dl blockquote center form header footer aside nav "
    "tbody"
)
_BOLD_TAGS = frozenset(("b", "strong"))
_HEAD_PROBE = re.compile(rb"<(?:html|head|body|div|p|meta|title|script|!doctype)\b", re.IGNORECASE)
#: pages bigger than this are cut before parsing so one monster page cannot stall a batch.
MAX_CHARS = 3_000_000
#: a guard on pathological trees (thousands of nested tables): deeper elements are not walked.
MAX_DEPTH = 400
#: a guard on pathological pages: text past this many blocks is not walked.
MAX_BLOCKS = 20_000
#: pages with more tags than this are scanned for nesting before the parse: lexbor's tree builder checks
#: the open-element stack on each block tag, so 100,000 nested <div>s cost minutes (quadratic). Fewer tags
#: cannot nest deep enough to matter, and the scan costs less than the parse of such a page.
NESTING_SCAN_TAGS = 10_000
#: opening tags nested deeper than this are dropped before parsing (their text stays); below MAX_DEPTH
#: so the walk still reaches that text.
MAX_NESTING = 350
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9:-]*)[^>]*>")
_RAW_TEXT_END = {"script": re.compile(r"</script\s*>", re.IGNORECASE),
                 "style": re.compile(r"</style\s*>", re.IGNORECASE)}
#: void elements never nest; implicitly closed ones (a second <p> ends the first) do not deepen the tree.
_FLAT_TAGS = _words(
    "area base br col embed hr img input link meta param source track wbr p li dt dd tr td th option "
    "optgroup thead tbody tfoot colgroup rb rt rp"
)
#: browsers run scripts, so they read <noscript> as raw text; parsed as markup, an unclosed <iframe/> in it
#: swallows the rest of the page into invisible text.
_NOSCRIPT = re.compile(r"<noscript\b[^>]*>.*?</noscript\s*>", re.IGNORECASE | re.DOTALL)


def clean_space(text: str) -> str:
    """Collapse runs of whitespace (Unicode's, so U+3000 and no-break spaces too) to one space.

    `str.split` does this in C about three times faster than a regex, and it runs for every line.
    """
    if "\u200b" in text or "\ufeff" in text:
        text = text.translate(_ZERO_WIDTH)
    return " ".join(text.split())


class Container(NamedTuple):
    """A block element that may hold the article; `hint` is its class and id, lower-cased.

    Named tuples, not frozen dataclasses: a page makes hundreds of these, and a frozen dataclass's
    ``__init__`` costs several times more (it sets each field through ``object.__setattr__``).
    """

    tag: str
    hint: str
    parent: int
    #: nesting level among containers; descendants of a container are the following run of deeper ones.
    depth: int


class TextBlock(NamedTuple):
    """One rendered line of text and the facts about where it sat in the tree."""

    text: str
    #: innermost block element around the text (p, td, h2, li…).
    tag: str
    #: class and id of that element, lower-cased, for caption and boilerplate hints.
    hint: str
    #: characters inside <a> elements.
    link_chars: int
    #: characters inside <b>/<strong> elements.
    bold_chars: int
    #: index into `Walk.containers` of the innermost enclosing container, -1 when none.
    container: int
    #: an <img> appeared between the previous block and this one.
    after_img: bool
    #: inside a figcaption (or a caption-classed element).
    in_caption: bool


@dataclass(frozen=True, slots=True)
class Walk:
    blocks: tuple[TextBlock, ...]
    containers: tuple[Container, ...]


@dataclass
class Document:
    target: str
    text: str
    encoding: str | None
    is_html: bool
    tree: LexborHTMLParser | None = None
    content_type: str | None = None
    final_url: str | None = None
    #: opening tags dropped because they nested deeper than MAX_NESTING (0 on ordinary pages).
    flattened: int = 0
    _lines: list[str] | None = field(default=None, repr=False)

    @classmethod
    def from_raw(cls, raw: RawPage) -> Document:
        content_type = next((v for k, v in raw.headers.items() if k.lower() == "content-type"), None)
        decoded = decode(raw.body, content_type)
        return cls.from_text(raw.url, decoded.text, decoded.encoding, content_type, raw.final_url)

    @classmethod
    def from_text(
        cls,
        target: str,
        text: str,
        encoding: str | None = "utf-8",
        content_type: str | None = None,
        final_url: str | None = None,
    ) -> Document:
        is_html = is_markup(text, content_type)
        if len(text) > MAX_CHARS:
            text = text[:MAX_CHARS]
        if not is_html:
            return cls(target, text, encoding, is_html, None, content_type, final_url)
        markup, flattened = parse_ready(text)
        return cls(target, text, encoding, is_html, LexborHTMLParser(markup), content_type, final_url, flattened)

    @cached_property
    def title(self) -> str:
        if self.tree is None:
            return next(iter(self.lines), "")
        node = self.tree.css_first("title")
        return clean_space(node.text()) if node is not None else ""

    @cached_property
    def meta(self) -> dict[str, str]:
        """<meta> name/property/itemprop (lower-cased) → content, first occurrence wins; read once per page."""
        out: dict[str, str] = {}
        if self.tree is None:
            return out
        for node in self.tree.css("meta"):
            attrs = node.attributes
            content = attrs.get("content")
            if not content:
                continue
            for attr in ("property", "name", "itemprop"):
                key = attrs.get(attr)
                if key:
                    out.setdefault(key.strip().lower(), content.strip())
        return out

    @cached_property
    def walk(self) -> Walk:
        """Visible text blocks with their context; empty for text dumps."""
        if self.tree is None:
            return Walk((), ())
        root = self.tree.body or self.tree.root
        if root is None:
            return Walk((), ())
        return walk_blocks(root)

    @cached_property
    def lines(self) -> list[str]:
        """Visible text, one entry per rendered block, in reading order."""
        if self.tree is None:
            return [s for s in (clean_space(line) for line in self.text.splitlines()) if s]
        return [b.text for b in self.walk.blocks]

    @cached_property
    def visible_text(self) -> str:
        return "\n".join(self.lines)


def parse_ready(text: str) -> tuple[str, int]:
    """The markup as handed to the parser: <noscript> emptied, nesting bounded; and the tags dropped."""
    if "<noscript" in text or "<NOSCRIPT" in text:
        text = _NOSCRIPT.sub("<noscript></noscript>", text)
    if text.count("<") <= NESTING_SCAN_TAGS:
        return text, 0
    return bound_nesting(text, MAX_NESTING)


def bound_nesting(text: str, limit: int) -> tuple[str, int]:
    """Drop opening tags (and as many closing ones) beyond ``limit`` levels; one linear pass.

    Script and style bodies are skipped whole, so ``a<b`` in code is not a tag.
    """
    depth = excess = dropped = 0
    parts: list[str] = []
    last = pos = 0
    while True:
        m = _TAG.search(text, pos)
        if m is None:
            break
        pos = m.end()
        name = m.group(2).lower()
        if name in _FLAT_TAGS or m.group(0).endswith("/>"):
            continue
        if m.group(1):
            if excess:
                excess -= 1
                parts.append(text[last:m.start()])
                last = m.end()
            elif depth:
                depth -= 1
            continue
        end = _RAW_TEXT_END.get(name)
        if end is not None:
            close = end.search(text, pos)
            pos = close.end() if close is not None else len(text)
            continue
        if depth >= limit:
            excess += 1
            dropped += 1
            parts.append(text[last:m.start()])
            last = m.end()
        else:
            depth += 1
    if not dropped:
        return text, 0
    parts.append(text[last:])
    return "".join(parts), dropped


def is_markup(text: str, content_type: str | None) -> bool:
    if content_type and "html" in content_type.lower():
        return True
    if content_type and content_type.lower().startswith("text/plain"):
        return False
    return bool(_HEAD_PROBE.search(text[:4096].encode("utf-8", "ignore")))


def _hint(node: LexborNode) -> str:
    attrs = node.attributes
    if not attrs:
        return ""
    cls = attrs.get("class") or ""
    ident = attrs.get("id") or ""
    return f"{cls} {ident}".lower() if (cls or ident) else ""


def walk_blocks(root: LexborNode) -> Walk:
    """Split ``root`` where a browser would break lines, skipping invisible elements.

    Depth first without recursion (deeply nested pages must not hit Python's recursion limit): a stack of
    the open elements, each with selectolax's iterator over its children. The iterator steps through the
    tree in C and an element closes when its iterator runs out, so a node costs one step and the few
    elements whose end matters (blocks, links, bold) no extra entry.
    """
    blocks: list[TextBlock] = []
    containers: list[Container] = []
    buf: list[str] = []
    link_depth = 0
    bold_depth = 0
    caption_depth = 0
    # characters inside links and bold of the current line
    link_chars = 0
    bold_chars = 0
    pending_img = False
    # stacks of the enclosing block element (tag, hint) and container index
    owner_stack: list[tuple[str, str]] = [("body", "")]
    cont_stack: list[int] = [-1]

    def flush() -> None:
        """End the current line; callers check ``buf`` first (most block boundaries have no text), and an
        empty ``buf`` means the link and bold counters are zero too."""
        nonlocal link_chars, bold_chars, pending_img
        line = clean_space("".join(buf))
        buf.clear()
        if line:
            tag, hint = owner_stack[-1]
            blocks.append(
                TextBlock(
                    line, tag, hint, link_chars, bold_chars, cont_stack[-1], pending_img, caption_depth > 0
                )
            )
            pending_img = False
        link_chars = 0
        bold_chars = 0

    # the open elements' frames: (children iterator, depth of those children, element tag when its end
    # matters or "", 1 when it opened a caption); the root is walked as the one child of a virtual frame
    stack: list[tuple[Iterator[LexborNode], int, str, int]] = []
    children: Iterator[LexborNode] = iter((root,))
    depth, closing, cap = 0, "", 0
    while True:
        for node in children:
            tag = node.tag
            if tag == "-text":
                text = node.text_content or ""
                # whitespace before any text is stripped by ``flush`` anyway (``clean_space`` splits on the
                # same ``isspace`` set) and counts no link or bold chars: skipping it spares most flushes
                if text and (buf or not text.isspace()):
                    buf.append(text)
                    if link_depth or bold_depth:
                        n = len(text.strip())
                        if link_depth:
                            link_chars += n
                        if bold_depth:
                            bold_chars += n
                continue
            if tag is None or tag in _INVISIBLE or depth > MAX_DEPTH:
                continue
            if tag == "img":
                pending_img = True
                continue
            if tag == "br" or tag == "hr":
                if buf:
                    flush()
                    if len(blocks) >= MAX_BLOCKS:
                        return Walk(tuple(blocks), tuple(containers))
                continue
            node_cap = 0
            if tag in _BLOCK_TAGS:
                if buf:
                    flush()
                hint = _hint(node)
                if tag == "figcaption" or "caption" in hint:
                    node_cap = 1
                    caption_depth += 1
                owner_stack.append((tag, hint))
                if tag in _CONTAINER_TAGS:
                    containers.append(Container(tag, hint, cont_stack[-1], len(cont_stack) - 1))
                    cont_stack.append(len(containers) - 1)
                node_closing = tag
            elif tag == "a":
                link_depth += 1
                node_closing = tag
            elif tag in _BOLD_TAGS:
                bold_depth += 1
                node_closing = tag
            else:  # other inline elements (span, font, …): their end changes nothing
                node_closing = ""
            stack.append((children, depth, closing, cap))
            children, depth, closing, cap = node.iter(include_text=True), depth + 1, node_closing, node_cap
            break
        else:
            # the element owning ``children`` ends here
            if closing == "a":
                link_depth -= 1
            elif closing in _BOLD_TAGS:
                bold_depth -= 1
            elif closing:
                if buf:
                    flush()
                    if len(blocks) >= MAX_BLOCKS:
                        return Walk(tuple(blocks), tuple(containers))
                caption_depth -= cap
                owner_stack.pop()
                if closing in _CONTAINER_TAGS:
                    cont_stack.pop()
            if not stack:
                break
            children, depth, closing, cap = stack.pop()
    if buf and len(blocks) < MAX_BLOCKS:
        flush()
    return Walk(tuple(blocks), tuple(containers))


def visible_lines(root: LexborNode) -> list[str]:
    """Text of ``root`` split where a browser would break lines, skipping invisible elements."""
    return [b.text for b in walk_blocks(root).blocks]


def document_from_bytes(target: str, body: bytes, content_type: str | None = None) -> Document | None:
    """None when the bytes are not text at all (images, archives); callers turn that into ``not_html``."""
    if looks_binary(body):
        return None
    return Document.from_raw(RawPage(url=target, body=body, headers={"content-type": content_type or ""}))
