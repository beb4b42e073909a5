"""Alembic environment: migrations run against the engine schema.db builds, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import context

from schema.db import make_engine
from schema.models import Base

config = context.config
url = config.get_main_option("sqlalchemy.url")
assert url, "schema.db.alembic_config sets sqlalchemy.url"

engine = make_engine(url)
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
