"""Check-ins on their schedule, the tolerance check before an increase, and the other alerts.

Through the real stack on a virtual clock: the 0.5 mg plan from Wed 4 March 2026 in New York,
bedtime 22:00; step 2 begins on 18 March, so its tolerance check falls on 16 March.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.app.settings import Settings
from bot.rules.checkin_schedule import checkin_due
from bot.rules.plans import BUILTIN_PLANS, Hold
from bot.ui.checkin_questions import nothing_more
from bot.ui.messages import clinic_text
from bot.ui.texts import t
from devtools.simulation import Simulation, running
from fake_telegram.core import FakeMessage, FakeTelegram, FakeUser
from storage.models import Report
from storage.repositories import Repository
from tests.integration.test_care_loop import (
    EMERGENCY,
    FIRST_DOSE,
    HELD,
    PATIENT,
    WITHHELD,
    alerts,
    enroll,
    escalations,
    invite,
    report,
    said,
    settle,
)
from tests.support.harness import ADMIN, DOCTOR, doses_of, patient_of

NY = ZoneInfo("America/New_York")
START = date(2026, 3, 4)


def at(night: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(night, time(hour, minute), NY)


async def take_nights(care: Simulation, user: FakeUser, first: date, last: date) -> None:
    """The patient takes every night's dose from `first` to `last` when reminded."""
    night = first
    while night <= last:
        await care.run_until(at(night, 22, 1))
        reminder = care.reminders_to(user)[-1]
        await care.tap(user, reminder, t("button_taken"))
        night += timedelta(days=1)


async def reports(care: Simulation) -> list[Report]:
    async with care.services.db.session() as session:
        return list((await session.execute(select(Report).order_by(Report.id))).scalars())


# The schedule, as a pure rule

PLAN = BUILTIN_PLANS["builtin-0.5"]
DUE = {"after_step_up": 3, "every": 7, "tolerance": 2}


@pytest.mark.parametrize(
    ("night", "expected"),
    [
        (START, None),
        (START + timedelta(days=3), ("step_up", None)),  # a few nights into the first dose
        (START + timedelta(days=7), ("weekly", None)),  # weekly during titration
        (START + timedelta(days=12), ("tolerance", 2)),  # two nights before step 2
        (START + timedelta(days=13), None),
        (START + timedelta(days=14), None),  # the step-up night itself: no week has passed
        (START + timedelta(days=17), ("step_up", None)),  # three nights into step 2
        (START + timedelta(days=21), ("weekly", None)),  # a week into step 2
    ],
)
def test_check_ins_fall_after_step_ups_weekly_and_before_each_increase(
    night: date, expected: tuple[str, int | None] | None
) -> None:
    assert checkin_due(PLAN, START, [], night, **DUE) == expected


def test_a_weekly_check_in_a_night_before_the_tolerance_check_is_left_out() -> None:
    ten_nights = BUILTIN_PLANS["builtin-1.5"]  # a step every 10 nights: tolerance on night 8
    due = [checkin_due(ten_nights, START, [], START + timedelta(days=n), **DUE) for n in range(11)]
    assert [n for n, d in enumerate(due) if d is not None] == [3, 8]
    assert due[8] == ("tolerance", 2)


def test_no_tolerance_check_while_held_and_no_weekly_check_in_on_the_last_step() -> None:
    held = [Hold(START + timedelta(days=5), None)]
    assert checkin_due(PLAN, START, held, START + timedelta(days=12), **DUE) is None
    last_step_night = START + timedelta(days=6 * 14 + 7 * 3)
    assert checkin_due(PLAN, START, [], last_step_night, **DUE) is None


def test_zero_turns_each_kind_of_check_in_off() -> None:
    off = {"after_step_up": 0, "every": 0, "tolerance": 0}
    for offset in range(120):
        assert checkin_due(PLAN, START, [], START + timedelta(days=offset), **off) is None


# Through the bot


