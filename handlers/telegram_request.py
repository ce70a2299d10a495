"""python-telegram-bot's transport over newsbot's own HTTP/1.1 client, and a lean call path.

`TelegramRequest` replaces PTB's default httpx transport (PTB's documented seam,
`telegram.request.BaseRequest`) with `telegram_http.HttpClient`: one keep-alive
connection pool for every Bot API call, responses parsed by llhttp (`httptools`), no
per-request URL logging (a Bot API URL carries the token), and little CPU per message.
Errors leave as python-telegram-bot's own `TimedOut` and `NetworkError`, whose messages
never include the URL.

`call` is the lean path for replies and edits: the same transport and the same
error mapping (`BaseRequest.post` raises python-telegram-bot's exceptions), without
building SDK objects from the answer. `call_encoded` is the alert hot path: the body
comes already encoded (the alert's text once per alert, only the chat per message) and
the answer still goes through `BaseRequest.post`.

Why a client of our own: with aiohttp under PTB, aiohttp's request machinery was about
39 % of the event loop's CPU at 1000 alerts/s. `bench/fanout.py` (1000/s, the whole
pipeline: outbox, dispatcher, rendering, PTB's answer handling) measured 0.78–0.83 ms
of CPU per delivered alert over aiohttp and 0.47–0.57 ms over `telegram_http` (at 30/s
1.7–2.1 against 1.1–1.5 ms; 3 and 5 runs on a shared machine; BENCHMARKS.md has the
later runs). Earlier, `python -m
bench.telegram_transport`: httpx + `Bot.send_message` 6.2 ms per message, aiohttp +
`Bot.send_message` 0.86 ms (most of the difference to `call` is `Message.de_json`).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import IO, Any

from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.request import BaseRequest, RequestData

# Private module, public class in all but export: how `Bot` itself encodes parameters.
from telegram.request._requestparameter import RequestParameter

from handlers.telegram_http import HttpClient, Target, Timeouts

_JSON = "application/json"
#: Seconds an upload may take by default (`HTTPXRequest`'s `media_write_timeout`).
MEDIA_WRITE_TIMEOUT = 20.0
#: Stands for the token in the URLs python-telegram-bot builds (and logs at DEBUG);
#: `TelegramRequest` puts the token in only when it sends, so no log line can hold it.
#: Only characters URL quoting keeps (file paths get quoted before a download).
TOKEN_SLOT = "__newsbot_token__"


def slotted_base_url(api_url: str) -> str:
    """The Bot API base with `TOKEN_SLOT` where the token goes (`{token}`, else the end)."""
    return api_url.replace("{token}", TOKEN_SLOT) if "{token}" in api_url else api_url + TOKEN_SLOT


class TelegramRequest(BaseRequest):
    """A `BaseRequest` over one `HttpClient`, created in `initialize`.

    Timeouts (seconds, None for none): `connect_timeout` bounds the TCP/TLS connect,
    `pool_timeout` the wait for a free connection (at most `connection_limit` to the
    Bot API), `read_timeout` the answer, from writing the request to the end of its
    body. PTB's `write_timeout` (`MEDIA_WRITE_TIMEOUT` unless given) is added to the
    read timeout of uploads only: the request is written while the read timer runs.
    """

    __slots__ = ("_client", "_default", "_limit", "_targets", "_token")

    def __init__(
        self,
        *,
        token: str | None = None,
        connection_limit: int = 256,
        read_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
    ) -> None:
        """`token`: put in place of `TOKEN_SLOT` in each URL, at the last moment."""
        self._token = token
        self._limit = connection_limit
        self._default = Timeouts(connect=connect_timeout, read=read_timeout, pool=pool_timeout)
        self._client: HttpClient | None = None
        #: Parsed once: the lean path posts to a handful of URLs thousands of times.
        self._targets: dict[str, Target] = {}

    @property
    def read_timeout(self) -> float | None:
        return self._default.read

    async def initialize(self) -> None:
        if self._client is None:
            self._client = HttpClient(
                user_agent=self.USER_AGENT, connection_limit=self._limit, timeouts=self._default
            )

    async def shutdown(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """One HTTP request; returns (status, body). Raises `TimedOut` or `NetworkError`."""
        client = self._ready()
        target = client.target(self._url(url))
        uploading = request_data is not None and request_data.contains_files
        limits = self._timeouts(read_timeout, connect_timeout, pool_timeout)
        if uploading:
            limits = self._for_upload(limits, write_timeout)
        if request_data is None:
            return await client.request(method, target, timeouts=limits)
        if not uploading:
            # JSON rather than HTTPXRequest's form encoding: the Bot API takes both, and
            # percent-encoding Korean text was the largest CPU cost per message. Values
            # stay as PTB encodes them for a form (objects as JSON text), which the Bot
            # API reads the same way inside a JSON body.
            return await client.request(method, target, request_data.json_payload, _JSON, limits)
        body, content_type = encode_multipart(request_data)
        return await client.request(method, target, body, content_type, limits)

    async def post_json(self, url: str, body: bytes) -> tuple[int, bytes]:
        """POST an already encoded JSON `body` with the default timeouts; as `do_request`."""
        client = self._ready()
        target = self._targets.get(url)
        if target is None:
            target = self._targets[url] = client.target(self._url(url))
        return await client.request("POST", target, body, _JSON)

    def _ready(self) -> HttpClient:
        if self._client is None:
            raise RuntimeError("TelegramRequest is not initialized")
        return self._client

    def _url(self, url: str) -> str:
        return url if self._token is None else url.replace(TOKEN_SLOT, self._token)

    def _for_upload(self, limits: Timeouts | None, write: ODVInput[float]) -> Timeouts:
        """The write timeout (by default `MEDIA_WRITE_TIMEOUT`, as `HTTPXRequest`) added to
        the read timeout: the read timer runs while the upload is written. None: no limit."""
        limits = self._default if limits is None else limits
        write = MEDIA_WRITE_TIMEOUT if isinstance(write, DefaultValue) else write
        read = None if limits.read is None or write is None else limits.read + write
        return limits._replace(read=read)

    def _timeouts(
        self, read: ODVInput[float], connect: ODVInput[float], pool: ODVInput[float]
    ) -> Timeouts | None:
        """None (the client's defaults) unless PTB passed a timeout of its own."""
        if all(isinstance(value, DefaultValue) for value in (read, connect, pool)):
            return None
        default = self._default
        read = default.read if isinstance(read, DefaultValue) else read
        return Timeouts(
            connect=default.connect if isinstance(connect, DefaultValue) else connect,
            read=read,
            pool=default.pool if isinstance(pool, DefaultValue) else pool,
        )


def encode_multipart(request_data: RequestData) -> tuple[bytes, str]:
    """`multipart/form-data` for an upload: (body, content type with the boundary)."""
    boundary = secrets.token_hex(16)
    parts = [
        _part(boundary, name, value.encode())
        for name, value in request_data.json_parameters.items()
    ]
    for name, (filename, content, mime_type) in request_data.multipart_data.items():
        parts.append(_part(boundary, name, _read(content), filename, mime_type))
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def _part(
    boundary: str, name: str, content: bytes, filename: str | None = None, mime: str | None = None
) -> bytes:
    disposition = f'form-data; name="{_quoted(name)}"'
    if filename is not None:
        disposition += f'; filename="{_quoted(filename)}"'
    head = f"--{boundary}\r\nContent-Disposition: {disposition}\r\n"
    if mime is not None:
        head += f"Content-Type: {mime}\r\n"
    return b"".join((head.encode(), b"\r\n", content, b"\r\n"))


def _quoted(value: str) -> str:
    """A form field or file name inside quotes, escaped as browsers do (WHATWG)."""
    return value.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def _read(content: bytes | IO[bytes]) -> bytes:
    # PTB passes small uploads as bytes, larger ones as an open file (as httpx reads it).
    return content if isinstance(content, bytes) else content.read()


async def call(request: BaseRequest, url: str, params: Mapping[str, object]) -> Any:
    """One Bot API call (`url` = base URL with token + `/method`); returns its `result`.

    Parameters are encoded as `Bot` encodes them (SDK objects such as keyboards
    included; None left out). Raises python-telegram-bot's `TelegramError`s.
    """
    data = RequestData(
        [RequestParameter.from_input(k, v) for k, v in params.items() if v is not None]
    )
    return await request.post(url, data)


async def call_encoded(request: TelegramRequest, url: str, body: bytes) -> Any:
    """`call` with the parameters already encoded as a JSON object: the alert hot path.

    The answer goes through python-telegram-bot's own handling (`BaseRequest.post`,
    via `_Answered`), so it returns and raises exactly what `call` would.
    """
    code, payload = await request.post_json(url, body)
    return await _Answered(code, payload).post(url)


class _Answered(BaseRequest):
    """A "transport" that already has its answer: python-telegram-bot's `post` turns it
    into a result or a `TelegramError` (the status codes, `retry_after`, migration)."""

    __slots__ = ("_answer",)

    def __init__(self, code: int, payload: bytes) -> None:
        self._answer = (code, payload)

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        return self._answer
