"""The nightly reminder use cases: plan each patient's nights and record their answers.

The database is the truth: one row per patient per local night, planned here, sent by the
dispatcher (`bot/app/dispatcher.py`), answered through the reminder's buttons.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.app.clock import Clock
from bot.app.settings import Settings
from bot.care.escalations import store as alerts_store
from bot.delivery.notifier import Notifier
from bot.rules import nightly
from bot.rules.findings import Finding, Stop, Tier
from bot.rules.nightly import Answer, Verdict
from bot.rules.plans import OFF, Hold, Plan, Step, Tonight, tonight
from bot.rules.states import DoseStatus, HoldKind, ReportStatus
from bot.rules.timing import local_today, night_cutoff, reminder_at, spaced_night, upcoming_night
from bot.rules.triage import MISSED_NIGHTS, missed_streak
from bot.ui import messages
from storage.db import Database
from storage.models import Dose, Patient
from storage.repositories import Repository

log = logging.getLogger(__name__)

# A tolerance check that went unanswered, its increase held and passed on to the care team.
UNANSWERED = ReportStatus.UNANSWERED

# Nights whose dose the patient took, or was reminded of and may still take.
ON_DOSE = (DoseStatus.TAKEN, DoseStatus.SENT, DoseStatus.SNOOZED, DoseStatus.SENDING)

# A press is judged again this often when the night moved on between its reading and its record.
ANSWER_TRIES = 3

# At most this many nights are recorded missed after an outage: a longer gap is the provider's call.
MAX_BACKFILL_NIGHTS = 62


def plan_of(patient: Patient) -> Plan:
    assert patient.plan is not None
    return Plan.from_dict(patient.plan)


def holds_of(patient: Patient) -> list[Hold]:
    return [Hold(start=h.start, end=h.end, kind=h.kind) for h in patient.holds]


def zone_of(patient: Patient) -> ZoneInfo:
    assert patient.timezone is not None
    return ZoneInfo(patient.timezone)


@dataclass(frozen=True)
class Known:
    """A patient's nights as planning reads them, read with the patient in one statement."""

    latest: Dose | None  # the newest night
    unsent: bool  # whether a night is planned and not reminded yet


@dataclass(frozen=True)
class AnswerResult:
    """What became of a press on a reminder button, for the handler to show."""

    verdict: Verdict | None  # None: not this patient's night, or no such night
    status: str | None = None
    snoozed_until: datetime | None = None
    chat_id: int | None = None
    other_message_ids: tuple[int, ...] = ()
    timezone: str | None = None
    after_cutoff: bool = False  # recorded on a night already recorded missed: told, not taken now


