"""Patient commands through the real stack: /start again, /stop, /today, /plan, /settings, /help."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest

from bot.app.context import MENU_COMMANDS
from bot.rules.findings import Stop
from bot.rules.triage import SCREENING, triage
from bot.rules.triage import Report as Answers
from bot.ui.messages import NO_TEAM, clinic_text, team_text
from bot.ui.texts import TEXTS, t
from devtools.simulation import Simulation
from fake_telegram.core import FakeMessage, FakeUser
from storage.models import Dose
from storage.repositories import Repository
from tests.integration.test_care_loop import alerts, invite, report
from tests.integration.test_care_loop import enroll as enroll_invited
from tests.support.harness import ADMIN, DOCTOR, STRANGER, doses_of, patient_of, take_nights

CLINIC = dict(clinic="Test Clinic", contact="+1 555 0100", emergency="911")
BEDTIME_LABELS = ["21:00", "21:30", "22:00", "22:30", "23:00", "23:30"]
# The 1.5 mg plan's doses, as the patient reads them.
DOSE_1_5 = t("dose", mg="1.5", count=1, capsule="1.5", capsule_word=t("capsule_one"))
DOSE_3 = t("dose", mg="3", count=2, capsule="1.5", capsule_word=t("capsule_many"))
DOSE_4_5 = t("dose", mg="4.5", count=3, capsule="1.5", capsule_word=t("capsule_many"))
# 22:30 in New York on the evening of Wednesday 4 March 2026 (EST, UTC-5).
FIRST_BEDTIME = datetime(2026, 3, 5, 3, 30, tzinfo=UTC)


# Helpers


async def enroll(
    harness: Simulation,
    user: FakeUser,
    *,
    start: str | None = None,
    bedtime: str = "22:30",
    city: str | None = None,
) -> None:
    """Go through onboarding on the 1.5 mg plan; `start` typed (else "Tonight"), `city` typed."""
    await harness.say(user, "/start")
    await harness.tap(user, user.last(), t("button_consent_yes"))
    await harness.tap(user, user.last(), t("button_screen_none"))
    await harness.tap(user, user.last(), t("button_plan_builtin-1.5"))
    if city is None:
        await harness.tap(user, user.last(), "New York")
    else:
        confirm = await harness.say(user, city)
        await harness.tap(user, confirm, confirm.buttons()[0])
    if start is None:
        await harness.tap(user, user.last(), t("button_today"))
    else:
        await harness.say(user, start)
    await harness.tap(user, user.last(), bedtime)
    done = await harness.tap(user, user.last(), t("button_confirm"))
    assert done.text == t("enrolled", bedtime=bedtime)


async def enroll_nights_ago(harness: Simulation, user: FakeUser, first: date) -> None:
    """Enroll on `first` and take every night's dose up to Tuesday 3 March; back to Wednesday."""
    now = harness.clock.now()
    harness.clock.set(datetime.combine(first, time(17, 0), UTC))
    await enroll(harness, user)
    await take_nights(harness, user, first, date(2026, 3, 3))
    await harness.run_until(now)


async def scheduled(harness: Simulation, user: FakeUser) -> list[Dose]:
    return [d for d in await doses_of(harness, user) if d.status == "scheduled"]


async def take_tonights_dose(harness: Simulation, user: FakeUser) -> FakeMessage:
    await harness.run_until(FIRST_BEDTIME)
    (reminder,) = harness.reminders_to(user)
    return await harness.tap(user, reminder, t("button_taken"))


def lines(message: FakeMessage) -> list[str]:
    assert message.text is not None
    return message.text.split("\n")


# Start-up


async def test_commands_are_registered_with_telegram_at_start_up(harness: Simulation) -> None:
    settings = harness.services.settings
    assert harness.telegram.commands == [
        {"command": name, "description": team_text(f"command_{name}", settings)}
        for name in MENU_COMMANDS
    ]
    assert {"start", "today", "plan", "settings", "stop", "help"} <= set(MENU_COMMANDS)


# Before enrolling


@pytest.mark.parametrize("command", ["/today", "/plan", "/settings", "/stop"])
async def test_commands_before_enrolling_say_not_enrolled_and_create_nothing(
    harness: Simulation, command: str
) -> None:
    user = harness.telegram.user(201)
    reply = await harness.say(user, command)
    assert reply.text == t("not_enrolled")
    assert await patient_of(harness, user) is None


