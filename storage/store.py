"""The `Store`: async methods that take and return `bot.models` records. No SQL outside."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event, func, select, update
from sqlalchemy.ext.asyncio import create_async_engine

from bot.models import (
    ALL,
    Broadcast,
    CategoryCount,
    Delivery,
    DeliveryState,
    Post,
)
from storage import outbox, planning
from storage.base import Clock, count_groups, count_rows, utcnow
from storage.chat_store import ChatStore
from storage.outbox import DeliveryResult
from storage.rows import (
    broadcast_from_row,
    post_from_row,
)
from storage.source_store import IngestResult, SourceStore
from storage.tables import (
    broadcasts,
    chats,
    deliveries,
    post_categories,
    posts,
    sources,
    subscriptions,
)

__all__ = ["IngestResult", "Stats", "Store", "open_store"]


@dataclass(frozen=True, slots=True)
class Stats:
    chats_by_platform: dict[str, int]
    subscriptions_by_category: dict[str, int]
    posts_today: int
    deliveries_by_state: dict[str, int]
    sources_failing: int


@asynccontextmanager
async def open_store(url: str, *, clock: Clock = utcnow) -> AsyncIterator[Store]:
    """A `Store` on `url` (any SQLAlchemy async URL), closed on exit."""
    engine = create_async_engine(url, **_engine_options(url))
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    try:
        yield Store(engine, clock=clock)
    finally:
        await engine.dispose()


def _engine_options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        # One writer at a time: wait for the lock instead of failing at once.
        return {"connect_args": {"timeout": 30}}
    return {"pool_size": 10, "max_overflow": 10, "pool_pre_ping": True}


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    """Write-ahead logging, synced at checkpoints rather than at every commit.

    A poll cycle commits once per source with new posts, and a commit in the
    default rollback-journal mode costs several fsyncs: about a third of an
    ingest's CPU here (15 ms against 10 ms). WAL also lets readers in other
    processes go on while one writes. The price: a power cut (not a crash of
    the process) can undo the last commits; those posts are fetched and planned
    again, and a send whose outcome was undone may repeat, as after any crash
    mid-send.
    """
    cursor = connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


class Store(SourceStore, ChatStore):
    """The one way in and out of the database. Raises `StoreError` when it cannot answer."""

    # --- posts -----------------------------------------------------------------------

    async def latest(self, limit: int, category: str | None = None) -> list[Post]:
        """The newest posts, optionally of one category (case-insensitive)."""
        newest = func.coalesce(posts.c.published_at, posts.c.seen_at)
        query = select(posts).order_by(newest.desc(), posts.c.id.desc()).limit(limit)
        if category is not None:
            query = query.where(
                posts.c.id.in_(
                    select(post_categories.c.post_id).where(
                        post_categories.c.key == category.casefold()
                    )
                )
            )
        async with self._tx() as conn:
            return [post_from_row(row._mapping) for row in await conn.execute(query)]

    async def categories(self) -> list[CategoryCount]:
        """Every category seen in a post, with its number of posts, most used first."""
        query = (
            select(func.min(post_categories.c.name), func.count())
            .group_by(post_categories.c.key)
            .order_by(func.count().desc(), func.min(post_categories.c.name))
        )
        async with self._tx() as conn:
            return [CategoryCount(name, count) for name, count in await conn.execute(query)]

    # --- broadcasts ----------------------------------------------------------------------

    async def create_broadcast(self, broadcast: Broadcast) -> Broadcast:
        """Store a draft; nothing is queued until `queue_broadcast`."""
        now = self._clock()
        async with self._tx() as conn:
            result = await conn.execute(
                broadcasts.insert()
                .values(
                    text=broadcast.text,
                    category=broadcast.category,
                    author=broadcast.author,
                    state="draft",
                    created_at=now,
                )
                .returning(broadcasts.c.id)
            )
            return replace(broadcast, id=result.scalar_one(), created_at=now)

    async def recipients(self, category: str | None) -> int:
        """How many active chats a broadcast to `category` (None: everyone) would reach."""
        condition = (
            chats.c.active
            if category is None
            else planning.subscriber_condition([category.casefold(), ALL])
        )
        async with self._tx() as conn:
            return int((await conn.execute(select(func.count()).where(condition))).scalar_one())

    async def queue_broadcast(self, broadcast_id: int) -> int | None:
        """Plan a draft for its recipients, once; None if it is not a draft (any more)."""
        async with self._tx() as conn:
            claimed = await conn.execute(
                update(broadcasts)
                .where(broadcasts.c.id == broadcast_id, broadcasts.c.state == "draft")
                .values(state="queued")
                .returning(broadcasts.c.category)
            )
            row = claimed.first()
            if row is None:
                return None
            keys = None if row.category is None else [row.category.casefold(), ALL]
            return await planning.plan_broadcast(conn, broadcast_id, keys, self._clock())

    async def cancel_broadcast(self, broadcast_id: int) -> bool:
        async with self._tx() as conn:
            result = await conn.execute(
                update(broadcasts)
                .where(broadcasts.c.id == broadcast_id, broadcasts.c.state == "draft")
                .values(state="cancelled")
            )
            return bool(result.rowcount)

    async def broadcast_progress(self, broadcast_id: int) -> dict[str, int]:
        """How a queued broadcast's rows stand, by state."""
        query = (
            select(deliveries.c.state, func.count())
            .where(deliveries.c.broadcast_id == broadcast_id)
            .group_by(deliveries.c.state)
        )
        async with self._tx() as conn:
            return {s.value: 0 for s in DeliveryState} | await count_groups(conn, query)

    async def find_broadcast(self, broadcast_id: int) -> Broadcast | None:
        async with self._tx() as conn:
            query = select(broadcasts).where(broadcasts.c.id == broadcast_id)
            row = (await conn.execute(query)).first()
        return broadcast_from_row(row._mapping) if row else None

    async def recall_broadcast(self, broadcast_id: int) -> tuple[int, int] | None:
        """Take a broadcast back: (rows cancelled, messages to delete); None if unknown."""
        async with self._tx() as conn:
            found = await conn.execute(
                select(broadcasts.c.id).where(broadcasts.c.id == broadcast_id)
            )
            if found.first() is None:
                return None
            await conn.execute(
                update(broadcasts).where(broadcasts.c.id == broadcast_id).values(state="recalled")
            )
            return await outbox.recall(
                conn, deliveries.c.broadcast_id == broadcast_id, self._clock()
            )

    async def recall_post(self, post_id: int) -> tuple[int, int] | None:
        """Take a post's alerts back: (rows cancelled, messages to delete); None if unknown."""
        async with self._tx() as conn:
            found = await conn.execute(select(posts.c.id).where(posts.c.id == post_id))
            if found.first() is None:
                return None
            return await outbox.recall(conn, deliveries.c.post_id == post_id, self._clock())

    # --- the outbox -----------------------------------------------------------------------

    async def claim(
        self, platforms: Sequence[str], *, limit: int, lease: timedelta, owner: str
    ) -> list[Delivery]:
        """Claim up to `limit` due rows for `platforms` under a lease; breaking first."""
        now = self._clock()
        async with self._tx() as conn:
            ids = await outbox.claim(
                conn, platforms, limit=limit, now=now, lease_until=now + lease, owner=owner
            )
        if not ids:
            return []
        async with self._tx() as conn:
            return await outbox.load_deliveries(conn, ids)

    async def settle(self, results: Sequence[DeliveryResult]) -> None:
        async with self._tx() as conn:
            await outbox.settle(conn, results, self._clock())

    async def next_due_at(self, platforms: Sequence[str], owner: str) -> datetime | None:
        """When `owner` can next claim a row for `platforms` (None: nothing waits)."""
        async with self._tx() as conn:
            return await outbox.next_due_at(conn, platforms, owner)

    async def deliveries_for_post(self, post_id: int) -> list[Delivery]:
        async with self._tx() as conn:
            query = select(deliveries.c.id).where(deliveries.c.post_id == post_id)
            ids = list((await conn.execute(query)).scalars())
            return await outbox.load_deliveries(conn, ids)

    async def stats(self) -> Stats:
        """Counts for `/stats` and `newsbot stats`."""
        since = self._clock() - timedelta(days=1)
        by_platform = (
            select(chats.c.platform, func.count()).where(chats.c.active).group_by(chats.c.platform)
        )
        by_category = (
            select(func.min(subscriptions.c.name), func.count())
            .join(chats, chats.c.id == subscriptions.c.chat_id)
            .where(chats.c.active)
            .group_by(subscriptions.c.key)
        )
        by_state = select(deliveries.c.state, func.count()).group_by(deliveries.c.state)
        async with self._tx() as conn:
            return Stats(
                chats_by_platform=await count_groups(conn, by_platform),
                subscriptions_by_category=await count_groups(conn, by_category),
                posts_today=await count_rows(conn, posts.c.seen_at >= since),
                deliveries_by_state={s.value: 0 for s in DeliveryState}
                | await count_groups(conn, by_state),
                sources_failing=await count_rows(conn, sources.c.failures > 0),
            )
