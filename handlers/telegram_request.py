"""python-telegram-bot's transport over one aiohttp `ClientSession`, and a lean call path.

`AiohttpRequest` replaces the default httpx transport: one session (one connection
pool) for every Bot API call, no per-request URL logging (a Bot API URL carries the
token), and less CPU per message. Errors leave as python-telegram-bot's own
`TimedOut` and `NetworkError`, whose messages never include the URL.

`call` is the lean path for replies and edits: the same transport and the same
error mapping (`BaseRequest.post` raises python-telegram-bot's exceptions), without
building SDK objects from the answer. `call_encoded` is the alert hot path: the body
comes already encoded (the alert's text once per alert, only the chat per message) and
the answer still goes through `BaseRequest.post`. Measured with `python -m
bench.telegram_transport` (client CPU per message, 64 in flight, one run on a loaded
2-core machine): httpx + `Bot.send_message` 6.2 ms, aiohttp + `Bot.send_message`
0.86 ms (most of the difference to `call` is `Message.de_json`), aiohttp + `call`
0.51 ms, aiohttp + `call_encoded` 0.44 ms. What is left is mostly aiohttp's own
request machinery (about 0.2 ms a message more than a bare keep-alive HTTP/1.1
protocol measured beside it), which newsbot keeps: one HTTP client per platform.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp
import yarl
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

# Private module, public class in all but export: how `Bot` itself encodes parameters.
from telegram.request._requestparameter import RequestParameter

_JSON = {"Content-Type": "application/json"}
#: Stands for the token in the URLs python-telegram-bot builds (and logs at DEBUG);
#: `AiohttpRequest` puts the token in only when it sends, so no log line can hold it.
#: Only characters URL quoting keeps (file paths get quoted before a download).
TOKEN_SLOT = "__newsbot_token__"


def slotted_base_url(api_url: str) -> str:
    """The Bot API base with `TOKEN_SLOT` where the token goes (`{token}`, else the end)."""
    return api_url.replace("{token}", TOKEN_SLOT) if "{token}" in api_url else api_url + TOKEN_SLOT


class AiohttpRequest(BaseRequest):
    """A `BaseRequest` over one aiohttp session, created in `initialize`.

    Timeouts follow `HTTPXRequest`: `read_timeout` bounds the wait for each read of
    the answer, `connect_timeout` the TCP/TLS connect, `pool_timeout` the wait for a
    free connection; `write_timeout` is accepted and not enforced (aiohttp has no
    write timeout; the read timeout bounds a stuck upload's answer anyway).
    """

    __slots__ = ("_connect", "_default", "_limit", "_pool", "_read", "_session", "_token", "_urls")

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
        self._read, self._connect, self._pool = read_timeout, connect_timeout, pool_timeout
        self._default = _client_timeout(read_timeout, connect_timeout, pool_timeout)
        self._session: aiohttp.ClientSession | None = None
        #: Parsed once: the lean path posts to a handful of URLs thousands of times.
        self._urls: dict[str, yarl.URL] = {}

    @property
    def read_timeout(self) -> float | None:
        return self._read

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._limit)
            # The Bot API sets no cookies: no jar to consult on every request.
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers={"User-Agent": self.USER_AGENT},
                cookie_jar=aiohttp.DummyCookieJar(),
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

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
        timeout = self._timeout(read_timeout, connect_timeout, pool_timeout)
        data, headers = _body(request_data)
        return await self._exchange(method, self._url(url), data, headers, timeout)

    async def post_json(self, url: str, body: bytes) -> tuple[int, bytes]:
        """POST an already encoded JSON `body` with the default timeouts; as `do_request`."""
        known = self._urls.get(url)
        if known is None:
            known = self._urls[url] = yarl.URL(self._url(url))
        return await self._exchange("POST", known, body, _JSON, self._default)

    def _url(self, url: str) -> str:
        return url if self._token is None else url.replace(TOKEN_SLOT, self._token)

    async def _exchange(
        self,
        method: str,
        url: str | yarl.URL,
        data: object,
        headers: Mapping[str, str] | None,
        limits: aiohttp.ClientTimeout,
    ) -> tuple[int, bytes]:
        if self._session is None:
            raise RuntimeError("AiohttpRequest is not initialized")
        try:
            async with self._session.request(
                method, url, data=data, headers=headers, timeout=limits
            ) as response:
                return response.status, await response.read()
        except TimeoutError as exc:
            # aiohttp's ServerTimeoutError is both a TimeoutError and a ClientError.
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            # Only the class name: some aiohttp errors quote the URL, and it holds the token.
            raise NetworkError(f"aiohttp.{type(exc).__name__}") from exc

    def _timeout(
        self, read: ODVInput[float], connect: ODVInput[float], pool: ODVInput[float]
    ) -> aiohttp.ClientTimeout:
        defaults = (isinstance(value, DefaultValue) for value in (read, connect, pool))
        if all(defaults):
            return self._default
        read = self._read if isinstance(read, DefaultValue) else read
        connect = self._connect if isinstance(connect, DefaultValue) else connect
        pool = self._pool if isinstance(pool, DefaultValue) else pool
        return _client_timeout(read, connect, pool)


def _client_timeout(
    read: float | None, connect: float | None, pool: float | None
) -> aiohttp.ClientTimeout:
    # aiohttp's `connect` covers waiting for a pooled connection plus connecting.
    acquire = None if connect is None or pool is None else connect + pool
    return aiohttp.ClientTimeout(total=None, connect=acquire, sock_connect=connect, sock_read=read)


def _body(request_data: RequestData | None) -> tuple[object, dict[str, str] | None]:
    """A JSON body, or multipart when files are uploaded.

    JSON rather than HTTPXRequest's form encoding: the Bot API takes both, and
    percent-encoding Korean text was the largest CPU cost per message. Values
    stay as python-telegram-bot encodes them for a form (objects as JSON text),
    which the Bot API reads the same way inside a JSON body.
    """
    if request_data is None:
        return None, None
    if not request_data.contains_files:
        return request_data.json_payload, _JSON
    form = aiohttp.FormData()
    for name, value in request_data.json_parameters.items():
        form.add_field(name, value)
    for name, part in request_data.multipart_data.items():
        filename, content, mime_type = part
        form.add_field(name, content, filename=filename, content_type=mime_type)
    return form, None


async def call(request: BaseRequest, url: str, params: Mapping[str, object]) -> Any:
    """One Bot API call (`url` = base URL with token + `/method`); returns its `result`.

    Parameters are encoded as `Bot` encodes them (SDK objects such as keyboards
    included; None left out). Raises python-telegram-bot's `TelegramError`s.
    """
    data = RequestData(
        [RequestParameter.from_input(k, v) for k, v in params.items() if v is not None]
    )
    return await request.post(url, data)


async def call_encoded(request: AiohttpRequest, url: str, body: bytes) -> Any:
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
