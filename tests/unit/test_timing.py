"""Bedtime to UTC instant, across midnight and daylight saving: expected instants worked by hand."""

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.rules.timing import (
    NIGHT_ROLLOVER,
    local_now,
    local_today,
    night_cutoff,
    quiet_until,
    reminder_at,
    require_utc,
    spaced_night,
    upcoming_night,
)

NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
SYDNEY = ZoneInfo("Australia/Sydney")
KOLKATA = ZoneInfo("Asia/Kolkata")
CHATHAM = ZoneInfo("Pacific/Chatham")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def wall(dt: datetime, tz: ZoneInfo) -> datetime:
    """The naive local wall time a clock in `tz` shows at instant `dt`."""
    return dt.astimezone(tz).replace(tzinfo=None)


def row(tz: ZoneInfo, night: str, bedtime: str, expected_utc: str, local_wall: str) -> tuple:
    """(zone, night, bedtime, expected UTC instant, expected local wall time) from ISO strings."""
    return (
        tz,
        date.fromisoformat(night),
        time.fromisoformat(bedtime),
        datetime.fromisoformat(expected_utc).replace(tzinfo=UTC),
        datetime.fromisoformat(local_wall),
    )


ORDINARY = [
    row(NEW_YORK, "2026-01-10", "22:30", "2026-01-11 03:30", "2026-01-10 22:30"),
    row(NEW_YORK, "2026-07-10", "22:30", "2026-07-11 02:30", "2026-07-10 22:30"),
    row(LONDON, "2026-01-10", "22:00", "2026-01-10 22:00", "2026-01-10 22:00"),
    row(LONDON, "2026-07-10", "22:00", "2026-07-10 21:00", "2026-07-10 22:00"),
    row(KOLKATA, "2026-03-08", "22:30", "2026-03-08 17:00", "2026-03-08 22:30"),
    row(KOLKATA, "2026-03-08", "00:30", "2026-03-08 19:00", "2026-03-09 00:30"),
    row(SYDNEY, "2026-01-10", "21:45", "2026-01-10 10:45", "2026-01-10 21:45"),
    row(CHATHAM, "2026-06-01", "22:00", "2026-06-01 09:15", "2026-06-01 22:00"),
]

