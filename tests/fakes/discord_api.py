"""A fake Discord that the real discord.py client talks to over loopback.

REST under `/api/v10` and a websocket gateway on one aiohttp server at
127.0.0.1 on a random port. It speaks enough of the wire protocol for a bot:
log in, sync slash commands, post/edit/delete messages, open DMs, answer
interactions (callback, followups, `@original`), and on the gateway HELLO →
heartbeats/ACKs → IDENTIFY → READY → one GUILD_CREATE per guild, then whatever
the test pushes (INTERACTION_CREATE, servers joined and left, channels deleted).

Every request is recorded (`requests`); errors are injected on demand (`fail`,
`rate_limit`). Tests wait for what a user would see with `wait_messages` and
`wait_answer`, which block on a condition with a bounded timeout.

Wire facts discord.py depends on: JSON bodies must carry `Content-Type:
application/json` exactly; a 429 counts as a rate limit only with a `Via` header
and `retry_after` in the JSON body; the interaction callback answers with a
body holding `interaction`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes import discord_payloads as payloads
from tests.fakes.discord_payloads import (
    APPLICATION_ID,
    BOT_USER_ID,
    EPHEMERAL,
    MODERATOR,
    FakeGuild,
    FakeThread,
)

TOKEN = "fake.discord.token-Zm9vYmFyYmF6"
#: A "status" for `fail`: close the connection without answering.
DROP = 0
USER_ID = 600_000_001

Answer = tuple[int, Any]
Handler = Callable[[dict[str, str], Any], Answer]


@dataclass(frozen=True)
class Recorded:
    """One request as the fake received it; `path` is below `/api/v10`."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    authorization: str | None


@dataclass
class Failure:
    """An injected error: the next `times` requests matching answer `status`."""

    method: str
    path: re.Pattern[str]
    status: int
    body: Any
    headers: dict[str, str]
    times: int


@dataclass
class FakeInteraction:
    """An interaction the test pushed; the fake fills in how the bot answered."""

    id: int
    token: str
    type: int
    channel_id: int
    #: The body of `POST /interactions/{id}/{token}/callback`, once answered.
    callback: dict[str, Any] | None = None
    #: Followups and `@original` edits, in order.
    messages: list[dict[str, Any]] = field(default_factory=list)
    deleted_original: bool = False