async def test_today_mid_onboarding_says_not_enrolled_and_keeps_the_question(
    harness: Simulation,
) -> None:
    user = harness.telegram.user(202)
    await harness.say(user, "/start")
    await harness.tap(user, user.last(), t("button_consent_yes"))
    await harness.tap(user, user.last(), t("button_screen_none"))
    reply = await harness.say(user, "/today")
    assert reply.text == t("not_enrolled")
    patient = await patient_of(harness, user)
    assert patient is not None and patient.awaiting == "plan"


async def test_help_works_for_anyone(harness: Simulation) -> None:
    user = harness.telegram.user(203)
    reply = await harness.say(user, "/help")
    assert reply.text == t("help_no_team", **CLINIC)  # this clinic has no care team
    assert reply.buttons() == []


# With no care team (ALLOW_NO_CARE_TEAM), nothing says anyone was told

# What only a bot with a care team may say.
CLAIMS = ("I've sent", "I've alerted", "I've passed", "care team will", "tell your care team")


async def test_with_no_care_team_enrolling_and_help_never_claim_anyone_was_told(
    harness: Simulation,
) -> None:
    assert not harness.services.settings.has_care_team
    user = harness.telegram.user(206)
    await harness.say(user, "/start")
    assert user.messages()[0].text == t("welcome_no_team", **CLINIC)
    await harness.tap(user, user.last(), t("button_consent_yes"))
    question = await harness.tap(user, user.last(), t("button_screen_some"))
    while question.text in [t(f"screen_q_{code}") for code in SCREENING]:
        answer = "button_yes_short" if question.text == t("screen_q_opioids") else "button_no_short"
        question = await harness.tap(user, question, t(answer))
    assert user.messages()[-2].text == t("screen_flagged_no_team", **CLINIC)
    await harness.tap(user, question, t("button_plan_builtin-1.5"))
    await harness.tap(user, user.last(), "New York")
    await harness.tap(user, user.last(), t("button_today"))
    await harness.tap(user, user.last(), "22:30")
    done = await harness.tap(user, user.last(), t("button_confirm"))
    assert done.text == t("enrolled_waiting_no_team", **CLINIC)
    await harness.say(user, "/help")

    said = [m.text or "" for m in user.messages()]
    said += [c["description"] for c in harness.telegram.commands]
    assert [(text, claim) for text in said for claim in CLAIMS if claim in text] == []
    assert t("command_sideeffects") not in said


def test_every_no_team_text_stands_in_for_a_text_with_a_care_team() -> None:
    variants = [key for key in TEXTS if key.endswith(NO_TEAM)]
    assert variants and all(key.removesuffix(NO_TEAM) in TEXTS for key in variants)


async def test_with_a_care_team_the_welcome_and_help_say_the_care_team_hears(
    care: Simulation,
) -> None:
    user = care.telegram.user(207)
    assert (await care.say(user, "/help")).text == t("help", **CLINIC)
    assert t("command_sideeffects") in [c["description"] for c in care.telegram.commands]


# /whoami


async def test_whoami_gives_anyone_their_own_user_id_in_private_and_creates_nothing(
    harness: Simulation,
) -> None:
    user = harness.telegram.user(204)
    reply = await harness.say(user, "/whoami")
    assert reply.text == t("whoami", user=204)
    assert "\n204\n" in reply.text  # on a line of its own, to copy
    assert await patient_of(harness, user) is None


@pytest.mark.parametrize("who", [DOCTOR, ADMIN])
async def test_whoami_in_a_group_gives_a_provider_or_an_admin_the_groups_id(
    care: Simulation, who: int
) -> None:
    group = care.telegram.group(-100204)
    care.telegram.user(who).in_group(group).command("whoami")
    await care.deliver()
    assert [m.text for m in group.messages()] == [t("whoami_group", chat=-100204, user=who)]


async def test_whoami_in_a_group_says_nothing_to_anyone_else(care: Simulation) -> None:
    group = care.telegram.group(-100205)
    sends = len(care.telegram.calls("sendMessage"))
    for user_id in (STRANGER, 205):
        care.telegram.user(user_id).in_group(group).command("whoami")
    await care.deliver()
    assert group.messages() == []
    assert len(care.telegram.calls("sendMessage")) == sends


