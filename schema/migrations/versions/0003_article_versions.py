"""Article versions, unit groups, per-record views, NUMERIC metric values.

Every article becomes its page's one ``current`` version (its sections, records and campaigns move to
it); ``groups`` is seeded with the group keys units already carry (names come with the next load);
``metrics.value`` turns NUMERIC so a count reads 4, not 4.0. Views are dropped first and made again at
the end: SQLite refuses to rename a table a view reads, and every view now shows the current version.

Revision ID: 0003
Revises: 0002
"""
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_VIEWS = ("v_initiative_metrics", "v_unit_initiatives", "v_articles")
NEW_VIEWS = ("v_initiative_documents", "v_initiative_frameworks", "v_initiative_people", "v_initiative_campaigns")

# Records of current versions only, with their article and page: the base of every record view.
CURRENT_RECORDS = """
JOIN article_versions v ON v.id = i.version_id AND v.status = 'current'
JOIN articles a ON a.id = i.article_id
JOIN pages p ON p.id = a.page_id
LEFT JOIN sections sec ON sec.id = i.section_id
"""

UNIT_INITIATIVES = """
CREATE VIEW v_unit_initiatives AS
SELECT i.key AS record_key, i.position AS record_position, u.name AS unit, u.full_name AS unit_full_name,
       u.resolved AS unit_resolved, iu.mention, i.org_body, sec.heading AS section, i.statement,
       a.title AS article_title, p.url, a.published, a.source,
       u.group_name AS unit_group, g.name AS unit_group_name
FROM initiatives i
JOIN initiative_units iu ON iu.initiative_id = i.id
JOIN units u ON u.id = iu.unit_id
LEFT JOIN groups g ON g.key = u.group_name
""" + CURRENT_RECORDS

METRICS = """
CREATE VIEW v_initiative_metrics AS
SELECT i.key AS record_key, mt.position AS metric_position, mt.value, mt.measure, mt.object,
       ({units}) AS units,
       sec.heading AS section, i.statement, a.title AS article_title, p.url, a.published,
       ({groups}) AS unit_groups, ({group_names}) AS unit_group_names
FROM metrics mt
JOIN initiatives i ON i.id = mt.initiative_id
""" + CURRENT_RECORDS

# One view per thing a record names: the thing's columns first, then the record's units and groups.
PER_RECORD = {
    "v_initiative_documents": (
        "d.title AS document",
        "JOIN initiative_documents idoc ON idoc.initiative_id = i.id JOIN documents d ON d.id = idoc.document_id",
    ),
    "v_initiative_frameworks": (
        "f.name AS framework",
        "JOIN initiative_frameworks ifw ON ifw.initiative_id = i.id JOIN frameworks f ON f.id = ifw.framework_id",
    ),
    "v_initiative_people": (
        "pe.name AS person, pe.title AS person_title",
        "JOIN initiative_people ipe ON ipe.initiative_id = i.id JOIN people pe ON pe.id = ipe.person_id",
    ),
    "v_initiative_campaigns": (
        "c.name AS campaign",
        "JOIN article_campaigns ac ON ac.version_id = i.version_id JOIN campaigns c ON c.id = ac.campaign_id",
    ),
}
RECORD_VIEW = """
CREATE VIEW {name} AS
SELECT i.key AS record_key, {columns}, ({units}) AS units, ({groups}) AS unit_groups,
       ({group_names}) AS unit_group_names,
       sec.heading AS section, i.statement, a.title AS article_title, p.url, a.published
FROM initiatives i
{join}
""" + CURRENT_RECORDS

