"""A throwaway PostgreSQL server for the test suite (a pytest plugin).

Fixtures:

- ``postgres_server`` (session): a :class:`PostgresServer`. It runs a server this
  session started itself: ``initdb`` into a private temporary directory (on tmpfs
  when there is room), listening only on a unix socket in that directory, trust
  authentication, durability off. As root the server runs as the ``postgres`` user
  (else ``nobody``), because PostgreSQL refuses to run as root. With
  ``NEWSBOT_TEST_POSTGRES_URL`` set, that server is used instead.
- ``postgres_url`` (session): the URL of a fresh, empty database for the session.
- ``postgres_database_url`` (function): the URL of a new empty database, dropped
  after the test.
- ``database_url`` (function, parametrized ``sqlite`` / ``postgresql``): one URL per
  backend, for tests that must pass on both.

All URLs are SQLAlchemy URLs for ``postgresql+asyncpg``. When PostgreSQL cannot be
had, a test that needs it skips with a one-line reason, or fails under CI
(environment ``CI`` is ``true`` or ``1``) so CI never passes by skipping.

The server outlives nothing: a watchdog process stops it and removes its directory
when the test session ends, even when the session is killed.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Coroutine, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

T = TypeVar("T")

#: Environment variable naming an existing server to use instead of starting one.
URL_ENV = "NEWSBOT_TEST_POSTGRES_URL"
#: The superuser initdb creates; the name is ours, not the OS user's.
SUPERUSER = "newsbot"
#: Bound on every wait for the server (pg_ctl -t) and for admin statements.
TIMEOUT_S = 30
#: Unprivileged accounts to run the server as when the tests run as root.
SERVER_ACCOUNTS = ("postgres", "nobody")
#: Durability is worthless for a server that is deleted after the session.
SERVER_SETTINGS: Mapping[str, str] = {
    "listen_addresses": "''",
    "port": "5432",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "max_wal_size": "'256MB'",
    "max_connections": "200",
}
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class PostgresUnavailable(Exception):
    """PostgreSQL cannot be had; the message is a one-line reason for a human."""


def is_ci(environ: Mapping[str, str]) -> bool:
    """Whether we run under CI, where a missing PostgreSQL is a failure, not a skip."""
    return environ.get("CI", "").strip().lower() in {"true", "1"}


def unavailable(reason: str, environ: Mapping[str, str] = os.environ) -> NoReturn:
    """Skip the requesting test with ``reason``, or fail it under CI."""
    message = "PostgreSQL unavailable: " + " ".join(reason.split())[:300]
    if is_ci(environ):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


# --- finding what the server needs -------------------------------------------------


def find_bindir(pg_config: str | None, initdb: str | None, search_root: Path) -> Path:
    """The directory holding ``initdb`` and ``pg_ctl``.

    Tries the bindir ``pg_config`` reports, then the directory of ``initdb`` (as
    found on PATH), then the newest ``<search_root>/<major>/bin`` (Debian's layout:
    ``/usr/lib/postgresql/15/bin``). Raises PostgresUnavailable.
    """
    candidates: list[Path] = []
    if pg_config and (reported := _pg_config_bindir(pg_config)):
        candidates.append(reported)
    if initdb:
        candidates.append(Path(initdb).parent)
    versions = sorted(search_root.glob("*/bin"), key=_major_version, reverse=True)
    candidates.extend(versions)
    for bindir in candidates:
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
            return bindir
    raise PostgresUnavailable(
        f"no initdb/pg_ctl found (pg_config, PATH, {search_root}/*/bin); "
        "install the PostgreSQL server package or set " + URL_ENV
    )


def _pg_config_bindir(pg_config: str) -> Path | None:
    try:
        done = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, timeout=TIMEOUT_S
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return Path(done.stdout.strip()) if done.returncode == 0 else None


def _major_version(bindir: Path) -> int:
    name = bindir.parent.name
    return int(name) if name.isdigit() else -1


@dataclass(frozen=True)
class Account:
    """Whom the server runs as; ``None`` ids mean "as ourselves"."""

    name: str
    uid: int | None = None
    gid: int | None = None

    def subprocess_kwargs(self) -> dict[str, Any]:
        """Keyword arguments making ``subprocess`` run a command as this account."""
        if self.uid is None:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}


def server_account() -> Account:
    """Ourselves, or when we are root an unprivileged account (PostgreSQL refuses root)."""
    import pwd

    if os.geteuid() != 0:
        return Account(pwd.getpwuid(os.geteuid()).pw_name)
    for name in SERVER_ACCOUNTS:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return Account(name, entry.pw_uid, entry.pw_gid)
    raise PostgresUnavailable(f"running as root and none of {SERVER_ACCOUNTS} exists")


def scratch_parent(as_root: bool) -> Path:
    """Where to put the server's private directory.

    tmpfs (/dev/shm) makes CREATE DATABASE several times faster than a disk, so it
    is preferred when it has 1 GiB free. The server account must be able to reach
    the directory, and the socket path must stay under the kernel's ~107 bytes.
    """
    candidates = [Path("/dev/shm"), Path(tempfile.gettempdir()), Path("/tmp")]
    for parent in candidates:
        if not (parent.is_dir() and os.access(parent, os.W_OK)) or len(str(parent)) > 60:
            continue
        if as_root and not _reachable_by_others(parent):
            continue
        if parent == candidates[0] and shutil.disk_usage(parent).free < 2**30:
            continue
        return parent
    raise PostgresUnavailable("no writable temporary directory the server account can reach")


def _reachable_by_others(path: Path) -> bool:
    return all(p.stat().st_mode & 0o001 for p in [path, *path.parents])


# --- the server's life -------------------------------------------------------------

# Runs beside the session; stops the server and deletes its directory once its stdin
# reaches end of file, which happens when the session closes it or dies.
_WATCHDOG = """
import shutil, subprocess, sys
pg_ctl, data, root, uid, gid = sys.argv[1:6]
sys.stdin.buffer.read()
kw = {} if uid == "-" else {"user": int(uid), "group": int(gid), "extra_groups": []}
cmd = [pg_ctl, "-D", data, "-m", "immediate", "-w", "-t", "30", "stop"]
if (__import__("pathlib").Path(data) / "postmaster.pid").exists():
    subprocess.run(cmd, capture_output=True, timeout=60, cwd=root, **kw)
