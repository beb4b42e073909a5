"""``initiatives``: the command line. A thin layer over the pure stages and the flows.

``inspect`` never imports Prefect, so it answers in about a second; commands that run flows import them
only when called.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from initiatives.problems import ConfigProblem, load_settings
from initiatives.settings import Settings

# Prefect sends anonymous usage data unless told not to; an operator's command should not phone home by
# default (make does the same). Set before Prefect is imported; an explicit choice in the environment wins.
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# A local run starts Prefect's temporary API; its 20 s default is too short on a busy machine (it timed
# out here with eight test suites running), so the CLI allows 90 s unless told otherwise.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Turn Chinese news pages about state-owned groups into a database of who did what.",
)
db_app = typer.Typer(no_args_is_help=True, help="Database maintenance.")
app.add_typer(db_app, name="db")

PAGE_SUFFIXES = (".html", ".htm", ".txt", ".text")


class InputError(Exception):
    """A problem with one input, phrased as the single line the user should read."""


def fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"initiatives: error: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def one_line() -> Iterator[None]:
    """A bad setting or an unusable database ends the command with its one line, exit code 2."""
    try:
        yield
    except ConfigProblem as exc:
        fail(str(exc))


def settings() -> Settings:
    with one_line():
        return load_settings()
    raise AssertionError("unreachable")


def read_database() -> Any:
    """The configured database for a read command: opened, never created (one line when it is absent).

    A database on an older revision is migrated first, as every writer does.
    """
    from initiatives.problems import existing_database
    from schema.db import upgrade
    from schema.revision import current_revision, head_revision

    config = settings()
    with one_line():
        engine = existing_database(config)
    if current_revision(engine) != head_revision(config.database):
        upgrade(config.database)
    return engine


def _expand(target: str) -> Iterator[str]:
    if target.startswith(("http://", "https://")):
        yield target
        return
    path = Path(target)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in PAGE_SUFFIXES)
        if not files:
            raise InputError(f"{target}: folder holds no .html or .txt pages")
        yield from (str(p) for p in files)
    elif path.is_file():
        yield target
    else:
        raise InputError(f"{target}: no such file, folder or URL")


def _inspect_one(target: str) -> Any:
    from parsers.pipeline import process, process_file
    from parsers.records import RawPage

    if target.startswith(("http://", "https://")):
        from flows.fetch import Fetcher, FetchPolicy

        # The configured address allow-list and proxies apply here too: a URL typed by hand is no safer.
        policy = FetchPolicy(min_delay=0, retries=1, **Settings().fetch_options())

        async def fetch() -> RawPage:
            async with Fetcher(policy) as fetcher:
                return (await fetcher.fetch(target)).raw

        raw = asyncio.run(fetch())
        if raw.error:
            raise InputError(f"{target}: {raw.error}")
        result = process(raw)
    else:
        path = Path(target)
        try:
            result = process_file(path)
        except OSError as exc:
            raise InputError(f"{target}: {exc.strerror or exc}") from None
        if path.stat().st_size == 0:
            raise InputError(f"{target}: empty file")
    if result.verdict.name == "not_html":
        raise InputError(f"{target}: not a text page (binary or undecodable body)")
    return result


def _print_text(result: Any) -> None:
    typer.echo(f"== {result.target}")
    evidence = ", ".join(f"{e.rule} [{e.where}] {e.match!r}" for e in result.verdict.evidence)
    typer.echo(f"verdict: {result.verdict.name}" + (f"  ({evidence})" if evidence else ""))
    article = result.article
    if article is None:
        typer.echo(f"article: none ({result.reason})")
        return
    typer.echo(f"title: {article.title}")
    typer.echo(f"published: {article.published}  source: {article.source}")
    typer.echo(f"sections: {' | '.join(article.sections)}")
    typer.echo(f"paragraphs: {len(article.paragraphs)}  campaigns: {', '.join(article.campaigns)}")
    typer.echo(f"records: {len(result.initiatives)}" + (f" ({result.reason})" if result.reason else ""))
    for i, rec in enumerate(result.initiatives, 1):
        units = "、".join(u.name + ("" if u.resolved else "?") for u in rec.units)
        extras = []
        if rec.metrics:
            extras.append("metrics " + ", ".join(f"{m.value:g}{m.measure}{m.object}" for m in rec.metrics))
        if rec.documents:
            extras.append("docs " + "".join(f"《{d}》" for d in rec.documents))
        if rec.frameworks:
            extras.append("frameworks " + ", ".join(rec.frameworks))
        if rec.people:
            extras.append("people " + ", ".join(f"{p.title or ''}{p.name}" for p in rec.people))
        typer.echo(f"  {i:2}. [{rec.section or '-'}] {units} {rec.org_body or ''}: {rec.statement[:40]}…")
        for extra in extras:
            typer.echo(f"      {extra}")


@app.command()
def inspect(
    targets: Annotated[list[str], typer.Argument(help="URLs, .html files, .txt dumps, or folders of them.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="text, json (one target) or jsonl.")] = "text",
) -> None:
    """Judge, extract and parse pages without touching the database."""
    from parsers.contract import to_contract

    if fmt not in ("text", "json", "jsonl"):
        fail(f"--format {fmt}: choose text, json or jsonl")
    failures = 0
    try:
        expanded = [t for target in targets for t in _expand(target)]
    except InputError as exc:
        fail(str(exc))
    if fmt == "json" and len(expanded) != 1:
        fail(f"--format json takes exactly one page ({len(expanded)} given); use --format jsonl")
    for target in expanded:
        try:
            result = _inspect_one(target)
        except InputError as exc:
            typer.echo(f"initiatives: error: {exc}", err=True)
            failures += 1
            continue
        if fmt == "text":
            _print_text(result)
        elif fmt == "json":
            typer.echo(json.dumps(to_contract(result), ensure_ascii=False, indent=2))
        else:
            typer.echo(json.dumps(to_contract(result), ensure_ascii=False))
    if failures:
        raise typer.Exit(1)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create the schema in the configured database, or migrate it to the newest revision (idempotent)."""
    from sqlalchemy.exc import SQLAlchemyError

    from initiatives.problems import engine_for, mask
    from schema.db import upgrade
    from schema.revision import current_revision, head_revision

    config = settings()
    with one_line():
        engine = engine_for(config)
    try:
        before = current_revision(engine)
        head = head_revision(config.database)
        if before != head:
            upgrade(config.database)
    except SQLAlchemyError as exc:
        fail(f"{mask(config.database)}: migration failed: {str(getattr(exc, 'orig', None) or exc).splitlines()[0]}")
    finally:
        engine.dispose()
    where = mask(config.database)
    if before is None:
        typer.echo(f"created the schema at revision {head} in {where}")
    elif before == head:
        typer.echo(f"already at revision {head}: {where}")
    else:
        typer.echo(f"upgraded from revision {before} to {head}: {where}")


