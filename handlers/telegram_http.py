"""A small HTTP/1.1 client for the Telegram Bot API: keep-alive pools over `asyncio.Protocol`.

Why not aiohttp: at 1000 alerts/s aiohttp's per-request machinery (request and
response objects, header multidicts, stream readers, timers per phase) was about
39 % of the event loop's CPU. This client writes one pre-built request head and
parses the answer with llhttp (`httptools`, the C parser uvicorn uses). In
`bench/fanout.py` at 1000/s (the whole pipeline) a delivered alert costs
0.47–0.57 ms of CPU over this client against 0.78–0.83 ms over aiohttp, and the
rate goes from 0.76–0.95 to 0.93–0.96 of the ceiling (5 and 3 runs, shared machine).

Contract:

- `HttpClient(user_agent=…, connection_limit=256, timeouts=Timeouts(), ssl_context=None,
  max_body=MAX_BODY, idle_timeout=15.0)`; `connections` counts the open ones.
- `HttpClient.target(url)` parses a URL once into a `Target`; callers cache it.
- `HttpClient.request(method, target, body, content_type, timeouts)` returns
  `(status, body)` for any status. It raises python-telegram-bot's `TimedOut` (connect,
  wait for a free connection, answer) or `NetworkError` (connection, TLS, OS or parse
  error, answer over `MAX_BODY`); their messages never hold the URL (a Bot API URL
  holds the bot token), only what went wrong and the cause's class name.
- One pool per (scheme, host, port), at most `connection_limit` connections each
  (aiohttp's limit was over all hosts; newsbot talks to one Bot API host).
  A connection is reused only after a complete answer that allows keep-alive
  (not `Connection: close`, not an HTTP/1.0 answer without keep-alive, not a body
  that ends at EOF) and only within `idle_timeout` of its last use (aiohttp's 15 s:
  a NAT may forget a quiet connection); one the server closed while idle is dropped
  from the pool at once; one whose answer was not read to its end (timeout, cancel,
  error) is closed.
- An idempotent request (GET: PTB's downloads) goes again once, on another
  connection, when a kept-alive one turns out closed before any byte came back; a
  POST does not (it might have been delivered), as in aiohttp.
- `close()` closes every connection; the client stays usable (it reconnects).
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from typing import Any, Final, NamedTuple, cast
from urllib.parse import quote, urlsplit

import httptools
from telegram.error import NetworkError, TimedOut

#: The largest answer accepted; files the Bot API serves are at most 20 MB.
MAX_BODY: Final = 64 * 1024 * 1024
_PORTS: Final = {"http": 80, "https": 443}
#: Headers that delimit a body; without either (and with a body) it ends at EOF.
_FRAMING: Final = frozenset({b"content-length", b"transfer-encoding"})
#: What `quote` keeps in a path and query: the reserved characters and escapes.
_URL_SAFE: Final = "/?#[]@!$&'()*+,;=%:-._~"

#: Loop turns `close()` gives aborted transports to report connection_lost.
_CLOSE_TURNS: Final = 10

#: Seconds before the next address is tried alongside a connect that hangs.
_HAPPY_EYEBALLS_DELAY: Final = 0.25
#: Methods that may be sent again when a kept-alive connection turns out closed.
_IDEMPOTENT: Final = frozenset({"GET", "HEAD", "OPTIONS"})
_POOL_TIMEOUT: Final = "Pool timeout: no free connection"

PoolKey = tuple[str, str, int]


class Timeouts(NamedTuple):
    """Seconds, None for no limit."""

    #: TCP connect plus TLS handshake.
    connect: float | None = 5.0
    #: From writing the request to the end of the answer's body.
    read: float | None = 5.0
    #: Waiting for a free connection when the pool is at its limit.
    pool: float | None = 1.0


class Target(NamedTuple):
    """A parsed URL: where to connect and the request line's rest plus fixed headers."""

    key: PoolKey
    #: b" /path?query HTTP/1.1\r\nHost: …\r\nUser-Agent: …\r\n" (the method goes before).
    head: bytes


class _Rules(NamedTuple):
    limit: int
    max_body: int
    #: Seconds an idle connection is kept for reuse.
    idle_timeout: float


class _Stale(NetworkError):
    """A kept-alive connection closed before any byte of the answer came back."""


