"""The watcher: fetch every source on its own schedule, normalize, store what is new.

A cycle takes the leases of the sources it checks in one statement, fetches them
concurrently (at most `MAX_CONCURRENT_CHECKS` at once), and writes the states of
the unchanged and failed ones back in batches (`StateWriter`); a source with new
posts goes through `Store.ingest` alone. Each check is its own task, so a slow
or failing source never delays another. A failure backs off exponentially (with
jitter, up to a cap) and the backoff resets on the next success.
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
from bot.schedule import Schedule, StateWriter, first_of
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


@dataclass(frozen=True, slots=True)
class _Outcome:
    """A check's result before its state is written: the report, and the state to batch."""

    report: CheckReport
    #: Written by the `StateWriter` (None when `Store.ingest` already wrote it).
    state: SourceState | None = None


OnReport = Callable[[CheckReport], None]


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
        on_first_cycle: Callable[[], None] | None = None,
    ) -> None:
        """`on_first_cycle` is called once, after the first cycle: the working set is built."""
        self._sources = list(sources)
        self._metrics = metrics or Metrics()
        self._owner = owner
        self._store = store
        self._on_planned = on_planned
        self._clock = clock
        self._rng = rng or random.Random()
        self._rediscover = asyncio.Event()
        self._slots = asyncio.Semaphore(concurrency)
        self._writer = StateWriter(store, owner)
        self._on_first_cycle = on_first_cycle

    async def run_once(self) -> list[CheckReport]:
        """Check every source once, due or not; one report per source, in order."""
        return await self._cycle(self._sources, due_by=None)

    async def check(self, source: Source) -> CheckReport:
        """Fetch `source` once, store what is new, and schedule its next fetch.

        Skipped (and reported so) while paused or while another process holds
        the source's lease.
        """
        return (await self._cycle([source], due_by=None))[0]

    async def run(self, stop: asyncio.Event, *, discover: Discover | None = None) -> None:
        """Check each source when it is due, until `stop` is set.

        The sources due together are checked as one cycle (`_cycle`), and the
        next cycle starts when the next source is due, whether or not a slow
        check of the last one is still running. With `discover`, the list of
        sources is asked for again every `DISCOVER_EVERY` (or at once after
        `rediscover()`): sources added from a chat, by this process or
        another, start; removed ones stop.
        """
        schedule = Schedule(await self._due_times(self._sources))
        discovery = asyncio.get_running_loop().time() + DISCOVER_EVERY
        async with asyncio.TaskGroup() as group:
            while not stop.is_set():
                if discover is not None and self._discovery_due(discovery):
                    await self._discover(discover, schedule)
                    discovery = asyncio.get_running_loop().time() + DISCOVER_EVERY
                schedule.wake.clear()
                now = self._clock()
                ready = schedule.take_due(self._sources, now)
                if ready:
                    group.create_task(self._wave(ready, now, schedule))
                wait = schedule.wait(self._sources, now)
                if discover is not None:
                    wait = min(wait, max(0.0, discovery - asyncio.get_running_loop().time()))
                await first_of(wait, stop, schedule.wake, self._rediscover)

    def rediscover(self) -> None:
        """Sources were added or removed: look at the list again now."""
        self._rediscover.set()

    def _discovery_due(self, at: float) -> bool:
        return self._rediscover.is_set() or asyncio.get_running_loop().time() >= at

    async def _discover(self, discover: Discover, schedule: Schedule) -> None:
        self._rediscover.clear()
        known = {s.settings.name for s in self._sources}
        self._sources = list(await discover())
        for name in known - {s.settings.name for s in self._sources}:
            schedule.due.pop(name, None)
            log.info("source %s: no longer watched", name)
        added = [s for s in self._sources if s.settings.name not in schedule.due]
        schedule.due |= await self._due_times(added)

    async def _due_times(self, sources: Sequence[Source]) -> dict[str, datetime]:
        """When each of `sources` is due (now when unknown), from one read."""
        now = self._clock()
        if not sources:
            return {}
        try:
            states = {state.name: state for state in await self._store.source_states()}
        except StoreError as exc:
            log.error("could not read the sources' states: %s", exc)
            states = {}
        return {s.settings.name: _due_at(states.get(s.settings.name), now) for s in sources}

    async def _wave(self, sources: Sequence[Source], now: datetime, schedule: Schedule) -> None:
        """One cycle of the long-running mode: the due sources, each rescheduled when done."""
        intervals = {s.settings.name: s.settings.interval for s in sources}

        def reschedule(report: CheckReport) -> None:
            at = report.next_fetch_at
            if at is None:
                # Skipped (another process fetches it, or paused) or the store failed:
                # look again soon, once the other process has rescheduled it.
                at = self._clock() + timedelta(seconds=min(intervals[report.source], 5.0))
            schedule.done(report.source, at)

        try:
            await self._cycle(sources, due_by=now, on_report=reschedule)
        except Exception:
            # A bug in the cycle itself must not stop the watcher: the next one tries again.
            log.exception("a cycle over %d sources failed", len(sources))
        finally:
            # What the cycle did not reschedule (a bug, or cancelled) is tried again soon.
            for name in intervals:
                if name in schedule.in_flight:
                    schedule.done(name, self._clock() + timedelta(seconds=5.0))

    async def _cycle(
        self,
        sources: Sequence[Source],
        *,
        due_by: datetime | None,
        on_report: OnReport = lambda report: None,
    ) -> list[CheckReport]:
        """Lease `sources` in one statement and check the leased ones concurrently.

        With `due_by`, only the sources due by then are leased (another
        process may have fetched one since this one looked).
        """
        lease = max((_lease_for(s) for s in sources), default=timedelta(0))
        names = [s.settings.name for s in sources]
        deadline = self._clock() + lease
        try:
            states = await self._store.lease_sources(names, self._owner, lease, due_by=due_by)
        except StoreError as exc:
            log.error("could not lease %d sources: %s", len(names), exc)
            failed = [CheckReport(name, ok=False, error=str(exc)) for name in names]
            for report in failed:
                on_report(report)
            return failed
        checks = (self._leased(s, states.get(s.settings.name), deadline) for s in sources)
        reports = [self._reported(check, on_report) for check in checks]
        done = list(await asyncio.gather(*reports))
        if self._on_first_cycle is not None:
            first, self._on_first_cycle = self._on_first_cycle, None
            first()
        return done

    @staticmethod
    async def _reported(check: Awaitable[CheckReport], on_report: OnReport) -> CheckReport:
        report = await check
        on_report(report)
        return report

    async def _leased(
        self, source: Source, state: SourceState | None, deadline: datetime
    ) -> CheckReport:
        """Check a source whose lease this cycle tried to take (`state` None: not taken)."""
        name = source.settings.name
        if state is None:
            return CheckReport(name, ok=True, skipped=True)
        try:
            async with self._slots:
                outcome = await self._fetched(source, state, deadline)
            return await self._written(outcome)
        except StoreError as exc:
            log.error("source %s: could not store: %s", name, exc)
            return CheckReport(name, ok=False, error=str(exc))
        except Exception:
            # A bug met on this source: it tries again later, no other notices.
            log.exception("source %s: check failed", name)
            return CheckReport(name, ok=False, error="internal error")

    async def _written(self, outcome: _Outcome) -> CheckReport:
        """Hand the outcome's state to the batched writes; its report once written."""
        if outcome.state is None:
            return outcome.report
        try:
            await self._writer.save(outcome.state)
        except StoreError as exc:
            if outcome.report.ok:
                raise
            log.error("source %s: could not record the failure: %s", outcome.state.name, exc)
        return outcome.report

    async def _fetched(self, source: Source, state: SourceState, deadline: datetime) -> _Outcome:
        """Fetch and read `source`: new posts are ingested here, other states are returned."""
        name = source.settings.name
        if deadline - self._clock() < _lease_for(source) - timedelta(
            seconds=source.settings.timeout
        ):
            # The cycle's lease ran low while this check waited for a slot: renew it alone.
            renewed = await self._store.lease_source(name, self._owner, _lease_for(source))
            if renewed is None or renewed.paused:
                return _Outcome(CheckReport(name, ok=True, skipped=True), renewed and state)
            state = renewed
        now = self._clock()
        try:
            with self._metrics.fetch_seconds.time():
                result = await source.fetch(state)
        except SourceError as exc:
            return self._failed(source, state, now, str(exc))
        except Exception as exc:
            # A bug met on one source's input must not stop the others.
            log.exception("source %s: unexpected error", name)
            return self._failed(source, state, now, f"internal error: {type(exc).__name__}")
        for problem in result.problems:
            log.warning("source %s: %s", name, problem)
        try:
            return await self._succeeded(source, state, result, now)
        except StoreError:
            raise
        except Exception as exc:
            log.exception("source %s: unexpected error reading entries", name)
            return self._failed(source, state, now, f"internal error: {type(exc).__name__}")

    async def _succeeded(
        self, source: Source, state: SourceState, result: FetchResult, now: datetime
    ) -> _Outcome:
        name = source.settings.name
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
        due = new_state.next_fetch_at
        if result.unchanged:
            return _Outcome(
                CheckReport(name, ok=True, unchanged=True, next_fetch_at=due), new_state
            )
        found, skipped = posts_from(result, rules_for(source, result.base_url), now)
        stored = await self._store.ingest(
            new_state, found, backfill=source.settings.backfill, release=self._owner
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
        new = len(stored.alerted)
        report = CheckReport(name, True, new, stored.planned, next_fetch_at=due)
        return _Outcome(report)

    def _failed(self, source: Source, state: SourceState, now: datetime, error: str) -> _Outcome:
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
        report = CheckReport(source.settings.name, False, error=error, next_fetch_at=now + delay)
        return _Outcome(report, new_state)


def _lease_for(source: Source) -> timedelta:
    """Long enough for one fetch and its writes; a dead process's lease runs out after it."""
    return timedelta(seconds=source.settings.timeout * 3 + 30)


def _lease_low(source: Source, deadline: datetime, now: datetime) -> bool:
    """Less of the lease is left than one fetch of `source` and its writes need."""
    return deadline - now < _lease_for(source) - timedelta(seconds=source.settings.timeout)


def _due_at(state: SourceState | None, now: datetime) -> datetime:
    return now if state is None or state.next_fetch_at is None else state.next_fetch_at


async def stopped_within(stop: asyncio.Event, seconds: float) -> bool:
    """Wait up to `seconds`; True as soon as `stop` is set."""
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        return stop.is_set()
    return True
