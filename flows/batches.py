"""The work of a run, in batches, as plain functions.

Prefect tasks in ``flows/crawl.py`` wrap these one-to-one; keeping them free of Prefect lets tests,
benchmarks and ``reparse`` call them directly, and keeps per-page work out of the orchestrator (a task
run costs ~25 ms). Fetching goes through a ``FetchSession`` so one client serves the whole run.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import string
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import Engine

from flows import discover as disc
from flows import state
from flows.fetch import ROBOTS_FORBIDS, FetchPolicy, HostRule
from flows.pages import FetchedPage, Target, unfetched
from flows.parse_pool import ParsePool
from flows.parse_worker import ParseItem, parse_items
from flows.session import FetchSession
from flows.sources import Site
from parsers import health, similarity
from parsers import verdict as verdict_stage
from parsers.document import Document
from parsers.hosts import NO_HOST, host_key, host_key_or_none
from parsers.pipeline import PARSER_VERSION, is_failure, parse_document, process
from parsers.records import PageResult, Probe, RawPage
from schema.loader import FetchFacts, LoadOutcome, load_pages

__all__ = ["FetchedPage", "RunStats", "Target"]


@dataclass(slots=True)
class RunStats:
    verdicts: Counter[str] = field(default_factory=Counter)
    articles_written: int = 0
    records_written: int = 0
    kept_good_copies: int = 0
    not_modified: int = 0
    #: outcomes that never reach the database (robots.txt refusals, retired sites left alone).
    skipped: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    host_seconds: dict[str, float] = field(default_factory=dict)
    transitions: list[str] = field(default_factory=list)
    stage_cpu: dict[str, float] = field(default_factory=dict)
    #: when the run began, for its row in ``load_runs``.
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    def add(self, outcomes: Iterable[LoadOutcome], fetched: Sequence[FetchedPage] = ()) -> None:
        for o in outcomes:
            if o.error:  # the database refused the page: nothing of it was written
                self.skipped["load failed"] += 1
                self.errors.append(f"{o.url}: not loaded: {o.error}")
                continue
            self.verdicts[o.verdict] += 1
            self.articles_written += int(o.article_written)
            self.records_written += o.records_written
            self.kept_good_copies += int(o.kept_good_copy)
            if o.site_transition:
                old, new = o.site_transition
                self.transitions.append(f"{host_key_or_none(o.url) or o.url}: {old} → {new}")
        for f in fetched:
            host = host_key_or_none(f.raw.url) or NO_HOST
            self.host_seconds[host] = self.host_seconds.get(host, 0.0) + f.elapsed
            self.not_modified += int(f.not_modified)
            if f.raw.error:
                self.errors.append(f"{f.raw.url}: {f.raw.error}")
                if f.raw.error.startswith(ROBOTS_FORBIDS):
                    self.skipped["robots.txt forbids"] += 1

    def cpu(self, stage: str, seconds: float) -> None:
        self.stage_cpu[stage] = self.stage_cpu.get(stage, 0.0) + seconds

    def slowest_hosts(self, n: int = 5) -> list[tuple[str, float]]:
        return sorted(self.host_seconds.items(), key=lambda kv: -kv[1])[:n]

    @property
    def pages(self) -> int:
        return sum(self.verdicts.values())

    def as_dict(self) -> dict[str, object]:
        return {
            "pages_by_verdict": dict(self.verdicts),
            "articles_written": self.articles_written,
            "records_written": self.records_written,
            "kept_good_copies": self.kept_good_copies,
            "not_modified": self.not_modified,
            "skipped": dict(self.skipped),
            "problems": self.problems[:50],
            "errors": self.errors[:50],
            "slowest_hosts": [
                {"host": h, "seconds": round(s, 3)} for h, s in self.slowest_hosts()
            ],
            "site_transitions": self.transitions,
            "stage_cpu_seconds": {k: round(v, 3) for k, v in self.stage_cpu.items()},
        }


def chunks(items: Sequence[Target], size: int) -> Iterator[list[Target]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def policy_for(sites: Sequence[Site], user_agent: str, **overrides: object) -> FetchPolicy:
    """One client for the run; each site's politeness applies to its own host."""
    rules = tuple(
        HostRule(host, s.politeness.concurrency, s.politeness.min_delay, site=s.name, allow=s.allow_addresses,
                 proxy=s.proxy.get_secret_value() if s.proxy is not None else None)
        for s in sites
        for host in (s.host, *sorted(s.hosts - {s.host}))
    )
    base = FetchPolicy(user_agent=user_agent, host_rules=rules)
    if not sites:
        return FetchPolicy(user_agent=user_agent, **overrides)  # type: ignore[arg-type]
    defaults = {
        "per_host": min(s.politeness.concurrency for s in sites),
        "min_delay": max(s.politeness.min_delay for s in sites),
        "concurrency": max(16, sum(s.politeness.concurrency for s in sites)),
    }
    from dataclasses import replace

    return replace(base, **{**defaults, **overrides})  # type: ignore[arg-type]


