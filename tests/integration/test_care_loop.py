"""The care loop through the real stack: invitations, screening, check-ins, escalations, decisions.

The bot runs as the real Application against the fake Telegram, on a virtual clock, with two
providers (DOCTOR, NURSE) and an ADMIN who have opened the bot.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from bot.app.settings import Settings
from bot.care.concerns import Concerns, Raised
from bot.rules.plans import BUILTIN_PLANS, Plan, PlanError, custom_plan
from bot.ui import callbacks, messages
from bot.ui.messages import clinic_text
from bot.ui.presenters import reason_text, who
from bot.ui.texts import t
from bot.ui.texts_provider import PROVIDER_TEXTS
from devtools.simulation import Simulation, VirtualClock, running
from fake_telegram.core import FakeMessage, FakeTelegram, FakeUser
from storage.db import Database
from storage.models import AuditEntry, Escalation, Invite
from storage.repositories import Repository
from storage.repositories.audit import Audit
from storage.repositories.invites import Invites
from tests.support.harness import ADMIN, DOCTOR, NURSE, STRANGER, doses_of, patient_of

PATIENT = 301


async def invite(care: Simulation, label: str = "AB-1", plan: str = "0.5") -> str:
    """The doctor prescribes a plan; return the code of the patient's link."""
    reply = await care.say(care.telegram.user(DOCTOR), f"/invite {label} {plan}")
    assert "?start=" in reply.text, reply.text
    return reply.text.split("?start=")[1].split()[0]


async def enroll(
    care: Simulation,
    user: FakeUser,
    code: str,
    screening_yes: tuple[str, ...] = (),
    first_night: str = "button_today",
    first_dose_taken: bool = False,
) -> FakeMessage:
    """The patient follows the link and answers every enrollment question.

    `first_dose_taken`: they also take tonight's first dose, at the 22:00 reminder: a concern
    before any dose withholds LDN, after one it holds the increase.
    """
    message = await care.say(user, f"/start {code}")
    message = await care.tap(user, message, t("button_consent_yes"))
    if screening_yes:
        message = await care.tap(user, message, t("button_screen_some"))
        while message.text in [t(f"screen_q_{c}") for c in _SCREENING]:
            code_asked = next(c for c in _SCREENING if message.text == t(f"screen_q_{c}"))
            answer = "button_yes_short" if code_asked in screening_yes else "button_no_short"
            message = await care.tap(user, message, t(answer))
    else:
        message = await care.tap(user, message, t("button_screen_none"))
    message = await care.tap(user, message, "New York")
    message = await care.tap(user, message, t(first_night))
    message = await care.tap(user, message, "22:00")
    message = await care.tap(user, message, t("button_confirm"))
    if first_dose_taken:
        await care.run_until(care.clock.now().replace(hour=3, minute=1) + timedelta(days=1))
        return await care.tap(user, care.reminders_to(user)[-1], t("button_taken"))
    return message


_SCREENING = ("opioids", "liver_kidney", "psychiatric", "pregnancy", "thyroid", "immune", "cancer")


async def answer_up_to_words(
    care: Simulation, user: FakeUser, grades: dict[str, str] | None = None
) -> FakeMessage:
    """/sideeffects, no red flag, the effects graded: return the question asking for words."""
    message = await care.say(user, "/sideeffects")
    message = await care.tap(user, message, t("button_flags_none"))
    if not grades:
        return await care.tap(user, message, t("button_effects_none"))
    message = await care.tap(user, message, t("button_effects_some"))
    for effect in ("sleep", "stomach", "tiredness", "restless", "headache", "mood"):
        message = await care.tap(user, message, t(grades.get(effect, "grade_0")))
    return message


async def report(
    care: Simulation,
    user: FakeUser,
    *,
    grades: dict[str, str] | None = None,
    flags: tuple[str, ...] = (),
    words: str | None = None,
) -> FakeMessage:
    """The patient answers a check-in they start with /sideeffects; return the bot's answer."""
    if flags:
        question = await care.say(user, "/sideeffects")
        for flag in flags:
            await care.tap(user, question, "▫️ " + t(f"flag_{flag}"))
        return await care.tap(user, question, t("button_flags_done"))
    message = await answer_up_to_words(care, user, grades)
    if words is not None:
        return await care.say(user, words)
    return await care.tap(user, message, t("button_nothing_else"))


def said(*lines: str) -> str:
    """One message of the bot's, made of these paragraphs."""
    return "\n\n".join(lines)


FIRST_DOSE = "0.5 mg (1 × 0.5 mg capsule)"
# What a patient on the first dose hears when the increase waits for the care team.
HELD = said(
    t("concern_hold", dose=FIRST_DOSE), t("concern_sent"), t("concern_unwell", emergency="911")
)
# What they hear when they must take no LDN until the care team replies.
WITHHELD = said(t("concern_withhold"), t("concern_sent"), t("concern_unwell", emergency="911"))
EMERGENCY = said(
    t("concern_emergency", emergency="911"),
    t("concern_crisis", crisis="988"),
    t("concern_withhold"),
    t("concern_sent"),
)


def alerts(care: Simulation, chat_id: int) -> list[FakeMessage]:
    """Alert messages in a chat, as they are now (with their current buttons)."""
    return [
        m
        for m in care.telegram.messages(chat_id)
        if m.text
        and m.text.split(" · ")[0] in (t("tier_urgent"), t("tier_routine"), t("tier_emergency"))
    ]


async def escalations(care: Simulation) -> list[Escalation]:
    async with care.services.db.session() as session:
        return list((await session.execute(select(Escalation).order_by(Escalation.id))).scalars())


async def audit(care: Simulation) -> list[AuditEntry]:
    async with care.services.db.session() as session:
        return list((await session.execute(select(AuditEntry).order_by(AuditEntry.id))).scalars())


async def settle(care: Simulation, minutes: float = 1) -> None:
    await care.run_until(care.clock.now() + timedelta(minutes=minutes))


# The whole loop


