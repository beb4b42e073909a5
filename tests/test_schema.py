"""Migrations build the schema the models describe, with reader views, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from schema.db import upgrade
from schema.loader import load_page
from schema.models import Base
from tests.test_loader import T0, facts, good_result

VIEWS = {"v_articles", "v_unit_initiatives", "v_initiative_metrics"}


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
    assert metrics == [(14.0, "项", "具体举措", "红林")]
    assert article[0] == "ok_with_notice" and bool(article[1])
