"""The `Store`: async methods that take and return `bot.models` records. No SQL outside."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from bot.errors import InvalidInput, StoreError
from bot.filters import MAX_FILTERS, pattern_for
from bot.models import (
    ALL,
    AddedSource,
    Broadcast,
    CategoryCount,
    Chat,
    Delivery,
    DeliveryState,
    KeywordFilter,
    Language,
    Post,
    QuietHours,
    SourceState,
)
from storage import outbox
from storage.outbox import DeliveryResult
from storage.rows import (
    UNSET,
    Unset,
    broadcast_from_row,
    chat_from_row,
    minutes,
    post_from_row,
    quiet_values,
    source_from_row,
    source_values,
)
from storage.tables import (
    broadcasts,
    chat_filters,
    chats,
    deliveries,
    leases,
    post_categories,
    posts,
    sources,
    subscriptions,
)

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What one `Store.ingest` wrote."""

    #: The posts that were new and alerted, with their ids.
    alerted: tuple[Post, ...]
    #: New posts recorded without an alert (a first fetch, or a story seen elsewhere).
    recorded: int
    #: Outbox rows planned.
    planned: int
    #: Posts already alerted whose title or excerpt changed: their messages get edited.
    revised: int = 0


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
    try:
        yield Store(engine, clock=clock)
    finally:
        await engine.dispose()


def _engine_options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        # One writer at a time: wait for the lock instead of failing at once.
        return {"connect_args": {"timeout": 30}}
    return {"pool_size": 10, "max_overflow": 10, "pool_pre_ping": True}


