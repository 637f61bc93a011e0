"""The whole application running as in production: polling, the dispatcher's rounds, start-up."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path

import apscheduler.schedulers.base
import pytest
from sqlalchemy import update
from telegram import Update
from telegram.ext import Application, ContextTypes, JobQueue, TypeHandler

from bot.app.application import build_application
from bot.app.context import MENU_COMMANDS
from bot.app.dispatcher import IN_FLIGHT
from bot.app.settings import Settings
from bot.delivery.polling import Poller
from bot.delivery.worker import PARSED_KEPT, Worker
from bot.ui.texts import t
from devtools.simulation import Simulation, VirtualClock
from fake_telegram.core import FakeTelegram
from fake_telegram.transport import FakeRequest
from storage.models import Dose
from tests.integration.test_reminders import enroll, reminders
from tests.support.updates import Updates, handled


def _on_fake_telegram(settings: Settings, clock: VirtualClock) -> tuple[Application, FakeTelegram]:
    """The application as `run` builds it, its requests answered by a fake Telegram."""
    telegram = FakeTelegram(clock=clock.now)
    app = build_application(
        settings,
        clock=clock,
        request=FakeRequest(telegram),
        get_updates_request=FakeRequest(telegram),
    )
    return app, telegram


async def _eventually(check: Callable[[], bool], seconds: float = 60.0) -> None:
    """Wait for `check`; the generous default only bounds a machine busy with other work."""
    for _ in range(int(seconds / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the condition did not come true in time")


async def test_polling_and_the_dispatchers_rounds_run_together(
    settings: Settings, clock: VirtualClock, db: object
) -> None:
    """Enroll over our own polling loop, then the dispatcher's own rounds send the reminder."""
    settings = settings.model_copy(update={"dispatch_interval_seconds": 1})
    app, telegram = _on_fake_telegram(settings, clock)
    user = telegram.user(5005)
    async with app:
        assert app.post_init is not None
        await app.post_init(app)
        await app.start()
        stopping = asyncio.Event()
        polling = asyncio.create_task(Poller(app).run(stopping))

        steps = [
            ("/start", None),
            (None, "Yes"),
            (None, "None of these"),
            (None, "0.5 mg"),
            ("new york", None),
            (None, "New York"),
            (None, "Tonight"),
            ("22:30", None),
            (None, "Yes, start"),
        ]
        Updates.db = app.bot_data.services.db
        for typed, button in steps:
            count = len(user.messages())
            if typed is not None:
                update = user.send(typed)
            else:
                last = user.last()
                update = user.press(last, next(b for b in last.buttons() if b.startswith(button)))
            # Each answer whole before the next step: a press on a message already past is
            # answered as such, and would change the conversation.
            await handled(update)
            assert len(user.messages()) > count
        assert user.last().text.startswith(t("enrolled", bedtime="22:30")[:20])

        clock.set(datetime(2026, 3, 5, 3, 30, tzinfo=UTC))  # 22:30 in New York
        await _eventually(lambda: user.last().text.startswith("🌙"))

        stopping.set()
        await polling
        await app.stop()
        assert app.post_stop is not None and app.post_shutdown is not None
        await app.post_stop(app)
        await app.post_shutdown(app)

    reminders = [m for m in user.messages() if m.text.startswith("🌙")]
    assert len(reminders) == 1
    assert [c["command"] for c in telegram.commands or []] == list(MENU_COMMANDS)
    assert telegram.client_errors() == []


async def test_an_update_is_handled_as_the_poller_read_it_and_parsed_again_only_once_let_go(
    settings: Settings, clock: VirtualClock, db: object
) -> None:
    """Each update is parsed once, not again from what was stored; the poller's updates are
    kept only until handled, and at most PARSED_KEPT of them: one let go is parsed again."""
    app, telegram = _on_fake_telegram(settings, clock)
    handed: list[Update] = []

    async def spy(update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        handed.append(update)

    app.add_handler(TypeHandler(Update, spy), group=-10)  # first, whatever comes after
    read: list[Update] = []
    worker = Worker(app)
    keep = worker.parsed

    def parsed(updates: list[Update]) -> None:
        read.extend(updates)
        keep(updates)

    worker.parsed = parsed  # type: ignore[method-assign]
    poller = Poller(app, worker)
    user = telegram.user(5007)
    async with app:
        user.send("/help")
        assert await poller.fetch(wait=0) == 1
        assert await poller.work() == 1
        assert handed == read and handed[0] is read[0]
        await worker.process(read[0].to_dict())  # handled again (its database failed): anew
        assert handed[-1] is not read[0] and handed[-1].to_dict() == read[0].to_dict()

        user.send("/plan")
        assert await poller.fetch(wait=0) == 1
        others = [Update(update_id=10**9 + n) for n in range(PARSED_KEPT)]
        keep(others)  # as many more read and not handled here: the /plan is let go
        assert await poller.work() == 1
        again = handed[-1]
        assert again is not read[-1] and again.to_dict() == read[-1].to_dict()
        assert again.message is not None and again.message.text == "/plan"
    assert telegram.client_errors() == []


class _Wall(datetime):
    """`datetime` whose now() is the virtual clock: the wall clock every scheduler reads."""

    clock: VirtualClock

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
        return cls.clock.now().astimezone(tz)


async def test_a_wall_clock_set_back_an_hour_delays_no_reminder(
    settings: Settings, clock: VirtualClock, db: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 9: a night due 2.9 minutes after a one-hour step back was not sent within 7."""
    # Every scheduler in the process reads the virtual wall clock (APScheduler, PTB's JobQueue).
    _Wall.clock = clock
    monkeypatch.setattr(apscheduler.schedulers.base, "datetime", _Wall)
    monkeypatch.setattr(JobQueue, "_tz_now", lambda self: clock.now().astimezone(UTC))
    settings = settings.model_copy(update={"dispatch_interval_seconds": 1})
    app, telegram = _on_fake_telegram(settings, clock)
    user = telegram.user(5006)
    async with app:
        assert app.post_init is not None and app.post_stop is not None
        await app.post_init(app)
        await app.start()
        simulation = Simulation(app, telegram, clock)
        await enroll(simulation, user)
        await asyncio.sleep(1.5)  # a round or two on the clock as it was

        clock.advance(hours=-1)  # the wall clock is set back an hour
        due = clock.now() + timedelta(minutes=2.9)
        async with app.bot_data.services.db.session() as session:
            await session.execute(update(Dose).values(remind_at=due, next_action_at=due))
            await session.commit()
        clock.set(due + timedelta(seconds=6))  # and runs on past the bedtime
        await _eventually(lambda: len(reminders(user)) == 1, seconds=5)

        await app.stop()
        await app.post_stop(app)
    assert telegram.client_errors() == []


@pytest.mark.parametrize(
    ("database", "in_flight"),
    [("sqlite+aiosqlite://", 1), ("sqlite+aiosqlite:///{folder}/bot.sqlite3", IN_FLIGHT)],
)
async def test_reminders_go_side_by_side_unless_every_session_shares_one_connection(
    settings: Settings, tmp_path: Path, database: str, in_flight: int
) -> None:
    """A SQLite file takes writers in turn, so reminders go out side by side as on PostgreSQL;
    an in-memory database is one connection for every session, whose transactions would mix."""
    settings = settings.model_copy(update={"database_url": database.format(folder=tmp_path)})
    app = build_application(settings, request=FakeRequest(FakeTelegram()))
    services = app.bot_data.services
    try:
        assert services.db.one_connection == (in_flight == 1)
        assert services.dispatcher.in_flight == in_flight
    finally:
        await services.db.dispose()
