"""The records every layer trades in.

Frozen dataclasses, built by one layer and read by the next: sources make
`Entry`, the normalizer makes `Post`, the formatter makes `Alert`, the `Store`
returns `Chat` and `Delivery`. ORM rows and SDK objects never leave their package;
these do.
"""

from __future__ import annotations

import enum
from dataclasses import MISSING, dataclass, fields
from datetime import datetime, time
from typing import Literal, TypeVar

Platform = Literal["telegram", "discord", "console"]
ChatKind = Literal["user", "group", "channel"]
Language = Literal["ko", "en"]

#: Subscription keys with a meaning of their own: every post, every breaking post.
ALL = "all"
BREAKING = "breaking"

_Record = TypeVar("_Record")


def _quick_init(cls: type[_Record]) -> type[_Record]:
    """Give a frozen, slotted dataclass an `__init__` that fills its slots directly.

    The one `dataclass` writes stores each field through `object.__setattr__`, 2–4 µs
    for `Entry` and `Post`, and every item of every feed read makes one of each
    (`bench/parse.py`). This one calls each slot's own setter: the same signature,
    defaults and result, still frozen, in about 60 % of the time. Only plain fields
    (no default factory, no `__post_init__`) qualify; tests/unit/test_models.py checks
    the two `__init__`s agree.

    Where every item pays (the feed readers, `normalize`), the fields are passed by
    position, from locals named after them: CPython 3.11 packs the keywords of a
    class call into a dict before `__init__` sees them, which cost as much again.
    """
    record_fields = fields(cls)  # type: ignore[arg-type]
    names = [field.name for field in record_fields]
    defaults = {
        field.name: field.default for field in record_fields if field.default is not MISSING
    }
    if hasattr(cls, "__post_init__") or any(
        field.default_factory is not MISSING for field in record_fields
    ):
        raise TypeError(f"{cls.__name__}: only plain fields can have a quick __init__")
    parameters = ", ".join(
        f"{name}=_{name}_default" if name in defaults else name for name in names
    )
    body = "".join(f"        _set_{name}(self, {name})\n" for name in names)
    source = (
        f"def make({', '.join(f'_set_{name}' for name in names)}):\n"
        f"    def __init__(self, {parameters}):\n{body}"
        "    return __init__\n"
    )
    scope = {f"_{name}_default": value for name, value in defaults.items()}
    exec(source, scope)  # built from the field names above, as dataclasses does
    setters = [getattr(cls, name).__set__ for name in names]
    init = scope["make"](*setters)
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__annotations__ = cls.__init__.__annotations__
    cls.__init__ = init  # type: ignore[method-assign]
    return cls


@_quick_init
@dataclass(frozen=True, slots=True)
class Entry:
    """One item as a source found it, before normalizing.

    Text fields hold what the source wrote, entities already decoded; `title`,
    `summary` and `content` may still carry HTML. Dates may be naive, meaning
    "in the source's time zone".
    """

    #: The feed's id/guid, if it had one.
    guid: str | None
    #: The item's link, absolute when the source could resolve it.
    link: str | None
    title: str | None
    #: A summary or excerpt the source gave (HTML or text).
    summary: str | None = None
    #: The body (HTML or Markdown rendered to HTML).
    content: str | None = None
    categories: tuple[str, ...] = ()
    published: datetime | None = None
    updated: datetime | None = None
    #: A picture for the item (thumbnail, enclosure, front matter `image`).
    image: str | None = None
    #: True or False when the source said so explicitly (front matter `breaking`).
    breaking: bool | None = None


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """What one parse of a source's body found."""

    #: `rss`, `atom`, `rdf`, `json` or `posts`.
    kind: str
    title: str | None
    #: The site's own address, if the feed names it.
    link: str | None
    entries: tuple[Entry, ...]


