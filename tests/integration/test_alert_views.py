"""Alerts tell the care team the truth, through the real stack.

Earlier reports by what they found and only from before the alert; a decided alert says it is
decided and still offers every decision; what the patient was told; a plain message passed on.
"""

from __future__ import annotations

import pytest

from bot.care import escalations
from bot.rules.findings import Finding, Stop, Tier
from bot.rules.triage import Triage
from bot.ui import callbacks
from bot.ui.presenters import reason_text
from bot.ui.texts import t
from devtools.simulation import Simulation
from fake_telegram.core import FakeMessage
from storage.repositories import Repository
from tests.integration.test_care_loop import PATIENT, alerts, audit, enroll, invite, report, settle
from tests.support.harness import DOCTOR, NURSE, patient_of

EVERY_DECISION = [t(f"button_decide_{a}") for a in callbacks.DECISIONS if a != "ack"]


async def store(care: Simulation, finding: Finding, stop: Stop) -> int:
    """An escalation about the patient, stored as the bot stores one, then delivered."""
    async with care.services.db.session() as session:
        repo = Repository(session)
        patient = await repo.patients.by_user(PATIENT)
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
    # Of a higher tier than the open alerts, so its own alert (a lower one would join theirs).
    await store(care, Finding(Tier.EMERGENCY, "missed_three"), Stop.HOLD)

    history = block(alerts(care, DOCTOR)[-1], EARLIER).split("\n")[1:]
    assert len(history) == 2, history
    checkin, message = history
    # The check-in: its grades, and that the patient added words of their own.
    assert f"{t('cl_effect_stomach')} {t('cl_grade_2')}" in checkin
    assert t("cl_report_typed") in checkin
    # The typed message, by what its words said.
    assert t("cl_report_said", subjects=t("cl_subject_opioids")) in message
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


# Decided alerts


async def test_a_decided_alert_says_decided_at_its_head_and_no_longer_waiting(
    care: Simulation,
) -> None:
    user, doctor = care.telegram.user(PATIENT), care.telegram.user(DOCTOR)
    await enroll(care, user, await invite(care), first_dose_taken=True)
    await report(care, user, grades={"stomach": "grade_3"})
    await settle(care)
    [alert] = alerts(care, DOCTOR)
    assert alert.text is not None and t("alert_held").strip() in alert.text.split("\n\n")[0]

    await care.tap(doctor, alert, t("button_decide_hold"))
    decided = t("alert_decided", decision=t("decision_hold"), who=f"Staff {DOCTOR}", at="@")
    for provider in (DOCTOR, NURSE):
        [copy] = alerts(care, provider)
        assert copy.text is not None
        head = copy.text.split("\n\n")[0]
        assert head.split("\n")[-1].startswith(decided.split("@")[0]), head
        assert t("alert_held").strip() not in copy.text
        assert t("alert_reply_hint") not in copy.text


async def test_an_alert_on_a_withheld_patient_says_ldn_is_withheld_not_held(
    care: Simulation,
) -> None:
    await enroll(care, care.telegram.user(PATIENT), await invite(care))
    concerns = care.services.concerns
    async with care.services.db.session() as session:
        repo = Repository(session)
        patient = await repo.patients.by_user(PATIENT)
        assert patient is not None
        found = Finding(Tier.URGENT, "words_opioids", "opioids")
        raised = await concerns.raise_(repo, patient, Triage(found.tier, (found,)))
        await repo.commit()
    concerns.deliver_soon(raised)
    await care.services.alerts.settle()
    [alert] = alerts(care, DOCTOR)
    assert alert.text is not None
    head = alert.text.split("\n\n")[0]
    assert head.endswith(t("cl_alert_withheld")) and t("alert_held").strip() not in head


