from datetime import UTC, datetime, timedelta

import pytest

from bot.models import Entry
from bot.normalize import (
    SEOUL,
    Skipped,
    SourceRules,
    canonical_link,
    fingerprint,
    normalize,
    unique_categories,
)

NOW = datetime(2026, 11, 29, 5, 0, tzinfo=UTC)
RULES = SourceRules(name="newsdao", base_url="https://newsdao.kr/feed.xml")


def entry(**fields: object) -> Entry:
    base: dict[str, object] = {"guid": "g1", "link": "https://newsdao.kr/a/1", "title": "제목"}
    base.update(fields)
    return Entry(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "link",
    [
        "https://newsdao.kr/a/1",
        "HTTP://NewsDao.KR/a/1/",
        "https://newsdao.kr:8443/a/1",
        "https://newsdao.kr:443/a/1",
        "https://newsdao.kr/a/1?utm_source=x&id=3#top",
        "https://newsdao.kr",
        "https://뉴스.kr/기사 1",
        "/it/ai.html",
        "ai.html?id=2",
        "https://user@newsdao.kr/a",
    ],
)
def test_the_post_is_identified_by_its_links_canonical_form(link: str) -> None:
    # normalize hands its first look at the link on to the canonical form.
    post = normalize(entry(guid=None, link=link), RULES, now=NOW, seen_at=NOW)
    assert post.guid == canonical_link(post.link)
    assert post.fingerprint == fingerprint(post.link)


def test_title_loses_markup_and_entities() -> None:
    post = normalize(
        entry(title="<b>AI</b> &amp; 반도체 &lt;속보&gt;"), RULES, now=NOW, seen_at=NOW
    )
    assert post.title == "AI & 반도체 <속보>"


def test_relative_link_is_resolved_and_other_schemes_are_refused() -> None:
    post = normalize(entry(link="/it/ai.html"), RULES, now=NOW, seen_at=NOW)
    assert post.link == "https://newsdao.kr/it/ai.html"
    with pytest.raises(Skipped, match="no usable http"):
        normalize(entry(link="javascript:alert(1)", guid="x"), RULES, now=NOW, seen_at=NOW)


def test_guid_falls_back_to_the_canonical_link() -> None:
    post = normalize(
        entry(guid=None, link="https://newsdao.kr/a/1?utm_source=x&id=3#top"),
        RULES,
        now=NOW,
        seen_at=NOW,
    )
    assert post.guid == "https://newsdao.kr/a/1?id=3"


def test_tracking_parameters_do_not_change_the_fingerprint() -> None:
    assert fingerprint("https://NewsDao.kr/a/1?utm_campaign=x&fbclid=1") == fingerprint(
        "http://newsdao.kr/a/1/"
    )
    assert canonical_link("https://x.kr:443/a?b=1&utm_medium=m") == "https://x.kr/a?b=1"


def test_a_date_without_offset_is_in_the_sources_zone() -> None:
    post = normalize(entry(published=datetime(2026, 11, 29, 14, 3)), RULES, now=NOW, seen_at=NOW)
    assert post.published_at == datetime(2026, 11, 29, 14, 3, tzinfo=SEOUL)
    assert post.published_at.utcoffset() == timedelta(hours=9)


def test_a_date_more_than_a_day_ahead_is_clamped_to_now() -> None:
    future = datetime(2027, 1, 1, tzinfo=UTC)
    post = normalize(entry(published=future), RULES, now=NOW, seen_at=NOW)
    assert post.published_at == NOW


def test_no_date_takes_updated_else_the_time_first_seen() -> None:
    updated = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)
    assert normalize(entry(updated=updated), RULES, now=NOW, seen_at=NOW).published_at == updated
    assert normalize(entry(), RULES, now=NOW, seen_at=NOW).published_at == NOW


def test_categories_keep_their_spelling_and_drop_case_duplicates() -> None:
    assert unique_categories(["IT", "it", " World  News ", "#Tech", ""]) == (
        "IT",
        "World News",
        "Tech",
    )


def test_source_categories_apply_to_entries_without_any() -> None:
    rules = SourceRules(name="s", base_url=None, categories=("정치",))
    assert normalize(entry(), rules, now=NOW, seen_at=NOW).categories == ("정치",)


@pytest.mark.parametrize(
    "fields",
    [
        {"breaking": True},
        {"title": "[속보] 지진 발생"},
        {"title": "속보 지진 발생"},
        {"title": "[Breaking] Quake"},
        {"title": "BREAKING: Quake"},
        {"categories": ("속보",)},
        {"categories": ("Breaking",)},
        {"image": "/assets/img/newsdao_breakingnews.jpg"},
        {"content": '<p><img src="/a.jpg" alt="firstkoreanews 속보" /></p><p>본문</p>'},
    ],
)
def test_breaking_is_recognised_by_every_marker(fields: dict[str, object]) -> None:
    assert normalize(entry(**fields), RULES, now=NOW, seen_at=NOW).breaking


def test_an_ordinary_post_is_not_breaking_unless_the_source_says_so() -> None:
    assert not normalize(entry(title="평범한 기사"), RULES, now=NOW, seen_at=NOW).breaking
    rules = SourceRules(name="s", base_url=None, breaking=True)
    assert normalize(entry(), rules, now=NOW, seen_at=NOW).breaking


def test_excerpt_prefers_the_summary_and_drops_the_signature() -> None:
    post = normalize(
        entry(summary=None, content="<p>첫 문단.</p><p>실시간 뉴스 속보는, https://newsdao.kr</p>"),
        RULES,
        now=NOW,
        seen_at=NOW,
    )
    assert post.excerpt == "첫 문단."
    post = normalize(entry(summary="요약", content="<p>본문</p>"), RULES, now=NOW, seen_at=NOW)
    assert post.excerpt == "요약"


def test_an_entry_with_neither_title_nor_text_is_skipped() -> None:
    with pytest.raises(Skipped, match="no title"):
        normalize(entry(title="  "), RULES, now=NOW, seen_at=NOW)


def test_an_entity_cut_in_half_by_the_cms_is_dropped() -> None:
    post = normalize(entry(summary="반도체 수출이 늘었다 &hel"), RULES, now=NOW, seen_at=NOW)
    assert post.excerpt == "반도체 수출이 늘었다"


def test_a_link_with_a_broken_port_is_skipped_not_a_crash() -> None:
    with pytest.raises(Skipped, match="no usable http"):
        normalize(entry(link="http://newsdao.kr:abc/a", guid="g"), RULES, now=NOW, seen_at=NOW)


def test_a_bare_date_of_today_counts_from_when_it_was_first_seen() -> None:
    afternoon = datetime(2026, 11, 29, 6, 30, tzinfo=UTC)  # 15:30 KST
    today = normalize(
        entry(published=datetime(2026, 11, 29)), RULES, now=afternoon, seen_at=afternoon
    )
    assert today.published_at == afternoon, "not midnight: that would make it stale at once"
    older = normalize(
        entry(published=datetime(2026, 11, 27)), RULES, now=afternoon, seen_at=afternoon
    )
    assert older.published_at == datetime(2026, 11, 27, tzinfo=SEOUL)
