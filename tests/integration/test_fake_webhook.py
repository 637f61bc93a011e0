"""The fake Telegram posting updates to a webhook, and the balancer tests put in front of the bot.

The bot's side is python-telegram-bot's own `Bot` over HTTP (setWebhook, getUpdates...); the
webhook is a small aiohttp app on loopback that records what it was posted and answers as told.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Conflict

from fake_telegram.__main__ import main as fake_main
from fake_telegram.core import FakeTelegram
from fake_telegram.server import FakeBotApiServer
from fake_telegram.webhook import SECRET_HEADER, chat_of
from tests.support.balancer import Balancer, Routed

TOKEN = "123456:TEST-webhook"
URL = "https://clinic.example.org/telegram"
SECRET = "s3cret_token-value"
LIMIT = 10  # seconds: no test may hang longer


class Webhook:
    """A webhook on loopback: records each POST, answers what `answer(update)` says (200)."""

    def __init__(self) -> None:
        self.posts: list[tuple[dict, dict[str, str]]] = []
        self.accepted: list[dict] = []
        self.answer: Callable[[dict], int] = lambda update: 200
        self.in_flight: dict[int | None, int] = defaultdict(int)
        self.most_in_flight = 0  # the most requests of one chat at once
        self.hold: asyncio.Event | None = None  # set: answers wait for it
        self._runner: web.AppRunner | None = None

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/telegram", self._receive)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        return f"http://127.0.0.1:{self._runner.addresses[0][1]}/telegram"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _receive(self, request: web.Request) -> web.Response:
        update = await request.json()
        self.posts.append((update, dict(request.headers)))
        chat = chat_of(update)
        self.in_flight[chat] += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight[chat])
        try:
            if self.hold is not None:
                await self.hold.wait()
            status = self.answer(update)
        finally:
            self.in_flight[chat] -= 1
        if 200 <= status < 300:
            self.accepted.append(update)
        return web.Response(status=status)

    def texts(self, chat: int) -> list[str]:
        """The texts of that chat's accepted updates, in the order they were accepted."""
        return [u["message"]["text"] for u in self.accepted if chat_of(u) == chat]


async def until(check: Callable[[], bool], what: str) -> None:
    """Wait, bounded, until `check()` is true."""
    try:
        async with asyncio.timeout(LIMIT):
            while True:
                if check():
                    return
                await asyncio.sleep(0.01)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


@pytest.fixture
async def core() -> AsyncIterator[FakeTelegram]:
    core = FakeTelegram(webhook_backoff=0.01)
    yield core
    await core.aclose()


@pytest.fixture
async def bot(core: FakeTelegram) -> AsyncIterator[Bot]:
    async with (
        FakeBotApiServer(core, token=TOKEN) as server,
        Bot(TOKEN, base_url=server.base_url) as bot,
    ):
        yield bot


@pytest.fixture
async def webhook(core: FakeTelegram) -> AsyncIterator[Webhook]:
    hook = Webhook()
    core.deliver_webhooks_to = await hook.start()
    yield hook
    await core.aclose()  # stop posting before the webhook goes away
    await hook.stop()


# ------------------------------------------------------------------------- setting it


@pytest.mark.parametrize(
    ("url", "secret", "refusal"),
    [
        ("http://clinic.example.org/telegram", None, "An HTTPS URL must be provided"),
        ("https://clinic.example.org:8080/telegram", None, "only on ports 80, 88, 443 or 8443"),
        (URL, "has spaces", "secret token contains unallowed characters"),
        (URL, "123456:TEST-webhook", "secret token contains unallowed characters"),
        (URL, "x" * 257, "secret token contains unallowed characters"),
    ],
)
async def test_set_webhook_refuses_what_telegram_refuses(
    bot: Bot, core: FakeTelegram, url: str, secret: str | None, refusal: str
) -> None:
    async with asyncio.timeout(LIMIT):
        with pytest.raises(BadRequest, match=f"(?i){refusal}"):  # PTB rewrites the case
            await bot.set_webhook(url, secret_token=secret)
        assert (await bot.get_webhook_info()).url == ""
    assert core.calls("setWebhook")[0].status == 400


