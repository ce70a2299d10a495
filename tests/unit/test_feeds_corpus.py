"""Every fixture in tests/fixtures/feeds gives exactly what a user should see.

Each fixture reproduces one real-world quirk (see the README beside them); each test
names the quirk and asserts the headline, link, date, categories and image read.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.errors import ParseError
from bot.feeds import parse_feed
from bot.models import Entry, ParsedFeed

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "feeds"
KST = timezone(timedelta(hours=9))


def feed(name: str, **kwargs: str) -> ParsedFeed:
    return parse_feed((FIXTURES / name).read_bytes(), **kwargs)


def seen(entry: Entry) -> tuple[str | None, str | None, datetime | None]:
    return entry.title, entry.link, entry.published


def test_plain_korean_rss_gives_titles_links_dates_categories_and_images() -> None:
    parsed = feed("rss20_utf8.xml")
    assert (parsed.kind, parsed.title, parsed.link) == (
        "rss",
        "뉴스다오 전체기사",
        "https://newsdao.kr/",
    )
    first, second = parsed.entries
    assert seen(first) == (
        "반도체 수출 3개월 연속 증가",
        "https://newsdao.kr/news/articleView.html?idxno=1001",
        datetime(2026, 11, 29, 14, 3, tzinfo=KST),
    )
    assert first.guid == "https://newsdao.kr/news/articleView.html?idxno=1001"
    assert first.categories == ("경제", "IT")
    assert first.image == "https://newsdao.kr/photos/1001_thumb.jpg"
    assert first.summary is not None and first.summary.startswith("<p>산업통상자원부는")
    assert second.image == "https://newsdao.kr/photos/1002.png"  # an image enclosure


def test_euc_kr_feed_keeps_cp949_only_syllables_and_korean_dotted_date() -> None:
    (entry,) = feed("rss20_euckr.xml").entries
    assert seen(entry) == (
        "똠양꿍 맛집에서 햏자 만나 뷁 소리",
        "http://news.example.co.kr/view.asp?no=77",
        datetime(2026, 11, 29, 14, 3),  # naive: the source's time zone applies
    )
    assert entry.categories == ("문화",)


def test_euc_kr_in_the_http_header_with_cp949_bytes_reads_right() -> None:
    body = "<rss><channel><item><title>뷁</title></item></channel></rss>".encode("cp949")
    assert (
        parse_feed(body, content_type="text/xml; charset=ks_c_5601-1987").entries[0].title == "뷁"
    )


def test_a_feed_labelled_euc_kr_but_written_in_utf8_is_read_as_utf8() -> None:
    (entry,) = feed("rss20_mislabelled.xml", content_type="text/xml; charset=euc-kr").entries
    assert entry.title == "한국은행 기준금리 동결"


def test_a_utf8_byte_order_mark_is_skipped() -> None:
    parsed = feed("rss20_bom.xml")
    assert parsed.title == "BOM 피드"
    assert parsed.entries[0].title == "BOM 뒤의 첫 기사"


def test_undeclared_cp949_is_detected() -> None:
    (entry,) = feed("rss20_undeclared_cp949.xml", content_type="text/xml").entries
    assert seen(entry) == (
        "뷁 선언 없이도 읽힌다",
        "http://asp.example.co.kr/view.asp?id=5",
        datetime(2026, 11, 29, 11, 0, tzinfo=UTC),
    )


def test_undeclared_html_entities_and_bare_ampersands_are_read_as_meant() -> None:
    parsed = feed("rss20_entities.xml")
    assert parsed.title == "엔티티 · 테스트"
    plain, cdata, doubled = parsed.entries
    assert plain.title == "삼성·LG R&D 투자… ‘역대 최대’"
    assert plain.link == "https://ent.example.kr/bbs/board.php?bo_table=news&wr_id=10"
    assert plain.summary == "첫 문장입니다.\xa0둘째 문장은 여기서 잘···"
    # CDATA is text as written: its `&` and `&middot;` are left for the normalizer.
    assert cdata.title == "CDATA 안의 & 기호와 &middot; 그대로"
    assert cdata.link == "https://ent.example.kr/bbs/board.php?bo_table=news&wr_id=11"
    assert cdata.summary == "요약이 엔티티 중간에서 잘렸다 &hel"
    assert doubled.link == "https://ent.example.kr/bbs/board.php?bo_table=news&wr_id=12"


def test_html_in_titles_escaped_raw_or_in_cdata_arrives_as_the_same_markup() -> None:
    titles = [entry.title for entry in feed("rss20_html_titles.xml").entries]
    assert titles == [
        "<b>[단독]</b> 국회 법안 통과",
        "<b>[속보]</b> 코스피 급등",
        "<strong>[포토]</strong> 첫눈 내린 서울",
    ]


def test_broken_markup_and_php_warnings_keep_each_item_whole() -> None:
    parsed = feed("rss20_broken_markup.xml")
    assert parsed.title == "깨진 마크업"
    first, second = parsed.entries
    assert seen(first) == (
        "속보<br>국회 본회의 통과",
        "https://broken.example.kr/bbs/1",
        datetime(2026, 11, 29, 14, 3, tzinfo=KST),
    )
    assert first.summary == '<p>요약 <img src="/data/1.jpg"> 입니다'
    assert seen(second) == (
        "금리 3% < 물가 4%",
        "https://broken.example.kr/bbs/2",
        datetime(2026, 11, 29, 14, 0, tzinfo=KST),
    )


def test_relative_links_resolve_on_the_feed_url_and_xml_base_wins() -> None:
    undated, guid_only, based = feed("rss20_relative.xml", url="https://rel.example.kr/rss").entries
    assert (undated.guid, undated.published) == (None, None)
    assert undated.link == "https://rel.example.kr/news/100.html"
    assert undated.image == "https://rel.example.kr/img/100.jpg"
    assert guid_only.link == "https://rel.example.kr/news/101.html"
    assert based.link == "https://cdn.example.kr/section/102.html"


def test_every_korean_date_spelling_in_a_feed_is_read() -> None:
    dates = [entry.published for entry in feed("rss20_korean_dates.xml").entries]
    naive = datetime(2026, 11, 29, 14, 3)
    assert dates[:3] == [naive, naive, naive]
    assert all(date is not None and date.astimezone(UTC) == naive.replace(tzinfo=KST)
               for date in dates[3:])  # fmt: skip


def test_rss_091_with_netscape_doctype_and_dtd_entities() -> None:
    parsed = feed("rss091.xml")
    assert (parsed.kind, parsed.title) == ("rss", "Old\xa0Times")
    (entry,) = parsed.entries
    assert seen(entry) == ("Café opens\xa0today", "http://old.example.com/cafe.html", None)
    assert entry.summary == "A café & bakery."


def test_rss_10_rdf_items_beside_the_channel() -> None:
    parsed = feed("rss10_rdf.xml")
    assert (parsed.kind, parsed.title, parsed.link) == (
        "rdf",
        "RDF 블로그",
        "https://rdf.example.kr/",
    )
    (entry,) = parsed.entries
    assert seen(entry) == (
        "RDF 첫 글",
        "https://rdf.example.kr/entry/1",
        datetime(2026, 11, 29, 14, 3, tzinfo=KST),
    )
    assert entry.guid == "https://rdf.example.kr/entry/1"
    assert (entry.categories, entry.content) == (("블로그",), "<p>본문</p>")


def test_atom_10_xml_base_xhtml_titles_labels_and_enclosure_images() -> None:
    parsed = feed("atom10.xml", url="https://wrong.example.com/feed")
    assert (parsed.kind, parsed.title, parsed.link) == (
        "atom",
        "아톰 <em>블로그</em>",
        "https://atom.example.kr/blog/",
    )
    first, second = parsed.entries
    assert seen(first) == (
        "XHTML <b>제목</b> &amp; 본문",
        "https://atom.example.kr/blog/2026/11/first.html",
        datetime(2026, 11, 29, 14, 3, tzinfo=KST),
    )
    assert first.updated == datetime(2026, 11, 29, 15, 0, tzinfo=KST)
    assert first.categories == ("IT", "블로그")
    assert first.image == "https://atom.example.kr/img/first.jpg"
    assert first.summary == "<p>요약 &amp; 설명</p>"
    assert seen(second) == ("<i>HTML</i> 제목", "https://other.example.kr/posts/2", None)
    assert second.updated == datetime(2026, 11, 29, 5, 3, tzinfo=UTC)


def test_atom_03_issued_and_modified() -> None:
    (entry,) = feed("atom03.xml").entries
    assert seen(entry) == (
        "옛 아톰 글",
        "https://old-atom.example.kr/2026/11/old.html",
        datetime(2026, 11, 29, 14, 3, tzinfo=KST),
    )
    assert entry.updated == datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
    assert entry.content == "<p>본문</p>"


def test_jekyll_feed_minified_atom_id_without_html_and_media_thumbnail() -> None:
    first, second = feed("jekyll_feed.xml").entries
    assert seen(first) == (
        "AI 투자 막대한 비용에도 결과는 뚜렷하지 않다!",
        "https://newsdao.kr/it/2026/11/29/ai-investment.html",
        datetime(2026, 11, 29, 14, 3, tzinfo=KST),
    )
    assert first.guid == "https://newsdao.kr/it/2026/11/29/ai-investment"
    assert first.categories == ("IT", "AI")
    assert first.summary == "AI 투자에 쏟아진 6000억 달러, 수익은 단 40억 달러!"
    assert first.image == "https://newsdao.kr/assets/img/newsdao_breakingnews.jpg"
    assert second.categories == ("경제",)


def test_json_feed_10() -> None:
    parsed = feed("jsonfeed10.json")
    assert (parsed.kind, parsed.title, parsed.link) == (
        "json",
        "JSON 피드 1.0",
        "https://json.example.kr/",
    )
    first, untitled = parsed.entries
    assert seen(first) == (
        "JSON 피드 첫 기사",
        "https://json.example.kr/1",
        datetime(2026, 11, 29, 14, 3, tzinfo=KST),
    )
    assert (first.guid, first.summary, first.content) == ("1", "요약", "<p>본문</p>")
    assert first.categories == ("정치", "국회")
    assert first.image == "https://json.example.kr/img/1.jpg"
    assert first.updated == datetime(2026, 11, 29, 15, 0, tzinfo=KST)
    assert (untitled.guid, untitled.title) == ("2", None)
    assert untitled.link == "https://elsewhere.example.com/story"
    assert untitled.image == "https://json.example.kr/banner.png"


def test_json_feed_11() -> None:
    (entry,) = feed("jsonfeed11.json").entries
    assert seen(entry) == (
        "1.1 기사",
        "https://json11.example.kr/a",
        datetime(2026, 11, 29, 5, 3, tzinfo=UTC),
    )
    assert entry.categories == ("IT",)


def test_a_truncated_body_keeps_the_whole_entries_and_drops_the_cut_one() -> None:
    titles = [entry.title for entry in feed("truncated.xml").entries]
    assert titles == ["온전한 첫 기사", "온전한 둘째 기사"]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("html_page.html", "not a feed: looks like an HTML page"),
        ("empty.xml", "empty body"),
        ("billion_laughs.xml", "refused: the DOCTYPE declares entities"),
        ("xxe.xml", "refused: the DOCTYPE declares entities"),
    ],
)
def test_what_is_not_a_feed_gives_one_line_reason(name: str, message: str) -> None:
    with pytest.raises(ParseError) as caught:
        feed(name)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_atom_entry_prefers_the_html_alternate_and_falls_back_to_any_alternate() -> None:
    body = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>t</title>'
        b'<link rel="self" href="https://a.kr/self"/>'
        b'<link rel="alternate" type="application/pdf" href="https://a.kr/x.pdf"/>'
        b'<link rel="alternate" type="text/html" href="https://a.kr/x.html"/></entry>'
        b'<entry><link rel="alternate" type="application/pdf" href="https://a.kr/y.pdf"/></entry>'
        b"</feed>"
    )
    assert [entry.link for entry in parse_feed(body).entries] == [
        "https://a.kr/x.html",
        "https://a.kr/y.pdf",
    ]


def test_untyped_enclosures_count_as_images_only_when_the_file_is_one() -> None:
    body = (
        b"<rss><channel><item><title>a</title>"
        b'<enclosure url="https://img.kr/p.JPG?w=600"/></item>'
        b'<item><title>b</title><enclosure url="https://a.kr/audio.mp3"/></item>'
        b'<item><title>c</title><media:content xmlns:media="http://search.yahoo.com/mrss/" '
        b'url="https://a.kr/v.mp4" medium="video"/></item></channel></rss>'
    )
    images = [entry.image for entry in parse_feed(body).entries]
    assert images == ["https://img.kr/p.JPG?w=600", None, None]


def test_itunes_image_is_the_last_resort_picture() -> None:
    body = (
        b'<rss xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"><channel><item>'
        b'<title>p</title><itunes:image href="/cover.png"/></item></channel></rss>'
    )
    (entry,) = parse_feed(body, url="https://pod.kr/feed").entries
    assert entry.image == "https://pod.kr/cover.png"
