"""Post → Alert, within a platform's limits. Pure.

The adapter renders an Alert in its own markup; it never cuts or rewrites text.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from bot.models import Alert, Broadcast, LinkItem, PlatformLimits, Post
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


#: The words before a digest's headlines, by language.
DIGEST_TITLE = {"ko": "📰 뉴스 다이제스트", "en": "📰 News digest"}


def alert_for_digest(
    posts: Sequence[Post], limits: PlatformLimits, *, language: str, held: int = 0
) -> Alert:
    """One message listing `posts` (newest first), each headline linked.

    Headlines are cut so the whole digest fits the platform's message length. When
    `held` alerts were more than the digest lists, its title says so.
    """
    english = language == "en"
    title = DIGEST_TITLE["en" if english else "ko"]
    links = sum(len(p.link) + 8 for p in posts)
    budget = (limits.text_length - len(title) - 50 - links) // max(1, len(posts))
    width = max(20, min(limits.headline_length, budget))
    items = tuple(
        LinkItem(truncate(p.title, width), p.link, p.breaking, p.published_at) for p in posts
    )
    count = f"{len(posts)}"
    if held > len(posts):
        count = (
            f"newest {len(posts)} of {held}" if english else f"최신 {len(posts)}건 / 전체 {held}건"
        )
    return Alert(
        headline=f"{title} ({count})",
        excerpt="",
        link=None,
        categories=(),
        breaking=False,
        items=items,
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
    for item in alert.items:
        lines.append(f"• {item.title}\n  {item.link}")
    if alert.link:
        lines.append(alert.link)
    if alert.categories:
        lines.append(" ".join(hashtag(c) for c in alert.categories))
    return "\n".join(lines)


def hashtag(category: str) -> str:
    """`#IT`, `#World_News`: a category as a tag the platforms link."""
    return "#" + "_".join(category.split())
