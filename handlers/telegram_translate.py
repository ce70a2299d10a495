"""python-telegram-bot's world in newsbot's terms: errors as outcomes, chats, commands.

Pure functions; `outcome_of` is the one place a python-telegram-bot error becomes
an `Outcome`.
"""

from __future__ import annotations

import warnings
from datetime import timedelta
from typing import Final, Literal

from telegram import Chat as TgChat
from telegram import ChatMember, ChatMemberUpdated, User
from telegram.constants import ChatType
from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, TelegramError
from telegram.error import RetryAfter as TgRetryAfter

from bot.models import (
    Chat,
    ChatGone,
    ChatMoved,
    Language,
    Outcome,
    Rejected,
    RetryAfter,
    ThreadGone,
    TransientFailure,
)

#: Bad Request descriptions that mean the chat is gone for us.
GONE: Final = (
    "chat not found",
    "bot was kicked",
    "bot was blocked",
    "user is deactivated",
    "group chat was deactivated",
    "not enough rights to send",
    "have no rights to send",
    "need administrator rights",
    "peer_id_invalid",
)
#: Bad Request descriptions that mean the chat's forum topic is gone (the chat is not).
THREAD_GONE: Final = ("message thread not found", "topic_deleted")


def outcome_of(exc: TelegramError) -> Outcome:
    """The one place python-telegram-bot's errors become outcomes."""
    if isinstance(exc, TgRetryAfter):
        return RetryAfter(_retry_seconds(exc))
    if isinstance(exc, ChatMigrated):
        return ChatMoved(str(exc.new_chat_id))
    if isinstance(exc, Forbidden):
        return ChatGone(exc.message)
    if isinstance(exc, BadRequest):  # before NetworkError: BadRequest is one
        lowered = exc.message.lower()
        if any(phrase in lowered for phrase in THREAD_GONE):
            return ThreadGone(exc.message)
        return ChatGone(exc.message) if any(g in lowered for g in GONE) else Rejected(exc.message)
    if isinstance(exc, InvalidToken):
        return TransientFailure("the Bot API refused the token")
    return TransientFailure(exc.message or type(exc).__name__)


def _retry_seconds(exc: TgRetryAfter) -> float:
    with warnings.catch_warnings():
        # v22 warns that `retry_after` becomes a timedelta; both forms are handled.
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def parse_command(text: str, username: str) -> tuple[str, str, bool] | None:
    """(command, args, addressed to us by name) — None for another bot's command."""
    head, *rest = text.strip().split(None, 1)
    name, _, target = head[1:].partition("@")
    if target and target.lower() != username.lower():
        return None
    return name.lower(), (rest[0].strip() if rest else ""), bool(target)


def chat_of(chat: TgChat, user: User | None, topic: int | None = None) -> Chat:
    """The platform-neutral chat (a forum `topic` is a chat of its own).

    A private chat's language follows the user's app; other chats start in Korean.
    """
    kind: Literal["user", "group", "channel"] = (
        "user"
        if chat.type == ChatType.PRIVATE
        else "channel"
        if chat.type == ChatType.CHANNEL
        else "group"
    )
    language: Language = "ko"
    if kind == "user" and user is not None and user.language_code:
        language = "ko" if user.language_code.lower().startswith("ko") else "en"
    title = chat.title or chat.full_name or chat.username
    thread = str(topic) if topic is not None else None
    return Chat("telegram", str(chat.id), kind, language, title=title, thread_id=thread)


def membership_change(change: ChatMemberUpdated) -> Literal["added", "removed"] | None:
    was, now = _is_in(change.old_chat_member), _is_in(change.new_chat_member)
    if was == now:
        return None
    return "added" if now else "removed"


def _is_in(member: ChatMember) -> bool:
    if member.status == ChatMember.RESTRICTED:
        return bool(getattr(member, "is_member", False))
    return member.status in (ChatMember.OWNER, ChatMember.ADMINISTRATOR, ChatMember.MEMBER)
