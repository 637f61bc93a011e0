"""Enrollment through the real stack: questions, answers typed or tapped, old buttons, restarts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, time

import pytest

from bot.app.settings import Settings
from bot.care.onboarding import START_FUTURE_DAYS
from bot.rules.plans import BUILTIN_PLANS
from bot.ui import messages
from bot.ui.texts import t
from devtools.simulation import Simulation, running
from fake_telegram.core import FakeMessage, FakeUser
from tests.support.harness import doses_of, patient_of

BEDTIME_LABELS = ["21:00", "21:30", "22:00", "22:30", "23:00", "23:30"]
WELCOME = dict(clinic="Test Clinic", contact="+1 555 0100", emergency="911")


# Helpers


async def awaiting(harness: Simulation, user: FakeUser) -> str | None:
    patient = await patient_of(harness, user)
    assert patient is not None
    return patient.awaiting


def texts_since(user: FakeUser, count: int) -> list[str | None]:
    return [m.text for m in user.messages()[count:]]


async def to_plan(harness: Simulation, user: FakeUser) -> FakeMessage:
    await harness.say(user, "/start")
    await harness.tap(user, user.last(), t("button_consent_yes"))
    return await harness.tap(user, user.last(), t("button_screen_none"))


async def to_zone(harness: Simulation, user: FakeUser) -> FakeMessage:
    await to_plan(harness, user)
    return await harness.tap(user, user.last(), t("button_plan_builtin-1.5"))


async def to_start(harness: Simulation, user: FakeUser) -> FakeMessage:
    await to_zone(harness, user)
    return await harness.tap(user, user.last(), "New York")


async def to_bedtime(harness: Simulation, user: FakeUser) -> FakeMessage:
    await to_start(harness, user)
    return await harness.tap(user, user.last(), t("button_today"))


async def to_summary(harness: Simulation, user: FakeUser) -> FakeMessage:
    await to_bedtime(harness, user)
    return await harness.tap(user, user.last(), "22:30")


@asynccontextmanager
async def restarted(harness: Simulation, settings: Settings) -> AsyncIterator[Simulation]:
    """Shut the running bot down and start a second Application on the same database."""
    old = harness.app
    assert old.post_shutdown is not None
    await old.shutdown()
    await old.post_shutdown(old)
    async with running(settings, harness.clock, harness.telegram) as second:
        yield second


# The whole way through


async def test_start_sends_welcome_then_consent_and_keeps_a_patient_awaiting_consent(
    harness: Simulation,
) -> None:
    user = harness.telegram.user(101)
    await harness.say(user, "/start")

    welcome, consent = user.messages()
    assert welcome.text == t("welcome_no_team", **WELCOME)
    assert welcome.buttons() == []
    assert consent.text == t("consent")
    assert consent.buttons() == [t("button_consent_yes"), t("button_consent_no")]
    patient = await patient_of(harness, user)
    assert patient is not None and patient.awaiting == "consent"
    assert patient.consent_at is None and not patient.enrolled
    assert patient.chat_id == user.id


async def test_onboarding_with_buttons_enrolls_with_one_scheduled_night(
    harness: Simulation,
) -> None:
    user = harness.telegram.user(102)
    plan_question = await to_plan(harness, user)
    assert plan_question.text == t("ask_plan")
    assert plan_question.buttons() == [
        t("button_plan_builtin-0.5"),
        t("button_plan_builtin-1.5"),
        t("button_plan_other"),
    ]

    zone_question = await harness.tap(user, plan_question, t("button_plan_builtin-1.5"))
    assert user.messages()[-2].text == t("plan_chosen", plan=t("plan_name_builtin-1.5"))
    assert zone_question.text == t("ask_timezone")
    assert zone_question.buttons() == ["New York", t("button_zone_other")]

    start_question = await harness.tap(user, zone_question, "New York")
    assert start_question.text == t("ask_start")
    assert start_question.buttons() == [t("button_today"), t("button_tomorrow")]

    bedtime_question = await harness.tap(user, start_question, t("button_today"))
    assert bedtime_question.text == t("ask_bedtime")
    assert bedtime_question.buttons() == BEDTIME_LABELS

    summary = await harness.tap(user, bedtime_question, "22:30")
    assert summary.buttons() == [t("button_confirm"), t("button_restart")]
    assert "22:30" in summary.text and "New York" in summary.text

    done = await harness.tap(user, summary, t("button_confirm"))
    assert done.text == t("enrolled", bedtime="22:30")
    assert done.buttons() == []

    patient = await patient_of(harness, user)
    assert patient is not None
    assert patient.plan == BUILTIN_PLANS["builtin-1.5"].to_dict()
    assert patient.start_date == date(2026, 3, 4)
    assert patient.bedtime == time(22, 30)
    assert patient.timezone == "America/New_York"
    assert patient.awaiting is None
    assert patient.enrolled_at == harness.clock.now()
    assert patient.consent_at is not None
    assert not patient.reminders_paused and not patient.blocked_bot

    (dose,) = await doses_of(harness, user)
    assert dose.night == date(2026, 3, 4)
    assert dose.status == "scheduled"
    # 22:30 in New York on a March evening before daylight saving starts (EST, UTC-5).
    assert dose.remind_at == datetime(2026, 3, 5, 3, 30, tzinfo=UTC)
    assert dose.next_action_at == dose.remind_at
    assert (dose.step, str(dose.dose_mg.normalize()), dose.capsules) == (1, "1.5", 1)


async def test_every_question_button_is_taken_off_once_answered(harness: Simulation) -> None:
    user = harness.telegram.user(103)
    await to_summary(harness, user)
    await harness.tap(user, user.last(), t("button_confirm"))
    # Every question message the bot sent has lost its buttons: none can be answered twice.
    assert [m.buttons() for m in user.messages() if m.buttons()] == []
    assert all(m.edited for m in user.messages() if m.text in (t("consent"), t("ask_plan")))


async def test_onboarding_tomorrow_button_starts_the_next_night(harness: Simulation) -> None:
    user = harness.telegram.user(104)
    await to_start(harness, user)
    await harness.tap(user, user.last(), t("button_tomorrow"))
    await harness.tap(user, user.last(), "22:00")
    await harness.tap(user, user.last(), t("button_confirm"))

    patient = await patient_of(harness, user)
    assert patient is not None and patient.start_date == date(2026, 3, 5)
    (dose,) = await doses_of(harness, user)
    assert dose.night == date(2026, 3, 5)
    assert dose.remind_at == datetime(2026, 3, 6, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize("typed", ["2026-03-10", "10 Mar"])
async def test_onboarding_typed_start_date_schedules_that_night_in_local_time(
    harness: Simulation, typed: str
) -> None:
    user = harness.telegram.user(105)
    await to_start(harness, user)
    bedtime_question = await harness.say(user, typed)
    assert bedtime_question.text == t("ask_bedtime")
    await harness.tap(user, bedtime_question, "22:30")
    await harness.tap(user, user.last(), t("button_confirm"))

    patient = await patient_of(harness, user)
    assert patient is not None and patient.start_date == date(2026, 3, 10)
    (dose,) = await doses_of(harness, user)
    assert dose.night == date(2026, 3, 10)
    # New York moved to daylight saving time on 8 March: 22:30 EDT is 02:30 UTC.
    assert dose.remind_at == datetime(2026, 3, 11, 2, 30, tzinfo=UTC)


@pytest.mark.parametrize("typed", ["22:30", "10:30 pm", "22.30"])
async def test_onboarding_typed_bedtime_is_read_and_moves_on(
    harness: Simulation, typed: str
) -> None:
    user = harness.telegram.user(106)
    await to_bedtime(harness, user)
    summary = await harness.say(user, typed)
    assert summary.buttons() == [t("button_confirm"), t("button_restart")]
    patient = await patient_of(harness, user)
    assert patient is not None
    assert patient.bedtime == time(22, 30)
    assert patient.awaiting == "summary"


async def test_onboarding_typed_city_offers_its_zone_with_local_time_then_enrolls(
    harness: Simulation,
) -> None:
    user = harness.telegram.user(107)
    await to_zone(harness, user)
    confirm = await harness.say(user, "kolkata")

    # 17:00 UTC is 22:30 in Kolkata (UTC+5:30).
    assert confirm.text == t("confirm_timezone", zone="Kolkata (Asia/Kolkata)", local_time="22:30")
    assert confirm.buttons() == ["Kolkata (Asia/Kolkata) · 22:30", t("button_no_other")]
    assert await awaiting(harness, user) == "zone_confirm"

    start_question = await harness.tap(user, confirm, "Kolkata")
    assert start_question.text == t("ask_start")
    await harness.tap(user, start_question, t("button_today"))
    summary = await harness.tap(user, user.last(), "23:00")
    assert summary.buttons() == [t("button_confirm"), t("button_restart")]
    assert "Kolkata" in summary.text
    await harness.tap(user, summary, t("button_confirm"))

    patient = await patient_of(harness, user)
    assert patient is not None and patient.timezone == "Asia/Kolkata"
    (dose,) = await doses_of(harness, user)
    assert dose.night == date(2026, 3, 4)
    assert dose.remind_at == datetime(2026, 3, 4, 17, 30, tzinfo=UTC)  # 23:00 IST

    await harness.run_until(datetime(2026, 3, 4, 17, 29, tzinfo=UTC))
    assert harness.reminders_to(user) == []
    await harness.run_until(datetime(2026, 3, 4, 17, 30, tzinfo=UTC))
    assert len(harness.reminders_to(user)) == 1


async def test_onboarding_somewhere_else_asks_for_a_city(harness: Simulation) -> None:
    user = harness.telegram.user(108)
    zone_question = await to_zone(harness, user)
    reply = await harness.tap(user, zone_question, t("button_zone_other"))
    assert reply.text == t("ask_timezone_city")
    assert await awaiting(harness, user) == "zone_confirm"
    confirm = await harness.say(user, "london")
    assert confirm.buttons()[0].startswith("London (Europe/London)")
    # "No, let me type it" goes back to the city question, nothing chosen yet.
    again = await harness.tap(user, confirm, t("button_no_other"))
    assert again.text == t("ask_timezone_city")
    patient = await patient_of(harness, user)
    assert patient is not None and patient.timezone is None


# Saying no, something else, starting over


async def test_declining_consent_keeps_nothing(harness: Simulation) -> None:
    user = harness.telegram.user(110)
    await harness.say(user, "/start")
    reply = await harness.tap(user, user.last(), t("button_consent_no"))
    assert reply.text == t("consent_declined")
    assert await patient_of(harness, user) is None

    # Changing their mind later starts from the beginning.
    await harness.say(user, "/start")
    assert user.messages()[-2].text == t("welcome_no_team", **WELCOME)
    assert await awaiting(harness, user) == "consent"


async def test_something_else_plan_keeps_them_at_the_plan_question(harness: Simulation) -> None:
    user = harness.telegram.user(111)
    plan_question = await to_plan(harness, user)
    count = len(user.messages())
    await harness.tap(user, plan_question, t("button_plan_other"))

    other, again = user.messages()[count:]
    assert other.text == t("plan_other", **WELCOME)
    assert again.text == t("ask_plan")
    assert t("button_plan_builtin-1.5") in again.buttons()
    patient = await patient_of(harness, user)
    assert patient is not None and patient.awaiting == "plan" and patient.plan is None

    await harness.tap(user, again, t("button_plan_builtin-0.5"))
    patient = await patient_of(harness, user)
    assert patient is not None and patient.plan == BUILTIN_PLANS["builtin-0.5"].to_dict()


async def test_start_over_from_summary_clears_answers_and_asks_the_plan_again(
    harness: Simulation,
) -> None:
    user = harness.telegram.user(112)
    summary = await to_summary(harness, user)
    reply = await harness.tap(user, summary, t("button_restart"))
    assert reply.text == t("ask_plan")

    patient = await patient_of(harness, user)
    assert patient is not None
    assert patient.awaiting == "plan"
    assert (patient.plan, patient.start_date, patient.bedtime, patient.timezone) == (None,) * 4
    assert patient.consent_at is not None  # consent was given once; not asked again
    assert not patient.enrolled
    assert await doses_of(harness, user) == []


# Bad answers: a kind word, the question again, nothing lost


@pytest.mark.parametrize("typed", ["25:00", "later"])
async def test_unreadable_bedtime_is_asked_again(harness: Simulation, typed: str) -> None:
    user = harness.telegram.user(120)
    await to_bedtime(harness, user)
    count = len(user.messages())
    await harness.say(user, typed)

    sorry, again = user.messages()[count:]
    assert sorry.text == t("bad_bedtime")
    assert again.text == t("ask_bedtime") and again.buttons() == BEDTIME_LABELS
    patient = await patient_of(harness, user)
    assert patient is not None
    assert patient.awaiting == "bedtime" and patient.bedtime is None
    assert patient.start_date == date(2026, 3, 4)  # earlier answers kept


async def test_unknown_place_is_refused_and_the_zone_step_kept(harness: Simulation) -> None:
    user = harness.telegram.user(121)
    await to_zone(harness, user)
    count = len(user.messages())
    reply = await harness.say(user, "Narnia")
    assert texts_since(user, count) == [t("bad_timezone")]
    assert reply.buttons() == []
    patient = await patient_of(harness, user)
    assert patient is not None and patient.awaiting == "zone" and patient.timezone is None
    assert patient.plan == BUILTIN_PLANS["builtin-1.5"].to_dict()

    # The next, better answer still works.
    confirm = await harness.say(user, "kolkata")
    assert confirm.buttons()[0].startswith("Kolkata")


async def test_a_near_miss_place_is_offered_for_confirmation_never_taken_silently(
    harness: Simulation,
) -> None:
    user = harness.telegram.user(122)
    await to_zone(harness, user)
    reply = await harness.say(user, "Atlantis")
    # "Atlantis" is one letter from "Atlanta": offered, but only a tap chooses it.
    assert reply.buttons()[-1] == t("button_no_other")
    patient = await patient_of(harness, user)
    assert patient is not None and patient.timezone is None and patient.awaiting == "zone_confirm"


@pytest.mark.parametrize("send", ["sticker", "photo", "voice"])
async def test_non_text_at_the_bedtime_question_is_answered_and_the_step_kept(
    harness: Simulation, send: str
) -> None:
    user = harness.telegram.user(123)
    await to_bedtime(harness, user)
    count = len(user.messages())
    {"sticker": user.send_sticker, "photo": user.send_photo, "voice": user.send_voice}[send]()
    await harness.deliver()

    said, again = user.messages()[count:]
    # A sticker is not passed on; a photo or a voice note is (to nobody, in this clinic).
    if send == "sticker":
        assert said.text == t("inbox_not_passed_on")
    else:
        assert said.text is not None and said.text.startswith(
            t("inbox_nobody", clinic="Test Clinic", contact="+1 555 0100")
        )
    assert again.text == t("ask_bedtime") and again.buttons() == BEDTIME_LABELS
    assert await awaiting(harness, user) == "bedtime"


# The first night: tonight or ahead, never in the past (issue 8: a past date put a new patient on a
# later step from night one).


@pytest.mark.parametrize("typed", ["2026-02-01", "2026-03-03", "1 Mar", "yesterday"])
async def test_a_first_dose_date_in_the_past_is_refused_and_points_to_the_clinics_link(
    harness: Simulation, settings: Settings, typed: str
) -> None:
    user = harness.telegram.user(124)
    await to_start(harness, user)
    count = len(user.messages())
    await harness.say(user, typed)

    sorry, again = user.messages()[count:]
    assert sorry.text == messages.clinic_text("start_past", settings, days=START_FUTURE_DAYS)
    assert again.text == t("ask_start")
    assert again.buttons() == [t("button_today"), t("button_tomorrow")]
    patient = await patient_of(harness, user)
    assert patient is not None and patient.awaiting == "start" and patient.start_date is None

    # Tonight is still there to tap, and the first night is step 1.
    await harness.tap(user, again, t("button_today"))
    await harness.tap(user, user.last(), "22:30")
    await harness.tap(user, user.last(), t("button_confirm"))
    (dose,) = await doses_of(harness, user)
    assert (dose.night, dose.step, dose.step_up) == (date(2026, 3, 4), 1, False)


@pytest.mark.parametrize(
    ("typed", "night"),
    # Tonight, Wednesday 4 March, and 30 days ahead: Friday 3 April.
    [("2026-03-04", date(2026, 3, 4)), ("today", date(2026, 3, 4)), ("3 Apr", date(2026, 4, 3))],
)
async def test_a_first_night_from_tonight_to_30_days_ahead_is_taken(
    harness: Simulation, typed: str, night: date
) -> None:
    user = harness.telegram.user(128)
    await to_start(harness, user)
    question = await harness.say(user, typed)
    assert question.text == t("ask_bedtime")
    patient = await patient_of(harness, user)
    assert patient is not None
    assert patient.start_date == night


@pytest.mark.parametrize("typed", ["2026-04-04", "2026-07-01", "2027-03-04"])
async def test_a_first_night_more_than_30_days_ahead_is_asked_again(
    harness: Simulation, typed: str
) -> None:
    user = harness.telegram.user(129)
    await to_start(harness, user)
    count = len(user.messages())
    await harness.say(user, typed)

    sorry, again = user.messages()[count:]
    assert sorry.text == t("start_too_far", days=START_FUTURE_DAYS)
    assert again.text == t("ask_start")
    patient = await patient_of(harness, user)
    assert patient is not None and patient.awaiting == "start" and patient.start_date is None


async def test_a_summary_confirmed_after_its_first_night_passed_asks_the_night_again(
    harness: Simulation,
) -> None:
    user = harness.telegram.user(135)
    summary = await to_summary(harness, user)  # tonight, Wednesday 4 March
    harness.clock.advance(days=3)
    count = len(user.messages())
    await harness.tap(user, summary, t("button_confirm"))

    passed, again = user.messages()[count:]
    assert passed.text == t("start_passed", date="Wed 4 Mar")
    assert again.text == t("ask_start")
    patient = await patient_of(harness, user)
    assert patient is not None and not patient.enrolled and patient.start_date is None
    assert await doses_of(harness, user) == []

    await harness.tap(user, again, t("button_today"))
    await harness.tap(user, user.last(), "22:30")
    await harness.tap(user, user.last(), t("button_confirm"))
    (dose,) = await doses_of(harness, user)
    assert (dose.night, dose.step) == (date(2026, 3, 7), 1)


async def test_unreadable_start_date_is_asked_again(harness: Simulation) -> None:
    user = harness.telegram.user(125)
    await to_start(harness, user)
    count = len(user.messages())
    await harness.say(user, "someday")
    assert texts_since(user, count) == [t("bad_start"), t("ask_start")]
    assert await awaiting(harness, user) == "start"


@pytest.mark.parametrize(
    ("reach", "typed", "question"),
    [
        ("consent", "yes", "consent"),
        ("plan", "1.5", "ask_plan"),
    ],
)
async def test_typing_at_a_button_only_question_asks_it_again(
    harness: Simulation, reach: str, typed: str, question: str
) -> None:
    user = harness.telegram.user(126)
    if reach == "consent":
        await harness.say(user, "/start")
    else:
        await to_plan(harness, user)
    count = len(user.messages())
    reply = await harness.say(user, typed)
    assert texts_since(user, count) == [t(question)]
    assert reply.buttons()  # the buttons come with it
    assert await awaiting(harness, user) == reach


async def test_typing_at_the_summary_shows_it_again_and_does_not_enroll(
    harness: Simulation,
) -> None:
    user = harness.telegram.user(127)
    summary = await to_summary(harness, user)
    again = await harness.say(user, "yes")
    assert again.text == summary.text
    assert again.buttons() == [t("button_confirm"), t("button_restart")]
    patient = await patient_of(harness, user)
    assert patient is not None and not patient.enrolled and patient.awaiting == "summary"
    assert await doses_of(harness, user) == []


# Buttons from old messages


async def test_old_question_button_gets_stale_reply_and_current_question(
    harness: Simulation,
) -> None:
    user = harness.telegram.user(130)
    start_question = await to_start(harness, user)
    # A typed answer leaves the old question's buttons in the chat.
    await harness.say(user, "2026-03-10")
    assert start_question.buttons() == [t("button_today"), t("button_tomorrow")]

    count = len(user.messages())
    await harness.tap(user, start_question, t("button_today"))
    stale, current = user.messages()[count:]
    assert stale.text == t("stale_button")
    assert current.text == t("ask_bedtime") and current.buttons() == BEDTIME_LABELS
    patient = await patient_of(harness, user)
    assert patient is not None
    assert patient.start_date == date(2026, 3, 10) and patient.awaiting == "bedtime"
    # The old message loses its buttons so it cannot be pressed again.
    old = harness.telegram.message(user.id, start_question.message_id)
    assert old is not None and old.buttons() == []


async def test_pressing_the_same_button_twice_counts_once(harness: Simulation) -> None:
    user = harness.telegram.user(131)
    await harness.say(user, "/start")
    consent = user.last()
    data = consent.button_data(t("button_consent_yes"))
    user.press(consent, t("button_consent_yes"))
    await harness.deliver()
    count = len(user.messages())
    # The second tap of a quick double tap arrives once the first was handled.
    user.forge_press(consent.message_id, data)
    await harness.deliver()

    assert texts_since(user, count) == [t("stale_button"), t("screen")]
    patient = await patient_of(harness, user)
    assert patient is not None and patient.awaiting == "screen"
    assert len([m for m in user.messages() if m.text == t("screen")]) == 2


async def test_forged_press_for_a_later_question_changes_nothing(harness: Simulation) -> None:
    user = harness.telegram.user(132)
    await harness.say(user, "/start")
    consent = user.last()
    count = len(user.messages())
    update = user.forge_press(consent.message_id, "v1:ob:plan:builtin-1.5")
    await harness.deliver()

    assert texts_since(user, count) == [t("stale_button"), t("consent")]
    answer = harness.telegram.callback_answer(update["callback_query"]["id"])
    assert answer is not None and answer.get("text") is None
    patient = await patient_of(harness, user)
    assert patient is not None
    assert patient.awaiting == "consent" and patient.plan is None and patient.consent_at is None


async def test_forged_press_from_a_stranger_is_not_enrolled(harness: Simulation) -> None:
    user = harness.telegram.user(133)
    user.send("hello")  # so the chat exists
    await harness.deliver()
    count = len(user.messages())
    user.forge_press(999, "v1:ob:summary:confirm")
    await harness.deliver()
    assert texts_since(user, count) == [t("not_enrolled")]
    assert await patient_of(harness, user) is None


@pytest.mark.parametrize("data", ["garbage", "v0:dose:1:t", "v1:set:pause:now", "v1:ob:plan:a b"])
async def test_unreadable_button_data_gets_the_unknown_toast_and_nothing_else(
    harness: Simulation, data: str
) -> None:
    user = harness.telegram.user(134)
    await harness.say(user, "/start")
    consent = user.last()
    count = len(user.messages())
    update = user.forge_press(consent.message_id, data)
    await harness.deliver()

    answer = harness.telegram.callback_answer(update["callback_query"]["id"])
    assert answer is not None and answer["text"] == t("toast_unknown")
    assert len(user.messages()) == count  # no chat message
    assert harness.telegram.message(user.id, consent.message_id).buttons()  # type: ignore[union-attr]
    assert await awaiting(harness, user) == "consent"


# Restarts and /start during onboarding


async def test_restart_mid_onboarding_continues_with_the_next_answer(
    harness: Simulation, settings: Settings
) -> None:
    user = harness.telegram.user(140)
    await to_bedtime(harness, user)

    async with restarted(harness, settings) as second:
        summary = await second.say(user, "10:30 pm")
        assert summary.buttons() == [t("button_confirm"), t("button_restart")]
        await second.tap(user, summary, t("button_confirm"))
        assert user.last().text == t("enrolled", bedtime="22:30")

        patient = await patient_of(second, user)
        assert patient is not None and patient.enrolled
        assert patient.start_date == date(2026, 3, 4) and patient.bedtime == time(22, 30)
        assert len(await doses_of(second, user)) == 1


async def test_restart_mid_onboarding_then_start_resumes_the_current_question(
    harness: Simulation, settings: Settings
) -> None:
    user = harness.telegram.user(141)
    await to_zone(harness, user)

    async with restarted(harness, settings) as second:
        count = len(user.messages())
        await second.say(user, "/start")
        resume, question = user.messages()[count:]
        assert resume.text == t("onboarding_resume")
        assert question.text == t("ask_timezone")
        assert question.buttons() == ["New York", t("button_zone_other")]
        # The question asked before the restart still answers.
        old = [m for m in user.messages() if m.text == t("ask_timezone")][0]
        start_question = await second.tap(user, old, "New York")
        assert start_question.text == t("ask_start")


@pytest.mark.parametrize(
    ("reach", "question"),
    [(to_plan, "ask_plan"), (to_start, "ask_start"), (to_bedtime, "ask_bedtime")],
)
async def test_start_mid_onboarding_resumes_without_losing_answers(
    harness: Simulation,
    reach,
    question: str,  # type: ignore[no-untyped-def]
) -> None:
    user = harness.telegram.user(142)
    await reach(harness, user)
    before = await patient_of(harness, user)
    count = len(user.messages())
    await harness.say(user, "/start")
    assert texts_since(user, count) == [t("onboarding_resume"), t(question)]
    after = await patient_of(harness, user)
    assert before is not None and after is not None
    assert (after.id, after.awaiting, after.plan, after.start_date, after.consent_at) == (
        before.id,
        before.awaiting,
        before.plan,
        before.start_date,
        before.consent_at,
    )


async def test_tonight_button_is_the_patients_own_night_far_from_the_default_zone(
    harness: Simulation,
) -> None:
    # 21:00 on Wednesday in New York, but already 07:30 on Thursday in Kolkata.
    harness.clock.set(datetime(2026, 3, 5, 2, 0, tzinfo=UTC))
    user = harness.telegram.user(150)
    await to_zone(harness, user)
    confirm = await harness.say(user, "kolkata")
    await harness.tap(user, confirm, "Kolkata")
    await harness.tap(user, user.last(), t("button_today"))
    await harness.tap(user, user.last(), "23:00")
    await harness.tap(user, user.last(), t("button_confirm"))

    patient = await patient_of(harness, user)
    (dose,) = await doses_of(harness, user)
    assert dose.night == date(2026, 3, 5)  # the first reminded night: Thursday, in Kolkata
    assert patient is not None and patient.start_date == dose.night  # ...should be night 1


async def test_tonight_pressed_after_midnight_means_the_coming_evening(harness: Simulation) -> None:
    # 02:00 on Thursday 5 March in New York: Wednesday's night is still going on.
    harness.clock.set(datetime(2026, 3, 5, 7, 0, tzinfo=UTC))
    user = harness.telegram.user(151)
    await to_bedtime(harness, user)  # presses "Tonight"
    patient = await patient_of(harness, user)
    assert patient is not None and patient.start_date == date(2026, 3, 5)
