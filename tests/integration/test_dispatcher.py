"""The dispatcher through kills, a network partition and a busy care-team group (issue 9).

A kill is played by `Killed`, raised where a SIGKILL would strike: nothing after it runs and nothing
left uncommitted survives; the restart is a second Application on the same database and Telegram.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select

from bot.app.dispatcher import SELF_CHECK_SECONDS
from bot.app.settings import Settings
from bot.care.escalations import store
from bot.rules import nightly
from bot.rules.findings import Finding, Tier
from bot.ui.texts import t
from devtools.simulation import Simulation, VirtualClock, running
from fake_telegram.core import FakeTelegram
from storage.db import Database
from storage.models import Dose, Escalation
from storage.repositories import Repository
from storage.repositories.nights import Sent
from tests.integration.test_reminders import (
    CUTOFF,
    TONIGHT,
    another_process,
    bedtime,
    enroll,
    followups,
    night,
    nights,
    reminders,
)
from tests.support.harness import DOCTOR, doses_of, patient_of
from tests.support.seed import seed_patients

GROUP = -4001


class Killed(BaseException):
    """A SIGKILL here: no `except Exception` catches it, nothing uncommitted survives it."""


async def killed(*args: object, **kwargs: object) -> None:
    raise Killed


# One transaction per state change (finding 2)


async def test_a_kill_while_the_next_night_is_planned_leaves_no_patient_without_one(
    harness: Simulation, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 9: killed between "sent" and the next night's plan, a patient was never reminded
    again."""
    user = harness.telegram.user(201)
    await enroll(harness, user)
    due = bedtime(TONIGHT)
    monkeypatch.setattr(harness.services.reminders, "plan_after_reminders", killed)
    harness.clock.set(due)
    with pytest.raises(Killed):
        await harness.dispatch()
    assert len(reminders(user)) == 1  # it went out before the kill

    harness.clock.advance(seconds=10)  # the restart takes a few seconds
    async with another_process(harness, settings) as restarted:
        await restarted.dispatch()
        await restarted.tap(user, reminders(user)[-1], t("button_taken"))
        tomorrow = bedtime(TONIGHT + timedelta(days=1))
        await restarted.run_until(tomorrow)

        rows = await nights(restarted, user)
        assert rows[TONIGHT].status == "taken"
        assert rows[TONIGHT + timedelta(days=1)].status == "sent"
        tonight, later = (
            [m for m in reminders(user) if m.date < int(tomorrow.timestamp())],
            [m for m in reminders(user) if m.date >= int(tomorrow.timestamp())],
        )
        assert len(tonight) <= 2  # at most one duplicate for the kill
        assert len(later) == 1


