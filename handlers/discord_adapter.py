"""Discord: alerts as embeds, commands as slash commands, on discord.py 2.x.

The client runs in newsbot's own event loop: `start()` logs in, syncs the slash
commands if their definitions changed, runs the gateway in a task and returns
once Discord says the bot is ready; `stop()` closes it. Slash commands and
button presses become `Invocation`s for the core's `Inbox` (see
`discord_commands`); `send` and `reply` return an `Outcome`, discord.py's
exceptions translated in one place, `_outcome`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp
import discord
import yarl
from discord import app_commands

from bot.config import DiscordSettings
from bot.errors import ConfigError, NewsbotError
from bot.models import (
    Alert,
    Chat,
    ChatGone,
    Outcome,
    Platform,
    Rejected,
    Reply,
    RetryAfter,
    Sent,
    TransientFailure,
)
from handlers.base import Inbox, PlatformLimits
from handlers.discord_commands import Interactions, define_commands, message_parts, sendable
from handlers.discord_render import ButtonIds, alert_embed

log = logging.getLogger(__name__)

#: Discord's JSON error codes that mean the chat is gone for us: sending there again
#: only counts towards Discord's ban for 10,000 invalid requests in 10 minutes.
GONE_CODES: Mapping[int, str] = {
    50001: "missing access",
    50013: "missing permissions",
    10003: "unknown channel",
    50007: "cannot send messages to this user",
}
#: A 429 longer than this becomes `RetryAfter` at once, so the dispatcher reschedules
#: the row instead of discord.py sleeping on it; shorter ones discord.py waits out.
#: Deliberately below discord.py's 30 s floor for `max_ratelimit_timeout`: we do not
#: retry early, the core honours `retry_after`.
INLINE_RATE_LIMIT_WAIT = 1.0

_DISCORD_API = discord.http.Route.BASE
_DISCORD_GATEWAY = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY


def point_discord_at(settings: DiscordSettings) -> None:
    """Send discord.py's REST and gateway traffic where the settings say (a proxy, a test fake).

    discord.py reads both from class attributes, for every client in the process: REST,
    interaction callbacks and webhooks from `Route.BASE`; the gateway from
    `DiscordWebSocket.DEFAULT_GATEWAY` (a plain `Client` never asks `GET /gateway`).
    This is the one place newsbot sets them; unset settings mean Discord's own.
    """
    discord.http.Route.BASE = (settings.api_url or _DISCORD_API).rstrip("/")
    gateway = settings.gateway_url
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = (
        yarl.URL(gateway) if gateway else _DISCORD_GATEWAY
    )


class _Client(discord.Client):
    """A plain client that hands button presses to newsbot; slash commands go through the tree."""

    def __init__(
        self,
        on_press: Callable[[discord.Interaction[Any]], Awaitable[None]],
        *,
        guild_ready_timeout: float,
        http_trace: aiohttp.TraceConfig,
    ) -> None:
        super().__init__(
            intents=discord.Intents.default(),
            guild_ready_timeout=guild_ready_timeout,
            http_trace=http_trace,
        )
        self._on_press = on_press

    async def on_interaction(self, interaction: discord.Interaction[Any]) -> None:
        if interaction.type is discord.InteractionType.component:
            await self._on_press(interaction)


class DiscordAdapter:
    """newsbot on Discord. Build with the Discord settings and `Settings.admins`."""

    platform: Platform = "discord"

    def __init__(
        self,
        settings: DiscordSettings,
        *,
        admins: tuple[str, ...],
        guild_ready_timeout: float = 2.0,
        send_timeout: float = 10.0,
        connect_timeout: float = 60.0,
    ) -> None:
        """`guild_ready_timeout`: how long discord.py waits for more guilds before
        `ready`; `send_timeout` bounds one send, discord.py's own 5xx retries included.
        """
        if settings.token is None:
            raise ConfigError("discord.token is not set")
        self._settings = settings
        self._token = settings.token.get_secret_value()
        self._admins = frozenset(a.partition(":")[2] for a in admins if a.startswith("discord:"))
        self._guild_ready_timeout = guild_ready_timeout
        self._send_timeout = send_timeout
        self._connect_timeout = connect_timeout
        self._ids = ButtonIds()
        self._client: _Client | None = None
        self._gateway: asyncio.Task[None] | None = None
        self._global_until = 0.0
        self.limits = PlatformLimits(
            text_length=2000,
            per_second=settings.per_second,
            per_chat_per_second=5.0,
            # Discord's per-channel bucket is 5 messages per 5 s; 60/min keeps a
            # channel comfortably inside it while a fan-out hits many channels.
            per_group_per_minute=60.0,
            headline_length=256,
            excerpt_length=300,
        )

    # --- lifecycle -------------------------------------------------------------------

    async def start(self, inbox: Inbox) -> None:
        """Log in, sync commands if changed, connect; returns once Discord says ready.

        Raises `ConfigError` when Discord refuses the token, `NewsbotError` when it
        cannot be reached or never becomes ready.
        """
        if self._client is not None:
            raise RuntimeError("DiscordAdapter already started")
        point_discord_at(self._settings)
        interactions = Interactions(inbox, self._ids, self._admins)
        client = _Client(
            interactions.press,
            guild_ready_timeout=self._guild_ready_timeout,
            http_trace=self._trace(),
        )
        client.http.max_ratelimit_timeout = INLINE_RATE_LIMIT_WAIT
        tree: app_commands.CommandTree[Any] = app_commands.CommandTree(client)
        define_commands(tree, interactions)
        self._client = client
        try:
            await self._login(client)
            await _sync_commands(client, tree, self._settings.guild_id)
            self._gateway = asyncio.create_task(client.connect(), name="discord-gateway")
            await self._until_ready(client, self._gateway)
        except BaseException:
            await self.stop()
            raise

    async def _login(self, client: _Client) -> None:
        try:
            await client.login(self._token)
        except discord.LoginFailure as exc:
            raise ConfigError("Discord refused the bot token (discord.token)") from exc
        except (discord.HTTPException, aiohttp.ClientError, OSError) as exc:
            raise NewsbotError(f"cannot reach Discord: {_describe(exc)}") from exc

    async def _until_ready(self, client: _Client, gateway: asyncio.Task[None]) -> None:
        ready = asyncio.create_task(client.wait_until_ready())
        done, _ = await asyncio.wait(
            {ready, gateway}, timeout=self._connect_timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if ready in done:
            log.info("connected to Discord as %s", client.user)
            return
        ready.cancel()
        error = gateway.exception() if gateway in done else None
        if isinstance(error, discord.ConnectionClosed) and error.code == 4004:
            raise ConfigError("Discord refused the bot token (discord.token)") from error
        raise NewsbotError(f"Discord gateway not ready: {_describe(error)}") from error

    async def stop(self) -> None:
        """Close the gateway and the HTTP session; idempotent."""
        client, self._client = self._client, None
        gateway, self._gateway = self._gateway, None
        if client is not None:
            await client.close()
        if gateway is not None:
            await asyncio.gather(gateway, return_exceptions=True)

    # --- sending ---------------------------------------------------------------------

    async def send(self, chat: Chat, alert: Alert) -> Outcome:
        """Post the alert as one embed; nobody is ever pinged."""
        embed = alert_embed(alert, chat.language)
        return await self._post(chat, {"embed": embed})

    async def reply(self, chat: Chat, reply: Reply) -> Outcome:
        """Post a reply the core produced on its own, buttons included."""
        return await self._post(chat, sendable(message_parts(reply, self._ids)))

    async def _post(self, chat: Chat, parts: dict[str, Any]) -> Outcome:
        if self._client is None:
            raise RuntimeError("DiscordAdapter.send before start")
        try:
            channel = self._client.get_partial_messageable(int(chat.chat_id))
        except ValueError:
            return Rejected(f"not a Discord channel id: {chat.chat_id!r}")
        mentions = discord.AllowedMentions.none()
        return await self._outcome(channel.send(allowed_mentions=mentions, **parts))

    async def _outcome(self, sending: Awaitable[discord.Message]) -> Outcome:
        """How one send went: the one place discord.py's errors become outcomes."""
        try:
            async with asyncio.timeout(self._send_timeout):
                message = await sending
        except discord.RateLimited as exc:
            return RetryAfter(exc.retry_after, everywhere=self._limited_everywhere())
        except discord.HTTPException as exc:
            return _refusal(exc)
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            return TransientFailure(f"network: {_describe(exc)}")
        return Sent(str(message.id))

    # --- global rate limits ------------------------------------------------------------

    def _trace(self) -> aiohttp.TraceConfig:
        # discord.py's RateLimited does not say whether a 429 was global; the
        # response headers do, so watch them as they pass.
        trace = aiohttp.TraceConfig()
        trace.on_request_end.append(self._saw_response)
        return trace

    async def _saw_response(
        self, _: aiohttp.ClientSession, __: Any, params: aiohttp.TraceRequestEndParams
    ) -> None:
        response = params.response
        if response.status != 429:
            return
        headers = response.headers
        if headers.get("X-RateLimit-Global") or headers.get("X-RateLimit-Scope") == "global":
            pause = _seconds(headers.get("Retry-After"))
            now = asyncio.get_running_loop().time()
            self._global_until = max(self._global_until, now + pause)

    def _limited_everywhere(self) -> bool:
        return asyncio.get_running_loop().time() < self._global_until


