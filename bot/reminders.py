"""The nightly reminder use cases: plan the nights, send what is due, record the answers.

The database is the truth. Each patient has one row per local night; one dispatcher job asks the
database what is due and moves each row on with a guarded update, so no night is reminded twice,
across restarts and across processes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot import messages, nightly
from bot.clock import Clock
from bot.nightly import Action, Answer, Verdict
from bot.notifier import Notifier, TryLater, Unreachable, backoff
from bot.plans import Hold, Plan, capsule_change_ahead, tonight
from bot.settings import Settings
from bot.texts import t
from bot.timing import night_cutoff, reminder_at, upcoming_night
from bot.views import Reply
from storage.db import Database
from storage.models import Dose, Patient
from storage.repositories import Repository

log = logging.getLogger(__name__)

# At most this many nights are recorded missed after an outage: a longer gap is the provider's call.
MAX_BACKFILL_NIGHTS = 62


def plan_of(patient: Patient) -> Plan:
    assert patient.plan is not None
    return Plan.from_dict(patient.plan)


def holds_of(patient: Patient) -> list[Hold]:
    return [Hold(start=h.start, end=h.end) for h in patient.holds]


def zone_of(patient: Patient) -> ZoneInfo:
    assert patient.timezone is not None
    return ZoneInfo(patient.timezone)


@dataclass(frozen=True)
class AnswerResult:
    """What became of a press on a reminder button, for the handler to show."""

    verdict: Verdict | None  # None: not this patient's night, or no such night
    status: str | None = None
    snoozed_until: datetime | None = None
    chat_id: int | None = None
    other_message_ids: tuple[int, ...] = ()
    timezone: str | None = None


class Reminders:
    """Plan each patient's nights, send what is due, and record what they answer."""

    def __init__(self, db: Database, notifier: Notifier, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.notifier = notifier
        self.clock = clock
        self.settings = settings
        self.followup_after = timedelta(minutes=settings.reminder_followup_minutes)

    # Planning nights

    async def plan_next_night(self, repo: Repository, patient: Patient, *, backfill: bool) -> None:
        """Make sure the patient's next night has its row; record skipped-over nights as missed.

        `backfill` is for the dispatcher after downtime: nights that passed with no row are recorded
        missed. After a pause or a block there is no backfill: those nights were not ours to remind.
        """
        if not patient.receives_reminders or await repo.unsent_doses(patient.id):
            return
        assert patient.bedtime is not None and patient.start_date is not None
        now = self.clock.now()
        zone = zone_of(patient)
        night = max(
            upcoming_night(now, patient.bedtime, zone, self.settings.reminder_cutoff_hours),
            patient.start_date,
        )
        latest = await repo.latest_dose(patient.id)
        if latest is not None and latest.night >= night:
            night = latest.night + timedelta(days=1)
        elif latest is not None and backfill:
            first_gap = max(
                latest.night + timedelta(days=1), night - timedelta(days=MAX_BACKFILL_NIGHTS)
            )
            for offset in range((night - first_gap).days):
                gap_night = first_gap + timedelta(days=offset)
                await repo.add_dose(self._new_dose(patient, gap_night, status="missed"))
        dose = self._new_dose(patient, night, status="scheduled")
        if not backfill and dose.remind_at < now:
            # Enrolled, resumed or moved the bedtime after tonight's bedtime but before its cutoff:
            # remind now, as a fresh reminder rather than a late one.
            dose.remind_at = dose.next_action_at = now
        await repo.add_dose(dose)

    async def replan(self, repo: Repository, patient: Patient) -> None:
        """Recompute the upcoming night after a change of bedtime, zone or pause."""
        await repo.forget_unsent(patient.id)
        await self.plan_next_night(repo, patient, backfill=False)

    def _new_dose(self, patient: Patient, night: date, status: str) -> Dose:
        assert patient.bedtime is not None and patient.start_date is not None
        info = tonight(plan_of(patient), patient.start_date, night, holds_of(patient))
        assert info is not None, "nights are never planned before the start date"
        zone = zone_of(patient)
        remind = reminder_at(night, patient.bedtime, zone)
        return Dose(
            patient_id=patient.id,
            night=night,
            step=info.step.number,
            dose_mg=info.step.dose_mg,
            capsule_mg=info.step.capsule_mg,
            capsules=info.step.capsules,
            step_up=info.is_step_up,
            status=status,
            remind_at=remind,
            cutoff_at=night_cutoff(
                night, patient.bedtime, zone, self.settings.reminder_cutoff_hours
            ),
            next_action_at=remind if status == "scheduled" else None,
            sent_late=False,
            snoozes=0,
            attempts=0,
        )

    async def set_reachable(self, telegram_user_id: int, reachable: bool) -> None:
        """Stop at once for a patient who blocks the bot; plan the next night when they unblock."""
        async with self.db.session() as session:
            repo = Repository(session)
            patient = await repo.patient_by_user(telegram_user_id)
            if patient is None or patient.blocked_bot != reachable:
                return
            patient.blocked_bot = not reachable
            await self.replan(repo, patient)
            await repo.commit()

    # Dispatching

    async def dispatch(self, limit: int = 500) -> int:
        """Act on every row that is due now; return how many were looked at."""
        async with self.db.session() as session:
            due = await Repository(session).due_dose_ids(self.clock.now(), limit)
        for dose_id in due:
            try:
                await self.act_on(dose_id)
            except Exception:
                # One bad row must not stop the others; it stays due and is tried next round.
                log.exception("Could not act on dose %s", dose_id)
        return len(due)

    async def act_on(self, dose_id: int) -> None:
        """Move one due row on: remind, follow up, recover a dead send, or record it missed."""
        async with self.db.session() as session:
            repo = Repository(session)
            dose = await repo.dose(dose_id)
            now = self.clock.now()
            if dose is None or dose.next_action_at is None or dose.next_action_at > now:
                return
            action = nightly.due_action(
                dose.status, now, dose.cutoff_at, dose.followup_sent_at is not None
            )
            if action is Action.MISS:
                if await repo.claim(dose.id, dose.status, status="missed", next_action_at=None):
                    await self.plan_next_night(repo, dose.patient, backfill=True)
                await repo.commit()
            elif action is Action.RECOVER:
                sent_at = dose.sent_at or dose.remind_at
                followup_sent = dose.followup_sent_at is not None
                check = nightly.next_check(
                    sent_at, followup_sent, dose.cutoff_at, self.followup_after
                )
                if await repo.claim(
                    dose.id, "sending", status="sent", sent_at=sent_at, next_action_at=check
                ):
                    await self.plan_next_night(repo, dose.patient, backfill=True)
                await repo.commit()
            elif action is Action.REMIND:
                await self._remind(repo, dose, now)
            elif action is Action.FOLLOW_UP:
                await self._follow_up(repo, dose, now)

    async def _remind(self, repo: Repository, dose: Dose, now: datetime) -> None:
        patient = dose.patient
        previous_status = dose.status
        if not patient.receives_reminders:
            # Paused or blocked since: a snoozed night is still recorded missed at its cutoff.
            later = dose.cutoff_at if previous_status == "snoozed" else None
            await repo.claim(dose.id, previous_status, next_action_at=later)
            await repo.commit()
            return
        reply = await self._reminder_reply(repo, dose, patient, now)
        claimed = await repo.claim(
            dose.id, previous_status, status="sending", next_action_at=now + nightly.SENDING_TIMEOUT
        )
        await repo.commit()
        if not claimed:
            return
        try:
            message_id = await self.notifier.send(patient.chat_id, reply, dose.attempts)
        except Unreachable:
            await self._unreachable(repo, dose, previous_status)
            return
        except Exception as exc:
            await self._retry(repo, dose, previous_status, exc, now)
            return
        sent_at = dose.sent_at or now
        await repo.claim(
            dose.id,
            "sending",
            status="sent",
            sent_at=sent_at,
            sent_late=dose.sent_late
            or (previous_status == "scheduled" and nightly.is_late(dose.remind_at, now)),
            reminder_message_id=message_id,
            attempts=0,
            next_action_at=nightly.next_check(
                now, dose.followup_sent_at is not None, dose.cutoff_at, self.followup_after
            ),
        )
        if previous_status == "scheduled":
            await self.plan_next_night(repo, patient, backfill=True)
        await repo.commit()

    async def _follow_up(self, repo: Repository, dose: Dose, now: datetime) -> None:
        patient = dose.patient
        if not patient.receives_reminders:
            # Paused or stopped since the reminder: no nudge; the cutoff still records the night.
            await repo.claim(dose.id, "sent", next_action_at=dose.cutoff_at)
            await repo.commit()
            return
        if not await repo.claim_followup(dose.id, now):
            await repo.rollback()
            return
        await repo.claim(dose.id, "sent", next_action_at=dose.cutoff_at)
        await repo.commit()
        words = messages.dose_words(dose.dose_mg, dose.capsules, dose.capsule_mg)
        reply = Reply(t("followup", dose=words), messages.dose_buttons(dose.id))
        try:
            message_id = await self.notifier.send(patient.chat_id, reply, dose.attempts)
        except Unreachable:
            patient.blocked_bot = True
            await repo.forget_unsent(patient.id)
            await repo.commit()
            return
        except Exception as exc:
            retry_at = now + timedelta(seconds=_delay(exc, dose.attempts))
            if retry_at < dose.cutoff_at:
                await repo.claim(
                    dose.id,
                    "sent",
                    followup_sent_at=None,
                    attempts=dose.attempts + 1,
                    next_action_at=retry_at,
                )
                await repo.commit()
            return
        await repo.claim(dose.id, "sent", followup_message_id=message_id, attempts=0)
        await repo.commit()

    async def _unreachable(self, repo: Repository, dose: Dose, previous_status: str) -> None:
        """The patient blocked the bot: stop, keep their data, wait for them to come back."""
        dose.patient.blocked_bot = True
        if previous_status == "scheduled":
            await repo.claim(dose.id, "sending", status="scheduled", next_action_at=None)
            await repo.forget_unsent(dose.patient_id)
        else:
            await repo.claim(dose.id, "sending", status="sent", next_action_at=dose.cutoff_at)
        await repo.commit()

    async def _retry(
        self, repo: Repository, dose: Dose, previous_status: str, exc: Exception, now: datetime
    ) -> None:
        """Put the row back, due again later: a flood limit or a network error loses nothing."""
        if not isinstance(exc, TryLater):
            log.error("Sending a reminder failed: %s", type(exc).__name__)
        await repo.claim(
            dose.id,
            "sending",
            status=previous_status,
            attempts=dose.attempts + 1,
            next_action_at=now + timedelta(seconds=_delay(exc, dose.attempts)),
        )
        await repo.commit()

    async def _reminder_reply(
        self, repo: Repository, dose: Dose, patient: Patient, now: datetime
    ) -> Reply:
        plan = plan_of(patient)
        assert patient.start_date is not None
        words = messages.dose_words(dose.dose_mg, dose.capsules, dose.capsule_mg)
        # Only a first reminder can be late: one the patient snoozed comes when they asked for it.
        if dose.status == "scheduled" and nightly.is_late(dose.remind_at, now):
            due = messages.clock(dose.remind_at.astimezone(zone_of(patient)).time())
            lines = [t("reminder_late", due=due, dose=words)]
        else:
            lines = [t("reminder", dose=words)]
        info = tonight(plan, patient.start_date, dose.night, holds_of(patient))
        if dose.step_up:
            lines.append(t("reminder_step_up", step=dose.step, steps=len(plan.steps)))
        if info is not None and info.held:
            lines.append(t("reminder_held"))
        previous = await repo.latest_dose(patient.id, before=dose.night)
        if (
            previous is not None
            and previous.status == "missed"
            and previous.night == dose.night - timedelta(days=1)
        ):
            lines.append(t("reminder_missed_before"))
        change = capsule_change_ahead(
            plan,
            patient.start_date,
            dose.night,
            holds_of(patient),
            self.settings.capsule_notice_days,
        )
        if change is not None and change.start is not None:
            lines.append(
                t(
                    "reminder_capsule_change",
                    days=(change.start - dose.night).days,
                    capsule=messages.mg(change.step.capsule_mg),
                )
            )
        return Reply("\n\n".join(lines), messages.dose_buttons(dose.id))

    # Answers

    async def answer(self, telegram_user_id: int, dose_id: int, answer: Answer) -> AnswerResult:
        """Record a press on a reminder button for the night that reminder belongs to."""
        async with self.db.session() as session:
            repo = Repository(session)
            dose = await repo.dose(dose_id)
            if dose is None or dose.patient.telegram_user_id != telegram_user_id:
                return AnswerResult(verdict=None)
            now = self.clock.now()
            verdict = nightly.judge_answer(dose.status, answer, now, dose.cutoff_at, dose.snoozes)
            result = AnswerResult(
                verdict=verdict,
                status=dose.status,
                chat_id=dose.patient.chat_id,
                other_message_ids=tuple(
                    m for m in (dose.reminder_message_id, dose.followup_message_id) if m is not None
                ),
                timezone=dose.patient.timezone,
            )
            if verdict is not Verdict.RECORD:
                return result
            if answer is Answer.SNOOZE:
                until = now + nightly.SNOOZE
                changed = await repo.claim(
                    dose.id,
                    dose.status,
                    status="snoozed",
                    snoozes=dose.snoozes + 1,
                    next_action_at=until,
                )
                status = "snoozed"
            else:
                status = answer.value
                until = None
                changed = await repo.claim(
                    dose.id, dose.status, status=status, answered_at=now, next_action_at=None
                )
            await repo.commit()
            if not changed:
                # Another press won the race a moment ago: report what it recorded.
                await session.refresh(dose)
                return AnswerResult(
                    verdict=Verdict.ALREADY, status=dose.status, chat_id=result.chat_id
                )
            return AnswerResult(
                verdict=Verdict.RECORD,
                status=status,
                snoozed_until=until,
                chat_id=result.chat_id,
                other_message_ids=result.other_message_ids,
                timezone=result.timezone,
            )


def _delay(exc: Exception, attempts: int) -> float:
    return exc.seconds if isinstance(exc, TryLater) else backoff(attempts) * 4