# /start again, /stop, blocking


async def test_start_again_when_enrolled_keeps_history(harness: Simulation) -> None:
    user = harness.telegram.user(210)
    await enroll(harness, user)
    await take_tonights_dose(harness, user)
    before = await patient_of(harness, user)
    doses_before = [(d.id, d.night, d.status) for d in await doses_of(harness, user)]
    assert [status for _, _, status in doses_before] == ["taken", "scheduled"]

    count = len(user.messages())
    await harness.say(user, "/start")
    assert [m.text for m in user.messages()[count:]] == [t("already_enrolled")]

    after = await patient_of(harness, user)
    assert before is not None and after is not None
    assert (after.id, after.enrolled_at, after.plan, after.start_date, after.bedtime) == (
        before.id,
        before.enrolled_at,
        before.plan,
        before.start_date,
        before.bedtime,
    )
    assert [(d.id, d.night, d.status) for d in await doses_of(harness, user)] == doses_before


async def test_stop_then_start_turns_reminders_back_on_and_plans_the_next_night(
    harness: Simulation,
) -> None:
    user = harness.telegram.user(211)
    await enroll(harness, user)
    reply = await harness.say(user, "/stop")
    assert reply.text == t("stopped")
    patient = await patient_of(harness, user)
    assert patient is not None and patient.reminders_paused and patient.enrolled
    assert await doses_of(harness, user) == []

    await harness.run_until(datetime(2026, 3, 5, 17, 0, tzinfo=UTC))
    assert harness.reminders_to(user) == []

    reply = await harness.say(user, "/start")
    assert reply.text == t("welcome_back_resumed", bedtime="22:30")
    patient = await patient_of(harness, user)
    assert patient is not None and not patient.reminders_paused
    (dose,) = await scheduled(harness, user)
    assert dose.night == date(2026, 3, 5)
    assert dose.remind_at == datetime(2026, 3, 6, 3, 30, tzinfo=UTC)

    await harness.run_until(datetime(2026, 3, 6, 3, 30, tzinfo=UTC))
    assert len(harness.reminders_to(user)) == 1


async def test_stop_during_a_settings_question_drops_the_question(harness: Simulation) -> None:
    user = harness.telegram.user(212)
    await enroll(harness, user)
    await harness.say(user, "/settings")
    await harness.tap(user, user.last(), t("button_change_bedtime"))
    await harness.say(user, "/stop")
    reply = await harness.say(user, "23:00")
    # No question is waiting: the words are for a person (none in this clinic), not an answer.
    assert reply.text.startswith(t("inbox_nobody", clinic="Test Clinic", contact="+1 555 0100"))
    patient = await patient_of(harness, user)
    assert patient is not None and patient.bedtime == time(22, 30) and patient.awaiting is None


async def test_blocking_marks_the_patient_and_unblocking_plans_again(harness: Simulation) -> None:
    user = harness.telegram.user(213)
    await enroll(harness, user)

    user.block()
    await harness.deliver()
    patient = await patient_of(harness, user)
    assert patient is not None and patient.blocked_bot
    assert await doses_of(harness, user) == []
    sends = len(harness.telegram.calls("sendMessage"))
    await harness.run_until(datetime(2026, 3, 5, 12, 0, tzinfo=UTC))
    assert len(harness.telegram.calls("sendMessage")) == sends  # nothing tried at bedtime

    user.unblock()
    await harness.deliver()
    patient = await patient_of(harness, user)
    assert patient is not None and not patient.blocked_bot and not patient.reminders_paused
    (dose,) = await scheduled(harness, user)
    assert dose.night == date(2026, 3, 5)
    await harness.run_until(datetime(2026, 3, 6, 3, 30, tzinfo=UTC))
    assert len(harness.reminders_to(user)) == 1


# /today


async def test_today_before_the_start_date_names_the_first_night_and_dose(
    harness: Simulation,
) -> None:
    user = harness.telegram.user(220)
    await enroll(harness, user, start="2026-03-10")
    reply = await harness.say(user, "/today")
    assert lines(reply) == [
        t("today_before_start", date="Tue 10 Mar", dose=DOSE_1_5),
        t("today_reminder_at", bedtime="22:30"),
    ]