def _refusal(exc: discord.HTTPException) -> Outcome:
    if exc.code in GONE_CODES:
        return ChatGone(f"discord {exc.status}/{exc.code}: {GONE_CODES[exc.code]}")
    if exc.status == 429:
        # A 429 without `Via` is Cloudflare's ban on the whole bot, not a bucket.
        seconds = _seconds(exc.response.headers.get("Retry-After"), default=60.0)
        return RetryAfter(seconds, everywhere=True)
    if exc.status >= 500:
        return TransientFailure(f"discord {exc.status}")
    return Rejected(f"discord {exc.status}/{exc.code}: {exc.text[:200]}")


def _seconds(value: str | None, *, default: float = 1.0) -> float:
    try:
        return max(float(value), 0.0) if value else default
    except ValueError:
        return default


def _describe(exc: BaseException | None) -> str:
    """An exception in a few words for a log line: its type and Discord's status/code."""
    if exc is None:
        return "timed out"
    if isinstance(exc, discord.HTTPException):
        return f"{type(exc).__name__} {exc.status}/{exc.code}"
    return type(exc).__name__


# --- command sync ------------------------------------------------------------------------


async def _sync_commands(
    client: discord.Client, tree: app_commands.CommandTree[Any], guild_id: int | None
) -> None:
    """PUT the slash commands only when Discord's copy differs from ours; to one guild if set.

    Re-registering on every start would rewrite them globally for nothing (and
    global changes take time to reach clients). A failure leaves the old ones.
    """
    app_id = client.application_id
    assert app_id is not None, "application_id is known after login"
    local = [command.to_dict(tree) for command in tree.get_commands()]
    http = client.http
    try:
        if guild_id is None:
            remote = await http.get_global_commands(app_id)
        else:
            remote = await http.get_guild_commands(app_id, guild_id)
        if _definitions(remote) == _definitions(local):
            log.info("slash commands unchanged; not synced")
            return
        if guild_id is None:
            await http.bulk_upsert_global_commands(app_id, payload=local)
        else:
            await http.bulk_upsert_guild_commands(app_id, guild_id, payload=local)
        log.info("synced %d slash commands (%s)", len(local), guild_id or "global")
    except (discord.HTTPException, discord.RateLimited, aiohttp.ClientError, OSError) as exc:
        log.warning("slash commands not synced, the old ones stay: %s", _describe(exc))


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
        "choices": [(c["name"], c["value"]) for c in option.get("choices") or ()],
        **{key: option.get(key) for key in keys},
    }
