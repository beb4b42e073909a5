"""Configuration and database problems as the one line an operator reads (never a traceback).

A wrong setting is the most common way a run fails before it starts; the line names the environment
variable, its (password-masked) value and what was expected, so the fix is obvious from the message.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from initiatives.settings import ENV_PREFIX, Settings

#: "user:password@" anywhere in a string, for URLs SQLAlchemy cannot parse (and driver messages).
_PASSWORD = re.compile(r":[^@\s/]*@")


class ConfigProblem(Exception):
    """A setting or the database it points at is unusable; ``str()`` is the line to print."""


def mask(url: str) -> str:
    """The URL with its password hidden, also when SQLAlchemy cannot parse it."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return _PASSWORD.sub(":***@", url)


def load_settings(**overrides: Any) -> Settings:
    """``Settings()``, or a ``ConfigProblem`` naming the first bad variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else ""
        value = str(error.get("input", ""))
        if field == "database_url":
            value = mask(value)
        raise ConfigProblem(f"{ENV_PREFIX}{field.upper()}={value}: {error['msg']}") from None


def _where(settings: Settings) -> str:
    if settings.database_url is not None and settings.database_url.get_secret_value():
        return f"{ENV_PREFIX}DATABASE_URL={mask(settings.database)}"
    return f"{ENV_PREFIX}DATA_DIR={settings.data_dir} (SQLite at {settings.database.removeprefix('sqlite:///')})"


def _reason(exc: Exception) -> str:
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    lines = [ln.strip() for ln in str(cause).strip().splitlines() if ln.strip()]
    return _PASSWORD.sub(":***@", lines[0] if lines else type(cause).__name__)


def engine_for(settings: Settings) -> Engine:
    """An engine for the configured database, checked with one round trip."""
    from schema.db import make_engine

    try:
        engine = make_engine(settings.database)
    except (ArgumentError, ValueError) as exc:
        raise ConfigProblem(
            f"{_where(settings)}: not a database URL ({_reason(exc)}); "
            "expected e.g. postgresql+psycopg://user@host:5432/db"
        ) from None
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
    except SQLAlchemyError as exc:
        engine.dispose()
        raise ConfigProblem(f"{_where(settings)}: cannot connect: {_reason(exc)}") from None
    return engine


def existing_database(settings: Settings) -> Engine:
    """The configured database for reading: it must exist and hold the schema (a read never creates one)."""
    try:
        url = make_url(settings.database)
    except (ArgumentError, ValueError):
        url = None  # engine_for names the problem
    if url is not None and url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        path = Path(str(url.database))
        if not path.is_file():
            raise ConfigProblem(
                f"{_where(settings)}: no database there yet; run a crawl or `initiatives db upgrade` first"
            )
    engine = engine_for(settings)
    from schema.revision import current_revision

    if current_revision(engine) is None:
        engine.dispose()
        raise ConfigProblem(f"{_where(settings)}: the database holds no initiatives schema; "
                            "run `initiatives db upgrade` first")
    return engine
