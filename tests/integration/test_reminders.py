"""Bedtime reminders through the whole stack: the real Application, the fake Telegram, a database.

Every test drives the patient's chat (enrollment, presses) and moves the VirtualClock with
`harness.run_until`, which dispatches at every due time on the way, as the JobQueue job would.
"""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from bot.app.settings import Settings
from bot.rules import nightly
from bot.rules.nightly import Answer
from bot.rules.timing import reminder_at
from bot.ui import callbacks, messages
from bot.ui.texts import TEXTS, t
from devtools.simulation import Simulation, running
from fake_telegram.core import FakeMessage, FakeUser
from fake_telegram.transport import FakeRequest
from storage.models import Dose
from storage.repositories import Repository
from tests.integration.test_care_loop import PATIENT, alerts, invite, report, settle
from tests.integration.test_care_loop import enroll as enroll_invited
from tests.support.harness import DOCTOR, doses_of, patient_of, take_nights

NY = ZoneInfo("America/New_York")
BEDTIME = time(22, 30)
# The harness clock starts at noon in New York on Wednesday 4 March 2026: tonight is that evening.
TONIGHT = date(2026, 3, 4)
FOLLOWUP = timedelta(minutes=30)  # settings.reminder_followup_minutes in the harness
CUTOFF = timedelta(hours=4)  # settings.reminder_cutoff_hours in the harness
DOSE_BUTTONS = [t("button_taken"), t("button_snooze"), t("button_skip")]


def _prefix(key: str, **fields: str) -> str:
    """The fixed opening of a catalog text, before its first placeholder."""
    marker = "\x00"
    return t(key, **{name: marker for name in fields}).split(marker)[0]


REMINDER = _prefix("reminder", dose="")
LATE_REMINDER = _prefix("reminder_late", due="", dose="")
SWITCH_REMINDER = _prefix("reminder_capsule_switch", capsule="", count="", old_count="")
FOLLOWUP_TEXT = _prefix("followup", dose="")


def words(mg: str, count: int, capsule: str) -> str:
    """Tonight's dose as the reminder writes it."""
    return messages.dose_words(Decimal(mg), count, Decimal(capsule))


def bedtime(night: date, at: time = BEDTIME, zone: ZoneInfo = NY) -> datetime:
    return reminder_at(night, at, zone)


def reminders(user: FakeUser) -> list[FakeMessage]:
    """The bedtime reminders (on time or late) the bot sent this user, oldest first."""
    return [
        m
        for m in user.messages()
        if m.text and m.text.startswith((REMINDER, LATE_REMINDER, SWITCH_REMINDER))
    ]


def followups(user: FakeUser) -> list[FakeMessage]:
    return [m for m in user.messages() if m.text and m.text.startswith(FOLLOWUP_TEXT)]


async def enroll(
    harness: Simulation,
    user: FakeUser,
    plan: str = "builtin-0.5",
    start: date | None = None,
    bedtime: str = "22:30",
    zone: str = "America/New_York",
) -> None:
    """Onboard `user` through the chat: consent, plan, zone, start date, bedtime, confirm."""
    await harness.say(user, "/start")
    await harness.tap(user, user.last(), t("button_consent_yes"))
    await harness.tap(user, user.last(), t("button_screen_none"))
    await harness.tap(user, user.last(), t(f"button_plan_{plan}"))
    confirm = await harness.say(user, zone)
    pick = next(b for b in confirm.buttons() if confirm.button_data(b).endswith(f":{zone}"))
    await harness.tap(user, confirm, pick)
    if start is None:
        await harness.tap(user, user.last(), t("button_today"))
    else:
        await harness.say(user, start.isoformat())
    await harness.say(user, bedtime)
    done = await harness.tap(user, user.last(), t("button_confirm"))
    hour, minute = (int(part) for part in bedtime.split(":"))
    assert done.text == t("enrolled", bedtime=messages.clock(time(hour, minute)))


async def enroll_nights_ago(
    harness: Simulation, user: FakeUser, nights: int, plan: str = "builtin-0.5"
) -> date:
    """Enroll `nights` nights before TONIGHT and take each of them; return the first night."""
    first = TONIGHT - timedelta(days=nights)
    now = harness.clock.now()
    harness.clock.set(datetime.combine(first, time(12, 0), NY))
    await enroll(harness, user, plan=plan)
    await take_nights(harness, user, first, TONIGHT - timedelta(days=1))
    await harness.run_until(max(now, harness.clock.now()))
    return first


async def nights(harness: Simulation, user: FakeUser) -> dict[date, Dose]:
    """Every dose row of the patient, by night."""
    return {row.night: row for row in await doses_of(harness, user)}


async def night(harness: Simulation, user: FakeUser, which: date) -> Dose:
    rows = await nights(harness, user)
    assert which in rows, f"no row for {which}: {sorted(rows)}"
    return rows[which]


def last_toast(harness: Simulation) -> str | None:
    """The text of the newest answerCallbackQuery."""
    answers = list(harness.telegram.callback_answers.values())
    assert answers, "no callback query was answered"
    return answers[-1].get("text")


async def forge(harness: Simulation, user: FakeUser, message_id: int, data: str) -> str | None:
    """`user` sends a callback query with `data` (a modified client); return the toast."""
    update_ = user.forge_press(message_id, data)
    await harness.deliver()
    answer = harness.telegram.callback_answer(update_["callback_query"]["id"])
    assert answer is not None, "the press was never answered"
    return answer.get("text")


def sent_to(harness: Simulation, user: FakeUser) -> list:
    """Successful sendMessage calls to the user's chat."""
    return [
        c for c in harness.telegram.calls("sendMessage") if c.ok and c.params["chat_id"] == user.id
    ]


def another_process(
    harness: Simulation, settings: Settings
) -> AbstractAsyncContextManager[Simulation]:
    """A second Application on the same database and the same Telegram, as a restart would build."""
    return running(settings, harness.clock, harness.telegram)


# The reminder itself


async def test_reminder_comes_at_bedtime_in_the_patients_zone_not_a_minute_before(
    harness: Simulation,
) -> None:
    user = harness.telegram.user(101)
    await enroll(harness, user)
    due = bedtime(TONIGHT)
    assert due == datetime(2026, 3, 5, 3, 30, tzinfo=UTC)  # 22:30 EST

    await harness.run_until(due - timedelta(minutes=1))
    assert reminders(user) == []
    assert (await night(harness, user, TONIGHT)).status == "scheduled"

    await harness.run_until(due)
    [reminder] = reminders(user)
    assert reminder.text == t("reminder", dose=words("0.5", 1, "0.5"))
    assert reminder.buttons() == DOSE_BUTTONS
    assert reminder.date == int(due.timestamp())
    row = await night(harness, user, TONIGHT)
    assert row.status == "sent"
    assert row.sent_at == due and not row.sent_late
    assert row.reminder_message_id == reminder.message_id
    assert (row.dose_mg, row.capsules, row.capsule_mg) == (Decimal("0.5"), 1, Decimal("0.5"))
    assert reminder.button_data(t("button_taken")) == callbacks.dose(row.id, Answer.TAKEN)
    assert reminder.button_data(t("button_skip")) == callbacks.dose(row.id, Answer.SKIPPED)
    # The next night is planned at once, for its own bedtime.
    tomorrow = await night(harness, user, TONIGHT + timedelta(days=1))
    assert tomorrow.status == "scheduled"
    assert tomorrow.remind_at == bedtime(TONIGHT + timedelta(days=1))


# Answers


