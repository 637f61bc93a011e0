"""Nothing lost: every update is stored before Telegram hears it arrived, and handled from there;
an emergency is answered even while the database is down (issue 9, findings 4 and 5).

Through the real stack: the Application, the fake Telegram, a real database, a virtual clock.
Several processes sharing one database are several intakes, each with an engine of its own.
A database "down" is the real one swapped for a file that cannot be opened, as an unreachable
server or a lost disk would fail; a locked one is a second connection holding SQLite's write lock.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from bot.app.settings import Settings
from bot.delivery.intake import LEASE, Intake, Payload
from bot.ui.texts import t
from devtools.simulation import Simulation, VirtualClock, running
from fake_telegram.core import FakeTelegram, FakeUser
from storage import intake as queries
from storage.db import Database
from storage.models import Escalation, ReceivedUpdate
from tests.integration.test_care_loop import PATIENT, alerts, enroll, escalations, invite
from tests.support.harness import ADMIN, DOCTOR, STRANGER

EMERGENCY = t("concern_emergency", emergency="911")


async def kept_updates(sim: Simulation) -> list[ReceivedUpdate]:
    async with sim.services.db.session() as session:
        rows = await session.execute(select(ReceivedUpdate).order_by(ReceivedUpdate.update_id))
        return list(rows.scalars())


@contextmanager
def database_down(sim: Simulation, tmp_path: object) -> Iterator[None]:
    """Point the bot's sessions at a database that cannot be reached, then back."""
    db = sim.services.db
    working = db._sessions
    broken = create_async_engine(f"sqlite+aiosqlite:///{tmp_path}/no/such/folder/down.sqlite3")
    db._sessions = async_sessionmaker(broken, expire_on_commit=False)
    try:
        yield
    finally:
        db._sessions = working


@contextmanager
def sqlite_locked(database_url: str) -> Iterator[None]:
    """Another process holds SQLite's write lock: writes wait out the busy timeout, then fail."""
    locker = sqlite3.connect(make_url(database_url).database, isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        locker.execute("ROLLBACK")
        locker.close()


def texts_since(user: FakeUser, count: int) -> str:
    return "\n".join(m.text or "" for m in user.messages()[count:])


async def patient(care: Simulation) -> FakeUser:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care))
    return user


# No update lost


async def test_an_update_sent_twice_by_telegram_is_handled_once(harness: Simulation) -> None:
    user = harness.telegram.user(4001)
    update = user.send("/help")
    await harness.deliver()
    answers = len(user.messages())
    # The process stored it and died before confirming it: Telegram sends the same update again.
    harness.telegram.resend(update)
    await harness.deliver()
    assert len(user.messages()) == answers


async def test_an_update_stored_and_confirmed_but_not_handled_is_handled_after_a_restart(
    settings: Settings, clock: VirtualClock, db: Database
) -> None:
    telegram = FakeTelegram(clock=clock.now)
    user = telegram.user(4002)
    async with running(settings, clock, telegram) as first:
        user.send("/help")
        await first.poller.fetch(wait=0)  # stored
        await first.poller.fetch(wait=0)  # confirmed by the next getUpdates; then the crash
        assert telegram.pending_updates == [] and user.messages() == []
    async with running(settings, clock, telegram) as second:
        await second.deliver()
        assert len(user.messages()) == 1  # the answer to /help
        assert [row.handled_at is not None for row in await kept_updates(second)] == [True]
    assert telegram.client_errors() == []


async def test_updates_are_handled_in_the_order_they_came(harness: Simulation) -> None:
    user = harness.telegram.user(4003)
    for text in ("/help", "/today", "/help"):
        user.send(text)
    await harness.deliver()
    kept = await kept_updates(harness)
    assert [row.update_id for row in kept] == sorted(row.update_id for row in kept)
    assert all(row.handled_at is not None and row.chat_id == user.id for row in kept)
    # Each answer came in the order its question did: help, today, help.
    first, middle, last = [m.text for m in user.messages()]
    assert first == last != middle