@app.command()
def run(
    sources: Annotated[Path | None, typer.Option(help="Sources file (default: INITIATIVES_SOURCES_FILE).")] = None,
    site: Annotated[list[str] | None, typer.Option(help="Only these sites (repeatable).")] = None,
    wait: Annotated[bool, typer.Option("--wait", help="With a Prefect server: follow the run to its end.")] = False,
) -> None:
    """One crawl pass over the configured sources, through the Prefect flow."""
    path = _check_sources(sources, site)
    _dispatch("crawl/crawl", call_crawl, {"sites": site}, sources, path, wait)


def call_crawl(**params: Any) -> Any:
    from flows.crawl import crawl

    return crawl(**params)


class _Bar:
    """A rich progress bar fed by flows.progress (batches, not pages, so it costs nothing)."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), transient=False, console=Console(stderr=True))
        self.task: Any = None

    def start(self, label: str, total: int | None) -> None:
        if self.task is None:
            self.task = self.progress.add_task(label, total=total)
        else:
            self.progress.update(self.task, total=total, description=label)

    def advance(self, done: int, note: str = "") -> None:
        if self.task is not None:
            self.progress.advance(self.task, done)


@contextmanager
def _logs_above_the_bar() -> Iterator[None]:
    """Prefect's console handlers write to the stream they were built with, which would draw over the bar;
    while it shows, they write to ``sys.stderr`` as rich redirects it, so each line lands above the bar."""
    import logging

    from prefect.logging.handlers import PrefectConsoleHandler

    loggers = [logging.getLogger(), *(logging.getLogger(n) for n in list(logging.root.manager.loggerDict))]
    handlers = {id(h): h for lg in loggers for h in getattr(lg, "handlers", ()) if isinstance(h, PrefectConsoleHandler)}
    saved = [(h, h.stream, h.console.file) for h in handlers.values()]
    for handler, _, _ in saved:
        handler.stream = handler.console.file = sys.stderr
    try:
        yield
    finally:
        for handler, stream, file in saved:
            handler.stream, handler.console.file = stream, file


def _with_progress(call: Any) -> Any:
    from flows import progress

    bar = _Bar()
    progress.install(bar)
    try:
        with bar.progress, _logs_above_the_bar():
            return call()
    finally:
        progress.install(None)


def _date(value: str | None, option: str) -> Any:
    import datetime as dt

    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(f"{option} {value}: expected a date as YYYY-MM-DD")


def _check_request(site: list[str] | None, since: Any, until: Any) -> None:
    """The flows' own rules (flows.params), so the CLI refuses exactly what a flow would."""
    from flows.params import check_request
    from flows.sources import ConfigError

    try:
        check_request(site, since, until)
    except ConfigError as exc:
        fail(str(exc))


