"""The JSON the fake Discord sends: users, members, channels, guilds, messages.

Shaped like Discord's own payloads, with the fields discord.py reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

APPLICATION_ID = 900_000_000_000_000_001
BOT_USER_ID = 900_000_000_000_000_002
OWNER_ID = 600_000_999

#: Permission bits tests hand to members.
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_CHANNELS = 1 << 4
MEMBER = VIEW_CHANNEL | SEND_MESSAGES
MODERATOR = MEMBER | MANAGE_CHANNELS
EPHEMERAL = 1 << 6


@dataclass
class FakeThread:
    """A thread (or a forum post) inside a guild channel; archiving changes it in place."""

    id: int
    parent_id: int
    archived: bool = False
    locked: bool = False


@dataclass(frozen=True)
class FakeGuild:
    """A server the bot is in; its text channels by id, its forums and its active threads."""

    id: int
    name: str
    channels: tuple[int, ...]
    locale: str = "ko"
    system_channel: int | None = None
    #: Forum channels: only threads (posts) take messages there.
    forums: tuple[int, ...] = ()
    threads: tuple[FakeThread, ...] = ()


def now() -> str:
    return datetime.now(UTC).isoformat()


def option(name: str, value: str | int | bool) -> dict[str, Any]:
    """A filled-in slash command option: BOOLEAN (5), INTEGER (4) or STRING (3)."""
    kind = 5 if isinstance(value, bool) else 4 if isinstance(value, int) else 3
    return {"name": name, "type": kind, "value": value}


def user(user_id: int, *, bot: bool = False) -> dict[str, Any]:
    return {
        "id": str(user_id),
        "username": "newsbot" if bot else f"user{user_id}",
        "discriminator": "0",
        "global_name": None,
        "avatar": None,
        "bot": bot,
    }


def member(user_id: int, permissions: int, *, bot: bool = False) -> dict[str, Any]:
    """A guild member; `permissions` are theirs in the interaction's channel."""
    return {
        "user": user(user_id, bot=bot),
        "roles": [],
        "joined_at": "2024-01-01T00:00:00+00:00",
        "deaf": False,
        "mute": False,
        "flags": 0,
        "pending": False,
        "nick": None,
        "avatar": None,
        "premium_since": None,
        "communication_disabled_until": None,
        "permissions": str(permissions),
    }


def text_channel(channel_id: int, guild_id: int) -> dict[str, Any]:
    return {
        "id": str(channel_id),
        "type": 0,
        "guild_id": str(guild_id),
        "name": f"news-{channel_id}",
        "position": 0,
        "permission_overwrites": [],
        "nsfw": False,
        "parent_id": None,
        "topic": None,
        "rate_limit_per_user": 0,
        "last_message_id": None,
        "flags": 0,
    }


def forum_channel(channel_id: int, guild_id: int) -> dict[str, Any]:
    return text_channel(channel_id, guild_id) | {"type": 15, "available_tags": []}


def thread_channel(thread: FakeThread, guild_id: int) -> dict[str, Any]:
    """A public thread (type 11) as Discord sends it: in GUILD_CREATE, THREAD_*, interactions."""
    return {
        "id": str(thread.id),
        "type": 11,
        "guild_id": str(guild_id),
        "parent_id": str(thread.parent_id),
        "owner_id": str(OWNER_ID),
        "name": f"thread-{thread.id}",
        "last_message_id": None,
        "rate_limit_per_user": 0,
        "message_count": 0,
        "member_count": 1,
        "flags": 0,
        "thread_metadata": {
            "archived": thread.archived,
            "locked": thread.locked,
            "auto_archive_duration": 1440,
            "archive_timestamp": now(),
        },
    }


def dm_channel(channel_id: int, user_id: int) -> dict[str, Any]:
    return {"id": str(channel_id), "type": 1, "recipients": [user(user_id)]}


def guild(server: FakeGuild, *, joined: bool = False) -> dict[str, Any]:
    """GUILD_CREATE's payload: channels, the @everyone role (members may post), the bot.

    `joined`: the bot was just added, so there is no `unavailable: false` (which
    would mean a server from READY becoming available).
    """
    everyone = {
        "id": str(server.id),
        "name": "@everyone",
        "color": 0,
        "hoist": False,
        "position": 0,
        "permissions": str(MEMBER),
        "managed": False,
        "mentionable": False,
        "flags": 0,
    }
    system = server.system_channel
    return {
        "id": str(server.id),
        "name": server.name,
        "icon": None,
        "owner_id": str(OWNER_ID),
        "preferred_locale": server.locale,
        "system_channel_id": None if system is None else str(system),
        "roles": [everyone],
        "emojis": [],
        "stickers": [],
        "features": [],
        "channels": [text_channel(c, server.id) for c in server.channels]
        + [forum_channel(c, server.id) for c in server.forums],
        "threads": [thread_channel(t, server.id) for t in server.threads if not t.archived],
        "members": [member(BOT_USER_ID, MEMBER, bot=True)],
        "voice_states": [],
        "presences": [],
        "member_count": 2,
        "large": False,
        "joined_at": "2024-01-01T00:00:00+00:00",
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "mfa_level": 0,
        "nsfw_level": 0,
        "premium_tier": 0,
        "system_channel_flags": 0,
    } | ({} if joined else {"unavailable": False})


