"""Dates as real feeds write them: naive without an offset, aware with one."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.feeds import parse_date
from bot.feeds.dates import _fast

KST = timezone(timedelta(hours=9))
AWARE = datetime(2026, 11, 29, 14, 3, tzinfo=KST)
NAIVE = datetime(2026, 11, 29, 14, 3)


@pytest.mark.parametrize(
    "text",
    [
        "Sun, 29 Nov 2026 14:03:00 +0900",
        "Sun, 29 Nov 2026 14:03 +0900",
        "Sun, 29 Nov 2026 14:03:00 +09:00",
        "sun, 29 nov 2026 14:03:00 +0900",
        "SUNDAY, 29 NOV 2026 14:03:00 KST",
        "  Sun,  29 Nov 2026   14:03:00   KST  ",
        "Sun,29 Nov 2026 14:03:00 +0900",
        "29 Nov 2026 14:03:00 +0900",
        "Sun, 29 November 2026 14:03:00 +0900",
        "Sun, 29 Nov 26 14:03:00 +0900",
        "Sun, 29 Nov 2026 05:03:00 GMT",
        "Sun, 29 Nov 2026 05:03:00 UT",
        "Sun, 29 Nov 2026 00:03:00 EST",
        "Sat, 28 Nov 2026 21:03:00 PST",
        "2026-11-29T14:03:00+09:00",
        "2026-11-29T14:03:00+0900",
        "2026-11-29T05:03:00Z",
        "2026-11-29T05:03:00.000Z",
        "2026-11-29 14:03:00 +09:00",
        "2026-11-29T14:03+09:00",
        "20261129T140300+0900",
        "2026-11-29 14:03 KST",
        "Sun, 29 Nov 2026 14:03:00 +0900 (KST)",
        "Sun, 29 Nov 2026 14:03:00 GMT+09:00",
        "Sun, 29 Nov 2026 14:03:00 UTC+9",
        "Sun, 29 Nov 2026 2:03:00 PM +0900",
        "2026-11-29T14:03:00+09",
    ],
)
def test_dates_with_an_offset_are_aware_and_exact(text: str) -> None:
    parsed = parse_date(text)
    assert parsed is not None
    assert parsed.tzinfo is not None
    assert parsed.astimezone(UTC) == AWARE.astimezone(UTC)


@pytest.mark.parametrize(
    "text",
    [
        "2026.11.29 14:03",
        "2026. 11. 29. 14:03",
        "2026.11.29(일) 14:03",
        "2026-11-29 오후 02:03:00",
        "2026-11-29 오후 2:03",
        "2026년 11월 29일 14:03",
        "2026년 11월 29일 오후 2시 3분",
        "2026년 11월 29일 일요일 14:03",
        "2026/11/29 14:03",
        "2026-11-29 14:03",
        "2026-11-29T14:03:00",
        "Sun, 29 Nov 2026 14:03:00",
        "Sun Nov 29 14:03:00 2026",
        "Nov 29, 2026 14:03",
        "Sunday, November 29, 2026 2:03 PM",
        "2026-11-29 PM 2:03:00",
        "2026.11.29 오후 2:03",
        "2026년 11월 29일 (일) 오후 2:03",
        "2026-11-29 14:03:00.0",
        "20261129140300",
        "11/29/2026 2:03:00 PM",
        "29.11.2026 14:03",
    ],
)
def test_dates_without_an_offset_stay_naive_for_the_source_time_zone(text: str) -> None:
    assert parse_date(text) == NAIVE


def test_korean_morning_twelve_is_just_after_midnight() -> None:
    assert parse_date("2026-11-29 오전 12:03:00") == datetime(2026, 11, 29, 0, 3)


def test_noon_pm_stays_noon() -> None:
    assert parse_date("2026-11-29 12:03 PM") == datetime(2026, 11, 29, 12, 3)


def test_a_date_alone_is_midnight() -> None:
    assert parse_date("2026-11-29") == datetime(2026, 11, 29)
    assert parse_date("2026.11.29") == datetime(2026, 11, 29)


def test_an_unknown_zone_name_reads_as_no_offset_rather_than_failing() -> None:
    assert parse_date("Sun, 29 Nov 2026 14:03:00 XYZ") == NAIVE


@pytest.mark.parametrize(
    "text",
    ["", "yesterday", "Sun, 31 Feb 2026 14:03:00 +0900", "2026-13-01", "x" * 500, "03/04/2026"],
)
def test_unreadable_or_impossible_dates_give_none(text: str) -> None:
    assert parse_date(text) is None


def test_canonical_rfc822_reads_as_the_field_by_field_route_does() -> None:
    """The usual layout takes a shortcut through `datetime.fromisoformat`; a doubled
    space sends the same date the long way. Both must agree, wrong dates included."""
    rng = random.Random(3)
    read = 0
    for _ in range(3_000):
        day, hour, minute, second = (
            rng.randint(0, 32),
            rng.randint(0, 25),
            *rng.choices(range(62), k=2),
        )
        offset = f"{rng.choice('+-')}{rng.randint(0, 25):02d}{rng.choice((0, 30, 45, 60, 99)):02d}"
        month = rng.choice(("Nov", "nov", "FEB", "Feb", "Xyz"))
        text = f"Sun, {day:02d} {month} 2026 {hour:02d}:{minute:02d}:{second:02d} {offset}"
        assert _fast(text) == _fast(text.replace(" ", "  ", 1)), text
        read += _fast(text) is not None
    assert read > 1_000  # most are real dates
