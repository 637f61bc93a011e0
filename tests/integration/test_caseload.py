"""The care team's read-only views through the real stack: /patients, /patient, /escalations."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import update

from bot.app.settings import Settings
from bot.rules.nightly import adherence
from bot.rules.plans import BUILTIN_PLANS, Hold, Plan, schedule
from bot.rules.states import AuditAction
from bot.ui import messages
from bot.ui.presenters import age, reason_text, split
from bot.ui.texts_provider import PROVIDER_TEXTS
from devtools.simulation import Simulation, VirtualClock, running
from fake_telegram.core import FakeMessage, FakeTelegram, FakeUser
from storage.db import Database
from storage.models import (
    AlertMessage,
    AuditEntry,
    CareTeamMember,
    Dose,
    Escalation,
    Invite,
    Patient,
    PlanHold,
    Report,
)

PROVIDER, ADMIN, STRANGER = 5001, 6001, 7001
NAMELESS = 5003  # a provider whose name the bot never learned
CARE_GROUP, OTHER_GROUP = -5002, -7002
# conftest's clock: Wednesday 4 March 2026, 17:00 UTC, noon in New York: tonight is 4 March.
NOW = datetime(2026, 3, 4, 17, 0, tzinfo=UTC)
TODAY = date(2026, 3, 4)
# 28 nights into the 0.5 mg plan: the first night of step 3, 1.5 mg.
START = TODAY - timedelta(days=28)
PLAN = BUILTIN_PLANS["builtin-0.5"]
CREATED_AGO = timedelta(days=40)  # every patient written here first wrote to the bot then


def _t(key: str, **kw: object) -> str:
    return PROVIDER_TEXTS[key].format(**kw)


# Fixtures


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared test clinic, with a provider, an admin and the care team's group."""
    return settings.model_copy(
        update={
            "provider_user_ids": (PROVIDER,),
            "provider_chat_ids": (PROVIDER, CARE_GROUP),
            "admin_user_ids": (ADMIN,),
        }
    )


@pytest.fixture
async def harness(
    settings: Settings, clock: VirtualClock, db: Database
) -> AsyncIterator[Simulation]:
    telegram = FakeTelegram(clock=clock.now)
    # The care team opened the bot and added it to their group, as they must for it to reach them.
    for user_id in (PROVIDER, ADMIN):
        telegram.user(user_id).send("/start")
    telegram.group(CARE_GROUP)
    async with running(settings, clock, telegram) as simulation:
        await simulation.deliver()
        yield simulation
    assert telegram.client_errors() == [], "the bot sent a request Telegram would refuse"


# Data, written straight to the database


async def add(harness: Simulation, *rows: object) -> None:
    async with harness.services.db.session() as session:
        session.add_all(rows)
        await session.commit()


async def add_patient(
    harness: Simulation,
    user_id: int,
    label: str | None,
    *,
    start: date = START,
    enrolled: bool = True,
    plan: Plan = PLAN,
    **flags: object,
) -> int:
    values: dict[str, object] = dict(reminders_paused=False, blocked_bot=False) | flags
    patient = Patient(
        telegram_user_id=user_id,
        chat_id=user_id,
        created_at=NOW - CREATED_AGO,
        enrolled_at=NOW - timedelta(days=30) if enrolled else None,
        consent_at=NOW - timedelta(days=30),
        plan=plan.to_dict(),
        start_date=start,
        bedtime=time(22, 30),
        timezone="America/New_York",
        label=label,
        holds=[],
        **values,
    )
    await add(harness, patient)
    return patient.id


async def add_nights(harness: Simulation, patient_id: int, nights: dict[date, str]) -> None:
    at = datetime.combine(TODAY, time(3, 30), UTC)
    await add(
        harness,
        *(
            Dose(
                patient_id=patient_id,
                night=night,
                step=1,
                dose_mg=Decimal("0.5"),
                capsule_mg=Decimal("0.5"),
                capsules=1,
                status=status,
                remind_at=at,
                cutoff_at=at,
            )
            for night, status in nights.items()
        ),
    )


