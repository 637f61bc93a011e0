"""The pacing of our requests to Telegram, on a fake monotonic clock: order and spacing."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from datetime import timedelta
from typing import Any

import pytest
from telegram.error import RetryAfter

from bot.delivery import answering as answering_module
from bot.delivery.answering import Answering
from bot.delivery.pacing import (
    ANSWER_BURST,
    BULK,
    BULK_PER_SECOND,
    CHAT_BURST,
    PAUSE_SECONDS,
    PER_SECOND,
    Lane,
    Paced,
    Pacing,
)

PATIENT, OTHER, GROUP = 501, 502, -9001
ANSWER = Lane(retries=2, chat_pace=False, at_once=True)  # as handlers/replies.py answers


class FakeTime:
    """A monotonic clock that moves only when everything else waits: to the next sleeper's end."""

    def __init__(self) -> None:
        self.now = 1000.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._driver: asyncio.Task[None] | None = None

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + max(seconds, 0.0), next(self._order), woken))
        if self._driver is None or self._driver.done():
            self._driver = asyncio.create_task(self._drive())
        await woken

    async def _drive(self) -> None:
        while self._sleepers:
            for _ in range(20):  # whatever can run now runs first, at this moment
                await asyncio.sleep(0)
            moment, _, woken = heapq.heappop(self._sleepers)
            if not woken.done():
                self.now = max(self.now, moment)
                woken.set_result(None)


class Telegram:
    """Records when each request reached it; refuses the ones it is told to with a 429."""

    def __init__(self, time: FakeTime) -> None:
        self.time = time
        self.sent: list[tuple[float, str]] = []
        self.flood: dict[int, float] = {}  # chat -> retry_after of its next request
        self.tenth = asyncio.Event()  # ten requests have reached it

    def request(self, name: str, chat_id: int) -> Any:
        async def callback() -> dict[str, Any]:
            if chat_id in self.flood:
                raise RetryAfter(timedelta(seconds=self.flood.pop(chat_id)))
            self.sent.append((self.time.now, name))
            if len(self.sent) >= 10:
                self.tenth.set()
            return {}

        return callback


@pytest.fixture(autouse=True)
def timedeltas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # as the application reads flood waits


@pytest.fixture
def time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def telegram(time: FakeTime) -> Telegram:
    return Telegram(time)


@pytest.fixture
def pacing(time: FakeTime) -> Pacing:
    return Pacing(clock=time.clock, sleep=time.sleep)


async def send(
    pacing: Pacing,
    telegram: Telegram,
    name: str,
    chat_id: int,
    lane: Lane | None = None,
    endpoint: str = "sendMessage",
) -> None:
    callback = telegram.request(name, chat_id)
    await pacing.process_request(callback, (), {}, endpoint, {"chat_id": chat_id}, lane)


def most_in_a_second(times: list[float]) -> int:
    return max(sum(1 for t in times if start <= t < start + 1.0) for start in times)


async def test_no_burst_passes_after_an_idle_gap(
    pacing: Pacing, telegram: Telegram, time: FakeTime
) -> None:
    for _ in range(2):
        await asyncio.gather(*(send(pacing, telegram, f"m{i}", 1000 + i) for i in range(60)))
        time.now += 30.0  # idle: no credit is saved up
    times = [t for t, _ in telegram.sent]
    assert len(times) == 120
    gaps = [b - a for a, b in zip(times, times[1:], strict=False) if b - a < 10]
    # Evenly spaced; the second request after a gap may come a quarter turn early (the pace
    # forgives a late timer that much), and never more than 30 in any second.
    assert min(gaps) >= 0.75 / PER_SECOND - 1e-9
    assert len([g for g in gaps if g < 1 / PER_SECOND - 1e-9]) <= 2  # one after each gap
    assert most_in_a_second(times) <= 30
    await pacing.shutdown()


async def test_an_urgent_request_goes_ahead_of_a_bulk_queue(
    pacing: Pacing, telegram: Telegram
) -> None:
    bulk = [
        asyncio.create_task(send(pacing, telegram, f"reminder {i}", 2000 + i, BULK))
        for i in range(100)
    ]
    await telegram.tenth.wait()
    await send(pacing, telegram, "alert", GROUP)
    await asyncio.gather(*bulk)
    names = [name for _, name in telegram.sent]
    # At most the bulk request already given its turn goes between.
    assert names.index("alert") <= 11
    bulk_times = [t for t, name in telegram.sent if name != "alert"]
    gaps = [b - a for a, b in zip(bulk_times, bulk_times[1:], strict=False)]
    assert min(gaps) >= 0.75 / BULK_PER_SECOND - 1e-9
    assert most_in_a_second(bulk_times) <= BULK_PER_SECOND + 1
    await pacing.shutdown()


