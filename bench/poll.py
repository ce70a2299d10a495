"""One polling cycle over 1,000 HTTP sources, most answering 304.

Run `python bench/poll.py [--sources N] [--changing-percent P] [--chats N] [--cycles K]
[--profile]`. A feed host in a separate process (bench/feedhost.py) serves N distinct
feed URLs on 127.0.0.1; P % of them gain a new item every time they are asked again, the
rest answer 304 to their ETag. The bot side is the real thing in this process:
`bot.watcher.Watcher` over `bot.sources.HttpSource`s sharing one aiohttp session
(default connector, as `bot/app.py` builds it), and a `Store` on a temporary SQLite
file with a few subscribed chats. A warm-up cycle stores every ETag (each first fetch
is a 200 that records and alerts nothing); then K full `await watcher.run_once()`
cycles are measured, and the median is reported: wall time (`time.perf_counter`) and
this process's CPU time (`time.process_time`, which counts aiosqlite's worker thread
and excludes the feed host) divided by the sources. The cycle is the watcher's
batched one: one statement leases every source, the fetches run concurrently, the
unchanged sources' states go back in a few executemanys, and each source with a new
item goes through `Store.ingest` in its own transaction.
`--profile` prints the top of a cProfile of the first measured cycle; cProfile sees the
event loop's thread only, not aiosqlite's worker threads, so for the whole picture run
`py-spy record --threads --native -- python bench/poll.py` (py-spy is not a dependency).

Beside the measured cycles, one more cycle fetches alone, without the Store: the floor.
(Earlier runs also measured a what-if `lean_cycle`, state reads and writes batched by
hand beside the per-source watcher; the watcher's cycle now does that itself, with
leases, so the what-if is gone.)

Goals: cycle ≤ 5 s; ≤ 1 ms of CPU per source check.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp

from bench.common import bulk_chats, figure, print_report, report, sqlite_url
from bench.feedhost import feed_host
from bot.app import settle_heap
from bot.config import SourceSettings
from bot.sources import HttpSource
from bot.watcher import CheckReport, Watcher
from storage import Store, open_store
from storage.migrate import upgrade

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


async def fetch_only_cpu(sources: list[HttpSource], store: Store) -> float:
    """CPU seconds of fetching (and parsing) every source once, the Store left out."""
    states = {state.name: state for state in await store.source_states()}
    cpu = time.process_time()
    await asyncio.gather(*(s.fetch(states[s.settings.name]) for s in sources))
    return time.process_time() - cpu


@dataclass(frozen=True)
class Measured:
    #: The measured cycles, in order.
    cycles: list[Cycle]
    #: CPU seconds of the cycle after them, fetching alone.
    fetch_cpu_s: float

    @property
    def wall_s(self) -> float:
        return statistics.median(c.wall_s for c in self.cycles)

    @property
    def cpu_s(self) -> float:
        return statistics.median(c.cpu_s for c in self.cycles)


async def run(base: str, url: str, args: argparse.Namespace, out: list[str]) -> Measured:
    """A warm-up, the measured cycles, then the fetches without the Store."""
    async with open_store(url) as store, aiohttp.ClientSession() as session:
        await prepare(store, args.chats)
        sources = http_sources(base, args.sources, session)
        # As `newsbot run` does: the heap is frozen once the first cycle built it.
        watcher = Watcher(sources, store, on_first_cycle=settle_heap)
        warm = await watcher.run_once()
        failed = [r for r in warm if not r.ok]
        if failed:
            raise RuntimeError(f"{len(failed)} sources failed to warm up: {failed[0].error}")
        cycles = [
            await timed_cycle(watcher, args.profile and n == 0, out) for n in range(args.cycles)
        ]
        return Measured(cycles, await fetch_only_cpu(sources, store))


async def prepare(store: Store, chats: int) -> None:
    await upgrade(store.engine)
    await bulk_chats(store.engine, chats, ("all",))


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Measure one cycle; returns the report (see bench/__main__.py)."""
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--sources", type=int, default=1_000)
    options.add_argument("--changing-percent", type=float, default=5.0)
    options.add_argument("--chats", type=int, default=100, help="chats subscribed to all")
    options.add_argument("--cycles", type=int, default=3, help="cycles measured (median)")
    options.add_argument("--profile", action="store_true", help="cProfile the first cycle")
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
    runs = measured.cycles
    cycle = runs[-1]  # the counts below are the last cycle's; every cycle is alike
    errors = sorted({r.error or "" for r in cycle.reports if not r.ok})
    note = f"{sources:,} sources, {changing} with a new item, the rest 304; median of {len(runs)}"
    per_source = 1000 / sources
    figures = [
        figure(
            f"poll cycle, {sources:,} sources", round(measured.wall_s, 3), "s",
            goal=GOAL_CYCLE_S, note=note,
        ),
        figure(
            "CPU per source check", round(measured.cpu_s * per_source, 3), "ms", goal=GOAL_CPU_MS,
            note=f"bot process only (aiosqlite's thread included); median of {len(runs)}",
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
        cpu_s=round(measured.cpu_s, 3),
        cycles=[
            {"wall_s": round(c.wall_s, 3), "cpu_s": round(c.cpu_s, 3)} for c in measured.cycles
        ],
    )


if __name__ == "__main__":
    outcome = main()
    print_report(outcome)
    print(outcome["details"].get("profile", ""))
