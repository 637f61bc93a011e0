"""Wire everything together: one `build_application(settings)`, nothing built at import time."""

from __future__ import annotations

import asyncio
import logging
import os

from telegram import BotCommand
from telegram.error import ChatMigrated, TelegramError
from telegram.ext import Application, ApplicationBuilder, BaseRateLimiter, ContextTypes
from telegram.request import BaseRequest

from bot.app.clock import Clock, SystemClock
from bot.app.context import MENU_COMMANDS, BotData, Context, Services
from bot.app.dispatcher import Dispatcher
from bot.app.recovery import Recovery
from bot.app.settings import Settings
from bot.care.alerts import Alerts
from bot.care.checkins import Checkins
from bot.care.concerns import Concerns
from bot.care.decisions import CareTeam
from bot.care.digest import Digests
from bot.care.inbox import Inbox
from bot.care.onboarding import Conversation
from bot.care.patient import Care
from bot.care.privacy import Privacy
from bot.care.reminders import Reminders
from bot.delivery.intake import Intake
from bot.delivery.metrics import Metrics
from bot.delivery.notifier import Notifier, TelegramNotifier
from bot.delivery.pacing import Lane, Pacing
from bot.delivery.shown import Shown
from bot.delivery.transport import AiohttpRequest
from bot.ui.messages import team_text
from bot.ui.views import Say
from handlers import register_all
from storage.db import Database

log = logging.getLogger(__name__)


def build_application(
    settings: Settings,
    *,
    clock: Clock | None = None,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    dispatch_rounds: bool = True,
    rate_limiter: BaseRateLimiter[Lane] | None = None,
) -> Application:
    """Build the bot; `request` swaps the HTTP transport (the tests answer it themselves).

    `dispatch_rounds=False` leaves the dispatcher to be driven from outside (the simulations);
    `rate_limiter` replaces the real `Pacing` (a simulation passes its own, `paced_on`).
    """
    # Read Telegram's flood waits as timedeltas, the coming default, without deprecation warnings.
    os.environ.setdefault("PTB_TIMEDELTA", "true")

    builder = (
        ApplicationBuilder()
        .token(settings.token)
        .base_url(f"{settings.telegram_api_base_url}")
        .base_file_url(f"{settings.telegram_api_base_url.removesuffix('/bot')}/file/bot")
        .context_types(ContextTypes(context=Context, bot_data=BotData))
        # An even 29 requests a second, urgent ones first (`bot/delivery/pacing.py`); a chat that
        # must wait long (a busy group, a flood wait) is refused at once, and the dispatcher puts
        # its row back, due after the wait.
        # A clock handed in (a simulation's) also times Telegram's flood waits.
        .rate_limiter(
            rate_limiter or Pacing(flood_clock=(lambda: clock.now().timestamp()) if clock else None)
        )
        .post_init(_post_init)
        .post_stop(_post_stop)
        .post_shutdown(_post_shutdown)
        # No Updater: it confirms an update before any handler runs. Our own loop confirms only
        # what the database holds (`bot/delivery/polling.py`, `bot/delivery/intake.py`).
        .updater(None)
    )
    # aiohttp, not PTB's httpx: a third of the CPU a request (`bot/delivery/transport.py`).
    transports = (
        request or AiohttpRequest(),
        get_updates_request or AiohttpRequest(connection_pool_size=1),
    )
    builder = builder.request(transports[0]).get_updates_request(transports[1])
    application = builder.build()
    application.bot_data.transports = transports

    application.bot_data.dispatch_rounds = dispatch_rounds
    application.bot_data.services = build_services(
        settings,
        Database(settings.database_url),
        clock or SystemClock(),
        TelegramNotifier(application.bot),
    )
    pacing = application.bot.rate_limiter
    if isinstance(pacing, Pacing):
        pacing.answering = application.bot_data.services.intake.answering  # bulk makes way
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
                Say("admin_unreachable_chat", {"chat": chat_id, "error": type(exc).__name__})
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
    dispatcher = Dispatcher(db, reminders, notifier, clock, settings, checkins, alerts)
    dispatcher.digests = Digests(db, notifier, clock, settings)
    intake = Intake(db, clock, first_aid=inbox.first_aid)
    dispatcher.answering = intake.answering
    metrics = Metrics()
    for outbox in (dispatcher.outbox, alerts.outbox, checkins.outbox, dispatcher.digests.outbox):
        outbox.metrics = metrics  # each counts its sends by kind and outcome
    return Services(
        settings=settings,
        db=db,
        clock=clock,
        reminders=reminders,
        dispatcher=dispatcher,
        conversation=conversation,
        care=Care(db, reminders, clock, settings),
        checkins=checkins,
        alerts=alerts,
        concerns=concerns,
        inbox=inbox,
        care_team=CareTeam(db, notifier, clock, settings, reminders, alerts),
        privacy=Privacy(db, notifier, clock, settings),
        shown=notifier.shown if isinstance(notifier, TelegramNotifier) else Shown(),
        # After an outage: what waited goes out once Telegram answers, alerts first.
        recovery=Recovery(db, notifier, clock, alerts, dispatcher.dispatch),
        intake=intake,
        metrics=metrics,
    )


async def _post_init(application: Application) -> None:
    # The schema is migrated before start-up (`ldn-bot migrate`), never here: several instances
    # starting at once would race; `ldn-bot run` has checked the revision already.
    services: Services = application.bot_data.services
    settings = services.settings
    await application.bot.set_my_commands(
        [BotCommand(name, team_text(f"command_{name}", settings)) for name in MENU_COMMANDS]
    )
    await check_provider_chats(application)
    if application.bot_data.dispatch_rounds:
        # An asyncio task on the event loop's monotonic clock, not a JobQueue job: APScheduler
        # waits for wall-clock moments, so a clock set back an hour stopped it for an hour.
        services.dispatcher.start(settings.dispatch_interval_seconds)
    log.info("Bot started")


async def _post_stop(application: Application) -> None:
    # Before the bot's connection closes: the send under way finishes, the rest stays due.
    await application.bot_data.services.dispatcher.stop()


async def _post_shutdown(application: Application) -> None:
    services: Services = application.bot_data.services
    await services.dispatcher.stop()  # already stopped, unless the application never started
    await services.recovery.stop()
    try:
        # Alerts still on their way get a moment; what is cut short stays due in the database.
        await asyncio.wait_for(services.alerts.settle(), timeout=5)
    except TimeoutError:
        log.warning("Shut down with alerts still being sent: the dispatcher sends them on restart")
    await services.db.dispose()
