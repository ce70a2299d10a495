"""The watcher: fetch every source on its own schedule, normalize, store what is new.

Each source runs in its own task, so a slow or failing source never delays
another. A failure backs off exponentially (with jitter, up to a cap) and the
backoff resets on the next success.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from bot.errors import SourceError, StoreError
from bot.metrics import Metrics
from bot.models import Post, SourceState
from bot.normalize import Skipped, SourceRules, normalize
from bot.sources import FetchResult, Source
from storage import Store

log = logging.getLogger(__name__)

#: How often the list of sources is read again (sources added from a chat).
DISCOVER_EVERY = 30.0
Discover = Callable[[], Awaitable[Sequence[Source]]]

#: Longest wait before retrying a failing source.
MAX_BACKOFF = timedelta(hours=1)
#: Checks in flight at once: aiohttp queues past 100 connections anyway, and the bound
#: keeps the database pool's queue short (1,000 sources at once starved a 15-connection
#: pool past its 30 s checkout timeout: bench/poll.py).
MAX_CONCURRENT_CHECKS = 100


@dataclass(frozen=True, slots=True)
class CheckReport:
    """How one check of one source went."""

    source: str
    ok: bool
    new_posts: int = 0
    planned: int = 0
    unchanged: bool = False
    error: str | None = None
    #: Another process holds the source's lease and fetches it, or it is paused.
    skipped: bool = False
    #: When it is due again (None when skipped or the store failed).
    next_fetch_at: datetime | None = None


def rules_for(source: Source, base_url: str | None) -> SourceRules:
    settings = source.settings
    return SourceRules(
        name=settings.name,
        base_url=base_url or settings.url or settings.site_url,
        timezone=settings.zone,
        categories=settings.categories,
        breaking=settings.breaking,
    )


def next_delay(interval: float, failures: int, rng: random.Random) -> timedelta:
    """The wait before the next fetch: the interval, or a jittered backoff after failures."""
    if failures == 0:
        return timedelta(seconds=interval)
    backoff = min(interval * 2.0 ** (failures - 1), MAX_BACKOFF.total_seconds())
    return timedelta(seconds=max(interval, backoff) * rng.uniform(0.75, 1.25))


def posts_from(result: FetchResult, rules: SourceRules, now: datetime) -> tuple[list[Post], int]:
    """The posts of a fetch, and how many entries were skipped as unusable."""
    found: list[Post] = []
    skipped = 0
    for entry in result.entries:
        try:
            found.append(normalize(entry, rules, now=now, seen_at=now))
        except Skipped as exc:
            skipped += 1
            log.debug("source %s: skipped an entry: %s", rules.name, exc)
    return found, skipped


class Watcher:
    """Fetches sources and stores what is new; calls `on_planned` when alerts were planned."""

    def __init__(
        self,
        sources: Sequence[Source],
        store: Store,
        *,
        on_planned: Callable[[], None] = lambda: None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        rng: random.Random | None = None,
        metrics: Metrics | None = None,
        owner: str = "watcher",
        concurrency: int = MAX_CONCURRENT_CHECKS,
    ) -> None:
        self._sources = list(sources)
        self._metrics = metrics or Metrics()
        self._owner = owner
        self._store = store
        self._on_planned = on_planned
        self._clock = clock
        self._rng = rng or random.Random()
        self._rediscover = asyncio.Event()
        self._slots = asyncio.Semaphore(concurrency)

    async def run_once(self) -> list[CheckReport]:
        """Check every source once, concurrently; one report per source."""
        return list(await asyncio.gather(*(self.check(s) for s in self._sources)))

    async def run(self, stop: asyncio.Event, *, discover: Discover | None = None) -> None:
        """Check every source on its schedule until `stop` is set.

        With `discover`, the list of sources is asked for again every
        `DISCOVER_EVERY` (or at once after `rediscover()`): sources added from a
        chat, by this process or another, start; removed ones stop.
        """
        running: dict[str, asyncio.Task[None]] = {}
        async with asyncio.TaskGroup() as group:
            self._follow(group, running, self._sources, stop)
            if discover is None:
                return  # the loops end by themselves when `stop` is set
            while not await self._discovery_due(stop):
                self._sources = list(await discover())
                self._follow(group, running, self._sources, stop)

    def rediscover(self) -> None:
        """Sources were added or removed: look at the list again now."""
        self._rediscover.set()

    async def _discovery_due(self, stop: asyncio.Event) -> bool:
        """Wait for the next discovery; True when stopping instead."""
        self._rediscover.clear()
        waiters = {
            asyncio.ensure_future(stop.wait()),
            asyncio.ensure_future(self._rediscover.wait()),
        }
        await asyncio.wait(waiters, timeout=DISCOVER_EVERY, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()
        return stop.is_set()

    def _follow(
        self,
        group: asyncio.TaskGroup,
        running: dict[str, asyncio.Task[None]],
        sources: Sequence[Source],
        stop: asyncio.Event,
    ) -> None:
        """Start a loop for each new source and cancel the loops of removed ones."""
        wanted = {s.settings.name: s for s in sources}
        for name in [n for n in running if n not in wanted]:
            running.pop(name).cancel()
            log.info("source %s: no longer watched", name)
        for name, source in wanted.items():
            if name not in running:
                running[name] = group.create_task(self._loop(source, stop), name=f"source {name}")

    async def _loop(self, source: Source, stop: asyncio.Event) -> None:
        wait = await self._due_in(source)
        while not await stopped_within(stop, wait):
            try:
                report = await self.check(source)
            except Exception:
                # A bug met on this source: it tries again later, no other notices.
                log.exception("source %s: check failed", source.settings.name)
                report = CheckReport(source.settings.name, ok=False, error="internal error")
            wait = _until(report.next_fetch_at, self._clock())
            if report.next_fetch_at is None:
                # Skipped (another process fetches it, or paused) or the store failed:
                # look again soon, once the other process has rescheduled it.
                wait = min(source.settings.interval, 5.0)

    async def _due_in(self, source: Source) -> float:
        """Seconds until `source` is due; soon when the database cannot say."""
        try:
            async with self._slots:
                state = await self._store.source_state(source.settings.name)
        except StoreError as exc:
            log.error("source %s: could not read its state: %s", source.settings.name, exc)
            return min(source.settings.interval, 5.0)
        return _until(state.next_fetch_at, self._clock())

    async def check(self, source: Source) -> CheckReport:
        """Fetch `source` once, store what is new, and schedule its next fetch.

        Skipped (and reported so) while paused or while another process holds
        the source's lease. Two database round trips when nothing changed.
        """
        name = source.settings.name
        lease = timedelta(seconds=source.settings.timeout * 3 + 30)
        async with self._slots:
            try:
                state = await self._store.lease_source(name, self._owner, lease)
            except StoreError as exc:
                log.error("source %s: %s", name, exc)
                return CheckReport(name, ok=False, error=str(exc))
            if state is None:
                return CheckReport(name, ok=True, skipped=True)
            if state.paused:
                await self._store.release_source(name, self._owner)
                return CheckReport(name, ok=True, skipped=True)
            return await self._check(source, state)

    async def _check(self, source: Source, state: SourceState) -> CheckReport:
        name = source.settings.name
        now = self._clock()
        try:
            with self._metrics.fetch_seconds.time():
                result = await source.fetch(state)
        except SourceError as exc:
            return await self._failed(source, state, now, str(exc))
        except Exception as exc:
            # A bug met on one source's input must not stop the others.
            log.exception("source %s: unexpected error", name)
            return await self._failed(source, state, now, f"internal error: {type(exc).__name__}")
        for problem in result.problems:
            log.warning("source %s: %s", name, problem)
        try:
            return await self._succeeded(source, state, result, now)
        except StoreError as exc:
            log.error("source %s: could not store: %s", name, exc)
            return CheckReport(name, ok=False, error=str(exc))
        except Exception as exc:
            log.exception("source %s: unexpected error reading entries", name)
            return await self._failed(source, state, now, f"internal error: {type(exc).__name__}")

    async def _succeeded(
        self, source: Source, state: SourceState, result: FetchResult, now: datetime
    ) -> CheckReport:
        name = source.settings.name
        found, skipped = posts_from(result, rules_for(source, result.base_url), now)
        new_state = replace(
            state,
            etag=result.etag,
            last_modified=result.last_modified,
            content_hash=result.content_hash,
            failures=0,
            last_fetch_at=now,
            last_ok_at=now,
            last_error=None,
            next_fetch_at=now + next_delay(source.settings.interval, 0, self._rng),
        )
        if result.unchanged:
            await self._store.save_source_state(new_state, release=True)
            return CheckReport(name, ok=True, unchanged=True, next_fetch_at=new_state.next_fetch_at)
        stored = await self._store.ingest(
            new_state, found, backfill=source.settings.backfill, release=True
        )
        if stored.alerted:
            self._metrics.posts_ingested.labels(name).inc(len(stored.alerted))
        if stored.planned:
            self._on_planned()
        if stored.alerted or skipped:
            log.info(
                "source %s: %d new, %d alerts planned, %d entries skipped",
                name,
                len(stored.alerted),
                stored.planned,
                skipped,
            )
        return CheckReport(
            name,
            ok=True,
            new_posts=len(stored.alerted),
            planned=stored.planned,
            next_fetch_at=new_state.next_fetch_at,
        )

    async def _failed(
        self, source: Source, state: SourceState, now: datetime, error: str
    ) -> CheckReport:
        self._metrics.fetch_errors.labels(source.settings.name).inc()
        failures = state.failures + 1
        delay = next_delay(source.settings.interval, failures, self._rng)
        log.warning(
            "source %s: %s (failure %d, next try in %ds)",
            source.settings.name,
            error,
            failures,
            delay.total_seconds(),
        )
        new_state = replace(
            state,
            failures=failures,
            last_fetch_at=now,
            last_error=error,
            next_fetch_at=now + delay,
        )
        try:
            await self._store.save_source_state(new_state, release=True)
        except StoreError as exc:
            log.error("source %s: could not record the failure: %s", source.settings.name, exc)
        return CheckReport(
            source.settings.name, ok=False, error=error, next_fetch_at=new_state.next_fetch_at
        )


def _until(when: datetime | None, now: datetime) -> float:
    return 0.0 if when is None else max(0.0, (when - now).total_seconds())


async def stopped_within(stop: asyncio.Event, seconds: float) -> bool:
    """Wait up to `seconds`; True as soon as `stop` is set."""
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        return stop.is_set()
    return True
