"""`python -m devtools demo`: a patient invited, then twelve weeks of the 0.5 mg plan.

The real Application runs against the in-process fake Telegram on a virtual clock and a throwaway
SQLite file. The clinic's provider opens the bot and sends an invitation; the scripted patient
enrolls with its link, takes (or snoozes, skips, misses) each night's dose and answers the
side-effect check-ins as they come. One answer is concerning: the alert reaches the provider's
chat; they write back and decide. Weeks in, the patient says a dentist gave them an opioid: the bot
withholds LDN (no reminder, the night not counted) until the provider's decision the next morning
lifts it. Both chats are printed as their people saw them, then a summary read from the database.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import tempfile
import time as wall
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.app.settings import Settings
from bot.care.checkins import AHEAD_OF_REMINDER
from bot.rules.states import (
    AuditAction,
    Decision,
    DoseStatus,
    ReportKind,
    ReportStatus,
    StopCode,
    TierCode,
)
from bot.rules.timing import reminder_at
from bot.rules.triage import EFFECTS
from bot.ui import messages
from bot.ui.presenters import reason_text, who
from bot.ui.texts import t
from devtools.chat_view import GUTTER, ChatView, Line, Printer
from devtools.simulation import Simulation, VirtualClock, migrate, running
from fake_telegram.core import FakeMessage, FakeTelegram, FakeUser
from storage.models import AuditEntry, Dose, Escalation, Report
from storage.repositories import Repository

# Every sentence the demo prints itself; the bot's own are in bot/ui/texts.py.
TITLE = (
    "LDN bot demo: a provider invites one patient to the 0.5 mg plan; {nights} nights with "
    "side-effect check-ins, offline (seed {seed})."
)
LEGEND = (
    "Times are the patient's ({zone}). Lines marked “{provider} {gutter}” are the provider's "
    "chat with the bot,\nthe others the patient's. > is what someone types or taps; ✎ is an edit; "
    "· is a note."
)
WEEK = "Week {number}"
MISSED = "no answer by {time}: the night is recorded as missed"
SUMMARY = "Summary, read from the bot's database:"
SUMMARY_NIGHTS = (
    "Nights: {taken} taken, {skipped} skipped, {missed} missed, of {total} reminded; "
    "{withheld} not reminded while LDN was withheld."
)
SUMMARY_STEPS = "Steps reached:"
SUMMARY_STEP = "  step {step}: {dose}, from {day}"
SUMMARY_CURRENT = "Current dose: {dose}."
SUMMARY_CHECKINS = (
    "Check-ins: {answered} of {sent} answered ({tolerance} of them before an increase): "
    "{none} with nothing to report, {info} with common side effects, {alerting} passed to the "
    "care team."
)
SUMMARY_ESCALATIONS = "Escalations raised: {count}."
SUMMARY_ESCALATION = "  #{id} {tier}, {day} {time}: {reasons}. {stop}{outcome}"
# The safety stop each alert put in force until a provider decided (its `stop` column).
SUMMARY_STOP = {
    StopCode.WITHHOLD: "LDN withheld, {nights} not reminded. ",
    StopCode.HOLD: "Next increase held. ",
}
SUMMARY_DECIDED = "{decision} by {who}, {after} later."
SUMMARY_LIFTED = "Withhold lifted by {who} on {day} {time}, {after} later: {decision}."
SUMMARY_MINUTES = "{minutes} min"
SUMMARY_HOURS = "{hours} h {minutes} min"
SUMMARY_UNDECIDED = "Not decided yet ({status})."
SUMMARY_AUDIT = "Audit trail, who did what: {count} entries."
SUMMARY_AUDIT_LINE = "  {day} {time} UTC · {who} · {action}"
AUDIT_MESSAGE = "wrote to the patient, replying to alert #{id}"
AUDIT_DECISION = "{decision} (alert #{id})"
WHO = "{name} (user {id})"
NIGHTS_COUNT = {1: "1 night"}
NIGHTS_MANY = "{n} nights"
NOT_REMINDED = (
    "no reminder at {time}: LDN is withheld, and the night does not count toward the step"
)
NO_BUTTON = "The script expected a message with {button} at {when:%Y-%m-%d %H:%M} UTC: none came"
WALL_TIME = "(demo ran in {seconds:.1f} s of real time)"
REFUSED = "The fake Telegram refused a request of the bot: {method}: {why}"
DEFAULT_SEED = 7
NIGHTS = 96  # the 4.5 mg step starts after 84 nights taken: about night 92 with the nights off
FIRST_WEEK = 7
PATIENT_ID = 4242
DOCTOR_ID = 5150
DOCTOR = "Provider"  # the demo clinic's provider, named by role
ADMIN_ID = 5190
LABEL = "CH-4242"  # a chart number: providers never label patients by name
ZONE = ZoneInfo("Europe/London")  # its clocks go forward on 29 March, mid-plan
START = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)  # a Monday afternoon in London, at the clinic
PATIENT_OPENS_LINK = timedelta(hours=2, minutes=10)  # after START: at home that evening
BEDTIME = "22:30"
STEP_NIGHTS = 14  # the 0.5 mg plan's nights on each dose

# What the patient does each night. The first week shows every kind; the rest are placed by seed.
TAKEN, SNOOZED, LATE, SKIPPED, MISSED_NIGHT = "taken", "snoozed", "late", "skipped", "missed"
WITHHELD = "withheld"  # the bot withholds LDN: no reminder comes, and the night does not count
FIRST_WEEK_PATTERN = (TAKEN, SNOOZED, TAKEN, SKIPPED, MISSED_NIGHT, TAKEN, LATE)
LATER_EXCEPTIONS = (SNOOZED,) * 7 + (LATE,) * 2 + (SKIPPED,) * 3 + (MISSED_NIGHT,) * 2


@dataclass(frozen=True)
class CheckinAnswer:
    """How the patient answers one check-in: the effects they grade, and any words they type."""

    grades: Mapping[str, int] = field(default_factory=dict)  # effect -> 1 mild .. 3 severe
    words: str | None = None
    later: bool = False  # "Not now"

    @property
    def plain(self) -> bool:
        """Nothing to tell: "No, none" and "Nothing else", or not now."""
        return not self.grades and self.words is None


NOTHING = CheckinAnswer()
# The check-ins the patient answers with more than "no, none", by their order. The first comes
# three nights in; the fourth on the evening of the first step up (the patient is busy: not now);
# the fifth three nights into 1 mg. The rest: nothing to report.
CHECKIN_ANSWERS: Mapping[int, CheckinAnswer] = {
    1: CheckinAnswer({"sleep": 1}),
    4: CheckinAnswer(later=True),
    5: CheckinAnswer({"stomach": 3}, "I've felt sick most evenings since the new dose."),
    6: CheckinAnswer({"stomach": 1}),
    17: CheckinAnswer(words="Sleeping well, and my knees hurt less."),
}
# The check-in whose answer alerts the care team, and what the provider does about it.
ALERTING = 5
DOCTOR_REPLY = (
    "Thanks for telling us. Nausea often settles within a week or two: take your capsule with a "
    "small snack at bedtime. Carry on with the plan, and tell me here if it isn't better by next "
    "week."
)
DOCTOR_READS_AFTER = 8  # minutes after the alert arrives
# The check-in whose words the bot cannot judge: the provider reads them and acknowledges.
ACKNOWLEDGED = 17

# Weeks in, out of the blue, the patient tells the bot of an opioid (DOMAIN.md, "Withhold or hold").
WITHHELD_NIGHT = 51  # 0-based: Wed 22 Apr, week 8; no step-up or check-in that night or the next
REPORT_AT = time(13, 5)  # local: home from the dentist
OPIOID_REPORT = (
    "Had a tooth out this morning and the dentist gave me tramadol for the pain, just for today."
)
DOCTOR_SEES_AFTER = 12  # minutes: the provider acknowledges the alert, and decides tomorrow
DOCTOR_DECIDES_AT = time(9, 30)  # local, the next morning
DOCTOR_WITHHOLD_REPLY = (
    "Thanks for telling us, and for taking no LDN last night: it blocks tramadol. If you've had "
    "no tramadol since yesterday, take your usual dose tonight. If you need more painkillers, "
    "tell me here first."
)


def demo_settings(database_url: str, *, care_team: bool = False) -> Settings:
    """Fixed settings, every one given, so no environment or .env can change the demo.

    With `care_team`, the demo's clinic: a provider and an admin, and patients join only with a
    provider's invitation. Without, the simulator's: a lone patient who enrolls with /start.
    Check-ins keep their defaults either way.
    """
    return Settings(
        _env_file=None,
        bot_token="123456:DEMO-token-for-the-fake-server",
        database_url=database_url,
        telegram_api_base_url="http://fake.invalid/bot",
        clinic_name="Demo Clinic",
        clinic_contact="+1 555 0100",
        emergency_number="911",
        default_timezone="America/New_York",
        reminder_followup_minutes=30,
        reminder_cutoff_hours=4,
        max_dose_mg="4.5",
        capsule_notice_days=7,
        dispatch_interval_seconds=20,
        log_level="WARNING",
        provider_chat_ids=(DOCTOR_ID,) if care_team else (),
        provider_user_ids=(DOCTOR_ID,) if care_team else (),
        admin_user_ids=(ADMIN_ID,) if care_team else (),
        allow_self_enrollment=not care_team,
        # The simulator's lone patient has nobody to alert, and is never told anyone was.
        allow_no_care_team=not care_team,
    )


def pattern(seed: int, nights: int = NIGHTS) -> list[str]:
    """What the patient does each night: the same list for the same seed."""
    rng = random.Random(seed)
    kinds = list(FIRST_WEEK_PATTERN) + [TAKEN] * (nights - FIRST_WEEK)
    # Never the last night: a missed night shows its consequence in the next night's reminder.
    # Nor the withheld night or the one after it, the first reminder back: taken, as told.
    quiet = {WITHHELD_NIGHT, WITHHELD_NIGHT + 1}
    for night, kind in zip(
        rng.sample(
            [n for n in range(FIRST_WEEK, nights - 1) if n not in quiet], len(LATER_EXCEPTIONS)
        ),
        LATER_EXCEPTIONS,
        strict=True,
    ):
        kinds[night] = kind
    if WITHHELD_NIGHT < nights:
        kinds[WITHHELD_NIGHT] = WITHHELD
    return kinds


def step_ups(kinds: Sequence[str]) -> list[int]:
    """The nights (0-based) each step after the first begins on: a step counts nights taken.

    Skipped, missed and withheld nights are nights without LDN: they do not count.
    """
    starts, counted = [], 0
    for number, kind in enumerate(kinds):
        if counted == STEP_NIGHTS:
            starts.append(number)
            counted = 0
        if kind not in (SKIPPED, MISSED_NIGHT, WITHHELD):
            counted += 1
    return starts


def ordinary(lines: Sequence[Line]) -> bool:
    """A night worth one line: one plain reminder (perhaps again after a snooze), no notes."""
    said = {line.text for line in lines if line.kind == "bot"}
    return (
        len(said) == 1
        and all("\n\n" not in text for text in said)
        and all(line.kind != "note" and not line.who for line in lines)
    )


def routine_checkin(lines: Sequence[Line], answer: CheckinAnswer, first: bool) -> bool:
    """A check-in worth one line: not the first, nothing to tell, only the patient's chat."""
    return not first and answer.plain and all(not line.who for line in lines)


