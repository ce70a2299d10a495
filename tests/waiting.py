"""Waiting for something to happen without sleeping: fakes mark each change, tests wait on it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class Changes:
    """Fakes call `mark()` whenever their state changes; tests `await until(predicate)`."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def mark(self) -> None:
        self._event.set()

    async def until(self, predicate: Callable[[], bool], within: float = 20.0) -> None:
        """Return once `predicate()` holds; raise TimeoutError after `within` seconds."""
        async with asyncio.timeout(within):
            while not predicate():
                self._event.clear()
                await self._event.wait()
