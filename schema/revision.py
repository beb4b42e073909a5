"""Where a database stands in the migration history, so ``db upgrade`` can say what it did."""

from __future__ import annotations

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from schema.db import alembic_config


def current_revision(engine: Engine) -> str | None:
    """The database's Alembic revision; None when it holds no schema of ours yet."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(url: str) -> str:
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    assert head is not None, "schema/migrations holds at least one revision"
    return head
