"""Two bot processes in webhook mode on one PostgreSQL, behind a balancer, one killed (issue 11).

The fake Telegram posts every update to the clinic's https address, which the test's balancer
stands in for (round robin over the two processes, 502 when one is down, so that the fake tries
again and the next try goes to the other). A night of 500 reminders goes out while 20 patients
type red flags; one process is killed with SIGKILL halfway through the night and started again.
Then: every reminder went out (what the killed process had claimed, once its claims ran out),
a second time only for a night some process was sending at the kill or at the restart; every
red flag was stored once and alerted to the care team; every update was accepted by a webhook and
handled; nothing is left pending.
"""

from __future__ import annotations

import asyncio
import signal
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.app.settings import Settings
from bot.rules.nightly import SENDING_TIMEOUT
from bot.rules.states import DoseStatus
from bot.ui.texts import t
from fake_telegram.core import FakeTelegram
from fake_telegram.server import FakeBotApiServer
from storage.db import Database
from storage.models import Dose, Escalation, Patient, Report
from tests.e2e.test_process import BotProcess, eventually, refused, reminders
from tests.support.balancer import Balancer
from tests.support.harness import TEST_DATABASE_URL, TOKEN
from tests.support.seed import seed_patients
from tests.support.updates import handled

pytestmark = [
    pytest.mark.skipif(
        not TEST_DATABASE_URL, reason="two processes sharing one database: PostgreSQL only"
    ),
]

NIGHT = 500  # patients whose reminder is due as the test starts
FLAGGED = 20  # other patients, each typing one red flag
FIRST_NIGHT, FIRST_FLAGGED = 50_000, 51_000
NURSE = 5_000  # the admin, who gets the alerts
PATH = "/telegram"
PUBLIC_URL = "https://clinic.example.org" + PATH
SECRET = "e2e-webhook-secret_1"
RED_FLAGS = (
    "I want to kill myself",
    "my throat is swelling and I can't breathe",
    "I took oxycodone for my back tonight",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def webhook_process(base_url: str, database_url: str, workdir: Path, port: int) -> BotProcess:
    """A webhook process listening on `port`, behind PUBLIC_URL; the care team is one admin."""
    workdir.mkdir()
    bot = BotProcess(base_url, database_url, workdir)
    bot.args = ["run", "--webhook"]
    bot.env.update(
        {
            "WEBHOOK_URL": PUBLIC_URL,
            "WEBHOOK_SECRET": SECRET,
            "WEBHOOK_LISTEN": "127.0.0.1",
            "WEBHOOK_PORT": str(port),
            "ADMIN_USER_IDS": str(NURSE),
        }
    )
    return bot


async def listening(port: int) -> None:
    """Wait, bounded, until something accepts connections on `port`."""
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"nothing listens on port {port}") from None
            await asyncio.sleep(0.1)
            continue
        writer.close()
        await writer.wait_closed()
        return


async def sending(db: Database) -> set[int]:
    """The patients whose night some process has claimed and not recorded: sends in flight."""
    async with db.session() as session:
        rows = await session.scalars(
            select(Dose.patient_id).where(Dose.status == DoseStatus.SENDING)
        )
        return set(rows)


