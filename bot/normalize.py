"""Entry → Post: the one place that decides what a source's item means.

Pure: the same entry, source rules and clock give the same Post. Anything an
entry cannot be trusted for (no usable link, no title) makes it skipped, with the
reason, rather than shown wrong.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from urllib.parse import parse_qsl, unquote, urlencode, urljoin, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from bot.models import Entry, Post
from bot.text import (
    leading,
    looks_like_html,
    one_line,
    paragraphs,
    single_line,
    truncate,
    without_boilerplate,
)

#: How much of the story the Post keeps; the formatter cuts it to each platform's limit.
STORED_EXCERPT = 600
SEOUL = ZoneInfo("Asia/Seoul")
#: Titles and categories that mark a post as breaking news.
TITLE_MARKERS = ("[속보]", "속보", "[breaking]", "breaking")
CATEGORY_MARKERS = frozenset({"속보", "breaking"})
IMAGE_MARKERS = ("속보", "breaking")
#: Query parameters that identify a campaign, not a page.
_TRACKING = re.compile(r"^(utm_\w+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|igshid|ref_src)$", re.I)
_IMG = re.compile(r"<img\b[^>]*>", re.I)
#: An absolute http(s) link with a plain host (no user info, numeric port if any). Case
#: is ignored in the scheme only: a case-blind character class costs a third more.
_PLAIN_HTTP = re.compile(
    r"(?i:https?)://[A-Za-z0-9.\-_~\u0080-\uffff]+(?P<port>:\d{1,5})?(?=[/?#]|$)\S*$"
)
_ATTRIBUTE = re.compile(r"""\b(src|alt)\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)""", re.I)


@dataclass(frozen=True, slots=True)
class SourceRules:
    """What the normalizer needs to know about the source an entry came from."""

    name: str
    #: Base for relative links: the feed's URL or the site's.
    base_url: str | None = None
    timezone: tzinfo = SEOUL
    #: Categories for entries that carry none.
    categories: tuple[str, ...] = ()
    #: Every post of this source is breaking news.
    breaking: bool = False


class Skipped(Exception):
    """This entry cannot become a Post; the message says why, in one line."""


def normalize(entry: Entry, rules: SourceRules, *, now: datetime, seen_at: datetime | None) -> Post:
    """The Post for `entry`, or `Skipped` with the reason.

    `now` clamps dates more than a day ahead; `seen_at` stands in for a missing
    date (None leaves `published_at` None, as `newsbot check` wants).
    """
    link, plain = _absolute(entry.link or _link_like(entry.guid), rules.base_url)
    if link is None:
        raise Skipped(f"no usable http(s) link (guid {entry.guid!r})")
    title = single_line(entry.title or "")
    excerpt = _excerpt(entry)
    if not title:
        title = truncate(excerpt.split("\n", 1)[0], 120)
    if not title:
        raise Skipped(f"no title ({link})")
    categories = unique_categories(entry.categories) or unique_categories(rules.categories)
    image = absolute_link(entry.image, rules.base_url)
    canonical = _canonical(link, plain or _PLAIN_HTTP.match(link))
    guid = (entry.guid or "").strip() or canonical
    published_at = _published(entry, rules.timezone, now=now, seen_at=seen_at)
    breaking = is_breaking(entry, title, categories, image, source_breaking=rules.breaking)
    fingerprint = _digest(canonical)
    # In field order, by position: see bot.models._quick_init.
    source = rules.name
    return Post(
        source, guid, link, title, excerpt, categories, published_at, image, breaking, fingerprint
    )


def _link_like(guid: str | None) -> str | None:
    return guid if guid and guid.startswith(("http://", "https://")) else None


def absolute_link(link: str | None, base: str | None) -> str | None:
    """`link` resolved against `base`; None unless the result is http(s) with a host."""
    return _absolute(link, base)[0]


def _absolute(link: str | None, base: str | None) -> tuple[str | None, re.Match[str] | None]:
    """`absolute_link`, with the `_PLAIN_HTTP` match of the link when it is plain: the
    normalizer hands it on to `_canonical` (a match costs ~1 µs)."""
    link = (link or "").strip()
    if not link:
        return None, None
    if " " in link:
        link = link.replace(" ", "%20")
    if plain := _PLAIN_HTTP.match(link):
        return link, plain  # the common case, decided without urlsplit
    absolute = link.startswith(("http://", "https://"))
    resolved = urljoin(base, link) if base and not absolute else link
    try:
        parts = urlsplit(resolved)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return None, None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None, None
    return resolved, None


def canonical_link(link: str) -> str:
    """The link as a story's identity: no tracking parameters, fragment, default port."""
    return _canonical(link, _PLAIN_HTTP.match(link))


