"""Logging for the running bot: one line a record, no token, no patient's words, calm outages.

Two formats: readable lines for a person at a terminal (`LOG_FORMAT=text`, the default), and one
JSON object a line for a log collector (`LOG_FORMAT=json`), with the ids of what was being handled
(update, patient row, dose row, escalation) as fields of their own. The same filters hold in both.
"""

from __future__ import annotations

import json
import logging
import traceback
from datetime import UTC, datetime
from typing import Any

import aiohttp
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from telegram.error import InvalidToken, TelegramError

from bot.delivery import logctx
from bot.delivery.netlog import NetworkFailures, calm

QUIET = ("httpx", "httpcore", "aiohttp.client", "apscheduler", "aiosqlite", "asyncpg", "sqlalchemy")
TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


# A traceback keeps the messages of the system's and Telegram's own errors (a connection refused,
# a chat not found), and of a database error only the driver's error type. Any other error's
# message may quote what a patient wrote (a value that failed to parse, a key looked up, a row):
# its type and frames are logged, its message withheld. InvalidToken's message holds the token.
WITHHELD = "(message withheld: it may quote what someone wrote)"

CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"


def traceback_without_words(error: BaseException) -> str:
    """A traceback's frames (file, line, code) and each error's type, in the usual order; an
    error's message only where it cannot quote anyone (`_message`)."""
    chain: list[tuple[BaseException, str]] = []
    current: BaseException | None = error
    link = ""
    while current is not None and all(current is not seen for seen, _ in chain):
        chain.append((current, link))
        if current.__cause__ is not None:
            current, link = current.__cause__, CAUSE
        elif current.__context__ is not None and not current.__suppress_context__:
            current, link = current.__context__, CONTEXT
        else:
            current = None
    parts: list[str] = []
    for exc, led_to in reversed(chain):
        parts.append("Traceback (most recent call last):\n")
        parts.extend(traceback.format_list(traceback.extract_tb(exc.__traceback__)))
        name = type(exc).__qualname__
        module = type(exc).__module__
        if module not in ("builtins", "__main__"):
            name = f"{module}.{name}"
        parts.append(f"{name}: {_message(exc)}\n" if str(exc) else f"{name}\n")
        if led_to:
            parts.append(led_to)
    return "".join(parts).rstrip("\n")


def _message(exc: BaseException) -> str:
    if isinstance(exc, DBAPIError):
        # The driver's words may quote a row (PostgreSQL's "DETAIL: Failing row contains ..."):
        # the driver's error type and SQLSTATE say what failed.
        orig = exc.orig
        if orig is None:
            return WITHHELD
        code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
        kind = f"{type(orig).__module__}.{type(orig).__qualname__}"
        return f"{kind} (SQLSTATE {code})" if code else kind
    if isinstance(exc, SQLAlchemyError | InvalidToken):
        return WITHHELD  # a statement's error may quote a value; the token's holds the token
    if isinstance(exc, aiohttp.ClientError) and not isinstance(exc, aiohttp.ClientConnectorError):
        # aiohttp's messages quote the URL, and the URL holds the token; a connection error's
        # names only the host and the system's error.
        return WITHHELD
    if isinstance(exc, OSError | TimeoutError | TelegramError):
        return str(exc)
    return WITHHELD


class Plain(logging.Formatter):
    """Readable lines; a traceback without what an error's message may quote."""

    def formatException(self, ei: Any) -> str:  # noqa: N802 (logging's name)
        return traceback_without_words(ei[1]) if ei and ei[1] is not None else ""


class Ids(logging.Filter):
    """Stamp each record with the ids in force where it was logged (`bot/delivery/logctx.py`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "ids"):
            record.ids = logctx.current()
        return True


class JsonLines(Plain):
    """One JSON object a line: time, level, logger, message, the ids, and an error if any."""

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, UTC)
        entry: dict[str, Any] = {
            "time": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        ids = getattr(record, "ids", None)
        entry.update(ids if isinstance(ids, dict) else logctx.current())
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            entry["error"] = type(error).__name__
            # The frames' file, line and code, as in the text format: never their local values,
            # nor a message that may quote a patient.
            entry["traceback"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["traceback"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: str, fmt: str = "text") -> None:
    """Log to stderr at `level`, as readable lines ("text") or JSON lines ("json")."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLines() if fmt == "json" else Plain(TEXT))
    logging.basicConfig(level=level, handlers=[handler])
    # Whatever LOG_LEVEL says: httpx logs every request URL, and Telegram's URLs carry the bot
    # token; python-telegram-bot's debug output holds the token and the patients' messages; the
    # database drivers' debug output holds every statement's values, patients' words among them.
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("telegram").setLevel(max(logging.INFO, logging.getLevelName(level)))
    # During an outage every call fails alike: one line per kind and minute, not a traceback each.
    network = NetworkFailures()
    for installed in logging.getLogger().handlers:
        calm(installed, network)
        installed.addFilter(Ids())
