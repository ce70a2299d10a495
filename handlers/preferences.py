"""Commands that shape how a chat reads: keyword filters, quiet hours, daily digests."""

from __future__ import annotations

import re
from datetime import time
from typing import TYPE_CHECKING

from bot.errors import InvalidInput
from bot.filters import parse_term
from bot.models import Button, Chat, Invocation, KeywordFilter, QuietHours, Reply
from handlers.messages import manage_key, say

if TYPE_CHECKING:
    from handlers.commands import Commands

_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def parse_clock(text: str) -> time:
    """`07:00` → 07:00; `InvalidInput` for `25:00` or `abc`."""
    match = _CLOCK.match(text.strip())
    if match is None:
        raise InvalidInput(f"not a time of day: {text[:20]!r}")
    return time(int(match.group(1)), int(match.group(2)))


def parse_quiet(args: str) -> QuietHours | None:
    """`23:00-07:00 [all]` → QuietHours; `off` → None; `InvalidInput` otherwise."""
    words = args.split()
    if words == ["off"]:
        return None
    if not words or len(words) > 2 or (len(words) == 2 and words[1].lower() != "all"):
        raise InvalidInput("usage")
    start, dash, end = words[0].partition("-")
    if not dash:
        raise InvalidInput("usage")
    quiet = QuietHours(parse_clock(start), parse_clock(end), hold_breaking=len(words) == 2)
    if quiet.start == quiet.end:
        raise InvalidInput("quiet hours must not be empty")
    return quiet


async def filter_command(cmds: Commands, chat: Chat, inv: Invocation) -> Reply:
    lang = chat.language
    if not inv.can_manage:
        return Reply(say(lang, manage_key(chat)), private=True)
    action, _, rest = inv.args.strip().partition(" ")
    action = action.lower()
    if action == "list":
        return await _list_filters(cmds, chat)
    if action == "clear":
        return Reply(say(lang, "filter_cleared", count=await cmds.store.clear_filters(chat)))
    if action not in ("add", "remove") or not rest.strip():
        return Reply(say(lang, "filter_usage"), private=True)
    try:
        term, exclude = parse_term(rest)
        keyword = KeywordFilter(term, exclude)
        shown = ("-" if exclude else "") + term
        if action == "add":
            added = await cmds.store.add_filter(chat, keyword)
            return Reply(say(lang, "filter_added" if added else "filter_exists", term=shown))
    except InvalidInput as exc:
        return Reply(say(lang, "filter_refused", reason=str(exc)), private=True)
    removed = await cmds.store.remove_filter(chat, keyword)
    return Reply(say(lang, "filter_removed" if removed else "filter_missing", term=shown))


async def _list_filters(cmds: Commands, chat: Chat) -> Reply:
    keywords = await cmds.store.filters(chat)
    none = say(chat.language, "none")
    include = ", ".join(k.term for k in keywords if not k.exclude) or none
    exclude = ", ".join(k.term for k in keywords if k.exclude) or none
    return Reply(say(chat.language, "filter_list", include=include, exclude=exclude))


async def quiet_command(cmds: Commands, chat: Chat, inv: Invocation) -> Reply:
    lang = chat.language
    if not inv.can_manage:
        return Reply(say(lang, manage_key(chat)), private=True)
    try:
        quiet = parse_quiet(inv.args)
    except InvalidInput:
        return Reply(say(lang, "quiet_usage"), private=True)
    chat = await cmds.store.update_chat(chat, quiet=quiet)
    if quiet is None:
        return Reply(say(lang, "quiet_off"))
    extra = "" if quiet.hold_breaking else say(lang, "quiet_breaking")
    text = say(
        lang,
        "quiet_set",
        start=f"{quiet.start:%H:%M}",
        end=f"{quiet.end:%H:%M}",
        zone=chat.timezone,
        extra=extra,
    )
    return Reply(text)


async def digest_command(cmds: Commands, chat: Chat, inv: Invocation) -> Reply:
    lang = chat.language
    if not inv.can_manage:
        return Reply(say(lang, manage_key(chat)), private=True)
    words = inv.args.lower().split()
    if words == ["off"]:
        await cmds.store.update_chat(chat, digest_at=None)
        return Reply(say(lang, "digest_off"))
    try:
        if len(words) != 2 or words[0] != "daily":
            raise InvalidInput("usage")
        at = parse_clock(words[1])
    except InvalidInput:
        return Reply(say(lang, "digest_usage"), private=True)
    chat = await cmds.store.update_chat(chat, digest_at=at)
    return Reply(say(lang, "digest_set", at=f"{at:%H:%M}", zone=chat.timezone))


async def settings_command(cmds: Commands, chat: Chat, inv: Invocation) -> Reply:
    """Everything this chat has set, with buttons to change the common things."""
    lang = chat.language
    off = say(lang, "settings_off")
    keywords = await cmds.store.filters(chat)
    quiet = chat.quiet
    text = say(
        lang,
        "settings",
        subscriptions=", ".join(await cmds.store.subscriptions(chat)) or off,
        filters=", ".join(("-" if k.exclude else "") + k.term for k in keywords) or off,
        quiet=(
            f"{quiet.start:%H:%M}-{quiet.end:%H:%M}{' (all)' if quiet.hold_breaking else ''}"
            if quiet
            else off
        ),
        digest=f"{chat.digest_at:%H:%M}" if chat.digest_at else off,
        topic=chat.thread_id or say(lang, "settings_main"),
    )
    buttons = [
        Button(say(lang, "button_language"), "lang", "en" if lang == "ko" else "ko"),
        Button(say(lang, "button_categories"), "categories"),
    ]
    if quiet is not None:
        buttons.append(Button(say(lang, "button_quiet_off"), "quiet", "off"))
    if chat.digest_at is not None:
        buttons.append(Button(say(lang, "button_digest_off"), "digest", "off"))
    return Reply(text, buttons=tuple(buttons))
