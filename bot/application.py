"""Wire everything together: one `build_application(settings)`, nothing built at import time."""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass

from telegram import BotCommand
from telegram.error import ChatMigrated, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackContext,
    ContextTypes,
    ExtBot,
)
from telegram.request import BaseRequest

from bot.alerts import Alerts
from bot.care import Care
from bot.checkins import Checkins
from bot.clock import Clock, SystemClock
from bot.concerns import Concerns
from bot.decisions import CareTeam
from bot.dispatcher import Dispatcher
from bot.inbox import Inbox
from bot.intake import Intake
from bot.messages import team_text
from bot.notifier import Notifier, TelegramNotifier
from bot.onboarding import Conversation
from bot.privacy import Privacy
from bot.reminders import Reminders
from bot.settings import Settings
from bot.texts import t
from storage.db import Database

log = logging.getLogger(__name__)

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
    intake: Intake


class BotData:
    """Typed `bot_data`: the services, set once in `post_init`."""

    services: Services


class Context(CallbackContext[ExtBot[None], dict, dict, BotData]):
    @property
    def services(self) -> Services:
        return self.bot_data.services


def build_application(
    settings: Settings,
    *,
    clock: Clock | None = None,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
) -> Application:
    """Build the bot; `request` swaps the HTTP transport (the tests answer it themselves)."""
    from handlers import register_all

    # Read Telegram's flood waits as timedeltas, the coming default, without deprecation warnings.
    os.environ.setdefault("PTB_TIMEDELTA", "true")

    builder = (
        ApplicationBuilder()
        .token(settings.token)
        .base_url(f"{settings.telegram_api_base_url}")
        .base_file_url(f"{settings.telegram_api_base_url.removesuffix('/bot')}/file/bot")
        .context_types(ContextTypes(context=Context, bot_data=BotData))
        # At most 30 requests a second overall. A flood-wait answer is not slept through here: the
        # dispatcher puts the night back in the database, due after the wait; replies retry.
        .rate_limiter(AIORateLimiter(max_retries=0))
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
        # No Updater: it confirms an update before any handler runs. Our own loop confirms only
        # what the database holds (`bot/polling.py`, `bot/intake.py`).
        .updater(None)
    )
    if request is not None:
        builder = builder.request(request)
    if get_updates_request is not None:
        builder = builder.get_updates_request(get_updates_request)
    application = builder.build()

    application.bot_data.services = build_services(
        settings,
        Database(settings.database_url),
        clock or SystemClock(),
        TelegramNotifier(application.bot),
    )
    register_all(application)
    return application


async def check_provider_chats(application: Application) -> list[int]:
    """Check that every provider chat can be reached; tell the admins about any that cannot."""
    services: Services = application.bot_data.services
    settings, unreachable = services.settings, []
    for chat_id in settings.provider_chat_ids:
        try:
            await application.bot.get_chat(chat_id)
        except ChatMigrated as exc:
            unreachable.append(chat_id)
            await services.care_team.group_moved(chat_id, int(exc.new_chat_id))
        except TelegramError as exc:
            unreachable.append(chat_id)
            log.warning("Provider chat %s cannot be reached: %s", chat_id, type(exc).__name__)
            await services.alerts.tell_admins(
                t("admin_unreachable_chat", chat=chat_id, error=type(exc).__name__)
            )
    if not settings.has_care_team:
        log.warning("No provider chat and no admin (ALLOW_NO_CARE_TEAM): alerts reach nobody")
    elif not settings.provider_chat_ids:
        log.warning("PROVIDER_CHAT_IDS is empty: alerts go to the admins only")
    return unreachable


def build_services(settings: Settings, db: Database, clock: Clock, notifier: Notifier) -> Services:
    """Wire the use cases to each other, to the database, the clock and the way out to Telegram."""
    reminders = Reminders(db, notifier, clock, settings)
    alerts = Alerts(db, notifier, clock, settings, reminders)
    concerns = Concerns(reminders, alerts, clock, settings)
    checkins = Checkins(db, notifier, clock, settings, reminders, concerns)
    reminders.plan_checkin = checkins.plan_for
    conversation = Conversation(db, reminders, clock, settings, alerts)
    inbox = Inbox(
        db, notifier, clock, settings, reminders, checkins, conversation, concerns, alerts
    )
    alerts.after_send = inbox.bring_media
    return Services(
        settings=settings,
        db=db,
        clock=clock,
        reminders=reminders,
        dispatcher=Dispatcher(db, reminders, notifier, clock, settings, checkins, alerts),
        conversation=conversation,
        care=Care(db, reminders, clock, settings),
        checkins=checkins,
        alerts=alerts,
        concerns=concerns,
        inbox=inbox,
        care_team=CareTeam(db, notifier, clock, settings, reminders, alerts),
        privacy=Privacy(db, notifier, clock, settings),
        intake=Intake(db, clock, first_aid=inbox.first_aid),
    )


async def dispatch_job(context: Context) -> None:
    """The one scheduler job: send whatever the database says is due."""
    await context.services.dispatcher.dispatch()


async def _post_init(application: Application) -> None:
    services: Services = application.bot_data.services
    await services.db.migrate()
    settings = services.settings
    await application.bot.set_my_commands(
        [BotCommand(name, team_text(f"command_{name}", settings)) for name in MENU_COMMANDS]
    )
    await check_provider_chats(application)
    if application.job_queue is not None:
        application.job_queue.run_repeating(
            dispatch_job,
            interval=services.settings.dispatch_interval_seconds,
            first=1,
            name="dispatcher",
            # APScheduler drops a run that starts over a second late unless told otherwise; a
            # stalled loop must delay the dispatcher, never skip it.
            job_kwargs={
                "id": "dispatcher",
                "replace_existing": True,
                "misfire_grace_time": None,
                "coalesce": True,
                "max_instances": 1,
            },
        )
    log.info("Bot started")


async def _post_shutdown(application: Application) -> None:
    services: Services = application.bot_data.services
    try:
        # Alerts still on their way get a moment; what is cut short stays due in the database.
        await asyncio.wait_for(services.alerts.settle(), timeout=5)
    except TimeoutError:
        log.warning("Shut down with alerts still being sent: the dispatcher sends them on restart")
    await services.db.dispose()
