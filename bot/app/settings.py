"""Typed settings, read once from the environment and `.env`."""

from __future__ import annotations

import re
from datetime import time
from decimal import Decimal
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

TELEGRAM_API = "https://api.telegram.org/bot"

# Telegram ids, written in .env as a comma-separated list: 123456789, -1001234567890
ChatIds = Annotated[tuple[int, ...], NoDecode]


class SettingsError(Exception):
    """A setting that stops start-up; the message is one line naming the variable."""


# One line, like every setting error: which variables, why it matters, and what to do.
NO_CARE_TEAM = (
    "PROVIDER_CHAT_IDS, ADMIN_USER_IDS: both empty, so alerts would reach nobody. To get your "
    "Telegram id, start once with ALLOW_NO_CARE_TEAM=true and send /whoami to the bot; then put "
    "it in PROVIDER_CHAT_IDS, PROVIDER_USER_IDS and ADMIN_USER_IDS (see the README's Quick start)."
)


class Settings(BaseSettings):
    """Everything a clinic's admin configures; `.env.example` mirrors it line for line."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: SecretStr = SecretStr("")
    database_url: str = "sqlite+aiosqlite:///data/ldn-bot.sqlite3"
    telegram_api_base_url: str = TELEGRAM_API
    clinic_name: str = "your clinic"
    clinic_contact: str = "your clinic's usual phone number"
    emergency_number: str = "911"
    default_timezone: str = "America/New_York"
    reminder_followup_minutes: int = Field(default=30, ge=5, le=180)
    reminder_cutoff_hours: int = Field(default=4, ge=1, le=12)
    max_dose_mg: Decimal = Field(default=Decimal("4.5"), gt=0, le=Decimal("4.5"))
    capsule_notice_days: int = Field(default=7, ge=1, le=21)
    dispatch_interval_seconds: int = Field(default=20, ge=1, le=300)
    log_level: str = "INFO"
    crisis_line: str = "988"
    provider_chat_ids: ChatIds = ()
    provider_user_ids: ChatIds = ()
    admin_user_ids: ChatIds = ()
    allow_self_enrollment: bool = False
    escalation_renotify_minutes: int = Field(default=30, ge=5, le=1440)
    escalation_max_resends: int = Field(default=6, ge=0, le=1000)
    routine_review_hours: int = Field(default=24, ge=1, le=168)
    care_team_quiet_hours: str = ""
    care_team_digest_at: str = ""
    checkin_after_step_up_days: int = Field(default=3, ge=0, le=14)
    checkin_every_days: int = Field(default=7, ge=0, le=28)
    tolerance_check_days: int = Field(default=2, ge=0, le=7)
    invite_valid_hours: int = Field(default=72, ge=1, le=720)
    allow_no_care_team: bool = False
    restart_review_nights: int = Field(default=7, ge=1, le=60)
    checkin_expire_hours: int = Field(default=12, ge=1, le=72)
    # Webhook mode (`ldn-bot run --webhook`) and this process's web app (/healthz, /metrics).
    webhook_url: str = ""
    webhook_secret: SecretStr = SecretStr("")
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(default=8080, ge=0, le=65535)
    log_format: Literal["text", "json"] = "text"
    retention_days: int = Field(default=0, ge=0, le=36500)

    @field_validator("provider_chat_ids", "provider_user_ids", "admin_user_ids", mode="before")
    @classmethod
    def _id_list(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        ids = []
        for part in value.replace(";", ",").split(","):
            part = part.strip()
            if not part:
                continue
            if not part.lstrip("-").isdigit():
                raise ValueError(f"{part!r} is not a Telegram id (a number such as 123456789)")
            ids.append(int(part))
        return tuple(ids)

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        token = value.get_secret_value().strip()
        if token.lower() in {"changeme", "your-token-here"}:
            raise ValueError("is still the placeholder from .env.example")
        if token and (":" not in token or not token.split(":", 1)[0].isdigit()):
            raise ValueError("does not look like a bot token (digits, a colon, then letters)")
        return SecretStr(token)

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if value.startswith("postgresql://") or value.startswith("postgres://"):
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        if value.startswith("sqlite://") and not value.startswith("sqlite+aiosqlite://"):
            return "sqlite+aiosqlite://" + value.split("://", 1)[1]
        if not (
            value.startswith("sqlite+aiosqlite://") or value.startswith("postgresql+asyncpg://")
        ):
            raise ValueError("must be a sqlite:// or postgresql:// URL")
        return value

    @field_validator("telegram_api_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone such as Europe/London") from None
        return value

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str) -> str:
        value = value.strip()
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("must be the public https:// address Telegram posts updates to")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr) -> SecretStr:
        secret = value.get_secret_value().strip()
        # Telegram's rule for secret_token: 1-256 characters, A-Z, a-z, 0-9, _ and -.
        if secret and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise ValueError("may hold only letters, digits, _ and - (at most 256)")
        return SecretStr(secret)

    @field_validator("log_format", mode="before")
    @classmethod
    def _log_format(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("care_team_quiet_hours", "care_team_digest_at")
    @classmethod
    def _times_of_day(cls, value: str, info: ValidationInfo) -> str:
        value = value.strip()
        if value:  # empty: none
            (_quiet_window if info.field_name == "care_team_quiet_hours" else _clock_time)(value)
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @property
    def has_care_team(self) -> bool:
        """Say whether anyone receives alerts: a provider chat or an admin."""
        return bool(self.provider_chat_ids or self.admin_user_ids)

    @property
    def quiet_hours(self) -> tuple[time, time] | None:
        """CARE_TEAM_QUIET_HOURS as (start, end), local times in DEFAULT_TIMEZONE; None: none."""
        return _quiet_window(self.care_team_quiet_hours) if self.care_team_quiet_hours else None

    @property
    def digest_at(self) -> time | None:
        """CARE_TEAM_DIGEST_AT, a local time in DEFAULT_TIMEZONE; None: no daily digest."""
        return _clock_time(self.care_team_digest_at) if self.care_team_digest_at else None

    @property
    def token(self) -> str:
        """Return the bot token; only the Telegram client should ever see it."""
        return self.bot_token.get_secret_value()


def _clock_time(value: str) -> time:
    """A time of day such as 08:00 as a time; ValueError, in words an admin can act on, else."""
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", value)
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValueError("write a time of day as HH:MM, for example 08:00")
    return time(int(match[1]), int(match[2]))


def _quiet_window(value: str) -> tuple[time, time]:
    """A window such as 22:00-07:00 as two times; ValueError, in words an admin can act on, else."""
    first, dash, second = value.partition("-")
    try:
        if not dash:
            raise ValueError
        start, end = _clock_time(first), _clock_time(second)
    except ValueError:
        hint = "write the start and end as HH:MM-HH:MM, for example 22:00-07:00"
        raise ValueError(hint) from None
    if start == end:
        raise ValueError("starts and ends at the same time; leave it empty for no quiet hours")
    return start, end


def require_webhook(settings: Settings) -> None:
    """Webhook mode needs the public address and the secret Telegram sends back with each update."""
    if not settings.webhook_url:
        raise SettingsError(
            "WEBHOOK_URL: webhook mode needs the public https:// address that reaches this "
            "process (see the README's Run it for a clinic)."
        )
    if not settings.webhook_secret.get_secret_value():
        raise SettingsError(
            "WEBHOOK_SECRET: webhook mode needs a secret (letters, digits, _ and -), so that "
            "only Telegram can post updates; for example: openssl rand -hex 32"
        )


def require_care_team(settings: Settings) -> None:
    """Refuse a bot whose alerts would reach nobody, unless ALLOW_NO_CARE_TEAM says so."""
    if not settings.has_care_team and not settings.allow_no_care_team:
        raise SettingsError(NO_CARE_TEAM)


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, turning a validation failure into one readable line."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]).upper() if error["loc"] else "a setting"
        message = str(error["msg"]).removeprefix("Value error, ")
        raise SettingsError(f"{name}: {message[:1].lower()}{message[1:]}") from None
