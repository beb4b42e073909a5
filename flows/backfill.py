"""Catch up on a site's history: walk listings back through a date range, or fetch a file of URLs.

Resumable without a progress table: the load id is derived from the parameters, every loaded page has
a fetch row under it, so a restarted run with the same parameters skips the URLs already done (and reads
their article dates from the database to decide where to stop). Listing pages are re-read on a restart;
they are a twentieth of the requests and cannot be trusted to be unchanged anyway.

Where to stop walking back: with a listing ``date_selector``, when a listing page shows only dates
before ``since``; without one, when every article fetched from a listing page is older than ``since``.
A listing page with no links (end of the archive, or a changed layout) also stops that listing, and is
reported.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from prefect import flow
from prefect.client.schemas.objects import State
from sqlalchemy import Engine

from flows import batches, discover, progress, runners, session, state
from flows.batches import RunStats, Target
from flows.crawl import load_config, publish, run_targets, shared_run
from flows.fetch import FetchPolicy
from flows.params import Day, SiteName, check_request, refuse
from flows.sources import ConfigError, Site
from initiatives.settings import Settings
from parsers.hosts import host_key_or_none
from schema.db import make_engine, upgrade

#: hard stop for a listing walk whose end never shows (a site that serves page N for any N).
MAX_LISTING_PAGES = 5000


def read_url_file(path: str) -> list[str]:
    """One URL per line; blank lines and ``#`` comments ignored. Errors name the file and line."""
    file = Path(path)
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise ConfigError(f"{path}: URL file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read URL file ({exc})") from None
    urls: list[str] = []
    for number, line in enumerate(lines, 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            parts = urlsplit(text)
            valid = parts.scheme in ("http", "https") and bool(parts.netloc) and host_key_or_none(text) is not None
        except ValueError:  # urlsplit refuses e.g. "http://[::1/x"
            valid = False
        if not valid:
            raise ConfigError(f"{path}:{number}: not an absolute http(s) URL: {text[:80]}")
        urls.append(text)
    if not urls:
        raise ConfigError(f"{path}: URL file holds no URLs")
    return list(dict.fromkeys(urls))


def backfill_key(sites: list[str] | None, since: dt.date | None, until: dt.date | None,
                 urls: list[str] | None) -> str:
    """Same parameters, same key: what makes a restarted backfill a continuation."""
    blob = json.dumps({"sites": sorted(sites or []), "since": str(since), "until": str(until),
                       "urls": hashlib.sha256("\n".join(urls or []).encode()).hexdigest() if urls else None},
                      sort_keys=True)
    return "backfill-" + hashlib.sha256(blob.encode()).hexdigest()[:16]


def known_as_conditional(engine: Engine, candidates: list[tuple[str, str]]) -> list[Target]:
    """(site, url) pairs as targets; a page stored before (by any run) gets a conditional GET with its
    ETag / Last-Modified, as the crawl's start URLs do, so an overlapping backfill costs a 304 per page."""
    targets, _ = batches.plan(engine, candidates, frozenset(url for _, url in candidates))
    return targets


def _site_for(url: str, sites: tuple[Site, ...]) -> str:
    host = host_key_or_none(url)
    return next((s.name for s in sites if s.host == host), "")


def walk_listing(
    key: str, engine: Engine, site: Site, index: int, since: dt.date | None, until: dt.date | None,
    finished: dict[str, dt.date | None], settings: Settings, policy: FetchPolicy, load_id: str, stats: RunStats,
) -> None:
    """Walk one listing back page by page, fetching each page's new in-range links as one batch."""
    shared = session.lookup(key)
    assert shared is not None
    listing = site.listings[index]
    sites = {site.name: site}
    for page in range(1, MAX_LISTING_PAGES + 1):
        found = batches.read_listing_page(shared, site, index, page)
        if found.problem:
            if page == 1:
                stats.problems.append(found.problem)
            break  # past the last page, or a layout change: nothing more to walk
        todo = [f for f in found.links if discover.in_range(f, since, until) and f.url not in finished]
        targets = known_as_conditional(engine, [(site.name, f.url) for f in todo])
        if targets:
            run_targets(key, targets, sites, settings, policy, load_id, stats)
            finished.update(state.finished_urls(engine, load_id, [t.url for t in targets]))
        if listing.date_selector and discover.all_older(found.links, since):
            break
        if not listing.date_selector and since is not None:
            dated = [finished.get(f.url) or f.published for f in found.links]
            known = [d for d in dated if d is not None]
            if known and len(known) == len(dated) and max(known) < since:
                break


@flow(name="backfill", log_prints=True, task_runner=runners.task_runner(Settings()))
def backfill(
    sites: list[SiteName] | None = None,
    since: Day | None = None,
    until: Day | None = None,
    urls_file: str | None = None,
    sources_file: str | None = None,
) -> dict[str, Any] | State[Any]:
    """Fetch a date range of the named sites' history (or a file of URLs); rerun to resume."""
    try:
        check_request(sites, since, until)
        urls = read_url_file(urls_file) if urls_file else None
        settings, sources, chosen = load_config(sources_file, sites)
    except ConfigError as exc:
        return refuse(exc)
    upgrade(settings.database)
    load_id = backfill_key(sites if not urls else None, since, until, urls)
    engine = make_engine(settings.database)
    try:
        return _backfill(engine, settings, sources.sites, chosen, since, until, urls, load_id)
    finally:
        engine.dispose()


def _backfill(
    engine: Engine, settings: Settings, every: tuple[Site, ...], chosen: tuple[Site, ...],
    since: dt.date | None, until: dt.date | None, urls: list[str] | None, load_id: str,
) -> dict[str, Any]:
    key = load_id
    finished = state.finished_urls(engine, load_id)
    stats = RunStats()
    if finished:
        stats.skipped["finished by an earlier attempt"] += len(finished)
    policy = batches.policy_for(every if urls else chosen, settings.user_agent, **settings.fetch_options())
    with shared_run(key, policy, settings) as shared:
        if urls is not None:
            todo = known_as_conditional(engine, [(_site_for(u, every), u) for u in urls if u not in finished])
            progress.start("backfill", len(todo), settings.progress_every)
            run_targets(key, todo, {s.name: s for s in every}, settings, policy, load_id, stats)
        else:
            progress.start("backfill", None, settings.progress_every)
            for site in chosen:
                extra = batches.read_feeds_and_sitemaps(shared, site)
                listed = [f for f in extra.links if discover.in_range(f, since, until) and f.url not in finished]
                if listed:
                    run_targets(key, known_as_conditional(engine, [(site.name, f.url) for f in listed]),
                                {site.name: site}, settings, policy, load_id, stats)
                    finished.update(state.finished_urls(engine, load_id, [f.url for f in listed]))
                for index in range(len(site.listings)):
                    walk_listing(key, engine, site, index, since, until, finished, settings, policy, load_id, stats)
                if not site.listings and not site.sitemaps and not site.feeds:
                    stats.problems.append(f"{site.name}: no listings, feeds or sitemaps to walk")
    return publish(stats, load_id, "backfill", settings.database)
