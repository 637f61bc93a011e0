"""Webhook mode and the web app: the secret, 200 only once stored, /healthz and /metrics.

Through the real stack: `serve` runs the Application against the in-process fake Telegram, with
a real database and a virtual clock; the test plays Telegram's side of the webhook over HTTP on
loopback, posting the updates the fake users produce.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from telegram.ext import Application

from bot.app.application import build_application
from bot.app.context import Services
from bot.app.serve import serve
from bot.app.settings import Settings
from bot.app.web import SECRET_HEADER, CannotListen
from bot.ui.texts import t
from devtools.simulation import VirtualClock, paced_on
from fake_telegram.core import FakeTelegram
from fake_telegram.transport import FakeRequest
from storage.db import Database
from storage.models import ReceivedUpdate
from tests.integration.test_reminders import reminders
from tests.support.seed import seed_patients

SECRET = "a-Secret_of-the-clinic-42"
WEBHOOK_URL = "https://bot.example.org/telegram/updates"
PATH = "/telegram/updates"

METRICS = (
    "ldn_sends_total",
    "ldn_updates_received_total",
    "ldn_update_handling_seconds",
    "ldn_dispatcher_lag_seconds",
    "ldn_dispatcher_round_seconds",
    "ldn_reminders_due",
    "ldn_reminders_overdue",
    "ldn_escalations_open",
)


async def eventually(check: Callable[[], bool], seconds: float = 60.0) -> None:
    """Wait for `check`; the generous bound only covers a machine busy with other work."""
    for _ in range(int(seconds / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the condition did not come true in time")


@dataclass
class Running:
    """The bot under `serve`, the fake Telegram behind it, and a client playing Telegram."""

    app: Application
    telegram: FakeTelegram
    clock: VirtualClock
    client: aiohttp.ClientSession

    @property
    def services(self) -> Services:
        return self.app.bot_data.services

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.app.bot_data.web_port}"

    async def post(self, body: Any, secret: str | None = SECRET) -> int:
        """Post `body` (a dict as JSON, bytes as they are) as Telegram would; the status."""
        headers = {} if secret is None else {SECRET_HEADER: secret}
        kwargs = {"data": body} if isinstance(body, bytes) else {"json": body}
        async with self.client.post(self.base + PATH, headers=headers, **kwargs) as response:
            return response.status

    async def get(self, path: str) -> tuple[int, str]:
        async with self.client.get(self.base + path) as response:
            return response.status, await response.text()

    async def stored(self, update_id: int | None = None) -> int:
        """How many updates the database holds (with `update_id`, when given)."""
        query = select(func.count()).select_from(ReceivedUpdate)
        if update_id is not None:
            query = query.where(ReceivedUpdate.update_id == update_id)
        async with self.services.db.session() as session:
            return int(await session.scalar(query) or 0)


def web_settings(settings: Settings, **changes: object) -> Settings:
    return settings.model_copy(
        update={
            "webhook_url": WEBHOOK_URL,
            "webhook_secret": SecretStr(SECRET),
            "webhook_listen": "127.0.0.1",
            "webhook_port": 0,
            **changes,
        }
    )


@contextlib.asynccontextmanager
async def serving(
    settings: Settings, clock: VirtualClock, *, webhook: bool = True
) -> AsyncIterator[Running]:
    """Run `serve` until the block ends; the dispatcher's rounds are the test's to drive."""
    telegram = FakeTelegram(clock=clock.now)
    app = build_application(
        settings,
        clock=clock,
        request=FakeRequest(telegram),
        get_updates_request=FakeRequest(telegram),
        dispatch_rounds=False,
        rate_limiter=paced_on(clock),
    )
    stopping = asyncio.Event()
    task = asyncio.create_task(serve(app, webhook=webhook, stopping=stopping))
    if webhook:
        await eventually(lambda: bool(telegram.webhook_url) or task.done())
    else:
        await eventually(lambda: bool(telegram.calls("getUpdates")) or task.done())
    if task.done():
        await task  # start-up failed: its exception is the test's
    async with aiohttp.ClientSession() as client:
        try:
            yield Running(app, telegram, clock, client)
        finally:
            stopping.set()
            await task
    assert telegram.client_errors() == [], "the bot sent a request Telegram would refuse"


@pytest.fixture
async def running(settings: Settings, clock: VirtualClock, db: Database) -> AsyncIterator[Running]:
    async with serving(web_settings(settings), clock) as bot:
        yield bot


@contextlib.contextmanager
def database_down(services: Services, tmp_path: Path) -> Iterator[None]:
    """Point the bot's sessions at a database that cannot be reached, then back."""
    db = services.db
    working = db._sessions
    broken = create_async_engine(f"sqlite+aiosqlite:///{tmp_path}/no/such/folder/down.sqlite3")
    db._sessions = async_sessionmaker(broken, expire_on_commit=False)
    try:
        yield
    finally:
        db._sessions = working


