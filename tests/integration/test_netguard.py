"""The SSRF guard on real fetches: loopback servers, a fake at the DNS seam only.

No real DNS is reachable here, so names resolve through `NameTable`, an
`AbstractResolver` the guard wraps exactly as it wraps the system's. A loopback server
that plays a public one is marked so with the guard's `exempt` parameter.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from bot.config import SourceSettings
from bot.errors import FetchError
from bot.models import SourceState
from bot.netguard import GuardedResolver, UnsafeAddress, guarded_connector
from bot.sources import FetchResult, HttpSource
from tests.feedserver import rss

FEED = rss(("a1", "공개 기사", "IT"))


class NameTable(AbstractResolver):
    """Resolves names from a table and numeric hosts as libc does; no network."""

    def __init__(self, names: Mapping[str, Sequence[str]] | None = None) -> None:
        self.names = {name: list(addresses) for name, addresses in (names or {}).items()}
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        addresses = self.names.get(host) or [_numeric(host)]
        return [_result(host, address, port) for address in addresses]

    async def close(self) -> None:
        return None


def _numeric(host: str) -> str:
    # AI_NUMERICHOST: libc's reading of `0x7f.1` and friends, never a DNS query.
    infos = socket.getaddrinfo(host, None, flags=socket.AI_NUMERICHOST)
    return str(infos[0][4][0])


def _result(name: str, address: str, port: int) -> ResolveResult:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    return ResolveResult(hostname=name, host=address, port=port, family=family, proto=0, flags=0)


class Server:
    """A loopback HTTP server: `/feed` serves a feed, `/go?to=URL` redirects there."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        self.port = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def feed(self, request: web.Request) -> web.Response:
        self.hits.append(request.path_qs)
        response = web.Response(body=FEED, content_type="application/rss+xml")
        # No keep-alive: each fetch opens (and so resolves and checks) anew.
        response.force_close()
        return response

    async def go(self, request: web.Request) -> web.Response:
        self.hits.append(request.path_qs)
        raise web.HTTPFound(request.query["to"])


@pytest.fixture
async def servers() -> AsyncIterator[Callable[[], Awaitable[Server]]]:
    runners: list[web.AppRunner] = []

    async def start() -> Server:
        server = Server()
        app = web.Application()
        app.router.add_get("/feed", server.feed)
        app.router.add_get("/go", server.go)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        runners.append(runner)
        server.port = runner.addresses[0][1]
        return server

    yield start
    for runner in runners:
        await runner.cleanup()


async def fetch(
    url: str,
    *,
    allow_private: bool = False,
    names: NameTable | None = None,
    exempt: Iterable[tuple[str, int]] = (),
) -> FetchResult:
    connector = guarded_connector(allow_private=allow_private, inner=names, exempt=exempt)
    async with aiohttp.ClientSession(connector=connector) as session:
        source = HttpSource(SourceSettings(name="s", url=url, timeout=5), session)
        return await source.fetch(SourceState("s"))


async def test_a_loopback_feed_is_refused_with_the_reason(servers) -> None:
    server = await servers()
    with pytest.raises(UnsafeAddress, match=r"^refused: 127\.0\.0\.1 is a loopback address$"):
        await fetch(server.base + "/feed")
    assert server.hits == []


async def test_allow_private_reads_the_same_feed(servers) -> None:
    server = await servers()
    result = await fetch(server.base + "/feed", allow_private=True)
    assert [entry.title for entry in result.entries] == ["공개 기사"]


async def test_a_public_looking_name_that_resolves_to_loopback_is_refused(servers) -> None:
    server = await servers()
    names = NameTable({"evil.example": ["127.0.0.1"]})
    with pytest.raises(UnsafeAddress) as refused:
        await fetch(f"http://evil.example:{server.port}/feed", names=names)
    assert str(refused.value) == "refused: evil.example resolves to 127.0.0.1, a loopback address"
    assert server.hits == []


async def test_a_server_marked_public_is_read(servers) -> None:
    server = await servers()
    names = NameTable({"news.example": ["127.0.0.1"]})
    exempt = [("127.0.0.1", server.port)]
    by_name = await fetch(f"http://news.example:{server.port}/feed", names=names, exempt=exempt)
    by_address = await fetch(server.base + "/feed", exempt=exempt)
    assert len(by_name.entries) == len(by_address.entries) == 1


