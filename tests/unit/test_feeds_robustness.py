"""Hostile, broken and huge input: readable entries or one ParseError line, never a crash."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from bot.errors import ParseError
from bot.feeds import parse_feed
from bot.models import ParsedFeed

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "feeds"


def rss(items: str, head: str = "") -> bytes:
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel>{head}{items}</channel></rss>'.encode()
    )


def test_ten_thousand_entries_are_all_read_in_order() -> None:
    items = "".join(
        f"<item><title>기사 {n}</title><link>https://a.kr/{n}</link>"
        f"<pubDate>Sun, 29 Nov 2026 14:03:00 +0900</pubDate></item>"
        for n in range(10_000)
    )
    entries = parse_feed(rss(items)).entries
    assert len(entries) == 10_000
    assert (entries[0].title, entries[-1].link) == ("기사 0", "https://a.kr/9999")


def test_ten_thousand_entries_needing_repair_are_all_read() -> None:
    items = "".join(f"<item><title>A&middot;B {n}</title></item>" for n in range(10_000))
    entries = parse_feed(rss(items)).entries
    assert len(entries) == 10_000
    assert entries[-1].title == "A·B 9999"


def test_a_parameter_entity_xxe_is_refused() -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY % ext SYSTEM "http://evil.example/x">'
        b"%ext;]><rss><channel><item><title>x</title></item></channel></rss>"
    )
    with pytest.raises(ParseError, match="refused"):
        parse_feed(body)


def test_a_doctype_without_entity_declarations_is_harmless() -> None:
    body = b'<!DOCTYPE rss SYSTEM "http://evil.example/rss.dtd"><rss><channel><item><title>ok</title></item></channel></rss>'
    assert parse_feed(body).entries[0].title == "ok"


def test_control_characters_pasted_from_word_processors_are_dropped() -> None:
    body = rss("<item><title>속보\x0b 제목\x1f</title></item>")
    assert parse_feed(body).entries[0].title == "속보 제목"


def test_an_unknown_entity_name_is_kept_as_literal_text() -> None:
    body = rss("<item><title>A &bogus; B &amp; C</title></item>")
    assert parse_feed(body).entries[0].title == "A &bogus; B & C"


def test_bare_ampersands_in_attribute_urls_survive() -> None:
    body = rss(
        '<item><title>t</title><media:thumbnail xmlns:media="http://search.yahoo.com/mrss/" '
        'url="https://img.kr/a.jpg?w=1&h=2"/></item>'
    )
    assert parse_feed(body).entries[0].image == "https://img.kr/a.jpg?w=1&h=2"


def test_an_undeclared_media_prefix_still_yields_the_image() -> None:
    body = rss('<item><title>t</title><media:thumbnail url="https://img.kr/a.jpg"/></item>')
    assert parse_feed(body).entries[0].image == "https://img.kr/a.jpg"


def test_the_channel_atom_self_link_does_not_replace_the_site_link() -> None:
    head = (
        '<atom:link xmlns:atom="http://www.w3.org/2005/Atom" href="https://a.kr/rss" rel="self"/>'
        "<link>https://a.kr/</link>"
    )
    assert parse_feed(rss("", head)).link == "https://a.kr/"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty body"),
        (b"\xef\xbb\xbf  \r\n", "empty body"),
        (b"Service Unavailable", "not a feed"),
        (b'{"hello": "world"}', "not a feed: JSON"),
        (b"{not json", "malformed JSON"),
        (b"<opml><body/></opml>", "not a feed: the root element is <opml>"),
        (b"<html><body><p>hi</body></html>", "not a feed: looks like an HTML page"),
        (b"<<<>>>", "not a feed: no XML element found"),
        (b'<?xml version="1.0"?>\n<rss version="2.0"\n', "malformed XML at line 2"),
        (b"<rss><channel><title>t</title></channel></rsx>", "malformed XML at line 1"),
    ],
)
def test_junk_gives_a_one_line_reason(body: bytes, message: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_feed(body)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def _mutations(body: bytes, rng: random.Random) -> list[bytes]:
    cuts = [body[: rng.randrange(len(body) + 1)] for _ in range(12)]
    flips = []
    for _ in range(12):
        data = bytearray(body)
        for _ in range(4):
            data[rng.randrange(len(data))] = rng.randrange(256)
        flips.append(bytes(data))
    return cuts + flips


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.*")))
def test_cut_or_corrupted_fixtures_never_crash(name: str) -> None:
    rng = random.Random(name)  # deterministic per fixture
    for body in _mutations((FIXTURES / name).read_bytes(), rng):
        try:
            parsed = parse_feed(body)
        except ParseError as exc:
            assert "\n" not in str(exc)
        else:
            assert isinstance(parsed, ParsedFeed)


def test_entity_declarations_behind_a_long_comment_are_still_refused() -> None:
    body = (
        b"<!--" + b"x" * 10_000 + b'-->\n<!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b"<rss><channel><item><title>&b;</title></item></channel></rss>"
    )
    with pytest.raises(ParseError, match="refused"):
        parse_feed(body)


@pytest.mark.parametrize(
    "prolog",
    [
        '<?xml version="1.0"?><?xml-stylesheet href="a.xsl"?><!-- <rss> in a comment -->',
        "<!-- never closed <rss> ",
        "\n\n",
    ],
)
def test_a_doctype_in_any_prolog_is_refused_in_any_case(prolog: str) -> None:
    body = (
        f'{prolog}<!doctype rss [<!ENTITY a "aaaaaaaaaa">]>'
        "<rss><channel><item><title>&a;</title></item></channel></rss>"
    ).encode()
    with pytest.raises(ParseError):
        parse_feed(body)


def test_doctype_text_inside_an_item_is_just_text() -> None:
    # Only the prolog can hold a DOCTYPE; the fast path does not search the whole body.
    feed = parse_feed(rss("<item><title><![CDATA[<!DOCTYPE> 설명]]></title></item>"))
    assert feed.entries[0].title == "<!DOCTYPE> 설명"