async def test_a_severe_answer_holds_alerts_and_the_providers_hold_reaches_plan_audit_and_patient(
    care: Simulation,
) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care), first_dose_taken=True)
    answer = await report(care, user, grades={"stomach": "grade_3"})
    assert answer.text == HELD
    patient = await patient_of(care, user)
    assert patient is not None and [h.end for h in patient.dose_holds] == [None]

    await settle(care)
    for provider in (DOCTOR, NURSE):
        [alert] = alerts(care, provider)
        assert alert.text.startswith(t("tier_urgent")) and "AB-1" in alert.text
        assert reason_text("severe_stomach", "stomach") in alert.text
        assert t("button_decide_hold") in alert.buttons()

    doctor = care.telegram.user(DOCTOR)
    await care.tap(doctor, alerts(care, DOCTOR)[0], t("button_decide_hold"))

    [escalation] = await escalations(care)
    assert (escalation.status, escalation.decision, escalation.decided_by) == (
        "decided",
        "hold",
        DOCTOR,
    )
    [entry] = await audit(care)
    assert (entry.actor_user_id, entry.action, entry.escalation_id) == (
        DOCTOR,
        "hold",
        escalation.id,
    )
    assert entry.detail["tier"] == "urgent" and entry.detail["after"]["held"] is True
    assert user.last().text == t("decided_hold", dose="0.5 mg (1 × 0.5 mg capsule)")
    # Both providers' copies now say it was handled, and still offer every decision.
    for provider in (DOCTOR, NURSE):
        [alert] = alerts(care, provider)
        assert alert.buttons() == [t(f"button_decide_{a}") for a in callbacks.DECISIONS[1:]]
        assert t("decision_hold") in alert.text

    # Later, the nurse lets the plan go on from the same alert.
    await care.tap(care.telegram.user(NURSE), alerts(care, NURSE)[0], t("button_decide_continue"))
    assert user.last().text == t("decided_continue")
    patient = await patient_of(care, user)
    assert patient is not None and all(h.end is not None for h in patient.dose_holds)
    assert [(e.actor_user_id, e.action) for e in await audit(care)] == [
        (DOCTOR, "hold"),
        (NURSE, "continue"),
    ]
    for provider in (DOCTOR, NURSE):
        [alert] = alerts(care, provider)
        assert alert.buttons() == [] and t("decision_continue") in alert.text


async def test_every_copy_of_an_alert_says_who_acted_by_their_telegram_name(
    care: Simulation,
) -> None:
    user, doctor = care.telegram.user(PATIENT), care.telegram.user(DOCTOR)
    await enroll(care, user, await invite(care))
    await report(care, user, grades={"headache": "grade_3"})
    await settle(care)
    await care.tap(doctor, alerts(care, DOCTOR)[0], t("button_decide_ack"))
    acknowledged = t("alert_acknowledged", who=f"Staff {DOCTOR}", at="@").split(" at ")[0]
    assert all(acknowledged in (a.text or "") for a in alerts(care, NURSE) + alerts(care, DOCTOR))

    # The doctor goes by another name on Telegram now: the next action says so.
    doctor.first_name = "Doctor on call"
    await care.tap(doctor, alerts(care, DOCTOR)[0], t("button_decide_hold"))
    decided = t("alert_decided", decision=t("decision_hold"), who="Doctor on call", at="@")
    for copy in alerts(care, NURSE) + alerts(care, DOCTOR):
        assert decided.split(" at ")[0] in (copy.text or ""), copy.text
        assert acknowledged not in (copy.text or "")
    async with care.services.db.session() as session:
        assert await Repository(session).audit.names([DOCTOR, NURSE]) == {DOCTOR: "Doctor on call"}
    # The audit keeps the stable id, whatever the name.
    assert [(e.actor_user_id, e.action) for e in await audit(care)] == [
        (DOCTOR, "ack"),
        (DOCTOR, "hold"),
    ]


async def test_a_name_that_cannot_be_written_never_costs_the_decision(
    care: Simulation, monkeypatch: pytest.MonkeyPatch
) -> None:
    user, doctor = care.telegram.user(PATIENT), care.telegram.user(DOCTOR)
    await enroll(care, user, await invite(care), first_dose_taken=True)
    await report(care, user, grades={"headache": "grade_3"})
    await settle(care)

    async def locked(*args: object) -> None:
        raise OperationalError("UPDATE care_team", {}, Exception("database is locked"))

    monkeypatch.setattr(Audit, "remember_name", locked)
    await care.tap(doctor, alerts(care, DOCTOR)[0], t("button_decide_hold"))
    assert user.last().text == t("decided_hold", dose="0.5 mg (1 × 0.5 mg capsule)")
    decided = t("alert_decided", decision=t("decision_hold"), who=f"provider {DOCTOR}", at="@")
    assert decided.split(" at ")[0] in (alerts(care, NURSE)[0].text or "")
    assert [(e.actor_user_id, e.action) for e in await audit(care)] == [(DOCTOR, "hold")]


def test_someone_whose_name_the_bot_never_learned_is_named_by_id() -> None:
    assert who({}, DOCTOR) == f"provider {DOCTOR}"
    assert who({DOCTOR: "Staff"}, DOCTOR) == "Staff"


async def test_a_second_provider_pressing_after_the_first_finds_it_handled(
    care: Simulation,
) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care))
    await report(care, user, grades={"headache": "grade_3"})
    await settle(care)
    nurse_alert = alerts(care, NURSE)[0]
    data = nurse_alert.button_data(t("button_decide_pause"))
    await care.tap(care.telegram.user(DOCTOR), alerts(care, DOCTOR)[0], t("button_decide_continue"))

    care.telegram.user(NURSE).forge_press(nurse_alert.message_id, data)
    await care.deliver()

    answers = [c.params for c in care.telegram.calls("answerCallbackQuery")]
    assert answers[-1]["text"] == t(
        "toast_already_decided", decision=t("decision_continue"), who=f"Staff {DOCTOR}"
    )
    [escalation] = await escalations(care)
    assert escalation.decision == "continue"
    assert [e.action for e in await audit(care)] == ["continue"]
    patient = await patient_of(care, user)
    assert patient is not None and not patient.provider_paused
    assert all(h.end is not None for h in patient.dose_holds)


# Security


async def test_a_stranger_pressing_a_decision_changes_nothing(care: Simulation) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care), first_dose_taken=True)
    await report(care, user, grades={"sleep": "grade_3"})
    await settle(care)
    data = alerts(care, DOCTOR)[0].button_data(t("button_decide_continue"))

    for intruder in (care.telegram.user(STRANGER), user):
        intruder.forge_press(9999, data)
        await care.deliver()
        assert care.telegram.calls("answerCallbackQuery")[-1].params["text"] == t(
            "toast_not_provider"
        )
    [escalation] = await escalations(care)
    assert escalation.status == "open" and await audit(care) == []
    patient = await patient_of(care, user)
    assert patient is not None and [h.end for h in patient.dose_holds] == [None]


