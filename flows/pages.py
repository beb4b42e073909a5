"""What moves between the steps of a run: a URL to fetch, and a fetch with its body already archived.

Archiving happens as each response arrives (not after a batch), so the archive holds every body even if
the run dies before parsing, and a 304 is turned back into the stored body here — the parsers then see
the same bytes as last time and the loader finds nothing changed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from concurrent.futures import Executor
from dataclasses import dataclass, replace

from flows.archive import RawArchive
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

    @property
    def not_modified(self) -> bool:
        return self.http_status == 304


async def fetch_and_archive(
    fetcher: Fetcher, archive: RawArchive, target: Target, executor: Executor | None = None
) -> FetchedPage:
    """Fetch one target and store its body; a 304 becomes the archived body it points at.

    Hashing, compressing and writing run on ``executor`` when given (zlib and file writes release the
    GIL), so the event loop keeps reading other responses meanwhile.
    """
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
    digest = None
    if raw.body:
        loop = asyncio.get_running_loop()
        digest = await loop.run_in_executor(executor, archive.put, raw.body, raw.headers) if executor else (
            archive.put(raw.body, raw.headers)
        )
    return FetchedPage(target, raw, fetched.fetched_at, fetched.elapsed, digest, raw.status)