async def test_today_on_a_normal_night_gives_dose_step_and_next_step(harness: Simulation) -> None:
    user = harness.telegram.user(221)
    await enroll(harness, user)
    reply = await harness.say(user, "/today")
    assert lines(reply) == [
        *t("today", night="Wed 4 Mar", dose=DOSE_1_5, step=1, steps=3).split("\n"),
        t("today_next", dose=DOSE_3, date="Sat 14 Mar"),
        t("today_reminder_at", bedtime="22:30"),
    ]


async def test_today_on_a_step_up_night_gives_the_new_dose(harness: Simulation) -> None:
    user = harness.telegram.user(222)
    # Ten nights of 1.5 mg taken from Sun 22 Feb: Wed 4 Mar is the first night of 3 mg.
    await enroll_nights_ago(harness, user, date(2026, 2, 22))
    dose = (await doses_of(harness, user))[-1]
    assert (dose.night, dose.step, dose.step_up, dose.capsules) == (date(2026, 3, 4), 2, True, 2)

    reply = await harness.say(user, "/today")
    assert lines(reply) == [
        *t("today", night="Wed 4 Mar", dose=DOSE_3, step=2, steps=3).split("\n"),
        t("today_next", dose=DOSE_4_5, date="Sat 14 Mar"),
        t("today_reminder_at", bedtime="22:30"),
    ]


async def test_today_on_the_last_step_says_the_dose_stays(harness: Simulation) -> None:
    user = harness.telegram.user(223)
    await enroll_nights_ago(harness, user, date(2026, 2, 12))
    reply = await harness.say(user, "/today")
    assert lines(reply) == [
        *t("today", night="Wed 4 Mar", dose=DOSE_4_5, step=3, steps=3).split("\n"),
        t("today_last_step"),
        t("today_reminder_at", bedtime="22:30"),
    ]


async def test_today_after_the_dose_is_recorded_says_so(harness: Simulation) -> None:
    user = harness.telegram.user(224)
    await enroll(harness, user)
    await take_tonights_dose(harness, user)
    reply = await harness.say(user, "/today")  # 22:30 in New York, still Wednesday night
    tonight = t("today", night="Wed 4 Mar", dose=DOSE_1_5, step=1, steps=3).split("\n")
    assert lines(reply)[:3] == [*tonight, t("today_status", status="taken")]


async def test_today_when_paused_says_reminders_are_paused(harness: Simulation) -> None:
    user = harness.telegram.user(225)
    await enroll(harness, user)
    await harness.say(user, "/stop")
    reply = await harness.say(user, "/today")
    assert lines(reply)[-1] == t("today_paused")


# /plan


async def test_plan_lists_every_step_with_dates_and_marks_the_current_one(
    harness: Simulation,
) -> None:
    user = harness.telegram.user(230)
    await enroll_nights_ago(harness, user, date(2026, 2, 22))
    reply = await harness.say(user, "/plan")
    assert lines(reply) == [
        t("plan_header", plan=t("plan_name_builtin-1.5")),
        t(
            "plan_line",
            marker="•",
            step=1,
            dose=DOSE_1_5,
            when=t("plan_from_to", start="Sun 22 Feb", end="Tue 3 Mar"),
        ),
        t(
            "plan_line",
            marker="▶",
            step=2,
            dose=DOSE_3,
            when=t("plan_from_to", start="Wed 4 Mar", end="Fri 13 Mar"),
        ),
        t("plan_line", marker="•", step=3, dose=DOSE_4_5, when=t("plan_from", start="Sat 14 Mar")),
        t("plan_legend"),
    ]


async def test_plan_before_the_start_date_marks_no_step(harness: Simulation) -> None:
    user = harness.telegram.user(231)
    await enroll(harness, user, start="2026-03-10")
    reply = await harness.say(user, "/plan")
    body = lines(reply)
    assert len(body) == 4  # header and three steps, no legend
    assert not any(line.startswith("▶") for line in body)
    assert t("plan_legend") not in body
    assert body[1] == t(
        "plan_line",
        marker="•",
        step=1,
        dose=DOSE_1_5,
        when=t("plan_from_to", start="Tue 10 Mar", end="Thu 19 Mar"),
    )


# /settings


async def test_settings_shows_bedtime_zone_state_and_three_buttons(harness: Simulation) -> None:
    user = harness.telegram.user(240)
    await enroll(harness, user)
    reply = await harness.say(user, "/settings")
    assert reply.text == t("settings", bedtime="22:30", zone="New York", state=t("settings_on"))
    assert reply.buttons() == [
        t("button_change_bedtime"),
        t("button_change_zone"),
        t("button_pause"),
    ]


