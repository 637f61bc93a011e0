"""The whole application running as in production: polling, the JobQueue dispatcher, start-up."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from bot.application import MENU_COMMANDS, build_application
from bot.polling import Poller
from bot.settings import Settings
from bot.simulation import VirtualClock
from bot.texts import t
from fake_telegram.core import FakeTelegram
from fake_telegram.transport import FakeRequest


async def _eventually(check: Callable[[], bool], seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the condition did not come true in time")


async def test_polling_job_queue_and_dispatcher_run_together(
    settings: Settings, clock: VirtualClock, db: object
) -> None:
    """Enroll over our own polling loop, then the JobQueue's dispatcher sends the reminder."""
    settings = settings.model_copy(update={"dispatch_interval_seconds": 1})
    telegram = FakeTelegram(clock=clock.now)
    app = build_application(
        settings,
        clock=clock,
        request=FakeRequest(telegram),
        get_updates_request=FakeRequest(telegram),
    )
    user = telegram.user(5005)
    async with app:
        assert app.post_init is not None
        await app.post_init(app)
        await app.start()
        stopping = asyncio.Event()
        polling = asyncio.create_task(Poller(app).run(stopping))

        job = app.job_queue.get_jobs_by_name("dispatcher")[0].job
        # A stalled event loop must delay the dispatcher, never make APScheduler skip it.
        assert job.misfire_grace_time is None and job.coalesce and job.max_instances == 1

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
        for typed, button in steps:
            count = len(user.messages())
            if typed is not None:
                user.send(typed)
            else:
                last = user.last()
                user.press(last, next(b for b in last.buttons() if b.startswith(button)))
            await _eventually(lambda count=count: len(user.messages()) > count)
        assert user.last().text.startswith(t("enrolled", bedtime="22:30")[:20])

        clock.set(datetime(2026, 3, 5, 3, 30, tzinfo=UTC))  # 22:30 in New York
        await _eventually(lambda: user.last().text.startswith("🌙"))

        stopping.set()
        await polling
        await app.stop()
        assert app.post_shutdown is not None
        await app.post_shutdown(app)

    reminders = [m for m in user.messages() if m.text.startswith("🌙")]
    assert len(reminders) == 1
    assert [c["command"] for c in telegram.commands or []] == list(MENU_COMMANDS)
    assert telegram.client_errors() == []
