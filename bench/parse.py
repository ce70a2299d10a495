"""newsbot's feed parser against feedparser, side by side on the same bytes.

Run `python bench/parse.py` (add `--json` for machine-readable figures). It builds
realistic Korean feeds (RSS 2.0 and Atom, 100 entries, about 250 KB), times
`bot.feeds.parse_feed` and `feedparser.parse` on each (the minimum of N runs, with
`time.perf_counter`), checks that both read the same title, link and published time
for every entry, then times 100 / 1,000 / 10,000-entry feeds to show linear scaling.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta, timezone
from functools import partial
from html import escape
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.feeds import parse_feed
from bot.feeds.dates import clear_cache
from bot.models import Post
from bot.normalize import Skipped, SourceRules, normalize

KST = timezone(timedelta(hours=9))
_WORDS = (
    "정부",
    "국회",
    "대통령",
    "경제",
    "반도체",
    "수출",
    "증가",
    "감소",
    "발표",
    "속보",
    "단독",
    "인공지능",
    "투자",
    "시장",
    "금리",
    "한국은행",
    "서울",
    "부산",
    "기업",
    "삼성전자",
    "현대차",
    "스타트업",
    "개발",
    "연구",
    "교육",
    "학생",
    "날씨",
    "태풍",
    "선거",
    "여당",
    "야당",
    "의원",
    "법안",
    "통과",
    "검찰",
    "수사",
    "법원",
    "판결",
    "주가",
    "코스피",
    "환율",
    "달러",
    "물가",
)
_CATEGORIES = ("정치", "경제", "사회", "IT", "국제", "문화", "스포츠")


@dataclass(frozen=True)
class Article:
    title: str
    link: str
    published: datetime
    categories: tuple[str, ...]
    image: str
    body_html: str


def articles(count: int, *, paragraphs: int = 6, seed: int = 29) -> list[Article]:
    """Deterministic Korean articles, newest first, one minute apart."""
    rng = random.Random(seed)
    start = datetime(2026, 11, 29, 14, 3, tzinfo=KST)
    made = []
    for number in range(count):
        words = rng.sample(_WORDS, 8)
        title = f'[속보] {" ".join(words[:5])} "{words[5]}" & {words[6]}…'
        body = "".join(f"<p>{' '.join(rng.choices(_WORDS, k=40))}.</p>" for _ in range(paragraphs))
        made.append(
            Article(
                title=title,
                link=f"https://news.example.kr/article/{20261129000000 + number}",
                published=start - timedelta(minutes=number),
                categories=tuple(rng.sample(_CATEGORIES, 2)),
                image=f"https://img.example.kr/2026/11/29/{number}.jpg",
                body_html=f'<img src="https://img.example.kr/{number}.jpg"/>{body}',
            )
        )
    return made


def rss_feed(items: list[Article]) -> bytes:
    """RSS 2.0 as Korean CMSes write it: CDATA descriptions, RFC 822 dates in +0900."""
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
        'xmlns:media="http://search.yahoo.com/mrss/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        "<title>예제 뉴스</title><link>https://news.example.kr/</link>"
        "<description>예제 뉴스 전체기사</description><language>ko</language>"
    ]
    for item in items:
        categories = "".join(f"<category>{c}</category>" for c in item.categories)
        parts.append(
            f"<item><title><![CDATA[{item.title}]]></title><link>{item.link}</link>"
            f'<guid isPermaLink="true">{item.link}</guid>'
            f"<description><![CDATA[{item.body_html}]]></description>"
            f"{categories}<dc:creator>기자</dc:creator>"
            f"<pubDate>{item.published.strftime('%a, %d %b %Y %H:%M:%S +0900')}</pubDate>"
            f'<media:thumbnail url="{item.image}"/></item>\n'
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode("utf-8")


def atom_feed(items: list[Article]) -> bytes:
    """Atom 1.0 in jekyll-feed's shape: escaped HTML summary, ISO dates, media:thumbnail."""
    parts = [
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        '<title type="html">예제 뉴스</title><link href="https://news.example.kr/" '
        'rel="alternate" type="text/html"/><id>https://news.example.kr/feed.xml</id>'
        "<updated>2026-11-29T14:03:00+09:00</updated>"
    ]
    for item in items:
        categories = "".join(f'<category term="{c}"/>' for c in item.categories)
        parts.append(
            f'<entry><title type="html">{escape(item.title)}</title>'
            f'<link href="{item.link}" rel="alternate" type="text/html"/>'
            f"<published>{item.published.isoformat()}</published>"
            f"<updated>{item.published.isoformat()}</updated><id>{item.link}</id>"
            f'<content type="html">{escape(item.body_html)}</content>{categories}'
            f'<media:thumbnail xmlns:media="http://search.yahoo.com/mrss/" url="{item.image}"/>'
            "</entry>"
        )
    parts.append("</feed>")
    return "".join(parts).encode("utf-8")


def euc_kr(body: bytes) -> bytes:
    """The same feed as an older Korean CMS serves it: EUC-KR declared, CP949 bytes."""
    text = body.decode("utf-8").replace('encoding="UTF-8"', 'encoding="euc-kr"', 1)
    return text.encode("cp949")


def best_ms(run: Callable[[], object], repeats: int) -> float:
    """The fastest of `repeats` runs, in milliseconds, each from a cold date cache."""
    best = float("inf")
    for _ in range(repeats):
        clear_cache()  # time a first reading, not a re-poll of the same items
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best * 1000