class Store:
    """The one way in and out of the database. Raises `StoreError` when it cannot answer."""

    def __init__(self, engine: AsyncEngine, *, clock: Clock = utcnow) -> None:
        self.engine = engine
        self._clock = clock

    @asynccontextmanager
    async def _tx(self) -> AsyncIterator[AsyncConnection]:
        try:
            async with self.engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise StoreError(f"database error: {type(exc).__name__}: {exc.args[0]!s:.200}") from exc

    def _insert(self, table: Any) -> Any:
        """The dialect's INSERT, which knows ON CONFLICT (both spell it the same way)."""
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        return dialect.insert(table)

    async def ping(self) -> None:
        async with self._tx() as conn:
            await conn.execute(select(1))

    # --- sources -----------------------------------------------------------------

    async def source_state(self, name: str) -> SourceState:
        async with self._tx() as conn:
            row = (await conn.execute(select(sources).where(sources.c.name == name))).first()
        return source_from_row(row._mapping) if row else SourceState(name=name)

    async def source_states(self) -> list[SourceState]:
        async with self._tx() as conn:
            rows = await conn.execute(select(sources).order_by(sources.c.name))
            return [source_from_row(row._mapping) for row in rows]

    async def save_source_state(self, state: SourceState, *, release: bool = False) -> None:
        async with self._tx() as conn:
            await self._save_source(conn, state, release=release)

    async def _save_source(
        self, conn: AsyncConnection, state: SourceState, *, release: bool = False
    ) -> None:
        """Upsert `state`; with `release`, also give up this process's fetch lease."""
        values = source_values(state)
        if release:
            values |= {"lease_owner": None, "lease_until": None}
        statement = self._insert(sources).values(name=state.name, **values)
        await conn.execute(statement.on_conflict_do_update(index_elements=["name"], set_=values))

    async def add_source(self, source: AddedSource) -> bool:
        """Remember a source added from a chat; False if the name or URL is taken."""
        async with self._tx() as conn:
            taken = await conn.execute(
                select(sources.c.name).where(
                    or_(sources.c.name == source.name, sources.c.url == source.url)
                )
            )
            if taken.first() is not None:
                return False
            await conn.execute(
                sources.insert().values(
                    name=source.name,
                    url=source.url,
                    categories=json.dumps(list(source.categories), ensure_ascii=False),
                    added_by=source.added_by,
                    initialized=False,
                    failures=0,
                )
            )
            return True

    async def added_sources(self) -> list[AddedSource]:
        """Every source added from a chat or an OPML file, paused ones included."""
        query = select(sources).where(sources.c.url.is_not(None)).order_by(sources.c.name)
        async with self._tx() as conn:
            return [
                AddedSource(r.name, r.url, tuple(json.loads(r.categories or "[]")), r.added_by)
                for r in await conn.execute(query)
            ]

    async def remove_source(self, name: str) -> bool:
        """Forget an added source (its posts stay); False if there is no such added source."""
        async with self._tx() as conn:
            gone = await conn.execute(
                delete(sources).where(sources.c.name == name, sources.c.url.is_not(None))
            )
            return bool(gone.rowcount)

    async def pause_source(self, name: str, paused: bool) -> None:
        """Pause or resume a source (the caller knows the name is configured or added)."""
        async with self._tx() as conn:
            await conn.execute(
                self._insert(sources)
                .values(name=name, initialized=False, failures=0)
                .on_conflict_do_nothing()
            )
            await conn.execute(update(sources).where(sources.c.name == name).values(paused=paused))

    async def lease_source(self, name: str, owner: str, lease: timedelta) -> SourceState | None:
        """Take `name` for `owner` until the lease runs out, and return its state.

        None while another process holds it.

        Several processes on one database fetch each source once: the one holding
        the lease fetches, and a process that died leaves its lease to expire.
        """
        now = self._clock()
        async with self._tx() as conn:
            await conn.execute(
                self._insert(sources)
                .values(name=name, initialized=False, failures=0)
                .on_conflict_do_nothing()
            )
            taken = await conn.execute(
                update(sources)
                .where(
                    sources.c.name == name,
                    or_(
                        sources.c.lease_until.is_(None),
                        sources.c.lease_until < now,
                        sources.c.lease_owner == owner,
                    ),
                )
                .values(lease_owner=owner, lease_until=now + lease)
                .returning(*sources.c)
            )
            row = taken.first()
            return source_from_row(row._mapping) if row else None

    async def release_source(self, name: str, owner: str) -> None:
        async with self._tx() as conn:
            await conn.execute(
                update(sources)
                .where(sources.c.name == name, sources.c.lease_owner == owner)
                .values(lease_owner=None, lease_until=None)
            )

    async def hold_lease(self, name: str, owner: str, lease: timedelta) -> bool:
        """Take or renew the role `name` for `owner`; False while another owner holds it."""
        now = self._clock()
        async with self._tx() as conn:
            values = {"name": name, "owner": owner, "until": now + lease}
            await conn.execute(self._insert(leases).values(**values).on_conflict_do_nothing())
            taken = await conn.execute(
                update(leases)
                .where(leases.c.name == name, or_(leases.c.owner == owner, leases.c.until < now))
                .values(owner=owner, until=now + lease)
            )
            return bool(taken.rowcount)

    async def drop_lease(self, name: str, owner: str) -> None:
        """Give the role up at once (a clean stop), so another process takes over now."""
        async with self._tx() as conn:
            await conn.execute(delete(leases).where(leases.c.name == name, leases.c.owner == owner))

    async def ingest(
        self,
        state: SourceState,
        found: Sequence[Post],
        *,
        backfill: int = 0,
        baseline: bool = True,
        release: bool = False,
    ) -> IngestResult:
        """Store what is new in `found` and plan its alerts, with `state`, in one transaction.

        New means an unknown (source, guid) whose link's fingerprint is not
        known either. On the source's first successful fetch only the
        `backfill` newest new posts are alerted and the rest are recorded,
        unless `baseline` is False (pushed posts are always news).
        """
        now = self._clock()
        async with self._tx() as conn:
            first = baseline and not await self._initialized(conn, state.name)
            fresh, revised = await self._unseen(conn, state.name, found, now)
            known = await outbox.known_fingerprints(conn, [p.fingerprint for p in fresh])
            chosen = _choose_alerts(fresh, known, backfill if first else None)
            ids = await outbox.insert_posts(conn, chosen, now)
            alerted: list[Post] = []
            planned = 0
            for post_id, (post, alert) in zip(ids, chosen, strict=True):
                if alert:
                    planned += await outbox.plan_post(conn, post_id, post, now)
                    alerted.append(replace(post, id=post_id))
            await self._save_source(conn, replace(state, initialized=True), release=release)
        return IngestResult(tuple(alerted), len(chosen) - len(alerted), planned, revised)

    async def _initialized(self, conn: AsyncConnection, name: str) -> bool:
        query = select(sources.c.initialized).where(sources.c.name == name)
        return bool((await conn.execute(query)).scalar())

    async def _unseen(
        self, conn: AsyncConnection, source: str, found: Sequence[Post], now: datetime
    ) -> tuple[list[Post], int]:
        """The posts not stored yet, and how many stored ones were revised at the source."""
        unique = list({p.guid: p for p in reversed(found)}.values())[::-1]
        known = await outbox.stored_versions(conn, source, [p.guid for p in unique])
        revised = 0
        for post in unique:
            stored = known.get(post.guid)
            if stored is not None and _changed(stored, post, now):
                await outbox.revise_post(conn, stored.id, post, now)
                revised += 1
        return [p for p in unique if p.guid not in known], revised

    # --- chats and subscriptions -------------------------------------------------------

    async def ensure_chat(self, chat: Chat) -> Chat:
        """The stored chat for (platform, chat_id, thread), created from `chat` if new."""
        async with self._tx() as conn:
            values = {
                "platform": chat.platform,
                "chat_id": chat.chat_id,
                "thread_id": chat.thread_id or "",
                "kind": chat.kind,
                "language": chat.language,
                "active": chat.active,
                "title": chat.title,
                "created_at": self._clock(),
            }
            await conn.execute(self._insert(chats).values(**values).on_conflict_do_nothing())
            return await self._chat(conn, chat.platform, chat.chat_id, chat.thread_id)

    async def _chat(
        self, conn: AsyncConnection, platform: str, chat_id: str, thread_id: str | None
    ) -> Chat:
        query = select(chats).where(_identity(platform, chat_id, thread_id))
        return chat_from_row((await conn.execute(query)).one()._mapping)

    async def find_chat(
        self, platform: str, chat_id: str, thread_id: str | None = None
    ) -> Chat | None:
        async with self._tx() as conn:
            query = select(chats).where(_identity(platform, chat_id, thread_id))
            row = (await conn.execute(query)).first()
        return chat_from_row(row._mapping) if row else None

    async def update_chat(
        self,
        chat: Chat,
        *,
        language: Language | None = None,
        active: bool | None = None,
        quiet: QuietHours | Unset | None = UNSET,
        digest_at: time | Unset | None = UNSET,
    ) -> Chat:
        """Change a chat's settings; returns the chat as stored now."""
        values: dict[str, Any] = {}
        if language is not None:
            values["language"] = language
        if active is not None:
            values["active"] = active
        if not isinstance(quiet, Unset):
            values |= quiet_values(quiet)
        if not isinstance(digest_at, Unset):
            values["digest_at"] = minutes(digest_at)
            # The first digest comes at the next digest time, not at once.
            values["last_digest_at"] = self._clock()
        async with self._tx() as conn:
            if values:
                await conn.execute(update(chats).where(chats.c.id == chat.id).values(**values))
            return await self._chat(conn, chat.platform, chat.chat_id, chat.thread_id)

    async def move_chat(self, chat: Chat, new_chat_id: str) -> None:
        """Give the chat (and its topics) the platform's new id; subscriptions follow."""
        async with self._tx() as conn:
            await conn.execute(
                update(chats)
                .where(chats.c.platform == chat.platform, chats.c.chat_id == chat.chat_id)
                .values(chat_id=new_chat_id)
            )

    async def thread_gone(self, chat: Chat, notice: str) -> Chat:
        """The chat's topic is gone: its alerts go to the main chat from now on, once said so.

        The topic's subscriptions and filters move to the main chat (merged when it
        has its own), queued rows follow, and a notice is queued for the main chat.
        """
        now = self._clock()
        async with self._tx() as conn:
            main = await self._main_chat(conn, chat, now)
            if main.id != chat.id:
                await outbox.merge_chat(conn, source=chat, target=main)
            note = await conn.execute(
                broadcasts.insert()
                .values(
                    text=notice, category=None, author="newsbot", state="queued", created_at=now
                )
                .returning(broadcasts.c.id)
            )
            await outbox.plan_notice(conn, note.scalar_one(), main, now)
            return main

    async def _main_chat(self, conn: AsyncConnection, chat: Chat, now: datetime) -> Chat:
        """The chat itself without its topic: the topic's row becomes it, unless it exists."""
        existing = (
            await conn.execute(select(chats).where(_identity(chat.platform, chat.chat_id, None)))
        ).first()
        if existing is not None:
            return chat_from_row(existing._mapping)
        await conn.execute(update(chats).where(chats.c.id == chat.id).values(thread_id=""))
        return await self._chat(conn, chat.platform, chat.chat_id, None)

    async def chats_gone(self, chat_ids: Sequence[int], reason: str) -> None:
        """Deactivate chats that blocked the bot or vanished, and fail what was queued."""
        if not chat_ids:
            return
        async with self._tx() as conn:
            for part in outbox.chunks(list(chat_ids)):
                await conn.execute(update(chats).where(chats.c.id.in_(part)).values(active=False))
            await outbox.fail_pending_for_chats(conn, list(chat_ids), reason)

    async def subscribe(self, chat: Chat, names: Sequence[str]) -> list[str]:
        """Add subscriptions; returns the names that were not there before."""
        async with self._tx() as conn:
            have = await self._subscription_keys(conn, chat)
            fresh = {n.casefold(): n for n in reversed(names)}  # first spelling wins
            added = [n for key, n in reversed(fresh.items()) if key not in have]
            rows = [{"chat_id": chat.id, "key": n.casefold(), "name": n} for n in added]
            if rows:
                await conn.execute(self._insert(subscriptions).on_conflict_do_nothing(), rows)
        return added

    async def unsubscribe(self, chat: Chat, names: Sequence[str]) -> list[str]:
        """Remove subscriptions (`all` removes every one); returns the names removed."""
        keys = {n.casefold() for n in names}
        async with self._tx() as conn:
            query = select(subscriptions.c.key, subscriptions.c.name).where(
                subscriptions.c.chat_id == chat.id
            )
            rows = (await conn.execute(query)).all()
            gone = [r.name for r in rows if ALL in keys or r.key in keys]
            condition = subscriptions.c.chat_id == chat.id
            if ALL not in keys:
                condition = condition & subscriptions.c.key.in_(keys)
            await conn.execute(delete(subscriptions).where(condition))
        return gone

    async def subscriptions(self, chat: Chat) -> list[str]:
        async with self._tx() as conn:
            query = (
                select(subscriptions.c.name)
                .where(subscriptions.c.chat_id == chat.id)
                .order_by(subscriptions.c.key)
            )
            return list((await conn.execute(query)).scalars())

    async def _subscription_keys(self, conn: AsyncConnection, chat: Chat) -> set[str]:
        query = select(subscriptions.c.key).where(subscriptions.c.chat_id == chat.id)
        return set((await conn.execute(query)).scalars())

    # --- keyword filters, quiet hours, digests ------------------------------------------

    async def add_filter(self, chat: Chat, keyword: KeywordFilter) -> bool:
        """Add a keyword; False if the chat has it already. Raises `InvalidInput` over the limit."""
        async with self._tx() as conn:
            count = await _count(conn, chat_filters.c.chat_id == chat.id)
            if count >= MAX_FILTERS:
                raise InvalidInput(f"at most {MAX_FILTERS} keywords per chat")
            values = {
                "chat_id": chat.id,
                "exclude": keyword.exclude,
                "pattern": pattern_for(keyword.term),
                "term": keyword.term,
            }
            added = await conn.execute(
                self._insert(chat_filters).values(**values).on_conflict_do_nothing()
            )
            return bool(added.rowcount)

    async def remove_filter(self, chat: Chat, keyword: KeywordFilter) -> bool:
        async with self._tx() as conn:
            gone = await conn.execute(
                delete(chat_filters).where(
                    chat_filters.c.chat_id == chat.id,
                    chat_filters.c.exclude == keyword.exclude,
                    chat_filters.c.pattern == pattern_for(keyword.term),
                )
            )
            return bool(gone.rowcount)

    async def clear_filters(self, chat: Chat) -> int:
        async with self._tx() as conn:
            gone = await conn.execute(delete(chat_filters).where(chat_filters.c.chat_id == chat.id))
            return gone.rowcount or 0

    async def filters(self, chat: Chat) -> list[KeywordFilter]:
        query = (
            select(chat_filters.c.term, chat_filters.c.exclude)
            .where(chat_filters.c.chat_id == chat.id)
            .order_by(chat_filters.c.exclude, chat_filters.c.term)
        )
        async with self._tx() as conn:
            return [KeywordFilter(term, bool(ex)) for term, ex in await conn.execute(query)]

    async def chats_holding(self) -> list[tuple[Chat, datetime | None]]:
        """Active chats with alerts held for a digest, and when each got its last digest."""
        holding = select(deliveries.c.chat_id).where(deliveries.c.state == DeliveryState.HELD.value)
        query = select(chats).where(chats.c.active, chats.c.id.in_(holding))
        async with self._tx() as conn:
            rows = await conn.execute(query)
            return [(chat_from_row(r._mapping), r.last_digest_at) for r in rows]

    async def make_digest(self, chat: Chat, limit: int) -> int:
        """Fold the chat's held alerts into one digest row of its newest `limit` posts."""
        now = self._clock()
        async with self._tx() as conn:
            return await outbox.fold_held(conn, chat, limit, now)

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
            else outbox.subscriber_condition([category.casefold(), ALL])
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
            return await outbox.plan_broadcast(conn, broadcast_id, keys, self._clock())

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
            return {s.value: 0 for s in DeliveryState} | await _counts(conn, query)

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

    async def next_due_at(self, platforms: Sequence[str]) -> datetime | None:
        async with self._tx() as conn:
            return await outbox.next_due_at(conn, platforms)

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
                chats_by_platform=await _counts(conn, by_platform),
                subscriptions_by_category=await _counts(conn, by_category),
                posts_today=await _count(conn, posts.c.seen_at >= since),
                deliveries_by_state={s.value: 0 for s in DeliveryState}
                | await _counts(conn, by_state),
                sources_failing=await _count(conn, sources.c.failures > 0),
            )