async def test_get_updates_answers_409_while_a_webhook_is_set(bot: Bot, core: FakeTelegram) -> None:
    core.user(42).send("hello")
    async with asyncio.timeout(LIMIT):
        assert await bot.set_webhook(URL, secret_token=SECRET, max_connections=5)
        with pytest.raises(Conflict, match="can't use getUpdates method while webhook is active"):
            await bot.get_updates()
        info = await bot.get_webhook_info()
        assert (info.url, info.max_connections, info.pending_update_count) == (URL, 5, 1)
        assert info.last_error_message and "Connection refused" in info.last_error_message

        assert await bot.delete_webhook()
        updates = await bot.get_updates()
    assert [u.message.text for u in updates if u.message] == ["hello"]  # not accepted: kept


async def test_an_empty_url_removes_the_webhook(bot: Bot) -> None:
    async with asyncio.timeout(LIMIT):
        await bot.set_webhook(URL)
        await bot.set_webhook("")
        assert (await bot.get_webhook_info()).url == ""
        assert await bot.get_updates() == ()


@pytest.mark.parametrize(
    "target",
    ["http://clinic.example.org/telegram", "https://127.0.0.1:8443/telegram", "http://10.0.0.5/"],
)
def test_the_fake_posts_only_to_plain_http_on_loopback(target: str) -> None:
    with pytest.raises(ValueError, match="deliver_webhooks_to must be"):
        FakeTelegram(deliver_webhooks_to=target)


def test_standalone_fake_refuses_a_webhook_target_off_loopback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert fake_main(["--port", "0", "--deliver-webhooks-to", "http://example.org/"]) == 1
    assert "Cannot start: deliver_webhooks_to must be on loopback" in capsys.readouterr().err


# ----------------------------------------------------------------------- posting to it


async def test_each_update_is_posted_as_json_with_the_secret_header(
    bot: Bot, core: FakeTelegram, webhook: Webhook
) -> None:
    async with asyncio.timeout(LIMIT):
        await bot.set_webhook(URL, secret_token=SECRET)
        sent = core.user(42).send("hello")
        await until(lambda: len(webhook.accepted) == 1, "the update")
        update, headers = webhook.posts[0]
        assert update == sent
        assert headers[SECRET_HEADER] == SECRET
        assert headers["Content-Type"] == "application/json"
        await until(lambda: core.pending_updates == [], "the update to be confirmed")
        assert (await bot.get_webhook_info()).pending_update_count == 0


async def test_no_secret_header_when_no_secret_was_set(
    bot: Bot, core: FakeTelegram, webhook: Webhook
) -> None:
    async with asyncio.timeout(LIMIT):
        await bot.set_webhook(URL)
        core.user(42).send("hello")
        await until(lambda: len(webhook.accepted) == 1, "the update")
    assert SECRET_HEADER not in webhook.posts[0][1]


async def test_a_refused_update_is_posted_again_until_accepted(
    bot: Bot, core: FakeTelegram, webhook: Webhook
) -> None:
    answers = iter([500, 503, 404])
    webhook.answer = lambda update: next(answers, 200)
    async with asyncio.timeout(LIMIT):
        await bot.set_webhook(URL, secret_token=SECRET)
        sent = core.user(42).send("hello")
        await until(lambda: len(webhook.accepted) == 1, "the update to be accepted")
        info = await bot.get_webhook_info()
    assert [a.status for a in core.webhook_attempts] == [500, 503, 404, 200]
    assert [u for u, _ in webhook.posts] == [sent] * 4
    assert info.pending_update_count == 0
    assert info.last_error_message == "Wrong response from the webhook: 404 Not Found"


async def test_one_chats_updates_arrive_in_order_across_retries_others_are_not_held(
    bot: Bot, core: FakeTelegram, webhook: Webhook
) -> None:
    """Chat 42's first update fails three times: its next ones wait; chat 43's do not."""
    failures = {(42, "one"): 3}

    def answer(update: dict) -> int:
        key = (chat_of(update), update["message"]["text"])
        if failures.get(key, 0) > 0:
            failures[key] -= 1
            return 502
        return 200

    webhook.answer = answer
    async with asyncio.timeout(LIMIT):
        await bot.set_webhook(URL, secret_token=SECRET)
        pat, sam = core.user(42), core.user(43)
        for text in ("one", "two", "three"):
            pat.send(text)
            sam.send(text)
        await until(lambda: len(webhook.accepted) == 6, "six updates")
    assert webhook.texts(42) == webhook.texts(43) == ["one", "two", "three"]
    assert webhook.most_in_flight == 1
    tries = [a for a in core.webhook_attempts if a.chat == 42]
    first = [a.update_id for a in tries]
    assert [a.accepted for a in tries] == [False] * 3 + [True] * 3
    assert first == sorted(first)  # no later update of the chat was posted while one failed


