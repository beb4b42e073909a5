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

import httpx

from flows.fetch import parse_url
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


class _Bad:
    """A link that is not a URL (``http://[::1/x``, a port above 65535): skipped and counted, never raised."""


BAD = _Bad()


def _clean(base: str, href: str | None) -> str | _Bad | None:
    """The absolute http(s) URL of ``href`` without its fragment; None for links that are not pages
    (``javascript:``, ``mailto:``, anchors), ``BAD`` for links no client could request."""
    if not href:
        return None
    href = href.strip()
    if href.startswith(("javascript:", "mailto:", "#")):
        return None
    try:
        url, _ = urldefrag(urljoin(base, href))
        if urlsplit(url).scheme not in ("http", "https"):
            return None
        parse_url(url)  # what the fetcher will parse: it must accept the URL too
    except (ValueError, httpx.InvalidURL):  # urllib raises ValueError for a broken IPv6 host or port
        return BAD
    return url


def _bad_links(where: str, count: int, first: str | None) -> str | None:
    return f"{where}: skipped {count} link(s) that are not valid URLs (first: {first!r})" if count else None


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
    bad, first_bad = 0, None
    for node in doc.tree.css(listing.link_selector):
        anchor = node if node.tag == "a" else node.css_first("a[href]")
        if anchor is None:
            continue
        href = anchor.attributes.get("href")
        url = _clean(raw.final_url or raw.url, href)
        if url is BAD:
            bad, first_bad = bad + 1, first_bad or href
            continue
        if not isinstance(url, str) or not site.allows(url) or url in out:
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
    skipped = _bad_links(raw.url, bad, first_bad)
    if not out:
        problem = f"{raw.url}: listing gave no article links (selector {listing.link_selector!r})"
        return Discovery((), problem="; ".join(p for p in (problem, skipped) if p))
    return Discovery(tuple(out.values()), problem=skipped)


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
    bad, first_bad = 0, None
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
        if url is BAD:
            bad, first_bad = bad + 1, first_bad or link
        elif isinstance(url, str) and site.allows(url) and url not in out:
            out[url] = Found(url, _date_of(when) or dates.url_date(url))
    skipped = _bad_links(raw.url, bad, first_bad)
    if not out:
        return Discovery((), problem="; ".join(p for p in (f"{raw.url}: feed gave no article links", skipped) if p))
    return Discovery(tuple(out.values()), problem=skipped)


def sitemap_links(raw: RawPage, site: Site) -> Discovery:
    """Page URLs (with ``lastmod``) of a sitemap, or the nested sitemaps of a sitemap index.

    Nested sitemaps are kept only on the site's own hosts: an index naming another host's sitemap would
    otherwise send the crawler there (and to that host's robots.txt)."""
    root = _xml_root(raw)
    if isinstance(root, str):
        return Discovery((), problem=root)
    base = raw.final_url or raw.url
    pages: dict[str, Found] = {}
    nested: list[str] = []
    bad, first_bad, elsewhere = 0, None, 0
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
        if url is BAD:
            bad, first_bad = bad + 1, first_bad or loc
        elif not isinstance(url, str):
            continue
        elif index:
            if site.on_site(url):
                nested.append(url)
            else:
                elsewhere += 1
        elif site.allows(url) and url not in pages:
            pages[url] = Found(url, _date_of(lastmod) or dates.url_date(url))
    notes = [_bad_links(raw.url, bad, first_bad),
             f"{raw.url}: skipped {elsewhere} nested sitemap(s) on other hosts" if elsewhere else None]
    if not pages and not nested:
        notes.insert(0, f"{raw.url}: sitemap gave no URLs")
    return Discovery(tuple(pages.values()), tuple(nested), problem="; ".join(n for n in notes if n) or None)


def in_range(found: Found, since: dt.date | None, until: dt.date | None) -> bool:
    """Undated links are kept: only the article itself can tell, once fetched."""
    if found.published is None:
        return True
    return (since is None or found.published >= since) and (until is None or found.published <= until)


def all_older(found: Sequence[Found], since: dt.date | None) -> bool:
    """True when a listing page shows only dates before ``since``: walking further back is pointless."""
    dated = [f.published for f in found if f.published is not None]
    return since is not None and bool(dated) and len(dated) == len(found) and max(dated) < since
