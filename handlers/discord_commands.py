"""Discord's slash commands, autocompletes and buttons, as calls of the core's `Inbox`.

The command names and options are what users type and what Discord stores, so
they change only on purpose. Every interaction is answered: commands are
deferred first (Discord allows 3 s; the core needs the database), then the
core's `Reply` arrives as the followup; an error anywhere still gets a short
private answer. Their menu texts come in English and Korean, and
`discord_sync.sync_commands` registers them with Discord only when something users
see has changed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import aiohttp
import discord
from discord import app_commands

from bot.models import ALL, BREAKING, Chat, Invocation, Language, Reply
from handlers.base import Inbox
from handlers.discord_render import ButtonIds, Menu, reply_body
from handlers.discord_settings import CATEGORIES, SETTINGS, settings_menus

log = logging.getLogger(__name__)

Interaction = discord.Interaction[Any]
Choices = list[app_commands.Choice[str]]

#: Answers meant for the asker only (previews, figures); deferred privately.
PRIVATE_COMMANDS = frozenset(
    {
        "broadcast",
        "recall",
        "stats",
        "sources",
        "addsource",
        "removesource",
        "pausesource",
        "resumesource",
    }
)
#: Discord drops an autocomplete not answered within 3 s.
AUTOCOMPLETE_TIMEOUT = 2.0
MAX_CHOICES = 25
NO_PINGS = discord.AllowedMentions.none()
#: What answering an interaction may raise that is Discord's or the network's doing.
NETWORK_ERRORS = (discord.HTTPException, aiohttp.ClientError, OSError, TimeoutError)
_SORRY: dict[Language, str] = {
    "ko": "요청을 처리하지 못했습니다. 잠시 후 다시 시도해 주세요.",
    "en": "That did not work; please try again in a moment.",
}
_EXPIRED: dict[Language, str] = {
    "ko": "이 버튼은 만료되었습니다. 명령을 다시 입력해 주세요.",
    "en": "This button has expired; please run the command again.",
}


def language_of(interaction: Interaction) -> Language:
    """Korean when the user or the server uses Korean, else English."""
    locales = (interaction.locale, interaction.guild_locale)
    return "ko" if any(loc and loc.value.startswith("ko") for loc in locales) else "en"


def chat_of(interaction: Interaction) -> Chat:
    """The chat the interaction came from: the guild channel, a thread in it, or the DM.

    A thread or forum post is its parent channel's chat with `thread_id` set, so the
    core can fall back to the parent when the thread is gone.
    """
    in_guild = interaction.guild_id is not None
    channel = interaction.channel
    thread = channel if isinstance(channel, discord.Thread) else None
    return Chat(
        platform="discord",
        chat_id=str(interaction.channel_id if thread is None else thread.parent_id),
        kind="channel" if in_guild else "user",
        language=language_of(interaction),
        thread_id=None if thread is None else str(thread.id),
    )


def invocation_of(interaction: Interaction, command: str, args: str) -> Invocation:
    """The core's view of a command: may the user manage this channel (always, in a DM)?"""
    in_guild = interaction.guild_id is not None
    return Invocation(
        chat=chat_of(interaction),
        command=command,
        args=args.strip(),
        user_id=str(interaction.user.id),
        can_manage=interaction.permissions.manage_channels if in_guild else True,
    )


def one_name(category: str) -> str:
    """One category as the core's argument text: a trailing comma keeps `World News` whole.

    The core reads `IT Sports` as two names unless a comma is present; a slash
    command option is always exactly one.
    """
    name = " ".join(category.split())
    return f"{name}," if " " in name and "," not in name else name


def message_parts(reply: Reply, ids: ButtonIds, menus: tuple[Menu, ...] = ()) -> dict[str, Any]:
    """The reply as keyword arguments for discord.py's send/edit calls."""
    content, embed = reply_body(reply)
    parts: dict[str, Any] = {"content": content or ("…" if embed is None else None)}
    parts["embed"] = embed
    parts["view"] = ids.view(reply.buttons, menus)
    return parts


def sendable(parts: dict[str, Any]) -> dict[str, Any]:
    # `send` takes no None for embed/view; `edit` uses None to clear them.
    return {key: value for key, value in parts.items() if value is not None}