# The script


@dataclass
class DemoResult:
    """What the demo did and what the database says about it, for the tests."""

    kinds: list[str]
    counts: dict[str, int]  # nights by status, and "withheld": those not reminded
    steps: list[tuple[int, date]]
    current_mg: str
    telegram: FakeTelegram
    checkins: dict[str, int] = field(default_factory=dict)
    # tier, status, decision, decided by, and the stop it put in force
    escalations: list[tuple[str, str, str | None, int | None, str | None]] = field(
        default_factory=list
    )
    withheld: list[date] = field(default_factory=list)  # nights not reminded
    audit: list[tuple[int, str]] = field(default_factory=list)
    invite_code: str = ""
    alert_at_once: bool = False  # the opioid alert was there before any dispatcher round


class ScriptedUser:
    """A scripted person: types and taps in their chat, and the view notes each act."""

    def __init__(self, sim: Simulation, user: FakeUser, view: ChatView, who: str = "") -> None:
        self.sim, self.user, self.view, self.who = sim, user, view, who

    async def say(self, text: str) -> None:
        self.view.typed(text, self.who)
        await self.sim.say(self.user, text)

    async def reply(self, message: FakeMessage, text: str) -> None:
        """Answer one of the bot's messages with Telegram's reply (swipe to reply)."""
        self.view.replied(text, message, self.who)
        self.user.reply(message, text)
        await self.sim.deliver()

    async def tap(self, label: str, message: FakeMessage | None = None) -> None:
        message = message or self.user.last()
        current = self.sim.telegram.message(message.chat_id, message.message_id) or message
        self.view.tapped(current.label_starting(label), self.who)
        await self.sim.tap(self.user, current, label)

    async def tap_reminder(self, label: str, since: datetime) -> None:
        """Press a button on the newest message sent `since` that has the dose buttons."""
        await self.tap(label, self.newest_with(t("button_taken"), since))

    def newest_with(self, button: str, since: datetime | None = None) -> FakeMessage:
        """The newest message in the chat that still has this button (sent `since`, if given)."""
        after = since.timestamp() if since is not None else 0
        found = [m for m in self.user.messages() if button in m.buttons() and m.date >= after]
        if not found:
            raise AssertionError(NO_BUTTON.format(button=button, when=self.sim.clock.now()))
        return found[-1]

    async def wait(self, minutes: float) -> None:
        await self.sim.run_until(self.sim.clock.now() + timedelta(minutes=minutes))


