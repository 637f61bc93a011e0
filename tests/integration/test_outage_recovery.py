"""After a Telegram outage: what waited goes out within seconds, alerts first; calm logs."""

from __future__ import annotations

import asyncio
import io
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from telegram.error import NetworkError

from bot.app.recovery import PROBE_SECONDS
from bot.delivery.netlog import NetworkFailures, calm
from bot.rules.nightly import SENDING_TIMEOUT
from bot.rules.states import TierCode
from bot.ui.texts import t
from devtools.simulation import Simulation
from storage.models import Escalation
from tests.integration.test_care_loop import alerts, enroll, invite
from tests.support.harness import ADMIN, DOCTOR, NURSE

URGENT, EMERGENCY, QUIET = 301, 302, 303
# Their first night: 22:00 in New York.
FIRST_REMINDER = datetime(2026, 3, 5, 3, 0, tzinfo=UTC)
# An outage of the bot's sends: the patients' words still come in (getUpdates answers).
SENDS_ONLY = ("getUpdates",)


async def three_patients(care: Simulation) -> None:
    for user_id, label in ((URGENT, "AB-1"), (EMERGENCY, "AB-2"), (QUIET, "AB-3")):
        await enroll(care, care.telegram.user(user_id), await invite(care, label))


def sent_to(care: Simulation, chat_id: int, since: int) -> list[int]:
    """Indexes in the fake's request log of the messages delivered to a chat from `since` on."""
    return [
        i
        for i, call in enumerate(care.telegram.requests)
        if i >= since
        and call.method == "sendMessage"
        and call.ok
        and call.params.get("chat_id") == chat_id
    ]


async def outage(care: Simulation, start: datetime, minutes: float) -> None:
    """Telegram stops answering at `start`: an urgent and an emergency concern come in, and a
    reminder falls due; the dispatcher runs on through it; then Telegram answers again."""
    await care.run_until(start)
    care.telegram.outage(502, spare=SENDS_ONLY)
    await care.say(care.telegram.user(URGENT), "they gave me oxycodone at the dentist")
    await care.say(care.telegram.user(EMERGENCY), "I want to kill myself")
    await care.run_until(start + timedelta(minutes=minutes))
    care.telegram.outage(None)


async def test_after_a_12_minute_outage_alerts_then_reminders_go_out_within_seconds(
    care: Simulation,
) -> None:
    await three_patients(care)
    start = FIRST_REMINDER - timedelta(minutes=10)
    await outage(care, start, 12)
    for chat in (DOCTOR, NURSE):
        assert alerts(care, chat) == []
    assert care.reminders_to(care.telegram.user(QUIET)) == []
    end = care.clock.now()

    # The probe asks Telegram every few seconds: its first answer sends everything that waited.
    care.clock.advance(seconds=PROBE_SECONDS)
    mark = len(care.telegram.requests)
    assert await care.services.recovery.probe()

    assert care.clock.now() - end == timedelta(seconds=PROBE_SECONDS)
    for chat in (DOCTOR, NURSE):
        tiers = [a.text.split(" · ")[0] for a in alerts(care, chat) if a.text]
        assert tiers == [t("tier_emergency"), t("tier_urgent")]  # the most serious first
    assert len(care.reminders_to(care.telegram.user(QUIET))) == 1
    # Alerts before the reminder, and the admins told of the failed alerts after both.
    providers = sent_to(care, DOCTOR, mark) + sent_to(care, NURSE, mark)
    assert max(providers) < min(sent_to(care, QUIET, mark))
    assert sent_to(care, ADMIN, mark)


async def test_the_probe_notices_by_itself_on_the_monotonic_clock(care: Simulation) -> None:
    recovery = care.services.recovery
    recovery.probe_seconds = 0.01  # real seconds: the probe runs on the monotonic clock
    await three_patients(care)
    await outage(care, FIRST_REMINDER - timedelta(minutes=10), 12)

    for _ in range(200):  # at most 2 s of real time; the virtual clock does not move
        if alerts(care, DOCTOR) and care.reminders_to(care.telegram.user(QUIET)):
            break
        await asyncio.sleep(0.01)
    await care.services.alerts.settle()
    assert len(alerts(care, DOCTOR)) == 2
    assert len(care.reminders_to(care.telegram.user(QUIET))) == 1


