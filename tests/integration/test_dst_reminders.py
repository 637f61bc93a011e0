"""Daylight saving through the real stack: one reminder a night, at the local bedtime, across 2026's
clock changes, including a bedtime inside the spring-forward gap and one inside the fall-back fold.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.rules.timing import reminder_at
from bot.ui.texts import t
from devtools.simulation import Simulation
from tests.integration.test_reminders import enroll, nights, reminders

DAY = timedelta(days=1)


def _night_before(change_day: date) -> date:
    """The evening whose 22:30 reminder is the last one before the clocks change that morning."""
    return change_day - DAY


# (zone, the local date the clocks change on)
CHANGES = [
    ("America/New_York", date(2026, 3, 8)),
    ("America/New_York", date(2026, 11, 1)),
    ("Europe/London", date(2026, 3, 29)),
    ("Europe/London", date(2026, 10, 25)),
    ("Australia/Sydney", date(2026, 4, 5)),
    ("Australia/Sydney", date(2026, 10, 4)),
    ("Pacific/Chatham", date(2026, 4, 5)),
    ("Pacific/Chatham", date(2026, 9, 27)),
]


async def _remind_every_night(
    harness: Simulation, zone: str, bedtime: str, first: date, count: int
) -> list[datetime]:
    """Enroll at noon local on `first`, then live through `count` nights answering Taken.

    Each night: nothing a minute before its instant, exactly one reminder at it. Returns the
    reminders' send instants, as the fake Telegram dated the messages.
    """
    tz = ZoneInfo(zone)
    hour, minute = (int(part) for part in bedtime.split(":"))
    local_bedtime = time(hour, minute)
    user = harness.telegram.user(500)
    harness.clock.set(datetime.combine(first, time(12, 0), tzinfo=tz))
    await enroll(harness, user, bedtime=bedtime, zone=zone)
    enrolled = len(user.messages())

    sent: list[datetime] = []
    for n in range(count):
        evening = first + n * DAY
        due = reminder_at(evening, local_bedtime, tz)
        await harness.run_until(due - timedelta(minutes=1))
        assert len(user.messages()) == enrolled + n, (
            f"early or extra message before night {evening}"
        )
        await harness.run_until(due)
        assert len(reminders(user)) == n + 1, f"no single reminder for night {evening}"
        reminder = reminders(user)[-1]
        sent.append(datetime.fromtimestamp(reminder.date, UTC))
        await harness.tap(user, reminder, t("button_taken"))

    last_due = reminder_at(first + (count - 1) * DAY, local_bedtime, tz)
    await harness.run_until(last_due + timedelta(hours=6))
    assert len(user.messages()) == enrolled + count, "a night was reminded twice"
    rows = await nights(harness, user)
    evenings = [first + n * DAY for n in range(count)]
    assert sorted(rows) == evenings + [evenings[-1] + DAY]  # and the next night, scheduled
    for evening, at in zip(evenings, sent, strict=True):
        assert rows[evening].status == "taken"
        assert rows[evening].sent_at == at == rows[evening].remind_at
    return sent


@pytest.mark.parametrize(("zone", "change_day"), CHANGES, ids=[f"{z}-{d}" for z, d in CHANGES])
async def test_one_reminder_a_night_at_2230_local_across_the_clock_change(
    harness: Simulation, zone: str, change_day: date
) -> None:
    tz = ZoneInfo(zone)
    first = _night_before(change_day) - DAY
    sent = await _remind_every_night(harness, zone, "22:30", first, count=4)

    evenings = [first + n * DAY for n in range(4)]
    assert sent == [reminder_at(e, time(22, 30), tz) for e in evenings]
    for evening, at in zip(evenings, sent, strict=True):
        local = at.astimezone(tz)
        assert (local.date(), local.time()) == (evening, time(22, 30))
    # The case really crosses a change: the two evenings around it are not 24 hours apart.
    before, after = sent[1], sent[2]
    shift = after.astimezone(tz).utcoffset() - before.astimezone(tz).utcoffset()  # type: ignore[operator]
    assert shift != timedelta(0)
    assert after - before == DAY - shift
    assert sent[1] - sent[0] == sent[3] - sent[2] == DAY


@pytest.mark.parametrize("first", [date(2026, 3, 6), date(2026, 10, 30)])
async def test_kolkata_has_no_clock_change_and_reminds_every_24_hours(
    harness: Simulation, first: date
) -> None:
    tz = ZoneInfo("Asia/Kolkata")
    sent = await _remind_every_night(harness, "Asia/Kolkata", "22:30", first, count=4)

    assert [b - a for a, b in zip(sent, sent[1:], strict=False)] == [DAY] * 3
    assert all(at.astimezone(tz).time() == time(22, 30) for at in sent)
    assert sent[0] == datetime.combine(first, time(17, 0), tzinfo=UTC)  # 22:30 IST is 17:00 UTC


async def test_bedtime_inside_the_spring_forward_gap_comes_once_an_hour_later(
    harness: Simulation,
) -> None:
    """New York skips 02:00-03:00 on 8 March 2026: a 02:30 bedtime that night is 03:30 EDT."""
    tz = ZoneInfo("America/New_York")
    first = date(2026, 3, 6)  # its 02:30 is the morning of 7 March; the gap night is 7 March's
    sent = await _remind_every_night(harness, "America/New_York", "02:30", first, count=3)

    assert sent == [
        datetime(2026, 3, 7, 7, 30, tzinfo=UTC),  # 02:30 EST
        datetime(2026, 3, 8, 7, 30, tzinfo=UTC),  # 02:30 does not exist: 03:30 EDT
        datetime(2026, 3, 9, 6, 30, tzinfo=UTC),  # 02:30 EDT
    ]
    assert [at.astimezone(tz).time() for at in sent] == [time(2, 30), time(3, 30), time(2, 30)]
    assert sent == [reminder_at(first + n * DAY, time(2, 30), tz) for n in range(3)]


async def test_bedtime_inside_the_fall_back_fold_comes_once_at_its_first_occurrence(
    harness: Simulation,
) -> None:
    """New York repeats 01:00-02:00 on 1 November 2026: a 01:30 bedtime is reminded once, EDT."""
    tz = ZoneInfo("America/New_York")
    first = date(2026, 10, 30)
    sent = await _remind_every_night(harness, "America/New_York", "01:30", first, count=3)

    assert sent == [
        datetime(2026, 10, 31, 5, 30, tzinfo=UTC),  # 01:30 EDT
        datetime(2026, 11, 1, 5, 30, tzinfo=UTC),  # the first 01:30 (EDT), never also 06:30 UTC
        datetime(2026, 11, 2, 6, 30, tzinfo=UTC),  # 01:30 EST
    ]
    assert [at.astimezone(tz).time() for at in sent] == [time(1, 30)] * 3
    assert sent == [reminder_at(first + n * DAY, time(1, 30), tz) for n in range(3)]
