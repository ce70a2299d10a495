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

The pools and connections themselves are in `telegram_pool`.
"""

from __future__ import annotations

import ssl
from typing import Final, NamedTuple
from urllib.parse import quote, urlsplit

from telegram.error import NetworkError

from handlers.telegram_pool import Pool, PoolKey, Rules, Stale, Timeouts

#: `Timeouts` is part of this module's interface (callers build the client with it).
__all__ = ["MAX_BODY", "HttpClient", "Target", "Timeouts"]

#: The largest answer accepted; files the Bot API serves are at most 20 MB.
MAX_BODY: Final = 64 * 1024 * 1024
_PORTS: Final = {"http": 80, "https": 443}
#: What `quote` keeps in a path and query: the reserved characters and escapes.
_URL_SAFE: Final = "/?#[]@!$&'()*+,;=%:-._~"
#: Methods that may be sent again when a kept-alive connection turns out closed.
_IDEMPOTENT: Final = frozenset({"GET", "HEAD", "OPTIONS"})


class Target(NamedTuple):
    """A parsed URL: where to connect and the request line's rest plus fixed headers."""

    key: PoolKey
    #: b" /path?query HTTP/1.1\r\nHost: …\r\nUser-Agent: …\r\n" (the method goes before).
    head: bytes


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
        self._rules = Rules(connection_limit, max_body, idle_timeout)
        self._pools: dict[PoolKey, Pool] = {}

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
        except Stale:
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

    def _pool(self, key: PoolKey) -> Pool:
        context: ssl.SSLContext | None = None
        if key[0] == "https":
            if self._ssl is None:
                self._ssl = ssl.create_default_context()
            context = self._ssl
        return Pool(key[1], key[2], context, self._rules)
