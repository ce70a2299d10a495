"""The C reading of markup (bot/_text.c) gives what the Python one gives, on any input.

`bot.text.python_paragraphs` is the definition; the C module is only faster. These
tests feed both the same markup, generated from the pieces real summaries are made of
(tags of every kind, half tags, entities, every sort of whitespace, Korean, letters
that case-fold to ASCII) and taken from the feed fixtures, and compare the results.
"""

from __future__ import annotations

import random
import re
from html.entities import html5
from pathlib import Path

import pytest

from bot import text
from bot.errors import ParseError
from bot.feeds import parse_feed

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "feeds"

_PIECES = (
    # tags the passes turn into line breaks, blank lines or nothing
    "<p>", "</p>", "<P class='x'>", "</ p>", "<br>", "<BR/>", "<br />", "<br", "<brx>",
    "<br_2>", "<br가>", "<div>", "</DIV >", "<li>", "<h1>", "<h7>", "<pre>", "<prefix>",
    "<figcaption>", "<figure>", "<hr/>", "<dd>", "<table border=1>", "<tr>", "<b>", "</b>",
    "<a href=\"https://x.kr/?a=1&b=2\">", "</a>", "<img src='a>b.jpg'>", "<!doctype>",
    "<span\nclass=x>", "<1>", "< p>", "<", ">", "<<p>>", "</", "<a", "<p",
    # what sends the reading back to Python: comments, dropped elements, folding letters
    "<!--", "-->", "<script>", "</script>", "<scripts>", "<svg/>", "<STYLE>",
    "İ", "ı", "ſ", "K",  # letters re.IGNORECASE equates with i, i, s and k
    # entities, whole and broken
    "&amp;", "&nbsp;", "&#8203;", "&#x200b;", "&hellip;", "&lt;p&gt;", "&bogus;", "&",
    "&#", "&middot", "&#0;",
    # whitespace of every kind, and the zero-width space
    " ", " ", "  ", "\n", "\n", "\n\n", "\t", "\r", "\xa0", "\u3000", "\u2003", "\x1c",
    "\x85", "\u2028", "\x0b", "\x0c", "\u200b",
    # words
    "속보", "반도체 수출", "정부는", "news", "IT", "2026.11.29", "x_y", "é", "😀", ".", "…",
)  # fmt: skip


def generated(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choices(_PIECES, k=rng.randint(0, 30))) for _ in range(count)]


def fixture_markup() -> list[str]:
    found = []
    for path in sorted(FIXTURES.glob("*.xml")):
        try:
            entries = parse_feed(path.read_bytes()).entries
        except ParseError:
            continue  # the hostile fixtures: other tests' business
        for entry in entries:
            found += [part for part in (entry.title, entry.summary, entry.content) if part]
    return found


def test_what_the_c_module_assumes_of_python_holds() -> None:
    """The facts bot/_text.c relies on, checked against this Python's Unicode tables."""
    folding = re.compile("(?i)[a-z]")
    assert [c for c in range(0x80, 0x110000) if folding.match(chr(c))] == [
        0x130, 0x131, 0x17F, 0x212A,
    ]  # fmt: skip
    assert max(c for c in range(0x110000) if chr(c).isspace()) == 0x3000
    # html.unescape never makes a text longer: the C code decodes in place.
    assert all(len("&" + name) >= len(value) for name, value in html5.items())


def test_the_c_module_is_built() -> None:
    # `make test` installs with a compiler; without one newsbot still works, slower.
    assert text.native_paragraphs is not None


@pytest.mark.parametrize("seed", range(4))
def test_c_and_python_read_generated_markup_alike(seed: int) -> None:
    native = text.native_paragraphs
    assert native is not None
    handled = 0
    for markup in generated(5_000, seed):
        found = native(markup)
        if found is not None:
            handled += 1
            assert found == text.python_paragraphs(markup), repr(markup)
    # Most inputs must be read in C, or this test would compare nothing.
    assert handled > 1_000


def test_c_reads_markup_without_entities_in_one_pass_as_python_does() -> None:
    # Without a visible `&`, bot/_text.c reads tags and paragraphs in one pass.
    native = text.native_paragraphs
    assert native is not None
    handled = 0
    for markup in generated(5_000, seed=29):
        plain = markup.replace("&", "")
        found = native(plain)
        if found is not None:
            handled += 1
            assert found == text.python_paragraphs(plain), repr(plain)
    assert handled > 1_000


def test_c_and_python_read_the_fixture_feeds_alike() -> None:
    native = text.native_paragraphs
    assert native is not None
    markup = fixture_markup()
    assert len(markup) > 20
    for item in markup:
        found = native(item)
        assert found is None or found == text.python_paragraphs(item), repr(item)


def test_single_line_is_the_same_with_and_without_c(monkeypatch: pytest.MonkeyPatch) -> None:
    samples = generated(3_000, 7) + fixture_markup()
    with_c = [text.single_line(sample) for sample in samples]
    monkeypatch.setattr(text, "native_paragraphs", None)
    assert [text.single_line(sample) for sample in samples] == with_c


@pytest.mark.parametrize(
    "markup",
    [
        "<p>a</p><!-- hidden --><p>b</p>",
        "<p>a</p><script>var x = '<p>';</script>",
        "<DİV>a</DİV>",
    ],
)
def test_markup_python_reads_better_is_left_to_python(markup: str) -> None:
    assert text.native_paragraphs is not None
    assert text.native_paragraphs(markup) is None
    assert text.paragraphs(markup) == text.python_paragraphs(markup)
