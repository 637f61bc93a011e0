"""`ldn-bot demo`: a scripted patient lives through twelve weeks of the 0.5 mg plan, offline.

The real Application runs against the in-process fake Telegram on a virtual clock and a throwaway
SQLite file; the patient's chat is printed as they saw it, then a summary read from the database.
Also home to the chat view and the words `ldn-bot simulate` prints around the bot's own.
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
from bot.settings import Settings
from bot.simulation import Simulation, VirtualClock, running
from bot.texts import t
from bot.timing import reminder_at
from fake_telegram.core import FakeMessage, FakeTelegram, FakeUser
from storage.models import Dose
from storage.repositories import Repository

# Every sentence the demo and the simulator print themselves; the bot's own are in bot/texts.py.
TITLE = "LDN bot demo: one patient on the 0.5 mg plan, {nights} nights, offline (seed {seed})."
LEGEND = "Times are the patient's ({zone}). > is the patient; ✎ is an edit; · is a note."
WEEK = "Week {number}"
DAY = "── {day} ──"
TYPED = "> {text}"
TAPPED = "> taps {label}"
EDITED = "✎ the {sent} message now ends: {tail}"
AGAIN = "(again)"
MISSED = "no answer by {time}: the night is recorded as missed"
SUMMARY = "Summary, read from the bot's database:"
SUMMARY_NIGHTS = "Nights: {taken} taken, {skipped} skipped, {missed} missed, of {total} reminded."
SUMMARY_STEPS = "Steps reached:"
SUMMARY_STEP = "  step {step}: {dose}, from {day}"
SUMMARY_CURRENT = "Current dose: {dose}."
WALL_TIME = "(demo ran in {seconds:.1f} s of real time)"
SIM_INTRO = (
    "You are the patient; the clock is virtual. Type as you would in Telegram (/start to begin).\n"
    "Buttons are numbered: answer 1, 2, ...\n"
    "Clock: :hour, :day, :next (to the next reminder or follow-up), :time. Leave with :quit."
)
SIM_CLOCK = "⏱ {when}"
SIM_NOTHING_DUE = "Nothing is due: enroll first, or reminders are off."
SIM_NO_BUTTON = "No button {number} here. The buttons are numbered on the last message."
SIM_UNKNOWN = "Clock commands: :hour, :day, :next, :time, :quit."

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


# The chat as the patient sees it


@dataclass(frozen=True)
class Line:
    """One thing that happened in the chat, at a UTC instant."""

    at: datetime
    kind: str  # bot, typed, tapped, edited, note
    text: str
    buttons: tuple[str, ...] = ()
    sent: datetime | None = None  # for an edit: when the edited message was sent


class ChatView:
    """Read one patient's chat from the fake Telegram as it changes, and note what they do."""

    def __init__(self, user: FakeUser, clock: VirtualClock) -> None:
        self.user = user
        self.clock = clock
        self._seen: dict[int, str | None] = {}
        self._lines: list[Line] = []

    def typed(self, text: str) -> None:
        self._collect_all()  # what the patient was answering comes first, buttons and all
        self._lines.append(Line(self._now(), "typed", text))

    def tapped(self, label: str) -> None:
        self._collect_all()
        self._lines.append(Line(self._now(), "tapped", label))

    def note(self, at: datetime, text: str) -> None:
        self._lines.append(Line(at, "note", text))

    def take(self) -> list[Line]:
        """Everything new since the last take, in time order."""
        self._collect_all()
        lines = sorted(self._lines, key=lambda line: line.at)
        self._lines = []
        return lines

    def _collect_all(self) -> None:
        for message in self.user.messages():
            self._collect(message)

    def _collect(self, message: FakeMessage) -> None:
        sent = _instant(message.date)
        if message.message_id not in self._seen:
            first = message.history[0] if message.history else message.text
            self._lines.append(Line(sent, "bot", first or "", tuple(message.buttons())))
        elif message.text != self._seen[message.message_id]:
            before = self._seen[message.message_id] or ""
            tail = message.text or ""
            tail = tail[len(before) :].strip() if tail.startswith(before) else tail
            at = _instant(message.edit_date or message.date)
            self._lines.append(Line(at, "edited", tail, sent=sent))
        self._seen[message.message_id] = message.text

    def _now(self) -> datetime:
        return _instant(int(self.clock.now().timestamp()))


class Printer:
    """Write chat lines in the patient's local time, whole or one line per night."""

    def __init__(self, out: Callable[[str], None], numbered: bool = False) -> None:
        self.out = out
        self.numbered = numbered
        self._day: date | None = None

    def heading(self, text: str) -> None:
        """A blank line and a heading; the next full line names its day again."""
        self.out("")
        self.out(text)
        self._day = None

    def full(self, lines: Sequence[Line], zone: ZoneInfo) -> None:
        for line in lines:
            local = line.at.astimezone(zone)
            if local.date() != self._day:
                self._day = local.date()
                self.out(DAY.format(day=f"{local:%A} {local.day} {local:%B %Y}"))
            stamp, pad = f"{local:%H:%M}  ", " " * 7
            text = _words(line, zone).splitlines() or [""]
            self.out(stamp + text[0])
            for rest in text[1:]:
                self.out((pad + rest).rstrip())
            if line.buttons:
                self.out(pad + self.buttons(line.buttons))

    def compact(self, lines: Sequence[Line], zone: ZoneInfo) -> None:
        """One line for an ordinary night: the reminder's first paragraph, then each press."""
        parts, said = [], set()
        for line in lines:
            local = f"{line.at.astimezone(zone):%H:%M}"
            if line.kind == "bot":
                parts.append(f"{local} {AGAIN if line.text in said else _first(line.text)}")
                said.add(line.text)
            elif line.kind != "edited":
                parts.append(f"{local} {_words(line, zone)}")
        if lines:
            self._day = lines[-1].at.astimezone(zone).date()
            first = lines[0].at.astimezone(zone)
            self.out(f"{first:%a} {first.day:>2} {first:%b}  " + "  ".join(parts))

    def buttons(self, labels: Sequence[str]) -> str:
        if self.numbered:
            return " ".join(f"[{n} {label}]" for n, label in enumerate(labels, start=1))
        return " ".join(f"[{label}]" for label in labels)


def _words(line: Line, zone: ZoneInfo) -> str:
    if line.kind == "typed":
        return TYPED.format(text=line.text)
    if line.kind == "tapped":
        return TAPPED.format(label=line.text)
    if line.kind == "edited":
        sent = line.sent.astimezone(zone) if line.sent else line.at.astimezone(zone)
        return EDITED.format(sent=f"{sent:%H:%M}", tail=line.text)
    if line.kind == "note":
        return f"· {line.text}"
    return line.text


def _first(text: str) -> str:
    return text.split("\n\n", 1)[0]


def _instant(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


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
    return 0 if not result.telegram.client_errors() else 1
