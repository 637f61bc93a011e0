"""Enrollment as a conversation whose state lives in the database, so a restart resumes it.

Each question is a value of `Patient.awaiting`; an answer is either typed or a button press naming
the question it answers, so a press on an old question is recognised and refused kindly.
Enrollment asks: consent, the safety screening (screen, then screen_<code> one by one after a
yes), plan (unless a provider's invitation set it), zone (then zone_confirm for a typed place),
start, bedtime, summary. The zone comes before the start date, so that "tonight" is the
patient's own tonight.
"""

from __future__ import annotations

from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

from bot.app.clock import Clock
from bot.app.settings import Settings
from bot.care.alerts import Alerts
from bot.care.escalations import store as store_escalation
from bot.care.patient import stopped
from bot.care.reminders import Reminders, plan_of, zone_of
from bot.rules import nightly
from bot.rules.parsing import match_timezone, parse_bedtime, parse_start_date, zone_city
from bot.rules.plans import BUILTIN_PLANS, Plan, schedule
from bot.rules.states import Awaiting
from bot.rules.timing import local_now, local_today
from bot.rules.triage import SCREENING, screening
from bot.ui import callbacks, messages
from bot.ui.views import Button, Choice, Lines, PlanLines, Say, Show
from storage.db import Database
from storage.models import Invite, Patient
from storage.repositories import Repository

# What a question step says: a sentence, or one with buttons (`bot.ui.render` puts it into words).
Said = Say | Lines | Show

BEDTIME_CHOICES = ("21:00", "21:30", "22:00", "22:30", "23:00", "23:30")
# The first night is tonight or later: a patient already on LDN starts at their dose only
# through a provider's invitation (`/invite ... from <mg>`), never on their own word.
START_FUTURE_DAYS = 30
SUMMARY_STEPS = 3
MORNING_CHOICES = ("06:30", "07:00", "07:30", "08:00", "08:30", "09:00")


