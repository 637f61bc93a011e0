"""The real `python -m bot run --webhook` process: Telegram posts, the secret is checked.

The test plays Telegram's side of the webhook: it posts the updates the fake users produce to
the process's web app over HTTP on loopback, as Telegram would behind a proxy that ends TLS.
"""

from __future__ import annotations

import asyncio
import re
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.ui.texts import t
from fake_telegram.core import FakeTelegram
from fake_telegram.server import FakeBotApiServer
from storage.db import Database
from storage.models import ReceivedUpdate
from tests.e2e.test_process import BotProcess, eventually, refused
from tests.support.updates import handled

SECRET = "e2e-webhook_Secret-7"
WEBHOOK_URL = "https://bot.example.org/hook"
LISTENING = re.compile(r"Web app listening on 127\.0\.0\.1:(\d+)")


@pytest.fixture
async def telegram() -> AsyncIterator[tuple[FakeTelegram, FakeBotApiServer]]:
    core = FakeTelegram()
    async with FakeBotApiServer(core, token="123456:TEST-token-for-the-fake-server") as server:
        yield core, server


@pytest.fixture
async def webhook_bot(
    telegram: tuple[FakeTelegram, FakeBotApiServer], database_url: str, db: Database, tmp_path: Path
) -> AsyncIterator[tuple[BotProcess, str]]:
    """The process in webhook mode, and the address of its web app once Telegram was told."""
    core, server = telegram
    process = BotProcess(server.base_url, database_url, tmp_path)
    process.args = ["run", "--webhook"]
    process.env |= {"WEBHOOK_URL": WEBHOOK_URL, "WEBHOOK_SECRET": SECRET}
    await process.start()
    await eventually(lambda: bool(core.webhook_url), what="setWebhook")
    port = LISTENING.search(process.log.read_text(errors="replace"))
    assert port is not None, process.log_tail()
    yield process, f"http://127.0.0.1:{port.group(1)}"
    if process.process is not None:
        assert await process.stop(signal.SIGTERM) == 0, process.log_tail()
    assert [r for r in refused(core) if not r.startswith("403")] == [], process.log_tail()
    assert "Traceback" not in process.log.read_text(errors="replace"), process.log_tail()


async def stored(db: Database) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(ReceivedUpdate)) or 0)


async def test_a_post_with_the_secret_is_answered_and_one_without_is_refused(
    telegram: tuple[FakeTelegram, FakeBotApiServer],
    webhook_bot: tuple[BotProcess, str],
    db: Database,
) -> None:
    core, _ = telegram
    process, base = webhook_bot
    user = core.user(8101)
    update = user.send("/start")
    async with aiohttp.ClientSession() as client:
        async with client.post(base + "/hook", json=update) as response:
            assert response.status == 403
        async with client.post(
            base + "/hook", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}
        ) as response:
            assert response.status == 403
        assert await stored(db) == 0
        assert user.messages() == []

        async with client.post(
            base + "/hook", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
        ) as response:
            assert response.status == 200
        await handled(update, what="/start")
        assert any(t("button_consent_yes") in m.buttons() for m in user.messages())

        async with client.get(base + "/healthz") as response:
            assert response.status == 200, await response.text()
        async with client.get(base + "/metrics") as response:
            assert response.status == 200
            assert "ldn_updates_received_total 1.0" in await response.text()
    assert not core.calls("getUpdates")  # webhook mode never polls


async def start_and_fail(
    server: FakeBotApiServer, database_url: str, workdir: Path, **env: str
) -> tuple[int, str]:
    """Run `python -m bot run --webhook` expecting it to stop at start-up: exit code, stderr."""
    process = BotProcess(server.base_url, database_url, workdir)
    process.env |= env
    started = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        "--webhook",
        cwd=workdir,
        env=process.env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        _, stderr = await asyncio.wait_for(started.communicate(), 60)
    except TimeoutError:
        started.kill()
        await started.wait()
        raise AssertionError("the bot did not stop at start-up") from None
    return started.returncode or 0, stderr.decode(errors="replace")


async def test_webhook_mode_on_a_port_taken_stops_in_one_line_with_exit_code_1(
    telegram: tuple[FakeTelegram, FakeBotApiServer], database_url: str, db: Database, tmp_path: Path
) -> None:
    _, server = telegram
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        code, stderr = await start_and_fail(
            server, database_url, tmp_path,
            WEBHOOK_URL=WEBHOOK_URL, WEBHOOK_SECRET=SECRET, WEBHOOK_PORT=port,
        )  # fmt: skip
    assert code == 1, stderr
    assert stderr.strip().splitlines() == [
        f"Cannot start: WEBHOOK_LISTEN, WEBHOOK_PORT: cannot listen on 127.0.0.1:{port} "
        "(address already in use)."
    ]


async def test_webhook_mode_without_a_secret_stops_in_one_line_naming_it(
    telegram: tuple[FakeTelegram, FakeBotApiServer], database_url: str, db: Database, tmp_path: Path
) -> None:
    _, server = telegram
    code, stderr = await start_and_fail(server, database_url, tmp_path, WEBHOOK_URL=WEBHOOK_URL)
    assert code == 2, stderr
    [line] = stderr.strip().splitlines()
    assert line.startswith("Cannot start: WEBHOOK_SECRET:"), line
