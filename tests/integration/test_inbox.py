"""Every patient word reaches a person: words out of the blue, media, edits and replies.

Through the real stack (the Application, the fake Telegram, a real database, a virtual clock),
with the care team of `care`: what the bot does not take as an answer reaches the providers as a
message (not an alert: nothing held), in the same update, with a Reply button; red flags in those
words are raised as concerns; chit-chat gets a short answer and stays here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.app.logs import configure_logging
from bot.care.inbox import attempt, chit_chat
from bot.ui import callbacks
from bot.ui.callbacks import ReplyPress
from bot.ui.texts import t
from devtools.simulation import Simulation
from fake_telegram.core import FakeMessage, FakeUser
from storage.models import Escalation
from tests.integration.test_care_loop import (
    PATIENT,
    alerts,
    audit,
    enroll,
    escalations,
    invite,
    settle,
)
from tests.support.harness import DOCTOR, NURSE, STRANGER, doses_of, patient_of

PASSED_ON = t("inbox_passed_on")
EMERGENCY_LINE = t("inbox_emergency_line", emergency="911", crisis="988")
NOT_UNDERSTOOD = t("not_understood", clinic="Test Clinic", contact="+1 555 0100", emergency="911")


def messages_to(care: Simulation, chat_id: int) -> list[FakeMessage]:
    """Patients' messages in a provider's chat (their headers, not the copies of media)."""
    return [
        m
        for m in care.telegram.messages(chat_id)
        if m.text and m.text.startswith(t("inbox_message", label=""))
    ]


async def enrolled(care: Simulation, label: str = "AB-1") -> FakeUser:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care, label))
    return user


async def stored(care: Simulation) -> list[Escalation]:
    return [e for e in await escalations(care) if e.tier == "message"]


# The rules


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("thanks", "inbox_chat_thanks"),
        ("Thank you!", "inbox_chat_thanks"),
        ("OK", "inbox_chat_ok"),
        ("okay.", "inbox_chat_ok"),
        ("👍", "inbox_chat_ok"),
        ("Hello", "inbox_chat_hello"),
        ("hi!", "inbox_chat_hello"),
        ("Good  night", "inbox_chat_night"),
        ("ok thanks, but I'm also getting bad cramps", None),
        ("thanks doc", None),
        ("hello, I feel dizzy", None),
        ("👍👍", None),
        ("no", None),
        ("", None),
    ],
)
def test_chit_chat_is_a_short_exact_list_and_anything_more_is_not(text: str, key: str) -> None:
    assert chit_chat(text) == key


@pytest.mark.parametrize(
    ("text", "is_attempt"),
    [("someday", True), ("10.3o", True), ("half 10", True), ("I feel awful today", False)],
)
def test_one_word_or_a_figure_is_a_try_at_an_answer_and_a_sentence_is_not(
    text: str, is_attempt: bool
) -> None:
    assert attempt(text) is is_attempt


def test_a_reply_payload_round_trips_and_anything_else_is_refused() -> None:
    assert callbacks.parse(callbacks.reply(42)) == ReplyPress(42)
    for data in ("v1:rep:", "v1:rep:x", "v1:rep:²", "v1:rep:0", "v1:rep:1:2", "v2:rep:1"):
        assert callbacks.parse(data) is None


# Words the bot does not understand


async def test_words_the_bot_does_not_understand_reach_the_care_team_as_a_message_at_once(
    care: Simulation,
) -> None:
    user = await enrolled(care)
    reply = await care.say(user, "Can I take it with my evening tea?")

    # In the same update, before any dispatcher tick: a message in both providers' chats.
    for provider in (DOCTOR, NURSE):
        [message] = messages_to(care, provider)
        assert "AB-1" in message.text and "Can I take it with my evening tea?" in message.text
        assert message.buttons() == [t("button_inbox_reply")]
        assert alerts(care, provider) == []  # a message, not an alert
    assert reply.text == f"{PASSED_ON}\n\n{EMERGENCY_LINE}"
    [escalation] = await escalations(care)
    assert (escalation.tier, escalation.stop) == ("message", None)
    patient = await patient_of(care, user)
    assert patient is not None and patient.holds == [] and patient.withheld_at is None


@pytest.mark.parametrize("words", ["had a seizure last night", "I passed out in the bathroom"])
async def test_worrying_words_that_match_no_pattern_reach_a_person_and_are_never_waved_off(
    care: Simulation, words: str
) -> None:
    user = await enrolled(care)
    reply = await care.say(user, words)
    assert any(words in (m.text or "") for m in care.telegram.messages(DOCTOR))
    assert reply.text != NOT_UNDERSTOOD and "911" in reply.text
    for calm in ("common on LDN", "Nothing in your answers", "Keep going"):
        assert calm not in reply.text


async def test_a_message_is_sent_once_and_never_again_on_a_timer(care: Simulation) -> None:
    user = await enrolled(care)
    await care.say(user, "Can I take it with my evening tea?")
    await settle(care, 6 * 60)
    assert len(messages_to(care, DOCTOR)) == 1 and len(messages_to(care, NURSE)) == 1
    [escalation] = await stored(care)
    assert escalation.next_action_at is None and escalation.rounds == 1


async def test_a_message_waits_for_no_decision_and_never_blocks_one(care: Simulation) -> None:
    user, doctor = await enrolled(care), care.telegram.user(DOCTOR)
    await care.say(user, "my dentist gave me Tramadol for tomorrow")
    await care.say(user, "Can I take it with my evening tea?")

    listed = await care.say(doctor, "/escalations")
    assert "Tramadol" not in listed.text and listed.text.count("AB-1") == 1
    # Letting the plan go on from the alert is not held up by the newer message.
    await care.tap(doctor, alerts(care, DOCTOR)[0], t("button_decide_continue"))
    assert [e.action for e in await audit(care)] == ["continue"]


async def test_a_message_that_could_not_be_sent_is_tried_again_by_the_dispatcher(
    care: Simulation,
) -> None:
    user = await enrolled(care)
    care.telegram.fail("sendMessage", status=502, chat_id=DOCTOR)  # the doctor's copy
    await care.say(user, "Can I take it with my evening tea?")
    assert messages_to(care, DOCTOR) == [] and len(messages_to(care, NURSE)) == 1
    await settle(care, 10)
    assert len(messages_to(care, DOCTOR)) == 1 and len(messages_to(care, NURSE)) == 1


async def test_chit_chat_gets_a_kind_answer_and_reaches_nobody(care: Simulation) -> None:
    user = await enrolled(care)
    assert (await care.say(user, "Thanks!")).text == t("inbox_chat_thanks")
    assert (await care.say(user, "👍")).text == t("inbox_chat_ok")
    assert (await care.say(user, "good night")).text == t("inbox_chat_night")
    assert await escalations(care) == [] and messages_to(care, DOCTOR) == []


async def test_with_no_care_team_a_message_says_plainly_that_nobody_reads_it(
    harness: Simulation,
) -> None:
    user = harness.telegram.user(PATIENT)
    await harness.say(user, "/start")  # self-enrolling, in a clinic with no care team
    await harness.tap(user, user.last(), t("button_consent_yes"))
    count = len(user.messages())
    await harness.say(user, "Is it safe with my blood pressure pills?")
    told, again = [m.text for m in user.messages()[count:]]
    nobody = t("inbox_nobody", clinic="Test Clinic", contact="+1 555 0100")
    assert told == f"{nobody}\n\n{EMERGENCY_LINE}" and again == t("screen")


async def test_a_stranger_gets_the_usual_answer_and_nothing_is_kept(care: Simulation) -> None:
    stranger = care.telegram.user(STRANGER)
    assert (await care.say(stranger, "is this the clinic?")).text == NOT_UNDERSTOOD
    # A sign of an emergency gets the numbers at once, and no claim that anyone was told.
    told = (await care.say(stranger, "had a seizure last night")).text or ""
    assert "911" in told and "care team" not in told
    stranger.send_voice()
    await care.deliver()
    assert stranger.last().text == t("not_text")
    assert await escalations(care) == [] and messages_to(care, DOCTOR) == []


# Questions being asked


async def test_a_sentence_at_a_question_reaches_a_person_and_the_question_is_asked_again(
    care: Simulation,
) -> None:
    user = care.telegram.user(PATIENT)
    message = await care.say(user, f"/start {await invite(care)}")
    message = await care.tap(user, message, t("button_consent_yes"))
    await care.tap(user, message, t("button_screen_none"))  # now asked for a time zone
    count = len(user.messages())

    await care.say(user, "I am not sure I should be doing this at all")

    said = [m.text for m in user.messages()[count:]]
    assert said == [f"{PASSED_ON}\n\n{EMERGENCY_LINE}", t("ask_timezone")]
    [message] = messages_to(care, DOCTOR)
    assert "not sure I should be doing this" in message.text
    patient = await patient_of(care, user)
    assert patient is not None and patient.awaiting == "zone" and patient.timezone is None


async def test_methadone_named_while_enrolling_alerts_at_once_and_the_first_dose_waits(
    care: Simulation,
) -> None:
    user = care.telegram.user(PATIENT)
    message = await care.say(user, f"/start {await invite(care)}")
    message = await care.tap(user, message, t("button_consent_yes"))
    message = await care.tap(user, message, t("button_screen_none"))

    await care.say(user, "I take methadone every morning, is that ok?")

    [alert] = alerts(care, DOCTOR)  # before any dispatcher tick
    assert "methadone" in alert.text
    [escalation] = await escalations(care)
    assert escalation.stop == "withhold"
    message = await care.tap(user, user.last(), "New York")
    message = await care.tap(user, message, t("button_today"))
    message = await care.tap(user, message, "22:00")
    done = await care.tap(user, message, t("button_confirm"))
    assert done.text == t("enrolled_waiting")
    await care.run_until(datetime(2026, 3, 6, 12, tzinfo=UTC))
    assert care.reminders_to(user) == [] and await doses_of(care, user) == []


async def test_a_typed_red_flag_reaches_the_providers_before_any_dispatcher_tick(
    care: Simulation,
) -> None:
    user = await enrolled(care)
    before = care.clock.now()
    reply = await care.say(user, "I can't breathe and my throat is swelling")
    assert care.clock.now() == before  # the clock never moved: no dispatcher tick ran
    for provider in (DOCTOR, NURSE):
        [alert] = alerts(care, provider)
        assert alert.text.startswith(t("tier_emergency"))
    assert reply.text.startswith(t("concern_emergency", emergency="911"))
    assert messages_to(care, DOCTOR) == []  # raised as an alert, not passed on as a message


# Media


@pytest.mark.parametrize("kind", ["voice", "photo", "video", "video_note", "document", "audio"])
async def test_media_reaches_the_care_team_as_a_copy_under_a_header_naming_the_patient(
    care: Simulation, kind: str
) -> None:
    user = await enrolled(care)
    sent = getattr(user, f"send_{kind}")()["message"]["message_id"]
    await care.deliver()

    for provider in (DOCTOR, NURSE):
        [header] = messages_to(care, provider)
        assert "AB-1" in header.text and t(f"inbox_kind_{kind}") in header.text
        [copy] = [m for m in care.telegram.messages(provider) if m.copied_from is not None]
        assert copy.copied_from == (user.id, sent) and copy.kind == kind
        assert copy.reply_to_message_id == header.message_id
    assert user.last().text == f"{PASSED_ON}\n\n{EMERGENCY_LINE}"
    assert (await patient_of(care, user)).holds == []  # type: ignore[union-attr]


async def test_a_photo_whose_caption_is_a_red_flag_alerts_and_still_reaches_the_care_team(
    care: Simulation,
) -> None:
    user = await enrolled(care)
    user.send_photo(caption="my throat is swelling after the dose")
    await care.deliver()
    [alert] = alerts(care, DOCTOR)
    assert alert.text.startswith(t("tier_emergency"))
    assert len(messages_to(care, DOCTOR)) == 1
    assert [m.kind for m in care.telegram.messages(DOCTOR) if m.copied_from] == ["photo"]
    assert user.last().text.startswith(t("concern_emergency", emergency="911"))


@pytest.mark.parametrize("send", ["sticker", "location", "contact"])
async def test_a_sticker_location_or_contact_gets_a_kind_answer_and_is_not_passed_on(
    care: Simulation, send: str
) -> None:
    user = await enrolled(care)
    {
        "sticker": user.send_sticker,
        "location": lambda: user.send_location(40.7, -74.0),
        "contact": user.send_contact,
    }[send]()
    await care.deliver()
    assert user.last().text == t("inbox_not_passed_on")
    assert await escalations(care) == []


# Edits


async def test_an_edited_message_is_read_again_as_new_words(care: Simulation) -> None:
    user = await enrolled(care)
    first = user.send("thanks")
    await care.deliver()
    assert await escalations(care) == []
    user.edit(first, "thanks, but the cramps are worse since the new dose")
    await care.deliver()
    [message] = messages_to(care, DOCTOR)
    assert t("inbox_message_edited") in message.text and "cramps are worse" in message.text
    assert user.last().text == f"{t('inbox_edit_passed_on')}\n\n{EMERGENCY_LINE}"


async def test_an_edit_naming_an_opioid_is_raised_as_a_concern(care: Simulation) -> None:
    user = await enrolled(care)
    first = user.send("thanks")
    await care.deliver()
    user.edit(first, "thanks, the dentist gave me tramadol")
    await care.deliver()
    [alert] = alerts(care, DOCTOR)
    assert "tramadol" in alert.text
    assert t("concern_withhold") in user.last().text


async def test_an_edit_is_never_taken_as_the_answer_to_the_question_being_asked(
    care: Simulation,
) -> None:
    user = care.telegram.user(PATIENT)
    message = await care.say(user, f"/start {await invite(care)}")
    message = await care.tap(user, message, t("button_consent_yes"))
    await care.tap(user, message, t("button_screen_none"))  # asked for a time zone
    typed = user.send("new york")
    await care.deliver()
    message = await care.tap(user, user.last(), "New York")
    await care.tap(user, message, t("button_today"))  # now asked for a bedtime
    count = len(user.messages())

    user.edit(typed, "23:30")  # the city, edited into a time
    await care.deliver()

    said = [m.text for m in user.messages()[count:]]
    assert said == [f"{t('inbox_edit_passed_on')}\n\n{EMERGENCY_LINE}", t("ask_bedtime")]
    patient = await patient_of(care, user)
    assert patient is not None and patient.awaiting == "bedtime" and patient.bedtime is None
    assert patient.timezone == "America/New_York"
    [message] = messages_to(care, DOCTOR)
    assert t("inbox_message_edited") in message.text and "23:30" in message.text


# Replies, both ways


async def test_a_provider_presses_reply_and_their_answer_reaches_the_patient(
    care: Simulation,
) -> None:
    user, doctor = await enrolled(care), care.telegram.user(DOCTOR)
    await care.say(user, "Can I take it with my evening tea?")

    prompt = await care.tap(doctor, messages_to(care, DOCTOR)[0], "Reply")

    assert prompt.text == t("inbox_reply_prompt", label="AB-1")
    assert prompt.reply_markup == {"force_reply": True}
    doctor.reply(prompt, "Yes, tea is fine.")
    await care.deliver()
    assert user.last().text == t("care_team_message", text="Yes, tea is fine.")
    assert doctor.last().text == t("relayed", label="AB-1")
    [entry] = await audit(care)
    assert (entry.actor_user_id, entry.action, entry.detail) == (
        DOCTOR,
        "message",
        {"length": len("Yes, tea is fine.")},
    )


async def test_a_stranger_pressing_reply_is_refused_and_asked_nothing(care: Simulation) -> None:
    user = await enrolled(care)
    await care.say(user, "Can I take it with my evening tea?")
    data = messages_to(care, DOCTOR)[0].button_data(t("button_inbox_reply"))
    stranger = care.telegram.user(STRANGER)
    stranger.send("/start")
    await care.deliver()
    count = len(stranger.messages())

    for intruder in (stranger, user):
        intruder.forge_press(9999, data)
        await care.deliver()
        answer = care.telegram.calls("answerCallbackQuery")[-1]
        assert answer.params["text"] == t("relay_refused")
    assert len(stranger.messages()) == count


async def test_a_provider_swipe_reply_to_a_message_reaches_the_patient(care: Simulation) -> None:
    user, nurse = await enrolled(care), care.telegram.user(NURSE)
    await care.say(user, "Can I take it with my evening tea?")
    nurse.reply(messages_to(care, NURSE)[0], "Yes, any time.")
    await care.deliver()
    assert user.last().text == t("care_team_message", text="Yes, any time.")


async def test_a_patients_reply_to_the_care_team_is_passed_on_threaded_even_a_plain_ok(
    care: Simulation,
) -> None:
    user, doctor = await enrolled(care), care.telegram.user(DOCTOR)
    await care.say(user, "Can I take it with my evening tea?")
    doctor.reply(messages_to(care, DOCTOR)[0], "Yes. How is your sleep?")
    await care.deliver()
    from_care_team = user.last()

    user.reply(from_care_team, "ok")
    await care.deliver()

    latest = messages_to(care, DOCTOR)[-1]
    quote = t("inbox_message_reply", quote=from_care_team.text)
    assert "AB-1" in latest.text and quote in latest.text and "“ok”" in latest.text
    assert user.last().text == f"{PASSED_ON}\n\n{EMERGENCY_LINE}"


async def test_worrying_words_in_a_reply_to_the_care_team_reach_a_person(
    care: Simulation,
) -> None:
    user, doctor = await enrolled(care), care.telegram.user(DOCTOR)
    await care.say(user, "Can I take it with my evening tea?")
    doctor.reply(messages_to(care, DOCTOR)[0], "Yes. Anything else?")
    await care.deliver()
    words = "ok thanks, but I'm also getting bad cramps and some bleeding"

    user.reply(user.last(), words)
    await care.deliver()

    assert any(words in (m.text or "") for m in care.telegram.messages(DOCTOR))
    assert user.last().text != NOT_UNDERSTOOD and "911" in user.last().text


# Privacy


@pytest.fixture
def debug_logging() -> Iterator[None]:
    """LOG_LEVEL=DEBUG as the bot sets it up, put back afterwards."""
    noisy = ("telegram", "httpx", "httpcore", "apscheduler", "aiosqlite", "asyncpg", "sqlalchemy")
    saved = {name: logging.getLogger(name).level for name in noisy}
    configure_logging("DEBUG")
    yield
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


async def test_a_message_passed_on_leaves_no_patient_words_in_the_logs(
    care: Simulation, caplog: pytest.LogCaptureFixture, debug_logging: None
) -> None:
    user = await enrolled(care)
    caplog.set_level(logging.DEBUG)
    care.telegram.fail("sendMessage", status=502)
    await care.say(user, "my knees ache since Tuesday")
    user.edit(user.send("hello"), "my elbows ache too")
    await care.deliver()
    await care.run_until(care.clock.now() + timedelta(minutes=10))
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert "knees" not in logged and "elbows" not in logged


async def test_the_emergency_answer_never_waits_for_a_slow_care_team_chat(
    care: Simulation,
) -> None:
    user = await enrolled(care)
    # Telegram is slow to take the doctor's copy: the patient's answer must not wait for it.
    care.telegram.fail("sendMessage", status=200, delay=0.5, chat_id=DOCTOR)
    before = len(care.telegram.calls("sendMessage"))
    answer = await care.say(user, "my throat is swelling and I can't breathe")
    assert answer.text is not None and answer.text.startswith(
        t("concern_emergency", emergency="911")
    )
    sent = [str(c.params["chat_id"]) for c in care.telegram.calls("sendMessage")[before:]]
    # The answer reached the patient while the doctor's copy was still on its way.
    assert sent.index(str(PATIENT)) < sent.index(str(DOCTOR))


async def test_a_concern_before_the_first_dose_withholds_rather_than_says_keep_taking(
    care: Simulation,
) -> None:
    from tests.integration.test_care_loop import report

    user = await enrolled(care)  # enrolled tonight, no dose taken yet
    answer = await report(care, user, grades={"stomach": "grade_3"})
    assert answer.text is not None and t("concern_withhold") in answer.text
    assert "Keep taking" not in answer.text
    [escalation] = [e for e in await escalations(care) if e.tier != "message"]
    assert escalation.stop == "withhold"


async def test_with_no_care_team_a_withhold_never_promises_a_care_team_reply(
    harness: Simulation,
) -> None:
    user = harness.telegram.user(PATIENT)
    await harness.say(user, "/start")  # self-enrolling, in a clinic with no care team
    await harness.tap(user, user.last(), t("button_consent_yes"))
    count = len(user.messages())
    await harness.say(user, "I took oxycodone for my back tonight")
    answer = user.messages()[count]  # then the question waiting is asked again
    clinic = {"clinic": "Test Clinic", "contact": "+1 555 0100"}
    assert answer.text is not None and t("concern_withhold_no_team", **clinic) in answer.text
    assert "care team replies" not in answer.text and t("concern_sent") not in answer.text
