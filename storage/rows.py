"""Rows → records. ORM-free: every query result is turned into a `bot.models` record here."""

from __future__ import annotations

import enum
import functools
import json
import operator
from collections.abc import Callable, Mapping
from datetime import time
from typing import Any

from bot.models import (
    Action,
    Broadcast,
    Chat,
    Delivery,
    DeliveryState,
    Post,
    QuietHours,
    SourceState,
)


def post_from_row(row: Mapping[Any, Any], prefix: str = "") -> Post:
    return Post(
        id=row[f"{prefix}id"],
        source=row[f"{prefix}source"],
        guid=row[f"{prefix}guid"],
        link=row[f"{prefix}link"],
        title=row[f"{prefix}title"],
        excerpt=row[f"{prefix}excerpt"],
        categories=tuple(json.loads(row[f"{prefix}categories"])),
        published_at=row[f"{prefix}published_at"],
        image=row[f"{prefix}image"],
        breaking=bool(row[f"{prefix}breaking"]),
        fingerprint=row[f"{prefix}fingerprint"],
    )


def post_values(post: Post) -> dict[str, Any]:
    return {
        "source": post.source,
        "guid": post.guid,
        "fingerprint": post.fingerprint,
        "link": post.link,
        "title": post.title,
        "excerpt": post.excerpt,
        "categories": json.dumps(list(post.categories), ensure_ascii=False),
        "published_at": post.published_at,
        "image": post.image,
        "breaking": post.breaking,
    }


class Unset(enum.Enum):
    """Marks a setting a caller leaves alone (None means "turn it off")."""

    UNSET = enum.auto()


UNSET = Unset.UNSET


def minutes(moment: time | None) -> int | None:
    return None if moment is None else moment.hour * 60 + moment.minute


def clock_time(value: int | None) -> time | None:
    return None if value is None else time(value // 60, value % 60)


def quiet_values(quiet: QuietHours | None) -> dict[str, Any]:
    if quiet is None:
        return {"quiet_from": None, "quiet_to": None, "quiet_all": False}
    return {
        "quiet_from": minutes(quiet.start),
        "quiet_to": minutes(quiet.end),
        "quiet_all": quiet.hold_breaking,
    }


#: The columns `chat_from_row` reads, in the order it unpacks them.
CHAT_COLUMNS = (
    "id", "platform", "chat_id", "kind", "language", "active", "title", "thread_id",
    "quiet_from", "quiet_to", "quiet_all", "digest_at", "timezone",
)  # fmt: skip


@functools.cache
def _chat_values(prefix: str) -> Callable[[Mapping[Any, Any]], tuple[Any, ...]]:
    # One C-level call per row instead of 13 key lookups built as f-strings (a claim
    # turns thousands of rows a second into chats).
    return operator.itemgetter(*(prefix + name for name in CHAT_COLUMNS))


def chat_from_row(row: Mapping[Any, Any], prefix: str = "") -> Chat:
    (id_, platform, chat_id, kind, language, active, title, thread_id,
     quiet_from, quiet_to, quiet_all, digest_at, timezone) = _chat_values(prefix)(row)  # fmt: skip
    start, end = clock_time(quiet_from), clock_time(quiet_to)
    quiet = None
    if start is not None and end is not None:
        quiet = QuietHours(start, end, bool(quiet_all))
    return Chat(
        id=id_,
        platform=platform,
        chat_id=chat_id,
        kind=kind,
        language=language,
        active=bool(active),
        title=title,
        thread_id=thread_id or None,
        quiet=quiet,
        digest_at=clock_time(digest_at),
        timezone=timezone,
    )


def broadcast_from_row(row: Mapping[Any, Any], prefix: str = "") -> Broadcast:
    return Broadcast(
        id=row[f"{prefix}id"],
        text=row[f"{prefix}text"],
        category=row[f"{prefix}category"],
        author=row[f"{prefix}author"],
        created_at=row[f"{prefix}created_at"],
    )


#: Enum members by value: a dict lookup, where calling the enum costs a search.
_STATES = {state.value: state for state in DeliveryState}
_ACTIONS = {action.value: action for action in Action}


def delivery_from_row(
    row: Mapping[Any, Any], post: Post | None, broadcast: Broadcast | None
) -> Delivery:
    """An outbox row joined with its chat (columns `c_…`); its post or broadcast given."""
    return Delivery(
        id=row["id"],
        chat=chat_from_row(row, "c_"),
        post=post,
        broadcast=broadcast,
        priority=row["priority"],
        state=_STATES[row["state"]],
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        created_at=row["created_at"],
        message_id=row["message_id"],
        error=row["error"],
        action=_ACTIONS[row["action"]] if row["action"] else None,
    )


def source_from_row(row: Mapping[Any, Any]) -> SourceState:
    return SourceState(
        name=row["name"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        content_hash=row["content_hash"],
        initialized=bool(row["initialized"]),
        failures=row["failures"],
        last_fetch_at=row["last_fetch_at"],
        last_ok_at=row["last_ok_at"],
        last_error=row["last_error"],
        next_fetch_at=row["next_fetch_at"],
        paused=bool(row["paused"]),
    )


def source_values(state: SourceState) -> dict[str, Any]:
    return {
        "etag": state.etag,
        "last_modified": state.last_modified,
        "content_hash": state.content_hash,
        "initialized": state.initialized,
        "failures": state.failures,
        "last_fetch_at": state.last_fetch_at,
        "last_ok_at": state.last_ok_at,
        "last_error": state.last_error,
        "next_fetch_at": state.next_fetch_at,
    }