async def test_a_planned_check_in_comes_an_hour_before_the_reminder(care: Simulation) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care))
    await take_nights(care, user, START, START + timedelta(days=2))
    await care.run_until(at(START + timedelta(days=3), 21, 1))
    intro = user.last()
    assert intro.text == t("checkin_intro_step_up", dose="0.5 mg (1 × 0.5 mg capsule)")
    assert intro.buttons() == [t("button_checkin_start"), t("button_checkin_later")]
    later = await care.tap(user, intro, t("button_checkin_later"))
    assert later.text == t("checkin_later")
    # /sideeffects resumes the same check-in rather than starting another.
    question = await care.say(user, "/sideeffects")
    assert question.text == t("checkin_flags")
    assert [r.status for r in await reports(care)] == ["open"]


async def test_an_unanswered_tolerance_check_holds_the_increase_and_asks_the_providers(
    care: Simulation,
) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care))
    await take_nights(care, user, START, date(2026, 3, 18))

    doses = {d.night: d for d in await doses_of(care, user)}
    assert doses[date(2026, 3, 18)].dose_mg == Decimal("0.5")
    assert not doses[date(2026, 3, 18)].step_up
    # The step-up night's reminder gives tonight's usual dose and says why the increase waits.
    held = [m.text for m in user.messages() if m.text and t("tolerance_held") in m.text]
    assert len(held) == 1 and held[0].startswith(t("reminder", dose="0.5 mg")[:20])
    patient = await patient_of(care, user)
    assert patient is not None and [(h.start, h.end) for h in patient.dose_holds] == [
        (date(2026, 3, 18), None)
    ]
    await settle(care)
    routine = [e for e in await escalations(care) if e.reasons[0][0] == "tolerance_unanswered"]
    assert len(routine) == 1 and routine[0].tier == "routine"


async def test_an_answered_tolerance_check_lets_the_increase_come(care: Simulation) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care))
    await take_nights(care, user, START, date(2026, 3, 15))
    await care.run_until(at(date(2026, 3, 16), 21, 1))
    intro = user.last()
    assert intro.text.startswith(t("checkin_intro_tolerance", date="", dose="")[:20])
    message = await care.tap(user, intro, t("button_checkin_start"))
    message = await care.tap(user, message, t("button_flags_none"))
    message = await care.tap(user, message, t("button_effects_none"))
    message = await care.tap(user, message, t("button_nothing_else"))
    assert message.text == t("checkin_none")
    await take_nights(care, user, date(2026, 3, 16), date(2026, 3, 18))

    step_up = {d.night: d for d in await doses_of(care, user)}[date(2026, 3, 18)]
    assert step_up.dose_mg == Decimal("1.0") and step_up.step_up
    assert await escalations(care) == []


async def test_three_missed_nights_in_a_row_hold_and_are_reported_once(care: Simulation) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care))
    await care.run_until(at(date(2026, 3, 9), 12))  # nights 4 to 8 never answered

    found = [e for e in await escalations(care) if e.reasons[0][0] == "missed_three"]
    assert len(found) == 1
    patient = await patient_of(care, user)
    assert patient is not None and len(patient.dose_holds) == 1
    assert any(a.text.startswith(t("tier_routine")) for a in alerts(care, DOCTOR))


async def test_a_patient_who_blocks_the_bot_is_reported(care: Simulation) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care))
    user.block()
    await care.deliver()
    await settle(care)
    [escalation] = await escalations(care)
    assert escalation.reasons == [["blocked_bot", None]]
    assert len(alerts(care, DOCTOR)) == 1


async def _alert_for(care: Simulation, user: FakeUser) -> None:
    from tests.integration.test_care_loop import report

    await report(care, user, grades={"stomach": "grade_3"})
    await settle(care)


async def test_back_to_the_previous_dose_lowers_it_from_tonight(care: Simulation) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care, plan="1.5"))
    await take_nights(care, user, START, date(2026, 3, 14))  # step 2 (3 mg) since 14 March
    care.clock.set(at(date(2026, 3, 15), 12))
    await _alert_for(care, user)
    await care.tap(care.telegram.user(DOCTOR), alerts(care, DOCTOR)[-1], t("button_decide_back"))

    back = t("decided_back", dose="1.5 mg (1 × 1.5 mg capsule)", when=t("from_tonight"))
    assert user.last().text == back
    await care.run_until(at(date(2026, 3, 15), 22, 1))
    tonight = {d.night: d for d in await doses_of(care, user)}[date(2026, 3, 15)]
    assert tonight.dose_mg == Decimal("1.5")
    await care.run_until(at(date(2026, 4, 20), 22, 1))
    later = {d.night: d for d in await doses_of(care, user)}[date(2026, 4, 20)]
    assert later.dose_mg == Decimal("1.5")  # held there until a provider says go on


