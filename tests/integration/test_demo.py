"""The offline demo and simulator: the real bot against the fake Telegram, printed as a chat."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from bot.app.settings import Settings
from bot.rules.checkin_schedule import checkin_due
from bot.rules.plans import BUILTIN_PLANS, Hold
from bot.ui import callbacks, messages
from bot.ui.presenters import reason_text
from bot.ui.texts import t
from devtools import chat_view, demo
from devtools import simulate as simulate_module
from devtools.__main__ import main
from devtools.demo import DemoResult, demo_settings, pattern, play
from devtools.simulate import simulate
from fake_telegram.core import FakeMessage

# The demo is played once, by one worker, for every test here (`played`, scope module).
pytestmark = pytest.mark.xdist_group("demo")

STEPS = 7
FIRST_NIGHT = date(2026, 3, 2)
PLAN = BUILTIN_PLANS["builtin-0.5"]
DOSE_BUTTONS = f"[{t('button_taken')}] [{t('button_snooze')}] [{t('button_skip')}]"
PROVIDER = f"{demo.DOCTOR} {chat_view.GUTTER} "  # how a line of the provider's chat begins


def words(mg: str, count: int, capsule: str) -> str:
    return messages.dose_words(Decimal(mg), count, Decimal(capsule))


def provider_said(lines: list[str], text: str) -> int:
    """The index of the printed line where the provider's chat shows `text` (its first line)."""
    first = text.splitlines()[0]
    return next(i for i, line in enumerate(lines) if line.endswith(PROVIDER + first))


def patient_said(lines: list[str], text: str) -> int:
    """The index of the printed line where the patient's chat shows `text` (its first line)."""
    first = text.splitlines()[0]
    return next(
        i
        for i, line in enumerate(lines)
        if chat_view.GUTTER not in line and re.fullmatch(rf"\d\d:\d\d  {re.escape(first)}", line)
    )


def first_text(message: FakeMessage) -> str:
    """What a message said when it was sent, before any edit."""
    return (message.history[0] if message.history else message.text) or ""


def urgent_alerts(result: DemoResult, chat_id: int, words: str) -> list[FakeMessage]:
    """The urgent alerts in a chat that quote the patient's `words`."""
    return [
        m
        for m in result.telegram.messages(chat_id)
        if first_text(m).startswith(t("tier_urgent")) and words in first_text(m)
    ]


def nausea_alerts(result: DemoResult, chat_id: int) -> list[FakeMessage]:
    words = demo.CHECKIN_ANSWERS[demo.ALERTING].words
    assert words is not None
    return urgent_alerts(result, chat_id, words)


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoResult, list[str]]:
    """The brief demo, run once for the module (it takes a few seconds of rate-limited sends)."""
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('demo') / 'demo.sqlite3'}"
    lines: list[str] = []
    result = asyncio.run(play(demo.DEFAULT_SEED, False, lines.append, url))
    return result, lines


# The demo


def test_demo_summary_counts_what_the_script_did(
    played: tuple[DemoResult, list[str]],
) -> None:
    result, lines = played
    kinds = result.kinds
    assert kinds == pattern(demo.DEFAULT_SEED)
    answered_taken = sum(kinds.count(k) for k in (demo.TAKEN, demo.SNOOZED, demo.LATE))
    assert result.counts == {
        "taken": answered_taken,
        "skipped": kinds.count(demo.SKIPPED),
        "missed": kinds.count(demo.MISSED_NIGHT),
        "withheld": kinds.count(demo.WITHHELD),
    }
    assert result.counts["missed"] == 3 and result.counts["skipped"] == 4
    assert result.counts["withheld"] == 1
    # The withheld night was never reminded: it is not among the nights reminded.
    summary = demo.SUMMARY_NIGHTS.format(total=len(kinds) - 1, **result.counts)
    assert summary in lines


