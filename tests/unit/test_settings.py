"""Settings from the environment and `.env`; each bad value refused in one line that names it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import time
from decimal import Decimal
from pathlib import Path

import pytest

from bot.app.settings import Settings, SettingsError, load_settings, require_care_team

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456:ABCdef-secret-GHI"
NAMES = [name.upper() for name in Settings.model_fields]

VALID = {
    "BOT_TOKEN": TOKEN,
    "DATABASE_URL": "postgresql+asyncpg://ldn:pw@db.example.org:5432/ldn",
    "TELEGRAM_API_BASE_URL": "https://bot-api.example.org/bot/",
    "CLINIC_NAME": "Riverside Clinic",
    "CLINIC_CONTACT": "+44 20 7946 0000",
    "EMERGENCY_NUMBER": "999",
    "DEFAULT_TIMEZONE": "Europe/London",
    "REMINDER_FOLLOWUP_MINUTES": "45",
    "REMINDER_CUTOFF_HOURS": "6",
    "MAX_DOSE_MG": "3.0",
    "CAPSULE_NOTICE_DAYS": "10",
    "DISPATCH_INTERVAL_SECONDS": "15",
    "LOG_LEVEL": "debug",
    "CRISIS_LINE": "111",
    "PROVIDER_CHAT_IDS": "5001, -1001234567890",
    "PROVIDER_USER_IDS": "5001,5002",
    "ADMIN_USER_IDS": "6001",
    "ALLOW_SELF_ENROLLMENT": "true",
    "ESCALATION_RENOTIFY_MINUTES": "15",
    "CHECKIN_AFTER_STEP_UP_DAYS": "4",
    "CHECKIN_EVERY_DAYS": "14",
    "TOLERANCE_CHECK_DAYS": "3",
    "INVITE_VALID_HOURS": "48",
    "ALLOW_NO_CARE_TEAM": "true",
    "RESTART_REVIEW_NIGHTS": "10",
    "CHECKIN_EXPIRE_HOURS": "24",
    "WEBHOOK_URL": "https://ldn.example.org/telegram",
    "WEBHOOK_SECRET": "s3cret_token-value",
    "WEBHOOK_LISTEN": "0.0.0.0",
    "WEBHOOK_PORT": "8443",
    "LOG_FORMAT": "JSON",
    "RETENTION_DAYS": "365",
    "ESCALATION_MAX_RESENDS": "4",
    "ROUTINE_REVIEW_HOURS": "12",
    "CARE_TEAM_QUIET_HOURS": " 21:30 - 7:00 ",
    "CARE_TEAM_DIGEST_AT": "7:45",
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No setting from the machine running the tests, and no `.env` in the working folder."""
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _set(monkeypatch: pytest.MonkeyPatch, values: dict[str, str]) -> None:
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def test_example_covers_every_setting() -> None:
    assert set(VALID) == set(NAMES)


def test_every_setting_valid_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    _set(monkeypatch, VALID)
    settings = load_settings()
    assert settings.provider_chat_ids == (5001, -1001234567890)
    assert settings.provider_user_ids == (5001, 5002)
    assert settings.admin_user_ids == (6001,)
    assert settings.allow_self_enrollment is True
    assert settings.escalation_renotify_minutes == 15
    assert settings.token == TOKEN
    assert settings.database_url == VALID["DATABASE_URL"]
    assert settings.telegram_api_base_url == "https://bot-api.example.org/bot"
    assert settings.clinic_name == "Riverside Clinic"
    assert settings.clinic_contact == "+44 20 7946 0000"
    assert settings.emergency_number == "999"
    assert settings.default_timezone == "Europe/London"
    assert settings.reminder_followup_minutes == 45
    assert settings.reminder_cutoff_hours == 6
    assert settings.max_dose_mg == Decimal("3.0")
    assert settings.capsule_notice_days == 10
    assert settings.dispatch_interval_seconds == 15
    assert settings.log_level == "DEBUG"
    assert settings.webhook_url == "https://ldn.example.org/telegram"
    assert settings.webhook_secret.get_secret_value() == "s3cret_token-value"
    assert (settings.webhook_listen, settings.webhook_port) == ("0.0.0.0", 8443)
    assert settings.log_format == "json"
    assert settings.retention_days == 365
    assert settings.escalation_max_resends == 4
    assert settings.routine_review_hours == 12
    assert settings.quiet_hours == (time(21, 30), time(7, 0))
    assert settings.digest_at == time(7, 45)
    assert TOKEN not in repr(settings) and TOKEN not in str(settings.model_dump())
    assert "s3cret_token-value" not in repr(settings)