async def test_a_stranger_cannot_invite_or_list_patients(care: Simulation) -> None:
    stranger = care.telegram.user(STRANGER)
    assert (await care.say(stranger, "/invite XY 0.5")).text == t("not_provider")
    async with care.services.db.session() as session:
        from storage.models import Invite

        assert list((await session.execute(select(Invite))).scalars()) == []


async def test_a_forged_press_on_another_patients_check_in_is_refused(care: Simulation) -> None:
    first, second = care.telegram.user(PATIENT), care.telegram.user(PATIENT + 1)
    await enroll(care, first, await invite(care, "AB-1"))
    await enroll(care, second, await invite(care, "AB-2"))
    question = await care.say(first, "/sideeffects")
    data = question.button_data(t("button_flags_none"))

    second.forge_press(question.message_id, data.replace("flags:none", "flags:breathing"))
    await care.deliver()

    assert care.telegram.calls("answerCallbackQuery")[-1].params["text"] == t("toast_not_yours")
    assert await escalations(care) == []


# Invitations


async def test_without_an_invitation_enrollment_is_refused_kindly(care: Simulation) -> None:
    user = care.telegram.user(PATIENT)
    reply = await care.say(user, "/start")
    assert reply.text.startswith(
        t("invite_needed", clinic="Test Clinic", contact="+1 555 0100")[:30]
    )
    assert await patient_of(care, user) is None


async def test_an_invitation_works_once(care: Simulation) -> None:
    code = await invite(care)
    await enroll(care, care.telegram.user(PATIENT), code)
    reply = await care.say(care.telegram.user(PATIENT + 1), f"/start {code}")
    assert reply.text == t("invite_invalid", clinic="Test Clinic", contact="+1 555 0100")
    assert await patient_of(care, care.telegram.user(PATIENT + 1)) is None


async def test_an_invitation_expires_after_its_hours(care: Simulation) -> None:
    code = await invite(care)
    care.clock.advance(hours=care.services.settings.invite_valid_hours, seconds=1)
    reply = await care.say(care.telegram.user(PATIENT), f"/start {code}")
    assert reply.text == t("invite_invalid", clinic="Test Clinic", contact="+1 555 0100")


async def test_a_revoked_link_enrolls_no_one_and_frees_its_label(care: Simulation) -> None:
    doctor, user = care.telegram.user(DOCTOR), care.telegram.user(PATIENT)
    code = await invite(care, "AB-1")
    assert "AB-1 · " in (await care.say(doctor, "/patients")).text  # the link, not used yet
    # Any case finds it; the answer names the label as it was prescribed.
    assert (await care.say(doctor, "/revoke ab-1")).text == t("revoked", label="AB-1")
    assert (await care.say(doctor, "/patients")).text == t("cl_patients_none")
    async with care.services.db.session() as session:
        [row] = (await session.execute(select(Invite))).scalars().all()
    assert (row.revoked_by, row.revoked_at, row.used_at) == (DOCTOR, care.clock.now(), None)
    reply = await care.say(user, f"/start {code}")
    assert reply.text == t("invite_invalid", clinic="Test Clinic", contact="+1 555 0100")
    assert await patient_of(care, user) is None
    # Nothing is left to withdraw, and the label can be prescribed again.
    assert (await care.say(doctor, "/revoke AB-1")).text == t("revoke_none", label="AB-1")
    await enroll(care, user, await invite(care, "AB-1"))
    patient = await patient_of(care, user)
    assert patient is not None and patient.label == "AB-1"


async def test_a_link_withdrawn_while_the_patient_taps_it_enrolls_no_one(
    care: Simulation, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = care.telegram.user(PATIENT)
    code = await invite(care, "AB-1")
    read = Invites.get

    async def read_before_the_revoke(self: Invites, code: str) -> Invite | None:
        # The bot reads the link while it is still good; the doctor withdraws it just after.
        row = await read(self, code)
        assert row is not None
        good = Invite(**{c: getattr(row, c) for c in ("id", "code", "label", "plan")})
        good.used_at, good.expires_at = None, row.created_at + timedelta(hours=72)
        self.session.expunge(row)
        return good

    await care.say(care.telegram.user(DOCTOR), "/revoke AB-1")
    monkeypatch.setattr(Invites, "get", read_before_the_revoke)
    reply = await care.say(user, f"/start {code}")
    assert reply.text == t("invite_invalid", clinic="Test Clinic", contact="+1 555 0100")
    assert user.last() is reply  # no welcome, no consent question: self-enrollment is off
    assert await patient_of(care, user) is None


async def test_a_used_link_cannot_be_revoked_and_a_stranger_cannot_revoke(
    care: Simulation,
) -> None:
    doctor, user = care.telegram.user(DOCTOR), care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care, "AB-1"))
    waiting = await invite(care, "AB-2")
    stranger = care.telegram.user(STRANGER)
    assert (await care.say(stranger, "/revoke AB-2")).text == t("not_provider")
    assert (await care.say(doctor, "/revoke AB-1")).text == t("revoke_none", label="AB-1")
    assert (await care.say(doctor, "/revoke")).text == t("revoke_usage")
    assert (await care.say(doctor, "/revoke " + "X" * 4000)).text == t("invite_bad_label")
    patient = await patient_of(care, user)
    assert patient is not None and patient.enrolled
    # The stranger's attempt changed nothing: AB-2's link still works.
    second = care.telegram.user(PATIENT + 1)
    await enroll(care, second, waiting)
    patient = await patient_of(care, second)
    assert patient is not None and patient.label == "AB-2"


async def test_an_invited_patient_is_on_the_prescribed_plan_with_the_label(
    care: Simulation,
) -> None:
    user = care.telegram.user(PATIENT)
    code = await invite(care, "CH-1042", "custom 1 0.5 7 3 0.5,1.5")
    await enroll(care, user, code)
    patient = await patient_of(care, user)
    assert patient is not None and patient.label == "CH-1042" and patient.plan is not None
    doses = [Decimal(s["dose_mg"]) for s in patient.plan["steps"]]
    assert doses == [Decimal(mg) for mg in ("1", "1.5", "2", "2.5", "3")]
    assert [s["days"] for s in patient.plan["steps"]] == [7, 7, 7, 7, None]
    assert t("ask_plan") not in [m.text for m in user.messages()]


async def test_a_plan_that_cannot_be_prescribed_is_refused_with_its_reason(
    care: Simulation,
) -> None:
    doctor = care.telegram.user(DOCTOR)
    reply = await care.say(doctor, "/invite AB-1 custom 1 1 7 6 0.5")
    assert reply.text.startswith(t("invite_bad_plan", reason="")[:20])
    assert "4.5" in reply.text
    assert (await care.say(doctor, "/invite")).text == t("invite_usage")
    assert (await care.say(doctor, "/invite a/b 0.5")).text == t("invite_bad_label")


