"""The dispatcher: ask the database what is due and move each night on, sending at most once.

Every send goes through the outbox (`bot/delivery/outbox.py`): a guarded update claims the row and
is committed, then Telegram is called, then the outcome is recorded, with the next night planned,
in one commit. Reminders due are claimed CLAIM_ROWS at a time, by one `UPDATE ... RETURNING` (SKIP
LOCKED on PostgreSQL: two processes split the rows), and what their words need is read for the
whole batch; every other row due goes one at a time. The records of reminders that went out side
by side share one transaction (`records`, a group commit: `storage/grouped.py`), and each sender
waits for its own before its next reminder. Whoever loses the claim sends nothing, so no
night is reminded twice, across restarts and across processes; a failure puts the row back, due
again later. A claim left behind by a process that died is sent again: no record says it went
out, so a reminder is never lost, and a kill costs at most IN_FLIGHT duplicates, the sends under
way at once (the rest of its batch was never sent: it goes out once, after the restart).

Its rounds run on the event loop's monotonic clock (`run`), asking the database what is due by wall
time: a step of the wall clock, either way, delays nothing. A full round is followed by the next at
once, until nothing is due; several reminders are under way at once, the next batch claimed
while the last of one are sent, and the pacing
(`bot/delivery/pacing.py`) keeps them in the bulk lane, behind every alert and reply. An alert a
round raises (a third missed night, a patient who blocked the bot) is sent at once, in a task of
its own, not after the round.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.app.clock import Clock
from bot.app.settings import Settings
from bot.care.alerts import Alerts
from bot.care.checkins import Checkins
from bot.care.digest import Digests
from bot.care.escalations import store as store_escalation
from bot.care.privacy import Privacy
from bot.care.reminders import UNANSWERED, Reminders, holds_of, plan_of, zone_of
from bot.delivery import logctx
from bot.delivery.answering import Answering
from bot.delivery.notifier import Notifier, TryLater, Unreachable
from bot.delivery.outbox import REFUSED_FACTOR, Outbox
from bot.rules import nightly
from bot.rules.findings import Finding, Tier
from bot.rules.nightly import Action
from bot.rules.plans import capsule_change_ahead
from bot.rules.states import DoseStatus, HoldKind
from bot.ui import messages
from bot.ui.render import reply as in_words
from bot.ui.views import Lines, Say, Show, Text
from storage.db import Database
from storage.grouped import GroupCommit
from storage.models import Dose, Patient
from storage.repositories import Repository
from storage.repositories.nights import Sent

log = logging.getLogger(__name__)

# How often, on the monotonic clock, every active patient is checked for a night planned next.
SELF_CHECK_SECONDS = 600.0
# At shutdown, the round under way may finish the send it is in; after this it is cut short.
STOP_WITHIN_SECONDS = 3.0
# How often, on the wall clock, records kept past RETENTION_DAYS are looked for and erased.
RETENTION_EVERY = timedelta(hours=1)
# Reminders under way at once: enough to keep the pace while the database answers; each may be
# sent twice if the process is killed in the middle (never lost).
IN_FLIGHT = 8
# Rows a round takes: a round this full is followed by the next one at once.
ROUND_ROWS = 500
# Reminders claimed by one statement: few enough that each goes out well within its claim
# (SENDING_TIMEOUT), even at Telegram's pace; more rows per claim would save little more.
CLAIM_ROWS = 32


@dataclass(frozen=True)
class _Claimed:
    """A reminder claimed in a batch: until when, its status before the claim, and what its
    words need, read for the whole batch (the night, its patient and holds, two earlier nights).
    """

    deadline: datetime
    previous: str
    dose: Dose
    taken: Dose | None  # the patient's last night recorded taken before this one
    before: Dose | None  # the patient's night before this one


class Dispatcher:
    """Send what is due: reminders, the one follow-up, and the missed-night records."""

    def __init__(
        self,
        db: Database,
        reminders: Reminders,
        notifier: Notifier,
        clock: Clock,
        settings: Settings,
        checkins: Checkins | None = None,
        alerts: Alerts | None = None,
    ) -> None:
        self.db = db
        self.checkins = checkins
        self.alerts = alerts
        self.reminders = reminders
        self.notifier = notifier
        self.clock = clock
        self.settings = settings
        self.followup_after = timedelta(minutes=settings.reminder_followup_minutes)
        self.monotonic = time.monotonic
        self._started_at: datetime | None = None  # this process's first round
        self._taken_over = False
        # Whether other processes share the database (webhook mode): then a claim found at
        # start-up may be a live instance's, sending right now, and is left to run out
        # (`SENDING_TIMEOUT`) instead of being sent again at once.
        self.shared = False
        self._checked_at: float | None = None
        self._expired_at: datetime | None = None  # the retention's last look
        self._stopping = asyncio.Event()
        self._rounds: asyncio.Task[None] | None = None
        self.outbox = Outbox(db, clock)
        # The wall time the last round finished, and the pause between rounds (`/healthz`).
        self.last_round_at: datetime | None = None
        self.interval = float(settings.dispatch_interval_seconds)
        # Side by side, the sends overlap and their records share a transaction (`records`),
        # on SQLite too, where writers take turns. Not on an in-memory database: its one
        # connection is every session's, and their transactions would mix.
        self.in_flight = 1 if db.one_connection else IN_FLIGHT
        # Whether the last round left rows due (it was full): the next one starts at once.
        self.backlog = False
        # Reminders claimed in a batch and not yet acted on, by row.
        self._claimed: dict[int, _Claimed] = {}
        # The care team's daily digest (set by the wiring; it sends nothing unless asked for).
        self.digests: Digests | None = None
        # The answers under way (set by the wiring): each reminder makes way for them first.
        self.answering: Answering | None = None
        # Reminders out, recorded with their next nights: those that went out side by side,
        # in one transaction. Each sender waits for its own record before it takes the next
        # row, so a kill still leaves at most `in_flight` sent and not recorded.
        self.records: GroupCommit[tuple[Sent, int]] = GroupCommit(
            db, self._record_together, self._record_alone
        )

    # Rounds

    def start(self, interval: float) -> None:
        """Run a round now and then every `interval` seconds, until `stop`."""
        self._stopping.clear()
        self.interval = interval
        self._rounds = asyncio.get_running_loop().create_task(self.run(interval))

    async def stop(self) -> None:
        """End the rounds: the send under way finishes, what was not sent stays due."""
        self._stopping.set()
        rounds, self._rounds = self._rounds, None
        if rounds is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(rounds), STOP_WITHIN_SECONDS)
        except TimeoutError:
            rounds.cancel()
            await asyncio.gather(rounds, return_exceptions=True)
            log.warning("Stopped the dispatcher mid-round: the rest stays due")
        try:
            # Sends that went out are recorded before the database closes.
            await asyncio.wait_for(self.records.wait(), STOP_WITHIN_SECONDS)
        except TimeoutError:
            log.warning("Stopped before the last reminders out were recorded: sent again later")

    async def run(self, interval: float) -> None:
        """Dispatch every `interval` seconds of the event loop's monotonic time.

        `asyncio.sleep` counts monotonic time: a wall clock set back an hour would stop a
        scheduler that waits for a wall-clock moment for that hour; this waits the interval.
        """
        failing = False
        while not self._stopping.is_set():
            try:
                await self.dispatch()
                failing = False
                if self.backlog:
                    await asyncio.sleep(0)  # the next round at once: more is due
                    continue
            except Exception:
                # One failing round (the database away, say) is logged; the next one tries again.
                if failing:
                    log.error("A dispatcher round failed again")
                else:
                    log.exception("A dispatcher round failed; trying again in %s s", interval)
                failing = True
            try:
                await asyncio.wait_for(self._stopping.wait(), interval)
            except TimeoutError:
                pass

    async def dispatch(self, limit: int = ROUND_ROWS) -> int:
        """Act on what is due now, up to `limit` nights: alerts first, then nights, then check-ins.

        Sets `backlog` when a full round of nights went through without a failure: more wait.
        """
        started = time.perf_counter()
        if not self._taken_over:
            self._started_at = self._started_at or self.clock.now()
            await self._take_over_claims(self._started_at)
            self._taken_over = True
        if self._checked_at is None or self.monotonic() - self._checked_at >= SELF_CHECK_SECONDS:
            self._checked_at = self.monotonic()
            await self.self_check()
        looked_at = await self.alerts.dispatch() if self.alerts is not None else 0
        # First reminders and snoozed ones, claimed a batch at a time; then every other row due
        # (follow-ups, missed nights, sends cut short), one at a time.
        nights, failures = await self._remind_in_batches(limit)
        if nights < limit and not self._stopping.is_set():
            # Shutting down stops the round between rows: the rest stays due.
            more, failed = await self.outbox.drain_in_flight(
                lambda repo, now, n: repo.nights.due_with_patients(now, n),
                self.act_on,
                limit - nights,
                failed="Could not act on dose %s",
                in_flight=self.in_flight,
                stopping=self._stopping.is_set,
            )
            nights, failures = nights + more, failures + failed
        # Rows that fail stay due: a round of them waits the interval, never spins.
        self.backlog = nights >= limit and not failures
        looked_at += nights
        if self.checkins is not None:
            looked_at += await self.checkins.dispatch()
        if self.digests is not None:
            looked_at += await self.digests.dispatch()
        if self.alerts is not None:
            # Escalations raised by this round (three missed nights, a block) go out now.
            looked_at += await self.alerts.dispatch()
        await self.expire_records()
        # Only a round that finished counts: /healthz says so when none has for a while.
        self.last_round_at = self.clock.now()
        if self.outbox.metrics is not None:
            self.outbox.metrics.round_done(time.perf_counter() - started)
        return looked_at

    async def _remind_in_batches(self, limit: int) -> tuple[int, int]:
        """Claim due reminders CLAIM_ROWS at a time and send them; return how many and failures.

        Each batch is claimed in one statement and committed before anything is sent, as a
        one-row claim is. With several reminders in flight, the next batch is claimed while the
        last rows of this one are under way, so the pace never waits for a claim; one at a time
        (an in-memory database), it is claimed once the last one is done. One patient's rows go
        one after another. Rows claimed and not started when a stop comes are put back, due now.
        """
        waiting: deque[tuple[int, int]] = deque()  # claimed and read, not started: (dose, patient)
        claimed: list[int] = []  # every row claimed by this call
        later: dict[int, deque[int]] = {}  # rows of a patient whose earlier row is under way
        taken = failures = running = 0
        more = True  # another batch may be due
        changed = asyncio.Event()  # a row was taken or finished, a batch came, or none will

        def hungry() -> bool:
            if self.in_flight > 1:
                return len(waiting) < self.in_flight
            return not waiting and not running

        async def feed() -> None:
            nonlocal taken, more
            try:
                while more and not self._stopping.is_set():
                    if not hungry():
                        changed.clear()
                        await changed.wait()
                        continue
                    size = min(CLAIM_ROWS, limit - taken)
                    await self._make_way()
                    batch = await self._claim_batch(size)
                    taken += len(batch)
                    claimed.extend(dose_id for dose_id, _ in batch)
                    waiting.extend(batch)
                    more = len(batch) == size and taken < limit
                    changed.set()
            finally:
                more = False
                changed.set()

        async def work() -> None:
            nonlocal failures, running
            while not self._stopping.is_set():
                if not waiting:
                    if not more:
                        return
                    changed.clear()
                    await changed.wait()
                    continue
                dose_id, patient_id = waiting.popleft()
                if patient_id in later:
                    later[patient_id].append(dose_id)  # after the one under way
                    continue
                later[patient_id] = deque([dose_id])
                running += 1
                changed.set()
                try:
                    while later[patient_id] and not self._stopping.is_set():
                        row = later[patient_id].popleft()
                        try:
                            await self._make_way()
                            await self.act_on(row)
                        except Exception:
                            failures += 1
                            log.exception("Could not act on dose %s", row)
                finally:
                    del later[patient_id]
                    running -= 1
                    changed.set()

        try:
            feeding = asyncio.ensure_future(feed())
            results = await asyncio.gather(
                feeding, *(work() for _ in range(self.in_flight)), return_exceptions=True
            )
        finally:
            left: dict[datetime, list[int]] = {}  # by deadline: a release names its claim's
            for dose_id in claimed:
                if (unsent := self._claimed.pop(dose_id, None)) is not None:
                    left.setdefault(unsent.deadline, []).append(dose_id)
            for deadline, ids in left.items():
                await self._release(ids, deadline)
        for result in results:
            if isinstance(result, BaseException):
                raise result  # the database failed under a claim: the round fails
        return taken, failures

    async def _make_way(self) -> None:
        """Let the answers under way go first: a patient never waits behind a reminder round."""
        if self.answering is not None:
            await self.answering.make_way()

    async def _claim_batch(self, size: int) -> list[tuple[int, int]]:
        """Claim up to `size` reminders due and read what their words need: (dose, patient) each.

        If the reading fails, nothing was sent: the batch is due again at once, not when its
        claim runs out.
        """
        now = self.clock.now()
        deadline = now + nightly.SENDING_TIMEOUT
        async with self.db.session() as session:
            repo = Repository(session)
            rows = await repo.nights.claim_reminders(now, deadline, size)
            await repo.commit()
        try:
            await self._read_for(rows, deadline)
        except Exception:
            await self._release([dose_id for dose_id, _, _ in rows], deadline)
            raise
        return [(dose_id, patient_id) for dose_id, patient_id, _ in rows]

    async def _read_for(self, rows: list[tuple[int, int, str]], deadline: datetime) -> None:
        """Read what a batch of claimed reminders needs, in a few statements for them all."""
        ids = [dose_id for dose_id, _, _ in rows]
        async with self.db.session() as session:
            nights = Repository(session).nights
            doses = {dose.id: dose for dose in await nights.many(ids)}
            taken = await nights.latest_before_each(ids, (DoseStatus.TAKEN,))
            before = await nights.latest_before_each(ids)
        for dose_id, _, previous in rows:
            if dose_id in doses:
                self._claimed[dose_id] = _Claimed(
                    deadline, previous, doses[dose_id], taken.get(dose_id), before.get(dose_id)
                )

    async def _release(self, ids: list[int], deadline: datetime) -> None:
        """Put back reminders claimed and never sent (a stop came first): due now."""
        async with self.db.session() as session:
            repo = Repository(session)
            await repo.nights.release_claims(ids, deadline, self.clock.now())
            await repo.commit()

    async def expire_records(self) -> int:
        """Erase, at most once an hour, what RETENTION_DAYS keeps no longer; how many patients.

        On the wall clock, so that a virtual clock moves it too; a clock set back looks again.
        """
        days, now, last = self.settings.retention_days, self.clock.now(), self._expired_at
        if not days or (last is not None and timedelta(0) <= now - last < RETENTION_EVERY):
            return 0
        self._expired_at = now
        try:
            return await Privacy(self.db, self.notifier, self.clock, self.settings).expire(days)
        except Exception:
            log.exception("Could not erase the records past RETENTION_DAYS; trying in an hour")
            return 0

    async def _take_over_claims(self, started_at: datetime) -> None:
        """At start-up, make sends claimed before this process began due now, to be sent again.

        They belonged to a process that died (or was killed) before it could record the send.
        Not when other instances share the database (`shared`): a claim may be one of theirs,
        and one whose process died is taken over once it runs out. Alerts parked for want of a
        recipient come back too: the recipients come from the settings, which may have changed
        since.
        """
        taken = 0
        if not self.shared:
            async with self.db.session() as session:
                repo = Repository(session)
                taken = await repo.nights.claims_before(
                    started_at + nightly.SENDING_TIMEOUT, started_at
                )
                await repo.commit()
        if taken:
            log.warning("%s reminder(s) cut short by a stop are sent again", taken)
        if self.alerts is not None:
            await self.alerts.wake("start-up")

    async def self_check(self) -> int:
        """Plan the next night of every patient who should be reminded and has none planned.

        Nothing should leave a patient so, since a night's end and the next night's plan are
        one commit; this is the net under that rule. Return how many were planned.
        """
        async with self.db.session() as session:
            missing = await Repository(session).nights.patients_without_next_night()
        planned = 0
        for patient_id in missing:
            try:
                async with self.db.session() as session:
                    repo = Repository(session)
                    patient = await repo.patients.get(patient_id)
                    if patient is None or patient.plan is None or not patient.receives_reminders:
                        continue
                    if await self.reminders.plan_next_night(repo, patient, backfill=True) is None:
                        continue
                    await repo.commit()
            except Exception:
                log.exception("Could not plan the next night of patient %s", patient_id)
                continue
            planned += 1
            log.warning("Patient %s had no night planned: planned the next one", patient_id)
        return planned

    @logctx.scoped
    async def act_on(self, dose_id: int) -> None:
        """Move one due row on: remind, follow up, recover a dead send, or record it missed."""
        logctx.note(dose_id=dose_id)
        claimed = self._claimed.pop(dose_id, None)
        if claimed is not None and await self._remind_claimed(claimed):
            return
        # Not claimed in a batch, or put back: one row at a time, as always.
        async with self.db.session() as session:
            repo = Repository(session)
            dose = await repo.nights.get(dose_id)
            logctx.note(patient_id=dose.patient_id if dose is not None else None)
            now = self.clock.now()
            if dose is None or dose.next_action_at is None or dose.next_action_at > now:
                return
            followup_sent = dose.followup_sent_at is not None
            action = nightly.due_action(dose.status, now, dose.cutoff_at, followup_sent)
            if action is Action.RECOVER:
                if not await self._reclaim(repo, dose, now):
                    return
                action = nightly.due_action(dose.status, now, dose.cutoff_at, followup_sent)
            if action is Action.MISS:
                buttoned = nightly.buttoned(
                    dose.status, dose.reminder_message_id, dose.followup_message_id
                )
                if await repo.claim(
                    Dose,
                    dose.id,
                    {"status": dose.status},
                    status=DoseStatus.MISSED,
                    next_action_at=None,
                ):
                    # The night, what it means (a night off the step, a third in a row) and the
                    # next night planned on it are committed together.
                    await self.reminders.night_off(repo, dose.patient, dose.night)
                    await repo.forget_unsent(dose.patient_id)
                    await self.reminders.plan_next_night(repo, dose.patient, backfill=True)
                    await repo.commit()
                    self._alert_now(dose.patient_id)  # a third night in a row, say
                    await self._close_missed(dose.patient.chat_id, dose.id, buttoned)
            elif action is Action.REMIND:
                taken = await self._last_taken(repo, dose)
                if dose.status == DoseStatus.SCHEDULED and await self._too_soon(
                    repo, dose, now, taken
                ):
                    return
                await self._remind(repo, dose, now, taken)
            elif action is Action.FOLLOW_UP:
                await self._follow_up(repo, dose, now)

    async def _reclaim(self, repo: Repository, dose: Dose, now: datetime) -> bool:
        """Put a send left unfinished back as it was before its claim, to be sent again now.

        Nothing recorded that Telegram got it (a send that may have been delivered is recorded
        as sent at once), so it goes out again: never lost, at most once more.
        """
        assert dose.next_action_at is not None
        # Only a reminder sent again after a snooze has a first sending time.
        before = DoseStatus.SNOOZED if dose.sent_at is not None else DoseStatus.SCHEDULED
        unfinished = {"status": DoseStatus.SENDING, "next_action_at": dose.next_action_at}
        if not await repo.claim(Dose, dose.id, unfinished, status=before, next_action_at=now):
            await repo.rollback()
            return False
        await repo.commit()
        await repo.refresh(dose)
        log.info("Dose %s: a send cut short goes out again", dose.id)
        return True

    async def _close_missed(self, chat_id: int, dose_id: int, buttoned: tuple[int, ...]) -> None:
        """Take Taken, Snooze and Skip off a night recorded missed: no dose now, and never two.

        Its newest message keeps one button, "I did take it", for a patient who took it and did
        not say: a report of that night, never an invitation to take it now.
        """
        try:
            for message_id in buttoned[:-1]:
                await self.notifier.clear_buttons(chat_id, message_id, bulk=True)
            if buttoned:
                await self.notifier.set_buttons(
                    chat_id, buttoned[-1], messages.took_it_buttons(dose_id), bulk=True
                )
        except Exception:
            # The night is recorded; old buttons left behind only record what the patient says.
            log.exception("Could not take the buttons off missed dose %s", dose_id)

    async def _remind_claimed(self, claimed: _Claimed) -> bool:
        """Send a reminder claimed in a batch; False: left for the one-row way.

        The rare turns (the patient paused or blocked since, a dose recorded too close) are
        put back, due now, and taken one row at a time, where their rules live. A claim with
        less than half its time left when its turn comes is renewed first, as a one-row claim:
        a send never starts on a claim about to run out.
        """
        dose, previous, now = claimed.dose, claimed.previous, self.clock.now()
        logctx.note(patient_id=dose.patient_id)
        first = previous == DoseStatus.SCHEDULED
        mine = {"status": DoseStatus.SENDING, "next_action_at": claimed.deadline}
        async with self.db.session() as session:
            repo = Repository(session)
            if now >= claimed.deadline - nightly.SENDING_TIMEOUT / 2:
                renewed = now + nightly.SENDING_TIMEOUT
                if not await repo.claim(Dose, dose.id, mine, next_action_at=renewed):
                    await repo.rollback()
                    return True  # taken over meanwhile: not ours to send
                await repo.commit()
                mine = {"status": DoseStatus.SENDING, "next_action_at": renewed}
            if dose.patient.receives_reminders and not (
                first and self._too_close(dose, claimed.taken, now)
            ):
                reply = await self._reminder_reply(
                    repo, dose, dose.patient, now, claimed.taken, claimed.before, first
                )
                letter = _Reminder(self, dose, reply, previous, now, claimed=True)
                await self.outbox.send(repo, letter)
                if letter.raised:
                    self._alert_now(dose.patient_id)
                return True
            if await repo.claim(Dose, dose.id, mine, status=previous, next_action_at=now):
                await repo.commit()
            return False

    async def _last_taken(self, repo: Repository, dose: Dose) -> Dose | None:
        """The patient's last night recorded taken before this one."""
        return await repo.nights.latest(
            dose.patient_id, before=dose.night, statuses=(DoseStatus.TAKEN,)
        )

    def _too_close(self, dose: Dose, taken: Dose | None, now: datetime) -> bool:
        """Whether the dose last taken is too close for this night's reminder now."""
        if taken is None or not dose.patient.receives_reminders:
            return False
        moment = nightly.last_dose_at(
            taken.status, taken.remind_at, taken.sent_at, taken.answered_at, taken.cutoff_at, now
        )
        return nightly.too_soon(now, moment)

    async def _too_soon(
        self, repo: Repository, dose: Dose, now: datetime, taken: Dose | None
    ) -> bool:
        """Put off a reminder that a dose recorded since it was planned brings too close."""
        if not self._too_close(dose, taken, now):
            return False
        # Planned again, it goes to the first night far enough from that dose.
        await self.reminders.replan(repo, dose.patient)
        await repo.commit()
        return True

    async def _remind(
        self, repo: Repository, dose: Dose, now: datetime, taken: Dose | None
    ) -> None:
        patient, previous = dose.patient, dose.status
        if not patient.receives_reminders:
            # Paused or blocked since: a snoozed night is still recorded missed at its cutoff.
            later = dose.cutoff_at if previous == DoseStatus.SNOOZED else None
            await repo.claim(Dose, dose.id, {"status": previous}, next_action_at=later)
            await repo.commit()
            return
        first = previous == DoseStatus.SCHEDULED
        before = await repo.nights.latest(patient.id, before=dose.night)
        reply = await self._reminder_reply(repo, dose, patient, now, taken, before, first)
        letter = _Reminder(self, dose, reply, previous, now)
        await self.outbox.send(repo, letter)
        if letter.raised:
            self._alert_now(patient.id)

    async def _record_together(self, repo: Repository, sent: list[tuple[Sent, int]]) -> None:
        """Record reminders out and plan each one's following night, for one commit.

        A crash before that commit leaves the claims, sent again after a restart; never a night
        recorded sent with none planned after it. A row no longer "sending" (taken over) is not
        recorded, and its patient's next night is not planned here.
        """
        recorded = await repo.nights.record_sent([row for row, _ in sent])
        if recorded:
            await self.reminders.plan_after_reminders(
                repo, [patient_id for row, patient_id in sent if row.dose_id in recorded]
            )

    async def _record_alone(self, repo: Repository, sent: tuple[Sent, int]) -> None:
        """Record one reminder out and plan the following night, for one commit (the caller's):
        how a row is recorded when recording it with others failed.

        Should planning fail, what it wrote is rolled back and the send recorded alone (never
        sent twice for a bug), and the self-check plans the night. The transaction holds
        nothing else (the claim was committed before the send), so no savepoint is needed.
        """
        row, patient_id = sent
        if not await repo.nights.record_sent([row]):
            await repo.rollback()
            return
        try:
            # On fresh data: a provider may have held or paused the patient meanwhile.
            await self.reminders.plan_after_reminder(repo, patient_id)
        except Exception:
            log.exception("Could not plan the night after dose %s", row.dose_id)
            await repo.rollback()
            if not await repo.nights.record_sent([row]):
                await repo.rollback()

    async def _follow_up(self, repo: Repository, dose: Dose, now: datetime) -> None:
        patient = dose.patient
        if not patient.receives_reminders:
            # Paused or stopped since the reminder: no nudge; the cutoff still records the night.
            await repo.claim(
                Dose, dose.id, {"status": DoseStatus.SENT}, next_action_at=dose.cutoff_at
            )
            await repo.commit()
            return
        letter = _FollowUp(self, dose, now)
        await self.outbox.send(repo, letter)
        if letter.raised:
            self._alert_now(patient.id)

    def _alert_now(self, patient_id: int) -> None:
        """Send what the round just stored for the care team at once, in a task of its own."""
        if self.alerts is not None:
            self.alerts.deliver_new_soon(patient_id)

    async def _unreachable(self, repo: Repository, patient: Patient) -> None:
        """The patient blocked the bot: stop, keep their data, tell the care team."""
        patient.blocked_bot = True
        await repo.forget_unsent(patient.id)
        await store_escalation(
            repo, patient, Finding(Tier.ROUTINE, "blocked_bot"), self.clock.now()
        )

    async def _put_back(
        self,
        repo: Repository,
        dose: Dose,
        expected: str,
        exc: Exception,
        due: datetime,
        **values: object,
    ) -> None:
        """Make the row due again at `due`: a flood limit or a network error loses nothing."""
        if isinstance(exc, TryLater):
            log.info("Sending dose %s must wait: %s", dose.id, exc)
        else:
            # Telegram's description names what was wrong with our request, never patient words.
            log.error("Sending to a patient failed: %s %s", type(exc).__name__, exc)
        await repo.claim(
            Dose,
            dose.id,
            {"status": expected},
            attempts=dose.attempts + 1,
            next_action_at=due,
            **values,
        )

    async def _reminder_reply(
        self,
        repo: Repository,
        dose: Dose,
        patient: Patient,
        now: datetime,
        taken: Dose | None,
        previous: Dose | None,
        first: bool,
    ) -> Show:
        """Tonight's reminder: the dose, and what the patient should know about tonight.

        `taken` is the patient's last night recorded taken before this one, `previous` the night
        before this one; `first`, whether this is the night's first reminder (not one after a
        snooze).
        """
        plan, holds = plan_of(patient), holds_of(patient)
        assert patient.start_date is not None
        words = messages.dose_words(dose.dose_mg, dose.capsules, dose.capsule_mg)
        lines: list[Text] = []
        if taken is not None and taken.capsule_mg != dose.capsule_mg:
            # New capsules, a new count: six of the new ones out of habit would be far too much,
            # so this comes before anything else, count first.
            lines.append(
                Say(
                    "reminder_capsule_switch",
                    {
                        "capsule": messages.mg(dose.capsule_mg),
                        "count": dose.capsules,
                        "old_count": taken.capsules,
                    },
                )
            )
        # Only a first reminder can be late: one the patient snoozed comes when they asked for it.
        if first and nightly.is_late(dose.remind_at, now):
            due = messages.clock(dose.remind_at.astimezone(zone_of(patient)).time())
            lines.append(Say("reminder_late", {"due": due, "dose": words}))
        else:
            # Moved to the morning by a provider, and a morning time chosen: greet the morning.
            morning = patient.morning_dose and dose.remind_at.astimezone(zone_of(patient)).hour < 12
            lines.append(Say("reminder_morning" if morning else "reminder", {"dose": words}))
        if dose.step_up:
            lines.append(Say("reminder_step_up", {"step": dose.step, "steps": len(plan.steps)}))
        if self.reminders.held_on(patient, dose.night):
            # Held tonight: say who held it. Only a provider's decision is said as theirs.
            covering = [
                h
                for h in patient.dose_holds
                if h.start <= dose.night and (h.end is None or dose.night < h.end)
            ]
            check = await repo.reports.tolerance(patient.id, dose.step + 1)
            starts = any(h.start == dose.night for h in covering)
            unanswered = check is not None and check.status == UNANSWERED and starts
            if any(h.kind == HoldKind.PROVIDER for h in covering):
                lines.append(Say("reminder_held_provider"))
            else:
                held = "tolerance_held" if unanswered else "reminder_held"
                lines.append(Say(held, clinic=True))  # or its `_no_team` variant
        yesterday = dose.night - timedelta(days=1)
        if (
            previous is not None
            and previous.status == DoseStatus.MISSED
            and previous.night == yesterday
        ):
            lines.append(Say("reminder_missed_before"))
        notice = self.settings.capsule_notice_days
        change = capsule_change_ahead(plan, patient.start_date, dose.night, holds, notice)
        if change is not None and change.start is not None:
            days = (change.start - dose.night).days
            capsule = messages.mg(change.step.capsule_mg)
            when = messages.nights_ahead(days)
            lines.append(Say("reminder_capsule_change", {"when": when, "capsule": capsule}))
        return Show(Lines(tuple(lines), "\n\n"), messages.dose_buttons(dose.id))