# --- discovery -------------------------------------------------------------------------------------
async def _fetch_raw(session: FetchSession, urls: Sequence[str]) -> list[RawPage]:
    fetched = await asyncio.gather(*(session.fetcher.fetch(u) for u in urls), return_exceptions=True)
    return [f.raw if not isinstance(f, BaseException) else unfetched(u, f) for u, f in zip(urls, fetched, strict=True)]


def _read(reader: Callable[..., disc.Discovery], raw: RawPage, *config: object) -> disc.Discovery:
    """Read one listing page, feed or sitemap. Whatever breaks the reader (a link no URL parser accepts,
    a malformed document) is that document's problem in the run summary; the site's other documents and
    every other site are read as usual."""
    try:
        return reader(raw, *config)
    except Exception as exc:
        return disc.Discovery((), problem=f"{raw.url}: cannot read: {type(exc).__name__}: {exc}"[:300])


def read_feeds_and_sitemaps(session: FetchSession, site: Site, max_sitemaps: int = 50) -> disc.Discovery:
    """Every link the site's feeds and sitemaps list (sitemap indexes followed, up to ``max_sitemaps``)."""
    links: dict[str, disc.Found] = {}
    problems: list[str] = []
    for raw in session.run(_fetch_raw(session, site.feeds)):
        d = _read(disc.feed_links, raw, site)
        links.update((f.url, f) for f in d.links)
        problems += [d.problem] if d.problem else []
    queue, seen = list(site.sitemaps), set[str]()
    while queue and len(seen) < max_sitemaps:
        wave = [u for u in dict.fromkeys(queue) if u not in seen][: max_sitemaps - len(seen)]
        queue = []
        seen.update(wave)
        for raw in session.run(_fetch_raw(session, wave)):
            d = _read(disc.sitemap_links, raw, site)
            links.update((f.url, f) for f in d.links)
            queue += list(d.sitemaps)
            problems += [d.problem] if d.problem else []
    return disc.Discovery(tuple(links.values()), problem="; ".join(problems) or None)


def read_listing_page(session: FetchSession, site: Site, listing_index: int, page: int) -> disc.Discovery:
    listing = site.listings[listing_index]
    url = listing.url.format(page=page)
    raw = session.run(_fetch_raw(session, [url]))[0]
    return _read(disc.listing_links, raw, listing, site)


def discover(session: FetchSession, sites: Sequence[Site]) -> tuple[list[tuple[str, disc.Found]], list[str]]:
    """(site name, link) for every start URL, listing page, feed item and sitemap entry; problems listed."""
    found: dict[str, tuple[str, disc.Found]] = {}
    problems: list[str] = []
    for site in sites:
        for url in site.start_urls:
            found.setdefault(url, (site.name, disc.Found(url)))
        pages = [(i, p) for i, listing in enumerate(site.listings) for p in range(1, listing.pages + 1)]
        raws = session.run(_fetch_raw(session, [site.listings[i].url.format(page=p) for i, p in pages]))
        for (i, _), raw in zip(pages, raws, strict=True):
            d = _read(disc.listing_links, raw, site.listings[i], site)
            problems += [d.problem] if d.problem else []
            for f in d.links:
                found.setdefault(f.url, (site.name, f))
        d = read_feeds_and_sitemaps(session, site)
        problems += [d.problem] if d.problem else []
        for f in d.links:
            found.setdefault(f.url, (site.name, f))
    return list(found.values()), problems


def plan(
    engine: Engine, candidates: Sequence[tuple[str, str]], refetch: frozenset[str] = frozenset()
) -> tuple[list[Target], int]:
    """Targets for (site, url) candidates: pages already holding a good article are skipped unless in
    ``refetch``, which get a conditional GET instead. Returns the targets and how many were skipped."""
    states = state.page_states(engine, [u for _, u in candidates])
    targets: list[Target] = []
    skipped = 0
    for site, url in candidates:
        st = states.get(url)
        if st is not None and st.has_article and url not in refetch:
            skipped += 1
            continue
        cond = st.conditional if st is not None else None
        targets.append(Target(url, site, cond, st.good_hash if st is not None and cond else None))
    return targets, skipped


def live_sites(
    engine: Engine, sites: Sequence[Site], now: dt.datetime | None = None
) -> tuple[list[Site], list[Site], list[str]]:
    """(sites to crawl fully, retired sites due for a probe, notes on retired sites left alone)."""
    now = now or dt.datetime.now(dt.UTC)
    healths = state.site_health(engine, [s.host for s in sites])
    live, probe, notes = [], [], []
    for site in sites:
        h = healths.get(site.host, health.SiteHealth())
        if not h.retired and h.status != "unreachable":
            live.append(site)
        elif health.due_for_probe(h, now):
            probe.append(site)
        else:
            notes.append(f"{site.name}: {h.status}, not due for a probe")
    return live, probe, notes


