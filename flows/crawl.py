"""The scheduled crawl: discover, fetch, judge, extract, parse, load — one Prefect task per batch.

Fetch, parse and load are separate tasks so each can be retried on its own; pages never become tasks.
Fetch tasks are submitted a few batches ahead, so the shared client keeps fetching while the flow
parses and loads the previous batch. The tasks and ``run_targets`` here are reused by the other flows.
"""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State
from prefect.futures import PrefectFuture
from prefect.runtime import flow_run
from sqlalchemy import Engine

from flows import batches, parse_pool, progress, runners, session, signals, state
from flows.archive import RawArchive
from flows.archive_verdicts import record_verdicts
from flows.batches import FetchedPage, RunStats, Target
from flows.fetch import FetchPolicy
from flows.params import SiteName, check_request, refuse
from flows.sources import ConfigError, Site, Sources, load_sources
from initiatives.settings import Settings
from parsers.health import HealthPolicy
from parsers.hosts import host_key
from parsers.pipeline import PARSER_VERSION
from parsers.records import PageResult
from schema.db import make_engine, upgrade
from schema.loader import LoadOutcome, record_run

#: batches fetched ahead of the one being parsed: enough to keep the pipe full, bounded for memory.
LOOKAHEAD = 2

# Bodies and parse results pass between tasks in memory; hashing them for a cache key would cost more
# than the work itself, so tasks opt out of Prefect's input caching.


@task(name="discover", cache_policy=NO_CACHE, retries=1)
def discover_task(key: str, sites: list[Site], policy: FetchPolicy, raw_dir: Path) -> tuple[list[Any], list[str]]:
    shared = session.lookup(key)
    if shared is not None:
        return batches.discover(shared, sites)
    with session.FetchSession(policy, RawArchive(raw_dir)) as private:
        return batches.discover(private, sites)


@task(name="fetch-batch", cache_policy=NO_CACHE, retries=1)
def fetch_task(key: str, targets: list[Target], policy: FetchPolicy, raw_dir: Path) -> list[FetchedPage]:
    return session.fetch_batch(key, targets, policy, RawArchive(raw_dir))


@task(name="parse-batch", cache_policy=NO_CACHE, retries=1)
def parse_task(
    key: str,
    pages: list[FetchedPage],
    sites: dict[str, Site],
    policy: FetchPolicy,
    probes: dict[str, Any],
    boilerplate: dict[str, frozenset[str]] | None = None,
) -> list[PageResult]:
    results = batches.parse_batch(pages, sites, boilerplate, parse_pool.lookup(key))
    shared = session.lookup(key)
    if shared is not None:
        return batches.probe_batch(pages, results, sites, shared, probes, boilerplate)
    with session.FetchSession(policy, RawArchive(Path("."))) as private:
        return batches.probe_batch(pages, results, sites, private, probes, boilerplate)


@task(name="load-batch", cache_policy=NO_CACHE, retries=2)
def load_task(
    database: str, pages: list[FetchedPage], results: list[PageResult], sites: dict[str, Site], load_id: str,
    policy: HealthPolicy | None = None,
    raw_dir: Path | None = None,
) -> list[LoadOutcome]:
    """Load the batch, then note each page's verdict in the archive beside its capture (``raw_dir``)."""
    engine = make_engine(database)
    try:
        outcomes = batches.load_batch(engine, pages, results, sites, load_id, policy)
    finally:
        engine.dispose()
    if raw_dir is not None:
        record_verdicts(RawArchive(raw_dir), pages, results, load_id, PARSER_VERSION)
    return outcomes


def _site_boilerplate(database: str, urls: list[str]) -> dict[str, frozenset[str]]:
    """The learned boilerplate of the URLs' hosts, read in one query (flows.state.site_boilerplate)."""
    if not urls:
        return {}
    engine = make_engine(database)
    try:
        return state.site_boilerplate(engine, {host_key(u) for u in urls})
    finally:
        engine.dispose()