DST_NIGHTS = [
    # New York springs forward 2026-03-08 02:00 EST -> 03:00 EDT.
    row(NEW_YORK, "2026-03-07", "22:30", "2026-03-08 03:30", "2026-03-07 22:30"),
    row(NEW_YORK, "2026-03-08", "22:30", "2026-03-09 02:30", "2026-03-08 22:30"),
    # gap: 02:30 does not exist, moved an hour later to 03:30 EDT (= 02:30 EST)
    row(NEW_YORK, "2026-03-07", "02:30", "2026-03-08 07:30", "2026-03-08 03:30"),
    # New York falls back 2026-11-01 02:00 EDT -> 01:00 EST.
    row(NEW_YORK, "2026-10-31", "22:30", "2026-11-01 02:30", "2026-10-31 22:30"),
    row(NEW_YORK, "2026-11-01", "22:30", "2026-11-02 03:30", "2026-11-01 22:30"),
    # fold: 01:30 happens twice; the first (EDT) is the one
    row(NEW_YORK, "2026-10-31", "01:30", "2026-11-01 05:30", "2026-11-01 01:30"),
    # London springs forward 2026-03-29 01:00 GMT -> 02:00 BST.
    row(LONDON, "2026-03-28", "22:30", "2026-03-28 22:30", "2026-03-28 22:30"),
    row(LONDON, "2026-03-29", "22:30", "2026-03-29 21:30", "2026-03-29 22:30"),
    row(LONDON, "2026-03-28", "01:30", "2026-03-29 01:30", "2026-03-29 02:30"),
    # London falls back 2026-10-25 02:00 BST -> 01:00 GMT.
    row(LONDON, "2026-10-24", "22:30", "2026-10-24 21:30", "2026-10-24 22:30"),
    row(LONDON, "2026-10-25", "22:30", "2026-10-25 22:30", "2026-10-25 22:30"),
    row(LONDON, "2026-10-24", "01:30", "2026-10-25 00:30", "2026-10-25 01:30"),
    # Sydney (southern hemisphere) falls back 2026-04-05 03:00 AEDT -> 02:00 AEST.
    row(SYDNEY, "2026-04-04", "22:30", "2026-04-04 11:30", "2026-04-04 22:30"),
    row(SYDNEY, "2026-04-05", "22:30", "2026-04-05 12:30", "2026-04-05 22:30"),
    row(SYDNEY, "2026-04-04", "02:30", "2026-04-04 15:30", "2026-04-05 02:30"),
    # Sydney springs forward 2026-10-04 02:00 AEST -> 03:00 AEDT.
    row(SYDNEY, "2026-10-03", "22:30", "2026-10-03 12:30", "2026-10-03 22:30"),
    row(SYDNEY, "2026-10-04", "22:30", "2026-10-04 11:30", "2026-10-04 22:30"),
    row(SYDNEY, "2026-10-03", "02:30", "2026-10-03 16:30", "2026-10-04 03:30"),
    # Chatham falls back 2026-04-05 03:45 +13:45 -> 02:45 +12:45.
    row(CHATHAM, "2026-04-04", "22:30", "2026-04-04 08:45", "2026-04-04 22:30"),
    row(CHATHAM, "2026-04-05", "22:30", "2026-04-05 09:45", "2026-04-05 22:30"),
    row(CHATHAM, "2026-04-04", "03:00", "2026-04-04 13:15", "2026-04-05 03:00"),
    # Chatham springs forward 2026-09-27 02:45 +12:45 -> 03:45 +13:45.
    row(CHATHAM, "2026-09-26", "22:30", "2026-09-26 09:45", "2026-09-26 22:30"),
    row(CHATHAM, "2026-09-27", "22:30", "2026-09-27 08:45", "2026-09-27 22:30"),
    row(CHATHAM, "2026-09-26", "03:00", "2026-09-26 14:15", "2026-09-27 04:00"),
    # Lord Howe falls back half an hour 2026-04-05 02:00 +11 -> 01:30 +10:30.
    row(LORD_HOWE, "2026-04-04", "22:30", "2026-04-04 11:30", "2026-04-04 22:30"),
    row(LORD_HOWE, "2026-04-05", "22:30", "2026-04-05 12:00", "2026-04-05 22:30"),
    row(LORD_HOWE, "2026-04-04", "01:45", "2026-04-04 14:45", "2026-04-05 01:45"),
    # Lord Howe springs forward half an hour 2026-10-04 02:00 +10:30 -> 02:30 +11.
    row(LORD_HOWE, "2026-10-03", "22:30", "2026-10-03 12:00", "2026-10-03 22:30"),
    row(LORD_HOWE, "2026-10-04", "22:30", "2026-10-04 11:30", "2026-10-04 22:30"),
    row(LORD_HOWE, "2026-10-03", "02:15", "2026-10-03 15:45", "2026-10-04 02:45"),
]

# Bedtimes that happen twice on their night: (zone, night, bedtime).
FOLDS = [
    (NEW_YORK, date(2026, 10, 31), time(1, 30)),
    (LONDON, date(2026, 10, 24), time(1, 30)),
    (SYDNEY, date(2026, 4, 4), time(2, 30)),
    (CHATHAM, date(2026, 4, 4), time(3, 0)),
    (LORD_HOWE, date(2026, 4, 4), time(1, 45)),
]


@pytest.mark.parametrize(("tz", "night", "bedtime", "expected", "local"), ORDINARY + DST_NIGHTS)
def test_reminder_at_exact_instant(tz, night, bedtime, expected, local):
    got = reminder_at(night, bedtime, tz)
    assert got == expected
    assert got.tzinfo is UTC
    assert wall(got, tz) == local


