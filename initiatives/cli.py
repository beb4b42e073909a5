"""``initiatives``: the command line. A thin layer over the pure stages and the flows.

``inspect`` never imports Prefect, so it answers in about a second; commands that run flows import them
only when called.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from initiatives.settings import Settings

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
    """Apply Alembic migrations to the configured database (idempotent)."""
    from schema.db import upgrade

    settings = Settings()
    upgrade(settings.database)
    typer.echo("database is at the newest migration")


@app.command()
def run(
    sources: Annotated[Path | None, typer.Option(help="Sources file (default: INITIATIVES_SOURCES_FILE).")] = None,
    site: Annotated[list[str] | None, typer.Option(help="Only these sites (repeatable).")] = None,
) -> None:
    """One crawl pass over the configured sources, through the Prefect flow."""
    path = _check_sources(sources, site)
    _dispatch("crawl/crawl", call_crawl, {"sites": site}, sources, path)


def call_crawl(**params: Any) -> Any:
    from flows.crawl import crawl

    return crawl(**params)


class _Bar:
    """A rich progress bar fed by flows.progress (batches, not pages, so it costs nothing)."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), transient=False)
        self.task: Any = None

    def start(self, label: str, total: int | None) -> None:
        if self.task is None:
            self.task = self.progress.add_task(label, total=total)
        else:
            self.progress.update(self.task, total=total, description=label)

    def advance(self, done: int, note: str = "") -> None:
        if self.task is not None:
            self.progress.advance(self.task, done)


def _with_progress(call: Any) -> Any:
    from flows import progress

    bar = _Bar()
    progress.install(bar)
    try:
        with bar.progress:
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


def _check_sources(sources: Path | None, site: list[str] | None) -> Path:
    from flows.sources import ConfigError, load_sources

    path = sources or Settings().sources_file
    try:
        load_sources(path).select(site)
    except ConfigError as exc:
        fail(str(exc))
    return path


def _dispatch(
    deployment: str, call: Callable[..., Any], params: dict[str, Any], sources: Path | None, path: Path
) -> None:
    """Trigger ``deployment`` on the configured Prefect server, or run the flow here with a progress bar.

    Input was checked before this, so a bad request fails the same way locally and remotely.
    """
    import datetime as dt

    from initiatives.remote import RemoteError, Triggered, trigger_or_run

    remote = {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in params.items() if v is not None}
    if sources is not None:  # otherwise a worker reads its own INITIATIVES_SOURCES_FILE
        remote["sources_file"] = str(sources.resolve())
    try:
        result = trigger_or_run(
            deployment, remote, lambda: _with_progress(lambda: call(**params, sources_file=str(path)))
        )
    except RemoteError as exc:
        fail(str(exc))
    if isinstance(result, Triggered):
        typer.echo(f"flow run {result.flow_run_name} ({result.flow_run_id}) created from {deployment}: {result.ui_url}")
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
) -> None:
    """Fetch a site's history over a date range (or a file of URLs); rerun the same command to resume."""
    from flows.backfill import read_url_file
    from flows.sources import ConfigError

    start, end = _date(since, "--since"), _date(until, "--until")
    if start and end and end < start:
        fail(f"--until {until} is before --since {since}")
    if urls is not None:
        try:
            read_url_file(str(urls))
        except ConfigError as exc:
            fail(str(exc))
    path = _check_sources(sources, site)
    params = {"sites": site, "since": start, "until": end, "urls_file": str(urls.resolve()) if urls else None}
    _dispatch("backfill/backfill", call_backfill, params, sources, path)


@app.command()
def reparse(
    site: Annotated[list[str] | None, typer.Option(help="Only these sites (repeatable).")] = None,
    since: Annotated[str | None, typer.Option(help="Articles published on or after, YYYY-MM-DD.")] = None,
    until: Annotated[str | None, typer.Option(help="Articles published on or before, YYYY-MM-DD.")] = None,
    parser_version: Annotated[str | None, typer.Option(help="Only articles written by this parser version.")] = None,
    sources: Annotated[Path | None, typer.Option(help="Sources file (default: INITIATIVES_SOURCES_FILE).")] = None,
) -> None:
    """Rebuild articles and records from the raw archive with the current parser (no network)."""
    start, end = _date(since, "--since"), _date(until, "--until")
    if start and end and end < start:
        fail(f"--until {until} is before --since {since}")
    path = _check_sources(sources, site)
    params = {"sites": site, "since": start, "until": end, "parser_version": parser_version}
    _dispatch("reparse/reparse", call_reparse, params, sources, path)


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
) -> None:
    """Refetch known pages to notice sites that died (conditional GET: unchanged pages cost a 304)."""
    path = _check_sources(sources, site)
    _dispatch("recheck/recheck", call_recheck, {"sites": site}, sources, path)


@app.command()
def units(
    unresolved: Annotated[bool, typer.Option("--unresolved", help="Units missing from the gazetteer.")] = False,
    limit: Annotated[int, typer.Option(min=1)] = 100,
) -> None:
    """List units in the database; with --unresolved, the ones an operator should add to the gazetteer."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from schema import models as m
    from schema.db import make_engine, upgrade
    from schema.report import unresolved_units

    settings = Settings()
    upgrade(settings.database)
    engine = make_engine(settings.database)
    if unresolved:
        rows = unresolved_units(engine, limit)
        if not rows:
            typer.echo("no unresolved units")
        for row in rows:
            typer.echo(f"{row.mentions:4}  {row.name}  e.g. {row.example[:60]}")
        return
    with Session(engine) as s:
        for name, full_name in s.execute(
            select(m.Unit.name, m.Unit.full_name).where(m.Unit.resolved.is_(True)).order_by(m.Unit.name).limit(limit)
        ).tuples():
            typer.echo(f"{name}\t{full_name or ''}")


def _reader_engine() -> Any:
    """The configured database, which must exist and be migrated: readers never create or migrate one."""
    from schema.db import NotReady, open_existing

    try:
        return open_existing(Settings().database)
    except NotReady as exc:
        fail(str(exc))


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "-"


@app.command()
def history(url: Annotated[str, typer.Argument(help="A page URL as stored (see `initiatives inspect`).")]) -> None:
    """A page's article versions (current, suspect, superseded, dropped) and every fetch's verdict."""
    from schema.report import page_history

    engine = _reader_engine()
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
    engine = _reader_engine()
    try:
        done = export_views(engine, out, (fmt,) if fmt else FORMATS)
    except OSError as exc:
        fail(f"--out {out}: {exc.strerror or exc}")
    finally:
        engine.dispose()
    for item in done:
        typer.echo(f"{item.view}: {item.rows} rows -> {', '.join(str(f) for f in item.files)}")


@app.command()
def demo(
    keep: Annotated[bool, typer.Option(help="Keep the existing demo database instead of starting fresh.")] = False,
) -> None:
    """Serve bundled sample pages on 127.0.0.1, crawl them with the real flow, print what was stored."""
    from initiatives.demo import run_demo

    run_demo(Settings(), fresh=not keep)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
