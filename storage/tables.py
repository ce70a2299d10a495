"""The schema, as SQLAlchemy Core tables. Migrations in `storage/migrations` create it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

#: 64-bit ids on PostgreSQL; SQLite's autoincrement needs plain INTEGER.
Id = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every database.

    SQLite has no time zones: it stores naive UTC, which also keeps its text
    comparisons in chronological order.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


sources = Table(
    "sources",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("content_hash", String(64)),
    Column("initialized", Boolean, nullable=False, default=False),
    Column("failures", Integer, nullable=False, default=0),
    Column("last_fetch_at", UtcDateTime),
    Column("last_ok_at", UtcDateTime),
    Column("last_error", Text),
    Column("next_fetch_at", UtcDateTime),
    # Several processes on one database: the one holding the lease fetches.
    Column("lease_owner", String(64)),
    Column("lease_until", UtcDateTime),
    Column("paused", Boolean, nullable=False, server_default=false()),
    #: Set for sources added from a chat or an OPML file (config sources have it NULL).
    Column("url", Text),
    Column("categories", Text),
    Column("added_by", String(100)),
)

posts = Table(
    "posts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("source", String(100), nullable=False),
    Column("guid", Text, nullable=False),
    Column("fingerprint", String(32), nullable=False),
    Column("link", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("excerpt", Text, nullable=False),
    #: JSON list of the categories as written, for display.
    Column("categories", Text, nullable=False),
    Column("published_at", UtcDateTime),
    Column("seen_at", UtcDateTime, nullable=False),
    Column("image", Text),
    Column("breaking", Boolean, nullable=False),
    #: Bumped when the source changes the title or excerpt after alerting.
    Column("revision", Integer, nullable=False, server_default="0"),
    #: False for what a source's first fetch found and for a story already seen elsewhere.
    Column("alerted", Boolean, nullable=False),
    UniqueConstraint("source", "guid"),
    Index("ix_posts_fingerprint", "fingerprint"),
    Index("ix_posts_published", "published_at"),
)

post_categories = Table(
    "post_categories",
    metadata,
    Column("post_id", Id, ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True),
    #: Case-folded, for matching: `it` matches `IT`.
    Column("key", String(64), primary_key=True),
    Column("name", String(64), nullable=False),
    Index("ix_post_categories_key", "key"),
)

chats = Table(
    "chats",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("platform", String(16), nullable=False),
    Column("chat_id", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("language", String(8), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("title", Text),
    Column("created_at", UtcDateTime, nullable=False),
    #: A forum topic inside the chat ("" for the chat itself): each topic is a chat of its own.
    Column("thread_id", String(32), nullable=False, server_default=""),
    #: Quiet hours and daily digest, as minutes after local midnight.
    Column("quiet_from", SmallInteger),
    Column("quiet_to", SmallInteger),
    Column("quiet_all", Boolean, nullable=False, server_default=false()),
    Column("digest_at", SmallInteger),
    Column("timezone", String(64), nullable=False, server_default="Asia/Seoul"),
    Column("last_digest_at", UtcDateTime),
    UniqueConstraint("platform", "chat_id", "thread_id"),
)

#: Keyword filters: `pattern` is the form matched against a post's normalized text.
chat_filters = Table(
    "chat_filters",
    metadata,
    Column("chat_id", Id, ForeignKey("chats.id", ondelete="CASCADE"), primary_key=True),
    Column("exclude", Boolean, primary_key=True),
    Column("pattern", String(256), primary_key=True),
    Column("term", String(256), nullable=False),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("chat_id", Id, ForeignKey("chats.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(64), primary_key=True),
    Column("name", String(64), nullable=False),
    Index("ix_subscriptions_key", "key"),
)

broadcasts = Table(
    "broadcasts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("text", Text, nullable=False),
    Column("category", String(64)),
    Column("author", String(100), nullable=False),
    #: `draft` until an admin presses Send, then `queued`; `cancelled` otherwise.
    Column("state", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    # No foreign keys here on purpose: checking three of them for each of 100,000 rows
    # tripled the cost of planning one post on PostgreSQL (bench/plan.py). The Store is
    # the only writer, and posts, broadcasts and chats are never deleted.
    Column("post_id", Id),
    Column("broadcast_id", Id),
    Column("chat_id", Id, nullable=False),
    #: The chat's platform, copied so each platform's sender claims by index.
    Column("platform", String(16), nullable=False),
    Column("priority", SmallInteger, nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("lease_owner", String(64)),
    Column("lease_until", UtcDateTime),
    Column("message_id", String(64)),
    Column("error", Text),
    #: `edit` or `delete` on a sent row: work the dispatcher still owes that message.
    Column("action", String(8)),
    #: A digest's posts, as a JSON list of post ids, newest first.
    Column("digest", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
    Index(
        "uq_deliveries_post_chat",
        "post_id",
        "chat_id",
        unique=True,
        postgresql_where=text("post_id IS NOT NULL"),
        sqlite_where=text("post_id IS NOT NULL"),
    ),
    Index(
        "uq_deliveries_broadcast_chat",
        "broadcast_id",
        "chat_id",
        unique=True,
        postgresql_where=text("broadcast_id IS NOT NULL"),
        sqlite_where=text("broadcast_id IS NOT NULL"),
    ),
    Index("ix_deliveries_due", "platform", "state", "priority", "next_attempt_at"),
    #: Sent rows still owing an edit or a deletion: few among the outbox's whole history.
    #: The columns of `ix_deliveries_due`: with both matching as well, SQLite's planner
    #: takes the partial (smaller) one.
    Index(
        "ix_deliveries_owed",
        "platform",
        "state",
        "priority",
        "next_attempt_at",
        postgresql_where=text("action IS NOT NULL"),
        sqlite_where=text("action IS NOT NULL"),
    ),
    Index("ix_deliveries_post", "post_id"),
    Index("ix_deliveries_broadcast", "broadcast_id"),
)

#: Named roles held by one process at a time (the platform receiver), with an expiry.
leases = Table(
    "leases",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("owner", String(64), nullable=False),
    Column("until", UtcDateTime, nullable=False),
)
