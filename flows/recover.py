"""Dead pages and dead sites brought back from public web archives (Wayback Machine, Common Crawl).

What is recovered: every page of the chosen sites whose newest verdict is a closure or ``not_found`` and
that holds no article; and, for a site whose status is retired (expired, parked, suspended), or when
``history`` is asked for, every URL the archives captured on its domain in the date range that matches the
site's article URL patterns (``Site.allows``). A page that already holds an article is never touched, so a
recovered copy never replaces a good live one, and a rerun skips what was recovered (resumable, like a
backfill).

For each page the captures are tried best first (``flows.cdx.choose``: the newest status-200 capture
before the page or site died), and each goes through the same pipeline as a live fetch; a capture that is
itself a closure or parking page, or that redirects elsewhere, is skipped for the next one. The accepted
capture is stored in the raw archive as a WARC response dated when it was captured, with
``WARC-Source-URI`` naming the replay; the article is loaded as a replay (no fetch row, site health
untouched: an old copy says nothing about the site today), and its provenance (archive, capture time,
capture URL) goes to ``recovered_captures``, shown by ``v_articles``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from flows import cdx, progress, runners, session, state
from flows.archive import Capture, RawArchive
from flows.batches import RunStats
from flows.crawl import load_config, publish, request_load_id
from flows.fetch import Fetcher, FetchPolicy
from flows.params import Day, SiteName, check_request, refuse
from flows.recover_fetch import Archives, Fetched, archive_policy, commoncrawl_apis, fetch_capture, lookup
from flows.sources import ConfigError, Site
from initiatives.settings import Settings
from parsers import health
from parsers.pipeline import PARSER_VERSION, process
from parsers.records import GOOD_VERDICTS, PageResult
from schema import models as m
from schema.db import make_engine, upgrade
from schema.loader import FetchFacts, LoadOutcome, load_pages

#: newest verdicts that make a page worth looking for in the archives.
DEAD_PAGE = frozenset({"expired", "parked", "suspended", "default_page", "not_found"})


@dataclass(frozen=True, slots=True)
class Want:
    """A page to recover, its site, and when it (or its site) died: captures before that are preferred."""

    url: str
    site: str
    died_at: dt.datetime | None
    snapshots: tuple[cdx.Snapshot, ...] = ()


@dataclass(frozen=True, slots=True)
class Recovered:
    want: Want
    capture: Fetched
    result: PageResult
    sha256: str


def archives_from(settings: Settings) -> Archives:
    return Archives(settings.wayback_url, settings.commoncrawl_index_url, settings.commoncrawl_data_url,
                    settings.commoncrawl_collections, tuple(settings.archives))


def policy_from(settings: Settings) -> FetchPolicy:
    return archive_policy(archives_from(settings), settings.user_agent, settings.archive_rate,
                          settings.archive_concurrency, settings.archive_retries, settings.archive_timeout,
                          settings.fetch_options())


# --- what to recover ---------------------------------------------------------------------------------
def dead_pages(engine: Engine, sites: Sequence[Site]) -> list[Want]:
    """Pages of these sites whose newest verdict is dead and that hold no article."""
    by_host = {s.host: s for s in sites}
    with Session(engine) as s:
        rows = s.execute(
            select(m.Page.url, m.Site.host, m.Page.last_fetched_at)
            .join(m.Site, m.Site.id == m.Page.site_id)
            .outerjoin(m.Article, m.Article.page_id == m.Page.id)
            .where(m.Site.host.in_(list(by_host)), m.Page.last_verdict.in_(DEAD_PAGE), m.Article.id.is_(None))
            .order_by(m.Page.url)
        ).tuples().all()
    return [Want(url, by_host[host].name, _aware(at)) for url, host, at in rows]


def retired_since(engine: Engine, sites: Sequence[Site]) -> dict[str, dt.datetime | None]:
    """Site name -> when it was retired, for the chosen sites whose status is expired, parked or suspended."""
    healths = state.site_health(engine, [s.host for s in sites])
    out: dict[str, dt.datetime | None] = {}
    for site in sites:
        h = healths.get(site.host, health.SiteHealth())
        if h.retired:
            out[site.name] = h.since
    return out


def holding_articles(engine: Engine, urls: Sequence[str]) -> set[str]:
    return {u for u, st in state.page_states(engine, list(urls)).items() if st.has_article}


async def find_captures(
    fetcher: Fetcher, archives: Archives, sites: Sequence[Site], dead: Sequence[Want],
    history: dict[str, dt.datetime | None], since: dt.date | None, until: dt.date | None,
) -> tuple[list[Want], list[str]]:
    """Each wanted page with its captures: a whole-domain listing for the sites in ``history`` (filtered by
    their article URL patterns), one lookup per page for the others."""
    apis, problems = await commoncrawl_apis(fetcher, archives, since, until)
    wants: dict[str, Want] = {}
    for site in sites:
        if site.name not in history:
            continue
        found = await lookup(fetcher, archives, site.host, since, until, True, apis)
        problems += found.problems
        by_url: dict[str, list[cdx.Snapshot]] = defaultdict(list)
        for snap in found.snapshots:
            if site.allows(snap.url):
                by_url[snap.url].append(snap)
        for url, snaps in sorted(by_url.items()):
            wants[url] = Want(url, site.name, history[site.name], tuple(snaps))
    for want in dead:
        if want.site in history:  # covered by the domain listing (a page captured nowhere stays dead)
            wants.setdefault(want.url, want)
    alone = [w for w in dead if w.site not in history]
    # all at once: the fetcher holds each archive to its rate and concurrency
    for want, found in zip(alone, await asyncio.gather(
            *(lookup(fetcher, archives, w.url, None, None, False, apis) for w in alone)), strict=True):
        problems += found.problems
        wants[want.url] = Want(want.url, want.site, want.died_at, tuple(found.snapshots))
    return list(wants.values()), problems


# --- recovering a batch ------------------------------------------------------------------------------
async def _first_good(
    fetcher: Fetcher, archives: Archives, want: Want, site: Site | None, tries: int
) -> tuple[Recovered | None, list[Fetched], list[str]]:
    """The first capture, best first, that the pipeline takes as an article; every capture fetched; why
    the others were skipped."""
    selectors = site.selectors.to_record() if site and site.selectors else None
    fetched: list[Fetched] = []
    why: list[str] = []
    for snap in cdx.choose(want.snapshots, want.died_at)[:tries]:
        got = await fetch_capture(fetcher, archives, snap)
        if got.raw is None:
            why.append(got.problem or f"capture {got.capture_url} unusable")
            continue
        fetched.append(got)
        result = await asyncio.to_thread(process, got.raw, selectors)
        if result.verdict.name in GOOD_VERDICTS and result.article is not None:
            return Recovered(want, got, result, ""), fetched, why
        why.append(f"capture {got.capture_url} is itself {result.verdict.name}")
    return None, fetched, why


def recover_batch(
    fetch: session.FetchSession, engine: Engine, archive: RawArchive, archives: Archives, wants: Sequence[Want],
    sites: dict[str, Site], tries: int, load_id: str,
) -> tuple[list[LoadOutcome], list[str], int]:
    """Fetch and judge the batch's captures, archive what was fetched, load what was recovered with its
    provenance. Returns the load outcomes, one line per page not recovered, and how many had no capture."""

    async def run_all() -> list[tuple[Recovered | None, list[Fetched], list[str]]]:
        return list(await asyncio.gather(
            *(_first_good(fetch.fetcher, archives, w, sites.get(w.site), tries) for w in wants)))

    answers = fetch.run(run_all())
    fetched = [f for _, got, _ in answers for f in got]
    stored = archive.put_many([
        Capture(url=f.snapshot.url, body=f.raw.body, status=200, headers=f.raw.headers,
                fetched_at=f.snapshot.captured_at, source_uri=f.capture_url)
        for f in fetched if f.raw is not None
    ])
    sha_of = {id(f): s for f, s in zip(fetched, stored, strict=True)}
    recovered = [Recovered(r.want, r.capture, r.result, sha_of[id(r.capture)].sha256)
                 for r, _, _ in answers if r is not None]
    problems, no_capture = [], 0
    for want, (done, _, why) in zip(wants, answers, strict=True):
        if done is None:
            no_capture += int(not want.snapshots)
            reason = "; ".join(why) if why else "no capture in the archives"
            problems.append(f"{want.url}: not recovered: {reason}")
    archive.put_metadata([
        (f.snapshot.url, sha_of[id(f)].record_id, {
            "archive": f.snapshot.archive, "captured_at": f.snapshot.captured_at.isoformat(),
            "capture_url": f.capture_url, "load_id": load_id, "parser_version": PARSER_VERSION,
            "recovered": any(r.capture is f for r in recovered)})
        for f in fetched
    ])
    outcomes = _load(engine, recovered, sites, load_id)
    return outcomes, problems, no_capture


def _load(engine: Engine, recovered: Sequence[Recovered], sites: dict[str, Site], load_id: str) -> list[LoadOutcome]:
    if not recovered:
        return []
    items = []
    for r in recovered:
        site = sites.get(r.want.site)
        facts = FetchFacts(url=r.want.url, fetched_at=r.capture.snapshot.captured_at, http_status=200,
                           final_url=r.want.url, content_hash=r.sha256, site_name=site.name if site else None,
                           base_url=site.base_url if site else None, replay=True)
        items.append((r.result, facts))
    outcomes = load_pages(engine, items, load_id, PARSER_VERSION)
    loaded = {o.url for o in outcomes if o.article_written and not o.error}
    record_provenance(engine, [r for r in recovered if r.want.url in loaded], load_id)
    return outcomes


def record_provenance(engine: Engine, recovered: Sequence[Recovered], load_id: str) -> None:
    """One ``recovered_captures`` row per recovered page and capture (kept once on a rerun)."""
    if not recovered:
        return
    with Session(engine) as s, s.begin():
        ids = dict(s.execute(select(m.Page.url, m.Page.id).where(
            m.Page.url.in_([r.want.url for r in recovered]))).tuples().all())
        have = set(s.execute(select(m.RecoveredCapture.page_id, m.RecoveredCapture.archive,
                                    m.RecoveredCapture.captured_at)
                             .where(m.RecoveredCapture.page_id.in_(list(ids.values())))).tuples().all())
        for r in recovered:
            snap = r.capture.snapshot
            key = (ids[r.want.url], snap.archive, snap.captured_at)
            if key in have or (key[0], key[1], snap.captured_at.replace(tzinfo=None)) in have:
                continue
            s.add(m.RecoveredCapture(page_id=key[0], archive=snap.archive, captured_at=snap.captured_at,
                                     capture_url=r.capture.capture_url, content_hash=r.sha256, load_id=load_id))


@task(name="recover-batch", cache_policy=NO_CACHE, retries=1)
def recover_task(key: str, database: str, raw_dir: str, archives: Archives, wants: list[Want],
                 sites: dict[str, Site], tries: int, load_id: str, policy: FetchPolicy,
                 ) -> tuple[list[LoadOutcome], list[str], int]:
    engine = make_engine(database)
    archive = RawArchive(Path(raw_dir))
    try:
        shared = session.lookup(key)
        if shared is not None:
            return recover_batch(shared, engine, archive, archives, wants, sites, tries, load_id)
        with session.FetchSession(policy, archive) as private:
            return recover_batch(private, engine, archive, archives, wants, sites, tries, load_id)
    finally:
        engine.dispose()


@flow(name="recover", log_prints=True, task_runner=runners.task_runner(Settings()))
def recover(
    sites: list[SiteName] | None = None,
    since: Day | None = None,
    until: Day | None = None,
    history: bool = False,
    sources_file: str | None = None,
) -> dict[str, Any] | State[Any]:
    """Recover dead pages (and the whole captured history of retired sites, or of every named site with
    ``history``) from the web archives; rerun to resume."""
    try:
        check_request(sites, since, until)
        settings, _, chosen = load_config(sources_file, sites)
    except ConfigError as exc:
        return refuse(exc)
    upgrade(settings.database)
    params = f"{sorted(sites or [])}|{since}|{until}|{history}"
    load_id = request_load_id("recover", params)
    archives, policy = archives_from(settings), policy_from(settings)
    by_name = {s.name: s for s in chosen}
    stats = RunStats()
    engine = make_engine(settings.database)
    try:
        dead = dead_pages(engine, chosen)
        retired = retired_since(engine, chosen)
        wide = {s.name: retired.get(s.name) for s in chosen} if history else retired
        archive = RawArchive(settings.raw_dir)
        with session.shared(load_id, policy, archive) as shared:
            wants, problems = shared.run(find_captures(shared.fetcher, archives, chosen, dead, wide, since, until))
            stats.problems += problems
            done = holding_articles(engine, [w.url for w in wants])
            if done:
                stats.skipped["already holds an article"] += len(done)
            todo = [w for w in wants if w.url not in done]
            progress.start("recover", len(todo), settings.progress_every)
            for i in range(0, len(todo), settings.batch_size):
                part = todo[i : i + settings.batch_size]
                outcomes, lines, missing = recover_task(load_id, settings.database, str(settings.raw_dir), archives,
                                                        part, by_name, settings.archive_tries, load_id, policy)
                stats.add(outcomes)
                stats.problems += lines
                if missing:
                    stats.skipped["no capture in the archives"] += missing
                if len(lines) > missing:
                    stats.skipped["no usable capture (closure, parking page or redirect)"] += len(lines) - missing
                progress.advance(len(part), stats.verdicts)
    finally:
        engine.dispose()
    return publish(stats, load_id, "recover", settings.database)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
