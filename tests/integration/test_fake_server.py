"""The fake Bot API over real HTTP on 127.0.0.1, driven by PTB's own HTTPXRequest."""

from __future__ import annotations

import asyncio
import datetime as dtm
import logging
import queue
import signal
import subprocess
import sys
import threading

import httpx
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.ext import ApplicationBuilder, CommandHandler
from telegram.request import HTTPXRequest

from fake_telegram.core import FakeTelegram
from fake_telegram.server import FakeBotApiServer
from fake_telegram.transport import FakeRequest

TOKEN = "123456:TEST-server"
FIXED = dtm.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dtm.UTC)
LIMIT = 10  # seconds: no test may hang longer


@pytest.fixture(autouse=True)
def _timedelta_retry_after(monkeypatch):
    monkeypatch.setenv("PTB_TIMEDELTA", "1")  # RetryAfter.retry_after as timedelta, no warning


@pytest.fixture
def core():
    return FakeTelegram(clock=lambda: FIXED)


@pytest.fixture
async def server(core):
    async with FakeBotApiServer(core, token=TOKEN) as srv:
        yield srv


@pytest.fixture
async def bot(server):
    async with Bot(TOKEN, base_url=server.base_url, base_file_url=server.file_url) as b:
        yield b


def keyboard(*pairs):
    return InlineKeyboardMarkup([[InlineKeyboardButton(t, callback_data=d) for t, d in pairs]])


async def scenario(bot: Bot, core: FakeTelegram) -> None:
    """Every kind of call the bot makes, as a user who wrote first sees it."""
    user = core.user(42, "Pat")
    user.send("hello")
    await bot.send_message(42, "Plain <b>not bold</b> ünïcode 💊 & more")
    msg = await bot.send_message(42, "Did you take it?", reply_markup=keyboard(("Taken", "t:1")))
    await bot.edit_message_text(
        "Did you take it? (edited)",
        chat_id=42,
        message_id=msg.message_id,
        reply_markup=keyboard(("Taken", "t:1"), ("Skip", "s:1")),
    )
    update = user.press(core.message(42, msg.message_id), "Skip")
    await bot.answer_callback_query(update["callback_query"]["id"], text="Noted")
    await bot.send_document(
        42, b"\x00binary\r\n--not-a-boundary\r\n\xff", filename="dose log.csv", caption="Log"
    )


async def test_real_http_records_exactly_what_the_in_process_transport_does(core, bot):
    async with asyncio.timeout(LIMIT):
        await scenario(bot, core)

    twin = FakeTelegram(clock=lambda: FIXED)
    in_process = Bot(TOKEN, request=FakeRequest(twin), get_updates_request=FakeRequest(twin))
    async with in_process:
        await scenario(in_process, twin)

    def record(c):
        return (c.method, c.params, c.status, c.body)

    assert [record(c) for c in core.requests] == [record(c) for c in twin.requests]
    assert [c.method for c in core.requests] == [
        "getMe",
        "sendMessage",
        "sendMessage",
        "editMessageText",
        "answerCallbackQuery",
        "sendDocument",
    ]
    sent = core.messages(42)
    assert sent[0].text == "Plain <b>not bold</b> ünïcode 💊 & more"
    assert sent[1].text == "Did you take it? (edited)" and sent[1].buttons() == ["Taken", "Skip"]
    assert sent[2].document == b"\x00binary\r\n--not-a-boundary\r\n\xff"
    assert core.calls("sendDocument")[0].params["document"] == (
        "dose log.csv",
        b"\x00binary\r\n--not-a-boundary\r\n\xff",
        "text/csv",
    )
    assert core.callback_answers and core.client_errors() == []


async def test_wrong_token_is_unauthorized(core, server):
    async with asyncio.timeout(LIMIT):
        with pytest.raises(InvalidToken):
            async with Bot("654321:WRONG", base_url=server.base_url):
                pass
    assert [(c.method, c.status) for c in core.client_errors()] == [("getMe", 401)]
    assert core.client_errors()[0].body == {
        "ok": False,
        "error_code": 401,
        "description": "Unauthorized",
    }


async def test_any_token_when_none_expected(core):
    async with FakeBotApiServer(core) as srv, asyncio.timeout(LIMIT):
        async with Bot("1:any", base_url=srv.base_url) as b:
            assert (await b.get_me()).username == core.bot_username


