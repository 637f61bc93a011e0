"""A patient's own data: /mydata hands over everything kept, /delete erases it (rule 4)."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from bot.simulation import Simulation
from bot.texts import t
from storage.models import AlertMessage, AuditEntry, Dose, Escalation, Invite, Patient, Report
from tests.conftest import DOCTOR, NURSE, patient_of
from tests.test_care_loop import PATIENT, alerts, enroll, invite, report, settle

WORDS = "my ankles have been a bit swollen"


async def _patient_with_history(care: Simulation, user_id: int = PATIENT, label: str = "AB-1"):
    user = care.telegram.user(user_id)
    await enroll(care, user, await invite(care, label))
    await report(care, user, grades={"stomach": "grade_3"}, words=WORDS)
    await settle(care)
    await care.tap(care.telegram.user(DOCTOR), alerts(care, DOCTOR)[-1], t("button_decide_hold"))
    return user


async def _count(care: Simulation, model: type, patient_id: int) -> int:
    async with care.services.db.session() as session:
        query = select(func.count()).select_from(model).where(model.patient_id == patient_id)
        return (await session.execute(query)).scalar_one()


async def test_mydata_sends_everything_kept_about_the_patient_and_nothing_else(
    care: Simulation,
) -> None:
    user = await _patient_with_history(care)
    other = await _patient_with_history(care, PATIENT + 1, "ZZ-9")
    await care.say(other, "nothing to see")

    await care.say(user, "/mydata")

    sent = user.last()
    assert sent.kind == "document" and sent.caption == t("mydata_sent")
    data = json.loads(sent.document or b"")
    assert data["patient"]["label"] == "AB-1"
    assert data["patient"]["telegram_user_id"] == PATIENT
    assert [r["words"] for r in data["side_effect_reports"]] == [WORDS]
    assert [e["decision"] for e in data["escalations"]] == ["hold"]
    assert [(a["actor_user_id"], a["action"]) for a in data["care_team_actions"]] == [
        (DOCTOR, "hold")
    ]
    assert data["plan_holds"] and data["nights"]
    assert "ZZ-9" not in sent.document.decode()  # type: ignore[union-attr]


async def test_mydata_from_someone_the_bot_does_not_know(care: Simulation) -> None:
    stranger = care.telegram.user(PATIENT + 5)
    assert (await care.say(stranger, "/mydata")).text == t("mydata_none")


async def test_delete_asks_first_and_keep_changes_nothing(care: Simulation) -> None:
    user = await _patient_with_history(care)
    question = await care.say(user, "/delete")
    assert question.buttons() == [t("button_delete_yes"), t("button_delete_no")]
    assert (await care.tap(user, question, t("button_delete_no"))).text == t("delete_kept")
    assert await patient_of(care, user) is not None


async def test_delete_erases_every_row_and_the_words_on_the_providers_copies(
    care: Simulation,
) -> None:
    user = await _patient_with_history(care)
    patient = await patient_of(care, user)
    assert patient is not None
    copies = alerts(care, DOCTOR) + alerts(care, NURSE)
    assert copies and all(WORDS in copy.text for copy in copies)

    question = await care.say(user, "/delete")
    done = await care.tap(user, question, t("button_delete_yes"))

    assert done.text == t("deleted", clinic="Test Clinic", contact="+1 555 0100", emergency="911")
    assert await patient_of(care, user) is None
    for model in (Dose, Report, Escalation, AuditEntry):
        assert await _count(care, model, patient.id) == 0, model.__name__
    async with care.services.db.session() as session:
        assert (
            await session.execute(select(func.count()).select_from(AlertMessage))
        ).scalar_one() == 0
        [used] = (await session.execute(select(Invite))).scalars()
        assert used.patient_id is None
        assert (await session.execute(select(func.count()).select_from(Patient))).scalar_one() == 0
    for copy in copies:
        now = care.telegram.message(copy.chat_id, copy.message_id)
        assert now is not None and WORDS not in (now.text or "") and now.buttons() == []
        assert now.text == t("alert_erased", label="AB-1")
    for provider in (DOCTOR, NURSE):
        assert care.telegram.messages(provider)[-1].text == t("patient_left", label="AB-1")


async def test_deleting_with_an_alert_still_open_tells_the_care_team_it_was_open(
    care: Simulation,
) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care))
    await report(care, user, grades={"stomach": "grade_3"})  # stored, not yet decided

    await care.tap(user, await care.say(user, "/delete"), t("button_delete_yes"))

    expected = (
        t("patient_left", label="AB-1") + "\n\n" + t("patient_left_open", count=1, tiers="urgent")
    )
    for provider in (DOCTOR, NURSE):
        assert care.telegram.messages(provider)[-1].text == expected