async def _counts(conn: AsyncConnection, query: Select[Any, Any]) -> dict[str, int]:
    return {str(key): int(value) for key, value in await conn.execute(query)}


async def _count(conn: AsyncConnection, condition: ColumnElement[bool]) -> int:
    return int((await conn.execute(select(func.count()).where(condition))).scalar_one())


def _identity(platform: str, chat_id: str, thread_id: str | None) -> ColumnElement[bool]:
    return and_(
        chats.c.platform == platform,
        chats.c.chat_id == chat_id,
        chats.c.thread_id == (thread_id or ""),
    )


#: A correction at the source updates messages sent within this long.
LIVE_UPDATE_WINDOW = timedelta(hours=24)


def _changed(stored: outbox.StoredVersion, post: Post, now: datetime) -> bool:
    """An alerted post whose headline or text the source corrected, recently enough."""
    return (
        stored.alerted
        and now - stored.seen_at <= LIVE_UPDATE_WINDOW
        and (stored.title, stored.excerpt) != (post.title, post.excerpt)
    )


def _choose_alerts(
    fresh: Sequence[Post], known_prints: set[str], backfill: int | None
) -> list[tuple[Post, bool]]:
    """Pair each new post with whether it is alerted.

    A story whose link was seen before (another source, or a changed guid) is
    recorded silently. `backfill` None means a normal fetch: alert every new
    post; a number means a first fetch: alert only that many of the newest.
    """
    chosen: list[tuple[Post, bool]] = []
    prints = set(known_prints)
    for post in fresh:
        chosen.append((post, post.fingerprint not in prints))
        prints.add(post.fingerprint)
    if backfill is None:
        return chosen
    oldest = datetime.min.replace(tzinfo=UTC)
    newest = sorted(
        (p for p, alert in chosen if alert),
        key=lambda p: p.published_at or oldest,
        reverse=True,
    )[:backfill]
    keep = {id(p) for p in newest}
    return [(p, id(p) in keep) for p, _ in chosen]