def test_demo_reaches_every_step_on_the_plans_dates(
    played: tuple[DemoResult, list[str]],
) -> None:
    result, lines = played
    # The provider let the plan go on the evening the alert came: no night was held.
    # A step counts the nights taken: each skipped, missed or withheld night puts the next step
    # a night on.
    starts = [FIRST_NIGHT] + [FIRST_NIGHT + timedelta(days=n) for n in demo.step_ups(result.kinds)]
    assert result.steps == list(enumerate(starts[:STEPS], start=1))
    assert demo.step_ups(result.kinds)[5] > 84  # later than the calendar alone would say
    # Had the withheld night counted, every step after it would have come a night sooner.
    counted = [demo.TAKEN if k == demo.WITHHELD else k for k in result.kinds]
    after = [n for n in demo.step_ups(result.kinds) if n > demo.WITHHELD_NIGHT]
    assert after and [n - 1 for n in after] == [
        n for n in demo.step_ups(counted) if n > demo.WITHHELD_NIGHT
    ]
    assert result.current_mg == "4.5"
    assert demo.SUMMARY_CURRENT.format(dose=words("4.5", 3, "1.5")) in lines
    assert not any(t("reminder_held") in line for line in lines)


def test_demo_shows_every_step_up_and_the_capsule_change(
    played: tuple[DemoResult, list[str]],
) -> None:
    _, lines = played
    for step in range(2, STEPS + 1):
        assert any(t("reminder_step_up", step=step, steps=STEPS) in line for line in lines), step
    notice = t("reminder_capsule_change", when=messages.nights_ahead(7), capsule="1.5")
    assert any(notice in line for line in lines)


def test_demo_shows_a_follow_up_a_missed_night_and_the_never_double_line(
    played: tuple[DemoResult, list[str]],
) -> None:
    _, lines = played
    text = "\n".join(lines)
    assert t("followup", dose=words("0.5", 1, "0.5")) in text
    assert demo.MISSED.format(time="02:30") in text
    assert t("reminder_missed_before") in text
    # The night after the first missed one opens with the reminder and that warning.
    missed = next(i for i, line in enumerate(lines) if demo.MISSED.format(time="02:30") in line)
    after = lines[missed + 1 : missed + 5]
    assert any(t("reminder", dose=words("0.5", 1, "0.5")) in line for line in after)
    assert any(t("reminder_missed_before") in line for line in after)


def test_demo_prints_buttons_presses_and_edits(played: tuple[DemoResult, list[str]]) -> None:
    _, lines = played
    assert any(line.strip() == DOSE_BUTTONS for line in lines)
    assert any(line.endswith(chat_view.TAPPED.format(label=t("button_snooze"))) for line in lines)
    assert any(line.endswith(chat_view.TYPED.format(text=demo.BEDTIME)) for line in lines)
    edit = chat_view.EDITED.format(sent="22:30", tail=t("recorded_taken"))
    assert any(line.endswith(edit) for line in lines)


def test_brief_demo_still_shows_every_night(played: tuple[DemoResult, list[str]]) -> None:
    result, lines = played
    for offset in range(len(result.kinds)):
        night = FIRST_NIGHT + timedelta(days=offset)
        compact = f"{night:%a} {night.day:>2} {night:%b}  "
        header = chat_view.DAY.format(day=f"{night:%A} {night.day} {night:%B %Y}")
        assert any(line.startswith(compact) or line == header for line in lines), night
    # Ordinary nights take one line each: the reminder's first paragraph and the patient's presses;
    # a check-in with nothing to report takes one more, its taps joined.
    one_line = re.compile(r"(\w{3} [ \d]\d \w{3}| {10})  \d\d:\d\d ")
    compact = [line for line in lines if one_line.match(line)]
    reminder = t("reminder", dose="").split(":")[0]
    taps = chat_view.TAPPED.format(
        label=chat_view.THEN.join(
            t(key)
            for key in (
                "button_checkin_start",
                "button_flags_none",
                "button_effects_none",
                "button_nothing_else",
            )
        )
    )
    nights = [line for line in compact if reminder in line]
    checkins = [line for line in compact if taps in line]
    assert len(nights) > 40 and len(checkins) > 10
    assert all("> " in line for line in nights)
    assert all(t("checkin_none").split(". ")[0] in line for line in checkins)
    assert len(nights) + len(checkins) + sum(t("checkin_later") in line for line in compact) == len(
        compact
    )
    assert len(lines) < 680  # the two alerts and the withheld day, in full, are most of it


def test_demo_made_no_request_telegram_would_refuse(played: tuple[DemoResult, list[str]]) -> None:
    result, _ = played
    assert result.telegram.client_errors() == []
    assert len(result.telegram.calls("sendMessage")) > len(result.kinds)


def test_demo_pattern_is_fixed_by_the_seed() -> None:
    assert pattern(1) == pattern(1)
    assert pattern(1) != pattern(2)
    assert pattern(1)[: demo.FIRST_WEEK] == pattern(2)[: demo.FIRST_WEEK]
    assert pattern(1)[-1] == demo.TAKEN  # a missed night always has a next night to warn


