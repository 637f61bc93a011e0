"""Side-effect check-ins: planned around step-ups, asked in a few taps, sorted, passed on.

A check-in is a `Report` row: planned for a night by `bot/rules/checkin_schedule.py` (a few days
after a step-up, weekly during titration, or just before an increase as its tolerance check), sent
by the dispatcher an hour before that night's reminder, answered one question at a time. Red flags
come first: each one ticked goes to the care team there and then, and a ticked one cannot be taken
back. Every answer is stored as it is given, so a restart or a break resumes where the patient was;
a check-in left unfinished for CHECKIN_EXPIRE_HOURS is sorted on what was answered. Whatever is
concerning is raised through `Concerns` (withhold or hold), never twice for one check-in.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from bot.app.clock import Clock
from bot.app.settings import Settings
from bot.care.concerns import Concerns, Raised
from bot.care.patient import NOT_ENROLLED, stopped
from bot.care.reminders import Reminders, holds_of, plan_of, zone_of
from bot.delivery.notifier import Notifier, Unreachable
from bot.delivery.outbox import Outbox
from bot.rules import nightly
from bot.rules.checkin_schedule import checkin_due
from bot.rules.findings import Finding, Grade, Tier
from bot.rules.states import Awaiting, ReportKind, ReportStatus, TierCode
from bot.rules.timing import local_today
from bot.rules.triage import EFFECTS, FLAGS, THYROID, Triage, combine, triage
from bot.rules.triage import Report as Answers
from bot.ui import checkin_questions as ask
from bot.ui import messages
from bot.ui.render import render
from bot.ui.views import Lines, Reply, Said, Say
from storage.db import Database
from storage.models import Dose, Patient, Report
from storage.repositories import Repository

log = logging.getLogger(__name__)

# A check-in comes this long before the night's reminder, so that it is answered before the dose.
AHEAD_OF_REMINDER = timedelta(hours=1)
# Last words the bot cannot judge: a person reads them. Until a plain message to the care team
# exists, they go as a routine alert of their own, which stops nothing (`PASSED_ON`).
UNREAD = Finding(Tier.ROUTINE, "words_unread")


@dataclass
class Step:
    """What a press did: the pressed message rewritten (or None to drop its buttons), then more.

    The rewritten question is in words already (`bot.ui.checkin_questions`); what follows is
    said as data (`bot.ui.views`), for the handler to put into words.
    """

    edit: Reply | None = None
    replies: list[Said] = field(default_factory=list)
    toast: Say | None = None


class Checkins:
    """Plan, send and take the answers of side-effect check-ins."""

    def __init__(
        self,
        db: Database,
        notifier: Notifier,
        clock: Clock,
        settings: Settings,
        reminders: Reminders,
        concerns: Concerns,
    ) -> None:
        self.db = db
        self.notifier = notifier
        self.clock = clock
        self.settings = settings
        self.reminders = reminders
        self.concerns = concerns
        self.expire_after = timedelta(hours=settings.checkin_expire_hours)
        self.outbox = Outbox(db, clock)

    # Planning and sending

    async def plan_for(self, repo: Repository, patient: Patient, dose: Dose) -> None:
        """Plan the night's check-in, if one falls on it (the hook Reminders calls)."""
        assert patient.start_date is not None
        due = checkin_due(
            plan_of(patient),
            patient.start_date,
            holds_of(patient),
            dose.night,
            after_step_up=self.settings.checkin_after_step_up_days,
            every=self.settings.checkin_every_days,
            tolerance=self.settings.tolerance_check_days,
        )
        if due is None or await repo.reports.on(patient.id, dose.night) is not None:
            return
        now = self.clock.now()
        kind, for_step = due
        answers: dict[str, object] = {"stage": "intro"}
        if kind == ReportKind.TOLERANCE:
            answers["increase_on"] = (
                dose.night + timedelta(days=self.settings.tolerance_check_days)
            ).isoformat()
        await repo.add(
            Report(
                patient_id=patient.id,
                kind=kind,
                status=ReportStatus.SCHEDULED,
                night=dose.night,
                for_step=for_step,
                dose_mg=dose.dose_mg,
                next_action_at=max(now, dose.remind_at - AHEAD_OF_REMINDER),
                answers=answers,
                attempts=0,
                created_at=now,
            )
        )

    async def dispatch(self, limit: int = 200) -> int:
        """Send every check-in that is due, and close those left too long; return how many."""
        return await self.outbox.drain(
            lambda repo, now, n: repo.reports.due_ids(now, n),
            self.send,
            limit,
            failed="Could not send check-in %s",
        )

    async def send(self, report_id: int) -> None:
        """Claim a planned check-in, then ask its first question; put it back if that fails.

        An open check-in that was asked comes due again when it has been left too long.
        """
        async with self.db.session() as session:
            repo = Repository(session)
            report = await repo.reports.get(report_id)
            now = self.clock.now()
            if report is None or report.next_action_at is None or report.next_action_at > now:
                return
            patient = report.patient
            # An open check-in still due was claimed by a process that died before sending it;
            # any other open one due has been left unfinished too long.
            asked = report.message_id is not None or report.kind == ReportKind.ASKED
            unsent = report.status == ReportStatus.OPEN and not asked
            if report.status == ReportStatus.OPEN and not unsent:
                await self._expire(repo, report, now)
                return
            if (
                not (report.status == ReportStatus.SCHEDULED or unsent)
                or not patient.receives_reminders
            ):
                await repo.claim(Report, report.id, {"status": report.status}, next_action_at=None)
                await repo.commit()
                return
            previous = await repo.reports.open(patient.id)
            await self.outbox.send(repo, _Intro(self, report, previous, now))

    async def ask(self, user_id: int) -> list[Said]:
        """/sideeffects: resume the open check-in, or start one now."""
        async with self.db.session() as session:
            repo = Repository(session)
            patient = await repo.patients.by_user(user_id)
            if patient is None or not patient.enrolled or patient.plan is None:
                return [NOT_ENROLLED]
            report = await repo.reports.open(patient.id)
            now = self.clock.now()
            if report is None:
                info = self.reminders.current(patient)
                report = Report(
                    patient_id=patient.id,
                    kind=ReportKind.ASKED,
                    status=ReportStatus.OPEN,
                    night=local_today(now, zone_of(patient)),
                    dose_mg=info.step.dose_mg if info else None,
                    answers={"stage": "flags"},
                    attempts=0,
                    created_at=now,
                    sent_at=now,
                    next_action_at=now + self.expire_after,
                )
                await repo.add(report)
            elif report.answers.get("stage") == "intro":
                report.answers = {**report.answers, "stage": "flags"}
            await repo.commit()
            return [ask.question(report, self.reminders.current_dose_words(patient))]

    # Answers

    async def press(
        self,
        user_id: int,
        report_id: int,
        question: str,
        value: str,
        message_id: int | None = None,
    ) -> Step:
        """Take a tap on a check-in question, if it answers the question being asked.

        `message_id` is the message tapped: the check-in lives there now (one started with
        /sideeffects too), so typed last words can take its buttons away.
        """
        async with self.db.session() as session:
            repo = Repository(session)
            report = await repo.reports.get(report_id)
            if report is None or report.patient.telegram_user_id != user_id:
                return Step(toast=Say("toast_not_yours"))
            stage = report.answers.get("stage")
            if report.status != ReportStatus.OPEN or question != ask.asking(report):
                return Step(toast=Say("checkin_stale"))
            if message_id is not None:
                report.message_id = message_id
            patient, answers = report.patient, dict(report.answers)
            step = Step()
            if stage == "intro":
                if value == "later":
                    step.replies.append(self._later(report))
                    # The pressed intro loses its buttons: none to take away when this expires.
                    report.answers = {**answers, "buttons_off": report.message_id}
                    await repo.commit()
                    return step
                answers["stage"] = "flags"
            elif stage in ("flags", "thyroid"):
                if value in (FLAGS if stage == "flags" else THYROID):
                    return await self._tick(repo, report, stage, value)
                if value == "none" and answers.get(stage):
                    # Not offered while a sign is ticked: a stale or forged press never wipes one.
                    return Step(toast=Say("checkin_stale"))
                if value == "none":
                    answers[stage] = []
                elif value != "done":
                    return Step(toast=Say("checkin_stale"))
                if stage == "flags" and answers.get("flags"):
                    report.answers = answers
                    return await self._finish(repo, report, step)
                answers["stage"] = "effects" if stage == "flags" else "words"
            elif stage == "effects":
                if value == "none":
                    answers["grades"] = {effect: 0 for effect in EFFECTS}
                    answers["stage"] = self._after_effects(patient)
                else:
                    answers["grades"], answers["stage"] = {}, "effect"
            elif stage == "effect":
                if value not in ("0", "1", "2", "3"):
                    return Step(toast=Say("checkin_stale"))
                grades = dict(answers.get("grades", {}))
                grades[question] = int(value)
                answers["grades"] = grades
                if len(grades) == len(EFFECTS):
                    answers["stage"] = self._after_effects(patient)
            elif stage == "words":
                report.answers = answers
                patient.awaiting = None
                return await self._finish(repo, report, step)
            report.answers = answers
            if answers["stage"] == "words":
                patient.awaiting = Awaiting.CHECKIN_WORDS
            await repo.commit()
            step.edit = ask.question(report, self.reminders.current_dose_words(patient))
            return step

    async def words(self, user_id: int, text: str) -> list[Said] | None:
        """The patient's own words, typed as the check-in's last answer."""
        async with self.db.session() as session:
            repo = Repository(session)
            patient = await repo.patients.by_user(user_id)
            if patient is None or patient.awaiting != Awaiting.CHECKIN_WORDS:
                return None
            patient.awaiting = None
            report = await repo.reports.open(patient.id)
            if report is None or report.answers.get("stage") != "words":
                # The check-in that asked is gone: the words are read as any other message.
                await repo.commit()
                return None
            report.words = text.strip()[:2000]
            if report.message_id is not None:
                await self.notifier.clear_buttons(patient.chat_id, report.message_id)
            step = await self._finish(repo, report, Step())
            return step.replies

    # Sorting and answering

    async def _tick(self, repo: Repository, report: Report, stage: str, code: str) -> Step:
        """Tick or untick a sign; a red flag ticked goes to the care team there and then."""
        patient, answers = report.patient, dict(report.answers)
        chosen = list(answers.get(stage, []))
        if code in chosen and f"flag_{code}" in answers.get("raised", []):
            # Passed on the moment it was ticked: taking the tick away would not unsay it.
            return Step(toast=Say("checkin_flag_kept"))
        answers[stage] = [c for c in chosen if c != code] if code in chosen else chosen + [code]
        report.answers = answers
        raised = None
        if stage == "flags":
            # An emergency or urgent sign cannot wait for Done, nor for the patient to come back.
            found = await self._triage(repo, report, self.clock.now())
            raised = await self._raise(repo, report, found, at_least=Tier.URGENT)
        await repo.commit()
        step = Step(edit=ask.question(report, self.reminders.current_dose_words(patient)))
        if raised is not None:
            self.concerns.deliver_soon(raised)
            step.replies.append(self.concerns.reply(raised, patient))
        return step

    async def _finish(self, repo: Repository, report: Report, step: Step) -> Step:
        """Sort the answers, pass on what is concerning, and tell the patient what happens now."""
        patient, now = report.patient, self.clock.now()
        result = await self._triage(repo, report, now)
        report.status, report.completed_at, report.next_action_at = ReportStatus.DONE, now, None
        report.tier = TierCode.of(result.tier)
        earlier = bool(report.answers.get("raised"))
        report.answers = {**report.answers, "stage": "done"}
        raised = await self._raise(repo, report, result)
        await repo.commit()
        if raised is not None:
            self.concerns.deliver_soon(raised)
        step.replies.append(self._outcome(result, raised, earlier, patient))
        return step

    async def _expire(self, repo: Repository, report: Report, now: datetime) -> None:
        """Sort a check-in left unfinished too long on what was answered, then close it."""
        deadline = (report.sent_at or report.created_at) + self.expire_after
        if now < deadline:
            # Due early (a send recovered after the patient had started answering): wait.
            await repo.claim(
                Report, report.id, {"status": ReportStatus.OPEN}, next_action_at=deadline
            )
            await repo.commit()
            return
        if not await repo.claim(
            Report, report.id, {"status": ReportStatus.OPEN}, next_action_at=None
        ):
            await repo.rollback()  # finished meanwhile
            return
        raised = await self._close(repo, report, now, keep_quiet_tolerance=True)
        await repo.commit()
        await self._closed(report, raised)

    async def _close(
        self, repo: Repository, report: Report, now: datetime, keep_quiet_tolerance: bool = False
    ) -> Raised | None:
        """Raise what an unfinished check-in's answers call for, and close it; the caller commits.

        With `keep_quiet_tolerance`, a tolerance check with nothing to raise stays open instead,
        answerable until its increase: there, an unanswered one holds the increase (`Reminders`),
        as a missing answer never counts as a yes.
        """
        result = await self._triage(repo, report, now)
        raised = await self._raise(repo, report, result)
        report.next_action_at = None
        quiet = raised is None and not report.answers.get("raised")
        if keep_quiet_tolerance and quiet and report.kind == ReportKind.TOLERANCE:
            return None
        report.status = ReportStatus.EXPIRED
        if result.tier > Tier.NONE:
            report.tier = TierCode.of(result.tier)
        if report.patient.awaiting == Awaiting.CHECKIN_WORDS:
            report.patient.awaiting = None
        return raised

    async def _closed(self, report: Report, raised: Raised | None) -> None:
        """After the commit: take the buttons away; send what it raised, and tell the patient."""
        patient = report.patient
        shown = report.message_id
        if report.status == ReportStatus.EXPIRED and shown not in (
            None,
            report.answers.get("buttons_off"),
        ):
            try:
                await self.notifier.clear_buttons(patient.chat_id, shown)
            except Exception as exc:
                # Only the old buttons stay (a press on them is refused kindly); what the
                # check-in raised is still passed on and the patient still told, below.
                log.warning("Check-in %s: its buttons stay: %s", report.id, type(exc).__name__)
        if raised is None:
            return
        self.concerns.deliver_soon(raised)
        told = Lines((Say("checkin_expired_raised"), self.concerns.reply(raised, patient)), "\n\n")
        try:
            for reply in render(told, self.settings):
                await self.notifier.send(patient.chat_id, reply)
        except Exception as exc:
            # The alert is stored and the stop applied; only this message is lost.
            log.warning("Check-in %s: the patient was not told: %s", report.id, type(exc).__name__)

    async def _triage(self, repo: Repository, report: Report, now: datetime) -> Triage:
        """What the check-in's answers so far call for, against the patient's earlier ones."""
        earlier = await repo.reports.done(report.patient_id)
        history = [h for h in (_answers(r) for r in earlier if r.id != report.id) if h.at < now]
        result = triage(_answers(report, now), history)
        if not result.alerts and not ask.nothing_more(report.words):
            # Words the bot cannot judge go to a person, never answered with an all-clear. (With
            # anything else to alert on, they go with that alert.)
            result = combine(result, Triage(UNREAD.tier, (UNREAD,)))
        return result

    async def _raise(
        self, repo: Repository, report: Report, result: Triage, at_least: Tier = Tier.ROUTINE
    ) -> Raised | None:
        """Raise the findings this check-in has not raised yet; the caller commits."""
        done = list(report.answers.get("raised", []))
        new = tuple(f for f in result.findings if f.tier >= at_least and f.reason not in done)
        if not new:
            return None
        fresh = Triage(max(f.tier for f in new), new)
        report.answers = {**report.answers, "raised": done + [f.reason for f in new]}
        before = TierCode(report.tier).tier if report.tier else Tier.NONE
        report.tier = TierCode.of(max(before, fresh.tier))
        return await self.concerns.raise_(
            repo, report.patient, fresh, words=report.words, report_id=report.id
        )

    def _outcome(
        self, result: Triage, raised: Raised | None, earlier: bool, patient: Patient
    ) -> Say | Lines:
        """What the patient reads at the end: what to do now, or a word of thanks and tips."""
        if raised is not None:
            told = self.concerns.reply(raised, patient)
            if UNREAD in result.findings:
                return Lines((Say("checkin_words_unread"), told), "\n\n")
            return told
        if earlier or result.alerts:
            return Say("checkin_done_raised")  # all of it was passed on as it was ticked
        notice = stopped(patient)
        if notice is not None:
            # LDN is stopped: nothing here may read as "keep going with your plan".
            return Lines((Say("checkin_thanks"), notice), "\n\n")
        if result.tier is Tier.INFO:
            lines = [Say("checkin_info"), *(Say(tip) for tip in result.tips)]
            if any(f.reason == "mild_mood" for f in result.findings):
                lines.append(Say("checkin_mood_watch"))
            lines.append(Say("checkin_info_end"))
            return Lines(tuple(lines), "\n\n")
        return Say("checkin_none")

    def _after_effects(self, patient: Patient) -> str:
        return "thyroid" if patient.thyroid_medication else "words"

    def _later(self, report: Report) -> Say:
        increase = report.answers.get("increase_on")
        if report.kind == ReportKind.TOLERANCE and increase:
            when = messages.day(date.fromisoformat(increase))
            return Say("checkin_later_tolerance", {"date": when})
        return Say("checkin_later")

    # Questions


