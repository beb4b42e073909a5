"""Rebuild articles and records from the raw archive with the current parser: no network at all.

Each selected page is re-judged from its newest *good* archived body, so a page whose newest fetch is
dead keeps (a refreshed) last good copy and is never replaced by the dead one. Loads are replays: no new
fetch row, site health untouched — re-reading old bytes says nothing about the site today.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State

from flows import parse_pool, progress, runners, state
from flows.archive import RawArchive
from flows.batches import RunStats
from flows.crawl import load_config, publish, request_load_id
from flows.params import Day, SiteName, check_request, refuse
from flows.parse_pool import Parsed, ParsePool
from flows.parse_worker import ParseItem, parse_items
from flows.sources import ConfigError, Site
from initiatives.settings import Settings
from parsers.hosts import host_key_or_none
from parsers.pipeline import PARSER_VERSION, is_failure
from parsers.records import PageResult, RawPage
from schema.db import make_engine, upgrade
from schema.loader import FetchFacts, LoadOutcome, load_pages

#: an archived body read back, with what the parsers need of it.
Read = tuple[state.GoodBody, ParseItem]


def read_batch(
    raw_dir: str, bodies: list[state.GoodBody], sites_by_host: dict[str, Site]
) -> tuple[list[Read], list[str]]:
    """The bodies from the archive, each with its site's selectors; a missing or unreadable body is
    reported, not fatal (and so are archive files cut short: indexed up to their last whole record)."""
    archive = RawArchive(Path(raw_dir))
    read: list[Read] = []
    problems: list[str] = []
    for body in bodies:
        if body.content_hash not in archive:
            problems.append(f"{body.url}: archived body {body.content_hash[:12]} missing")
            continue
        try:
            headers, data = archive.page(body.content_hash)
        except Exception as exc:  # a damaged pack: this body's problem, the others are re-parsed
            problems.append(f"{body.url}: archived body {body.content_hash[:12]} unreadable: {exc}"[:300])
            continue
        site = sites_by_host.get(host_key_or_none(body.url) or "")
        selectors = site.selectors.to_record() if site and site.selectors else None
        read.append((body, (RawPage(body.url, data, 200, headers, body.final_url), selectors, frozenset())))
    return read, problems + archive.problems


def load_batch(
    database: str, read: list[Read], results: list[PageResult], sites_by_host: dict[str, Site], load_id: str
) -> tuple[list[LoadOutcome], list[str]]:
    """Load re-parsed pages as replays, in one transaction (a page the database refuses fails alone; see
    ``load_pages``). A page the parser failed on is reported and left as the older parser wrote it."""
    items: list[tuple[PageResult, FetchFacts]] = []
    problems: list[str] = []
    for (body, _), result in zip(read, results, strict=True):
        if is_failure(result):
            problems.append(f"{body.url}: {result.reason}")
            continue
        site = sites_by_host.get(host_key_or_none(body.url) or "")
        facts = FetchFacts(url=body.url, fetched_at=body.fetched_at, http_status=body.http_status,
                           final_url=body.final_url, content_hash=body.content_hash,
                           site_name=site.name if site else None, base_url=site.base_url if site else None,
                           replay=True)
        items.append((result, facts))
    engine = make_engine(database)
    try:
        return load_pages(engine, items, load_id, PARSER_VERSION), problems
    finally:
        engine.dispose()


def reparse_batch(
    database: str, raw_dir: str, bodies: list[state.GoodBody], sites_by_host: dict[str, Site], load_id: str,
    pool: ParsePool | None = None,
) -> tuple[list[LoadOutcome], list[str]]:
    """Read, process (in ``pool``'s workers, or here) and load archived bodies as replays."""
    read, problems = read_batch(raw_dir, bodies, sites_by_host)
    items = [item for _, item in read]
    results = pool.parse(items) if pool is not None else parse_items(items)
    outcomes, failed = load_batch(database, read, results, sites_by_host, load_id)
    return outcomes, problems + failed


class _Reparsing:
    """A batch read from the archive, its parsing in flight in the run's parse pool."""

    def __init__(self, read: list[Read], problems: list[str], parsing: Parsed) -> None:
        self.read, self.problems, self.parsing = read, problems, parsing

    def result(self) -> tuple[list[Read], list[str], list[PageResult]]:
        return self.read, self.problems, self.parsing.result()


@task(name="reparse-load", cache_policy=NO_CACHE, retries=1)
def load_task(
    database: str, read: list[Read], results: list[PageResult], sites_by_host: dict[str, Site], load_id: str
) -> tuple[list[LoadOutcome], list[str]]:
    return load_batch(database, read, results, sites_by_host, load_id)


@flow(name="reparse", log_prints=True, task_runner=runners.task_runner(Settings()))
def reparse(
    sites: list[SiteName] | None = None,
    since: Day | None = None,
    until: Day | None = None,
    parser_version: str | None = None,
    sources_file: str | None = None,
) -> dict[str, Any] | State[Any]:
    """Re-parse stored pages (optionally only those of some sites, article dates, or an old parser version)."""
    try:
        check_request(sites, since, until)
        settings, sources, chosen = load_config(sources_file, sites)
    except ConfigError as exc:
        return refuse(exc)
    upgrade(settings.database)
    engine = make_engine(settings.database)
    try:
        hosts = [s.host for s in chosen] if sites else None
        bodies = state.good_bodies(engine, hosts, since, until, parser_version)
    finally:
        engine.dispose()
    params = f"{sorted(sites or [])}|{since}|{until}|{parser_version}|{PARSER_VERSION}"
    load_id = request_load_id("reparse", params)
    by_host = {s.host: s for s in sources.sites}
    stats = RunStats()
    progress.start("reparse", len(bodies), settings.progress_every)
    size = settings.batch_size
    parts = [bodies[i : i + size] for i in range(0, len(bodies), size)]
    # Bodies are read here and parsed in the run's parse processes a few batches ahead, while the flow
    # loads the earliest batch, in order (the same pipeline as run_targets, without the network).
    with parse_pool.shared(load_id, parse_pool.workers_for(settings)) as pool:
        if len(parts) > 1:
            pool.start()

        def submit(part: list[state.GoodBody]) -> _Reparsing:
            read, problems = read_batch(str(settings.raw_dir), part, by_host)
            return _Reparsing(read, problems, pool.submit([item for _, item in read]))

        for part, (read, problems, results) in runners.in_order(parts, submit, pool.ahead(settings.parse_ahead)):
            outcomes, failed = load_task(settings.database, read, results, by_host, load_id)
            stats.add(outcomes)
            stats.problems += problems + failed
            progress.advance(len(part), stats.verdicts)
        stats.problems += pool.take_problems()
        if pool.worker_cpu:
            stats.cpu("parse workers", pool.worker_cpu)
    if not bodies:
        stats.problems.append("no stored article matched the selection")
    return publish(stats, load_id, "reparse", settings.database)