def test_defaults_load_with_nothing_set_and_no_token() -> None:
    settings = load_settings()
    assert settings.token == ""
    assert settings.database_url.startswith("sqlite+aiosqlite://")
    assert settings.max_dose_mg == Decimal("4.5")


def test_settings_are_read_from_a_dotenv_file(clean_environment: Path) -> None:
    (clean_environment / ".env").write_text(
        "\n".join(f"{name}={value}" for name, value in VALID.items()) + "\n", encoding="utf-8"
    )
    settings = load_settings()
    assert settings.token == TOKEN
    assert settings.default_timezone == "Europe/London"
    assert settings.reminder_followup_minutes == 45


def test_the_environment_wins_over_the_dotenv_file(
    clean_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (clean_environment / ".env").write_text(
        f"BOT_TOKEN={TOKEN}\nDEFAULT_TIMEZONE=Europe/London\n", encoding="utf-8"
    )
    monkeypatch.setenv("DEFAULT_TIMEZONE", "Asia/Tokyo")
    settings = load_settings()
    assert settings.default_timezone == "Asia/Tokyo"
    assert settings.token == TOKEN


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://ldn:pw@db:5432/ldn", "postgresql+asyncpg://ldn:pw@db:5432/ldn"),
        ("postgresql://ldn:pw@db:5432/ldn", "postgresql+asyncpg://ldn:pw@db:5432/ldn"),
        ("postgresql+asyncpg://ldn@db/ldn", "postgresql+asyncpg://ldn@db/ldn"),
        ("sqlite:///data/ldn.sqlite3", "sqlite+aiosqlite:///data/ldn.sqlite3"),
        ("sqlite:////var/lib/ldn.sqlite3", "sqlite+aiosqlite:////var/lib/ldn.sqlite3"),
        ("sqlite+aiosqlite:///x.sqlite3", "sqlite+aiosqlite:///x.sqlite3"),
    ],
)
def test_database_urls_get_an_async_driver(
    monkeypatch: pytest.MonkeyPatch, given: str, expected: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", given)
    assert load_settings().database_url == expected


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DEFAULT_TIMEZONE", "Mars/Base"),
        ("DEFAULT_TIMEZONE", "EST5EDT/../../etc/passwd"),
        ("BOT_TOKEN", "no-colon-here"),
        ("BOT_TOKEN", "abc:DEF"),
        ("BOT_TOKEN", "changeme"),
        ("BOT_TOKEN", "your-token-here"),
        ("REMINDER_FOLLOWUP_MINUTES", "thirty"),
        ("REMINDER_FOLLOWUP_MINUTES", "4"),
        ("REMINDER_FOLLOWUP_MINUTES", "181"),
        ("REMINDER_CUTOFF_HOURS", "0"),
        ("DATABASE_URL", "mysql://ldn:pw@db/ldn"),
        ("DATABASE_URL", "data/ldn.sqlite3"),
        ("MAX_DOSE_MG", "4.6"),
        ("MAX_DOSE_MG", "50"),
        ("MAX_DOSE_MG", "0"),
        ("CAPSULE_NOTICE_DAYS", "22"),
        ("DISPATCH_INTERVAL_SECONDS", "0"),
        ("LOG_LEVEL", "LOUD"),
        ("TELEGRAM_API_BASE_URL", "api.telegram.org/bot"),
        ("TELEGRAM_API_BASE_URL", "ftp://api.telegram.org/bot"),
        ("WEBHOOK_URL", "ldn.example.org/telegram"),
        ("WEBHOOK_SECRET", "has spaces and ; signs"),
        ("WEBHOOK_PORT", "70000"),
        ("LOG_FORMAT", "xml"),
        ("RETENTION_DAYS", "-1"),
        ("ESCALATION_MAX_RESENDS", "-1"),
        ("ROUTINE_REVIEW_HOURS", "0"),
        ("ROUTINE_REVIEW_HOURS", "169"),
        ("CARE_TEAM_QUIET_HOURS", "10pm-7am"),
        ("CARE_TEAM_QUIET_HOURS", "22:00"),
        ("CARE_TEAM_QUIET_HOURS", "24:00-07:00"),
        ("CARE_TEAM_QUIET_HOURS", "22:00-22:00"),
        ("CARE_TEAM_DIGEST_AT", "8am"),
        ("CARE_TEAM_DIGEST_AT", "24:00"),
    ],
)
def test_a_wrong_value_is_one_line_naming_the_variable_without_the_token(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    _set(monkeypatch, VALID | {name: value})
    with pytest.raises(SettingsError) as error:
        load_settings()
    message = str(error.value)
    assert message.startswith(f"{name}: ")
    assert "\n" not in message
    assert TOKEN not in message
    if name == "BOT_TOKEN":
        assert value not in message


@pytest.mark.parametrize("placeholder", ["changeme", "your-token-here", "CHANGEME"])
def test_the_placeholder_token_is_called_a_placeholder(
    monkeypatch: pytest.MonkeyPatch, placeholder: str
) -> None:
    monkeypatch.setenv("BOT_TOKEN", placeholder)
    with pytest.raises(SettingsError, match="^BOT_TOKEN: .*placeholder"):
        load_settings()


def test_a_wrong_value_in_the_dotenv_file_is_named_too(clean_environment: Path) -> None:
    (clean_environment / ".env").write_text(
        f"BOT_TOKEN={TOKEN}\nLOG_LEVEL=chatty\n", encoding="utf-8"
    )
    with pytest.raises(SettingsError, match="^LOG_LEVEL: ") as error:
        load_settings()
    assert TOKEN not in str(error.value)


def test_the_example_file_loads_with_a_token_filled_in(clean_environment: Path) -> None:
    example = ROOT / ".env.example"
    if not example.exists():
        pytest.skip(".env.example is not written yet")
    shutil.copy(example, clean_environment / ".env")
    with (clean_environment / ".env").open("a", encoding="utf-8") as env:
        # A later line wins in a dotenv file, whatever the example leaves BOT_TOKEN as.
        env.write("\nBOT_TOKEN=123456:ABCdef\n")
    settings = load_settings()
    assert settings.token == "123456:ABCdef"
    keys = {
        line.split("=", 1)[0].strip()
        for line in example.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    }
    assert keys == set(NAMES), "`.env.example` mirrors Settings line for line"


# Starting the bot


def _run_bot(cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k.upper() not in NAMES}
    environment["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), environment.get("PYTHONPATH", "")) if p
    )
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_starting_without_a_token_points_to_botfather(clean_environment: Path) -> None:
    result = _run_bot(clean_environment)
    assert result.returncode == 2, result.stderr
    assert "BotFather" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_shipped_example_with_a_token_refuses_to_start_with_nobody_to_alert(
    clean_environment: Path,
) -> None:
    shutil.copy(ROOT / ".env.example", clean_environment / ".env")
    with (clean_environment / ".env").open("a", encoding="utf-8") as env:
        env.write(f"\nBOT_TOKEN={TOKEN}\n")
    result = _run_bot(clean_environment)
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("Cannot start: PROVIDER_CHAT_IDS, ADMIN_USER_IDS: ")
    assert "ALLOW_NO_CARE_TEAM=true" in line and "/whoami" in line
    assert TOKEN not in result.stderr + result.stdout


def test_starting_with_an_unknown_zone_names_the_variable(clean_environment: Path) -> None:
    result = _run_bot(clean_environment, BOT_TOKEN=TOKEN, DEFAULT_TIMEZONE="Mars/Base")
    assert result.returncode == 2, result.stderr
    assert "DEFAULT_TIMEZONE" in result.stderr
    assert TOKEN not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("value", ["12,abc", "@someone", "1.5"])
def test_an_id_list_with_something_that_is_no_telegram_id_is_refused(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("PROVIDER_USER_IDS", value)
    with pytest.raises(SettingsError, match=r"^PROVIDER_USER_IDS: .* is not a Telegram id"):
        load_settings(_env_file=None)


def test_id_lists_default_to_empty_and_self_enrollment_to_off() -> None:
    settings = load_settings(_env_file=None)
    assert settings.provider_chat_ids == settings.provider_user_ids == settings.admin_user_ids == ()
    assert settings.allow_self_enrollment is False


# A care team to alert


@pytest.mark.parametrize(
    "team",
    [
        {},
        # Providers who may decide, but no chat for the alerts to go to and no admin: nobody.
        {"provider_user_ids": (5001,)},
    ],
)
def test_a_bot_whose_alerts_would_reach_nobody_is_refused_naming_the_variables(
    team: dict[str, object],
) -> None:
    settings = load_settings(_env_file=None, **team)
    assert not settings.has_care_team
    with pytest.raises(SettingsError, match="^PROVIDER_CHAT_IDS, ADMIN_USER_IDS: ") as error:
        require_care_team(settings)
    assert "\n" not in str(error.value)
    for name in ("ALLOW_NO_CARE_TEAM", "PROVIDER_USER_IDS", "/whoami"):
        assert name in str(error.value)


@pytest.mark.parametrize(
    "team",
    [
        {"provider_chat_ids": (5001,)},
        {"provider_chat_ids": (-1001234567890,)},
        {"admin_user_ids": (6001,)},
        {"allow_no_care_team": True},
    ],
)
def test_a_provider_chat_an_admin_or_an_explicit_trial_may_start(
    team: dict[str, object],
) -> None:
    require_care_team(load_settings(_env_file=None, **team))
