from bot.formatter import (
    alert_for_broadcast,
    alert_for_digest,
    alert_for_post,
    hashtag,
    render_plain,
    site_name,
)
from bot.models import Broadcast, PlatformLimits
from tests.factories import make_post

LIMITS = PlatformLimits(
    text_length=4096, per_second=30, per_chat_per_second=1, per_group_per_minute=20
)


def test_alert_cuts_headline_and_excerpt_to_the_platform_limits() -> None:
    post = make_post(title="가" * 300, excerpt="단어 " * 400)
    alert = alert_for_post(post, LIMITS)
    assert len(alert.headline) == 200 and alert.headline.endswith("…")
    assert len(alert.excerpt) <= 300 and alert.excerpt.endswith("…")


def test_alert_names_the_site_without_www() -> None:
    assert site_name("https://www.newsdao.kr/it/1") == "newsdao.kr"
    assert alert_for_post(make_post(link="https://newsdao.kr/x"), LIMITS).site == "newsdao.kr"


def test_broadcast_alert_has_no_headline_and_no_link() -> None:
    alert = alert_for_broadcast(Broadcast(text="긴급 공지", category="IT", author="a"), LIMITS)
    assert (alert.headline, alert.excerpt, alert.link, alert.categories) == (
        "",
        "긴급 공지",
        None,
        ("IT",),
    )


def test_plain_rendering_shows_breaking_line_headline_link_and_tags() -> None:
    alert = alert_for_post(make_post(breaking=True, categories=("World News",)), LIMITS)
    text = render_plain(alert, language="en").splitlines()
    assert text[0] == "🔴 Breaking"
    assert text[1] == "Headline 1"
    assert text[-1] == "#World_News"
    assert hashtag("IT") == "#IT"


def test_a_digest_cut_to_its_newest_posts_says_how_many_it_left_out() -> None:
    posts = [make_post(n) for n in range(3)]
    assert alert_for_digest(posts, LIMITS, language="ko").headline == "📰 뉴스 다이제스트 (3)"
    cut = alert_for_digest(posts, LIMITS, language="ko", held=45)
    assert cut.headline == "📰 뉴스 다이제스트 (최신 3건 / 전체 45건)"
    assert len(cut.items) == 3