def test_demo_settings_ignore_the_environment_and_dot_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("CLINIC_NAME=Elsewhere\nBOT_TOKEN=changeme\n")
    monkeypatch.setenv("REMINDER_CUTOFF_HOURS", "9")
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@nowhere/db")
    for care_team in (True, False):
        settings = demo_settings("sqlite+aiosqlite:///demo.sqlite3", care_team=care_team)
        assert settings.clinic_name == "Demo Clinic"
        assert settings.reminder_cutoff_hours == 4
        assert settings.database_url == "sqlite+aiosqlite:///demo.sqlite3"


def test_the_demos_clinic_has_a_care_team_and_enrolls_by_invitation_only() -> None:
    settings = demo_settings("sqlite+aiosqlite:///demo.sqlite3", care_team=True)
    assert settings.provider_chat_ids == settings.provider_user_ids == (demo.DOCTOR_ID,)
    assert settings.admin_user_ids == (demo.ADMIN_ID,)
    assert settings.allow_self_enrollment is False
    # Check-ins on their defaults, so that the patient gets them and the tolerance checks.
    for name in ("checkin_after_step_up_days", "checkin_every_days", "tolerance_check_days"):
        assert getattr(settings, name) == Settings.model_fields[name].default > 0, name
    # The simulator's patient enrolls alone, with no care team to write to.
    lone = demo_settings("sqlite+aiosqlite:///demo.sqlite3")
    assert lone.allow_self_enrollment is True
    assert lone.provider_chat_ids == lone.provider_user_ids == lone.admin_user_ids == ()
    # ... which it says, so that it starts and never tells the patient anyone was alerted.
    assert lone.allow_no_care_team is True and not lone.has_care_team
    assert settings.allow_no_care_team is False and settings.has_care_team


