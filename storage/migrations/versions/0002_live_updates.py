"""Live updates and recall: post revisions, owed edits and deletions on sent rows.

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
    with op.batch_alter_table("posts") as batch:
        batch.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("action", sa.String(length=8), nullable=True))
        batch.create_index("ix_deliveries_post", ["post_id"])
        batch.create_index("ix_deliveries_broadcast", ["broadcast_id"])


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_index("ix_deliveries_broadcast")
        batch.drop_index("ix_deliveries_post")
        batch.drop_column("action")
    with op.batch_alter_table("posts") as batch:
        batch.drop_column("revision")