def summary_markdown(stats: RunStats, load_id: str, flow_name: str = "crawl") -> str:
    lines = [f"# {flow_name} {load_id}", "", "| verdict | pages |", "|---|---|"]
    lines += [f"| {v} | {n} |" for v, n in sorted(stats.verdicts.items())]
    lines += [
        "",
        f"- articles written: {stats.articles_written}",
        f"- records written: {stats.records_written}",
        f"- good copies kept over dead pages: {stats.kept_good_copies}",
        f"- unchanged (304): {stats.not_modified}",
        f"- errors: {len(stats.errors)}",
    ]
    lines += [f"  - {e}" for e in stats.errors[:20]]
    lines += [f"- skipped ({why}): {n}" for why, n in sorted(stats.skipped.items())]
    lines += [f"- problem: {p}" for p in stats.problems[:20]]
    lines += ["", "Slowest hosts:"] + [f"- {h}: {s:.3f} s" for h, s in stats.slowest_hosts()]
    lines += [f"- site status: {t}" for t in stats.transitions]
    return "\n".join(lines)


def health_policy(settings: Settings) -> HealthPolicy:
    """The one K of site health, from settings: for failure streaks and for closed pages alike."""
    return HealthPolicy(k_pages=settings.site_failures_k, unreachable_after=settings.site_failures_k)


def run_key(flow_name: str) -> str:
    return f"{flow_name}-{flow_run.get_id() or uuid.uuid4()}"


def request_load_id(flow_name: str, params: str) -> str:
    """A load id that says which request a run served (a hash of its parameters) and which run it was: reruns
    of one request share the middle part, yet each is a load of its own."""
    return f"{flow_name}-{hashlib.sha256(params.encode()).hexdigest()[:12]}-{run_key('r')[-8:]}"


def run_targets(
    key: str,
    targets: list[Target],
    sites: dict[str, Site],
    settings: Settings,
    policy: FetchPolicy,
    load_id: str,
    stats: RunStats | None = None,
) -> RunStats:
    """Fetch, parse and load targets batch by batch inside the calling flow, fetching ahead."""
    stats = stats or RunStats()
    probes: dict[str, Any] = {}
    work = list(batches.chunks(targets, settings.batch_size))
    pending: deque[PrefectFuture[list[FetchedPage]]] = deque(
        fetch_task.submit(key, b, policy, settings.raw_dir) for b in work[:LOOKAHEAD]
    )

    pool = parse_pool.lookup(key)
    if pool is not None and len(work) > 1:  # one batch parses here sooner than a worker starts
        pool.start()
    worker_cpu = pool.worker_cpu if pool is not None else 0.0

    def fetched() -> Iterator[list[FetchedPage]]:
        for i in range(len(work)):
            pages = pending.popleft().result()
            if i + LOOKAHEAD < len(work):
                pending.append(fetch_task.submit(key, work[i + LOOKAHEAD], policy, settings.raw_dir))
            yield pages

    # Parsing is submitted to the flow's task runner a few batches ahead: threads that hand the batch to
    # the run's parse processes (flows/parse_pool.py), or Dask processes;
    # loading stays in order in the flow, one transaction per batch (a refused page fails alone).
    # Site boilerplate learned from pages already stored, re-read after each load so later batches of the
    # run use what earlier ones taught (each parse gets a snapshot).
    learned = _site_boilerplate(settings.database, [t.url for t in targets])
    parsed = runners.in_order(
        fetched(),
        lambda pages: parse_task.submit(key, pages, sites, policy, probes, dict(learned)),
        pool.ahead(settings.parse_ahead) if pool is not None else settings.parse_ahead,
    )
    for pages, results in parsed:
        outcomes = load_task(
            settings.database, pages, results, sites, load_id, health_policy(settings), settings.raw_dir
        )
        learned.update(_site_boilerplate(settings.database, [p.target.url for p in pages]))
        site_of = {p.target.url: p.target.site for p in pages}
        signals.emit_site_transitions(outcomes, site_of.get)
        stats.add(outcomes, pages)
        progress.advance(len(pages), stats.verdicts)
    if pool is not None and pool.worker_cpu > worker_cpu:
        stats.cpu("parse workers", pool.worker_cpu - worker_cpu)
    if pool is not None:
        stats.problems += pool.take_problems()
    return stats


