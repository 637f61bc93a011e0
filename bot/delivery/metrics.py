"""The process's metrics, for `/metrics`: one registry per application, never the global one.

Counters are counted where things happen, one place each: the outbox counts what it sends, the
alerts each copy to a chat, the dispatcher its rounds, the intake's callers what they stored and
the worker how long each update took. Gauges are read from the database at each scrape
(`storage/metrics.py`). No label ever names a patient: kinds, outcomes, tiers and ages only.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from bot.rules.nightly import LATE_AFTER
from storage import metrics as queries
from storage.db import Database

KINDS = ("reminder", "follow_up", "checkin", "alert", "notice", "digest")
OUTCOMES = ("sent", "failed", "retried")  # failed: given up (the chat is gone); retried: put back
TIERS = ("emergency", "urgent", "routine", "message")
# An open escalation's age bucket: the label, and how old it may be to fall in it.
AGES = (("<1h", timedelta(hours=1)), ("1-24h", timedelta(hours=24)))
OLDEST_AGE = ">24h"
# A handler answers in milliseconds; a round may send hundreds of reminders at 30 a second.
HANDLING_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
ROUND_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120)


class Metrics:
    """Counters, histograms and gauges of one application, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self._sends = Counter(
            "ldn_sends", "Messages the bot sent on its own, by kind and outcome",
            ["kind", "outcome"], registry=r,
        )  # fmt: skip
        for kind in KINDS:
            for outcome in OUTCOMES:
                self._sends.labels(kind, outcome)
        self._received = Counter(
            "ldn_updates_received", "Updates from Telegram stored by this process", registry=r
        )
        self._handling = Histogram(
            "ldn_update_handling_seconds", "Time to handle one stored update",
            buckets=HANDLING_BUCKETS, registry=r,
        )  # fmt: skip
        self._round = Histogram(
            "ldn_dispatcher_round_seconds", "Time a dispatcher round took",
            buckets=ROUND_BUCKETS, registry=r,
        )  # fmt: skip
        self._lag = Gauge(
            "ldn_dispatcher_lag_seconds", "How long the oldest row due has waited", registry=r
        )
        self._due = Gauge("ldn_reminders_due", "Reminders due and not sent yet", registry=r)
        self._overdue = Gauge(
            "ldn_reminders_overdue", "Reminders due for more than ten minutes", registry=r
        )
        self._escalations = Gauge(
            "ldn_escalations_open", "Escalations nobody has acknowledged, by tier and age",
            ["tier", "age"], registry=r,
        )  # fmt: skip

    def sent(self, kind: str, outcome: str) -> None:
        """Count one send of `kind` (KINDS) that ended in `outcome` (OUTCOMES)."""
        self._sends.labels(kind, outcome).inc()

    def received(self, count: int = 1) -> None:
        self._received.inc(count)

    def handled(self, seconds: float) -> None:
        self._handling.observe(seconds)

    def round_done(self, seconds: float) -> None:
        self._round.observe(seconds)

    async def scrape(self, db: Database, now: datetime) -> bytes:
        """Read the gauges from the database, then render everything as Prometheus text."""
        async with db.session() as session:
            backlog = await queries.backlog(
                session,
                now,
                now - LATE_AFTER,
                tuple((label, now - age) for label, age in AGES),
                OLDEST_AGE,
            )
        self._due.set(backlog.reminders_due)
        self._overdue.set(backlog.reminders_overdue)
        oldest = backlog.oldest_due
        self._lag.set(max((now - oldest).total_seconds(), 0.0) if oldest is not None else 0.0)
        self._escalations.clear()
        for tier in TIERS:
            for age in (*(label for label, _ in AGES), OLDEST_AGE):
                self._escalations.labels(tier, age).set(0)
        for (tier, age), count in backlog.open_escalations.items():
            self._escalations.labels(tier, age).set(count)
        return generate_latest(self.registry)
