"""On well-formed feeds newsbot reads the same title, link and date as feedparser.

feedparser (a dev dependency) is the reference for well-formed input; where the two
differ on broken input, the corpus tests pin down newsbot's (correct) reading.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import feedparser
import pytest

from bot.feeds import parse_feed

KST = timezone(timedelta(hours=9))
TITLES = (
    "반도체 수출 & 투자 “역대 최대”",
    "<속보> 국회 본회의",
    "AT&T·삼성 협력…",
    "  공백  제목  ",
)


def _when(n: int) -> datetime:
    return datetime(2026, 11, 29, 14, 3, tzinfo=KST) - timedelta(hours=7 * n)


def rss() -> bytes:
    items = "".join(
        f"<item><title><![CDATA[{title}]]></title><link>/news/{n}?a=1&amp;b=2</link>"
        f"<guid isPermaLink='false'>id-{n}</guid>"
        f"<pubDate>{_when(n).strftime('%a, %d %b %Y %H:%M:%S +0900')}</pubDate></item>"
        for n, title in enumerate(TITLES)
    )
    return f"<rss version='2.0'><channel><title>t</title>{items}</channel></rss>".encode()


def atom() -> bytes:
    entries = "".join(
        f"<entry><title>{title.replace('&', '&amp;').replace('<', '&lt;')}</title>"
        f"<link rel='alternate' href='posts/{n}.html'/><id>urn:{n}</id>"
        f"<published>{_when(n).isoformat()}</published>"
        f"<updated>{_when(n).astimezone(UTC).isoformat()}</updated></entry>"
        for n, title in enumerate(TITLES)
    )
    return (
        "<feed xmlns='http://www.w3.org/2005/Atom' xml:base='https://blog.example.kr/x/'>"
        f"<title>t</title>{entries}</feed>"
    ).encode()


def rdf() -> bytes:
    items = "".join(
        f"<item rdf:about='https://r.example.kr/{n}'><title>{title.replace('&', '&amp;')}"
        f"</title><link>https://r.example.kr/{n}</link>"
        f"<dc:date>{_when(n).isoformat()}</dc:date></item>"
        for n, title in enumerate(TITLES)
        if "<" not in title
    )
    return (
        "<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#' "
        "xmlns='http://purl.org/rss/1.0/' xmlns:dc='http://purl.org/dc/elements/1.1/'>"
        f"<channel rdf:about='https://r.example.kr/'><title>t</title></channel>{items}</rdf:RDF>"
    ).encode()


def _reference(entry: Any) -> tuple[str, str, tuple[int, ...]]:
    # feedparser files RSS 1.0's dc:date under "updated"; newsbot reads it as published.
    when = entry.get("published_parsed") or entry.get("updated_parsed")
    return entry.title, entry.link, tuple(when[:6])


@pytest.mark.parametrize("make", [rss, atom, rdf])
def test_title_link_and_date_match_feedparser(make: Any) -> None:
    body = make()
    url = "https://news.example.kr/rss.xml"
    theirs = feedparser.parse(body, response_headers={"content-location": url}).entries
    ours = parse_feed(body, url=url).entries
    assert len(ours) == len(theirs) > 0
    for mine, other in zip(ours, theirs, strict=True):
        assert mine.published is not None
        when = tuple(mine.published.astimezone(UTC).timetuple()[:6])
        assert (mine.title, mine.link, when) == _reference(other)