@pytest.mark.parametrize(
    ("answer", "typed", "bedtime", "remind_at"),
    [
        ("23:00", False, time(23, 0), datetime(2026, 3, 5, 4, 0, tzinfo=UTC)),
        ("9 pm", True, time(21, 0), datetime(2026, 3, 5, 2, 0, tzinfo=UTC)),
    ],
)
async def test_settings_change_bedtime_moves_the_scheduled_night(
    harness: Simulation, answer: str, typed: bool, bedtime: time, remind_at: datetime
) -> None:
    user = harness.telegram.user(241)
    await enroll(harness, user)
    await harness.say(user, "/settings")
    question = await harness.tap(user, user.last(), t("button_change_bedtime"))
    assert question.text == t("ask_bedtime") and question.buttons() == BEDTIME_LABELS

    reply = await (harness.say(user, answer) if typed else harness.tap(user, question, answer))
    assert reply.text == t("bedtime_changed", bedtime=bedtime.strftime("%H:%M"))
    patient = await patient_of(harness, user)
    assert patient is not None and patient.bedtime == bedtime and patient.awaiting is None
    (dose,) = await doses_of(harness, user)
    assert (dose.night, dose.status, dose.remind_at) == (date(2026, 3, 4), "scheduled", remind_at)
    assert dose.next_action_at == remind_at


async def test_settings_unreadable_bedtime_keeps_the_old_one(harness: Simulation) -> None:
    user = harness.telegram.user(242)
    await enroll(harness, user)
    await harness.say(user, "/settings")
    await harness.tap(user, user.last(), t("button_change_bedtime"))
    count = len(user.messages())
    await harness.say(user, "25:00")
    assert [m.text for m in user.messages()[count:]] == [t("bad_bedtime"), t("ask_bedtime")]
    patient = await patient_of(harness, user)
    assert patient is not None and patient.bedtime == time(22, 30)
    assert patient.awaiting == "set_bedtime"
    (dose,) = await doses_of(harness, user)
    assert dose.remind_at == FIRST_BEDTIME


async def test_settings_change_zone_by_city_moves_the_scheduled_night(harness: Simulation) -> None:
    user = harness.telegram.user(243)
    await enroll(harness, user)
    await harness.say(user, "/settings")
    question = await harness.tap(user, user.last(), t("button_change_zone"))
    assert question.text == t("ask_timezone")
    assert question.buttons() == ["New York", t("button_zone_other")]

    confirm = await harness.say(user, "london")
    assert confirm.buttons() == ["London (Europe/London) · 17:00", t("button_no_other")]
    reply = await harness.tap(user, confirm, "London")
    assert reply.text == t("zone_changed", zone="London")

    patient = await patient_of(harness, user)
    assert patient is not None and patient.timezone == "Europe/London" and patient.awaiting is None
    (dose,) = await doses_of(harness, user)
    assert dose.night == date(2026, 3, 4)
    assert dose.remind_at == datetime(2026, 3, 4, 22, 30, tzinfo=UTC)  # 22:30 GMT


async def test_settings_change_zone_back_to_the_default_button(harness: Simulation) -> None:
    user = harness.telegram.user(244)
    await enroll(harness, user, bedtime="23:00", city="kolkata")
    (dose,) = await doses_of(harness, user)
    assert dose.remind_at == datetime(2026, 3, 4, 17, 30, tzinfo=UTC)  # 23:00 in Kolkata

    await harness.say(user, "/settings")
    question = await harness.tap(user, user.last(), t("button_change_zone"))
    reply = await harness.tap(user, question, "New York")
    assert reply.text == t("zone_changed", zone="New York")
    (dose,) = await doses_of(harness, user)
    assert dose.remind_at == datetime(2026, 3, 5, 4, 0, tzinfo=UTC)  # 23:00 in New York