@pytest.mark.parametrize(("tz", "night", "bedtime", "expected", "local"), DST_NIGHTS)
def test_consecutive_nights_never_share_an_instant(tz, night, bedtime, expected, local):
    day = timedelta(days=1)
    before, this, after = (reminder_at(n, bedtime, tz) for n in (night - day, night, night + day))
    assert before < this < after


@pytest.mark.parametrize(("tz", "night", "bedtime"), FOLDS)
def test_bedtime_in_fold_is_first_occurrence_only(tz, night, bedtime):
    got = reminder_at(night, bedtime, tz)
    later_offset = (got + timedelta(hours=2)).astimezone(tz).utcoffset()
    second = got + (got.astimezone(tz).utcoffset() - later_offset)
    # the same wall time really does happen again later that night...
    assert second > got and wall(second, tz) == wall(got, tz)
    # ...and the reminder is the earlier one, whatever fold the caller's time carried
    assert reminder_at(night, bedtime.replace(fold=1), tz) == got


def test_bedtime_with_fold_1_in_gap_still_moves_later():
    gap_night = date(2026, 3, 7)
    assert reminder_at(gap_night, time(2, 30, fold=1), NEW_YORK) == utc(2026, 3, 8, 7, 30)


# --- the sweep: an independent oracle using only UTC -> local conversion -------------------------


def oracle(night: date, bedtime: time, tz: ZoneInfo) -> tuple[datetime, timedelta]:
    """Return (instant, gap) for the rule, worked out without zoneinfo's fold handling."""
    day = night + timedelta(days=1) if bedtime < time(6) else night
    target = datetime.combine(day, bedtime)
    offset_before = tz.utcoffset(target - timedelta(hours=36))
    offset_after = tz.utcoffset(target + timedelta(hours=36))
    instants = sorted(
        (target - offset).replace(tzinfo=UTC)
        for offset in {offset_before, offset_after}
        if wall((target - offset).replace(tzinfo=UTC), tz) == target
    )
    if instants:
        return instants[0], timedelta(0)  # exists once, or twice (fold): the first
    return (target - offset_before).replace(tzinfo=UTC), offset_after - offset_before


SWEEP_ZONES = {
    # zone: how many of the 48 half-hour bedtimes fall in a spring-forward gap during 2026
    "America/New_York": 2,  # 02:00, 02:30
    "Europe/London": 2,  # 01:00, 01:30
    "Australia/Sydney": 2,  # 02:00, 02:30
    "Asia/Kolkata": 0,
    "Pacific/Chatham": 2,  # 03:00, 03:30 (gap 02:45-03:45)
    "Australia/Lord_Howe": 1,  # 02:00 (gap 02:00-02:30)
    "America/Santiago": 2,  # clocks change at midnight: 00:00 and 00:30 don't exist
}
HALF_HOURS = [time(h, m) for h in range(24) for m in (0, 30)]
NIGHTS_2026 = [date(2026, 1, 1) + timedelta(days=i) for i in range(365)]


@pytest.mark.parametrize(("zone", "gap_bedtimes"), SWEEP_ZONES.items())
def test_sweep_every_night_of_2026(zone, gap_bedtimes):
    tz = ZoneInfo(zone)
    gap_nights = []
    for bedtime in HALF_HOURS:
        previous = None
        for night in NIGHTS_2026:
            got = reminder_at(night, bedtime, tz)
            expected, gap = oracle(night, bedtime, tz)
            assert got == expected, (night, bedtime)
            assert got.tzinfo is UTC
            day = night + timedelta(days=1) if bedtime < NIGHT_ROLLOVER else night
            assert wall(got, tz) == datetime.combine(day, bedtime) + gap, (night, bedtime)
            assert previous is None or got > previous, (night, bedtime)
            previous = got
            if gap:
                gap_nights.append((night, bedtime))
    assert len(gap_nights) == gap_bedtimes


