"""Dates as feeds really write them.

`parse_date` tries three compiled patterns, cheapest and commonest first (ISO 8601,
RFC 822, then the Korean forms), and returns a naive datetime when the text names no
offset, so the caller can apply the source's own time zone.
"""

from __future__ import annotations

import functools
import re
from datetime import datetime, timedelta, timezone

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}

#: Named zones seen in real feeds; offsets in hours. Ambiguous names (IST) are left out.
_ZONES = {
    "z": 0.0,
    "ut": 0.0,
    "utc": 0.0,
    "gmt": 0.0,
    "kst": 9.0,
    "jst": 9.0,
    "hkt": 8.0,
    "sgt": 8.0,
    "est": -5.0,
    "edt": -4.0,
    "cst": -6.0,
    "cdt": -5.0,
    "mst": -7.0,
    "mdt": -6.0,
    "pst": -8.0,
    "pdt": -7.0,
    "cet": 1.0,
    "cest": 2.0,
    "bst": 1.0,
    "aest": 10.0,
}

_ZONE = r"(?P<zone>[+-]\d{2}(?::?\d{2})?|[a-z]{1,5})"

_ISO = re.compile(
    r"\s*(?P<y>\d{4})-?(?P<mo>\d{2})-?(?P<d>\d{2})"
    r"(?:(?:t|\s+|(?=\d{4}))(?P<h>\d{1,2}):?(?P<mi>\d{2})(?::?(?P<s>\d{2})(?:[.,](?P<f>\d+))?)?)?"
    r"\s*" + _ZONE + r"?\s*",
    re.IGNORECASE,
)

_RFC822 = re.compile(
    r"\s*(?:[a-z]{2,9}\.?,?\s*)?"  # day name, any case, comma optional
    r"(?P<d>\d{1,2})[\s-]+(?P<mon>[a-z]{3,9})\.?,?[\s-]+(?P<y>\d{2,4})"
    r"(?:,?\s+(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:\.\d+)?)?)?"
    r"\s*" + _ZONE + r"?\s*",
    re.IGNORECASE,
)

#: asctime and "Nov 29, 2026 14:03" (US order).
_MONTH_FIRST = re.compile(
    r"\s*(?:[a-z]{2,9},?\s+)?(?P<mon>[a-z]{3,9})\.?\s+(?P<d>\d{1,2}),?"
    r"(?:\s+(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))?)?"
    r"\s+(?P<y>\d{4})?"
    r"(?:\s+(?P<h2>\d{1,2}):(?P<mi2>\d{2})(?::(?P<s2>\d{2}))?)?"
    r"\s*" + _ZONE + r"?\s*",
    re.IGNORECASE,
)

_KOREAN = re.compile(
    r"\s*(?P<y>\d{4})\s*[년./-]\s*(?P<mo>\d{1,2})\s*[월./-]\s*(?P<d>\d{1,2})\s*[일.]?"
    r"\s*(?:\(\s*\w+\s*\)|[월화수목금토일]요일)?\s*"
    r"(?:(?P<h>\d{1,2})\s*(?::|시)\s*(?:(?P<mi>\d{1,2})\s*분?)?"
    r"(?:\s*:?\s*(?P<s>\d{1,2})\s*초?)?)?"
    r"\s*(?:" + _ZONE + r")?\s*",
    re.IGNORECASE,
)

#: Day and month in either order ("29.11.2026", "11/29/2026"), read only when one
#: of the two is above 12: a wrong date is worse than none.
_NUMERIC = re.compile(
    r"\s*(?P<a>\d{1,2})[./-](?P<b>\d{1,2})[./-](?P<y>\d{4})"
    r"(?:,?\s+(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))?)?"
    r"\s*" + _ZONE + r"?\s*",
    re.IGNORECASE,
)

