"""The outbox's rows after planning (`storage.planning`): claimed, settled, recalled, folded.

Functions of one open connection (inside the caller's transaction): `Store`
wraps them. Claims and settlements go in batches, never a statement per row.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Integer,
    Select,
    and_,
    bindparam,
    case,
    func,
    insert,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import ReturningUpdate

from bot.models import (
    PRIORITY_BROADCAST,
    PRIORITY_NORMAL,
    Action,
    Broadcast,
    Chat,
    Delivery,
    DeliveryState,
    Post,
)
from storage.rows import CHAT_COLUMNS, broadcast_from_row, delivery_from_row, post_from_row
from storage.tables import (
    broadcasts,
    chat_filters,
    chats,
    deliveries,
    posts,
    subscriptions,
)

#: Keys per IN (…) list: well under every database's bound-parameter limit.
CHUNK = 500
#: Rows turned into records, or into a statement's parameters, before the event loop
#: gets a turn: that work runs between two awaits, and 200 rows at once held the loop
#: ~10 ms, which a dispatcher pacing 1000 sends a second loses (bench/fanout.py).
STEP = 50


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """How one claimed row ended this time."""

    id: int
    state: DeliveryState
    message_id: str | None = None
    error: str | None = None
    #: For rows going back to `pending`: when to try again.
    next_attempt_at: datetime | None = None
    #: False for a wait the platform imposed (429): it is not the row's fault.
    counts_as_attempt: bool = True
    #: The edit or deletion still owed on this row after this attempt, if any.
    action: Action | None = None


class _Waiting(NamedTuple):
    """One kind of row waiting to be claimed: which rows, and the column saying from when."""

    rows: ColumnElement[bool]
    since: ColumnElement[Any]


def _waiting(platform: str, owner: str | ColumnElement[str]) -> list[_Waiting]:
    """The three kinds of row `owner` may claim on one platform: pending, in flight under
    another owner's lease (claimable once it ran out), and sent but owing an edit or a
    deletion. Claims (`_due_arms`) and the next-due read (`earliest_due`) both ask this."""
    here = deliveries.c.platform == platform
    return [
        _Waiting(
            and_(here, deliveries.c.state == DeliveryState.PENDING.value),
            deliveries.c.next_attempt_at,
        ),
        # A row whose lease ran out belongs to a process that died mid-send, unless it is
        # the claimer's own: a live claimer's rows are in flight or next in line.
        _Waiting(
            and_(
                here,
                deliveries.c.state == DeliveryState.SENDING.value,
                deliveries.c.lease_owner != owner,
            ),
            deliveries.c.lease_until,
        ),
        _Waiting(
            and_(
                here,
                deliveries.c.action.is_not(None),
                deliveries.c.state == DeliveryState.SENT.value,
            ),
            deliveries.c.next_attempt_at,
        ),
    ]


#: A claim's values, bound when it runs: its statement is built once per set of platforms
#: (building and keying the union anew was a quarter of a claim's CPU).
_NOW = bindparam("now", type_=deliveries.c.next_attempt_at.type)
_OWNER = bindparam("owner", type_=deliveries.c.lease_owner.type)
_LEASE_UNTIL = bindparam("lease_until", type_=deliveries.c.lease_until.type)
_LIMIT = bindparam("claim_limit", type_=Integer)


def _due_arms(platform: str) -> list[ColumnElement[bool]]:
    """The three kinds of due row for one platform (`_waiting`), each answerable from an
    index.

    As one OR the database had to read every row the platform ever had (sent ones
    included, the outbox's whole history) and sort what matched; apart, each kind
    walks its own index in claim order and stops at the limit: `ix_deliveries_due`
    for pending and in-flight rows, `ix_deliveries_owed` for sent rows owing an edit
    or a deletion.
    """
    pending, in_flight, owed = _waiting(platform, _OWNER)
    return [
        and_(pending.rows, pending.since <= _NOW),
        and_(in_flight.rows, in_flight.since < _NOW),  # the lease has run out
        and_(owed.rows, owed.since <= _NOW),
    ]


_CLAIM_ORDER = (deliveries.c.priority, deliveries.c.next_attempt_at, deliveries.c.id)


def due_ids(platforms: Sequence[str], *, skip_locked: bool) -> Select[tuple[int]]:
    """The ids of the first `claim_limit` rows due at `now` for `owner` (bound values),
    in claim order (breaking first, then oldest).

    Each kind of due row (`_due_arms`) takes its own first `claim_limit` from its
    index; the union of those, at most a few times the limit, is sorted once.
    `skip_locked`: rows another transaction holds are passed over (PostgreSQL).
    """
    arms = []
    for platform in platforms:
        for condition in _due_arms(platform):
            arm = select(*_CLAIM_ORDER[::-1]).where(condition).order_by(*_CLAIM_ORDER).limit(_LIMIT)
            if skip_locked:
                arm = arm.with_for_update(skip_locked=True)
            part = arm.subquery()
            arms.append(select(part.c.id, part.c.priority, part.c.next_attempt_at))
    due = union_all(*arms).subquery()
    return select(due.c.id).order_by(due.c.priority, due.c.next_attempt_at, due.c.id).limit(_LIMIT)


@functools.cache
def _claim_statement(platforms: tuple[str, ...], skip_locked: bool) -> ReturningUpdate[int]:
    due = due_ids(platforms, skip_locked=skip_locked)
    return (
        update(deliveries)
        .where(deliveries.c.id.in_(due.scalar_subquery()))
        .values(state=DeliveryState.SENDING.value, lease_owner=_OWNER, lease_until=_LEASE_UNTIL)
        .returning(deliveries.c.id)
    )


async def claim(
    conn: AsyncConnection,
    platforms: Sequence[str],
    *,
    limit: int,
    now: datetime,
    lease_until: datetime,
    owner: str,
) -> list[int]:
    """Mark up to `limit` due rows `sending` under our lease; returns their ids.

    Breaking first, then oldest. On PostgreSQL rows locked by another process
    are skipped, so several processes share one outbox without waiting. Rows
    whose lease ran out are taken over, except from `owner` itself: an owner
    names one live claimer, which may still be about to send them.
    """
    if not platforms:
        return []
    statement = _claim_statement(tuple(platforms), conn.dialect.name == "postgresql")
    values = {"now": now, "owner": owner, "lease_until": lease_until, "claim_limit": limit}
    claimed = await conn.execute(statement, values)
    return sorted(claimed.scalars())


#: What `rows.delivery_from_row` reads: no lease or bookkeeping columns (each date
#: read is a conversion per row, thousands of rows a second in a fan-out).
_DELIVERY_COLUMNS = (
    "id", "post_id", "broadcast_id", "priority", "state", "attempts", "next_attempt_at",
    "created_at", "message_id", "error", "action", "digest",
)  # fmt: skip


#: Outbox rows with their chat, by id (`ids`, expanded when it runs): built once, as
#: IN with a literal per id cost a coercion per row on every claim.
_WITH_CHATS = (
    select(
        *(deliveries.c[name] for name in _DELIVERY_COLUMNS),
        *(chats.c[name].label(f"c_{name}") for name in CHAT_COLUMNS),
    )
    .join(chats, chats.c.id == deliveries.c.chat_id)
    .where(deliveries.c.id.in_(bindparam("ids", expanding=True)))
)


async def load_deliveries(conn: AsyncConnection, ids: Sequence[int]) -> list[Delivery]:
    """The claimed rows with their chat and their post, broadcast or digest; breaking first.

    Posts and broadcasts are read once each, not joined to every row: a fan-out is
    thousands of rows of one post, and turning its columns into a `Post` per row
    was most of the claim's CPU.
    """
    found: list[Delivery] = []
    for part in chunks(ids):
        rows = (await conn.execute(_WITH_CHATS, {"ids": list(part)})).all()
        by_post = await _posts_by_id(conn, {r.post_id for r in rows if r.post_id is not None})
        by_broadcast = await _broadcasts_by_id(
            conn, {r.broadcast_id for r in rows if r.broadcast_id is not None}
        )
        for count, row in enumerate(rows, 1):
            if count % STEP == 0:
                await asyncio.sleep(0)  # see STEP
            post, broadcast = by_post.get(row.post_id), by_broadcast.get(row.broadcast_id)
            delivery = delivery_from_row(row._mapping, post, broadcast)
            if row.digest:
                ids, held = _digest_ids(row.digest)
                digest = await _digest_posts(conn, ids)
                delivery = replace(delivery, digest=digest, digest_of=held)
            found.append(delivery)
    return sorted(found, key=lambda d: (d.priority, d.next_attempt_at, d.id))


async def _posts_by_id(conn: AsyncConnection, ids: Collection[int]) -> dict[int, Post]:
    if not ids:
        return {}
    rows = await conn.execute(select(posts).where(posts.c.id.in_(sorted(ids))))
    return {row.id: post_from_row(row._mapping) for row in rows}


async def _broadcasts_by_id(conn: AsyncConnection, ids: Collection[int]) -> dict[int, Broadcast]:
    if not ids:
        return {}
    rows = await conn.execute(select(broadcasts).where(broadcasts.c.id.in_(sorted(ids))))
    return {row.id: broadcast_from_row(row._mapping) for row in rows}


def _digest_ids(stored: str) -> tuple[list[int], int]:
    """A digest row's posts, and how many held alerts it stands for."""
    found = json.loads(stored)
    if isinstance(found, list):  # written before digests counted what they left out
        return found, len(found)
    return found["posts"], found["held"]


async def _digest_posts(conn: AsyncConnection, ids: list[int]) -> tuple[Post, ...]:
    by_id = await _posts_by_id(conn, ids)
    return tuple(by_id[i] for i in ids if i in by_id)


#: Settling rows that were simply sent (`ids`): the attempt counted, the lease let go,
#: and a recall that arrived while one was in flight kept (see `settle`). Their
#: message ids follow, one parameter pair a row (`_MESSAGE_ID`).
_SENT = (
    update(deliveries)
    .where(deliveries.c.id.in_(bindparam("ids", expanding=True)))
    .values(
        state=DeliveryState.SENT.value,
        error=None,
        attempts=deliveries.c.attempts + 1,
        lease_owner=None,
        lease_until=None,
        finished_at=bindparam("now", type_=deliveries.c.finished_at.type),
        action=case((deliveries.c.action == Action.DELETE.value, Action.DELETE.value), else_=None),
    )
)


_MESSAGE_ID = (
    update(deliveries)
    .where(deliveries.c.id == bindparam("row_id"))
    .values(message_id=bindparam("new_message_id"))
)


def _simply_sent(result: DeliveryResult) -> bool:
    """Sent (or an edit done), with nothing else to record: most rows of a fan-out."""
    return (
        result.state == DeliveryState.SENT
        and result.message_id is not None
        and result.error is None
        and result.next_attempt_at is None
        and result.counts_as_attempt
        and result.action is None
    )


async def settle(conn: AsyncConnection, results: Sequence[DeliveryResult], now: datetime) -> None:
    """Record how each claimed row ended, in batches.

    Rows simply sent go through `_SENT` and `_MESSAGE_ID`: one id and a message id a
    row instead of nine parameters, as turning parameters into SQL values (a date
    above all) is most of a settlement's CPU. Cheap enough that a whole claim's
    rows go in two statements: each statement is three or four round trips to
    aiosqlite's thread, and at 30/s each one wakes an idle event loop (~0.3 ms of
    CPU on a small VM; bench/fanout.py). Other outcomes go an executemany per `STEP`.
    """
    sent: list[DeliveryResult] = []
    others: list[DeliveryResult] = []
    for result in results:
        (sent if _simply_sent(result) else others).append(result)
    for part in chunks(sent):
        await conn.execute(_SENT, {"ids": [r.id for r in part], "now": now})
        rows = [{"row_id": r.id, "new_message_id": r.message_id} for r in part]
        await conn.execute(_MESSAGE_ID, rows)
    if others:
        await _settle_others(conn, others, now)


async def _settle_others(
    conn: AsyncConnection, results: Sequence[DeliveryResult], now: datetime
) -> None:
    statement = (
        update(deliveries)
        .where(deliveries.c.id == bindparam("row_id"))
        .values(
            state=bindparam("new_state"),
            message_id=func.coalesce(bindparam("new_message_id"), deliveries.c.message_id),
            error=bindparam("new_error"),
            next_attempt_at=func.coalesce(
                bindparam("new_next_attempt_at", type_=deliveries.c.next_attempt_at.type),
                deliveries.c.next_attempt_at,
            ),
            attempts=deliveries.c.attempts + bindparam("attempt"),
            lease_owner=None,
            lease_until=None,
            finished_at=bindparam("new_finished_at", type_=deliveries.c.finished_at.type),
            # A recall that arrived while the row was in flight must survive its settling.
            action=case(
                (
                    and_(bindparam("keep_delete"), deliveries.c.action == Action.DELETE.value),
                    Action.DELETE.value,
                ),
                else_=bindparam("new_action"),
            ),
        )
    )
    rows = [
        {
            "row_id": r.id,
            "new_state": r.state.value,
            "new_message_id": r.message_id,
            "new_error": r.error,
            "new_next_attempt_at": r.next_attempt_at,
            "attempt": 1 if r.counts_as_attempt else 0,
            "new_finished_at": None if r.state == DeliveryState.PENDING else now,
            "new_action": r.action.value if r.action else None,
            "keep_delete": r.action is None and r.state != DeliveryState.DELETED,
        }
        for r in results
    ]
    for part in chunks(rows, STEP):
        await conn.execute(statement, part)


async def fail_pending_for_chats(
    conn: AsyncConnection, chat_ids: Sequence[int], reason: str
) -> None:
    """A chat that is gone gets nothing more: its queued rows end as failed."""
    for part in chunks(chat_ids):
        await conn.execute(
            update(deliveries)
            .where(
                deliveries.c.chat_id.in_(part),
                deliveries.c.state == DeliveryState.PENDING.value,
            )
            .values(state=DeliveryState.FAILED.value, error=reason)
        )


async def owe_edits(conn: AsyncConnection, post_id: int, now: datetime) -> int:
    """Every message already sent for `post_id` must be edited to its new text."""
    result = await conn.execute(
        update(deliveries)
        .where(
            deliveries.c.post_id == post_id,
            deliveries.c.state == DeliveryState.SENT.value,
            deliveries.c.message_id.is_not(None),
        )
        .values(action=Action.EDIT.value, next_attempt_at=now)
    )
    return result.rowcount or 0


async def recall(
    conn: AsyncConnection, condition: ColumnElement[bool], now: datetime
) -> tuple[int, int]:
    """Cancel what is still queued and owe a deletion of what was sent; returns both counts."""
    cancelled = await conn.execute(
        update(deliveries)
        .where(condition, deliveries.c.state == DeliveryState.PENDING.value)
        .values(state=DeliveryState.FAILED.value, error="recalled", finished_at=now)
    )
    deleting = await conn.execute(
        update(deliveries)
        .where(
            condition,
            or_(
                and_(
                    deliveries.c.state == DeliveryState.SENT.value,
                    deliveries.c.message_id.is_not(None),
                ),
                # In flight: the deletion waits until the send has been recorded.
                deliveries.c.state == DeliveryState.SENDING.value,
            ),
        )
        .values(action=Action.DELETE.value, next_attempt_at=now)
    )
    return cancelled.rowcount or 0, deleting.rowcount or 0


async def fold_held(conn: AsyncConnection, chat: Chat, limit: int, now: datetime) -> int:
    """Turn a chat's held rows into one digest row of its newest `limit` posts."""
    newest = func.coalesce(posts.c.published_at, posts.c.seen_at)
    query = (
        select(deliveries.c.id, deliveries.c.post_id)
        .join(posts, posts.c.id == deliveries.c.post_id)
        .where(deliveries.c.chat_id == chat.id, deliveries.c.state == DeliveryState.HELD.value)
        .order_by(newest.desc(), posts.c.id.desc())
    )
    held = (await conn.execute(query)).all()
    if not held:
        return 0
    chosen = [row.post_id for row in held[:limit]]
    digest = json.dumps({"posts": chosen, "held": len(held)})
    await _one_row(conn, chat, now, PRIORITY_NORMAL, digest=digest)
    for part in chunks([row.id for row in held]):
        await conn.execute(
            update(deliveries)
            .where(deliveries.c.id.in_(part))
            .values(state=DeliveryState.DIGESTED.value, finished_at=now)
        )
    await conn.execute(update(chats).where(chats.c.id == chat.id).values(last_digest_at=now))
    return len(chosen)


async def merge_chat(conn: AsyncConnection, *, source: Chat, target: Chat) -> None:
    """Move `source`'s subscriptions, filters and queued rows to `target`; retire `source`."""
    for table in (subscriptions, chat_filters):
        rows = (await conn.execute(select(table).where(table.c.chat_id == source.id))).all()
        for row in rows:
            values = {**row._mapping, "chat_id": target.id}
            exists_already = await conn.execute(
                select(table.c.chat_id).where(
                    *(table.c[k] == v for k, v in values.items() if k in table.primary_key.columns)
                )
            )
            if exists_already.first() is None:
                await conn.execute(table.insert().values(**values))
        await conn.execute(table.delete().where(table.c.chat_id == source.id))
    await conn.execute(
        update(deliveries)
        .where(
            deliveries.c.chat_id == source.id,
            deliveries.c.state.in_([DeliveryState.PENDING.value, DeliveryState.SENDING.value]),
        )
        .values(chat_id=target.id)
    )
    await conn.execute(update(chats).where(chats.c.id == source.id).values(active=False))


async def plan_notice(conn: AsyncConnection, broadcast_id: int, chat: Chat, now: datetime) -> None:
    """One broadcast row for one chat: newsbot telling that chat something."""
    await _one_row(conn, chat, now, PRIORITY_BROADCAST, broadcast_id=broadcast_id)


async def _one_row(
    conn: AsyncConnection, chat: Chat, now: datetime, priority: int, **what: object
) -> None:
    """A pending outbox row for one chat, due now; `what` says what it carries."""
    await conn.execute(
        insert(deliveries).values(
            chat_id=chat.id,
            platform=chat.platform,
            priority=priority,
            state=DeliveryState.PENDING.value,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            **what,
        )
    )


async def next_due_at(
    conn: AsyncConnection, platforms: Sequence[str], owner: str
) -> datetime | None:
    """When the next row for `platforms` can be claimed by `owner`: a pending one, one
    owing an edit or a deletion, or one whose lease runs out (None: nothing waits)."""
    if not platforms:
        return None
    rows = await conn.execute(earliest_due(platforms, owner))
    found: list[datetime] = [value for value in rows.scalars() if value is not None]
    return min(found, default=None)


def earliest_due(platforms: Sequence[str], owner: str) -> CompoundSelect[Any]:
    """The earliest time each kind of row becomes claimable (`_waiting`) on each
    platform, each read from its index as in a claim."""
    # min() keeps the column's type, so the values come back aware.
    return union_all(
        *(
            select(func.min(kind.since)).where(kind.rows)
            for platform in platforms
            for kind in _waiting(platform, owner)
        )
    )