async def test_back_after_tonights_reminder_lowers_tonights_dose_too(care: Simulation) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care, plan="1.5"))
    await take_nights(care, user, START, date(2026, 3, 14))  # step 2 (3 mg) since 14 March
    await care.run_until(at(date(2026, 3, 15), 22, 1))  # tonight's 3 mg reminder is out
    await _alert_for(care, user)
    await care.tap(care.telegram.user(DOCTOR), alerts(care, DOCTOR)[-1], t("button_decide_back"))

    lower = "1.5 mg (1 × 1.5 mg capsule)"
    assert t("decided_back", dose=lower, when=t("from_tonight")) in (user.last().text or "")
    tonight = {d.night: d for d in await doses_of(care, user)}[date(2026, 3, 15)]
    assert tonight.dose_mg == Decimal("1.5")
    # Tonight's follow-up asks about the lower dose, not the one the reminder named.
    await care.run_until(at(date(2026, 3, 15), 22, 40))
    assert user.last().text == t("followup", dose=lower)


async def test_pause_stops_reminders_until_a_provider_continues(care: Simulation) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care))
    await _alert_for(care, user)
    await care.tap(care.telegram.user(DOCTOR), alerts(care, DOCTOR)[-1], t("button_decide_pause"))
    assert user.last().text.startswith(t("decided_pause", clinic="", contact="")[:30])
    await care.run_until(at(date(2026, 3, 8), 12))
    assert care.reminders_to(user) == []


async def test_morning_dosing_asks_for_a_morning_time_and_moves_the_reminder(
    care: Simulation,
) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care), first_dose_taken=True)
    await _alert_for(care, user)
    await care.tap(care.telegram.user(DOCTOR), alerts(care, DOCTOR)[-1], t("button_decide_morning"))
    question = user.last()
    assert question.text == t("decided_morning") and "07:30" in question.buttons()
    done = await care.tap(user, question, "07:30")
    # Last night's dose was at 22:01: tomorrow morning would be two doses 9½ hours apart.
    put_off = t("reminder_put_off", day="Fri 6 Mar", time="07:30", hours=12)
    assert done.text == t("morning_changed", time="07:30") + "\n\n" + put_off
    patient = await patient_of(care, user)
    assert patient is not None and patient.morning_dose and patient.bedtime == time(7, 30)
    await care.run_until(at(date(2026, 3, 6), 7, 31))
    [reminder] = [m for m in care.reminders_to(user) if m.text.startswith("☀️")]
    assert reminder.text.startswith(t("reminder_morning", dose="0.5 mg (1 × 0.5 mg capsule)"))
    assert reminder.date == int(at(date(2026, 3, 6), 7, 30).timestamp())


async def test_a_provider_chat_the_bot_cannot_reach_is_reported_to_the_admins(
    care_settings, clock, db
) -> None:
    telegram = FakeTelegram(clock=clock.now)
    telegram.user(ADMIN).send("/start")  # the admin opened the bot; the doctor never did
    async with running(care_settings, clock, telegram):
        pass
    told = [m.text for m in telegram.messages(ADMIN)]
    assert any(str(DOCTOR) in text and text.startswith("⚠️") for text in told)


async def test_continuing_after_an_unanswered_tolerance_check_lets_the_increase_come_once(
    care: Simulation,
) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care))
    await take_nights(care, user, START, date(2026, 3, 18))
    await settle(care)
    # One alert, raised again while nobody answers it: the provider may answer on any copy.
    routine = [a for a in alerts(care, DOCTOR) if a.text.startswith(t("tier_routine"))]
    assert routine and len(await escalations(care)) == 1

    await care.tap(care.telegram.user(DOCTOR), routine[-1], t("button_decide_continue"))
    await take_nights(care, user, date(2026, 3, 19), date(2026, 3, 19))

    nights = {d.night: d for d in await doses_of(care, user)}
    assert nights[date(2026, 3, 19)].dose_mg == Decimal("1.0") and nights[date(2026, 3, 19)].step_up
    assert len(await escalations(care)) == 1  # the released check does not hold again
    assert sum(t("tolerance_held") in (m.text or "") for m in user.messages()) == 1