async def test_injected_faults(core, bot):
    core.user(42).send("hi")
    async with asyncio.timeout(LIMIT):
        core.fail("sendMessage", status=429, retry_after=7)
        with pytest.raises(RetryAfter) as info:
            await bot.send_message(42, "a")
        assert info.value.retry_after == dtm.timedelta(seconds=7)

        core.fail("sendMessage", status=500)
        with pytest.raises(NetworkError, match="Internal Server Error"):
            await bot.send_message(42, "b")

        core.fail("sendMessage", drop=True)
        with pytest.raises(NetworkError):
            await bot.send_message(42, "c")
        assert core.messages(42) == []

        core.fail("sendMessage", drop="after")  # handled, but the answer is lost
        with pytest.raises(NetworkError):
            await bot.send_message(42, "d")
        assert [m.text for m in core.messages(42)] == ["d"]

        core.fail(None, status=200, delay=0.2)  # slow but fine
        await bot.send_message(42, "e")
        await bot.send_message(42, "f")  # the connection survived the drops
    assert [c.status for c in core.calls("sendMessage")] == [429, 500, 0, 0, 200, 200]
    assert core.client_errors() == []


async def test_drop_through_the_in_process_transport_is_a_network_error(core):
    core.user(42).send("hi")
    async with Bot(TOKEN, request=FakeRequest(core), get_updates_request=FakeRequest(core)) as b:
        core.fail("sendMessage", drop=True)
        with pytest.raises(NetworkError):
            await b.send_message(42, "x")
        await b.send_message(42, "y")
    assert [m.text for m in core.messages(42)] == ["y"]


async def test_long_poll_wakes_on_a_message_while_other_requests_are_answered(core, bot):
    user = core.user(42)
    user.send("first")
    async with asyncio.timeout(LIMIT):
        first = await bot.get_updates(timeout=0)
        poll = asyncio.create_task(bot.get_updates(offset=first[-1].update_id + 1, timeout=5))
        await asyncio.sleep(0.1)
        assert not poll.done()
        for n in range(5):  # on the other connection, answered without waiting for the poll
            await bot.send_message(42, f"meanwhile {n}")
        assert not poll.done()  # the sends did not wait out the 5 s poll
        user.send("second")
        updates = await asyncio.wait_for(poll, 2)
    assert [u.message.text for u in updates] == ["second"]
    assert core.client_errors() == []


async def test_stop_closes_a_waiting_long_poll(core, server, bot):
    async with asyncio.timeout(LIMIT):
        poll = asyncio.create_task(bot.get_updates(timeout=30))
        await asyncio.sleep(0.1)
        await server.stop()
        # Closed at once: a poll left to its 30 s would trip the LIMIT timeout above.
        with pytest.raises(NetworkError):
            await poll