# A patient already on LDN: the provider names the dose they take now (issue 8)

ON_0_5 = BUILTIN_PLANS["builtin-0.5"]
# The 0.5 mg plan's doses, by step.
DOSE = {
    1: "0.5 mg (1 × 0.5 mg capsule)",
    2: "1 mg (2 × 0.5 mg capsules)",
    3: "1.5 mg (3 × 0.5 mg capsules)",
    4: "2 mg (4 × 0.5 mg capsules)",
    5: "2.5 mg (5 × 0.5 mg capsules)",
    6: "3 mg (6 × 0.5 mg capsules)",
    7: "4.5 mg (3 × 1.5 mg capsules)",
}


def step_line(step: int, start: str | None, end: str | None = None, marker: str = "•") -> str:
    """A line of the plan as the patient reads it; no start: before they began with the bot."""
    if start is None:
        when = t("plan_before")
    elif end is None:
        when = t("plan_from", start=start)
    else:
        when = t("plan_from_to", start=start, end=end)
    return t("plan_line", marker=marker, step=step, dose=DOSE[step], when=when)


async def invitation(care: Simulation) -> Invite:
    async with care.services.db.session() as session:
        [row] = (await session.execute(select(Invite))).scalars().all()
    return row


async def test_an_invitation_from_a_dose_starts_the_patient_at_that_step_and_says_so(
    care: Simulation,
) -> None:
    doctor, user = care.telegram.user(DOCTOR), care.telegram.user(PATIENT)
    reply = await care.say(doctor, "/invite AB-1 0.5 from 2")
    row = await invitation(care)
    assert row.plan == ON_0_5.starting_at(4).to_dict()
    plan_name = messages.plan_name(ON_0_5)
    assert reply.text == t(
        "invite_created_from",
        label="AB-1",
        plan=plan_name,
        step=4,
        steps=7,
        dose=DOSE[4],
        expires=f"{row.expires_at:%Y-%m-%d %H:%M}",
        link=f"https://t.me/{care.telegram.bot_username}?start={row.code}",
    )

    await enroll(care, user, row.code)
    said_to_patient = [m.text for m in user.messages()]
    prescribed = t("invite_plan_from", plan=plan_name, step=4, steps=7, dose=DOSE[4])
    assert prescribed in said_to_patient
    # The summary shows the plan from that step, from tonight on.
    steps = [
        step_line(4, "Wed 4 Mar", "Tue 17 Mar"),
        step_line(5, "Wed 18 Mar", "Tue 31 Mar"),
        step_line(6, "Wed 1 Apr", "Tue 14 Apr"),
    ]
    summary = t(
        "summary",
        plan=plan_name,
        start="Wed 4 Mar",
        bedtime="22:00",
        zone="New York",
        steps="\n".join(steps),
    )
    assert summary in said_to_patient

    # Tonight's reminder gives the dose they take now, with no word of a new, higher dose.
    await care.run_until(datetime(2026, 3, 5, 3, 0, tzinfo=UTC))  # 22:00 in New York
    [reminder] = care.reminders_to(user)
    assert reminder.text == t("reminder", dose=DOSE[4])
    first = (await doses_of(care, user))[0]
    assert (first.night, first.step, first.dose_mg, first.step_up) == (
        date(2026, 3, 4),
        4,
        Decimal("2"),
        False,
    )
    today = await care.say(user, "/today")
    assert today.text == "\n".join(
        [
            t("today", night="Wed 4 Mar", dose=DOSE[4], step=4, steps=7),
            t("today_next", dose=DOSE[5], date="Wed 18 Mar"),
            t("today_reminder_at", bedtime="22:00"),
        ]
    )
    # /plan: the earlier steps were before the bot; the patient is on step 4.
    plan = await care.say(user, "/plan")
    assert plan.text == "\n".join(
        [
            t("plan_header", plan=plan_name),
            step_line(1, None),
            step_line(2, None),
            step_line(3, None),
            step_line(4, "Wed 4 Mar", "Tue 17 Mar", marker="▶"),
            *steps[1:],
            step_line(7, "Wed 15 Apr"),
            t("plan_legend"),
        ]
    )


async def test_before_the_first_night_today_shows_the_dose_the_provider_named(
    care: Simulation,
) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(
        care, user, await invite(care, "AB-1", "0.5 from 2"), first_night="button_tomorrow"
    )
    today = await care.say(user, "/today")
    assert today.text.split("\n")[0] == t("today_before_start", date="Thu 5 Mar", dose=DOSE[4])


async def test_a_waiting_link_from_a_dose_shows_where_the_patient_starts(care: Simulation) -> None:
    doctor = care.telegram.user(DOCTOR)
    await invite(care, "AB-1", "0.5 from 2")
    row = await invitation(care)
    listed = await care.say(doctor, "/patients")
    expires = f"{row.expires_at:%Y-%m-%d %H:%M}"
    line = PROVIDER_TEXTS["cl_waiting_link_from"].format(
        label="AB-1", expires=expires, step=4, mg="2"
    )
    assert line in listed.text.split("\n")


@pytest.mark.parametrize(
    ("words", "step"),
    [
        ("0.5 from 2mg", 4),
        ("0.5 FROM 2 mg", 4),
        ("0.5 from 0.5", 1),
        ("1.5 from 4.5", 3),
        ("custom 1.5 1.5 10 4.5 1.5 from 3", 2),
    ],
)
async def test_an_invitation_from_a_dose_reads_it_however_it_is_written(
    care: Simulation, words: str, step: int
) -> None:
    await invite(care, "AB-1", words)
    row = await invitation(care)
    assert row.plan["start_step"] == step


@pytest.mark.parametrize(
    ("words", "plan", "mg"),
    [
        ("0.5 from 3.5", ON_0_5, "3.5"),
        ("0.5 from 6", ON_0_5, "6"),
        ("1.5 from 2", BUILTIN_PLANS["builtin-1.5"], "2"),
        ("custom 1.5 1.5 10 4.5 1.5 from 2", custom_plan("1.5", "1.5", 10, "4.5", ["1.5"]), "2"),
    ],
)
async def test_an_invitation_from_a_dose_the_plan_does_not_have_is_refused_with_its_reason(
    care: Simulation, words: str, plan: Plan, mg: str
) -> None:
    with pytest.raises(PlanError) as reason:
        plan.step_for(mg)
    reply = await care.say(care.telegram.user(DOCTOR), f"/invite AB-1 {words}")
    assert reply.text == t("invite_bad_plan", reason=str(reason.value))
    async with care.services.db.session() as session:
        assert (await session.execute(select(Invite))).scalars().all() == []


