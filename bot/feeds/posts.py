"""`parse_post`: one Jekyll-style post file (YAML front matter + body) to an Entry.

Links and ids follow Jekyll and jekyll-feed exactly, so the same article read from
a posts folder or from the site's `/feed.xml` gets the same guid and link.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import PurePosixPath
from typing import Any

import yaml

from bot.errors import ParseError
from bot.feeds.dates import parse_date
from bot.feeds.encoding import decode
from bot.feeds.markdown import to_html
from bot.feeds.permalink import PostFacts, absolute, post_id, post_path
from bot.models import Entry

_FRONT_MATTER = re.compile(
    r"\A---[ \t]*\r?\n(.*?)^(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.DOTALL | re.MULTILINE
)
_OPENING = re.compile(r"\A---[ \t]*\r?\n")
_DATED_NAME = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})-(.+)")
_HTML_SUFFIXES = frozenset({".html", ".htm"})
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

DEFAULT_PERMALINK = "/:categories/:year/:month/:day/:title:output_ext"


def parse_post(
    body: bytes,
    *,
    name: str,
    site_url: str | None = None,
    permalink: str = DEFAULT_PERMALINK,
) -> Entry:
    """Read one post file named `name` (date and slug come from a `YYYY-MM-DD-` prefix).

    Raises ParseError ("broken front matter: ...") when the YAML cannot be read.
    """
    text = decode(body).lstrip("\ufeff")
    meta, source = split_front_matter(text)
    stem, suffix = _stem(name)
    named = _DATED_NAME.fullmatch(stem)
    name_date = _name_date(named)
    slug = _string(meta.get("slug")) or (named.group(4) if named else stem)
    published = _meta_date(meta.get("date")) or name_date
    categories = _names(meta.get("categories")) + _names(meta.get("category"), split=False)
    link, guid = _address(meta, site_url, permalink, PostFacts(slug, categories, published))
    title = _string(meta.get("title"))
    if title is None and named:
        title = " ".join(word.capitalize() for word in slug.split("-"))  # Jekyll's titleize
    return Entry(
        guid=guid,
        link=link,
        title=title,
        summary=_string(meta.get("excerpt")),
        content=(source if suffix in _HTML_SUFFIXES else to_html(source)).strip() or None,
        categories=_unique(categories + _names(meta.get("tags"))),
        published=published if isinstance(published, datetime) else _midnight(published),
        updated=_meta_date(meta.get("last_modified_at") or meta.get("updated")),
        image=_image(meta.get("image"), site_url),
        breaking=meta["breaking"] if isinstance(meta.get("breaking"), bool) else None,
    )


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """The front matter as a mapping (empty if there is none) and the body after it."""
    match = _FRONT_MATTER.match(text)
    if match is None:
        if _OPENING.match(text):
            raise ParseError("broken front matter: no closing '---' line")
        return {}, text
    try:
        meta = yaml.load(match.group(1), Loader=_Loader)
    except yaml.YAMLError as exc:
        raise ParseError(f"broken front matter: {_yaml_problem(exc)}") from exc
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise ParseError(f"broken front matter: a {type(meta).__name__}, not a mapping")
    return meta, text[match.end() :]


def _yaml_problem(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        # +2: marks count from 0, and the opening '---' is the file's first line.
        return f"{exc.problem} at line {exc.problem_mark.line + 2}"
    return str(exc).splitlines()[0]


def _address(
    meta: dict[str, Any], site_url: str | None, template: str, facts: PostFacts
) -> tuple[str | None, str | None]:
    """(link, guid): front matter permalink or url, else the site's permalink template.

    A Jekyll path's guid is Jekyll's own post id (what jekyll-feed writes as <id>); a
    finished address from elsewhere gets the address without ".html".
    """
    permalink = _string(meta.get("permalink"))
    url = _string(meta.get("url"))
    given = permalink or url
    if given and "://" in given:
        return given, _without_html(given)
    if permalink is None and url is not None:
        link = absolute(site_url, url) if site_url else url  # no placeholders in `url`
        return link, _without_html(link)
    if permalink is None and site_url is None:
        return None, None
    path = post_path(permalink or template, facts)
    ident = post_id(path, facts.slug)
    if site_url is None:
        return path, ident
    return absolute(site_url, path), absolute(site_url, ident)


def _without_html(link: str) -> str:
    return link[: -len(".html")] if link.endswith(".html") else link


def _stem(name: str) -> tuple[str, str]:
    path = PurePosixPath(name.replace("\\", "/"))
    return path.stem, path.suffix.lower()


def _name_date(named: re.Match[str] | None) -> date | None:
    if named is None:
        return None
    try:
        return date(int(named.group(1)), int(named.group(2)), int(named.group(3)))
    except ValueError:
        return None


def _meta_date(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return _midnight(value)
    if isinstance(value, str):
        return parse_date(value)
    return None


def _midnight(value: date | None) -> datetime | None:
    return None if value is None else datetime(value.year, value.month, value.day)


def _names(value: object, *, split: bool = True) -> list[str]:
    """Front matter names: a list, or a string (space-separated, as Jekyll reads it).

    Only scalars count: a nested list is not a name, and turning one into text could
    expand a YAML alias bomb (`&a [*b, *b, ...]`) into gigabytes.
    """
    if isinstance(value, str | int | float):
        text = str(value).strip()
        return text.split() if split else ([text] if text else [])
    if isinstance(value, list):
        scalars = (str(item).strip() for item in value if isinstance(item, str | int | float))
        return [name for name in scalars if name]
    return []


def _unique(names: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))


def _string(value: object) -> str | None:
    if not isinstance(value, str | int | float | date):
        return None  # mappings, lists and sets are not text (and may be alias bombs)
    text = str(value).strip()
    return text or None


def _image(value: object, site_url: str | None) -> str | None:
    """Front matter `image`: a path or URL, or a mapping with `path` (jekyll-seo-tag)."""
    if isinstance(value, dict):
        value = value.get("path")
    path = _string(value)
    if path is None or site_url is None or "://" in path:
        return path
    return absolute(site_url, path)