#: "오후 2:03", "2:03 PM": removed before matching, applied to the hour after.
_MERIDIEM = re.compile(r"(?<![a-z])(오전|오후|[ap]\.?m\.?)(?![a-z])", re.IGNORECASE)
#: "(KST)" after an offset, as mail-style dates carry it.
_COMMENT = re.compile(r"\s*\([^)]*\)\s*$")
#: "GMT+09:00", "UTC+9": an offset spelled after a zone name.
_NAMED_OFFSET = re.compile(r"(?:gmt|utc|ut)\s*([+-])(\d{1,2})(?::?(\d{2}))?\s*$", re.IGNORECASE)


def parse_date(text: str) -> datetime | None:
    """Parse a feed date; naive when the text carries no offset; None if unreadable."""
    if not text or len(text) > 100:
        return None  # before the cache: a hostile feed must not fill it with novels
    return _parse(text)


@functools.lru_cache(maxsize=4096)
def _parse(text: str) -> datetime | None:
    # Cached: a polled feed repeats yesterday's items, and their dates, on every fetch
    # (datetimes are immutable, so sharing them is safe).
    fast = _fast(text)
    if fast is not None:
        return fast
    text, meridiem = _normalize(text)
    for parse in (_iso, _rfc822, _month_first, _korean, _numeric):
        try:
            found = parse(text)
        except (ValueError, OverflowError):
            continue
        if found is not None:
            return _apply_meridiem(found, meridiem)
    return None


def clear_cache() -> None:
    """Forget cached readings (the benchmark times first readings)."""
    _parse.cache_clear()


def _normalize(text: str) -> tuple[str, str | None]:
    """Strip what the patterns need not know: a trailing comment, AM/PM, "GMT+9"."""
    text = _COMMENT.sub("", text)
    offset = _NAMED_OFFSET.search(text)
    if offset is not None:
        sign, hours, minutes = offset.groups()
        text = f"{text[: offset.start()]} {sign}{int(hours):02d}{minutes or '00'}"
    meridiem = _MERIDIEM.search(text)
    if meridiem is None:
        return text, None
    marker = meridiem.group(1).lower()
    text = f"{text[: meridiem.start()]} {text[meridiem.end() :]}"
    return text, "pm" if marker in ("오후", "pm", "p.m.", "p.m", "pm.") else "am"


def _apply_meridiem(found: datetime, meridiem: str | None) -> datetime:
    if meridiem == "pm" and found.hour < 12:
        return found.replace(hour=found.hour + 12)
    if meridiem == "am" and found.hour == 12:
        return found.replace(hour=0)
    return found


def _fast(text: str) -> datetime | None:
    """The two spellings most feeds use, before the general patterns: ISO 8601 and
    RFC 822 as `datetime.isoformat` and `strftime` write them."""
    if text[4:5] == "-" and text[10:11] == "T":
        return _fromisoformat(text)
    if (canonical := _canonical_rfc822(text)) is not None:
        return canonical
    parts = text.split()
    if len(parts) != 6 or parts[0][-1:] != "," or parts[4].count(":") != 2:
        return None
    day, month_name, year, clock, zone_name = parts[1:]
    month = _MONTHS.get(month_name.lower())
    zone = _zone(zone_name)
    if month is None or zone is None or len(year) != 4:
        return None
    hour, minute, second = clock.split(":")
    try:
        return datetime(
            int(year), month, int(day), int(hour), int(minute), int(second), tzinfo=zone
        )
    except ValueError:
        return None


