"""Asking the public web archives, through the crawler's own fetcher: capture lists and raw captures.

Every request goes through ``flows.fetch.Fetcher`` with the archives' own politeness (``archive_policy``:
per-archive rate and concurrency, retries that honour Retry-After on 429 and 5xx), so an archive is
treated like any other host and the address policy applies. A failed lookup is a problem line, never an
exception: the other archive, and the other pages, go on.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator

from flows import cdx
from flows.fetch import RETRY_STATUSES, Fetcher, FetchPolicy, HostRule
from parsers.hosts import host_key as host_of
from parsers.records import RawPage


@dataclass(frozen=True, slots=True)
class Archives:
    """Where the archives answer (settings), and which to ask."""

    wayback: str
    commoncrawl_index: str
    commoncrawl_data: str
    commoncrawl_collections: int
    use: tuple[str, ...] = (cdx.WAYBACK, cdx.COMMONCRAWL)

    def hosts(self) -> list[str]:
        return [host_of(u) for u in (self.wayback, self.commoncrawl_index, self.commoncrawl_data)]


def archive_policy(archives: Archives, user_agent: str, rate: float, concurrency: int, retries: int,
                   timeout: float, network: Mapping[str, Any] | None = None) -> FetchPolicy:
    """Each archive host at ``rate`` requests/s and ``concurrency`` in flight; retries back off from 1 s.
    ``network`` is the crawl's own address policy and proxies (``Settings.fetch_options``)."""
    rules = tuple(HostRule(h, concurrency, 1.0 / rate) for h in dict.fromkeys(archives.hosts()))
    return FetchPolicy(concurrency=concurrency * len(rules), per_host=concurrency, min_delay=1.0 / rate,
                       host_rules=rules, retries=retries, backoff=1.0, user_agent=user_agent,
                       connect_timeout=timeout, read_timeout=timeout, total_timeout=timeout * (retries + 2),
                       **dict(network or {}))


@dataclass(frozen=True, slots=True)
class Lookup:
    snapshots: list[cdx.Snapshot]
    problems: list[str]


async def _get(fetcher: Fetcher, url: str, what: str) -> tuple[bytes | None, str | None]:
    raw = (await fetcher.fetch(url)).raw
    if raw.error:
        return None, f"{what}: {raw.error}"
    if raw.status == 404:  # Common Crawl's "no captures"; the Wayback answers 200 with no rows
        return b"", None
    if raw.status != 200:
        retried = " after retries" if raw.status in RETRY_STATUSES else ""
        return None, f"{what}: HTTP {raw.status}{retried}"
    return raw.body, None


async def commoncrawl_apis(fetcher: Fetcher, archives: Archives, since: dt.date | None,
                           until: dt.date | None) -> tuple[list[str], list[str]]:
    """(CDX endpoints of the newest collections that may hold the range, problems)."""
    if cdx.COMMONCRAWL not in archives.use or archives.commoncrawl_collections == 0:
        return [], []
    url = f"{archives.commoncrawl_index.rstrip('/')}/collinfo.json"
    body, problem = await _get(fetcher, url, "commoncrawl collinfo.json")
    if body is None:
        return [], [problem or "commoncrawl collinfo.json: no answer"]
    apis = cdx.commoncrawl_collections(body, since, until, archives.commoncrawl_collections)
    # collinfo.json names its endpoints absolutely; keep them on the configured index host (a fake in tests)
    base = urlsplit(archives.commoncrawl_index)
    return [urlsplit(a)._replace(scheme=base.scheme, netloc=base.netloc).geturl() for a in apis], []


async def lookup(fetcher: Fetcher, archives: Archives, url: str, since: dt.date | None, until: dt.date | None,
                 domain: bool, cc_apis: Sequence[str]) -> Lookup:
    """Every status-200 capture of ``url`` (or of its whole domain) in the archives asked."""
    queries: list[tuple[str, str]] = []
    if cdx.WAYBACK in archives.use:
        queries.append((cdx.WAYBACK, cdx.wayback_query(archives.wayback, url, since, until, domain)))
    queries += [(cdx.COMMONCRAWL, cdx.commoncrawl_query(api, url, since, until, domain)) for api in cc_apis]
    answers = await asyncio.gather(*(_get(fetcher, q, f"{name} CDX {url}") for name, q in queries))
    found: list[cdx.Snapshot] = []
    problems: list[str] = []
    for (name, _), (body, problem) in zip(queries, answers, strict=True):
        if body is None:
            problems.append(problem or f"{name} CDX {url}: no answer")
            continue
        snaps, bad = cdx.parse_wayback(body) if name == cdx.WAYBACK else cdx.parse_commoncrawl(body)
        found += snaps
        problems += bad
    return Lookup(found, problems)