# --- fetch, parse, load ----------------------------------------------------------------------------
def parse_inputs(
    pages: Sequence[FetchedPage], sites: dict[str, Site], boilerplate: Mapping[str, frozenset[str]] | None = None
) -> list[ParseItem]:
    """What the parsers need of each page: its raw page, its site's selectors, its host's boilerplate."""
    learned = boilerplate or {}
    items: list[ParseItem] = []
    for page in pages:
        site = sites.get(page.target.site)
        selectors = site.selectors.to_record() if site and site.selectors else None
        items.append((page.raw, selectors, learned.get(host_key(page.target.url), frozenset())))
    return items


def parse_batch(
    pages: Sequence[FetchedPage],
    sites: dict[str, Site],
    boilerplate: Mapping[str, frozenset[str]] | None = None,
    pool: ParsePool | None = None,
) -> list[PageResult]:
    """``boilerplate``: host -> line fingerprints learned for the site (``state.site_boilerplate``).
    ``pool``: the run's parse processes (``flows.parse_pool``); without one, parsed in this thread."""
    items = parse_inputs(pages, sites, boilerplate)
    return pool.parse(items) if pool is not None else parse_items(items)


def _sibling_url(url: str) -> str:
    parts = urlsplit(url)
    token = "".join(random.choices(string.ascii_lowercase + string.digits, k=16))
    return urlunsplit((parts.scheme, parts.netloc, f"/{token}.html", "", ""))


def probe_batch(
    pages: Sequence[FetchedPage],
    results: Sequence[PageResult],
    sites: dict[str, Site],
    session: FetchSession,
    cache: dict[str, tuple[str, int | None, str]],
    boilerplate: Mapping[str, frozenset[str]] | None = None,
) -> list[PageResult]:
    """Re-judge suspect pages against a random sibling path on their host (fetched once per host per run)."""
    suspects: dict[int, Document | None] = {}
    for i, (page, result) in enumerate(zip(pages, results, strict=True)):
        if page.not_modified or is_failure(result):
            continue
        try:
            doc = parse_document(page.raw)
            if verdict_stage.needs_probe(page.raw, doc, result.verdict):
                suspects[i] = doc
        except Exception:  # cannot happen after a clean ``process``; if it does, the page keeps its verdict
            continue
    if not suspects:
        return list(results)
    hosts = {host_key(pages[i].raw.url): pages[i].raw.url for i in suspects}
    missing = [h for h in hosts if h not in cache]
    if missing:
        raws = session.run(_fetch_raw(session, [_sibling_url(hosts[h]) for h in missing]))
        for host, raw in zip(missing, raws, strict=True):
            try:
                sibling = parse_document(raw)
                cache[host] = (raw.url, raw.status, sibling.visible_text if sibling else "")
            except Exception:  # an unreadable sibling page: compared as an empty one
                cache[host] = (raw.url, raw.status, "")
    out = list(results)
    for i, doc in suspects.items():
        page = pages[i]
        url, status, text = cache[host_key(page.raw.url)]
        score = similarity.similarity(doc.visible_text if doc else "", text)
        site = sites.get(page.target.site)
        selectors = site.selectors.to_record() if site and site.selectors else None
        learned = (boilerplate or {}).get(host_key(page.target.url), frozenset())
        out[i] = process(page.raw, selectors, Probe(url, status, score), doc, learned)
    return out


def loadable(page: FetchedPage) -> bool:
    """A URL robots.txt forbids was never requested: nothing about the page or its site to record."""
    return not (page.raw.error or "").startswith(ROBOTS_FORBIDS)


def load_batch(
    engine: Engine,
    pages: Sequence[FetchedPage],
    results: Sequence[PageResult],
    sites: dict[str, Site],
    load_id: str,
    policy: health.HealthPolicy | None = None,
) -> list[LoadOutcome]:
    """The batch in one transaction (``schema.loader.load_pages``): a crash leaves every page either fully
    loaded or untouched, and a page the database refuses fails alone, with the error in its outcome."""
    items = []
    for page, result in zip(pages, results, strict=True):
        if not loadable(page):
            continue
        site = sites.get(page.target.site)
        raw = page.raw
        facts = FetchFacts(
            url=page.target.url,
            fetched_at=page.fetched_at,
            http_status=page.http_status,
            final_url=raw.final_url,
            status_chain=raw.status_chain,
            content_hash=page.content_hash,
            etag=raw.headers.get("etag"),
            last_modified=raw.headers.get("last-modified"),
            error=raw.error,
            site_name=site.name if site else None,
            base_url=site.base_url if site else None,
        )
        items.append((result, facts))
    return load_pages(engine, items, load_id, PARSER_VERSION, policy)
