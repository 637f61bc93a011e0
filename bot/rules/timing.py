"""Turn a patient's local bedtime into UTC instants: pure, with `now` always passed in.

A "night" is named by the date of its evening. A bedtime at or after 06:00 falls on that date; a
bedtime before 06:00 (a night owl's 00:30) falls on the next calendar day, still the same night.

Daylight-saving rule (one instant per night, always):

- A bedtime that does not exist that night, because the clocks spring forward over it, is moved
  later by the length of the gap. In New York on 2026-03-08 the clocks jump 02:00 -> 03:00, so a
  02:30 bedtime becomes 03:30 EDT (07:30 UTC): the instant 02:30 standard time would have been.
  On Lord Howe Island, whose clocks jump 30 minutes (02:00 -> 02:30), 02:15 becomes 02:45.
- A bedtime that happens twice, because the clocks fall back over it, is its first occurrence
  (still on summer time): 01:30 in New York on 2026-11-01 is 01:30 EDT (05:30 UTC), never also
  01:30 EST an hour later.

Both cases are what zoneinfo gives for fold=0 (PEP 495), which the tests pin down.
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# Before this local time a patient is still on the previous evening's night.
NIGHT_ROLLOVER = time(6, 0)

__all__ = [
    "NIGHT_ROLLOVER",
    "local_now",
    "local_today",
    "night_cutoff",
    "quiet_until",
    "reminder_at",
    "require_utc",
    "spaced_night",
    "upcoming_night",
]


def require_utc(dt: datetime) -> datetime:
    """Return `dt` converted to UTC; refuse a naive datetime."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"naive datetime {dt!r}: pass a timezone-aware instant")
    return dt.astimezone(UTC)


def reminder_at(night: date, bedtime: time, tz: ZoneInfo) -> datetime:
    """Return the UTC instant of the bedtime reminder for `night` (see the module's DST rule)."""
    if bedtime.tzinfo is not None:
        raise ValueError(f"bedtime {bedtime!r} must be a local wall time without tzinfo")
    day = night + timedelta(days=1) if bedtime < NIGHT_ROLLOVER else night
    # fold=0 explicitly: datetime.combine copies a time's fold, and fold=1 would pick the second
    # occurrence of a repeated time and the post-transition offset inside a gap.
    local = datetime.combine(day, bedtime.replace(fold=0), tzinfo=tz)
    return local.astimezone(UTC)


def night_cutoff(night: date, bedtime: time, tz: ZoneInfo, cutoff_hours: int) -> datetime:
    """Return the UTC instant after which an unanswered `night` counts as missed."""
    if cutoff_hours < 0:
        raise ValueError(f"cutoff_hours must not be negative, got {cutoff_hours}")
    # Absolute time: a 12-hour window stays 12 hours even across a clock change.
    return reminder_at(night, bedtime, tz) + timedelta(hours=cutoff_hours)


def upcoming_night(now: datetime, bedtime: time, tz: ZoneInfo, cutoff_hours: int) -> date:
    """Return the earliest night whose cutoff is still after `now`."""
    now = require_utc(now)
    # Start far enough back that no night still open can be skipped, then walk forward: reminders
    # (and so cutoffs) increase night by night.
    night = local_now(now, tz).date() - timedelta(days=cutoff_hours // 24 + 2)
    while night_cutoff(night, bedtime, tz, cutoff_hours) <= now:
        night += timedelta(days=1)
    return night


def spaced_night(
    night: date, bedtime: time, tz: ZoneInfo, now: datetime, not_before: datetime
) -> date:
    """Return the first night from `night` whose reminder comes at or after `not_before`.

    A reminder whose time has already passed goes out at `now`, so `now` is when it would come.
    """
    now, not_before = require_utc(now), require_utc(not_before)
    # Reminders move on about a day a night, so this ends within a night or two of `not_before`.
    while max(reminder_at(night, bedtime, tz), now) < not_before:
        night += timedelta(days=1)
    return night


def local_now(now: datetime, tz: ZoneInfo) -> datetime:
    """Return `now` as the patient's local wall time."""
    return require_utc(now).astimezone(tz)


def local_today(now: datetime, tz: ZoneInfo) -> date:
    """Return the patient's current night: the local date, minus a day before NIGHT_ROLLOVER."""
    local = local_now(now, tz)
    if local.time() < NIGHT_ROLLOVER:
        return local.date() - timedelta(days=1)
    return local.date()


def quiet_until(now: datetime, start: time, end: time, tz: ZoneInfo) -> datetime | None:
    """Return the UTC instant the quiet hours [start, end) end, local times in `tz`, if `now`
    falls within them; None when it does not. A window may span midnight (22:00-07:00).

    An end that does not exist that day (the clocks spring forward over it) is moved later by
    the gap, as a bedtime is; an end that comes twice is its first occurrence, and a `now`
    already past it counts as outside.
    """
    local = local_now(now, tz)
    at = local.time().replace(fold=0)
    if start < end:
        inside, day = start <= at < end, local.date()
    elif at >= start:
        inside, day = True, local.date() + timedelta(days=1)
    else:
        inside, day = at < end, local.date()
    if not inside:
        return None
    ends = datetime.combine(day, end.replace(fold=0), tzinfo=tz).astimezone(UTC)
    return ends if ends > require_utc(now) else None