async def test_a_kill_while_a_missed_night_is_recorded_leaves_it_to_record_again(
    harness: Simulation, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The missed-night path: the night, its meaning and the next night are one commit."""
    user = harness.telegram.user(205)
    await enroll(harness, user)
    due = bedtime(TONIGHT)
    await harness.run_until(due + CUTOFF - timedelta(minutes=1))
    monkeypatch.setattr(harness.services.reminders, "plan_next_night", killed)
    harness.clock.set(due + CUTOFF)
    with pytest.raises(Killed):
        await harness.dispatch()
    assert (await night(harness, user, TONIGHT)).status == "sent"  # nothing of it committed

    harness.clock.advance(seconds=10)
    async with another_process(harness, settings) as restarted:
        await restarted.dispatch()
        rows = await nights(restarted, user)
    assert rows[TONIGHT].status == "missed"
    assert rows[TONIGHT + timedelta(days=1)].status == "scheduled"


async def test_a_patient_with_no_night_planned_gets_one_at_start_up_and_every_ten_minutes(
    harness: Simulation,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    user = harness.telegram.user(202)
    await enroll(harness, user)
    ticks = [1000.0]
    harness.services.dispatcher.monotonic = lambda: ticks[0]
    await harness.run_until(bedtime(TONIGHT))
    patient = await patient_of(harness, user)
    assert patient is not None
    tomorrow = TONIGHT + timedelta(days=1)

    async def lose_the_plan() -> None:
        # What a crash between two commits left behind: tonight reminded, nothing planned next.
        async with harness.services.db.session() as session:
            await session.execute(delete(Dose).where(Dose.status == "scheduled"))
            await session.commit()
        assert tomorrow not in await nights(harness, user)

    await lose_the_plan()
    await harness.dispatch()
    assert tomorrow not in await nights(harness, user)  # checked at most every ten minutes
    ticks[0] += SELF_CHECK_SECONDS
    with caplog.at_level(logging.WARNING, logger="bot.app.dispatcher"):
        await harness.dispatch()
    assert (await night(harness, user, tomorrow)).status == "scheduled"
    said = [r.getMessage() for r in caplog.records if r.name == "bot.app.dispatcher"]
    assert said == [f"Patient {patient.id} had no night planned: planned the next one"]

    await lose_the_plan()
    async with another_process(harness, settings) as restarted:
        await restarted.dispatch()  # its first round, at start-up
    assert (await night(harness, user, tomorrow)).status == "scheduled"


async def test_planning_that_fails_half_way_keeps_nothing_of_it_and_records_the_send(
    harness: Simulation, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A bug in planning, after it wrote the next night: the send is recorded alone, once, and
    the self-check plans the night."""
    user = harness.telegram.user(206)
    await enroll(harness, user)
    ticks = [1000.0]
    harness.services.dispatcher.monotonic = lambda: ticks[0]
    plan = harness.services.reminders.plan_after_reminders

    async def fails_after_writing(repo: Repository, patient_ids: list[int]) -> None:
        await plan(repo, patient_ids)
        raise RuntimeError("a bug")

    monkeypatch.setattr(harness.services.reminders, "plan_after_reminders", fails_after_writing)
    with caplog.at_level(logging.ERROR, logger="bot.app.dispatcher"):
        await harness.run_until(bedtime(TONIGHT))
    [reminder] = reminders(user)
    row = await night(harness, user, TONIGHT)
    assert (row.status, row.reminder_message_id) == ("sent", reminder.message_id)
    tomorrow = TONIGHT + timedelta(days=1)
    assert tomorrow not in await nights(harness, user)
    assert "Could not plan the night after dose" in caplog.text

    ticks[0] += SELF_CHECK_SECONDS
    await harness.dispatch()
    assert (await night(harness, user, tomorrow)).status == "scheduled"
    assert len(reminders(user)) == 1


# A claim whose send never happened (finding 3)


async def test_a_kill_between_the_claim_and_the_send_is_sent_at_the_restart(
    harness: Simulation, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 9: 15 kills during a 300-reminder night lost 2-3 first reminders."""
    user = harness.telegram.user(203)
    await enroll(harness, user)
    due = bedtime(TONIGHT)
    monkeypatch.setattr(harness.services.dispatcher.notifier, "send", killed)
    harness.clock.set(due)
    with pytest.raises(Killed):
        await harness.dispatch()
    assert (await night(harness, user, TONIGHT)).status == "sending"
    assert reminders(user) == []

    harness.clock.advance(seconds=10)
    async with another_process(harness, settings) as restarted:
        await restarted.dispatch()
        [reminder] = reminders(user)
        assert reminder.text.startswith(t("reminder", dose="\x00").split("\x00")[0])
        row = await night(restarted, user, TONIGHT)
        assert (row.status, row.reminder_message_id) == ("sent", reminder.message_id)
        assert (await night(restarted, user, TONIGHT + timedelta(days=1))).status == "scheduled"
        await restarted.run_until(due + CUTOFF)
    assert len(reminders(user)) == 1 and len(followups(user)) == 1


async def test_an_instance_starting_beside_others_leaves_their_claims_to_run_out(
    harness: Simulation, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Webhook mode, several instances: a claim found at start-up may be a live one's."""
    user = harness.telegram.user(204)
    await enroll(harness, user)
    due = bedtime(TONIGHT)
    monkeypatch.setattr(harness.services.dispatcher.notifier, "send", killed)
    harness.clock.set(due)
    with pytest.raises(Killed):  # or still sending, in another instance: the row cannot tell
        await harness.dispatch()
    assert (await night(harness, user, TONIGHT)).status == "sending"

    harness.clock.advance(seconds=10)
    async with another_process(harness, settings) as started:
        started.services.dispatcher.shared = True
        await started.dispatch()
        assert reminders(user) == []  # not taken from an instance that may be sending it
        # Its claim runs out: that instance died, and the night goes out, once.
        await started.run_until(due + nightly.SENDING_TIMEOUT + timedelta(seconds=30))
        assert len(reminders(user)) == 1
        assert (await night(started, user, TONIGHT)).status == "sent"


async def test_a_two_minute_partition_records_no_night_sent_that_was_not_delivered(
    harness: Simulation, settings: Settings
) -> None:
    """Issue 9: in a 2-minute partition 18 of 30 nights were recorded sent, never delivered."""
    core, db = harness.telegram, harness.services.db
    due = harness.clock.now()
    users = [core.user(3001 + i, opened=True) for i in range(30)]
    await seed_patients(db, settings, [u.id for u in users], due)
    # Some requests are handled but their answer never comes (maybe delivered: never sent
    # twice); the others never get a connection (never delivered: sent when it is back).
    core.fail(None, timeout="read", times=6)
    core.fail(None, timeout="connect", times=100_000)

    await harness.run_until(due + timedelta(minutes=2))
    # Each patient's first night: recorded sent only if Telegram has it.
    recorded = {u.id: (await doses_of(harness, u))[0].status for u in users}
    sent = {user_id for user_id, status in recorded.items() if status == "sent"}
    delivered = {u.id for u in users if reminders(u)}
    assert len(delivered) == 6
    assert sent <= delivered  # no night recorded sent that was not delivered
    connect = [c for c in core.requests if c.body.get("timed_out") == "connect"]
    assert len(connect) >= 3 * 24  # the others were tried again and again

    core.heal()
    await harness.run_until(due + timedelta(minutes=10))
    assert [len(reminders(u)) for u in users] == [1] * 30
    for user in users:
        rows_ = await nights(harness, user)
        assert [r.status for r in rows_.values()] == ["sent", "scheduled"]


async def test_reminders_that_went_out_side_by_side_are_recorded_together_each_as_its_own(
    harness: Simulation, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Group commit: the records of reminders sent side by side share one transaction, and
    each night still gets its own message id and its own next night."""
    core, db, dispatcher = harness.telegram, harness.services.db, harness.services.dispatcher
    due = harness.clock.now()
    users = [core.user(3101 + i, opened=True) for i in range(12)]
    await seed_patients(db, settings, [u.id for u in users], due)
    # Several under way at once, on a SQLite file as on PostgreSQL.
    assert dispatcher.in_flight > 1
    batches: list[int] = []
    together = dispatcher.records.together

    async def counted(repo: Repository, sent: list[Any]) -> None:
        batches.append(len(sent))
        if len(batches) == 1:
            await asyncio.sleep(0.2)  # a slow first commit: the others' records queue behind it
        await together(repo, sent)

    monkeypatch.setattr(dispatcher.records, "together", counted)
    await harness.run_until(due + timedelta(seconds=5))

    assert sum(batches) == 12 and len(batches) < 12 and max(batches) > 1
    for user in users:
        [reminder] = reminders(user)
        rows_ = await nights(harness, user)
        tonight, tomorrow = rows_.values()
        assert (tonight.status, tonight.reminder_message_id) == ("sent", reminder.message_id)
        assert (tomorrow.night - tonight.night, tomorrow.status) == (timedelta(days=1), "scheduled")


async def test_a_record_that_lost_its_guard_records_nothing_and_plans_no_night(
    harness: Simulation, settings: Settings
) -> None:
    """In a group commit, a night no longer "sending" (taken over meanwhile) is neither recorded
    nor planned after; the others of its transaction are."""
    core, db, dispatcher = harness.telegram, harness.services.db, harness.services.dispatcher
    due = harness.clock.now()
    users = [core.user(3201 + i, opened=True) for i in range(2)]
    await seed_patients(db, settings, [u.id for u in users], due)
    async with db.session() as session:
        rows = (await session.execute(select(Dose).order_by(Dose.patient_id))).scalars().all()
        for row, status in zip(rows, ("sending", "taken"), strict=True):
            row.status = status
        await session.commit()
    later = due + timedelta(minutes=30)
    async with db.session() as session:
        repo = Repository(session)
        sent = [(Sent(r.id, due, later, 100 + n, False), r.patient_id) for n, r in enumerate(rows)]
        await dispatcher._record_together(repo, sent)
        await repo.commit()
    recorded, taken_over = [await nights(harness, user) for user in users]
    tonight = rows[0].night
    assert [(r.status, r.reminder_message_id) for r in recorded.values()] == [
        ("sent", 100),
        ("scheduled", None),
    ]
    assert next(reversed(recorded)) == tonight + timedelta(days=1)
    assert [(r.status, r.reminder_message_id) for r in taken_over.values()] == [("taken", None)]


# Per-chat pacing (finding 12)


async def test_a_hundred_alerts_queued_for_a_group_hold_back_no_reminder(
    settings: Settings, clock: VirtualClock, db: Database
) -> None:
    """Issue 9: reminders waited 55-70 s behind 100 alerts queued for a care-team group."""
    care = settings.model_copy(
        update={"provider_chat_ids": (GROUP,), "provider_user_ids": (DOCTOR,)}
    )
    telegram = FakeTelegram(clock=clock.now)
    telegram.group(GROUP)
    now = clock.now()
    alerted = list(range(4100, 4200))
    await seed_patients(db, care, alerted, now + timedelta(hours=6))
    async with db.session() as session:
        repo = Repository(session)
        for user_id in alerted:
            patient = await repo.patients.by_user(user_id)
            assert patient is not None
            await store(repo, patient, Finding(Tier.ROUTINE, "blocked_bot"), now)
        await repo.commit()
    patients = [telegram.user(4300 + i, opened=True) for i in range(5)]
    await seed_patients(db, care, [u.id for u in patients], now)

    async with running(care, clock, telegram) as simulation:
        # One round: its alerts come first, yet it ends at once and every reminder is out.
        await asyncio.wait_for(simulation.dispatch(), 20)
        assert [len(reminders(u)) for u in patients] == [1] * 5
        in_group = telegram.messages(GROUP)
        assert 1 <= len(in_group) <= 20
        assert [c for c in telegram.requests if c.status == 429] == []
        async with db.session() as session:
            waiting = (
                await session.execute(
                    select(Escalation).where(
                        Escalation.rounds == 0, Escalation.next_action_at.is_not(None)
                    )
                )
            ).scalars()
            assert len(list(waiting)) == 100 - len(in_group)
    assert telegram.client_errors() == []


# Rounds on the monotonic clock (finding 9)


async def test_a_failing_round_is_logged_once_and_the_rounds_go_on(
    harness: Simulation, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    dispatcher = harness.services.dispatcher
    rounds: list[int] = []
    dispatch = dispatcher.dispatch

    async def flaky(limit: int = 500) -> int:
        rounds.append(1)
        if len(rounds) <= 2:
            raise RuntimeError("the database is away")
        return await dispatch(limit)

    monkeypatch.setattr(dispatcher, "dispatch", flaky)
    with caplog.at_level(logging.ERROR, logger="bot.app.dispatcher"):
        dispatcher.start(0.01)
        for _ in range(200):
            if len(rounds) >= 4:
                break
            await asyncio.sleep(0.01)
        await dispatcher.stop()
    assert len(rounds) >= 4
    failed = [r for r in caplog.records if r.name == "bot.app.dispatcher"]
    assert [bool(r.exc_info) for r in failed] == [True, False]  # one traceback, then one line


async def test_a_stale_claim_is_sent_again_not_when_it_may_have_been_delivered(
    harness: Simulation,
) -> None:
    """A send Telegram may have delivered (its answer lost) is recorded sent: never twice."""
    user = harness.telegram.user(204)
    await enroll(harness, user)
    harness.telegram.fail("sendMessage", timeout="read")
    await harness.run_until(bedtime(TONIGHT) + nightly.SENDING_TIMEOUT * 2)
    assert len(reminders(user)) == 1
    row = await night(harness, user, TONIGHT)
    assert (row.status, row.reminder_message_id) == ("sent", None)


# Alerts raised by a round (issue 11)


async def test_an_alert_raised_in_a_round_of_many_reminders_goes_out_before_its_last_reminder(
    settings: Settings, clock: VirtualClock, db: Database
) -> None:
    """A patient who blocked the bot, met in a round of 40 reminders: the care team hears of it
    while the round goes on, not after it."""
    care = settings.model_copy(
        update={"provider_chat_ids": (GROUP,), "provider_user_ids": (DOCTOR,)}
    )
    telegram = FakeTelegram(clock=clock.now)
    telegram.group(GROUP)
    patients = [telegram.user(4400 + i, opened=True) for i in range(40)]
    await seed_patients(db, care, [u.id for u in patients], clock.now())
    gone = patients[0]  # the first reminder of the round
    gone.block()

    async with running(care, clock, telegram) as simulation:
        await asyncio.wait_for(simulation.dispatch(), 60)

    def to(call: object, chat_id: int) -> bool:
        params = getattr(call, "params", {})
        return getattr(call, "method", "") == "sendMessage" and int(params["chat_id"]) == chat_id

    order = telegram.requests
    refused = [i for i, c in enumerate(order) if to(c, gone.id) and c.status == 403]
    alerted = [i for i, c in enumerate(order) if to(c, GROUP) and c.ok]
    reminded = [i for i, c in enumerate(order) if any(to(c, u.id) for u in patients[1:]) and c.ok]
    assert len(refused) == 1 and len(alerted) == 1 and len(reminded) == 39
    assert refused[0] < alerted[0] < reminded[-1]
    assert all(len(reminders(u)) == 1 for u in patients[1:])


async def test_two_processes_claiming_batches_of_the_same_eighty_reminders_send_each_once(
    settings: Settings, clock: VirtualClock, db: Database
) -> None:
    """Reminders are claimed a batch at a time: two processes at once share them, none twice."""
    telegram = FakeTelegram(clock=clock.now)
    patients = [telegram.user(4500 + i, opened=True) for i in range(80)]
    await seed_patients(db, settings, [u.id for u in patients], clock.now())

    async with running(settings, clock, telegram) as one, running(settings, clock, telegram) as two:
        await asyncio.wait_for(asyncio.gather(one.dispatch(), two.dispatch()), 120)
        # Each process keeps Telegram's pace on its own: together they may go over it for a
        # moment, and a reminder Telegram refused (429) is due again a few seconds later.
        for _ in range(3):
            clock.advance(seconds=10)
            await asyncio.wait_for(asyncio.gather(one.dispatch(), two.dispatch()), 120)

    assert [len(reminders(u)) for u in patients] == [1] * 80
    async with db.session() as session:
        statuses = (await session.execute(select(Dose.status).where(Dose.night == TONIGHT))).all()
    sent = [s for (s,) in statuses if s == "sent"]
    assert len(sent) == 80
    assert [c for c in telegram.client_errors() if c.status != 429] == []


async def test_a_batch_claim_about_to_run_out_is_renewed_before_its_send_and_sent_once(
    harness: Simulation, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch whose turn comes late (a slow Telegram): each claim is renewed, never sent on one
    that another process could take over meanwhile."""
    user = harness.telegram.user(205)
    await enroll(harness, user)
    dispatcher = harness.services.dispatcher
    read_for = dispatcher._read_for

    async def slow(rows: list[tuple[int, int, str]], deadline: datetime) -> None:
        await read_for(rows, deadline)
        harness.clock.advance(seconds=nightly.SENDING_TIMEOUT.total_seconds() * 0.75)

    monkeypatch.setattr(dispatcher, "_read_for", slow)
    harness.clock.set(bedtime(TONIGHT))
    await harness.dispatch()
    assert len(reminders(user)) == 1
    row = await night(harness, user, TONIGHT)
    assert row.status == "sent"


async def test_a_stop_mid_round_puts_back_every_reminder_claimed_and_not_started(
    settings: Settings, clock: VirtualClock, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stop after 20 of 80 reminders, with the next batch already claimed where several are
    in flight: nothing is left claimed, what was not sent is due now, and goes out once later."""
    telegram = FakeTelegram(clock=clock.now)
    patients = [telegram.user(4600 + i, opened=True) for i in range(80)]
    await seed_patients(db, settings, [u.id for u in patients], clock.now())

    async def tonight() -> list[tuple[str, datetime | None]]:
        async with db.session() as session:
            query = select(Dose.status, Dose.next_action_at).where(Dose.night == TONIGHT)
            return [(status, at) for status, at in (await session.execute(query)).all()]

    async with running(settings, clock, telegram) as simulation:
        dispatcher = simulation.services.dispatcher
        send, count = dispatcher.notifier.send, 0

        async def stopping_at_twenty(*args: object, **kwargs: object) -> int | None:
            nonlocal count
            message_id = await send(*args, **kwargs)  # type: ignore[arg-type]
            count += 1
            clock.advance(seconds=1)  # each batch's claim runs to a moment of its own
            if count == 20:
                dispatcher._stopping.set()
            return message_id

        monkeypatch.setattr(dispatcher.notifier, "send", stopping_at_twenty)
        await asyncio.wait_for(simulation.dispatch(), 60)
        rows = await tonight()
        reminded = sum(len(reminders(u)) for u in patients)
        assert 20 <= reminded < 80
        assert [status for status, _ in rows].count("sent") == reminded
        assert "sending" not in {status for status, _ in rows}
        put_back = [at for status, at in rows if status == "scheduled"]
        assert len(put_back) == 80 - reminded
        assert all(at is not None and at <= clock.now() for at in put_back)

        dispatcher._stopping.clear()
        await asyncio.wait_for(simulation.dispatch(), 60)

    assert [len(reminders(u)) for u in patients] == [1] * 80
