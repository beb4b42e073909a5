"""Reader views: downstream apps query these without knowing the link tables.

Revision ID: 0002
Revises: 0001
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ARTICLES = """
CREATE VIEW v_articles AS
SELECT a.id AS article_id, p.url, a.title, a.published, a.source, a.author, a.column_tag,
       a.last_good_at, p.last_verdict AS source_now, p.last_fetched_at,
       s.host AS site_host, s.status AS site_status, s.shows_closure_notice AS site_shows_closure_notice
FROM articles a
JOIN pages p ON p.id = a.page_id
LEFT JOIN sites s ON s.id = p.site_id
"""

UNIT_INITIATIVES = """
CREATE VIEW v_unit_initiatives AS
SELECT i.key AS record_key, i.position AS record_position, u.name AS unit, u.full_name AS unit_full_name,
       u.resolved AS unit_resolved, iu.mention, i.org_body, sec.heading AS section, i.statement,
       a.title AS article_title, p.url, a.published, a.source
FROM initiatives i
JOIN initiative_units iu ON iu.initiative_id = i.id
JOIN units u ON u.id = iu.unit_id
JOIN articles a ON a.id = i.article_id
JOIN pages p ON p.id = a.page_id
LEFT JOIN sections sec ON sec.id = i.section_id
"""

METRICS = """
CREATE VIEW v_initiative_metrics AS
SELECT i.key AS record_key, mt.position AS metric_position, mt.value, mt.measure, mt.object,
       ({units}) AS units,
       sec.heading AS section, i.statement, a.title AS article_title, p.url, a.published
FROM metrics mt
JOIN initiatives i ON i.id = mt.initiative_id
JOIN articles a ON a.id = i.article_id
JOIN pages p ON p.id = a.page_id
LEFT JOIN sections sec ON sec.id = i.section_id
"""

# One comma-separated unit list per record; the aggregate's name differs between the two databases.
UNITS_SQLITE = (
    "SELECT group_concat(u.name, '、') FROM initiative_units iu JOIN units u ON u.id = iu.unit_id "
    "WHERE iu.initiative_id = i.id"
)
UNITS_POSTGRES = (
    "SELECT string_agg(u.name, '、' ORDER BY iu.position) FROM initiative_units iu "
    "JOIN units u ON u.id = iu.unit_id WHERE iu.initiative_id = i.id"
)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.execute(ARTICLES)
    op.execute(UNIT_INITIATIVES)
    op.execute(METRICS.format(units=UNITS_POSTGRES if dialect == "postgresql" else UNITS_SQLITE))


def downgrade() -> None:
    for view in ("v_initiative_metrics", "v_unit_initiatives", "v_articles"):
        op.execute(f"DROP VIEW IF EXISTS {view}")
