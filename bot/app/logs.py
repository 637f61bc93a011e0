"""Logging for the running bot: one line a record, no token, no patient's words, calm outages."""

from __future__ import annotations

import logging

from bot.delivery.netlog import NetworkFailures, calm

QUIET = ("httpx", "httpcore", "apscheduler", "aiosqlite", "asyncpg", "sqlalchemy")


def configure_logging(level: str) -> None:
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=level)
    # Whatever LOG_LEVEL says: httpx logs every request URL, and Telegram's URLs carry the bot
    # token; python-telegram-bot's debug output holds the token and the patients' messages; the
    # database drivers' debug output holds every statement's values, patients' words among them.
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("telegram").setLevel(max(logging.INFO, logging.getLevelName(level)))
    # During an outage every call fails alike: one line per kind and minute, not a traceback each.
    network = NetworkFailures()
    for handler in logging.getLogger().handlers:
        calm(handler, network)
