"""Bytes to text: the encoding rules a Korean newsroom's feeds need."""

from __future__ import annotations

import codecs
import contextlib

import pytest

from bot.feeds import decode, parse_feed
from bot.feeds.xmlsafe import parse_cp949_xml

KOREAN = "똠 햏 뷁 한국은행 기준금리"


def test_utf8_without_any_declaration_is_read_as_utf8() -> None:
    assert decode(KOREAN.encode("utf-8")) == KOREAN


def test_undeclared_cp949_falls_back_from_utf8_to_cp949() -> None:
    assert decode(KOREAN.encode("cp949")) == KOREAN


@pytest.mark.parametrize("label", ["euc-kr", "EUC-KR", "ks_c_5601-1987", "x-windows-949"])
def test_korean_labels_are_read_as_cp949_so_cp949_only_syllables_survive(label: str) -> None:
    body = f'<?xml version="1.0" encoding="{label}"?><t>{KOREAN}</t>'.encode("cp949")
    assert KOREAN in decode(body)


def test_http_charset_is_used_when_the_body_declares_nothing() -> None:
    body = f"<t>{KOREAN}</t>".encode("cp949")
    assert KOREAN in decode(body, "text/xml; charset=EUC-KR")


def test_a_euc_kr_label_on_utf8_bytes_loses_to_the_bytes() -> None:
    body = f'<?xml version="1.0" encoding="euc-kr"?><t>{KOREAN}</t>'.encode()
    assert KOREAN in decode(body, "text/xml; charset=euc-kr")


def test_meta_charset_of_an_html_page_is_honoured() -> None:
    body = f'<html><head><meta charset="euc-kr"></head><p>{KOREAN}</p></html>'.encode("cp949")
    assert KOREAN in decode(body)


@pytest.mark.parametrize(
    ("bom", "codec"),
    [
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ],
)
def test_a_byte_order_mark_decides_and_is_removed(bom: bytes, codec: str) -> None:
    body = bom + f'<?xml version="1.0" encoding="euc-kr"?><t>{KOREAN}</t>'.encode(codec)
    assert decode(body) == f'<?xml version="1.0" encoding="euc-kr"?><t>{KOREAN}</t>'


def test_latin1_label_is_read_as_windows_1252_like_browsers_do() -> None:
    body = '<?xml version="1.0" encoding="iso-8859-1"?><t>“Café”</t>'.encode("cp1252")
    assert "“Café”" in decode(body)


def test_bytes_that_fit_no_encoding_give_replacement_characters_not_mojibake() -> None:
    body = "기사 ".encode() + b"\xff\xfe\xfd" + " 제목".encode()
    text = decode(body)
    assert text.startswith("기사 ")
    assert text.endswith(" 제목")
    assert "\ufffd" in text


def test_a_few_broken_bytes_in_a_labelled_cp949_body_keep_the_rest_readable() -> None:
    body = b'<?xml version="1.0" encoding="euc-kr"?><t>' + KOREAN.encode("cp949")
    body += b"\xff</t>"
    assert KOREAN in decode(body)


def test_a_server_default_latin1_header_does_not_override_a_korean_body() -> None:
    undeclared = f"<t>{KOREAN}</t>".encode("cp949")
    assert decode(undeclared, "text/xml; charset=iso-8859-1") == f"<t>{KOREAN}</t>"
    declared = f'<?xml version="1.0" encoding="euc-kr"?><t>{KOREAN}</t>'.encode("cp949")
    assert KOREAN in decode(declared, "text/xml; charset=ISO-8859-1")


def test_a_real_latin1_feed_stays_latin1() -> None:
    body = '<?xml version="1.0" encoding="iso-8859-1"?><t>Société été à Paris</t>'.encode("latin-1")
    assert "Société été à Paris" in decode(body, "text/xml; charset=iso-8859-1")


def test_libxml2_reads_every_cp949_character_as_python_does() -> None:
    # Well-formed Korean feeds skip Python's decoder: libxml2 reads the CP949 bytes
    # itself. Both must agree on all 17,048 two-byte characters, or a headline would
    # differ with the path it took.
    every = []
    for lead in range(0x81, 0xFF):
        for trail in range(0x41, 0xFF):
            with contextlib.suppress(UnicodeDecodeError):
                every.append(bytes([lead, trail]).decode("cp949"))
    text = "".join(every)
    body = f'<?xml version="1.0" encoding="euc-kr"?><t>{text}</t>'.encode("cp949")
    root = parse_cp949_xml(body)
    assert root is not None
    assert root.text == text


def test_a_euc_kr_feed_that_is_not_cp949_still_reads_what_it_can() -> None:
    body = f'<?xml version="1.0" encoding="euc-kr"?><rss><channel><item><title>{KOREAN}'
    broken = body.encode("cp949") + b"\x80\xff</title><link>https://a.kr/1</link></item>"
    feed = parse_feed(broken + b"</channel></rss>")
    assert feed.entries[0].title is not None and feed.entries[0].title.startswith(KOREAN)