def disagreements(body: bytes, parsed: Any) -> list[str]:
    """Entries where feedparser and newsbot read a different title, link or date."""
    ours = parse_feed(body).entries
    theirs = parsed.entries
    if len(ours) != len(theirs):
        return [f"entry count: newsbot {len(ours)}, feedparser {len(theirs)}"]
    problems = []
    for index, (mine, other) in enumerate(zip(ours, theirs, strict=True)):
        when = mine.published.astimezone(UTC).timetuple()[:6] if mine.published else None
        other_when = tuple(other.published_parsed[:6]) if other.get("published_parsed") else None
        for field, a, b in (
            ("title", mine.title, other.get("title")),
            ("link", mine.link, other.get("link")),
            ("published", when, other_when),
        ):
            if a != b:
                problems.append(f"entry {index} {field}: newsbot {a!r}, feedparser {b!r}")
    return problems


@dataclass
class FeedFigures:
    name: str
    kilobytes: float
    entries: int
    #: Parse and normalize (Entry → Post): what newsbot does with a fetched body.
    newsbot_ms: float
    feedparser_ms: float
    ratio: float
    agree: bool
    #: Parse alone, for the record.
    parse_only_ms: float = 0.0


_RULES = SourceRules(name="bench", base_url="https://news.example.kr/feed.xml")


def parse_and_normalize(body: bytes) -> list[Post]:
    """What a fetch costs newsbot after the bytes arrive: parse, then normalize each entry."""
    now = datetime.now(UTC)
    posts = []
    for entry in parse_feed(body).entries:
        try:
            posts.append(normalize(entry, _RULES, now=now, seen_at=now))
        except Skipped:
            continue
    return posts


def compare(name: str, body: bytes, repeats: int) -> tuple[FeedFigures, list[str]]:
    import feedparser  # a dev dependency, for this comparison only

    ours = theirs = parse_only = float("inf")
    for _ in range(repeats):
        # Interleaved, so a burst of load on a shared machine hits both sides alike.
        theirs = min(theirs, best_ms(partial(feedparser.parse, body), 1))
        ours = min(ours, best_ms(partial(parse_and_normalize, body), 4))
        parse_only = min(parse_only, best_ms(partial(parse_feed, body), 4))
    problems = disagreements(body, feedparser.parse(body))
    figures = FeedFigures(
        name=name,
        kilobytes=round(len(body) / 1024, 1),
        entries=len(parse_feed(body).entries),
        newsbot_ms=round(ours, 3),
        feedparser_ms=round(theirs, 3),
        ratio=round(theirs / ours, 1),
        agree=not problems,
        parse_only_ms=round(parse_only, 3),
    )
    return figures, problems


def scaling(repeats: int) -> list[dict[str, float]]:
    """newsbot alone on 100, 1,000 and 10,000 entries: time per entry should stay flat."""
    rows = []
    for count in (100, 1_000, 10_000):
        body = rss_feed(articles(count, paragraphs=2))
        ms = best_ms(partial(parse_feed, body), repeats if count < 10_000 else 3)
        rows.append(
            {"entries": count, "ms": round(ms, 2), "us_per_entry": round(ms * 1000 / count, 2)}
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    """Run the comparison; print a table (or JSON); 1 if the parsers disagree."""
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--json", action="store_true", help="print figures as JSON")
    options.add_argument("--repeats", type=int, default=10, help="runs per timing (min kept)")
    args = options.parse_args(argv)
    items = articles(100)
    feeds = {
        "rss-100-ko": rss_feed(items),
        "atom-100-ko": atom_feed(items),
        # Labelled EUC-KR, written in CP949: read through bot/feeds/_lift.c's CP949 table.
        "rss-100-euckr": euc_kr(rss_feed(items)),
    }
    results = [compare(name, body, args.repeats) for name, body in feeds.items()]
    rows = scaling(args.repeats)
    if args.json:
        report = {"feeds": [asdict(figures) for figures, _ in results], "scaling": rows}
        print(json.dumps(report, indent=2))
    else:
        _print_table(results, rows)
    return 0 if all(figures.agree for figures, _ in results) else 1


def _print_table(
    results: list[tuple[FeedFigures, list[str]]], rows: list[dict[str, float]]
) -> None:
    print(
        f"{'feed':<12} {'KB':>7} {'entries':>7} {'parse+normalize ms':>19} "
        f"{'feedparser ms':>14} ratio {'parse alone ms':>15} ratio"
    )
    for figures, problems in results:
        alone = figures.feedparser_ms / figures.parse_only_ms if figures.parse_only_ms else 0.0
        print(
            f"{figures.name:<12} {figures.kilobytes:>7} {figures.entries:>7} "
            f"{figures.newsbot_ms:>19.2f} {figures.feedparser_ms:>14.2f} {figures.ratio:>5}x"
            f" {figures.parse_only_ms:>15.2f} {alone:>5.1f}x"
            f"  {'same title/link/date' if figures.agree else 'DISAGREE'}"
        )
        for problem in problems[:10]:
            print("   ", problem)
    print("\nscaling (newsbot only, 2-paragraph items):")
    for row in rows:
        print(
            f"  {row['entries']:>6} entries: {row['ms']:>9.2f} ms  {row['us_per_entry']} µs/entry"
        )


if __name__ == "__main__":
    raise SystemExit(main())
