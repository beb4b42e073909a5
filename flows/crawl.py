"""The scheduled crawl: discover, fetch, judge, extract, parse, load — one Prefect task per batch.

Fetch and parse are separate tasks so either can be retried on its own; pages never become tasks.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from flows import batches
from flows.archive import RawArchive
from flows.batches import FetchedPage, RunStats, Target
from flows.fetch import FetchPolicy
from flows.sources import Site, load_sources
from initiatives.settings import Settings
from parsers.records import PageResult
from schema.db import make_engine, upgrade
from schema.loader import LoadOutcome

# Bodies and parse results pass between tasks in memory; hashing them for a cache key would cost more
# than the work itself, so tasks opt out of Prefect's input caching.


@task(name="discover", cache_policy=NO_CACHE, retries=1)
def discover_task(sites: list[Site], policy: FetchPolicy) -> tuple[list[Target], list[str]]:
    return batches.discover(sites, policy)


@task(name="fetch-batch", cache_policy=NO_CACHE, retries=1)
def fetch_task(targets: list[Target], policy: FetchPolicy, raw_dir: Path) -> list[FetchedPage]:
    return batches.fetch_batch(targets, policy, RawArchive(raw_dir))


@task(name="parse-batch", cache_policy=NO_CACHE, retries=1)
def parse_task(
    pages: list[FetchedPage], sites: dict[str, Site], policy: FetchPolicy, probes: dict[str, Any]
) -> list[PageResult]:
    results = batches.parse_batch(pages, sites)
    return batches.probe_batch(pages, results, sites, policy, probes)


@task(name="load-batch", cache_policy=NO_CACHE, retries=2)
def load_task(
    database: str, pages: list[FetchedPage], results: list[PageResult], sites: dict[str, Site], load_id: str
) -> list[LoadOutcome]:
    engine = make_engine(database)
    try:
        return batches.load_batch(engine, pages, results, sites, load_id)
    finally:
        engine.dispose()


def summary_markdown(stats: RunStats, load_id: str) -> str:
    data = stats.as_dict()
    lines = [f"# Crawl {load_id}", "", "| verdict | pages |", "|---|---|"]
    lines += [f"| {v} | {n} |" for v, n in sorted(stats.verdicts.items())]
    lines += [
        "",
        f"- articles written: {stats.articles_written}",
        f"- records written: {stats.records_written}",
        f"- good copies kept over dead pages: {stats.kept_good_copies}",
        f"- errors: {len(stats.errors)}",
    ]
    lines += [f"  - {e}" for e in stats.errors[:20]]
    lines += ["", "Slowest hosts:"] + [f"- {h['host']}: {h['seconds']} s" for h in data["slowest_hosts"]]  # type: ignore[attr-defined, index]
    lines += [f"- site status: {t}" for t in stats.transitions]
    return "\n".join(lines)


def run_targets(
    targets: list[Target], sites: dict[str, Site], settings: Settings, policy: FetchPolicy, load_id: str
) -> RunStats:
    """Fetch, parse and load targets batch by batch inside the calling flow."""
    stats = RunStats()
    probes: dict[str, Any] = {}
    database = settings.database
    for batch in batches.chunks(targets, settings.batch_size):
        pages = fetch_task(batch, policy, settings.raw_dir)
        results = parse_task(pages, sites, policy, probes)
        stats.add(load_task(database, pages, results, sites, load_id), pages)
    return stats


def publish(stats: RunStats, load_id: str, flow_name: str) -> dict[str, Any]:
    create_markdown_artifact(
        key=f"{flow_name}-summary", markdown=summary_markdown(stats, load_id), description=f"{flow_name} run summary"
    )
    result = stats.as_dict()
    result["load_id"] = load_id
    get_run_logger().info(
        "%s %s: %s", flow_name, load_id, {k: result[k] for k in ("pages_by_verdict", "records_written")}
    )
    return result


@flow(name="crawl", log_prints=True)
def crawl(sources_file: str | None = None, sites: list[str] | None = None) -> dict[str, Any]:
    """One pass over the configured sources (all sites, or the named ones)."""
    settings = Settings()
    path = Path(sources_file) if sources_file else settings.sources_file
    chosen = load_sources(path).select(sites)
    upgrade(settings.database)
    load_id = f"crawl-{flow_run.get_id() or uuid.uuid4()}"
    policy = batches.policy_for(chosen, settings.user_agent)
    site_map = {s.name: s for s in chosen}
    targets, problems = discover_task(list(chosen), policy)
    stats = run_targets(targets, site_map, settings, policy, load_id)
    stats.errors = problems + stats.errors
    return publish(stats, load_id, "crawl")
