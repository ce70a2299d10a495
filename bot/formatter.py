"""Post → Alert, within a platform's limits. Pure.

The adapter renders an Alert in its own markup; it never cuts or rewrites text.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from bot.models import Alert, Broadcast, PlatformLimits, Post
from bot.text import truncate

#: Room kept for the breaking line, link line and hashtags around a broadcast's text.
_BROADCAST_MARGIN = 200


def site_name(link: str | None) -> str | None:
    """The host a reader recognises: `newsdao.kr` for `https://www.newsdao.kr/x`."""
    if not link:
        return None
    host = urlsplit(link).hostname or ""
    return host.removeprefix("www.") or None


def alert_for_post(post: Post, limits: PlatformLimits) -> Alert:
    """The alert for `post`: headline and excerpt cut to the platform's limits."""
    return Alert(
        headline=truncate(post.title, limits.headline_length),
        excerpt=truncate(post.excerpt, limits.excerpt_length),
        link=post.link,
        categories=post.categories,
        breaking=post.breaking,
        image=post.image,
        site=site_name(post.link),
        source=post.source,
        published_at=post.published_at,
    )


def alert_for_broadcast(broadcast: Broadcast, limits: PlatformLimits) -> Alert:
    """An admin's broadcast: no headline, the whole text as the body, no link."""
    budget = max(limits.text_length - _BROADCAST_MARGIN, 100)
    return Alert(
        headline="",
        excerpt=truncate(broadcast.text, budget),
        link=None,
        categories=(broadcast.category,) if broadcast.category else (),
        breaking=False,
        published_at=broadcast.created_at,
    )


def render_plain(alert: Alert, *, language: str = "ko") -> str:
    """The alert as plain text, for the console and as a last-resort fallback."""
    lines: list[str] = []
    if alert.breaking:
        lines.append("🔴 속보" if language == "ko" else "🔴 Breaking")
    if alert.headline:
        lines.append(alert.headline)
    if alert.excerpt:
        lines.append(alert.excerpt)
    if alert.link:
        lines.append(alert.link)
    if alert.categories:
        lines.append(" ".join(hashtag(c) for c in alert.categories))
    return "\n".join(lines)


def hashtag(category: str) -> str:
    """`#IT`, `#World_News`: a category as a tag the platforms link."""
    return "#" + "_".join(category.split())
