"""Refetch pages already known, to notice sites that died (or came back) between crawls.

Crawl only fetches new URLs, so without this a site whose articles all turned into a hosting notice
would look alive forever. Each known page is fetched again with a conditional GET (a 304 costs one
request and confirms the stored copy); retired sites get only their home page and start URLs, and only
when a periodic probe is due.
"""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.client.schemas.objects import State

from flows import batches, progress, runners, state
from flows.batches import RunStats
from flows.crawl import load_config, publish, run_key, run_targets, shared_run
from flows.params import SiteName, check_request, refuse
from flows.sources import ConfigError
from initiatives.settings import Settings
from schema.db import make_engine, upgrade


@flow(name="recheck", log_prints=True, task_runner=runners.task_runner(Settings()))
def recheck(sites: list[SiteName] | None = None, sources_file: str | None = None) -> dict[str, Any] | State[Any]:
    """Refetch every known page of the named sites (default: all configured sites)."""
    try:
        check_request(sites)
        settings, _, chosen = load_config(sources_file, sites)
    except ConfigError as exc:
        return refuse(exc)
    upgrade(settings.database)
    load_id = key = run_key("recheck")
    policy = batches.policy_for(chosen, settings.user_agent, **settings.fetch_options())
    stats = RunStats()
    engine = make_engine(settings.database)
    try:
        live, due, notes = batches.live_sites(engine, chosen)
        stats.problems += notes
        candidates = [(s.name, u) for s in live for u in state.known_urls(engine, [s.host])]
        candidates += [(s.name, u) for s in due for u in dict.fromkeys((s.base_url, *s.start_urls))]
        refetch = frozenset(u for _, u in candidates)
        targets, _ = batches.plan(engine, candidates, refetch)
    finally:
        engine.dispose()
    if not targets:
        stats.problems.append("no known pages to recheck")
    with shared_run(key, policy, settings):
        progress.start("recheck", len(targets), settings.progress_every)
        run_targets(key, targets, {s.name: s for s in chosen}, settings, policy, load_id, stats)
    return publish(stats, load_id, "recheck", settings.database)