@dataclass
class _Reminder:
    """Tonight's reminder, as the outbox sends it: claimed "sending", recorded "sent"."""

    dispatcher: Dispatcher
    dose: Dose
    reply: Show
    previous: str  # "scheduled", or "snoozed" for one sent again after a snooze
    now: datetime
    kind = "reminder"
    maybe_sent_is_sent = True  # never twice; the follow-up backs it up
    refused_factor = REFUSED_FACTOR
    raised: bool = False  # an alert was stored: the patient blocked the bot
    claimed: bool = False  # already claimed, in a batch (`Nights.claim_reminders`), committed

    @property
    def key(self) -> str:
        return f"dose {self.dose.id}"

    @property
    def attempts(self) -> int:
        return self.dose.attempts

    async def claim(self, repo: Repository) -> bool:
        if self.claimed:
            return True
        deadline = self.now + nightly.SENDING_TIMEOUT
        status = {"status": self.previous}
        return await repo.claim(
            Dose, self.dose.id, status, status=DoseStatus.SENDING, next_action_at=deadline
        )

    async def send(self) -> int | None:
        chat_id = self.dose.patient.chat_id
        reply = in_words(self.reply, self.dispatcher.settings)
        return await self.dispatcher.notifier.send(chat_id, reply, self.dose.attempts, bulk=True)

    async def sent(self, repo: Repository, message_id: int | None) -> None:
        """Recorded with the reminders that went out meanwhile (`Dispatcher.records`), not
        through `repo`: this returns once the record is committed."""
        dose, now, dispatcher = self.dose, self.now, self.dispatcher
        row = Sent(
            dose.id,
            sent_at=dose.sent_at or now,
            next_action_at=nightly.next_check(
                now, dose.followup_sent_at is not None, dose.cutoff_at, dispatcher.followup_after
            ),
            message_id=message_id,
            late=self.previous == DoseStatus.SCHEDULED and nightly.is_late(dose.remind_at, now),
        )
        await dispatcher.records.write((row, dose.patient_id))

    async def retry(self, repo: Repository, exc: Exception, delay: float) -> None:
        due = self.now + timedelta(seconds=delay)
        await self.dispatcher._put_back(
            repo, self.dose, DoseStatus.SENDING, exc, due, status=self.previous
        )

    async def unreachable(self, repo: Repository, exc: Unreachable) -> None:
        dose = self.dose
        back = {"status": self.previous, "next_action_at": dose.cutoff_at}
        await repo.claim(Dose, dose.id, {"status": DoseStatus.SENDING}, **back)
        # Read here: a night claimed in a batch was read in a session of its own.
        await self.dispatcher._unreachable(repo, await repo.patients.fresh(dose.patient_id))
        self.raised = True