async def test_only_the_allowed_addresses_of_a_name_are_connected_to(servers) -> None:
    server = await servers()
    # 10.0.0.1 first: were it kept, the connector would try it first, and hang.
    names = NameTable({"mixed.example": ["10.0.0.1", "127.0.0.1", "169.254.169.254"]})
    exempt = [("127.0.0.1", server.port)]
    resolver = GuardedResolver(False, names, exempt=exempt)
    answers = await resolver.resolve("mixed.example", server.port)
    assert [answer["host"] for answer in answers] == ["127.0.0.1"]
    result = await fetch(f"http://mixed.example:{server.port}/feed", names=names, exempt=exempt)
    assert len(result.entries) == 1


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("http://127.0.0.1:{port}/feed", "refused: 127.0.0.1 is a loopback address"),
        (
            "http://evil.example:{port}/feed",
            "refused: evil.example resolves to 127.0.0.1, a loopback address",
        ),
        ("http://[::1]:{port}/feed", "refused: ::1 is a loopback address"),
        (
            "http://[::ffff:127.0.0.1]:{port}/feed",
            "refused: ::ffff:7f00:1 is a loopback address (127.0.0.1 in IPv6 form)",
        ),
        ("http://0x7f.1:{port}/feed", "refused: 0x7f.1 resolves to 127.0.0.1, a loopback address"),
        (
            "http://2130706433:{port}/feed",
            "refused: 2130706433 is a non-canonical form of 127.0.0.1",
        ),
        (
            "http://169.254.169.254/latest/meta-data/",
            "refused: 169.254.169.254 is a link-local address",
        ),
        (
            "file:///etc/passwd",
            "refused: a redirect to file:///etc/passwd (only http and https are allowed)",
        ),
        ("gopher://127.0.0.1:{port}/_x", "only http and https are allowed"),
    ],
)
async def test_a_redirect_from_a_public_server_to_a_forbidden_place_is_refused(
    servers, target: str, reason: str
) -> None:
    public, internal = await servers(), await servers()
    names = NameTable({"news.example": ["127.0.0.1"], "evil.example": ["127.0.0.1"]})
    redirect = target.format(port=internal.port)
    url = f"http://news.example:{public.port}/go?to={redirect}"
    with pytest.raises(UnsafeAddress) as refused:
        await fetch(url, names=names, exempt=[("127.0.0.1", public.port)])
    assert reason in str(refused.value)
    assert len(public.hits) == 1
    assert internal.hits == []


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "[::1]",
        "[::ffff:127.0.0.1]",
        "0x7f.1",
        "2130706433",
        "127.1",
        "0177.0.0.1",
        "0.0.0.0",
        "[::]",
    ],
)
async def test_a_literal_loopback_url_in_any_form_is_refused(servers, host: str) -> None:
    server = await servers()
    with pytest.raises(UnsafeAddress, match=r"^refused: "):
        await fetch(f"http://{host}:{server.port}/feed", names=NameTable())
    assert server.hits == []


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://127.0.0.1/feed", "gopher://example.com/"]
)
async def test_other_schemes_are_refused(url: str) -> None:
    with pytest.raises(UnsafeAddress, match="only http and https are allowed"):
        await fetch(url, allow_private=True)


async def test_every_resolution_is_checked_again(servers) -> None:
    server = await servers()
    names = NameTable({"flip.example": ["127.0.0.1"]})
    exempt = [("127.0.0.1", server.port)]
    connector = guarded_connector(allow_private=False, inner=names, exempt=exempt)
    async with aiohttp.ClientSession(connector=connector) as session:
        source = HttpSource(
            SourceSettings(name="s", url=f"http://flip.example:{server.port}/feed"), session
        )
        assert len((await source.fetch(SourceState("s"))).entries) == 1
        # The name now points inside (DNS rebinding); the next lookup is checked anew.
        names.names["flip.example"] = ["192.168.1.1"]
        connector.clear_dns_cache()
        with pytest.raises(UnsafeAddress, match=r"resolves to 192\.168\.1\.1, a private address"):
            await source.fetch(SourceState("s"))
    assert names.asked == ["flip.example", "flip.example"]


async def test_an_unknown_name_is_an_ordinary_fetch_error() -> None:
    with pytest.raises(FetchError) as failed:
        await fetch("http://nowhere.example/feed", names=NameTable())
    assert not isinstance(failed.value, UnsafeAddress)
    assert "\n" not in str(failed.value)


async def test_concurrent_fetches_of_a_refused_name_are_each_refused(servers) -> None:
    server = await servers()
    names = NameTable({"evil.example": ["10.0.0.1"]})
    connector = guarded_connector(allow_private=False, inner=names)
    async with aiohttp.ClientSession(connector=connector) as session:
        url = f"http://evil.example:{server.port}/feed"
        sources = [HttpSource(SourceSettings(name=f"s{i}", url=url), session) for i in range(5)]
        results = await asyncio.gather(
            *(source.fetch(SourceState(source.settings.name)) for source in sources),
            return_exceptions=True,
        )
    assert all(isinstance(result, UnsafeAddress) for result in results)
    assert {str(result) for result in results} == {
        "refused: evil.example resolves to 10.0.0.1, a private address"
    }
    assert server.hits == []
