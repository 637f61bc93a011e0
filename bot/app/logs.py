"""Logging for the running bot: one line a record, no token, no patient's words, calm outages.

Two formats: readable lines for a person at a terminal (`LOG_FORMAT=text`, the default), and one
JSON object a line for a log collector (`LOG_FORMAT=json`), with the ids of what was being handled
(update, patient row, dose row, escalation) as fields of their own. The same filters hold in both.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from bot.delivery import logctx
from bot.delivery.netlog import NetworkFailures, calm

QUIET = ("httpx", "httpcore", "apscheduler", "aiosqlite", "asyncpg", "sqlalchemy")
TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class Ids(logging.Filter):
    """Stamp each record with the ids in force where it was logged (`bot/delivery/logctx.py`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "ids"):
            record.ids = logctx.current()
        return True


class JsonLines(logging.Formatter):
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
            # The frames' file, line and code, as in the text format: never their local values.
            entry["traceback"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["traceback"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: str, fmt: str = "text") -> None:
    """Log to stderr at `level`, as readable lines ("text") or JSON lines ("json")."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLines() if fmt == "json" else logging.Formatter(TEXT))
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