# --- night owls and the 06:00 rollover -----------------------------------------------------------


@pytest.mark.parametrize(
    ("bedtime", "expected"),
    [
        (time(0, 0), utc(2026, 1, 11, 5, 0)),  # Saturday 00:00 belongs to Friday night
        (time(0, 30), utc(2026, 1, 11, 5, 30)),
        (time(5, 59), utc(2026, 1, 11, 10, 59)),
        (time(6, 0), utc(2026, 1, 10, 11, 0)),  # from 06:00 on, the evening's own date
        (time(23, 59), utc(2026, 1, 11, 4, 59)),
    ],
)
def test_night_owl_bedtime_belongs_to_previous_evening(bedtime, expected):
    assert reminder_at(date(2026, 1, 10), bedtime, NEW_YORK) == expected


def test_reminder_at_refuses_aware_bedtime():
    with pytest.raises(ValueError):
        reminder_at(date(2026, 1, 10), time(22, 30, tzinfo=UTC), NEW_YORK)


# --- cutoff and upcoming night -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "night", "bedtime", "hours", "expected"),
    [
        # across midnight: 22:30 + 4 h is 02:30 the next local day
        (NEW_YORK, date(2026, 1, 10), time(22, 30), 4, utc(2026, 1, 11, 7, 30)),
        # across spring forward: 12 h of real time, 13 h on the wall clock (11:30 EDT)
        (NEW_YORK, date(2026, 3, 7), time(22, 30), 12, utc(2026, 3, 8, 15, 30)),
        # across fall back: 4 h after 22:30 EDT is the second 01:30 (EST)
        (NEW_YORK, date(2026, 10, 31), time(22, 30), 4, utc(2026, 11, 1, 6, 30)),
        (CHATHAM, date(2026, 9, 26), time(22, 30), 6, utc(2026, 9, 26, 15, 45)),
        (KOLKATA, date(2026, 3, 8), time(0, 30), 0, utc(2026, 3, 8, 19, 0)),
    ],
)
def test_night_cutoff_is_absolute_hours_after_reminder(tz, night, bedtime, hours, expected):
    got = night_cutoff(night, bedtime, tz, hours)
    assert got == expected
    assert got - reminder_at(night, bedtime, tz) == timedelta(hours=hours)


def test_night_cutoff_refuses_negative_hours():
    with pytest.raises(ValueError):
        night_cutoff(date(2026, 1, 10), time(22), NEW_YORK, -1)


@pytest.mark.parametrize(
    ("now", "bedtime", "hours", "expected"),
    [
        # 22:30 New York, 4 h window (reminder 03:30 UTC, cutoff 07:30 UTC on 2026-01-11)
        (utc(2026, 1, 11, 1, 0), time(22, 30), 4, date(2026, 1, 10)),  # 20:00, before the reminder
        (utc(2026, 1, 11, 3, 30), time(22, 30), 4, date(2026, 1, 10)),  # due right now
        (utc(2026, 1, 11, 7, 29), time(22, 30), 4, date(2026, 1, 10)),  # overdue, not yet missed
        (utc(2026, 1, 11, 7, 30), time(22, 30), 4, date(2026, 1, 11)),  # cut off: next night
        (utc(2026, 1, 11, 15, 0), time(22, 30), 4, date(2026, 1, 11)),  # 10:00 the next morning
        # night owl 00:30, 4 h window: at 23:00 and 01:00 it is still the night of the 10th
        (utc(2026, 1, 11, 4, 0), time(0, 30), 4, date(2026, 1, 10)),
        (utc(2026, 1, 11, 6, 0), time(0, 30), 4, date(2026, 1, 10)),
        (utc(2026, 1, 11, 9, 30), time(0, 30), 4, date(2026, 1, 11)),  # 04:30: cut off
        # spring forward: night of 7 March cut off at 09:30 UTC = 05:30 EDT
        (utc(2026, 3, 8, 9, 29), time(22, 30), 6, date(2026, 3, 7)),
        (utc(2026, 3, 8, 9, 30), time(22, 30), 6, date(2026, 3, 8)),
        # fall back: night of 31 October cut off at the second 01:30 (06:30 UTC), not the first
        (utc(2026, 11, 1, 5, 30), time(22, 30), 4, date(2026, 10, 31)),
        (utc(2026, 11, 1, 6, 29), time(22, 30), 4, date(2026, 10, 31)),
        (utc(2026, 11, 1, 6, 30), time(22, 30), 4, date(2026, 11, 1)),
        # a window longer than a day keeps the earlier night open past the next reminder
        (utc(2026, 1, 12, 4, 30), time(22, 30), 30, date(2026, 1, 10)),
        (utc(2026, 1, 12, 9, 0), time(22, 30), 30, date(2026, 1, 10)),  # 04:00 two days on
        (utc(2026, 1, 13, 5, 0), time(22, 30), 50, date(2026, 1, 10)),  # 00:00 three days on
        (utc(2026, 1, 12, 9, 30), time(22, 30), 30, date(2026, 1, 11)),
    ],
)
def test_upcoming_night_new_york(now, bedtime, hours, expected):
    assert upcoming_night(now, bedtime, NEW_YORK, hours) == expected


