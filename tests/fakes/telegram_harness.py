"""What the Telegram tests share: a clock moved by hand, an inbox that records, a started adapter.

`RecordingInbox` stands in for `handlers.commands.Commands` at the adapter seam: it
records what the adapter asked and answers with canned replies.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

from pydantic import SecretStr

from bot.config import TelegramSettings
from bot.models import Chat, Invocation, Reply
from handlers.telegram_adapter import TelegramAdapter
from tests.fakes.telegram_api import TOKEN, FakeTelegram

T = TypeVar("T")


class Clock:
    """The fake's rate windows move only when a test says so: `clock.now += 1`."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class RecordingInbox:
    """Records every call. `replies` maps a command to its answer (default: `echo /cmd args`)."""

    def __init__(self, categories: tuple[str, ...] = ()) -> None:
        self.invocations: list[Invocation] = []
        self.added: list[Chat] = []
        self.removed: list[Chat] = []
        self.moved: list[tuple[Chat, str]] = []
        self.replies: dict[str, Reply] = {}
        #: Commands that raise, as a broken core would.
        self.failing: set[str] = set()
        self.welcome: Reply | None = Reply("안녕하세요! /help")
        self._categories = list(categories)
        self._changed = asyncio.Condition()

    @property
    def commands(self) -> list[str]:
        return [i.command for i in self.invocations]

    async def command(self, invocation: Invocation) -> Reply:
        await self._record(self.invocations, invocation)
        if invocation.command in self.failing:
            raise RuntimeError("the core broke")
        default = Reply(f"echo /{invocation.command} {invocation.args}".strip())
        return self.replies.get(invocation.command, default)

    async def chat_added(self, chat: Chat) -> Reply | None:
        await self._record(self.added, chat)
        return self.welcome

    async def chat_removed(self, chat: Chat) -> None:
        await self._record(self.removed, chat)

    async def chat_moved(self, chat: Chat, new_chat_id: str) -> None:
        await self._record(self.moved, (chat, new_chat_id))

    async def categories(self) -> list[str]:
        return self._categories

    async def import_opml(self, invocation: Invocation, body: bytes) -> Reply:
        return Reply(f"imported {len(body)} bytes")

    async def wait_until(self, predicate: Callable[[], bool], within: float = 5.0) -> None:
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(predicate)

    async def _record(self, into: list[T], item: T) -> None:
        into.append(item)
        async with self._changed:
            self._changed.notify_all()


def settings_for(tg: FakeTelegram, **changes: object) -> TelegramSettings:
    """Telegram settings pointing at the fake, with its token."""
    values: dict[str, object] = {"token": SecretStr(TOKEN), "api_url": tg.api_url}
    return TelegramSettings(**(values | changes))


@asynccontextmanager
async def running_adapter(
    tg: FakeTelegram, inbox: RecordingInbox | None = None, *, request_timeout: float = 3.0
) -> AsyncIterator[TelegramAdapter]:
    """A started adapter on the fake, stopped on the way out."""
    adapter = TelegramAdapter(settings_for(tg), poll_timeout=5, request_timeout=request_timeout)
    await adapter.start(inbox or RecordingInbox())
    try:
        yield adapter
    finally:
        await adapter.stop()
