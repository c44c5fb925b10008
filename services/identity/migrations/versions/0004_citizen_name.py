"""citizens have a name (given and family name, and the key the inbox's name search compares)

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

COLUMNS = (("given_name", 80), ("family_name", 80), ("name_key", 500))


def upgrade() -> None:
    # Only what is missing, as 0003 (a database stamped back after a rollback keeps the columns).
    # Existing accounts get NULL: their name is "nicht angegeben" until the citizen gives it in the settings.
    present = {column["name"] for column in sa.inspect(op.get_bind()).get_columns("identity_accounts")}
    for name, length in COLUMNS:
        if name not in present:
            op.add_column("identity_accounts", sa.Column(name, sa.String(length=length), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("identity_accounts", schema=None) as batch_op:
        for name, _length in reversed(COLUMNS):
            batch_op.drop_column(name)