def test_demo_stops_quietly_when_its_reader_does(tmp_path: Path) -> None:
    """`python -m devtools demo | head`: no traceback when head has read enough."""
    checkout = Path(__file__).resolve().parents[2]  # the dev tools live in a checkout, not a wheel
    demo_process = subprocess.Popen(
        [sys.executable, "-m", "devtools", "demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(checkout)},
    )
    assert demo_process.stdout is not None and demo_process.stderr is not None
    first = demo_process.stdout.readline().decode()
    demo_process.stdout.close()
    errors = demo_process.stderr.read().decode()
    assert demo_process.wait(timeout=60) == 0, errors
    assert first.startswith(demo.TITLE.split(":")[0]) and "Traceback" not in errors


def test_demo_command_passes_seed_and_detail(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict] = []
    monkeypatch.setattr(demo, "run", lambda **kwargs: calls.append(kwargs) or 0)
    assert main(["demo"]) == 0
    assert main(["demo", "--seed", "3", "--full"]) == 0
    assert calls == [{"seed": demo.DEFAULT_SEED, "full": False}, {"seed": 3, "full": True}]


# The care team in the demo


def test_demo_provider_opens_the_bot_and_sends_the_invitation(
    played: tuple[DemoResult, list[str]],
) -> None:
    result, lines = played
    assert lines[3] == "16:00  " + PROVIDER + chat_view.TYPED.format(text="/start")
    opened = provider_said(lines, t("provider_help"))
    invited = next(
        i
        for i, line in enumerate(lines)
        if line.endswith(PROVIDER + chat_view.TYPED.format(text=f"/invite {demo.LABEL} 0.5"))
    )
    link = f"https://t.me/{result.telegram.bot_username}?start={result.invite_code}"
    created = t(
        "invite_created", label=demo.LABEL, plan=messages.plan_name(PLAN), expires="", link=link
    )
    answered = provider_said(lines, created)
    assert opened < invited < answered
    assert lines[answered + 2].endswith(f"{chat_view.GUTTER} {link}")
    # The patient follows that very link, and the plan comes with it: no plan question.
    started = next(
        i
        for i, line in enumerate(lines)
        if line.endswith("  " + chat_view.TYPED.format(text=f"/start {result.invite_code}"))
    )
    assert chat_view.GUTTER not in lines[started] and started > answered
    prescribed = patient_said(lines, t("invite_plan", plan=messages.plan_name(PLAN)))
    screened = next(
        i
        for i, line in enumerate(lines)
        if line.endswith("  " + chat_view.TAPPED.format(label=t("button_screen_none")))
    )
    assert started < prescribed < screened < patient_said(lines, t("enrolled", bedtime="22:30"))
    assert not any(t("ask_plan") in line for line in lines)


def test_demo_patient_answers_the_check_ins_as_they_come(
    played: tuple[DemoResult, list[str]],
) -> None:
    result, lines = played
    text = "\n".join(lines)
    off = [
        Hold(FIRST_NIGHT + timedelta(days=n), FIRST_NIGHT + timedelta(days=n + 1), "off")
        for n, kind in enumerate(result.kinds)
        if kind in (demo.SKIPPED, demo.MISSED_NIGHT, demo.WITHHELD)
    ]
    due = [
        night
        for night in range(len(result.kinds))
        if checkin_due(
            PLAN,
            FIRST_NIGHT,
            # A check-in is planned with the nights off known by then: those before it.
            [h for h in off if h.start < FIRST_NIGHT + timedelta(days=night)],
            FIRST_NIGHT + timedelta(days=night),
            after_step_up=3,
            every=7,
            tolerance=2,
        )
    ]
    later = sum(a.later for a in demo.CHECKIN_ANSWERS.values())
    mild = sum(
        bool(a.grades) and max(a.grades.values()) == 1 for a in demo.CHECKIN_ANSWERS.values()
    )
    # Words alone, which the bot cannot judge, go to a person: they alert too.
    typed = sum(bool(a.words) and not a.grades for a in demo.CHECKIN_ANSWERS.values())
    assert result.checkins == {
        "sent": len(due),
        "answered": len(due) - later,
        "tolerance": STEPS - 1,
        "none": len(due) - later - mild - 1 - typed,
        "info": mild,
        "alerting": 1 + typed,
    }
    assert demo.SUMMARY_CHECKINS.format(**result.checkins) in lines
    # The first check-in in full: its questions rewritten in place, its buttons row by row.
    intro = t("checkin_intro_step_up", dose=words("0.5", 1, "0.5"))
    assert lines[patient_said(lines, intro) + 1].strip() == (
        f"[{t('button_checkin_start')}] [{t('button_checkin_later')}]"
    )
    flags = chat_view.REWRITTEN.format(sent="21:30", text=t("checkin_flags"))
    assert any(line.endswith(flags) for line in lines)
    assert sum(line.strip() == f"[▫️ {t('flag_breathing')}]" for line in lines) == 1
    assert any(
        line.strip()
        == chat_view.ELIDED.format(
            first=f"[▫️ {t('flag_breathing')}]",
            last=f"[{t('button_flags_none')}] [{t('button_flags_done')}]",
        )
        for line in lines
    )
    question = t("checkin_effect", effect=t("effect_sleep"))
    assert any(
        line.endswith(chat_view.REWRITTEN.format(sent="21:30", text=question)) for line in lines
    )
    # Mild effects are reassured, with a tip; nothing to report is thanked; not now is fine too.
    for tip in ("tip_sleep", "tip_stomach"):
        assert "\n".join((t("checkin_info"), "", "       " + t(tip))) in text
    assert t("checkin_none").split(". ")[0] in text
    assert t("checkin_later") in text
    increase = messages.day(FIRST_NIGHT + timedelta(days=demo.step_ups(result.kinds)[0]))
    tolerance = t("checkin_intro_tolerance", date=increase, dose=words("0.5", 1, "0.5"))
    assert tolerance.split(". ")[0] + "." in text
    typed = next(a.words for a in demo.CHECKIN_ANSWERS.values() if a.words and not a.grades)
    assert chat_view.TYPED.format(text=typed) in text
    # Words alone, which the bot cannot judge, are passed on to a person: never an all-clear.
    assert t("checkin_words_unread") in text


def test_demo_concerning_answer_alerts_the_providers_chat_with_decision_buttons(
    played: tuple[DemoResult, list[str]],
) -> None:
    result, lines = played
    text = "\n".join(lines)
    dose = words("1", 2, "0.5")
    held = "\n\n".join(
        (t("concern_hold", dose=dose), t("concern_sent"), t("concern_unwell", emergency="911"))
    )
    told = patient_said(lines, held)
    alert = next(i for i, line in enumerate(lines) if PROVIDER + t("tier_urgent") + " · " in line)
    assert lines[alert].startswith(lines[told][:5])  # the same minute: the alert goes at once
    block = lines[alert : alert + 25]
    assert any(line.endswith(f"• {reason_text('severe_stomach', 'stomach')}") for line in block)
    words_line = t("alert_words", words=demo.CHECKIN_ANSWERS[demo.ALERTING].words)
    assert any(line.endswith(f"{chat_view.GUTTER} {words_line}") for line in block)
    rows = [
        " ".join(f"[{t(f'button_decide_{a}')}]" for a in callbacks.DECISIONS[i : i + 2])
        for i in range(0, len(callbacks.DECISIONS), 2)
    ]
    for row in rows:
        assert any(line.endswith(f"{chat_view.GUTTER} {row}") for line in block), row
    # In the fake Telegram: the alert went to the provider's chat alone, with every decision.
    [sent] = nausea_alerts(result, demo.DOCTOR_ID)
    markup = sent.params["reply_markup"]["inline_keyboard"]
    assert [b["text"] for row in markup for b in row] == [
        t(f"button_decide_{a}") for a in callbacks.DECISIONS
    ]
    assert not any(
        first_text(m).startswith(t("tier_urgent")) for m in result.telegram.messages(demo.ADMIN_ID)
    )
    assert t("alert_words", words=demo.CHECKIN_ANSWERS[demo.ALERTING].words) in text


def test_demo_provider_writes_back_decides_and_the_patient_is_told(
    played: tuple[DemoResult, list[str]],
) -> None:
    result, lines = played
    alert = next(i for i, line in enumerate(lines) if PROVIDER + t("tier_urgent") + " · " in line)
    sent = lines[alert][:5]
    reply = next(
        i
        for i, line in enumerate(lines)
        if line.endswith(PROVIDER + chat_view.REPLIED.format(sent=sent, text=demo.DOCTOR_REPLY))
    )
    relayed = patient_said(lines, t("care_team_message", text=demo.DOCTOR_REPLY))
    confirmed = provider_said(lines, t("relayed", label=demo.LABEL))
    tap = next(
        i
        for i, line in enumerate(lines)
        if line.endswith(PROVIDER + chat_view.TAPPED.format(label=t("button_decide_continue")))
    )
    decided = patient_said(lines, t("decided_continue"))
    assert alert < reply < relayed < confirmed < tap < decided
    # The alert is rewritten for everyone: decided, its buttons gone.
    edit = next(i for i, line in enumerate(lines) if i > tap and PROVIDER + "✎" in line)
    assert lines[edit].endswith(chat_view.CHANGED.format(sent=sent, diff="").rstrip())
    decided_line = t("alert_decided", decision=t("decision_continue"), who=demo.DOCTOR, at="@")
    # The decision takes the place of the wait, at the head of the alert.
    assert lines[edit + 1].endswith(chat_view.REMOVED.format(line=t("alert_held").strip()))
    assert chat_view.ADDED.format(line=decided_line.split("@")[0]) in lines[edit + 2]
    assert lines[edit + 3].endswith(chat_view.REMOVED.format(line=t("alert_reply_hint")))
    [alert_now] = nausea_alerts(result, demo.DOCTOR_ID)
    assert alert_now.buttons() == [] and t("decision_continue") in (alert_now.text or "")
    # The patient's chat has both, word for word.
    said = [m.text for m in result.telegram.messages(demo.PATIENT_ID)]
    assert t("care_team_message", text=demo.DOCTOR_REPLY) in said
    assert t("decided_continue") in said


def test_demo_summary_reads_the_care_loop_from_the_database(
    played: tuple[DemoResult, list[str]],
) -> None:
    result, lines = played
    # The nausea held the increase; the opioid withheld LDN; the patient's words alone, later
    # on, reach the provider too and stop nothing: the provider acknowledges them.
    assert result.escalations == [
        ("urgent", "decided", "continue", demo.DOCTOR_ID, "hold"),
        ("urgent", "decided", "continue", demo.DOCTOR_ID, "withhold"),
        ("routine", "acknowledged", None, None, None),
    ]
    assert result.audit == [
        (demo.DOCTOR_ID, "message"),
        (demo.DOCTOR_ID, "continue"),
        (demo.DOCTOR_ID, "ack"),
        (demo.DOCTOR_ID, "message"),
        (demo.DOCTOR_ID, "continue"),
        (demo.DOCTOR_ID, "ack"),
    ]
    assert demo.SUMMARY_ESCALATIONS.format(count=3) in lines
    [escalation] = [line for line in lines if line.startswith("  #1 ")]
    assert t("cl_tier_urgent") in escalation
    assert reason_text("severe_stomach", "stomach") in escalation
    who = demo.WHO.format(name=demo.DOCTOR, id=demo.DOCTOR_ID)
    assert escalation.endswith(
        demo.SUMMARY_STOP["hold"]
        + demo.SUMMARY_DECIDED.format(
            decision=t("decision_continue"),
            who=who,
            after=demo.SUMMARY_MINUTES.format(minutes=demo.DOCTOR_READS_AFTER + 2),
        )
    )
    # The words alone are named as such, not as a red flag about "unread".
    [passed_on] = [line for line in lines if line.startswith("  #3 ")]
    assert f": {t('cl_reason_words_unread')}. " in passed_on
    assert demo.SUMMARY_AUDIT.format(count=6) in lines
    audit = [line for line in lines if line.startswith("  ") and " UTC · " in line]
    continued = t("decision_continue")
    assert [line.split(" · ", 1)[1] for line in audit] == [
        f"{who} · {demo.AUDIT_MESSAGE.format(id=1)}",
        f"{who} · {demo.AUDIT_DECISION.format(decision=continued, id=1)}",
        f"{who} · {demo.AUDIT_DECISION.format(decision=t('decision_ack'), id=2)}",
        f"{who} · {demo.AUDIT_MESSAGE.format(id=2)}",
        f"{who} · {demo.AUDIT_DECISION.format(decision=continued, id=2)}",
        f"{who} · {demo.AUDIT_DECISION.format(decision=t('decision_ack'), id=3)}",
    ]


# The withhold in the demo: an opioid reported out of the blue, and the provider lifting it

REPORTED = FIRST_NIGHT + timedelta(days=demo.WITHHELD_NIGHT)  # the day the patient tells
LIFTED = REPORTED + timedelta(days=1)  # the provider's decision, the next morning


def at_local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), demo.ZONE)