class Interactions:
    """Turns slash commands, autocompletes and button presses into calls of the core."""

    def __init__(self, inbox: Inbox, ids: ButtonIds) -> None:
        self._inbox = inbox
        self._ids = ids

    async def command(self, interaction: Interaction, command: str, args: str = "") -> None:
        """Defer, ask the core, answer with its reply."""
        private = command in PRIVATE_COMMANDS
        if not await _defer(interaction, ephemeral=private, thinking=True):
            return
        invocation = invocation_of(interaction, command, args)
        reply = await self._ask(invocation)
        parts = await self._parts(invocation, reply)
        await self._answer(interaction, reply, parts, deferred_private=private)

    async def press(self, interaction: Interaction) -> None:
        """A button or menu under one of our messages: run its command, edit or answer."""
        custom_id = str(_data(interaction).get("custom_id", ""))
        if custom_id.startswith(ButtonIds.MENU):
            values = _data(interaction).get("values")
            chosen = values[0] if isinstance(values, list) and values else ""
            await self._run_pressed(interaction, str(chosen), on_settings=True)
        elif custom_id.startswith((ButtonIds.PREFIX, ButtonIds.KEPT)):
            on_settings = _has_menus(interaction.message)
            await self._run_pressed(interaction, custom_id, on_settings=on_settings)

    async def _run_pressed(
        self, interaction: Interaction, encoded: str, *, on_settings: bool
    ) -> None:
        """Run the command a button or a menu option stands for.

        Under `/settings` (the message with menus) the answer goes to the chooser
        alone and the settings are redrawn in place, so they always show what is set.
        """
        if not await _defer(interaction, ephemeral=False, thinking=False):
            return
        decoded = self._ids.decode(encoded)
        if decoded is None:
            reply = Reply(_EXPIRED[language_of(interaction)], private=True)
            await self._answer(interaction, reply, None, deferred_private=False, on_message=True)
            return
        invocation = invocation_of(interaction, *decoded)
        reply = await self._ask(invocation)
        if not on_settings:
            parts = await self._parts(invocation, reply)
            await self._answer(interaction, reply, parts, deferred_private=False, on_message=True)
            return
        await self._redraw_settings(interaction, replace(invocation, command=SETTINGS, args=""))
        if not reply.edit:  # a confirmation or a refusal; an edit would replace the settings
            private = replace(reply, private=True)
            await self._answer(interaction, private, None, deferred_private=False, on_message=True)

    async def _redraw_settings(self, interaction: Interaction, invocation: Invocation) -> None:
        settings = await self._ask(invocation)
        if settings.private:  # the core failed: keep the old settings on screen
            return
        parts = await self._parts(invocation, settings)
        redraw = replace(settings, edit=True)
        await self._answer(interaction, redraw, parts, deferred_private=False, on_message=True)

    async def _parts(self, invocation: Invocation, reply: Reply) -> dict[str, Any]:
        """The reply as message parts; the settings get their select menus."""
        if invocation.command != SETTINGS or reply.private:
            return message_parts(reply, self._ids)
        categories = await self._ask(replace(invocation, command=CATEGORIES, args=""))
        menus, buttons = settings_menus(reply, categories.buttons)
        return message_parts(replace(reply, buttons=buttons), self._ids, menus)

    async def complete(self, interaction: Interaction, current: str, *extra: str) -> Choices:
        """Up to 25 known categories (plus `extra`) containing what the user typed."""
        names = list(extra)
        try:
            async with asyncio.timeout(AUTOCOMPLETE_TIMEOUT):
                names += await self._inbox.categories()
        except Exception as exc:
            # An autocomplete with fewer choices beats one Discord drops.
            log.warning("autocomplete without categories: %s", type(exc).__name__)
        needle = current.strip().casefold()
        found = [n for n in dict.fromkeys(names) if needle in n.casefold() and 0 < len(n) <= 100]
        found.sort(key=lambda n: not n.casefold().startswith(needle))
        return [app_commands.Choice(name=n, value=n) for n in found[:MAX_CHOICES]]

    async def on_error(self, interaction: Interaction, error: app_commands.AppCommandError) -> None:
        """A command that failed before reaching us (bad option, unknown command): answer anyway."""
        if isinstance(error, app_commands.CommandInvokeError):  # our bug: keep the traceback
            log.error("/%s failed", _name(interaction), exc_info=error.original)
        else:  # junk from outside (unknown command, bad option): one line is enough
            log.warning("/%s refused: %s", _name(interaction), type(error).__name__)
        text = _SORRY[language_of(interaction)]
        try:
            if interaction.type is discord.InteractionType.autocomplete:
                if not interaction.response.is_done():
                    await interaction.response.autocomplete([])
            elif not interaction.response.is_done():
                await interaction.response.send_message(text, ephemeral=True)
            else:
                await interaction.followup.send(text, ephemeral=True)
        except NETWORK_ERRORS as exc:
            log.warning("could not answer a failed command: %s", type(exc).__name__)

    async def _ask(self, invocation: Invocation) -> Reply:
        try:
            return await self._inbox.command(invocation)
        except Exception:
            # The core answers bad input itself; this is the database or a bug.
            log.exception("/%s failed", invocation.command)
            return Reply(_SORRY[invocation.chat.language], private=True)

    async def _answer(
        self,
        interaction: Interaction,
        reply: Reply,
        parts: dict[str, Any] | None,
        *,
        deferred_private: bool,
        on_message: bool = False,
    ) -> None:
        """Show `reply` (as `parts`, else rendered plainly) as the interaction's answer."""
        parts = message_parts(reply, self._ids) if parts is None else parts
        try:
            if on_message and reply.edit:
                await interaction.edit_original_response(allowed_mentions=NO_PINGS, **parts)
                return
            if not on_message and reply.private != deferred_private:
                # A deferred answer keeps the deferral's visibility; start over.
                await interaction.delete_original_response()
            await interaction.followup.send(
                ephemeral=reply.private, allowed_mentions=NO_PINGS, **sendable(parts)
            )
        except NETWORK_ERRORS as exc:
            log.warning("could not answer /%s: %s", _name(interaction), type(exc).__name__)


