"""newsbot's HTTP/1.1 client (handlers/telegram_http.py) against local aiohttp servers.

What the server sees (connections, bodies) and what the caller gets (status, body,
python-telegram-bot's `TimedOut` / `NetworkError`) are the assertions; no internals.
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from telegram import InputFile
from telegram.error import NetworkError, TimedOut
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot import eventloop
from handlers.telegram_http import HttpClient, Timeouts
from handlers.telegram_request import TelegramRequest

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SECRET = "123456:SECRET-token-part"
MEGABYTE = bytes(range(256)) * 4096


@dataclass
class Server:
    """A local aiohttp server that records which connection carried each request."""

    url: str
    #: The client's (host, port) per request, in order: one per connection used.
    peers: list[object] = field(default_factory=list)
    #: Set when a request reached /hold; the answer waits for `release`.
    held: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    #: The transports of requests, for closing one from the server's side.
    transports: list[asyncio.BaseTransport] = field(default_factory=list)

    def connections(self) -> int:
        return len(set(self.peers))


def _app(server: Server) -> web.Application:
    async def echo(request: web.Request) -> web.Response:
        return web.json_response({"method": request.method, "size": len(await request.read())})

    async def length(request: web.Request) -> web.Response:
        return web.Response(text=request.headers.get("Content-Length", "none"))

    async def chunked(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for piece in (b"first,", b"second,", b"third"):
            await response.write(piece)
        await response.write_eof()
        return response

    async def close(request: web.Request) -> web.Response:
        response = web.Response(body=b"bye")
        response.force_close()
        return response

    async def hold(request: web.Request) -> web.Response:
        server.held.set()
        await server.release.wait()
        return web.Response(body=b"late")

    async def big(request: web.Request) -> web.Response:
        return web.Response(body=MEGABYTE)

    async def upload(request: web.Request) -> web.Response:
        form = await request.post()
        fields: dict[str, object] = {}
        for name, value in form.items():
            if isinstance(value, web.FileField):
                fields[name] = [value.filename, value.content_type, value.file.read().hex()]
            else:
                fields[name] = value
        return web.json_response(fields)

    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        assert request.transport is not None
        server.peers.append(request.transport.get_extra_info("peername"))
        server.transports.append(request.transport)
        return await handler(request)

    app = web.Application(middlewares=[record])
    app.router.add_route("*", "/echo", echo)
    app.router.add_route("*", "/length", length)
    app.router.add_get("/chunked", chunked)
    app.router.add_get("/close", close)
    app.router.add_get("/hold", hold)
    app.router.add_get("/big", big)
    app.router.add_post("/upload", upload)
    return app


async def _serve(context: ssl.SSLContext | None = None) -> AsyncIterator[Server]:
    server = Server("")
    runner = web.AppRunner(_app(server))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    port = runner.addresses[0][1]
    server.url = f"{'https' if context else 'http'}://localhost:{port}"
    try:
        yield server
    finally:
        server.release.set()
        await runner.cleanup()


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    async for started in _serve():
        yield started


@pytest.fixture
async def client() -> AsyncIterator[HttpClient]:
    http = HttpClient(user_agent="newsbot-test", timeouts=Timeouts(connect=5, read=5, pool=5))
    yield http
    await http.close()


@asynccontextmanager
async def _opened(**settings: Any) -> AsyncIterator[HttpClient]:
    """An `HttpClient(user_agent="t", **settings)`, closed on the way out."""
    client = HttpClient(user_agent="t", **settings)
    try:
        yield client
    finally:
        await client.close()


async def _get(client: HttpClient, url: str, **kwargs: object) -> tuple[int, bytes]:
    return await client.request("GET", client.target(url), **kwargs)  # type: ignore[arg-type]


async def _until(predicate: Callable[[], bool]) -> None:
    """Give the loop turns until `predicate()` holds, for at most 5 s.

    The client has no event for "a connection went away"; each turn lets the
    loop deliver the server's close, so this waits on the loop, not on time.
    """
    async with asyncio.timeout(5):
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0)


async def test_sequential_requests_share_one_connection(server: Server, client: HttpClient) -> None:
    target = client.target(f"{server.url}/echo")
    answers = [await client.request("POST", target, b"x" * i, "text/plain") for i in range(5)]

    assert [json.loads(body) for _, body in answers] == [
        {"method": "POST", "size": i} for i in range(5)
    ]
    assert server.connections() == 1


async def test_a_chunked_answer_is_read_whole_and_the_connection_kept(
    server: Server, client: HttpClient
) -> None:
    assert await _get(client, f"{server.url}/chunked") == (200, b"first,second,third")
    assert (await _get(client, f"{server.url}/echo"))[0] == 200
    assert server.connections() == 1


async def test_connection_close_answer_is_not_reused(server: Server, client: HttpClient) -> None:
    assert await _get(client, f"{server.url}/close") == (200, b"bye")
    assert (await _get(client, f"{server.url}/echo"))[0] == 200
    assert server.connections() == 2


async def test_an_idle_connection_the_server_closed_is_replaced(
    server: Server, client: HttpClient
) -> None:
    await _get(client, f"{server.url}/echo")
    server.transports[0].close()
    await _until(lambda: client.connections == 0)

    assert (await _get(client, f"{server.url}/echo"))[0] == 200
    assert server.connections() == 2


async def test_a_connection_idle_longer_than_the_idle_timeout_is_not_reused(
    server: Server,
) -> None:
    async with _opened(idle_timeout=0.0) as client:
        for _ in range(2):
            assert (await _get(client, f"{server.url}/echo"))[0] == 200
    assert server.connections() == 2


async def test_a_download_right_after_the_server_closed_the_connection_succeeds(
    server: Server, client: HttpClient
) -> None:
    await _get(client, f"{server.url}/echo")
    server.transports[0].close()  # the client may or may not have noticed yet

    assert await _get(client, f"{server.url}/big") == (200, MEGABYTE)


async def test_a_404_is_an_answer_not_an_error(server: Server, client: HttpClient) -> None:
    status, _ = await _get(client, f"{server.url}/missing")
    assert status == 404


async def test_a_held_answer_times_out_and_its_connection_is_dropped(
    server: Server, client: HttpClient
) -> None:
    with pytest.raises(TimedOut):
        await _get(client, f"{server.url}/hold", timeouts=Timeouts(read=0.2))
    server.release.set()

    assert await _get(client, f"{server.url}/echo") == (200, b'{"method": "GET", "size": 0}')
    assert server.connections() == 2


async def test_a_cancelled_request_closes_its_connection(
    server: Server, client: HttpClient
) -> None:
    holding = asyncio.create_task(_get(client, f"{server.url}/hold"))
    await asyncio.wait_for(server.held.wait(), 5)
    holding.cancel()
    with pytest.raises(asyncio.CancelledError):
        await holding

    assert client.connections == 0
    assert (await _get(client, f"{server.url}/echo"))[0] == 200
    assert server.connections() == 2


async def test_close_ends_requests_in_flight_with_a_network_error(
    server: Server, client: HttpClient
) -> None:
    holding = asyncio.create_task(_get(client, f"{server.url}/hold"))
    await asyncio.wait_for(server.held.wait(), 5)
    await client.close()

    with pytest.raises(NetworkError) as caught:
        await holding
    assert not isinstance(caught.value, TimedOut)
    assert client.connections == 0


async def test_refused_connection_is_a_network_error_without_the_url(client: HttpClient) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with pytest.raises(NetworkError) as caught:
        await _get(client, f"http://127.0.0.1:{port}/bot{SECRET}/getMe")

    assert not isinstance(caught.value, TimedOut)
    assert "SECRET" not in str(caught.value) and "SECRET" not in repr(caught.value)
    assert "ConnectionRefusedError" in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [f"ftp://x/bot{SECRET}/getMe", f"http://x:port/bot{SECRET}/getMe", f"/bot{SECRET}/getMe"],
)
def test_a_url_the_client_cannot_use_is_a_network_error_without_the_url(url: str) -> None:
    with pytest.raises(NetworkError) as caught:
        HttpClient(user_agent="t").target(url)

    assert "SECRET" not in str(caught.value) and caught.value.__cause__ is None


async def test_a_post_without_a_body_says_its_length(server: Server, client: HttpClient) -> None:
    assert await client.request("POST", client.target(f"{server.url}/length")) == (200, b"0")
    assert await _get(client, f"{server.url}/length") == (200, b"none")


async def test_a_full_pool_waits_for_a_free_connection(server: Server) -> None:
    async with _opened(connection_limit=1, timeouts=Timeouts(pool=0.2)) as client:
        holding = asyncio.create_task(_get(client, f"{server.url}/hold"))
        await asyncio.wait_for(server.held.wait(), 5)
        with pytest.raises(TimedOut, match="Pool timeout"):
            await _get(client, f"{server.url}/echo")

        waiting = asyncio.create_task(_get(client, f"{server.url}/echo", timeouts=Timeouts()))
        server.release.set()

        assert await holding == (200, b"late")
        assert (await waiting)[0] == 200
        assert server.connections() == 1


async def test_a_one_megabyte_download_arrives_intact(server: Server, client: HttpClient) -> None:
    assert await _get(client, f"{server.url}/big") == (200, MEGABYTE)


async def test_an_answer_over_the_cap_is_a_network_error(server: Server) -> None:
    async with _opened(max_body=1000) as client:
        with pytest.raises(NetworkError, match="too large"):
            await _get(client, f"{server.url}/big")


async def test_an_http_1_0_answer_ends_at_eof_and_closes(client: HttpClient) -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end")
        await writer.drain()
        writer.close()

    raw = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = raw.sockets[0].getsockname()[1]
    try:
        assert await _get(client, f"http://127.0.0.1:{port}/") == (200, b"until the end")
        assert await _get(client, f"http://127.0.0.1:{port}/") == (200, b"until the end")
    finally:
        raw.close()
        await raw.wait_closed()


async def test_multipart_upload_arrives_intact(server: Server) -> None:
    request = TelegramRequest()
    await request.initialize()
    document = InputFile(b"\x00<opml/>\xff", filename='피드 "목록".opml')
    data = RequestData(
        [
            RequestParameter.from_input("chat_id", 42),
            RequestParameter.from_input("caption", "구독 목록"),
            RequestParameter.from_input("document", document),
        ]
    )
    try:
        status, body = await request.do_request(f"{server.url}/upload", "POST", data)
    finally:
        await request.shutdown()

    assert status == 200
    assert json.loads(body) == {
        "chat_id": "42",
        "caption": "구독 목록",
        "document": ["피드 %22목록%22.opml", document.mimetype, b"\x00<opml/>\xff".hex()],
    }


# TLS: a throwaway CA made with the openssl CLI, a server certificate for "localhost".


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tls")
    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    ca = ["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=keyCertSign"]
    _openssl(folder, "req", "-x509", *key, *ca, "-keyout", "ca.key", "-out", "ca.pem",
             "-days", "2", "-subj", "/CN=newsbot test CA")  # fmt: skip
    _openssl(folder, "req", *key, "-keyout", "server.key", "-out", "server.csr",
             "-subj", "/CN=localhost")  # fmt: skip
    (folder / "san.cnf").write_text("subjectAltName=DNS:localhost\n")
    sign = ["-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2"]
    _openssl(folder, "x509", "-req", "-in", "server.csr", *sign, "-out", "server.pem",
             "-extfile", "san.cnf")  # fmt: skip
    return folder


def _openssl(folder: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)


def _serving(certificates: Path) -> ssl.SSLContext:
    """The server's side: its certificate for "localhost", signed by the test CA."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificates / "server.pem", certificates / "server.key")
    return context


