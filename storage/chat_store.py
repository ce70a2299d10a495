"""The Store's chats: identity and topics, subscriptions, keyword filters, quiet hours, digests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.errors import InvalidInput
from bot.filters import MAX_FILTERS, pattern_for
from bot.models import (
    ALL,
    Chat,
    DeliveryState,
    KeywordFilter,
    Language,
    QuietHours,
)
from storage import outbox
from storage.base import StoreBase, count_rows
from storage.rows import (
    UNSET,
    Unset,
    chat_from_row,
    minutes,
    quiet_values,
)
from storage.tables import (
    broadcasts,
    chat_filters,
    chats,
    deliveries,
    subscriptions,
)


class ChatStore(StoreBase):
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

    async def chat_ids_within(self, platform: str, chat_id: str) -> list[int]:
        """The stored chat and every topic or thread inside it (its `thread_id` chats)."""
        query = select(chats.c.id).where(chats.c.platform == platform, chats.c.chat_id == chat_id)
        async with self._tx() as conn:
            return list((await conn.execute(query)).scalars())

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
            count = await count_rows(conn, chat_filters.c.chat_id == chat.id)
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


def _identity(platform: str, chat_id: str, thread_id: str | None) -> ColumnElement[bool]:
    return and_(
        chats.c.platform == platform,
        chats.c.chat_id == chat_id,
        chats.c.thread_id == (thread_id or ""),
    )
