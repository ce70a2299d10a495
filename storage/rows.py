"""Rows → records. ORM-free: every query result is turned into a `bot.models` record here."""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from datetime import time
from typing import Any, cast

from bot.models import (
    Action,
    Broadcast,
    Chat,
    ChatKind,
    Delivery,
    DeliveryState,
    Language,
    Platform,
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


def chat_from_row(row: Mapping[Any, Any], prefix: str = "") -> Chat:
    start = clock_time(row[f"{prefix}quiet_from"])
    end = clock_time(row[f"{prefix}quiet_to"])
    quiet = None
    if start is not None and end is not None:
        quiet = QuietHours(start, end, bool(row[f"{prefix}quiet_all"]))
    return Chat(
        id=row[f"{prefix}id"],
        platform=cast(Platform, row[f"{prefix}platform"]),
        chat_id=row[f"{prefix}chat_id"],
        kind=cast(ChatKind, row[f"{prefix}kind"]),
        language=cast(Language, row[f"{prefix}language"]),
        active=bool(row[f"{prefix}active"]),
        title=row[f"{prefix}title"],
        thread_id=row[f"{prefix}thread_id"] or None,
        quiet=quiet,
        digest_at=clock_time(row[f"{prefix}digest_at"]),
        timezone=row[f"{prefix}timezone"],
    )


def broadcast_from_row(row: Mapping[Any, Any], prefix: str = "") -> Broadcast:
    return Broadcast(
        id=row[f"{prefix}id"],
        text=row[f"{prefix}text"],
        category=row[f"{prefix}category"],
        author=row[f"{prefix}author"],
        created_at=row[f"{prefix}created_at"],
    )


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
        state=DeliveryState(row["state"]),
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        created_at=row["created_at"],
        message_id=row["message_id"],
        error=row["error"],
        action=Action(row["action"]) if row["action"] else None,
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
