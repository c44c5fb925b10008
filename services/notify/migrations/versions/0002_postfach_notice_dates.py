"""notify: the Postfach keeps when a Bescheid was first retrieved and when its notice was denied (#21)

``retrieved_at`` and ``notice_denied_at`` of ``notify_postfach_messages`` came with the Bekanntgabe
(§ 37 (2a) SGB X) after release b229732. A database of that release lacks them; one made by
``create_all`` of the code just before the histories has them already: each is added only when missing.

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

COLUMNS = ("retrieved_at", "notice_denied_at")


def upgrade() -> None:
    present = {column["name"] for column in sa.inspect(op.get_bind()).get_columns("notify_postfach_messages")}
    for name in COLUMNS:
        if name not in present:
            op.add_column("notify_postfach_messages", sa.Column(name, sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notify_postfach_messages") as batch_op:
        for name in reversed(COLUMNS):
            batch_op.drop_column(name)
