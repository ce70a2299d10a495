"""Lifting long texts out of a body (bot/feeds/lift.py) never changes what is read.

Every feed here is read twice, with lifting and with the whole body given to libxml2,
and both readings must be equal: the fixtures, the benchmark's feeds, hand-made
bodies for each case the C scanner must leave alone, and generated ones. A CP949 body
is read once through the scanner's own CP949 table, once as it is, decoded by libxml2.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from lxml import etree

from bench.parse import articles, atom_feed, euc_kr, rss_feed
from bot.errors import ParseError
from bot.feeds import lift, parse_feed
from bot.models import ParsedFeed

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "feeds"
LONG = "정부는 반도체 수출이 석 달 연속 늘었다고 밝혔다. " * 6


def reading(body: bytes, *, lifting: bool, monkeypatch: pytest.MonkeyPatch) -> ParsedFeed | str:
    """What parse_feed gives, or its one-line error."""
    with monkeypatch.context() as patch:
        if not lifting:
            patch.setattr(lift, "_lift", None)
            patch.setattr(lift, "_to_utf8", None)
        try:
            return parse_feed(body)
        except ParseError as exc:
            return f"ParseError: {exc}"


def assert_same_either_way(body: bytes, monkeypatch: pytest.MonkeyPatch) -> ParsedFeed | str:
    lifted = reading(body, lifting=True, monkeypatch=monkeypatch)
    assert lifted == reading(body, lifting=False, monkeypatch=monkeypatch)
    return lifted


def rss(*items: str, channel: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        f"<title>뉴스</title><link>https://news.example.kr/</link>{channel}"
        + "".join(f"<item>{item}</item>" for item in items)
        + "</channel></rss>"
    ).encode()


def item(number: int, description: str, extra: str = "") -> str:
    return (
        f"<title>기사 {number}</title><link>https://news.example.kr/{number}</link>"
        f"<description>{description}</description>{extra}"
    )


def cp949(body: bytes) -> bytes:
    """The body as an older Korean CMS serves it: labelled EUC-KR, written in CP949."""
    text = body.decode().replace('encoding="UTF-8"', 'encoding="euc-kr"', 1)
    return text.encode("cp949", errors="xmlcharrefreplace")


def lifted_utf8(body: bytes) -> tuple[bytes, list[str]] | None:
    assert lift._lift is not None
    return lift._lift(body, False)


def lifted_cp949(body: bytes) -> tuple[bytes, list[str]] | None:
    """What is lifted from a CP949 body: what is lifted from it in UTF-8."""
    assert lift._lift is not None
    utf8 = lift.utf8_from_cp949(body)
    assert utf8 == body.decode("cp949").encode()
    found = lift._lift(body, True)
    assert found == lifted_utf8(utf8)
    return found


def test_the_c_scanner_is_built_and_lifts_the_benchmark_feeds() -> None:
    for body, lifted in (
        (rss_feed(articles(5)), lifted_utf8),
        (atom_feed(articles(5)), lifted_utf8),
        (euc_kr(rss_feed(articles(5))), lifted_cp949),
    ):
        found = lifted(body)
        assert found is not None
        rest, texts = found
        assert len(texts) == 5 and len(rest) < len(body) / 2


def test_every_cp949_pair_is_rewritten_as_python_decodes_it() -> None:
    for lead in range(0x80, 0x100):
        for trail in range(0x100):
            pair = bytes((lead, trail))
            try:
                utf8: bytes | None = pair.decode("cp949").encode()
            except UnicodeDecodeError:
                utf8 = None  # the body stays CP949, for libxml2
            assert lift.utf8_from_cp949(b"<a>" + pair) == (b"<a>" + utf8 if utf8 else None)
    assert lift.utf8_from_cp949(b"<a>\xb0") is None  # a lead byte cut off at the end


def test_python_and_libxml2_read_every_cp949_pair_alike() -> None:
    """What rewriting CP949 in UTF-8 relies on: Python decodes it as libxml2 (iconv) does."""
    pairs = []
    for lead in range(0x81, 0xFF):
        for trail in range(0x41, 0xFF):
            try:
                pairs.append((bytes((lead, trail)), bytes((lead, trail)).decode("cp949")))
            except UnicodeDecodeError:
                continue  # left in the body, for libxml2
    body = b"<a>" + b"|".join(raw for raw, _ in pairs) + b"</a>"
    read = etree.fromstring(body, etree.XMLParser(encoding="cp949")).text
    assert len(pairs) == 17_048
    assert read == "|".join(text for _, text in pairs)
    assert not any("\ue000" <= text <= "\uf8ff" for _, text in pairs)  # no mark among them


@pytest.mark.parametrize("name", sorted(path.name for path in FIXTURES.glob("*.xml")))
def test_every_fixture_reads_the_same_lifted_or_not(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert_same_either_way((FIXTURES / name).read_bytes(), monkeypatch)


def test_the_benchmark_feeds_read_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    for body in (rss_feed(articles(30)), atom_feed(articles(30)), euc_kr(rss_feed(articles(30)))):
        feed = assert_same_either_way(body, monkeypatch)
        assert isinstance(feed, ParsedFeed) and len(feed.entries) == 30
        assert all(entry.summary or entry.content for entry in feed.entries)


@pytest.mark.parametrize(
    "description",
    [
        f"<![CDATA[<p>{LONG}</p>\r\n<p>{LONG}</p>\r]]>",  # line ends become \n
        f"&lt;p&gt;{LONG} &amp; &quot;따옴표&quot; &#xAC00;&#44032;&apos;&lt;/p&gt;",
        f"{LONG}&nbsp;{LONG}",  # an HTML entity XML does not know: repaired, not lifted
        f"{LONG}\x01{LONG}",  # a control character: dropped by the strict retry
        f"{LONG}]]>{LONG}",  # forbidden in a text
        f"{LONG}&#0;",  # a reference to a character XML forbids
        f"{LONG}\ue000{LONG}",  # the mark itself, as a character
        f"{LONG}&#xE000;&#57344;",  # and as references
        f"   {' ' * 200}   ",  # blank: the reader must see it as empty
        f"<![CDATA[{LONG}]]>  ",  # a CDATA section and more: not the whole content
        "짧은 요약",  # too short to be worth lifting
    ],
)
def test_descriptions_read_the_same(description: str, monkeypatch: pytest.MonkeyPatch) -> None:
    body = rss(item(1, description), item(2, f"<![CDATA[{LONG}]]>"))
    feed = assert_same_either_way(body, monkeypatch)
    assert isinstance(feed, ParsedFeed) and feed.entries[1].summary == LONG.strip()


def test_invalid_utf8_in_a_long_text_reads_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    body = rss(item(1, f"<![CDATA[{LONG}]]>")).replace(LONG.encode()[:6], b"\xff\xfe\xfd")
    assert_same_either_way(body, monkeypatch)


def utf8_sequences() -> list[bytes]:
    """Every lead byte with every second byte, and the three- and four-byte forms at
    the edges of their continuation bytes: well-formed, overlong, surrogate, too high."""
    found = [bytes((lead, second)) for lead in range(0x80, 0x100) for second in range(0x20, 0x100)]
    edges = (0x7F, 0x80, 0xBF, 0xC0)
    for lead in range(0xE0, 0xF8):
        for second in range(0x80, 0xC0):
            found += [bytes((lead, second, third)) for third in edges]
            found += [bytes((lead, second, 0x80, fourth)) for fourth in edges]
    return found


def test_the_scanner_decodes_utf8_as_python_does() -> None:
    """What a lifted text holds is what Python's strict decoder reads, or it is not
    lifted: libxml2 reads (or rejects) the body as it is. Each sequence is tried
    followed by more text and at the text's very end (the scanner reads runs of
    three-byte characters four bytes at a time)."""
    assert lift._lift is not None
    lifted = 0
    for raw in utf8_sequences():
        try:
            text = raw.decode()
        except UnicodeDecodeError:
            text = None
        if text is not None and any(c < " " or c in "]\r\ufffe\uffff\ue000" for c in text):
            text = None  # XML forbids it, ends a line, may end the section, or is the mark
        for after in ("z", ""):
            content = b"a" * 200 + raw + after.encode()
            found = lifted_utf8(rss(item(1, "<![CDATA[{}]]>")).replace(b"{}", content))
            expected = [f"{'a' * 200}{text}{after}"] if text else None
            assert (found[1] if found else None) == expected, raw
            lifted += found is not None
    assert lifted > 10_000


@pytest.mark.parametrize(
    "description",
    [
        f"<![CDATA[<p>{LONG}</p>\r\n<p>{LONG}</p>]]>",
        f"&lt;p&gt;{LONG}&lt;/p&gt;",
        f"{LONG}\ue000",  # the mark, as a reference
        f"<![CDATA[{LONG}\x01]]>",
    ],
)
def test_cp949_descriptions_read_the_same(
    description: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = cp949(rss(item(1, description), item(2, f"<![CDATA[{LONG}]]>")))
    feed = assert_same_either_way(body, monkeypatch)
    assert isinstance(feed, ParsedFeed) and feed.entries[1].summary == LONG.strip()


@pytest.mark.parametrize(
    "raw",
    [
        b"\xc9\xa1",  # what iconv reads as U+E000, the mark: nothing is lifted
        b"\xc9\xa2\xfe\xa1",  # user-defined characters only iconv reads
        b"\x80",  # a byte neither reads
    ],
)
def test_cp949_bytes_python_does_not_read_stay_with_libxml2(
    raw: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    long = f"<![CDATA[{LONG}]]>".encode("cp949")
    body = cp949(rss(item(1, "{}"), item(2, "{}")))
    body = body.replace(b"{}", long.replace(b"CDATA[", b"CDATA[" + raw), 1).replace(b"{}", long)
    assert lift.utf8_from_cp949(body) is None and lift._lift is not None
    assert lift._lift(body, True) is None
    assert_same_either_way(body, monkeypatch)
    assert_same_either_way(body.replace(b"<title>", b"<title>" + raw, 1), monkeypatch)


@pytest.mark.parametrize(
    "body",
    [
        # A lifted element inside a title: its text must not leak into the headline.
        rss(f"<title>제목 <description>{LONG}</description></title><link>https://a.kr/1</link>"),
        # Markup the scanner must step over: comments, CDATA, attributes with `>`.
        rss(item(1, LONG, f"<!-- <description>{LONG}</description> -->")),
        rss(item(1, f"<![CDATA[<description>{LONG}</description>]]>")),
        rss(f'<category domain="a>b">IT</category>{item(1, LONG)}'),
        rss(item(1, LONG), channel=f"<description>{LONG}</description>"),
        # Two descriptions, the first blank: the reader takes the second.
        rss(item(1, " " * 300, f"<description>{LONG}</description>")),
        rss(
            item(1, f"<![CDATA[{LONG}]]>", f"<content:encoded><![CDATA[{LONG}]]></content:encoded>")
        ),
        # Cut off in the middle of a long text.
        rss(item(1, f"<![CDATA[{LONG}]]>"))[:-200],
    ],
)
def test_bodies_with_traps_read_the_same(body: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    assert_same_either_way(body, monkeypatch)


@pytest.mark.parametrize(
    "content",
    [
        f'<content type="html">&lt;p&gt;{LONG}&lt;/p&gt;</content>',
        f'<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">{LONG}</div></content>',
        f'<content type="text">{LONG} &lt;b&gt;</content>',
        f'<content type="html" mode="base64">{"7KCV67aA64qU" * 20}</content>',
        f"<summary>{LONG}</summary><content>{LONG}</content>",
    ],
)
def test_atom_contents_read_the_same(content: str, monkeypatch: pytest.MonkeyPatch) -> None:
    body = (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>뉴스</title><entry><title>기사</title><id>https://a.kr/1</id>"
        f'<link href="https://a.kr/1"/><updated>2026-11-29T14:03:00+09:00</updated>{content}'
        "</entry></feed>"
    ).encode()
    assert_same_either_way(body, monkeypatch)


#: What a long text is made of: as a text (escaped) or inside a CDATA section.
_TEXT = (LONG, "&lt;p&gt;", "&amp;", "&#44032;", "&#x2026;", "\r\n", "\r", "\t", ">", "'", '"')
_CDATA = (LONG, "<p>", "</p>", "&", "&nbsp;", "\r\n", "\r", "<description>", "]]", "<![CDATA[")
#: And what makes it unfit for lifting, or the body unfit for XML.
_TRAPS = ("\x01", "]]>", "&nbsp;", "<", "\ue000", "&#xE000;", "&#xFFFE;", "<!--", "\xa0")


def generated_description(rng: random.Random) -> str:
    cdata = rng.random() < 0.5
    parts = [LONG, *rng.choices(_CDATA if cdata else _TEXT, k=rng.randint(1, 8))]
    if rng.random() < 0.2:
        parts.insert(rng.randrange(len(parts) + 1), rng.choice(_TRAPS))
    text = "".join(parts)
    return f"<![CDATA[{text}]]>" if cdata else text


@pytest.mark.parametrize("seed", range(3))
def test_generated_feeds_read_the_same(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(seed)
    lifted = lifted_korean = 0
    for _ in range(150):
        count = rng.randint(1, 4)
        body = rss(*(item(number, generated_description(rng)) for number in range(count)))
        assert_same_either_way(body, monkeypatch)
        assert_same_either_way(cp949(body), monkeypatch)
        lifted += lifted_utf8(body) is not None
        lifted_korean += lifted_cp949(cp949(body)) is not None
    # Most bodies must have been lifted, or this compares nothing.
    assert lifted > 75 and lifted_korean > 75
