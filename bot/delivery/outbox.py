"""One outbox: everything the bot sends on its own goes out the same way, at most once.

A row is due when its `next_action_at` has come: a night's reminder or follow-up, a check-in, an
alert's round, an admin's notice. The outbox drains what is due (`drain`), one row at a time, one
failing row never stopping the others. Each send (`send`) follows one pattern: a guarded update
claims the row and is committed before Telegram is called, so whoever loses the claim sends
nothing, across restarts and across processes; then the send; then the result recorded, or the row
put back, due again after the one retry policy (`retry_delay`). A claim is never counted as a send:
a process that dies holding one has recorded no send, so the row goes out again.

How a failure decides (`bot/delivery/notifier.py`): `TryLater` waits at least what it says (a
flood wait is always honoured), `MaybeSent` counts as sent where the kind says so (never sent
twice), `Unreachable` stops. What is theirs, each kind plugs in as a `Letter`: its claim, its send,
what a send records, what a failure puts back. The use cases hand the outbox their letters; the
outbox never imports a use case.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Protocol

from bot.app.clock import Clock
from bot.delivery.metrics import Metrics
from bot.delivery.notifier import FLOOD, PACED, MaybeSent, TryLater, Unreachable, backoff
from storage.db import Database
from storage.repositories import Repository

log = logging.getLogger(__name__)

# A backoff is stretched by up to this share, never shortened: rows that failed together (a
# bedtime's reminders in an outage) do not all come back in the same second.
JITTER = 0.1
# A request Telegram refused as wrong is ours to fix: a reminder or a notice waits this many
# times the backoff. Alerts and check-ins keep the plain backoff: one may be a patient in danger.
REFUSED_FACTOR = 4.0


def retry_delay(
    exc: BaseException, attempts: int, key: str = "", refused_factor: float = REFUSED_FACTOR
) -> float:
    """Seconds before a failed send of the row `key` is tried again: the one retry policy.

    A wait Telegram asked for (a flood limit), or the pace of a busy chat, is waited out as said,
    to the second. Any other `TryLater` waits what it says, the network's backoff; a chat gone
    (`Unreachable`, for the kinds that retry it) or a send that may have arrived (`MaybeSent`,
    for the kinds that send it again) waits the backoff; anything else was a request refused,
    our own mistake, and waits `refused_factor` times the backoff. Backoffs carry a jitter of up
    to JITTER.
    """
    if isinstance(exc, TryLater) and exc.cause in (FLOOD, PACED):
        return exc.seconds
    if isinstance(exc, TryLater):
        base = exc.seconds
    elif isinstance(exc, Unreachable | MaybeSent):
        base = backoff(attempts)
    else:
        base = backoff(attempts) * refused_factor
    return base * (1 + JITTER * _spread(key, attempts))


def _spread(key: str, attempts: int) -> float:
    """A share in [0, 1) that differs from row to row and try to try, and is the same on every
    run: a simulation on a virtual clock replays the same moments."""
    return zlib.crc32(f"{key}#{attempts}".encode()) % 10_000 / 10_000


class Letter(Protocol):
    """One row's send, as its kind plugs it into the outbox.

    The hooks write through the repository they are given; the outbox commits.
    """

    # What it is, as `/metrics` counts it: one of `bot.delivery.metrics.KINDS`.
    kind: str
    # Whether a send that may have arrived (`MaybeSent`) counts as sent, or is tried again.
    maybe_sent_is_sent: bool
    # How many times the backoff a request Telegram refused waits (`retry_delay`).
    refused_factor: float

    @property
    def key(self) -> str:
        """Names the row in logs and spreads its retries: "dose 12"."""
        ...

    @property
    def attempts(self) -> int:
        """Failed tries so far."""
        ...

    async def claim(self, repo: Repository) -> bool:
        """The guarded update that takes the row for this send; False: another has it."""
        ...

    async def send(self) -> int | None:
        """Call Telegram; return the message's id (None when it has none to give)."""
        ...

    async def sent(self, repo: Repository, message_id: int | None) -> None:
        """Record the send (None: it may have arrived, and counts as sent)."""
        ...

    async def retry(self, repo: Repository, exc: Exception, delay: float) -> None:
        """Put the row back, due again in `delay` seconds."""
        ...

    async def unreachable(self, repo: Repository, exc: Unreachable) -> None:
        """The chat is gone: stop sending to it."""
        ...


class Outbox:
    """Drain what is due, and send each row claimed, committed, sent, then recorded."""

    def __init__(self, db: Database, clock: Clock, metrics: Metrics | None = None) -> None:
        self.db = db
        self.clock = clock
        self.metrics = metrics  # set by the wiring; counts each send by kind and outcome

    async def drain(
        self,
        due: Callable[[Repository, datetime, int], Awaitable[list[int]]],
        act: Callable[[int], Awaitable[None]],
        limit: int,
        *,
        failed: str,
        stopping: Callable[[], bool] = lambda: False,
    ) -> int:
        """Act on every row `due` finds now (oldest first); return how many were due.

        A row that fails is logged (`failed`, with its id) and stays due, tried next round; once
        `stopping`, the rest stays due too.
        """
        async with self.db.session() as session:
            ids = await due(Repository(session), self.clock.now(), limit)
        for row_id in ids:
            if stopping():
                break
            try:
                await act(row_id)
            except Exception:
                log.exception(failed, row_id)
        return len(ids)

    async def claim(self, repo: Repository, claimed: Awaitable[bool]) -> bool:
        """Commit a claim won, before anything is sent; roll back one lost."""
        if not await claimed:
            await repo.rollback()
            return False
        await repo.commit()
        return True

    async def send(self, repo: Repository, letter: Letter) -> bool:
        """Claim, commit, send, then record the send or put the row back; False if not claimed."""
        if not await self.claim(repo, letter.claim(repo)):
            return False
        outcome = "retried"
        try:
            message_id = await letter.send()
        except Unreachable as exc:
            outcome = "failed"
            await letter.unreachable(repo, exc)
        except MaybeSent as exc:
            if letter.maybe_sent_is_sent:
                outcome = "sent"
                await letter.sent(repo, None)
            else:
                await letter.retry(
                    repo, exc, retry_delay(exc, letter.attempts, letter.key, letter.refused_factor)
                )
        except Exception as exc:
            await letter.retry(
                repo, exc, retry_delay(exc, letter.attempts, letter.key, letter.refused_factor)
            )
        else:
            outcome = "sent"
            await letter.sent(repo, message_id)
        await repo.commit()
        if self.metrics is not None:
            self.metrics.sent(letter.kind, outcome)
        return True
