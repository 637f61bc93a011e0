"""Rules for one night's reminder: what is due, when to look again, which answers count.

Pure: no Telegram, no database; `now` is always passed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import Enum

from bot.rules.states import DoseStatus

# A reminder sent this long after its time says it is late (the bot was down or Telegram was slow).
LATE_AFTER = timedelta(minutes=10)
SNOOZE = timedelta(minutes=30)
# Snoozing is the patient's own choice, but a night of endless snoozes is nagging by another name.
MAX_SNOOZES = 3
# A claim to send that has not finished by then belonged to a process that died mid-send (a process
# that starts takes over the claims made before it at once). Nothing recorded that Telegram got it,
# so it is sent again: a lost first reminder is worse than a second copy, and a kill costs at most
# one, since a process sends one reminder at a time. A send that may have been delivered (Telegram
# answered too late) is recorded as sent at once, and never sent again.
SENDING_TIMEOUT = timedelta(minutes=2)
# LDN is taken once a day, and a missed dose is skipped, never made up with two close together. So
# a night's reminder never comes sooner than this after the last dose taken (or reminded and still
# open to take). Half a day is the usual line for a once-a-day medicine: a dose closer than that
# to the next one is skipped. It is wide enough to catch a bedtime moved across 06:00 (05:30 taken,
# then 06:30: the same morning), a flight east, or a move to a morning dose; and narrow enough that
# an ordinary later or earlier bedtime, or a dose taken up to 11 hours after bedtime, never loses
# the next night's reminder, even on the 23-hour night of a clock change.
MIN_DOSE_GAP = timedelta(hours=12)

OPEN = frozenset({DoseStatus.SCHEDULED, DoseStatus.SENDING, DoseStatus.SENT, DoseStatus.SNOOZED})
ANSWERED = frozenset({DoseStatus.TAKEN, DoseStatus.SKIPPED})


class Action(Enum):
    REMIND = "remind"  # first reminder, or again after a snooze
    FOLLOW_UP = "follow_up"  # the night's one nudge when the reminder got no answer
    MISS = "miss"  # the cutoff passed with no answer
    RECOVER = "recover"  # a send claimed by a process that died: sent again
    WAIT = "wait"  # nothing to do now


class Answer(Enum):
    TAKEN = "taken"
    SKIPPED = "skipped"
    SNOOZE = "snooze"


class Verdict(Enum):
    RECORD = "record"
    ALREADY = "already"  # a second press, or a press on an answered night
    NOT_YET = "not_yet"  # a forged press on a night not yet reminded
    TOO_LATE_TO_SNOOZE = "too_late_to_snooze"


def due_action(status: str, now: datetime, cutoff_at: datetime, followup_sent: bool) -> Action:
    """Decide what a row whose check time has come needs."""
    if status not in OPEN:
        return Action.WAIT
    if status == DoseStatus.SENDING:
        return Action.RECOVER
    if now >= cutoff_at:
        return Action.MISS
    if status in (DoseStatus.SCHEDULED, DoseStatus.SNOOZED):
        return Action.REMIND
    return Action.WAIT if followup_sent else Action.FOLLOW_UP


def next_check(
    sent_at: datetime, followup_sent: bool, cutoff_at: datetime, followup_after: timedelta
) -> datetime:
    """When to look at a reminded night again: its follow-up, else its cutoff."""
    if followup_sent:
        return cutoff_at
    return min(sent_at + followup_after, cutoff_at)


def is_late(remind_at: datetime, now: datetime) -> bool:
    """Say a reminder is late when it goes out well after its time."""
    return now - remind_at > LATE_AFTER


def last_dose_at(
    status: str,
    remind_at: datetime,
    sent_at: datetime | None,
    answered_at: datetime | None,
    cutoff_at: datetime,
    now: datetime,
) -> datetime | None:
    """When a night's dose was taken, or may still be from: None for a night without one.

    A press recorded after the night's cutoff ("I did take it", the next day) tells what happened
    that night: it counts at the cutoff at the latest, not as a dose now. A night reminded and not
    yet answered may be taken from now on.
    """
    if status == DoseStatus.TAKEN:
        return min(answered_at or cutoff_at, cutoff_at)
    if status in (DoseStatus.SENDING, DoseStatus.SENT, DoseStatus.SNOOZED):
        return max(sent_at or remind_at, now)
    return None


def too_soon(remind_at: datetime, last_dose: datetime | None) -> bool:
    """Whether a reminder at `remind_at` would come too soon after the last dose."""
    return last_dose is not None and remind_at < last_dose + MIN_DOSE_GAP


def buttoned(status: str, reminder_id: int | None, followup_id: int | None) -> tuple[int, ...]:
    """The night's messages that still carry buttons, oldest first.

    A snooze press takes the buttons off every message of the night and forgets their ids; the
    reminder sent again after it, and its follow-up, carry them again. A missed night keeps one
    button ("I did take it") on its newest message only.
    """
    if status not in (DoseStatus.SENT, DoseStatus.MISSED):
        return ()
    ids = sorted(m for m in (reminder_id, followup_id) if m is not None)
    return tuple(ids[-1:]) if status == DoseStatus.MISSED else tuple(ids)


def judge_answer(
    status: str, answer: Answer, now: datetime, cutoff_at: datetime, snoozes: int
) -> Verdict:
    """Decide whether a button press on a night's reminder changes anything."""
    if status in ANSWERED:
        return Verdict.ALREADY
    if status == DoseStatus.SCHEDULED:
        return Verdict.NOT_YET
    if answer is Answer.SNOOZE:
        too_late = (
            status == DoseStatus.MISSED or now + SNOOZE >= cutoff_at or snoozes >= MAX_SNOOZES
        )
        return Verdict.TOO_LATE_TO_SNOOZE if too_late else Verdict.RECORD
    # Taken or skipped counts even after the cutoff: the patient is telling us what happened.
    return Verdict.RECORD


# The nights that count for adherence: taken, skipped or missed, whether answered or not.
COUNTED = (DoseStatus.TAKEN, DoseStatus.SKIPPED, DoseStatus.MISSED)


def adherence(statuses: Sequence[str]) -> int | None:
    """Percent of nights taken among those taken, skipped or missed; None when there are none."""
    counted = [s for s in statuses if s in COUNTED]
    if not counted:
        return None
    # Half up, in integers: 1 of 8 nights is 13%, not banker's 12%.
    return (200 * counted.count(DoseStatus.TAKEN) + len(counted)) // (2 * len(counted))
