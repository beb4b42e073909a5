"""Units keyed by (group, name), aliases by (alias, unit): units of different groups no longer merge.

Groups share short names (四院 of CASC and of CASIC, 试飞中心 of AVIC and of COMAC, 53所 …), and unresolved
units carry their group too, so keying ``units`` by name alone stored two units as one row and let an alias
point at the wrong one. ``units.group_name`` becomes NOT NULL, '' (``models.NO_GROUP``) for a unit without a
group: NULLs never collide in a unique key, on SQLite nor PostgreSQL. Existing rows keep their group.

The readers' views that read ``units`` are dropped first and made again at the end (SQLite refuses to rename
a table a view reads, and batch mode rebuilds ``units`` under a temporary name), from 0003's definitions with
'' read back as NULL, so readers still see no group as NULL. ``v_articles`` does not read units and is left
as it is (a later revision may have changed it).

Revision ID: 0007
Revises: 0006
"""
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: the group column as readers see it: '' (no group) is NULL in every view, as before this revision.
GROUP = "u.group_name"
READ_GROUP = "NULLIF(u.group_name, '')"


def _views_0003() -> Any:
    """0003's module: the single source of the views that read ``units``."""
    return context.script.get_revision("0003").module


def _unit_views(group: str) -> dict[str, str]:
    """``CREATE VIEW`` statements of every view reading ``units``, by name, with ``group`` for the column."""
    old = _views_0003()
    lists = old._aggregates()
    views = {
        "v_unit_initiatives": old.UNIT_INITIATIVES,
        "v_initiative_metrics": old.METRICS.format(**lists),
        **{
            name: old.RECORD_VIEW.format(name=name, columns=columns, join=join, **lists)
            for name, (columns, join) in old.PER_RECORD.items()
        },
    }
    assert all(GROUP in sql for sql in views.values()), "0003's views changed: update 0007"
    return {name: sql.replace(GROUP, group) for name, sql in views.items()}


def _drop_views() -> None:
    for name in _unit_views(GROUP):
        op.execute(f"DROP VIEW IF EXISTS {name}")


def upgrade() -> None:
    _drop_views()
    op.execute("UPDATE units SET group_name = '' WHERE group_name IS NULL")
    with op.batch_alter_table("units") as batch_op:
        batch_op.alter_column(
            "group_name", existing_type=sa.String(length=64), nullable=False, server_default=sa.text("''")
        )
        batch_op.drop_constraint("uq_units_name", type_="unique")
        batch_op.create_unique_constraint("uq_units_group_name_name", ["group_name", "name"])
    with op.batch_alter_table("unit_aliases") as batch_op:
        batch_op.drop_constraint("uq_unit_aliases_alias", type_="unique")
        batch_op.create_unique_constraint("uq_unit_aliases_alias_unit_id", ["alias", "unit_id"])
    for sql in _unit_views(READ_GROUP).values():
        op.execute(sql)


def downgrade() -> None:
    """Back to one unit per name: refused while two groups share a name (merging them would lose which
    record named which unit), and an alias keeps only its oldest unit."""
    conn = op.get_bind()
    shared = conn.execute(
        sa.text("SELECT name FROM units GROUP BY name HAVING count(*) > 1 ORDER BY name LIMIT 5")
    ).scalars().all()
    if shared:
        raise RuntimeError(f"cannot downgrade below 0007: units of different groups share names: {', '.join(shared)}")
    _drop_views()
    op.execute(
        "DELETE FROM unit_aliases WHERE id NOT IN (SELECT min(id) FROM unit_aliases GROUP BY alias)"
    )
    with op.batch_alter_table("unit_aliases") as batch_op:
        batch_op.drop_constraint("uq_unit_aliases_alias_unit_id", type_="unique")
        batch_op.create_unique_constraint("uq_unit_aliases_alias", ["alias"])
    with op.batch_alter_table("units") as batch_op:
        batch_op.drop_constraint("uq_units_group_name_name", type_="unique")
        batch_op.create_unique_constraint("uq_units_name", ["name"])
        batch_op.alter_column("group_name", existing_type=sa.String(length=64), nullable=True, server_default=None)
    op.execute("UPDATE units SET group_name = NULL WHERE group_name = ''")
    for sql in _unit_views(GROUP).values():
        op.execute(sql)