def _check_sources(sources: Path | None, site: list[str] | None) -> Path:
    from flows.sources import ConfigError, load_sources

    path = sources or settings().sources_file
    try:
        load_sources(path).select(site)
    except ConfigError as exc:
        fail(str(exc))
    return path


def _dispatch(
    deployment: str, call: Callable[..., Any], params: dict[str, Any], sources: Path | None, path: Path,
    wait: bool = False,
) -> None:
    """Trigger ``deployment`` on the configured Prefect server, or run the flow here with a progress bar.

    Input was checked before this, so a bad request fails the same way locally and remotely. Only the
    result goes to stdout (the run's JSON summary, or the created run's line), so ``> file`` captures it
    clean; the bar, Prefect's log lines and ``--wait``'s state changes go to stderr. With ``--wait`` the
    exit code is the run's: 0 when it completed, 1 when it failed, crashed or was cancelled.
    """
    import datetime as dt

    from initiatives.problems import engine_for
    from initiatives.remote import RemoteError, Triggered, trigger_or_run
    from initiatives.remote import wait as follow

    remote = {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in params.items() if v is not None}
    if sources is not None:  # otherwise a worker reads its own INITIATIVES_SOURCES_FILE
        remote["sources_file"] = str(sources.resolve())

    def local() -> Any:
        with one_line():  # the database answers before Prefect starts, or the run never begins
            engine_for(settings()).dispose()
        try:
            return _with_progress(lambda: call(**params, sources_file=str(path)))
        except RuntimeError as exc:
            if "ephemeral Prefect API" not in str(exc):
                raise
            fail("Prefect's temporary API did not start in "
                 f"{os.environ['PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS']} s; raise "
                 "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS or point PREFECT_API_URL at a running server")

    try:
        result = trigger_or_run(deployment, remote, local)
    except RemoteError as exc:
        fail(str(exc))
    if isinstance(result, Triggered):
        typer.echo(f"flow run {result.flow_run_name} ({result.flow_run_id}) created from {deployment}: {result.ui_url}")
        if wait:
            try:
                final = follow(result, lambda line: typer.echo(line, err=True))
            except Exception as exc:  # the server went away while we waited: say so, once
                fail(f"lost track of flow run {result.flow_run_id} on {result.api_url}: {type(exc).__name__}: {exc}")
            if final != "COMPLETED":
                raise typer.Exit(1)
        return
    typer.echo(json.dumps(result, ensure_ascii=False, indent=2))


