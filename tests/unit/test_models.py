"""The records built on every feed item (Entry, Post) behave as dataclass wrote them.

`_quick_init` swaps the `__init__` dataclass writes for a faster one; these tests hold
the two to the same signature and results, and the records to being frozen.
"""

from __future__ import annotations

import dataclasses
import inspect
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.models import Entry, Post, _quick_init

WHEN = datetime(2026, 11, 29, 5, 3, tzinfo=UTC)


def twin(record: type[Any]) -> type[Any]:
    """The same fields in a plain frozen dataclass: what `dataclass` alone would make."""
    namespace: dict[str, Any] = {"__annotations__": dict(record.__annotations__)}
    for field in dataclasses.fields(record):
        if field.default is not dataclasses.MISSING:
            namespace[field.name] = field.default
    made: type[Any] = dataclasses.dataclass(frozen=True, slots=True)(
        type(record.__name__, (), namespace)
    )
    return made


ENTRY_ARGS = ("guid-1", "https://a.kr/1", "속보", "요약", None, ("IT",), WHEN, None, None, True)
POST_ARGS = ("src", "g", "https://a.kr/1", "제목", "요약", ("IT",), WHEN, None, False, "f" * 32)


@pytest.mark.parametrize(("record", "args"), [(Entry, ENTRY_ARGS), (Post, POST_ARGS)])
def test_quick_init_takes_what_the_dataclass_init_takes(
    record: type[Any], args: tuple[Any, ...]
) -> None:
    plain = twin(record)
    assert inspect.signature(record.__init__) == inspect.signature(plain.__init__)
    names = [field.name for field in dataclasses.fields(record)]
    required = sum(field.default is dataclasses.MISSING for field in dataclasses.fields(record))
    for made, expected in (
        (record(*args), plain(*args)),
        (record(**dict(zip(names, args, strict=False))), plain(*args)),
        (record(*args[:required]), plain(*args[:required])),  # the defaults
    ):
        assert dataclasses.astuple(made) == dataclasses.astuple(expected)
    with pytest.raises(TypeError):
        record(*args[: required - 1])


def test_records_stay_frozen_hashable_and_replaceable() -> None:
    entry = Entry(*ENTRY_ARGS)
    with pytest.raises(dataclasses.FrozenInstanceError):
        entry.title = "바뀐 제목"  # type: ignore[misc]
    assert entry == Entry(*ENTRY_ARGS) and hash(entry) == hash(Entry(*ENTRY_ARGS))
    assert dataclasses.replace(entry, title="새 제목").title == "새 제목"
    post = Post(*POST_ARGS)
    assert dataclasses.replace(post, id=7).id == 7 and post.id is None


def test_a_record_with_a_default_factory_keeps_its_own_init() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class Listed:
        items: list[str] = dataclasses.field(default_factory=list)

    with pytest.raises(TypeError, match="plain fields"):
        _quick_init(Listed)