@pytest.mark.parametrize(
    "words", ["0.5 from", "0.5 2", "from 2", "0.5 from 2 3", "0.5 from 2 from 3"]
)
async def test_an_invitation_with_a_dose_not_after_from_gets_the_usage(
    care: Simulation, words: str
) -> None:
    reply = await care.say(care.telegram.user(DOCTOR), f"/invite AB-1 {words}")
    assert reply.text == t("invite_usage")


# Screening


async def test_a_screening_yes_holds_the_first_dose_until_a_provider_clears_it(
    care: Simulation,
) -> None:
    user = care.telegram.user(PATIENT)
    done = await enroll(care, user, await invite(care), screening_yes=("thyroid",))
    assert done.text == t("enrolled_waiting")
    patient = await patient_of(care, user)
    assert patient is not None and patient.awaiting_clearance and patient.thyroid_medication
    await care.run_until(datetime(2026, 3, 6, 12, tzinfo=UTC))
    assert care.reminders_to(user) == [] and await doses_of(care, user) == []
    # Unanswered for a day and more: raised again once, the day after.
    first, alert = alerts(care, DOCTOR)
    assert reason_text("screening_thyroid", "thyroid") in first.text
    assert t("alert_again", round=2) in alert.text

    await care.tap(care.telegram.user(DOCTOR), alert, t("button_decide_continue"))

    assert user.last().text == t("decided_continue_start", bedtime="22:00")
    await care.run_until(datetime(2026, 3, 7, 3, 1, tzinfo=UTC))  # 22:01 in New York
    assert len(care.reminders_to(user)) == 1
    patient = await patient_of(care, user)
    assert patient is not None and patient.start_date == date(2026, 3, 6)


async def test_a_decision_on_one_alert_never_lifts_a_withhold_raised_by_another(
    care: Simulation,
) -> None:
    user, doctor = care.telegram.user(PATIENT), care.telegram.user(DOCTOR)
    await enroll(care, user, await invite(care), first_dose_taken=True)
    await report(care, user, grades={"stomach": "grade_3"})  # alert A: hold the increase
    await care.say(user, "doc put me on oxycodone after my knee op")  # alert B: withhold
    first, second = alerts(care, DOCTOR)

    await care.tap(doctor, first, t("button_decide_hold"))
    patient = await patient_of(care, user)
    assert patient is not None and patient.withheld_at is not None
    withheld = clinic_text("stop_withheld", care.services.settings)
    assert user.last().text == "\n\n".join((t("decided_while_stopped"), withheld))
    # Continuing the hold's alert waits for the withholding one, whatever their order.
    await care.tap(doctor, first, t("button_decide_continue"))
    patient = await patient_of(care, user)
    assert patient is not None and patient.withheld_at is not None

    await care.tap(doctor, second, t("button_decide_continue"))
    patient = await patient_of(care, user)
    assert patient is not None and patient.withheld_at is None
    assert (user.last().text or "").startswith(t("decided_lifted"))


@pytest.mark.parametrize(
    "stop", ["doc put me on oxycodone after my knee op", "I'm 6 weeks pregnant", "pause"]
)
async def test_a_stop_after_tonights_reminder_takes_its_dose_buttons_away(
    care: Simulation, stop: str
) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care), first_dose_taken=True)
    await care.run_until(datetime(2026, 3, 6, 3, 1, tzinfo=UTC))  # 22:01, tonight's reminder
    [reminder] = [m for m in care.reminders_to(user) if m.date >= 1772766000]
    if stop == "pause":
        await report(care, user, grades={"stomach": "grade_3"})
        await care.tap(
            care.telegram.user(DOCTOR), alerts(care, DOCTOR)[-1], t("button_decide_pause")
        )
    else:
        await care.say(user, stop)
    # No button left that could record "taken", offer a snooze, or say "take your usual dose".
    now = care.telegram.message(reminder.chat_id, reminder.message_id)
    assert now is not None and now.buttons() == []
    await care.run_until(datetime(2026, 3, 6, 3, 45, tzinfo=UTC))  # no follow-up either
    assert care.reminders_to(user) == [] or all(
        m.date < 1772766000 for m in care.reminders_to(user)
    )


async def test_a_screening_yes_reaches_the_providers_at_once_without_a_dispatcher_round(
    care: Simulation,
) -> None:
    user = care.telegram.user(PATIENT)
    message = await care.say(user, f"/start {await invite(care)}")
    message = await care.tap(user, message, t("button_consent_yes"))
    message = await care.tap(user, message, t("button_screen_some"))
    while message.text in [t(f"screen_q_{c}") for c in _SCREENING]:
        yes = message.text == t("screen_q_opioids")
        message = await care.tap(user, message, t("button_yes_short" if yes else "button_no_short"))
    # No clock moved, no dispatcher round: the answer itself delivered the alert.
    [alert] = alerts(care, DOCTOR)
    assert reason_text("screening_opioids", "opioids") in (alert.text or "")


# Red flags in the patient's own words


async def test_words_out_of_the_blue_naming_an_opioid_withhold_ldn_and_alert_at_once(
    care: Simulation,
) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care))
    reply = await care.say(user, "my dentist gave me Tramadol for tomorrow")
    # No more "stay on your current dose": LDN must not be taken with opioids.
    assert t("concern_withhold") in reply.text and t("concern_sent") in reply.text
    [alert] = alerts(care, DOCTOR)  # in the update itself: no dispatcher tick needed
    assert "Tramadol" in alert.text and alert.text.startswith(t("tier_urgent"))
    [escalation] = await escalations(care)
    assert escalation.stop == "withhold"
    patient = await patient_of(care, user)
    assert patient is not None and patient.withheld_at is not None


async def test_words_of_self_harm_get_the_emergency_numbers_at_once(care: Simulation) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care))
    reply = await report(care, user, grades={"mood": "grade_2"}, words="I want to end my life")
    assert reply.text == EMERGENCY
    assert alerts(care, DOCTOR)[0].text.startswith(t("tier_emergency"))
    patient = await patient_of(care, user)
    assert patient is not None and patient.withheld_at is not None


async def test_words_typed_at_the_end_of_a_check_in_take_its_last_button_away(
    care: Simulation,
) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care))
    started = len(user.messages())
    await report(care, user, grades={"stomach": "grade_1"}, words="A little queasy, that's all")
    [question] = [m for m in user.messages()[started:] if m.text == t("checkin_words")]
    assert question.buttons() == []  # no "Nothing else" left to press after the words


