"""This process's web app: Telegram's webhook (in webhook mode), `/healthz` and `/metrics`.

One aiohttp app per process, on WEBHOOK_LISTEN:WEBHOOK_PORT. A webhook request is answered 200
only once its update is stored and committed (`Intake.store`): a request that fails is sent again
by Telegram, so nothing it posts is lost, and an update posted twice is kept once.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from telegram.ext import Application

from bot.app.context import Services
from bot.delivery.worker import Worker
from storage.health import answers

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
DATABASE_TIMEOUT = 2.0  # seconds `/healthz` waits for the database's SELECT 1
# The dispatcher is stalled when no round finished for this many intervals (and at least
# STALE_AT_LEAST: a full round of 500 reminders at 30 a second takes about 17 s).
STALE_ROUNDS = 3
STALE_AT_LEAST = timedelta(seconds=60)
LOG_EVERY = 60.0  # seconds between two lines about refused webhook requests


class CannotListen(Exception):
    """The web app's address cannot be bound; the message is one line naming the settings."""


class WebApp:
    """The aiohttp app of one process; with a worker, it takes Telegram's webhook too."""

    def __init__(self, application: Application, worker: Worker | None = None) -> None:
        self.application = application
        self.worker = worker
        self.started_at: datetime | None = None
        self.port: int | None = None
        self._runner: web.AppRunner | None = None
        self._refused = 0
        self._logged_at: float | None = None
        self.app = web.Application()
        self.app.router.add_get("/healthz", self.healthz)
        self.app.router.add_get("/metrics", self.metrics)
        if worker is not None:
            self.app.router.add_post(webhook_path(self.services.settings.webhook_url), self.update)

    @property
    def services(self) -> Services:
        return self.application.bot_data.services

    async def start(self) -> int:
        """Listen on WEBHOOK_LISTEN:WEBHOOK_PORT; return the port (WEBHOOK_PORT=0 picks one)."""
        settings = self.services.settings
        host, port = settings.webhook_listen, settings.webhook_port
        # No access log: a request line names the webhook's path, which may be secret too.
        runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as exc:
            await runner.cleanup()
            # asyncio's own message repeats the address: the system's words alone are enough.
            reason = os.strerror(exc.errno).lower() if exc.errno else type(exc).__name__
            raise CannotListen(
                f"WEBHOOK_LISTEN, WEBHOOK_PORT: cannot listen on {host}:{port} ({reason})"
            ) from None
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        self.application.bot_data.web_port = self.port
        self.started_at = self.services.clock.now()
        log.info("Web app listening on %s:%s", host, self.port)
        return self.port

    async def stop(self) -> None:
        """Stop listening; requests under way finish first."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def update(self, request: web.Request) -> web.Response:
        """Telegram posts one update: check the secret, store it, then say 200."""
        secret = self.services.settings.webhook_secret.get_secret_value().encode()
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not secret or not hmac.compare_digest(given, secret):
            self._log_refused()
            return web.json_response({"ok": False, "error": "forbidden"}, status=403)
        try:
            payload = await request.json()
        except ValueError:
            return web.json_response({"ok": False, "error": "not JSON"}, status=400)
        if not is_update(payload):
            return web.json_response({"ok": False, "error": "not an update"}, status=400)
        try:
            stored = await self.services.intake.store([payload])
        except Exception as exc:
            log.error("Could not store a posted update: %s", type(exc).__name__, exc_info=exc)
            stored = False
        if not stored:
            # Telegram sends it again; the intake already answered an emergency in it.
            return web.json_response({"ok": False, "error": "not stored"}, status=500)
        self.services.metrics.received()
        return web.json_response({"ok": True})

    async def healthz(self, request: web.Request) -> web.Response:
        """200 when the database answers and the dispatcher's rounds go on; else 503 and why."""
        checks = {"database": await self._database(), "dispatcher": self._dispatcher()}
        healthy = all(check == "ok" for check in checks.values())
        body = {"status": "ok" if healthy else "failing", "checks": checks}
        return web.json_response(body, status=200 if healthy else 503)

    async def metrics(self, request: web.Request) -> web.Response:
        """Prometheus text: this process's counters, and gauges read from the database now."""
        services = self.services
        try:
            body = await asyncio.wait_for(
                services.metrics.scrape(services.db, services.clock.now()), DATABASE_TIMEOUT * 5
            )
        except Exception as exc:
            log.warning("Metrics could not read the database: %s", type(exc).__name__)
            return web.Response(status=503, text="the database did not answer\n")
        return web.Response(body=body, content_type="text/plain", charset="utf-8")

    async def _database(self) -> str:
        try:
            await asyncio.wait_for(answers(self.services.db), DATABASE_TIMEOUT)
        except TimeoutError:
            return f"no answer within {DATABASE_TIMEOUT:g} s"
        except Exception as exc:
            return f"failed ({type(exc).__name__})"
        return "ok"

    def _dispatcher(self) -> str:
        dispatcher = self.services.dispatcher
        now = self.services.clock.now()
        last = dispatcher.last_round_at
        since = last or self.started_at or now
        stale = max(timedelta(seconds=dispatcher.interval * STALE_ROUNDS), STALE_AT_LEAST)
        if now - since <= stale:
            return "ok"
        seconds = int((now - since).total_seconds())
        if last is None:
            return f"no round finished in the {seconds} s since start-up"
        return f"the last round finished {seconds} s ago"

    def _log_refused(self) -> None:
        """One line a minute at most about requests without the right secret: a scan is noisy."""
        self._refused += 1
        now = asyncio.get_running_loop().time()
        if self._logged_at is None or now - self._logged_at >= LOG_EVERY:
            self._logged_at = now
            log.warning(
                "Refused %d webhook request(s) without the right secret token", self._refused
            )
            self._refused = 0


def webhook_path(url: str) -> str:
    """The path Telegram posts to: WEBHOOK_URL's, behind whatever proxy ends TLS."""
    return urlsplit(url).path or "/"


def is_update(payload: Any) -> bool:
    """Say whether a posted body looks like an update: an update_id and something it carries."""
    if not isinstance(payload, dict):
        return False
    update_id = payload.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool) or update_id < 0:
        return False
    return any(isinstance(v, dict) for k, v in payload.items() if k != "update_id")
