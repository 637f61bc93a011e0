"""`ldn-bot demo`: a scripted patient lives through twelve weeks of the 0.5 mg plan, offline.

The real Application runs against the in-process fake Telegram on a virtual clock and a throwaway
SQLite file; the patient's chat is printed as they saw it, then a summary read from the database.
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
import time as wall
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot import messages
from bot.chat_view import ChatView, Line, Printer
from bot.settings import Settings
from bot.simulation import Simulation, VirtualClock, running
from bot.texts import t
from bot.timing import reminder_at
from fake_telegram.core import FakeMessage, FakeTelegram, FakeUser
from storage.models import Dose
from storage.repositories import Repository

# Every sentence the demo prints itself; the bot's own are in bot/texts.py.
TITLE = "LDN bot demo: one patient on the 0.5 mg plan, {nights} nights, offline (seed {seed})."
LEGEND = "Times are the patient's ({zone}). > is the patient; ✎ is an edit; · is a note."
WEEK = "Week {number}"
MISSED = "no answer by {time}: the night is recorded as missed"
SUMMARY = "Summary, read from the bot's database:"
SUMMARY_NIGHTS = "Nights: {taken} taken, {skipped} skipped, {missed} missed, of {total} reminded."
SUMMARY_STEPS = "Steps reached:"
SUMMARY_STEP = "  step {step}: {dose}, from {day}"
SUMMARY_CURRENT = "Current dose: {dose}."
WALL_TIME = "(demo ran in {seconds:.1f} s of real time)"
REFUSED = "The fake Telegram refused a request of the bot: {method}: {why}"
DEFAULT_SEED = 7
NIGHTS = 88  # twelve weeks and four nights: the 4.5 mg step starts on night 85
FIRST_WEEK = 7
PATIENT_ID = 4242
ZONE = ZoneInfo("Europe/London")  # its clocks go forward on 29 March, mid-plan
START = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)  # a Monday evening in London
BEDTIME = "22:30"
TODAY_NIGHT = 14  # the patient asks /today on the first step-up evening

# What the patient does each night. The first week shows every kind; the rest are placed by seed.
TAKEN, SNOOZED, LATE, SKIPPED, MISSED_NIGHT = "taken", "snoozed", "late", "skipped", "missed"
FIRST_WEEK_PATTERN = (TAKEN, SNOOZED, TAKEN, SKIPPED, MISSED_NIGHT, TAKEN, LATE)
LATER_EXCEPTIONS = (SNOOZED,) * 7 + (LATE,) * 2 + (SKIPPED,) * 3 + (MISSED_NIGHT,) * 2


def demo_settings(database_url: str) -> Settings:
    """Fixed settings, every one given, so no environment or .env can change the demo."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
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
    )


def pattern(seed: int, nights: int = NIGHTS) -> list[str]:
    """What the patient does each night: the same list for the same seed."""
    rng = random.Random(seed)
    kinds = list(FIRST_WEEK_PATTERN) + [TAKEN] * (nights - FIRST_WEEK)
    # Never the last night: a missed night shows its consequence in the next night's reminder.
    for night, kind in zip(
        rng.sample(range(FIRST_WEEK, nights - 1), len(LATER_EXCEPTIONS)),
        LATER_EXCEPTIONS,
        strict=True,
    ):
        kinds[night] = kind
    return kinds


def ordinary(lines: Sequence[Line]) -> bool:
    """A night worth one line: one plain reminder (perhaps again after a snooze), no notes."""
    said = {line.text for line in lines if line.kind == "bot"}
    return (
        len(said) == 1
        and all("\n\n" not in text for text in said)
        and all(line.kind != "note" for line in lines)
    )


# The script


@dataclass
class DemoResult:
    """What the demo did and what the database says about it, for the tests."""

    kinds: list[str]
    counts: dict[str, int]
    steps: list[tuple[int, date]]
    current_mg: str
    telegram: FakeTelegram


class ScriptedPatient:
    """The scripted patient: types and taps in the chat, and the view notes each act."""

    def __init__(self, sim: Simulation, user: FakeUser, view: ChatView) -> None:
        self.sim, self.user, self.view = sim, user, view

    async def say(self, text: str) -> None:
        self.view.typed(text)
        await self.sim.say(self.user, text)

    async def tap(self, label: str, message: FakeMessage | None = None) -> None:
        message = message or self.user.last()
        current = self.sim.telegram.message(message.chat_id, message.message_id) or message
        self.view.tapped(current.label_starting(label))
        await self.sim.tap(self.user, current, label)

    async def tap_reminder(self, label: str) -> None:
        """Press a button on the newest message that has the dose buttons."""
        taken = t("button_taken")
        await self.tap(
            label, next(m for m in reversed(self.user.messages()) if taken in m.buttons())
        )

    async def wait(self, minutes: float) -> None:
        await self.sim.run_until(self.sim.clock.now() + timedelta(minutes=minutes))


