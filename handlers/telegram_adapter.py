"""Telegram: python-telegram-bot v22 running inside newsbot's own event loop.

`TelegramAdapter` connects (getMe), registers the command menu and receives updates
(long polling, or a webhook); `telegram_updates` handles them: commands in private
chats, in groups (`/cmd@BotName`) and in channel posts, button presses and the bot's
own membership changes become calls on the `Inbox`. Outgoing: alerts and replies in
HTML parse mode (`telegram_render`), sent by `telegram_calls` over one HTTP client
(`telegram_request` on `telegram_http`); every python-telegram-bot error becomes an
`Outcome` in one place (`telegram_translate.outcome_of`). No rate limiting here: the
core's dispatcher paces sends by `limits`.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Final
from urllib.parse import urlsplit

from telegram import Bot, BotCommand, Update
from telegram.error import InvalidToken, TelegramError
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
from bot.models import Alert, Chat, Outcome, Platform, PlatformLimits, Reply
from handlers.base import Inbox
from handlers.telegram_calls import TelegramCalls, unparsable
from handlers.telegram_render import (
    TEXT_LIMIT,
    ButtonCodec,
    render_alert,
    render_plain,
    render_reply,
)
from handlers.telegram_request import TelegramRequest, slotted_base_url
from handlers.telegram_updates import MENU, TelegramUpdates
from handlers.telegram_webhook import WebhookServer, split_listen

#: `MENU` stays importable from here: the command menu this adapter registers.
__all__ = ["MENU", "TelegramAdapter"]

log = logging.getLogger(__name__)

UPDATES: Final = ["message", "channel_post", "callback_query", "my_chat_member"]
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
        self._name_hint = (bot_name_hint or "").lstrip("@")
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
        self._outgoing: TelegramCalls | None = None
        self._codec = ButtonCodec()

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self, inbox: Inbox) -> None:
        """Connect (getMe), register the command menu, start receiving updates.

        Raises `ConfigError` for a refused token, `NewsbotError` when the Bot API
        cannot be reached or the webhook cannot be set up.
        """
        app, self._outgoing = await self._connect(inbox)
        self._app = app
        try:
            await self._register_commands(app.bot)
            await app.start()
            await self._receive(app)
        except (TelegramError, OSError) as exc:
            await self.stop()
            reason = exc.message if isinstance(exc, TelegramError) else exc.strerror
            raise NewsbotError(f"telegram: cannot start receiving updates: {reason}") from exc

    async def _connect(self, inbox: Inbox) -> tuple[AnyApplication, TelegramCalls]:
        requests = (self._request(), self._request())
        app, calls = self._build(inbox, *requests)
        try:
            await app.initialize()
        except TelegramError as exc:
            for request in requests:  # a failed initialize leaves them open
                await request.shutdown()
            if isinstance(exc, InvalidToken):
                # Not `from exc`: python-telegram-bot's message quotes the token.
                raise ConfigError("telegram: the Bot API refused the token") from None
            raise NewsbotError(f"telegram: cannot reach the Bot API: {exc.message}") from exc
        return app, calls

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
        self._outgoing = None
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

    def _build(
        self, inbox: Inbox, request: TelegramRequest, updates: TelegramRequest
    ) -> tuple[AnyApplication, TelegramCalls]:
        """The application, its handlers passing updates to `inbox`, and the calls that go
        out over `request` (the application's own transport)."""
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
        paid = self._settings.allow_paid_broadcast
        calls = TelegramCalls(request, base_url, self._codec, paid=paid)
        incoming = TelegramUpdates(inbox, calls, bot_name_hint=self._name_hint)
        commands = filters.UpdateType.MESSAGE | filters.UpdateType.CHANNEL_POST
        app.add_handler(MessageHandler(commands & filters.COMMAND, incoming.on_command))
        app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, incoming.on_migrate))
        opml = filters.Document.FileExtension("opml") | filters.Document.FileExtension("xml")
        private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
        app.add_handler(MessageHandler(opml & private, incoming.on_opml))
        app.add_handler(CallbackQueryHandler(incoming.on_button))
        app.add_handler(ChatMemberHandler(incoming.on_membership, ChatMemberHandler.MY_CHAT_MEMBER))
        app.add_error_handler(incoming.on_error)
        return app, calls

    async def _register_commands(self, bot: Bot) -> None:
        for language, column in ((None, 1), ("en", 2)):
            menu = [BotCommand(row[0], row[column]) for row in MENU]
            try:
                await bot.set_my_commands(menu, language_code=language)
            except TelegramError as exc:
                log.warning("telegram: setMyCommands failed: %s", exc.message)

    @property
    def _calls(self) -> TelegramCalls:
        """The calls of the running application; raises `RuntimeError` before `start`."""
        if self._app is None or self._outgoing is None:
            raise RuntimeError("TelegramAdapter is not started")
        return self._outgoing

    # --- outgoing -----------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """True between a successful `start` and `stop`."""
        return self._app is not None and self._app.running

    async def send(self, chat: Chat, alert: Alert) -> Outcome:
        """Send one alert; on "can't parse entities" resend it as plain text."""
        calls = self._calls
        outcome = await calls.send_alert(chat, alert)
        if unparsable(outcome):
            log.warning("telegram: alert refused as HTML (%s); resending as text", outcome)
            return await calls.send_alert(chat, alert, html=False)
        return outcome

    async def edit(self, chat: Chat, message_id: str, alert: Alert) -> Outcome:
        """Replace a sent alert's text (the source corrected the post)."""
        calls = self._calls
        outcome = await calls.edit(chat, int(message_id), render_alert(alert, chat.language))
        if unparsable(outcome):
            text = render_plain(alert, chat.language)
            return await calls.edit(chat, int(message_id), text, html=False)
        return outcome

    async def delete(self, chat: Chat, message_id: str) -> Outcome:
        """Take a sent message back; one already gone counts as taken back."""
        return await self._calls.delete(chat, message_id)

    async def reply(self, chat: Chat, reply: Reply) -> Outcome:
        calls = self._calls
        markup = calls.codec.keyboard(reply.buttons)
        return await calls.send(chat, render_reply(reply), markup=markup)


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