def message(
    message_id: int, channel_id: int, body: dict[str, Any], *, webhook: bool = False
) -> dict[str, Any]:
    """The bot's message as Discord echoes it; keeps `allowed_mentions` for the tests."""
    payload = {
        "id": str(message_id),
        "channel_id": str(channel_id),
        "type": 0,
        "author": user(BOT_USER_ID, bot=True),
        "content": body.get("content") or "",
        "embeds": body.get("embeds") or [],
        "components": body.get("components") or [],
        "allowed_mentions": body.get("allowed_mentions"),
        "flags": body.get("flags", 0),
        "timestamp": now(),
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "pinned": False,
    }
    if webhook:
        payload["webhook_id"] = str(APPLICATION_ID)
    return payload


def stored_command(
    command: dict[str, Any], command_id: int, version: int, guild_id: int | None
) -> dict[str, Any]:
    """A command as Discord stores and echoes it: ids added, permissions as a string."""
    stored = {**command, "id": str(command_id), "application_id": str(APPLICATION_ID)}
    stored["version"] = str(version)
    stored.setdefault("type", 1)
    perms = command.get("default_member_permissions")
    stored["default_member_permissions"] = None if perms is None else str(perms)
    if guild_id is not None:
        stored["guild_id"] = str(guild_id)
    return stored


def form_errors(body: dict[str, Any], *, edit: bool = False) -> list[str]:
    """What Discord would refuse in a message body (code 50035), as short reasons.

    Checks the limits an adapter is most likely to break: lengths, an empty
    message, embed sizes, button rows and duplicate custom ids.
    """
    errors: list[str] = []
    content = body.get("content") or ""
    embeds = body.get("embeds") or []
    rows = body.get("components") or []
    if len(content) > 2000:
        errors.append("content: must be 2000 or fewer in length")
    if not edit and not (content or embeds or rows):
        errors.append("Cannot send an empty message")
    for embed in embeds:
        errors += _embed_errors(embed)
    errors += _component_errors(rows)
    return errors


def _embed_errors(embed: dict[str, Any]) -> list[str]:
    limits = {"title": 256, "description": 4096}
    texts = {key: embed.get(key) or "" for key in limits}
    texts["footer"] = (embed.get("footer") or {}).get("text") or ""
    texts["author"] = (embed.get("author") or {}).get("name") or ""
    limits |= {"footer": 2048, "author": 256}
    errors = [f"embeds.{k}: too long" for k, text in texts.items() if len(text) > limits[k]]
    if sum(len(text) for text in texts.values()) > 6000:
        errors.append("embeds: total size exceeds 6000")
    for key in ("url",):
        if embed.get(key) and not str(embed[key]).startswith(("http://", "https://")):
            errors.append(f"embeds.{key}: not a URL")
    return errors


def _component_errors(rows: list[dict[str, Any]]) -> list[str]:
    items = [item for row in rows for item in row.get("components", [])]
    buttons = [item for item in items if item.get("type", 2) == 2]
    selects = [item for item in items if item.get("type") == 3]
    ids = [item.get("custom_id") for item in items if item.get("custom_id")]
    errors = []
    if len(rows) > 5 or any(len(row.get("components", [])) > 5 for row in rows):
        errors.append("components: at most 5 rows of 5")
    if len(ids) != len(set(ids)):
        errors.append("components: custom_id must be unique")
    if any(len(i) > 100 for i in ids):
        errors.append("components: custom_id too long")
    if any(not 1 <= len(button.get("label") or "") <= 80 for button in buttons):
        errors.append("components: label must be 1-80 long")
    if any(len(row.get("components", [])) > 1 for row in rows if _has_select(row)):
        errors.append("components: a select menu fills its row alone")
    for select in selects:
        errors += _select_errors(select)
    return errors


def _has_select(row: dict[str, Any]) -> bool:
    return any(item.get("type") == 3 for item in row.get("components", []))


def _select_errors(select: dict[str, Any]) -> list[str]:
    """A string select's limits: 1-25 options, labels 1-100, unique values up to 100."""
    options = select.get("options") or []
    values = [str(option.get("value", "")) for option in options]
    errors = []
    if not 1 <= len(options) <= 25:
        errors.append("select: 1-25 options")
    if any(not 1 <= len(option.get("label") or "") <= 100 for option in options):
        errors.append("select: option label must be 1-100 long")
    if any(not 1 <= len(value) <= 100 for value in values) or len(set(values)) != len(values):
        errors.append("select: option values must be unique and 1-100 long")
    if len(select.get("placeholder") or "") > 150:
        errors.append("select: placeholder too long")
    return errors


def without_localizations(value: Any) -> Any:
    """`value` with every `*_localizations` key dropped, at any depth."""
    if isinstance(value, dict):
        return {
            k: without_localizations(v)
            for k, v in value.items()
            if not k.endswith("_localizations")
        }
    if isinstance(value, list):
        return [without_localizations(item) for item in value]
    return value