@dataclass
class _FollowUp:
    """The night's one follow-up, as the outbox sends it: claimed by its `followup_sent_at`."""

    dispatcher: Dispatcher
    dose: Dose
    now: datetime
    kind = "follow_up"
    maybe_sent_is_sent = True  # the night gets one follow-up, never two
    refused_factor = REFUSED_FACTOR
    raised: bool = False  # an alert was stored: the patient blocked the bot

    @property
    def key(self) -> str:
        return f"follow-up {self.dose.id}"

    @property
    def attempts(self) -> int:
        return self.dose.attempts

    async def claim(self, repo: Repository) -> bool:
        dose, unsent = self.dose, {"status": DoseStatus.SENT, "followup_sent_at": None}
        if not await repo.claim(Dose, dose.id, unsent, followup_sent_at=self.now):
            return False
        await repo.claim(Dose, dose.id, {"status": DoseStatus.SENT}, next_action_at=dose.cutoff_at)
        return True

    async def send(self) -> int | None:
        dose = self.dose
        words = messages.dose_words(dose.dose_mg, dose.capsules, dose.capsule_mg)
        said = Show(Say("followup", {"dose": words}), messages.dose_buttons(dose.id))
        reply = in_words(said, self.dispatcher.settings)
        chat_id = dose.patient.chat_id
        return await self.dispatcher.notifier.send(chat_id, reply, dose.attempts, bulk=True)

    async def sent(self, repo: Repository, message_id: int | None) -> None:
        if message_id is not None:
            sent = {"followup_message_id": message_id, "attempts": 0}
            await repo.claim(Dose, self.dose.id, {"status": DoseStatus.SENT}, **sent)

    async def retry(self, repo: Repository, exc: Exception, delay: float) -> None:
        # Past the cutoff there is nothing to follow up: the claim left the night due then.
        due = self.now + timedelta(seconds=delay)
        if due < self.dose.cutoff_at:
            await self.dispatcher._put_back(
                repo, self.dose, DoseStatus.SENT, exc, due, followup_sent_at=None
            )

    async def unreachable(self, repo: Repository, exc: Unreachable) -> None:
        await self.dispatcher._unreachable(repo, self.dose.patient)
        self.raised = True
