"""Run the Application until SIGTERM or SIGINT, as `run_polling` does: polling or a webhook.

initialize, post_init, start, then the loop that takes updates in, then stop, post_stop, shutdown
and post_shutdown. The web app (`bot/app/web.py`) listens from before initialize to the end: in
webhook mode it takes Telegram's posts and the worker alone handles them; in polling mode our
getUpdates loop takes them, and the web app serves only /healthz and /metrics.

Once started, what start-up made is set aside from Python's garbage collector (`set_aside`): a
full collection would otherwise walk every object of the framework, the ORM and the metrics,
and every answer under way would wait for it.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import Application

from bot.app.web import CannotListen, WebApp
from bot.delivery.polling import Poller
from bot.delivery.worker import Worker

log = logging.getLogger(__name__)


class WebhookRefused(Exception):
    """Telegram would not post to WEBHOOK_URL; the message is one line naming it."""


async def serve(
    application: Application, *, webhook: bool = False, stopping: asyncio.Event | None = None
) -> None:
    """Run the bot until SIGTERM or SIGINT: long polling, or Telegram posting to our webhook.

    In webhook mode an address that cannot be bound raises `CannotListen`; in polling mode the
    bot goes on without its web app, with one warning. A test hands in `stopping` instead of
    sending the process a signal.
    """
    if stopping is None:
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping.set)
    worker = Worker(application)
    site = WebApp(application, worker if webhook else None)
    try:
        try:
            await site.start()
        except CannotListen as exc:
            if webhook:
                raise
            log.warning("No /healthz or /metrics: %s", exc)
        await application.initialize()
        if webhook:
            # Other instances may share the database: their claims are theirs until they run out.
            application.bot_data.services.dispatcher.shared = True
        else:
            await application.bot.delete_webhook()
        if application.post_init is not None:
            await application.post_init(application)
        await application.start()
        set_aside()
        if webhook:
            settings = application.bot_data.services.settings
            try:
                # Not drop_pending_updates: what Telegram holds for us is still to be handled.
                await application.bot.set_webhook(
                    url=settings.webhook_url,
                    secret_token=settings.webhook_secret.get_secret_value(),
                    allowed_updates=Update.ALL_TYPES,
                )
            except BadRequest as exc:
                raise WebhookRefused(f"WEBHOOK_URL: Telegram refused it ({exc.message})") from None
            log.info("Webhook set: Telegram posts updates to this process")
            await worker.run(stopping)
        else:
            await Poller(application, worker).run(stopping)
    finally:
        gc.unfreeze()  # what start-up made may go now (and a test may serve again)
        # Nothing more is taken in: a post from now on fails, and Telegram sends it again.
        await site.stop()
        if application.running:
            await application.stop()
            if application.post_stop is not None:
                await application.post_stop(application)
        await application.shutdown()
        for transport in application.bot_data.transports:
            await transport.shutdown()  # if initialize failed half-way (Telegram unreachable)
        if application.post_shutdown is not None:
            await application.post_shutdown(application)


def set_aside() -> None:
    """Set the objects that exist now aside from the garbage collector (`gc.freeze`).

    A full collection walks every object the process holds. A started bot holds about 145,000
    from start-up alone, and one walk of them took 80-130 ms here, about once a minute under
    load, with every answer under way waiting. They live as long as the process: set aside, a
    full collection walks only what came after (2-5 ms).
    """
    gc.collect()
    gc.freeze()