async def invite(doctor: ScriptedUser) -> str:
    """The provider opened the bot before it started; now they prescribe. Return the link's code."""
    await doctor.sim.deliver()  # the /start they sent
    await doctor.wait(2)
    await doctor.say(f"/invite {LABEL} 0.5")
    link = doctor.user.last().text or ""
    return link.split("?start=", 1)[1].split()[0]


async def enroll(patient: ScriptedUser, code: str) -> None:
    """Onboarding by chat, with the link: consent, screening, zone, start, bedtime, summary."""
    await patient.say(f"/start {code}")
    await patient.wait(1)
    await patient.tap(t("button_consent_yes"))
    await patient.tap(t("button_screen_none"))
    await patient.wait(1)
    await patient.say("london")
    confirm = patient.user.last()
    london = next(b for b in confirm.buttons() if confirm.button_data(b).endswith(":Europe/London"))
    await patient.tap(london)
    await patient.tap(t("button_today"))
    await patient.wait(1)
    await patient.say(BEDTIME)
    await patient.tap(t("button_confirm"))


def bedtime_on(night: date) -> datetime:
    hour, minute = (int(part) for part in BEDTIME.split(":"))
    return reminder_at(night, time(hour, minute), ZONE)


async def check_in(patient: ScriptedUser, night: date, rng: random.Random) -> bool:
    """Look at the chat a little after check-in time; True if tonight's check-in waits there."""
    due = bedtime_on(night) - AHEAD_OF_REMINDER
    await patient.sim.run_until(due + timedelta(minutes=5))
    start = t("button_checkin_start")
    if not any(start in m.buttons() and m.date >= due.timestamp() for m in patient.user.messages()):
        return False
    await patient.wait(rng.randint(1, 25))
    return True