async def test_a_red_flag_ticked_then_done_ends_the_check_in_raised_once(care: Simulation) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care))
    reply = await report(care, user, flags=("breathing",))
    assert reply.text == t("checkin_done_raised")  # what to do was said at the tick
    [escalation] = await escalations(care)
    assert escalation.tier == "emergency" and escalation.stop == "withhold"
    assert len(alerts(care, DOCTOR)) == 1


async def test_mild_expected_effects_reassure_with_a_tip_and_alert_nobody(
    care: Simulation,
) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care))
    reply = await report(care, user, grades={"stomach": "grade_1"})
    assert t("tip_stomach") in reply.text and reply.text.startswith(t("checkin_info"))
    assert await escalations(care) == []
    patient = await patient_of(care, user)
    assert patient is not None and patient.dose_holds == []


# Delivery, re-notification, restarts


async def test_an_urgent_alert_nobody_acknowledges_is_sent_again_and_reaches_the_admins(
    care: Simulation,
) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care))
    await report(care, user, grades={"stomach": "grade_3"})
    await settle(care)
    assert len(alerts(care, DOCTOR)) == 1 and alerts(care, ADMIN) == []
    renotify = care.services.settings.escalation_renotify_minutes

    await settle(care, renotify)
    assert len(alerts(care, DOCTOR)) == 2 and alerts(care, ADMIN) == []
    await settle(care, renotify)
    assert len(alerts(care, DOCTOR)) == 3 and len(alerts(care, ADMIN)) == 1

    await care.tap(care.telegram.user(NURSE), alerts(care, NURSE)[-1], t("button_decide_ack"))
    await settle(care, 3 * renotify)
    assert len(alerts(care, DOCTOR)) == 3
    [escalation] = await escalations(care)
    assert escalation.status == "acknowledged" and escalation.acknowledged_by == NURSE


async def routine_alert(care: Simulation, user: FakeUser) -> None:
    """The patient reports a moderate effect twice, a week apart: a routine alert is stored."""
    await enroll(care, user, await invite(care), first_dose_taken=True)
    first = await report(care, user, grades={"tiredness": "grade_2"})
    assert first.text.startswith(t("checkin_info")) and await escalations(care) == []
    care.clock.advance(days=7)
    second = await report(care, user, grades={"tiredness": "grade_2"})
    assert second.text == HELD


async def test_a_routine_alert_nobody_acknowledges_is_raised_again_after_the_review_hours(
    care: Simulation,
) -> None:
    user = care.telegram.user(PATIENT)
    await routine_alert(care, user)
    review = care.services.settings.routine_review_hours
    # Not every half hour, as an urgent one: once, for the whole of the review hours.
    await settle(care, review * 60 - 5)
    [alert] = alerts(care, DOCTOR)
    assert alert.text.startswith(t("tier_routine")) and alerts(care, ADMIN) == []

    await settle(care, 10)
    assert len(alerts(care, DOCTOR)) == 2 and len(alerts(care, NURSE)) == 2
    assert t("alert_again", round=2) in alerts(care, DOCTOR)[-1].text
    await settle(care, review * 60)
    assert len(alerts(care, DOCTOR)) == 3 and len(alerts(care, ADMIN)) == 1

    await care.tap(care.telegram.user(DOCTOR), alerts(care, DOCTOR)[-1], t("button_decide_ack"))
    await settle(care, review * 60 + 10)
    again = [a for a in alerts(care, DOCTOR) if t("alert_again", round=4) in a.text]
    assert again == [] and len(alerts(care, ADMIN)) == 1


@asynccontextmanager
async def clinic(
    clock: VirtualClock, settings: Settings, staff: tuple[int, ...] = (DOCTOR, NURSE, ADMIN)
) -> AsyncIterator[Simulation]:
    """The bot on these settings, its `staff` having opened it."""
    telegram = FakeTelegram(clock=clock.now)
    for user_id in staff:
        telegram.user(user_id).send("/start")
    async with running(settings, clock, telegram) as care:
        await care.deliver()
        yield care


async def test_an_alert_sent_again_its_most_times_goes_to_the_admins_only(
    care_settings: Settings, clock: VirtualClock, db: Database
) -> None:
    capped = care_settings.model_copy(update={"escalation_max_resends": 3})
    async with clinic(clock, capped) as care:
        user = care.telegram.user(PATIENT)
        await enroll(care, user, await invite(care))
        await report(care, user, grades={"stomach": "grade_3"})
        renotify = capped.escalation_renotify_minutes
        await settle(care, 3 * renotify + 1)
        # The first sending and three more: the providers' last.
        assert len(alerts(care, DOCTOR)) == 4 and len(alerts(care, ADMIN)) == 2
        assert t("alert_admins_only", times=4) not in alerts(care, ADMIN)[-1].text

        await settle(care, 2 * renotify)
        assert len(alerts(care, DOCTOR)) == 4 and len(alerts(care, NURSE)) == 4
        assert len(alerts(care, ADMIN)) == 4
        assert t("alert_admins_only", times=4) in alerts(care, ADMIN)[-1].text

        # A provider can still act on an earlier copy: the admins hear no more of it.
        await care.tap(care.telegram.user(NURSE), alerts(care, NURSE)[-1], t("button_decide_ack"))
        await settle(care, 3 * renotify)
        assert len(alerts(care, ADMIN)) == 4
        [escalation] = await escalations(care)
        assert escalation.status == "acknowledged" and escalation.acknowledged_by == NURSE


async def test_with_no_admin_an_alert_stays_with_the_providers_past_its_most_sendings(
    care_settings: Settings, clock: VirtualClock, db: Database
) -> None:
    alone = care_settings.model_copy(update={"escalation_max_resends": 1, "admin_user_ids": ()})
    async with clinic(clock, alone, (DOCTOR, NURSE)) as care:
        user = care.telegram.user(PATIENT)
        await enroll(care, user, await invite(care))
        await report(care, user, grades={"stomach": "grade_3"})
        await settle(care, 3 * alone.escalation_renotify_minutes + 1)
        # Nobody else would ever hear of it: raised again to the providers, as before the cap.
        assert len(alerts(care, DOCTOR)) == 4 and len(alerts(care, NURSE)) == 4
        assert all(t("alert_admins_only", times=2) not in a.text for a in alerts(care, DOCTOR))


