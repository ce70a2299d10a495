"""`newsbot`: run the bot, check a source, upgrade the database.

Every failure the user can fix ends in one line on stderr and exit status 1,
never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from bot import eventloop, ops
from bot.app import App, secrets_of
from bot.catalog import SourceCatalog
from bot.config import Settings, SourceSettings, load_settings
from bot.errors import InvalidInput, NewsbotError, SourceError
from bot.feeds import parse_feed, parse_post
from bot.formatter import alert_for_post, render_plain
from bot.logs import setup_logging
from bot.models import Entry, PlatformLimits, Post, SourceState
from bot.netguard import guarded_connector
from bot.normalize import SEOUL, Skipped, SourceRules, normalize
from bot.sources import FolderSource, HttpSource
from storage import Store, open_store
from storage.migrate import upgrade

#: `newsbot check` shows alerts as they would look with the default limits.
CHECK_LIMITS = PlatformLimits(
    text_length=4096, per_second=30, per_chat_per_second=1, per_group_per_minute=20
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="newsbot", description=__doc__.splitlines()[0])
    parser.add_argument("--log-json", action="store_true", help="log one JSON object per line")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    verbs = parser.add_subparsers(dest="verb", required=True)
    run = verbs.add_parser("run", help="watch the sources and send alerts")
    run.add_argument("--config", type=Path, help="TOML config file")
    run.add_argument("--once", action="store_true", help="one pass over every source, then exit")
    check = verbs.add_parser("check", help="print the alerts a source would give")
    check.add_argument("source", help="a feed URL, a feed file, a post file or a posts folder")
    check.add_argument("--json", action="store_true", help="one JSON object per line")
    check.add_argument("--site-url", help="base for the links of posts without permalink/url")
    broadcast = verbs.add_parser("broadcast", help="queue a broadcast and watch it go out")
    broadcast.add_argument("text", help="the message")
    broadcast.add_argument("--category", help="only chats subscribed to this category")
    broadcast.add_argument("--no-wait", action="store_true", help="queue it and return")
    broadcast.add_argument("--config", type=Path, help="TOML config file")
    stats = verbs.add_parser("stats", help="chats, subscriptions, posts and deliveries")
    stats.add_argument("--config", type=Path, help="TOML config file")
    sources = verbs.add_parser(
        "sources", help="list sources (last fetch, status, error), or import/export OPML"
    )
    sources.add_argument("action", nargs="?", choices=["list", "import", "export"], default="list")
    sources.add_argument("file", nargs="?", type=Path, help="the OPML file to import")
    sources.add_argument("--config", type=Path, help="TOML config file")
    db = verbs.add_parser("db", help="database maintenance")
    db_verbs = db.add_subparsers(dest="db_verb", required=True)
    db_upgrade = db_verbs.add_parser("upgrade", help="apply the migrations")
    db_upgrade.add_argument("--config", type=Path, help="TOML config file")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.INFO
    try:
        if args.verb == "check":
            setup_logging([], level=logging.WARNING, as_json=args.log_json)
            return eventloop.run(check(args.source, as_json=args.json, site_url=args.site_url))
        settings = load_settings(args.config)
        setup_logging(secrets_of(settings), level=level, as_json=args.log_json)
        if args.verb == "run":
            return eventloop.run(App(settings).run(once=args.once))
        return eventloop.run(operate(args, settings))
    except NewsbotError as exc:
        print(f"newsbot: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


async def operate(args: argparse.Namespace, settings: Settings) -> int:
    """The verbs that work on the bot's database: db upgrade, broadcast, stats, sources."""
    async with open_store(settings.database_url) as store:
        await upgrade(store.engine)
        if args.verb == "db":
            print("database is up to date")
        elif args.verb == "stats":
            print(ops.format_stats(await store.stats()))
        elif args.verb == "sources":
            return await _sources(store, settings, args)
        elif args.verb == "broadcast":
            return await _broadcast(store, args)
    return 0


async def _sources(store: Store, settings: Settings, args: argparse.Namespace) -> int:
    connector = guarded_connector(allow_private=settings.allow_private_sources)
    async with aiohttp.ClientSession(connector=connector) as session:
        catalog = SourceCatalog(settings, store, session)
        if args.action == "export":
            sys.stdout.write((await catalog.export_opml()).decode("utf-8"))
        elif args.action == "import":
            if args.file is None:
                raise InvalidInput("give the OPML file to import")
            body = await asyncio.to_thread(_read_file, args.file)
            report = await catalog.import_opml(body, "cli")
            print(ops.format_import(report))
        else:
            print(ops.format_sources(await catalog.describe(), datetime.now(UTC)))
    return 0


def _read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from exc


async def _broadcast(store: Store, args: argparse.Namespace) -> int:
    if not args.text.strip():
        print("newsbot: the broadcast text is empty", file=sys.stderr)
        return 1
    broadcast_id, total = await ops.queue_broadcast(store, args.text.strip(), args.category)
    print(f"broadcast #{broadcast_id} queued for {total} chats")
    if not args.no_wait and total:
        await ops.watch_broadcast(store, broadcast_id, total, sys.stdout)
    return 0


async def check(source: str, *, as_json: bool, site_url: str | None) -> int:
    """Print the alerts `source` would give now; touches no database."""
    try:
        entries, base = await read_entries(source, site_url)
    except SourceError as exc:
        print(f"newsbot: {source}: {exc}", file=sys.stderr)
        return 1
    rules = SourceRules(name="check", base_url=base, timezone=SEOUL)
    now = datetime.now(UTC)
    for entry in entries:
        try:
            post = normalize(entry, rules, now=now, seen_at=None)
        except Skipped as exc:
            print(f"newsbot: skipped an entry: {exc}", file=sys.stderr)
            continue
        print(
            _as_json(post) if as_json else render_plain(alert_for_post(post, CHECK_LIMITS)) + "\n"
        )
    return 0


def _as_json(post: Post) -> str:
    alert = alert_for_post(post, CHECK_LIMITS)
    record = {
        "guid": post.guid,
        "title": alert.headline,
        "excerpt": alert.excerpt,
        "link": post.link,
        "categories": list(post.categories),
        "published": post.published_at.isoformat() if post.published_at else None,
        "breaking": post.breaking,
        "image": post.image,
    }
    return json.dumps(record, ensure_ascii=False)


async def read_entries(source: str, site_url: str | None) -> tuple[tuple[Entry, ...], str | None]:
    """The entries of a URL, a feed file, a post file or a posts folder, and their base URL."""
    if source.startswith(("http://", "https://")):
        settings = SourceSettings(name="check", url=source)
        async with aiohttp.ClientSession() as session:
            result = await HttpSource(settings, session).fetch(SourceState(name="check"))
        return result.entries, result.base_url
    return await asyncio.to_thread(_read_local, Path(source), site_url)


def _read_local(path: Path, site_url: str | None) -> tuple[tuple[Entry, ...], str | None]:
    if path.is_dir():
        folder = FolderSource(SourceSettings(name="check", path=path, site_url=site_url))
        return folder.read_all(SourceState(name="check")).entries, site_url
    try:
        body = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"cannot read: {exc.strerror}") from exc
    if _is_post(body):
        return (parse_post(body, name=path.name, site_url=site_url),), site_url
    feed = parse_feed(body, url=site_url)
    return feed.entries, site_url or feed.link


def _is_post(body: bytes) -> bool:
    """Front matter first: a Jekyll post rather than a feed."""
    return body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"---")


if __name__ == "__main__":
    sys.exit(main())
