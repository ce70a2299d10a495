"""Every error newsbot raises on purpose, as one tree.

    NewsbotError
    ├── ConfigError          settings that cannot work; raised before anything connects
    ├── SourceError          one source could not be read this time (the others go on)
    │   ├── FetchError       network, HTTP status, timeout, body over the cap
    │   └── ParseError       the body is not a feed or post we can read
    ├── InvalidInput         a value from outside (a command, an API body) is refused
    └── StoreError           the database refused or is unreachable

Third-party exceptions are translated where they are caught, with `raise … from exc`,
and messages never contain a secret.
"""

from __future__ import annotations


class NewsbotError(Exception):
    """Base of every error newsbot raises on purpose."""


class ConfigError(NewsbotError):
    """Settings that cannot work."""


class SourceError(NewsbotError):
    """A source could not be read this time."""


class FetchError(SourceError):
    """The source's body could not be fetched."""


class ParseError(SourceError):
    """The body is not a feed or post newsbot can read."""


class InvalidInput(NewsbotError):
    """A value from outside is refused; the message says why, in one line."""


class StoreError(NewsbotError):
    """The database refused or could not be reached."""