async def test_a_routine_alert_in_the_quiet_hours_waits_for_their_end(
    care_settings: Settings, clock: VirtualClock, db: Database
) -> None:
    quiet = care_settings.model_copy(update={"care_team_quiet_hours": "21:00-08:00"})
    async with clinic(clock, quiet) as care:
        user = care.telegram.user(PATIENT)
        await routine_alert(care, user)
        # Reported late in the evening in New York (DEFAULT_TIMEZONE), within the quiet hours.
        local = care.clock.now().astimezone(ZoneInfo(quiet.default_timezone))
        assert local.hour >= 21
        await settle(care, 60)
        assert alerts(care, DOCTOR) == [] and len(await escalations(care)) == 1
        morning = local.replace(hour=8, minute=0) + timedelta(days=1)
        await care.run_until(morning.astimezone(UTC) - timedelta(minutes=1))
        assert alerts(care, DOCTOR) == []
        await settle(care, 2)
        [alert] = alerts(care, DOCTOR)
        assert alert.text.startswith(t("tier_routine")) and len(alerts(care, NURSE)) == 1


async def test_an_urgent_alert_in_the_quiet_hours_goes_at_once(
    care_settings: Settings, clock: VirtualClock, db: Database
) -> None:
    quiet = care_settings.model_copy(update={"care_team_quiet_hours": "00:00-23:59"})
    async with clinic(clock, quiet) as care:
        user = care.telegram.user(PATIENT)
        await enroll(care, user, await invite(care))
        await report(care, user, grades={"stomach": "grade_3"})
        [alert] = alerts(care, DOCTOR)
        assert alert.text.startswith(t("tier_urgent"))
        await settle(care, quiet.escalation_renotify_minutes)
        assert len(alerts(care, DOCTOR)) == 2


async def test_a_failing_provider_chat_is_retried_and_the_admin_told(care: Simulation) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care), first_dose_taken=True)
    question = await answer_up_to_words(care, user, {"stomach": "grade_3"})
    care.telegram.fail("sendMessage", status=502, chat_id=DOCTOR)  # the doctor's copy only
    await care.tap(user, question, t("button_nothing_else"))
    assert alerts(care, DOCTOR) == [] and len(alerts(care, NURSE)) == 1
    told = [m.text for m in care.telegram.messages(ADMIN) if m.text.startswith("⚠️")]
    assert len(told) == 1 and str(DOCTOR) in told[0]
    await settle(care, 10)
    assert len(alerts(care, DOCTOR)) == 1 and len(alerts(care, NURSE)) == 1


GROUP, SUPERGROUP = -5009, -1005009


def warnings(telegram: FakeTelegram, chat_id: int) -> list[str]:
    return [m.text for m in telegram.messages(chat_id) if m.text and m.text.startswith("⚠️")]


async def test_a_group_that_became_a_supergroup_is_reported_with_its_new_id_and_nothing_lost(
    care_settings: Settings, clock: VirtualClock, db: Database
) -> None:
    telegram = FakeTelegram(clock=clock.now)
    for user_id in (DOCTOR, NURSE, ADMIN):
        telegram.user(user_id).send("/start")
    telegram.group(GROUP)
    with_group = care_settings.model_copy(update={"provider_chat_ids": (DOCTOR, NURSE, GROUP)})
    user = telegram.user(PATIENT)
    async with running(with_group, clock, telegram) as care:
        await enroll(care, user, await invite(care))
        # The doctor changes a setting of the group: the admin hears of its new id at once.
        telegram.upgrade_group(GROUP, SUPERGROUP, by=telegram.user(DOCTOR))
        await care.deliver()
        moved = t("admin_group_moved", chat=GROUP, new=SUPERGROUP)
        assert warnings(telegram, ADMIN) == [moved]

        await report(care, user, grades={"stomach": "grade_3"})
        await settle(care, 20)
        # The providers' own chats have the alert; the admin hears why the group's copy failed.
        assert len(alerts(care, DOCTOR)) == 1 and len(alerts(care, NURSE)) == 1
        [escalation] = await escalations(care)
        failed = t("admin_chat_moved", id=escalation.id, tier="urgent", chat=GROUP, new=SUPERGROUP)
        # Once for the round, not at every retry; and no patient's label or words in either.
        assert warnings(telegram, ADMIN) == [moved, failed]

    # Restarted with the new id, as the admin was asked: the group gets the alert, once.
    with_supergroup = care_settings.model_copy(
        update={"provider_chat_ids": (DOCTOR, NURSE, SUPERGROUP)}
    )
    async with running(with_supergroup, clock, telegram) as care:
        assert warnings(telegram, ADMIN).count(moved) == 1  # the new id is known: no news
        await settle(care, 10)
        assert len(alerts(care, SUPERGROUP)) == 1
        assert len(alerts(care, DOCTOR)) == 1 and len(alerts(care, NURSE)) == 1
    # Only the sends to the old id were refused, and that was Telegram's answer, not a mistake.
    assert {c.params.get("chat_id") for c in telegram.client_errors()} == {GROUP}


async def test_a_group_found_upgraded_at_start_up_is_reported_with_its_new_id(
    care_settings: Settings, clock: VirtualClock, db: Database
) -> None:
    telegram = FakeTelegram(clock=clock.now)
    telegram.user(ADMIN).send("/start")
    telegram.group(GROUP)
    telegram.upgrade_group(GROUP, SUPERGROUP, by=telegram.user(DOCTOR))
    settings = care_settings.model_copy(update={"provider_chat_ids": (GROUP,)})
    async with running(settings, clock, telegram):
        pass
    told = [m.text for m in telegram.messages(ADMIN)]
    assert told == [t("admin_group_moved", chat=GROUP, new=SUPERGROUP)]


async def test_an_escalation_stored_before_a_restart_is_delivered_after_it(
    care: Simulation, care_settings, db, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care))

    def stops_before_sending(self: Concerns, raised: Raised) -> None:
        pass

    monkeypatch.setattr(Concerns, "deliver_soon", stops_before_sending)
    await report(care, user, grades={"stomach": "grade_3"})
    assert alerts(care, DOCTOR) == []  # stored, not yet sent: the process stops here
    monkeypatch.undo()
    await care.app.shutdown()
    await care.app.post_shutdown(care.app)  # type: ignore[misc]

    async with running(care_settings, care.clock, care.telegram) as again:
        await settle(again)
        assert len(alerts(again, DOCTOR)) == 1 and len(alerts(again, NURSE)) == 1
    await care.app.initialize()  # the fixture shuts the first one down again


