"""The care team's daily digest: at CARE_TEAM_DIGEST_AT, one message to each provider chat.

It says who enrolled since the day before, how many alerts wait for a decision and how old the
oldest is, and who took fewer than half of their doses over the last 7 nights: what a provider
would look for first thing in the day, without opening `/patients`.

Each day's digest to each chat is a row planned ahead (`digests`, unique by chat and day), sent
through the outbox like every other send: claimed and committed, sent, then recorded. So it goes
out once a day, whatever restarts or other instances do, and a failed send is tried again. The
row holds no patient data: the words are read when it is sent. The time is a local time in
DEFAULT_TIMEZONE, across daylight saving as a bedtime is.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.app.clock import Clock
from bot.app.settings import Settings
from bot.delivery.notifier import Notifier, Unreachable
from bot.delivery.outbox import REFUSED_FACTOR, Outbox
from bot.rules import nightly
from bot.rules.nightly import adherence
from bot.rules.timing import local_now, local_today
from bot.ui.caseload_view import DigestView, window
from bot.ui.presenters import label_of
from bot.ui.views import Reply
from storage.caseload import CaseloadQueries
from storage.db import Database
from storage.models import Digest
from storage.repositories import Repository

log = logging.getLogger(__name__)

# Doses taken over the last 7 nights below this share name the patient in the digest.
LOW_ADHERENCE = 50


class Digests:
    """Plan each provider chat's digest for the day, and send the ones that are due."""

    def __init__(self, db: Database, notifier: Notifier, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.notifier = notifier
        self.clock = clock
        self.settings = settings
        self.zone = ZoneInfo(settings.default_timezone)
        self.outbox = Outbox(db, clock)
        self._planned: date | None = None  # the last day planned for every chat by this process

    async def dispatch(self, limit: int = 20) -> int:
        """Plan the next digest of every provider chat, and send those due; how many were."""
        at = self.settings.digest_at
        if at is None:
            return 0
        now = self.clock.now()
        today = local_now(now, self.zone).date()
        day = today if now < _on(today, at, self.zone) else today + timedelta(days=1)
        if self._planned != day:
            async with self.db.session() as session:
                repo = Repository(session)
                for chat_id in self.settings.provider_chat_ids:
                    await repo.digests.plan(chat_id, day, _on(day, at, self.zone))
                await repo.commit()
            self._planned = day
        return await self.outbox.drain(
            lambda repo, now, n: repo.digests.due_ids(now, n),
            self.deliver,
            limit,
            failed="Could not send digest %s",
        )

    async def deliver(self, digest_id: int) -> None:
        """Send one digest, read now; one no longer wanted (no digest time, a chat removed from
        PROVIDER_CHAT_IDS, a day gone by) is closed unsent."""
        async with self.db.session() as session:
            repo = Repository(session)
            digest = await repo.digests.get(digest_id)
            if digest is None or digest.next_action_at is None:
                return
            wanted = self.settings.digest_at is not None
            today = local_now(self.clock.now(), self.zone).date()
            # A day gone by (the bot was down) is not summed up late: today's comes.
            stale = digest.day < today
            if stale or not wanted or digest.chat_id not in self.settings.provider_chat_ids:
                await repo.claim(
                    Digest,
                    digest.id,
                    {"next_action_at": digest.next_action_at},
                    next_action_at=None,
                )
                await repo.commit()
                return
            replies = (await self.read(repo, digest.day)).replies(self.settings)
            await self.outbox.send(repo, _Letter(self.notifier, digest, replies, self.clock.now()))

    async def read(self, repo: Repository, day: date) -> DigestView:
        """What the digest of `day` says, read now."""
        now = self.clock.now()
        q = CaseloadQueries(repo.session)
        patients = await q.enrolled()
        nights = await q.nights_since(now.date() - timedelta(days=9))
        waiting = [row[0] for row in await q.undecided_with_labels()]
        since = now - timedelta(days=1)
        enrolled = sorted(
            (p for p in patients if p.enrolled_at is not None and p.enrolled_at >= since),
            key=lambda p: (p.enrolled_at, p.id),
        )
        low: list[tuple[str, int]] = []
        for p in patients:
            if p.timezone is None:
                continue
            own = nights.get(p.id, {})
            taken = adherence(window(own, local_today(now, ZoneInfo(p.timezone)), 7))
            if taken is not None and taken < LOW_ADHERENCE:
                low.append((label_of(p), taken))
        low.sort(key=lambda row: (row[1], row[0].casefold()))
        return DigestView(
            now, day, tuple(label_of(p) for p in enrolled), tuple(waiting), tuple(low)
        )


def _on(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of the local time `at` on `day`: a time the clocks skip moves on by the
    gap, a time that comes twice is its first (fold=0, as a bedtime)."""
    return datetime.combine(day, at.replace(fold=0), tzinfo=zone).astimezone(UTC)


@dataclass
class _Letter:
    """A day's digest to one chat, as the outbox sends it: claimed by its due time, then sent."""

    notifier: Notifier
    digest: Digest
    replies: list[Reply]
    now: datetime
    kind = "digest"
    maybe_sent_is_sent = True  # it may have arrived: never twice
    refused_factor = REFUSED_FACTOR

    @property
    def key(self) -> str:
        return f"digest {self.digest.id}"

    @property
    def attempts(self) -> int:
        return self.digest.attempts

    async def claim(self, repo: Repository) -> bool:
        due, deadline = self.digest.next_action_at, self.now + nightly.SENDING_TIMEOUT
        return await repo.claim(
            Digest,
            self.digest.id,
            {"next_action_at": due},
            next_action_at=deadline,
            sending_until=deadline,
        )

    async def send(self) -> int | None:
        first: int | None = None
        for reply in self.replies:
            message_id = await self.notifier.send(
                self.digest.chat_id, reply, self.digest.attempts, bulk=True
            )
            first = first if first is not None else message_id
        return first

    async def sent(self, repo: Repository, message_id: int | None) -> None:
        digest = self.digest
        await repo.refresh(digest)
        digest.message_id, digest.sent_at = message_id, self.now
        digest.next_action_at = digest.sending_until = None

    async def retry(self, repo: Repository, exc: Exception, delay: float) -> None:
        digest = self.digest
        await repo.refresh(digest)
        digest.attempts += 1
        digest.next_action_at = self.now + timedelta(seconds=delay)
        digest.sending_until = None

    async def unreachable(self, repo: Repository, exc: Unreachable) -> None:
        # The start-up check and every alert tell the admins of a provider chat out of reach.
        log.warning("Digest %s: its chat cannot be reached (%s)", self.digest.id, exc)
        digest = self.digest
        await repo.refresh(digest)
        digest.next_action_at = digest.sending_until = None