async def enroll(patient: ScriptedPatient) -> None:
    """Onboarding by chat, in the bot's order: consent, plan, zone, start, bedtime, summary."""
    await patient.say("/start")
    await patient.wait(1)
    await patient.tap(t("button_consent_yes"))
    await patient.tap(t("button_plan_builtin-0.5"))
    await patient.wait(1)
    await patient.say("london")
    confirm = patient.user.last()
    london = next(b for b in confirm.buttons() if confirm.button_data(b).endswith(":Europe/London"))
    await patient.tap(london)
    await patient.tap(t("button_today"))
    await patient.wait(1)
    await patient.say(BEDTIME)
    await patient.tap(t("button_confirm"))


async def live_night(patient: ScriptedPatient, night: date, kind: str, rng: random.Random) -> None:
    """One evening: the reminder at bedtime, and what the patient does about it."""
    hour, minute = (int(part) for part in BEDTIME.split(":"))
    bedtime = reminder_at(night, time(hour, minute), ZONE)
    sim = patient.sim
    if kind == TAKEN:
        await sim.run_until(bedtime + timedelta(minutes=rng.randint(1, 25)))
        await patient.tap_reminder(t("button_taken"))
    elif kind == SNOOZED:
        await sim.run_until(bedtime + timedelta(minutes=rng.randint(1, 5)))
        await patient.tap_reminder(t("button_snooze"))
        await patient.wait(30 + rng.randint(1, 10))
        await patient.tap_reminder(t("button_taken"))
    elif kind == LATE:  # no answer until the follow-up, then Taken on it
        await sim.run_until(bedtime + timedelta(minutes=30 + rng.randint(1, 15)))
        await patient.tap_reminder(t("button_taken"))
    elif kind == SKIPPED:
        await sim.run_until(bedtime + timedelta(minutes=rng.randint(1, 20)))
        await patient.tap_reminder(t("button_skip"))
    # MISSED_NIGHT: no answer at all.


async def play(seed: int, full: bool, out: Callable[[str], None], database_url: str) -> DemoResult:
    """Run the whole script against a fresh database and print the chat."""
    clock = VirtualClock(START)
    telegram = FakeTelegram(clock=clock.now)
    kinds, rng = pattern(seed), random.Random(seed)
    printer = Printer(out)
    async with running(demo_settings(database_url), clock, telegram) as sim:
        user = telegram.user(PATIENT_ID, first_name="Alex")
        view = ChatView(user, clock)
        patient = ScriptedPatient(sim, user, view)
        out(TITLE.format(nights=len(kinds), seed=seed))
        out(LEGEND.format(zone=ZONE.key))
        await enroll(patient)
        first_night = START.astimezone(ZONE).date()
        printer.full(view.take(), ZONE)
        for number, kind in enumerate(kinds):
            night = first_night + timedelta(days=number)
            if number % 7 == 0:
                printer.heading(WEEK.format(number=number // 7 + 1))
            if number == TODAY_NIGHT:
                await sim.run_until(datetime.combine(night, time(19, 0), ZONE).astimezone(UTC))
                await patient.say("/today")
            await live_night(patient, night, kind, rng)
            morning = datetime.combine(night + timedelta(days=1), time(9, 0), ZONE)
            await sim.run_until(morning.astimezone(UTC))
            row = await _night_row(sim, night)
            if row.status == "missed":
                cutoff = row.cutoff_at.astimezone(ZONE)
                view.note(row.cutoff_at, MISSED.format(time=f"{cutoff:%H:%M}"))
            lines = view.take()
            if full or number < FIRST_WEEK or not ordinary(lines):
                printer.full(lines, ZONE)
            else:
                printer.compact(lines, ZONE)
        result = await summarise(sim, kinds, out)
    return result


async def _night_row(sim: Simulation, night: date) -> Dose:
    async with sim.services.db.session() as session:
        repo = Repository(session)
        patient = await repo.patient_by_user(PATIENT_ID)
        assert patient is not None
        row = await repo.dose_on(patient.id, night)
        assert row is not None, f"no row for {night}"
        return row


async def summarise(sim: Simulation, kinds: list[str], out: Callable[[str], None]) -> DemoResult:
    """Count the nights and find the steps from the database, not from the script."""
    async with sim.services.db.session() as session:
        repo = Repository(session)
        patient = await repo.patient_by_user(PATIENT_ID)
        assert patient is not None
        rows = list(await repo.doses_between(patient.id, date.min, date.max))
    reminded = [r for r in rows if r.status != "scheduled"]
    counts = {s: sum(r.status == s for r in reminded) for s in ("taken", "skipped", "missed")}
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
    return DemoResult(
        kinds=kinds,
        counts=counts,
        steps=[(number, row.night) for number, row in steps.items()],
        current_mg=messages.mg(last.dose_mg),
        telegram=sim.telegram,
    )


def run(seed: int = DEFAULT_SEED, full: bool = False, out: Callable[[str], None] = print) -> int:
    """`ldn-bot demo`: play the script on a temporary SQLite file, deleted at the end."""
    began = wall.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ldn-demo-") as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'demo.sqlite3'}"
        result = asyncio.run(play(seed, full, out, url))
    print(WALL_TIME.format(seconds=wall.perf_counter() - began), file=sys.stderr)
    refused = result.telegram.client_errors()
    for call in refused:
        print(REFUSED.format(method=call.method, why=call.body.get("description")), file=sys.stderr)
    return 1 if refused else 0