def patient_messages(result: DemoResult, since: datetime, until: datetime) -> list[FakeMessage]:
    """The bot's messages to the patient sent in [since, until)."""
    return [
        m
        for m in result.telegram.messages(demo.PATIENT_ID)
        if since.timestamp() <= m.date < until.timestamp()
    ]


def reminders(messages: list[FakeMessage]) -> list[FakeMessage]:
    """The nightly reminders among the bot's messages (a capsule switch's opens with its news)."""
    return [m for m in messages if t("reminder", dose="").split(":")[0] in first_text(m)]


def test_demo_patient_who_reports_an_opioid_is_told_at_once_not_to_take_ldn(
    played: tuple[DemoResult, list[str]],
) -> None:
    result, lines = played
    assert result.kinds[demo.WITHHELD_NIGHT] == demo.WITHHELD
    typed = lines.index(
        f"{demo.REPORT_AT:%H:%M}  " + chat_view.TYPED.format(text=demo.OPIOID_REPORT)
    )
    withhold = "\n\n".join(
        (t("concern_withhold"), t("concern_sent"), t("concern_unwell", emergency="911"))
    )
    told = patient_said(lines, withhold)
    assert told == typed + 1 and lines[told].startswith(f"{demo.REPORT_AT:%H:%M}  ")
    # In the patient's chat, word for word, the moment they wrote.
    [answer] = [
        m
        for m in patient_messages(result, at_local(REPORTED, 13), at_local(REPORTED, 14))
        if m.text == withhold
    ]
    assert answer.date == int(at_local(REPORTED, 13, 5).timestamp())
    # That evening, /today says the same: no dose tonight.
    today = lines.index("19:00  " + chat_view.TYPED.format(text="/today"), typed)
    assert lines[today + 1] == "19:00  " + t("stop_withheld").splitlines()[0]
    assert not any(t("reminder", dose="").split(":")[0] in line for line in lines[typed:today])


