"""submissions: the tables as release b229732 made them with create_all (the history starts here)

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
        "submissions_data_keys",
        sa.Column("aggregate_id", sa.String(length=36), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("aggregate_id"),
        if_not_exists=True,
    )
    op.create_table(
        "submissions_outbox_position",
        sa.Column("relay", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("relay"),
        if_not_exists=True,
    )
    op.create_table(
        "submissions_staff_access",
        sa.Column("access_id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("institution_id", sa.String(length=64), nullable=True),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("access_id"),
        if_not_exists=True,
    )
    op.create_index("submissions_staff_access_at", "submissions_staff_access", ["at"], unique=False, if_not_exists=True)
    op.create_index(
        "submissions_staff_access_case", "submissions_staff_access", ["case_id", "at"], unique=False, if_not_exists=True
    )
    op.create_index(
        "submissions_staff_access_institution",
        "submissions_staff_access",
        ["institution_id", "at"],
        unique=False,
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_index("submissions_staff_access_institution", table_name="submissions_staff_access")
    op.drop_index("submissions_staff_access_case", table_name="submissions_staff_access")
    op.drop_index("submissions_staff_access_at", table_name="submissions_staff_access")
    op.drop_table("submissions_staff_access")
    op.drop_table("submissions_outbox_position")
    op.drop_table("submissions_data_keys")
