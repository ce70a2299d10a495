"""The C walk of an item's children (bot/feeds/_tree.c) gives what Python's gives.

`xmltree.python_children` is the definition. Both are run on every element of the
fixture feeds and of generated documents (namespaces declared and not, comments,
processing instructions, entity references, CDATA between texts, attributes plain,
namespaced, empty and with references), and every fixture and benchmark feed is
read with and without the C walk.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from lxml import etree

from bench.parse import articles, atom_feed, euc_kr, rss_feed
from bot.errors import ParseError
from bot.feeds import parse_feed, xmltree
from bot.feeds.xmltree import ATOM10, RSS10, TagKeys
from bot.models import ParsedFeed

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "feeds"

_NAMESPACES = {
    "dc": "http://purl.org/dc/elements/1.1/",
    "media": "http://search.yahoo.com/mrss/",
    "atom": ATOM10,
    "x": "urn:example:unknown",
}
_PIECES = (
    "속보 ", "text", "  ", "\n", "&amp;", "&#xD55C;", "&ent;", "<![CDATA[<b>]]>", "<!-- c -->",
    "<?pi x?>", "<![CDATA[]]>",
)  # fmt: skip
_ATTRIBUTES = (
    ' url="u"', ' xml:base="https://a.kr/"', ' xmlns="urn:d"', ' media:url="m"', ' type=""',
    ' rel="a&amp;b &#xD55C;"', ' term="&ent;"', " label='x\ty'", ' x:url="한"',
)  # fmt: skip
_NAMES = ("title", "link", "dc:date", "media:thumbnail", "atom:link", "x:title", "item", "b")


def _element(rng: random.Random, depth: int) -> str:
    name = rng.choice(_NAMES)
    attributes = "".join(rng.sample(_ATTRIBUTES, rng.randint(0, 3)))
    content = []
    for _ in range(rng.randint(0, 5)):
        if depth < 3 and rng.random() < 0.35:
            content.append(_element(rng, depth + 1))
        else:
            content.append(rng.choice(_PIECES))
    return f"<{name}{attributes}>{''.join(content)}</{name}>"


def generated(seed: int) -> etree._Element:
    rng = random.Random(seed)
    declarations = " ".join(f'xmlns:{prefix}="{uri}"' for prefix, uri in _NAMESPACES.items())
    body = "".join(_element(rng, 0) for _ in range(rng.randint(1, 6)))
    document = f'<!DOCTYPE rss [<!ENTITY ent "e">]><rss {declarations}>{body}</rss>'
    parser = etree.XMLParser(resolve_entities=False)  # keeps the entity references
    return etree.fromstring(document.encode(), parser)


def assert_alike(root: etree._Element) -> int:
    """Both walks over every element under `root`; the number of children compared."""
    native = xmltree.native_children
    assert native is not None
    elements = list(root.iter(etree.Element))
    keys = TagKeys(("", RSS10))
    python = xmltree.python_children(elements, keys)
    assert native(elements, TagKeys(("", RSS10))) == python
    return sum(len(found) for found in python)


def test_the_c_module_is_built() -> None:
    # `make test` builds it; without a compiler or lxml's headers newsbot reads in Python.
    assert xmltree.native_children is not None


def test_children_are_keyed_with_their_text() -> None:
    root = etree.fromstring(
        b'<item xmlns:dc="http://purl.org/dc/elements/1.1/"><title>A<![CDATA[ & B]]></title>'
        b'<!-- note --><dc:date> 2026 </dc:date><b dc:x="1" y="&lt;2"><i/>tail</b><empty/></item>'
    )
    [found] = xmltree.children([root], TagKeys(("",)))
    assert [(key, text, dict(attributes)) for key, text, _, attributes in found] == [
        ("title", "A & B", {}),
        ("dc:date", " 2026 ", {}),
        ("b", None, {"{http://purl.org/dc/elements/1.1/}x": "1", "y": "<2"}),
        ("empty", None, {}),
    ]
    assert [element.tag for _, _, element, _ in found][-1] == "empty"


@pytest.mark.parametrize("seed", range(4))
def test_c_and_python_walk_generated_documents_alike(seed: int) -> None:
    compared = sum(assert_alike(generated(seed * 1_000 + n)) for n in range(250))
    assert compared > 1_000


def test_c_and_python_walk_the_fixture_feeds_alike() -> None:
    compared = 0
    for path in sorted(FIXTURES.glob("*.xml")):
        try:
            root = etree.fromstring(path.read_bytes(), etree.XMLParser(recover=True))
        except etree.XMLSyntaxError:
            continue  # the hostile fixtures: other tests' business
        if root is not None:
            compared += assert_alike(root)
    assert compared > 200


def test_children_takes_only_elements() -> None:
    with pytest.raises(TypeError, match="lxml elements"):
        xmltree.children(["<item/>"], TagKeys(("",)))  # type: ignore[list-item]


def reading(body: bytes, *, native: bool, monkeypatch: pytest.MonkeyPatch) -> ParsedFeed | str:
    with monkeypatch.context() as patch:
        if not native:
            patch.setattr(xmltree, "native_children", None)
        try:
            return parse_feed(body)
        except ParseError as exc:
            return f"ParseError: {exc}"


@pytest.mark.parametrize("name", sorted(path.name for path in FIXTURES.glob("*.xml")))
def test_every_fixture_reads_the_same_with_or_without_c(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = (FIXTURES / name).read_bytes()
    assert reading(body, native=True, monkeypatch=monkeypatch) == reading(
        body, native=False, monkeypatch=monkeypatch
    )


def test_the_benchmark_feeds_read_the_same_with_or_without_c(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    items = articles(30)
    for body in (rss_feed(items), atom_feed(items), euc_kr(rss_feed(items))):
        feed = reading(body, native=True, monkeypatch=monkeypatch)
        assert isinstance(feed, ParsedFeed) and len(feed.entries) == 30
        assert feed == reading(body, native=False, monkeypatch=monkeypatch)
