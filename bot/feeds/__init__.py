"""Feeds and posts to records: pure functions from bytes, no network.

`parse_feed` reads RSS, RDF, Atom and JSON Feed; `parse_post` reads one Jekyll-style
post file; `decode` and `parse_date` are the encoding and date rules both share.
"""

from bot.feeds.dates import parse_date
from bot.feeds.encoding import decode
from bot.feeds.feed import parse_feed
from bot.feeds.posts import parse_post

__all__ = ["decode", "parse_date", "parse_feed", "parse_post"]