async def test_a_flood_limit_is_still_waited_out_after_an_outage(care: Simulation) -> None:
    await three_patients(care)
    # The quiet patient's reminder meets a flood limit of five minutes just before the outage.
    care.telegram.fail("sendMessage", status=429, retry_after=300, chat_id=QUIET)
    await care.run_until(FIRST_REMINDER)
    await outage(care, FIRST_REMINDER + timedelta(seconds=1), 1)

    care.clock.advance(seconds=PROBE_SECONDS)
    assert await care.services.recovery.probe()
    assert len(alerts(care, DOCTOR)) == 2
    assert care.reminders_to(care.telegram.user(QUIET)) == []  # its wait is not over
    await care.run_until(FIRST_REMINDER + timedelta(seconds=302))
    assert len(care.reminders_to(care.telegram.user(QUIET))) == 1


async def test_an_outage_of_many_calls_logs_a_line_per_kind_and_minute_without_tracebacks(
    care: Simulation,
) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    # Minutes follow the virtual clock here, as they follow the monotonic one live.
    calm(handler, NetworkFailures(monotonic=lambda: care.clock.now().timestamp()))
    care.services.recovery.link.monotonic = lambda: care.clock.now().timestamp()
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)
    try:
        await three_patients(care)
        start = FIRST_REMINDER - timedelta(minutes=3)
        await care.run_until(start)
        care.telegram.outage(502, spare=SENDS_ONLY)
        await care.say(care.telegram.user(URGENT), "they gave me oxycodone at the dentist")
        for minute in range(5):
            for user_id in (URGENT, EMERGENCY, QUIET) * 4:  # every answer fails
                await care.say(care.telegram.user(user_id), "hello?")
            # python-telegram-bot's poller fails alike, with a traceback each time.
            for _ in range(10):
                updater = logging.getLogger("telegram.ext.Updater")
                try:
                    raise NetworkError("Bad Gateway")
                except NetworkError as exc:
                    updater.exception("Exception happened while polling for updates.", exc_info=exc)
            await care.run_until(start + timedelta(minutes=minute + 1))
        care.telegram.outage(None)
        care.clock.advance(seconds=PROBE_SECONDS)
        await care.services.recovery.probe()
    finally:
        root.removeHandler(handler)
        root.setLevel(level)

    lines = stream.getvalue().splitlines()
    failed = sum(1 for c in care.telegram.requests if c.injected)
    assert failed > 40, failed
    assert "Traceback" not in stream.getvalue()
    # Per minute: a line for each logger and kind of failure, not one per failed call.
    assert len(lines) <= 5 * 4 + 4, "\n".join(lines)
    assert any("Telegram answers again after 5 min" in line for line in lines), "\n".join(lines)


async def test_the_recovery_leaves_an_alert_another_process_is_sending_to_that_process(
    care: Simulation,
) -> None:
    await three_patients(care)
    await outage(care, FIRST_REMINDER - timedelta(minutes=10), 12)
    # Another instance on the same database has just claimed the urgent alert and is sending it:
    # its claim is in the row (this process's memory knows nothing of it).
    now = care.clock.now()
    deadline = now + SENDING_TIMEOUT
    async with care.services.db.session() as session:
        urgent = (
            await session.execute(select(Escalation).where(Escalation.tier == TierCode.URGENT))
        ).scalar_one()
        assert urgent.attempts > 0 and urgent.next_action_at is not None
        urgent.next_action_at = urgent.sending_until = deadline
        await session.commit()

    care.clock.advance(seconds=PROBE_SECONDS)
    assert await care.services.recovery.probe()

    # The emergency goes out at once; the urgent alert is the other instance's to send.
    for chat in (DOCTOR, NURSE):
        assert [a.text.split(" · ")[0] for a in alerts(care, chat) if a.text] == [
            t("tier_emergency")
        ]
    # That instance died before it recorded the send: once its claim runs out, it is taken over.
    await care.run_until(deadline + timedelta(minutes=1))
    for chat in (DOCTOR, NURSE):
        tiers = [a.text.split(" · ")[0] for a in alerts(care, chat) if a.text]
        assert tiers == [t("tier_emergency"), t("tier_urgent")]
    async with care.services.db.session() as session:
        rows = (await session.execute(select(Escalation))).scalars().all()
        assert all(row.sending_until is None for row in rows)
