"""Fixtures shared by every test module. Stage-specific fixtures live in their own test modules."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

os.environ.setdefault("DO_NOT_TRACK", "1")
#: Every test server listens on 127.0.0.1, which the crawler refuses unless allowed (flows/addresses.py):
#: flows and the CLI run by tests read this; processes started with an environment of their own get it from
#: DEMO_SOURCES below. Tests of the address policy itself build their own ``FetchPolicy`` and allow only
#: what they name.
os.environ.setdefault("INITIATIVES_ALLOW_ADDRESSES", "127.0.0.1")

ROOT = Path(__file__).resolve().parents[1]
#: ../shared beside the project root: seed, gold, reference data and the labelled corpora.
SHARED = ROOT.parent / "shared"
SEED = SHARED / "seed" / "000_369957bb338a4502.txt"
GOLD = SHARED / "gold" / "seed_article.gold.json"
#: the bundled demo site's live pages, and a sources file for it (each test fills in {url} and {delay}).
DEMO_SITE = ROOT / "initiatives" / "demo_site" / "live"
DEMO_SOURCES = """\
[[sites]]
name = "jungong"
base_url = "{url}/"
start_urls = ["{url}/aecc-zhuxin.html"]
# the test site is on loopback, refused unless allowed (workers started by tests may not see the env below)
allow_addresses = ["127.0.0.1"]

[[sites.listings]]
url = "{url}/index.html"
link_selector = "a.art"

[sites.politeness]
concurrency = 1
min_delay = {delay}
"""


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"{SHARED} is missing: tests read the seed, gold and corpora from ../shared")
    return SHARED


# --- databases -------------------------------------------------------------------------------------
# The same tests run on SQLite and PostgreSQL. PostgreSQL tests create and drop their own database; under
# CI=true an unreachable server is a failure, elsewhere a skip with the reason.
PG_ADMIN_URL = os.environ.get("INITIATIVES_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _pg_unavailable_reason() -> str | None:
    import psycopg

    try:
        with psycopg.connect(PG_ADMIN_URL.replace("+psycopg", ""), connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL at {PG_ADMIN_URL} unreachable: {str(exc).strip().splitlines()[0]}"


@pytest.fixture(scope="session")
def pg_server() -> str:
    reason = _pg_unavailable_reason()
    if reason:
        if IN_CI:
            pytest.fail(f"{reason} (mandatory under CI)")
        pytest.skip(reason)
    return PG_ADMIN_URL


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    import uuid

    import psycopg

    name = f"initiatives_test_{uuid.uuid4().hex[:12]}"
    admin = pg_server.replace("+psycopg", "")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield pg_server.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database URL on each backend."""
    from schema.db import upgrade

    url = f"sqlite:///{tmp_path / 'test.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    upgrade(url)
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    from schema.db import make_engine

    eng = make_engine(db_url)
    yield eng
    eng.dispose()


# --- Prefect ---------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One temporary Prefect API for every flow test of the session (it takes 20-30 s to start)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=60):
        yield
