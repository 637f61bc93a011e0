"""The offline demo and simulator: the real bot against the fake Telegram, printed as a chat."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from bot import chat_view, demo, messages
from bot import simulate as simulate_module
from bot.__main__ import main
from bot.demo import DemoResult, demo_settings, pattern, play
from bot.simulate import simulate
from bot.texts import t

STEPS = 7
DOSE_BUTTONS = f"[{t('button_taken')}] [{t('button_snooze')}] [{t('button_skip')}]"


def words(mg: str, count: int, capsule: str) -> str:
    return messages.dose_words(Decimal(mg), count, Decimal(capsule))


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
    }
    assert result.counts["missed"] == 3 and result.counts["skipped"] == 4
    summary = demo.SUMMARY_NIGHTS.format(total=len(kinds), **result.counts)
    assert summary in lines


def test_demo_reaches_every_step_on_the_plans_dates(
    played: tuple[DemoResult, list[str]],
) -> None:
    result, lines = played
    first = date(2026, 3, 2)
    assert result.steps == [(n, first + timedelta(days=14 * (n - 1))) for n in range(1, 8)]
    assert result.current_mg == "4.5"
    assert lines[-1] == demo.SUMMARY_CURRENT.format(dose=words("4.5", 3, "1.5"))


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
    first = date(2026, 3, 2)
    for offset in range(len(result.kinds)):
        night = first + timedelta(days=offset)
        compact = f"{night:%a} {night.day:>2} {night:%b}  "
        header = chat_view.DAY.format(day=f"{night:%A} {night.day} {night:%B %Y}")
        assert any(line.startswith(compact) or line == header for line in lines), night
    # Ordinary nights take one line each: the reminder's first paragraph and the patient's presses.
    compact = [line for line in lines if re.match(r"\w{3} [ \d]\d \w{3}  \d\d:\d\d ", line)]
    assert len(compact) > 40
    reminder = t("reminder", dose="").split(":")[0]
    assert all(reminder in line and "> " in line for line in compact)
    assert len(lines) < 400


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
    settings = demo_settings("sqlite+aiosqlite:///demo.sqlite3")
    assert settings.clinic_name == "Demo Clinic"
    assert settings.reminder_cutoff_hours == 4
    assert settings.database_url == "sqlite+aiosqlite:///demo.sqlite3"


def test_demo_command_passes_seed_and_detail(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict] = []
    monkeypatch.setattr(demo, "run", lambda **kwargs: calls.append(kwargs) or 0)
    assert main(["demo"]) == 0
    assert main(["demo", "--seed", "3", "--full"]) == 0
    assert calls == [{"seed": demo.DEFAULT_SEED, "full": False}, {"seed": 3, "full": True}]


# The simulator

START = datetime(2026, 3, 4, 17, 0, tzinfo=UTC)  # noon in New York, the demo's default zone


async def test_simulate_enrolls_then_next_brings_the_reminder_and_a_number_presses(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'sim.sqlite3'}"
    script = ["/start", "1", "1", "1", "1", "22:30", "1", ":next", "1", ":time", ":quit", "/help"]
    out: list[str] = []

    telegram = await simulate(iter(script), out.append, url, start=START)

    assert out[0] == simulate_module.SIM_INTRO
    assert out[1] == chat_view.DAY.format(day="Wednesday 4 March 2026")
    assert out[2] == "12:00  " + chat_view.TYPED.format(text="/start")
    consent = out.index("12:00  " + t("consent"))
    assert out[consent + 1].strip() == f"[1 {t('button_consent_yes')}] [2 {t('button_consent_no')}]"
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
        [sys.executable, "-m", "bot", "simulate"],
        input="/start\n1\n:quit\n",
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,  # no .env here, and none is needed
    )
    assert result.returncode == 0, result.stderr
    assert chat_view.TAPPED.format(label=t("button_consent_yes")) in result.stdout
    assert t("ask_plan") in result.stdout
