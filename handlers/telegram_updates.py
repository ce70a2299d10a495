"""Telegram's incoming updates, as python-telegram-bot handlers that call the `Inbox`.

Commands in private chats, in groups (`/cmd@BotName`) and in channel posts, button
presses, OPML files, and the bot's own membership changes become calls on the
`Inbox`; its replies go out through `telegram_calls.TelegramCalls`. The Bot API
calls a handler makes itself (getChatMember, getFile) use the bot python-telegram-bot
handed in with the update. The command menu is here too: what counts as a known command.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from telegram import Bot, ChatMember, MaybeInaccessibleMessage, Update, User
from telegram import Chat as TgChat
from telegram import Message as TgMessage
from telegram.constants import ChatType
from telegram.error import TelegramError

from bot.models import Button, Invocation, Reply
from handlers.base import Inbox
from handlers.telegram_calls import TelegramCalls
from handlers.telegram_render import render_reply
from handlers.telegram_translate import chat_of, membership_change, parse_command

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
#: Longest text answerCallbackQuery shows.
POPUP_LIMIT: Final = 200
FALLBACK_HELP: Final = {
    "ko": "명령을 처리하지 못했습니다. /help 로 사용법을 확인하세요.",
    "en": "Something went wrong. Send /help to see what I can do.",
}


class TelegramUpdates:
    """The handlers `TelegramAdapter` registers on its `Application`; whatever one of
    them raises ends in `on_error`, as one log line."""

    def __init__(self, inbox: Inbox, calls: TelegramCalls, *, bot_name_hint: str = "") -> None:
        """`bot_name_hint`: the bot's username (no `@`) if getMe does not tell one."""
        self._inbox, self._calls, self._name_hint = inbox, calls, bot_name_hint

    async def on_command(self, update: Update, context: object) -> None:
        """A message starting with a command: run it and answer in the same chat/topic."""
        message = update.effective_message
        if message is None or not message.text:
            return
        bot = update.get_bot()
        parsed = parse_command(message.text, bot.username or self._name_hint)
        if parsed is None:
            return
        name, args, addressed = parsed
        chat = chat_of(message.chat, message.from_user, _topic(message))
        if chat.kind == "group" and not addressed and name not in KNOWN_COMMANDS:
            return  # another bot's command, typed without @its_name
        user = message.from_user
        invocation = Invocation(
            chat, name, args, str(user.id) if user else None, await _can_manage(bot, message)
        )
        reply = await self._ask(invocation)
        await self._calls.answer(chat, reply, to=message.message_id)

    async def on_button(self, update: Update, context: object) -> None:
        """A button press: run its command; edit in place, answer, or pop up a private note."""
        query = update.callback_query
        if query is None or query.message is None:
            return
        message, user = query.message, query.from_user
        chat = chat_of(message.chat, user, _topic(message))
        codec = self._calls.codec
        command, args = codec.decode(query.data, await self._buttons_for(query.data))
        allowed = await _user_can_manage(update.get_bot(), message.chat, user)
        reply = await self._ask(Invocation(chat, command, args, str(user.id), allowed))
        if reply.private and chat.kind != "user" and len(reply.text) <= POPUP_LIMIT:
            # Only the presser sees a callback answer: Telegram's private reply in a group.
            await _quietly(query.answer(reply.text, show_alert=True))
            return
        await _quietly(query.answer())
        if reply.edit and isinstance(message, TgMessage):
            markup = codec.keyboard(reply.buttons)
            await self._calls.edit(chat, message.message_id, render_reply(reply), markup=markup)
        else:
            await self._calls.answer(chat, reply)

    async def on_opml(self, update: Update, context: object) -> None:
        """An OPML file sent in a private chat: the core imports its feeds (admins only)."""
        message = update.effective_message
        if message is None or message.document is None:
            return
        chat = chat_of(message.chat, message.from_user)
        document = message.document
        body = await _download(update.get_bot(), document.file_id, document.file_size)
        if body is None:
            await self._calls.answer(chat, Reply(TOO_LARGE[chat.language], private=True))
            return
        user = str(message.from_user.id) if message.from_user else None
        try:
            reply = await self._inbox.import_opml(Invocation(chat, "importopml", "", user), body)
        except Exception as exc:
            log.warning("telegram: OPML import failed: %s: %s", type(exc).__name__, exc)
            reply = Reply(FALLBACK_HELP[chat.language])
        await self._calls.answer(chat, reply)

    async def _buttons_for(self, data: str | None) -> list[Button]:
        """For a long button this process did not draw: the category buttons it may be."""
        if not data or not data.startswith("#") or data in self._calls.codec:
            return []
        try:
            names = await self._inbox.categories()
        except Exception:
            return []
        return [Button(name, command, name) for name in names for command in CATEGORY_BUTTONS]

    async def on_membership(self, update: Update, context: object) -> None:
        """The bot was added to, or removed from, a chat."""
        change = update.my_chat_member
        if change is None:
            return
        chat = chat_of(change.chat, change.from_user)
        what = membership_change(change)
        if what == "removed":
            await self._inbox.chat_removed(chat)
        elif what == "added" and chat.kind != "user":
            welcome = await self._inbox.chat_added(chat)
            if welcome is not None:
                await self._calls.answer(chat, welcome)

    async def on_migrate(self, update: Update, context: object) -> None:
        """A group became a supergroup: its id changed."""
        message = update.effective_message
        if message is None or message.migrate_to_chat_id is None:
            return
        await self._inbox.chat_moved(chat_of(message.chat, None), str(message.migrate_to_chat_id))

    async def on_error(self, update: object, context: Any) -> None:
        """A handler raised: one log line with the error's type and message."""
        error = context.error
        log.warning("telegram: handling an update failed: %s: %s", type(error).__name__, error)

    async def _ask(self, invocation: Invocation) -> Reply:
        """The inbox's reply; on any failure, one log line and the help."""
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


async def _download(bot: Bot, file_id: str, size: int | None) -> bytes | None:
    """The file's bytes, or None when it is over `OPML_LIMIT` (or cannot be fetched)."""
    if size is not None and size > OPML_LIMIT:
        return None
    try:
        file = await bot.get_file(file_id)
        body = bytes(await file.download_as_bytearray())
    except TelegramError as exc:
        log.warning("telegram: could not fetch a file: %s", exc.message)
        return None
    return body if len(body) <= OPML_LIMIT else None


async def _can_manage(bot: Bot, message: TgMessage) -> bool:
    if message.sender_chat is not None and message.sender_chat.id == message.chat.id:
        return True  # a channel post, or an anonymous group admin
    return await _user_can_manage(bot, message.chat, message.from_user)


async def _user_can_manage(bot: Bot, chat: TgChat, user: User | None) -> bool:
    """A private chat is its user's; a group or channel, its administrators'.

    In a channel anyone who reads a post can press its buttons: ask Telegram.
    """
    if chat.type == ChatType.PRIVATE:
        return True
    if user is None:
        return False
    try:
        member = await bot.get_chat_member(chat.id, user.id)
    except TelegramError:
        return False
    return member.status in (ChatMember.ADMINISTRATOR, ChatMember.OWNER)


def _topic(message: MaybeInaccessibleMessage) -> int | None:
    """The forum topic a message is in: its replies and alerts go there too."""
    if isinstance(message, TgMessage) and message.is_topic_message:
        return message.message_thread_id
    return None


async def _quietly(call: Any) -> None:
    try:
        await call
    except TelegramError as exc:
        log.debug("telegram: answerCallbackQuery failed: %s", exc.message)