@dataclass
class _Intro:
    """A check-in's first question, as the outbox sends it: claimed "open", put back "scheduled"."""

    checkins: Checkins
    report: Report
    previous: Report | None  # the patient's open check-in, which this one replaces
    now: datetime
    replaced: Raised | None = None
    kind = "checkin"
    maybe_sent_is_sent = False  # asked again: a check-in may come twice, never be lost
    refused_factor = 1.0  # asked again at the plain backoff: it may hold a red flag

    @property
    def key(self) -> str:
        return f"check-in {self.report.id}"

    @property
    def attempts(self) -> int:
        return self.report.attempts

    @property
    def replaces(self) -> bool:
        return self.previous is not None and self.previous.id != self.report.id

    async def claim(self, repo: Repository) -> bool:
        report, now = self.report, self.now
        deadline = now + nightly.SENDING_TIMEOUT
        when = {"status": report.status}
        if not await repo.claim(
            Report, report.id, when, status=ReportStatus.OPEN, next_action_at=deadline, sent_at=now
        ):
            return False
        if self.previous is not None and self.replaces:
            # A newer check-in replaces one that was never finished: what it had is sorted.
            self.replaced = await self.checkins._close(repo, self.previous, now)
        return True

    async def send(self) -> int | None:
        checkins, report = self.checkins, self.report
        if self.previous is not None and self.replaces:
            await checkins._closed(self.previous, self.replaced)
        words = checkins.reminders.current_dose_words(report.patient)
        intro = ask.intro(report, words)
        return await checkins.notifier.send(report.patient.chat_id, intro, report.attempts)

    async def sent(self, repo: Repository, message_id: int | None) -> None:
        later = self.now + self.checkins.expire_after
        opened = {"status": ReportStatus.OPEN}
        await repo.claim(
            Report, self.report.id, opened, message_id=message_id, next_action_at=later
        )

    async def retry(self, repo: Repository, exc: Exception, delay: float) -> None:
        log.info("Check-in %s must wait: %s", self.report.id, type(exc).__name__)
        await repo.claim(
            Report,
            self.report.id,
            {"status": ReportStatus.OPEN},
            status=ReportStatus.SCHEDULED,
            attempts=self.report.attempts + 1,
            next_action_at=self.now + timedelta(seconds=delay),
        )

    async def unreachable(self, repo: Repository, exc: Unreachable) -> None:
        await repo.claim(
            Report, self.report.id, {"status": ReportStatus.OPEN}, status=ReportStatus.EXPIRED
        )


def _answers(report: Report, now: datetime | None = None) -> Answers:
    """A stored report as the triage rules read it."""
    at = report.completed_at or now
    assert at is not None
    return Answers(
        at=at,
        dose_mg=report.dose_mg if report.dose_mg is not None else Decimal(0),
        grades={k: Grade(v) for k, v in report.answers.get("grades", {}).items()},
        flags=frozenset(report.answers.get("flags", [])),
        thyroid=frozenset(report.answers.get("thyroid", [])),
        words=report.words,
    )