def test_demo_opioid_alert_reaches_the_provider_at_once_with_what_the_patient_was_told(
    played: tuple[DemoResult, list[str]],
) -> None:
    result, lines = played
    # Delivered while the patient's message was handled: no dispatcher round was needed.
    assert result.alert_at_once
    [alert] = urgent_alerts(result, demo.DOCTOR_ID, demo.OPIOID_REPORT)
    assert alert.date == int(at_local(REPORTED, 13, 5).timestamp())
    text = first_text(alert)
    assert t("cl_alert_withheld").strip() in text
    told = t("cl_alert_told", what=t("cl_alert_told_withhold"))
    assert told in text
    assert t("alert_words", words=demo.OPIOID_REPORT) in text
    markup = alert.params["reply_markup"]["inline_keyboard"]
    assert [b["text"] for row in markup for b in row] == [
        t(f"button_decide_{a}") for a in callbacks.DECISIONS
    ]
    # The printed provider's chat shows it in the same minute as the patient's words.
    _, start = [i for i, line in enumerate(lines) if PROVIDER + t("tier_urgent") + " · " in line]
    assert lines[start].startswith(f"{demo.REPORT_AT:%H:%M}  ")
    assert any(line.endswith(f"{chat_view.GUTTER} {told}") for line in lines[start : start + 25])


