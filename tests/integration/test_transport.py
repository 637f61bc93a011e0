"""The bot's aiohttp transport under the real python-telegram-bot stack, over HTTP to the fake
Bot API server: what it sends, what it raises, and what `never_left` makes of its failures."""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
import socket
from collections.abc import AsyncIterator

import aiohttp
import httpx
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.request import BaseRequest, HTTPXRequest, RequestData

from bot.app.logs import traceback_without_words
from bot.delivery.notifier import never_left
from bot.delivery.transport import AiohttpRequest
from fake_telegram.core import FakeTelegram
from fake_telegram.server import FakeBotApiServer
from fake_telegram.transport import FakeRequest

TOKEN = "123456:TEST-transport"
FIXED = dtm.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dtm.UTC)
LIMIT = 10  # seconds: no test may hang longer


@pytest.fixture(autouse=True)
def _timedelta_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")  # RetryAfter.retry_after as timedelta, no warning


@pytest.fixture
def core() -> FakeTelegram:
    return FakeTelegram(clock=lambda: FIXED)


@pytest.fixture
async def server(core: FakeTelegram) -> AsyncIterator[FakeBotApiServer]:
    async with FakeBotApiServer(core, token=TOKEN) as srv:
        yield srv


def bot_on(base_url: str, request: BaseRequest, get_updates: BaseRequest | None = None) -> Bot:
    return Bot(
        TOKEN, base_url=base_url, request=request, get_updates_request=get_updates or request
    )


async def scenario(bot: Bot, core: FakeTelegram) -> None:
    """The calls whose bodies differ in kind: a form, JSON values in it, and uploads."""
    core.user(42, "Pat").send("hello")
    await bot.send_message(42, "Plain <b>not bold</b> ünïcode 💊 & more = + %20")
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Taken", callback_data="v1:dose:1")]])
    await bot.send_message(42, "Did you take it?", reply_markup=markup)
    export = json.dumps({"patient": "Pat", "doses": [1.5, 3]}).encode()
    await bot.send_document(42, export, filename="ldn-my-data.json", caption="Your data")
    await bot.send_document(
        42, b"\x00binary\r\n--not-a-boundary\r\n\xff", filename='dose "log" näme.csv'
    )


async def test_sends_exactly_what_httpx_sends(core: FakeTelegram, server: FakeBotApiServer):
    async with asyncio.timeout(LIMIT), bot_on(server.base_url, AiohttpRequest()) as bot:
        await scenario(bot, core)

    twin = FakeTelegram(clock=lambda: FIXED)
    async with FakeBotApiServer(twin, token=TOKEN) as other, asyncio.timeout(LIMIT):
        async with bot_on(other.base_url, HTTPXRequest()) as bot:
            await scenario(bot, twin)

    def record(c):
        return (c.method, c.params, c.status, c.body)

    assert [record(c) for c in core.requests] == [record(c) for c in twin.requests]
    assert [c.method for c in core.requests] == [
        "getMe",
        "sendMessage",
        "sendMessage",
        "sendDocument",
        "sendDocument",
    ]
    sent = core.messages(42)
    assert sent[0].text == "Plain <b>not bold</b> ünïcode 💊 & more = + %20"
    assert sent[1].buttons() == ["Taken"]
    export, binary = core.calls("sendDocument")
    assert export.params["document"][0::2] == ("ldn-my-data.json", "application/json")
    assert json.loads(export.params["document"][1]) == {"patient": "Pat", "doses": [1.5, 3]}
    assert binary.params["document"] == (
        'dose "log" näme.csv',
        b"\x00binary\r\n--not-a-boundary\r\n\xff",
        "text/csv",
    )
    assert core.client_errors() == []


async def test_a_long_poll_gets_its_update_or_ends_empty(core: FakeTelegram, server):
    user = core.user(42)
    # A read timeout shorter than the poll: PTB adds the poll's wait to it, and so must we.
    polls = AiohttpRequest(connection_pool_size=1, read_timeout=0.2)
    async with asyncio.timeout(LIMIT), bot_on(server.base_url, AiohttpRequest(), polls) as bot:
        assert await bot.get_updates(timeout=1) == ()
        poll = asyncio.create_task(bot.get_updates(timeout=5))
        await asyncio.sleep(0.2)
        user.send("during the poll")
        updates = await poll
    assert [u.message.text for u in updates] == ["during the poll"]


