"""One polling cycle over 1,000 HTTP sources, most answering 304.

Run `python bench/poll.py [--sources N] [--changing-percent P] [--chats N] [--profile]`.
A feed host in a separate process (bench/feedhost.py) serves N distinct feed URLs on
127.0.0.1; P % of them gain a new item every time they are asked again, the rest
answer 304 to their ETag. The bot side is the real thing in this process:
`bot.watcher.Watcher` over `bot.sources.HttpSource`s sharing one aiohttp session
(default connector, as `bot/app.py` builds it), and a `Store` on a temporary SQLite
file with a few subscribed chats. A warm-up cycle stores every ETag (each first fetch
is a 200 that records and alerts nothing); then one full `await watcher.run_once()`
is measured: wall time (`time.perf_counter`) and this process's CPU time
(`time.process_time`, which excludes the feed host) divided by the sources.
`--profile` prints the top of a cProfile of the measured cycle; cProfile sees the
event loop's thread only, not aiosqlite's worker threads, so for the whole picture run
`py-spy record --threads --native -- python bench/poll.py` (py-spy is not a dependency).

Beside the measured cycle, two more cycles over the same sources show where the time
goes: one done the `lean_cycle` way (a what-if: state reads and writes batched), one
fetching alone without the Store (the floor).

Goals: cycle ≤ 5 s; ≤ 1 ms of CPU per source check.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
from sqlalchemy.dialects import postgresql, sqlite

from bench.common import bulk_chats, figure, print_report, report, sqlite_url
from bench.feedhost import feed_host
from bot.config import SourceSettings
from bot.errors import SourceError
from bot.models import SourceState
from bot.sources import HttpSource
from bot.watcher import CheckReport, Watcher, posts_from, rules_for
from storage import Store, open_store
from storage.migrate import upgrade
from storage.rows import source_values
from storage.tables import sources as sources_table

GOAL_CYCLE_S = 5.0
GOAL_CPU_MS = 1.0


@dataclass(frozen=True)
class Cycle:
    wall_s: float
    cpu_s: float
    reports: list[CheckReport]

    def count(self, *, unchanged: bool) -> int:
        return sum(1 for r in self.reports if r.ok and r.unchanged == unchanged)


def http_sources(base: str, count: int, session: aiohttp.ClientSession) -> list[HttpSource]:
    return [
        HttpSource(SourceSettings(name=f"feed{n}", url=f"{base}/feed/{n}"), session)
        for n in range(count)
    ]


@contextmanager
def profiled(enabled: bool, out: list[str]) -> Iterator[None]:
    """cProfile the block when `enabled`; the top 30 by own time go to `out`."""
    if not enabled:
        yield
        return
    profile = cProfile.Profile()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        text = io.StringIO()
        pstats.Stats(profile, stream=text).sort_stats("tottime").print_stats(30)
        out.append(text.getvalue())


async def timed_cycle(watcher: Watcher, profile: bool, out: list[str]) -> Cycle:
    with profiled(profile, out):
        cpu, wall = time.process_time(), time.perf_counter()
        reports = await watcher.run_once()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return Cycle(wall, cpu, reports)


# --- a what-if, measured beside the real cycle ----------------------------------------


async def lean_cycle(sources: Sequence[HttpSource], store: Store) -> int:
    """A cycle as it could be: every state read in one query, and the states of unchanged
    sources written in one batch at the end instead of one transaction each (losing them
    in a crash costs one more 304). New posts go through `Store.ingest` as usual. Public
    pieces only; failures are just counted. Returns the sources that failed.
    """
    states = {state.name: state for state in await store.source_states()}
    now = datetime.now(UTC)

    async def check(source: HttpSource) -> SourceState | bool | None:
        state = states.get(source.settings.name) or SourceState(name=source.settings.name)
        try:
            result = await source.fetch(state)
        except SourceError:
            return False
        new = replace(
            state, etag=result.etag, last_modified=result.last_modified,
            content_hash=result.content_hash, failures=0, last_fetch_at=now, last_ok_at=now,
            last_error=None, next_fetch_at=now + timedelta(seconds=source.settings.interval),
        )  # fmt: skip
        if result.unchanged and state.initialized:
            return new
        found, _ = posts_from(result, rules_for(source, result.base_url), now)
        await store.ingest(new, found, backfill=source.settings.backfill)
        return None

    done = await asyncio.gather(*(check(s) for s in sources))
    await save_states(store, [state for state in done if isinstance(state, SourceState)])
    return sum(1 for state in done if state is False)


async def save_states(store: Store, states: Sequence[SourceState]) -> None:
    """Upsert many source states in one executemany."""
    if not states:
        return
    dialect = postgresql if store.engine.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(sources_table)
    columns = source_values(states[0])
    statement = statement.on_conflict_do_update(
        index_elements=["name"], set_={key: statement.excluded[key] for key in columns}
    )
    async with store.engine.begin() as conn:
        await conn.execute(statement, [{"name": s.name, **source_values(s)} for s in states])


async def timed_lean_cycle(sources: Sequence[HttpSource], store: Store) -> tuple[float, float]:
    """Wall and CPU seconds of `lean_cycle`."""
    cpu, wall = time.process_time(), time.perf_counter()
    failed = await lean_cycle(sources, store)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if failed:
        raise RuntimeError(f"{failed} sources failed in the lean cycle")
    return wall, cpu


async def fetch_only_cpu(sources: list[HttpSource], store: Store) -> float:
    """CPU seconds of fetching (and parsing) every source once, the Store left out."""
    states = {state.name: state for state in await store.source_states()}
    cpu = time.process_time()
    await asyncio.gather(*(s.fetch(states[s.settings.name]) for s in sources))
    return time.process_time() - cpu


@dataclass(frozen=True)
class Measured:
    cycle: Cycle
    #: Wall and CPU seconds of the next cycle done the `lean_cycle` way.
    lean_wall_s: float
    lean_cpu_s: float
    #: CPU seconds of the cycle after that, fetching alone.
    fetch_cpu_s: float


async def run(base: str, url: str, args: argparse.Namespace, out: list[str]) -> Measured:
    """A warm-up, the measured cycle, then the what-if and the fetches without the Store."""
    async with open_store(url) as store, aiohttp.ClientSession() as session:
        await prepare(store, args.chats)
        sources = http_sources(base, args.sources, session)
        watcher = Watcher(sources, store)
        warm = await watcher.run_once()
        failed = [r for r in warm if not r.ok]
        if failed:
            raise RuntimeError(f"{len(failed)} sources failed to warm up: {failed[0].error}")
        cycle = await timed_cycle(watcher, args.profile, out)
        lean_wall, lean_cpu = await timed_lean_cycle(sources, store)
        return Measured(cycle, lean_wall, lean_cpu, await fetch_only_cpu(sources, store))


async def prepare(store: Store, chats: int) -> None:
    await upgrade(store.engine)
    await bulk_chats(store.engine, chats, ("all",))


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Measure one cycle; returns the report (see bench/__main__.py)."""
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--sources", type=int, default=1_000)
    options.add_argument("--changing-percent", type=float, default=5.0)
    options.add_argument("--chats", type=int, default=100, help="chats subscribed to all")
    options.add_argument("--profile", action="store_true", help="cProfile the cycle")
    args = options.parse_args(argv)
    changing = round(args.sources * args.changing_percent / 100)
    profile: list[str] = []
    with feed_host(changing) as base, sqlite_url() as url:
        measured = asyncio.run(run(base, url, args, profile))
    result = summarize(measured, args.sources, changing)
    if profile:
        result["details"]["profile"] = profile[0]
    return result


