"""activation codes can be revoked: who revoked one, and when

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Each column only when missing: after a rollback to a release that did not know this revision, an
    # operator stamps the database back (docs/upgrading.md) and the columns stay; upgrading again skips them.
    present = {column["name"] for column in sa.inspect(op.get_bind()).get_columns("identity_activation_codes")}
    if "revoked_at" not in present:
        op.add_column("identity_activation_codes", sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))
    if "revoked_by" not in present:
        op.add_column("identity_activation_codes", sa.Column("revoked_by", sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("identity_activation_codes", schema=None) as batch_op:
        batch_op.drop_column("revoked_by")
        batch_op.drop_column("revoked_at")
