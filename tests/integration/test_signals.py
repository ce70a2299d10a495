"""`newsbot run` as a process: SIGTERM and SIGINT stop it cleanly, and nothing repeats."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import pytest

from tests.conftest import example_config

RULE = "─" * 60


def config_for(tmp_path: Path) -> Path:
    return example_config(tmp_path, backfill=10)


async def start(config: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "run",
        "--config",
        str(config),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def read_alerts(process: asyncio.subprocess.Process, count: int) -> list[str]:
    """Read stdout until `count` alerts have been printed; returns their headlines."""
    assert process.stdout is not None
    headlines: list[str] = []
    after_rule = False
    async with asyncio.timeout(60):
        while len(headlines) < count:
            line = (await process.stdout.readline()).decode().rstrip("\n")
            if line == "🔴 속보":
                continue
            if after_rule:
                headlines.append(line)
            after_rule = line == RULE
    return headlines


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_a_stop_signal_exits_0_and_a_restart_repeats_nothing(
    tmp_path: Path, sig: signal.Signals
) -> None:
    config = config_for(tmp_path)
    first = await start(config)
    seen = await read_alerts(first, 6)
    first.send_signal(sig)
    async with asyncio.timeout(60):
        _, stderr = await first.communicate()
    assert first.returncode == 0, stderr.decode()
    assert f"{sig.name}: finishing what is in flight" in stderr.decode()
    assert len(set(seen)) == 6

    again = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "run",
        "--config",
        str(config),
        "--once",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await again.communicate()
    assert again.returncode == 0, stderr.decode()
    assert stdout.decode() == "", "nothing is delivered twice"
