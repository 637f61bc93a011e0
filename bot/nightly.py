"""Rules for one night's reminder: what is due, when to look again, which answers count.

Pure: no Telegram, no database; `now` is always passed in.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import Enum

# A reminder sent this long after its time says it is late (the bot was down or Telegram was slow).
LATE_AFTER = timedelta(minutes=10)
SNOOZE = timedelta(minutes=30)
# Snoozing is the patient's own choice, but a night of endless snoozes is nagging by another name.
MAX_SNOOZES = 3
# A claim to send that has not finished by then belonged to a process that died mid-send. We cannot
# know whether Telegram delivered it, so we count it as sent: never twice beats maybe twice, and the
# night's follow-up still reaches the patient if it was lost.
SENDING_TIMEOUT = timedelta(minutes=2)

OPEN = frozenset({"scheduled", "sending", "sent", "snoozed"})
ANSWERED = frozenset({"taken", "skipped"})


class Action(Enum):
    REMIND = "remind"  # first reminder, or again after a snooze
    FOLLOW_UP = "follow_up"  # the night's one nudge when the reminder got no answer
    MISS = "miss"  # the cutoff passed with no answer
    RECOVER = "recover"  # a send claimed by a process that died
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
    if status == "sending":
        return Action.RECOVER
    if now >= cutoff_at:
        return Action.MISS
    if status in ("scheduled", "snoozed"):
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


def judge_answer(
    status: str, answer: Answer, now: datetime, cutoff_at: datetime, snoozes: int
) -> Verdict:
    """Decide whether a button press on a night's reminder changes anything."""
    if status in ANSWERED:
        return Verdict.ALREADY
    if status == "scheduled":
        return Verdict.NOT_YET
    if answer is Answer.SNOOZE:
        too_late = status == "missed" or now + SNOOZE >= cutoff_at or snoozes >= MAX_SNOOZES
        return Verdict.TOO_LATE_TO_SNOOZE if too_late else Verdict.RECORD
    # Taken or skipped counts even after the cutoff: the patient is telling us what happened.
    return Verdict.RECORD
