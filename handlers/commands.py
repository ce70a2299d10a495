"""The commands every platform shares: `/latest`, `/subscribe`, `/broadcast`, ….

Platform-neutral: an adapter turns what a user typed (or pressed) into an
`Invocation` and renders the `Reply`. Bad input never raises: it gets a short
message and, where it helps, the usage.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace

from bot.errors import NewsbotError
from bot.models import (
    ALL,
    BREAKING,
    Broadcast,
    Button,
    Chat,
    Invocation,
    LinkItem,
    Post,
    Reply,
)
from handlers.base import SourceAdmin
from handlers.messages import manage_key, say
from handlers.preferences import (
    digest_command,
    filter_command,
    quiet_command,
    settings_command,
)
from handlers.sourcecmds import (
    add_source,
    import_report,
    list_sources,
    pause_source,
    remove_source,
    resume_source,
)
from storage import Store

log = logging.getLogger(__name__)

DEFAULT_LATEST = 5
MAX_LATEST = 20
#: Longest argument text accepted, and longest category name.
MAX_ARGS = 1000
MAX_CATEGORY = 64
#: Buttons on a keyboard: more would not fit a phone screen.
MAX_BUTTONS = 25

Handler = Callable[["Commands", Chat, Invocation], Awaitable[Reply]]


@dataclass(frozen=True, slots=True)
class CommandsConfig:
    #: `platform:user_id` of every admin.
    admins: frozenset[str] = frozenset()
    #: Chats on these platforms are admins themselves (the local console).
    trusted_platforms: frozenset[str] = frozenset({"console"})


class Commands:
    """Implements `handlers.base.Inbox` on top of the `Store`."""

    def __init__(
        self,
        store: Store,
        config: CommandsConfig,
        *,
        on_planned: Callable[[], None] = lambda: None,
        sources: SourceAdmin | None = None,
    ) -> None:
        self.store = store
        self._config = config
        self.on_planned = on_planned
        self.sources = sources

    # --- the Inbox protocol ------------------------------------------------------------

    async def command(self, invocation: Invocation) -> Reply:
        chat = await self.store.ensure_chat(invocation.chat)
        problem = _check_input(invocation.args, chat.language)
        if problem is not None:
            return Reply(problem, private=True)
        handler = _HANDLERS.get(invocation.command)
        if handler is None:
            text = say(chat.language, "unknown_command", command=invocation.command[:32])
            return Reply(text + "\n\n" + say(chat.language, "help"), private=True)
        return await handler(self, chat, invocation)

    async def chat_added(self, chat: Chat) -> Reply | None:
        stored = await self.store.ensure_chat(chat)
        if not stored.active:
            await self.store.update_chat(stored, active=True)
        return Reply(say(stored.language, "welcome") + "\n\n" + say(stored.language, "help"))

    async def chat_removed(self, chat: Chat) -> None:
        if chat.thread_id is None:
            # A deleted channel or group takes its threads and topics with it.
            gone = await self.store.chat_ids_within(chat.platform, chat.chat_id)
        else:
            stored = await self.store.find_chat(chat.platform, chat.chat_id, chat.thread_id)
            gone = [stored.id] if stored is not None and stored.id is not None else []
        await self.store.chats_gone(gone, "removed from chat")

    async def chat_moved(self, chat: Chat, new_chat_id: str) -> None:
        stored = await self.store.find_chat(chat.platform, chat.chat_id)
        if stored is not None:
            await self.store.move_chat(stored, new_chat_id)

    async def categories(self) -> list[str]:
        return [c.name for c in await self.store.categories()]

    async def import_opml(self, invocation: Invocation, body: bytes) -> Reply:
        chat = await self.store.ensure_chat(invocation.chat)
        refusal = _refused(self, chat, replace(invocation, command="opml import"))
        if refusal is not None:
            return refusal
        if self.sources is None:
            return Reply(say(chat.language, "sources_none"), private=True)
        author = f"{chat.platform}:{invocation.user_id}"
        try:
            report = await self.sources.import_opml(body, author)
        except NewsbotError as exc:
            return Reply(say(chat.language, "source_refused", reason=str(exc)), private=True)
        log.info("OPML import by %s: %d added", author, len(report.added))
        return Reply(import_report(report, chat.language), private=True)

    # --- helpers ----------------------------------------------------------------------

    def is_admin(self, invocation: Invocation) -> bool:
        platform = invocation.chat.platform
        if platform in self._config.trusted_platforms:
            return True
        return f"{platform}:{invocation.user_id}" in self._config.admins

    async def known(self, language: str) -> str:
        names = await self.categories()
        return ", ".join(names) if names else say(language, "none")

    async def keyboard(self, chat: Chat) -> tuple[Button, ...]:
        """One toggle button per category, ✅ on those this chat follows."""
        followed = {s.casefold() for s in await self.store.subscriptions(chat)}
        names = [c.name for c in await self.store.categories()][:MAX_BUTTONS]
        return tuple(
            Button(("✅ " if n.casefold() in followed else "") + n, "toggle", n) for n in names
        )


def _check_input(args: str, language: str) -> str | None:
    if len(args) > MAX_ARGS:
        return say(language, "too_long", limit=MAX_ARGS)
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\t" for ch in args):
        return say(language, "control_chars")
    return None


def split_names(args: str) -> list[str]:
    """Category names from `IT, World News` or `IT Sports` (commas win when present)."""
    parts = args.split(",") if "," in args else args.split()
    return [" ".join(p.strip().lstrip("#").split()) for p in parts if p.strip().lstrip("#")]


def post_items(found: Sequence[Post]) -> tuple[LinkItem, ...]:
    return tuple(LinkItem(p.title, p.link, p.breaking, p.published_at) for p in found)


# --- the commands -----------------------------------------------------------------------


async def _start(cmds: Commands, chat: Chat, inv: Invocation) -> Reply:
    if not chat.active:
        chat = await cmds.store.update_chat(chat, active=True)
    text = say(chat.language, "welcome") + "\n\n" + say(chat.language, "help")
    return Reply(text, buttons=await cmds.keyboard(chat))


async def _help(cmds: Commands, chat: Chat, inv: Invocation) -> Reply:
    text = say(chat.language, "help")
    if cmds.is_admin(inv):
        text += "\n" + say(chat.language, "admin_help")
    return Reply(text)


async def _latest(cmds: Commands, chat: Chat, inv: Invocation) -> Reply:
    words = inv.args.split()
    count = DEFAULT_LATEST
    if words:
        if len(words) > 1 or not words[0].isdigit() or not 1 <= int(words[0]) <= MAX_LATEST:
            return Reply(say(chat.language, "latest_usage", max=MAX_LATEST), private=True)
        count = int(words[0])
    found = await cmds.store.latest(count)
    if not found:
        return Reply(say(chat.language, "no_posts"))
    return Reply(say(chat.language, "latest_title"), items=post_items(found))


async def _category(cmds: Commands, chat: Chat, inv: Invocation) -> Reply:
    name = " ".join(inv.args.strip().lstrip("#").split())
    if not name:
        return await _categories(cmds, chat, inv)
    known = {c.name.casefold(): c.name for c in await cmds.store.categories()}
    if name.casefold() not in known:
        text = say(
            chat.language,
            "unknown_category",
            category=name[:MAX_CATEGORY],
            known=await cmds.known(chat.language),
        )
        return Reply(text, private=True)
    shown = known[name.casefold()]
    found = await cmds.store.latest(DEFAULT_LATEST, category=shown)
    return Reply(say(chat.language, "category_title", category=shown), items=post_items(found))


async def _categories(cmds: Commands, chat: Chat, inv: Invocation) -> Reply:
    counts = await cmds.store.categories()
    if not counts:
        return Reply(say(chat.language, "no_categories"))
    followed = {s.casefold() for s in await cmds.store.subscriptions(chat)}
    lines = [
        say(
            chat.language,
            "category_line",
            mark="✅" if c.name.casefold() in followed else "▫️",
            name=c.name,
            count=c.posts,
        )
        for c in counts
    ]
    text = say(chat.language, "categories_title") + "\n" + "\n".join(lines)
    return Reply(text, buttons=await cmds.keyboard(chat))


async def _toggle(cmds: Commands, chat: Chat, inv: Invocation) -> Reply:
    """A category button pressed: flip that subscription and redraw the keyboard."""
    if not inv.can_manage:
        return Reply(say(chat.language, manage_key(chat)), private=True)
    name = inv.args.strip()[:MAX_CATEGORY]
    if name:
        if name.casefold() in {s.casefold() for s in await cmds.store.subscriptions(chat)}:
            await cmds.store.unsubscribe(chat, [name])
        else:
            await cmds.store.subscribe(chat, [name])
    reply = await _categories(cmds, chat, inv)
    return Reply(reply.text, buttons=reply.buttons, edit=True)


async def _subscribe(cmds: Commands, chat: Chat, inv: Invocation) -> Reply:
    lang = chat.language
    if not inv.can_manage:
        return Reply(say(lang, manage_key(chat)), private=True)
    names = split_names(inv.args)
    if not names:
        return Reply(say(lang, "subscribe_usage", known=await cmds.known(lang)), private=True)
    if any(len(n) > MAX_CATEGORY for n in names):
        return Reply(say(lang, "too_long", limit=MAX_CATEGORY), private=True)
    known = {c.name.casefold(): c.name for c in await cmds.store.categories()}
    special = {ALL: ALL, BREAKING: BREAKING}
    names = [known.get(n.casefold()) or special.get(n.casefold()) or n for n in names]
    added = await cmds.store.subscribe(chat, names)
    lines = []
    if added:
        lines.append(say(lang, "subscribed", names=", ".join(added)))
    already = [n for n in names if n not in added]
    if already:
        lines.append(say(lang, "already_subscribed", names=", ".join(already)))
    empty = [n for n in added if n.casefold() not in known and n.casefold() not in special]
    if empty:
        lines.append(
            say(lang, "no_posts_yet", names=", ".join(empty), known=await cmds.known(lang))
        )
    return Reply("\n".join(lines))


async def _unsubscribe(cmds: Commands, chat: Chat, inv: Invocation) -> Reply:
    lang = chat.language
    if not inv.can_manage:
        return Reply(say(lang, manage_key(chat)), private=True)
    names = split_names(inv.args)
    if not names:
        return Reply(say(lang, "unsubscribe_usage"), private=True)
    removed = await cmds.store.unsubscribe(chat, names)
    lines = []
    if removed:
        lines.append(say(lang, "unsubscribed", names=", ".join(removed)))
    gone = {r.casefold() for r in removed}
    missing = [n for n in names if n.casefold() not in gone and n.casefold() != ALL]
    if missing:
        lines.append(say(lang, "not_subscribed", names=", ".join(missing)))
    if not lines:
        lines.append(say(lang, "no_subscriptions"))
    return Reply("\n".join(lines))


async def _subscriptions(cmds: Commands, chat: Chat, inv: Invocation) -> Reply:
    names = await cmds.store.subscriptions(chat)
    if not names:
        return Reply(say(chat.language, "no_subscriptions"))
    return Reply(say(chat.language, "subscriptions", names=", ".join(names)))


async def _lang(cmds: Commands, chat: Chat, inv: Invocation) -> Reply:
    code = inv.args.strip().lower()
    if code not in ("ko", "en"):
        return Reply(say(chat.language, "lang_usage"), private=True)
    chat = await cmds.store.update_chat(chat, language="ko" if code == "ko" else "en")
    return Reply(say(chat.language, "lang_set"))


def _refused(cmds: Commands, chat: Chat, inv: Invocation) -> Reply | None:
    if cmds.is_admin(inv):
        return None
    log.warning(
        "refused /%s from %s:%s in chat %s", inv.command, chat.platform, inv.user_id, chat.chat_id
    )
    return Reply(say(chat.language, "admins_only"), private=True)


async def _broadcast(cmds: Commands, chat: Chat, inv: Invocation) -> Reply:
    text = inv.args.strip()
    category = None
    if text.startswith("#"):
        first, _, text = text.partition(" ")
        category = first.lstrip("#")[:MAX_CATEGORY] or None
        text = text.strip()
    if not text:
        return Reply(say(chat.language, "broadcast_usage"), private=True)
    draft = await cmds.store.create_broadcast(
        Broadcast(text=text, category=category, author=f"{chat.platform}:{inv.user_id}")
    )
    count = await cmds.store.recipients(category)
    preview = say(chat.language, "broadcast_preview", id=draft.id, count=count, text=text)
    buttons = (
        Button(say(chat.language, "send"), "broadcast_send", str(draft.id)),
        Button(say(chat.language, "cancel"), "broadcast_cancel", str(draft.id)),
    )
    return Reply(preview, buttons=buttons, private=True)


async def _broadcast_send(cmds: Commands, chat: Chat, inv: Invocation) -> Reply:
    if not inv.args.strip().isdigit():
        return Reply(say(chat.language, "broadcast_usage"), private=True)
    draft_id = int(inv.args)
    count = await cmds.store.queue_broadcast(draft_id)
    if count is None:
        return Reply(say(chat.language, "broadcast_gone", id=draft_id), edit=True)
    cmds.on_planned()
    log.info(
        "broadcast %d queued by %s:%s for %d chats", draft_id, chat.platform, inv.user_id, count
    )
    return Reply(say(chat.language, "broadcast_queued", id=draft_id, count=count), edit=True)


async def _broadcast_cancel(cmds: Commands, chat: Chat, inv: Invocation) -> Reply:
    if not inv.args.strip().isdigit():
        return Reply(say(chat.language, "broadcast_usage"), private=True)
    draft_id = int(inv.args)
    key = "broadcast_cancelled" if await cmds.store.cancel_broadcast(draft_id) else "broadcast_gone"
    return Reply(say(chat.language, key, id=draft_id), edit=True)


async def _recall(cmds: Commands, chat: Chat, inv: Invocation) -> Reply:
    """`/recall 12` takes broadcast #12 back; `/recall post 34` a post's alerts."""
    lang = chat.language
    words = inv.args.split()
    is_post = len(words) == 2 and words[0].lower() == "post"
    number = words[-1] if words else ""
    if not number.isdigit() or len(words) != (2 if is_post else 1) or len(number) > 18:
        return Reply(say(lang, "recall_usage"), private=True)
    what = say(lang, "post_word" if is_post else "broadcast_word")
    if is_post:
        counts = await cmds.store.recall_post(int(number))
    else:
        counts = await cmds.store.recall_broadcast(int(number))
    if counts is None:
        return Reply(say(lang, "recall_unknown", what=what, id=number), private=True)
    cmds.on_planned()
    log.info("%s #%s recalled by %s:%s", what, number, chat.platform, inv.user_id)
    cancelled, deleting = counts
    text = say(lang, "recalled", what=what, id=number, cancelled=cancelled, deleting=deleting)
    return Reply(text, private=True)