async def test_settings_pause_removes_the_night_and_resume_plans_it_again(
    harness: Simulation,
) -> None:
    user = harness.telegram.user(245)
    await enroll(harness, user)
    await harness.say(user, "/settings")
    reply = await harness.tap(user, user.last(), t("button_pause"))
    assert reply.text == t("paused")
    patient = await patient_of(harness, user)
    assert patient is not None and patient.reminders_paused
    assert await doses_of(harness, user) == []

    await harness.run_until(datetime(2026, 3, 5, 12, 0, tzinfo=UTC))
    assert harness.reminders_to(user) == []

    menu = await harness.say(user, "/settings")
    assert menu.text == t("settings", bedtime="22:30", zone="New York", state=t("settings_off"))
    assert menu.buttons()[-1] == t("button_resume")
    reply = await harness.tap(user, menu, t("button_resume"))
    assert reply.text == t("resumed", bedtime="22:30")
    (dose,) = await scheduled(harness, user)
    assert dose.night == date(2026, 3, 5)

    await harness.run_until(datetime(2026, 3, 6, 3, 30, tzinfo=UTC))
    assert len(harness.reminders_to(user)) == 1


async def test_pause_after_tonights_reminder_sends_no_follow_up(harness: Simulation) -> None:
    user = harness.telegram.user(246)
    await enroll(harness, user)
    await harness.run_until(FIRST_BEDTIME)
    assert len(harness.reminders_to(user)) == 1
    await harness.say(user, "/stop")
    count = len(user.messages())

    await harness.run_until(datetime(2026, 3, 5, 12, 0, tzinfo=UTC))
    assert [m.text for m in user.messages()[count:]] == []
    # The unanswered night is still recorded, as missed at its cutoff.
    (dose,) = await doses_of(harness, user)
    assert dose.status == "missed"


async def test_settings_menu_loses_its_buttons_once_used(harness: Simulation) -> None:
    user = harness.telegram.user(247)
    await enroll(harness, user)
    menu = await harness.say(user, "/settings")
    data = menu.button_data(t("button_pause"))
    await harness.tap(user, menu, t("button_pause"))
    assert menu.message_id == user.messages()[-2].message_id
    assert harness.telegram.message(user.id, menu.message_id).buttons() == []  # type: ignore[union-attr]
    # A resent tap of pause keeps the patient paused and says so again; it never resumes.
    user.forge_press(menu.message_id, data)
    await harness.deliver()
    assert user.last().text == t("paused")
    patient = await patient_of(harness, user)
    assert patient is not None and patient.reminders_paused


# Everything else


async def test_unknown_command_gets_a_short_answer(harness: Simulation) -> None:
    user = harness.telegram.user(250)
    await enroll(harness, user)
    assert (await harness.say(user, "/dose")).text == t("unknown_command")
    assert (await harness.say(user, "/tody")).text == t("unknown_command_suggest", command="today")


async def test_gibberish_when_enrolled_is_passed_on_honestly_and_changes_nothing(
    harness: Simulation,
) -> None:
    user = harness.telegram.user(251)
    await enroll(harness, user)
    count = len(user.messages())
    await harness.say(user, "asdf qwerty 22:00")
    # This clinic has no care team: the patient is told nobody reads it, never that someone does.
    nobody = t("inbox_nobody", clinic="Test Clinic", contact="+1 555 0100")
    emergency = t("inbox_emergency_line", emergency="911", crisis="988")
    assert [m.text for m in user.messages()[count:]] == [f"{nobody}\n\n{emergency}"]
    patient = await patient_of(harness, user)
    assert patient is not None and patient.bedtime == time(22, 30) and patient.awaiting is None


@pytest.mark.parametrize("send", ["sticker", "location"])
async def test_sticker_or_location_when_enrolled_gets_a_kind_answer_and_is_not_passed_on(
    harness: Simulation, send: str
) -> None:
    user = harness.telegram.user(252)
    await enroll(harness, user)
    count = len(user.messages())
    if send == "sticker":
        user.send_sticker()
    else:
        user.send_location(40.7, -74.0)
    await harness.deliver()
    assert [m.text for m in user.messages()[count:]] == [t("inbox_not_passed_on")]


async def test_text_before_start_gets_not_understood_and_creates_nothing(
    harness: Simulation,
) -> None:
    user = harness.telegram.user(253)
    reply = await harness.say(user, "hello")
    assert reply.text == t("not_understood", **CLINIC)
    assert await patient_of(harness, user) is None


