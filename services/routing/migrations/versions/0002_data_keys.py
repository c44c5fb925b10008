"""routing: each case's assignment gets a data key of its own (crypto-shredding)

The events stored before stay sealed with routing's shared cipher key until the migrate step seals
them with their case's key (``services/routing/rekey.py``, run after this revision).

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
    op.create_table(
        "routing_data_keys",
        sa.Column("aggregate_id", sa.String(length=36), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("aggregate_id"),
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_table("routing_data_keys")