# Comma-separated group lists per record (unit lists as 0002 made them); the aggregates differ.
# The record's distinct groups, ordered by key; {agg} lists keys (gk) or names (gn).
GROUP_LIST = (
    "SELECT {agg} FROM (SELECT DISTINCT u.group_name AS gk, g.name AS gn FROM initiative_units iu "
    "JOIN units u ON u.id = iu.unit_id LEFT JOIN groups g ON g.key = u.group_name "
    "WHERE iu.initiative_id = i.id AND u.group_name IS NOT NULL ORDER BY gk) grp"
)
GROUP_AGG = {
    "sqlite": ("group_concat(gk, '、')", "group_concat(gn, '、')"),
    "postgresql": ("string_agg(gk, '、' ORDER BY gk)", "string_agg(gn, '、' ORDER BY gk)"),
}


def _views_0002() -> Any:
    """0002's module: its v_articles is kept as it was, its unit lists reused, its views restored on downgrade."""
    return context.script.get_revision("0002").module


def _aggregates() -> dict[str, str]:
    """The per-record list subqueries of this database: units (as 0002 made them), group keys and names."""
    old, dialect = _views_0002(), op.get_bind().dialect.name
    keys, names = GROUP_AGG["postgresql" if dialect == "postgresql" else "sqlite"]
    return {
        "units": old.UNITS_POSTGRES if dialect == "postgresql" else old.UNITS_SQLITE,
        "groups": GROUP_LIST.format(agg=keys),
        "group_names": GROUP_LIST.format(agg=names),
    }