class _TooLarge(Exception):
    """Raised inside the parser's body callback: the answer passed `MAX_BODY`."""


class HttpClient:
    """Keep-alive HTTP/1.1 pools keyed by (scheme, host, port); see the module docstring."""

    __slots__ = ("_pools", "_rules", "_ssl", "_timeouts", "_user_agent")

    def __init__(
        self,
        *,
        user_agent: str,
        connection_limit: int = 256,
        timeouts: Timeouts | None = None,
        ssl_context: ssl.SSLContext | None = None,
        max_body: int = MAX_BODY,
        idle_timeout: float = 15.0,
    ) -> None:
        """`timeouts`: the default per request (`Timeouts()` if None); `ssl_context`: for
        https, `ssl.create_default_context()` (verifying certificates and host) if None."""
        self._user_agent = user_agent
        self._timeouts = Timeouts() if timeouts is None else timeouts
        self._ssl = ssl_context
        self._rules = _Rules(connection_limit, max_body, idle_timeout)
        self._pools: dict[PoolKey, _Pool] = {}

    def target(self, url: str) -> Target:
        """Parse `url` (http or https) once; raises `NetworkError` for anything else."""
        try:
            parts = urlsplit(url)
            scheme, host, port = parts.scheme.lower(), parts.hostname or "", parts.port
            head = self._head(parts.path, parts.query, host, port, scheme)
        except (ValueError, UnicodeError):
            # Not `from exc`: urllib's messages quote the URL, which holds the token.
            raise NetworkError("invalid URL") from None
        return Target((scheme, host, port or _PORTS[scheme]), head)

    def _head(self, path: str, query: str, host: str, port: int | None, scheme: str) -> bytes:
        if scheme not in _PORTS or not host:
            raise ValueError("not an http(s) URL with a host")
        port = port or _PORTS[scheme]
        netloc = f"[{host}]" if ":" in host else host
        if port != _PORTS[scheme]:
            netloc = f"{netloc}:{port}"
        path = quote(path or "/", safe=_URL_SAFE)
        if query:
            path = f"{path}?{quote(query, safe=_URL_SAFE)}"
        head = f" {path} HTTP/1.1\r\nHost: {netloc}\r\nUser-Agent: {self._user_agent}\r\n"
        return head.encode("ascii")

    async def request(
        self,
        method: str,
        target: Target,
        body: bytes | None = None,
        content_type: str = "application/octet-stream",
        timeouts: Timeouts | None = None,
    ) -> tuple[int, bytes]:
        """Send one request; return (status, body). Raises `TimedOut` or `NetworkError`."""
        limits = self._timeouts if timeouts is None else timeouts
        if body is None:
            # A POST says it has no body: some proxies refuse one without a length.
            empty = b"\r\n" if method in _IDEMPOTENT else b"Content-Length: 0\r\n\r\n"
            data = method.encode() + target.head + empty
        else:
            fields = f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
            data = b"".join((method.encode(), target.head, fields.encode(), body))
        pool = self._pools.get(target.key)
        if pool is None:
            pool = self._pools[target.key] = self._pool(target.key)
        conn = await pool.acquire(limits)
        try:
            answer = await conn.exchange(data, limits.read)
        except _Stale:
            if method not in _IDEMPOTENT:
                raise
            # As aiohttp does: a kept-alive connection the server closed just as we
            # sent on it; an idempotent request may go again, once, on another one.
            conn = await pool.acquire(limits)
            answer = await conn.exchange(data, limits.read)
        pool.release(conn)
        return answer

    @property
    def connections(self) -> int:
        """Connections open or opening now, over all pools."""
        return sum(pool.slots for pool in self._pools.values())

    async def close(self) -> None:
        """Close every connection (waiting briefly for them to go); fail pending waits."""
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.close()

    def _pool(self, key: PoolKey) -> _Pool:
        context: ssl.SSLContext | None = None
        if key[0] == "https":
            if self._ssl is None:
                self._ssl = ssl.create_default_context()
            context = self._ssl
        return _Pool(key[1], key[2], context, self._rules)


