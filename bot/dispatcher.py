"""The dispatcher: ask the database what is due and move each night on, sending at most once.

Every send follows one pattern: a guarded update claims the row and is committed, then Telegram is
called, then the outcome is recorded. Whoever loses the claim sends nothing, so no night is reminded
twice, across restarts and across processes; a failure puts the row back, due again later.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot import messages, nightly
from bot.alerts import Alerts
from bot.checkins import Checkins
from bot.clock import Clock
from bot.escalations import store as store_escalation
from bot.nightly import Action
from bot.notifier import MaybeSent, Notifier, TryLater, Unreachable, backoff
from bot.plans import capsule_change_ahead
from bot.reminders import UNANSWERED, Reminders, holds_of, plan_of, zone_of
from bot.settings import Settings
from bot.texts import t
from bot.triage import Finding, Tier
from bot.views import Reply
from storage.db import Database
from storage.models import Dose, Patient
from storage.repositories import Repository

log = logging.getLogger(__name__)


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

    async def dispatch(self, limit: int = 500) -> int:
        """Act on everything due now: alerts first, then nights, then check-ins."""
        looked_at = await self.alerts.dispatch() if self.alerts is not None else 0
        async with self.db.session() as session:
            due = await Repository(session).due_dose_ids(self.clock.now(), limit)
        for dose_id in due:
            try:
                await self.act_on(dose_id)
            except Exception:
                # One bad row must not stop the others; it stays due and is tried next round.
                log.exception("Could not act on dose %s", dose_id)
        if self.checkins is not None:
            looked_at += await self.checkins.dispatch()
        if self.alerts is not None:
            # Escalations raised by this round (three missed nights, a block) go out now.
            looked_at += await self.alerts.dispatch()
        return looked_at + len(due)

    async def act_on(self, dose_id: int) -> None:
        """Move one due row on: remind, follow up, recover a dead send, or record it missed."""
        async with self.db.session() as session:
            repo = Repository(session)
            dose = await repo.dose(dose_id)
            now = self.clock.now()
            if dose is None or dose.next_action_at is None or dose.next_action_at > now:
                return
            followup_sent = dose.followup_sent_at is not None
            action = nightly.due_action(dose.status, now, dose.cutoff_at, followup_sent)
            if action is Action.MISS:
                buttoned = nightly.buttoned(
                    dose.status, dose.reminder_message_id, dose.followup_message_id
                )
                if await repo.claim(dose.id, dose.status, status="missed", next_action_at=None):
                    # The night, what it means (a night off the step, a third in a row) and the
                    # next night planned on it are committed together.
                    await self.reminders.night_off(repo, dose.patient, dose.night)
                    await repo.forget_unsent(dose.patient_id)
                    await self.reminders.plan_next_night(repo, dose.patient, backfill=True)
                    await repo.commit()
                    await self._close_missed(dose.patient.chat_id, dose.id, buttoned)
            elif action is Action.RECOVER:
                # The claim was made SENDING_TIMEOUT before the deadline it set.
                claimed_at = dose.next_action_at - nightly.SENDING_TIMEOUT
                sent_at = dose.sent_at or claimed_at
                await self._record_sent(repo, dose, "sending", sent_at=sent_at, since=claimed_at)
            elif action is Action.REMIND:
                if dose.status == "scheduled" and await self._too_soon(repo, dose, now):
                    return
                await self._remind(repo, dose, now)
            elif action is Action.FOLLOW_UP:
                await self._follow_up(repo, dose, now)

    async def _close_missed(self, chat_id: int, dose_id: int, buttoned: tuple[int, ...]) -> None:
        """Take Taken, Snooze and Skip off a night recorded missed: no dose now, and never two.

        Its newest message keeps one button, "I did take it", for a patient who took it and did
        not say: a report of that night, never an invitation to take it now.
        """
        try:
            for message_id in buttoned[:-1]:
                await self.notifier.clear_buttons(chat_id, message_id)
            if buttoned:
                await self.notifier.set_buttons(
                    chat_id, buttoned[-1], messages.took_it_buttons(dose_id)
                )
        except Exception:
            # The night is recorded; old buttons left behind only record what the patient says.
            log.exception("Could not take the buttons off missed dose %s", dose_id)

    async def _too_soon(self, repo: Repository, dose: Dose, now: datetime) -> bool:
        """Put off a reminder that a dose recorded since it was planned brings too close."""
        patient = dose.patient
        taken = await repo.latest_dose(patient.id, before=dose.night, statuses=("taken",))
        if taken is None or not patient.receives_reminders:
            return False
        moment = nightly.last_dose_at(
            taken.status, taken.remind_at, taken.sent_at, taken.answered_at, taken.cutoff_at, now
        )
        if not nightly.too_soon(now, moment):
            return False
        # Planned again, it goes to the first night far enough from that dose.
        await self.reminders.replan(repo, patient)
        await repo.commit()
        return True

    async def _remind(self, repo: Repository, dose: Dose, now: datetime) -> None:
        patient, previous = dose.patient, dose.status
        if not patient.receives_reminders:
            # Paused or blocked since: a snoozed night is still recorded missed at its cutoff.
            later = dose.cutoff_at if previous == "snoozed" else None
            await repo.claim(dose.id, previous, next_action_at=later)
            await repo.commit()
            return
        reply = await self._reminder_reply(repo, dose, patient, now)
        deadline = now + nightly.SENDING_TIMEOUT
        claimed = await repo.claim(dose.id, previous, status="sending", next_action_at=deadline)
        await repo.commit()
        if not claimed:
            return
        try:
            message_id = await self.notifier.send(patient.chat_id, reply, dose.attempts)
        except Unreachable:
            await repo.claim(dose.id, "sending", status=previous, next_action_at=dose.cutoff_at)
            await self._unreachable(repo, patient)
            return
        except MaybeSent:
            # Telegram may have delivered it: count it sent, never twice; the follow-up backs it up.
            message_id = None
        except Exception as exc:
            await self._put_back(repo, dose, "sending", exc, now, status=previous)
            return
        late = previous == "scheduled" and nightly.is_late(dose.remind_at, now)
        sent_at = dose.sent_at or now
        await self._record_sent(
            repo, dose, "sending", sent_at=sent_at, since=now, message_id=message_id, late=late
        )

    async def _record_sent(
        self,
        repo: Repository,
        dose: Dose,
        expected: str,
        *,
        sent_at: datetime,
        since: datetime,
        message_id: int | None = None,
        late: bool = False,
    ) -> None:
        """Record a reminder as out, commit that first, then plan the following night."""
        values: dict[str, object] = {"status": "sent", "sent_at": sent_at, "attempts": 0}
        if message_id is not None:
            values["reminder_message_id"] = message_id
        if late:
            values["sent_late"] = True
        followup_sent = dose.followup_sent_at is not None
        values["next_action_at"] = nightly.next_check(
            since, followup_sent, dose.cutoff_at, self.followup_after
        )
        if await repo.claim(dose.id, expected, **values):
            await repo.commit()
            await self._plan_next(repo, dose.patient)

    async def _plan_next(self, repo: Repository, patient: Patient) -> None:
        """Plan the patient's following night, on fresh data, in its own transaction."""
        await repo.refresh(patient)
        await self.reminders.plan_next_night(repo, patient, backfill=True)
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
            await self._unreachable(repo, patient)
            return
        except MaybeSent:
            return  # counted as sent: the night gets one follow-up, never two
        except Exception as exc:
            retry_at = now + timedelta(seconds=_delay(exc, dose.attempts))
            if retry_at < dose.cutoff_at:
                await self._put_back(repo, dose, "sent", exc, now, followup_sent_at=None)
            return
        await repo.claim(dose.id, "sent", followup_message_id=message_id, attempts=0)
        await repo.commit()

    async def _unreachable(self, repo: Repository, patient: Patient) -> None:
        """The patient blocked the bot: stop, keep their data, tell the care team."""
        patient.blocked_bot = True
        await repo.forget_unsent(patient.id)
        await store_escalation(
            repo, patient, Finding(Tier.ROUTINE, "blocked_bot"), self.clock.now()
        )
        await repo.commit()

    async def _put_back(
        self,
        repo: Repository,
        dose: Dose,
        expected: str,
        exc: Exception,
        now: datetime,
        **values: object,
    ) -> None:
        """Make the row due again later: a flood limit or a network error loses nothing."""
        if isinstance(exc, TryLater):
            log.info("Sending dose %s must wait: %s", dose.id, exc)
        else:
            # Telegram's description names what was wrong with our request, never patient words.
            log.error("Sending to a patient failed: %s %s", type(exc).__name__, exc)
        delay = timedelta(seconds=_delay(exc, dose.attempts))
        await repo.claim(
            dose.id, expected, attempts=dose.attempts + 1, next_action_at=now + delay, **values
        )
        await repo.commit()

    async def _reminder_reply(
        self, repo: Repository, dose: Dose, patient: Patient, now: datetime
    ) -> Reply:
        """Tonight's reminder: the dose, and what the patient should know about tonight."""
        plan, holds = plan_of(patient), holds_of(patient)
        assert patient.start_date is not None
        words = messages.dose_words(dose.dose_mg, dose.capsules, dose.capsule_mg)
        lines = []
        taken = await repo.latest_dose(patient.id, before=dose.night, statuses=("taken",))
        if taken is not None and taken.capsule_mg != dose.capsule_mg:
            # New capsules, a new count: six of the new ones out of habit would be far too much,
            # so this comes before anything else, count first.
            lines.append(
                t(
                    "reminder_capsule_switch",
                    capsule=messages.mg(dose.capsule_mg),
                    count=dose.capsules,
                    old_count=taken.capsules,
                )
            )
        # Only a first reminder can be late: one the patient snoozed comes when they asked for it.
        if dose.status == "scheduled" and nightly.is_late(dose.remind_at, now):
            due = messages.clock(dose.remind_at.astimezone(zone_of(patient)).time())
            lines.append(t("reminder_late", due=due, dose=words))
        else:
            # Moved to the morning by a provider, and a morning time chosen: greet the morning.
            morning = patient.morning_dose and dose.remind_at.astimezone(zone_of(patient)).hour < 12
            lines.append(t("reminder_morning" if morning else "reminder", dose=words))
        if dose.step_up:
            lines.append(t("reminder_step_up", step=dose.step, steps=len(plan.steps)))
        if self.reminders.held_on(patient, dose.night):
            # Held tonight: say who held it. Only a provider's decision is said as theirs.
            covering = [
                h
                for h in patient.dose_holds
                if h.start <= dose.night and (h.end is None or dose.night < h.end)
            ]
            check = await repo.tolerance_report(patient.id, dose.step + 1)
            starts = any(h.start == dose.night for h in covering)
            unanswered = check is not None and check.status == UNANSWERED and starts
            if any(h.kind == "provider" for h in covering):
                lines.append(t("reminder_held_provider"))
            else:
                held = "tolerance_held" if unanswered else "reminder_held"
                lines.append(messages.team_text(held, self.settings))
        previous = await repo.latest_dose(patient.id, before=dose.night)
        yesterday = dose.night - timedelta(days=1)
        if previous is not None and previous.status == "missed" and previous.night == yesterday:
            lines.append(t("reminder_missed_before"))
        notice = self.settings.capsule_notice_days
        change = capsule_change_ahead(plan, patient.start_date, dose.night, holds, notice)
        if change is not None and change.start is not None:
            days = (change.start - dose.night).days
            capsule = messages.mg(change.step.capsule_mg)
            when = messages.nights_ahead(days)
            lines.append(t("reminder_capsule_change", when=when, capsule=capsule))
        return Reply("\n\n".join(lines), messages.dose_buttons(dose.id))


def _delay(exc: Exception, attempts: int) -> float:
    """Seconds to wait: what Telegram asked for, else a backoff (longer for our own mistakes)."""
    return exc.seconds if isinstance(exc, TryLater) else backoff(attempts) * 4
