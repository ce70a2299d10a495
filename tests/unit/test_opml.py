"""OPML import and export: what an admin's file proposes, what it refuses and why."""

from __future__ import annotations

import pytest
from lxml import etree

from bot.errors import ParseError
from bot.opml import OpmlSource, export_opml, parse_opml


def opml(outlines: str, *, head: str = "<title>구독 목록</title>", version: str = "2.0") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><opml version="{version}">'
        f"<head>{head}</head><body>{outlines}</body></opml>"
    ).encode()


def test_a_reader_export_with_folders_is_read() -> None:
    body = opml(
        '<outline text="IT/과학" title="IT/과학">'
        '  <outline type="rss" text="전자신문" title="전자신문 속보" xmlUrl="https://www.etnews.com/rss"'
        '           htmlUrl="https://www.etnews.com/" category="/반도체,/AI"/>'
        "</outline>"
        '<outline type="rss" text="뉴스다오" xmlUrl="https://newsdao.kr/feed.xml"/>'
    )
    result = parse_opml(body)
    assert result.title == "구독 목록"
    assert result.sources == (
        OpmlSource("전자신문 속보", "https://www.etnews.com/rss", ("IT/과학", "반도체", "AI")),
        OpmlSource("뉴스다오", "https://newsdao.kr/feed.xml", ()),
    )
    assert result.refused == ()


def test_nested_folders_all_become_categories_outermost_first() -> None:
    body = opml(
        '<outline text="뉴스"><outline text="경제">'
        '<outline text="한경" xmlUrl="https://www.hankyung.com/feed/economy" category="경제,증권"/>'
        "</outline></outline>"
    )
    [source] = parse_opml(body).sources
    assert source.categories == ("뉴스", "경제", "증권")


def test_an_opml_1_file_with_lowercase_attributes_is_read() -> None:
    body = opml('<outline title="Old Reader" xmlurl="http://example.com/rss"/>', version="1.0")
    assert parse_opml(body).sources == (OpmlSource("Old Reader", "http://example.com/rss", ()),)


def test_each_refused_outline_says_why() -> None:
    body = opml(
        '<outline text="메모만"/>'
        '<outline text="파일" xmlUrl="file:///etc/passwd"/>'
        '<outline text="FTP" xmlUrl="ftp://example.com/feed"/>'
        '<outline text="내부" xmlUrl="http://127.0.0.1:8080/feed"/>'
        '<outline text="메타데이터" xmlUrl="http://169.254.169.254/latest/"/>'
        '<outline text="원본" xmlUrl="https://Example.com:443/rss#top"/>'
        '<outline text="중복" xmlUrl="https://example.com/rss"/>'
    )
    result = parse_opml(body)
    assert [s.name for s in result.sources] == ["원본"]
    assert [(r.name, r.reason) for r in result.refused] == [
        ("메모만", "no xmlUrl"),
        ("파일", "only http and https are allowed"),
        ("FTP", "only http and https are allowed"),
        ("내부", "refused: 127.0.0.1 is a loopback address"),
        ("메타데이터", "refused: 169.254.169.254 is a link-local address"),
        ("중복", "duplicate of an earlier outline"),
    ]


def test_allow_private_lets_loopback_feeds_through() -> None:
    body = opml('<outline text="로컬" xmlUrl="http://127.0.0.1:8080/feed"/>')
    assert len(parse_opml(body, allow_private=True).sources) == 1


def test_names_are_cleaned_and_a_missing_name_becomes_the_host() -> None:
    long_name = "가" * 300
    body = opml(
        f'<outline text="  속보\t\n 채널&#x9f;  " xmlUrl="https://a.example/rss"/>'
        f'<outline text="{long_name}" xmlUrl="https://b.example/rss"/>'
        '<outline xmlUrl="https://c.example/rss"/>'
    )
    names = [source.name for source in parse_opml(body).sources]
    assert names == ["속보 채널", "가" * 100, "c.example"]


def test_ten_thousand_outlines_stop_at_the_limit_each_with_a_reason() -> None:
    body = opml(
        "".join(f'<outline text="{i}" xmlUrl="https://feeds.example/{i}"/>' for i in range(10_000))
    )
    result = parse_opml(body)
    assert len(result.sources) == 1000
    assert result.sources[-1].url == "https://feeds.example/999"
    assert len(result.refused) == 9000
    assert {r.reason for r in result.refused} == {"over the limit of 1000 sources per file"}


