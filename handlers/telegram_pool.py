"""The connections under `telegram_http.HttpClient`: one pool per host, one protocol each.

A `Pool` hands out keep-alive connections to one (scheme, host, port), opens new ones
up to its limit and makes callers wait beyond it; a `_Connection` (an
`asyncio.Protocol`) carries one request at a time and parses the answer with llhttp
(`httptools`). The rules of reuse are in `telegram_http`'s docstring.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections import deque
from typing import Any, Final, NamedTuple, cast

import aiohappyeyeballs
import httptools
from telegram.error import NetworkError, TimedOut

#: Headers that delimit a body; without either (and with a body) it ends at EOF.
_FRAMING: Final = frozenset({b"content-length", b"transfer-encoding"})
#: Loop turns `close()` gives aborted transports to report connection_lost.
_CLOSE_TURNS: Final = 10
#: Seconds before the next address is tried alongside a connect that hangs.
_HAPPY_EYEBALLS_DELAY: Final = 0.25
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


class Rules(NamedTuple):
    """What every pool of one client keeps to."""

    #: Connections open at once.
    limit: int
    #: The largest answer body accepted (`telegram_http.MAX_BODY` by default).
    max_body: int
    #: Seconds an idle connection is kept for reuse.
    idle_timeout: float


class Stale(NetworkError):
    """A kept-alive connection closed before any byte of the answer came back."""


class _TooLarge(Exception):
    """Raised inside the parser's body callback: the answer passed `Rules.max_body`."""


class Pool:
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

    def __init__(self, host: str, port: int, context: ssl.SSLContext | None, rules: Rules) -> None:
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
                addresses = await self.loop.getaddrinfo(
                    self._host, self._port, type=socket.SOCK_STREAM
                )
                # RFC 8305, as aiohttp (with the same library, which works on any event
                # loop): a black-holed IPv6 route must not eat the whole connect
                # timeout before IPv4 is tried.
                sock = await aiohappyeyeballs.start_connection(
                    addresses, happy_eyeballs_delay=_HAPPY_EYEBALLS_DELAY
                )
                try:
                    _, protocol = await self.loop.create_connection(
                        lambda: _Connection(self),
                        sock=sock,
                        ssl=self._ssl,
                        server_hostname=self._host if self._ssl is not None else None,
                    )
                except BaseException:
                    sock.close()  # a TLS handshake that failed or ran out of time
                    raise
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

    def __init__(self, pool: Pool) -> None:
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
                error = (Stale if stale else NetworkError)(f"connection lost ({cause})")
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