shutil.rmtree(root, ignore_errors=True)
"""


class LocalServer:
    """A PostgreSQL server in a private directory, started and stopped by this process.

    ``start()`` raises PostgresUnavailable with the reason; ``stop()`` is idempotent
    and also runs, through the watchdog, if this process dies.
    """

    def __init__(self, bindir: Path, account: Account, parent: Path) -> None:
        self.bindir = bindir
        self.account = account
        self.root = Path(tempfile.mkdtemp(prefix="newsbot-pg-", dir=parent))
        self.data = self.root / "data"
        self._watchdog: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> URL:
        """The maintenance database (``postgres``) over the unix socket."""
        query = {"host": str(self.root), "port": SERVER_SETTINGS["port"]}
        return URL.create("postgresql+asyncpg", SUPERUSER, database="postgres", query=query)

    def start(self) -> None:
        """initdb, configure and start; on failure everything is cleaned up."""
        if self.account.uid is not None and self.account.gid is not None:
            os.chown(self.root, self.account.uid, self.account.gid)
        self._start_watchdog()
        try:
            # UTF-8 for Korean text; C locale and no fsync for speed.
            self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "-A", "trust",
                      "-E", "UTF8", "--no-locale", "--no-sync")  # fmt: skip
            self._configure()
            log = str(self.root / "server.log")
            wait = ["-w", "-t", str(TIMEOUT_S)]
            self._run("pg_ctl", "-D", str(self.data), "-l", log, *wait, "start")
        except PostgresUnavailable:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the server and delete its directory (waits up to ~a minute)."""
        if self._watchdog is None:
            return
        watchdog, self._watchdog = self._watchdog, None
        assert watchdog.stdin is not None
        watchdog.stdin.close()
        watchdog.wait(timeout=2 * TIMEOUT_S)

    def _start_watchdog(self) -> None:
        uid, gid = self.account.uid, self.account.gid
        ids = ["-", "-"] if uid is None else [str(uid), str(gid)]
        args = [str(self.bindir / "pg_ctl"), str(self.data), str(self.root), *ids]
        self._watchdog = subprocess.Popen(
            [sys.executable, "-c", _WATCHDOG, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C of the session must not kill the cleanup
        )

    def _configure(self) -> None:
        settings = dict(SERVER_SETTINGS, unix_socket_directories=f"'{self.root}'")
        lines = "".join(f"{key} = {value}\n" for key, value in settings.items())
        with (self.data / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write("\n# newsbot test server\n" + lines)

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bindir / program), *args]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")} | {"LC_ALL": "C"}
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, env=env, cwd=self.root,
                timeout=2 * TIMEOUT_S, **self.account.subprocess_kwargs(),
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PostgresUnavailable(f"{program} as {self.account.name}: {exc}") from exc
        if done.returncode != 0:
            raise PostgresUnavailable(f"{program} as {self.account.name}: {self._why(done)}")

    def _why(self, done: subprocess.CompletedProcess[str]) -> str:
        log = self.root / "server.log"
        lines = done.stderr + (log.read_text(errors="replace") if log.exists() else "")
        meaningful = [line for line in lines.splitlines() if line.strip()]
        fatal = [line for line in meaningful if "FATAL" in line or "ERROR" in line]
        return (fatal or meaningful or [f"exit status {done.returncode}"])[-1]


# --- databases on a server ---------------------------------------------------------


