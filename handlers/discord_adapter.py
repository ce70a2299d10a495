"""Discord: alerts as embeds, commands as slash commands, on discord.py 2.x.

The client runs in newsbot's own event loop: `start()` logs in, syncs the slash
commands if their definitions changed, runs the gateway in a task and returns
once Discord says the bot is ready; `stop()` closes it. Slash commands,
button presses and menu choices become `Invocation`s for the core's `Inbox` (see
`discord_commands`, `discord_habits`, `discord_settings`); `send` and `reply`
return an `Outcome`, discord.py's exceptions translated in one place, `_outcome`
(with `discord_errors`).

A chat with a `thread_id` is a thread or forum post inside the channel `chat_id`:
its messages go to the thread (a channel of its own on Discord), and when the
thread is deleted, locked or out of reach the outcome is `ThreadGone`, so the core
falls back to the parent channel once and says so.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Sequence
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
    Language,
    Outcome,
    Platform,
    Rejected,
    Reply,
    RetryAfter,
    Sent,
    TransientFailure,
)
from handlers.base import Inbox, PlatformLimits
from handlers.discord_commands import (
    Interactions,
    define_commands,
    message_parts,
    sendable,
)
from handlers.discord_errors import describe, refusal, seconds
from handlers.discord_habits import define_habits
from handlers.discord_render import ButtonIds, alert_embed
from handlers.discord_sync import sync_commands

log = logging.getLogger(__name__)

#: "Unknown Message": for a deletion, the message is already gone.
UNKNOWN_MESSAGE = 10008
NO_PINGS = discord.AllowedMentions.none()
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
    """A plain client whose events go to newsbot; slash commands go through the tree."""

    def __init__(
        self,
        adapter: DiscordAdapter,
        interactions: Interactions,
        *,
        guild_ready_timeout: float,
        http_trace: aiohttp.TraceConfig,
    ) -> None:
        # newsbot never speaks in voice channels: no warning about voice libraries.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        super().__init__(
            intents=discord.Intents.default(),
            guild_ready_timeout=guild_ready_timeout,
            http_trace=http_trace,
            # newsbot never reads channel history: no cache of others' messages.
            max_messages=None,
        )
        self._adapter = adapter
        self._interactions = interactions

    async def on_interaction(self, interaction: discord.Interaction[Any]) -> None:
        if interaction.type is discord.InteractionType.component:
            await self._interactions.press(interaction)

    async def on_guild_join(self, guild: discord.Guild) -> None:
        await self._adapter.joined(guild)

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        await self._adapter.left(guild.text_channels)

    async def on_guild_channel_delete(self, channel: discord.abc.GuildChannel) -> None:
        await self._adapter.left([channel])


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
        # Discord cannot show a command to chosen users only, so /broadcast and /stats
        # are listed for everyone and the core refuses non-admins; kept for the logs.
        self._admins = tuple(a for a in admins if a.startswith("discord:"))
        self._guild_ready_timeout = guild_ready_timeout
        self._send_timeout = send_timeout
        self._connect_timeout = connect_timeout
        self._ids = ButtonIds()
        self._inbox: Inbox | None = None
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
        self._inbox = inbox
        interactions = Interactions(inbox, self._ids)
        client = _Client(
            self,
            interactions,
            guild_ready_timeout=self._guild_ready_timeout,
            http_trace=self._trace(),
        )
        client.http.max_ratelimit_timeout = INLINE_RATE_LIMIT_WAIT
        tree: app_commands.CommandTree[Any] = app_commands.CommandTree(client)
        await define_commands(tree, interactions)
        define_habits(tree, interactions)
        self._client = client
        try:
            await self._login(client)
            await sync_commands(client, tree, self._settings.guild_id)
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
            raise NewsbotError(f"cannot reach Discord: {describe(exc)}") from exc

    async def _until_ready(self, client: _Client, gateway: asyncio.Task[None]) -> None:
        ready = asyncio.create_task(client.wait_until_ready())
        done, _ = await asyncio.wait(
            {ready, gateway}, timeout=self._connect_timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if ready in done:
            log.info("connected to Discord as %s; %d admin(s)", client.user, len(self._admins))
            gateway.add_done_callback(_gateway_ended)
            return
        ready.cancel()
        error = gateway.exception() if gateway in done else None
        if isinstance(error, discord.ConnectionClosed) and error.code == 4004:
            raise ConfigError("Discord refused the bot token (discord.token)") from error
        raise NewsbotError(f"Discord gateway not ready: {describe(error)}") from error

    async def stop(self) -> None:
        """Close the gateway and the HTTP session; idempotent."""
        client, self._client = self._client, None
        gateway, self._gateway = self._gateway, None
        if client is not None:
            await client.close()
        if gateway is not None:
            await asyncio.gather(gateway, return_exceptions=True)

    # --- servers joined and left -------------------------------------------------------

    async def joined(self, guild: discord.Guild) -> None:
        """Added to a server: the core may welcome it in its system channel."""
        channel = guild.system_channel
        if self._inbox is None or channel is None:
            return
        if guild.me is not None and not channel.permissions_for(guild.me).send_messages:
            return
        language: Language = "ko" if guild.preferred_locale.value.startswith("ko") else "en"
        chat = Chat("discord", str(channel.id), "channel", language, title=channel.name)
        try:
            welcome = await self._inbox.chat_added(chat)
        except Exception:
            log.exception("the core failed on joining server %s", guild.id)
            return
        if welcome is not None:
            outcome = await self.reply(chat, welcome)
            log.info("joined server %s; welcome: %s", guild.id, type(outcome).__name__)

    async def left(self, channels: Sequence[discord.abc.GuildChannel]) -> None:
        """Removed from a server, or a channel deleted: those chats are gone."""
        if self._inbox is None:
            return
        for channel in channels:
            try:
                await self._inbox.chat_removed(Chat("discord", str(channel.id), "channel"))
            except Exception:
                log.exception("the core failed on losing channel %s", channel.id)

    # --- sending ---------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """True while the gateway is up (REST sends may work without it; commands do not)."""
        client = self._client
        if client is None or client.is_closed() or not client.is_ready():
            return False
        return client.ws is not None and client.ws.open

    async def send(self, chat: Chat, alert: Alert) -> Outcome:
        """Post the alert as one embed, into the chat's thread if it has one; nobody is pinged.

        A thread that is deleted, locked or out of reach is `ThreadGone`, not `ChatGone`.
        """
        embed = alert_embed(alert, chat.language)
        return await self._post(chat, {"embed": embed})

    async def reply(self, chat: Chat, reply: Reply) -> Outcome:
        """Post a reply the core produced on its own, buttons included."""
        return await self._post(chat, sendable(message_parts(reply, self._ids)))

    async def edit(self, chat: Chat, message_id: str, alert: Alert) -> Outcome:
        """Replace a sent alert's embed with `alert` (the source corrected the post)."""
        message = self._message(chat, message_id)
        if message is None:
            return Rejected(f"not a Discord message: {chat.chat_id!r}/{message_id!r}")
        embed = alert_embed(alert, chat.language)

        async def edited() -> str:
            await message.edit(embed=embed, allowed_mentions=NO_PINGS)
            return message_id

        return await self._outcome(edited(), threaded=chat.thread_id is not None)

    async def delete(self, chat: Chat, message_id: str) -> Outcome:
        """Take a sent message back; one that is already gone counts as taken back."""
        message = self._message(chat, message_id)
        if message is None:
            return Rejected(f"not a Discord message: {chat.chat_id!r}/{message_id!r}")

        async def deleted() -> str:
            try:
                await message.delete()
            except discord.NotFound as exc:
                if exc.code != UNKNOWN_MESSAGE:
                    raise
            return message_id

        return await self._outcome(deleted(), threaded=chat.thread_id is not None)

    async def _post(self, chat: Chat, parts: dict[str, Any]) -> Outcome:
        channel = self._channel(chat)
        if channel is None:
            return Rejected(f"not a Discord channel id: {chat.chat_id!r}")

        async def posted() -> str:
            message = await channel.send(allowed_mentions=NO_PINGS, **parts)
            return str(message.id)

        return await self._outcome(posted(), threaded=chat.thread_id is not None)

    def _channel(self, chat: Chat) -> discord.PartialMessageable | None:
        """Where the chat's messages go: its thread (a channel of its own) or the channel."""
        if self._client is None:
            raise RuntimeError("DiscordAdapter used before start")
        target = chat.thread_id or chat.chat_id
        return self._client.get_partial_messageable(int(target)) if _id(target) else None

    def _message(self, chat: Chat, message_id: str) -> discord.PartialMessage | None:
        channel = self._channel(chat)
        if channel is None or not _id(message_id):
            return None
        return channel.get_partial_message(int(message_id))

    async def _outcome(self, request: Awaitable[str], *, threaded: bool = False) -> Outcome:
        """How one request went: the one place discord.py's errors become outcomes.

        `threaded`: the request went to the chat's thread, so a gone target is the thread.
        """
        try:
            async with asyncio.timeout(self._send_timeout):
                message_id = await request
        except discord.RateLimited as exc:
            return RetryAfter(exc.retry_after, everywhere=self._limited_everywhere())
        except discord.HTTPException as exc:
            return refusal(exc, threaded=threaded)
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            return TransientFailure(f"network: {describe(exc)}")
        return Sent(message_id)

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
            pause = seconds(headers.get("Retry-After"))
            now = asyncio.get_running_loop().time()
            self._global_until = max(self._global_until, now + pause)

    def _limited_everywhere(self) -> bool:
        return asyncio.get_running_loop().time() < self._global_until


def _gateway_ended(task: asyncio.Task[None]) -> None:
    # discord.py reconnects by itself; it gives up only on a close it cannot
    # recover from (token revoked, intents refused). Sends still work then,
    # commands do not: say so loudly.
    if not task.cancelled() and task.exception() is not None:
        log.error(
            "Discord gateway stopped; slash commands are not received: %s",
            describe(task.exception()),
        )


def _id(text: str) -> bool:
    """Whether `text` can be a Discord id (a snowflake) at all."""
    return text.isascii() and text.isdigit() and len(text) <= 20