async def test_a_handled_update_keeps_only_its_id_not_the_words(harness: Simulation) -> None:
    user = harness.telegram.user(4005)
    user.send("my ankles are swollen and sore")
    await harness.deliver()
    [row] = await kept_updates(harness)
    assert row.handled_at is not None and row.payload is None


async def test_handled_updates_are_purged_after_a_day(harness: Simulation) -> None:
    user = harness.telegram.user(4004)
    user.send("/help")
    await harness.deliver()
    harness.clock.advance(hours=25)
    harness.services.intake._purged_at = None  # the hourly purge is due
    user.send("/today")
    await harness.deliver()
    [kept] = await kept_updates(harness)
    assert kept.handled_at == harness.clock.now()  # the /today of now; /help went


async def test_delete_also_erases_the_patients_stored_updates(care: Simulation) -> None:
    user = await patient(care)
    await care.say(user, "my ankles have been a bit swollen")
    assert any(row.chat_id == PATIENT for row in await kept_updates(care))
    await care.tap(user, await care.say(user, "/delete"), t("button_delete_yes"))
    assert [row.chat_id for row in await kept_updates(care) if row.chat_id == PATIENT] == []
    assert {row.chat_id for row in await kept_updates(care)} >= {DOCTOR}


# Emergencies without a database


@pytest.mark.parametrize(
    ("words", "expected"),
    [("I want to kill myself", (EMERGENCY, "988")), ("I can't breathe", (EMERGENCY,))],
)
async def test_an_emergency_is_answered_while_the_database_is_down_and_stored_once_it_is_back(
    care: Simulation, tmp_path: object, words: str, expected: tuple[str, ...]
) -> None:
    user = await patient(care)
    before, admin_before = len(user.messages()), len(care.telegram.messages(ADMIN))
    with database_down(care, tmp_path):
        user.send(words)
        await care.deliver()
        answer = texts_since(user, before)
        assert all(part.split(",")[0] in answer for part in expected), answer
        assert t("error") not in answer
        assert t("concern_sent") not in answer  # nobody was alerted: never say so
        assert len(care.telegram.messages(ADMIN)) > admin_before
        assert care.telegram.messages(ADMIN)[-1].text == t("admin_database_down")
        await care.deliver()  # Telegram sends it again, still unconfirmed: answered once only
        assert texts_since(user, before) == answer
    await care.deliver()
    emergencies = [e for e in await escalations(care) if e.tier == "emergency"]
    assert len(emergencies) == 1 and emergencies[0].words == words
    assert alerts(care, DOCTOR), "the alert reached the doctor"
    assert t("concern_sent") in user.last().text


async def test_a_stranger_in_an_emergency_is_answered_while_the_database_is_down(
    care: Simulation, tmp_path: object
) -> None:
    stranger = care.telegram.user(STRANGER + 1)
    with database_down(care, tmp_path):
        stranger.send("I want to kill myself")
        await care.deliver()
    assert stranger.last().text == t("inbox_emergency_stranger", emergency="911", crisis="988")


