from collections.abc import Mapping, Sequence

from lxml import etree

def children(
    parents: Sequence[etree._Element], keys: Mapping[object, str], /
) -> list[list[tuple[str, str | None, etree._Element, Mapping[str, str]]]]: ...
