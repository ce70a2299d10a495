"""Digests: alerts held through quiet hours or for a daily digest go out as one message.

The decision is a pure function of a chat's settings and the time (`digest_due`);
`Digester` asks the store which chats hold alerts and folds them when due. The
clock is injected, so tests move time instead of sleeping.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.models import Chat
from storage import Store

log = logging.getLogger(__name__)

#: Headlines in one digest, newest first.
DIGEST_SIZE = 20
#: How often held alerts are looked at.
CHECK_EVERY = timedelta(seconds=30)


def digest_due(chat: Chat, now: datetime, last_digest_at: datetime | None) -> bool:
    """Whether `chat`'s held alerts should go out now as a digest."""
    local = now.astimezone(ZoneInfo(chat.timezone))
    if chat.digest_at is not None:
        today = local.replace(
            hour=chat.digest_at.hour, minute=chat.digest_at.minute, second=0, microsecond=0
        )
        moment = today if local >= today else today - timedelta(days=1)
        return last_digest_at is None or last_digest_at < moment
    if chat.quiet is not None:
        return not chat.quiet.covers(local.time())
    return True  # quiet hours were turned off with alerts still held


class Digester:
    """Folds held alerts into digests when their chat's quiet hours end or its digest time comes."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_planned: Callable[[], None] = lambda: None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._on_planned = on_planned

    async def run_once(self) -> int:
        """Make every digest that is due now; returns how many were made."""
        made = 0
        now = self._clock()
        for chat, last in await self._store.chats_holding():
            if digest_due(chat, now, last) and await self._store.make_digest(chat, DIGEST_SIZE):
                made += 1
        if made:
            log.info("%d digests queued", made)
            self._on_planned()
        return made

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.run_once()
            try:
                await asyncio.wait_for(stop.wait(), CHECK_EVERY.total_seconds())
            except TimeoutError:
                continue
