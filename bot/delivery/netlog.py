"""Calm logs during an outage: one line per kind of network failure and minute, no traceback.

A Telegram outage makes every call fail the same way; a traceback per call (ours, and those of
python-telegram-bot's Updater and Application) buries what matters. Installed on the log
handlers, this filter lets the first record of each kind through each minute, without its
traceback, and says how many it held back. Other failures (a refused request, a bug) pass as
they are.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from telegram.error import BadRequest, NetworkError

from bot.delivery.notifier import TryLater

# A flood limit is Telegram answering, and logged as the senders decide: not a network failure.
FLOOD = "flood limit"


def network_kind(record: logging.LogRecord) -> str | None:
    """What network failure a record reports (as "Bad Gateway", "TimedOut"), or None."""
    error = record.exc_info[1] if record.exc_info else None
    if isinstance(error, NetworkError) and not isinstance(error, BadRequest):
        return f"{type(error).__name__}: {error.message}"
    args = record.args if isinstance(record.args, tuple) else ()
    for arg in args:
        if isinstance(arg, TryLater) and arg.cause != FLOOD:
            return f"network: {arg.cause}"
    return None


class NetworkFailures(logging.Filter):
    """Let one record a minute through per logger and network failure kind, without traceback."""

    def __init__(
        self, every: float = 60.0, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.every = every
        self.monotonic = monotonic
        self._last: dict[tuple[str, str], float] = {}
        self._held: dict[tuple[str, str], int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        kind = network_kind(record)
        if kind is None:
            return True
        key, now = (record.name, kind), self.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < self.every:
            self._held[key] = self._held.get(key, 0) + 1
            return False
        self._last[key] = now
        held = self._held.pop(key, 0)
        message = record.getMessage()
        if record.exc_info and kind not in message:
            message = f"{message} ({kind})"
        if held:
            message = f"{message} (and {held} more like it since the last such line)"
        # An expected network failure: its kind says everything, a traceback nothing more.
        record.msg, record.args = message, ()
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True


def calm(handler: logging.Handler, network: NetworkFailures | None = None) -> None:
    """Install the network failure filter on a log handler."""
    handler.addFilter(network or NetworkFailures())
