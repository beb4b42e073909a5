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
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # Batch migrations rebuild a table (copy, drop, rename); with foreign keys on, the drop would cascade
        # into every child table. SQLite only honours this pragma outside a transaction, hence here; the
        # check below proves the rebuilt tables still satisfy every key.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()  # end the autobegun transaction, so Alembic's own one commits the migration
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=sqlite,
    )
    with context.begin_transaction():
        context.run_migrations()
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
            if broken:
                raise RuntimeError(f"migration left {len(broken)} rows breaking a foreign key, e.g. {broken[0]}")
engine.dispose()