def test_demo_sends_no_reminder_while_ldn_is_withheld(
    played: tuple[DemoResult, list[str]],
) -> None:
    result, lines = played
    assert result.withheld == [REPORTED]
    # The night before had its reminder; the withheld night none, at bedtime or after.
    assert reminders(
        patient_messages(result, at_local(REPORTED - timedelta(days=1), 22), at_local(REPORTED, 6))
    )
    assert reminders(patient_messages(result, at_local(REPORTED, 6), at_local(LIFTED, 6))) == []
    assert any(line == "22:30  · " + demo.NOT_REMINDED.format(time=demo.BEDTIME) for line in lines)


def test_demo_provider_lifts_the_withhold_next_day_and_the_patient_may_take_ldn_again(
    played: tuple[DemoResult, list[str]],
) -> None:
    result, lines = played
    reported = lines.index(
        f"{demo.REPORT_AT:%H:%M}  " + chat_view.TYPED.format(text=demo.OPIOID_REPORT)
    )
    ack = lines.index(
        f"13:{5 + demo.DOCTOR_SEES_AFTER:02}  "
        + PROVIDER
        + chat_view.TAPPED.format(label=t("button_decide_ack")),
        reported,
    )
    decides = f"{demo.DOCTOR_DECIDES_AT:%H:%M}  "
    reply = lines.index(
        decides
        + PROVIDER
        + chat_view.REPLIED.format(sent=f"{demo.REPORT_AT:%H:%M}", text=demo.DOCTOR_WITHHOLD_REPLY),
        ack,
    )
    relayed = lines.index(
        decides + t("care_team_message", text=demo.DOCTOR_WITHHOLD_REPLY).splitlines()[0], reply
    )
    tap = next(
        i
        for i, line in enumerate(lines)
        if i > relayed
        and line.endswith(PROVIDER + chat_view.TAPPED.format(label=t("button_decide_continue")))
    )
    lifted = lines.index(lines[tap][:5] + "  " + t("decided_lifted"), tap)
    assert lines[lifted + 2].strip() == t("decided_continue")
    assert reported < ack < reply < relayed < tap < lifted
    # In the patient's chat, the next morning: the care team's words, then the decision.
    said = [m.text for m in patient_messages(result, at_local(LIFTED, 9), at_local(LIFTED, 10))]
    assert said == [
        t("care_team_message", text=demo.DOCTOR_WITHHOLD_REPLY),
        "\n\n".join((t("decided_lifted"), t("decided_continue"))),
    ]
    # The alert itself says it was decided, and by whom.
    [alert] = urgent_alerts(result, demo.DOCTOR_ID, demo.OPIOID_REPORT)
    assert alert.buttons() == [] and t("decision_continue") in (alert.text or "")
    assert t("cl_alert_withheld").strip() not in (alert.text or "")


def test_demo_reminders_resume_after_the_withhold_is_lifted(
    played: tuple[DemoResult, list[str]],
) -> None:
    result, _ = played
    # The dose the patient was on before: the withheld night moved no step.
    before = reminders(
        patient_messages(result, at_local(REPORTED - timedelta(days=1), 22), at_local(REPORTED, 6))
    )
    [tonight] = reminders(
        patient_messages(result, at_local(LIFTED, 6), at_local(LIFTED + timedelta(days=1), 6))
    )
    assert first_text(tonight) == first_text(before[0])
    assert tonight.date == int(at_local(LIFTED, 22, 30).timestamp())
    # And every night after it, to the end.
    for offset in range(demo.WITHHELD_NIGHT + 1, len(result.kinds)):
        night = FIRST_NIGHT + timedelta(days=offset)
        sent = patient_messages(result, at_local(night, 6), at_local(night + timedelta(days=1), 6))
        assert reminders(sent), night


