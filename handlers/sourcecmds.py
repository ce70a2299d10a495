"""Admins' source commands: /sources, /addsource, /removesource, /pausesource, /resumesource."""

from __future__ import annotations

import logging
from datetime import UTC
from typing import TYPE_CHECKING

from bot.errors import InvalidInput
from bot.models import Chat, ImportReport, Invocation, Reply
from handlers.messages import say

if TYPE_CHECKING:
    from handlers.commands import Commands

log = logging.getLogger(__name__)


async def list_sources(cmds: Commands, chat: Chat, inv: Invocation) -> Reply:
    lang = chat.language
    infos = await cmds.sources.describe() if cmds.sources else []
    if not infos:
        return Reply(say(lang, "sources_none"), private=True)
    lines = []
    for info in infos:
        last = (
            f"{info.last_fetch_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
            if info.last_fetch_at
            else "-"
        )
        error = say(lang, "source_error", error=info.error) if info.error else ""
        lines.append(
            say(
                lang,
                "source_line",
                name=info.name,
                status=info.status,
                location=info.location,
                last=last,
                error=error,
            )
        )
    return Reply("\n".join(lines), private=True)


async def add_source(cmds: Commands, chat: Chat, inv: Invocation) -> Reply:
    lang = chat.language
    url, _, rest = inv.args.strip().partition(" ")
    if not url or cmds.sources is None:
        return Reply(say(lang, "addsource_usage"), private=True)
    categories = [c.strip().lstrip("#") for c in rest.replace(",", " ").split() if c.strip()]
    author = f"{chat.platform}:{inv.user_id}"
    try:
        name = await cmds.sources.add(url, categories, author)
    except InvalidInput as exc:
        return Reply(say(lang, "source_refused", reason=str(exc)), private=True)
    log.info("source %s (%s) added by %s", name, url, author)
    return Reply(say(lang, "source_added", name=name), private=True)


async def remove_source(cmds: Commands, chat: Chat, inv: Invocation) -> Reply:
    return await _by_name(cmds, chat, inv, "source_removed")


async def pause_source(cmds: Commands, chat: Chat, inv: Invocation) -> Reply:
    return await _by_name(cmds, chat, inv, "source_paused")


async def resume_source(cmds: Commands, chat: Chat, inv: Invocation) -> Reply:
    return await _by_name(cmds, chat, inv, "source_resumed")


async def _by_name(cmds: Commands, chat: Chat, inv: Invocation, done: str) -> Reply:
    lang = chat.language
    name = inv.args.strip()
    if not name or " " in name or cmds.sources is None:
        return Reply(say(lang, "source_usage", command=inv.command), private=True)
    try:
        if done == "source_removed":
            await cmds.sources.remove(name)
        else:
            await cmds.sources.pause(name, done == "source_paused")
    except InvalidInput as exc:
        return Reply(say(lang, "source_refused", reason=str(exc)), private=True)
    log.info("%s: %s by %s:%s", done, name, chat.platform, inv.user_id)
    return Reply(say(lang, done, name=name), private=True)


def import_report(report: ImportReport, language: str) -> str:
    """The OPML import's summary line, then one line per refusal with its reason."""
    lines = [
        say(
            language,
            "opml_report",
            added=len(report.added),
            skipped=len(report.skipped),
            refused=len(report.refused),
        )
    ]
    lines += [f"  ✗ {what}: {why}" for what, why in report.refused[:20]]
    return "\n".join(lines)
