"""The typed context every handler receives: the services it may call, and the menu's commands.

Handlers import this module, never the wiring that registers them (`bot.app.application`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from telegram.ext import CallbackContext, ExtBot
from telegram.request import BaseRequest

from bot.app.clock import Clock
from bot.app.dispatcher import Dispatcher
from bot.app.recovery import Recovery
from bot.app.settings import Settings
from bot.care.alerts import Alerts
from bot.care.checkins import Checkins
from bot.care.concerns import Concerns
from bot.care.decisions import CareTeam
from bot.care.inbox import Inbox
from bot.care.onboarding import Conversation
from bot.care.patient import Care
from bot.care.privacy import Privacy
from bot.care.reminders import Reminders
from bot.delivery.intake import Intake
from bot.delivery.metrics import Metrics
from bot.delivery.pacing import Lane
from bot.delivery.shown import Shown
from storage.db import Database

MENU_COMMANDS = (
    "today",
    "plan",
    "sideeffects",
    "settings",
    "help",
    "stop",
    "start",
    "mydata",
    "delete",
)


@dataclass
class Services:
    """The use cases and what they stand on, shared by every handler and job."""

    settings: Settings
    db: Database
    clock: Clock
    reminders: Reminders
    dispatcher: Dispatcher
    conversation: Conversation
    care: Care
    checkins: Checkins
    alerts: Alerts
    concerns: Concerns
    inbox: Inbox
    care_team: CareTeam
    privacy: Privacy
    recovery: Recovery
    intake: Intake
    # What the bot's messages show now, so that a stale press edits nothing (the notifier's own).
    shown: Shown = field(default_factory=Shown)
    # This process's counters and gauges, served at /metrics (a registry per application).
    metrics: Metrics = field(default_factory=Metrics)


class BotData:
    """Typed `bot_data`: the services, set once in `post_init`."""

    services: Services
    # Whether the dispatcher runs its own rounds; a simulation drives it on its virtual clock.
    dispatch_rounds: bool = True
    # The port this process's web app (/healthz, /metrics, the webhook) listens on, once it does.
    web_port: int | None = None
    # The bot's two HTTP transports (calls, getUpdates), closed at the end even when the bot never
    # got as far as initializing (python-telegram-bot closes them only once it has).
    transports: tuple[BaseRequest, ...] = ()


class Context(CallbackContext[ExtBot[Lane], dict[Any, Any], dict[Any, Any], BotData]):
    """What a handler receives. Its bot is an `ExtBot[Lane]`: a `Lane` is what our rate limiter
    (`Pacing`) takes as `rate_limit_args`, the lane of a request and the retries it asks for."""

    @property
    def services(self) -> Services:
        return self.bot_data.services