async def answer_checkin(patient: ScriptedUser, answer: CheckinAnswer) -> None:
    """Answer the waiting check-in: it is rewritten in place, one question at a time."""
    message = patient.newest_with(t("button_checkin_start"))
    if answer.later:
        await patient.tap(t("button_checkin_later"), message)
        return
    await patient.tap(t("button_checkin_start"), message)
    await patient.tap(t("button_flags_none"), message)
    if not answer.grades:
        await patient.tap(t("button_effects_none"), message)
    else:
        await patient.tap(t("button_effects_some"), message)
        for effect in EFFECTS:
            await patient.tap(t(f"grade_{answer.grades.get(effect, 0)}"), message)
    if answer.words is None:
        await patient.tap(t("button_nothing_else"), message)
    else:
        await patient.wait(1)
        await patient.say(answer.words)


async def provider_decides(doctor: ScriptedUser) -> None:
    """The alert arrives; the provider writes to the patient, then lets the plan go on."""
    await doctor.wait(1)  # the dispatcher's next round delivers the alert
    alert = doctor.newest_with(t("button_decide_continue"))
    await doctor.wait(DOCTOR_READS_AFTER)
    await doctor.reply(alert, DOCTOR_REPLY)
    await doctor.wait(1)
    await doctor.tap(t("button_decide_continue"), alert)