async def test_a_concern_on_a_step_up_night_before_the_new_dose_is_taken_keeps_tonight_lower(
    care: Simulation,
) -> None:
    from tests.integration.test_care_loop import report

    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care, plan="1.5"))
    await take_nights(care, user, START, date(2026, 3, 13))  # ten nights of 1.5 mg
    await care.run_until(at(date(2026, 3, 14), 22, 1))  # step 2 (3 mg) begins tonight
    assert care.reminders_to(user)[-1].text.startswith(t("reminder", dose="3 mg")[:20])

    await report(care, user, grades={"stomach": "grade_3"})

    # The increase waits from tonight: the 3 mg reminder is out, but 3 mg is not taken yet.
    patient = await patient_of(care, user)
    assert patient is not None and [h.start for h in patient.dose_holds] == [date(2026, 3, 14)]
    nights = {d.night: d for d in await doses_of(care, user)}
    assert nights[date(2026, 3, 14)].dose_mg == Decimal("1.5")
    assert not nights[date(2026, 3, 14)].step_up
    assert nights[date(2026, 3, 15)].dose_mg == Decimal("1.5")


async def test_typed_words_after_their_check_in_was_replaced_are_read_as_a_message(
    care: Simulation,
) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care))
    async with care.services.db.session() as session:
        repo = Repository(session)
        patient = await repo.patients.by_user(user.id)
        assert patient is not None
        patient.awaiting = "checkin_words"  # left over from a check-in that has since expired
        await repo.commit()

    reply = await care.say(user, "all good thanks")

    # Not a check-in's answer any more, and not understood: a person reads it.
    assert reply.text.startswith(t("inbox_passed_on"))
    assert await reports(care) == []
    [message] = await escalations(care)
    assert (message.tier, message.words) == ("message", "all good thanks")
    patient = await patient_of(care, user)
    assert patient is not None and patient.awaiting is None


# Check-ins keep every flag: a red flag ticked is passed on at once, an unfinished check-in is
# sorted on what was answered, and words the bot cannot judge go to a person.


def current(care: Simulation, message: FakeMessage) -> FakeMessage:
    """The message as it is in the chat now, after any edits."""
    found = care.telegram.message(message.chat_id, message.message_id)
    assert found is not None
    return found


async def test_ticking_trouble_breathing_gives_the_emergency_number_and_alerts_without_done(
    care: Simulation,
) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care))
    question = await care.say(user, "/sideeffects")

    reply = await care.tap(user, question, "▫️ " + t("flag_breathing"))

    # Told in the same update, and the providers already have it: no Done, no dispatcher round.
    assert reply.text == said(
        t("concern_emergency", emergency="911"), t("concern_withhold"), t("concern_sent")
    )
    [alert] = alerts(care, DOCTOR)
    assert alert.text.startswith(t("tier_emergency"))
    [escalation] = await escalations(care)
    assert escalation.stop == "withhold"
    patient = await patient_of(care, user)
    assert patient is not None and patient.withheld_at is not None


@pytest.mark.parametrize("flag", ["opioids", "allergy", "pregnancy"])
async def test_an_opioid_allergy_or_pregnancy_flag_withholds_ldn_and_tonights_reminder(
    care: Simulation, flag: str
) -> None:
    user = care.telegram.user(PATIENT)
    # On LDN already (a first dose taken): the flag itself must withhold, not the first-dose rule.
    await enroll(care, user, await invite(care), first_dose_taken=True)
    question = await care.say(user, "/sideeffects")

    reply = await care.tap(user, question, "▫️ " + t(f"flag_{flag}"))

    assert reply.text == WITHHELD  # never "stay on your current dose"
    await care.run_until(at(START + timedelta(days=1), 23))
    assert care.reminders_to(user) == []
    assert alerts(care, DOCTOR)[0].text.startswith(t("tier_urgent"))