class Conversation:
    """Answer /start, typed answers and question buttons, for onboarding and settings changes."""

    def __init__(
        self,
        db: Database,
        reminders: Reminders,
        clock: Clock,
        settings: Settings,
        alerts: Alerts | None = None,
    ) -> None:
        self.db = db
        self.reminders = reminders
        self.clock = clock
        self.settings = settings
        self.alerts = alerts

    async def start(self, user_id: int, chat_id: int, code: str | None = None) -> list[Said]:
        """Begin enrollment (with a provider's invitation code), resume it, or welcome back."""
        async with self.db.session() as session:
            repo = Repository(session)
            patient = await repo.patients.by_user(user_id)
            invite = await repo.invites.get(code) if code else None
            now = self.clock.now()
            if code and (invite is None or invite.used_at is not None or invite.expires_at <= now):
                if patient is None or not patient.enrolled:
                    return [Say("invite_invalid", clinic=True)]
                invite = None
            if patient is None:
                if invite is None and not self.settings.allow_self_enrollment:
                    return [Say("invite_needed", clinic=True)]
                patient = await repo.patients.add(user_id, chat_id, now)
                patient.awaiting = Awaiting.CONSENT
                replies: list[Said] = [Say("welcome", clinic=True)]
                if invite is not None:
                    accepted = await self._accept(repo, patient, invite)
                    if accepted is None and not self.settings.allow_self_enrollment:
                        # Used or withdrawn since we read it: no link, no enrollment.
                        await repo.rollback()
                        return [Say("invite_invalid", clinic=True)]
                    replies += accepted or [Say("invite_invalid", clinic=True)]
                await repo.commit()
                return replies + [self.prompt(patient)]
            patient.chat_id = chat_id
            if not patient.enrolled and invite is not None and patient.label is None:
                replies = await self._accept(repo, patient, invite) or [
                    Say("invite_invalid", clinic=True)
                ]
                await repo.commit()
                return replies + [self.prompt(patient)]
            if not patient.enrolled:
                await repo.commit()
                return [Say("onboarding_resume"), self.prompt(patient)]
            patient.awaiting = None
            resumed = long_gap = False
            if patient.blocked_bot or patient.reminders_paused:
                patient.blocked_bot = False
                patient.reminders_paused = False
                gap = await self.reminders.replan(repo, patient)
                long_gap = await self.reminders.resumed(repo, patient, gap)
                resumed = True
            await repo.commit()
            notice = stopped(patient)
            if notice is not None:
                # The care team's stop stands whatever /start turned back on: say so, plainly.
                return [Say("welcome_back_stopped", {"stop": notice})]
            if not resumed:
                return [Say("already_enrolled")]
            replies = [Say("welcome_back_resumed", {"bedtime": _bedtime(patient)})]
            if long_gap:
                replies.append(Say("resume_after_gap", clinic=True))
            return replies

    async def _accept(
        self, repo: Repository, patient: Patient, invite: Invite
    ) -> list[Said] | None:
        """Enroll on the invitation's plan; None if it was used or withdrawn meanwhile."""
        if not await repo.invites.claim(invite.id, self.clock.now(), patient.id):
            return None
        patient.label = invite.label
        patient.plan = invite.plan
        if patient.awaiting == Awaiting.PLAN:
            patient.awaiting = Awaiting.ZONE
        plan = Plan.from_dict(invite.plan)
        if plan.start_step == 1:
            return [Say("invite_plan", {"plan": plan})]
        first = plan.steps[plan.start_step - 1]
        values = {"plan": plan, "step": first.number, "steps": len(plan.steps), "dose": first}
        return [Say("invite_plan_from", values)]

    async def answer(self, repo: Repository, patient: Patient, text: str) -> list[Said]:
        """Take a typed answer to the question being asked, in the caller's unit of work.

        The inbox decides that typed words are an answer (`bot/care/inbox.py`); the caller commits.
        """
        return await self._typed(repo, patient, text.strip())

    async def press(self, user_id: int, step: str, value: str) -> list[Said]:
        """Take a button answer, if it answers the question being asked now."""
        async with self.db.session() as session:
            repo = Repository(session)
            patient = await repo.patients.by_user(user_id)
            if patient is None:
                return [Say("not_enrolled")]
            if patient.awaiting != step:
                if patient.awaiting is None:
                    return [Say("toast_unknown")]
                return [Say("stale_button"), self.prompt(patient)]
            replies = await self._pressed(repo, patient, value)
            await repo.commit()
            patient_id = patient.id
        if self.alerts is not None and step.startswith("screen"):
            # A screening "yes" reaches the care team now, not at the dispatcher's next round.
            await self.alerts.deliver_new(patient_id)
        return replies

    async def ask(self, user_id: int, question: str) -> list[Said]:
        """Start a settings question for an enrolled patient."""
        async with self.db.session() as session:
            repo = Repository(session)
            patient = await repo.patients.by_user(user_id)
            if patient is None or not patient.enrolled:
                return [Say("not_enrolled")]
            patient.awaiting = Awaiting(question)
            await repo.commit()
            return [self.prompt(patient)]

    # The questions

    def prompt(self, patient: Patient) -> Said:
        """The question for the patient's current state, with its buttons."""
        step = patient.awaiting
        if step == Awaiting.CONSENT:
            return Show(
                Say("consent"),
                _row(step, ("yes", Say("button_consent_yes")), ("no", Say("button_consent_no"))),
            )
        if step == Awaiting.SCREEN:
            return Show(
                Say("screen"),
                (
                    (Choice(Say("button_screen_none"), callbacks.onboarding(step, "none")),),
                    (Choice(Say("button_screen_some"), callbacks.onboarding(step, "some")),),
                ),
            )
        if step is not None and step.startswith("screen_"):
            return Show(
                Say("screen_q_" + step.removeprefix("screen_")),
                _row(step, ("yes", Say("button_yes_short")), ("no", Say("button_no_short"))),
            )
        if step == Awaiting.CHECKIN_WORDS:
            return Say("checkin_words")
        if step == Awaiting.SET_MORNING:
            return Show(Say("decided_morning"), time_buttons(step, MORNING_CHOICES))
        if step == Awaiting.PLAN:
            choices = [(key, Say(f"button_plan_{key}")) for key in self._offered_plans()]
            choices.append(("other", Say("button_plan_other")))
            return Show(
                Say("ask_plan"),
                tuple((Choice(label, callbacks.onboarding(step, key)),) for key, label in choices),
            )
        if step == Awaiting.START:
            return Show(
                Say("ask_start"),
                _row(step, ("today", Say("button_today")), ("tomorrow", Say("button_tomorrow"))),
            )
        if step in (Awaiting.BEDTIME, Awaiting.SET_BEDTIME):
            return Show(Say("ask_bedtime"), time_buttons(step, BEDTIME_CHOICES))
        if step in (Awaiting.ZONE, Awaiting.SET_ZONE):
            default = self.settings.default_timezone
            return Show(
                Say("ask_timezone"),
                (
                    (Button(zone_city(default), callbacks.onboarding(step, default)),),
                    (Choice(Say("button_zone_other"), callbacks.onboarding(step, "other")),),
                ),
            )
        if step in (Awaiting.ZONE_CONFIRM, Awaiting.SET_ZONE_CONFIRM):
            return Say("ask_timezone_city")
        if step == Awaiting.SUMMARY:
            return self._summary(patient)
        return Say("toast_unknown")

    async def _typed(self, repo: Repository, patient: Patient, text: str) -> list[Said]:
        step = patient.awaiting
        if step in (Awaiting.BEDTIME, Awaiting.SET_BEDTIME, Awaiting.SET_MORNING):
            bedtime = parse_bedtime(text)
            if bedtime is None:
                return [Say("bad_bedtime"), self.prompt(patient)]
            return await self._set_bedtime(repo, patient, bedtime)
        if step in (
            Awaiting.ZONE,
            Awaiting.SET_ZONE,
            Awaiting.ZONE_CONFIRM,
            Awaiting.SET_ZONE_CONFIRM,
        ):
            matches = match_timezone(text)
            if not matches:
                return [Say("bad_timezone")]
            patient.awaiting = (
                Awaiting.SET_ZONE_CONFIRM if step.startswith("set_") else Awaiting.ZONE_CONFIRM
            )
            now = self.clock.now()
            buttons = tuple(
                (
                    Button(
                        f"{m.label} · {messages.clock(local_now(now, ZoneInfo(m.zone)).time())}",
                        callbacks.onboarding(patient.awaiting, m.zone),
                    ),
                )
                for m in matches
            ) + (
                (Choice(Say("button_no_other"), callbacks.onboarding(patient.awaiting, "other")),),
            )
            first = matches[0]
            local = messages.clock(local_now(now, ZoneInfo(first.zone)).time())
            return [
                Show(Say("confirm_timezone", {"zone": first.label, "local_time": local}), buttons)
            ]
        if step == Awaiting.START:
            today = self._today(patient)
            start = parse_start_date(text, today)
            if start is None:
                return [Say("bad_start"), self.prompt(patient)]
            return self._set_start(patient, start)
        # Questions answered only with buttons: ask again, kindly.
        return [self.prompt(patient)]

    async def _pressed(self, repo: Repository, patient: Patient, value: str) -> list[Said]:
        step = patient.awaiting
        if step == Awaiting.CONSENT:
            if value != "yes":
                await repo.patients.delete(patient)
                return [Say("consent_declined")]
            patient.consent_at = self.clock.now()
            return self._advance(patient, Awaiting.SCREEN)
        if step == Awaiting.SCREEN or (step is not None and step.startswith("screen_")):
            return await self._screened(repo, patient, step, value)
        if step == Awaiting.PLAN:
            if value not in self._offered_plans():
                return [Say("plan_other", clinic=True), self.prompt(patient)]
            patient.plan = BUILTIN_PLANS[value].to_dict()
            return [Say("plan_chosen", {"plan": BUILTIN_PLANS[value]})] + self._advance(
                patient, Awaiting.ZONE
            )
        if step == Awaiting.START and value in ("today", "tomorrow"):
            # The calendar date, not the night in progress: "tonight" pressed at 2 a.m. means
            # the coming evening, not the one that is ending.
            today = local_now(self.clock.now(), self._zone(patient)).date()
            return self._set_start(
                patient, today if value == "today" else today + timedelta(days=1)
            )
        if step in (Awaiting.BEDTIME, Awaiting.SET_BEDTIME, Awaiting.SET_MORNING):
            bedtime = parse_bedtime(value[:2] + ":" + value[2:]) if len(value) == 4 else None
            if bedtime is None:
                return [self.prompt(patient)]
            return await self._set_bedtime(repo, patient, bedtime)
        if step in (
            Awaiting.ZONE,
            Awaiting.SET_ZONE,
            Awaiting.ZONE_CONFIRM,
            Awaiting.SET_ZONE_CONFIRM,
        ):
            if value == "other":
                patient.awaiting = (
                    Awaiting.SET_ZONE_CONFIRM if step.startswith("set_") else Awaiting.ZONE_CONFIRM
                )
                return [Say("ask_timezone_city")]
            if not _real_zone(value):
                return [self.prompt(patient)]
            return await self._set_zone(repo, patient, value)
        if step == Awaiting.SUMMARY:
            if value == "restart":
                patient.start_date, patient.bedtime, patient.timezone = None, None, None
                if patient.label is None:  # a provider's prescription stays
                    patient.plan = None
                return self._advance(patient, Awaiting.ZONE if patient.plan else Awaiting.PLAN)
            assert patient.start_date is not None
            if patient.start_date < self._today(patient):
                # Confirmed days after the summary was shown: the first night is chosen again.
                passed = messages.day(patient.start_date, self._today(patient))
                patient.start_date = None
                return [Say("start_passed", {"date": passed}), *self._advance(patient, "start")]
            patient.awaiting = None
            patient.enrolled_at = self.clock.now()
            if patient.awaiting_clearance:
                return [Say("enrolled_waiting", clinic=True)]
            await self.reminders.plan_next_night(repo, patient, backfill=False)
            return [Say("enrolled", {"bedtime": _bedtime(patient)})]
        return [self.prompt(patient)]

    # Applying answers

    def _set_start(self, patient: Patient, start: date) -> list[Said]:
        today = self._today(patient)
        if start < today:
            # A first dose in the past would put the patient on a later step from night one.
            sorry = Say("start_past", {"days": START_FUTURE_DAYS}, clinic=True)
            return [sorry, self.prompt(patient)]
        if start > today + timedelta(days=START_FUTURE_DAYS):
            return [Say("start_too_far", {"days": START_FUTURE_DAYS}), self.prompt(patient)]
        patient.start_date = start
        return self._advance(patient, Awaiting.BEDTIME)

    async def _screened(
        self, repo: Repository, patient: Patient, step: str, value: str
    ) -> list[Said]:
        """Record a screening answer; after the last, pass any yes to the care team."""
        answers = dict(patient.screening or {})
        if step == Awaiting.SCREEN:
            if value == "none":
                patient.screening = {code: False for code in SCREENING}
                return self._after_screening(patient)
            return self._advance(patient, Awaiting.screen(SCREENING[0]))
        if value not in ("yes", "no"):
            return [self.prompt(patient)]
        code = step.removeprefix("screen_")
        answers[code] = value == "yes"
        patient.screening = answers
        remaining = [c for c in SCREENING if c not in answers]
        if remaining:
            return self._advance(patient, Awaiting.screen(remaining[0]))
        patient.thyroid_medication = answers.get("thyroid", False)
        result = screening(answers)
        if not result.alerts:
            return self._after_screening(patient)
        # A yes: the first dose waits until a provider has seen the answers.
        patient.awaiting_clearance = True
        await store_escalation(repo, patient, result, self.clock.now())
        return [Say("screen_flagged", clinic=True)] + self._after_screening(patient)

    def _after_screening(self, patient: Patient) -> list[Said]:
        return self._advance(patient, Awaiting.ZONE if patient.plan else Awaiting.PLAN)

    async def _set_bedtime(self, repo: Repository, patient: Patient, bedtime: time) -> list[Said]:
        patient.bedtime = bedtime
        if patient.awaiting == Awaiting.SET_MORNING:
            patient.awaiting = None
            changed = Say("morning_changed", {"time": _bedtime(patient)})
            return await self._moved(repo, patient, changed)
        if patient.awaiting == Awaiting.SET_BEDTIME:
            patient.awaiting = None
            changed = Say("bedtime_changed", {"bedtime": _bedtime(patient)})
            return await self._moved(repo, patient, changed)
        return self._advance(patient, Awaiting.SUMMARY)

    async def _set_zone(self, repo: Repository, patient: Patient, zone: str) -> list[Said]:
        patient.timezone = zone
        if patient.awaiting in (Awaiting.SET_ZONE, Awaiting.SET_ZONE_CONFIRM):
            patient.awaiting = None
            changed = Say("zone_changed", {"zone": zone_city(zone)})
            return await self._moved(repo, patient, changed)
        return self._advance(patient, Awaiting.START)

    async def _moved(self, repo: Repository, patient: Patient, done: Say) -> list[Said]:
        """Plan reminders on the new time; say when the next comes if a recent dose puts it off."""
        await self.reminders.replan(repo, patient)
        notice = stopped(patient)
        if notice is not None:
            # Stopped by the care team: the new time is kept for when they lift it.
            return [Lines((done, notice), "\n\n")]
        later = await self.reminders.put_off(repo, patient)
        if later is None:
            return [done]
        local = later.remind_at.astimezone(zone_of(patient))
        note = Say(
            "reminder_put_off",
            {
                "day": messages.day(local.date()),
                "time": messages.clock(local.time()),
                "hours": int(nightly.MIN_DOSE_GAP.total_seconds() // 3600),
            },
        )
        return [Lines((done, note), "\n\n")]

    def _advance(self, patient: Patient, step: str) -> list[Said]:
        patient.awaiting = Awaiting(step)
        return [self.prompt(patient)]

    def _summary(self, patient: Patient) -> Said:
        plan: Plan = plan_of(patient)
        assert patient.start_date is not None
        today = self._today(patient)
        # The first night is tonight or later: the plan begins at its start step (step 1, or
        # the provider's "from" step for a patient already on LDN); earlier steps are not shown.
        steps = schedule(plan, patient.start_date, [])
        upcoming = steps[plan.start_step - 1 :][:SUMMARY_STEPS]
        text = Say(
            "summary",
            {
                "plan": plan,
                "start": messages.day(patient.start_date, today),
                "bedtime": _bedtime(patient),
                "zone": zone_city(patient.timezone or ""),
                "steps": PlanLines(tuple(upcoming), None, today),
            },
        )
        return Show(
            text,
            _row("summary", ("confirm", Say("button_confirm")), ("restart", Say("button_restart"))),
        )

    def _offered_plans(self) -> list[str]:
        """The built-in plans this clinic allows: none above its MAX_DOSE_MG."""
        return [
            key
            for key, plan in BUILTIN_PLANS.items()
            if plan.target_mg <= self.settings.max_dose_mg
        ]

    def _zone(self, patient: Patient) -> ZoneInfo:
        return zone_of(patient) if patient.timezone else ZoneInfo(self.settings.default_timezone)

    def _today(self, patient: Patient) -> date:
        """The patient's current night (before 06:00 it is still last night)."""
        return local_today(self.clock.now(), self._zone(patient))


def time_buttons(step: str, choices: tuple[str, ...]) -> tuple[tuple[Button, ...], ...]:
    """Times to tap, three to a row; a payload carries the time as HHMM."""
    buttons = [Button(c, callbacks.onboarding(step, c.replace(":", ""))) for c in choices]
    return tuple(tuple(buttons[i : i + 3]) for i in range(0, len(buttons), 3))


def _row(step: str, *choices: tuple[str, Say]) -> tuple[tuple[Choice, ...], ...]:
    return (tuple(Choice(label, callbacks.onboarding(step, value)) for value, label in choices),)


def _bedtime(patient: Patient) -> str:
    assert patient.bedtime is not None
    return messages.clock(patient.bedtime)


def _real_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (KeyError, ValueError):
        return False
    return True