def _canonical(link: str, plain: re.Match[str] | None) -> str:
    """`canonical_link`, given `_PLAIN_HTTP.match(link)`."""
    if plain and "?" not in link and "#" not in link and not plain.group("port"):
        scheme, _, rest = link.partition("://")
        host, slash, path = rest.partition("/")
        return f"{scheme.lower()}://{host.lower()}/{path if slash else ''}"
    parts = urlsplit(link)
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    if port and port not in (80, 443):
        host = f"{host}:{port}"
    query = ""
    if parts.query:
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        query = urlencode([(k, v) for k, v in pairs if not _TRACKING.match(k)])
    return urlunsplit((parts.scheme.lower(), host, parts.path or "/", query, ""))


def fingerprint(link: str) -> str:
    """A short stable hash of the canonical link."""
    return _digest(canonical_link(link))


def _digest(canonical: str) -> str:
    # http and https, and a trailing slash, are the same story.
    key = canonical.split("://", 1)[-1].rstrip("/")
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def unique_categories(raw: Iterable[str]) -> tuple[str, ...]:
    """Categories as written, trimmed, first spelling kept, case-insensitive duplicates gone."""
    seen: set[str] = set()
    result: list[str] = []
    for item in raw:
        plain = single_line(item) if looks_like_html(item) else item
        name = one_line(plain.lstrip("#"))[:64]
        key = name.casefold()
        if name and key not in seen:
            seen.add(key)
            result.append(name)
    return tuple(result)


_ONE_DAY = timedelta(days=1)

#: An entity the CMS cut in half at the end of a summary (`… &hel`).
_HALF_ENTITY = re.compile(r"&#?[A-Za-z0-9]{0,10}$")


#: Markup read for an excerpt: far more than the text kept, far less than a long body.
_EXCERPT_MARKUP = 6 * STORED_EXCERPT


def _excerpt(entry: Entry) -> str:
    for candidate in (entry.summary, entry.content):
        if candidate:
            markup = candidate.rstrip()
            head = _head(markup)
            parts = paragraphs(head)
            if len(head) == len(markup):  # the end is there: drop its signature
                parts = without_boilerplate(parts)
            if parts:
                return truncate(leading(parts, STORED_EXCERPT), STORED_EXCERPT)
    return ""


def _head(markup: str) -> str:
    """The start of `markup`, cut after a tag, without an entity cut in half at its end."""
    if len(markup) > _EXCERPT_MARKUP:
        end = markup.rfind(">", 0, _EXCERPT_MARKUP)
        markup = markup[: end + 1] if end > 0 else markup[:_EXCERPT_MARKUP]
    return _HALF_ENTITY.sub("", markup) if "&" in markup[-12:] else markup


def _published(
    entry: Entry, zone: tzinfo, *, now: datetime, seen_at: datetime | None
) -> datetime | None:
    when = entry.published or entry.updated
    if when is None:
        return seen_at
    if when.tzinfo is None:
        if when.time() == time(0) and seen_at is not None:
            # A bare date (a Jekyll file name): the post came out some time that day, not
            # at midnight; the moment newsbot first saw it is the better guess today.
            local_today = seen_at.astimezone(zone).date()
            if when.date() == local_today:
                return seen_at
        when = when.replace(tzinfo=zone)
    # A CMS with a wrong clock must not pin a post to the top for days.
    return min(when, now) if when > now + _ONE_DAY else when


def is_breaking(
    entry: Entry,
    title: str,
    categories: tuple[str, ...],
    image: str | None,
    *,
    source_breaking: bool,
) -> bool:
    """Breaking by the source's word, the title's marker, a category, or a banner image."""
    folded = title.casefold()
    return (
        source_breaking
        or entry.breaking is True
        or folded.startswith(TITLE_MARKERS)
        or any(c.casefold() in CATEGORY_MARKERS for c in categories)
        or _marks_breaking(unquote(image or ""))
        or _banner_is_breaking(entry.content)
    )


def _marks_breaking(text: str) -> bool:
    folded = text.casefold()
    return any(marker in folded for marker in IMAGE_MARKERS)


def _banner_is_breaking(content: str | None) -> bool:
    """True when the body's first image names breaking news in its path or alt text."""
    match = _IMG.search(content or "")
    if match is None:
        return False
    attributes = {
        name.lower(): html.unescape(value[1:-1] if value[:1] in "\"'" else value)
        for name, value in _ATTRIBUTE.findall(match.group())
    }
    return _marks_breaking(unquote(attributes.get("src", ""))) or _marks_breaking(
        attributes.get("alt", "")
    )
