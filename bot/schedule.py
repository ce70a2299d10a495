"""The watcher's two pieces of bookkeeping: batched state writes and the schedule."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.errors import StoreError
from bot.models import SourceState
from bot.sources import Source
from storage import Store


class StateWriter:
    """Writes source states (releasing their leases) in batches: a group commit.

    A check hands its state to `save` and waits for it to be written. The first
    one in writes at once; the states handed in while that write runs go in the
    next write, and so on, so a cycle over a thousand sources writes a few
    batches, and a check never waits for a slow fetch of another source.
    """

    def __init__(self, store: Store, owner: str) -> None:
        self._store = store
        #: Whose leases the writes give up.
        self._owner = owner
        self._pending: list[tuple[SourceState, asyncio.Future[None]]] = []
        self._writing = False

    async def save(self, state: SourceState) -> None:
        """Write `state` and release its lease; raises `StoreError` when the batch failed."""
        done = asyncio.get_running_loop().create_future()
        self._pending.append((state, done))
        if not self._writing:
            await self._drain()
        await done

    async def _drain(self) -> None:
        self._writing = True
        batch: list[tuple[SourceState, asyncio.Future[None]]] = []
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                error = await self._write([state for state, _ in batch])
                for _, done in batch:
                    _settle(done, error)
                batch = []
        finally:
            self._writing = False
            # Interrupted (cancelled): nobody may wait forever for a write that will not come.
            interrupted = StoreError("the state write was interrupted")
            for _, done in batch + self._pending:
                _settle(done, interrupted)
            self._pending = []

    async def _write(self, states: list[SourceState]) -> StoreError | None:
        try:
            await self._store.save_source_states(states, release=self._owner)
        except StoreError as exc:
            return exc
        return None


def _settle(done: asyncio.Future[None], error: StoreError | None) -> None:
    if done.done():
        return
    if error is None:
        done.set_result(None)
    else:
        # One exception each: an instance raised in many tasks would share a traceback.
        done.set_exception(StoreError(str(error)))


class Schedule:
    """The long-running mode's plan: when each source is due, and which are being checked."""

    def __init__(self, due: dict[str, datetime]) -> None:
        self.due = due
        self.in_flight: set[str] = set()
        #: Set when a check finished that is due before the loop meant to wake.
        self.wake = asyncio.Event()
        self._wake_at: datetime | None = None

    def take_due(self, sources: Sequence[Source], now: datetime) -> list[Source]:
        """The sources due by `now` and not being checked; they count as being checked."""
        ready = [
            s
            for s in sources
            if s.settings.name not in self.in_flight and self.due.get(s.settings.name, now) <= now
        ]
        self.in_flight.update(s.settings.name for s in ready)
        return ready

    def wait(self, sources: Sequence[Source], now: datetime) -> float:
        """Seconds until the next source not being checked is due (a day when none)."""
        waiting = [
            self.due.get(s.settings.name, now)
            for s in sources
            if s.settings.name not in self.in_flight
        ]
        self._wake_at = min(waiting, default=None)
        return IDLE.total_seconds() if self._wake_at is None else until(self._wake_at, now)

    def done(self, name: str, due: datetime) -> None:
        self.in_flight.discard(name)
        self.due[name] = due
        if self._wake_at is None or due < self._wake_at:
            self.wake.set()


#: How long the long-running mode sleeps with nothing scheduled (a check finishing wakes it).
IDLE = timedelta(days=1)


async def first_of(seconds: float, *events: asyncio.Event) -> None:
    """Wait up to `seconds` for any of `events`."""
    waiters = {asyncio.ensure_future(event.wait()) for event in events}
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


def until(when: datetime | None, now: datetime) -> float:
    return 0.0 if when is None else max(0.0, (when - now).total_seconds())