# The webhook


async def test_set_webhook_names_the_url_and_the_secret_and_keeps_pending_updates(
    running: Running,
) -> None:
    [call] = running.telegram.calls("setWebhook")
    assert call.params["url"] == WEBHOOK_URL
    assert call.params["secret_token"] == SECRET
    assert "message" in call.params["allowed_updates"]
    assert not call.params.get("drop_pending_updates")
    assert not running.telegram.calls("deleteWebhook")


async def test_a_post_without_the_secret_or_with_a_wrong_one_is_refused_and_nothing_stored(
    running: Running,
) -> None:
    user = running.telegram.user(7001)
    update = user.send("/start")
    assert await running.post(update, secret=None) == 403
    assert await running.post(update, secret="not-the-secret") == 403
    assert await running.post(update, secret=SECRET + "x") == 403
    assert await running.stored() == 0
    assert user.messages() == []


async def test_a_post_with_the_secret_is_stored_then_answered(running: Running) -> None:
    user = running.telegram.user(7002)
    update = user.send("/start")
    assert await running.post(update) == 200
    assert await running.stored(update["update_id"]) == 1  # stored before the 200
    consent = t("button_consent_yes")
    await eventually(lambda: any(consent in m.buttons() for m in user.messages()))


async def test_a_post_is_claimed_as_it_is_stored_and_answered_once(running: Running) -> None:
    intake = running.services.intake
    await eventually(lambda: intake.taking)  # the worker waits for what is posted
    user = running.telegram.user(7004)
    update = user.send("/help")
    assert await running.post(update) == 200
    # By the 200 the update was this process's: claimed in the transaction that stored it.
    async with running.services.db.session() as session:
        row = await session.get(ReceivedUpdate, update["update_id"])
    assert row is not None
    assert row.claimed_by == intake.name or row.handled_at is not None
    await eventually(lambda: len(user.messages()) == 1)
    assert await running.post(update) == 200  # Telegram sends it again: kept once, not handled
    assert await running.post(user.send("/help")) == 200
    await eventually(lambda: len(user.messages()) >= 2)
    assert len(user.messages()) == 2, "the update sent again was not answered again"


async def test_junk_is_a_bad_request_and_nothing_is_stored(running: Running) -> None:
    assert await running.post(b"this is not json") == 400
    assert await running.post(b"\xff\xfe") == 400
    assert await running.post([1, 2, 3]) == 400
    assert await running.post({"update_id": 5}) == 400
    assert await running.post({"update_id": "5", "message": {}}) == 400
    assert await running.post({"message": {"text": "hi"}}) == 400
    assert await running.stored() == 0


async def test_a_post_the_database_cannot_take_is_500_and_telegrams_retry_is_stored_once(
    running: Running, tmp_path: Path
) -> None:
    user = running.telegram.user(7003)
    update = user.send("/start")
    with database_down(running.services, tmp_path):
        assert await running.post(update) == 500
    assert await running.stored() == 0
    # Telegram sends it again, and once more (it never heard the first 200 in time, say).
    assert await running.post(update) == 200
    assert await running.post(update) == 200
    assert await running.stored(update["update_id"]) == 1
    # Updates are handled in order: once /help is answered, the /start before it was too.
    await eventually(lambda: bool(user.messages()))
    count = len(user.messages())
    assert await running.post(user.send("/help")) == 200
    await eventually(lambda: len(user.messages()) > count)
    consent = t("button_consent_yes")
    asked = [m for m in user.messages() if consent in m.buttons()]
    assert len(asked) == 1  # one consent question: the /start was handled once


