"""The console adapter: a chat in the terminal, for newcomers and for trying things out.

Alerts print as they arrive; typed lines (`/latest 3`, or `latest 3`) run as
commands. Used by `newsbot run` when no platform token is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import stat
import sys
from itertools import count
from typing import TextIO

from bot.formatter import render_plain
from bot.models import (
    Alert,
    Chat,
    Invocation,
    Language,
    Outcome,
    Platform,
    PlatformLimits,
    Reply,
    Sent,
    TransientFailure,
)
from handlers.base import Inbox

log = logging.getLogger(__name__)

RULE = "─" * 60


def console_chat(language: Language = "ko") -> Chat:
    """The one chat the console adapter serves."""
    return Chat(platform="console", chat_id="console", kind="user", language=language)


def parse_line(line: str, chat: Chat) -> Invocation | None:
    """`/latest 3` (or `latest 3`) as an Invocation; None for a blank line."""
    text = line.strip()
    if not text:
        return None
    command, _, args = text.lstrip("/").partition(" ")
    return Invocation(chat=chat, command=command.lower(), args=args.strip(), user_id="console")


def render_reply(reply: Reply) -> str:
    lines = [reply.text]
    for item in reply.items:
        mark = "🔴 " if item.breaking else ""
        lines.append(f"  • {mark}{item.title}\n    {item.link}")
    if reply.buttons:
        lines.append("  " + "  ".join(f"[{b.label}: /{b.command} {b.args}]" for b in reply.buttons))
    return "\n".join(lines)


class ConsoleAdapter:
    """Prints alerts and replies to `out`; reads commands from standard input if asked."""

    platform: Platform = "console"
    limits = PlatformLimits(
        text_length=4096, per_second=1000, per_chat_per_second=1000, per_group_per_minute=60000
    )

    def __init__(
        self, *, language: Language = "ko", out: TextIO | None = None, interactive: bool = True
    ) -> None:
        self.chat = console_chat(language)
        self._out = out or sys.stdout
        self._interactive = interactive
        self._ids = count(1)
        self._reader: asyncio.Task[None] | None = None

    async def start(self, inbox: Inbox) -> None:
        if self._interactive:
            self._reader = asyncio.create_task(self._read_commands(inbox), name="console-input")

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None

    @property
    def connected(self) -> bool:
        return True

    async def send(self, chat: Chat, alert: Alert) -> Outcome:
        return self._print(render_plain(alert, language=chat.language))

    async def edit(self, chat: Chat, message_id: str, alert: Alert) -> Outcome:
        text = render_plain(alert, language=chat.language)
        return self._print(f"(message {message_id} corrected)\n{text}")

    async def delete(self, chat: Chat, message_id: str) -> Outcome:
        return self._print(f"(message {message_id} recalled)")

    async def reply(self, chat: Chat, reply: Reply) -> Outcome:
        return self._print(render_reply(reply))

    def _print(self, text: str) -> Outcome:
        try:
            print(f"{RULE}\n{text}", file=self._out, flush=True)
        except OSError as exc:  # the terminal or pipe is gone
            return TransientFailure(f"console output: {exc.strerror}")
        return Sent(str(next(self._ids)))

    async def _read_commands(self, inbox: Inbox) -> None:
        reader = await _stdin_reader()
        if reader is None:
            return
        while line := await reader.readline():
            invocation = parse_line(line.decode("utf-8", "replace"), self.chat)
            if invocation is not None:
                await self.reply(self.chat, await inbox.command(invocation))


async def _stdin_reader() -> asyncio.StreamReader | None:
    """Standard input as a stream, or None when it is not a terminal or a pipe."""
    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (OSError, ValueError):
        return None
    if not (sys.stdin.isatty() or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
        return None
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    try:
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    except (ValueError, OSError) as exc:
        log.debug("console input unavailable: %s", exc)
        return None
    return reader