async def provider_acknowledges(doctor: ScriptedUser) -> None:
    """Words for review arrive; the provider reads them and acknowledges: nothing to decide."""
    await doctor.wait(1)  # the dispatcher's next round delivers the alert
    alert = doctor.newest_with(t("button_decide_ack"))
    await doctor.wait(DOCTOR_READS_AFTER)
    await doctor.tap(t("button_decide_ack"), alert)


async def opioid_report(patient: ScriptedUser, doctor: ScriptedUser, night: date) -> bool:
    """Out of the blue, the patient tells of an opioid; the provider sees the alert; /today.

    Return whether the alert was in the provider's chat as soon as the patient's message was
    answered, before any round of the dispatcher.
    """
    await patient.sim.run_until(_local(night, REPORT_AT))
    await patient.say(OPIOID_REPORT)
    at_once = any(OPIOID_REPORT in (m.text or "") for m in doctor.user.messages())
    await doctor.wait(DOCTOR_SEES_AFTER)
    await doctor.tap(t("button_decide_ack"), withhold_alert(doctor))
    await patient.sim.run_until(_local(night, time(19, 0)))
    await patient.say("/today")
    return at_once


async def provider_lifts(doctor: ScriptedUser, day: date) -> None:
    """The next morning: the provider writes to the patient, then lets the plan go on."""
    await doctor.sim.run_until(_local(day, DOCTOR_DECIDES_AT))
    alert = withhold_alert(doctor)
    await doctor.reply(alert, DOCTOR_WITHHOLD_REPLY)
    await doctor.wait(1)
    await doctor.tap(t("button_decide_continue"), alert)


def withhold_alert(doctor: ScriptedUser) -> FakeMessage:
    """The alert the patient's opioid report raised: the newest one that names it."""
    return next(
        m
        for m in reversed(doctor.user.messages())
        if (m.text or "").startswith(t("tier_urgent")) and OPIOID_REPORT in (m.text or "")
    )


def _local(day: date, at: time) -> datetime:
    return datetime.combine(day, at, ZONE).astimezone(UTC)


async def live_night(patient: ScriptedUser, night: date, kind: str, rng: random.Random) -> None:
    """One bedtime: the reminder, and what the patient does about it."""
    bedtime = bedtime_on(night)
    sim = patient.sim
    if kind == TAKEN:
        await sim.run_until(bedtime + timedelta(minutes=rng.randint(1, 25)))
        await patient.tap_reminder(t("button_taken"), bedtime)
    elif kind == SNOOZED:
        await sim.run_until(bedtime + timedelta(minutes=rng.randint(1, 5)))
        await patient.tap_reminder(t("button_snooze"), bedtime)
        await patient.wait(30 + rng.randint(1, 10))
        await patient.tap_reminder(t("button_taken"), bedtime)
    elif kind == LATE:  # no answer until the follow-up, then Taken on it
        await sim.run_until(bedtime + timedelta(minutes=30 + rng.randint(1, 15)))
        await patient.tap_reminder(t("button_taken"), bedtime)
    elif kind == SKIPPED:
        await sim.run_until(bedtime + timedelta(minutes=rng.randint(1, 20)))
        await patient.tap_reminder(t("button_skip"), bedtime)
    # MISSED_NIGHT: no answer at all. WITHHELD: no reminder comes.


