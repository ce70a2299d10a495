"""A fake Telegram Bot API server: aiohttp on 127.0.0.1, a random port, the real wire protocol.

The real python-telegram-bot client talks to it through `api_url` (the token is
appended, as with https://api.telegram.org/bot). It answers `/bot<token>/<method>`
with JSON or form bodies the way Telegram does:

- records every message per chat as the user would see it (`messages(chat_id)`),
  after checking HTML parse mode as Telegram does (400 "can't parse entities");
- enforces Telegram's rate limits over sliding windows (30 messages in any second,
  1 per second to a private chat, 20 per minute to a group or channel; 1000 per
  second with `allow_paid_broadcast`) with 429 and `retry_after`, counting the 429s;
- fails on demand: per chat (`fail_chat`), for the next N calls (`fail_next`), or at
  random on a share of calls (`chaos`: 429, 5xx, timeouts, resets, some after
  delivering, counted in `delivered_unanswered`);
- holds getUpdates until an update is pushed (`push_*`) or its timeout runs out, or,
  once setWebhook is called, POSTs each update to the webhook with its secret header.

The clock behind the rate windows is injectable (`clock=`), so tests move time by hand.
For throughput runs, start it in another process: it costs CPU like a real client does.

Tests wait for what they expect with `wait_for_messages` / `wait_until`, never a sleep.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import random
import time
from collections import defaultdict, deque
from collections.abc import Callable

import aiohttp
from aiohttp import web

from tests.fakes.telegram_html import Entity, HtmlError, parse_html
from tests.fakes.telegram_wire import (
    JSON,
    Failure,
    Message,
    Reset,
    SlidingWindow,
    TelegramApiError,
    bool_param,
    check_markup,
    command_entities,
    default_chat,
    json_param,
    member_json,
    render_text,
    user_json,
)

TOKEN = "123456789:AAHfakeTOKENforTESTSxxxxxxxxxxxxxxxx"
BOT_ID = 123456789
BOT_USERNAME = "newsbot_test_bot"
#: Methods that put a message in a chat, and so count against the rate limits.
SENDING = frozenset({"sendmessage", "sendphoto"})
#: Methods that `fail_chat` applies to.
CHAT_METHODS = SENDING | {"editmessagetext", "editmessagereplymarkup", "deletemessage"}
__all__ = ["Entity", "Failure", "FakeTelegram", "HtmlError", "Message", "parse_html"]
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)


class FakeTelegram:
    """The fake Bot API server. `async with FakeTelegram() as tg:` starts and stops it."""

    def __init__(
        self,
        *,
        token: str = TOKEN,
        username: str = BOT_USERNAME,
        limits: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token, self.username, self.limits, self.clock = token, username, limits, clock
        self.port = 0
        #: Every call as (method, parameters), in order.
        self.calls: list[tuple[str, JSON]] = []
        #: How many times the fake answered 429.
        self.too_many_requests = 0
        self.callback_answers: list[JSON] = []
        #: setMyCommands, by language code ("" for the default).
        self.commands: dict[str, list[JSON]] = {}
        self.chats: dict[int, JSON] = {}
        self.admins: set[tuple[int, int]] = set()
        self._files: dict[str, tuple[str, bytes]] = {}
        self._messages: dict[int, list[Message]] = defaultdict(list)
        self._ids: dict[int, itertools.count[int]] = defaultdict(lambda: itertools.count(1))
        self._updates: list[JSON] = []
        self._update_ids = itertools.count(1)
        self._new_update = asyncio.Event()
        self._polls = itertools.count()
        self._latest_poll = -1
        #: setWebhook's parameters while a webhook is set.
        self.webhook: JSON | None = None
        #: The HTTP status of every webhook delivery (0: no answer).
        self.webhook_statuses: list[int] = []
        self._pusher: asyncio.Task[None] | None = None
        #: getUpdates requests being held right now.
        self.polls_waiting = 0
        self._closing = asyncio.Event()
        self._changed = asyncio.Condition()
        self._chat_failures: dict[int, Failure] = {}
        self._chaos: tuple[float, random.Random, tuple[Failure, ...], str] | None = None
        self._chaos_cap: int | None = None
        self._chaos_counts: dict[int, int] = defaultdict(int)
        #: Messages delivered although the client got a failure (timeout, reset) instead.
        self.delivered_unanswered = 0
        #: The chat of each of those, in order: the only chats a correct client may
        #: have sent twice.
        self.unanswered_chats: list[int] = []
        #: How long a `timeout` failure holds its request (None: until the server stops).
        self.hang_seconds: float | None = None
        self._next_failures: deque[tuple[str, Failure]] = deque()
        self._windows: dict[object, SlidingWindow] = {}
        self._runner: web.AppRunner | None = None

    # --- lifecycle -----------------------------------------------------------------

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._dispatch)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        # No access log: it would print every URL, token included.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Wake every held request, then close."""
        self._closing.set()
        self._new_update.set()
        if self._pusher is not None:
            await self._pusher
            self._pusher = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def api_url(self) -> str:
        """The Bot API base; the client appends the token."""
        return f"http://127.0.0.1:{self.port}/bot"

    # --- what tests look at ----------------------------------------------------------

    def messages(self, chat_id: int | str) -> list[Message]:
        """The chat's messages from the bot, oldest first, deleted ones left out."""
        return [m for m in self._messages[int(chat_id)] if not m.deleted]

    def sent_count(self) -> int:
        return sum(len(v) for v in self._messages.values())

    async def wait_until(self, predicate: Callable[[], bool], within: float = 5.0) -> None:
        """Return once `predicate()` holds; `TimeoutError` after `within` seconds."""
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(predicate)

    async def wait_for_messages(
        self, chat_id: int | str, count: int = 1, within: float = 5.0
    ) -> list[Message]:
        """The chat's messages, once it has at least `count`."""
        await self.wait_until(lambda: len(self.messages(chat_id)) >= count, within)
        return self.messages(chat_id)

    # --- failures on demand ------------------------------------------------------------

    def fail_chat(self, chat_id: int | str, failure: Failure | None) -> None:
        """Answer every call for this chat with `failure` (None: stop failing)."""
        if failure is None:
            self._chat_failures.pop(int(chat_id), None)
        else:
            self._chat_failures[int(chat_id)] = failure

    def fail_next(self, failure: Failure, times: int = 1, method: str = "sendMessage") -> None:
        """Answer the next `times` calls of `method` with `failure`."""
        self._next_failures.extend([(method.lower(), failure)] * times)

    def chaos(
        self,
        share: float,
        *,
        seed: int = 0,
        failures: tuple[Failure, ...] | None = None,
        method: str = "sendMessage",
        max_per_chat: int | None = None,
    ) -> None:
        """Fail a `share` of `method` calls at random (seeded), with one of `failures`.

        By default every transient kind: 429, 500, 502, timeouts and resets, some of
        them after delivering (`delivered_unanswered` counts those). `max_per_chat`:
        no chat's calls fail more often than this (so retry backoffs stay short).
        """
        self._chaos = (share, random.Random(seed), failures or Failure.every_kind(), method.lower())
        self._chaos_cap = max_per_chat

    def make_admin(self, chat_id: int, user_id: int) -> None:
        self.admins.add((chat_id, user_id))

    # --- updates tests push -------------------------------------------------------------

    def push_message(
        self,
        chat_id: int,
        text: str | None,
        *,
        chat_type: str = "private",
        user_id: int | None = None,
        language_code: str | None = "ko",
        kind: str = "message",
        extra: JSON | None = None,
    ) -> JSON:
        """Queue a user's message (`kind`: message, edited_message, channel_post)."""
        chat = self._chat(chat_id, chat_type)
        message: JSON = {"message_id": next(self._ids[chat_id]), "date": int(time.time()),
                         "chat": chat, **(extra or {})}  # fmt: skip
        if kind == "channel_post":
            message["sender_chat"] = chat
        else:
            message["from"] = user_json(user_id or abs(chat_id), language_code)
        if text is not None:
            message["text"] = text
            message["entities"] = command_entities(text)
        return self._push({kind: message})

    def push_callback(
        self,
        chat_id: int,
        message_id: int,
        data: str,
        *,
        user_id: int | None = None,
        language_code: str | None = "ko",
    ) -> JSON:
        """Queue a press on a button of one of the bot's messages."""
        sent = next(m for m in self._messages[chat_id] if m.message_id == message_id)
        query = {"id": str(next(self._update_ids) * 7), "chat_instance": str(chat_id),
                 "from": user_json(user_id or abs(chat_id), language_code), "data": data,
                 "message": self._messagejson_param(sent)}  # fmt: skip
        return self._push({"callback_query": query})

    def push_document(
        self,
        chat_id: int,
        file_name: str,
        content: bytes,
        *,
        chat_type: str = "private",
        user_id: int | None = None,
    ) -> JSON:
        """Queue a user's file; the bot fetches it with getFile and a download."""
        file_id = f"file-{len(self._files) + 1}"
        self._files[file_id] = (f"documents/{file_id}-{file_name}", content)
        document = {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_name": file_name,
                    "mime_type": "text/x-opml", "file_size": len(content)}  # fmt: skip
        return self.push_message(chat_id, None, chat_type=chat_type, user_id=user_id,
                                 extra={"document": document})  # fmt: skip

    def push_member_change(
        self,
        chat_id: int,
        new_status: str,
        *,
        old_status: str = "member",
        chat_type: str = "private",
        user_id: int | None = None,
    ) -> JSON:
        """Queue a my_chat_member update: the bot's own status in a chat changed."""
        bot = self._botuser_json()
        change = {"chat": self._chat(chat_id, chat_type), "date": int(time.time()),
                  "from": user_json(user_id or abs(chat_id), "ko"),
                  "old_chat_member": member_json(bot, old_status),
                  "new_chat_member": member_json(bot, new_status)}  # fmt: skip
        return self._push({"my_chat_member": change})

    def _push(self, body: JSON) -> JSON:
        update = {"update_id": next(self._update_ids), **body}
        self._updates.append(update)
        self._new_update.set()
        return update

    def _chat(self, chat_id: int, chat_type: str) -> JSON:
        chat: JSON = {"id": chat_id, "type": chat_type}
        chat.update({"first_name": "Tester"} if chat_type == "private" else {"title": "Room"})
        self.chats[chat_id] = chat
        return chat

    def _botuser_json(self) -> JSON:
        return {"id": BOT_ID, "is_bot": True, "first_name": "Newsbot", "username": self.username,
                "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False}  # fmt: skip

    def _messagejson_param(self, m: Message) -> JSON:
        data: JSON = {"message_id": m.message_id, "date": int(time.time()), "text": m.text,
                      "chat": self.chats.get(m.chat_id) or default_chat(m.chat_id),
                      "from": self._botuser_json()}  # fmt: skip
        if m.reply_markup:
            data["reply_markup"] = m.reply_markup
        if m.message_thread_id:
            data["message_thread_id"] = m.message_thread_id
        return data

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # --- the wire ---------------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"].lower()
        params = await _params(request)
        self.calls.append((method, params))
        try:
            if request.match_info["token"] != self.token:
                raise TelegramApiError(401, "Unauthorized")
            handler = getattr(self, f"_api_{method}", None)
            if handler is None:
                raise TelegramApiError(404, "Not Found")
            result = await handler(params)
        except TelegramApiError as err:
            return _error(err)
        except Reset:
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=204)  # never written: the connection is gone
        return web.json_response({"ok": True, "result": result})

    async def _injected(self, method: str, params: JSON, deliver: Callable[[], object]) -> None:
        """Raise the failure due for this call, if any (or hold it, for a timeout)."""
        failure = self._failure_for(method, params)
        if failure is None:
            return
        if failure.deliver:
            deliver()
            self.delivered_unanswered += 1
            if "chat_id" in params:
                self.unanswered_chats.append(int(params["chat_id"]))
            await self._notify()
        if failure.reset:
            raise Reset
        if failure.hang:
            await self._hang()
        if failure.status == 429:
            self.too_many_requests += 1
        raise TelegramApiError(failure.status or 502, failure.description or "Bad Gateway",
                               failure.parameters)  # fmt: skip

    async def _hang(self) -> None:
        """Hold a request past the client's timeout: until `hang_seconds` or the server stops."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), self.hang_seconds)

    def _failure_for(self, method: str, params: JSON) -> Failure | None:
        if self._next_failures and self._next_failures[0][0] == method:
            return self._next_failures.popleft()[1]
        if method in CHAT_METHODS and "chat_id" in params:
            failure = self._chat_failures.get(int(params["chat_id"]))
            if failure is not None:
                return failure
        if self._chaos is not None and method == self._chaos[3]:
            share, rng, failures, _ = self._chaos
            if rng.random() < share and self._chaos_allows(params.get("chat_id")):
                return rng.choice(failures)
        return None

    def _chaos_allows(self, chat_id: object) -> bool:
        """Count one random failure against the chat's cap; False once it is reached."""
        if self._chaos_cap is None or chat_id is None:
            return True
        key = int(str(chat_id))
        self._chaos_counts[key] += 1
        return self._chaos_counts[key] <= self._chaos_cap

    def _check_rate(self, chat_id: int, paid: bool) -> None:
        """Count one message against every window, or answer 429 if one is full."""
        if not self.limits:
            return
        now = self.clock()
        keys: list[tuple[object, int, float]] = [
            ("paid", 1000, 1.0) if paid else ("all", 30, 1.0),
            (chat_id, 1, 1.0) if chat_id > 0 else (chat_id, 20, 60.0),
        ]
        windows = [self._windows.setdefault(k, SlidingWindow(n, s)) for k, n, s in keys]
        wait = max(w.wait(now) for w in windows)
        if wait > 0:
            self.too_many_requests += 1
            retry = max(1, math.ceil(wait))
            raise TelegramApiError(429, f"Too Many Requests: retry after {retry}",
                                   {"retry_after": retry})  # fmt: skip
        for window in windows:
            window.times.append(now)

    # --- methods ------------------------------------------------------------------------------

    async def _api_getme(self, params: JSON) -> JSON:
        return self._botuser_json()

    async def _api_setwebhook(self, params: JSON) -> bool:
        """From now on, push updates to `url` (with the secret header) instead of polling."""
        if not params.get("url"):
            return await self._api_deletewebhook(params)
        self.webhook = {"url": params["url"], "secret_token": params.get("secret_token"),
                        "allowed_updates": json_param(params.get("allowed_updates"))}  # fmt: skip
        if self._pusher is None:
            self._pusher = asyncio.create_task(self._push_to_webhook())
        self._new_update.set()
        return True

    async def _api_deletewebhook(self, params: JSON) -> bool:
        self.webhook = None
        return True

    async def _push_to_webhook(self) -> None:
        """Deliver queued updates one at a time, as Telegram does; a refused one is dropped."""
        async with aiohttp.ClientSession() as session:
            while not self._closing.is_set():
                if self.webhook is None or not self._updates:
                    self._new_update.clear()
                    await self._new_update.wait()
                    continue
                update, secret = self._updates.pop(0), self.webhook["secret_token"]
                headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
                try:
                    async with session.post(self.webhook["url"], json=update,
                                            headers=headers) as answer:  # fmt: skip
                        status = answer.status
                except aiohttp.ClientError:
                    status = 0
                self.webhook_statuses.append(status)
                await self._notify()

    async def _api_close(self, params: JSON) -> bool:
        return True

    async def _api_logout(self, params: JSON) -> bool:
        return True

    async def _api_getupdates(self, params: JSON) -> list[JSON]:
        """Long polling: hold until an update is queued or `timeout` runs out."""
        if self.webhook is not None:
            raise TelegramApiError(409, WEBHOOK_CONFLICT)
        offset = int(params.get("offset") or 0)
        allowed = set(json_param(params.get("allowed_updates")) or ())
        self._latest_poll = poll = next(self._polls)
        self._new_update.set()  # an older poll still held answers 409, as Telegram's does
        deadline = asyncio.get_running_loop().time() + float(params.get("timeout") or 0)
        while not (found := self._pending(offset, allowed)) and not self._closing.is_set():
            self._new_update.clear()
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0 or not await self._hold(remaining):
                break
            if self._latest_poll != poll:
                raise TelegramApiError(409, CONFLICT)
        return found[: int(params.get("limit") or 100)]

    def _pending(self, offset: int, allowed: set[str]) -> list[JSON]:
        """Updates from `offset` on; earlier ones are confirmed and forgotten."""
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        return [u for u in self._updates if not allowed or allowed & set(u)]

    async def _hold(self, seconds: float) -> bool:
        """Wait for a pushed update (True) or the end of the poll's timeout (False)."""
        self.polls_waiting += 1
        await self._notify()
        try:
            await asyncio.wait_for(self._new_update.wait(), seconds)
        except TimeoutError:
            return False
        finally:
            self.polls_waiting -= 1
        return True

    async def _api_sendmessage(self, params: JSON) -> JSON:
        chat_id = int(params["chat_id"])
        message = self._build(chat_id, params)
        await self._injected("sendmessage", params, lambda: self._record(message))
        self._check_rate(chat_id, bool_param(params.get("allow_paid_broadcast")))
        self._record(message)
        await self._notify()
        return self._messagejson_param(message)

    def _build(self, chat_id: int, params: JSON) -> Message:
        raw, parse_mode = str(params.get("text", "")), params.get("parse_mode")
        text, entities = render_text(raw, parse_mode)
        markup = json_param(params.get("reply_markup"))
        check_markup(markup)
        thread = params.get("message_thread_id")
        answers = (json_param(params.get("reply_parameters")) or {}).get("message_id")
        return Message(chat_id, 0, text, raw, parse_mode, markup,
                       int(thread) if thread else None, entities, reply_to=answers)  # fmt: skip

    def _record(self, message: Message) -> None:
        message.message_id = next(self._ids[message.chat_id])
        self._messages[message.chat_id].append(message)

    def _find(self, params: JSON, missing: str) -> Message:
        chat_id, message_id = int(params["chat_id"]), int(params["message_id"])
        for message in self.messages(chat_id):
            if message.message_id == message_id:
                return message
        raise TelegramApiError(400, f"Bad Request: {missing}")

    async def _api_editmessagetext(self, params: JSON) -> JSON:
        await self._injected("editmessagetext", params, lambda: None)
        message = self._find(params, "message to edit not found")
        new = self._build(message.chat_id, params)
        if (new.raw, new.reply_markup) == (message.raw, message.reply_markup):
            raise TelegramApiError(400, "Bad Request: message is not modified: specified new "
                                   "message content and reply markup are exactly the same as a "
                                   "current content and reply markup of the message")  # fmt: skip
        message.text, message.raw, message.entities = new.text, new.raw, new.entities
        message.parse_mode, message.reply_markup = new.parse_mode, new.reply_markup
        message.edits += 1
        await self._notify()
        return self._messagejson_param(message)

    async def _api_editmessagereplymarkup(self, params: JSON) -> JSON:
        await self._injected("editmessagereplymarkup", params, lambda: None)
        message = self._find(params, "message to edit not found")
        markup = json_param(params.get("reply_markup"))
        check_markup(markup)
        message.reply_markup, message.edits = markup, message.edits + 1
        await self._notify()
        return self._messagejson_param(message)

    async def _api_deletemessage(self, params: JSON) -> bool:
        await self._injected("deletemessage", params, lambda: None)
        self._find(params, "message to delete not found").deleted = True
        await self._notify()
        return True

    async def _api_answercallbackquery(self, params: JSON) -> bool:
        await self._injected("answercallbackquery", params, lambda: None)
        self.callback_answers.append(params)
        await self._notify()
        return True

    async def _api_setmycommands(self, params: JSON) -> bool:
        self.commands[str(params.get("language_code") or "")] = json_param(params["commands"])
        await self._notify()
        return True

    async def _api_getmycommands(self, params: JSON) -> list[JSON]:
        return self.commands.get(str(params.get("language_code") or ""), [])

    async def _api_getfile(self, params: JSON) -> JSON:
        file_id = str(params.get("file_id"))
        if file_id not in self._files:
            raise TelegramApiError(400, "Bad Request: invalid file_id")
        path, content = self._files[file_id]
        return {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_size": len(content),
                "file_path": path}  # fmt: skip

    async def _download(self, request: web.Request) -> web.Response:
        """GET /file/bot<token>/<file_path>, as getFile's path says."""
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        found = {path: content for path, content in self._files.values()}
        content = found.get(request.match_info["path"])
        return web.Response(status=404) if content is None else web.Response(body=content)

    async def _api_getchatmember(self, params: JSON) -> JSON:
        chat_id, user_id = int(params["chat_id"]), int(params["user_id"])
        status = "administrator" if (chat_id, user_id) in self.admins else "member"
        return member_json(user_json(user_id, None), status)


# --- helpers -----------------------------------------------------------------------------------


async def _params(request: web.Request) -> JSON:
    """Query, form or JSON parameters, as one dict (form values stay strings)."""
    params: JSON = dict(request.query)
    if request.content_type == "application/json":
        params.update(await request.json())
    elif request.can_read_body:
        form = await request.post()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
    return params


def _error(err: TelegramApiError) -> web.Response:
    body: JSON = {"ok": False, "error_code": err.status, "description": err.description}
    if err.parameters:
        body["parameters"] = err.parameters
    if err.status == 502:  # nginx in front of the Bot API answers with a page, not JSON
        return web.Response(status=502, text="<html><h1>502 Bad Gateway</h1></html>")
    return web.json_response(body, status=err.status)
