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


@dataclass(frozen=True)
class FakeGuild:
    """A server the bot is in; its text channels by id."""

    id: int
    name: str
    channels: tuple[int, ...]
    locale: str = "ko"
    system_channel: int | None = None


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
        "channels": [text_channel(c, server.id) for c in server.channels],
        "threads": [],
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
    buttons = [button for row in rows for button in row.get("components", [])]
    ids = [button.get("custom_id") for button in buttons if button.get("custom_id")]
    errors = []
    if len(rows) > 5 or any(len(row.get("components", [])) > 5 for row in rows):
        errors.append("components: at most 5 rows of 5")
    if len(ids) != len(set(ids)):
        errors.append("components: custom_id must be unique")
    if any(len(i) > 100 for i in ids):
        errors.append("components: custom_id too long")
    if any(not 1 <= len(button.get("label") or "") <= 80 for button in buttons):
        errors.append("components: label must be 1-80 long")
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
