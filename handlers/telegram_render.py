"""Alerts and replies in Telegram's HTML, and buttons within its 64-byte callback data.

Pure except `ButtonCodec`'s bounded table. Every piece of text is escaped with
`html.escape`, so a title holding `<`, `&` or `</b>` shows exactly as written.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import OrderedDict
from collections.abc import Sequence
from html import escape
from typing import Final
from urllib.parse import urlsplit

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.models import Alert, Button, Language, LinkItem, Reply

#: Telegram's longest message text, in characters.
TEXT_LIMIT: Final = 4096
#: Telegram's longest callback_data, in bytes.
CALLBACK_LIMIT: Final = 64
#: The excerpt is cut by the formatter; this only guards the message limit.
_EXCERPT_GUARD: Final = 3000
_LABELS: Final = {
    "ko": ("🔴 속보", "{site}에서 보기"),
    "en": ("🔴 Breaking", "View on {site}"),
}


def render_alert(alert: Alert, language: Language) -> str:
    """Breaking line, bold headline, excerpt (or a digest's linked headlines); then the
    link naming the site, and the hashtags."""
    breaking, view = _LABELS[language]
    head = [breaking] if alert.breaking else []
    if alert.headline:
        head.append(f"<b>{escape(alert.headline)}</b>")
    if alert.excerpt:
        head.append(escape(alert.excerpt[:_EXCERPT_GUARD]))
    head += [_linked(item) for item in alert.items]  # a digest's headlines
    tail = []
    if alert.link:
        label = escape(view.format(site=site_of(alert)))
        tail.append(f'<a href="{escape(alert.link, quote=True)}">{label}</a>')
    if tags := hashtags(alert.categories):
        tail.append(escape(tags))
    return _blocks(head, tail)


def render_plain(alert: Alert, language: Language) -> str:
    """The same alert without markup, for when Telegram refuses the HTML."""
    breaking, view = _LABELS[language]
    head = [breaking] if alert.breaking else []
    head += [text for text in (alert.headline, alert.excerpt[:_EXCERPT_GUARD]) if text]
    head += [f"{_mark(item)} {item.title}\n{item.link}" for item in alert.items]
    tail = [f"{view.format(site=site_of(alert))}: {alert.link}"] if alert.link else []
    if tags := hashtags(alert.categories):
        tail.append(tags)
    return _blocks(head, tail)


class AlertBodies:
    """sendMessage bodies (JSON) for alerts, the text rendered and encoded once per alert,
    language and mode; only the chat is added per message. A fan-out sends one alert
    to thousands of chats, and rendering plus encoding it each time cost as much CPU
    as the rest of the send path (bench/fanout.py). Holds the last few alerts only.
    """

    __slots__ = ("_limit", "_tails")

    def __init__(self, limit: int = 64) -> None:
        self._limit = limit
        self._tails: dict[tuple[Alert, Language, bool, bool], bytes] = {}

    def body(
        self,
        chat_id: int | str,
        thread_id: int | None,
        alert: Alert,
        language: Language,
        *,
        html: bool = True,
        paid: bool = False,
    ) -> bytes:
        """The JSON object of sendMessage's parameters: HTML or plain text, to a topic
        if `thread_id`, as a paid broadcast if `paid` (past 30/s)."""
        key = (alert, language, html, paid)
        tail = self._tails.get(key)
        if tail is None:
            if len(self._tails) >= self._limit:
                self._tails.clear()
            tail = self._tails[key] = _encoded_tail(alert, language, html=html, paid=paid)
        head: dict[str, int | str] = {"chat_id": chat_id}
        if thread_id is not None:
            head["message_thread_id"] = thread_id
        return json.dumps(head).encode()[:-1] + b"," + tail


def _encoded_tail(alert: Alert, language: Language, *, html: bool, paid: bool) -> bytes:
    """The alert's parameters as a JSON object without its opening brace."""
    params: dict[str, str | bool] = {
        "text": render_alert(alert, language) if html else render_plain(alert, language)
    }
    if html:
        params["parse_mode"] = "HTML"
    if paid:
        params["allow_paid_broadcast"] = True
    return json.dumps(params, ensure_ascii=False).encode()[1:]


def _blocks(*blocks: list[str]) -> str:
    return "\n\n".join("\n".join(lines) for lines in blocks if lines)


def hashtags(categories: Sequence[str]) -> str:
    """`#IT #국제_뉴스`: spaces and punctuation become `_`, which a hashtag may hold."""
    tags = (re.sub(r"\W+", "_", name.strip()).strip("_") for name in categories)
    return " ".join(f"#{tag}" for tag in tags if tag)


def site_of(alert: Alert) -> str:
    """The site's name for the link text: the alert's, else the link's host."""
    host = alert.site or urlsplit(alert.link or "").hostname or ""
    return host.removeprefix("www.")


def render_reply(reply: Reply) -> str:
    """The reply's text, then one linked line per item, kept within the message limit."""
    budget = TEXT_LIMIT - 100
    text = reply.text if len(reply.text) <= budget else reply.text[:budget] + "…"
    lines, used = [escape(text)], len(text)
    for item in reply.items:
        used += len(item.title) + 3
        if used > budget:
            break
        lines.append(_linked(item))
    return "\n".join(lines)


def _linked(item: LinkItem) -> str:
    """`• <a href="…">title</a>`, with 🔴 for breaking news."""
    return f'{_mark(item)} <a href="{escape(item.link, quote=True)}">{escape(item.title)}</a>'


def _mark(item: LinkItem) -> str:
    return "🔴" if item.breaking else "•"


class ButtonCodec:
    """Buttons to callback_data and back.

    `command args` when it fits 64 bytes; otherwise a hash key into a bounded
    table (the newest `capacity` long buttons; an expired one decodes to help).
    """

    def __init__(self, capacity: int = 10_000) -> None:
        self._long: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self._capacity = capacity

    def __contains__(self, key: object) -> bool:
        return key in self._long

    def keyboard(self, buttons: Sequence[Button]) -> InlineKeyboardMarkup | None:
        """Two buttons a row, which fits category names on a phone."""
        if not buttons:
            return None
        keys = [InlineKeyboardButton(b.label, callback_data=self.encode(b)) for b in buttons]
        return InlineKeyboardMarkup([keys[i : i + 2] for i in range(0, len(keys), 2)])

    def encode(self, button: Button) -> str:
        data = f"{button.command} {button.args}".strip()
        if len(data.encode()) <= CALLBACK_LIMIT:
            return data
        key = long_key(button.command, button.args)
        self._long[key] = (button.command, button.args)
        self._long.move_to_end(key)
        while len(self._long) > self._capacity:
            self._long.popitem(last=False)
        return key

    def decode(self, data: str | None, candidates: Sequence[Button] = ()) -> tuple[str, str]:
        """(command, args) of a pressed button; help for one no longer known.

        A long button from before a restart is found again among `candidates`
        (the buttons the bot could have drawn, e.g. one toggle per category).
        """
        if not data:
            return "help", ""
        if not data.startswith("#"):
            command, _, args = data.partition(" ")
            return command, args
        if data in self._long:
            return self._long[data]
        for button in candidates:
            if long_key(button.command, button.args) == data:
                return button.command, button.args
        return "help", ""


def long_key(command: str, args: str) -> str:
    """A stable key for a button too long for callback_data (the same in every process)."""
    data = f"{command} {args}".strip()
    return "#" + hashlib.sha256(data.encode()).hexdigest()[:32]