async def test_a_real_429_pauses_every_request_for_its_retry_after(
    pacing: Pacing, telegram: Telegram, time: FakeTime
) -> None:
    telegram.flood[PATIENT] = 4
    with pytest.raises(RetryAfter) as refused:
        await send(pacing, telegram, "refused", PATIENT)
    assert not isinstance(refused.value, Paced)  # Telegram's, not ours
    paused_at = time.now
    await asyncio.gather(
        send(pacing, telegram, "other", OTHER),
        send(pacing, telegram, "alert", GROUP),
        send(pacing, telegram, "reminder", 2001, BULK),
        send(pacing, telegram, "answer", 2002, ANSWER),  # an answer too: it waits for no turn
    )
    assert len(telegram.sent) == 4
    assert all(t >= paused_at + 4 for t, _ in telegram.sent)
    await pacing.shutdown()


async def test_a_long_flood_wait_holds_its_chat_whole_and_the_others_a_moment(
    pacing: Pacing, telegram: Telegram, time: FakeTime
) -> None:
    telegram.flood[PATIENT] = 300
    with pytest.raises(RetryAfter):
        await send(pacing, telegram, "refused", PATIENT)
    paused_at = time.now
    await send(pacing, telegram, "other", OTHER)
    [(sent_at, _)] = telegram.sent
    assert paused_at + PAUSE_SECONDS <= sent_at < paused_at + 300
    with pytest.raises(Paced):
        await send(pacing, telegram, "again", PATIENT)
    await pacing.shutdown()


async def test_a_reply_waits_out_a_short_flood_wait_of_its_chat(
    pacing: Pacing, telegram: Telegram
) -> None:
    telegram.flood[PATIENT] = 2
    await send(pacing, telegram, "reply", PATIENT, Lane(retries=1))
    assert [name for _, name in telegram.sent] == ["reply"]
    await pacing.shutdown()


async def test_a_chat_gets_about_one_message_a_second_after_a_short_burst(
    pacing: Pacing, telegram: Telegram, time: FakeTime
) -> None:
    start = time.now
    sends = [send(pacing, telegram, f"m{i}", PATIENT) for i in range(CHAT_BURST + 2)]
    await asyncio.gather(*sends)
    times = [t - start for t, _ in telegram.sent]
    assert times[CHAT_BURST - 1] < 1.0  # the burst
    assert times[CHAT_BURST] >= 1.0 and times[CHAT_BURST + 1] >= 2.0
    # Edits of its messages are not messages: they wait for nobody's second.
    before = time.now
    await send(pacing, telegram, "edit", PATIENT, endpoint="editMessageText")
    assert time.now - before < 1.0
    await pacing.shutdown()


async def test_a_chat_that_would_wait_long_is_refused_at_once(
    pacing: Pacing, telegram: Telegram
) -> None:
    started = [
        asyncio.create_task(send(pacing, telegram, f"m{i}", PATIENT)) for i in range(CHAT_BURST + 2)
    ]
    await asyncio.sleep(0)
    with pytest.raises(Paced):
        await send(pacing, telegram, "one too many", PATIENT)
    await asyncio.gather(*started)
    await pacing.shutdown()


async def test_a_group_gets_twenty_a_minute_and_is_refused_at_once_past_them(
    time: FakeTime, telegram: Telegram
) -> None:
    pacing = Pacing(clock=time.clock, sleep=time.sleep, chat_per_second=None)
    for i in range(20):
        await send(pacing, telegram, f"alert {i}", GROUP)
    with pytest.raises(Paced) as paced:
        await send(pacing, telegram, "alert 21", GROUP)
    assert paced.value.retry_after
    await send(pacing, telegram, "reminder", PATIENT, BULK)  # the others go on
    assert len(telegram.sent) == 21
    await pacing.shutdown()


async def test_a_request_cancelled_while_waiting_gives_its_turn_away(
    pacing: Pacing, telegram: Telegram
) -> None:
    waiting = [
        asyncio.create_task(send(pacing, telegram, f"r{i}", 3000 + i, BULK)) for i in range(20)
    ]
    await asyncio.sleep(0)
    for task in waiting[5:]:
        task.cancel()
    await asyncio.gather(*waiting, return_exceptions=True)
    await send(pacing, telegram, "alert", GROUP)
    assert [name for _, name in telegram.sent][-1] == "alert"
    assert len(telegram.sent) <= 6
    await pacing.shutdown()


async def test_an_answer_goes_at_once_and_the_bulk_lane_makes_room_for_it(
    pacing: Pacing, telegram: Telegram, time: FakeTime
) -> None:
    bulk = [
        asyncio.create_task(send(pacing, telegram, f"reminder {i}", 2000 + i, BULK))
        for i in range(120)
    ]
    await telegram.tenth.wait()
    asked_at = []
    for i in range(15):  # a patient tapping through a conversation, three answers a second
        asked_at.append(time.now)
        await send(pacing, telegram, f"answer {i}", PATIENT, ANSWER)
        await time.sleep(1 / 3)
    await asyncio.gather(*bulk)
    answered_at = [t for t, name in telegram.sent if name.startswith("answer")]
    assert answered_at == asked_at  # none waited for a turn, nor for its chat's second
    # Answers and reminders together keep the overall pace: each answer took a reminder's turn.
    assert most_in_a_second([t for t, _ in telegram.sent]) <= 30
    await pacing.shutdown()


