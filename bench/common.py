"""What the bench scripts share: the figure shape, databases, memory readings.

The figure shape is documented in `bench/__main__.py`; the feed server the polling
and memory benches fetch from is in bench/feedhost.py.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypedDict

from sqlalchemy import Boolean, bindparam, text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.tables import UtcDateTime

#: Environment variable naming a PostgreSQL server (SQLAlchemy URL) for the benches.
POSTGRES_ENV = "NEWSBOT_BENCH_POSTGRES_URL"


class Alternative(TypedDict):
    name: str
    value: float


class Figure(TypedDict):
    name: str
    value: float | None
    unit: str
    goal: float | None
    better: Literal["lower", "higher"]
    alternative: Alternative | None
    ok: bool | None
    note: str


def figure(
    name: str,
    value: float | None,
    unit: str,
    *,
    goal: float | None = None,
    better: Literal["lower", "higher"] = "lower",
    alternative: tuple[str, float] | None = None,
    note: str = "",
) -> Figure:
    """One figure; `ok` says whether it meets `goal` (None without a goal or a value)."""
    ok = None
    if goal is not None and value is not None:
        ok = value <= goal if better == "lower" else value >= goal
    other = None if alternative is None else Alternative(name=alternative[0], value=alternative[1])
    return Figure(
        name=name, value=value, unit=unit, goal=goal, better=better, alternative=other,
        ok=ok, note=note,
    )  # fmt: skip


def goal_text(item: Figure) -> str:
    """`≤ 5 s`, `≥ 20 ×`, or empty without a goal."""
    if item["goal"] is None:
        return ""
    return f"{'≤' if item['better'] == 'lower' else '≥'} {item['goal']:g} {item['unit']}"


def report(bench: str, figures: list[Figure], **details: Any) -> dict[str, Any]:
    """What every bench's `main()` returns."""
    return {"bench": bench, "figures": figures, "details": details}


def print_report(result: dict[str, Any]) -> None:
    """A human summary of one bench's report."""
    print(f"== {result['bench']}")
    for item in result["figures"]:
        value = "n/a" if item["value"] is None else f"{item['value']:g} {item['unit']}"
        line = f"  {item['name']:<44} {value:>12}"
        if item["goal"] is not None:
            verdict = {True: "ok", False: "MISSED", None: "?"}[item["ok"]]
            line += f"  (goal {goal_text(item)}: {verdict})"
        if item["alternative"] is not None:
            line += f"  [{item['alternative']['name']}: {item['alternative']['value']:g}]"
        if item["note"]:
            line += f"  — {item['note']}"
        print(line)
    shown = {k: v for k, v in result["details"].items() if k not in {"profile", "printed"}}
    print(f"  details: {shown}")


# --- memory ------------------------------------------------------------------------


def proc_status_mb(field: str = "VmRSS", pid: int | str = "self") -> float:
    """A /proc/<pid>/status memory field (VmRSS: resident now, VmHWM: peak) in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise LookupError(f"no {field} in /proc/{pid}/status")


# --- databases -------------------------------------------------------------------------


@contextmanager
def sqlite_url() -> Iterator[str]:
    """A fresh SQLite database file, deleted afterwards."""
    with tempfile.TemporaryDirectory(prefix="newsbot-bench-") as folder:
        yield f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"


class PostgresUnavailableError(Exception):
    """No PostgreSQL for the bench; the message says why in one line."""


@contextmanager
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database: on `$NEWSBOT_BENCH_POSTGRES_URL`, else a throwaway server.

    The throwaway server is the test suite's (tests/pgserver.py): started as an
    unprivileged user in a temporary directory, on a unix socket, and removed after.
    """
    from tests import pgserver

    raw = os.environ.get(POSTGRES_ENV)
    try:
        server, local = pgserver.open_server({pgserver.URL_ENV: raw} if raw else {})
    except pgserver.PostgresUnavailable as exc:
        raise PostgresUnavailableError(str(exc)) from exc
    try:
        url = server.create_database()
        try:
            yield url
        finally:
            server.drop_database(url)
    finally:
        server.close()
        if local is not None:
            local.stop()


_NUMBERS = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count) "


async def bulk_chats(
    engine: AsyncEngine, count: int, keys: tuple[str, ...], *, platform: str = "telegram"
) -> None:
    """`count` active chats on `platform`, each subscribed to every one of `keys`, set-based.

    Two INSERT … SELECT over a recursive number series (the same SQL on SQLite and
    PostgreSQL): the rows `Store.ensure_chat` and `Store.subscribe` would write,
    in a second instead of 100,000 round trips.
    """
    chats = text(
        _NUMBERS + "INSERT INTO chats (platform, chat_id, kind, language, active, created_at) "
        "SELECT :platform, CAST(1000000 + i AS VARCHAR(64)), 'user', 'ko', :yes, :now FROM n"
    ).bindparams(bindparam("yes", type_=Boolean()), bindparam("now", type_=UtcDateTime()))
    async with engine.begin() as conn:
        await conn.execute(
            chats, {"count": count, "platform": platform, "yes": True, "now": datetime.now(UTC)}
        )
        for key in keys:
            await conn.execute(
                text(
                    "INSERT INTO subscriptions (chat_id, key, name) "
                    "SELECT id, :key, :name FROM chats"
                ),
                {"key": key.casefold(), "name": key},
            )
