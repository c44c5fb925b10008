"""routing: the Jobcenters' contact details (postal and visitors' address, telephone, e-mail, opening hours)

Set by each Jobcenter's team lead or an admin (``set_jobcenter_contact``); a new table, which the
release before does not know and leaves alone.

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
    op.create_table(
        "routing_jobcenter_contacts",
        sa.Column("jobcenter_id", sa.String(length=20), nullable=False),
        sa.Column("postal_street", sa.String(length=100), nullable=False),
        sa.Column("postal_postcode", sa.String(length=5), nullable=False),
        sa.Column("postal_city", sa.String(length=80), nullable=False),
        sa.Column("visitor_street", sa.String(length=100), nullable=True),
        sa.Column("visitor_postcode", sa.String(length=5), nullable=True),
        sa.Column("visitor_city", sa.String(length=80), nullable=True),
        sa.Column("phone", sa.String(length=30), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("opening_hours", sa.String(length=500), nullable=True),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("jobcenter_id"),
        # A database adopted from a release before the histories got its tables from the metadata (as 0002).
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_table("routing_jobcenter_contacts")
