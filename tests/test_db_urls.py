"""Database URLs: the password reaches the driver for every accepted scheme, and no message shows it."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from sqlalchemy import text
from sqlalchemy.exc import ArgumentError, OperationalError

from schema.db import database_url, make_engine, masked, upgrade

#: characters that need escaping in a URL and in Alembic's config (``%``).
PASSWORD = "s3cr%t@pw:/x"


@pytest.fixture
def pg_role(pg_url: str) -> Iterator[tuple[str, str]]:
    """A login role with a password owning a fresh database on 127.0.0.1; (role, database) — dropped after."""
    import psycopg

    role = f"initiatives_pw_{uuid.uuid4().hex[:8]}"
    database = pg_url.rsplit("/", 1)[1]
    admin = pg_url.replace("+psycopg", "")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{PASSWORD}'")
        conn.execute(f'ALTER DATABASE "{database}" OWNER TO {role}')
    try:
        yield role, database
    finally:
        with psycopg.connect(admin.rsplit("/", 1)[0] + "/test", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            conn.execute(f"DROP ROLE IF EXISTS {role}")


@pytest.mark.postgres
@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "postgresql+psycopg", "postgres+psycopg"])
def test_the_password_reaches_the_driver(pg_role: tuple[str, str], scheme: str) -> None:
    role, database = pg_role
    url = f"{scheme}://{role}:{quote(PASSWORD, safe='')}@127.0.0.1:5432/{database}"
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.scalar(text("select current_user")) == role
            # what libpq was given, whatever the server's authentication method
            assert conn.connection.dbapi_connection.info.password == PASSWORD  # type: ignore[union-attr]
        assert PASSWORD not in repr(engine) and quote(PASSWORD, safe="") not in repr(engine)
    finally:
        engine.dispose()
    upgrade(url)  # migrations reach the database with the same password (Alembic's config escapes %)


def test_sqlite_urls_are_accepted(tmp_path: object) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/x/db.sqlite3")
    with engine.connect() as conn:
        assert conn.scalar(text("select 1")) == 1
    engine.dispose()


@pytest.mark.parametrize(
    "url", ["mysql://u:hunter2@db/x", "postgresql://u:hunter2@db:notaport/x", "postgresql+asyncpg://u:hunter2@db/x"]
)
def test_bad_urls_are_refused_without_the_password(url: str) -> None:
    with pytest.raises(ArgumentError) as err:
        database_url(url)
    assert "hunter2" not in str(err.value) and "***" in str(err.value)
    assert "hunter2" not in masked("postgresql://u:hunter2@[bad")


def test_no_message_or_log_line_shows_the_password(caplog: pytest.LogCaptureFixture) -> None:
    """A database that cannot be reached: the error and every log line name the URL without the password."""
    url = "postgresql://someone:hunter2@127.0.0.1:1/nowhere"
    assert masked(url) == "postgresql://someone:***@127.0.0.1:1/nowhere"
    with caplog.at_level(logging.DEBUG), pytest.raises(OperationalError) as err:
        upgrade(url)
    assert "hunter2" not in str(err.value)
    assert "hunter2" not in caplog.text
    engine = make_engine(url)
    assert "hunter2" not in repr(engine) and "hunter2" not in str(engine.url)
    assert engine.url.password == "hunter2"  # kept for the driver, only hidden when shown
    engine.dispose()
