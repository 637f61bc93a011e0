"""Logs carry neither the bot token nor what patients write, whatever LOG_LEVEL says."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from bot.app.logs import configure_logging
from devtools.simulation import Simulation
from tests.support.harness import TOKEN

NOISY = ("telegram", "httpx", "httpcore", "apscheduler", "aiosqlite", "asyncpg", "sqlalchemy")


@pytest.fixture
def debug_logging() -> Iterator[None]:
    saved = {name: logging.getLogger(name).level for name in NOISY}
    configure_logging("DEBUG")
    yield
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


def test_debug_level_keeps_the_chatty_libraries_quiet(debug_logging: None) -> None:
    assert logging.getLogger("telegram").getEffectiveLevel() == logging.INFO
    for name in ("httpx", "httpcore", "apscheduler", "aiosqlite", "asyncpg", "sqlalchemy"):
        assert logging.getLogger(name).getEffectiveLevel() == logging.WARNING


async def test_a_conversation_at_debug_level_logs_no_token_and_no_patient_words(
    debug_logging: None, harness: Simulation, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    user = harness.telegram.user(170)
    await harness.say(user, "/start")
    await harness.say(user, "my knees ache and I feel low")
    await harness.say(user, "/today")
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert TOKEN not in logged and TOKEN.split(":")[1] not in logged
    assert "knees" not in logged
