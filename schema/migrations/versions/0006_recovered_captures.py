"""Recovered captures: where a page recovered from a public web archive came from, shown in v_articles.

Revision ID: 0006
Revises: 0002
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0002"
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

ARTICLES = """
CREATE VIEW v_articles AS
SELECT a.id AS article_id, p.url, a.title, a.published, a.source, a.author, a.column_tag,
       a.last_good_at, p.last_verdict AS source_now, p.last_fetched_at,
       s.host AS site_host, s.status AS site_status, s.shows_closure_notice AS site_shows_closure_notice,
       rc.archive AS recovered_from, rc.captured_at AS capture_time, rc.capture_url
FROM articles a
JOIN pages p ON p.id = a.page_id
LEFT JOIN sites s ON s.id = p.site_id
""" + PROVENANCE

OLD_ARTICLES = """
CREATE VIEW v_articles AS
SELECT a.id AS article_id, p.url, a.title, a.published, a.source, a.author, a.column_tag,
       a.last_good_at, p.last_verdict AS source_now, p.last_fetched_at,
       s.host AS site_host, s.status AS site_status, s.shows_closure_notice AS site_shows_closure_notice
FROM articles a
JOIN pages p ON p.id = a.page_id
LEFT JOIN sites s ON s.id = p.site_id
"""


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
    op.execute(ARTICLES)


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS v_articles")
    op.execute(OLD_ARTICLES)
    op.drop_index("ix_recovered_captures_page_id", table_name="recovered_captures")
    op.drop_table("recovered_captures")