async def test_a_provider_reply_to_an_alert_reaches_the_patient(care: Simulation) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care))
    await report(care, user, grades={"stomach": "grade_3"})
    await settle(care)
    doctor = care.telegram.user(DOCTOR)
    doctor.reply(alerts(care, DOCTOR)[0], "Please eat something with the dose tonight.")
    await care.deliver()
    assert user.last().text == t(
        "care_team_message", text="Please eat something with the dose tonight."
    )
    assert doctor.last().text == t("relayed", label="AB-1")
    assert [e.action for e in await audit(care)] == ["message"]


async def test_a_chat_that_keeps_failing_does_not_stop_an_urgent_alert_being_raised_again(
    care: Simulation,
) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care))
    care.telegram.user(NURSE).block()  # the nurse's chat refuses every alert from now on
    await care.deliver()
    await report(care, user, grades={"stomach": "grade_3"})
    renotify = care.services.settings.escalation_renotify_minutes

    # Retries of the failing chat run on their own backoff (at most 5 minutes apart), so each
    # round may come a few minutes after its renotify time, never a whole round late.
    await settle(care, 3 * renotify)

    assert alerts(care, NURSE) == []
    assert len(alerts(care, DOCTOR)) >= 3 and len(alerts(care, ADMIN)) >= 1
    told = [m.text for m in care.telegram.messages(ADMIN) if m.text.startswith("⚠️")]
    assert told and all(str(NURSE) in text for text in told)
    # The nurse's refusals are this test's point, not a mistake of the bot's.
    care.telegram.requests = [c for c in care.telegram.requests if c.status != 403]


async def test_a_provider_typing_in_private_gets_the_care_team_commands(care: Simulation) -> None:
    doctor = care.telegram.user(DOCTOR)
    assert (await care.say(doctor, "hello?")).text == t("provider_help")
    assert (await care.say(doctor, "/start")).text == t("provider_help")


async def test_a_decision_on_a_screening_alert_before_enrollment_ends_is_applied_kindly(
    care: Simulation,
) -> None:
    user = care.telegram.user(PATIENT)
    message = await care.say(user, f"/start {await invite(care)}")
    message = await care.tap(user, message, t("button_consent_yes"))
    message = await care.tap(user, message, t("button_screen_some"))
    for code in ("opioids", "liver_kidney", "psychiatric", "pregnancy", "thyroid", "immune"):
        assert message.text == t(f"screen_q_{code}")
        message = await care.tap(user, message, t("button_no_short"))
    await care.tap(user, message, t("button_yes_short"))  # active cancer; still choosing a zone
    await settle(care)

    await care.tap(care.telegram.user(DOCTOR), alerts(care, DOCTOR)[0], t("button_decide_back"))

    assert user.last().text == t("decided_cleared")
    patient = await patient_of(care, user)
    assert patient is not None and not patient.awaiting_clearance and patient.dose_holds == []
    [entry] = await audit(care)
    assert entry.action == "back"


async def test_emergency_words_at_a_pending_question_are_answered_first_and_the_question_kept(
    care: Simulation,
) -> None:
    user = care.telegram.user(PATIENT)
    message = await care.say(user, f"/start {await invite(care)}")
    message = await care.tap(user, message, t("button_consent_yes"))
    await care.tap(user, message, t("button_screen_none"))  # now asked for a time zone
    count = len(user.messages())

    await care.say(user, "I can't breathe and my throat is swelling")

    said = [m.text for m in user.messages()[count:]]
    assert len(said) == 2 and said[1] == t("ask_timezone")
    assert said[0] is not None and said[0].startswith(t("concern_emergency", emergency="911"))
    [escalation] = await escalations(care)
    assert escalation.tier == "emergency"
    patient = await patient_of(care, user)
    assert patient is not None and patient.awaiting == "zone"


async def test_someone_the_bot_does_not_know_still_gets_the_emergency_numbers(
    care: Simulation,
) -> None:
    stranger = care.telegram.user(PATIENT + 9)
    reply = await care.say(stranger, "I want to kill myself")
    # The numbers, and no claim that anyone was alerted: nobody was.
    assert reply.text == t("inbox_emergency_stranger", emergency="911", crisis="988")
    assert "alerted" not in reply.text and "care team" not in reply.text
    assert await patient_of(care, stranger) is None
    assert await escalations(care) == []


async def test_continue_waits_for_a_newer_alert_and_never_lifts_another_alerts_pause(
    care: Simulation,
) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care), first_dose_taken=True)
    doctor = care.telegram.user(DOCTOR)
    await report(care, user, grades={"stomach": "grade_3"})
    await settle(care)
    first = alerts(care, DOCTOR)[-1]
    await care.say(user, "they gave me oxycodone at the dentist")
    await settle(care)
    second = alerts(care, DOCTOR)[-1]
    assert second.message_id != first.message_id

    await care.tap(doctor, first, t("button_decide_continue"))
    answers = care.telegram.calls("answerCallbackQuery")
    assert answers[-1].params["text"] == t("toast_others_open", ids="#2")
    patient = await patient_of(care, user)
    assert patient is not None and [h.end for h in patient.dose_holds] == [None]

    await care.tap(doctor, second, t("button_decide_pause"))
    await care.tap(doctor, first, t("button_decide_hold"))
    patient = await patient_of(care, user)
    assert patient is not None and patient.provider_paused  # a hold decided later keeps the pause
    # Continuing the first releases its hold, but the pause decided on the second stands.
    await care.tap(doctor, first, t("button_decide_continue"))
    patient = await patient_of(care, user)
    assert patient is not None and patient.provider_paused
    # The patient hears that the pause stands, never that they may take LDN.
    assert user.last().text == "\n\n".join((t("decided_while_stopped"), t("stop_paused")))
    await care.tap(doctor, second, t("button_decide_continue"))
    patient = await patient_of(care, user)
    assert patient is not None and not patient.provider_paused
    assert all(h.end is not None for h in patient.dose_holds)


async def test_a_label_waiting_in_an_invitation_is_not_given_twice(care: Simulation) -> None:
    await invite(care, "AB-1")
    reply = await care.say(care.telegram.user(NURSE), "/invite ab-1 1.5")
    assert reply.text == t("invite_label_taken", label="ab-1")


async def test_no_invitation_link_is_posted_in_a_group_outside_the_care_team(
    care: Simulation,
) -> None:
    party = care.telegram.group(-100777, "Family chat")
    care.telegram.user(DOCTOR).in_group(party).command("invite", "AB-1 0.5")
    await care.deliver()
    assert party.messages() == []  # a group the bot does not serve: not even a refusal