async def test_two_webhook_processes_send_a_night_once_and_lose_nothing_when_one_is_killed(
    database_url: str,
    db: Database,
    settings: Settings,
    tmp_path: Path,
    latency: Callable[[str, float], None],
) -> None:
    core = FakeTelegram()
    night_ids = range(FIRST_NIGHT, FIRST_NIGHT + NIGHT)
    flagged_ids = range(FIRST_FLAGGED, FIRST_FLAGGED + FLAGGED)
    now = datetime.now(UTC)
    await seed_patients(db, settings, night_ids, now - timedelta(seconds=30))
    await seed_patients(db, settings, flagged_ids, now + timedelta(hours=6))
    for user_id in (*night_ids, *flagged_ids, NURSE):
        core.user(user_id, opened=True)  # they opened the bot once, long ago
    night = [core.user(i) for i in night_ids]
    typed: list[tuple[int, str, dict]] = []

    def flag(index: int) -> None:
        user_id = FIRST_FLAGGED + index
        text = RED_FLAGS[index % len(RED_FLAGS)]
        typed.append((user_id, text, core.user(user_id).send(text)))

    def reminded() -> int:
        return sum(1 for u in night if reminders(u))

    in_flight: set[int] = set()
    ports = [free_port(), free_port()]
    async with (
        FakeBotApiServer(core, token=TOKEN) as server,
        Balancer([f"http://127.0.0.1:{port}" for port in ports]) as balancer,
    ):
        core.deliver_webhooks_to = balancer.url + PATH
        bots = [
            webhook_process(server.base_url, database_url, tmp_path / f"bot{n}", port)
            for n, port in enumerate(ports)
        ]
        try:
            for bot, port in zip(bots, ports, strict=True):
                await bot.start()
                await listening(port)
            await eventually(lambda: core.webhook_url == PUBLIC_URL, what="the webhook set")
            for index in range(FLAGGED // 2):
                flag(index)
            await eventually(lambda: reminded() >= NIGHT // 2, seconds=60, what="half the night")

            # Halfway: one process dies at work. What it was sending is all it may send twice.
            assert await bots[0].stop(signal.SIGKILL) == -signal.SIGKILL
            in_flight |= await sending(db)
            for index in range(FLAGGED // 2, FLAGGED):
                flag(index)  # posted while one backend is down: 502, then the other one
            loop = asyncio.get_running_loop()
            began = loop.time()
            await eventually(
                lambda: typed[-1][2]["update_id"] in accepted_ids(core),
                what="a red flag accepted while one process is down",
            )
            latency("a red flag accepted with one of two processes down", loop.time() - began)
            # What it had claimed is left alone until its claims run out (an instance starting
            # beside others cannot tell a dead one's claims from a live one's): then sent once.
            in_flight |= await sending(db)
            await bots[0].start()
            await listening(ports[0])

            await eventually(
                lambda: reminded() == NIGHT,
                seconds=SENDING_TIMEOUT.total_seconds() + 90,
                what="the whole night",
            )
            for _, _, update in typed:
                await handled(update, what="a red flag")
            await eventually(lambda: core.pending_updates == [], what="every update accepted")
            await alerts_out(db, FLAGGED)
            await asyncio.sleep(2)  # duplicates, if any, have time to show
        finally:
            codes = [await bot.stop() if bot.process is not None else 0 for bot in bots]
            await core.aclose()
    logs = "\n".join(bot.log_tail() for bot in bots)
    assert codes == [0, 0], logs

    # Every reminder out; a second one only for a night that was in flight at the kill.
    counts = {u.id: len(reminders(u)) for u in night}
    assert [i for i, n in counts.items() if n == 0] == [], "nights lost"
    patient_of = await patient_ids(db, night_ids)
    doubled = {patient_of[i] for i, n in counts.items() if n > 1}
    assert doubled <= in_flight, f"sent twice though not in flight: {doubled - in_flight}"
    assert all(n <= 2 for n in counts.values())
    print(
        f"webhook instances: {sum(counts.values())} reminders for {NIGHT} nights, "
        f"{len(doubled)} sent twice, {len(in_flight)} in flight at the kill or the restart"
    )

    # Every red flag stored once and alerted to the care team.
    async with db.session() as session:
        reports = [(r.patient_id, r.words) for r in await session.scalars(select(Report))]
        escalations = list(await session.scalars(select(Escalation)))
    flagged_patients = await patient_ids(db, flagged_ids)
    expected = sorted((flagged_patients[user_id], text) for user_id, text, _ in typed)
    assert sorted(r for r in reports if r[0] in flagged_patients.values()) == expected
    alerted = {e.patient_id for e in escalations if e.last_sent_at is not None}
    assert set(flagged_patients.values()) <= alerted, "red flags not alerted"
    acknowledge = t("button_decide_ack")
    alert_ids = {
        m.button_data(acknowledge).split(":")[2]
        for m in core.messages(NURSE)
        if acknowledge in m.buttons()
    }
    for escalation in escalations:
        if escalation.patient_id in flagged_patients.values():
            assert str(escalation.id) in alert_ids, "an escalation with no alert in the chat"

    # Every update posted carried the secret and was accepted; none is left.
    assert {u["update_id"] for _, _, u in typed} <= accepted_ids(core)
    assert core.pending_updates == []
    assert [r for r in refused(core) if not r.startswith(("403", "409", "429"))] == [], logs
    for bot in bots:
        assert "Traceback" not in bot.log.read_text(errors="replace"), bot.log_tail()


async def alerts_out(db: Database, patients: int, seconds: float = 60.0) -> None:
    """Wait, bounded, until `patients` patients' escalations have reached the care team."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        async with db.session() as session:
            sent = await session.scalar(
                select(func.count(func.distinct(Escalation.patient_id))).where(
                    Escalation.last_sent_at.is_not(None)
                )
            )
        if (sent or 0) >= patients:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{sent} of {patients} patients' red flags alerted")
        await asyncio.sleep(0.2)


def accepted_ids(core: FakeTelegram) -> set[int]:
    """The updates a webhook answered with a 2xx."""
    return {a.update_id for a in core.webhook_attempts if a.accepted}


async def patient_ids(db: Database, user_ids: range) -> dict[int, int]:
    """Each Telegram user's patient row id."""
    async with db.session() as session:
        rows = await session.execute(
            select(Patient.telegram_user_id, Patient.id).where(
                Patient.telegram_user_id.in_(list(user_ids))
            )
        )
        return {user_id: patient_id for user_id, patient_id in rows.all()}