def _fromisoformat(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


#: Month numbers as ISO 8601 writes them, by RFC 822 abbreviation.
_MONTH_DIGITS = {name: f"{number:02d}" for name, number in _MONTHS.items() if len(name) == 3}
#: `Sun, 29 Nov 2026 14:03:00 +0900`: RFC 822 as most feeds write it.
_CANONICAL_RFC822 = re.compile(
    r"[A-Za-z]{3}, (\d\d) ([A-Za-z]{3}) (\d{4}) (\d\d:\d\d:\d\d) ([+-]\d{4})", re.ASCII
)


def _canonical_rfc822(text: str) -> datetime | None:
    """`text` in the layout of `_CANONICAL_RFC822`, read by `datetime.fromisoformat`:
    twice as fast as building the datetime from its fields."""
    match = _CANONICAL_RFC822.fullmatch(text)
    if match is None:
        return None
    day, name, year, clock, offset = match.groups()
    month = _MONTH_DIGITS.get(name.lower())
    return None if month is None else _fromisoformat(f"{year}-{month}-{day}T{clock}{offset}")


def _iso(text: str) -> datetime | None:
    m = _ISO.fullmatch(text)
    if m is None:
        return None
    micro = int((m["f"] or "0")[:6].ljust(6, "0"))
    return _build(m["y"], m["mo"], m["d"], m["h"], m["mi"], m["s"], m["zone"], micro)


def _rfc822(text: str) -> datetime | None:
    m = _RFC822.fullmatch(text)
    if m is None:
        return None
    month = _MONTHS.get(m["mon"].lower())
    if month is None:
        return None
    return _build(_year(m["y"]), month, m["d"], m["h"], m["mi"], m["s"], m["zone"])


def _month_first(text: str) -> datetime | None:
    m = _MONTH_FIRST.fullmatch(text)
    if m is None or m["y"] is None:
        return None
    month = _MONTHS.get(m["mon"].lower())
    if month is None:
        return None
    hour, minute, second = (m["h"], m["mi"], m["s"]) if m["h"] else (m["h2"], m["mi2"], m["s2"])
    return _build(m["y"], month, m["d"], hour, minute, second, m["zone"])


def _korean(text: str) -> datetime | None:
    m = _KOREAN.fullmatch(text)
    if m is None:
        return None
    return _build(m["y"], m["mo"], m["d"], m["h"], m["mi"], m["s"], m["zone"])


def _numeric(text: str) -> datetime | None:
    m = _NUMERIC.fullmatch(text)
    if m is None:
        return None
    first, second = int(m["a"]), int(m["b"])
    if first > 12 >= second:
        day, month = first, second
    elif second > 12 >= first:
        month, day = first, second
    else:
        return None
    return _build(m["y"], month, day, m["h"], m["mi"], m["s"], m["zone"])


def _year(text: str) -> int:
    year = int(text)
    if len(text) <= 2:
        # RFC 822 two-digit years: the POSIX pivot.
        year += 2000 if year < 69 else 1900
    return year


def _build(
    year: str | int,
    month: str | int,
    day: str | int,
    hour: str | int | None,
    minute: str | int | None,
    second: str | int | None,
    zone: str | None,
    micro: int = 0,
) -> datetime | None:
    tz = _zone(zone) if zone else None
    if zone and tz is None and not zone.isalpha():
        return None
    return datetime(
        int(year),
        int(month),
        int(day),
        int(hour or 0),
        int(minute or 0),
        int(second or 0),
        micro,
        tzinfo=tz,
    )


def _zone(zone: str) -> timezone | None:
    """The offset a zone names; None for a name we do not know (read as no offset)."""
    known = _ZONE_CACHE.get(zone)
    if known is None and len(_ZONE_CACHE) < 512:
        known = _ZONE_CACHE[zone] = _new_zone(zone)
    return known or _new_zone(zone)


#: Feeds repeat one zone hundreds of times; building a timezone each time shows.
_ZONE_CACHE: dict[str, timezone | None] = {}


def _new_zone(zone: str) -> timezone | None:
    first = zone[0]
    if first in "+-":
        digits = zone[1:].replace(":", "")
        if not (digits.isascii() and digits.isdigit()) or len(digits) not in (2, 4):
            return None
        minutes = int(digits[:2]) * 60 + int(digits[2:4] or 0)
        if minutes >= 24 * 60:
            return None
        return timezone(timedelta(minutes=-minutes if first == "-" else minutes))
    hours = _ZONES.get(zone.lower())
    return None if hours is None else timezone(timedelta(hours=hours))
