"""`newsbot` as a user runs it: a subprocess, its output and its exit status."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import EXAMPLES, SEED, example_config

NEWSBOT = [sys.executable, "-m", "bot.cli"]


def newsbot(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*NEWSBOT, *args], capture_output=True, text=True, timeout=60, cwd=cwd, check=False
    )


def test_check_the_seed_post_gives_its_alert_as_json() -> None:
    done = newsbot("check", str(SEED), "--json", "--site-url", "https://newsdao.kr")
    assert done.returncode == 0, done.stderr
    [line] = done.stdout.splitlines()
    alert = json.loads(line)
    assert alert["title"] == "AI 투자 막대한 비용에도 결과는 뚜렷하지 않다!"
    assert alert["excerpt"].startswith("AI 투자에 쏟아진 6000억 달러, 수익은 단 40억 달러!")
    assert alert["categories"] == ["IT"]
    assert alert["breaking"] is True
    assert alert["link"].startswith("https://newsdao.kr/")
    assert alert["image"] == "https://newsdao.kr/assets/img/newsdao_breakingnews.jpg"
    assert set(alert) == {
        "guid",
        "title",
        "excerpt",
        "link",
        "categories",
        "published",
        "breaking",
        "image",
    }


def test_check_prints_plain_alerts_for_a_posts_folder() -> None:
    done = newsbot("check", str(EXAMPLES), "--site-url", "https://newsdao.kr")
    assert done.returncode == 0, done.stderr
    assert "🔴 속보\nAI 투자 막대한 비용에도 결과는 뚜렷하지 않다!" in done.stdout
    assert "https://newsdao.kr/economy/semiconductor-export-record/" in done.stdout


def test_check_without_a_site_url_says_why_posts_without_links_are_skipped() -> None:
    done = newsbot("check", str(EXAMPLES))
    assert done.returncode == 0
    assert "skipped an entry: no usable http(s) link" in done.stderr
    assert "https://newsdao.kr/economy/semiconductor-export-record/" not in done.stdout


def test_check_of_an_unreadable_source_is_one_line_and_exit_1(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text("<html><body><p>not a feed</p></body></html>")
    for target in (str(tmp_path / "missing.xml"), str(page)):
        done = newsbot("check", target)
        assert done.returncode == 1
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert "Traceback" not in done.stderr


def test_a_broken_config_is_one_line_and_exit_1(tmp_path: Path) -> None:
    config = tmp_path / "newsbot.toml"
    config.write_text('[[sources]]\nname = "x"\ninterval = "often"\n')
    done = newsbot("run", "--config", str(config), "--once")
    assert done.returncode == 1
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("newsbot: config ") and "sources.0" in line


def test_db_upgrade_creates_the_schema(tmp_path: Path) -> None:
    config = tmp_path / "newsbot.toml"
    config.write_text(f'database_url = "sqlite+aiosqlite:///{tmp_path / "x.db"}"\n')
    done = newsbot("db", "upgrade", "--config", str(config))
    assert (done.returncode, done.stdout.strip()) == (0, "database is up to date")
    assert (tmp_path / "x.db").stat().st_size > 0


def config_for(tmp_path: Path) -> Path:
    return example_config(tmp_path, backfill=0)


def test_stats_sources_and_broadcast_from_the_shell(tmp_path: Path) -> None:
    config = str(config_for(tmp_path))
    assert newsbot("run", "--config", config, "--once").returncode == 0
    stats = newsbot("stats", "--config", config)
    assert stats.returncode == 0
    assert "chats: console 1" in stats.stdout and "posts in the last 24 h: 6" in stats.stdout
    sources = newsbot("sources", "--config", config)
    assert "newsdao  " in sources.stdout and "status: ok" in sources.stdout
    assert "next fetch: 20" in sources.stdout
    queued = newsbot("broadcast", "서버 점검 안내", "--no-wait", "--config", config)
    assert queued.stdout.strip() == "broadcast #1 queued for 1 chats"
    empty = newsbot("broadcast", "  ", "--config", config)
    assert (empty.returncode, empty.stderr.strip()) == (1, "newsbot: the broadcast text is empty")