class _Pool:
    """Connections to one (scheme, host, port): idle ones (last used first), slots, waiters.

    A slot is taken by each open or opening connection; a waiter's future gets a
    connection, or None meaning "a slot is reserved for you: connect".
    """

    __slots__ = (
        "_all",
        "_closed",
        "_host",
        "_idle",
        "_idle_timeout",
        "_limit",
        "_port",
        "_slots",
        "_ssl",
        "_waiters",
        "loop",
        "max_body",
    )

    def __init__(self, host: str, port: int, context: ssl.SSLContext | None, rules: _Rules) -> None:
        self._host, self._port, self._ssl = host, port, context
        self._limit, self.max_body, self._idle_timeout = rules
        self.loop = asyncio.get_running_loop()
        self._all: set[_Connection] = set()
        self._idle: list[_Connection] = []
        self._slots = 0
        #: After `close()`: whatever comes back (a connect in flight, an answer) is closed.
        self._closed = False
        self._waiters: deque[asyncio.Future[_Connection | None]] = deque()

    @property
    def slots(self) -> int:
        return self._slots

    async def acquire(self, limits: Timeouts) -> _Connection:
        """A usable connection: idle, new, or handed over; raises `TimedOut`, `NetworkError`."""
        idle = self._idle
        if idle:
            # Older than aiohttp's keep-alive: a NAT or balancer may have dropped it silently.
            oldest = self.loop.time() - self._idle_timeout
            while idle:
                conn = idle.pop()
                if conn.usable and conn.idle_since > oldest:
                    return conn
                conn.discard()
        if self._slots < self._limit:
            self._slots += 1
            return await self._open(limits.connect)
        return await self._wait(limits)

    def release(self, conn: _Connection) -> None:
        """Take back a connection whose answer was read completely."""
        if not conn.usable or self._closed:
            conn.discard()
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        conn.idle_since = self.loop.time()
        self._idle.append(conn)

    def forget(self, conn: _Connection) -> None:
        """`conn` is closed or closing: free its slot (once) and never hand it out again."""
        if conn not in self._all:
            return
        self._all.discard(conn)
        if conn in self._idle:
            self._idle.remove(conn)
        self._slots -= 1
        self._wake()

    async def close(self) -> None:
        self._closed = True
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(NetworkError("HTTP client closed"))
        self._waiters.clear()
        closing = list(self._all)
        for conn in closing:
            conn.discard()
        # Let the transports run connection_lost (a few loop turns for TLS) before the
        # loop may close; bounded, since nothing here can block them.
        for _ in range(_CLOSE_TURNS):
            if not any(conn.open for conn in closing):
                return
            await asyncio.sleep(0)

    async def _open(self, within: float | None) -> _Connection:
        """Connect on a slot already taken; the slot is freed again on failure."""
        try:
            async with asyncio.timeout(within):
                _, protocol = await self.loop.create_connection(
                    lambda: _Connection(self),
                    self._host,
                    self._port,
                    ssl=self._ssl,
                    server_hostname=self._host if self._ssl is not None else None,
                    # RFC 8305, as aiohttp: a black-holed IPv6 route must not eat the
                    # whole connect timeout before IPv4 is tried.
                    happy_eyeballs_delay=_HAPPY_EYEBALLS_DELAY,
                )
        except BaseException as exc:
            self._slots -= 1
            self._wake()
            if isinstance(exc, TimeoutError):
                raise TimedOut("Timed out connecting") from exc
            if isinstance(exc, OSError):  # ssl.SSLError and CertificateError are OSErrors
                raise NetworkError(f"connect failed ({type(exc).__name__})") from exc
            raise
        self._all.add(protocol)
        if self._closed:
            protocol.discard()
            raise NetworkError("HTTP client closed")
        return protocol

    async def _wait(self, limits: Timeouts) -> _Connection:
        waiter: asyncio.Future[_Connection | None] = self.loop.create_future()
        self._waiters.append(waiter)
        timer = None
        if limits.pool is not None:
            timer = self.loop.call_later(limits.pool, _time_out, waiter, _POOL_TIMEOUT)
        try:
            conn = await waiter
        except BaseException:
            self._abandon(waiter)
            raise
        finally:
            if timer is not None:
                timer.cancel()
        if conn is None:
            return await self._open(limits.connect)
        if not conn.usable:  # lost between the hand-over and now: its slot is free again
            conn.discard()
            return await self.acquire(limits)
        return conn

    def _abandon(self, waiter: asyncio.Future[_Connection | None]) -> None:
        """The waiting task gave up (timeout, cancel): return what it may have been given."""
        if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
            given = waiter.result()
            if given is None:
                self._slots -= 1
                self._wake()
            else:
                self.release(given)
        elif waiter in self._waiters:
            self._waiters.remove(waiter)

    def _wake(self) -> None:
        """A slot is free: reserve it for the first waiter still waiting."""
        while self._waiters and self._slots < self._limit:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self._slots += 1
                waiter.set_result(None)
                return


