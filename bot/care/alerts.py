"""Escalations: stored first, then delivered to the care team, raised again until someone acts.

Every round goes through the outbox (`bot/delivery/outbox.py`): a guarded update claims the
escalation and is committed before Telegram is called, and each chat's delivery is recorded as it
happens, so a crash or a failed send resends only what did not arrive. Alerts are delivered at least
once: a second copy of an alert is far better than none.

An alert with nobody to receive it (no provider chat, and no admin, or none reachable) is parked,
not polled: it comes back when a recipient can exist again, at start-up (the recipients come from
the settings) and when one of their chats is heard from (`heard_from`).

Admins hear of alerts that fail through their own outbox (`admin_notices`): a notice is a row
stored in the same transaction as the failure it reports, then sent and retried by the same
claim, commit, send, record pattern; repeats of one kind are folded into one message, edited.

What an alert says is `bot/ui/alert_view.py`'s: this module reads what it needs and puts it into
words at the notifier's door (`render`), as it does an admin's notice when storing it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.app.clock import Clock
from bot.app.settings import Settings
from bot.care.reminders import Reminders, plan_of
from bot.delivery import logctx
from bot.delivery.notifier import PACED, Moved, Notifier, TryLater, Unreachable
from bot.delivery.outbox import REFUSED_FACTOR, Outbox, retry_delay
from bot.rules import nightly, timing
from bot.rules.states import EscalationStatus, TierCode
from bot.ui.alert_view import AlertView, at_utc
from bot.ui.inbox_view import render_message
from bot.ui.render import words
from bot.ui.views import Reply, Say, Text
from storage.db import Database
from storage.models import AdminNotice, AlertMessage, Escalation
from storage.repositories import Repository

log = logging.getLogger(__name__)

# An alert reaches the admins too from this round on, when nobody has acknowledged it.
ADMIN_ROUND = 3
# The tiers raised again every ESCALATION_RENOTIFY_MINUTES and never held by quiet hours.
URGENT_TIERS = (TierCode.URGENT, TierCode.EMERGENCY)
# Notices of one kind to one admin fold into one message while they keep coming this often.
FOLD_WINDOW = timedelta(hours=1)
# A notice that failed this many times (some minutes) is logged as an error, once.
NOTICE_LOG_AFTER = 5


class Alerts:
    """Deliver escalations to the providers' chats, and keep the admins told."""

    def __init__(
        self,
        db: Database,
        notifier: Notifier,
        clock: Clock,
        settings: Settings,
        reminders: Reminders,
    ) -> None:
        self.db = db
        self.notifier = notifier
        self.clock = clock
        self.settings = settings
        self.reminders = reminders
        self.renotify = timedelta(minutes=settings.escalation_renotify_minutes)
        self.routine_review = timedelta(hours=settings.routine_review_hours)
        self.quiet_zone = ZoneInfo(settings.default_timezone)
        self._underway: set[asyncio.Task[None]] = set()
        # Escalations and admin notices being delivered by this process now.
        self.sending: Counter[int] = Counter()
        self.sending_notices: Counter[int] = Counter()
        # Called with (escalation, chat, message id) once a copy is sent: a patient's voice note
        # or photo follows its header (`Inbox.bring_media`).
        self.after_send: Callable[[Escalation, int, int], Awaitable[None]] | None = None
        self.outbox = Outbox(db, clock)
        # Whether this process parked an alert since it last woke them: a chat heard from then
        # wakes them (a flag, so that every other update costs nothing).
        self.parked = False

    async def dispatch(self, limit: int = 100) -> int:
        """Deliver every escalation that is due, then the admins' notices; return how many."""
        delivered = await self.outbox.drain(
            lambda repo, now, n: repo.escalations.due_ids(now, n),
            self.deliver,
            limit,
            failed="Could not deliver escalation %s",
        )
        return delivered + await self.dispatch_notices(limit)

    async def wake(self, why: str) -> int:
        """Make the parked alerts due now, to be sent to whoever can receive them now."""
        self.parked = False
        async with self.db.session() as session:
            repo = Repository(session)
            woken = await repo.wake_parked(self.clock.now())
            await repo.commit()
        if woken:
            log.warning("%s alert(s) parked for want of a recipient are due again: %s", woken, why)
        return woken

    async def heard_from(self, chat_id: int) -> None:
        """A chat alerts go to wrote (or added the bot): the alerts parked while it was out of
        reach are sent now, in the background."""
        settings = self.settings
        if self.parked and (
            chat_id in settings.provider_chat_ids or chat_id in settings.admin_user_ids
        ):
            self.soon(self._wake_logged(chat_id))

    async def _wake_logged(self, chat_id: int) -> None:
        try:
            if await self.wake(f"chat {chat_id} is reachable"):
                await self.dispatch()
        except Exception:
            log.exception("Parked alerts wait for the next start-up or chat heard from")

    def deliver_soon(self, escalation_id: int) -> None:
        """Start delivering an escalation now, without waiting for it.

        The patient's own answer (the emergency number above all) must never wait for the care
        team's chats, however slow Telegram is for them. The stored row is the safety net: if this
        fails or the process stops, the dispatcher delivers it.
        """
        self.soon(self._deliver_logged(escalation_id))

    def soon(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` in the background, kept until done; `settle` waits for it."""
        task = asyncio.get_running_loop().create_task(work)
        self._underway.add(task)
        task.add_done_callback(self._underway.discard)

    async def settle(self) -> None:
        """Wait for the deliveries started with `deliver_soon` (at shutdown, and in simulations)."""
        while self._underway:
            await asyncio.gather(*self._underway, return_exceptions=True)

    async def _deliver_logged(self, escalation_id: int) -> None:
        try:
            await self.deliver(escalation_id)
            await self.dispatch_notices()  # the admins hear at once of a chat that failed
        except Exception:
            log.exception("Escalation %s waits for the dispatcher", escalation_id)

    async def deliver_new(self, patient_id: int) -> None:
        """Start delivering what was stored for the patient and not sent yet."""
        async with self.db.session() as session:
            waiting = [
                e.id
                for e in await Repository(session).escalations.of_patient(patient_id)
                if e.rounds == 0 and e.next_action_at is not None
            ]
        for escalation_id in waiting:
            self.deliver_soon(escalation_id)

    def deliver_new_soon(self, patient_id: int) -> None:
        """Start delivering, in the background, what was just stored for the patient."""
        self.soon(self._deliver_new_logged(patient_id))

    async def _deliver_new_logged(self, patient_id: int) -> None:
        try:
            await self.deliver_new(patient_id)
        except Exception:
            log.exception("Alerts of patient %s wait for the dispatcher", patient_id)

    def recipients(self, round_: int) -> list[int]:
        """Who gets a round: the provider chats, and the admins once it has gone unanswered.

        Sent again ESCALATION_MAX_RESENDS times and still unanswered, it goes to the admins only:
        a provider's chat is not filled with one alert. With no admin it stays with the providers.
        """
        admins = self.settings.admin_user_ids
        if self.admins_only(round_):
            return list(admins)
        chats = list(self.settings.provider_chat_ids)
        if round_ >= ADMIN_ROUND or not chats:
            chats += [a for a in admins if a not in chats]
        return chats

    def admins_only(self, round_: int) -> bool:
        """Whether round `round_` goes to the admins alone (ESCALATION_MAX_RESENDS are spent)."""
        resends = self.settings.escalation_max_resends
        return round_ > 1 + resends and bool(self.settings.admin_user_ids)

    def raised_again_after(self, tier: str) -> timedelta | None:
        """How long an alert of `tier` nobody acknowledged waits before it is raised again: an
        urgent one ESCALATION_RENOTIFY_MINUTES, a routine one ROUTINE_REVIEW_HOURS. A patient's
        message is not raised again: it waits in `/escalations` for a reply."""
        if tier in URGENT_TIERS:
            return self.renotify
        return self.routine_review if tier == TierCode.ROUTINE else None

    def quiet_until(self, tier: str, now: datetime) -> datetime | None:
        """When CARE_TEAM_QUIET_HOURS end, if `now` is within them and the alert may wait for
        that: a routine alert. Urgent alerts and a patient's own words always go at once."""
        quiet = self.settings.quiet_hours
        if quiet is None or tier != TierCode.ROUTINE:
            return None
        return timing.quiet_until(now, *quiet, self.quiet_zone)

    @logctx.scoped
    async def deliver(self, escalation_id: int) -> None:
        """Send one round of an escalation to every chat that has not had it yet."""
        logctx.note(escalation_id=escalation_id)
        # While it is under way, the recovery after an outage leaves it alone (never sent twice).
        self.sending[escalation_id] += 1
        try:
            await self._deliver(escalation_id)
        finally:
            self.sending[escalation_id] -= 1
            if not self.sending[escalation_id]:
                del self.sending[escalation_id]

    async def _deliver(self, escalation_id: int) -> None:
        async with self.db.session() as session:
            repo = Repository(session)
            escalation = await repo.escalations.get(escalation_id)
            logctx.note(patient_id=escalation.patient_id if escalation is not None else None)
            now = self.clock.now()
            if escalation is None or escalation.next_action_at is None:
                return
            due = escalation.next_action_at
            if due > now:
                return
            claimed = {"next_action_at": due}
            if escalation.status == EscalationStatus.DECIDED or (
                escalation.rounds > 0 and escalation.status != EscalationStatus.OPEN
            ):
                await repo.claim(Escalation, escalation.id, claimed, next_action_at=None)
                await repo.commit()
                return
            if (morning := self.quiet_until(escalation.tier, now)) is not None:
                # A routine alert in the care team's quiet hours waits for their end.
                await repo.claim(Escalation, escalation.id, claimed, next_action_at=morning)
                await repo.commit()
                return
            round_ = escalation.rounds + 1
            chats = self.recipients(round_)
            if not chats:
                # Nobody to tell: parked, until a start-up with the chats set brings it back.
                log.error("Escalation %s: no PROVIDER_CHAT_IDS or ADMIN_USER_IDS", escalation.id)
                await self._park(repo, escalation, claimed)
                return
            deadline = now + nightly.SENDING_TIMEOUT
            claim = repo.claim(
                Escalation,
                escalation.id,
                claimed,
                next_action_at=deadline,
                sending_until=deadline,
            )
            if not await self.outbox.claim(repo, claim):
                return
            # Written by the claim; kept here so that the end of this send clears it.
            escalation.sending_until = deadline
            reply = await self.render(repo, escalation, round_)
            sent = {
                m.chat_id: m
                for m in await repo.escalations.messages(escalation.id)
                if m.round == round_
            }
            failed, paced, wait = False, False, 0.0
            gone = 0  # chats that are out of reach (the bot blocked, or removed from the group)
            for chat_id in chats:
                row = sent.get(chat_id)
                if row is not None and row.sent_at is not None:
                    continue
                if row is None:
                    row = AlertMessage(
                        escalation_id=escalation.id, round=round_, chat_id=chat_id, failures=0
                    )
                    await repo.add(row)
                try:
                    row.message_id = await self._send(chat_id, reply, escalation.attempts)
                    if self.after_send is not None:
                        await self.after_send(escalation, chat_id, row.message_id)
                    row.sent_at = now
                except Exception as exc:
                    # The plain backoff whatever failed: an alert is never left to wait longer.
                    key = f"alert {escalation.id}:{chat_id}"
                    delay = retry_delay(exc, escalation.attempts, key, refused_factor=1)
                    wait = max(wait, delay)
                    if isinstance(exc, TryLater) and exc.cause == PACED:
                        # A busy group's pace, not a failure: the chat gets this round later.
                        paced = True
                        await repo.commit()
                        continue
                    # A timeout counts as failed too: the alert may arrive twice, never zero times.
                    failed = True
                    gone += isinstance(exc, Unreachable)
                    row.failures += 1
                    # Stored with the failure: the admins' notice is sent and retried on its own.
                    await self._report_failure(repo, escalation, chat_id, exc, now)
                    await repo.commit()
                    log.warning("Alert %s to chat %s failed: %s", escalation.id, chat_id, exc)
                    continue
                await repo.commit()
            since = escalation.last_sent_at or escalation.created_at
            again = self.raised_again_after(escalation.tier)
            to_admins = any(chat in self.settings.admin_user_ids for chat in chats)
            if gone == len(chats) and to_admins:
                # No provider chat, and not one admin reachable (each failure is stored for the
                # admins all the same): parked until one of these chats is heard from.
                log.error("Escalation %s: no chat it goes to is reachable", escalation.id)
                await self._park(repo, escalation, {"next_action_at": deadline})
                return
            if failed and not (again is not None and now - since >= again):
                # Retry the chats that failed; the others already have this round.
                escalation.attempts += 1
                escalation.next_action_at = now + timedelta(seconds=wait)
            elif failed:
                # One chat failing must not stop the alert being raised again, nor the admins
                # hearing of it: the next round goes to every chat, the failing one included.
                escalation.rounds = round_
                escalation.attempts += 1
                escalation.last_sent_at = now
                escalation.next_action_at = now
            elif paced:
                escalation.next_action_at = now + timedelta(seconds=wait)
            else:
                escalation.rounds = round_
                escalation.attempts = 0
                escalation.last_sent_at = now
                escalation.next_action_at = now + again if again is not None else None
            escalation.sending_until = None
            await repo.commit()

    async def _send(self, chat_id: int, reply: Reply, attempts: int) -> int:
        """Send one copy of an alert to one chat, counted for /metrics."""
        outcome = "retried"  # a copy that failed is sent again, unless its chat is gone
        try:
            message_id = await self.notifier.send(chat_id, reply, attempts)
        except Unreachable:
            outcome = "failed"
            raise
        else:
            outcome = "sent"
        finally:
            if self.outbox.metrics is not None:
                self.outbox.metrics.sent("alert", outcome)
        return message_id

    async def _park(
        self, repo: Repository, escalation: Escalation, claimed: Mapping[str, object]
    ) -> None:
        """Leave an alert that nobody can receive not due (`Repository.wake_parked` finds it)."""
        parked = await repo.claim(
            Escalation, escalation.id, claimed, next_action_at=None, sending_until=None
        )
        await repo.commit()
        self.parked = self.parked or parked

    async def tell_admins(self, said: Text, skip: int | None = None, kind: str = "") -> None:
        """Tell every admin (but the chat `skip`): stored first, then sent and retried until done.

        Notices of the same `kind` (the text itself by default) fold into one message.
        """
        text = words(said, self.settings)
        async with self.db.session() as session:
            repo = Repository(session)
            await self.notice(repo, kind or text[:64], lambda count, since: text, skip)
            await repo.commit()
        self.soon(self._notices_logged())

    async def notice(
        self,
        repo: Repository,
        kind: str,
        render: Callable[[int, datetime], Text],
        skip: int | None = None,
    ) -> None:
        """Store a notice for every admin in the caller's transaction, folded into a recent one.

        `render(count, since)` says what to tell (stored in words): it names chats and alerts,
        never a patient.
        """
        now = self.clock.now()
        for admin in self.settings.admin_user_ids:
            if admin == skip:
                continue  # an admin's own failing chat can't hear it
            row = await repo.notices.foldable(admin, kind, since=now - FOLD_WINDOW)
            if row is None:
                row = AdminNotice(
                    admin_id=admin,
                    kind=kind,
                    text=words(render(1, now), self.settings),
                    count=1,
                    created_at=now,
                    updated_at=now,
                    next_action_at=now,
                    attempts=0,
                    sent_count=0,
                )
                await repo.add(row)
                continue
            row.count += 1
            row.updated_at = now
            text = words(render(row.count, row.created_at), self.settings)
            if text != row.text:
                row.text = text
                if row.next_action_at is None:
                    row.next_action_at = now  # sent already: its message is edited
            await repo.session.flush()

    async def dispatch_notices(self, limit: int = 100) -> int:
        """Send or edit every admin notice that is due; return how many were looked at."""
        return await self.outbox.drain(
            lambda repo, now, n: repo.notices.due_ids(now, n),
            self.deliver_notice,
            limit,
            failed="Could not deliver admin notice %s",
        )

    async def _notices_logged(self) -> None:
        try:
            await self.dispatch_notices()
        except Exception:
            log.exception("Admin notices wait for the dispatcher")

    async def deliver_notice(self, notice_id: int) -> None:
        """Send one admin notice (or edit its message to the newest count), claimed first."""
        self.sending_notices[notice_id] += 1
        try:
            await self._deliver_notice(notice_id)
        finally:
            self.sending_notices[notice_id] -= 1
            if not self.sending_notices[notice_id]:
                del self.sending_notices[notice_id]

    async def _deliver_notice(self, notice_id: int) -> None:
        async with self.db.session() as session:
            repo = Repository(session)
            notice = await repo.notices.get(notice_id)
            now = self.clock.now()
            if notice is None or notice.next_action_at is None or notice.next_action_at > now:
                return
            await self.outbox.send(repo, _Notice(self.notifier, notice, now))

    async def _report_failure(
        self, repo: Repository, escalation: Escalation, chat_id: int, exc: Exception, now: datetime
    ) -> None:
        """Tell every admin that an alert did not arrive, folded per chat; it names no patient."""
        if isinstance(exc, Moved):
            text = Say(
                "admin_chat_moved",
                {
                    "id": escalation.id,
                    "tier": escalation.tier,
                    "chat": chat_id,
                    "new": exc.new_chat_id,
                },
            )
            await self.notice(repo, f"moved:{chat_id}", lambda count, since: text, skip=chat_id)
            return
        error = getattr(exc, "cause", "") or str(exc) or type(exc).__name__
        tier, id_ = escalation.tier, escalation.id

        def render(count: int, since: datetime) -> Say:
            values = {"id": id_, "tier": tier, "chat": chat_id, "error": error}
            if count == 1:
                return Say("admin_delivery_failed", values)
            return Say("admin_delivery_failing", {**values, "count": count, "since": at_utc(since)})

        await self.notice(repo, f"delivery:{chat_id}", render, skip=chat_id)

    async def refresh_copies(self, escalation_id: int) -> None:
        """Edit the providers' copies of an alert a new finding was folded into ("New: ...")."""
        async with self.db.session() as session:
            repo = Repository(session)
            escalation = await repo.escalations.get(escalation_id)
            if escalation is None:
                return
            reply = await self.render(repo, escalation, max(escalation.rounds, 1))
            for row in await repo.escalations.messages(escalation.id):
                if row.round > 0 and row.message_id is not None:
                    await self.notifier.edit(row.chat_id, row.message_id, reply)

    async def render(self, repo: Repository, escalation: Escalation, round_: int = 1) -> Reply:
        """The alert as providers see it, in words: read here, said by `bot.ui.alert_view`."""
        if escalation.tier == TierCode.MESSAGE:
            return render_message(escalation)  # a patient's message, not an alert
        patient = escalation.patient
        names = await repo.audit.names([escalation.acknowledged_by, escalation.decided_by])
        info = self.reminders.current(patient)
        # The two reports completed last before this alert was raised, but its own.
        done = await repo.reports.done(escalation.patient_id, 3, until=escalation.created_at)
        history = [r for r in done if r.id != escalation.report_id][-2:]
        statuses = await repo.nights.statuses(patient.id, 30)
        view = AlertView(
            escalation,
            names,
            info,
            plan_of(patient) if info is not None else None,
            tuple(history),
            tuple(statuses),
            round_,
            admins_only=self.admins_only(round_),
        )
        return view.reply(self.settings)


@dataclass
class _Notice:
    """An admin's notice, as the outbox sends it: sent, or its message edited to the new count."""

    notifier: Notifier
    notice: AdminNotice
    now: datetime
    kind = "notice"
    maybe_sent_is_sent = True  # it may have arrived: never sent twice
    refused_factor = REFUSED_FACTOR
    count: int = 0  # the count this send says, read once claimed

    @property
    def key(self) -> str:
        return f"notice {self.notice.id}"

    @property
    def attempts(self) -> int:
        return self.notice.attempts

    async def claim(self, repo: Repository) -> bool:
        due, deadline = self.notice.next_action_at, self.now + nightly.SENDING_TIMEOUT
        when = {"next_action_at": due}
        return await repo.claim(
            AdminNotice, self.notice.id, when, next_action_at=deadline, sending_until=deadline
        )

    async def send(self) -> int | None:
        notice = self.notice
        self.count, reply = notice.count, Reply(notice.text)
        if notice.message_id is None:
            return await self.notifier.send(notice.admin_id, reply, notice.attempts)
        await self.notifier.revise(notice.admin_id, notice.message_id, reply)
        return notice.message_id

    async def sent(self, repo: Repository, message_id: int | None) -> None:
        notice, now = self.notice, self.now
        message_id = message_id if message_id is not None else notice.message_id
        await repo.refresh(notice)
        notice.message_id, notice.sent_at, notice.attempts = message_id, now, 0
        notice.sending_until = None
        notice.sent_count = self.count
        # Folded again while it was being sent: the message is edited to the newest count.
        notice.next_action_at = now if notice.count != self.count and message_id else None

    async def retry(self, repo: Repository, exc: Exception, delay: float) -> None:
        notice = self.notice
        await repo.refresh(notice)
        notice.attempts += 1
        notice.next_action_at = self.now + timedelta(seconds=delay)
        notice.sending_until = None
        if notice.attempts == NOTICE_LOG_AFTER:
            # Even the admins cannot be reached: the log is the last place left.
            log.error(
                "Admin %s not told after %s tries: %s",
                notice.admin_id,
                notice.attempts,
                notice.text,
            )

    async def unreachable(self, repo: Repository, exc: Unreachable) -> None:
        notice = self.notice
        log.error("Admin %s cannot be told (%s): %s", notice.admin_id, exc, notice.kind)
        await repo.refresh(notice)
        notice.next_action_at = notice.sending_until = None