async def _defer(interaction: Interaction, *, ephemeral: bool, thinking: bool) -> bool:
    try:
        await interaction.response.defer(ephemeral=ephemeral, thinking=thinking)
    except NETWORK_ERRORS as exc:
        # Expired (over 3 s) or answered elsewhere: nothing more can be said.
        log.warning("could not defer /%s: %s", _name(interaction), type(exc).__name__)
        return False
    return True


def _has_menus(message: discord.Message | None) -> bool:
    """Whether `message` carries our select menus: then it is the settings message."""
    rows = message.components if message is not None else []
    children = [child for row in rows for child in getattr(row, "children", ())]
    return any(str(getattr(c, "custom_id", "")).startswith(ButtonIds.MENU) for c in children)


def _data(interaction: Interaction) -> Mapping[str, object]:
    return interaction.data or {}


def _name(interaction: Interaction) -> str:
    data = _data(interaction)
    return str(data.get("name") or data.get("custom_id"))


# --- the commands -------------------------------------------------------------------------


def menu_text(english: str, korean: str) -> app_commands.locale_str:
    """A text shown in Discord's command menus: English, and Korean for Korean clients."""
    return app_commands.locale_str(english, ko=korean)


_t = menu_text


class KoreanTranslator(app_commands.Translator):
    """Gives Discord the Korean of each `_t` text, so every user reads their own language."""

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        korean = string.extras.get("ko")
        return korean if locale is discord.Locale.korean and isinstance(korean, str) else None


async def define_commands(tree: app_commands.CommandTree[Any], on: Interactions) -> None:
    """Register every slash command on `tree` (global; synced to a guild when configured)."""
    await tree.set_translator(KoreanTranslator())
    tree.error(on.on_error)
    _define_reading(tree, on)
    _define_subscriptions(tree, on)
    _define_admin(tree, on)