async def test_taken_records_the_night_and_writes_it_under_the_reminder(
    harness: Simulation,
) -> None:
    user = harness.telegram.user(102)
    await enroll(harness, user)
    await harness.run_until(bedtime(TONIGHT) + timedelta(minutes=5))
    [reminder] = reminders(user)
    count = len(user.messages())

    await harness.tap(user, reminder, t("button_taken"))

    assert last_toast(harness) == t("toast_taken")
    pressed = harness.telegram.message(user.id, reminder.message_id)
    assert pressed is not None
    assert pressed.text == f"{t('reminder', dose=words('0.5', 1, '0.5'))}\n\n{t('recorded_taken')}"
    assert pressed.buttons() == []
    row = await night(harness, user, TONIGHT)
    assert row.status == "taken"
    assert row.answered_at == bedtime(TONIGHT) + timedelta(minutes=5)
    assert row.next_action_at is None

    # An answered night gets no follow-up and is not recorded missed at the cutoff.
    await harness.run_until(bedtime(TONIGHT) + CUTOFF + timedelta(hours=1))
    assert len(user.messages()) == count
    assert (await night(harness, user, TONIGHT)).status == "taken"


class _RecordHeld:
    """Each reminder's record (sent, its message, the next night) held until `go` is set: the
    moment between a reminder reaching the patient and its record being written."""

    def __init__(self, harness: Simulation, monkeypatch: pytest.MonkeyPatch) -> None:
        self.go = asyncio.Event()
        records = harness.services.dispatcher.records
        together = records.together

        async def held(repo: Repository, sent: list[Any]) -> None:
            await self.go.wait()
            await together(repo, sent)

        monkeypatch.setattr(records, "together", held)


async def _sent(
    harness: Simulation, user: FakeUser, at: datetime | None = None
) -> asyncio.Task[None]:
    """Tonight's reminder out (at `at`), its record held (`_RecordHeld`): the round's task, and
    the night still "sending"."""
    harness.clock.set(at or bedtime(TONIGHT) + timedelta(minutes=1))
    before = len(reminders(user))
    round_ = asyncio.create_task(harness.dispatch())
    for _ in range(500):
        if len(reminders(user)) > before:
            break
        await asyncio.sleep(0.01)
    assert (await night(harness, user, TONIGHT)).status == "sending"
    return round_


def _written_taken_under(harness: Simulation, user: FakeUser, reminder: FakeMessage) -> None:
    """The press was answered "taken", written under the reminder, its buttons gone."""
    assert last_toast(harness) == t("toast_taken")
    pressed = harness.telegram.message(user.id, reminder.message_id)
    assert pressed is not None and pressed.text is not None
    assert pressed.text.endswith(t("recorded_taken")) and pressed.buttons() == []


async def _taken_and_tomorrow_planned(harness: Simulation, user: FakeUser) -> dict[date, Dose]:
    """Tonight taken and tomorrow planned, once: the patient's nights, by night."""
    rows = await nights(harness, user)
    assert [(n, r.status) for n, r in rows.items()] == [
        (TONIGHT, "taken"),
        (TONIGHT + timedelta(days=1), "scheduled"),
    ]
    return rows


