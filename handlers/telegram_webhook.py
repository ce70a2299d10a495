"""Webhook mode: Telegram POSTs each update to newsbot's own aiohttp server.

Only requests carrying the configured secret in `X-Telegram-Bot-Api-Secret-Token`
are accepted (403 otherwise); Telegram sends the secret given to setWebhook.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
Deliver = Callable[[dict[str, Any]], Awaitable[None]]


def split_listen(listen: str) -> tuple[str, int]:
    """`host:port` (IPv6 in brackets) → (host, port); raises ValueError."""
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"listen address {listen!r} is not host:port")
    return host.strip("[]"), int(port)


class WebhookServer:
    """Receives updates on `path` and hands each JSON body to `deliver`."""

    def __init__(self, listen: str, path: str, secret: str, deliver: Deliver) -> None:
        self._host, self._port = split_listen(listen)
        self._path = path or "/"
        self._secret = secret.encode()
        self._deliver = deliver
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post(self._path, self._handle)
        # No access log: request lines are noise here, one per update.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=5.0)
        await runner.setup()
        await web.TCPSite(runner, self._host, self._port).start()
        self._runner = runner

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            log.warning("telegram webhook: refused a request without the secret")
            return web.Response(status=403)
        try:
            body = await request.json()
        except ValueError:
            return web.Response(status=400)
        if not isinstance(body, dict):
            return web.Response(status=400)
        # 200 even if the update is bad: a non-2xx answer makes Telegram resend it forever.
        await self._deliver(body)
        return web.Response(status=200)
