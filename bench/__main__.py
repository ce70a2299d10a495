"""`python -m bench` (`make bench`): run every benchmark, write results.json and BENCHMARKS.md.

The benches, in this order, each run if its file exists (an explicit list, no
folder scanning): parse, poll, plan, memory, fanout, ingest_latency. Options:
`--only NAME …` runs a subset; `--no-write` leaves results.json and BENCHMARKS.md
alone. The exit status is 1 when a bench failed to run (a missed goal is a figure,
not a failure).

The shape every bench shares
----------------------------
Each `bench/<name>.py` exposes ``main(argv: list[str] | None = None) -> dict`` and,
run alone (``python bench/<name>.py``), prints a human summary. The dict is::

    {"bench": "poll",                       # the bench's name
     "figures": [Figure, ...],              # what goes in the table
     "details": {...}}                      # anything else worth keeping (JSON-able)

and a Figure (`bench.common.Figure`, made by `bench.common.figure`) is::

    {"name": "poll cycle, 1,000 sources",   # what was measured, with its scale
     "value": 0.84,                         # the measurement; None = not measured
     "unit": "s",
     "goal": 5.0,                           # the issue's goal, or None
     "better": "lower",                     # "lower" (goal is a ceiling) or "higher"
     "alternative": {"name": "feedparser", "value": 61.2} | None,
                                            # the same thing done the other way,
                                            # measured in the same run, same unit
     "ok": true,                            # value meets goal; None without either
     "note": "median of 3"}                 # one line: how, or why not measured

A bench whose `main` does not return that shape yet (parse.py returns an exit
status and prints `--json`) is adapted here, in `adapt_*`.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import io
import json
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import Figure, figure, goal_text, print_report, report

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.json"
BENCHMARKS = HERE.parent / "BENCHMARKS.md"
#: Every bench, in the order they run; absent files are skipped.
BENCHES = ("parse", "poll", "plan", "memory", "fanout", "ingest_latency")
#: The issue's goal for parsing: at least this many times faster than feedparser.
PARSE_SPEEDUP_GOAL = 20.0
START = "<!-- bench:results:start -->"
END = "<!-- bench:results:end -->"


def present(name: str) -> bool:
    return importlib.util.find_spec(f"bench.{name}") is not None


def run_one(name: str) -> dict[str, Any]:
    """Run one bench's main with its defaults; its report, or one saying why it failed."""
    started = time.perf_counter()
    try:
        module = importlib.import_module(f"bench.{name}")
        result = ADAPTERS.get(name, adapt_any)(name, module.main)
    except Exception as exc:
        traceback.print_exc()
        result = report(name, [], error=f"{type(exc).__name__}: {exc}".splitlines()[0])
    result["details"]["seconds"] = round(time.perf_counter() - started, 1)
    return result


def adapt_any(name: str, main: Callable[[list[str]], Any]) -> dict[str, Any]:
    """A bench in the common shape is taken as is; anything else is kept as details."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        result = main([])
    if isinstance(result, dict) and "figures" in result:
        result.setdefault("details", {})
        return result
    return report(name, [], returned=repr(result), printed=printed.getvalue()[-4000:])


def adapt_parse(name: str, main: Callable[[list[str]], Any]) -> dict[str, Any]:
    """parse.py prints its figures with `--json` and returns 0 when both parsers agree."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        result = main(["--json"])
    if isinstance(result, dict) and "figures" in result:
        return result
    data = json.loads(printed.getvalue())
    figures: list[Figure] = []
    for feed in data["feeds"]:
        agree = "same title/link/date" if feed["agree"] else "DISAGREES with feedparser"
        scale = f"{feed['name']}, {feed['kilobytes']:g} KB, {feed['entries']} entries"
        figures.append(
            figure(
                f"parse + normalize {scale}",
                feed["newsbot_ms"],
                "ms",
                alternative=("feedparser", feed["feedparser_ms"]),
                note=agree,
            )
        )
        speedup = f"parse + normalize speed-up over feedparser ({feed['name']})"
        figures.append(
            figure(speedup, feed["ratio"], "×", goal=PARSE_SPEEDUP_GOAL, better="higher")
        )
        alone = round(feed["feedparser_ms"] / feed["parse_only_ms"], 1)
        figures.append(figure(f"parse alone speed-up ({feed['name']})", alone, "×"))
    return report(name, figures, exit_status=result, scaling=data.get("scaling"))


ADAPTERS: dict[str, Callable[[str, Callable[[list[str]], Any]], dict[str, Any]]] = {
    "parse": adapt_parse
}


# --- writing the results ---------------------------------------------------------------


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        # Other work on the machine inflates wall times: say how busy it was.
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


def table(results: list[dict[str, Any]]) -> str:
    """The Markdown table: each figure beside its goal and its alternative."""
    rows = [
        "| bench | figure | value | goal | met | alternative (same run) | note |",
        "|---|---|---:|---|:-:|---|---|",
    ]
    for result in results:
        if "error" in result["details"]:
            rows.append(f"| {result['bench']} | did not run | | | ✗ | | "
                        f"{_cell(result['details']['error'])} |")  # fmt: skip
        elif not result["figures"]:
            rows.append(f"| {result['bench']} | no figures in the common shape | | | | | "
                        "see bench/results.json |")  # fmt: skip
        for item in result["figures"]:
            rows.append(_row(result["bench"], item))
    return "\n".join(rows)


def _row(bench: str, item: Figure) -> str:
    value = "—" if item["value"] is None else f"{item['value']:g} {item['unit']}"
    met = {True: "✓", False: "✗", None: ""}[item["ok"]]
    other = item["alternative"]
    alternative = "" if other is None else f"{other['name']}: {other['value']:g} {item['unit']}"
    cells = [bench, item["name"], value, goal_text(item), met, alternative, item["note"]]
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def write_markdown(results: list[dict[str, Any]], stamp: str, where: Path = BENCHMARKS) -> None:
    """Replace the table between the markers in BENCHMARKS.md (the prose stays)."""
    block = f"{START}\nMeasured {stamp} on {_machine_line()}.\n\n{table(results)}\n{END}"
    old = where.read_text(encoding="utf-8") if where.exists() else ""
    if START in old and END in old:
        head, rest = old.split(START, 1)
        new = head + block + rest.split(END, 1)[1]
    else:
        new = f"# Benchmarks\n\nWritten by `make bench` (`python -m bench`).\n\n{block}\n"
    where.write_text(new, encoding="utf-8")


def _machine_line() -> str:
    info = machine()
    return (
        f"{info['cpus']} CPUs, {info['processor']}, Python {info['python']}, "
        f"load average {info['load_average_1min']} at the end"
    )


def main(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    options.add_argument("--only", nargs="+", choices=BENCHES, metavar="NAME")
    options.add_argument("--no-write", action="store_true")
    args = options.parse_args(argv)
    started = time.perf_counter()
    results = []
    for name in args.only or BENCHES:
        if not present(name):
            continue
        print(f"running bench/{name}.py …", file=sys.stderr, flush=True)
        results.append(run_one(name))
        print_report(results[-1])
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    total = round(time.perf_counter() - started, 1)
    print(f"all benches: {total} s")
    if not args.no_write:
        document = {"measured": stamp, "seconds": total, "machine": machine(), "benches": results}
        RESULTS.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        write_markdown(results, stamp)
    return 1 if any("error" in r["details"] for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