async def test_a_flood_of_answers_goes_a_short_burst_at_once_then_at_the_pace(
    pacing: Pacing, telegram: Telegram, time: FakeTime
) -> None:
    """A hundred answers at once (a patient pasting line after line, a crowd tapping): a few go
    at once, the rest at the pace, and Telegram's 30 a second is never passed."""
    start = time.now
    await asyncio.gather(
        *(send(pacing, telegram, f"answer {i}", 4000 + i, ANSWER) for i in range(100))
    )
    times = [t for t, _ in telegram.sent]
    assert len(times) == 100
    assert times.count(start) == ANSWER_BURST
    assert most_in_a_second(times) <= 30
    assert max(times) - start >= (100 - 30) / PER_SECOND  # the rest waited their turns
    await pacing.shutdown()


async def test_a_bulk_turn_makes_way_for_an_answer_under_way_and_an_urgent_one_does_not(
    pacing: Pacing, telegram: Telegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the bot answers someone, reminders wait (their CPU would slow the answer down);
    an alert does not."""
    monkeypatch.setattr(answering_module, "MAKE_WAY_SECONDS", 30.0)
    pacing.answering = answering = Answering()
    answering.begin()
    reminder = asyncio.create_task(send(pacing, telegram, "reminder", OTHER, BULK))
    await send(pacing, telegram, "alert", GROUP)
    await asyncio.sleep(0.05)
    assert [name for _, name in telegram.sent] == ["alert"]
    answering.end()
    await asyncio.wait_for(reminder, 5)
    assert [name for _, name in telegram.sent] == ["alert", "reminder"]
    await pacing.shutdown()


async def test_an_urgent_request_ends_the_way_a_bulk_turn_makes_for_answers(
    pacing: Pacing, telegram: Telegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An alert that comes while a reminder makes way for an answer goes at once: the way made is
    for answers, and an alert never waits for it."""
    monkeypatch.setattr(answering_module, "MAKE_WAY_SECONDS", 30.0)
    pacing.answering = answering = Answering()
    answering.begin()
    reminder = asyncio.create_task(send(pacing, telegram, "reminder", OTHER, BULK))
    await asyncio.sleep(0.05)  # the reminder's turn is making way now
    await asyncio.wait_for(send(pacing, telegram, "alert", GROUP), 2)
    assert [name for _, name in telegram.sent] == ["alert"]
    await asyncio.sleep(0.05)
    assert not reminder.done()  # the answer is still under way
    answering.end()
    await asyncio.wait_for(reminder, 5)
    assert [name for _, name in telegram.sent] == ["alert", "reminder"]
    await pacing.shutdown()


async def test_under_answers_that_never_stop_bulk_turns_still_go(
    pacing: Pacing, telegram: Telegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(answering_module, "MAKE_WAY_SECONDS", 0.02)
    pacing.answering = answering = Answering()
    answering.begin()  # and never ends
    loop = asyncio.get_running_loop()
    started = loop.time()
    await asyncio.wait_for(
        asyncio.gather(*(send(pacing, telegram, f"r{i}", 2000 + i, BULK) for i in range(5))), 5
    )
    assert len(telegram.sent) == 5
    # The first turn made way (the pace's own sleeps are on the fake clock: they take no time).
    assert loop.time() - started >= 0.02
    await pacing.shutdown()


async def test_making_way_takes_at_most_its_share_of_the_time_under_answers_that_never_stop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A handler stuck on a slow network counts as an answer under way: reminders still go at
    three quarters of their pace at least."""
    monkeypatch.setattr(answering_module, "MAKE_WAY_SECONDS", 0.05)
    answering = Answering()
    answering.begin()  # and never ends
    loop = asyncio.get_running_loop()
    started = loop.time()
    waited = 0.0
    while loop.time() - started < 1.0:
        before = loop.time()
        await asyncio.gather(answering.make_way(), answering.make_way())  # two workers at once
        waited += loop.time() - before
        await asyncio.sleep(0.01)  # a reminder's work
    elapsed = loop.time() - started
    assert waited >= 0.05  # the first wait was whole
    assert waited <= answering_module.SHARE * elapsed + 0.05 + 0.03


async def test_making_way_waits_for_the_last_answer_to_end_and_not_when_none_is_under_way(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(answering_module, "MAKE_WAY_SECONDS", 30.0)
    answering = Answering()
    await asyncio.wait_for(answering.make_way(), 1)  # none under way: at once
    answering.begin()
    answering.begin()
    waiting = asyncio.create_task(answering.make_way())
    answering.end()
    await asyncio.sleep(0.02)
    assert not waiting.done()  # one is still under way
    answering.end()
    await asyncio.wait_for(waiting, 1)
    assert not answering.busy