async def test_a_locked_sqlite_file_still_gives_the_emergency_answer_and_the_words_are_kept(
    care: Simulation, database_url: str
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's own lock")
    user = await patient(care)
    before = len(user.messages())
    user.send("I want to kill myself")
    await care.poller.fetch(wait=0)  # stored before the lock: claiming it meets the lock
    with sqlite_locked(database_url):
        await care.deliver()
        answer = texts_since(user, before)
        # First aid from what is stored, as for an update the database could not take.
        assert EMERGENCY.split(",")[0] in answer and "988" in answer, answer
        assert t("error") not in answer and t("concern_sent") not in answer
    await care.deliver()
    async with care.services.db.session() as session:
        count = select(func.count()).select_from(Escalation).where(Escalation.tier == "emergency")
        assert (await session.execute(count)).scalar_one() == 1
    assert alerts(care, DOCTOR)
    assert t("concern_sent") in user.last().text


# Several processes on one database: each update once, each chat in order, chats side by side

CHATS = 20


def payload(update_id: int, chat_id: int) -> Payload:
    """A stored update as Telegram sends it, reduced to what the intake reads."""
    chat = {"id": chat_id, "type": "private"}
    return {"update_id": update_id, "message": {"message_id": update_id, "chat": chat}}


class Recorder:
    """A handler that records when each update's handling started and ended, and by whom."""

    def __init__(self) -> None:
        self.events: list[tuple[str, int, str]] = []  # (start or end, update_id, intake)
        self.hold: dict[int, asyncio.Event] = {}  # updates whose handler waits to be let go
        self.began: dict[int, asyncio.Event] = {}  # set as each update's handler starts
        self.watch: Callable[[], None] = lambda: None  # called after each event
        self.pause: Callable[[int], float] = lambda _: 0.0  # seconds a handler takes

    def process(self, intake: Intake) -> Callable[[Payload], Awaitable[None]]:
        async def process(update: Payload) -> None:
            update_id = update["update_id"]
            self._record("start", update_id, intake)
            self.began.setdefault(update_id, asyncio.Event()).set()
            if update_id in self.hold:
                await self.hold[update_id].wait()
            await asyncio.sleep(self.pause(update_id))  # others run in the middle of a handler
            self._record("end", update_id, intake)

        return process

    def _record(self, kind: str, update_id: int, intake: Intake) -> None:
        self.events.append((kind, update_id, intake.name))
        self.watch()

    def ended(self, intake: Intake | None = None) -> list[int]:
        name = intake.name if intake else None
        return [u for kind, u, by in self.events if kind == "end" and name in (None, by)]

    def each_once_in_order(self, updates: list[Payload], *by: Intake) -> None:
        """Each update handled once, every intake of `by` handling some, and each chat's one
        at a time, in order, whichever intake handled them: start, end, start, end..."""
        assert sorted(self.ended()) == [u["update_id"] for u in updates], "each handled once"
        assert all(self.ended(intake) for intake in by)
        for chat in {u["message"]["chat"]["id"] for u in updates}:
            ids = [u["update_id"] for u in updates if u["message"]["chat"]["id"] == chat]
            in_chat = [(kind, u) for kind, u, _ in self.events if u in ids]
            assert in_chat == [(kind, u) for u in ids for kind in ("start", "end")]


@asynccontextmanager
async def intakes(
    database_url: str, clock: VirtualClock, count: int
) -> AsyncIterator[list[Intake]]:
    """`count` processes' intakes on one database, each through its own engine."""
    dbs = [Database(database_url) for _ in range(count)]
    try:
        yield [Intake(db, clock, concurrency=CHATS // 2) for db in dbs]
    finally:
        for db in dbs:
            await db.dispose()


async def drain(intake: Intake, recorder: Recorder) -> None:
    """Handle until nothing is left to claim."""
    while await intake.handle(recorder.process(intake)):
        pass


async def test_two_processes_handle_each_of_200_updates_once_and_each_chat_in_order(
    database_url: str, clock: VirtualClock, db: Database
) -> None:
    recorder = Recorder()
    async with intakes(database_url, clock, 2) as (first, second):
        # The first process's handlers wait until the second has started one: both take part.
        both = asyncio.Event()

        def watch() -> None:
            if {by for _, _, by in recorder.events} == {first.name, second.name}:
                both.set()

        recorder.watch = watch
        # Handlers of uneven length (0 to 12 ms), so that chats overtake each other.
        recorder.pause = lambda update_id: update_id * 7919 % 13 / 1000
        # Chats typing in no pattern: ten of them in one go, then the rest.
        rng = random.Random(11)
        chats = [9000 + i for i in range(CHATS)]
        order = chats[: CHATS // 2] + chats[CHATS // 2 :] + rng.choices(chats, k=200 - CHATS)
        updates = [payload(1000 + i, chat) for i, chat in enumerate(order)]
        assert await first.store(updates[:100]) and await second.store(updates[100:])
        for update in updates[: CHATS // 2]:  # the oldest of half the chats: first's first claim
            recorder.hold[update["update_id"]] = both
        await asyncio.gather(drain(first, recorder), drain(second, recorder))
        await asyncio.gather(drain(first, recorder), drain(second, recorder))

        recorder.each_once_in_order(updates, first, second)
        assert all(row.handled_at is not None for row in await stored(db))


async def test_a_claim_whose_process_died_is_taken_over_once_its_lease_ran_out(
    database_url: str, clock: VirtualClock, db: Database
) -> None:
    recorder = Recorder()
    async with intakes(database_url, clock, 1) as (alive,):
        await alive.store([payload(1, 7001), payload(2, 7001), payload(3, 7002)])
        async with db.session() as session:  # a process claimed chat 7001's first, then died
            now = clock.now()
            assert [u for u, _ in await queries.claim(session, "dead", now, now + LEASE, 1)] == [1]
            await session.commit()
        await drain(alive, recorder)
        assert recorder.ended() == [3], "a live claim holds its chat"
        clock.advance(seconds=LEASE.total_seconds() - 1)
        await drain(alive, recorder)
        assert recorder.ended() == [3]
        clock.advance(seconds=2)
        await drain(alive, recorder)
        assert recorder.ended() == [3, 1, 2], "taken over, then the chat's next, in order"


async def test_a_long_handler_renews_its_claim_and_keeps_it(
    database_url: str, clock: VirtualClock, db: Database
) -> None:
    recorder = Recorder()
    async with intakes(database_url, clock, 2) as (slow, other):
        await slow.store([payload(1, 7001), payload(2, 7001)])
        recorder.hold[1] = asyncio.Event()
        handling = asyncio.create_task(slow.handle(recorder.process(slow)))
        await recorder.began.setdefault(1, asyncio.Event()).wait()
        for _ in range(3):  # the handler runs three leases long, renewing as it goes
            clock.advance(seconds=LEASE.total_seconds() * 2 / 3)
            await slow.renew()
            await drain(other, recorder)
        assert [e for e in recorder.events if e[2] == other.name] == []
        recorder.hold[1].set()
        assert await handling == 2
        assert recorder.ended(slow) == [1, 2] and recorder.ended(other) == []


async def test_a_slow_handler_in_one_chat_does_not_hold_other_chats_back(
    database_url: str, clock: VirtualClock, db: Database
) -> None:
    recorder = Recorder()
    async with intakes(database_url, clock, 1) as (intake,):
        others = [payload(10 + i, 7002 + i % 3) for i in range(9)]
        await intake.store([payload(1, 7001), payload(2, 7001), *others])
        # Chat 7001's first handler runs until every other chat's updates were handled.
        recorder.hold[1] = asyncio.Event()
        last = others[-1]["update_id"]

        def watch() -> None:
            if set(recorder.ended()) >= {u["update_id"] for u in others}:
                recorder.hold[1].set()

        recorder.watch = watch
        handled = await asyncio.wait_for(intake.handle(recorder.process(intake)), 60)
        assert handled == 11
        ended = recorder.ended()
        assert ended.index(last) < ended.index(1) < ended.index(2)


async def test_an_update_stored_while_another_chat_is_handled_is_handled_without_waiting(
    database_url: str, clock: VirtualClock, db: Database
) -> None:
    recorder = Recorder()
    ended = asyncio.Event()
    recorder.watch = lambda: ended.set() if recorder.ended() else None
    async with intakes(database_url, clock, 1) as (intake,):
        await intake.store([payload(1, 7001)])
        recorder.hold[1] = asyncio.Event()
        handling = asyncio.create_task(intake.handle(recorder.process(intake)))
        await recorder.began.setdefault(1, asyncio.Event()).wait()
        # Stored while chat 7001's handler runs: handled while it still does.
        await intake.store([payload(2, 7002), payload(3, 7001)])
        await asyncio.wait_for(ended.wait(), 60)
        assert recorder.ended() == [2]
        recorder.hold[1].set()
        assert await asyncio.wait_for(handling, 60) == 3
        assert recorder.ended() == [2, 1, 3], "chat 7001 still in order"
    assert all(row.handled_at is not None for row in await stored(db))


async def test_an_update_to_handle_again_holds_its_chat_and_not_the_others(
    database_url: str, clock: VirtualClock, db: Database
) -> None:
    async with intakes(database_url, clock, 1) as (intake,):
        await intake.store([payload(1, 7001), payload(2, 7001), payload(3, 7002)])
        seen: list[int] = []

        async def process(update: Payload) -> None:
            seen.append(update["update_id"])
            if seen.count(1) == 1 and update["update_id"] == 1:
                intake.again(1)  # the database failed under its handler, the first time

        assert await intake.handle(process) == 1
        assert seen == [1, 3]
        assert await intake.handle(process) == 2
        assert seen == [1, 3, 1, 2]


async def test_two_bots_on_one_database_answer_each_message_once_and_in_order(
    settings: Settings, clock: VirtualClock, db: Database
) -> None:
    telegram = FakeTelegram(clock=clock.now)
    users = [telegram.user(4100 + i) for i in range(8)]
    for user in users:
        for text in ("/help", "/today", "/help"):
            user.send(text)
    async with (
        running(settings, clock, telegram) as one,
        running(settings, clock, telegram) as two,
    ):
        await one.poller.fetch(wait=0)  # one bot stores them; both handle what is stored

        async def work(bot: Simulation) -> None:
            while await bot.poller.work():
                pass

        await asyncio.gather(work(one), work(two))
        assert all(row.handled_at is not None for row in await stored(db))
    for user in users:
        # Each answered once, in the order asked: help, today, help.
        first, middle, last = [m.text for m in user.messages()]
        assert first == last != middle
    assert telegram.client_errors() == []


# The running worker: `store` claims in its own transaction and starts the handler at once


@asynccontextmanager
async def handling(intake: Intake, recorder: Recorder) -> AsyncIterator[None]:
    """The worker's loop: `handle` waiting for what is stored, until the block ends."""
    stopping = asyncio.Event()
    loop = asyncio.create_task(
        intake.handle(recorder.process(intake), linger=60, stopping=stopping)
    )
    await taking(intake)
    try:
        yield
    finally:
        stopping.set()
        await asyncio.wait_for(loop, 60)


async def taking(intake: Intake) -> None:
    """Until the intake's handling loop runs (a moment after it was started)."""
    for _ in range(6000):
        if intake.taking:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the handling loop did not start")


def claims_apart(intake: Intake, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The updates the intake claims in a transaction of their own (not the store's)."""
    claimed: list[int] = []
    claim = intake._claim

    async def spy(limit: int, skip: Iterable[int]) -> list[tuple[int, Payload]]:
        batch = await claim(limit, skip)
        claimed.extend(update_id for update_id, _ in batch)
        return batch

    monkeypatch.setattr(intake, "_claim", spy)
    return claimed


async def test_an_update_stored_while_the_worker_waits_is_claimed_by_the_store_and_handled_once(
    database_url: str, clock: VirtualClock, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = Recorder()
    ended = asyncio.Event()
    recorder.watch = lambda: ended.set() if recorder.ended() else None
    async with intakes(database_url, clock, 1) as (intake,):
        apart = claims_apart(intake, monkeypatch)
        recorder.hold[1] = asyncio.Event()
        async with handling(intake, recorder):
            assert await intake.store([payload(1, 7001)])
            # When the store returns, the update is this process's and its handler started.
            [row] = await stored(db)
            assert row.claimed_by == intake.name and row.handled_at is None
            await asyncio.wait_for(recorder.began.setdefault(1, asyncio.Event()).wait(), 60)
            recorder.hold[1].set()
            await asyncio.wait_for(ended.wait(), 60)
        assert recorder.ended() == [1]
        assert apart == [], "no claim of its own"
        [row] = await stored(db)
        assert row.handled_at is not None


async def test_two_processes_storing_as_they_handle_take_each_update_once_each_chat_in_order(
    database_url: str, clock: VirtualClock, db: Database
) -> None:
    recorder = Recorder()
    total = 60
    ended = asyncio.Event()
    recorder.watch = lambda: ended.set() if len(recorder.ended()) >= total else None
    recorder.pause = lambda update_id: update_id * 7919 % 13 / 1000
    rng = random.Random(5)
    chats = [9000 + i for i in range(4)]
    order = chats + rng.choices(chats, k=total - len(chats))
    updates = [payload(1000 + i, chat) for i, chat in enumerate(order)]
    async with intakes(database_url, clock, 2) as (first, second):
        async with handling(first, recorder), handling(second, recorder):
            # Each stores every other update, one at a time, while both handle: a chat's next
            # update is often stored by one process while the other handles the one before.
            for i, update in enumerate(updates):
                assert await (first, second)[i % 2].store([update])
                await asyncio.sleep(rng.choice((0, 0, 0.003)))
            await asyncio.wait_for(ended.wait(), 60)
        recorder.each_once_in_order(updates, first, second)
        assert all(row.handled_at is not None for row in await stored(db))


async def test_a_process_killed_between_storing_and_handling_leaves_the_update_to_be_taken_over(
    database_url: str, clock: VirtualClock, db: Database
) -> None:
    recorder = Recorder()
    async with intakes(database_url, clock, 2) as (killed, alive):
        stopping = asyncio.Event()
        loop = asyncio.create_task(
            killed.handle(recorder.process(killed), linger=60, stopping=stopping)
        )
        await taking(killed)
        recorder.hold = {1: asyncio.Event(), 3: asyncio.Event()}  # they never finish there
        assert await killed.store([payload(1, 7001), payload(2, 7001), payload(3, 7002)])
        loop.cancel()  # the process is gone, its handlers with it
        with pytest.raises(asyncio.CancelledError):
            await loop
        recorder.hold.clear()
        assert recorder.ended() == []
        claimed = {row.update_id: row.claimed_by for row in await stored(db)}
        assert claimed == {1: killed.name, 2: None, 3: killed.name}
        await drain(alive, recorder)
        assert recorder.ended() == [], "its claims hold their chats until their lease runs out"
        clock.advance(seconds=LEASE.total_seconds() + 1)
        await drain(alive, recorder)
        assert recorder.ended() == [1, 3, 2], "taken over, then chat 7001's next, in order"
        assert recorder.ended(killed) == []
    assert all(row.handled_at is not None for row in await stored(db))


async def stored(db: Database) -> list[ReceivedUpdate]:
    async with db.session() as session:
        rows = await session.execute(select(ReceivedUpdate).order_by(ReceivedUpdate.update_id))
        return list(rows.scalars())


async def test_the_bot_counts_as_answering_while_a_handler_runs_and_no_longer_once_it_ended(
    database_url: str, clock: VirtualClock, db: Database
) -> None:
    """What the dispatcher and the pacing make way for (bot/delivery/answering.py)."""
    recorder = Recorder()
    async with intakes(database_url, clock, 1) as (intake,):
        await intake.store([payload(1, 7001)])
        assert not intake.answering.busy  # stored, not yet handled
        recorder.hold[1] = asyncio.Event()
        handling = asyncio.create_task(intake.handle(recorder.process(intake)))
        await recorder.began.setdefault(1, asyncio.Event()).wait()
        assert intake.answering.busy
        recorder.hold[1].set()
        assert await asyncio.wait_for(handling, 60) == 1
        await asyncio.sleep(0)  # the done callback of the handler's task
        assert not intake.answering.busy
