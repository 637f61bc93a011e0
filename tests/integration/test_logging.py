"""Logs carry neither the bot token nor what patients write, whatever LOG_LEVEL says."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError
from telegram.error import NetworkError

from bot.app.logs import TEXT, Ids, JsonLines, Plain, configure_logging
from bot.delivery import logctx
from bot.delivery.netlog import calm
from devtools.simulation import Simulation
from tests.support.harness import TOKEN
from tests.support.seed import seed_patients

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


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """The root logger's lines as `LOG_FORMAT=json` writes them, with the filters it installs."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLines())
    calm(handler)
    handler.addFilter(Ids())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield stream
    finally:
        root.removeHandler(handler)


async def test_json_lines_carry_the_update_id_and_no_patient_words_or_token(
    debug_logging: None, harness: Simulation, json_lines: io.StringIO
) -> None:
    logging.getLogger().setLevel(logging.DEBUG)
    user = harness.telegram.user(171)
    await harness.say(user, "/start")
    await harness.say(user, "my knees ache and I feel low")
    written = json_lines.getvalue()
    lines = [json.loads(line) for line in written.splitlines()]
    assert lines and all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    # No care team here: the words' alert is logged as undeliverable, while the update is handled.
    about_update = [line for line in lines if "update_id" in line]
    assert about_update and {"patient_id", "escalation_id"} <= set(about_update[0])
    assert TOKEN not in written and TOKEN.split(":")[1] not in written
    assert "knees" not in written


async def test_a_json_line_of_the_dispatcher_carries_the_dose_and_patient(
    harness: Simulation, json_lines: io.StringIO, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    services = harness.services
    [patient_id] = await seed_patients(services.db, services.settings, [172], harness.clock.now())
    harness.telegram.fail("sendMessage", status=429, retry_after=3)
    await harness.dispatch()
    lines = [json.loads(line) for line in json_lines.getvalue().splitlines()]
    about_dose = [line for line in lines if "dose_id" in line]
    assert about_dose and all(line["patient_id"] == patient_id for line in about_dose)
    assert "update_id" not in about_dose[0]


def test_a_json_line_has_the_error_as_fields_and_the_ids_of_where_it_was_logged() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLines())
    handler.addFilter(Ids())
    log = logging.getLogger("tests.json_lines")
    log.addHandler(handler)
    log.propagate = False
    try:
        with logctx.about(update_id=7, dose_id=3):
            try:
                secret = "words a patient typed"
                raise ValueError("refused")
            except ValueError:
                log.exception("Could not act on dose %s", 3)
        log.warning("After")
    finally:
        log.removeHandler(handler)
        log.propagate = True
    first, after = (json.loads(line) for line in stream.getvalue().splitlines())
    assert (first["message"], first["update_id"], first["dose_id"]) == (
        "Could not act on dose 3",
        7,
        3,
    )
    assert first["error"] == "ValueError" and "Traceback" in first["traceback"]
    assert secret not in stream.getvalue()  # frames' code, never their local values
    assert "update_id" not in after and "dose_id" not in after


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_traceback_keeps_its_frames_and_types_but_no_words_an_error_quotes(fmt: str) -> None:
    """An error raised on what a patient typed may quote it, and so may the database's: their
    messages are withheld (the driver's error type is kept); the network's own are kept."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLines() if fmt == "json" else Plain(TEXT))
    log = logging.getLogger("tests.withheld")
    log.addHandler(handler)
    log.propagate = False
    words = "my chest hurts since the new dose"
    try:
        try:
            try:
                int(words)
            except ValueError as exc:
                raise KeyError(words) from exc
        except KeyError:
            log.exception("Update %s failed", 12)
        try:
            raise NetworkError("Connection refused")
        except NetworkError:
            log.exception("Polling failed")
        try:
            raise OperationalError("SELECT 1", None, ConnectionRefusedError("db down"))
        except OperationalError:
            log.exception("Round failed")
        try:  # PostgreSQL's DETAIL quotes the row that failed, a patient's words in it
            detail = f"null value in column\nDETAIL:  Failing row contains ({words})."
            raise IntegrityError("INSERT INTO reports", None, ValueError(detail))
        except IntegrityError:
            log.exception("Could not store")
    finally:
        log.removeHandler(handler)
        log.propagate = True
    out = stream.getvalue()
    assert words not in out and words not in out.encode().decode("unicode_escape")
    assert "ValueError" in out and "KeyError" in out and "direct cause" in out
    assert "int(words)" in out  # the frames' code is kept: it says where
    assert "Connection refused" in out  # the network's own words
    assert "OperationalError: builtins.ConnectionRefusedError" in out  # the driver's: its type