# One small function per flow, so tests can stand in for the flow itself.
def call_backfill(**params: Any) -> Any:
    from flows.backfill import backfill as flow_fn

    return flow_fn(**params)


def call_reparse(**params: Any) -> Any:
    from flows.reparse import reparse as flow_fn

    return flow_fn(**params)


def call_recheck(**params: Any) -> Any:
    from flows.recheck import recheck as flow_fn

    return flow_fn(**params)


def call_recover(**params: Any) -> Any:
    from flows.recover import recover as flow_fn

    return flow_fn(**params)


@app.command()
def backfill(
    site: Annotated[list[str] | None, typer.Option(help="Sites to walk back (repeatable; default all).")] = None,
    since: Annotated[str | None, typer.Option(help="Oldest article date, YYYY-MM-DD.")] = None,
    until: Annotated[str | None, typer.Option(help="Newest article date, YYYY-MM-DD.")] = None,
    urls: Annotated[Path | None, typer.Option(help="File of URLs (one per line) instead of listings.")] = None,
    sources: Annotated[Path | None, typer.Option(help="Sources file (default: INITIATIVES_SOURCES_FILE).")] = None,
    wait: Annotated[bool, typer.Option("--wait", help="With a Prefect server: follow the run to its end.")] = False,
) -> None:
    """Fetch a site's history over a date range (or a file of URLs); rerun the same command to resume."""
    from flows.backfill import read_url_file
    from flows.sources import ConfigError

    start, end = _date(since, "--since"), _date(until, "--until")
    _check_request(site, start, end)
    if urls is not None:
        try:
            read_url_file(str(urls))
        except ConfigError as exc:
            fail(str(exc))
    path = _check_sources(sources, site)
    params = {"sites": site, "since": start, "until": end, "urls_file": str(urls.resolve()) if urls else None}
    _dispatch("backfill/backfill", call_backfill, params, sources, path, wait)


@app.command()
def reparse(
    site: Annotated[list[str] | None, typer.Option(help="Only these sites (repeatable).")] = None,
    since: Annotated[str | None, typer.Option(help="Articles published on or after, YYYY-MM-DD.")] = None,
    until: Annotated[str | None, typer.Option(help="Articles published on or before, YYYY-MM-DD.")] = None,
    parser_version: Annotated[str | None, typer.Option(help="Only articles written by this parser version.")] = None,
    sources: Annotated[Path | None, typer.Option(help="Sources file (default: INITIATIVES_SOURCES_FILE).")] = None,
    wait: Annotated[bool, typer.Option("--wait", help="With a Prefect server: follow the run to its end.")] = False,
) -> None:
    """Rebuild articles and records from the raw archive with the current parser (no network)."""
    start, end = _date(since, "--since"), _date(until, "--until")
    _check_request(site, start, end)
    path = _check_sources(sources, site)
    params = {"sites": site, "since": start, "until": end, "parser_version": parser_version}
    _dispatch("reparse/reparse", call_reparse, params, sources, path, wait)


@app.command()
def recover(
    site: Annotated[list[str] | None, typer.Option(help="Sites whose captured history to recover (repeatable).")] = (
        None
    ),
    since: Annotated[str | None, typer.Option(help="Captures taken on or after, YYYY-MM-DD.")] = None,
    until: Annotated[str | None, typer.Option(help="Captures taken on or before, YYYY-MM-DD.")] = None,
    sources: Annotated[Path | None, typer.Option(help="Sources file (default: INITIATIVES_SOURCES_FILE).")] = None,
) -> None:
    """Bring dead pages back from the Wayback Machine and Common Crawl; with --site, every article URL the
    archives captured on that site (rerun to resume; a live article is never replaced)."""
    start, end = _date(since, "--since"), _date(until, "--until")
    if start and end and end < start:
        fail(f"--until {until} is before --since {since}")
    path = _check_sources(sources, site)
    params = {"sites": site, "since": start, "until": end, "history": bool(site)}
    _dispatch("recover/recover", call_recover, params, sources, path)


