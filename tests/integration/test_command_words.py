"""Words typed after a patient's command are never lost: "/today I had a seizure last night".

Through the real stack, with the care team of `care`: the command answers as usual, and the words
after it go where any words go (`bot/care/inbox.py`), first: red flags raised at once with the
emergency or withhold answer, anything else passed on to the care team as a message.
"""

from __future__ import annotations

from bot.ui.render import render
from bot.ui.texts import t
from devtools.simulation import Simulation
from fake_telegram.core import FakeUser
from tests.integration.test_care_loop import alerts, escalations, invite
from tests.integration.test_inbox import EMERGENCY_LINE, PASSED_ON, enrolled, messages_to
from tests.support.harness import DOCTOR, NURSE, STRANGER, patient_of

EMERGENCY = t("concern_emergency", emergency="911")


async def said_to(care: Simulation, user: FakeUser, text: str) -> list[str]:
    """Everything the bot says to `user` after they type `text`."""
    count = len(user.messages())
    await care.say(user, text)
    return [m.text or "" for m in user.messages()[count:]]


async def today_for(care: Simulation, user: FakeUser) -> str:
    """What /today says to the patient now."""
    [reply] = render(await care.services.care.today(user.id), care.services.settings)
    return reply.text


async def test_words_after_today_naming_a_seizure_are_an_emergency_and_today_still_answers(
    care: Simulation,
) -> None:
    user = await enrolled(care)

    said = await said_to(care, user, "/today I had a seizure last night")

    # The emergency answer first, then /today's own answer, which already says LDN is withheld.
    assert len(said) == 2 and said[0].startswith(EMERGENCY)
    assert said[1] == await today_for(care, user)
    assert said[1] == t("stop_withheld", clinic="Test Clinic", contact="+1 555 0100")
    for provider in (DOCTOR, NURSE):
        [alert] = alerts(care, provider)  # in the same update: no dispatcher tick ran
        assert alert.text.startswith(t("tier_emergency")) and "seizure" in alert.text
    [escalation] = await escalations(care)
    assert escalation.stop == "withhold"


async def test_words_after_sideeffects_naming_a_swelling_throat_get_the_emergency_answer_first(
    care: Simulation,
) -> None:
    user = await enrolled(care)

    said = await said_to(care, user, "/sideeffects my throat is swelling")

    assert said[0].startswith(EMERGENCY)
    assert len(said) == 2  # then the check-in, as /sideeffects alone starts it
    [alert] = alerts(care, DOCTOR)
    assert alert.text.startswith(t("tier_emergency")) and "throat is swelling" in alert.text


async def test_a_question_after_help_is_passed_on_to_the_care_team_as_a_message(
    care: Simulation,
) -> None:
    user = await enrolled(care)

    said = await said_to(care, user, "/help can I drink alcohol with this")

    help_text = t("help", clinic="Test Clinic", contact="+1 555 0100", emergency="911")
    assert said == [f"{PASSED_ON}\n\n{EMERGENCY_LINE}", help_text]
    for provider in (DOCTOR, NURSE):
        [message] = messages_to(care, provider)
        assert "AB-1" in message.text and "“can I drink alcohol with this”" in message.text
        assert alerts(care, provider) == []  # a message, not an alert: nothing held
    patient = await patient_of(care, user)
    assert patient is not None and patient.holds == [] and patient.withheld_at is None


async def test_today_alone_answers_as_before_and_passes_nothing_on(care: Simulation) -> None:
    user = await enrolled(care)
    assert await said_to(care, user, "/today") == [await today_for(care, user)]
    assert await escalations(care) == []


async def test_a_please_after_a_command_only_asks_nicely_and_is_not_passed_on(
    care: Simulation,
) -> None:
    user = await enrolled(care)
    assert await said_to(care, user, "/today please") == [await today_for(care, user)]
    assert await said_to(care, user, "/plan thanks") == [
        render(await care.services.care.plan(user.id), care.services.settings)[0].text
    ]
    assert await escalations(care) == []


async def test_words_after_a_command_are_never_taken_as_the_answer_to_the_question_waiting(
    care: Simulation,
) -> None:
    user = await enrolled(care)
    await care.say(user, "/sideeffects")
    question = await care.tap(user, user.last(), t("button_flags_none"))
    await care.tap(user, question, t("button_effects_none"))  # now asked "anything else?"

    said = await said_to(care, user, "/today I keep waking up at 3 am")

    assert said == [f"{PASSED_ON}\n\n{EMERGENCY_LINE}", await today_for(care, user)]
    [message] = messages_to(care, DOCTOR)
    assert "I keep waking up at 3 am" in message.text
    patient = await patient_of(care, user)
    assert patient is not None and patient.awaiting == "checkin_words"  # still waiting


async def test_a_care_team_members_words_after_a_patient_command_get_nothing_extra(
    care: Simulation,
) -> None:
    doctor = care.telegram.user(DOCTOR)

    # Words a pattern reads as an emergency, from a doctor asking about the protocol.
    said = await said_to(care, doctor, "/help what to do for chest pain")

    assert said == [t("help", clinic="Test Clinic", contact="+1 555 0100", emergency="911")]
    assert await escalations(care) == []


async def test_a_stranger_naming_an_emergency_after_a_command_gets_the_numbers_and_nobody_told(
    care: Simulation,
) -> None:
    stranger = care.telegram.user(STRANGER)
    await invite(care)  # a clinic with patients to come; this is not one of them

    said = await said_to(care, stranger, "/today I had a seizure last night")

    stranger_numbers = t("inbox_emergency_stranger", emergency="911", crisis="988")
    assert said == [stranger_numbers, t("not_enrolled")]
    assert await escalations(care) == [] and alerts(care, DOCTOR) == []


async def test_an_old_command_edited_runs_nothing_again(care: Simulation) -> None:
    user = await enrolled(care)
    first = user.send("/today")
    await care.deliver()
    count = len(user.messages())
    user.edit(first, "/delete")  # Telegram sends the edit; no confirmation may come of it
    await care.deliver()
    assert [m.text for m in user.messages()[count:]] == []
