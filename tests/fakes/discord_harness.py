"""The real `DiscordAdapter` against `FakeDiscord`, with a recording stand-in for the core."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from pydantic import SecretStr

from bot.config import DiscordSettings
from bot.models import Chat, Invocation, Reply
from handlers.base import Inbox
from handlers.discord_adapter import DiscordAdapter
from tests.fakes.discord_api import USER_ID, FakeDiscord

ADMIN = f"discord:{USER_ID}"


class RecordingInbox:
    """A stand-in for the core: records what the adapter asks, answers with canned replies."""

    def __init__(
        self,
        categories: tuple[str, ...] = ("IT", "경제", "정치"),
        replies: dict[str, Reply] | None = None,
        welcome: Reply | None = None,
    ) -> None:
        self.known = list(categories)
        self.replies = replies or {}
        self.welcome = welcome
        self.invocations: list[Invocation] = []
        self.added: list[Chat] = []
        self.removed: list[Chat] = []
        self._changed = asyncio.Condition()

    async def command(self, invocation: Invocation) -> Reply:
        self.invocations.append(invocation)
        default = Reply(text=f"did {invocation.command} {invocation.args}".strip())
        return self.replies.get(invocation.command, default)

    async def chat_added(self, chat: Chat) -> Reply | None:
        await self._record(self.added, chat)
        return self.welcome

    async def chat_removed(self, chat: Chat) -> None:
        await self._record(self.removed, chat)

    async def chat_moved(self, chat: Chat, new_chat_id: str) -> None:
        raise AssertionError("Discord channels never change their id")

    async def categories(self) -> list[str]:
        return list(self.known)

    async def import_opml(self, invocation: Invocation, body: bytes) -> Reply:
        self.invocations.append(invocation)
        return Reply(text=f"imported {len(body)} bytes")

    async def _record(self, into: list[Chat], chat: Chat) -> None:
        async with self._changed:
            into.append(chat)
            self._changed.notify_all()

    async def wait_until(self, ready: Callable[[], bool], within: float = 5.0) -> None:
        """Block until `ready()` holds after something was recorded; at most `within` s."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(ready), within)


def settings_for(fake: FakeDiscord, *, guild_id: int | None = None) -> DiscordSettings:
    return DiscordSettings(
        token=SecretStr(fake.token),
        api_url=fake.api_url,
        gateway_url=fake.gateway_url,
        guild_id=guild_id,
    )


@asynccontextmanager
async def running_adapter(
    fake: FakeDiscord,
    inbox: Inbox | None = None,
    *,
    guild_id: int | None = None,
    admins: tuple[str, ...] = (ADMIN,),
    **options: Any,
) -> AsyncIterator[DiscordAdapter]:
    """The real `DiscordAdapter`, started against `fake`, stopped on exit."""
    adapter = DiscordAdapter(
        settings_for(fake, guild_id=guild_id),
        admins=admins,
        guild_ready_timeout=0.05,
        **options,
    )
    await adapter.start(inbox or RecordingInbox())
    try:
        yield adapter
    finally:
        await adapter.stop()