def _define_reading(tree: app_commands.CommandTree[Any], on: Interactions) -> None:
    @tree.command(name="start", description=_t("Start news alerts", "뉴스 알림 시작하기"))
    async def start(interaction: Interaction) -> None:
        await on.command(interaction, "start")

    @tree.command(name="help", description=_t("What I can do", "명령어 안내"))
    async def help_(interaction: Interaction) -> None:
        await on.command(interaction, "help")

    @tree.command(name="latest", description=_t("Latest posts", "최신 기사"))
    @app_commands.describe(count=_t("How many (1-20)", "몇 개 (1-20)"))
    async def latest(
        interaction: Interaction, count: app_commands.Range[int, 1, 20] | None = None
    ) -> None:
        await on.command(interaction, "latest", "" if count is None else str(count))

    @tree.command(name="category", description=_t("Latest posts in a category", "분야별 최신 기사"))
    @app_commands.describe(name=_t("Category", "분야"))
    async def category(interaction: Interaction, name: str) -> None:
        await on.command(interaction, "category", name)

    @category.autocomplete("name")
    async def category_names(interaction: Interaction, current: str) -> Choices:
        return await on.complete(interaction, current)

    @tree.command(name="categories", description=_t("All categories", "분야 목록"))
    async def categories(interaction: Interaction) -> None:
        await on.command(interaction, "categories")


def _define_subscriptions(tree: app_commands.CommandTree[Any], on: Interactions) -> None:
    @tree.command(name="subscribe", description=_t("Get alerts here", "이 채팅에서 알림 받기"))
    @app_commands.describe(category=_t("A category, all or breaking", "분야, all 또는 breaking"))
    @app_commands.default_permissions(manage_channels=True)
    async def subscribe(interaction: Interaction, category: str) -> None:
        await on.command(interaction, "subscribe", one_name(category))

    @tree.command(name="unsubscribe", description=_t("Stop alerts here", "이 채팅의 알림 끄기"))
    @app_commands.describe(category=_t("Category, or all", "분야 또는 all"))
    @app_commands.default_permissions(manage_channels=True)
    async def unsubscribe(interaction: Interaction, category: str) -> None:
        await on.command(interaction, "unsubscribe", one_name(category))

    @subscribe.autocomplete("category")
    @unsubscribe.autocomplete("category")
    async def subscription_names(interaction: Interaction, current: str) -> Choices:
        return await on.complete(interaction, current, ALL, BREAKING)

    @tree.command(name="subscriptions", description=_t("What this chat follows", "이 채팅의 구독"))
    async def subscriptions(interaction: Interaction) -> None:
        await on.command(interaction, "subscriptions")

    @tree.command(name="lang", description=_t("Reply language", "답변 언어"))
    @app_commands.describe(code=_t("Language", "언어"))
    @app_commands.choices(
        code=[
            app_commands.Choice(name=_t("Korean", "한국어"), value="ko"),
            app_commands.Choice(name=_t("English", "영어"), value="en"),
        ]
    )
    async def lang(interaction: Interaction, code: app_commands.Choice[str]) -> None:
        await on.command(interaction, "lang", code.value)


def _define_admin(tree: app_commands.CommandTree[Any], on: Interactions) -> None:
    @tree.command(name="broadcast", description=_t("Broadcast (admins)", "전체 공지 (관리자)"))
    @app_commands.describe(
        text=_t("The message", "보낼 내용"),
        category=_t("Only this category's subscribers", "이 분야 구독자에게만"),
    )
    async def broadcast(interaction: Interaction, text: str, category: str | None = None) -> None:
        # The core's syntax, shared with Telegram: `#IT text` for one category.
        args = f"#{category.strip()} {text}" if category and category.strip() else text
        await on.command(interaction, "broadcast", args)

    @broadcast.autocomplete("category")
    async def broadcast_names(interaction: Interaction, current: str) -> Choices:
        return await on.complete(interaction, current)

    @tree.command(name="recall", description=_t("Take back (admins)", "보낸 것 회수 (관리자)"))
    @app_commands.describe(
        number=_t("The broadcast's number (or the post's)", "공지 번호 (또는 기사 번호)"),
        post=_t("It is a post, not a broadcast", "공지가 아니라 기사"),
    )
    async def recall(
        interaction: Interaction, number: app_commands.Range[int, 1], post: bool = False
    ) -> None:
        # The core's syntax, shared with Telegram: `12` or `post 34`.
        await on.command(interaction, "recall", f"post {number}" if post else str(number))

    @tree.command(name="stats", description=_t("Statistics (admins)", "통계 (관리자)"))
    async def stats(interaction: Interaction) -> None:
        await on.command(interaction, "stats")