async def test_a_held_alert_still_offers_every_decision_and_a_pause_from_it_is_applied(
    care: Simulation,
) -> None:
    user, doctor = care.telegram.user(PATIENT), care.telegram.user(DOCTOR)
    await enroll(care, user, await invite(care))
    await report(care, user, grades={"stomach": "grade_3"})
    await settle(care)
    await care.tap(doctor, alerts(care, DOCTOR)[0], t("button_decide_hold"))
    [alert] = alerts(care, NURSE)
    assert alert.buttons() == EVERY_DECISION

    await care.tap(care.telegram.user(NURSE), alert, t("button_decide_pause"))
    patient = await patient_of(care, user)
    assert patient is not None and patient.provider_paused
    assert user.last().text == t("decided_pause", clinic="Test Clinic", contact="+1 555 0100")
    assert [(e.actor_user_id, e.action) for e in await audit(care)] == [
        (DOCTOR, "hold"),
        (NURSE, "pause"),
    ]
    for provider in (DOCTOR, NURSE):
        [copy] = alerts(care, provider)
        assert copy.text is not None and t("decision_pause") in copy.text
        assert copy.buttons() == EVERY_DECISION


# What the patient was told


def told(*what: str) -> str:
    if len(what) == 1:
        return t("cl_alert_told", what=what[0])
    items = t("cl_alert_told_and", items=", ".join(what[:-1]), last=what[-1])
    return t("cl_alert_told", what=items)


@pytest.mark.parametrize(
    ("finding", "stop", "expected"),
    [
        (
            Finding(Tier.EMERGENCY, "words_self_harm", "self_harm"),
            Stop.WITHHOLD,
            told(
                t("cl_alert_told_withhold"),
                t("cl_alert_told_emergency", emergency="911"),
                t("cl_alert_told_crisis", crisis="988"),
            ),
        ),
        (
            Finding(Tier.EMERGENCY, "flag_breathing", "breathing"),
            Stop.WITHHOLD,
            told(t("cl_alert_told_withhold"), t("cl_alert_told_emergency", emergency="911")),
        ),
        (
            Finding(Tier.URGENT, "words_opioids", "opioids"),
            Stop.WITHHOLD,
            told(t("cl_alert_told_withhold")),
        ),
        (
            Finding(Tier.ROUTINE, "mood_worse", "mood"),
            Stop.HOLD,
            told(t("cl_alert_told_hold"), t("cl_alert_told_crisis", crisis="988")),
        ),
        (
            Finding(Tier.URGENT, "severe_stomach", "stomach"),
            Stop.HOLD,
            told(t("cl_alert_told_hold")),
        ),
        (Finding(Tier.ROUTINE, "blocked_bot"), Stop.NONE, told(t("cl_alert_told_none"))),
    ],
    ids=["self-harm", "breathing", "opioids", "mood worse", "severe effect", "no stop"],
)
async def test_the_alert_says_what_the_patient_was_told(
    care: Simulation, finding: Finding, stop: Stop, expected: str
) -> None:
    await enroll(care, care.telegram.user(PATIENT), await invite(care))
    await store(care, finding, stop)
    [alert] = alerts(care, DOCTOR)
    assert block(alert, t("cl_alert_told", what="")[:-1]) == expected


def test_what_the_patient_was_told_reads_as_one_plain_sentence() -> None:
    assert told(t("cl_alert_told_withhold"), t("cl_alert_told_emergency", emergency="911")) == (
        "Patient told: not to take LDN until you reply, and to call 911."
    )


# A plain message from a patient


def test_every_reason_the_bot_can_raise_reads_as_words_for_a_provider() -> None:
    from bot.care.checkins import UNREAD
    from bot.rules.redflags import CATEGORY_TIERS
    from bot.rules.triage import EFFECTS, FLAGS, SCREENING, THYROID

    subjects = [*CATEGORY_TIERS, *FLAGS, *SCREENING, *THYROID, *EFFECTS]
    codes = [f"words_{c}" for c in CATEGORY_TIERS] + [f"flag_{f}" for f in FLAGS]
    codes += [f"screening_{s}" for s in SCREENING] + [f"severe_{e}" for e in EFFECTS]
    codes += ["missed_three", "blocked_bot", "tolerance_unanswered", "resume_after_gap"]
    codes += [UNREAD.reason]
    for code in codes:
        text = reason_text(code, None)
        assert text != code and "_" not in text, code
    for subject in subjects:
        assert "_" not in reason_text("words_x", subject), subject
