"""Logging set-up: one line per event, plain or JSON, with every secret redacted.

HTTP client libraries log request URLs, and a Telegram URL contains the bot token,
so redaction happens on the final formatted line (message, arguments and traceback
alike), not on the message template.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable

REDACTED = "[REDACTED]"


class RedactingFormatter(logging.Formatter):
    """Formats a record as usual, then blanks out every known secret."""

    def __init__(self, secrets: Iterable[str], *, as_json: bool = False) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        # Longest first, so a secret that contains another is blanked whole.
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)
        self._as_json = as_json

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def format(self, record: logging.LogRecord) -> str:
        if not self._as_json:
            return self.redact(super().format(record))
        payload = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return self.redact(json.dumps(payload, ensure_ascii=False))


def setup_logging(
    secrets: Iterable[str], *, level: int = logging.INFO, as_json: bool = False
) -> logging.Handler:
    """Route every logger through one redacting handler on stderr; returns the handler."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter(secrets, as_json=as_json))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # httpx logs every request URL at INFO; keep it quieter than our own lines.
    logging.getLogger("httpx").setLevel(max(level, logging.WARNING))
    logging.getLogger("alembic").setLevel(max(level, logging.WARNING))
    return handler
