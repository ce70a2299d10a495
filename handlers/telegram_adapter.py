"""Telegram: python-telegram-bot v22 running inside newsbot's own event loop.

Incoming (long polling, or a webhook): commands in private chats, in groups
(`/cmd@BotName`) and in channel posts, button presses and the bot's own membership
changes become calls on the `Inbox`. Outgoing: alerts and replies in HTML parse
mode (`telegram_render`), sent over one aiohttp session (`telegram_request`); every
python-telegram-bot error becomes an `Outcome` in one place
(`telegram_translate.outcome_of`). No rate limiting here: the core's dispatcher
paces sends by `limits`.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Mapping
from typing import Any, Final
from urllib.parse import urlsplit

from telegram import (
    BotCommand,
    ChatMember,
    InlineKeyboardMarkup,
    MaybeInaccessibleMessage,
    Update,
    User,
)
from telegram import Chat as TgChat
from telegram import Message as TgMessage
from telegram.constants import ChatType, ParseMode
from telegram.error import (
    BadRequest,
    InvalidToken,
    TelegramError,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    MessageHandler,
    filters,
)

from bot.config import TelegramSettings
from bot.errors import ConfigError, NewsbotError
from bot.models import (
    Alert,
    Button,
    Chat,
    Invocation,
    Outcome,
    Platform,
    PlatformLimits,
    Rejected,
    Reply,
    RetryAfter,
    Sent,
)
from handlers.base import Inbox
from handlers.telegram_render import (
    TEXT_LIMIT,
    AlertBodies,
    ButtonCodec,
    render_alert,
    render_plain,
    render_reply,
)
from handlers.telegram_request import TelegramRequest, call, call_encoded, slotted_base_url
from handlers.telegram_translate import chat_of, membership_change, outcome_of, parse_command
from handlers.telegram_webhook import WebhookServer, split_listen

log = logging.getLogger(__name__)

#: The command menu: (command, Korean description, English description).
MENU: Final = (
    ("start", "시작하기와 구독 방법", "Start and how to subscribe"),
    ("help", "도움말", "Help"),
    ("latest", "최신 기사 (예: /latest 5)", "Latest posts (e.g. /latest 5)"),
    ("category", "분야별 최신 기사 (예: /category IT)", "Latest in a category (/category IT)"),
    ("categories", "분야 목록과 구독 버튼", "Categories, with subscribe buttons"),
    ("subscribe", "분야 구독 (예: /subscribe IT)", "Subscribe (e.g. /subscribe IT)"),
    ("unsubscribe", "구독 해지", "Unsubscribe"),
    ("subscriptions", "내 구독 목록", "My subscriptions"),
    ("filter", "키워드 필터 (예: /filter add 반도체)", "Keyword filter (/filter add chips)"),
    ("quiet", "조용한 시간 (예: /quiet 23:00-07:00)", "Quiet hours (/quiet 23:00-07:00)"),
    ("digest", "하루 한 번 모아 받기 (/digest daily 08:00)", "Daily digest (/digest daily 08:00)"),
    ("settings", "이 채팅의 설정", "This chat's settings"),
    ("lang", "언어 설정 (ko 또는 en)", "Language (ko or en)"),
)
ADMIN_COMMANDS: Final = frozenset(
    {"broadcast", "recall", "stats", "sources", "addsource", "removesource", "pausesource",
     "resumesource"}
)  # fmt: skip
#: Commands answered in a group even without `@BotName` (others may be another bot's).
KNOWN_COMMANDS: Final = frozenset(name for name, _, _ in MENU) | ADMIN_COMMANDS
#: Commands whose buttons carry a category name (long ones are found again after a restart).
CATEGORY_BUTTONS: Final = ("toggle", "category", "subscribe", "unsubscribe")
#: The largest OPML file taken (the Inbox's limit).
OPML_LIMIT: Final = 5 * 1024 * 1024
TOO_LARGE: Final = {
    "ko": "파일이 너무 큽니다 (최대 5 MiB).",
    "en": "That file is too large (at most 5 MiB).",
}
UPDATES: Final = ["message", "channel_post", "callback_query", "my_chat_member"]
PARSE_ERROR: Final = "can't parse entities"
#: Seconds a command's answer may wait out Telegram's flood control.
REPLY_PATIENCE: Final = 10.0
#: Longest text answerCallbackQuery shows.
POPUP_LIMIT: Final = 200
FALLBACK_HELP: Final = {
    "ko": "명령을 처리하지 못했습니다. /help 로 사용법을 확인하세요.",
    "en": "Something went wrong. Send /help to see what I can do.",
}
AnyApplication = Application[Any, Any, Any, Any, Any, Any]


class TelegramAdapter:
    """The Telegram side of newsbot; see the module docstring."""

    platform: Platform = "telegram"

    def __init__(
        self,
        settings: TelegramSettings,
        *,
        bot_name_hint: str | None = None,
        poll_timeout: float = 10.0,
        request_timeout: float = 10.0,
    ) -> None:
        """`bot_name_hint`: the bot's username if getMe has not told it yet.

        Raises `ConfigError` when no token is set, or webhook mode lacks its settings.
        """
        if settings.token is None:
            raise ConfigError("telegram.token is not set")
        self._token = settings.token.get_secret_value()
        self._settings = settings
        self._username = (bot_name_hint or "").lstrip("@")
        self._poll_timeout, self._request_timeout = poll_timeout, request_timeout
        self.limits = PlatformLimits(
            text_length=TEXT_LIMIT,
            per_second=1000.0 if settings.allow_paid_broadcast else settings.per_second,
            per_chat_per_second=settings.per_chat_per_second,
            per_group_per_minute=settings.per_group_per_minute,
        )
        _check_webhook(settings)
        self._app: AnyApplication | None = None
        self._webhook: WebhookServer | None = None
        self._base_url = ""
        self._inbox: Inbox | None = None
        self._codec = ButtonCodec()
        self._bodies = AlertBodies()

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self, inbox: Inbox) -> None:
        """Connect (getMe), register the command menu, start receiving updates.

        Raises `ConfigError` for a refused token, `NewsbotError` when the Bot API
        cannot be reached or the webhook cannot be set up.
        """
        self._inbox = inbox
        app = await self._connect()
        self._app = app
        self._base_url = app.bot.base_url
        self._username = app.bot.username or self._username
        try:
            await self._register_commands()
            await app.start()
            await self._receive(app)
        except (TelegramError, OSError) as exc:
            await self.stop()
            reason = exc.message if isinstance(exc, TelegramError) else exc.strerror
            raise NewsbotError(f"telegram: cannot start receiving updates: {reason}") from exc

    async def _connect(self) -> AnyApplication:
        requests = (self._request(), self._request())
        app = self._build(*requests)
        try:
            await app.initialize()
        except TelegramError as exc:
            for request in requests:  # a failed initialize leaves them open
                await request.shutdown()
            if isinstance(exc, InvalidToken):
                # Not `from exc`: python-telegram-bot's message quotes the token.
                raise ConfigError("telegram: the Bot API refused the token") from None
            raise NewsbotError(f"telegram: cannot reach the Bot API: {exc.message}") from exc
        return app

    async def _receive(self, app: AnyApplication) -> None:
        """Long polling, or a webhook server plus setWebhook."""
        settings = self._settings
        if settings.mode == "polling":
            assert app.updater is not None
            await app.updater.start_polling(
                timeout=int(self._poll_timeout), allowed_updates=UPDATES
            )
            return
        assert settings.webhook_url is not None and settings.webhook_secret is not None
        secret = settings.webhook_secret.get_secret_value()
        path = urlsplit(settings.webhook_url).path
        self._webhook = WebhookServer(settings.webhook_listen, path, secret, self._deliver)
        await self._webhook.start()
        await app.bot.set_webhook(
            settings.webhook_url, secret_token=secret, allowed_updates=UPDATES
        )

    async def _deliver(self, data: dict[str, Any]) -> None:
        """One update from the webhook, into the application's queue."""
        if self._app is None:
            return
        try:
            update = Update.de_json(data, self._app.bot)
        except Exception as exc:
            log.warning("telegram webhook: unreadable update: %s", type(exc).__name__)
            return
        await self._app.update_queue.put(update)

    async def stop(self) -> None:
        """Stop receiving, then the application; idempotent."""
        app, self._app = self._app, None
        webhook, self._webhook = self._webhook, None
        if webhook is not None:
            await webhook.stop()
        if app is None:
            return
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()

    def _request(self) -> TelegramRequest:
        timeout = self._request_timeout
        return TelegramRequest(token=self._token, read_timeout=timeout, connect_timeout=timeout)

    def _build(self, request: TelegramRequest, updates: TelegramRequest) -> AnyApplication:
        # The SDK sees the URL with a slot for the token (it logs it at DEBUG); only
        # the transport fills the slot in. A callable, since a string gets the token appended.
        base_url = slotted_base_url(self._settings.api_url)
        app = (
            ApplicationBuilder()
            .token(self._token)
            .base_url(lambda _token: base_url)
            .base_file_url(lambda _token: base_url.replace("/bot", "/file/bot", 1))
            .request(request)
            .get_updates_request(updates)
            .concurrent_updates(8)
            .build()
        )
        commands = filters.UpdateType.MESSAGE | filters.UpdateType.CHANNEL_POST
        app.add_handler(MessageHandler(commands & filters.COMMAND, self._on_command))
        app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, self._on_migrate))
        opml = filters.Document.FileExtension("opml") | filters.Document.FileExtension("xml")
        private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
        app.add_handler(MessageHandler(opml & private, self._on_opml))
        app.add_handler(CallbackQueryHandler(self._on_button))
        app.add_handler(ChatMemberHandler(self._on_membership, ChatMemberHandler.MY_CHAT_MEMBER))
        app.add_error_handler(self._on_error)
        return app

    async def _register_commands(self) -> None:
        for language, column in ((None, 1), ("en", 2)):
            menu = [BotCommand(row[0], row[column]) for row in MENU]
            try:
                await self._bot.set_my_commands(menu, language_code=language)
            except TelegramError as exc:
                log.warning("telegram: setMyCommands failed: %s", exc.message)

    @property
    def _bot(self) -> Any:
        if self._app is None:
            raise RuntimeError("TelegramAdapter is not started")
        return self._app.bot

    # --- outgoing -----------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """True between a successful `start` and `stop`."""
        return self._app is not None and self._app.running

    async def send(self, chat: Chat, alert: Alert) -> Outcome:
        """Send one alert; on "can't parse entities" resend it as plain text."""
        outcome = await self._send_alert(chat, alert)
        if _unparsable(outcome):
            log.warning("telegram: alert refused as HTML (%s); resending as text", outcome)
            return await self._send_alert(chat, alert, html=False)
        return outcome

    async def _send_alert(self, chat: Chat, alert: Alert, *, html: bool = True) -> Outcome:
        """sendMessage by the leanest path: the body encoded once per alert (`AlertBodies`),
        the answer read by python-telegram-bot (`call_encoded`); same outcomes as `_send`."""
        thread = int(chat.thread_id) if chat.thread_id else None
        paid = self._settings.allow_paid_broadcast
        body = self._bodies.body(
            _chat_id(chat.chat_id), thread, alert, chat.language, html=html, paid=paid
        )
        return await _posted(call_encoded(self._bot.request, f"{self._base_url}/sendMessage", body))

    async def edit(self, chat: Chat, message_id: str, alert: Alert) -> Outcome:
        """Replace a sent alert's text (the source corrected the post)."""
        outcome = await self._edit(chat, int(message_id), render_alert(alert, chat.language))
        if _unparsable(outcome):
            text = render_plain(alert, chat.language)
            return await self._edit(chat, int(message_id), text, html=False)
        return outcome

    async def delete(self, chat: Chat, message_id: str) -> Outcome:
        """Take a sent message back; one already gone counts as taken back."""
        params = {"chat_id": _chat_id(chat.chat_id), "message_id": int(message_id)}
        try:
            await self._call("deleteMessage", params)
        except BadRequest as exc:
            if "message to delete not found" not in exc.message.lower():
                return outcome_of(exc)
        except TelegramError as exc:
            return outcome_of(exc)
        return Sent(message_id)

    async def reply(self, chat: Chat, reply: Reply) -> Outcome:
        markup = self._codec.keyboard(reply.buttons)
        return await self._send(chat, render_reply(reply), markup=markup)

    async def _send(
        self,
        chat: Chat,
        text: str,
        *,
        html: bool = True,
        markup: InlineKeyboardMarkup | None = None,
        to: int | None = None,
        paid: bool = False,
    ) -> Outcome:
        """sendMessage, to the chat's forum topic if it has one; `to`: the message answered.

        `paid`: as a paid broadcast, which Telegram lets past 30/s (up to 1000/s).
        """
        params = {
            "chat_id": _chat_id(chat.chat_id),
            "text": text,
            "parse_mode": ParseMode.HTML.value if html else None,
            "reply_markup": markup,
            "message_thread_id": int(chat.thread_id) if chat.thread_id else None,
            # A command's message may be deleted before the answer: answer anyway.
            "reply_parameters": {"message_id": to, "allow_sending_without_reply": True}
            if to
            else None,
            # Without it Telegram holds the bot to 30/s whatever `limits` says.
            "allow_paid_broadcast": True if paid else None,
        }
        return await _posted(self._call("sendMessage", params))

    async def _edit(
        self,
        chat: Chat,
        message_id: int,
        text: str,
        *,
        html: bool = True,
        markup: InlineKeyboardMarkup | None = None,
    ) -> Outcome:
        """editMessageText; an edit that changes nothing counts as done."""
        params = {
            "chat_id": _chat_id(chat.chat_id),
            "message_id": message_id,
            "text": text,
            "parse_mode": ParseMode.HTML.value if html else None,
            "reply_markup": markup,
        }
        try:
            await self._call("editMessageText", params)
        except BadRequest as exc:
            if "message is not modified" not in exc.message.lower():
                return outcome_of(exc)
        except TelegramError as exc:
            return outcome_of(exc)
        return Sent(str(message_id))

    async def _call(self, method: str, params: Mapping[str, object]) -> Any:
        """A Bot API call by the lean path: the answer is not parsed into SDK objects."""
        return await call(self._bot.request, f"{self._base_url}/{method}", params)

    # --- incoming -----------------------------------------------------------------------

    async def _on_command(self, update: Update, context: object) -> None:
        """A message starting with a command: run it and answer in the same chat/topic."""
        message = update.effective_message
        if message is None or not message.text:
            return
        parsed = parse_command(message.text, self._username)
        if parsed is None:
            return
        name, args, addressed = parsed
        chat = chat_of(message.chat, message.from_user, _topic(message))
        if chat.kind == "group" and not addressed and name not in KNOWN_COMMANDS:
            return  # another bot's command, typed without @its_name
        user = message.from_user
        invocation = Invocation(
            chat, name, args, str(user.id) if user else None, await self._can_manage(message)
        )
        reply = await self._ask(invocation)
        await self._answer(chat, reply, to=message.message_id)

    async def _on_button(self, update: Update, context: object) -> None:
        """A button press: run its command; edit in place, answer, or pop up a private note."""
        query = update.callback_query
        if query is None or query.message is None:
            return
        message, user = query.message, query.from_user
        chat = chat_of(message.chat, user, _topic(message))
        command, args = self._codec.decode(query.data, await self._buttons_for(query.data))
        allowed = await self._user_can_manage(message.chat, user)
        reply = await self._ask(Invocation(chat, command, args, str(user.id), allowed))
        if reply.private and chat.kind != "user" and len(reply.text) <= POPUP_LIMIT:
            # Only the presser sees a callback answer: Telegram's private reply in a group.
            await _quietly(query.answer(reply.text, show_alert=True))
            return
        await _quietly(query.answer())
        if reply.edit and isinstance(message, TgMessage):
            markup = self._codec.keyboard(reply.buttons)
            await self._edit(chat, message.message_id, render_reply(reply), markup=markup)
        else:
            await self._answer(chat, reply)

    async def _on_opml(self, update: Update, context: object) -> None:
        """An OPML file sent in a private chat: the core imports its feeds (admins only)."""
        message = update.effective_message
        if message is None or message.document is None or self._inbox is None:
            return
        chat = chat_of(message.chat, message.from_user)
        body = await self._download(message.document.file_id, message.document.file_size)
        if body is None:
            await self._answer(chat, Reply(TOO_LARGE[chat.language], private=True))
            return
        user = str(message.from_user.id) if message.from_user else None
        try:
            reply = await self._inbox.import_opml(Invocation(chat, "importopml", "", user), body)
        except Exception as exc:
            log.warning("telegram: OPML import failed: %s: %s", type(exc).__name__, exc)
            reply = Reply(FALLBACK_HELP[chat.language])
        await self._answer(chat, reply)

    async def _download(self, file_id: str, size: int | None) -> bytes | None:
        """The file's bytes, or None when it is over `OPML_LIMIT` (or cannot be fetched)."""
        if size is not None and size > OPML_LIMIT:
            return None
        try:
            file = await self._bot.get_file(file_id)
            body = bytes(await file.download_as_bytearray())
        except TelegramError as exc:
            log.warning("telegram: could not fetch a file: %s", exc.message)
            return None
        return body if len(body) <= OPML_LIMIT else None

    async def _buttons_for(self, data: str | None) -> list[Button]:
        """For a long button this process did not draw: the category buttons it may be."""
        if self._inbox is None or not data or not data.startswith("#") or data in self._codec:
            return []
        try:
            names = await self._inbox.categories()
        except Exception:
            return []
        return [Button(name, command, name) for name in names for command in CATEGORY_BUTTONS]

    async def _on_membership(self, update: Update, context: object) -> None:
        """The bot was added to, or removed from, a chat."""
        change = update.my_chat_member
        if change is None or self._inbox is None:
            return
        chat = chat_of(change.chat, change.from_user)
        what = membership_change(change)
        if what == "removed":
            await self._inbox.chat_removed(chat)
        elif what == "added" and chat.kind != "user":
            welcome = await self._inbox.chat_added(chat)
            if welcome is not None:
                await self._answer(chat, welcome)

    async def _on_migrate(self, update: Update, context: object) -> None:
        """A group became a supergroup: its id changed."""
        message = update.effective_message
        if message is None or message.migrate_to_chat_id is None or self._inbox is None:
            return
        await self._inbox.chat_moved(chat_of(message.chat, None), str(message.migrate_to_chat_id))

    async def _on_error(self, update: object, context: Any) -> None:
        error = context.error
        log.warning("telegram: handling an update failed: %s: %s", type(error).__name__, error)

    async def _ask(self, invocation: Invocation) -> Reply:
        """The inbox's reply; on any failure, one log line and the help."""
        assert self._inbox is not None
        try:
            return await self._inbox.command(invocation)
        except Exception as exc:
            log.warning("telegram: /%s failed: %s: %s", invocation.command, type(exc).__name__, exc)
        try:
            return await self._inbox.command(
                Invocation(invocation.chat, "help", "", invocation.user_id)
            )
        except Exception:
            return Reply(FALLBACK_HELP[invocation.chat.language])

    async def _answer(self, chat: Chat, reply: Reply, *, to: int | None = None) -> None:
        """Post a reply; in a group, as an answer `to` the command's message.

        Someone is waiting for it: a 429 is waited out (up to `REPLY_PATIENCE`), not
        dropped. Answers do not go through the core's rate limiter, so two quick
        commands in one chat can meet Telegram's per-chat limit.
        """
        markup = self._codec.keyboard(reply.buttons)
        to = to if chat.kind == "group" else None
        outcome = await self._send(chat, render_reply(reply), markup=markup, to=to)
        waited = 0.0
        while isinstance(outcome, RetryAfter) and waited + outcome.seconds <= REPLY_PATIENCE:
            await asyncio.sleep(outcome.seconds)
            waited += outcome.seconds
            outcome = await self._send(chat, render_reply(reply), markup=markup, to=to)
        if not isinstance(outcome, Sent):
            log.warning("telegram: reply to %s not delivered: %s", chat.chat_id, outcome)

    async def _can_manage(self, message: TgMessage) -> bool:
        if message.sender_chat is not None and message.sender_chat.id == message.chat.id:
            return True  # a channel post, or an anonymous group admin
        return await self._user_can_manage(message.chat, message.from_user)

    async def _user_can_manage(self, chat: TgChat, user: User | None) -> bool:
        """A private chat is its user's; a group or channel, its administrators'.

        In a channel anyone who reads a post can press its buttons: ask Telegram.
        """
        if chat.type == ChatType.PRIVATE:
            return True
        if user is None:
            return False
        try:
            member = await self._bot.get_chat_member(chat.id, user.id)
        except TelegramError:
            return False
        return member.status in (ChatMember.ADMINISTRATOR, ChatMember.OWNER)


