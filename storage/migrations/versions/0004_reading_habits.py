"""Keyword filters, forum topics, quiet hours and digests.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.tables

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("chats") as batch:
        batch.add_column(
            sa.Column("thread_id", sa.String(length=32), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("quiet_from", sa.SmallInteger(), nullable=True))
        batch.add_column(sa.Column("quiet_to", sa.SmallInteger(), nullable=True))
        batch.add_column(
            sa.Column("quiet_all", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("digest_at", sa.SmallInteger(), nullable=True))
        batch.add_column(
            sa.Column("timezone", sa.String(length=64), nullable=False, server_default="Asia/Seoul")
        )
        batch.add_column(
            sa.Column("last_digest_at", storage.tables.UtcDateTime(timezone=True), nullable=True)
        )
        batch.drop_constraint("uq_chats_platform_chat_id", type_="unique")
        batch.create_unique_constraint(
            "uq_chats_platform_chat_id_thread_id", ["platform", "chat_id", "thread_id"]
        )
    op.create_table(
        "chat_filters",
        sa.Column(
            "chat_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.ForeignKey("chats.id", ondelete="CASCADE", name="fk_chat_filters_chat_id_chats"),
            nullable=False,
        ),
        sa.Column("exclude", sa.Boolean(), nullable=False),
        sa.Column("pattern", sa.String(length=256), nullable=False),
        sa.Column("term", sa.String(length=256), nullable=False),
        sa.PrimaryKeyConstraint("chat_id", "exclude", "pattern", name="pk_chat_filters"),
    )
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("digest", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("digest")
    op.drop_table("chat_filters")
    with op.batch_alter_table("chats") as batch:
        batch.drop_constraint("uq_chats_platform_chat_id_thread_id", type_="unique")
        batch.create_unique_constraint("uq_chats_platform_chat_id", ["platform", "chat_id"])
        for column in (
            "last_digest_at",
            "timezone",
            "digest_at",
            "quiet_all",
            "quiet_to",
            "quiet_from",
            "thread_id",
        ):
            batch.drop_column(column)
