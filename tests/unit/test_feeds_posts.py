"""Jekyll-style post files: front matter, permalinks, and parity with jekyll-feed."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.errors import ParseError
from bot.feeds import parse_feed, parse_post

SEED = (
    Path(__file__).resolve().parent.parent
    / "fixtures"
    / "feeds"
    / "posts"
    / "000_f4a03f36554e6008.txt"
)
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "feeds"
KST = timezone(timedelta(hours=9))


def test_the_seed_post_reads_as_the_newsroom_published_it() -> None:
    entry = parse_post(SEED.read_bytes(), name=SEED.name, site_url="https://newsdao.kr")
    assert entry.title == "AI 투자 막대한 비용에도 결과는 뚜렷하지 않다!"
    assert entry.categories == ("IT",)
    assert entry.summary is not None and entry.summary.startswith("AI 투자에 쏟아진 6000억 달러")
    assert entry.image == "https://newsdao.kr/assets/img/newsdao_breakingnews.jpg"
    assert entry.link == "https://newsdao.kr/it/000_f4a03f36554e6008.html"
    assert entry.guid == "https://newsdao.kr/it/000_f4a03f36554e6008"
    assert entry.published is None  # no date in front matter or file name
    assert entry.content is not None and "<h2" in entry.content


@pytest.mark.parametrize(
    ("feed_index", "post_name"),
    [(0, "2026-11-29-ai-investment.md"), (1, "2026-11-28-한글-슬러그.md")],
)
def test_a_posts_folder_and_jekyll_feed_agree_on_guid_and_link(
    feed_index: int, post_name: str
) -> None:
    from_feed = parse_feed((FIXTURES / "jekyll_feed.xml").read_bytes()).entries[feed_index]
    from_folder = parse_post(
        (FIXTURES / "posts" / post_name).read_bytes(),
        name=post_name,
        site_url="https://newsdao.kr",
    )
    assert (from_folder.guid, from_folder.link) == (from_feed.guid, from_feed.link)
    assert (from_folder.title, from_folder.published) == (from_feed.title, from_feed.published)
    assert from_folder.summary == from_feed.summary
    assert (from_folder.categories, from_folder.image) == (from_feed.categories, from_feed.image)


def test_front_matter_fields_become_the_entry() -> None:
    entry = parse_post(
        (FIXTURES / "posts" / "2026-11-29-ai-investment.md").read_bytes(),
        name="2026-11-29-ai-investment.md",
        site_url="https://newsdao.kr",
    )
    assert entry.categories == ("IT", "AI")  # categories then tags, duplicates dropped
    assert entry.breaking is True
    assert entry.published == datetime(2026, 11, 29, 14, 3, tzinfo=KST)
    assert entry.image == "https://newsdao.kr/assets/img/newsdao_breakingnews.jpg"
    assert entry.content is not None
    assert "<h2>투자와 수익 간의 괴리</h2>" in entry.content
    assert "<strong>빅테크 기업들</strong>" in entry.content
    assert "<em>6000억 달러</em>" in entry.content
    assert '<a href="https://newsdao.kr/about">자세히</a>' in entry.content


def test_file_name_date_and_slug_fill_the_default_permalink() -> None:
    entry = parse_post(
        b"---\ntitle: T\ncategories: [News, World]\n---\nbody\n",
        name="2026-11-29-big-story.md",
        site_url="https://example.kr/",
    )
    assert entry.link == "https://example.kr/news/world/2026/11/29/big-story.html"
    assert entry.guid == "https://example.kr/news/world/2026/11/29/big-story"
    assert entry.published == datetime(2026, 11, 29)
    assert entry.content == "<p>body</p>"


def test_a_site_with_a_base_path_keeps_it() -> None:
    entry = parse_post(
        b"---\ntitle: T\n---\n", name="2026-11-29-x.md", site_url="https://a.kr/blog"
    )
    assert entry.link == "https://a.kr/blog/2026/11/29/x.html"


def test_front_matter_permalink_and_url_win_over_the_template() -> None:
    fixed = parse_post(
        b"---\npermalink: /breaking/:title/\n---\n", name="2026-11-29-x.md", site_url="https://a.kr"
    )
    assert (fixed.link, fixed.guid) == ("https://a.kr/breaking/x/", "https://a.kr/breaking/x")
    absolute = parse_post(b"---\nurl: https://b.kr/p/1.html\n---\n", name="x.md")
    assert (absolute.link, absolute.guid) == ("https://b.kr/p/1.html", "https://b.kr/p/1")


def test_a_relative_url_is_resolved_and_its_guid_drops_html() -> None:
    entry = parse_post(b"---\nurl: /p/7.html\n---\n", name="x.md", site_url="https://c.kr")
    assert (entry.link, entry.guid) == ("https://c.kr/p/7.html", "https://c.kr/p/7")


def test_without_site_url_a_front_matter_permalink_stays_relative_but_expanded() -> None:
    entry = parse_post(b"---\npermalink: /:year/:title.html\n---\n", name="2026-11-29-x.md")
    assert (entry.link, entry.guid) == ("/2026/x.html", "/2026/x")


def test_a_permalink_style_name_is_expanded() -> None:
    entry = parse_post(
        b"---\n---\n", name="2026-11-29-x.md", site_url="https://a.kr", permalink="pretty"
    )
    assert entry.link == "https://a.kr/2026/11/29/x/"


def test_without_site_url_or_permalink_there_is_no_link() -> None:
    entry = parse_post(b"---\ntitle: T\n---\n", name="2026-11-29-x.md")
    assert (entry.link, entry.guid) == (None, None)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-29 14:03:00 +0900", datetime(2026, 11, 29, 14, 3, tzinfo=KST)),
        ("2026-11-29 14:03:00 +09:00", datetime(2026, 11, 29, 14, 3, tzinfo=KST)),
        ("2026-11-29", datetime(2026, 11, 29)),
        ("2026-11-29 14:03", datetime(2026, 11, 29, 14, 3)),
        ("'2026년 11월 29일 14:03'", datetime(2026, 11, 29, 14, 3)),
    ],
)
def test_front_matter_dates_in_any_yaml_shape(value: str, expected: datetime) -> None:
    entry = parse_post(f"---\ndate: {value}\n---\n".encode(), name="post.md")
    assert entry.published == expected


def test_string_categories_split_on_spaces_like_jekyll_and_category_stays_whole() -> None:
    entry = parse_post(
        "---\ncategories: 정치 경제\ncategory: 국제 뉴스\ntags: 속보\n---\n".encode(), name="a.md"
    )
    assert entry.categories == ("정치", "경제", "국제 뉴스", "속보")


def test_breaking_is_only_taken_when_it_is_a_bool() -> None:
    assert parse_post(b"---\nbreaking: yes\n---\n", name="a.md").breaking is True
    assert parse_post(b"---\nbreaking: false\n---\n", name="a.md").breaking is False
    assert parse_post(b"---\nbreaking: maybe\n---\n", name="a.md").breaking is None


def test_image_as_a_mapping_with_path_like_jekyll_seo_tag() -> None:
    entry = parse_post(
        b"---\nimage:\n  path: img/a.png\n---\n", name="a.md", site_url="https://a.kr"
    )
    assert entry.image == "https://a.kr/img/a.png"


def test_a_post_without_front_matter_is_all_body() -> None:
    entry = parse_post("# 제목\n\n본문 *강조*".encode(), name="2026-11-29-plain-post.md")
    assert entry.title == "Plain Post"  # Jekyll titleizes the slug
    assert entry.content == "<h1>제목</h1>\n<p>본문 <em>강조</em></p>"


def test_an_html_file_body_is_kept_as_written() -> None:
    entry = parse_post(b"---\ntitle: T\n---\n<p>a *b*</p>\n", name="2026-11-29-x.html")
    assert entry.content == "<p>a *b*</p>"


def test_markdown_images_lists_and_code_are_rendered() -> None:
    source = "![사진](/a.jpg)\n\n- 하나\n- 둘\n\n`a<b>` & c\n"
    entry = parse_post(f"---\n---\n{source}".encode(), name="a.md")
    assert entry.content == (
        '<p><img src="/a.jpg" alt="사진" /></p>\n<ul><li>하나</li><li>둘</li></ul>\n'
        "<p><code>a&lt;b&gt;</code> &amp; c</p>"
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("---\ntitle: [unclosed\n---\nbody", "broken front matter: "),
        ("---\ntitle: a\nbody without a closing line", "broken front matter: no closing"),
        ("---\n- a list\n---\n", "broken front matter: a list"),
    ],
)
def test_broken_front_matter_is_one_line_parse_error(text: str, reason: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_post(text.encode(), name="a.md")
    assert str(caught.value).startswith(reason)
    assert "\n" not in str(caught.value)


def test_a_cp949_post_file_is_decoded() -> None:
    entry = parse_post("---\ntitle: 똠 햏 뷁\n---\n".encode("cp949"), name="a.md")
    assert entry.title == "똠 햏 뷁"


def test_a_yaml_alias_bomb_in_front_matter_expands_nothing() -> None:
    levels = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for name, previous in zip("bcdefghi", "abcdefgh", strict=True):
        levels.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    fields = "\n".join(f"{field}: *i" for field in ("tags", "categories", "excerpt", "image"))
    text = "---\ntitle: 폭탄\n" + "\n".join(levels) + "\n" + fields + "\n---\n"
    entry = parse_post(text.encode(), name="2026-11-29-bomb.md", site_url="https://a.kr")
    assert (entry.title, entry.categories, entry.summary, entry.image) == ("폭탄", (), None, None)
