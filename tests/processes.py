"""`newsbot run` as a real child process, for the crash and multi-process tests.

The child talks to a fake platform served by the test's own event loop, so the
test waits on the child with asyncio (never blocking that loop). Its log goes to
a file beside its config, for when a test fails.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, select

from storage import Store
from storage.tables import chats, subscriptions
from tests.fakes.telegram_api import TOKEN, FakeTelegram

ROOT = Path(__file__).resolve().parents[1]


def write_config(folder: Path, database_url: str, **delivery: float) -> Path:
    """A config with no sources, Telegram at 1000/s (paid broadcasts) and these
    `[delivery]` settings; the token and the API URL come from the environment."""
    lines = [f'database_url = "{database_url}"', "", "[telegram]", "allow_paid_broadcast = true"]
    lines += ["", "[delivery]", *(f"{key} = {value}" for key, value in delivery.items())]
    path = folder / "newsbot.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def subscribe_chats(store: Store, chat_ids: Sequence[int], category: str) -> None:
    """Private Telegram chats subscribed to `category`, in two statements.

    `Store.ensure_chat` and `Store.subscribe` make two transactions per chat: a
    thousand chats took 40 s on a loaded CI machine. The rows written here are the
    ones those methods write (tests/integration pins those down).
    """
    now = datetime.now(UTC)
    chat_rows = [
        {"platform": "telegram", "chat_id": str(c), "thread_id": "", "kind": "user",
         "language": "ko", "active": True, "created_at": now}
        for c in chat_ids
    ]  # fmt: skip
    async with store.engine.begin() as conn:
        await conn.execute(insert(chats), chat_rows)
        found = await conn.execute(
            select(chats.c.id).where(chats.c.chat_id.in_([str(c) for c in chat_ids]))
        )
        subscribed = [
            {"chat_id": i, "key": category.casefold(), "name": category} for i in found.scalars()
        ]
        await conn.execute(insert(subscriptions), subscribed)


def duplicates(tg: FakeTelegram, chat_ids: Sequence[int], owed: int = 1) -> int:
    """Messages beyond the `owed` ones in each chat."""
    return sum(max(0, len(tg.messages(c)) - owed) for c in chat_ids)


def sent_at_least(tg: FakeTelegram, count: int) -> Callable[[], bool]:
    """A predicate for `wait_until`: the fake has received `count` messages."""
    return lambda: tg.sent_count() >= count


def delivered(tg: FakeTelegram, chat_ids: Sequence[int], owed: int = 1) -> int:
    """Chats that have the `owed` messages (distinct texts) they are owed."""
    return sum(1 for c in chat_ids if len({m.raw for m in tg.messages(c)}) >= owed)


class NewsbotProcess:
    """One `python -m bot.cli run --config …` child, pointed at the fake Bot API."""

    def __init__(self, config: Path, tg: FakeTelegram, name: str) -> None:
        self._config, self._tg, self.name = config, tg, name
        self._process: asyncio.subprocess.Process | None = None
        self.log = config.parent / f"{name}.log"

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    async def start(self) -> NewsbotProcess:
        env = os.environ | {
            "NEWSBOT_TELEGRAM_TOKEN": TOKEN,
            "NEWSBOT_TELEGRAM_API_URL": self._tg.api_url,
            "PYTHONPATH": str(ROOT),
        }
        env.pop("NEWSBOT_DATABASE_URL", None)
        with self.log.open("ab") as log:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot.cli", "run", "--config", str(self._config),
                env=env, cwd=self._config.parent, stdout=log, stderr=log,
                stdin=asyncio.subprocess.DEVNULL,
            )  # fmt: skip
        return self

    def signal(self, sig: signal.Signals) -> None:
        assert self._process is not None
        self._process.send_signal(sig)

    async def wait(self, within: float = 20.0) -> int:
        """The exit status, once the child has exited."""
        assert self._process is not None
        async with asyncio.timeout(within):
            return await self._process.wait()

    async def stop(self) -> None:
        """SIGKILL if still running, and reap; for cleanup."""
        if self._process is not None and self._process.returncode is None:
            self._process.kill()
            await self._process.wait()

    def tail(self, lines: int = 30) -> str:
        """The end of the child's log, for assertion messages."""
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])
