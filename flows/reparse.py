"""Rebuild articles and records from the raw archive with the current parser: no network at all.

Each selected page is re-judged from its newest *good* archived body, so a page whose newest fetch is
dead keeps (a refreshed) last good copy and is never replaced by the dead one. Loads are replays: no new
fetch row, site health untouched — re-reading old bytes says nothing about the site today.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State

from flows import progress, runners, state
from flows.archive import RawArchive
from flows.batches import RunStats
from flows.crawl import load_config, publish, run_key
from flows.params import Day, SiteName, check_request, refuse
from flows.sources import ConfigError, Site
from initiatives.settings import Settings
from parsers.hosts import host_key_or_none
from parsers.pipeline import PARSER_VERSION, is_failure, process
from parsers.records import PageResult, RawPage
from schema.db import make_engine, upgrade
from schema.loader import FetchFacts, LoadOutcome, load_pages


def reparse_batch(
    database: str, raw_dir: str, bodies: list[state.GoodBody], sites_by_host: dict[str, Site], load_id: str
) -> tuple[list[LoadOutcome], list[str]]:
    """Process archived bodies and load them as replays; a missing body is reported, not fatal."""
    archive = RawArchive(Path(raw_dir))
    engine = make_engine(database)
    items: list[tuple[PageResult, FetchFacts]] = []
    problems: list[str] = []
    try:
        for body in bodies:
            if body.content_hash not in archive:
                problems.append(f"{body.url}: archived body {body.content_hash[:12]} missing")
                continue
            try:
                headers, data = archive.page(body.content_hash)
            except Exception as exc:  # a damaged pack: this body's problem, the others are re-parsed
                problems.append(f"{body.url}: archived body {body.content_hash[:12]} unreadable: {exc}"[:300])
                continue
            raw = RawPage(body.url, data, 200, headers, body.final_url)
            site = sites_by_host.get(host_key_or_none(body.url) or "")
            result = process(raw, site.selectors.to_record() if site and site.selectors else None)
            if is_failure(result):  # the stored copy stays as the older parser left it; reported, not loaded
                problems.append(f"{body.url}: {result.reason}")
                continue
            facts = FetchFacts(url=body.url, fetched_at=body.fetched_at, http_status=body.http_status,
                               final_url=body.final_url, content_hash=body.content_hash,
                               site_name=site.name if site else None, base_url=site.base_url if site else None,
                               replay=True)
            items.append((result, facts))
        # one transaction for the batch (a page the database refuses fails alone; see load_pages)
        outcomes = load_pages(engine, items, load_id, PARSER_VERSION)
    finally:
        engine.dispose()
    return outcomes, problems + archive.problems  # files cut short: indexed up to their last whole record


@task(name="reparse-batch", cache_policy=NO_CACHE, retries=1)
def reparse_task(
    database: str, raw_dir: str, bodies: list[state.GoodBody], sites_by_host: dict[str, Site], load_id: str
) -> tuple[list[LoadOutcome], list[str]]:
    return reparse_batch(database, raw_dir, bodies, sites_by_host, load_id)


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
    load_id = f"reparse-{hashlib.sha256(params.encode()).hexdigest()[:12]}-{run_key('r')[-8:]}"
    by_host = {s.host: s for s in sources.sites}
    stats = RunStats()
    progress.start("reparse", len(bodies), settings.progress_every)
    size = settings.batch_size
    for i in range(0, len(bodies), size):
        part = bodies[i : i + size]
        outcomes, problems = reparse_task(settings.database, str(settings.raw_dir), part, by_host, load_id)
        stats.add(outcomes)
        stats.problems += problems
        progress.advance(len(part), stats.verdicts)
    if not bodies:
        stats.problems.append("no stored article matched the selection")
    return publish(stats, load_id, "reparse", settings.database)
