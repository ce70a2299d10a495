"""Small builders for records, so tests say only what matters to them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from bot.models import Chat, Post
from bot.normalize import fingerprint


def make_post(n: int = 1, **changes: Any) -> Post:
    link = changes.pop("link", f"https://news.example.kr/articles/{n}")
    post = Post(
        source="newsroom",
        guid=f"guid-{n}",
        link=link,
        title=f"Headline {n}",
        excerpt=f"Excerpt of story {n}.",
        categories=("IT",),
        published_at=datetime.now(UTC),
        image=None,
        breaking=False,
        fingerprint=fingerprint(link),
    )
    return replace(post, **changes)


def make_chat(n: int = 1, **changes: Any) -> Chat:
    return replace(Chat(platform="telegram", chat_id=str(1000 + n)), **changes)
