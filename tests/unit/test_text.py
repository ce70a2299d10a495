from bot.text import html_to_text, strip_boilerplate, truncate


def test_markup_becomes_paragraphs_of_plain_text() -> None:
    html = "<p>AI <b>시장</b>&nbsp;변화 &amp; 투자</p><p>둘째 문단</p><script>x()</script>"
    assert html_to_text(html) == "AI 시장 변화 & 투자\n\n둘째 문단"


def test_site_signature_at_the_end_is_dropped() -> None:
    text = html_to_text(
        '<p>본문입니다.</p>\n실시간 뉴스 속보는, <a href="https://newsdao.kr">https://newsdao.kr</a>'
    )
    assert strip_boilerplate(text) == "본문입니다."


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