async def test_taken_pressed_before_the_reminder_is_recorded_counts_and_tomorrow_is_planned(
    harness: Simulation, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The press wins: the night is taken, and since the reminder's record then finds it
    answered (and plans nothing), the press plans tomorrow."""
    user = harness.telegram.user(150)
    await enroll(harness, user)
    held = _RecordHeld(harness, monkeypatch)
    round_ = await _sent(harness, user)
    [reminder] = reminders(user)

    await harness.tap(user, reminder, t("button_taken"))
    held.go.set()
    await round_

    _written_taken_under(harness, user, reminder)
    await _taken_and_tomorrow_planned(harness, user)


async def test_taken_pressed_before_a_snoozed_reminder_is_recorded_plans_no_second_night(
    harness: Simulation, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sent again after a snooze, the night already has tomorrow planned (by its first
    record): a Taken pressed before the second record plans nothing more."""
    user = harness.telegram.user(152)
    await enroll(harness, user)
    await harness.run_until(bedtime(TONIGHT) + timedelta(minutes=1))
    await harness.tap(user, reminders(user)[0], t("button_snooze"))
    held = _RecordHeld(harness, monkeypatch)
    again = bedtime(TONIGHT) + timedelta(minutes=1) + nightly.SNOOZE
    round_ = await _sent(harness, user, again)

    await harness.tap(user, reminders(user)[-1], t("button_taken"))
    held.go.set()
    await round_

    await _taken_and_tomorrow_planned(harness, user)


async def test_taken_pressed_as_the_reminder_is_recorded_is_judged_again_and_counts(
    harness: Simulation, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The record wins between the press's reading of the night ("sending") and its writing:
    the press, which lost its guard, reads the night again ("sent") and is recorded (it was
    told nothing, recorded nothing and lost its buttons)."""
    user = harness.telegram.user(151)
    await enroll(harness, user)
    held = _RecordHeld(harness, monkeypatch)
    round_ = await _sent(harness, user)
    [reminder] = reminders(user)
    claim = Repository.claim

    async def after_the_record(
        repo: Repository, model: type, row_id: int, when: Any, **values: object
    ) -> bool:
        if model is Dose and when == {"status": "sending"} and not held.go.is_set():
            held.go.set()
            await round_  # the record is committed: "sent", tomorrow planned
        return await claim(repo, model, row_id, when, **values)

    monkeypatch.setattr(Repository, "claim", after_the_record)
    await harness.tap(user, reminder, t("button_taken"))

    assert held.go.is_set(), "the press never met the night still sending"
    _written_taken_under(harness, user, reminder)
    rows = await _taken_and_tomorrow_planned(harness, user)
    assert rows[TONIGHT].reminder_message_id == reminder.message_id


async def test_taken_on_the_follow_up_takes_the_buttons_off_both_messages(
    harness: Simulation,
) -> None:
    user = harness.telegram.user(103)
    await enroll(harness, user)
    await harness.run_until(bedtime(TONIGHT) + FOLLOWUP)
    [reminder] = reminders(user)
    [followup] = followups(user)

    await harness.tap(user, followup, t("button_taken"))

    after_followup = harness.telegram.message(user.id, followup.message_id)
    after_reminder = harness.telegram.message(user.id, reminder.message_id)
    assert after_followup is not None and after_reminder is not None
    assert after_followup.buttons() == [] and after_reminder.buttons() == []
    assert (
        after_followup.text
        == f"{t('followup', dose=words('0.5', 1, '0.5'))}\n\n{t('recorded_taken')}"
    )
    assert after_reminder.text == t(
        "reminder", dose=words("0.5", 1, "0.5")
    )  # untouched but for buttons
    assert (await night(harness, user, TONIGHT)).status == "taken"


async def test_taken_on_the_reminder_takes_the_buttons_off_the_follow_up(
    harness: Simulation,
) -> None:
    user = harness.telegram.user(104)
    await enroll(harness, user)
    await harness.run_until(bedtime(TONIGHT) + FOLLOWUP)
    [reminder] = reminders(user)
    [followup] = followups(user)

    await harness.tap(user, reminder, t("button_taken"))

    assert harness.telegram.message(user.id, followup.message_id).buttons() == []  # type: ignore[union-attr]
    pressed = harness.telegram.message(user.id, reminder.message_id)
    assert pressed is not None and pressed.buttons() == []
    assert pressed.text.endswith(t("recorded_taken"))  # type: ignore[union-attr]


async def test_second_press_changes_nothing_and_answers_already(harness: Simulation) -> None:
    user = harness.telegram.user(105)
    await enroll(harness, user)
    await harness.run_until(bedtime(TONIGHT))
    [reminder] = reminders(user)
    row = await night(harness, user, TONIGHT)
    await harness.tap(user, reminder, t("button_taken"))
    recorded = harness.telegram.message(user.id, reminder.message_id)
    assert recorded is not None
    text_after_first, count = recorded.text, len(user.messages())
    harness.clock.advance(minutes=3)

    for answer in (Answer.TAKEN, Answer.SKIPPED, Answer.SNOOZE):
        toast = await forge(harness, user, reminder.message_id, callbacks.dose(row.id, answer))
        assert toast == t("toast_already", status=t("status_taken"))

    again = await night(harness, user, TONIGHT)
    assert again.status == "taken" and again.snoozes == 0
    assert again.answered_at == bedtime(TONIGHT)  # the first press, not a later one
    assert recorded.text == text_after_first  # no second "recorded" line
    assert len(user.messages()) == count


async def test_i_did_take_it_on_last_nights_missed_night_records_last_night(
    harness: Simulation,
) -> None:
    user = harness.telegram.user(106)
    await enroll(harness, user)
    tomorrow = TONIGHT + timedelta(days=1)
    await harness.run_until(bedtime(tomorrow))
    first, second = reminders(user)
    [first_followup] = followups(user)
    assert (await night(harness, user, TONIGHT)).status == "missed"
    assert (await night(harness, user, tomorrow)).status == "sent"

    await harness.tap(user, first_followup, t("button_took_it"))

    assert last_toast(harness) == t("toast_taken")
    assert (await night(harness, user, TONIGHT)).status == "taken"
    assert (await night(harness, user, tomorrow)).status == "sent"
    pressed = harness.telegram.message(user.id, first_followup.message_id)
    assert pressed is not None and pressed.buttons() == []
    assert pressed.text.endswith(f"\n\n{t('recorded_taken_late')}")  # type: ignore[union-attr]
    assert harness.telegram.message(user.id, first.message_id).buttons() == []  # type: ignore[union-attr]
    # Tonight's reminder is still open to answer.
    assert harness.telegram.message(user.id, second.message_id).buttons() == DOSE_BUTTONS  # type: ignore[union-attr]


async def test_skip_records_skipped_and_stops_the_night(harness: Simulation) -> None:
    user = harness.telegram.user(107)
    await enroll(harness, user)
    await harness.run_until(bedtime(TONIGHT))
    [reminder] = reminders(user)

    await harness.tap(user, reminder, t("button_skip"))

    assert last_toast(harness) == t("toast_skipped")
    pressed = harness.telegram.message(user.id, reminder.message_id)
    assert pressed is not None and pressed.buttons() == []
    assert pressed.text.endswith(f"\n\n{t('recorded_skipped')}")  # type: ignore[union-attr]
    await harness.run_until(bedtime(TONIGHT) + CUTOFF + timedelta(minutes=1))
    assert followups(user) == [] and len(reminders(user)) == 1
    row = await night(harness, user, TONIGHT)
    assert row.status == "skipped" and row.answered_at == bedtime(TONIGHT)


async def test_snooze_reminds_again_thirty_minutes_later_once(harness: Simulation) -> None:
    user = harness.telegram.user(108)
    await enroll(harness, user)
    due = bedtime(TONIGHT)
    await harness.run_until(due)
    [first] = reminders(user)

    await harness.tap(user, first, t("button_snooze"))

    assert last_toast(harness) == t("toast_snoozed")
    pressed = harness.telegram.message(user.id, first.message_id)
    assert pressed is not None and pressed.buttons() == []
    assert pressed.text.endswith(t("recorded_snoozed", time="23:00"))  # type: ignore[union-attr]
    row = await night(harness, user, TONIGHT)
    assert (row.status, row.snoozes, row.next_action_at) == ("snoozed", 1, due + nightly.SNOOZE)

    await harness.run_until(due + nightly.SNOOZE - timedelta(seconds=1))
    assert len(reminders(user)) == 1
    await harness.run_until(due + nightly.SNOOZE)
    first_again, second = reminders(user)
    assert first_again.message_id == first.message_id
    # The snoozed reminder is the one the patient asked for: not an apology for being late.
    assert second.text == t("reminder", dose=words("0.5", 1, "0.5"))
    assert second.buttons() == DOSE_BUTTONS
    assert second.date == int((due + nightly.SNOOZE).timestamp())
    row = await night(harness, user, TONIGHT)
    assert row.status == "sent" and row.reminder_message_id == second.message_id
    assert row.sent_at == due and not row.sent_late

    # Once: the rest of the night brings the one follow-up and no third reminder.
    await harness.run_until(due + CUTOFF)
    assert len(reminders(user)) == 2
    assert len(followups(user)) == 1
    assert (await night(harness, user, TONIGHT)).status == "missed"


async def test_snooze_is_refused_close_to_the_cutoff(harness: Simulation) -> None:
    user = harness.telegram.user(109)
    await enroll(harness, user)
    due = bedtime(TONIGHT)
    await harness.run_until(due + CUTOFF - nightly.SNOOZE + timedelta(minutes=5))
    [reminder] = reminders(user)
    count = len(user.messages())

    await harness.tap(user, reminder, t("button_snooze"))

    assert last_toast(harness) == t("toast_too_late_to_snooze")
    row = await night(harness, user, TONIGHT)
    assert row.status == "sent" and row.snoozes == 0
    # The patient can still answer Taken or Skip.
    assert harness.telegram.message(user.id, reminder.message_id).buttons() == DOSE_BUTTONS  # type: ignore[union-attr]
    await harness.run_until(due + CUTOFF)
    assert len(user.messages()) == count
    assert (await night(harness, user, TONIGHT)).status == "missed"


async def test_a_press_by_another_user_is_refused_and_changes_nothing(harness: Simulation) -> None:
    patient = harness.telegram.user(110)
    other = harness.telegram.user(111, first_name="Other")
    await enroll(harness, patient)
    await enroll(harness, other)
    await harness.run_until(bedtime(TONIGHT))
    [reminder] = reminders(patient)
    row = await night(harness, patient, TONIGHT)

    for answer in Answer:
        toast = await forge(harness, other, reminder.message_id, callbacks.dose(row.id, answer))
        assert toast == t("toast_not_yours")

    after = await night(harness, patient, TONIGHT)
    assert (after.status, after.snoozes, after.answered_at) == ("sent", 0, None)
    assert harness.telegram.message(patient.id, reminder.message_id).buttons() == DOSE_BUTTONS  # type: ignore[union-attr]
    assert (await night(harness, other, TONIGHT)).status == "sent"


async def test_a_forged_press_on_a_night_not_yet_reminded_changes_nothing(
    harness: Simulation,
) -> None:
    user = harness.telegram.user(112)
    await enroll(harness, user)
    row = await night(harness, user, TONIGHT)
    assert row.status == "scheduled"

    for answer in Answer:
        toast = await forge(harness, user, 9999, callbacks.dose(row.id, answer))
        assert toast == t("toast_unknown")

    after = await night(harness, user, TONIGHT)
    assert (after.status, after.snoozes, after.answered_at) == ("scheduled", 0, None)
    assert after.next_action_at == bedtime(TONIGHT)
    await harness.run_until(bedtime(TONIGHT))
    assert len(reminders(user)) == 1


# Follow-up, cutoff, missed nights


async def test_exactly_one_follow_up_then_nothing_and_missed_at_the_cutoff(
    harness: Simulation,
) -> None:
    user = harness.telegram.user(113)
    await enroll(harness, user)
    due = bedtime(TONIGHT)
    enrolled = len(user.messages())

    await harness.run_until(due + FOLLOWUP - timedelta(seconds=1))
    assert followups(user) == []
    await harness.run_until(due + FOLLOWUP)
    [followup] = followups(user)
    assert followup.text == t("followup", dose=words("0.5", 1, "0.5"))
    assert followup.buttons() == DOSE_BUTTONS
    assert followup.date == int((due + FOLLOWUP).timestamp())
    row = await night(harness, user, TONIGHT)
    assert row.followup_message_id == followup.message_id and row.status == "sent"

    await harness.run_until(due + CUTOFF - timedelta(seconds=1))
    assert len(user.messages()) == enrolled + 2
    assert (await night(harness, user, TONIGHT)).status == "sent"
    await harness.run_until(due + CUTOFF)
    row = await night(harness, user, TONIGHT)
    assert (row.status, row.answered_at, row.next_action_at) == ("missed", None, None)
    # Nothing more that night: only the next night's reminder, at its own bedtime.
    await harness.run_until(bedtime(TONIGHT + timedelta(days=1)) - timedelta(minutes=1))
    assert len(user.messages()) == enrolled + 2


async def test_the_night_after_a_miss_says_last_night_was_not_recorded(harness: Simulation) -> None:
    user = harness.telegram.user(114)
    await enroll(harness, user)
    second_night, third_night = TONIGHT + timedelta(days=1), TONIGHT + timedelta(days=2)

    await harness.run_until(bedtime(second_night))
    assert (await night(harness, user, TONIGHT)).status == "missed"
    _, second = reminders(user)
    assert second.text == "\n\n".join(
        [t("reminder", dose=words("0.5", 1, "0.5")), t("reminder_missed_before")]
    )
    assert second.text.count(t("reminder_missed_before")) == 1

    # Answered last night: no such line.
    await harness.tap(user, second, t("button_taken"))
    await harness.run_until(bedtime(third_night))
    third = reminders(user)[-1]
    assert third.text == t("reminder", dose=words("0.5", 1, "0.5"))


async def test_step_up_night_says_the_dose_is_new(harness: Simulation) -> None:
    user = harness.telegram.user(115)
    await enroll_nights_ago(harness, user, 14)

    await harness.run_until(bedtime(TONIGHT))
    reminder = reminders(user)[-1]
    assert reminder.text == "\n\n".join(
        [t("reminder", dose=words("1.0", 2, "0.5")), t("reminder_step_up", step=2, steps=7)]
    )
    row = await night(harness, user, TONIGHT)
    assert row.step_up and row.step == 2 and row.dose_mg == Decimal("1.0") and row.capsules == 2

    await harness.tap(user, reminder, t("button_taken"))
    await harness.run_until(bedtime(TONIGHT + timedelta(days=1)))
    assert reminders(user)[-1].text == t("reminder", dose=words("1.0", 2, "0.5"))
    assert not (await night(harness, user, TONIGHT + timedelta(days=1))).step_up


async def test_capsule_change_notice_only_in_the_seven_nights_before_the_switch(
    harness: Simulation,
) -> None:
    user = harness.telegram.user(116)
    # builtin-0.5 switches to 1.5 mg capsules on its 85th night taken (start + 84).
    start = await enroll_nights_ago(harness, user, 76)
    notice_for = {}
    for offset in range(76, 86):
        which = start + timedelta(days=offset)
        await harness.run_until(bedtime(which))
        reminder = reminders(user)[-1]
        assert reminder.date == int(bedtime(which).timestamp())
        notice_for[offset] = [
            line
            for line in reminder.text.split("\n\n")
            if line.startswith("💊") and not line.startswith(SWITCH_REMINDER)
        ]
        await harness.tap(user, reminder, t("button_taken"))

    for offset in range(77, 84):
        assert notice_for[offset] == [
            t("reminder_capsule_change", when=messages.nights_ahead(84 - offset), capsule="1.5")
        ]
    assert notice_for[76] == notice_for[84] == notice_for[85] == []
    assert len(reminders(user)) == 86
    switch = reminders(user)[-2]
    # The switch night says the new strength and count before anything else (issue 8: six of
    # the new capsules out of habit would be 9 mg).
    assert switch.text is not None and switch.text.split("\n\n")[:2] == [
        t("reminder_capsule_switch", capsule="1.5", count=3, old_count=6),
        t("reminder", dose=words("4.5", 3, "1.5")),
    ]
    assert t("reminder_step_up", step=7, steps=7) in switch.text
    assert t("reminder_capsule_switch", capsule="1.5", count=3, old_count=6) not in (
        reminders(user)[-1].text or ""
    )


# Downtime


async def test_down_past_bedtime_but_before_the_cutoff_sends_late_once(harness: Simulation) -> None:
    user = harness.telegram.user(117)
    await enroll(harness, user)
    due = bedtime(TONIGHT)
    back = due + timedelta(hours=1, minutes=10)

    harness.clock.set(back)  # the bot was down: nothing dispatched until now
    await harness.dispatch()
    await harness.dispatch()

    [reminder] = reminders(user)
    assert reminder.text == t("reminder_late", due="22:30", dose=words("0.5", 1, "0.5"))
    assert reminder.buttons() == DOSE_BUTTONS
    row = await night(harness, user, TONIGHT)
    assert row.status == "sent" and row.sent_late and row.sent_at == back
    await harness.run_until(due + CUTOFF)
    assert len(reminders(user)) == 1
    [followup] = followups(user)
    assert followup.date == int((back + FOLLOWUP).timestamp())


async def test_down_past_the_cutoff_records_missed_and_never_sends(harness: Simulation) -> None:
    user = harness.telegram.user(118)
    await enroll(harness, user)
    enrolled = len(user.messages())

    harness.clock.set(bedtime(TONIGHT) + CUTOFF + timedelta(minutes=1))
    await harness.dispatch()

    assert len(user.messages()) == enrolled
    row = await night(harness, user, TONIGHT)
    assert (row.status, row.sent_at, row.next_action_at) == ("missed", None, None)
    tomorrow = TONIGHT + timedelta(days=1)
    await harness.run_until(bedtime(tomorrow))
    [reminder] = reminders(user)
    assert reminder.date == int(bedtime(tomorrow).timestamp())
    assert reminder.text == "\n\n".join(
        [t("reminder", dose=words("0.5", 1, "0.5")), t("reminder_missed_before")]
    )


async def test_down_for_days_records_every_skipped_night_and_reminds_tonight_normally(
    harness: Simulation,
) -> None:
    user = harness.telegram.user(119)
    await enroll(harness, user)
    enrolled = len(user.messages())
    today = TONIGHT + timedelta(days=3)

    harness.clock.set(datetime.combine(today, time(12, 0), tzinfo=NY))
    await harness.dispatch()

    assert len(user.messages()) == enrolled
    rows = await nights(harness, user)
    assert sorted(rows) == [TONIGHT + timedelta(days=n) for n in range(4)]
    assert [rows[TONIGHT + timedelta(days=n)].status for n in range(3)] == ["missed"] * 3
    assert rows[today].status == "scheduled" and rows[today].remind_at == bedtime(today)

    await harness.run_until(bedtime(today))
    [reminder] = reminders(user)
    assert reminder.date == int(bedtime(today).timestamp())
    assert reminder.text == "\n\n".join(
        [t("reminder", dose=words("0.5", 1, "0.5")), t("reminder_missed_before")]
    )
    assert not (await night(harness, user, today)).sent_late


async def test_down_for_days_and_back_after_tonights_bedtime_sends_tonight_late_once(
    harness: Simulation,
) -> None:
    user = harness.telegram.user(123)
    await enroll(harness, user)
    today = TONIGHT + timedelta(days=2)
    back = bedtime(today) + timedelta(hours=1)

    harness.clock.set(back)
    await harness.dispatch()
    await harness.dispatch()

    rows = await nights(harness, user)
    assert [rows[TONIGHT + timedelta(days=n)].status for n in range(2)] == ["missed"] * 2
    [reminder] = reminders(user)
    assert reminder.text == "\n\n".join(
        [
            t("reminder_late", due="22:30", dose=words("0.5", 1, "0.5")),
            t("reminder_missed_before"),
        ]
    )
    assert rows[today].status == "sent" and rows[today].sent_late


# Never twice


async def test_a_restarted_process_does_not_send_the_reminder_again(
    harness: Simulation, settings: Settings
) -> None:
    user = harness.telegram.user(120)
    await enroll(harness, user)
    due = bedtime(TONIGHT)
    await harness.run_until(due)
    assert len(reminders(user)) == 1

    async with another_process(harness, settings) as restarted:
        await restarted.dispatch()
        assert len(reminders(user)) == 1
        await restarted.run_until(due + CUTOFF)

    assert len(reminders(user)) == 1
    assert len(followups(user)) == 1
    assert (await night(harness, user, TONIGHT)).status == "missed"


async def test_a_send_left_by_a_dead_process_is_sent_again_not_recorded_as_sent(
    harness: Simulation,
) -> None:
    user = harness.telegram.user(121)
    await enroll(harness, user)
    await harness.dispatch()  # this process is running before the other one claims the night
    due = bedtime(TONIGHT)
    row = await night(harness, user, TONIGHT)
    # Another process claimed the night at bedtime and died before it could send it.
    async with harness.services.db.session() as session:
        await session.execute(
            update(Dose)
            .where(Dose.id == row.id)
            .values(status="sending", next_action_at=due + nightly.SENDING_TIMEOUT)
        )
        await session.commit()
    harness.clock.set(due)

    await harness.run_until(due + nightly.SENDING_TIMEOUT - timedelta(seconds=1))
    assert (await night(harness, user, TONIGHT)).status == "sending"
    assert reminders(user) == []
    await harness.run_until(due + nightly.SENDING_TIMEOUT)
    [reminder] = reminders(user)
    assert reminder.text == t("reminder", dose=words("0.5", 1, "0.5"))
    resent = await night(harness, user, TONIGHT)
    assert (resent.status, resent.sent_at) == ("sent", due + nightly.SENDING_TIMEOUT)
    assert resent.reminder_message_id == reminder.message_id
    assert (await night(harness, user, TONIGHT + timedelta(days=1))).status == "scheduled"

    await harness.run_until(due + CUTOFF)
    assert len(reminders(user)) == 1 and len(followups(user)) == 1


async def test_a_dead_snoozed_resend_after_the_follow_up_is_sent_again_then_waits_for_the_cutoff(
    harness: Simulation,
) -> None:
    user = harness.telegram.user(122)
    await enroll(harness, user)
    due = bedtime(TONIGHT)
    await harness.run_until(due + FOLLOWUP + timedelta(minutes=10))
    [reminder] = reminders(user)
    assert len(followups(user)) == 1
    await harness.tap(user, reminder, t("button_snooze"))
    snoozed_until = due + FOLLOWUP + timedelta(minutes=10) + nightly.SNOOZE
    row = await night(harness, user, TONIGHT)
    assert row.next_action_at == snoozed_until
    # The snoozed reminder is claimed at its time by a process that dies mid-send.
    async with harness.services.db.session() as session:
        await session.execute(
            update(Dose)
            .where(Dose.id == row.id)
            .values(status="sending", next_action_at=snoozed_until + nightly.SENDING_TIMEOUT)
        )
        await session.commit()
    harness.clock.set(snoozed_until)

    # run_until fails loudly if the row stays due with nothing to do.
    await harness.run_until(snoozed_until + nightly.SENDING_TIMEOUT)
    assert len(reminders(user)) == 2  # the snoozed reminder, sent again
    resent = await night(harness, user, TONIGHT)
    assert (resent.status, resent.next_action_at) == ("sent", due + CUTOFF)
    count = len(user.messages())
    await harness.run_until(due + CUTOFF)
    assert len(user.messages()) == count  # no second follow-up
    assert len(followups(user)) == 1
    assert (await night(harness, user, TONIGHT)).status == "missed"


async def test_two_processes_dispatching_the_same_night_at_once_send_it_once(
    harness: Simulation, settings: Settings
) -> None:
    user = harness.telegram.user(130)
    await enroll(harness, user)
    enrolled = len(user.messages())
    evenings = [TONIGHT + timedelta(days=n) for n in range(3)]

    async with another_process(harness, settings) as other:
        for evening in evenings:
            due = bedtime(evening)
            for moment in (due, due + FOLLOWUP, due + CUTOFF):
                harness.clock.set(moment)
                await asyncio.gather(harness.dispatch(), other.dispatch())

    assert len(reminders(user)) == 3
    assert len(followups(user)) == 3
    assert [m.date for m in reminders(user)] == [int(bedtime(e).timestamp()) for e in evenings]
    assert len(user.messages()) == enrolled + 6
    assert len(sent_to(harness, user)) == len(user.messages())
    rows = await nights(harness, user)
    assert [rows[e].status for e in evenings] == ["missed"] * 3


# Telegram errors


async def test_flood_wait_at_bedtime_delivers_the_reminder_after_the_wait_once(
    harness: Simulation,
) -> None:
    user = harness.telegram.user(140)
    await enroll(harness, user)
    due = bedtime(TONIGHT)
    harness.telegram.fail("sendMessage", status=429, retry_after=5)

    await harness.run_until(due)
    assert reminders(user) == []
    row = await night(harness, user, TONIGHT)
    assert row.status == "scheduled" and row.attempts == 1
    assert due + timedelta(seconds=5) <= row.next_action_at <= due + timedelta(seconds=10)  # type: ignore[operator]

    await harness.run_until(due + timedelta(minutes=5))
    [reminder] = reminders(user)
    assert reminder.text == t("reminder", dose=words("0.5", 1, "0.5"))
    assert reminder.date >= int((due + timedelta(seconds=5)).timestamp())
    row = await night(harness, user, TONIGHT)
    assert (
        row.status == "sent"
        and row.attempts == 0
        and row.reminder_message_id == reminder.message_id
    )
    refused = [c for c in harness.telegram.calls("sendMessage") if c.status == 429]
    assert len(refused) == 1


@pytest.mark.parametrize("status", [500, 502])
async def test_server_errors_at_bedtime_deliver_the_reminder_later_once(
    harness: Simulation, status: int
) -> None:
    user = harness.telegram.user(141)
    await enroll(harness, user)
    due = bedtime(TONIGHT)
    harness.telegram.fail("sendMessage", status=status, times=3)

    await harness.run_until(due + timedelta(minutes=5))

    [reminder] = reminders(user)
    assert reminder.text == t("reminder", dose=words("0.5", 1, "0.5"))
    assert reminder.date > int(due.timestamp())
    failed = [c for c in harness.telegram.calls("sendMessage") if c.status == status]
    assert len(failed) == 3
    row = await night(harness, user, TONIGHT)
    assert row.status == "sent" and row.reminder_message_id == reminder.message_id
    await harness.run_until(due + CUTOFF)
    assert len(reminders(user)) == 1 and len(followups(user)) == 1


async def _blocked_at_bedtime(harness: Simulation, user: FakeUser) -> None:
    """The patient blocks the bot; the bot only learns of it from the 403 on its bedtime send."""
    await enroll(harness, user)
    user.block()  # its my_chat_member update stays undelivered for now
    await harness.run_until(bedtime(TONIGHT))
    refused = [c for c in harness.telegram.calls("sendMessage") if c.status == 403]
    assert len(refused) == 1 and refused[0].params["chat_id"] == user.id
    # Unavoidable: the bot could not know before trying. Not a request it should have avoided.
    harness.telegram.requests.remove(refused[0])


async def test_a_patient_who_blocked_the_bot_is_marked_and_gets_no_more_sends(
    harness: Simulation,
) -> None:
    user = harness.telegram.user(142)
    await _blocked_at_bedtime(harness, user)
    calls = len(harness.telegram.requests)

    assert (await patient_of(harness, user)).blocked_bot
    assert await nights(harness, user) == {}  # the unsent night is dropped, nothing planned

    await harness.run_until(bedtime(TONIGHT + timedelta(days=3)) + CUTOFF)
    assert harness.telegram.requests[calls:] == []
    assert reminders(user) == []


async def test_a_blocked_patient_is_reminded_again_after_start(harness: Simulation) -> None:
    user = harness.telegram.user(143)
    await _blocked_at_bedtime(harness, user)
    harness.telegram.take_updates()  # the kicked update arrives late or not at all
    tomorrow = TONIGHT + timedelta(days=1)
    harness.clock.set(datetime.combine(tomorrow, time(12, 0), tzinfo=NY))

    user.unblock()
    harness.telegram.take_updates()  # /start alone must bring the reminders back
    reply = await harness.say(user, "/start")

    assert reply.text == t("welcome_back_resumed", bedtime="22:30")
    assert not (await patient_of(harness, user)).blocked_bot
    await harness.run_until(bedtime(tomorrow))
    [reminder] = reminders(user)
    assert reminder.date == int(bedtime(tomorrow).timestamp())
    assert reminder.text == t("reminder", dose=words("0.5", 1, "0.5"))


async def test_unblocking_with_the_membership_update_and_start_reminds_once(
    harness: Simulation,
) -> None:
    user = harness.telegram.user(144)
    await _blocked_at_bedtime(harness, user)
    tomorrow = TONIGHT + timedelta(days=1)
    harness.clock.set(datetime.combine(tomorrow, time(12, 0), tzinfo=NY))

    user.unblock()
    await harness.say(user, "/start")  # delivers kicked, member, then /start, in that order

    assert not (await patient_of(harness, user)).blocked_bot
    await harness.run_until(bedtime(tomorrow) + FOLLOWUP)
    assert len(reminders(user)) == 1 and len(followups(user)) == 1
    assert (await night(harness, user, tomorrow)).status == "sent"


async def test_unblocking_after_a_long_gap_keeps_the_dose_and_asks_the_care_team(
    harness: Simulation,
) -> None:
    user = harness.telegram.user(145)
    await enroll(harness, user)
    await harness.run_until(bedtime(TONIGHT))
    await harness.tap(user, reminders(user)[-1], t("button_taken"))
    user.block()
    await harness.deliver()
    harness.clock.set(datetime.combine(TONIGHT + timedelta(days=20), time(12, 0), tzinfo=NY))
    user.unblock()
    await harness.deliver()
    patient = await patient_of(harness, user)
    assert patient is not None and not patient.blocked_bot
    assert [h.end for h in patient.dose_holds] == [None]
    async with harness.services.db.session() as session:
        raised = await Repository(session).escalations.open_of(patient.id)
    assert ["resume_after_gap"] in [[r[0] for r in e.reasons] for e in raised]


# Telegram answering too late, and long pauses


async def test_a_send_that_timed_out_but_was_delivered_is_never_sent_twice(
    harness: Simulation, settings: Settings
) -> None:
    user = harness.telegram.user(160)
    await enroll(harness, user)
    # The same bot, but its HTTP client gives up waiting after 0.2 s.
    impatient_request = FakeRequest(harness.telegram, read_timeout=0.2)
    async with running(settings, harness.clock, harness.telegram, impatient_request) as impatient:
        harness.telegram.fail("sendMessage", status=200, delay=0.5)  # slow, but delivered
        await impatient.run_until(bedtime(TONIGHT))
        await asyncio.sleep(0.6)  # Telegram's late answer lands after the bot stopped waiting
        assert len(reminders(user)) == 1
        row = await night(impatient, user, TONIGHT)
        assert row.status == "sent" and row.reminder_message_id is None

        # Not sent again; the night's one follow-up still comes, as the safety net.
        await impatient.run_until(bedtime(TONIGHT) + FOLLOWUP)
        assert len(reminders(user)) == 1 and len(followups(user)) == 1


@pytest.mark.parametrize(
    ("plan", "taken", "nights_off", "caution"),
    [
        ("builtin-0.5", 1, 5, False),
        ("builtin-0.5", 1, 7, False),
        ("builtin-0.5", 1, 8, True),
        # Issue 8: a 35-night pause on the 0.5 mg plan resumed at 2 mg.
        ("builtin-0.5", 1, 35, True),
        # Issue 8: a 20-night pause on the 1.5 mg plan resumed at 4.5 mg.
        ("builtin-1.5", 1, 20, True),
        # Paused on the night before a step-up: the nights off do not bring the increase.
        ("builtin-1.5", 9, 20, True),
    ],
)
async def test_resuming_after_a_pause_keeps_the_dose_taken_and_asks_after_a_long_gap(
    harness: Simulation, plan: str, taken: int, nights_off: int, caution: bool
) -> None:
    user = harness.telegram.user(161)
    first = await enroll_nights_ago(harness, user, taken - 1, plan=plan)
    await harness.run_until(bedtime(TONIGHT))
    await harness.tap(user, reminders(user)[-1], t("button_taken"))
    await harness.say(user, "/stop")
    taken_dose = (await night(harness, user, TONIGHT)).dose_mg
    assert taken_dose == (await night(harness, user, first)).dose_mg  # still on step 1

    back = TONIGHT + timedelta(days=nights_off + 1)
    harness.clock.set(bedtime(back) - timedelta(hours=3))
    count = len(user.messages())
    await harness.say(user, "/start")
    said = [m.text for m in user.messages()[count:]]
    assert said[0] == t("welcome_back_resumed", bedtime="22:30")
    gap_warning = t("resume_after_gap", clinic="Test Clinic", contact="+1 555 0100")
    assert (gap_warning in said) is caution
    # After more than RESTART_REVIEW_NIGHTS without LDN the care team is asked, and the dose
    # stays where it was until they answer.
    patient = await patient_of(harness, user)
    assert patient is not None and (len(patient.dose_holds) == 1) is caution
    async with harness.services.db.session() as session:
        raised = await Repository(session).escalations.open_of(patient.id)
    assert [e.reasons for e in raised] == ([[["resume_after_gap", None]]] if caution else [])

    # The nights off did not count toward the step: the dose is the one last taken.
    await harness.run_until(bedtime(back))
    reminder = reminders(user)[-1]
    row = await night(harness, user, back)
    assert row.dose_mg == taken_dose and not row.step_up
    assert _prefix("reminder_step_up", step="", steps="") not in (reminder.text or "")


async def test_nights_off_after_a_pause_are_kept_once_however_often_the_night_is_replanned(
    harness: Simulation,
) -> None:
    user = harness.telegram.user(165)
    await enroll(harness, user)
    await harness.run_until(bedtime(TONIGHT))
    await harness.tap(user, reminders(user)[-1], t("button_taken"))
    await harness.say(user, "/stop")
    harness.clock.set(bedtime(TONIGHT + timedelta(days=4)) - timedelta(hours=3))
    await harness.say(user, "/start")
    for later in ("23:00", "23:30", "22:30"):  # each change plans the coming night again
        await harness.say(user, "/settings")
        await harness.tap(user, user.last(), t("button_change_bedtime"))
        await harness.say(user, later)
    patient = await patient_of(harness, user)
    assert patient is not None
    off = [(h.start, h.end) for h in patient.holds if h.kind == "off"]
    assert off == [(TONIGHT + timedelta(days=1), TONIGHT + timedelta(days=4))]


async def test_a_step_counts_the_nights_taken_not_the_calendar(harness: Simulation) -> None:
    user = harness.telegram.user(162)
    await enroll_nights_ago(harness, user, 12, plan="builtin-1.5")  # 12 nights from 20 Feb
    rows = await nights(harness, user)
    # Ten nights of 1.5 mg, then 3 mg: with every night taken, the eleventh is the step-up.
    assert rows[TONIGHT - timedelta(days=2)].step_up

    other = harness.telegram.user(163)
    first = TONIGHT - timedelta(days=12)
    harness.clock.set(datetime.combine(first, time(12, 0), NY))
    await enroll(harness, other, plan="builtin-1.5")
    for offset in range(14):
        which = first + timedelta(days=offset)
        await harness.run_until(bedtime(which) + timedelta(minutes=1))
        # Skip two nights and miss two more: four nights not on the dose.
        if offset in (2, 3):
            await harness.tap(other, reminders(other)[-1], t("button_skip"))
        elif offset not in (5, 6):
            await harness.tap(other, reminders(other)[-1], t("button_taken"))
    await harness.run_until(bedtime(first + timedelta(days=14)) + timedelta(minutes=1))
    rows = await nights(harness, other)
    assert [rows[first + timedelta(days=n)].status for n in range(8)] == [
        "taken", "taken", "skipped", "skipped", "taken", "missed", "missed", "taken"
    ]  # fmt: skip
    step_up = [night for night, row in rows.items() if row.step_up]
    assert step_up == [first + timedelta(days=14)]  # ten nights taken, four later


async def test_three_skipped_nights_in_a_row_hold_the_increase_and_ask_once(
    harness: Simulation,
) -> None:
    user = harness.telegram.user(164)
    first = await enroll_nights_ago(harness, user, 2, plan="builtin-1.5")
    for offset in range(10):
        which = TONIGHT + timedelta(days=offset)
        await harness.run_until(bedtime(which) + timedelta(minutes=1))
        await harness.tap(user, reminders(user)[-1], t("button_skip"))
    patient = await patient_of(harness, user)
    assert patient is not None and [h.end for h in patient.dose_holds] == [None]
    async with harness.services.db.session() as session:
        raised = await Repository(session).escalations.open_of(patient.id)
    assert [e.reasons for e in raised] == [[["missed_three", None]]]
    assert raised[0].stop == "hold"
    # The ten nights off are one stretch, not ten rows.
    off = [(h.start, h.end) for h in patient.holds if h.kind == "off"]
    assert off == [(TONIGHT, TONIGHT + timedelta(days=10))]
    # Ten skips in a row never step the plan up.
    rows = await nights(harness, user)
    assert {row.dose_mg for row in rows.values()} == {Decimal("1.5")}
    assert first == TONIGHT - timedelta(days=2)


# Never two doses close together


def said(*lines: str) -> str:
    """One message of the bot's, made of these paragraphs."""
    return "\n\n".join(lines)


def put_off(night: date, at: str) -> str:
    """What a patient hears when a recent dose puts their next reminder off to `night`."""
    hours = int(nightly.MIN_DOSE_GAP.total_seconds() // 3600)
    return t("reminder_put_off", day=messages.day(night), time=at, hours=hours)


async def change_bedtime(harness: Simulation, user: FakeUser, typed: str) -> FakeMessage:
    await harness.say(user, "/settings")
    await harness.tap(user, user.last(), t("button_change_bedtime"))
    return await harness.say(user, typed)


async def change_zone(harness: Simulation, user: FakeUser, city: str, label: str) -> FakeMessage:
    await harness.say(user, "/settings")
    await harness.tap(user, user.last(), t("button_change_zone"))
    confirm = await harness.say(user, city)
    return await harness.tap(user, confirm, label)


async def test_a_bedtime_moved_from_0530_to_0630_after_the_dose_waits_a_day_not_59_minutes(
    harness: Simulation,
) -> None:
    user = harness.telegram.user(170)
    await enroll(harness, user, bedtime="05:30")
    due = bedtime(TONIGHT, time(5, 30))
    assert due == datetime(2026, 3, 5, 10, 30, tzinfo=UTC)  # Thursday 05:30: Wednesday's night
    await harness.run_until(due + timedelta(minutes=1))
    await harness.tap(user, reminders(user)[-1], t("button_taken"))
    harness.clock.advance(minutes=4)

    reply = await change_bedtime(harness, user, "06:30")

    # Thursday 06:30 would be Thursday's night, 59 minutes after the dose: Friday's comes next.
    friday = TONIGHT + timedelta(days=2)
    assert reply.text == said(t("bedtime_changed", bedtime="06:30"), put_off(friday, "06:30"))
    await harness.run_until(bedtime(friday, time(6, 30)) - timedelta(minutes=1))
    assert len(reminders(user)) == 1
    rows = await nights(harness, user)
    assert sorted(rows) == [TONIGHT, friday]
    assert rows[friday].remind_at == bedtime(friday, time(6, 30))
    await harness.run_until(bedtime(friday, time(6, 30)))
    assert len(reminders(user)) == 2
    # The night left out was no night on the dose: the step waits for it.
    patient = await patient_of(harness, user)
    assert patient is not None
    assert [(h.start, h.end) for h in patient.holds if h.kind == "off"] == [
        (TONIGHT + timedelta(days=1), friday)
    ]


async def test_a_zone_change_east_after_the_dose_waits_a_day_not_six_hours(
    harness: Simulation,
) -> None:
    user = harness.telegram.user(171)
    await enroll(harness, user)
    await harness.run_until(bedtime(TONIGHT) + timedelta(minutes=1))
    await harness.tap(user, reminders(user)[-1], t("button_taken"))  # 22:31 in New York
    harness.clock.advance(minutes=9)

    reply = await change_zone(harness, user, "auckland", "Auckland")

    # It is already Thursday afternoon in Auckland: Thursday's 22:30 there is six hours away.
    auckland = ZoneInfo("Pacific/Auckland")
    thursday, friday = TONIGHT + timedelta(days=1), TONIGHT + timedelta(days=2)
    assert bedtime(thursday, zone=auckland) - harness.clock.now() < timedelta(hours=6)
    assert reply.text == said(t("zone_changed", zone="Auckland"), put_off(friday, "22:30"))
    await harness.run_until(bedtime(friday, zone=auckland) - timedelta(minutes=1))
    assert len(reminders(user)) == 1
    assert sorted(await nights(harness, user)) == [TONIGHT, friday]
    await harness.run_until(bedtime(friday, zone=auckland))
    assert len(reminders(user)) == 2


async def test_an_ordinary_later_bedtime_the_evening_before_the_reminder_still_moves_it(
    harness: Simulation,
) -> None:
    user = harness.telegram.user(172)
    await enroll(harness, user, bedtime="22:00")
    await harness.run_until(bedtime(TONIGHT, time(22, 0)) + timedelta(minutes=1))
    await harness.tap(user, reminders(user)[-1], t("button_taken"))
    thursday = TONIGHT + timedelta(days=1)
    harness.clock.set(datetime.combine(thursday, time(21, 0), NY))

    reply = await change_bedtime(harness, user, "23:00")

    assert reply.text == t("bedtime_changed", bedtime="23:00")
    await harness.run_until(bedtime(thursday, time(23, 0)) - timedelta(minutes=1))
    assert len(reminders(user)) == 1
    await harness.run_until(bedtime(thursday, time(23, 0)))
    assert len(reminders(user)) == 2
    assert (await night(harness, user, thursday)).remind_at == bedtime(thursday, time(23, 0))


async def test_a_dose_taken_late_after_a_bedtime_change_puts_off_a_reminder_now_too_soon(
    harness: Simulation,
) -> None:
    user = harness.telegram.user(173)
    await enroll(harness, user)
    await harness.run_until(bedtime(TONIGHT) + timedelta(minutes=10))
    [reminder] = reminders(user)
    # Not answered yet; the bedtime moves to 11:00, far enough from now.
    reply = await change_bedtime(harness, user, "11:00")
    thursday, friday = TONIGHT + timedelta(days=1), TONIGHT + timedelta(days=2)
    assert reply.text == t("bedtime_changed", bedtime="11:00")
    assert (await night(harness, user, thursday)).remind_at == bedtime(thursday, time(11, 0))

    # Then the dose goes down at 01:00: ten hours before that reminder.
    await harness.run_until(datetime.combine(thursday, time(1, 0), NY))
    await harness.tap(user, reminder, t("button_taken"))

    await harness.run_until(bedtime(friday, time(11, 0)) - timedelta(minutes=1))
    assert len(reminders(user)) == 1
    assert sorted(await nights(harness, user)) == [TONIGHT, friday]
    await harness.run_until(bedtime(friday, time(11, 0)))
    assert len(reminders(user)) == 2


async def test_a_move_to_a_morning_dose_after_the_nights_dose_waits_a_day(
    care: Simulation,
) -> None:
    user = care.telegram.user(PATIENT)
    await enroll_invited(care, user, await invite(care))
    await care.run_until(bedtime(TONIGHT, time(22, 0)) + timedelta(minutes=1))
    await care.tap(user, care.reminders_to(user)[-1], t("button_taken"))
    await report(care, user, grades={"stomach": "grade_3"})
    await settle(care)
    await care.tap(care.telegram.user(DOCTOR), alerts(care, DOCTOR)[-1], t("button_decide_morning"))

    done = await care.tap(user, user.last(), "07:30")

    # Thursday 07:30 would be nine and a half hours after Wednesday's dose.
    friday = TONIGHT + timedelta(days=2)
    assert done.text == said(t("morning_changed", time="07:30"), put_off(friday, "07:30"))
    await care.run_until(bedtime(friday, time(7, 30)) - timedelta(minutes=1))
    assert care.reminders_to(user) == []  # Wednesday's, taken, has no buttons left
    await care.run_until(bedtime(friday, time(7, 30)))
    [morning] = care.reminders_to(user)
    assert morning.text.startswith(_prefix("reminder_morning", dose=""))
    assert morning.date == int(bedtime(friday, time(7, 30)).timestamp())


# A missed night's buttons


async def test_a_missed_night_keeps_no_dose_buttons_only_i_did_take_it_on_its_newest_message(
    harness: Simulation,
) -> None:
    user = harness.telegram.user(174)
    await enroll(harness, user)
    due = bedtime(TONIGHT)
    await harness.run_until(due + CUTOFF - timedelta(seconds=1))
    [reminder], [followup] = reminders(user), followups(user)
    assert reminder.buttons() == DOSE_BUTTONS and followup.buttons() == DOSE_BUTTONS
    count = len(user.messages())

    await harness.run_until(due + CUTOFF)

    row = await night(harness, user, TONIGHT)
    assert row.status == "missed"
    after_reminder = harness.telegram.message(user.id, reminder.message_id)
    after_followup = harness.telegram.message(user.id, followup.message_id)
    assert after_reminder is not None and after_followup is not None
    assert after_reminder.buttons() == []
    assert after_followup.buttons() == [t("button_took_it")]
    assert after_followup.button_data(t("button_took_it")) == callbacks.dose(row.id, Answer.TAKEN)
    # The texts stay as they were, and nothing new is sent in the night.
    assert (after_reminder.text, after_followup.text) == (reminder.text, followup.text)
    assert len(user.messages()) == count
    assert harness.reminders_to(user) == []


async def test_a_missed_night_after_a_snooze_changes_only_the_messages_with_buttons(
    harness: Simulation,
) -> None:
    user = harness.telegram.user(175)
    await enroll(harness, user)
    due = bedtime(TONIGHT)
    await harness.run_until(due + FOLLOWUP + timedelta(minutes=5))
    first, [followup] = reminders(user)[0], followups(user)
    await harness.tap(user, followup, t("button_snooze"))
    await harness.run_until(due + FOLLOWUP + timedelta(minutes=5) + nightly.SNOOZE)
    again = reminders(user)[-1]
    assert again.message_id != first.message_id and again.buttons() == DOSE_BUTTONS

    await harness.run_until(due + CUTOFF)

    assert (await night(harness, user, TONIGHT)).status == "missed"
    current = {m.message_id: m.buttons() for m in user.messages()}
    assert current[first.message_id] == [] and current[followup.message_id] == []
    assert current[again.message_id] == [t("button_took_it")]
    # Only the one message that still had buttons was edited (the harness refuses any edit
    # Telegram would answer "message is not modified").
    edits = harness.telegram.calls("editMessageReplyMarkup")
    assert [c.params["message_id"] for c in edits if c.ok][-1] == again.message_id


async def test_a_missed_night_whose_buttons_cannot_be_changed_is_still_recorded(
    harness: Simulation,
) -> None:
    user = harness.telegram.user(176)
    await enroll(harness, user)
    harness.telegram.fail("editMessageReplyMarkup", status=502, times=5)

    await harness.run_until(bedtime(TONIGHT) + CUTOFF)

    assert (await night(harness, user, TONIGHT)).status == "missed"
    tomorrow = TONIGHT + timedelta(days=1)
    assert (await night(harness, user, tomorrow)).status == "scheduled"
    await harness.run_until(bedtime(tomorrow))
    assert reminders(user)[-1].text == said(
        t("reminder", dose=words("0.5", 1, "0.5")), t("reminder_missed_before")
    )


async def test_skip_pressed_on_a_missed_night_the_next_day_never_says_tomorrow(
    harness: Simulation,
) -> None:
    user = harness.telegram.user(177)
    await enroll(harness, user)
    await harness.run_until(bedtime(TONIGHT) + CUTOFF + timedelta(hours=6))
    [reminder] = reminders(user)
    row = await night(harness, user, TONIGHT)

    # A Skip button left on an older message (sent before the buttons were taken off).
    toast = await forge(harness, user, reminder.message_id, callbacks.dose(row.id, Answer.SKIPPED))

    assert toast == t("toast_skipped")
    assert (await night(harness, user, TONIGHT)).status == "skipped"
    pressed = harness.telegram.message(user.id, reminder.message_id)
    assert pressed is not None and pressed.text.endswith(t("recorded_skipped_late"))


# The late reminder


def test_no_text_tells_a_patient_to_check_with_the_care_team_before_a_late_dose() -> None:
    # At 2 a.m. nobody answers: the rule must be one the patient can follow alone.
    asks = [k for k, v in TEXTS.items() if "before taking it" in " ".join(v.lower().split())]
    assert asks == []
    # The late reminder's rule is the guide's: skip it if it's late, never two.
    assert "never take two" in t("reminder_late", due="22:30", dose="1 mg").lower()


async def test_a_concern_on_a_step_up_night_before_the_dose_takes_tonight_back_to_the_last_dose(
    harness: Simulation,
) -> None:
    from tests.integration.test_care_loop import report

    user = harness.telegram.user(166)
    await enroll_nights_ago(harness, user, 10, plan="builtin-1.5")  # ten nights of 1.5 mg
    await harness.run_until(bedtime(TONIGHT) + timedelta(minutes=1))
    assert reminders(user)[-1].text.startswith(t("reminder", dose=words("3", 2, "1.5")))

    answer = await report(harness, user, grades={"stomach": "grade_3"})

    # No tolerance check here (check-ins are off): only the concern holds tonight's increase.
    lower = words("1.5", 1, "1.5")
    assert (
        answer.text is not None
        and t(
            "concern_hold_tonight_no_team", dose=lower, clinic="Test Clinic", contact="+1 555 0100"
        )
        in answer.text
    )
    row = await night(harness, user, TONIGHT)
    assert row.dose_mg == Decimal("1.5") and not row.step_up
    await harness.run_until(bedtime(TONIGHT) + FOLLOWUP + timedelta(minutes=1))
    assert followups(user)[-1].text == t("followup", dose=lower)
