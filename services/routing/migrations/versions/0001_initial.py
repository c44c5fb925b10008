"""routing: the tables as release b229732 made them with create_all (the history starts here)

Every table and index is created only when missing, so that a database of that release adopts
the history without hand work (``if_not_exists``); a fresh database gets them all.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "routing_outbox_position",
        sa.Column("relay", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("relay"),
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_table("routing_outbox_position")