def test_demo_summary_lists_the_withhold_who_lifted_it_and_when(
    played: tuple[DemoResult, list[str]],
) -> None:
    _, lines = played
    [escalation] = [line for line in lines if line.startswith("  #2 ")]
    assert f"{messages.day(REPORTED)} {demo.REPORT_AT:%H:%M}: " in escalation
    assert reason_text("words_opioids", "opioids") in escalation
    who = demo.WHO.format(name=demo.DOCTOR, id=demo.DOCTOR_ID)
    assert escalation.endswith(
        demo.SUMMARY_STOP["withhold"].format(nights="1 night")
        + demo.SUMMARY_LIFTED.format(
            who=who,
            day=messages.day(LIFTED),
            time="09:31",
            after=demo.SUMMARY_HOURS.format(hours=20, minutes=26),
            decision=t("decision_continue"),
        )
    )


# The simulator

START = datetime(2026, 3, 4, 17, 0, tzinfo=UTC)  # noon in New York, the demo's default zone


async def test_simulate_enrolls_then_next_brings_the_reminder_and_a_number_presses(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'sim.sqlite3'}"
    script = [
        *("/start", "1", "1", "1", "1", "1", "22:30", "1"),
        *(":next", "1", ":time", ":quit", "/help"),
    ]
    out: list[str] = []

    telegram = await simulate(iter(script), out.append, url, start=START)

    assert out[0] == simulate_module.SIM_INTRO
    assert out[1] == chat_view.DAY.format(day="Wednesday 4 March 2026")
    assert out[2] == "12:00  " + chat_view.TYPED.format(text="/start")
    consent = out.index("12:00  " + t("consent"))
    assert out[consent + 1].strip() == f"[1 {t('button_consent_yes')}] [2 {t('button_consent_no')}]"
    assert "12:00  " + chat_view.TAPPED.format(label=t("button_screen_none")) in out
    assert "12:00  " + chat_view.TAPPED.format(label=t("button_plan_builtin-0.5")) in out
    assert "12:00  " + t("enrolled", bedtime="22:30") in out
    reminder = out.index("22:30  " + t("reminder", dose=words("0.5", 1, "0.5")))
    assert out[reminder + 1].strip() == (
        f"[1 {t('button_taken')}] [2 {t('button_snooze')}] [3 {t('button_skip')}]"
    )
    assert out[reminder + 2] == simulate_module.SIM_CLOCK.format(when="Wed 4 Mar 22:30 (EST)")
    assert out[reminder + 3] == "22:30  " + chat_view.TAPPED.format(label=t("button_taken"))
    edit = chat_view.EDITED.format(sent="22:30", tail=t("recorded_taken"))
    assert out[reminder + 4] == "22:30  " + edit
    assert out[-1] == simulate_module.SIM_CLOCK.format(when="Wed 4 Mar 22:30 (EST)")
    assert not any(t("command_help") in line for line in out)  # nothing read after :quit
    assert telegram.client_errors() == []


async def test_simulate_quiets_the_bots_warnings_only_while_it_runs(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'sim.sqlite3'}"
    bot_log = logging.getLogger("bot")
    bot_log.setLevel(logging.INFO)
    try:
        await simulate(iter([":quit"]), [].append, url, start=START)
        # Left at ERROR, the process would lose every later warning (a refused stranger, say).
        assert bot_log.level == logging.INFO
    finally:
        bot_log.setLevel(logging.NOTSET)


async def test_simulate_explains_what_it_cannot_do(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'sim.sqlite3'}"
    out: list[str] = []
    await simulate(iter([":next", ":soon", "/start", "7", ":hour"]), out.append, url, start=START)

    assert simulate_module.SIM_NOTHING_DUE in out
    assert simulate_module.SIM_UNKNOWN in out
    assert simulate_module.SIM_NO_BUTTON.format(number=7) in out
    assert out[-1] == simulate_module.SIM_CLOCK.format(when="Wed 4 Mar 13:00 (EST)")


def test_simulate_reads_piped_input(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "devtools", "simulate"],
        input="/start\n1\n:quit\n",
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,  # no .env here, and none is needed
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert result.returncode == 0, result.stderr
    assert chat_view.TAPPED.format(label=t("button_consent_yes")) in result.stdout
    assert t("screen").splitlines()[0] in result.stdout
