"""A leaner outbox: no foreign keys on deliveries, partial unique indexes.

Checking three foreign keys for every one of 100,000 planned rows tripled the cost
of planning one post on PostgreSQL (bench/plan.py). The Store is the only writer,
and posts, broadcasts and chats are never deleted, so the checks bought nothing.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_FOREIGN_KEYS = (
    "fk_deliveries_post_id_posts",
    "fk_deliveries_broadcast_id_broadcasts",
    "fk_deliveries_chat_id_chats",
)


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        for name in _FOREIGN_KEYS:
            batch.drop_constraint(name, type_="foreignkey")
        batch.drop_constraint("uq_deliveries_post_id_chat_id", type_="unique")
        batch.drop_constraint("uq_deliveries_broadcast_id_chat_id", type_="unique")
    for column in ("post_id", "broadcast_id"):
        where = sa.text(f"{column} IS NOT NULL")
        op.create_index(
            f"uq_deliveries_{column.removesuffix('_id')}_chat",
            "deliveries",
            [column, "chat_id"],
            unique=True,
            postgresql_where=where,
            sqlite_where=where,
        )


def downgrade() -> None:
    op.drop_index("uq_deliveries_broadcast_chat", table_name="deliveries")
    op.drop_index("uq_deliveries_post_chat", table_name="deliveries")
    with op.batch_alter_table("deliveries") as batch:
        batch.create_unique_constraint(
            "uq_deliveries_broadcast_id_chat_id", ["broadcast_id", "chat_id"]
        )
        batch.create_unique_constraint("uq_deliveries_post_id_chat_id", ["post_id", "chat_id"])
        batch.create_foreign_key(
            "fk_deliveries_chat_id_chats", "chats", ["chat_id"], ["id"], ondelete="CASCADE"
        )
        batch.create_foreign_key(
            "fk_deliveries_broadcast_id_broadcasts",
            "broadcasts",
            ["broadcast_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch.create_foreign_key(
            "fk_deliveries_post_id_posts", "posts", ["post_id"], ["id"], ondelete="CASCADE"
        )
