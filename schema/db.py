"""Engines and migrations: the only place that knows how to reach the database."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: ``scheme://user:password@`` in a string SQLAlchemy could not parse.
_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")


#: the URL schemes this project accepts, and the SQLAlchemy driver each one means: psycopg 3 is the only
#: PostgreSQL driver installed (a bare ``postgresql://`` would pick psycopg2), and ``postgres://`` is what
#: Heroku-style and libpq tools hand out, which SQLAlchemy no longer knows.
DRIVERS = {
    "sqlite": "sqlite",
    "sqlite+pysqlite": "sqlite+pysqlite",
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "postgresql+psycopg": "postgresql+psycopg",
    "postgres+psycopg": "postgresql+psycopg",
}


def masked(url: str | URL) -> str:
    """The URL for messages and logs: password hidden, also when SQLAlchemy cannot parse it."""
    try:
        return (url if isinstance(url, URL) else make_url(url)).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return _PASSWORD.sub(r"\1***@", str(url))


def database_url(url: str | URL) -> URL:
    """The URL as SQLAlchemy should get it, password included.

    It stays a ``URL`` object: ``str(URL)`` masks the password as ``***``, which is how a plain
    ``postgresql://user:pw@…`` once reached the driver without its password. Raises ``ArgumentError``
    with the password masked (SQLAlchemy's own parse error quotes the whole string)."""
    try:
        parsed = url if isinstance(url, URL) else make_url(url)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise ArgumentError(f"cannot parse database URL {masked(url)!r}") from None
    driver = DRIVERS.get(parsed.drivername)
    if driver is None:
        accepted = ", ".join(f"{name}://" for name in DRIVERS)
        raise ArgumentError(f"unsupported database URL scheme {parsed.drivername!r} in {masked(parsed)!r} "
                            f"(accepted: {accepted})")
    return parsed.set(drivername=driver)


def make_engine(url: str | URL) -> Engine:
    """An engine with the settings this project relies on (FKs on SQLite, pre-ping on servers)."""
    parsed = database_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"timeout": 30})

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
    return create_engine(parsed, pool_pre_ping=True)


def alembic_config(url: str | URL) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    plain = url.render_as_string(hide_password=False) if isinstance(url, URL) else url
    cfg.set_main_option("sqlalchemy.url", plain.replace("%", "%%"))
    return cfg


def upgrade(url: str | URL, revision: str = "head") -> None:
    """Bring the database to ``revision``; safe to run on every start (it is a no-op when current)."""
    command.upgrade(alembic_config(url), revision)