async def test_application_polls_replies_and_stops_cleanly(core, server, recwarn, caplog):
    replied = asyncio.Event()

    async def start(update: Update, context) -> None:
        await update.effective_message.reply_text("Welcome!")
        replied.set()

    app = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(server.base_url)
        .base_file_url(server.file_url)
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    user = core.user(42)
    with caplog.at_level(logging.WARNING):
        async with asyncio.timeout(LIMIT):
            async with app:
                await app.start()
                await app.updater.start_polling(poll_interval=0.01, timeout=1)
                user.send("/start")
                await replied.wait()
                await asyncio.sleep(0.05)  # back in a long poll
                await app.updater.stop()
                await app.stop()
            await server.stop()
    assert [m.text for m in user.messages()] == ["Welcome!"]
    methods = [c.method for c in core.requests]
    assert methods[:2] == ["getMe", "deleteWebhook"] and "getUpdates" in methods
    assert core.client_errors() == []
    assert [str(w.message) for w in recwarn] == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_plain_http_get_json_keep_alive_and_refusals(core, server):
    core.user(42).send("hi")
    base = f"{server.base_url}{TOKEN}"
    async with httpx.AsyncClient(timeout=5) as client:
        r = await client.get(f"{base}/getMe", params={"unused": "1"})
        assert r.status_code == 200 and r.json()["result"]["id"] == core.bot_id
        r = await client.get(f"{base}/sendmessage", params={"chat_id": "42", "text": "via GET"})
        assert r.status_code == 200 and r.json()["result"]["text"] == "via GET"
        r = await client.post(
            f"{base}/sendMessage",
            json={"chat_id": 42, "text": "via JSON", "reply_markup": {"inline_keyboard": []}},
        )
        assert r.json()["ok"] is True
        r = await client.post(
            f"{base}/sendDocument",
            data={"chat_id": "42", "document": "attach://file0"},
            files={"file0": ('näme "q".txt', b"abc", "text/plain")},
        )
        assert r.json()["ok"] is True
        assert core.calls("sendDocument")[0].params["document"] == (
            'näme "q".txt',
            b"abc",
            "text/plain",
        )
        assert server.connection_count == 1  # one kept-alive connection so far
        assert core.client_errors() == []

        r = await client.get(f"{server.base_url}{TOKEN}")
        assert (r.status_code, r.json()["description"]) == (404, "Not Found")
        r = await client.put(f"{base}/getMe")
        assert (r.status_code, r.json()["error_code"]) == (405, 405)
        r = await client.post(f"{base}/noSuchMethod")
        assert (r.status_code, r.json()["description"]) == (404, "Not Found")
        r = await client.post(
            f"{base}/sendMessage", content=b"{", headers={"Content-Type": "application/json"}
        )
        assert r.status_code == 400 and r.json()["ok"] is False
        r = await client.post(
            f"{base}/sendMessage", content=b"x", headers={"Content-Type": "text/plain"}
        )
        assert r.status_code == 400
        r = await client.post(f"{server.base_url}1:bad/getMe")
        assert r.status_code == 401
        assert server.connection_count == 1
    assert [c.status for c in core.client_errors()] == [404, 405, 404, 400, 400, 401]


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "example.org"])
def test_only_loopback_addresses(core, host):
    with pytest.raises(ValueError):
        FakeBotApiServer(core, host=host)


def test_base_url_for_loopback_hosts(core):
    assert FakeBotApiServer(core, port=8081).base_url == "http://127.0.0.1:8081/bot"
    assert FakeBotApiServer(core, host="::1", port=8081).base_url == "http://[::1]:8081/bot"


def test_standalone_server_prints_its_url_serves_and_stops_on_ctrl_c():
    process = subprocess.Popen(
        [sys.executable, "-m", "fake_telegram", "--port", "0", "--token", TOKEN],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # even if inherited off
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(x) for x in process.stdout], daemon=True)
    reader.start()
    try:
        first = lines.get(timeout=5)
        base_url = first.rsplit(" ", 1)[-1].strip()
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/bot"), first
        r = httpx.post(f"{base_url}{TOKEN}/getMe", timeout=5)
        assert r.json()["result"]["is_bot"] is True
        assert httpx.post(f"{base_url}1:wrong/getMe", timeout=5).status_code == 401
        process.stdin.write("send 42 hello\nshow 42\n")
        process.stdin.flush()
        while "(no messages from the bot)" not in lines.get(timeout=5):
            pass  # user 42 now exists and has written first
        r = httpx.post(f"{base_url}{TOKEN}/sendMessage", data={"chat_id": 42, "text": "Hi"})
        assert r.json()["ok"] is True
        process.send_signal(signal.SIGINT)
        process.wait(timeout=5)
        reader.join(timeout=5)
        err = process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    out = [lines.get_nowait().strip() for _ in range(lines.qsize())]
    assert "bot to 42 #2: Hi" in out
    assert "Traceback" not in err


async def test_injected_timeouts_over_http(core, server):
    core.user(42).send("hi")
    request = HTTPXRequest(read_timeout=0.3)
    async with asyncio.timeout(LIMIT), Bot(TOKEN, base_url=server.base_url, request=request) as b:
        core.fail("sendMessage", timeout="connect")  # the request never gets an answer, unread
        with pytest.raises(NetworkError):
            await b.send_message(42, "never handled")
        core.fail("sendMessage", timeout="read")  # handled, then silence until the client quits
        with pytest.raises(TimedOut) as read:
            await b.send_message(42, "delivered")
        assert isinstance(read.value.__cause__, httpx.ReadTimeout)
        await b.send_message(42, "back")
    assert [m.text for m in core.messages(42)] == ["delivered", "back"]
