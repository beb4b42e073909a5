"""What moves between the steps of a run: a URL to fetch, and a fetch with its body already archived.

A batch is archived as soon as its last response arrives, before anything parses it, so the archive holds
every fetch even if the run dies later; one WARC file per batch, because a file per body costs more than
the fetch itself. A 304 is turned back into the stored body here — the parsers then see the same bytes as
last time and the loader finds nothing changed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace

from flows.archive import Capture, RawArchive
from flows.archive_writer import ArchiveWriter
from flows.fetch import Conditional, Fetcher
from parsers.records import RawPage


@dataclass(frozen=True, slots=True)
class Target:
    url: str
    site: str
    #: validators and archived body of the last good copy, for a conditional GET.
    conditional: Conditional | None = None
    known_hash: str | None = None


@dataclass(frozen=True, slots=True)
class FetchedPage:
    """A fetch as the later steps need it: the raw page plus where its body sits in the archive."""

    target: Target
    raw: RawPage
    fetched_at: dt.datetime
    elapsed: float
    content_hash: str | None
    #: the HTTP status as received; 304 while ``raw`` holds the archived 200 body it confirmed.
    http_status: int | None = None
    #: the WARC record (response, or revisit for a 304 or an unchanged body) this fetch was stored as.
    record_id: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.http_status == 304


async def fetch_page(fetcher: Fetcher, archive: RawArchive, target: Target) -> FetchedPage:
    """Fetch one target; a 304 becomes the archived body it points at (already stored, so it has its hash)."""
    cond = target.conditional if target.known_hash and target.known_hash in archive else None
    fetched = await fetcher.fetch(target.url, cond)
    raw = fetched.raw
    if raw.status == 304 and cond is not None and target.known_hash:
        stored_headers, stored = archive.page(target.known_hash)
        headers = {**stored_headers, **raw.headers}
        revived = replace(raw, body=stored, status=200, headers=headers)
        return FetchedPage(target, revived, fetched.fetched_at, fetched.elapsed, target.known_hash, 304)
    if raw.status == 304:  # validators we did not send, or an archive that lost the body: ask again
        fetched = await fetcher.fetch(target.url, None)
        raw = fetched.raw
    return FetchedPage(target, raw, fetched.fetched_at, fetched.elapsed, None, raw.status)


def unfetched(url: str, exc: BaseException) -> RawPage:
    """A fetch that raised (the fetcher reports failures as data; this guards what it did not foresee,
    e.g. an archive read for a 304): that URL's failed fetch, and the rest of its batch goes on."""
    if not isinstance(exc, Exception):  # cancellation and interrupts end the batch as they should
        raise exc
    return RawPage(url=url, body=b"", status=None, error=f"fetch failed: {type(exc).__name__}: {exc}"[:300])


def _failed(target: Target, exc: BaseException) -> FetchedPage:
    return FetchedPage(target, unfetched(target.url, exc), dt.datetime.now(dt.UTC), 0.0, None, None)


def capture_of(page: FetchedPage) -> Capture:
    """What the WARC records of this fetch need; a 304 keeps its status so it becomes a revisit. The
    user agent is the writer's to add (one per run), so it does not cross the pipe with every page."""
    raw, cond = page.raw, page.target.conditional
    request = {}
    if cond is not None and page.target.known_hash:
        request = {k: v for k, v in (("if-none-match", cond.etag), ("if-modified-since", cond.last_modified)) if v}
    return Capture(url=page.target.url, body=raw.body, status=page.http_status or raw.status or 200,
                   headers=raw.headers, fetched_at=page.fetched_at, final_url=raw.final_url,
                   request_headers=request, not_modified=page.not_modified)


async def fetch_and_archive(
    fetcher: Fetcher, archive: RawArchive, targets: Sequence[Target], writer: ArchiveWriter
) -> list[FetchedPage]:
    """Fetch a batch concurrently, then store it as one WARC file (through ``writer``, off this process's
    event loop) and give each page its body's sha256 and its record's id. A fetch that raises becomes that
    page's failed fetch; the rest of the batch goes on."""
    done = await asyncio.gather(*(fetch_page(fetcher, archive, t) for t in targets), return_exceptions=True)
    pages = [p if isinstance(p, FetchedPage) else _failed(t, p) for t, p in zip(targets, done, strict=True)]
    todo = [i for i, p in enumerate(pages) if p.raw.body]
    stored = await writer.put_many([capture_of(pages[i]) for i in todo])
    for i, saved in zip(todo, stored, strict=True):
        pages[i] = replace(pages[i], content_hash=saved.sha256, record_id=saved.record_id)
    return pages
