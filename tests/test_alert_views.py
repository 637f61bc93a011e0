"""Alerts tell the care team the truth, through the real stack.

Earlier reports by what they found and only from before the alert.
"""

from __future__ import annotations

from bot import escalations
from bot.simulation import Simulation
from bot.texts import t
from bot.triage import Finding, Stop, Tier, Triage
from fake_telegram.core import FakeMessage
from storage.repositories import Repository
from tests.conftest import DOCTOR, NURSE
from tests.test_care_loop import PATIENT, alerts, enroll, invite, report, settle


async def store(care: Simulation, finding: Finding, stop: Stop) -> int:
    """An escalation about the patient, stored as the bot stores one, then delivered."""
    async with care.services.db.session() as session:
        repo = Repository(session)
        patient = await repo.patient_by_user(PATIENT)
        assert patient is not None
        result = Triage(finding.tier, (finding,))
        escalation = await escalations.store(repo, patient, result, care.clock.now(), stop=stop)
        assert escalation is not None
        await repo.commit()
        escalation_id = escalation.id
    await settle(care)
    return escalation_id


def block(alert: FakeMessage, heading: str) -> str:
    """The paragraph of an alert that starts with `heading`, or "" when there is none."""
    assert alert.text is not None
    return next((b for b in alert.text.split("\n\n") if b.startswith(heading)), "")


EARLIER = t("alert_history", lines="")


# Earlier reports


async def test_earlier_reports_show_what_typed_words_said_never_none(care: Simulation) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care))
    await report(care, user, grades={"stomach": "grade_2"}, words="a bit queasy after dinner")
    await settle(care, 60)
    await care.say(user, "doc put me on oxycodone after my knee op")
    await settle(care, 60)
    await store(care, Finding(Tier.ROUTINE, "missed_three"), Stop.HOLD)

    history = block(alerts(care, DOCTOR)[-1], EARLIER).split("\n")[1:]
    assert len(history) == 2, history
    checkin, message = history
    # The check-in: its grades, and that the patient added words of their own.
    assert f"{t('cl_effect_stomach')} {t('cl_grade_2')}" in checkin
    assert t("cl_report_typed") in checkin
    # The typed message, by what its words said.
    assert message.endswith(t("cl_report_said", subjects=t("cl_subject_opioids")))
    assert all(not line.lower().endswith("none") for line in history)


async def test_an_alert_edited_later_lists_only_reports_from_before_it(care: Simulation) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care))
    await report(care, user, grades={"tiredness": "grade_1"})
    await settle(care, 60)
    await report(care, user, grades={"stomach": "grade_3"})
    await settle(care, 5)
    await report(care, user, grades={"headache": "grade_1"})  # after the alert
    await settle(care, 5)

    await care.tap(care.telegram.user(DOCTOR), alerts(care, DOCTOR)[0], t("button_decide_hold"))
    for provider in (DOCTOR, NURSE):
        [alert] = alerts(care, provider)
        assert alert.edited
        history = block(alert, EARLIER)
        assert f"{t('cl_effect_tiredness')} {t('cl_grade_1')}" in history
        assert t("cl_effect_headache") not in history  # made after the alert was raised
        assert t("cl_effect_stomach") not in history  # the alert's own report
