import pytest

from bot.text import html_to_text, strip_boilerplate, truncate


def test_markup_becomes_paragraphs_of_plain_text() -> None:
    html = "<p>AI <b>시장</b>&nbsp;변화 &amp; 투자</p><p>둘째 문단</p><script>x()</script>"
    assert html_to_text(html) == "AI 시장 변화 & 투자\n\n둘째 문단"


def test_site_signature_at_the_end_is_dropped() -> None:
    text = html_to_text(
        '<p>본문입니다.</p>\n실시간 뉴스 속보는, <a href="https://newsdao.kr">https://newsdao.kr</a>'
    )
    assert strip_boilerplate(text) == "본문입니다."


@pytest.mark.parametrize(
    "signature",
    [
        "무단전재 및 재배포 금지",
        "무단 전재·재배포 금지",
        "Ⓒ 예제일보",
        "ⓒ예제일보",
        "© 2026 Example News",
        "저작권자 예제일보",
        "기사 원문 보기",
        "더보기",
        "실시간  뉴스는 예제일보",
        "COPYRIGHT 2026 EXAMPLE",
        "All Rights Reserved.",
        "The post Example appeared first on Example News.",
        "Read More",
        "Continue reading →",
    ],
)
def test_every_kind_of_signature_is_dropped(signature: str) -> None:
    assert strip_boilerplate(f"본문입니다.\n\n{signature}") == "본문입니다."


def test_a_closing_paragraph_that_is_no_signature_stays() -> None:
    text = "본문입니다.\n\n정부는 전재산을 기부했다고 밝혔다. Reading list: 더 많은 자료"
    assert strip_boilerplate(text) == text


def test_what_the_boilerplate_search_assumes_of_lower_holds() -> None:
    """Only Ⓒ lower-cases into a character of the Korean phrases or the signs, only R
    into an r, and nothing that is not a space into a space (see text._BOILERPLATE_MARKS)."""
    marks = set("실시간뉴스무단전재재배포금지저작권자ⓒ©더보기기사원문")
    for char in map(chr, range(0x110000)):
        lower = char.lower()
        if lower == char:
            continue
        assert not marks & set(lower) or char == "Ⓒ"
        assert "r" not in lower or char == "R"
        assert not any(part.isspace() for part in lower) or char.isspace()


def test_short_text_is_not_cut() -> None:
    assert truncate("짧은 문장.", 300) == "짧은 문장."


def test_cut_prefers_a_sentence_end_and_marks_the_cut() -> None:
    text = "첫 문장입니다. 둘째 문장은 조금 더 깁니다. 셋째 문장은 잘려야 합니다 정말로."
    cut = truncate(text, 40)
    assert cut == "첫 문장입니다. 둘째 문장은 조금 더 깁니다.…"
    assert len(cut) <= 40


def test_cut_never_splits_a_url_or_a_number() -> None:
    assert truncate("see https://example.com/a/very/long/path/here", 30) == "see…"
    assert truncate("총 1234567890123456789 달러", 12) == "총…"


def test_cut_never_splits_a_grapheme_cluster() -> None:
    family = "👨‍👩‍👧‍👦"
    cut = truncate(family * 10, 12)
    assert cut.endswith("…")
    assert cut[:-1] == family * (len(cut[:-1]) // len(family))