@app.command()
def recheck(
    site: Annotated[list[str] | None, typer.Option(help="Only these sites (repeatable).")] = None,
    sources: Annotated[Path | None, typer.Option(help="Sources file (default: INITIATIVES_SOURCES_FILE).")] = None,
    wait: Annotated[bool, typer.Option("--wait", help="With a Prefect server: follow the run to its end.")] = False,
) -> None:
    """Refetch known pages to notice sites that died (conditional GET: unchanged pages cost a 304)."""
    path = _check_sources(sources, site)
    _dispatch("recheck/recheck", call_recheck, {"sites": site}, sources, path, wait)


@app.command()
def units(
    unresolved: Annotated[bool, typer.Option("--unresolved", help="Units missing from the registry.")] = False,
    registry: Annotated[
        bool, typer.Option("--registry", help="The unit registry (data files), not the database.")
    ] = False,
    units_file: Annotated[
        Path | None, typer.Option(help="With --registry: a units.tsv to check instead of the installed one.")
    ] = None,
    groups_file: Annotated[
        Path | None, typer.Option(help="With --registry: a groups.tsv to check instead of the installed one.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1)] = 100,
) -> None:
    """Units per group with how many records name them and one example sentence each; --unresolved lists
    the ones an operator should add to parsers/data/units.tsv (one row each, no code change)."""
    if registry:
        _print_registry(units_file, groups_file)
        return
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from schema import models as m

    engine = read_database()
    count = func.count(m.InitiativeUnit.initiative_id)
    query = (
        select(m.Unit.group_name, m.Unit.name, m.Unit.full_name, count, func.min(m.Initiative.statement))
        .outerjoin(m.InitiativeUnit, m.InitiativeUnit.unit_id == m.Unit.id)
        .outerjoin(m.Initiative, m.Initiative.id == m.InitiativeUnit.initiative_id)
        .where(m.Unit.resolved.is_(not unresolved))
        .group_by(m.Unit.id, m.Unit.group_name, m.Unit.name, m.Unit.full_name)
        .order_by(m.Unit.group_name, count.desc(), m.Unit.name)
        .limit(limit)
    )
    with Session(engine) as s:
        rows = s.execute(query).tuples().all()
    engine.dispose()
    if not rows:
        typer.echo("no unresolved units" if unresolved else "no units")
    for group, name, full_name, n, example in rows:
        example = " ".join((example or "").split())[:60]
        if unresolved:
            typer.echo(f"{n:4}  {name}  {group or '-'}  e.g. {example}")
        else:
            typer.echo(f"{name}\t{full_name or ''}\t{group or '-'}\t{n}\te.g. {example}")


def _print_registry(units_file: Path | None, groups_file: Path | None) -> None:
    """The registry as the parser loads it, per group: prefixes and units (so a new data row can be checked
    before a run picks it up)."""
    from parsers.units import Gazetteer, load_groups, load_units

    try:
        g = Gazetteer(load_units(units_file), load_groups(groups_file))
    except (OSError, KeyError, ValueError) as exc:
        fail(f"{units_file or groups_file or 'registry'}: cannot load the unit registry: {exc}")
    by_group: dict[str, list[str]] = {}
    for unit in g.units:
        by_group.setdefault(unit.group, []).append(unit.name)
    typer.echo(f"{len(g.groups)} groups, {len(g.units)} units")
    for key, group in sorted(g.groups.items()):
        names = by_group.get(key, [])
        merged = f" (merged into {group.merged_into})" if group.merged_into else ""
        typer.echo(f"{key}\t{group.label}{merged}\t{len(names)} units\t{'、'.join(names)}")
    unknown = sorted(set(by_group) - set(g.groups))
    if unknown:
        fail(f"{units_file or 'units.tsv'}: units of groups not in groups.tsv: {', '.join(unknown)}")


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "-"


@app.command()
def history(url: Annotated[str, typer.Argument(help="A page URL as stored (see `initiatives inspect`).")]) -> None:
    """A page's article versions (current, suspect, superseded, dropped) and every fetch's verdict."""
    from schema.report import page_history

    engine = read_database()
    try:
        found = page_history(engine, url)
    finally:
        engine.dispose()
    if found is None:
        fail(f"{url}: no such page in the database", 1)
    typer.echo(f"== {found.url}  (newest fetch: {found.last_verdict or '-'})")
    typer.echo(f"versions: {len(found.versions)}")
    for v in found.versions:
        like = f"{v.likeness:.2f}" if v.likeness is not None else "-"
        typer.echo(
            f"  {v.status:<10} {_when(v.first_seen)} .. {_when(v.last_seen)}  seen {v.seen_count:<3} "
            f"records {v.records:<3} likeness {like:<4} {v.text_hash[:12]}  {v.title}"
        )
    typer.echo(f"fetches: {len(found.fetches)}")
    for f in found.fetches:
        extra = f"  {f.error}" if f.error else ""
        typer.echo(
            f"  {_when(f.fetched_at)}  {f.http_status or '-':<4} {f.verdict:<15} "
            f"{(f.content_hash or '-')[:12]:<12}  {f.load_id}{extra}"
        )


@app.command()
def export(
    fmt: Annotated[str | None, typer.Option("--format", "-f", help="csv or parquet (default: both).")] = None,
    out: Annotated[Path, typer.Option(help="Folder for the files (created if missing).")] = Path("export"),
) -> None:
    """Write every reader view (v_*) to CSV and/or Parquet: one file per view, replaced whole."""
    from schema.export import FORMATS, export_views

    if fmt is not None and fmt not in FORMATS:
        fail(f"--format {fmt}: choose csv or parquet")
    if out.exists() and not out.is_dir():
        fail(f"--out {out}: not a folder")
    engine = read_database()
    try:
        done = export_views(engine, out, (fmt,) if fmt else FORMATS)
    except OSError as exc:
        fail(f"--out {out}: {exc.strerror or exc}")
    finally:
        engine.dispose()
    for item in done:
        typer.echo(f"{item.view}: {item.rows} rows -> {', '.join(str(f) for f in item.files)}")


@app.command()
def runs(
    limit: Annotated[int, typer.Option(min=1, help="How many of the newest runs.")] = 20,
    flow: Annotated[str | None, typer.Option(help="Only this flow's runs (crawl, recheck, backfill, reparse).")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="text or jsonl.")] = "text",
) -> None:
    """Recent load runs, newest first, with the pages, articles and records each one wrote."""
    import dataclasses

    from schema.report import recent_runs

    if fmt not in ("text", "jsonl"):
        fail(f"--format {fmt}: choose text or jsonl")
    engine = read_database()
    try:
        rows = recent_runs(engine, limit, flow)
    finally:
        engine.dispose()
    if fmt == "jsonl":
        for row in rows:
            typer.echo(json.dumps({**dataclasses.asdict(row), "pages": row.pages}, ensure_ascii=False))
        return
    if not rows:
        typer.echo("no runs recorded yet", err=True)
    for row in rows:
        verdicts = ", ".join(f"{v} {n}" for v, n in sorted(row.pages_by_verdict.items(), key=lambda kv: -kv[1]))
        typer.echo(
            f"{row.started_at}  {row.flow:<8} {row.load_id}  pages {row.pages} ({verdicts or 'none'})  "
            f"articles {row.articles_written}  records {row.records_written}  304s {row.not_modified}  "
            f"errors {row.errors}" + ("" if row.finished_at else "  (unfinished)")
        )


@app.command()
def demo(
    keep: Annotated[bool, typer.Option(help="Keep the existing demo database instead of starting fresh.")] = False,
) -> None:
    """Serve bundled sample pages on 127.0.0.1, crawl them with the real flow, print what was stored."""
    from initiatives.demo import run_demo

    run_demo(settings(), fresh=not keep)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