async def test_none_of_these_is_not_offered_once_a_flag_is_ticked_and_an_old_press_wipes_nothing(
    care: Simulation,
) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care))
    question = await care.say(user, "/sideeffects")
    none = question.button_data(t("button_flags_none"))

    await care.tap(user, question, "▫️ " + t("flag_breathing"))
    assert t("button_flags_none") not in current(care, question).buttons()
    user.forge_press(question.message_id, none)  # the button as it was before the tick
    await care.deliver()

    assert care.telegram.calls("answerCallbackQuery")[-1].params["text"] == t("checkin_stale")
    [row] = await reports(care)
    assert row.answers["flags"] == ["breathing"] and row.status == "open"
    assert len(await escalations(care)) == 1


async def test_a_thyroid_sign_ticked_cannot_be_wiped_by_none_of_these(care: Simulation) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care), screening_yes=("thyroid",))
    await settle(care)
    await care.tap(care.telegram.user(DOCTOR), alerts(care, DOCTOR)[0], t("button_decide_continue"))
    question = await care.say(user, "/sideeffects")
    await care.tap(user, question, t("button_flags_none"))
    await care.tap(user, question, t("button_effects_none"))
    none = current(care, question).button_data(t("button_flags_none"))
    await care.tap(user, question, "▫️ " + t("thyroid_racing_heart"))
    assert t("button_flags_none") not in current(care, question).buttons()

    user.forge_press(question.message_id, none)
    await care.deliver()
    await care.tap(user, question, t("button_flags_done"))
    await care.tap(user, question, t("button_nothing_else"))

    [_, escalation] = await escalations(care)  # the screening's, then this one
    assert escalation.reasons == [["thyroid_over_replacement", None]]


async def test_unticking_a_flag_already_passed_on_does_not_unsay_it(care: Simulation) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care))
    question = await care.say(user, "/sideeffects")
    await care.tap(user, question, "▫️ " + t("flag_opioids"))

    await care.tap(user, question, "☑️ " + t("flag_opioids"))

    assert care.telegram.calls("answerCallbackQuery")[-1].params["text"] == t("checkin_flag_kept")
    assert ("☑️ " + t("flag_opioids")) in current(care, question).buttons()
    [row] = await reports(care)
    assert row.answers["flags"] == ["opioids"]
    patient = await patient_of(care, user)
    assert patient is not None and patient.withheld_at is not None


async def test_each_new_flag_is_passed_on_as_it_is_ticked_and_done_raises_none_twice(
    care: Simulation,
) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care))
    question = await care.say(user, "/sideeffects")
    await care.tap(user, question, "▫️ " + t("flag_opioids"))
    second = await care.tap(user, question, "▫️ " + t("flag_self_harm"))
    assert second.text == EMERGENCY  # the more serious one still gets its numbers

    done = await care.tap(user, question, t("button_flags_done"))

    assert done.text == t("checkin_done_raised")
    assert [e.reasons for e in await escalations(care)] == [
        [["flag_opioids", "opioids"]],
        [["flag_self_harm", "self_harm"]],
    ]
    assert len(alerts(care, DOCTOR)) == 2


async def test_thoughts_of_self_harm_ticked_and_left_are_alerted_at_once_and_never_again(
    care: Simulation,
) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care))
    question = await care.say(user, "/sideeffects")
    await care.tap(user, question, "▫️ " + t("flag_self_harm"))
    assert alerts(care, DOCTOR)[0].text.startswith(t("tier_emergency"))
    told = len(user.messages())

    await care.run_until(care.clock.now() + timedelta(hours=30))

    [row] = await reports(care)
    assert row.status == "expired" and row.tier == "emergency"
    assert current(care, question).buttons() == []
    assert len(await escalations(care)) == 1
    assert len(user.messages()) == told  # nothing new to say: it was said at the tick