def test_upcoming_night_accepts_any_aware_now_and_refuses_naive():
    local = datetime(2026, 1, 11, 2, 29, tzinfo=NEW_YORK)  # 07:29 UTC
    assert upcoming_night(local, time(22, 30), NEW_YORK, 4) == date(2026, 1, 10)
    with pytest.raises(ValueError):
        upcoming_night(datetime(2026, 1, 11, 2, 29), time(22, 30), NEW_YORK, 4)


def test_upcoming_night_far_east_zone_is_a_day_ahead_of_utc():
    # 2026-01-10 10:00 UTC is 23:15 on the 10th in Chatham (+13:45): bedtime 22:00 was 75 min ago
    assert upcoming_night(utc(2026, 1, 10, 10, 0), time(22, 0), CHATHAM, 2) == date(2026, 1, 10)
    assert upcoming_night(utc(2026, 1, 10, 10, 0), time(22, 0), CHATHAM, 1) == date(2026, 1, 11)


# --- local clock ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (utc(2026, 11, 23, 19, 29), date(2026, 11, 23)),  # Tue 00:59 IST: still Monday night
        (utc(2026, 11, 23, 19, 30), date(2026, 11, 23)),  # Tue 01:00 IST
        (utc(2026, 11, 24, 0, 29), date(2026, 11, 23)),  # Tue 05:59 IST
        (utc(2026, 11, 24, 0, 30), date(2026, 11, 24)),  # Tue 06:00 IST: Tuesday
        (utc(2026, 11, 24, 18, 0), date(2026, 11, 24)),  # Tue 23:30 IST
    ],
)
def test_local_today_rolls_over_at_six(now, expected):
    assert local_today(now, KOLKATA) == expected


def test_local_now_is_aware_in_patient_zone():
    got = local_now(utc(2026, 3, 8, 7, 30), NEW_YORK)
    assert got.tzinfo is NEW_YORK
    assert got.replace(tzinfo=None) == datetime(2026, 3, 8, 3, 30)
    assert got.utcoffset() == timedelta(hours=-4)


def test_require_utc_converts_aware_and_refuses_naive():
    got = require_utc(datetime(2026, 1, 1, 5, 30, tzinfo=timezone(timedelta(hours=5, minutes=30))))
    assert got == utc(2026, 1, 1, 0, 0)
    assert got.tzinfo is UTC
    with pytest.raises(ValueError):
        require_utc(datetime(2026, 1, 1, 0, 0))


# --- never two doses close together --------------------------------------------------------------


