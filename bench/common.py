"""What the bench scripts share: the figure shape, a feed host process, databases, memory.

The figure shape is documented in `bench/__main__.py`. The feed host is a local
aiohttp server in a *separate process* (multiprocessing, spawn), so the CPU time a
bench measures in its own process is the bot's alone.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any, Literal, TypedDict

from sqlalchemy import Boolean, bindparam, text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.tables import UtcDateTime

ROOT = Path(__file__).resolve().parent.parent
KST = timezone(timedelta(hours=9))
CATEGORIES = ("정치", "경제", "사회", "IT", "국제", "문화", "스포츠")
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
        value = "n/a" if item["value"] is None else f"{item['value']:g}"
        line = f"  {item['name']:<44} {value:>10} {item['unit']}"
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


# --- the feed host -------------------------------------------------------------------


def feed_body(number: int, generation: int, items: int = 10) -> bytes:
    """A small Korean RSS feed: `items` items, newest (this generation's) first."""
    category = CATEGORIES[number % len(CATEGORIES)]
    when = datetime(2026, 11, 29, 9, 0, tzinfo=KST)
    parts = []
    for age in range(items):
        serial = generation - age + items
        stamp = format_datetime(when + timedelta(minutes=serial))
        parts.append(
            f"<item><guid>feed{number}-{serial}</guid>"
            f"<title>[{category}] 반도체 수출 {serial}개월 연속 증가 소식 {number}</title>"
            f"<link>https://news{number}.example.kr/article/{serial}</link>"
            f"<category>{category}</category>"
            f"<description>정부는 오늘 반도체 수출이 늘었다고 발표했다. {serial}</description>"
            f"<pubDate>{stamp}</pubDate></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>뉴스 {number}</title><link>https://news{number}.example.kr/</link>"
        + "".join(parts)
        + "</channel></rss>"
    ).encode()


async def serve(changing: int) -> None:
    """The feed host's process: print the port, serve until standard input closes."""
    from aiohttp import web

    generations: dict[int, int] = {}

    async def handle(request: web.Request) -> web.Response:
        number = int(request.match_info["number"])
        conditional = "If-None-Match" in request.headers
        # A changing feed has a new item each time it is asked again.
        if conditional and number < changing:
            generations[number] = generations.get(number, 0) + 1
        etag = f'"{number}-{generations.get(number, 0)}"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        body = feed_body(number, generations.get(number, 0))
        headers = {"ETag": etag, "Content-Type": "application/rss+xml; charset=utf-8"}
        return web.Response(body=body, headers=headers)

    app = web.Application()
    app.router.add_get("/feed/{number}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=4096)
    await site.start()
    print(runner.addresses[0][1], flush=True)
    # End of file on stdin (the bench is done, or gone) stops the server.
    await asyncio.to_thread(sys.stdin.buffer.read)
    await runner.cleanup()


@contextmanager
def feed_host(changing: int) -> Iterator[str]:
    """A feed server in its own process; yields its base URL (`{base}/feed/{n}`).

    Feeds numbered below `changing` gain a new item on every conditional request;
    the others answer 304 to their ETag.
    """
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.common", "serve", str(changing)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT,
    )  # fmt: skip
    assert process.stdin is not None and process.stdout is not None
    try:
        port = int(process.stdout.readline() or b"0")
        if not port:
            raise RuntimeError("the feed host did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.stdin.close()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


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


if __name__ == "__main__" and sys.argv[1:2] == ["serve"]:
    asyncio.run(serve(int(sys.argv[2])))
