"""staff accounts have a display name, shown to colleagues instead of their address

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Only when missing, as 0002 (a database stamped back after a rollback keeps the column).
    if "display_name" not in {column["name"] for column in sa.inspect(op.get_bind()).get_columns("identity_accounts")}:
        op.add_column("identity_accounts", sa.Column("display_name", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("identity_accounts", schema=None) as batch_op:
        batch_op.drop_column("display_name")