def _time_out(waiter: asyncio.Future[Any], message: str | None) -> None:
    if not waiter.done():
        waiter.set_exception(TimedOut(message))


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection: one request at a time, the answer parsed by llhttp."""

    __slots__ = (
        "_body",
        "_framed",
        "_headers_done",
        "_parser",
        "_pool",
        "_received",
        "_served",
        "_size",
        "_transport",
        "_waiter",
        "idle_since",
        "open",
        "usable",
    )

    def __init__(self, pool: _Pool) -> None:
        self._pool = pool
        self._parser = httptools.HttpResponseParser(self)
        self._transport: asyncio.Transport | None = None
        self._waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self._body: list[bytes] = []
        self._size = 0
        self._framed = self._headers_done = self._received = False
        #: When it went back to the pool (the loop's clock).
        self.idle_since = 0.0
        #: Answers read completely on this connection.
        self._served = 0
        #: False once the connection is closing or its state is unknown.
        self.usable = True
        #: False once connection_lost ran.
        self.open = True

    async def exchange(self, data: bytes, within: float | None) -> tuple[int, bytes]:
        """Write `data` (a whole request); return (status, body) of the answer.

        On any failure the connection is closed; after success `usable` says if it
        may carry another request.
        """
        if not self.usable or self._transport is None:
            self.discard()
            raise NetworkError("connection closed before the request")
        loop = self._pool.loop
        waiter: asyncio.Future[tuple[int, bytes]] = loop.create_future()
        self._waiter = waiter
        self._framed = self._headers_done = self._received = False
        self._transport.write(data)
        timer = None if within is None else loop.call_later(within, _time_out, waiter, None)
        try:
            return await waiter
        finally:
            if timer is not None:
                timer.cancel()
            if self._waiter is not None:  # the answer was not read to its end
                self.discard()

    def discard(self) -> None:
        """Close now and leave the pool, failing a request still waiting; idempotent."""
        self.usable = False
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(NetworkError("connection closed by the client"))
        if self._transport is not None:
            self._transport.abort()
        self._pool.forget(self)

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self._waiter is None:  # bytes nobody asked for: the stream can't be trusted
            self.discard()
            return
        self._received = True
        try:
            self._parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as exc:  # 101 too
            cause = exc.__context__ if isinstance(exc.__context__, _TooLarge) else exc
            what = "answer too large" if cause is not exc else "invalid HTTP answer"
            self._fail(NetworkError(f"{what} ({type(exc).__name__})"), cause)

    def connection_lost(self, exc: Exception | None) -> None:
        self.usable = self.open = False
        if self._waiter is not None and not self._waiter.done():
            if self._headers_done and not self._framed:
                self._finish()  # the body was delimited by the end of the stream
            else:
                cause = "closed by the server" if exc is None else type(exc).__name__
                stale = self._served and not self._received
                error = (_Stale if stale else NetworkError)(f"connection lost ({cause})")
                self._fail(error, exc)
        self._pool.forget(self)

    # httptools' callbacks

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() in _FRAMING:
            self._framed = True

    def on_headers_complete(self) -> None:
        self._headers_done = True

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size > self._pool.max_body:
            raise _TooLarge
        self._body.append(body)

    def on_message_complete(self) -> None:
        if self._parser.get_status_code() < 200:  # an interim answer (103 and the like)
            self._body, self._size = [], 0
            self._framed = self._headers_done = False
            return
        if not self._parser.should_keep_alive():
            self.usable = False
        self._finish()

    def _finish(self) -> None:
        waiter, self._waiter = self._waiter, None
        body, self._body, self._size = b"".join(self._body), [], 0
        if waiter is None:  # an answer nobody asked for: the stream can't be trusted
            self.discard()
        elif not waiter.done():
            self._served += 1
            waiter.set_result((self._parser.get_status_code(), body))

    def _fail(self, error: NetworkError, cause: BaseException | None) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            error.__cause__ = cause
            waiter.set_exception(error)
        self.discard()