def admin_only(handler: Handler) -> Handler:
    """The handler, for admins; everyone else is refused and the attempt logged."""

    async def guarded(cmds: Commands, chat: Chat, inv: Invocation) -> Reply:
        refusal = _refused(cmds, chat, inv)
        return refusal if refusal is not None else await handler(cmds, chat, inv)

    return guarded


async def _stats(cmds: Commands, chat: Chat, inv: Invocation) -> Reply:
    stats = await cmds.store.stats()
    none = say(chat.language, "none")
    text = say(
        chat.language,
        "stats",
        chats=", ".join(f"{k} {v}" for k, v in stats.chats_by_platform.items()) or none,
        subscriptions=", ".join(f"{k} {v}" for k, v in stats.subscriptions_by_category.items())
        or none,
        posts=stats.posts_today,
        pending=stats.deliveries_by_state["pending"] + stats.deliveries_by_state["sending"],
        sent=stats.deliveries_by_state["sent"],
        failed=stats.deliveries_by_state["failed"],
        failing=stats.sources_failing,
    )
    return Reply(text, private=True)


_HANDLERS: dict[str, Handler] = {
    "start": _start,
    "help": _help,
    "latest": _latest,
    "category": _category,
    "categories": _categories,
    "toggle": _toggle,
    "subscribe": _subscribe,
    "unsubscribe": _unsubscribe,
    "subscriptions": _subscriptions,
    "lang": _lang,
    "broadcast": admin_only(_broadcast),
    "broadcast_send": admin_only(_broadcast_send),
    "broadcast_cancel": admin_only(_broadcast_cancel),
    "recall": admin_only(_recall),
    "sources": admin_only(list_sources),
    "addsource": admin_only(add_source),
    "removesource": admin_only(remove_source),
    "pausesource": admin_only(pause_source),
    "resumesource": admin_only(resume_source),
    "filter": filter_command,
    "settings": settings_command,
    "quiet": quiet_command,
    "digest": digest_command,
    "stats": admin_only(_stats),
}

#: The commands users see in menus (internal button commands are not listed).
PUBLIC_COMMANDS = (
    "start",
    "help",
    "latest",
    "category",
    "categories",
    "subscribe",
    "unsubscribe",
    "subscriptions",
    "filter",
    "quiet",
    "digest",
    "settings",
    "lang",
)