# --- helpers ------------------------------------------------------------------------------


def _check_webhook(settings: TelegramSettings) -> None:
    if settings.mode != "webhook":
        return
    if not settings.webhook_url or settings.webhook_secret is None:
        raise ConfigError("telegram: webhook mode needs telegram.webhook_url and webhook_secret")
    secret = settings.webhook_secret.get_secret_value()
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
        raise ConfigError("telegram.webhook_secret: 1-256 of A-Z, a-z, 0-9, _ and -")
    try:
        split_listen(settings.webhook_listen)
    except ValueError as exc:
        raise ConfigError(f"telegram.webhook_listen: {exc}") from exc


def _unparsable(outcome: Outcome) -> bool:
    """Telegram refused the HTML itself (which escaping should make impossible)."""
    return isinstance(outcome, Rejected) and PARSE_ERROR in outcome.reason.lower()


def _topic(message: MaybeInaccessibleMessage) -> int | None:
    """The forum topic a message is in: its replies and alerts go there too."""
    if isinstance(message, TgMessage) and message.is_topic_message:
        return message.message_thread_id
    return None


def _chat_id(chat_id: str) -> int | str:
    """Numeric ids as numbers; `@channelname` as it is."""
    return int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id


async def _posted(call: Awaitable[Any]) -> Outcome:
    """A sendMessage call's outcome: `Sent` with the new message's id, or the refusal."""
    try:
        result = await call
    except TelegramError as exc:
        return outcome_of(exc)
    return Sent(str(result["message_id"]))


async def _quietly(call: Any) -> None:
    try:
        await call
    except TelegramError as exc:
        log.debug("telegram: answerCallbackQuery failed: %s", exc.message)
