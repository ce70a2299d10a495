"""Resident memory of a running bot with 100,000 chats and 1,000 sources.

Run `python bench/memory.py [--chats N] [--sources N] [--rounds N]`. The parent
makes a SQLite database with N chats subscribed to `all` (set-based) and starts a
feed host process (bench/common.py) serving the sources; one of them gains a new
item when asked again. A fresh Python subprocess then runs the real app pieces the
way `bot/app.py` assembles them: `open_store` + migrations, one aiohttp session, a
`Watcher` over the `HttpSource`s and a `Dispatcher` with a `ConsoleAdapter` writing
to /dev/null. It does the first cycle (every feed fetched and recorded), a second
cycle (one new post, planned for every chat), `--rounds` dispatcher rounds (200
alerts each), then reads its own VmRSS (resident now) and VmHWM (peak resident)
from /proc/self/status. A separate process keeps the benchmark's own set-up out of
the figure. Goal: ≤ 200 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, TextIO

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp

from bench.common import (
    bulk_chats,
    figure,
    print_report,
    proc_status_mb,
    report,
    sqlite_url,
)
from bench.feedhost import ROOT, feed_host
from bot.config import DeliverySettings, SourceSettings
from bot.delivery import Dispatcher
from bot.sources import HttpSource
from bot.watcher import Watcher
from handlers.console import ConsoleAdapter
from storage import open_store
from storage.migrate import upgrade

GOAL_MB = 200.0


async def run_bot(url: str, base: str, sources: int, rounds: int, sink: TextIO) -> dict[str, Any]:
    """The child's work: the app's pieces, two cycles, some delivery; its memory figures."""
    started = proc_status_mb()
    async with open_store(url) as store, aiohttp.ClientSession() as session:
        await upgrade(store.engine)
        console = ConsoleAdapter(out=sink, interactive=False)
        dispatcher = Dispatcher(store, [console], DeliverySettings(), owner="bench")
        watched = [
            HttpSource(SourceSettings(name=f"feed{n}", url=f"{base}/feed/{n}"), session)
            for n in range(sources)
        ]
        watcher = Watcher(watched, store, on_planned=dispatcher.wake)
        clock = time.perf_counter()
        first = await watcher.run_once()
        second = await watcher.run_once()
        cycles_s, clock = time.perf_counter() - clock, time.perf_counter()
        sent = sum([await dispatcher.round() for _ in range(rounds)])
        delivery_s = time.perf_counter() - clock
        return {
            "rss_mb": proc_status_mb("VmRSS"),
            "peak_mb": proc_status_mb("VmHWM"),
            "started_mb": started,
            "failed": sum(1 for r in first + second if not r.ok),
            "planned": sum(r.planned for r in second),
            "sent": sent,
            "cycles_s": round(cycles_s, 2),
            "delivery_s": round(delivery_s, 2),
        }


def child(argv: list[str]) -> None:
    url, base, sources, rounds = argv
    # The whole app's imports (platform SDKs included, as they land), as `newsbot run` has.
    importlib.import_module("bot.app")
    with open(os.devnull, "w", encoding="utf-8") as sink:
        figures = asyncio.run(run_bot(url, base, int(sources), int(rounds), sink))
    print(json.dumps(figures))


async def make_database(url: str, chats: int) -> None:
    async with open_store(url) as store:
        await upgrade(store.engine)
        await bulk_chats(store.engine, chats, ("all",), platform="console")


def measure(chats: int, sources: int, rounds: int) -> dict[str, Any]:
    """Set up, then run the bot in a fresh interpreter; its figures, plus seconds taken."""
    with sqlite_url() as url, feed_host(changing=1) as base:
        asyncio.run(make_database(url, chats))
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "bench.memory", "--child", url, base, str(sources), str(rounds)],
            capture_output=True, text=True, cwd=ROOT, timeout=240, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"the bot process failed: {tail}")
        figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        figures["seconds"] = round(time.perf_counter() - started, 1)
        return figures


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Measure the bot's memory; returns the report (see bench/__main__.py)."""
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--chats", type=int, default=100_000)
    options.add_argument("--sources", type=int, default=1_000)
    options.add_argument("--rounds", type=int, default=5, help="dispatcher rounds of 200")
    args = options.parse_args(argv)
    got = measure(args.chats, args.sources, args.rounds)
    scale = f"{args.chats:,} chats, {args.sources:,} sources"
    return report(
        "memory",
        [
            figure(
                f"peak resident memory, {scale}",
                round(got["peak_mb"], 1),
                "MB",
                goal=GOAL_MB,
                note="VmHWM after two cycles and some delivery",
            ),
            figure(
                "resident memory after the cycle",
                round(got["rss_mb"], 1),
                "MB",
                note=f"VmRSS; {got['started_mb']:.0f} MB right after imports",
            ),
        ],
        **got,
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2:])
    else:
        print_report(main())