class Reminders:
    """Plan each patient's nights and record what they answer."""

    def __init__(self, db: Database, notifier: Notifier, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.notifier = notifier
        self.clock = clock
        self.settings = settings
        # Set by the application: plan a night's side-effect check-in.
        self.plan_checkin: Callable[[Repository, Patient, Dose], Awaitable[None]] | None = None

    # Planning nights

    async def plan_next_night(
        self, repo: Repository, patient: Patient, *, backfill: bool, known: Known | None = None
    ) -> Dose | None:
        """Make sure the patient's next night has its row; record skipped-over nights as missed.

        `backfill` is for the dispatcher after downtime: nights that passed with no row are recorded
        missed. After a pause or a block there is no backfill: those nights were not ours to remind.
        `known`: the patient's nights as read with them, in the same transaction (not read again).
        Return the night planned, if one was.
        """
        if not patient.receives_reminders:
            return None
        if known.unsent if known is not None else await repo.nights.unsent(patient.id):
            return None
        assert patient.start_date is not None
        now = self.clock.now()
        night, latest = await self._first_open(repo, patient, now, known=known)
        # The dose the patient is on: the last one taken, or reminded and not yet answered (if
        # that night ends untaken, this night is planned again).
        if known is not None and latest is not None and latest.status in ON_DOSE:
            taken: Dose | None = latest  # the newest night is the newest on the dose
        else:
            taken = await repo.nights.latest(patient.id, statuses=ON_DOSE)
        last_mg = taken.dose_mg if taken is not None else None
        # Once a day, never two close together: a bedtime, a zone or a dose time changed soon
        # after a dose puts the next reminder off to a later night.
        spaced = self._spaced(patient, night, taken, now)
        gap_from = latest.night + timedelta(days=1) if latest is not None else patient.start_date
        if gap_from < spaced:
            # Nights that passed with nothing reminded (downtime, a pause, a stop, a withhold, a
            # night too soon after a dose) were not nights on the dose: they do not count.
            await self._nights_off(repo, patient, gap_from, spaced)
        if latest is not None and backfill:
            first_gap = max(gap_from, night - timedelta(days=MAX_BACKFILL_NIGHTS))
            for offset in range((night - first_gap).days):
                gap = self._new_dose(
                    patient, first_gap + timedelta(days=offset), DoseStatus.MISSED, last_mg
                )
                await repo.nights.plan(gap)
        night = spaced
        dose = self._new_dose(patient, night, DoseStatus.SCHEDULED, last_mg)
        if dose.step_up and await self._increase_waits(repo, patient, dose):
            dose = self._new_dose(patient, night, DoseStatus.SCHEDULED, last_mg)
        if not backfill and dose.remind_at < now:
            # Enrolled, resumed or moved the bedtime after tonight's bedtime but before its cutoff:
            # remind now, as a fresh reminder rather than a late one.
            dose.remind_at = dose.next_action_at = now
        await repo.nights.plan(dose)
        if self.plan_checkin is not None:
            await self.plan_checkin(repo, patient, dose)
        return dose

    async def plan_after_reminder(self, repo: Repository, patient_id: int) -> None:
        """Plan the night after one whose reminder just went out (its row updated as sent)."""
        await self.plan_after_reminders(repo, [patient_id])

    async def plan_after_reminders(self, repo: Repository, patient_ids: Sequence[int]) -> None:
        """Plan the night after each night whose reminder just went out (each row updated as
        sent), for these patients.

        On fresh data: a provider may have held or paused a patient meanwhile. The usual night,
        the one after with nothing to record off and no increase to check, is planned from one
        read of all the patients with their nights, and inserted for all of them at once, as
        `plan_next_night` would plan it; any other night is planned by `plan_next_night`, on the
        patient as the session keeps them.
        """
        patient_ids = list(dict.fromkeys(patient_ids))
        reads = await repo.nights.for_planning_many(patient_ids)
        usual: list[Dose] = []
        for patient_id in patient_ids:
            if (read := reads.get(patient_id)) is None:
                continue
            patient, latest, unsent = read
            if not patient.receives_reminders or unsent:
                continue
            known = Known(latest, unsent)
            if (dose := await self._usual_next(repo, patient, known)) is not None:
                if self.plan_checkin is not None:
                    await self.plan_checkin(repo, patient, dose)
                usual.append(dose)
                continue
            fresh = await repo.patients.fresh(patient_id)
            await self.plan_next_night(repo, fresh, backfill=True, known=known)
        await repo.nights.plan_many(usual)

    async def _usual_next(self, repo: Repository, patient: Patient, known: Known) -> Dose | None:
        """The usual next night after a reminder, not yet inserted: the night after the newest,
        on the same dose's plan, with no night to record off and no increase to check; None
        when it is not that simple."""
        latest = known.latest
        if latest is None or latest.status not in ON_DOSE:
            return None
        now = self.clock.now()
        night, _ = await self._first_open(repo, patient, now, known=known)
        if self._spaced(patient, night, latest, now) != latest.night + timedelta(days=1):
            return None
        dose = self._new_dose(patient, night, DoseStatus.SCHEDULED, latest.dose_mg)
        return None if dose.step_up else dose

    async def _first_open(
        self,
        repo: Repository,
        patient: Patient,
        now: datetime,
        before: date | None = None,
        known: Known | None = None,
    ) -> tuple[date, Dose | None]:
        """The first night not over after the patient's last row (before `before`), and that row."""
        assert patient.bedtime is not None and patient.start_date is not None
        cutoff_hours = self.settings.reminder_cutoff_hours
        night = max(
            upcoming_night(now, patient.bedtime, zone_of(patient), cutoff_hours),
            patient.start_date,
        )
        if known is not None and before is None:
            latest = known.latest
        else:
            latest = await repo.nights.latest(patient.id, before=before)
        if latest is not None and latest.night >= night:
            night = latest.night + timedelta(days=1)
        return night, latest

    def _spaced(self, patient: Patient, night: date, last: Dose | None, now: datetime) -> date:
        """The first night from `night` whose reminder comes MIN_DOSE_GAP after the last dose."""
        if last is None:
            return night
        moment = nightly.last_dose_at(
            last.status, last.remind_at, last.sent_at, last.answered_at, last.cutoff_at, now
        )
        if moment is None:
            return night
        assert patient.bedtime is not None
        not_before = moment + nightly.MIN_DOSE_GAP
        return spaced_night(night, patient.bedtime, zone_of(patient), now, not_before)

    async def put_off(self, repo: Repository, patient: Patient) -> Dose | None:
        """The night planned next, if the once-a-day rule put it off to a later night: to say so."""
        unsent = await repo.nights.unsent(patient.id)
        if len(unsent) != 1:
            return None
        planned, now = unsent[0], self.clock.now()
        night, _ = await self._first_open(repo, patient, now, before=planned.night)
        taken = await repo.nights.latest(patient.id, before=planned.night, statuses=ON_DOSE)
        spaced = self._spaced(patient, night, taken, now)
        return planned if night < spaced == planned.night else None

    async def _increase_waits(self, repo: Repository, patient: Patient, dose: Dose) -> bool:
        """Hold an increase whose tolerance check went unanswered, and tell the care team.

        A concerning answer has already held the patient; here only silence is left: nobody
        knows how the current dose is tolerated, so the increase waits for a provider.
        """
        check = await repo.reports.tolerance(patient.id, dose.step)
        # Never finished (still waiting, or closed unfinished when a newer check-in came): the
        # increase waits. Answered, or already held and passed on: a provider's decision stands.
        if check is None or check.status not in (
            ReportStatus.SCHEDULED,
            ReportStatus.OPEN,
            ReportStatus.EXPIRED,
        ):
            return False
        now = self.clock.now()
        check.status, check.next_action_at = UNANSWERED, None
        await repo.patients.add_hold(patient, dose.night, now)
        await alerts_store(
            repo, patient, Finding(Tier.ROUTINE, "tolerance_unanswered"), now, stop=Stop.HOLD
        )
        return True

    async def first_open_night(self, repo: Repository, patient: Patient) -> date:
        """The first night whose reminder has not gone out: where a provider's change begins."""
        assert patient.bedtime is not None
        night = upcoming_night(
            self.clock.now(), patient.bedtime, zone_of(patient), self.settings.reminder_cutoff_hours
        )
        # Tonight's reminder already out: the patient was told tonight's dose; change tomorrow.
        while (reminded := await repo.nights.on(patient.id, night)) is not None and (
            reminded.status != DoseStatus.SCHEDULED
        ):
            night += timedelta(days=1)
        return night

    async def hold_current_dose(
        self, repo: Repository, patient: Patient, *, by_provider: bool = False
    ) -> Dose | None:
        """Keep the patient at the dose they take now; the next increase waits for a provider.

        The hold begins at the first night not yet reminded. On a step-up night whose reminder
        is out but whose new dose is not recorded taken, it begins tonight: tonight goes back to
        the previous dose, and that night's row is returned for the patient to be told.
        `by_provider`: a provider decided it (the bot's own hold, if open, becomes theirs).
        """
        kind = HoldKind.PROVIDER if by_provider else HoldKind.HOLD
        if not _planned(patient):
            return None
        standing = [h for h in patient.dose_holds if h.end is None]
        if standing:
            if by_provider:
                for hold in standing:
                    hold.kind = kind
            return None
        night = await self.first_open_night(repo, patient)
        tonight_row = await self._reminded_not_taken(repo, patient, night)
        revert = tonight_row is not None and tonight_row.step_up
        if revert:
            assert tonight_row is not None
            night = tonight_row.night
        await repo.patients.add_hold(patient, night, self.clock.now(), kind=kind)
        await repo.refresh(patient)
        if revert:
            assert tonight_row is not None and patient.start_date is not None
            info = tonight(plan_of(patient), patient.start_date, night, holds_of(patient))
            assert info is not None
            _give(tonight_row, info.step)
        await self.replan(repo, patient)
        return tonight_row if revert else None

    async def withhold(self, repo: Repository, patient: Patient) -> None:
        """No LDN until a provider decides: reminders stop, and the nights off do not count.

        Before the first dose (still enrolling) this is the wait for clearance a screening "yes"
        starts; after it, the patient is withheld from now on.
        """
        if not patient.enrolled or patient.plan is None:
            patient.awaiting_clearance = True
            return
        if patient.withheld_at is None:
            patient.withheld_at = self.clock.now()
        await self.replan(repo, patient)

    async def release(self, repo: Repository, patient: Patient) -> None:
        """End every open hold at the first open night: the plan goes on from there."""
        if not _planned(patient):
            # Still enrolling: the plan starts on the night they choose.
            patient.awaiting_clearance = False
            return
        night = await self.first_open_night(repo, patient)
        for hold in patient.holds:
            if hold.end is None:
                hold.end = max(night, hold.start)
        patient.withheld_at = None
        if patient.awaiting_clearance:
            patient.awaiting_clearance = False
            if patient.start_date is not None and patient.start_date < night:
                # Cleared after the planned start: the first dose is the first open night.
                patient.start_date = night
        await self.replan(repo, patient)

    async def step_back(self, repo: Repository, patient: Patient) -> date | None:
        """Move the patient back one step and hold them there; return the first night of it.

        It begins tonight when tonight's reminder is out and its dose not taken yet (tonight's
        reminder then gives the lower dose), else at the first night not yet reminded.
        """
        if not _planned(patient):
            return None  # not started: the first step is where they begin anyway
        assert patient.start_date is not None
        plan = plan_of(patient)
        night = max(await self.first_open_night(repo, patient), patient.start_date)
        row = await self._reminded_not_taken(repo, patient, night)
        if row is not None:
            night = row.night
        info = tonight(plan, patient.start_date, night, holds_of(patient))
        assert info is not None
        target = plan.starting_at(max(info.step.number - 1, 1))
        # The plan begins again at the earlier step on that night, held there: what came before
        # (its holds and nights off included) no longer places any step.
        await repo.patients.delete_holds(patient)
        patient.plan = target.to_dict()
        patient.start_date = night
        await repo.patients.add_hold(patient, night, self.clock.now(), kind=HoldKind.PROVIDER)
        if row is not None:
            _give(row, target.steps[target.start_step - 1])
        await self.replan(repo, patient)
        return night

    async def _reminded_not_taken(
        self, repo: Repository, patient: Patient, first_open: date
    ) -> Dose | None:
        """Tonight's row when its reminder is out and its dose not recorded yet; else None."""
        row = await repo.nights.on(patient.id, first_open - timedelta(days=1))
        if (
            row is not None
            and row.status in nightly.OPEN
            and row.status != DoseStatus.SCHEDULED
            and row.cutoff_at > self.clock.now()
        ):
            return row
        return None

    async def resumed(self, repo: Repository, patient: Patient, gap: int) -> bool:
        """After a long gap, whether and where to restart is the provider's call: hold and ask.

        The patient stays on the last dose they took (the nights off did not count toward it).
        """
        if gap <= self.settings.restart_review_nights:
            return False
        now = self.clock.now()
        await alerts_store(
            repo, patient, Finding(Tier.ROUTINE, "resume_after_gap"), now, stop=Stop.HOLD
        )
        await self.hold_current_dose(repo, patient)
        return True

    async def replan(self, repo: Repository, patient: Patient) -> int:
        """Recompute the upcoming night after a change of bedtime, zone or pause.

        Return how many nights without LDN come before the one now planned: since the last
        night recorded taken (0 when none was, or nothing is planned).
        """
        await repo.forget_unsent(patient.id)
        planned = await self.plan_next_night(repo, patient, backfill=False)
        if planned is None:
            return 0
        taken = await repo.nights.latest(
            patient.id, before=planned.night, statuses=(DoseStatus.TAKEN,)
        )
        return 0 if taken is None else (planned.night - taken.night).days - 1

    async def night_off(self, repo: Repository, patient: Patient, night: date) -> None:
        """A night without LDN (skipped or missed): it does not count toward the step.

        A third such night in a row holds the increase and asks the care team: the patient may
        have stopped, be unwell, or be out of capsules.
        """
        await self._nights_off(repo, patient, night, night + timedelta(days=1))
        finding = missed_streak(
            await repo.nights.statuses(patient.id, MISSED_NIGHTS + 1, until=night)
        )
        if finding is not None:
            await alerts_store(repo, patient, finding, self.clock.now(), stop=Stop.HOLD)
            await self.hold_current_dose(repo, patient)

    async def _nights_off(self, repo: Repository, patient: Patient, first: date, end: date) -> None:
        """Record nights [first, end) as off the dose: a row per run, never a night twice."""
        runs = [(h, h.end) for h in patient.holds if h.kind == OFF and h.end is not None]
        if any(h.start <= first and end <= last for h, last in runs):
            return  # already recorded (a night planned again after a change)
        touching = next((h for h, last in runs if h.start <= first <= last), None)
        if touching is not None and touching.end is not None:
            touching.end = max(end, touching.end)
        else:
            await repo.patients.add_hold(patient, first, self.clock.now(), end=end, kind=OFF)

    async def night_on(self, repo: Repository, patient: Patient, night: date) -> None:
        """A night recorded off turned out taken (Taken pressed late): it counts again."""
        for hold in [h for h in patient.holds if h.kind == OFF]:
            if hold.end is None or not hold.start <= night < hold.end:
                continue
            after = night + timedelta(days=1)
            if hold.start < night and after < hold.end:
                await repo.patients.add_hold(
                    patient, after, self.clock.now(), end=hold.end, kind=OFF
                )
            if hold.start == night and hold.end == after:
                await repo.patients.remove_hold(patient, hold)
            elif hold.start == night:
                hold.start = after
            else:
                hold.end = night

    def _new_dose(
        self, patient: Patient, night: date, status: str, last_mg: Decimal | None
    ) -> Dose:
        """A night's row, with the dose the plan gives that night.

        `last_mg` is the dose of the patient's last recorded night: after a pause the plan may
        have moved on more than one step, and the patient must still hear that the dose is new.
        """
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
            step_up=info.is_step_up if last_mg is None else info.step.dose_mg > last_mg,
            status=status,
            remind_at=remind,
            cutoff_at=night_cutoff(
                night, patient.bedtime, zone, self.settings.reminder_cutoff_hours
            ),
            next_action_at=remind if status == DoseStatus.SCHEDULED else None,
            sent_late=False,
            snoozes=0,
            attempts=0,
        )

    def current(self, patient: Patient) -> Tonight | None:
        """Tonight's step (the first night's, before the plan starts); None until it is planned."""
        if patient.plan is None or patient.start_date is None or patient.timezone is None:
            return None
        night = max(local_today(self.clock.now(), zone_of(patient)), patient.start_date)
        return tonight(plan_of(patient), patient.start_date, night, holds_of(patient))

    def current_dose_words(self, patient: Patient) -> str:
        """Tonight's dose in mg and capsules, for a sentence; a dash before a plan is planned."""
        info = self.current(patient)
        return messages.step_words(info.step) if info else "–"

    def held_on(self, patient: Patient, night: date) -> bool:
        """Whether a provider's hold keeps the patient at the current dose that night."""
        assert patient.start_date is not None
        info = tonight(plan_of(patient), patient.start_date, night, holds_of(patient))
        return info is not None and info.held

    async def set_reachable(self, telegram_user_id: int, reachable: bool) -> None:
        """Stop at once for a patient who blocks the bot; plan the next night when they unblock."""
        async with self.db.session() as session:
            repo = Repository(session)
            patient = await repo.patients.by_user(telegram_user_id)
            if patient is None or patient.blocked_bot != reachable:
                return
            patient.blocked_bot = not reachable
            gap = await self.replan(repo, patient)
            if reachable:
                # Back after a long gap: the same review as a resume after /stop.
                await self.resumed(repo, patient, gap)
            elif patient.enrolled:
                await alerts_store(
                    repo, patient, Finding(Tier.ROUTINE, "blocked_bot"), self.clock.now()
                )
            await repo.commit()

    # Answers

    async def answer(self, telegram_user_id: int, dose_id: int, answer: Answer) -> AnswerResult:
        """Record a press on a reminder button for the night that reminder belongs to.

        The press is judged on the night as read, and recorded only if the night is still so.
        A night that moved on meanwhile (its reminder recorded sent a moment after the patient
        saw it, say) is read and judged again: a press is never lost to a race.
        """
        for _ in range(ANSWER_TRIES):
            async with self.db.session() as session:
                repo = Repository(session)
                dose = await repo.nights.get(dose_id)
                if dose is None or dose.patient.telegram_user_id != telegram_user_id:
                    return AnswerResult(verdict=None)
                if (result := await self._answer(repo, dose, answer)) is not None:
                    return result
        # Moved on under every try (never seen): nothing recorded.
        return AnswerResult(Verdict.ALREADY)

    async def _answer(self, repo: Repository, dose: Dose, answer: Answer) -> AnswerResult | None:
        """Judge a press on the night as read and record it, in one commit; None when the night
        moved on since it was read, and nothing was recorded."""
        now = self.clock.now()
        verdict = nightly.judge_answer(dose.status, answer, now, dose.cutoff_at, dose.snoozes)
        result = AnswerResult(
            verdict=verdict,
            status=dose.status,
            chat_id=dose.patient.chat_id,
            other_message_ids=nightly.buttoned(
                dose.status, dose.reminder_message_id, dose.followup_message_id
            ),
            timezone=dose.patient.timezone,
        )
        if verdict is not Verdict.RECORD:
            return result
        if answer is Answer.SNOOZE:
            until = now + nightly.SNOOZE
            # The press takes the buttons off the night's messages: forget them, so that
            # only the reminder sent again (and its follow-up) is ever edited after.
            changed = await repo.claim(
                Dose,
                dose.id,
                {"status": dose.status},
                status=DoseStatus.SNOOZED,
                snoozes=dose.snoozes + 1,
                next_action_at=until,
                reminder_message_id=None,
                followup_message_id=None,
            )
            status = DoseStatus.SNOOZED
        else:
            status = DoseStatus(answer.value)
            until = None
            changed = await repo.claim(
                Dose,
                dose.id,
                {"status": dose.status},
                status=status,
                answered_at=now,
                next_action_at=None,
            )
        if not changed:
            # Another press won the race a moment ago, or the reminder's record did: the
            # night is read and judged again as it is now.
            await repo.rollback()
            return None
        if status == DoseStatus.SKIPPED or (
            status == DoseStatus.TAKEN and result.status == DoseStatus.MISSED
        ):
            await self._counted(repo, dose.patient, dose.night, taken=status == DoseStatus.TAKEN)
        elif result.status == DoseStatus.SENDING and status == DoseStatus.TAKEN:
            # Pressed before the reminder's record was written: that record, finding the night
            # answered, plans no night after it, so the press plans it as the record would have
            # (nothing when a night is planned already: after a snooze, say).
            await self.plan_next_night(repo, dose.patient, backfill=True)
        await repo.commit()
        late = result.status == DoseStatus.MISSED
        return replace(result, status=status, snoozed_until=until, after_cutoff=late)

    async def _counted(
        self, repo: Repository, patient: Patient, night: date, *, taken: bool
    ) -> None:
        """Count an answered night toward the step, or not, and plan the next night on that."""
        if taken:
            await self.night_on(repo, patient, night)
        else:
            await self.night_off(repo, patient, night)
        # The next night was planned when this one's reminder went out, as if it would be taken.
        await self.replan(repo, patient)

    async def tonights_buttons(self, repo: Repository, patient: Patient) -> list[int]:
        """The messages of tonight's reminder that still offer its dose (reminded, not taken)."""
        if not _planned(patient):
            return []  # still enrolling: no reminder has gone out
        row = await self._reminded_not_taken(
            repo, patient, await self.first_open_night(repo, patient)
        )
        if row is None:
            return []
        return list(nightly.buttoned(row.status, row.reminder_message_id, row.followup_message_id))

    async def take_buttons_off(self, chat_id: int, message_ids: Sequence[int]) -> None:
        """Take tonight's dose buttons away once LDN is stopped: no button may invite a dose."""
        for message_id in message_ids:
            await self.notifier.clear_buttons(chat_id, message_id)

    async def clear_buttons(self, result: AnswerResult, pressed_message_id: int | None) -> None:
        """Take the buttons off the answered night's other messages (the reminder or follow-up)."""
        if result.chat_id is None:
            return
        for message_id in result.other_message_ids:
            if message_id != pressed_message_id:
                await self.notifier.clear_buttons(result.chat_id, message_id)


def _give(row: Dose, step: Step) -> None:
    """Make a night's row give `step`'s dose (a provider's or the bot's change to tonight)."""
    row.step = step.number
    row.dose_mg = step.dose_mg
    row.capsule_mg = step.capsule_mg
    row.capsules = step.capsules
    row.step_up = False


def _planned(patient: Patient) -> bool:
    """Whether the patient has a plan on the calendar (enrollment asked all its questions)."""
    return None not in (patient.plan, patient.start_date, patient.bedtime, patient.timezone)