class PostgresServer:
    """Creates and drops databases on one server, from synchronous code.

    Statements run on a private event loop thread, so these methods work from sync
    fixtures and from inside a running event loop alike. Database names are unique
    per session, so several sessions can share one external server.
    """

    def __init__(self, url: URL) -> None:
        self.url = url.set(drivername="postgresql+asyncpg")
        self._token = secrets.token_hex(3)
        self._count = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._engine: AsyncEngine = create_async_engine(
            self.url, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0
        )
        try:
            self.version_num = int(self._call(self._scalar("SHOW server_version_num")))
            self._template = _database_name(self.create_database(template="template0"))
        except BaseException:
            self._shutdown()
            raise

    def url_for(self, database: str) -> str:
        """The SQLAlchemy URL (a string) of ``database`` on this server."""
        return self.url.set(database=database).render_as_string(hide_password=False)

    def create_database(self, *, template: str | None = None) -> str:
        """Create a new database, a copy of ``template``, and return its URL.

        ``template`` (a URL this server returned, or a database name) defaults to an
        empty UTF-8 database made once per session. To set a schema up once and give
        each test a copy, create a database, migrate it, dispose of every engine on it
        (PostgreSQL copies a database only while nobody is connected), then pass its
        URL here. Raises ValueError for a name that is not plain.
        """
        source = _database_name(template) if template else self._template
        self._count += 1
        name = f"newsbot_test_{self._token}_{self._count}"
        # FILE_COPY copies the files: much faster than WAL_LOG (the 15+ default) here.
        strategy = " STRATEGY FILE_COPY" if self.version_num >= 150000 else ""
        encoding = " ENCODING 'UTF8'" if source == "template0" else ""
        self._call(self._execute(f"CREATE DATABASE {name} TEMPLATE {source}{encoding}{strategy}"))
        return self.url_for(name)

    def drop_database(self, url: str) -> None:
        """Drop the database at ``url``, disconnecting whoever is still connected."""
        force = " WITH (FORCE)" if self.version_num >= 130000 else ""
        self._call(self._execute(f"DROP DATABASE IF EXISTS {_database_name(url)}{force}"))

    def close(self) -> None:
        """Drop the session's template and release the admin connection."""
        try:
            self.drop_database(self.url_for(self._template))
        finally:
            self._shutdown()

    def _shutdown(self) -> None:
        try:
            self._call(self._engine.dispose())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=TIMEOUT_S)
            self._loop.close()

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=TIMEOUT_S)

    async def _execute(self, sql: str) -> None:
        async with self._engine.connect() as conn:
            await conn.execute(text(sql))

    async def _scalar(self, sql: str) -> Any:
        async with self._engine.connect() as conn:
            return await conn.scalar(text(sql))


def _database_name(url_or_name: str) -> str:
    """The database a URL names (or the name itself), checked to be safe in SQL."""
    name = make_url(url_or_name).database if "://" in url_or_name else url_or_name
    if not (name and _NAME.match(name)):
        raise ValueError(f"not a plain database name: {name!r}")
    return name


def connect(url: URL) -> PostgresServer:
    """A PostgresServer on ``url``; raises PostgresUnavailable with the reason."""
    try:
        return PostgresServer(url)
    except Exception as exc:  # any driver or server error means "cannot use it"
        where = url.render_as_string(hide_password=True)
        raise PostgresUnavailable(f"cannot use {where}: {type(exc).__name__}: {exc}") from exc


def open_server(
    environ: Mapping[str, str] = os.environ,
) -> tuple[PostgresServer, LocalServer | None]:
    """The session's server: the one ``URL_ENV`` names, else a new local one.

    Returns the server and, when it is ours, the LocalServer to stop afterwards.
    Raises PostgresUnavailable with the reason.
    """
    if raw := environ.get(URL_ENV):
        try:
            url = make_url(raw)
        except ArgumentError as exc:
            raise PostgresUnavailable(f"{URL_ENV} is not a database URL") from exc
        return connect(url), None
    bindir = find_bindir(
        shutil.which("pg_config"), shutil.which("initdb"), Path("/usr/lib/postgresql")
    )
    try:
        local = LocalServer(bindir, server_account(), scratch_parent(os.geteuid() == 0))
    except OSError as exc:
        raise PostgresUnavailable(f"cannot make the server's directory: {exc}") from exc
    local.start()
    try:
        return connect(local.url), local
    except PostgresUnavailable:
        local.stop()
        raise


# --- fixtures ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for this session (skips, or fails under CI, without one)."""
    try:
        server, local = open_server()
    except PostgresUnavailable as exc:
        unavailable(str(exc))
    try:
        yield server
    finally:
        try:
            server.close()
        finally:
            if local is not None:
                local.stop()


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """URL of a fresh, empty database shared by the whole session."""
    url = postgres_server.create_database()
    yield url
    postgres_server.drop_database(url)


@pytest.fixture
def postgres_database_url(postgres_server: PostgresServer) -> Iterator[str]:
    """URL of a new empty database for one test, dropped afterwards."""
    url = postgres_server.create_database()
    yield url
    postgres_server.drop_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh empty database on each backend in turn: the test runs once per backend."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'newsbot.db'}"
    url: str = request.getfixturevalue("postgres_database_url")
    return url