async def test_group_chat_gets_no_answer_at_all(harness: Simulation) -> None:
    user = harness.telegram.user(254)
    group = harness.telegram.group(-100254)
    in_group = user.in_group(group)
    group.send(user, "/start")
    in_group.command("start")
    in_group.command("today")
    in_group.command("dose")
    in_group.send("22:30")
    in_group.send_sticker()
    in_group.send_location(40.7, -74.0)
    await harness.deliver()

    assert group.messages() == []
    assert user.messages() == []
    assert harness.telegram.calls("sendMessage") == []
    assert await patient_of(harness, user) is None


async def test_group_chat_says_nothing_to_an_enrolled_patient_either(harness: Simulation) -> None:
    user = harness.telegram.user(255)
    await enroll(harness, user)
    sends = len(harness.telegram.calls("sendMessage"))
    group = harness.telegram.group(-100255)
    group.send(user, "/today")
    user.in_group(group).command("stop")
    await harness.deliver()
    assert len(harness.telegram.calls("sendMessage")) == sends
    patient = await patient_of(harness, user)
    assert patient is not None and not patient.reminders_paused


# While the care team has LDN stopped: a provider's "Pause LDN", a withhold, a first dose waiting

STATES = ["paused", "withheld", "clearance"]


async def stopped(care: Simulation, user: FakeUser, state: str) -> str:
    """Enroll the user and bring them to `state`; return what they must be told about it."""
    code = await invite(care, f"ST-{user.id}")
    if state == "clearance":
        # A screening yes: enrolled, the first dose waits for a provider.
        done = await enroll_invited(care, user, code, screening_yes=("opioids",))
        assert done.text == t("enrolled_waiting")
        return clinic_text("stop_withheld", care.services.settings)
    await enroll_invited(care, user, code)
    if state == "paused":
        await report(care, user, grades={"stomach": "grade_3"})
        await care.run_until(care.clock.now() + timedelta(minutes=1))
        doctor = care.telegram.user(DOCTOR)
        await care.tap(doctor, alerts(care, DOCTOR)[-1], t("button_decide_pause"))
        return t("stop_paused")
    # An opioid reported: the bot withholds LDN until a provider decides.
    services = care.services
    async with services.db.session() as session:
        repo = Repository(session)
        patient = await repo.patients.by_user(user.id)
        assert patient is not None
        answers = Answers(care.clock.now(), Decimal("0.5"), {}, frozenset({"opioids"}))
        result = triage(answers)
        assert result.stop is Stop.WITHHOLD
        raised = await services.concerns.raise_(repo, patient, result)
        await repo.commit()
    services.concerns.deliver_soon(raised)
    await services.alerts.settle()
    return clinic_text("stop_withheld", services.settings)


def no_dose_and_no_reminder(text: str | None) -> None:
    """Nothing that reads as LDN tonight or reminders on."""
    assert text is not None
    for said in ("Tonight, ", "Your reminder comes at", "Reminders: on", "reminders are on"):
        assert said not in text, (said, text)
    assert "mg (" not in text  # no dose in mg and capsules


@pytest.mark.parametrize("state", STATES)
async def test_today_while_the_care_team_has_ldn_stopped_says_so_and_gives_no_dose(
    care: Simulation, state: str
) -> None:
    user = care.telegram.user(401)
    notice = await stopped(care, user, state)
    reply = await care.say(user, "/today")
    assert reply.text == notice
    no_dose_and_no_reminder(reply.text)


@pytest.mark.parametrize("state", STATES)
async def test_plan_while_the_care_team_has_ldn_stopped_says_so_first(
    care: Simulation, state: str
) -> None:
    user = care.telegram.user(402)
    notice = await stopped(care, user, state)
    reply = await care.say(user, "/plan")
    assert lines(reply)[:3] == [
        *notice.split("\n"),
        "",
        t("plan_header", plan=t("plan_name_builtin-0.5")),
    ]


@pytest.mark.parametrize("state", STATES)
async def test_a_new_bedtime_while_ldn_is_stopped_says_the_stop_still_stands(
    care: Simulation, state: str
) -> None:
    user = care.telegram.user(404)
    notice = await stopped(care, user, state)
    await care.say(user, "/settings")
    await care.tap(user, user.last(), t("button_change_bedtime"))
    done = await care.say(user, "23:00")
    assert done.text == "\n\n".join((t("bedtime_changed", bedtime="23:00"), notice))