def _key_by_version(table: str, old_key: str, kind: str, new_key: list[str], indexes: list[str]) -> None:
    """Give ``table`` a ``version_id`` (each row's article's only version) and key it by version."""
    with op.batch_alter_table(table) as batch_op:
        batch_op.add_column(sa.Column("version_id", sa.Integer(), nullable=True))
    op.execute(
        f"UPDATE {table} SET version_id = "
        f"(SELECT v.id FROM article_versions v WHERE v.article_id = {table}.article_id)"
    )
    with op.batch_alter_table(table) as batch_op:
        batch_op.alter_column("version_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_constraint(old_key, type_=kind)
        if kind == "primary":
            batch_op.create_primary_key(f"pk_{table}", new_key)
        else:
            batch_op.create_unique_constraint(batch_op.f(f"uq_{table}_{'_'.join(new_key)}"), new_key)
        for column in indexes:
            batch_op.create_index(batch_op.f(f"ix_{table}_{column}"), [column], unique=False)
        batch_op.create_foreign_key(
            batch_op.f(f"fk_{table}_version_id_article_versions"), "article_versions", ["version_id"], ["id"],
            ondelete="CASCADE",
        )


def upgrade() -> None:
    for view in OLD_VIEWS:
        op.execute(f"DROP VIEW IF EXISTS {view}")

    op.create_table(
        "groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groups")),
        sa.UniqueConstraint("key", name=op.f("uq_groups_key")),
    )
    op.execute(
        "INSERT INTO groups (key) SELECT DISTINCT group_name FROM units WHERE group_name IS NOT NULL "
        "ORDER BY group_name"
    )

    op.create_table(
        "article_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("text_hash", sa.String(length=64), nullable=False),
        sa.Column("parser_version", sa.String(length=32), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("published", sa.Date(), nullable=True),
        sa.Column("published_precision", sa.String(length=8), nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=True),
        sa.Column("source", sa.String(length=255), nullable=True),
        sa.Column("author", sa.String(length=255), nullable=True),
        sa.Column("editor", sa.String(length=255), nullable=True),
        sa.Column("column_tag", sa.String(length=255), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_count", sa.Integer(), nullable=False),
        sa.Column("likeness", sa.Float(), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"], name=op.f("fk_article_versions_article_id_articles"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article_versions")),
        sa.UniqueConstraint("article_id", "text_hash", name=op.f("uq_article_versions_article_id_text_hash")),
    )
    with op.batch_alter_table("article_versions") as batch_op:
        batch_op.create_index(batch_op.f("ix_article_versions_article_id"), ["article_id"], unique=False)
    # Each article is its page's only known text: the current version, seen once (at its last good time:
    # when it was first served is not recorded before this revision); its body's archive key stays unknown
    # (reparse then falls back to the page's newest good body, as before).
    op.execute(
        "INSERT INTO article_versions (article_id, status, text_hash, parser_version, title, published, "
        "published_precision, published_at, source, author, editor, column_tag, body, first_seen, last_seen, "
        "seen_count) "
        "SELECT id, 'current', text_hash, parser_version, title, published, published_precision, published_at, "
        "source, author, editor, column_tag, body, last_good_at, last_good_at, 1 FROM articles ORDER BY id"
    )

    _key_by_version("sections", "uq_sections_article_id_position", "unique", ["version_id", "position"], ["version_id"])
    _key_by_version("initiatives", "uq_initiatives_key", "unique", ["version_id", "key"], ["key", "version_id"])
    _key_by_version("article_campaigns", "pk_article_campaigns", "primary", ["version_id", "campaign_id"], ["article_id"])

    # NUMERIC keeps 4 as 4 (SQLite's NUMERIC affinity stores an integral REAL as INTEGER when copied).
    with op.batch_alter_table("metrics") as batch_op:
        batch_op.alter_column(
            "value", existing_type=sa.Float(), type_=sa.Numeric(), existing_nullable=False,
            postgresql_using="value::numeric",
        )

    lists = _aggregates()
    op.execute(_views_0002().ARTICLES)
    op.execute(UNIT_INITIATIVES)
    op.execute(METRICS.format(**lists))
    for name, (columns, join) in PER_RECORD.items():
        op.execute(RECORD_VIEW.format(name=name, columns=columns, join=join, **lists))


def _key_by_article(table: str, kind: str, new_key: list[str], old_key: list[str], indexes: list[str]) -> None:
    """Undo ``_key_by_version``."""
    with op.batch_alter_table(table) as batch_op:
        batch_op.drop_constraint(f"fk_{table}_version_id_article_versions", type_="foreignkey")
        for column in indexes:
            batch_op.drop_index(f"ix_{table}_{column}")
        if kind == "primary":
            batch_op.drop_constraint(f"pk_{table}", type_="primary")
            batch_op.create_primary_key(f"pk_{table}", old_key)
        else:
            batch_op.drop_constraint(f"uq_{table}_{'_'.join(new_key)}", type_="unique")
            batch_op.create_unique_constraint(f"uq_{table}_{'_'.join(old_key)}", old_key)
        batch_op.drop_column("version_id")


def downgrade() -> None:
    """Back to one article per page: only current versions survive (the others' records go with them)."""
    for view in (*NEW_VIEWS, *OLD_VIEWS):
        op.execute(f"DROP VIEW IF EXISTS {view}")
    # Foreign keys are off during SQLite migrations (env.py), so children go first, by hand.
    gone = "SELECT id FROM article_versions WHERE status <> 'current'"
    records = f"SELECT id FROM initiatives WHERE version_id IN ({gone})"
    for child in ("initiative_units", "metrics", "initiative_documents", "initiative_frameworks", "initiative_people"):
        op.execute(f"DELETE FROM {child} WHERE initiative_id IN ({records})")
    for table in ("initiatives", "sections", "article_campaigns"):
        op.execute(f"DELETE FROM {table} WHERE version_id IN ({gone})")
    with op.batch_alter_table("metrics") as batch_op:
        batch_op.alter_column("value", existing_type=sa.Numeric(), type_=sa.Float(), existing_nullable=False)
    _key_by_article("article_campaigns", "primary", ["version_id", "campaign_id"], ["article_id", "campaign_id"],
                    ["article_id"])
    _key_by_article("initiatives", "unique", ["version_id", "key"], ["key"], ["version_id", "key"])
    _key_by_article("sections", "unique", ["version_id", "position"], ["article_id", "position"], ["version_id"])
    op.drop_table("article_versions")
    op.drop_table("groups")
    _views_0002().upgrade()