# /healthz


async def test_healthz_is_200_then_503_when_the_dispatcher_stalls(running: Running) -> None:
    status, body = await running.get("/healthz")
    assert status == 200, body  # no round yet, but only just started
    await running.services.dispatcher.dispatch()
    status, body = await running.get("/healthz")
    assert status == 200, body
    assert '"dispatcher": "ok"' in body and '"database": "ok"' in body

    running.clock.advance(minutes=10)  # no round for ten minutes
    status, body = await running.get("/healthz")
    assert status == 503
    assert '"database": "ok"' in body
    assert "the last round finished 600 s ago" in body

    await running.services.dispatcher.dispatch()
    assert (await running.get("/healthz"))[0] == 200


async def test_healthz_is_503_when_the_database_is_gone(running: Running, tmp_path: Path) -> None:
    await running.services.dispatcher.dispatch()
    with database_down(running.services, tmp_path):
        status, body = await running.get("/healthz")
    assert status == 503
    assert '"database": "failed (OperationalError)"' in body
    assert '"dispatcher": "ok"' in body
    assert (await running.get("/healthz"))[0] == 200


# /metrics


async def test_metrics_name_every_series_and_count_a_sent_reminder(
    running: Running, settings: Settings
) -> None:
    patient = running.telegram.user(7004, opened=True)
    due = running.clock.now()
    await seed_patients(running.services.db, settings, [patient.id], due)
    running.clock.advance(minutes=15)  # due a quarter of an hour ago: overdue
    status, text = await running.get("/metrics")
    assert status == 200
    for name in METRICS:
        assert f"# TYPE {name} " in text, name
    assert "ldn_reminders_due 1.0" in text
    assert "ldn_reminders_overdue 1.0" in text
    assert "ldn_dispatcher_lag_seconds 900.0" in text
    assert 'ldn_sends_total{kind="reminder",outcome="sent"} 0.0' in text
    assert 'ldn_escalations_open{age="<1h",tier="urgent"} 0.0' in text

    await running.services.dispatcher.dispatch()
    assert len(reminders(patient)) == 1
    update = patient.send("/today")
    assert await running.post(update) == 200
    await eventually(lambda: len(patient.messages()) > 1)
    status, text = await running.get("/metrics")
    assert 'ldn_sends_total{kind="reminder",outcome="sent"} 1.0' in text
    assert "ldn_reminders_due 0.0" in text
    assert "ldn_updates_received_total 1.0" in text
    assert "ldn_update_handling_seconds_count 1.0" in text
    assert "ldn_dispatcher_round_seconds_count 1.0" in text
    assert str(patient.id) not in text  # no patient in any label


# The address taken


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


async def test_webhook_mode_stops_when_its_port_is_taken(
    settings: Settings, clock: VirtualClock, db: Database, taken_port: int
) -> None:
    with pytest.raises(CannotListen, match=f"cannot listen on 127.0.0.1:{taken_port}"):
        async with serving(web_settings(settings, webhook_port=taken_port), clock):
            pass


async def test_polling_goes_on_without_its_web_app_when_the_port_is_taken(
    settings: Settings,
    clock: VirtualClock,
    db: Database,
    taken_port: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    changed = web_settings(settings, webhook_port=taken_port)
    async with serving(changed, clock, webhook=False) as bot:
        user = bot.telegram.user(7005)
        user.send("/start")
        await eventually(lambda: bool(user.messages()))
        assert bot.app.bot_data.web_port is None
    warned = [r for r in caplog.records if "/healthz" in r.getMessage()]
    assert len(warned) == 1
    assert f"cannot listen on 127.0.0.1:{taken_port}" in warned[0].getMessage()


async def test_what_start_up_made_is_set_aside_from_the_collector_while_serving(
    settings: Settings, clock: VirtualClock, db: Database
) -> None:
    """A full collection walks only what came after start-up, while the bot serves; once it
    stops, everything is the collector's again."""
    async with serving(web_settings(settings), clock):
        assert gc.get_freeze_count() > len(gc.get_objects())
    assert gc.get_freeze_count() == 0