@pytest.mark.parametrize("state", STATES)
async def test_settings_while_the_care_team_has_ldn_stopped_says_so_with_no_resume(
    care: Simulation, state: str
) -> None:
    user = care.telegram.user(403)
    notice = await stopped(care, user, state)
    reply = await care.say(user, "/settings")
    assert reply.text == t(
        "settings_stopped",
        bedtime="22:00",
        zone="New York",
        state=t("settings_off_team"),
        stop=notice,
    )
    no_dose_and_no_reminder(reply.text)
    assert reply.buttons() == [
        t("button_change_bedtime"),
        t("button_change_zone"),
        t("button_pause"),
    ]


@pytest.mark.parametrize("state", STATES)
async def test_start_while_the_care_team_has_ldn_stopped_says_so_not_reminders_on(
    care: Simulation, state: str
) -> None:
    user = care.telegram.user(404)
    notice = await stopped(care, user, state)
    reply = await care.say(user, "/start")
    assert reply.text == t("welcome_back_stopped", stop=notice)
    no_dose_and_no_reminder(reply.text)


@pytest.mark.parametrize("state", STATES)
async def test_the_patients_own_pause_and_resume_never_lift_the_care_teams_stop(
    care: Simulation, state: str
) -> None:
    user = care.telegram.user(405)
    notice = await stopped(care, user, state)
    menu = await care.say(user, "/settings")
    paused = await care.tap(user, menu, t("button_pause"))
    assert paused.text == f"{t('own_paused_stopped')}\n\n{notice}"

    menu = await care.say(user, "/settings")
    assert t("settings_off_own") in (menu.text or "")
    assert t("button_resume") not in menu.buttons()
    resumed = await care.tap(user, menu, t("button_resume_own"))
    assert resumed.text == f"{t('own_resumed_stopped')}\n\n{notice}"
    patient = await patient_of(care, user)
    assert patient is not None and not patient.reminders_paused and not patient.receives_reminders

    # /stop, then /start, the same: the stop stands, and no reminder comes.
    assert (await care.say(user, "/stop")).text == f"{t('own_paused_stopped')}\n\n{notice}"
    assert (await care.say(user, "/start")).text == t("welcome_back_stopped", stop=notice)
    await care.run_until(care.clock.now() + timedelta(days=2))
    assert care.reminders_to(user) == []


async def test_with_no_care_team_a_patient_waiting_for_clearance_is_told_to_call_the_clinic(
    harness: Simulation,
) -> None:
    user = harness.telegram.user(406)
    await harness.say(user, "/start")
    await harness.tap(user, user.last(), t("button_consent_yes"))
    question = await harness.tap(user, user.last(), t("button_screen_some"))
    while question.text in [t(f"screen_q_{code}") for code in SCREENING]:
        answer = (
            "button_yes_short" if question.text == t("screen_q_pregnancy") else "button_no_short"
        )
        question = await harness.tap(user, question, t(answer))
    await harness.tap(user, question, t("button_plan_builtin-1.5"))
    await harness.tap(user, user.last(), "New York")
    await harness.tap(user, user.last(), t("button_today"))
    await harness.tap(user, user.last(), "22:30")
    await harness.tap(user, user.last(), t("button_confirm"))
    reply = await harness.say(user, "/today")
    assert reply.text == t("stop_withheld_no_team", **CLINIC)


# The next step waiting: said as the bot's doing unless a provider held it


async def test_today_after_a_concern_says_the_bot_paused_the_increase_not_the_provider(
    care: Simulation,
) -> None:
    user = care.telegram.user(407)
    await enroll_invited(care, user, await invite(care, "HN-1"), first_dose_taken=True)
    await report(care, user, grades={"stomach": "grade_3"})
    reply = await care.say(user, "/today")
    assert clinic_text("today_held_next_bot", care.services.settings) in lines(reply)
    assert t("today_held_next") not in lines(reply)


async def test_today_after_a_concern_with_no_care_team_says_to_talk_to_the_clinic(
    harness: Simulation,
) -> None:
    user = harness.telegram.user(408)
    await enroll(harness, user)
    await take_tonights_dose(harness, user)  # a concern before the first dose withholds it
    await report(harness, user, grades={"stomach": "grade_3"})
    reply = await harness.say(user, "/today")
    assert t("today_held_next_bot_no_team", **CLINIC) in lines(reply)