def escalation(patient_id: int, tier: str, status: str, age: timedelta, **kw: object) -> Escalation:
    return Escalation(
        patient_id=patient_id,
        tier=tier,
        reasons=kw.pop("reasons", [["missed_three", None]]),
        status=status,
        created_at=NOW - age,
        **kw,
    )


def report(patient_id: int, days_ago: int, **kw: object) -> Report:
    at = NOW - timedelta(days=days_ago)
    values: dict[str, object] = dict(
        kind="checkin",
        status="done",
        night=at.date(),
        dose_mg=Decimal("1"),
        answers={"grades": {}, "flags": []},
        tier="none",
        created_at=at,
        completed_at=at,
    )
    values.update(kw)
    return Report(patient_id=patient_id, **values)


def night(days_ago: int) -> date:
    return TODAY - timedelta(days=days_ago)


async def replies(harness: Simulation, user: FakeUser, text: str) -> list[FakeMessage]:
    """Everything the bot sent `user` in answer to `text`."""
    before = len(user.messages())
    user.send(text)
    await harness.deliver()
    return user.messages()[before:]


async def one_reply(harness: Simulation, user: FakeUser, text: str) -> str:
    (message,) = await replies(harness, user, text)
    assert message.text is not None
    return message.text


# A caseload: four patients, labelled in mixed case, one without a label.


async def caseload(harness: Simulation) -> dict[str, int]:
    ch = await add_patient(harness, 101, "CH-1042")
    ab = await add_patient(harness, 102, "ab-7", reminders_paused=True)
    zed = await add_patient(harness, 103, "Zed-3", blocked_bot=True, awaiting_clearance=True)
    anon = await add_patient(harness, 104, None)
    await add_patient(harness, 105, "NOT-ENROLLED", enrolled=False)
    await add(harness, PlanHold(patient_id=anon, start=night(2), end=None, created_at=NOW))
    # CH-1042: the last 7 nights 4 taken, 1 skipped, 1 missed, tonight not answered yet (67%);
    # 21 nights before them all taken (25 of 27: 93%); a missed night outside the 30.
    week = ["taken", "taken", "skipped", "taken", "missed", "taken", "scheduled"]
    history = {night(6 - i): s for i, s in enumerate(week)}
    history |= {night(d): "taken" for d in range(7, 28)}
    history[night(31)] = "missed"
    await add_nights(harness, ch, history)
    # ab-7: one of eight nights taken, half up: 13% (12% would be banker's rounding).
    await add_nights(harness, ab, {night(d): "missed" if d else "taken" for d in range(8)})
    await add(
        harness,
        escalation(ch, "urgent", "open", timedelta(hours=2)),
        escalation(ch, "routine", "acknowledged", timedelta(hours=5)),
        escalation(ch, "routine", "decided", timedelta(hours=9)),
        escalation(zed, "routine", "decided", timedelta(hours=9)),
    )
    return {"CH-1042": ch, "ab-7": ab, "Zed-3": zed, "anon": anon}


# Adherence, a pure rule


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([], None),
        (["scheduled", "sent", "sending"], None),
        (["taken"], 100),
        (["missed"], 0),
        (["taken", "skipped"], 50),
        (["taken", "taken", "missed"], 67),
        (["taken"] + ["missed"] * 7, 13),  # 12.5 rounds half up
        (["taken", "scheduled", "sent"], 100),  # unanswered nights are not counted
        (["taken"] * 2 + ["skipped"] + ["scheduled"] * 5, 67),
    ],
)
def test_adherence_counts_taken_among_answered_nights(
    statuses: list[str], expected: int | None
) -> None:
    assert adherence(statuses) == expected


