"""The benchmarks still run and report figures in the documented shape (tiny sizes, no timing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench import __main__ as runner
from bench import memory, plan, poll

FIGURE_KEYS = {"name", "value", "unit", "goal", "better", "alternative", "ok", "note"}


def assert_shape(result: dict[str, Any], bench: str) -> None:
    assert result["bench"] == bench
    assert isinstance(result["details"], dict)
    assert result["figures"], "a bench reports at least one figure"
    for item in result["figures"]:
        assert set(item) == FIGURE_KEYS
        assert item["better"] in {"lower", "higher"}
        if item["value"] is not None and item["goal"] is not None:
            assert isinstance(item["ok"], bool)


def test_poll_checks_every_source_and_most_answer_not_modified() -> None:
    result = poll.main(["--sources", "20", "--chats", "5"])
    assert_shape(result, "poll")
    details = result["details"]
    assert (details["failed"], details["not_modified"], details["changed"]) == (0, 19, 1)
    assert details["planned"] == 5


def test_plan_plans_one_row_per_subscribed_chat_on_sqlite() -> None:
    result = plan.main(["--chats", "200", "--repeats", "1", "--no-postgres"])
    assert_shape(result, "plan")
    assert result["figures"][0]["value"] is not None


def test_memory_reads_the_resident_size_of_a_running_bot() -> None:
    result = memory.main(["--chats", "200", "--sources", "5", "--rounds", "1"])
    assert_shape(result, "memory")
    assert result["details"]["planned"] == 200
    assert result["details"]["sent"] == 200
    assert result["figures"][0]["value"] > 0


def test_table_puts_each_figure_beside_its_goal_and_alternative(tmp_path: Path) -> None:
    from bench.common import figure, report

    results = [
        report(
            "parse",
            [
                figure("parse rss", 2.5, "ms", alternative=("feedparser", 60.0)),
                figure("speed-up", 24.0, "×", goal=20.0, better="higher"),
            ],
        ),
        report("poll", [], error="RuntimeError: boom"),
    ]
    target = tmp_path / "BENCHMARKS.md"
    target.write_text(f"# Title\n\nprose\n\n{runner.START}\nold\n{runner.END}\n\nmore prose\n")
    runner.write_markdown(results, "2026-11-29 08:00 UTC", target)
    written = target.read_text()
    assert "prose" in written and "more prose" in written and "old" not in written
    assert "| parse | parse rss | 2.5 ms |  |  | feedparser: 60 ms |  |" in written
    assert "| parse | speed-up | 24 × | ≥ 20 × | ✓ |" in written
    assert "| poll | did not run |" in written


@pytest.mark.parametrize("name", runner.BENCHES)
def test_every_listed_bench_exposes_main(name: str) -> None:
    if not runner.present(name):
        return  # fanout.py and ingest_latency.py come from other issues
    module = __import__(f"bench.{name}", fromlist=["main"])
    assert callable(module.main)
