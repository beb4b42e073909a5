"""Site-level boilerplate learned per host (issue 19).

Revision ID: 0005
Revises: 0004

``sites.boilerplate`` holds parsers.site_boilerplate.SiteBoilerplate as JSON: how many of the host's pages
were observed and on how many of them each line fingerprint appeared. Existing sites start empty and
learn from the pages loaded after the upgrade.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("sites", sa.Column("boilerplate", sa.JSON(), nullable=False, server_default=sa.text("'{}'")))


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite 3.35+), not batch mode: batch mode rebuilds ``sites`` under a temporary
    # name, and SQLite refuses the rename back while the readers' views (0003) refer to the table.
    op.drop_column("sites", "boilerplate")