@_quick_init
@dataclass(frozen=True, slots=True)
class Post:
    """A normalized post: what newsbot stores once and alerts on."""

    #: The configured source's name.
    source: str
    #: Identity within the source: the feed's id, else the canonical link.
    guid: str
    #: Absolute http(s) link.
    link: str
    #: Plain text, no markup, no entities.
    title: str
    #: Plain text (markup and site boilerplate removed), not yet cut to length.
    excerpt: str
    #: As written by the source; matched case-insensitively.
    categories: tuple[str, ...]
    #: Aware; None only when the source gave no date and nobody stamped it.
    published_at: datetime | None
    image: str | None
    breaking: bool
    #: The canonical link's fingerprint: the same story from a second source.
    fingerprint: str
    #: The database id, once stored.
    id: int | None = None


@dataclass(frozen=True, slots=True)
class Alert:
    """What a chat sees. Made by the formatter, rendered by an adapter."""

    headline: str
    excerpt: str
    #: None for an admin broadcast or a digest.
    link: str | None
    categories: tuple[str, ...]
    breaking: bool
    image: str | None = None
    #: The site's host, for link text such as "newsdao.kr에서 보기".
    site: str | None = None
    source: str | None = None
    published_at: datetime | None = None
    #: A digest's headlines, each linked (empty for a single alert).
    items: tuple[LinkItem, ...] = ()


@dataclass(frozen=True, slots=True)
class PlatformLimits:
    """A platform's limits, as data on its adapter: the formatter and the rate limiter read them."""

    #: Longest message text the platform accepts, in characters.
    text_length: int
    #: Messages per second for the whole bot.
    per_second: float
    #: Messages per second to one private chat.
    per_chat_per_second: float
    #: Messages per minute to one group or channel.
    per_group_per_minute: float
    #: Longest headline shown (a Discord embed title is 256).
    headline_length: int = 200
    #: Longest excerpt shown.
    excerpt_length: int = 300


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily window, in the chat's time zone, when alerts wait for a digest."""

    start: time
    end: time
    #: Hold breaking alerts too (`/quiet 23:00-07:00 all`).
    hold_breaking: bool = False

    def covers(self, local: time) -> bool:
        """True when `local` (wall-clock time in the chat's zone) is inside the window."""
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end  # across midnight


@dataclass(frozen=True, slots=True)
class Chat:
    """A chat on one platform that can receive alerts."""

    platform: Platform
    #: The platform's own id for the chat, as text.
    chat_id: str
    kind: ChatKind = "user"
    language: Language = "ko"
    active: bool = True
    title: str | None = None
    #: A Telegram forum topic inside the chat, if alerts go there.
    thread_id: str | None = None
    quiet: QuietHours | None = None
    #: Daily digest time (the chat's zone): no single alerts, one digest a day.
    digest_at: time | None = None
    timezone: str = "Asia/Seoul"
    #: The database id, once stored.
    id: int | None = None


@dataclass(frozen=True, slots=True)
class Broadcast:
    """An admin's message to every chat, or to one category's subscribers."""

    text: str
    category: str | None
    author: str
    id: int | None = None
    created_at: datetime | None = None


