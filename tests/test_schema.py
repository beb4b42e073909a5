"""Migrations build the schema the models describe, with reader views, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import importlib
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from schema.db import alembic_config, make_engine, upgrade
from schema.loader import load_page
from schema.models import Base
from tests.conftest import ROOT
from tests.test_loader import T0, dead_result, facts, good_result

VIEWS = {
    "v_articles", "v_unit_initiatives", "v_initiative_metrics", "v_initiative_documents", "v_initiative_frameworks",
    "v_initiative_people", "v_initiative_campaigns",
}


def test_migrations_match_models(engine: Engine, db_url: str) -> None:
    upgrade(db_url)  # a second upgrade is a no-op
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    assert set(inspect(engine).get_view_names()) >= VIEWS


def test_views_read_records_without_link_tables(engine: Engine) -> None:
    load_page(engine, good_result(), facts(T0), "run-1", "1")
    with engine.connect() as conn:
        units = conn.execute(
            text("SELECT unit, section, article_title, published FROM v_unit_initiatives ORDER BY record_position")
        ).all()
        metrics = conn.execute(text("SELECT value, measure, object, units FROM v_initiative_metrics")).all()
        article = conn.execute(text("SELECT source_now, site_shows_closure_notice FROM v_articles")).one()
    assert [u[0] for u in units] == ["东安", "红林"]
    assert units[0][1] == "学习宣贯 凝聚思想共识"
    assert str(units[0][3]) == str(dt.date(2023, 11, 16))
    assert [(str(v), *rest) for v, *rest in metrics] == [("14", "项", "具体举措", "红林")]  # a count stays 14
    assert article[0] == "ok_with_notice" and bool(article[1])


# --- migration 0003 carries data written the 0002 way ----------------------------------------------------
BASE_0002 = "c7da47f"  # the last commit whose loader wrote the 0002 schema


def _old_loader(tmp_path: Path) -> ModuleType:
    """The loader and models as they were at 0002, read from git history into a throwaway package."""
    sources = {}
    for name in ("models", "loader"):
        try:
            done = subprocess.run(
                ["git", "-C", str(ROOT), "show", f"{BASE_0002}:schema/{name}.py"],
                capture_output=True, text=True, check=True, timeout=60,
            )
        except (OSError, subprocess.SubprocessError):
            pytest.skip(f"needs the git history ({BASE_0002}) to write data the 0002 way")
        sources[name] = done.stdout
    package = tmp_path / "schema0002"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "models.py").write_text(sources["models"])
    (package / "loader.py").write_text(
        sources["loader"].replace("from schema import models as m", "from schema0002 import models as m")
    )
    sys.path.insert(0, str(tmp_path))
    try:
        return importlib.import_module("schema0002.loader")
    finally:
        sys.path.remove(str(tmp_path))


def test_0003_carries_0002_data_over(db_url_at_0002: str, tmp_path: Path) -> None:
    old = _old_loader(tmp_path)
    try:
        engine = make_engine(db_url_at_0002)
        old.load_page(engine, good_result(), facts(T0), "run-1", "1")
        old.load_page(engine, dead_result(), facts(T0 + dt.timedelta(days=1)), "run-2", "1")
        with engine.connect() as conn:
            units_before = conn.execute(text(UNIT_COLUMNS)).all()
            metrics_before = conn.execute(text("SELECT record_key, value, units FROM v_initiative_metrics")).all()
        assert len(units_before) == 2 and metrics_before[0][1] == 14.0

        upgrade(db_url_at_0002)
        with engine.connect() as conn:
            assert conn.execute(text(UNIT_COLUMNS)).all() == units_before
            groups = conn.execute(text("SELECT unit, unit_group FROM v_unit_initiatives ORDER BY unit")).all()
            metric = conn.execute(text("SELECT record_key, value, units, unit_groups FROM v_initiative_metrics")).one()
            versions = conn.execute(text("SELECT status, seen_count FROM article_versions")).all()
            unlinked = conn.execute(text("SELECT count(*) FROM initiatives WHERE version_id IS NULL")).scalar_one()
            people = conn.execute(text("SELECT person, person_title, units FROM v_initiative_people")).all()
            campaigns = conn.execute(text("SELECT count(*) FROM v_initiative_campaigns")).scalar_one()
        assert versions == [("current", 1)] and unlinked == 0
        assert sorted(groups) == [("东安", "AECC"), ("红林", None)]
        assert metric[0] == metrics_before[0][0] and str(metric[1]) == "14"  # 14, not 14.0
        assert people == [("郝玉扬", "党支部书记", "东安")] and campaigns == 2

        # The new loader carries on from the migrated rows: an edit keeps the unchanged statement's key.
        load_page(engine, good_result("另行修订。"), facts(T0 + dt.timedelta(days=2)), "run-3", "1")
        with engine.connect() as conn:
            keys = [k for k, *_ in conn.execute(text(UNIT_COLUMNS))]
        assert keys[1] == units_before[1][0] and keys[0] != units_before[0][0]

        command.downgrade(alembic_config(db_url_at_0002), "0002")
        with engine.connect() as conn:
            assert [k for k, *_ in conn.execute(text(UNIT_COLUMNS))] == keys
        upgrade(db_url_at_0002)
        engine.dispose()
    finally:
        for name in [n for n in sys.modules if n.startswith("schema0002")]:
            del sys.modules[name]


UNIT_COLUMNS = (
    "SELECT record_key, record_position, unit, unit_full_name, unit_resolved, mention, org_body, section, "
    "statement, article_title, url, published, source FROM v_unit_initiatives ORDER BY record_position"
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url_at_0002(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'old.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    upgrade(url, "0002")
    return url
