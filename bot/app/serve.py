"""Run the Application until SIGTERM or SIGINT, as `run_polling` does: polling or a webhook.

initialize, post_init, start, then the loop that takes updates in, then stop, post_stop, shutdown
and post_shutdown.
"""

from __future__ import annotations

import asyncio
import signal

from telegram.ext import Application

from bot.delivery.polling import Poller


async def serve(application: Application, *, webhook: bool = False) -> None:
    """Run the bot until SIGTERM or SIGINT: long polling, or Telegram posting to our webhook."""
    if webhook:
        raise NotImplementedError("webhook mode")
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    try:
        await application.initialize()
        await application.bot.delete_webhook()
        if application.post_init is not None:
            await application.post_init(application)
        await application.start()
        await Poller(application).run(stopping)
    finally:
        if application.running:
            await application.stop()
            if application.post_stop is not None:
                await application.post_stop(application)
        await application.shutdown()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)
