"""Engines and migrations: the only place that knows how to reach the database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def make_engine(url: str) -> Engine:
    """An engine with the settings this project relies on (FKs on SQLite, pre-ping on servers)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Foreign keys and cascades are off by default in SQLite; WAL lets readers work during loads.
            # synchronous=NORMAL is WAL's recommended level: a commit is still atomic (a page is all there
            # or not at all after any crash), only the newest commits may be lost to a power cut, and it
            # saves an fsync per page.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        # Plain postgresql:// would pick psycopg2, which this project does not install.
        url = str(parsed.set(drivername="postgresql+psycopg"))
    return create_engine(url, pool_pre_ping=True)


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database to ``revision``; safe to run on every start (it is a no-op when current)."""
    command.upgrade(alembic_config(url), revision)


class NotReady(Exception):
    """The database a read-only command needs is missing or not migrated: one line for the user."""


def open_existing(url: str) -> Engine:
    """An engine on a database that must already exist at the newest migration.

    Read-only commands (history, export) must not create an empty database where the user mistyped a
    path, nor migrate one behind the operator's back; they say what is wrong instead.
    """
    parsed = make_url(url)
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite" and (
        not parsed.database or parsed.database == ":memory:" or not Path(parsed.database).is_file()
    ):
        raise NotReady(f"no database at {shown} (run a crawl or `initiatives db upgrade` first)")
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    except OperationalError as exc:
        engine.dispose()
        first = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
        raise NotReady(f"cannot open database {shown}: {first}") from None
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    if current != head:
        engine.dispose()
        raise NotReady(f"database {shown} is at revision {current or 'none'}, not {head}: run `initiatives db upgrade`")
    return engine