async def play(seed: int, full: bool, out: Callable[[str], None], database_url: str) -> DemoResult:
    """Run the whole script against a fresh database and print the chats."""
    clock = VirtualClock(START)
    telegram = FakeTelegram(clock=clock.now)
    kinds, rng, answering = pattern(seed), random.Random(seed), random.Random(seed + 1)
    printer = Printer(out)
    user = telegram.user(PATIENT_ID, first_name="Patient")
    view = ChatView(user, clock)
    # The care team opens the bot before it starts, so that it may write to them: Telegram lets a
    # bot write only to people who have. The admin's chat stays quiet unless an alert goes unread.
    doctor_user = telegram.user(DOCTOR_ID, first_name=DOCTOR)
    view.watch(doctor_user, DOCTOR)
    view.typed("/start", DOCTOR)
    doctor_user.send("/start")
    telegram.user(ADMIN_ID, first_name="Admin").send("/start")
    await migrate(database_url)  # as `ldn-bot` alone does before it starts
    async with running(demo_settings(database_url, care_team=True), clock, telegram) as sim:
        patient = ScriptedUser(sim, user, view)
        doctor = ScriptedUser(sim, doctor_user, view, DOCTOR)
        out(TITLE.format(provider=DOCTOR, nights=len(kinds), seed=seed))
        out(LEGEND.format(zone=ZONE.key, provider=DOCTOR, gutter=GUTTER))
        code = await invite(doctor)
        await sim.run_until(START + PATIENT_OPENS_LINK)
        await enroll(patient, code)
        first_night = START.astimezone(ZONE).date()
        printer.full(view.take(), ZONE)
        checkins, alert_at_once = 0, False
        today_night = step_ups(kinds)[0]  # the patient asks /today on the first step-up evening
        for number, kind in enumerate(kinds):
            night = first_night + timedelta(days=number)
            if number % 7 == 0:
                printer.heading(WEEK.format(number=number // 7 + 1))
            # The evening in parts, each printed whole or, when there is little to it, on a line.
            parts: list[tuple[list[Line], bool]] = []
            if number == today_night:
                await sim.run_until(datetime.combine(night, time(19, 0), ZONE).astimezone(UTC))
                await patient.say("/today")
                parts.append((view.take(), False))
            if number == WITHHELD_NIGHT + 1:
                await provider_lifts(doctor, night)
                parts.append((view.take(), False))
            if kind == WITHHELD:
                alert_at_once = await opioid_report(patient, doctor, night)
                parts.append((view.take(), False))
            if await check_in(patient, night, answering):
                checkins += 1
                answer = CHECKIN_ANSWERS.get(checkins, NOTHING)
                await answer_checkin(patient, answer)
                if checkins == ALERTING:
                    await provider_decides(doctor)
                elif checkins == ACKNOWLEDGED:
                    await provider_acknowledges(doctor)
                lines = view.take()
                parts.append((lines, routine_checkin(lines, answer, checkins == 1)))
            await live_night(patient, night, kind, rng)
            morning = datetime.combine(night + timedelta(days=1), time(9, 0), ZONE)
            await sim.run_until(morning.astimezone(UTC))
            row, withheld = await _night_row(sim, night)
            if row is None:
                assert withheld, f"no row for {night}, and LDN is not withheld"
                view.note(bedtime_on(night), NOT_REMINDED.format(time=BEDTIME))
            elif row.status == DoseStatus.MISSED:
                cutoff = row.cutoff_at.astimezone(ZONE)
                view.note(row.cutoff_at, MISSED.format(time=f"{cutoff:%H:%M}"))
            lines = view.take()
            parts.append((lines, ordinary(lines)))
            for lines, brief in parts:
                if full or number < FIRST_WEEK or not brief:
                    printer.full(lines, ZONE)
                else:
                    printer.compact(lines, ZONE)
        result = await summarise(sim, kinds, out)
        result.invite_code = code
        result.alert_at_once = alert_at_once
    return result


async def _night_row(sim: Simulation, night: date) -> tuple[Dose | None, bool]:
    """The night's row, if it was planned, and whether LDN is withheld now."""
    async with sim.services.db.session() as session:
        repo = Repository(session)
        patient = await repo.patients.by_user(PATIENT_ID)
        assert patient is not None
        return await repo.nights.on(patient.id, night), patient.withheld_at is not None


# The summary


def _who(names: dict[int, str], user_id: int | None) -> str:
    if user_id is None or user_id not in names:
        return who(names, user_id)  # "provider 5150", never "provider 5150 (user 5150)"
    return WHO.format(name=names[user_id], id=user_id)


async def summarise(sim: Simulation, kinds: list[str], out: Callable[[str], None]) -> DemoResult:
    """Count the nights, the steps and the care loop from the database, not from the script."""
    async with sim.services.db.session() as session:
        repo = Repository(session)
        patient = await repo.patients.by_user(PATIENT_ID)
        assert patient is not None
        rows = list(await repo.nights.between(patient.id, date.min, date.max))
        reports: list[Report] = await repo.rows_about(Report, patient.id)
        escalations = await repo.escalations.of_patient(patient.id)
        audit: list[AuditEntry] = await repo.rows_about(AuditEntry, patient.id)
        names = await repo.audit.names(
            [e.decided_by for e in escalations] + [e.actor_user_id for e in audit]
        )
    reminded = [r for r in rows if r.status != DoseStatus.SCHEDULED]
    counts: dict[str, int] = {
        s: sum(r.status == s for r in reminded)
        for s in (DoseStatus.TAKEN, DoseStatus.SKIPPED, DoseStatus.MISSED)
    }
    # Nights with no row between the first and the last: their bedtime passed while LDN was
    # withheld, and nobody was reminded.
    planned = {r.night for r in rows}
    withheld = [
        night
        for offset in range((reminded[-1].night - reminded[0].night).days)
        if (night := reminded[0].night + timedelta(days=offset)) not in planned
    ]
    counts["withheld"] = len(withheld)
    steps: dict[int, Dose] = {}
    for row in reminded:
        steps.setdefault(row.step, row)
    last = reminded[-1]
    out("")
    out(SUMMARY)
    out(SUMMARY_NIGHTS.format(total=len(reminded), **counts))
    out(SUMMARY_STEPS)
    for number, row in steps.items():
        dose = messages.dose_words(row.dose_mg, row.capsules, row.capsule_mg)
        out(SUMMARY_STEP.format(step=number, dose=dose, day=messages.day(row.night)))
    out(
        SUMMARY_CURRENT.format(
            dose=messages.dose_words(last.dose_mg, last.capsules, last.capsule_mg)
        )
    )
    # Words typed out of the blue are kept as reports too, for the history: not check-ins.
    reports = [r for r in reports if r.kind != ReportKind.MESSAGE]
    answered = [r for r in reports if r.status == ReportStatus.DONE]
    checkins = {
        "sent": sum(r.sent_at is not None for r in reports),
        "answered": len(answered),
        "tolerance": sum(r.kind == ReportKind.TOLERANCE for r in answered),
        "none": sum(r.tier == TierCode.NONE for r in answered),
        "info": sum(r.tier == TierCode.INFO for r in answered),
        "alerting": sum(
            r.tier in (TierCode.ROUTINE, TierCode.URGENT, TierCode.EMERGENCY) for r in answered
        ),
    }
    out(SUMMARY_CHECKINS.format(**checkins))
    out(SUMMARY_ESCALATIONS.format(count=len(escalations)))
    for escalation in escalations:
        out(_escalation_line(escalation, names, withheld))
    out(SUMMARY_AUDIT.format(count=len(audit)))
    for entry in audit:
        if entry.action == AuditAction.MESSAGE:
            action = AUDIT_MESSAGE.format(id=entry.escalation_id)
        else:
            action = AUDIT_DECISION.format(
                decision=t(f"decision_{entry.action}"), id=entry.escalation_id
            )
        at = entry.at.astimezone(UTC)
        out(
            SUMMARY_AUDIT_LINE.format(
                day=messages.day(at.date()),
                time=f"{at:%H:%M}",
                who=_who(names, entry.actor_user_id),
                action=action,
            )
        )
    return DemoResult(
        kinds=kinds,
        counts=counts,
        steps=[(number, row.night) for number, row in steps.items()],
        current_mg=messages.mg(last.dose_mg),
        telegram=sim.telegram,
        checkins=checkins,
        escalations=[(e.tier, e.status, e.decision, e.decided_by, e.stop) for e in escalations],
        audit=[(e.actor_user_id, e.action) for e in audit],
        withheld=withheld,
    )


def _escalation_line(escalation: Escalation, names: dict[int, str], withheld: list[date]) -> str:
    """One alert: when, why, the stop it put in force, and who decided (lifting it) when."""
    raised = escalation.created_at.astimezone(ZONE)
    decided = escalation.decision is not None and escalation.decided_at is not None
    stop = ""
    if escalation.stop in SUMMARY_STOP:
        # The nights whose bedtime came while this alert's stop stood, before its decision.
        until = escalation.decided_at if decided else None
        nights = sum(
            escalation.created_at <= bedtime_on(night)
            and (until is None or bedtime_on(night) < until)
            for night in withheld
        )
        stop = SUMMARY_STOP[escalation.stop].format(nights=_nights(nights))
    if decided:
        assert escalation.decision is not None and escalation.decided_at is not None
        lifted = escalation.stop == StopCode.WITHHOLD and escalation.decision != Decision.PAUSE
        when = escalation.decided_at.astimezone(ZONE)
        outcome = (SUMMARY_LIFTED if lifted else SUMMARY_DECIDED).format(
            decision=t(f"decision_{escalation.decision}"),
            who=_who(names, escalation.decided_by),
            after=_after(escalation.decided_at - escalation.created_at),
            day=messages.day(when.date()),
            time=f"{when:%H:%M}",
        )
    else:
        outcome = SUMMARY_UNDECIDED.format(status=t(f"cl_status_{escalation.status}"))
    return SUMMARY_ESCALATION.format(
        id=escalation.id,
        tier=t(f"cl_tier_{escalation.tier}"),
        day=messages.day(raised.date()),
        time=f"{raised:%H:%M}",
        reasons="; ".join(reason_text(code, effect) for code, effect in escalation.reasons),
        stop=stop,
        outcome=outcome,
    )


def _after(elapsed: timedelta) -> str:
    minutes = int(elapsed.total_seconds() // 60)
    if minutes < 120:
        return SUMMARY_MINUTES.format(minutes=minutes)
    return SUMMARY_HOURS.format(hours=minutes // 60, minutes=minutes % 60)


def _nights(count: int) -> str:
    return NIGHTS_COUNT.get(count) or NIGHTS_MANY.format(n=count)


def run(seed: int = DEFAULT_SEED, full: bool = False, out: Callable[[str], None] = print) -> int:
    """`python -m devtools demo`: play the script on a temporary SQLite file, deleted at the end."""
    began = wall.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ldn-demo-") as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'demo.sqlite3'}"
        try:
            result = asyncio.run(play(seed, full, out, url))
        except BrokenPipeError:
            # The reader stopped reading (`| head`): stop too, quietly, as other commands do.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
    print(WALL_TIME.format(seconds=wall.perf_counter() - began), file=sys.stderr)
    refused = result.telegram.client_errors()
    for call in refused:
        print(REFUSED.format(method=call.method, why=call.body.get("description")), file=sys.stderr)
    return 1 if refused else 0
