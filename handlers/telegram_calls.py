"""Telegram's outgoing Bot API calls: alerts, replies, edits and deletions as `Outcome`s.

`TelegramCalls` posts over the application's own transport (`telegram_request`) to
the base URL with its token slot, in HTML parse mode (`telegram_render`). Alerts take
the leanest path (`AlertBodies` + `call_encoded`), everything else `call`; neither
parses the answer into SDK objects. Every python-telegram-bot error becomes an
`Outcome` in one place (`telegram_translate.outcome_of`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Mapping
from typing import Any, Final

from telegram import InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError

from bot.models import Alert, Chat, Outcome, Rejected, Reply, RetryAfter, Sent
from handlers.telegram_render import AlertBodies, ButtonCodec, render_reply
from handlers.telegram_request import TelegramRequest, call, call_encoded
from handlers.telegram_translate import outcome_of

log = logging.getLogger(__name__)

PARSE_ERROR: Final = "can't parse entities"
#: Seconds a command's answer may wait out Telegram's flood control.
REPLY_PATIENCE: Final = 10.0


class TelegramCalls:
    """The Bot API calls newsbot makes, over one transport; they never raise for a
    refusal or a network error (see `handlers.base.Adapter`)."""

    __slots__ = ("_base_url", "_bodies", "_paid", "_request", "_send_url", "codec")

    def __init__(
        self, request: TelegramRequest, base_url: str, codec: ButtonCodec, *, paid: bool
    ) -> None:
        """`base_url`: the Bot API base with the token slot (`slotted_base_url`).

        `codec` draws the keyboards and is passed in because it outlives one connection:
        a button drawn before a restart must still decode after it. `paid`: alerts go
        as paid broadcasts (`telegram.allow_paid_broadcast`).
        """
        self._request, self._base_url, self._paid = request, base_url, paid
        self._send_url = f"{base_url}/sendMessage"
        self._bodies = AlertBodies()
        self.codec = codec

    async def send_alert(self, chat: Chat, alert: Alert, *, html: bool = True) -> Outcome:
        """sendMessage by the leanest path: the body encoded once per alert (`AlertBodies`),
        the answer read by python-telegram-bot (`call_encoded`); same outcomes as `send`."""
        thread = int(chat.thread_id) if chat.thread_id else None
        body = self._bodies.body(
            _chat_id(chat.chat_id), thread, alert, chat.language, html=html, paid=self._paid
        )
        return await _posted(call_encoded(self._request, self._send_url, body))

    async def send(
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
        return await _posted(self.call("sendMessage", params))

    async def edit(
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
        refused = await _done_unless(
            self.call("editMessageText", params), "message is not modified"
        )
        return refused if refused is not None else Sent(str(message_id))

    async def delete(self, chat: Chat, message_id: str) -> Outcome:
        """Take a sent message back; one already gone counts as taken back."""
        params = {"chat_id": _chat_id(chat.chat_id), "message_id": int(message_id)}
        refused = await _done_unless(
            self.call("deleteMessage", params), "message to delete not found"
        )
        return refused if refused is not None else Sent(message_id)

    async def call(self, method: str, params: Mapping[str, object]) -> Any:
        """A Bot API call by the lean path: the answer is not parsed into SDK objects.

        Raises python-telegram-bot's `TelegramError`s.
        """
        return await call(self._request, f"{self._base_url}/{method}", params)

    async def answer(self, chat: Chat, reply: Reply, *, to: int | None = None) -> None:
        """Post a reply; in a group, as an answer `to` the command's message.

        Someone is waiting for it: a 429 is waited out (up to `REPLY_PATIENCE`), not
        dropped. Answers do not go through the core's rate limiter, so two quick
        commands in one chat can meet Telegram's per-chat limit.
        """
        markup = self.codec.keyboard(reply.buttons)
        to = to if chat.kind == "group" else None
        outcome = await self.send(chat, render_reply(reply), markup=markup, to=to)
        waited = 0.0
        while isinstance(outcome, RetryAfter) and waited + outcome.seconds <= REPLY_PATIENCE:
            await asyncio.sleep(outcome.seconds)
            waited += outcome.seconds
            outcome = await self.send(chat, render_reply(reply), markup=markup, to=to)
        if not isinstance(outcome, Sent):
            log.warning("telegram: reply to %s not delivered: %s", chat.chat_id, outcome)


def unparsable(outcome: Outcome) -> bool:
    """Telegram refused the HTML itself (which escaping should make impossible)."""
    return isinstance(outcome, Rejected) and PARSE_ERROR in outcome.reason.lower()


def _chat_id(chat_id: str) -> int | str:
    """Numeric ids as numbers; `@channelname` as it is."""
    return int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id


async def _done_unless(call: Awaitable[Any], already_done: str) -> Outcome | None:
    """None when `call` succeeded, or was refused only because its work is already
    done (a Bad Request saying `already_done`); otherwise the refusal's outcome."""
    try:
        await call
    except BadRequest as exc:
        if already_done not in exc.message.lower():
            return outcome_of(exc)
    except TelegramError as exc:
        return outcome_of(exc)
    return None


async def _posted(call: Awaitable[Any]) -> Outcome:
    """A sendMessage call's outcome: `Sent` with the new message's id, or the refusal."""
    try:
        result = await call
    except TelegramError as exc:
        return outcome_of(exc)
    return Sent(str(result["message_id"]))
