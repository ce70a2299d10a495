"""Operator verbs of the CLI: `newsbot broadcast`, `newsbot stats`, `newsbot sources`.

They work on the database the running bot uses; the bot does the sending.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TextIO

from bot.models import Broadcast, DeliveryState, ImportReport, SourceInfo
from storage import Stats, Store

#: How often `newsbot broadcast` looks at its progress.
PROGRESS_EVERY = 0.5
BAR = 30


async def queue_broadcast(store: Store, text: str, category: str | None) -> tuple[int, int]:
    """Queue a broadcast at once (the shell is its own preview); returns (id, recipients)."""
    draft = await store.create_broadcast(Broadcast(text=text, category=category, author="cli"))
    assert draft.id is not None
    count = await store.queue_broadcast(draft.id)
    return draft.id, count or 0


def progress_line(counts: dict[str, int], total: int) -> str:
    done = counts[DeliveryState.SENT] + counts[DeliveryState.FAILED] + counts[DeliveryState.DELETED]
    filled = BAR * done // total if total else BAR
    bar = "#" * filled + "-" * (BAR - filled)
    return (
        f"[{bar}] {done}/{total} done: {counts[DeliveryState.SENT]} sent, "
        f"{counts[DeliveryState.FAILED]} failed"
    )


async def watch_broadcast(store: Store, broadcast_id: int, total: int, out: TextIO) -> None:
    """Redraw a progress bar until every row of the broadcast is settled."""
    terminal = out.isatty()
    last = ""
    while True:
        counts = await store.broadcast_progress(broadcast_id)
        line = progress_line(counts, total)
        if line != last:
            print(("\r" if terminal else "") + line, end="" if terminal else "\n", file=out)
            out.flush()
            last = line
        pending = counts[DeliveryState.PENDING] + counts[DeliveryState.SENDING]
        if pending == 0:
            break
        await asyncio.sleep(PROGRESS_EVERY)
    if terminal:
        print(file=out)


def format_stats(stats: Stats) -> str:
    lines = ["chats: " + (_pairs(stats.chats_by_platform) or "none")]
    lines.append("subscriptions: " + (_pairs(stats.subscriptions_by_category) or "none"))
    lines.append(f"posts in the last 24 h: {stats.posts_today}")
    lines.append("deliveries: " + _pairs(stats.deliveries_by_state))
    lines.append(f"sources failing: {stats.sources_failing}")
    return "\n".join(lines)


def _pairs(counts: dict[str, int]) -> str:
    return ", ".join(f"{key} {value}" for key, value in counts.items())


def format_sources(infos: list[SourceInfo], now: datetime) -> str:
    """One block per source: where, status, last and next fetch, error."""
    blocks = []
    for info in infos:
        lines = [
            f"{info.name}  {info.location}  ({info.origin})",
            f"  status: {info.status}",
            f"  last fetch: {_when(info.last_fetch_at, now)}",
            f"  next fetch: {_when(info.next_fetch_at, now)}",
        ]
        if info.error:
            lines.append(f"  error: {info.error}")
        blocks.append("\n".join(lines))
    return "\n".join(blocks) if blocks else "no sources configured"


def format_import(report: ImportReport) -> str:
    """What an OPML import added, skipped and refused, with the reasons."""
    lines = [
        f"added {len(report.added)}, skipped {len(report.skipped)}, refused {len(report.refused)}"
    ]
    lines += [f"  + {name}" for name in report.added]
    lines += [f"  = {what}: {why}" for what, why in report.skipped]
    lines += [f"  ✗ {what}: {why}" for what, why in report.refused]
    return "\n".join(lines)


def _when(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "-"
    seconds = int((moment - now).total_seconds())
    relative = f"in {seconds} s" if seconds >= 0 else f"{-seconds} s ago"
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC ({relative})"