async def test_delete_webhook_stops_posting_and_keeps_what_was_not_accepted(
    bot: Bot, core: FakeTelegram, webhook: Webhook
) -> None:
    webhook.answer = lambda update: 500
    async with asyncio.timeout(LIMIT):
        await bot.set_webhook(URL)
        core.user(42).send("hello")
        await until(lambda: len(webhook.posts) >= 2, "two tries")
        await bot.delete_webhook()
        tries = len(core.webhook_attempts)
        await asyncio.sleep(0.1)
        assert len(core.webhook_attempts) <= tries + 1  # at most the one under way
        assert [u.message.text for u in await bot.get_updates() if u.message] == ["hello"]


async def test_allowed_updates_filter_what_is_posted(
    bot: Bot, core: FakeTelegram, webhook: Webhook
) -> None:
    async with asyncio.timeout(LIMIT):
        await bot.set_webhook(URL, allowed_updates=["callback_query"])
        user = core.user(42)
        user.send("dropped")
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Taken", callback_data="t")]])
        await bot.send_message(42, "Taken?", reply_markup=keyboard)
        user.press(core.messages(42)[0], "Taken")
        await until(lambda: len(webhook.accepted) == 1, "the press")
    assert "callback_query" in webhook.accepted[0]


# ------------------------------------------------------------------------ the balancer


class Backend:
    """A backend that records what reached it and answers with its name."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.seen: list[tuple[str, str, dict[str, str], bytes]] = []
        self._runner: web.AppRunner | None = None

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._answer)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        return f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _answer(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.seen.append((request.method, request.path_qs, dict(request.headers), body))
        return web.Response(status=200, text=self.name, headers={"X-Backend": self.name})


@pytest.fixture
async def backends() -> AsyncIterator[list[Backend]]:
    started = [Backend(name) for name in ("a", "b", "c")]
    yield started
    for backend in started:
        await backend.stop()


async def dead_url() -> str:
    """The address of a port that was just free: nothing listens there."""
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    return f"http://127.0.0.1:{port}"


async def test_balancer_takes_backends_in_turn_and_forwards_the_request_whole(
    backends: list[Backend],
) -> None:
    urls = [await b.start() for b in backends]
    async with Balancer(urls) as balancer, aiohttp.ClientSession() as client:
        answers = []
        for n in range(6):
            async with client.post(
                f"{balancer.url}/telegram?n={n}",
                data=b'{"update_id": 1}',
                headers={"Content-Type": "application/json", SECRET_HEADER: SECRET},
            ) as response:
                answers.append(
                    (response.status, await response.text(), response.headers["X-Backend"])
                )
    assert answers == [(200, n, n) for n in "abcabc"]
    method, path, headers, body = backends[1].seen[0]
    assert (method, path, body) == ("POST", "/telegram?n=1", b'{"update_id": 1}')
    assert headers[SECRET_HEADER] == SECRET and headers["Content-Type"] == "application/json"
    assert balancer.routed == [Routed(i % 3, 200) for i in range(6)]


async def test_balancer_answers_502_for_a_dead_backend_and_the_retry_goes_to_the_next(
    bot: Bot, core: FakeTelegram, backends: list[Backend]
) -> None:
    urls = [await dead_url(), await backends[0].start()]
    async with Balancer(urls) as balancer, asyncio.timeout(LIMIT):
        core.deliver_webhooks_to = balancer.url + "/telegram"
        await bot.set_webhook(URL, secret_token=SECRET)
        core.user(42).send("hello")
        await until(lambda: len(backends[0].seen) == 1, "the retry on the live backend")
        await core.aclose()
    assert balancer.routed == [Routed(0, 502), Routed(1, 200)]
    assert [a.status for a in core.webhook_attempts] == [502, 200]
    assert backends[0].seen[0][2][SECRET_HEADER] == SECRET


async def test_balancer_answers_502_when_a_backend_drops_the_connection() -> None:
    async def drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1)
        writer.transport.abort()

    server = await asyncio.start_server(drop, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with (
            Balancer([f"http://127.0.0.1:{port}"]) as balancer,
            aiohttp.ClientSession() as client,
            client.post(balancer.url + "/telegram", data=b"{}") as response,
        ):
            assert response.status == 502
    finally:
        server.close()
        await server.wait_closed()
