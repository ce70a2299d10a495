"""The HTTP API: a newsroom's CMS pushes posts; operators read health and metrics.

POST /api/posts   Bearer token; JSON post → 202 {"id": …} | 200 {"duplicate": true}
                  | 400 reason | 401 | 413 (over 1 MiB) | 429 (flooding)
GET  /healthz     200 or 503, with JSON detail
GET  /metrics     Prometheus text
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.metrics import CONTENT_TYPE, Metrics
from bot.models import Entry
from bot.normalize import SEOUL, Skipped, SourceRules, normalize
from bot.ratelimit import SlidingWindow
from storage import Store

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
#: Requests one client may make per window before getting 429.
FLOOD_LIMIT = 120
FLOOD_WINDOW = 60.0

HealthCheck = Callable[[], Awaitable[dict[str, bool]]]


class PushedPost(BaseModel):
    """The JSON body of `POST /api/posts`."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=1, max_length=1000)
    link: str = Field(min_length=1, max_length=2000)
    excerpt: str | None = Field(default=None, max_length=20000)
    categories: list[str] = Field(default_factory=list, max_length=50)
    breaking: bool = False
    #: ISO 8601; without an offset it is Korean time.
    published: datetime | None = None
    guid: str | None = Field(default=None, max_length=2000)
    image: str | None = Field(default=None, max_length=2000)
    source: str = Field(default="push", min_length=1, max_length=100)

    def entry(self) -> Entry:
        return Entry(
            guid=self.guid,
            link=self.link,
            title=self.title,
            summary=self.excerpt,
            categories=tuple(self.categories),
            published=self.published,
            image=self.image,
            breaking=self.breaking or None,
        )


@dataclass
class ApiContext:
    store: Store
    token: str
    metrics: Metrics
    health: HealthCheck
    on_planned: Callable[[], None]
    clients: dict[str, SlidingWindow]


CONTEXT = web.AppKey("context", ApiContext)


def build_api(
    store: Store,
    *,
    token: str,
    metrics: Metrics,
    health: HealthCheck,
    on_planned: Callable[[], None] = lambda: None,
) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY, middlewares=[_flood_guard])
    app[CONTEXT] = ApiContext(store, token, metrics, health, on_planned, {})
    app.router.add_post("/api/posts", push_post)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_page)
    return app


def _error(status: int, reason: str) -> web.Response:
    return web.json_response({"error": reason}, status=status)


@web.middleware
async def _flood_guard(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """More than FLOOD_LIMIT requests a minute from one address get 429."""
    clients = request.app[CONTEXT].clients
    key = request.remote or "?"
    window = clients.setdefault(key, SlidingWindow(FLOOD_LIMIT, FLOOD_WINDOW))
    now = time.monotonic()
    ready = window.ready_at(now)
    if ready > now:
        response = _error(429, "too many requests")
        response.headers["Retry-After"] = str(int(ready - now) + 1)
        return response
    window.record(now)
    if len(clients) > 10_000:
        clients.clear()
    return await handler(request)


def _authorized(request: web.Request, token: str) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    # Compare in constant time so response timing leaks nothing about the token.
    return scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), token.encode())


async def push_post(request: web.Request) -> web.Response:
    context = request.app[CONTEXT]
    if not _authorized(request, context.token):
        return _error(401, "missing or wrong bearer token")
    try:
        raw: Any = await request.json()
        pushed = PushedPost.model_validate(raw)
    except web.HTTPRequestEntityTooLarge:
        return _error(413, f"body over {MAX_BODY} bytes")
    except ValueError as exc:
        return _error(400, _reason(exc))
    now = datetime.now(UTC)
    rules = SourceRules(name=pushed.source, base_url=None, timezone=SEOUL)
    try:
        post = normalize(pushed.entry(), rules, now=now, seen_at=now)
    except Skipped as exc:
        return _error(400, str(exc))
    state = await context.store.source_state(pushed.source)
    result = await context.store.ingest(state, [post], baseline=False)
    if not result.alerted:
        return web.json_response({"duplicate": True}, status=200)
    context.metrics.posts_ingested.labels(pushed.source).inc()
    if result.planned:
        context.on_planned()
    log.info("pushed post %s planned for %d chats", result.alerted[0].id, result.planned)
    return web.json_response({"id": result.alerted[0].id, "planned": result.planned}, status=202)


def _reason(exc: ValueError) -> str:
    if isinstance(exc, ValidationError):
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "body"
        return f"{where}: {error['msg']}"
    return "body is not valid JSON"


async def healthz(request: web.Request) -> web.Response:
    checks = await request.app[CONTEXT].health()
    status = 200 if all(checks.values()) else 503
    return web.json_response({"ok": status == 200, "checks": checks}, status=status)


async def metrics_page(request: web.Request) -> web.Response:
    context = request.app[CONTEXT]
    stats = await context.store.stats()
    for state, count in stats.deliveries_by_state.items():
        context.metrics.outbox_depth.labels(state).set(count)
    return web.Response(body=context.metrics.render(), headers={"Content-Type": CONTENT_TYPE})


async def serve(app: web.Application, listen: str) -> web.AppRunner:
    """Start `app` on `host:port`; the caller cleans the runner up."""
    host, _, port = listen.rpartition(":")
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host.strip("[]") or "127.0.0.1", int(port)).start()
    return runner
