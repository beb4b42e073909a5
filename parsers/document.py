"""One parsed page shared by every stage (verdict, extraction, link discovery).

Parsing is the single most expensive step, so it happens once here; everything else reads this object.
Text dumps (one paragraph per line, like the seed) become a Document without a tree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

from selectolax.lexbor import LexborHTMLParser, LexborNode

from parsers.decode import decode, looks_binary
from parsers.records import RawPage

_WS = re.compile(r"[ \t\r\n\f\v\u00a0\u3000\u200b\ufeff]+")
#: elements whose text is never shown to a reader.
_INVISIBLE = "script, style, noscript, template, iframe, svg, head"
#: elements that start a new line of text in a browser.
_BLOCK_TAGS = frozenset(
    "p div section article main header footer aside nav li ul ol dl dt dd table tr td th tbody thead "
    "h1 h2 h3 h4 h5 h6 blockquote pre figure figcaption form center address hr br body html".split()
)
_HEAD_PROBE = re.compile(rb"<(?:html|head|body|div|p|meta|title|script|!doctype)\b", re.IGNORECASE)


def clean_space(text: str) -> str:
    return _WS.sub(" ", text).strip()


@dataclass
class Document:
    target: str
    text: str
    encoding: str | None
    is_html: bool
    tree: LexborHTMLParser | None = None
    content_type: str | None = None
    final_url: str | None = None
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
        tree = LexborHTMLParser(text) if is_html else None
        return cls(target, text, encoding, is_html, tree, content_type, final_url)

    @cached_property
    def title(self) -> str:
        if self.tree is None:
            return next(iter(self.lines), "")
        node = self.tree.css_first("title")
        return clean_space(node.text()) if node is not None else ""

    @cached_property
    def lines(self) -> list[str]:
        """Visible text, one entry per rendered block, in reading order."""
        if self.tree is None:
            return [s for s in (clean_space(line) for line in self.text.splitlines()) if s]
        body = self.tree.body or self.tree.root
        if body is None:
            return []
        return visible_lines(body)

    @cached_property
    def visible_text(self) -> str:
        return "\n".join(self.lines)


def is_markup(text: str, content_type: str | None) -> bool:
    if content_type and "html" in content_type.lower():
        return True
    if content_type and content_type.lower().startswith("text/plain"):
        return False
    return bool(_HEAD_PROBE.search(text[:4096].encode("utf-8", "ignore")))


def visible_lines(root: LexborNode) -> list[str]:
    """Text of ``root`` split where a browser would break lines, skipping invisible elements."""
    out: list[str] = []
    buf: list[str] = []

    def flush() -> None:
        if buf:
            line = clean_space("".join(buf))
            if line:
                out.append(line)
            buf.clear()

    stack: list[tuple[LexborNode, bool]] = [(root, False)]
    invisible = frozenset(t.strip() for t in _INVISIBLE.split(","))
    while stack:
        node, closing = stack.pop()
        tag = node.tag
        if closing:
            if tag in _BLOCK_TAGS:
                flush()
            continue
        if tag == "-text":
            buf.append(node.text_content or "")
            continue
        if tag in invisible or tag == "-comment":
            continue
        if tag in _BLOCK_TAGS:
            flush()
        stack.append((node, True))
        children = []
        child = node.child
        while child is not None:
            children.append(child)
            child = child.next
        for c in reversed(children):
            stack.append((c, False))
    flush()
    return out


def document_from_bytes(target: str, body: bytes, content_type: str | None = None) -> Document | None:
    """None when the bytes are not text at all (images, archives); callers turn that into ``not_html``."""
    if looks_binary(body):
        return None
    return Document.from_raw(RawPage(url=target, body=body, headers={"content-type": content_type or ""}))