def test_a_50_mb_file_is_refused_by_its_size_before_parsing() -> None:
    # Valid OPML all the way through: only the size check can refuse it.
    outline = b'<outline text="x" xmlUrl="https://feeds.example/x"/>'
    body = opml("").replace(b"<body>", b"<body>" + outline * (50 * 1024 * 1024 // len(outline)))
    assert len(body) > 50_000_000
    with pytest.raises(ParseError, match=r"^the file is [\d,]+ bytes, over the 5 MiB limit$"):
        parse_opml(body)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "not XML: "),
        (b"this is not xml", "not XML: "),
        (b"\xff\xfe\x00garbage", "not XML: "),
        (b"<!doctype html><html><body><p>Feeds<br></body></html>", "not XML: "),
        (b"<html><body><p>Feeds</p></body></html>", "not OPML: the document is <html>, not <opml>"),
        (b'<rss version="2.0"><channel/></rss>', "not OPML: the document is <rss>, not <opml>"),
        (b'<opml version="2.0"><head/></opml>', "not OPML: <opml> without <body>"),
    ],
)
def test_a_file_that_is_not_opml_is_refused_in_one_line(body: bytes, message: str) -> None:
    with pytest.raises(ParseError) as refused:
        parse_opml(body)
    assert str(refused.value).startswith(message)
    assert "\n" not in str(refused.value)


def test_billion_laughs_is_refused() -> None:
    levels = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    body = (
        f'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY l0 "lol">{levels}]>'
        '<opml version="2.0"><body><outline text="&l9;" xmlUrl="https://a.example/"/></body></opml>'
    ).encode()
    with pytest.raises(ParseError):
        parse_opml(body)


XXE = '<!DOCTYPE opml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
DOCTYPE = "refused: the file has a DOCTYPE"


@pytest.mark.parametrize(
    ("doctype", "outline", "message"),
    [
        (XXE, '<outline xmlUrl="https://a.example/">&x;</outline>', DOCTYPE),
        (XXE, '<outline text="&x;" xmlUrl="https://a.example/"/>', "not XML: Attribute references"),
        (
            '<!DOCTYPE opml [<!ENTITY x "harmless">]>',
            '<outline text="&x;" xmlUrl="https://a/"/>',
            DOCTYPE,
        ),
        ('<!DOCTYPE opml SYSTEM "http://evil.example/opml.dtd">', "", DOCTYPE),
        ("<!DOCTYPE opml>", '<outline xmlUrl="https://a.example/"/>', DOCTYPE),
    ],
)
def test_a_doctype_is_refused_and_nothing_external_is_read(
    doctype: str, outline: str, message: str
) -> None:
    body = f'<?xml version="1.0"?>{doctype}<opml version="2.0"><body>{outline}</body></opml>'
    with pytest.raises(ParseError) as refused:
        parse_opml(body.encode())
    assert str(refused.value).startswith(message)
    assert "root:" not in str(refused.value)


def test_a_euc_kr_file_is_read() -> None:
    body = (
        '<?xml version="1.0" encoding="EUC-KR"?><opml version="1.0">'
        "<head><title>목록</title></head><body>"
        '<outline text="연합뉴스" xmlUrl="https://www.yna.co.kr/rss/news.xml" category="속보"/>'
        "</body></opml>"
    ).encode("euc-kr")
    assert parse_opml(body).sources == (
        OpmlSource("연합뉴스", "https://www.yna.co.kr/rss/news.xml", ("속보",)),
    )


SOURCES = [
    ("뉴스다오 속보", "https://newsdao.kr/feed.xml", ("속보",)),
    ("전자신문 & <IT>", "https://www.etnews.com/rss?a=1&b=2", ("IT/과학", "반도체")),
    ('"Quoted" feed', "http://example.com/rss", ()),
]


def test_export_then_import_gives_the_same_sources() -> None:
    result = parse_opml(export_opml(SOURCES, "newsbot 구독"))
    assert [(s.name, s.url, s.categories) for s in result.sources] == SOURCES
    assert result.title == "newsbot 구독"
    assert result.refused == ()


def test_export_writes_opml_2_rss_outlines() -> None:
    root = etree.fromstring(export_opml(SOURCES[:2], "t"))
    assert root.get("version") == "2.0"
    outline = root.find("body/outline")
    assert outline is not None
    assert {str(k): str(v) for k, v in outline.attrib.items()} == {
        "type": "rss",
        "text": "뉴스다오 속보",
        "title": "뉴스다오 속보",
        "xmlUrl": "https://newsdao.kr/feed.xml",
        "category": "속보",
    }


def test_export_drops_what_xml_cannot_carry() -> None:
    body = export_opml([("bell\x07 name", "https://a.example/rss", ("a,b",))], "t\x00")
    [source] = parse_opml(body).sources
    assert source.name == "bell name"
    assert source.categories == ("a b",)