class FakeDiscord:
    """The fake server. Use as `async with FakeDiscord() as discord:`."""

    def __init__(self, *, token: str = TOKEN, guilds: tuple[FakeGuild, ...] | None = None):
        self.token = token
        self.guilds = guilds or (
            FakeGuild(800_000_000_000_000_001, "Newsroom", (700_001, 700_002)),
        )
        self.requests: list[Recorded] = []
        #: Channel id → messages the bot posted there (edits applied, deletions removed).
        self.messages: dict[int, list[dict[str, Any]]] = {}
        #: None (global) or a guild id → the registered commands.
        self.commands: dict[int | None, list[dict[str, Any]]] = {}
        self.interactions: dict[str, FakeInteraction] = {}
        #: Every thread (and forum post) by id, archived or not; deleted ones are dropped.
        self.threads: dict[int, FakeThread] = {t.id: t for g in self.guilds for t in g.threads}
        #: Channels and threads that were deleted: posting there is 404 Unknown Channel.
        self.deleted: set[int] = set()
        self.identified = 0
        self.heartbeats = 0
        self.resumed = 0
        self._failures: list[Failure] = []
        self._ids = itertools.count(1_000_000_000_000_000_000)
        self._changed = asyncio.Condition()
        self._sockets: list[web.WebSocketResponse] = []
        self._seq = itertools.count(1)
        self._routes = self._route_table()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # --- lifecycle ---------------------------------------------------------------

    async def __aenter__(self) -> FakeDiscord:
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for socket in list(self._sockets):
            await socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    # --- error injection ---------------------------------------------------------

    def fail(
        self,
        method: str,
        path: str,
        status: int,
        *,
        code: int = 0,
        message: str = "injected",
        headers: dict[str, str] | None = None,
        body: Any = None,
        times: int = 1,
    ) -> None:
        """The next `times` requests `method path` (a regex, fully matched) answer `status`.

        The body is Discord's error JSON `{"code", "message"}` unless `body` is given;
        `status=DROP` closes the connection instead.
        """
        payload = {"code": code, "message": message} if body is None else body
        self._failures.append(
            Failure(method, re.compile(path), status, payload, headers or {}, times)
        )

    def rate_limit(
        self, method: str, path: str, retry_after: float, *, everywhere: bool = False
    ) -> None:
        """A 429 as Discord sends it: `Via`, `retry_after` in the body, the scope headers."""
        headers = {"Via": "1.1 google", "Retry-After": str(int(retry_after) or 1)}
        headers["X-RateLimit-Scope"] = "global" if everywhere else "user"
        if everywhere:
            headers["X-RateLimit-Global"] = "true"
        body = {"message": "You are being rate limited.", "retry_after": retry_after}
        body["global"] = everywhere
        self.fail(method, path, 429, headers=headers, body=body)

    def _take_failure(self, method: str, path: str) -> Failure | None:
        for failure in self._failures:
            if failure.method == method and failure.path.fullmatch(path):
                failure.times -= 1
                if failure.times <= 0:
                    self._failures.remove(failure)
                return failure
        return None

    # --- waiting -----------------------------------------------------------------

    async def wait_until(
        self, ready: Callable[[], bool], within: float = 5.0, what: str = "a condition"
    ) -> None:
        """Block until `ready()` holds after some request or gateway event; at most `within` s."""
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(ready), within)
            except TimeoutError:
                raise AssertionError(f"fake Discord: timed out waiting for {what}") from None

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_messages(
        self, channel_id: int, count: int, within: float = 5.0
    ) -> list[dict[str, Any]]:
        """Wait until the channel holds at least `count` bot messages; returns them."""
        await self.wait_until(
            lambda: len(self.messages.get(channel_id, ())) >= count,
            within,
            f"{count} message(s) in channel {channel_id}",
        )
        return self.messages[channel_id]

    async def wait_answer(
        self, interaction: FakeInteraction, within: float = 5.0
    ) -> dict[str, Any]:
        """Wait until the interaction is fully answered; returns what the user sees.

        For an autocomplete that is the callback's `data`; for a command or a
        button, the last message posted or edited after the callback.
        """
        if interaction.type == 4:
            await self.wait_until(lambda: interaction.callback is not None, within, "autocomplete")
            assert interaction.callback is not None
            data: dict[str, Any] = interaction.callback["data"]
            return data
        await self.wait_until(lambda: bool(interaction.messages), within, "an interaction answer")
        return interaction.messages[-1]

    async def wait_requests(
        self, method: str, path: str, count: int = 1, within: float = 5.0
    ) -> list[Recorded]:
        """Wait until `count` requests `method path` (regex) arrived; returns them."""
        await self.wait_until(
            lambda: len(self.requests_to(method, path)) >= count,
            within,
            f"{count} × {method} {path}",
        )
        return self.requests_to(method, path)

    def requests_to(self, method: str, path: str) -> list[Recorded]:
        pattern = re.compile(path)
        return [r for r in self.requests if r.method == method and pattern.fullmatch(r.path)]

    # --- what users and servers do ----------------------------------------------

    async def slash(
        self,
        name: str,
        options: dict[str, str | int | bool] | None = None,
        *,
        channel_id: int | None = None,
        dm: bool = False,
        user_id: int = USER_ID,
        permissions: int = MODERATOR,
        locale: str = "ko",
    ) -> FakeInteraction:
        """A user runs `/name` with `options`, in a guild channel or (dm=True) a DM.

        In a guild, `permissions` are the member's in that channel.
        """
        data = {"id": self._command_id(name), "name": name, "type": 1}
        data["options"] = [payloads.option(k, v) for k, v in (options or {}).items()]
        where = _Where(channel_id, dm, user_id, permissions, locale)
        return await self._interact(2, data, where)

    async def choose(
        self, custom_id: str, value: str, message: dict[str, Any], *, user_id: int = USER_ID
    ) -> FakeInteraction:
        """A user picks the option `value` in the select menu `custom_id` under `message`."""
        data = {"custom_id": custom_id, "component_type": 3, "values": [value]}
        where = _Where(int(message["channel_id"]), False, user_id)
        return await self._interact(3, data, where, message=message)

    async def autocomplete(
        self, name: str, focused: str, value: str, *, dm: bool = False
    ) -> FakeInteraction:
        """A user types `value` into option `focused` of `/name`."""
        option = {"name": focused, "type": 3, "value": value, "focused": True}
        data = {"id": self._command_id(name), "name": name, "type": 1, "options": [option]}
        return await self._interact(4, data, _Where(None, dm))

    async def press(
        self, custom_id: str, message: dict[str, Any], *, user_id: int = USER_ID
    ) -> FakeInteraction:
        """A user presses the button `custom_id` under `message` (a bot message in a guild)."""
        data = {"custom_id": custom_id, "component_type": 2}
        where = _Where(int(message["channel_id"]), False, user_id)
        return await self._interact(3, data, where, message=message)

    async def join_guild(self, guild: FakeGuild) -> None:
        """Someone adds the bot to another server."""
        self.guilds = (*self.guilds, guild)
        await self.dispatch("GUILD_CREATE", payloads.guild(guild, joined=True))

    async def leave_guild(self, guild: FakeGuild) -> None:
        """The bot is kicked from a server (or the server is deleted)."""
        self.guilds = tuple(g for g in self.guilds if g.id != guild.id)
        await self.dispatch("GUILD_DELETE", {"id": str(guild.id)})

    async def reconnect(self) -> None:
        """Discord asks every connection to reconnect (op 7), as during its own restarts."""
        for socket in list(self._sockets):
            await socket.send_str(json.dumps({"op": 7, "d": None}))

    async def delete_channel(self, channel_id: int) -> None:
        guild = next(g for g in self.guilds if channel_id in g.channels)
        await self.dispatch("CHANNEL_DELETE", payloads.text_channel(channel_id, guild.id))

    async def start_thread(self, parent_id: int) -> FakeThread:
        """Someone opens a thread in a channel (or a post in a forum): THREAD_CREATE."""
        thread = FakeThread(next(self._ids), parent_id)
        self.threads[thread.id] = thread
        await self.dispatch("THREAD_CREATE", self._thread_payload(thread) | {"newly_created": True})
        return thread

    async def delete_thread(self, thread_id: int) -> None:
        """A moderator deletes the thread: THREAD_DELETE, and posting there is 404 10003."""
        thread = self.threads.pop(thread_id)
        self.deleted.add(thread_id)
        payload = self._thread_payload(thread)
        keys = ("id", "guild_id", "parent_id", "type")
        await self.dispatch("THREAD_DELETE", {k: payload[k] for k in keys})

    async def archive_thread(self, thread_id: int, *, locked: bool = False) -> None:
        """The thread is archived (after inactivity, or by a moderator, maybe locked too)."""
        thread = self.threads[thread_id]
        thread.archived, thread.locked = True, locked
        await self.dispatch("THREAD_UPDATE", self._thread_payload(thread))

    def _thread_payload(self, thread: FakeThread) -> dict[str, Any]:
        return payloads.thread_channel(thread, self._guild_of(thread.parent_id).id)

    def _guild_of(self, channel_id: int) -> FakeGuild:
        return next(g for g in self.guilds if channel_id in (*g.channels, *g.forums))

    async def _interact(
        self, kind: int, data: dict[str, Any], where: _Where, message: dict[str, Any] | None = None
    ) -> FakeInteraction:
        guild = self.guilds[0]
        channel_id = where.channel_id or (next(self._ids) if where.dm else guild.channels[0])
        interaction_id, token = next(self._ids), f"itoken-{next(self._ids)}"
        interaction = FakeInteraction(interaction_id, token, kind, channel_id)
        self.interactions[token] = interaction
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(APPLICATION_ID),
            "type": kind,
            "token": token,
            "version": 1,
            "attachment_size_limit": 8 * 1024 * 1024,
            "data": data,
            "locale": where.locale,
            "app_permissions": str(MODERATOR),
            "entitlements": [],
        }
        if message is not None:
            payload["message"] = message
        if where.dm:
            payload["channel"] = payloads.dm_channel(channel_id, where.user_id)
            payload.update(user=payloads.user(where.user_id), context=1)
        else:
            thread = self.threads.get(channel_id)
            payload["channel"] = (
                payloads.text_channel(channel_id, guild.id)
                if thread is None
                else self._thread_payload(thread)
            )
            payload.update(guild_id=str(guild.id), guild_locale=guild.locale, context=0)
            payload["member"] = payloads.member(where.user_id, where.permissions)
        await self.dispatch("INTERACTION_CREATE", payload)
        return interaction

    def _command_id(self, name: str) -> str:
        for command in itertools.chain.from_iterable(self.commands.values()):
            if command["name"] == name:
                return str(command["id"])
        return str(next(self._ids))

    # --- gateway -----------------------------------------------------------------

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Push a DISPATCH event to every identified gateway connection."""
        frame = {"op": 0, "t": event, "s": next(self._seq), "d": data}
        for socket in list(self._sockets):
            await socket.send_str(json.dumps(frame))

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await socket.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 41_250}}))
        async for frame in socket:
            if frame.type is not WSMsgType.TEXT:
                break
            await self._gateway_op(socket, json.loads(frame.data))
        if socket in self._sockets:
            self._sockets.remove(socket)
        return socket

    async def _gateway_op(self, socket: web.WebSocketResponse, frame: dict[str, Any]) -> None:
        op = frame.get("op")
        if op == 1:
            self.heartbeats += 1
            await socket.send_str(json.dumps({"op": 11}))
        elif op in (2, 6) and frame["d"].get("token") != self.token:
            await socket.close(code=4004, message=b"Authentication failed.")
        elif op == 2:
            await self._identified(socket)
        elif op == 6:
            self.resumed += 1
            self._sockets.append(socket)
            await self.dispatch("RESUMED", {})
            await self._notify()

    async def _identified(self, socket: web.WebSocketResponse) -> None:
        self.identified += 1
        ready = {
            "v": 10,
            "user": payloads.user(BOT_USER_ID, bot=True),
            "guilds": [{"id": str(g.id), "unavailable": True} for g in self.guilds],
            "session_id": f"session-{self.identified}",
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(APPLICATION_ID), "flags": 0},
            "private_channels": [],
        }
        self._sockets.append(socket)
        await self.dispatch("READY", ready)
        for guild in self.guilds:
            await self.dispatch("GUILD_CREATE", payloads.guild(guild))
        await self._notify()

    # --- REST --------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]
        body = await request.json() if request.can_read_body else None
        auth = request.headers.get("Authorization")
        self.requests.append(Recorded(request.method, path, dict(request.query), body, auth))
        try:
            return await self._answer(request, path, body, auth)
        finally:
            await self._notify()

    async def _answer(
        self, request: web.Request, path: str, body: Any, auth: str | None
    ) -> web.Response:
        failure = self._take_failure(request.method, path)
        if failure is not None and failure.status == DROP:
            assert request.transport is not None
            request.transport.close()
            return web.Response(status=500)  # never arrives: the connection is gone
        if failure is not None:
            return _json(failure.status, failure.body, failure.headers)
        for method, pattern, handler, needs_auth in self._routes:
            match = pattern.fullmatch(path)
            if method == request.method and match:
                if needs_auth and auth != f"Bot {self.token}":
                    return _json(401, {"code": 0, "message": "401: Unauthorized"})
                # Handlers see the path's parts and the query string alike.
                status, payload = handler({**request.query, **match.groupdict()}, body)
                return _json(status, payload)
        return _json(404, {"code": 0, "message": f"404: Not Found ({request.method} {path})"})

    def _route_table(self) -> list[tuple[str, re.Pattern[str], Handler, bool]]:
        """(method, path, handler, needs the bot token); webhooks use the interaction's."""
        commands = r"/applications/\d+(?:/guilds/(?P<guild>\d+))?/commands"
        message = r"/channels/(?P<channel>\d+)/messages/(?P<id>\d+)"
        hook = r"/webhooks/\d+/(?P<token>[^/]+)"
        table: list[tuple[str, str, Handler, bool]] = [
            ("GET", "/users/@me", lambda _, __: (200, payloads.user(BOT_USER_ID, bot=True)), True),
            ("GET", "/oauth2/applications/@me", lambda _, __: (200, _application()), True),
            ("GET", commands, self._get_commands, True),
            ("PUT", commands, self._put_commands, True),
            ("POST", r"/channels/(?P<channel>\d+)/messages", self._post_message, True),
            ("PATCH", message, self._edit, True),
            ("DELETE", message, self._delete, True),
            ("POST", "/users/@me/channels", self._open_dm, True),
            ("POST", r"/interactions/(?P<id>\d+)/(?P<token>[^/]+)/callback", self._callback, False),
            ("POST", hook, self._followup, False),
            ("PATCH", hook + "/messages/@original", partial(self._followup, edit=True), False),
            ("DELETE", hook + "/messages/@original", self._delete_original, False),
        ]
        return [(m, re.compile(p), h, a) for m, p, h, a in table]

    def _get_commands(self, args: dict[str, str], _: Any) -> Answer:
        commands = self.commands.get(_scope(args), [])
        if args.get("with_localizations") == "true":
            return 200, commands
        # As Discord does: translations only when asked for.
        return 200, [payloads.without_localizations(command) for command in commands]

    def _put_commands(self, args: dict[str, str], body: Any) -> Answer:
        scope = _scope(args)
        stored = [
            payloads.stored_command(command, next(self._ids), next(self._ids), scope)
            for command in body
        ]
        self.commands[scope] = stored
        return 200, stored

    def _post_message(self, args: dict[str, str], body: Any) -> Answer:
        if errors := payloads.form_errors(body):
            return _invalid(errors)
        channel = int(args["channel"])
        if refusal := self._unpostable(channel):
            return refusal
        message = payloads.message(next(self._ids), channel, body)
        self.messages.setdefault(channel, []).append(message)
        return 200, message

    def _unpostable(self, channel: int) -> Answer | None:
        """Discord's refusal to take a message in `channel`, if it refuses."""
        if channel in self.deleted:
            return 404, {"code": 10003, "message": "Unknown Channel"}
        if any(channel in g.forums for g in self.guilds):
            # What the live API answers (the docs' 40058 is used for young forum posts).
            return 400, {"code": 50008, "message": "Cannot send messages in a non-text channel"}
        thread = self.threads.get(channel)
        if thread is not None and thread.archived and thread.locked:
            return 400, {"code": 50083, "message": "Thread is archived"}
        if thread is not None:
            thread.archived = False  # a message unarchives a thread that is not locked
        return None

    def _edit(self, args: dict[str, str], body: Any) -> Answer:
        if errors := payloads.form_errors(body, edit=True):
            return _invalid(errors)
        for message in self.messages.get(int(args["channel"]), []):
            if message["id"] == args["id"]:
                message.update(body)
                message["edited_timestamp"] = payloads.now()
                return 200, message
        return 404, {"code": 10008, "message": "Unknown Message"}

    def _delete(self, args: dict[str, str], _: Any) -> Answer:
        messages = self.messages.get(int(args["channel"]), [])
        kept = [m for m in messages if m["id"] != args["id"]]
        if len(kept) == len(messages):
            return 404, {"code": 10008, "message": "Unknown Message"}
        self.messages[int(args["channel"])] = kept
        return 204, None

    def _open_dm(self, _: dict[str, str], body: Any) -> Answer:
        user_id = int(body["recipient_id"])
        return 200, payloads.dm_channel(user_id + 1, user_id)

    def _callback(self, args: dict[str, str], body: Any) -> Answer:
        interaction = self.interactions.get(args["token"])
        if interaction is None or str(interaction.id) != args["id"]:
            return 404, {"code": 10062, "message": "Unknown interaction"}
        if interaction.callback is not None:
            return 400, {"code": 40060, "message": "Interaction has already been acknowledged."}
        interaction.callback = body
        data = body.get("data") or {}
        if body["type"] in (4, 7):
            # An immediate message (4) or message update (7) is what the user sees.
            channel = interaction.channel_id
            interaction.messages.append(payloads.message(next(self._ids), channel, data))
        answer = {"id": str(interaction.id), "type": interaction.type}
        answer["response_message_loading"] = body["type"] == 5
        answer["response_message_ephemeral"] = bool(data.get("flags", 0) & EPHEMERAL)
        return 200, {"interaction": answer}

    def _followup(self, args: dict[str, str], body: Any, *, edit: bool = False) -> Answer:
        """A followup (POST) or an edit of the original answer (PATCH): what the user sees."""
        interaction = self.interactions.get(args["token"])
        if interaction is None or interaction.callback is None:
            return 404, {"code": 10015, "message": "Unknown Webhook"}
        if errors := payloads.form_errors(body, edit=edit):
            return _invalid(errors)
        channel = interaction.channel_id
        message = payloads.message(next(self._ids), channel, body, webhook=True)
        interaction.messages.append(message)
        return 200, message

    def _delete_original(self, args: dict[str, str], _: Any) -> Answer:
        interaction = self.interactions.get(args["token"])
        if interaction is None or interaction.callback is None:
            return 404, {"code": 10015, "message": "Unknown Webhook"}
        interaction.deleted_original = True
        return 204, None


@dataclass(frozen=True)
class _Where:
    """Where an interaction happens and who does it."""

    channel_id: int | None
    dm: bool
    user_id: int = USER_ID
    permissions: int = MODERATOR
    locale: str = "ko"


def _invalid(errors: list[str]) -> Answer:
    return 400, {"code": 50035, "message": "Invalid Form Body: " + "; ".join(errors)}


def _scope(args: dict[str, str]) -> int | None:
    return int(args["guild"]) if args.get("guild") else None


def _application() -> dict[str, Any]:
    return {
        "id": str(APPLICATION_ID),
        "name": "newsbot",
        "description": "",
        "icon": None,
        "bot_public": True,
        "bot_require_code_grant": False,
        "owner": payloads.user(payloads.OWNER_ID),
        "verify_key": "00",
        "flags": 0,
    }


def _json(status: int, payload: Any, headers: dict[str, str] | None = None) -> web.Response:
    if status == 204 or payload is None:
        return web.Response(status=204, headers=headers)
    # Exactly `application/json`: discord.py parses nothing else as JSON.
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    return web.Response(status=status, body=json.dumps(payload).encode(), headers=all_headers)