class DeliveryState(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    #: Sent, then taken back by a recall.
    DELETED = "deleted"
    #: Waiting for the chat's quiet hours to end or its daily digest.
    HELD = "held"
    #: Went out inside a digest instead of alone.
    DIGESTED = "digested"


class Action(enum.StrEnum):
    """Work on a message already sent: bring it up to date, or take it back."""

    EDIT = "edit"
    DELETE = "delete"


#: Lower sorts first: broadcasts, then breaking alerts, then the rest.
PRIORITY_BROADCAST = 0
PRIORITY_BREAKING = 1
PRIORITY_NORMAL = 2


@dataclass(frozen=True, slots=True)
class Delivery:
    """One outbox row: one post, broadcast or digest for one chat."""

    id: int
    chat: Chat
    #: Exactly one of `post`, `broadcast` and `digest` is set.
    post: Post | None
    broadcast: Broadcast | None
    priority: int
    state: DeliveryState
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    message_id: str | None = None
    error: str | None = None
    #: Set on a sent row that must be edited or deleted.
    action: Action | None = None
    #: The posts of a digest, newest first.
    digest: tuple[Post, ...] = ()
    #: How many held alerts the digest stands for: more than it lists when it was cut.
    digest_of: int = 0


@dataclass(frozen=True, slots=True)
class KeywordFilter:
    """A chat's keyword: only posts that mention it (include), or none that do (exclude)."""

    term: str
    exclude: bool = False


@dataclass(frozen=True, slots=True)
class Subscription:
    chat_id: int
    #: As the user wrote it; matched by its lower-case form.
    category: str


@dataclass(frozen=True, slots=True)
class SourceState:
    """What newsbot remembers about one source between fetches."""

    name: str
    etag: str | None = None
    last_modified: str | None = None
    #: Hash of the last body parsed, so an unchanged 200 is not parsed again.
    content_hash: str | None = None
    #: False until the first successful fetch has recorded what was there.
    initialized: bool = False
    failures: int = 0
    last_fetch_at: datetime | None = None
    last_ok_at: datetime | None = None
    last_error: str | None = None
    next_fetch_at: datetime | None = None
    #: An admin paused it from a chat: not fetched until resumed.
    paused: bool = False


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """One source as `/sources` and `newsbot sources` show it."""

    name: str
    #: The feed URL or the posts folder.
    location: str
    #: `config` (the TOML file) or `chat` (added by an admin or an OPML import).
    origin: str
    paused: bool
    #: `ok`, `failing`, `never fetched` or `paused`.
    status: str
    last_fetch_at: datetime | None
    next_fetch_at: datetime | None
    error: str | None


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an OPML import did with each source it listed."""

    added: tuple[str, ...]
    #: (name or URL, why): already present.
    skipped: tuple[tuple[str, str], ...]
    #: (name or URL, why): refused.
    refused: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class AddedSource:
    """A feed an admin added from a chat or an OPML import (config sources live in TOML)."""

    name: str
    url: str
    categories: tuple[str, ...] = ()
    #: `platform:user_id`, or `cli`.
    added_by: str = "cli"


@dataclass(frozen=True, slots=True)
class CategoryCount:
    name: str
    posts: int


# --- outcomes of a send, as adapters report them --------------------------------


@dataclass(frozen=True, slots=True)
class Sent:
    """The platform took the message."""

    message_id: str | None


@dataclass(frozen=True, slots=True)
class RetryAfter:
    """The platform asked us to wait; never a reason to give up."""

    seconds: float
    #: True when the whole platform is paused, not just this chat.
    everywhere: bool = False


@dataclass(frozen=True, slots=True)
class ChatGone:
    """The chat blocked the bot, removed it, or no longer exists."""

    reason: str


@dataclass(frozen=True, slots=True)
class ChatMoved:
    """The chat has a new id (a Telegram group became a supergroup)."""

    new_chat_id: str


@dataclass(frozen=True, slots=True)
class Rejected:
    """The platform refuses this content for good; retrying cannot help."""

    reason: str


@dataclass(frozen=True, slots=True)
class TransientFailure:
    """A network error, a timeout or a 5xx: try again later."""

    reason: str


@dataclass(frozen=True, slots=True)
class ThreadGone:
    """The forum topic or thread the chat's alerts went to no longer exists."""

    reason: str


Outcome = Sent | RetryAfter | ChatGone | ChatMoved | ThreadGone | Rejected | TransientFailure


# --- commands ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Invocation:
    """A command as a platform delivered it, in platform-neutral terms."""

    chat: Chat
    #: Without the slash and without any `@BotName`, lower-case.
    command: str
    #: The words after the command, as typed (quotes kept as typed).
    args: str = ""
    #: The platform's id of the person who typed it, if known.
    user_id: str | None = None
    #: True when the platform says the user may manage this chat.
    can_manage: bool = True


@dataclass(frozen=True, slots=True)
class LinkItem:
    """A line in a reply that links somewhere: a post in `/latest`."""

    title: str
    link: str
    breaking: bool = False
    published_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Button:
    """A button under a reply; pressing it runs `command` with `args`."""

    label: str
    command: str
    args: str = ""


@dataclass(frozen=True, slots=True)
class Reply:
    """A command's answer, rendered by the adapter in its platform's markup."""

    text: str
    items: tuple[LinkItem, ...] = ()
    buttons: tuple[Button, ...] = ()
    #: Visible only to the person who asked, where the platform can do that.
    private: bool = False
    #: Replace the message the button was pressed on instead of sending a new one.
    edit: bool = False
