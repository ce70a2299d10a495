"""The push API over real HTTP on loopback, on a real database."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.api import FLOOD_LIMIT, build_api
from bot.config import DeliverySettings
from bot.delivery import Dispatcher
from bot.metrics import Metrics
from storage import Store
from tests.factories import make_chat
from tests.integration.test_dispatcher import RecordingSender

TOKEN = "push-token-0123456789"
Client = TestClient[web.Request, web.Application]
AUTH = {"Authorization": f"Bearer {TOKEN}"}
POST = {
    "title": "[속보] 기준금리 인하",
    "link": "https://newsdao.kr/economy/rate-cut",
    "categories": ["경제"],
}


class Health:
    def __init__(self) -> None:
        self.checks = {"database": True, "telegram": True}

    async def __call__(self) -> dict[str, bool]:
        return dict(self.checks)


@pytest.fixture
def health() -> Health:
    return Health()


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
async def client(store: Store, health: Health, metrics: Metrics) -> AsyncIterator[Client]:
    app = build_api(store, token=TOKEN, metrics=metrics, health=health)
    async with TestClient(TestServer(app)) as opened:
        yield opened


async def test_a_pushed_post_is_planned_at_once_and_delivered(
    store: Store, client: Client, metrics: Metrics
) -> None:
    chat = await store.ensure_chat(make_chat(1))
    await store.subscribe(chat, ["경제"])
    response = await client.post("/api/posts", json=POST, headers=AUTH)
    assert response.status == 202
    body = await response.json()
    assert body["planned"] == 1 and isinstance(body["id"], int)
    sender = RecordingSender()
    dispatcher = Dispatcher(
        store, [sender], DeliverySettings(), owner="t", rng=random.Random(0), metrics=metrics
    )
    await dispatcher.drain()
    assert sender.delivered == [(chat.chat_id, "[속보] 기준금리 인하")]
    text = await (await client.get("/metrics")).text()
    assert 'newsbot_alerts_sent_total{platform="telegram"} 1.0' in text
    assert 'newsbot_outbox_depth{state="sent"} 1.0' in text


async def test_the_same_post_again_is_a_duplicate(client: Client) -> None:
    assert (await client.post("/api/posts", json=POST, headers=AUTH)).status == 202
    again = await client.post("/api/posts", json=POST, headers=AUTH)
    assert (again.status, await again.json()) == (200, {"duplicate": True})


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}]
)
async def test_a_missing_or_wrong_token_is_401_and_stores_nothing(
    store: Store, client: Client, headers: dict[str, str]
) -> None:
    response = await client.post("/api/posts", json=POST, headers=headers)
    assert response.status == 401
    assert await store.latest(5) == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "body is not valid JSON"),
        (json.dumps({"link": "https://x.kr/a"}).encode(), "title: Field required"),
        (json.dumps({**POST, "link": "javascript:alert(1)"}).encode(), "no usable http(s) link"),
        (json.dumps({**POST, "colour": "red"}).encode(), "colour: Extra inputs are not permitted"),
        (json.dumps({**POST, "published": "yesterday"}).encode(), "published: "),
    ],
)
async def test_invalid_bodies_are_400_with_the_reason(
    store: Store, client: Client, body: bytes, reason: str
) -> None:
    response = await client.post("/api/posts", data=body, headers=AUTH)
    assert response.status == 400
    assert reason in (await response.json())["error"]
    assert await store.latest(5) == []


async def test_a_body_over_one_mebibyte_is_413(client: Client) -> None:
    big = json.dumps({**POST, "excerpt": "가" * 600_000}).encode()
    response = await client.post("/api/posts", data=big, headers=AUTH)
    assert response.status == 413


async def test_flooding_gets_429_and_the_process_keeps_serving(client: Client) -> None:
    statuses = [
        (await client.post("/api/posts", data=b"{}", headers=AUTH)).status
        for _ in range(FLOOD_LIMIT + 5)
    ]
    assert statuses[:FLOOD_LIMIT] == [400] * FLOOD_LIMIT
    assert statuses[FLOOD_LIMIT:] == [429] * 5


async def test_health_is_503_when_anything_is_down(client: Client, health: Health) -> None:
    ok = await client.get("/healthz")
    assert ok.status == 200 and (await ok.json())["checks"]["database"] is True
    health.checks["telegram"] = False
    down = await client.get("/healthz")
    assert down.status == 503
    assert (await down.json())["checks"] == {"database": True, "telegram": False}


async def test_metrics_are_prometheus_text(client: Client) -> None:
    await client.post("/api/posts", json=POST, headers=AUTH)
    response = await client.get("/metrics")
    text = await response.text()
    assert response.headers["Content-Type"].startswith("text/plain")
    assert 'newsbot_posts_ingested_total{source="push"} 1.0' in text
    assert 'newsbot_outbox_depth{state="pending"}' in text
    for name in (
        "newsbot_alerts_sent",
        "newsbot_alerts_failed",
        "newsbot_fetch_seconds",
        "newsbot_delivery_seconds",
        "newsbot_source_fetch_errors",
    ):
        assert f"# HELP {name}" in text