def summarize(measured: Measured, sources: int, changing: int) -> dict[str, Any]:
    cycle = measured.cycle
    errors = sorted({r.error or "" for r in cycle.reports if not r.ok})
    note = f"{sources:,} sources, {changing} with a new item, the rest 304"
    lean = "states in one read, unchanged ones in one write"
    per_source = 1000 / sources
    figures = [
        figure(
            f"poll cycle, {sources:,} sources", round(cycle.wall_s, 3), "s",
            goal=GOAL_CYCLE_S, alternative=(lean, round(measured.lean_wall_s, 3)), note=note,
        ),
        figure(
            "CPU per source check", round(cycle.cpu_s * per_source, 3), "ms", goal=GOAL_CPU_MS,
            alternative=(lean, round(measured.lean_cpu_s * per_source, 3)),
            note="bot process only; alternative: the next cycle, bench/poll.py lean_cycle",
        ),
        figure(
            "… of which fetch + parse alone (no Store)",
            round(measured.fetch_cpu_s * per_source, 3), "ms",
            note="the cycle after, fetching only: the floor",
        ),
    ]  # fmt: skip
    return report(
        "poll",
        figures,
        sources=sources,
        changing=changing,
        not_modified=cycle.count(unchanged=True),
        changed=cycle.count(unchanged=False),
        failed=sum(1 for r in cycle.reports if not r.ok),
        errors=errors[:5],
        new_posts=sum(r.new_posts for r in cycle.reports),
        planned=sum(r.planned for r in cycle.reports),
        cpu_s=round(cycle.cpu_s, 3),
    )


if __name__ == "__main__":
    outcome = main()
    print_report(outcome)
    print(outcome["details"].get("profile", ""))
