"""The watcher under load: bounded checks in flight; a failing database fails checks, not all."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.config import SourceSettings
from bot.models import SourceState
from bot.sources import FetchResult
from bot.watcher import Watcher
from storage import Store, open_store
from tests.waiting import Changes


class Gate:
    """Holds every fetch until released, counting how many are inside at once."""

    def __init__(self) -> None:
        self.inside = 0
        self.most = 0
        self.release = asyncio.Event()
        self.changes = Changes()


class GatedSource:
    """A source whose fetch waits at the gate, then finds nothing new."""

    def __init__(self, name: str, folder: Path, gate: Gate) -> None:
        self.settings = SourceSettings(name=name, path=folder)
        self._gate = gate

    async def fetch(self, state: SourceState) -> FetchResult:
        gate = self._gate
        gate.inside += 1
        gate.most = max(gate.most, gate.inside)
        gate.changes.mark()
        try:
            await gate.release.wait()
        finally:
            gate.inside -= 1
        return FetchResult((), unchanged=True)


async def test_no_more_checks_than_the_bound_are_in_flight(store: Store, tmp_path: Path) -> None:
    gate = Gate()
    sources = [GatedSource(f"s{n}", tmp_path, gate) for n in range(6)]
    watcher = Watcher(sources, store, concurrency=2)
    cycle = asyncio.ensure_future(watcher.run_once())
    await gate.changes.until(lambda: gate.inside == 2)
    gate.release.set()
    reports = await asyncio.wait_for(cycle, timeout=20)
    assert [r.ok for r in reports] == [True] * 6
    assert gate.most == 2


async def test_a_database_that_cannot_answer_fails_each_check_not_the_cycle(
    tmp_path: Path,
) -> None:
    gate = Gate()
    gate.release.set()
    # No migrations: every query fails with "no such table".
    async with open_store(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}") as broken:
        watcher = Watcher([GatedSource(f"s{n}", tmp_path, gate) for n in range(3)], broken)
        reports = await watcher.run_once()
    assert [r.ok for r in reports] == [False] * 3
    assert all("database error" in (r.error or "") for r in reports)
