"""Planning: storing new posts and the outbox rows they are owed, set-based.

Functions of one open connection (inside the caller's transaction): `Store`
wraps them. Planning is one INSERT … SELECT per post, so a post for 100,000
chats costs one statement, not a loop; keyword filters are applied inside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    and_,
    case,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.filters import normalized_text
from bot.models import (
    ALL,
    BREAKING,
    PRIORITY_BREAKING,
    PRIORITY_BROADCAST,
    PRIORITY_NORMAL,
    DeliveryState,
    Post,
)
from storage.outbox import chunks, owe_edits
from storage.rows import post_values
from storage.tables import chat_filters, chats, deliveries, post_categories, posts, subscriptions


@dataclass(frozen=True, slots=True)
class StoredVersion:
    """What a stored post said, to tell whether the source changed it."""

    id: int
    title: str
    excerpt: str
    seen_at: datetime
    alerted: bool


async def stored_versions(
    conn: AsyncConnection, source: str, guids: Sequence[str]
) -> dict[str, StoredVersion]:
    """The stored posts of `source` among `guids`, by guid."""
    found: dict[str, StoredVersion] = {}
    columns = (posts.c.guid, posts.c.id, posts.c.title, posts.c.excerpt, posts.c.seen_at)
    for part in chunks(guids):
        query = select(*columns, posts.c.alerted).where(
            posts.c.source == source, posts.c.guid.in_(part)
        )
        for row in await conn.execute(query):
            found[row.guid] = StoredVersion(
                row.id, row.title, row.excerpt, row.seen_at, bool(row.alerted)
            )
    return found


async def revise_post(conn: AsyncConnection, post_id: int, post: Post, now: datetime) -> None:
    """Store the source's correction and owe an edit of every message already sent."""
    await conn.execute(
        update(posts)
        .where(posts.c.id == post_id)
        .values(title=post.title, excerpt=post.excerpt, revision=posts.c.revision + 1)
    )
    await owe_edits(conn, post_id, now)


async def known_fingerprints(conn: AsyncConnection, prints: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for part in chunks(prints):
        query = select(posts.c.fingerprint).where(posts.c.fingerprint.in_(part))
        found.update((await conn.execute(query)).scalars())
    return found


async def insert_posts(
    conn: AsyncConnection, new: Sequence[tuple[Post, bool]], seen_at: datetime
) -> list[int]:
    """Insert (post, alerted) pairs with their categories; returns their ids in order."""
    if not new:
        return []
    rows = [{**post_values(p), "seen_at": seen_at, "alerted": alerted} for p, alerted in new]
    result = await conn.execute(
        insert(posts).returning(posts.c.id, sort_by_parameter_order=True), rows
    )
    ids = list(result.scalars())
    category_rows = [
        {"post_id": post_id, "key": name.casefold(), "name": name}
        for post_id, (post, _) in zip(ids, new, strict=True)
        for name in post.categories
    ]
    if category_rows:
        await conn.execute(insert(post_categories), category_rows)
    return ids


def subscriber_condition(keys: Sequence[str]) -> ColumnElement[bool]:
    """Active chats with a subscription to any of `keys`."""
    return and_(
        chats.c.active,
        exists().where(subscriptions.c.chat_id == chats.c.id, subscriptions.c.key.in_(keys)),
    )


def keywords_condition(conn: AsyncConnection, post: Post) -> ColumnElement[bool]:
    """Chats whose keyword filters let `post` through: no excluded keyword in its text,
    and one of their included keywords if they have any.

    One pass over the filters (a substring test each), grouped by chat: the chats it
    blocks are left out, so chats without filters cost nothing.
    """
    haystack = literal(normalized_text(f"{post.title} {post.excerpt}"))
    contains = func.strpos if conn.dialect.name == "postgresql" else func.instr
    hit = contains(haystack, chat_filters.c.pattern) > 0
    include = ~chat_filters.c.exclude

    def any_of(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.max(case((condition, 1), else_=0))

    blocked = (
        select(chat_filters.c.chat_id)
        .group_by(chat_filters.c.chat_id)
        .having(
            or_(
                any_of(and_(chat_filters.c.exclude, hit)) == 1,
                and_(any_of(include) == 1, any_of(and_(include, hit)) == 0),
            )
        )
    )
    return chats.c.id.not_in(blocked)


def post_keys(post: Post) -> list[str]:
    """The subscription keys that match `post`: its categories, `all`, and `breaking`."""
    keys = [*(c.casefold() for c in post.categories), ALL]
    return [*keys, BREAKING] if post.breaking else keys


async def plan_post(conn: AsyncConnection, post_id: int, post: Post, now: datetime) -> int:
    """One outbox row per active subscribed chat whose keywords let it through."""
    # A chat that reads a daily digest gets its alerts held for it.
    state = case(
        (chats.c.digest_at.is_not(None), DeliveryState.HELD.value),
        else_=DeliveryState.PENDING.value,
    )
    who = and_(subscriber_condition(post_keys(post)), keywords_condition(conn, post))
    priority = PRIORITY_BREAKING if post.breaking else PRIORITY_NORMAL
    return await _plan(conn, deliveries.c.post_id, post_id, priority, state, who, now)


async def plan_broadcast(
    conn: AsyncConnection, broadcast_id: int, keys: Sequence[str] | None, now: datetime
) -> int:
    """Outbox rows for a broadcast: every active chat, or the subscribers of `keys`."""
    who = chats.c.active if keys is None else subscriber_condition(keys)
    state = literal(DeliveryState.PENDING.value)
    return await _plan(
        conn, deliveries.c.broadcast_id, broadcast_id, PRIORITY_BROADCAST, state, who, now
    )


async def _plan(
    conn: AsyncConnection,
    what: Column[Any],
    what_id: int,
    priority: int,
    state: ColumnElement[str],
    who: ColumnElement[bool],
    now: datetime,
) -> int:
    """INSERT … SELECT: one row for every chat `who` selects, in one statement."""
    chosen = select(
        literal(what_id).label(what.name),
        chats.c.id,
        chats.c.platform,
        literal(priority).label("priority"),
        state.label("state"),
        literal(0).label("attempts"),
        literal(now, deliveries.c.next_attempt_at.type).label("next_attempt_at"),
        literal(now, deliveries.c.created_at.type).label("created_at"),
    ).where(who)
    columns = [what.name, "chat_id", "platform", "priority", "state", "attempts"]
    columns += ["next_attempt_at", "created_at"]
    result = await conn.execute(insert(deliveries).from_select(columns, chosen))
    return result.rowcount or 0