async def test_a_severe_effect_left_unfinished_is_passed_on_when_the_check_in_expires(
    care: Simulation,
) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care), first_dose_taken=True)
    question = await care.say(user, "/sideeffects")
    await care.tap(user, question, t("button_flags_none"))
    await care.tap(user, question, t("button_effects_some"))
    await care.tap(user, question, t("grade_0"))  # sleep
    await care.tap(user, question, t("grade_3"))  # stomach; then the patient stops
    hours = care.services.settings.checkin_expire_hours
    await care.run_until(care.clock.now() + timedelta(hours=hours) - timedelta(minutes=1))
    assert await escalations(care) == []

    await care.run_until(care.clock.now() + timedelta(minutes=2))

    [escalation] = await escalations(care)
    assert escalation.reasons == [["severe_stomach", "stomach"]] and escalation.stop == "hold"
    assert len(alerts(care, DOCTOR)) == 1
    assert user.last().text == said(t("checkin_expired_raised"), HELD)
    [row] = await reports(care)
    assert row.status == "expired" and row.tier == "urgent"
    patient = await patient_of(care, user)
    assert patient is not None and [h.end for h in patient.holds] == [None]


async def test_an_unfinished_check_in_is_sorted_after_a_restart(
    care: Simulation, care_settings: Settings
) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care))
    question = await care.say(user, "/sideeffects")
    await care.tap(user, question, t("button_flags_none"))
    await care.tap(user, question, t("button_effects_some"))
    await care.tap(user, question, t("grade_3"))  # severe sleep trouble; then the bot stops
    await care.app.shutdown()
    await care.app.post_shutdown(care.app)  # type: ignore[misc]
    care.clock.advance(hours=13)

    async with running(care_settings, care.clock, care.telegram) as again:
        await settle(again)
        [escalation] = await escalations(again)
        assert escalation.reasons == [["severe_sleep", "sleep"]]
        assert len(alerts(again, DOCTOR)) == 1
    await care.app.initialize()  # the fixture shuts the first one down again


async def test_a_planned_check_in_left_unanswered_just_closes_after_its_hours(
    care: Simulation,
) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care))
    await take_nights(care, user, START, START + timedelta(days=2))
    await care.run_until(at(START + timedelta(days=3), 21, 1))
    intro = user.last()
    assert intro.text == t("checkin_intro_step_up", dose=FIRST_DOSE)
    told = len(user.messages())

    await care.run_until(care.clock.now() + timedelta(hours=12))  # it came a minute ago

    [row] = await reports(care)
    assert row.status == "expired" and row.tier is None
    assert current(care, intro).buttons() == []
    assert await escalations(care) == []
    # Only that night's reminder and its follow-up came since: no word about the check-in.
    assert all(t("checkin_expired_raised") not in (m.text or "") for m in user.messages()[told:])


async def test_words_the_bot_cannot_judge_go_to_a_person_and_get_no_all_clear(
    care: Simulation,
) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care))

    reply = await report(care, user, words="Sleeping well, and my knees hurt less.")

    assert reply.text == said(
        t("checkin_words_unread"), t("concern_sent"), t("concern_unwell", emergency="911")
    )
    [alert] = alerts(care, DOCTOR)
    assert "Sleeping well, and my knees hurt less." in alert.text
    [escalation] = await escalations(care)
    assert escalation.reasons == [["words_unread", None]] and escalation.stop is None
    # Passed on as they are, like a message: on their own they hold nothing.
    patient = await patient_of(care, user)
    assert patient is not None and patient.holds == [] and patient.withheld_at is None


async def test_words_naming_an_opioid_as_the_last_answer_withhold_ldn(care: Simulation) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care))

    reply = await report(care, user, words="doc put me on oxycodone after my knee op")

    assert reply.text == WITHHELD
    assert alerts(care, DOCTOR)[0].text.startswith(t("tier_urgent"))
    patient = await patient_of(care, user)
    assert patient is not None and patient.withheld_at is not None


async def test_fainting_and_vomiting_blood_as_the_last_answer_withhold_ldn(
    care: Simulation,
) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care))

    reply = await report(care, user, words="I fainted twice this week and threw up blood")

    # Vomiting blood is an emergency: the number first, then no LDN until the care team replies.
    assert reply.text is not None
    assert reply.text.startswith(t("concern_emergency", emergency="911"))
    assert t("concern_withhold") in reply.text
    patient = await patient_of(care, user)
    assert patient is not None and patient.withheld_at is not None


async def test_fainting_and_vomiting_blood_as_the_last_answer_are_never_answered_with_an_all_clear(
    care: Simulation,
) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care))

    reply = await report(care, user, words="I fainted twice this week and threw up blood")

    assert t("concern_sent") in reply.text and t("checkin_none") not in reply.text
    [alert] = alerts(care, DOCTOR)
    assert "I fainted twice this week and threw up blood" in alert.text