@contextlib.contextmanager
def shared_run(key: str, policy: FetchPolicy, settings: Settings) -> Iterator[session.FetchSession]:
    """The run's fetch session and parse pool, which its batch tasks find under ``key``."""
    with (session.shared(key, policy, RawArchive(settings.raw_dir)) as fetching,
          parse_pool.shared(key, parse_pool.workers_for(settings))):
        yield fetching


def publish(stats: RunStats, load_id: str, flow_name: str, database: str) -> dict[str, Any]:
    create_markdown_artifact(
        key=f"{flow_name}-summary",
        markdown=summary_markdown(stats, load_id, flow_name),
        description=f"{flow_name} run summary",
    )
    result = stats.as_dict()
    engine = make_engine(database)
    try:
        record_run(engine, load_id, flow_name, stats.started_at, result)
    finally:
        engine.dispose()
    result["load_id"] = load_id
    get_run_logger().info(
        "%s %s: %s", flow_name, load_id, {k: result[k] for k in ("pages_by_verdict", "records_written")}
    )
    return result


def load_config(sources_file: str | None, sites: list[str] | None) -> tuple[Settings, Sources, tuple[Site, ...]]:
    """Settings, sources and the chosen sites; raises ``ConfigError`` before any work starts."""
    settings = Settings()
    path = Path(sources_file) if sources_file else settings.sources_file
    sources = load_sources(path)
    return settings, sources, sources.select(sites)


def plan_crawl(engine: Engine, sites: tuple[Site, ...], key: str, policy: FetchPolicy, raw_dir: Path,
               stats: RunStats) -> list[Target]:
    live, due, notes = batches.live_sites(engine, sites)
    stats.problems += notes
    if notes:
        stats.skipped["retired site, probe not due"] += len(notes)
    found, problems = discover_task(key, list(live), policy, raw_dir)
    stats.problems += problems
    candidates = [(name, f.url) for name, f in found]
    # A retired site due for a probe gets its home page and start URLs, nothing more.
    candidates += [(s.name, u) for s in due for u in dict.fromkeys((s.base_url, *s.start_urls))]
    refetch = frozenset(u for s in sites for u in (s.base_url, *s.start_urls))
    targets, skipped = batches.plan(engine, candidates, refetch)
    if skipped:
        stats.skipped["already stored"] += skipped
    return targets


@flow(name="crawl", log_prints=True, task_runner=runners.task_runner(Settings()))
def crawl(sources_file: str | None = None, sites: list[SiteName] | None = None) -> dict[str, Any] | State[Any]:
    """One pass over the configured sources (all sites, or the named ones): new URLs only, plus start
    URLs by conditional GET; retired sites only when a periodic probe is due."""
    try:
        check_request(sites)
        settings, _, chosen = load_config(sources_file, sites)
    except ConfigError as exc:
        return refuse(exc)
    upgrade(settings.database)
    load_id = key = run_key("crawl")
    policy = batches.policy_for(chosen, settings.user_agent, **settings.fetch_options())
    site_map = {s.name: s for s in chosen}
    stats = RunStats()
    engine = make_engine(settings.database)
    try:
        with shared_run(key, policy, settings):
            targets = plan_crawl(engine, chosen, key, policy, settings.raw_dir, stats)
            progress.start("crawl", len(targets), settings.progress_every)
            run_targets(key, targets, site_map, settings, policy, load_id, stats)
    finally:
        engine.dispose()
    return publish(stats, load_id, "crawl", settings.database)
