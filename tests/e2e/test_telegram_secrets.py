"""The bot token never reaches a log line, an outcome or an exception."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from bot.config import TelegramSettings
from bot.errors import NewsbotError
from bot.logs import setup_logging
from bot.models import Alert, Chat
from handlers.telegram_adapter import TelegramAdapter
from tests.fakes.telegram_api import TOKEN, Failure, FakeTelegram
from tests.fakes.telegram_harness import RecordingInbox

SECRET = TOKEN.split(":", 1)[1]
WRONG = "987654321:" + "w" * 35
FAILURES = (
    Failure.blocked(),
    Failure.flood(3),
    Failure.server_error(502),
    Failure.timeout(),
    Failure(400, "Bad Request: can't parse entities"),
)
ALERT = Alert("제목 <b>", "본문 &", "https://newsdao.kr/a", ("IT",), breaking=True)


@pytest.fixture
def logs() -> Iterator[tuple[io.StringIO, io.StringIO]]:
    """(redacted, raw): everything logged, through newsbot's handler and a plain one."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    redacted, raw = io.StringIO(), io.StringIO()
    handler = setup_logging([TOKEN], level=logging.DEBUG)
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(redacted)
    plain = logging.StreamHandler(raw)
    plain.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    root.addHandler(plain)
    loggers = [logging.getLogger(n) for n in ("httpx", "httpcore", "telegram", "aiohttp")]
    loggers += [
        v for v in logging.root.manager.loggerDict.values() if isinstance(v, logging.Logger)
    ]
    levels = [(lg, lg.level) for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
    yield redacted, raw
    for lg, level in levels:
        lg.setLevel(level)
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


async def test_token_is_in_no_log_line_outcome_or_error(
    logs: tuple[io.StringIO, io.StringIO],
) -> None:
    redacted, raw = logs
    outcomes: list[object] = []
    async with FakeTelegram() as tg:
        settings = TelegramSettings(token=SecretStr(TOKEN), api_url=tg.api_url)
        adapter = TelegramAdapter(settings, poll_timeout=5, request_timeout=0.3)
        inbox = RecordingInbox()
        inbox.failing.add("boom")
        await adapter.start(inbox)
        try:
            tg.push_message(301, "/latest 3")
            tg.push_message(302, "/boom")
            await tg.wait_for_messages(301)
            await tg.wait_for_messages(302)
            outcomes.append(await adapter.send(Chat("telegram", "303", "user"), ALERT))
            for failure in FAILURES:
                tg.fail_next(failure)
                outcomes.append(await adapter.send(Chat("telegram", "304", "user"), ALERT))
        finally:
            await adapter.stop()
        errors = await _startup_errors(tg.api_url)

    assert "telegram" in redacted.getvalue()  # the logs were captured at all
    assert SECRET not in redacted.getvalue()
    assert all(SECRET not in repr(o) for o in outcomes)
    assert all(SECRET not in text and WRONG not in text for text in errors)
    # Not even unredacted: the SDK only ever sees the URL with a slot for the token.
    assert SECRET not in raw.getvalue()


async def _startup_errors(api_url: str) -> list[str]:
    """The texts (with causes) of the errors `start` raises for a bad token or no server."""
    texts = []
    for url, token in ((api_url, WRONG), ("http://127.0.0.1:9/bot", TOKEN)):
        adapter = TelegramAdapter(TelegramSettings(token=SecretStr(token), api_url=url))
        with pytest.raises(NewsbotError) as caught:
            await adapter.start(RecordingInbox())
        error: BaseException | None = caught.value
        while error is not None:
            texts.append(f"{error!s} {error!r}")
            # What a traceback would show: the cause, else an unsuppressed context.
            shown = error.__context__ if not error.__suppress_context__ else None
            error = error.__cause__ or shown
    return texts