async def test_last_words_that_say_nothing_more_keep_the_plain_answer(care: Simulation) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care))

    plain = await report(care, user, words="No, all good thanks!")
    care.clock.advance(days=1)
    mild = await report(care, user, grades={"sleep": "grade_1"}, words="nothing else")

    assert plain.text == t("checkin_none")
    assert mild.text.startswith(t("checkin_info")) and t("tip_sleep") in mild.text
    assert await escalations(care) == []


async def test_a_concern_while_ldn_is_withheld_never_says_keep_taking_it(care: Simulation) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care), first_dose_taken=True)
    await report(care, user, flags=("pregnancy",))

    reply = await report(care, user, grades={"stomach": "grade_3"})

    assert reply.text == WITHHELD
    assert t("concern_hold", dose=FIRST_DOSE) not in reply.text


@pytest.mark.parametrize(
    ("words", "nothing"),
    [
        (None, True),
        ("", True),
        ("  ...", True),
        ("No", True),
        ("nope, all good, thanks", True),
        ("Nothing else", True),
        ("I'm fine thank you", True),
        ("ok thx", True),
        ("👍", False),  # a person reads an emoji: it may not mean "fine"
        ("no rash today", False),
        ("fine but tired", False),
        ("all good, but I had a seizure", False),
        ("Sleeping well, and my knees hurt less.", False),
        ("нет", False),  # words in any other language go to a person
    ],
)
def test_only_words_plainly_saying_nothing_more_count_as_nothing(
    words: str | None, nothing: bool
) -> None:
    assert nothing_more(words) is nothing


async def test_a_check_in_replaced_by_a_newer_one_is_sorted_on_what_it_had(
    care: Simulation,
) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care))
    await take_nights(care, user, START, START + timedelta(days=2))
    care.clock.set(at(START + timedelta(days=3), 20, 30))
    question = await care.say(user, "/sideeffects")
    await care.tap(user, question, t("button_flags_none"))
    await care.tap(user, question, t("button_effects_some"))
    await care.tap(user, question, t("grade_3"))  # severe sleep trouble, then the check-in comes

    await care.run_until(at(START + timedelta(days=3), 21, 1))

    [escalation] = await escalations(care)
    assert escalation.reasons == [["severe_sleep", "sleep"]]
    assert {r.kind: r.status for r in await reports(care)} == {
        "asked": "expired",
        "step_up": "open",
    }
    said_now = [m.text for m in user.messages()[-2:]]
    assert said_now[0] == said(t("checkin_expired_raised"), HELD)
    assert said_now[1] == t("checkin_intro_step_up", dose=FIRST_DOSE)


async def test_a_check_in_while_ldn_is_withheld_never_ends_with_keep_going(
    care: Simulation,
) -> None:
    from tests.integration.test_care_loop import report

    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care), first_dose_taken=True)
    await care.say(user, "doc put me on oxycodone after my knee op")  # withheld
    answer = await report(care, user)  # nothing ticked, no side effects, nothing else
    withheld = clinic_text("stop_withheld", care.services.settings)
    assert answer.text == "\n\n".join((t("checkin_thanks"), withheld))
    mild = await report(care, user, grades={"sleep": "grade_1"})
    assert mild.text is not None and t("checkin_info") not in mild.text


async def test_a_tolerance_check_closed_unanswered_by_a_newer_check_in_still_holds_the_increase(
    care: Simulation,
) -> None:
    # Four nights a step: the step-up check-in replaces the tolerance check before it is answered.
    user = care.telegram.user(PATIENT)
    code = await invite(care, plan="custom 0.5 0.5 4 1.5 0.5")
    await enroll(care, user, code, first_dose_taken=True)
    await take_nights(care, user, date(2026, 3, 5), date(2026, 3, 8))  # check-ins ignored
    rows = await doses_of(care, user)
    assert not [d for d in rows if d.step == 2 and d.status == "taken"]
    found = [e.reasons for e in await escalations(care)]
    assert [["tolerance_unanswered", None]] in found
