"""The work of a run, in batches, as plain functions.

Prefect tasks in ``flows/crawl.py`` wrap these one-to-one; keeping them free of Prefect lets tests and
``reparse`` call them directly, and keeps per-page work out of the orchestrator (a task run costs ~20 ms).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import string
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import Engine

from flows.archive import RawArchive
from flows.fetch import Fetched, Fetcher, FetchPolicy
from flows.sources import Site
from parsers import links as link_stage
from parsers import similarity
from parsers import verdict as verdict_stage
from parsers.document import Document
from parsers.pipeline import PARSER_VERSION, parse_document, process
from parsers.records import PageResult, Probe, RawPage
from schema.loader import FetchFacts, LoadOutcome, load_page


@dataclass(frozen=True, slots=True)
class Target:
    url: str
    site: str


@dataclass(frozen=True, slots=True)
class FetchedPage:
    """A fetch as the later steps need it: the raw page plus where its body sits in the archive."""

    target: Target
    raw: RawPage
    fetched_at: dt.datetime
    elapsed: float
    content_hash: str | None


@dataclass(slots=True)
class RunStats:
    verdicts: Counter[str] = field(default_factory=Counter)
    articles_written: int = 0
    records_written: int = 0
    kept_good_copies: int = 0
    errors: list[str] = field(default_factory=list)
    host_seconds: Counter[str] = field(default_factory=Counter)
    transitions: list[str] = field(default_factory=list)

    def add(self, outcomes: Iterable[LoadOutcome], fetched: Sequence[FetchedPage] = ()) -> None:
        for o in outcomes:
            self.verdicts[o.verdict] += 1
            self.articles_written += int(o.article_written)
            self.records_written += o.records_written
            self.kept_good_copies += int(o.kept_good_copy)
            if o.site_transition:
                self.transitions.append(f"{urlsplit(o.url).netloc}: {o.site_transition[0]} → {o.site_transition[1]}")
        for f in fetched:
            self.host_seconds[urlsplit(f.raw.url).netloc] += f.elapsed
            if f.raw.error:
                self.errors.append(f"{f.raw.url}: {f.raw.error}")

    def as_dict(self) -> dict[str, object]:
        return {
            "pages_by_verdict": dict(self.verdicts),
            "articles_written": self.articles_written,
            "records_written": self.records_written,
            "kept_good_copies": self.kept_good_copies,
            "errors": self.errors[:50],
            "slowest_hosts": [
                {"host": h, "seconds": round(s, 3)} for h, s in self.host_seconds.most_common(5)
            ],
            "site_transitions": self.transitions,
        }


def chunks(items: Sequence[Target], size: int) -> Iterator[list[Target]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def policy_for(sites: Sequence[Site], user_agent: str) -> FetchPolicy:
    """One policy per run: the strictest politeness of the sites involved applies to every host."""
    if not sites:
        return FetchPolicy(user_agent=user_agent)
    return FetchPolicy(
        per_host=min(s.politeness.concurrency for s in sites),
        min_delay=max(s.politeness.min_delay for s in sites),
        user_agent=user_agent,
    )


async def _discover(sites: Sequence[Site], fetcher: Fetcher) -> tuple[list[Target], list[str]]:
    targets: dict[str, Target] = {}
    problems: list[str] = []
    for site in sites:
        for url in site.start_urls:
            targets.setdefault(url, Target(url, site.name))
    listing_urls = [
        (site, listing, listing.url.format(page=page))
        for site in sites
        for listing in site.listings
        for page in range(1, listing.pages + 1)
    ]
    results = await asyncio.gather(*(fetcher.fetch(url) for _, _, url in listing_urls))
    for (site, listing, url), fetched in zip(listing_urls, results, strict=True):
        raw = fetched.raw
        doc = parse_document(raw) if raw.status == 200 else None
        found = [u for u in link_stage.links(doc, url, listing.link_selector) if site.allows(u)] if doc else []
        if not found:
            problems.append(f"{url}: listing gave no article links (status {raw.status}, {raw.error or 'ok'})")
        for link in found:
            targets.setdefault(link, Target(link, site.name))
    return list(targets.values()), problems


def discover(sites: Sequence[Site], policy: FetchPolicy) -> tuple[list[Target], list[str]]:
    """URLs to fetch from start URLs and listing pages; problems are reported, never raised."""

    async def run() -> tuple[list[Target], list[str]]:
        async with Fetcher(policy) as fetcher:
            return await _discover(sites, fetcher)

    return asyncio.run(run())


def fetch_batch(targets: Sequence[Target], policy: FetchPolicy, archive: RawArchive) -> list[FetchedPage]:
    """Fetch a batch concurrently and archive every body before anything parses it."""

    async def run() -> list[Fetched]:
        async with Fetcher(policy) as fetcher:
            return await fetcher.fetch_all(t.url for t in targets)

    out: list[FetchedPage] = []
    for target, fetched in zip(targets, asyncio.run(run()), strict=True):
        digest = archive.put(fetched.raw.body, fetched.raw.headers) if fetched.raw.body else None
        out.append(FetchedPage(target, fetched.raw, fetched.fetched_at, fetched.elapsed, digest))
    return out


def parse_batch(pages: Sequence[FetchedPage], sites: dict[str, Site]) -> list[PageResult]:
    results = []
    for page in pages:
        site = sites.get(page.target.site)
        selectors = site.selectors.to_record() if site and site.selectors else None
        results.append(process(page.raw, selectors))
    return results


def _sibling_url(url: str) -> str:
    parts = urlsplit(url)
    token = "".join(random.choices(string.ascii_lowercase + string.digits, k=16))
    return urlunsplit((parts.scheme, parts.netloc, f"/{token}.html", "", ""))


def probe_batch(
    pages: Sequence[FetchedPage],
    results: Sequence[PageResult],
    sites: dict[str, Site],
    policy: FetchPolicy,
    cache: dict[str, tuple[str, int | None, str]],
) -> list[PageResult]:
    """Re-judge suspect pages against a random sibling path on their host (fetched once per host per run)."""
    suspects: list[int] = []
    docs: dict[int, Document | None] = {}
    for i, (page, result) in enumerate(zip(pages, results, strict=True)):
        doc = parse_document(page.raw)
        if verdict_stage.needs_probe(page.raw, doc, result.verdict):
            suspects.append(i)
            docs[i] = doc
    if not suspects:
        return list(results)
    hosts = {urlsplit(pages[i].raw.url).netloc: pages[i].raw.url for i in suspects}
    missing = [h for h in hosts if h not in cache]

    async def run() -> list[Fetched]:
        async with Fetcher(policy) as fetcher:
            return await fetcher.fetch_all(_sibling_url(hosts[h]) for h in missing)

    if missing:
        for host, fetched in zip(missing, asyncio.run(run()), strict=True):
            doc = parse_document(fetched.raw)
            cache[host] = (fetched.raw.url, fetched.raw.status, doc.visible_text if doc else "")
    out = list(results)
    for i in suspects:
        page, doc = pages[i], docs[i]
        url, status, text = cache[urlsplit(page.raw.url).netloc]
        score = similarity.similarity(doc.visible_text if doc else "", text)
        site = sites.get(page.target.site)
        selectors = site.selectors.to_record() if site and site.selectors else None
        out[i] = process(page.raw, selectors, Probe(url, status, score), doc)
    return out


def load_batch(
    engine: Engine, pages: Sequence[FetchedPage], results: Sequence[PageResult], sites: dict[str, Site], load_id: str
) -> list[LoadOutcome]:
    """One transaction per page: a crash leaves every page either fully loaded or untouched."""
    outcomes = []
    for page, result in zip(pages, results, strict=True):
        site = sites.get(page.target.site)
        raw = page.raw
        facts = FetchFacts(
            url=page.target.url,
            fetched_at=page.fetched_at,
            http_status=raw.status,
            final_url=raw.final_url,
            status_chain=raw.status_chain,
            content_hash=page.content_hash,
            etag=raw.headers.get("etag"),
            last_modified=raw.headers.get("last-modified"),
            error=raw.error,
            site_name=site.name if site else None,
            base_url=site.base_url if site else None,
        )
        outcomes.append(load_page(engine, result, facts, load_id, PARSER_VERSION))
    return outcomes
