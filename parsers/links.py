"""Article links on a listing page, read from the same parsed tree as everything else."""

from __future__ import annotations

from urllib.parse import urldefrag, urljoin, urlsplit

from parsers.document import Document


def links(doc: Document, base_url: str, selector: str = "a[href]") -> list[str]:
    """Absolute http(s) links matched by ``selector``, in page order, without duplicates or fragments."""
    if doc.tree is None:
        return []
    out: dict[str, None] = {}
    for node in doc.tree.css(selector):
        href = node.attributes.get("href") if node.tag == "a" else None
        if href is None:
            anchor = node.css_first("a[href]")
            href = anchor.attributes.get("href") if anchor is not None else None
        if not href or href.startswith(("javascript:", "mailto:", "#")):
            continue
        url, _ = urldefrag(urljoin(base_url, href.strip()))
        if urlsplit(url).scheme in ("http", "https"):
            out.setdefault(url, None)
    return list(out)
