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
    with op.batch_alter_table("identity_activation_codes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("revoked_by", sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("identity_activation_codes", schema=None) as batch_op:
        batch_op.drop_column("revoked_by")
        batch_op.drop_column("revoked_at")
