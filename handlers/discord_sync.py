"""Registering newsbot's slash commands with Discord, only when users would see a change.

Re-registering on every start would rewrite them globally for nothing, and global
changes take time to reach clients; so Discord's copy is fetched and compared first.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import aiohttp
import discord
from discord import app_commands

log = logging.getLogger(__name__)


async def sync_commands(
    client: discord.Client, tree: app_commands.CommandTree[Any], guild_id: int | None
) -> None:
    """PUT the slash commands only when Discord's copy differs from ours; to one guild if set.

    Re-registering on every start would rewrite them globally for nothing (and
    global changes take time to reach clients). A failure leaves the old ones.
    """
    app_id = client.application_id
    assert app_id is not None, "application_id is known after login"
    translator = tree.translator
    assert translator is not None, "define_commands sets it"
    local = [await c.get_translated_payload(tree, translator) for c in tree.get_commands()]
    http = client.http
    try:
        remote = await _registered(http, app_id, guild_id)
        if _definitions(remote) == _definitions(local):
            log.info("slash commands unchanged; not synced")
            return
        if guild_id is None:
            await http.bulk_upsert_global_commands(app_id, payload=local)
        else:
            await http.bulk_upsert_guild_commands(app_id, guild_id, payload=local)
        log.info("synced %d slash commands (%s)", len(local), guild_id or "global")
    except (discord.HTTPException, discord.RateLimited, aiohttp.ClientError, OSError) as exc:
        log.warning("slash commands not synced, the old ones stay: %s", type(exc).__name__)


async def _registered(http: Any, app_id: int, guild_id: int | None) -> Any:
    # discord.py's own getters omit `with_localizations`, without which Discord
    # leaves out the translations and every start would look like a change.
    path = "/applications/{application_id}/commands"
    if guild_id is not None:
        path = "/applications/{application_id}/guilds/{guild_id}/commands"
    route = discord.http.Route("GET", path, application_id=app_id, guild_id=guild_id)
    return await http.request(route, params={"with_localizations": "true"})


def _definitions(commands: Any) -> list[dict[str, Any]]:
    """What users see of each command, in a form Discord's echo and ours compare equal."""
    return sorted((_comparable(c) for c in commands), key=lambda c: str(c["name"]))


def _comparable(command: Mapping[str, Any]) -> dict[str, Any]:
    perms = command.get("default_member_permissions")
    return {
        "name": command["name"],
        "description": command.get("description", ""),
        "type": command.get("type", 1),
        "default_member_permissions": None if perms is None else str(perms),
        "description_localizations": command.get("description_localizations") or {},
        "options": [_comparable_option(o) for o in command.get("options") or ()],
    }


def _comparable_option(option: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("min_value", "max_value", "min_length", "max_length")
    return {
        "name": option["name"],
        "description": option.get("description", ""),
        "type": option["type"],
        "required": bool(option.get("required", False)),
        "autocomplete": bool(option.get("autocomplete", False)),
        "description_localizations": option.get("description_localizations") or {},
        "choices": [
            (c["name"], c["value"], c.get("name_localizations") or {})
            for c in option.get("choices") or ()
        ],
        **{key: option.get(key) for key in keys},
    }
