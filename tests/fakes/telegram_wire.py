"""The Bot API's side of the wire, for the fake server: records, failures, JSON shapes.

`Message` is a chat message as the user sees it; `Failure` an error the fake
answers with on demand; the functions build and read the JSON Telegram speaks.
"""

from __future__ import annotations

import json
import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.telegram_html import Entity, HtmlError, parse_html

JSON = dict[str, Any]


@dataclass
class Message:
    """A message in a chat as the user sees it; edits change it in place."""

    chat_id: int
    message_id: int
    #: The visible text (tags removed, entities decoded).
    text: str
    #: The text exactly as the bot sent it.
    raw: str
    parse_mode: str | None
    reply_markup: JSON | None
    message_thread_id: int | None = None
    entities: list[Entity] = field(default_factory=list)
    #: The message this one answers (reply_parameters), if any.
    reply_to: int | None = None
    edits: int = 0
    deleted: bool = False

    def spans(self, kind: str) -> list[str]:
        """The texts of the entities of one kind, e.g. `spans("bold")`."""
        return [e.text for e in self.entities if e.type == kind]

    @property
    def links(self) -> list[tuple[str, str | None]]:
        return [(e.text, e.url) for e in self.entities if e.type == "text_link"]

    @property
    def buttons(self) -> list[list[tuple[str, str]]]:
        """The inline keyboard as rows of (label, callback_data)."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [[(b["text"], b.get("callback_data", "")) for b in row] for row in rows]


@dataclass(frozen=True)
class Failure:
    """An error the fake answers with instead of doing the call."""

    status: int
    description: str
    parameters: JSON | None = None
    #: Hold the response until the server stops (the client times out).
    hang: bool = False
    #: Drop the connection without an answer.
    reset: bool = False
    #: With `hang` or `reset`: deliver the message first (the client never learns it did).
    deliver: bool = False

    @classmethod
    def blocked(cls) -> Failure:
        return cls(403, "Forbidden: bot was blocked by the user")

    @classmethod
    def kicked(cls) -> Failure:
        return cls(403, "Forbidden: bot was kicked from the supergroup chat")

    @classmethod
    def chat_not_found(cls) -> Failure:
        return cls(400, "Bad Request: chat not found")

    @classmethod
    def migrated(cls, new_chat_id: int) -> Failure:
        return cls(400, "Bad Request: group chat was upgraded to a supergroup chat",
                   {"migrate_to_chat_id": new_chat_id})  # fmt: skip

    @classmethod
    def flood(cls, retry_after: int) -> Failure:
        return cls(429, f"Too Many Requests: retry after {retry_after}",
                   {"retry_after": retry_after})  # fmt: skip

    @classmethod
    def server_error(cls, status: int = 500) -> Failure:
        return cls(status, "Internal Server Error" if status == 500 else "Bad Gateway")

    @classmethod
    def timeout(cls, *, delivered: bool = False) -> Failure:
        return cls(0, "", hang=True, deliver=delivered)

    @classmethod
    def connection_reset(cls, *, delivered: bool = False) -> Failure:
        return cls(0, "", reset=True, deliver=delivered)

    @classmethod
    def every_kind(cls) -> tuple[Failure, ...]:
        """One of each transient failure, for `chaos`."""
        return (cls.flood(1), cls.server_error(500), cls.server_error(502), cls.timeout(),
                cls.timeout(delivered=True), cls.connection_reset(),
                cls.connection_reset(delivered=True))  # fmt: skip


class Reset(Exception):
    """Raised inside the fake to drop the connection."""


class TelegramApiError(Exception):
    """Raised inside the fake to answer `{"ok": false, ...}`."""

    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status, self.description, self.parameters = status, description, parameters


class SlidingWindow:
    """At most `limit` events in any `seconds`-long window."""

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit, self.seconds = limit, seconds
        self.times: deque[float] = deque()

    def wait(self, now: float) -> float:
        """Seconds until one more event fits; 0 when it fits now."""
        while self.times and self.times[0] <= now - self.seconds:
            self.times.popleft()
        return 0.0 if len(self.times) < self.limit else self.times[0] + self.seconds - now


def json_param(value: Any) -> Any:
    """A parameter that is JSON-encoded in a form body and plain in a JSON body."""
    return json.loads(value) if isinstance(value, str) else value


def bool_param(value: Any) -> bool:
    return value in (True, "true", "True", "1")


def render_text(raw: str, parse_mode: Any) -> tuple[str, list[Entity]]:
    if not raw.strip():
        raise TelegramApiError(400, "Bad Request: message text is empty")
    text, entities = raw, list[Entity]()
    if str(parse_mode).upper() == "HTML":
        try:
            text, entities = parse_html(raw)
        except HtmlError as exc:
            raise TelegramApiError(400, f"Bad Request: can't parse entities: {exc}") from exc
    if len(text.encode("utf-16-le")) // 2 > 4096:
        raise TelegramApiError(400, "Bad Request: message is too long")
    return text, entities


def check_markup(markup: JSON | None) -> None:
    for row in (markup or {}).get("inline_keyboard", []):
        for button in row:
            if len(button.get("callback_data", "").encode()) > 64:
                raise TelegramApiError(400, "Bad Request: BUTTON_DATA_INVALID")


def command_entities(text: str) -> list[JSON]:
    match = re.match(r"/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]{3,32})?", text)
    return [{"type": "bot_command", "offset": 0, "length": match.end()}] if match else []


def user_json(user_id: int, language_code: str | None) -> JSON:
    user: JSON = {"id": user_id, "is_bot": False, "first_name": "Tester"}
    if language_code:
        user["language_code"] = language_code
    return user


def default_chat(chat_id: int) -> JSON:
    if chat_id > 0:
        return {"id": chat_id, "type": "private", "first_name": "Tester"}
    return {"id": chat_id, "type": "supergroup", "title": "Room"}


def member_json(user: JSON, status: str) -> JSON:
    member: JSON = {"status": status, "user": user}
    if status == "administrator":
        rights = ("can_be_edited is_anonymous can_manage_chat can_delete_messages "
                  "can_manage_video_chats can_restrict_members can_promote_members "
                  "can_change_info can_invite_users can_post_stories can_edit_stories "
                  "can_delete_stories can_post_messages")  # fmt: skip
        member.update(dict.fromkeys(rights.split(), False))
        member.update(can_manage_chat=True, can_post_messages=True)
    elif status == "kicked":
        member["until_date"] = 0
    elif status == "creator":
        member["is_anonymous"] = False
    return member