def test_spaced_night_puts_a_0630_bedtime_off_a_day_after_a_0531_dose():
    # 05:30 is Wednesday's night (on Thursday morning), taken 05:31; the bedtime becomes 06:30.
    taken = datetime(2026, 3, 5, 5, 31, tzinfo=NEW_YORK)
    now = taken + timedelta(minutes=4)
    thursday = upcoming_night(now, time(6, 30), NEW_YORK, 4)
    assert thursday == date(2026, 3, 5)  # 59 minutes after the dose
    later = spaced_night(thursday, time(6, 30), NEW_YORK, now, taken + timedelta(hours=12))
    assert later == date(2026, 3, 6)


def test_spaced_night_keeps_the_night_a_day_after_the_dose_even_across_spring_forward():
    # Taken 22:30 EST on 7 March; the next 22:30 (EDT) is only 23 hours later.
    taken = datetime(2026, 3, 7, 22, 30, tzinfo=NEW_YORK)
    night = date(2026, 3, 8)
    assert reminder_at(night, time(22, 30), NEW_YORK) - taken == timedelta(hours=23)
    assert spaced_night(night, time(22, 30), NEW_YORK, taken, taken + timedelta(hours=12)) == night


def test_spaced_night_counts_a_reminder_already_due_at_now():
    # A bedtime moved to 08:00 at 11:00: due at once, which is 13 hours after a 22:00 dose.
    taken = datetime(2026, 3, 4, 22, 0, tzinfo=NEW_YORK)
    now = datetime(2026, 3, 5, 11, 0, tzinfo=NEW_YORK)
    not_before = taken + timedelta(hours=12)
    assert spaced_night(date(2026, 3, 5), time(8), NEW_YORK, now, not_before) == date(2026, 3, 5)
    early = now - timedelta(hours=2)  # at 09:00 it would be 11 hours after: tomorrow instead
    assert spaced_night(date(2026, 3, 5), time(8), NEW_YORK, early, not_before) == date(2026, 3, 6)


def test_spaced_night_refuses_naive_instants():
    with pytest.raises(ValueError):
        spaced_night(date(2026, 3, 5), time(8), NEW_YORK, datetime(2026, 3, 5), utc(2026, 3, 5))


# Quiet hours: when a window of local wall times ends, if an instant falls within it.


@pytest.mark.parametrize(
    ("now", "start", "end", "ends"),
    [
        # 22:00-07:00 in New York (EST, UTC-5): 23:30 local is within, ending 07:00 next morning.
        (utc(2026, 12, 2, 4, 30), time(22), time(7), utc(2026, 12, 2, 12)),
        # 03:00 local, after midnight: ends the same morning.
        (utc(2026, 12, 2, 8), time(22), time(7), utc(2026, 12, 2, 12)),
        # 22:00 sharp is within; 07:00 sharp is not.
        (utc(2026, 12, 2, 3), time(22), time(7), utc(2026, 12, 2, 12)),
        (utc(2026, 12, 2, 12), time(22), time(7), None),
        (utc(2026, 12, 2, 17), time(22), time(7), None),
        # A window within one day: 12:00-14:00.
        (utc(2026, 12, 2, 17, 30), time(12), time(14), utc(2026, 12, 2, 19)),
        (utc(2026, 12, 2, 19, 30), time(12), time(14), None),
        # The clocks spring forward on 2026-03-08 (02:00 -> 03:00): 07:00 is EDT, UTC-4.
        (utc(2026, 3, 8, 4), time(22), time(7), utc(2026, 3, 8, 11)),
        # They fall back on 2026-11-01 (02:00 -> 01:00): an end at 01:30 is its first occurrence
        # (EDT); at 01:45 EST, after it, the window is over.
        (utc(2026, 11, 1, 4), time(22), time(1, 30), utc(2026, 11, 1, 5, 30)),
        (utc(2026, 11, 1, 6, 45), time(22), time(1, 30), None),
    ],
)
def test_quiet_until_gives_the_end_of_the_window_now_falls_within(
    now: datetime, start: time, end: time, ends: datetime | None
) -> None:
    assert quiet_until(now, start, end, NEW_YORK) == ends