def test_split_keeps_order_and_every_message_under_the_limit() -> None:
    blocks = [f"line {i} " + "x" * 90 for i in range(100)]
    chunks = split(blocks)
    assert len(chunks) > 1
    assert all(len(c) <= 4096 for c in chunks)
    assert "\n".join(chunks).split("\n") == blocks


def test_split_cuts_a_block_longer_than_a_message_and_drops_nothing() -> None:
    chunks = split(["head", "w" * 9000, "tail"])
    assert all(len(c) <= 4096 for c in chunks)
    assert "".join(chunks).replace("\n", "") == "head" + "w" * 9000 + "tail"


def test_split_counts_as_telegram_does_an_emoji_is_two_units() -> None:
    blocks = ["🚨" * 1500, "🚨" * 1500, "x" * 3000 + "🚨" * 1000]
    chunks = split(blocks)
    assert all(len(c.encode("utf-16-le")) // 2 <= 4096 for c in chunks)
    assert "".join(chunks).replace("\n", "") == "".join(blocks)


@pytest.mark.parametrize(
    ("code", "subject", "expected"),
    [
        ("severe_stomach", "stomach", _t("cl_reason_severe", subject=_t("cl_effect_stomach"))),
        ("severe_stomach", None, _t("cl_reason_severe", subject=_t("cl_effect_stomach"))),
        (
            "worse_two_grades_sleep",
            "sleep",
            _t("cl_reason_worse_two_grades", subject=_t("cl_effect_sleep")),
        ),
        (
            "moderate_twice_headache",
            "headache",
            _t("cl_reason_moderate_twice", subject=_t("cl_effect_headache")),
        ),
        ("lasting_tiredness", None, _t("cl_reason_lasting", subject=_t("cl_effect_tiredness"))),
        ("flag_opioids", "opioids", _t("cl_reason_flag", subject=_t("cl_subject_opioids"))),
        ("words_self_harm", "self_harm", _t("cl_reason_words", subject="thoughts of self-harm")),
        ("screening_cancer", "cancer", _t("cl_reason_screening", subject="active cancer")),
        ("flag_new_thing", None, _t("cl_reason_flag", subject="new thing")),
        ("missed_three", None, _t("cl_reason_missed_three")),
        ("blocked_bot", None, _t("cl_reason_blocked_bot")),
        ("thyroid_over_replacement", None, _t("cl_reason_thyroid_over_replacement")),
        ("mood_worse", "mood", _t("cl_reason_mood_worse")),
        ("tolerance_unanswered", None, _t("cl_reason_tolerance_unanswered")),
        ("something_new", None, "something_new"),
    ],
)
def test_reasons_read_as_words_with_the_code_as_fallback(
    code: str, subject: str | None, expected: str
) -> None:
    assert reason_text(code, subject) == expected


@pytest.mark.parametrize(
    ("elapsed", "expected"),
    [
        (timedelta(seconds=30), _t("cl_age_now")),
        (timedelta(minutes=5), _t("cl_age_minutes", n=5)),
        (timedelta(hours=2, minutes=59), _t("cl_age_hours", n=2)),
        (timedelta(days=3, hours=1), _t("cl_age_days", n=3)),
    ],
)
def test_age_is_short(elapsed: timedelta, expected: str) -> None:
    assert age(elapsed) == expected


# Who may see what


@pytest.mark.parametrize("command", ["/patients", "/patient CH-1042", "/escalations", "/stats"])
async def test_a_stranger_is_refused_without_a_word_about_patients_and_it_is_logged(
    harness: Simulation, caplog: pytest.LogCaptureFixture, command: str
) -> None:
    await caseload(harness)
    caplog.set_level(logging.INFO)
    text = await one_reply(harness, harness.telegram.user(STRANGER), command)
    assert text == _t("cl_refused")
    assert not any(label in text for label in ("CH-1042", "ab-7", "Zed-3"))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(str(STRANGER) in w for w in warnings)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "CH-1042" not in logged and command not in logged


async def test_stats_is_refused_to_a_provider_and_shown_to_an_admin(harness: Simulation) -> None:
    refused = await one_reply(harness, harness.telegram.user(PROVIDER), "/stats")
    assert refused == _t("cl_refused_admin")
    shown = await one_reply(harness, harness.telegram.user(ADMIN), "/stats")
    fields = dict.fromkeys(STATS_FIELDS, "") | {"now": f"{messages.day(TODAY)} 17:00"}
    assert shown.split("\n")[0] == _t("cl_stats", **fields).split("\n")[0]


async def test_an_admin_sees_the_caseload_too(harness: Simulation) -> None:
    await caseload(harness)
    text = await one_reply(harness, harness.telegram.user(ADMIN), "/patients")
    assert text.startswith(_t("cl_patients_header", count=4))


async def test_a_provider_is_answered_in_the_care_team_group(harness: Simulation) -> None:
    await caseload(harness)
    group = harness.telegram.group(CARE_GROUP)
    harness.telegram.user(PROVIDER).in_group(group).command("patients")
    await harness.deliver()
    assert group.last().text is not None
    assert group.last().text.startswith(_t("cl_patients_header", count=4))


async def test_a_provider_in_another_group_gets_no_answer_there(
    harness: Simulation, caplog: pytest.LogCaptureFixture
) -> None:
    await caseload(harness)
    caplog.set_level(logging.INFO)
    group = harness.telegram.group(OTHER_GROUP)
    harness.telegram.user(PROVIDER).in_group(group).command("patient", "CH-1042")
    await harness.deliver()
    assert group.messages() == []  # a group the bot does not serve: not even a refusal
    assert any(str(OTHER_GROUP) in r.getMessage() for r in caplog.records)


# /patients


async def test_patients_lists_every_enrolled_patient_by_label_with_adherence(
    harness: Simulation,
) -> None:
    ids = await caseload(harness)
    text = await one_reply(harness, harness.telegram.user(PROVIDER), "/patients")
    step3 = _t("cl_dose_step", mg="1.5", step=3, steps=7)

    def line(label: str, week: str, month: str, open: str = "", markers: str = "") -> str:
        return _t(
            "cl_patient_line",
            label=label,
            dose=step3,
            week=week,
            month=month,
            open=open,
            markers=markers,
        )

    assert text.split("\n") == [
        _t("cl_patients_header", count=4),
        line("ab-7", "14%", "13%", markers=f" · {_t('cl_marker_paused')}"),
        line("CH-1042", "67%", "93%", open=_t("cl_line_open", count=2)),
        line(
            "Zed-3",
            "–",
            "–",
            markers=f" · {_t('cl_marker_blocked')} · {_t('cl_marker_clearance')}",
        ),
        # Held since two nights ago, in step 2: the hold keeps them there.
        _t(
            "cl_patient_line",
            label=f"#{ids['anon']}",
            dose=_t("cl_dose_step", mg="1", step=2, steps=7),
            week="–",
            month="–",
            open="",
            markers=f" · {_t('cl_marker_held')}",
        ),
        # Not in the list of patients: below it, among those not enrolled yet.
        "",
        _t("cl_waiting_header", count=1),
        _t(
            "cl_waiting_enrolling",
            label="NOT-ENROLLED",
            date=messages.day((NOW - CREATED_AGO).date()),
        ),
    ]


async def test_patients_with_none_enrolled_says_so(harness: Simulation) -> None:
    text = await one_reply(harness, harness.telegram.user(PROVIDER), "/patients")
    assert text == _t("cl_patients_none")


def invite(label: str, expires: datetime, used: datetime | None = None) -> Invite:
    return Invite(
        code=label.lower(),
        label=label,
        plan=PLAN.to_dict(),
        created_by=PROVIDER,
        created_at=NOW - timedelta(days=1),
        expires_at=expires,
        used_at=used,
    )


async def test_patients_shows_links_not_used_yet_and_enrollments_not_finished(
    harness: Simulation,
) -> None:
    later, sooner = NOW + timedelta(hours=30), NOW + timedelta(hours=2)
    await add(
        harness,
        invite("LATER-1", later),
        invite("SOONER-2", sooner),
        invite("USED-3", later, used=NOW - timedelta(hours=1)),
        invite("STALE-4", NOW - timedelta(minutes=1)),
    )
    await add_patient(harness, 105, "HALFWAY-5", enrolled=False)
    await add_patient(harness, 106, None, enrolled=False)  # self-enrolling: not the team's yet
    text = await one_reply(harness, harness.telegram.user(PROVIDER), "/patients")
    assert text.split("\n") == [
        _t("cl_patients_none"),
        "",
        _t("cl_waiting_header", count=3),
        _t("cl_waiting_link", label="SOONER-2", expires=f"{sooner:%Y-%m-%d %H:%M}"),
        _t("cl_waiting_link", label="LATER-1", expires=f"{later:%Y-%m-%d %H:%M}"),
        _t(
            "cl_waiting_enrolling", label="HALFWAY-5", date=messages.day((NOW - CREATED_AGO).date())
        ),
        _t("cl_waiting_revoke"),
    ]


async def test_a_patient_before_their_first_night_shows_the_start(harness: Simulation) -> None:
    await add_patient(harness, 101, "LATE-1", start=TODAY + timedelta(days=3))
    text = await one_reply(harness, harness.telegram.user(PROVIDER), "/patients")
    starts = _t("cl_dose_not_started", date=messages.day(TODAY + timedelta(days=3), TODAY))
    assert text.split("\n")[1].startswith(f"LATE-1 · {starts} · ")


async def test_a_patient_a_provider_started_further_on_shows_that_dose_before_the_first_night(
    harness: Simulation,
) -> None:
    first = TODAY + timedelta(days=3)
    await add_patient(harness, 101, "LATE-2", start=first, plan=PLAN.starting_at(4))
    text = await one_reply(harness, harness.telegram.user(PROVIDER), "/patient LATE-2")
    dose = "2 mg (4 × 0.5 mg capsules)"
    starts = _t("cl_patient_before_start", date=messages.day(first, TODAY), dose=dose)
    assert starts in text.split("\n")


async def test_a_long_caseload_is_split_into_messages_under_telegrams_limit(
    harness: Simulation,
) -> None:
    labels = [f"P{i:03d}-" + "x" * 58 for i in range(120)]
    for i, label in enumerate(labels):
        await add_patient(harness, 1000 + i, label)
    sent = await replies(harness, harness.telegram.user(PROVIDER), "/patients")
    assert len(sent) > 1
    assert all(m.text is not None and len(m.text) <= 4096 for m in sent)
    lines = [line for m in sent for line in (m.text or "").split("\n")]
    assert lines[0] == _t("cl_patients_header", count=120)
    assert [line.split(" · ")[0] for line in lines[1:]] == labels


# /patient <label>


async def test_patient_shows_plan_nights_reports_and_actions(harness: Simulation) -> None:
    ids = await caseload(harness)
    ch = ids["CH-1042"]
    await add(
        harness,
        report(ch, 30, words="oldest, not shown"),
        report(
            ch,
            20,
            tier="routine",
            answers={"grades": {"stomach": 2, "sleep": 0}, "flags": []},
            words="My tummy hurts after the dose",
        ),
        report(ch, 10, tier="urgent", answers={"grades": {"sleep": 1}, "flags": ["opioids"]}),
        report(ch, 2, dose_mg=Decimal("1.5")),
        report(ch, 1, status="open", words="not finished, not shown"),
        *(
            AuditEntry(
                patient_id=ch,
                actor_user_id=PROVIDER if i % 2 else NAMELESS,
                at=NOW - timedelta(hours=10 - i),
                action=list(AuditAction)[i],
                detail={},
            )  # fmt: skip
            for i in range(6)
        ),
        CareTeamMember(user_id=PROVIDER, name="Nurse on call", seen_at=NOW),
    )
    sent = await replies(harness, harness.telegram.user(PROVIDER), "/patient ch-1042")
    assert all(len(m.text or "") <= 4096 for m in sent)
    lines = "\n".join(m.text or "" for m in sent).split("\n")
    assert lines[0] == _t("cl_patient_title", label="CH-1042")
    assert _t("cl_patient_plan", plan=messages.plan_name(PLAN)) in lines
    now = messages.step_words(PLAN.steps[2])
    assert _t("cl_patient_now", dose=now, step=3, steps=7) in lines
    assert (
        _t("cl_patient_reminder", time="22:30", city="New York", zone="America/New_York") in lines
    )
    assert _t("cl_patient_no_holds") in lines
    steps = messages.plan_lines(schedule(PLAN, START), 3, TODAY)
    at = lines.index(_t("cl_patient_steps"))
    assert lines[at + 1 : at + 8] == steps
    # 14 nights, oldest first: 7 taken, then the week, tonight not answered yet.
    assert _t("cl_patient_nights", strip="✅" * 7 + "✅✅⏭✅❌✅⏳") in lines
    assert _t("cl_patient_adherence", week="67%", month="93%") in lines
    assert _t("cl_patient_open", count=2) in lines
    reports_at = lines.index(_t("cl_patient_reports"))
    stomach = f"{_t('cl_effect_stomach')} {_t('cl_grade_2')}"
    urgent = "; ".join(
        [
            f"{_t('cl_effect_sleep')} {_t('cl_grade_1')}",
            _t("cl_report_flags", flags=_t("cl_subject_opioids")),
        ]
    )

    def report_line(days: int, mg: str, tier: str, findings: str) -> str:
        day = messages.day(night(days), TODAY)
        return _t("cl_report_line", date=day, mg=mg, tier=_t(tier), findings=findings)

    assert lines[reports_at + 1 : reports_at + 5] == [
        report_line(20, "1", "cl_tier_routine", stomach),
        _t("cl_report_words", words="My tummy hurts after the dose"),
        report_line(10, "1", "cl_tier_urgent", urgent),
        report_line(2, "1.5", "cl_tier_none", _t("cl_report_nothing")),
    ]
    text = "\n".join(lines)
    assert "not shown" not in text
    audit_at = lines.index(_t("cl_patient_audit"))
    audit = lines[audit_at + 1 :]
    shown = [str(action).replace("_", " ") for action in list(AuditAction)[1:6]]
    assert [a.rsplit(" · ", 1)[1] for a in audit] == shown
    # By name where the provider has acted through the bot, else by user id.
    assert [a.split(" · ")[1] for a in audit] == [
        "Nurse on call" if i % 2 else _t("cl_provider_id", id=NAMELESS) for i in range(1, 6)
    ]


async def test_patient_shows_an_open_hold_and_the_markers(harness: Simulation) -> None:
    ids = await caseload(harness)
    text = await one_reply(harness, harness.telegram.user(PROVIDER), f"/patient #{ids['anon']}")
    lines = text.split("\n")
    assert lines[0] == _t("cl_patient_title", label=f"#{ids['anon']}")
    assert lines[1] == _t("cl_patient_status", markers=_t("cl_marker_held"))
    hold = _t("cl_hold_open", start=messages.day(night(2), TODAY))
    assert _t("cl_patient_holds", holds=hold) in lines
    held = schedule(PLAN, START, [Hold(night(2), None)])
    at = lines.index(_t("cl_patient_steps"))
    assert lines[at + 1 : at + 8] == messages.plan_lines(held, 2, TODAY)
    assert _t("cl_patient_no_reports") in lines and _t("cl_patient_no_audit") in lines


async def test_patient_shows_typed_messages_by_what_their_words_said(
    harness: Simulation,
) -> None:
    ch = await add_patient(harness, 101, "CH-1042")
    opioids = "doc put me on oxycodone for my back"
    plain = "had a lovely walk today"
    await add(
        harness,
        report(ch, 3, kind="message", answers={}, tier="urgent", words=opioids),
        report(ch, 2, kind="message", answers={}, tier=None, words=plain),
        report(ch, 1, answers={"grades": {"sleep": 1}, "flags": []}, words="my eyes look yellow"),
    )
    text = await one_reply(harness, harness.telegram.user(PROVIDER), "/patient CH-1042")
    lines = text.split("\n")
    at = lines.index(_t("cl_patient_reports"))

    def line(days: int, tier: str, findings: str) -> str:
        day = messages.day(night(days), TODAY)
        return _t("cl_report_line", date=day, mg="1", tier=_t(tier), findings=findings)

    said = _t("cl_report_said", subjects=_t("cl_subject_liver"))
    assert lines[at + 1 : at + 7] == [
        line(3, "cl_tier_urgent", _t("cl_report_said", subjects=_t("cl_subject_opioids"))),
        _t("cl_report_words", words=opioids),
        line(2, "cl_none", _t("cl_report_message")),
        _t("cl_report_words", words=plain),
        line(1, "cl_tier_none", f"{_t('cl_effect_sleep')} {_t('cl_grade_1')}; {said}"),
        _t("cl_report_words", words="my eyes look yellow"),
    ]
    assert _t("cl_report_nothing") not in text


async def test_a_withheld_patient_is_marked_and_nights_off_are_not_a_hold(
    harness: Simulation,
) -> None:
    ch = await add_patient(harness, 101, "CH-1042", withheld_at=NOW)
    await add(
        harness, PlanHold(patient_id=ch, start=night(1), end=None, created_at=NOW, kind="off")
    )
    provider = harness.telegram.user(PROVIDER)
    lines = (await one_reply(harness, provider, "/patient CH-1042")).split("\n")
    assert lines[1] == _t("cl_patient_status", markers=_t("cl_marker_withheld"))
    assert _t("cl_patient_no_holds") in lines
    [listed] = [
        x for x in (await one_reply(harness, provider, "/patients")).split("\n") if "CH-" in x
    ]
    assert listed.endswith(f" · {_t('cl_marker_withheld')}")


async def test_patient_with_an_unknown_label_points_to_the_list(harness: Simulation) -> None:
    await caseload(harness)
    provider = harness.telegram.user(PROVIDER)
    assert await one_reply(harness, provider, "/patient XX-9") == _t(
        "cl_patient_unknown", label="XX-9"
    )
    # Not enrolled is not known either.
    assert await one_reply(harness, provider, "/patient NOT-ENROLLED") == _t(
        "cl_patient_unknown", label="NOT-ENROLLED"
    )


async def test_patient_without_a_label_gives_the_usage(harness: Simulation) -> None:
    assert await one_reply(harness, harness.telegram.user(PROVIDER), "/patient") == _t(
        "cl_patient_usage"
    )


# /escalations


async def test_escalations_lists_open_ones_oldest_first_with_readable_reasons(
    harness: Simulation,
) -> None:
    ids = await caseload(harness)
    await add(
        harness,
        escalation(
            ids["Zed-3"],
            "emergency",
            "open",
            timedelta(days=3),
            reasons=[["words_self_harm", "self_harm"], ["severe_stomach", "stomach"]],
        ),
        escalation(ids["ab-7"], "routine", "open", timedelta(minutes=20), reasons=[["odd", None]]),
    )
    text = await one_reply(harness, harness.telegram.user(PROVIDER), "/escalations")
    lines = text.split("\n")
    assert lines[0] == _t("cl_escalations_header", count=4)
    heads = lines[1::2]
    assert [h.split(" · ")[1] for h in heads] == ["Zed-3", "CH-1042", "CH-1042", "ab-7"]
    assert heads[0].startswith("#5 " + _t("cl_tier_emergency"))
    assert heads[0].endswith(f"{_t('cl_age_days', n=3)} · {_t('cl_status_open')}")
    assert heads[1].endswith(f"{_t('cl_age_hours', n=5)} · {_t('cl_status_acknowledged')}")
    assert heads[3].endswith(f"{_t('cl_age_minutes', n=20)} · {_t('cl_status_open')}")
    assert lines[2] == _t(
        "cl_escalation_reasons",
        reasons="; ".join(
            [reason_text("words_self_harm", "self_harm"), reason_text("severe_stomach", "stomach")]
        ),
    )
    assert _t("cl_subject_self_harm") in lines[2] and _t("cl_effect_stomach") in lines[2]
    assert lines[8] == _t("cl_escalation_reasons", reasons="odd")


async def test_escalations_with_none_open_says_so(harness: Simulation) -> None:
    ids = await caseload(harness)
    async with harness.services.db.session() as session:
        await session.execute(update(Escalation).values(status="decided"))
        await session.commit()
    assert ids
    text = await one_reply(harness, harness.telegram.user(PROVIDER), "/escalations")
    assert text == _t("cl_escalations_none")


# /stats

STATS_FIELDS = (
    "now enrolled receiving paused blocked clearance taken skipped missed adherence escalations "
    "tiers decided median undelivered invites"
).split()


async def test_stats_counts_patients_nights_escalations_alerts_and_invites(
    harness: Simulation,
) -> None:
    ids = await caseload(harness)
    ch, zed = ids["CH-1042"], ids["Zed-3"]
    first = escalation(ch, "urgent", "acknowledged", timedelta(hours=3))
    first.acknowledged_at = first.created_at + timedelta(minutes=10)
    second = escalation(zed, "routine", "decided", timedelta(days=1))
    second.decided_at = second.created_at + timedelta(minutes=40)
    second.acknowledged_at = second.created_at + timedelta(minutes=30)
    old = escalation(zed, "urgent", "decided", timedelta(days=40))
    old.decided_at = old.created_at + timedelta(minutes=500)
    waiting = escalation(ch, "routine", "open", timedelta(minutes=30))
    await add(harness, first, second, old, waiting)
    await add(
        harness,
        AlertMessage(escalation_id=first.id, round=1, chat_id=PROVIDER, sent_at=NOW),
        # Not sent, but no longer tried: the alert was acknowledged, or decided.
        AlertMessage(escalation_id=first.id, round=1, chat_id=CARE_GROUP, sent_at=None),
        AlertMessage(escalation_id=second.id, round=1, chat_id=PROVIDER, sent_at=None),
        # Still being tried: the open alert's copy for the group.
        AlertMessage(escalation_id=waiting.id, round=1, chat_id=PROVIDER, sent_at=NOW),
        AlertMessage(escalation_id=waiting.id, round=1, chat_id=CARE_GROUP, sent_at=None),
        invite("fresh", NOW + timedelta(days=1)),
        invite("used", NOW + timedelta(days=1), used=NOW),
        invite("stale", NOW - timedelta(hours=1)),
    )
    text = await one_reply(harness, harness.telegram.user(ADMIN), "/stats")
    tiers = " · ".join(
        _t("cl_stats_tier", tier=_t(f"cl_tier_{k}"), count=n)
        for k, n in (("emergency", 0), ("urgent", 2), ("routine", 5))
    )
    assert text == _t(
        "cl_stats",
        now=f"{messages.day(TODAY)} 17:00",
        enrolled=4,
        receiving=2,  # CH-1042 and the held patient; not the paused, blocked or waiting ones
        paused=1,
        blocked=1,
        clearance=1,
        taken=26,  # CH-1042's 25 and ab-7's one
        skipped=1,
        missed=8,
        adherence="74%",  # 26 of 35
        escalations=7,
        tiers=tiers,
        decided=3,
        median=_t("cl_stats_minutes", n=20),  # 10 and 30 minutes: the first response counts
        undelivered=1,
        invites=1,
    )