async def test_telegram_refusals_become_ptb_errors(core: FakeTelegram, server):
    core.user(42).send("hi")
    async with asyncio.timeout(LIMIT), bot_on(server.base_url, AiohttpRequest()) as bot:
        core.fail("sendMessage", status=400, description="Bad Request: message is too long")
        with pytest.raises(BadRequest, match="(?i)message is too long"):
            await bot.send_message(42, "a")
        core.fail("sendMessage", status=429, retry_after=7)
        with pytest.raises(RetryAfter) as flood:
            await bot.send_message(42, "b")
        assert flood.value.retry_after == dtm.timedelta(seconds=7)
        core.fail("sendMessage", status=403, description="Forbidden: bot was blocked by the user")
        with pytest.raises(Forbidden, match="(?i)blocked"):
            await bot.send_message(42, "c")
        await bot.send_message(42, "d")
    assert [m.text for m in core.messages(42)] == ["d"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_a_refused_connection_never_left(core: FakeTelegram):
    port = free_port()  # nothing listens there any more
    request = AiohttpRequest()
    with pytest.raises(NetworkError) as refused:
        async with asyncio.timeout(LIMIT), bot_on(f"http://127.0.0.1:{port}/bot", request):
            pass
    error = refused.value
    assert not isinstance(error, TimedOut)
    assert isinstance(error.__cause__, aiohttp.ClientConnectorError)
    assert error.message == "aiohttp.ClientConnectorError"
    assert never_left(error)
    assert TOKEN.split(":")[1] not in f"{error} {traceback_without_words(error)}"


@pytest.fixture
async def silent() -> AsyncIterator[tuple[str, list[bytes]]]:
    """A server that accepts and reads but never answers; what it read, as it came."""
    heard: list[bytes] = []

    async def listen(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while chunk := await reader.read(65536):
            heard.append(chunk)
        writer.close()

    listening = await asyncio.start_server(listen, "127.0.0.1", 0)
    port = listening.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/bot", heard
    listening.close()


async def test_no_answer_is_a_timeout_that_may_have_been_delivered(silent):
    base_url, heard = silent
    request = AiohttpRequest(read_timeout=0.3)
    await request.initialize()
    try:
        with pytest.raises(TimedOut) as timed_out:
            async with asyncio.timeout(LIMIT):
                await bot_on(base_url, request).send_message(42, "the dose text")
    finally:
        await request.shutdown()
    error = timed_out.value
    assert isinstance(error.__cause__, aiohttp.SocketTimeoutError)
    assert not never_left(error)
    # The request went out whole, with PTB's User-Agent: only the answer is missing.
    wire = b"".join(heard)
    assert f"User-Agent: {BaseRequest.USER_AGENT}".encode() in wire
    assert b"text=the+dose+text" in wire
    secret = TOKEN.split(":")[1]
    assert secret not in f"{error} {traceback_without_words(error)}"
    assert "the dose text" not in str(error)


async def test_no_free_connection_in_time_never_left(silent):
    base_url, _ = silent
    request = AiohttpRequest(
        connection_pool_size=1, read_timeout=5, connect_timeout=0.2, pool_timeout=0.2
    )
    await request.initialize()
    bot = bot_on(base_url, request)
    try:
        async with asyncio.timeout(LIMIT):
            holding = asyncio.create_task(bot.send_message(42, "holds the one connection"))
            await asyncio.sleep(0.1)
            with pytest.raises(TimedOut) as waited:
                await bot.send_message(42, "waits for it")
            holding.cancel()
    finally:
        await request.shutdown()
    error = waited.value
    assert isinstance(error.__cause__, aiohttp.ConnectionTimeoutError)
    assert never_left(error)
    # aiohttp's own message quotes the URL, token and all; neither ours nor the log's does.
    secret = TOKEN.split(":")[1]
    assert secret in str(error.__cause__)
    assert secret not in f"{error} {traceback_without_words(error)}"


async def test_httpx_timeouts_from_the_in_process_transport(core: FakeTelegram):
    core.user(42).send("hi")
    async with Bot(TOKEN, request=FakeRequest(core), get_updates_request=FakeRequest(core)) as b:
        core.fail("sendMessage", timeout="connect")
        with pytest.raises(TimedOut) as connect:
            await b.send_message(42, "never handled")
        core.fail("sendMessage", timeout="read")
        with pytest.raises(TimedOut) as read:
            await b.send_message(42, "handled")
    assert isinstance(connect.value.__cause__, httpx.ConnectTimeout) and never_left(connect.value)
    assert isinstance(read.value.__cause__, httpx.ReadTimeout) and not never_left(read.value)


async def test_a_timeout_of_unknown_cause_may_have_been_delivered():
    unknown = TimedOut()
    assert not never_left(unknown)
    try:
        raise TimedOut("Timed out (builtins.TimeoutError)") from TimeoutError()
    except TimedOut as whole_request:
        assert not never_left(whole_request)


async def test_session_lifecycle(server: FakeBotApiServer):
    request = AiohttpRequest()
    url = f"{server.base_url}{TOKEN}/getMe"
    with pytest.raises(RuntimeError, match="not initialized"):
        await request.do_request(url, "POST", RequestData())
    await request.initialize()
    await request.initialize()  # a second call keeps the open session
    status, _ = await request.do_request(url, "POST", RequestData())
    assert status == 200
    await request.shutdown()
    await request.shutdown()  # and a second shutdown is harmless
    with pytest.raises(RuntimeError, match="not initialized"):
        await request.do_request(url, "POST", RequestData())
    async with request:  # open again after a shutdown, as HTTPXRequest is
        assert (await request.do_request(url, "POST", RequestData()))[0] == 200


def test_a_pool_needs_a_connection():
    with pytest.raises(ValueError):
        AiohttpRequest(connection_pool_size=0)
