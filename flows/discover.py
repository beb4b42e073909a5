"""Where article URLs come from: listing pages, RSS/Atom feeds and sitemaps, as pure functions of bytes.

Each reader returns ``Found`` links (with a date when the source shows one) and never raises on bad
input: a listing whose layout changed simply yields nothing, and the caller records that as a problem.
Fetching is the caller's job, so these run on saved pages in tests.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import gzip
import io
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urldefrag, urljoin, urlsplit

from flows.sources import Listing, Site
from parsers import dates
from parsers.document import Document
from parsers.pipeline import parse_document
from parsers.records import RawPage

#: a sitemap (or sitemap index) larger than this after decompression is not read (50 MB is the spec cap).
SITEMAP_MAX_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Found:
    url: str
    published: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Discovery:
    """Links read from one source document, plus nested sitemaps to read next."""

    links: tuple[Found, ...]
    sitemaps: tuple[str, ...] = ()
    problem: str | None = None


def _clean(base: str, href: str | None) -> str | None:
    if not href:
        return None
    href = href.strip()
    if href.startswith(("javascript:", "mailto:", "#")):
        return None
    url, _ = urldefrag(urljoin(base, href))
    return url if urlsplit(url).scheme in ("http", "https") else None


def listing_links(raw: RawPage, listing: Listing, site: Site, doc: Document | None = None) -> Discovery:
    """Article links of one listing page, with the date shown beside each when ``date_selector`` is set.

    A date belongs to the link whose item contains it: the nearest ancestor of the link (up to four
    levels) that holds a ``date_selector`` match.
    """
    if raw.error or raw.status != 200:
        return Discovery((), problem=f"{raw.url}: listing not fetched ({raw.error or f'HTTP {raw.status}'})")
    doc = doc or parse_document(raw)
    if doc is None or doc.tree is None:
        return Discovery((), problem=f"{raw.url}: listing is not an HTML page")
    out: dict[str, Found] = {}
    for node in doc.tree.css(listing.link_selector):
        anchor = node if node.tag == "a" else node.css_first("a[href]")
        if anchor is None:
            continue
        url = _clean(raw.final_url or raw.url, anchor.attributes.get("href"))
        if url is None or not site.allows(url) or url in out:
            continue
        published = None
        if listing.date_selector:
            item = anchor.parent
            for _ in range(4):
                if item is None:
                    break
                hit = item.css_first(listing.date_selector)
                if hit is not None:
                    found = dates.first_date(hit.text(strip=True))
                    published = found.date if found else None
                    break
                item = item.parent
        out[url] = Found(url, published or dates.url_date(url))
    if not out:
        return Discovery((), problem=f"{raw.url}: listing gave no article links (selector {listing.link_selector!r})")
    return Discovery(tuple(out.values()))


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()


def _xml_root(raw: RawPage) -> ET.Element | str:
    if raw.error or raw.status != 200 or not raw.body:
        return f"{raw.url}: not fetched ({raw.error or f'HTTP {raw.status}'})"
    body = raw.body
    if body[:2] == b"\x1f\x8b":  # sitemap.xml.gz served as a file
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(body)) as fh:
                body = fh.read(SITEMAP_MAX_BYTES + 1)
        except (OSError, EOFError):
            return f"{raw.url}: broken gzip"
        if len(body) > SITEMAP_MAX_BYTES:
            return f"{raw.url}: larger than {SITEMAP_MAX_BYTES} bytes uncompressed"
    try:
        return ET.fromstring(body)
    except ET.ParseError as exc:
        return f"{raw.url}: not XML ({exc})"


def _date_of(text: str | None) -> dt.date | None:
    if not text:
        return None
    found = dates.parse_iso(text.strip())
    if found:
        return found.date
    try:  # RSS pubDate is RFC 822
        return email.utils.parsedate_to_datetime(text.strip()).date()
    except (TypeError, ValueError, IndexError):
        return None


def feed_links(raw: RawPage, site: Site) -> Discovery:
    """Item links of an RSS 2.0 or Atom feed, with their publication dates."""
    root = _xml_root(raw)
    if isinstance(root, str):
        return Discovery((), problem=root)
    base = raw.final_url or raw.url
    out: dict[str, Found] = {}
    for item in root.iter():
        name = _local(item.tag)
        if name not in ("item", "entry"):
            continue
        link: str | None = None
        when: str | None = None
        for child in item:
            cname = _local(child.tag)
            if cname == "link" and link is None:
                link = child.attrib.get("href") or (child.text or "")
            elif cname in ("pubdate", "published", "updated", "date") and when is None:
                when = child.text
        url = _clean(base, link)
        if url and site.allows(url) and url not in out:
            out[url] = Found(url, _date_of(when) or dates.url_date(url))
    if not out:
        return Discovery((), problem=f"{raw.url}: feed gave no article links")
    return Discovery(tuple(out.values()))


def sitemap_links(raw: RawPage, site: Site) -> Discovery:
    """Page URLs (with ``lastmod``) of a sitemap, or the nested sitemaps of a sitemap index."""
    root = _xml_root(raw)
    if isinstance(root, str):
        return Discovery((), problem=root)
    base = raw.final_url or raw.url
    pages: dict[str, Found] = {}
    nested: list[str] = []
    index = _local(root.tag) == "sitemapindex"
    for entry in root:
        if _local(entry.tag) not in ("url", "sitemap"):
            continue
        loc = lastmod = None
        for child in entry:
            if _local(child.tag) == "loc":
                loc = child.text
            elif _local(child.tag) == "lastmod":
                lastmod = child.text
        url = _clean(base, loc)
        if url is None:
            continue
        if index:
            nested.append(url)
        elif site.allows(url) and url not in pages:
            pages[url] = Found(url, _date_of(lastmod) or dates.url_date(url))
    if not pages and not nested:
        return Discovery((), problem=f"{raw.url}: sitemap gave no URLs")
    return Discovery(tuple(pages.values()), tuple(nested))


def in_range(found: Found, since: dt.date | None, until: dt.date | None) -> bool:
    """Undated links are kept: only the article itself can tell, once fetched."""
    if found.published is None:
        return True
    return (since is None or found.published >= since) and (until is None or found.published <= until)


def all_older(found: Sequence[Found], since: dt.date | None) -> bool:
    """True when a listing page shows only dates before ``since``: walking further back is pointless."""
    dated = [f.published for f in found if f.published is not None]
    return since is not None and bool(dated) and len(dated) == len(found) and max(dated) < since