@pytest.fixture
async def tls_server(certificates: Path) -> AsyncIterator[Server]:
    async for started in _serve(_serving(certificates)):
        yield started


def _trusting(certificates: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificates / "ca.pem"))


async def test_https_with_a_trusted_ca_works_and_keeps_alive(
    tls_server: Server, certificates: Path
) -> None:
    async with _opened(ssl_context=_trusting(certificates)) as client:
        assert await _get(client, f"{tls_server.url}/chunked") == (200, b"first,second,third")
        assert await _get(client, f"{tls_server.url}/big") == (200, MEGABYTE)
    assert tls_server.connections() == 1


async def test_https_refuses_a_certificate_for_another_host(
    tls_server: Server, certificates: Path
) -> None:
    async with _opened(ssl_context=_trusting(certificates)) as client:
        other_name = tls_server.url.replace("localhost", "127.0.0.1")
        with pytest.raises(NetworkError, match="SSLCertVerificationError") as caught:
            await _get(client, f"{other_name}/echo")
        assert "mismatch" in str(caught.value.__cause__)


async def test_https_refuses_an_untrusted_certificate(tls_server: Server) -> None:
    async with _opened() as client:  # the system's CAs only
        with pytest.raises(NetworkError, match="SSLCertVerificationError") as caught:
            await _get(client, f"{tls_server.url}/bot{SECRET}/getMe")
        assert "SECRET" not in str(caught.value)


def test_on_uvloop_the_loop_newsbot_runs_on_https_works_and_keeps_alive(
    certificates: Path,
) -> None:
    async def exchange() -> tuple[str, list[tuple[int, bytes]], int]:
        async for server in _serve(_serving(certificates)):
            async with _opened(ssl_context=_trusting(certificates)) as client:
                answers = [await _get(client, f"{server.url}/chunked") for _ in range(3)]
            return type(asyncio.get_running_loop()).__module__, answers, server.connections()
        raise AssertionError("the server did not start")

    loop, answers, connections = eventloop.run(exchange())
    assert loop.startswith("uvloop")
    assert answers == [(200, b"first,second,third")] * 3
    assert connections == 1