@dataclass(frozen=True, slots=True)
class Fetched:
    """A capture as fetched: the page the pipeline judges, where it came from, or why it is unusable."""

    snapshot: cdx.Snapshot
    capture_url: str
    raw: RawPage | None
    problem: str | None = None


async def fetch_capture(fetcher: Fetcher, archives: Archives, snap: cdx.Snapshot) -> Fetched:
    if snap.archive == cdx.WAYBACK:
        return await _wayback(fetcher, archives, snap)
    return await _commoncrawl(fetcher, archives, snap)


async def _wayback(fetcher: Fetcher, archives: Archives, snap: cdx.Snapshot) -> Fetched:
    replay = cdx.wayback_replay(archives.wayback, snap)
    raw = (await fetcher.fetch(replay)).raw
    landed = cdx.replayed(raw.final_url or replay)
    if landed is None or not _same_page(landed[1], snap.url):
        return Fetched(snap, replay, None, f"capture {replay} redirects to {landed[1] if landed else raw.final_url}")
    if raw.error or raw.status != 200:
        return Fetched(snap, replay, None, f"capture {replay}: {raw.error or f'HTTP {raw.status}'}")
    page = RawPage(url=snap.url, body=raw.body, status=200, headers=_original_headers(raw.headers),
                   final_url=snap.url)
    when = landed[0]
    moved = cdx.Snapshot(snap.archive, snap.url, when, snap.status, snap.mime, snap.digest)
    return Fetched(moved, raw.final_url or replay, page)


async def _commoncrawl(fetcher: Fetcher, archives: Archives, snap: cdx.Snapshot) -> Fetched:
    where = f"{archives.commoncrawl_data.rstrip('/')}/{snap.filename}"
    raw = (await fetcher.fetch(where, headers={"range": cdx.commoncrawl_range(snap)})).raw
    label = f"{where}@{snap.offset}"
    if raw.error or raw.status not in (200, 206):
        return Fetched(snap, label, None, f"capture {label}: {raw.error or f'HTTP {raw.status}'}")
    try:
        record = next(iter(ArchiveIterator(io.BytesIO(raw.body))))
        status = int(record.http_headers.get_statuscode()) if record.http_headers else 0
        headers = {k.lower(): v for k, v in (record.http_headers.headers if record.http_headers else [])}
        body = record.content_stream().read()
        target = str(record.rec_headers.get_header("WARC-Target-URI") or snap.url)
    except Exception as exc:  # a damaged member: this capture is unusable, the next is tried
        return Fetched(snap, label, None, f"capture {label}: unreadable WARC record: {type(exc).__name__}")
    if 300 <= status < 400:
        return Fetched(snap, label, None, f"capture {label} redirects to {headers.get('location', '?')}")
    if status != 200:
        return Fetched(snap, label, None, f"capture {label}: archived HTTP {status}")
    for name in ("content-encoding", "transfer-encoding", "content-length"):
        headers.pop(name, None)
    return Fetched(snap, label, RawPage(url=snap.url, body=body, status=200, headers=headers, final_url=target))


def _same_page(a: str, b: str) -> bool:
    """The Wayback moves a replay to the nearest timestamp of the same URL; another URL is a redirect."""
    pa, pb = urlsplit(a if "://" in a else f"http://{a}"), urlsplit(b if "://" in b else f"http://{b}")
    return (pa.netloc.lower().removeprefix("www."), pa.path or "/", pa.query) == (
        pb.netloc.lower().removeprefix("www."), pb.path or "/", pb.query)


def _original_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The archived response's own headers: the Wayback prefixes them ``x-archive-orig-``."""
    out = {k.removeprefix("x-archive-orig-"): v for k, v in headers.items() if k.startswith("x-archive-orig-")}
    if "content-type" in headers:
        out["content-type"] = headers["content-type"]
    for name in ("content-encoding", "transfer-encoding", "content-length"):
        out.pop(name, None)
    return out
