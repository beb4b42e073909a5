"""Recovered captures: where a page recovered from a public web archive came from, shown in v_articles.

Revision ID: 0006
Revises: 0005
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The newest capture a page was recovered from is the article's provenance while no good live fetch has
# come since; a live copy always wins, and the columns are then empty.
PROVENANCE = """
LEFT JOIN recovered_captures rc ON rc.id = (
    SELECT r.id FROM recovered_captures r WHERE r.page_id = p.id ORDER BY r.recovered_at DESC, r.id DESC LIMIT 1)
    AND NOT EXISTS (SELECT 1 FROM fetches f WHERE f.page_id = p.id AND f.verdict IN ('ok', 'ok_with_notice')
                    AND f.fetched_at > rc.recovered_at)
"""

PROVENANCE_COLUMNS = """,
       rc.archive AS recovered_from, rc.captured_at AS capture_time, rc.capture_url
FROM articles a"""


def _articles_0002() -> str:
    """0002's v_articles, which 0003 kept: this revision adds the provenance columns, downgrade restores it."""
    return str(context.script.get_revision("0002").module.ARTICLES)


def _articles() -> str:
    old = _articles_0002()
    assert "\nFROM articles a" in old, "0002's v_articles changed: update 0006"
    return old.replace("\nFROM articles a", PROVENANCE_COLUMNS, 1) + PROVENANCE


def upgrade() -> None:
    op.create_table(
        "recovered_captures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("page_id", sa.Integer(), nullable=False),
        sa.Column("archive", sa.String(length=32), nullable=False),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("capture_url", sa.String(length=2048), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("load_id", sa.String(length=64), nullable=False),
        sa.Column("recovered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["page_id"], ["pages.id"], name="fk_recovered_captures_page_id_pages",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_recovered_captures"),
        sa.UniqueConstraint("page_id", "archive", "captured_at", name="uq_recovered_captures_page_id_archive_captured_at"),
    )
    op.create_index("ix_recovered_captures_page_id", "recovered_captures", ["page_id"])
    op.execute("DROP VIEW IF EXISTS v_articles")
    op.execute(_articles())


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS v_articles")
    op.execute(_articles_0002())
    op.drop_index("ix_recovered_captures_page_id", table_name="recovered_captures")
    op.drop_table("recovered_captures")
