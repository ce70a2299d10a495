"""Jekyll's permalinks, reproduced so a posts folder and jekyll-feed agree on links.

`post_path` expands a permalink template the way Jekyll's URL class does (values
slugified and escaped, empty placeholders dropping their path segment), and `post_id`
is Jekyll's `Document#id`: the URL's directory joined with the slug, which is what
jekyll-feed writes as each entry's Atom `<id>`.
"""

from __future__ import annotations

import posixpath
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import quote, urljoin

#: Jekyll's built-in permalink styles.
STYLES = {
    "date": "/:categories/:year/:month/:day/:title:output_ext",
    "pretty": "/:categories/:year/:month/:day/:title/",
    "ordinal": "/:categories/:year/:y_day/:title:output_ext",
    "weekdate": "/:categories/:year/W:week/:short_day/:title:output_ext",
    "none": "/:categories/:title:output_ext",
}

#: What Jekyll's `pretty` mode keeps besides letters, marks and digits.
_PRETTY_KEEP = frozenset("._~!$&'()+,;=@")
#: Characters Jekyll's `escape_path` leaves alone (RFC 3986 unreserved, sub-delims, `:@/`).
_PATH_SAFE = "-._~!$&'()*+,;=:@/"


@dataclass(frozen=True, slots=True)
class PostFacts:
    """What a permalink can be built from."""

    slug: str
    categories: Sequence[str]
    date: date | None


def slugify(text: str, *, pretty: bool = False, cased: bool = False) -> str:
    """Jekyll's `Utils.slugify` in its `default` and `pretty` modes."""
    kept = (_slug_char(char, pretty) for char in text)
    slug = re.sub("-{2,}", "-", "".join(kept)).strip("-")
    return slug if cased else slug.lower()


def _slug_char(char: str, pretty: bool) -> str:
    # Jekyll's classes are \p{M}\p{L}\p{Nd}; a run of anything else becomes one "-".
    if pretty and char in _PRETTY_KEEP:
        return char
    category = unicodedata.category(char)
    return char if category[0] in "LM" or category == "Nd" else "-"


def _date_values(when: date | None) -> dict[str, str]:
    if when is None:
        return {}
    values = {
        "year": f"{when.year:04d}",
        "month": f"{when.month:02d}",
        "day": f"{when.day:02d}",
        "i_month": str(when.month),
        "i_day": str(when.day),
        "short_year": f"{when.year % 100:02d}",
        "y_day": f"{when.timetuple().tm_yday:03d}",
        "short_month": when.strftime("%b"),
        "long_month": when.strftime("%B"),
        "short_day": when.strftime("%a"),
        "long_day": when.strftime("%A"),
        "week": f"{when.isocalendar()[1]:02d}",
    }
    if isinstance(when, datetime):
        values |= {
            "hour": f"{when.hour:02d}",
            "minute": f"{when.minute:02d}",
            "second": f"{when.second:02d}",
        }
    return values


def placeholders(facts: PostFacts) -> dict[str, str]:
    """Every placeholder's value for one post, escaped as Jekyll escapes them."""
    seen: list[str] = []
    for category in facts.categories:
        if category.lower() not in seen:
            seen.append(category.lower())
    values = _date_values(facts.date) | {
        "categories": "/".join(seen),
        "title": slugify(facts.slug, pretty=True, cased=True),
        "slug": slugify(facts.slug),
        "name": slugify(facts.slug),
        "output_ext": ".html",
    }
    return {name: quote(value, safe=_PATH_SAFE) for name, value in values.items()}


_KNOWN = (
    "year", "month", "day", "hour", "minute", "second", "i_month", "i_day",
    "short_year", "y_day", "short_month", "long_month", "short_day", "long_day",
    "week", "categories", "title", "slug", "name", "output_ext",
)  # fmt: skip
#: Longest names first, so `:month` never eats the start of `:monthly`-like names.
_PLACEHOLDER = re.compile(":(" + "|".join(sorted(_KNOWN, key=len, reverse=True)) + ")")


def post_path(template: str, facts: PostFacts) -> str:
    """The post's URL path: `template` (or a style name) with placeholders filled in.

    Placeholders without a value (no date, no category) become empty, and the empty
    path segments they leave are collapsed, as Jekyll's URL sanitizing does.
    """
    values = placeholders(facts)
    path = _PLACEHOLDER.sub(lambda m: values.get(m.group(1), ""), STYLES.get(template, template))
    path = re.sub(r"/{2,}", "/", "/" + path.lstrip("/"))
    return quote(path, safe=_PATH_SAFE + "%")


def post_id(path: str, slug: str) -> str:
    """Jekyll's `Document#id`: the URL's directory joined with the (escaped) slug."""
    directory = posixpath.dirname(path.rstrip("/")) or "/"
    return posixpath.join(directory, quote(slug, safe=_PATH_SAFE))


def absolute(site_url: str, path: str) -> str:
    """Jekyll's `absolute_url`: site URL (with any base path) + a root-relative path."""
    if "://" in path or path.startswith("//"):
        return urljoin(site_url, path)
    return site_url.rstrip("/") + "/" + quote(path.lstrip("/"), safe=_PATH_SAFE + "%")
