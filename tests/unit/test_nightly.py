"""One night's rules: what is due, when to look again, which presses count."""

from datetime import UTC, datetime, timedelta

import pytest

from bot.rules.nightly import (
    LATE_AFTER,
    MAX_SNOOZES,
    MIN_DOSE_GAP,
    SNOOZE,
    Action,
    Answer,
    Verdict,
    buttoned,
    due_action,
    is_late,
    judge_answer,
    last_dose_at,
    next_check,
    too_soon,
)

BEDTIME = datetime(2026, 3, 5, 3, 30, tzinfo=UTC)
CUTOFF = BEDTIME + timedelta(hours=4)
FOLLOWUP = timedelta(minutes=30)


@pytest.mark.parametrize(
    ("status", "now", "followup_sent", "expected"),
    [
        ("scheduled", BEDTIME, False, Action.REMIND),
        ("scheduled", CUTOFF - timedelta(seconds=1), False, Action.REMIND),
        ("scheduled", CUTOFF, False, Action.MISS),
        ("snoozed", BEDTIME + SNOOZE, False, Action.REMIND),
        ("snoozed", CUTOFF, False, Action.MISS),
        ("sent", BEDTIME + FOLLOWUP, False, Action.FOLLOW_UP),
        ("sent", BEDTIME + FOLLOWUP, True, Action.WAIT),
        ("sent", CUTOFF, True, Action.MISS),
        ("sent", CUTOFF, False, Action.MISS),
        ("sending", BEDTIME + timedelta(minutes=5), False, Action.RECOVER),
        ("taken", CUTOFF, False, Action.WAIT),
        ("skipped", CUTOFF, False, Action.WAIT),
        ("missed", CUTOFF + timedelta(days=1), False, Action.WAIT),
    ],
)
def test_due_action_matrix(
    status: str, now: datetime, followup_sent: bool, expected: Action
) -> None:
    assert due_action(status, now, CUTOFF, followup_sent) is expected


def test_nothing_is_sent_after_the_cutoff() -> None:
    for status in ("scheduled", "snoozed", "sent"):
        assert due_action(status, CUTOFF + timedelta(minutes=1), CUTOFF, False) is Action.MISS


def test_next_check_is_the_follow_up_then_the_cutoff() -> None:
    assert next_check(BEDTIME, False, CUTOFF, FOLLOWUP) == BEDTIME + FOLLOWUP
    assert next_check(BEDTIME, True, CUTOFF, FOLLOWUP) == CUTOFF
    late_send = CUTOFF - timedelta(minutes=10)
    assert next_check(late_send, False, CUTOFF, FOLLOWUP) == CUTOFF


def test_late_only_past_the_grace() -> None:
    assert not is_late(BEDTIME, BEDTIME + LATE_AFTER)
    assert is_late(BEDTIME, BEDTIME + LATE_AFTER + timedelta(seconds=1))


@pytest.mark.parametrize("status", ["taken", "skipped"])
@pytest.mark.parametrize("answer", list(Answer))
def test_second_press_changes_nothing(status: str, answer: Answer) -> None:
    assert judge_answer(status, answer, BEDTIME, CUTOFF, 0) is Verdict.ALREADY


def test_press_on_a_night_not_yet_reminded_is_refused() -> None:
    assert judge_answer("scheduled", Answer.TAKEN, BEDTIME, CUTOFF, 0) is Verdict.NOT_YET


@pytest.mark.parametrize("answer", [Answer.TAKEN, Answer.SKIPPED])
def test_taken_or_skipped_counts_even_after_the_cutoff(answer: Answer) -> None:
    assert judge_answer("missed", answer, CUTOFF + timedelta(hours=8), CUTOFF, 0) is Verdict.RECORD
    assert judge_answer("sent", answer, BEDTIME, CUTOFF, 0) is Verdict.RECORD


def test_snooze_allowed_only_while_it_ends_before_the_cutoff() -> None:
    assert judge_answer("sent", Answer.SNOOZE, BEDTIME, CUTOFF, 0) is Verdict.RECORD
    closing = CUTOFF - SNOOZE
    assert judge_answer("sent", Answer.SNOOZE, closing, CUTOFF, 0) is Verdict.TOO_LATE_TO_SNOOZE
    assert judge_answer("missed", Answer.SNOOZE, BEDTIME, CUTOFF, 0) is Verdict.TOO_LATE_TO_SNOOZE


def test_snoozes_are_capped() -> None:
    assert judge_answer("sent", Answer.SNOOZE, BEDTIME, CUTOFF, MAX_SNOOZES - 1) is Verdict.RECORD
    assert (
        judge_answer("sent", Answer.SNOOZE, BEDTIME, CUTOFF, MAX_SNOOZES)
        is Verdict.TOO_LATE_TO_SNOOZE
    )


# Once a day: never two doses close together

TAKEN_AT = BEDTIME + timedelta(minutes=1)


@pytest.mark.parametrize(
    ("status", "sent_at", "answered_at", "now", "expected"),
    [
        ("taken", BEDTIME, TAKEN_AT, CUTOFF + timedelta(hours=9), TAKEN_AT),
        # "I did take it", pressed the next day: that night's dose, not one taken now.
        ("taken", BEDTIME, CUTOFF + timedelta(hours=9), CUTOFF + timedelta(hours=9), CUTOFF),
        # Reminded and not answered: it may still be taken, from now on.
        ("sent", BEDTIME, None, BEDTIME + timedelta(minutes=10), BEDTIME + timedelta(minutes=10)),
        ("snoozed", BEDTIME, None, BEDTIME + SNOOZE, BEDTIME + SNOOZE),
        ("sending", None, None, BEDTIME - timedelta(minutes=5), BEDTIME),
        ("skipped", BEDTIME, TAKEN_AT, TAKEN_AT, None),
        ("missed", BEDTIME, None, CUTOFF, None),
        ("scheduled", None, None, BEDTIME - timedelta(hours=1), None),
    ],
)
def test_last_dose_at_is_the_dose_or_when_it_may_still_be_taken(
    status: str,
    sent_at: datetime | None,
    answered_at: datetime | None,
    now: datetime,
    expected: datetime | None,
) -> None:
    assert last_dose_at(status, BEDTIME, sent_at, answered_at, CUTOFF, now) == expected


def test_a_reminder_less_than_twelve_hours_after_a_dose_is_too_soon() -> None:
    assert MIN_DOSE_GAP == timedelta(hours=12)
    assert too_soon(TAKEN_AT + timedelta(minutes=59), TAKEN_AT)  # 05:30 taken, then 06:30
    assert too_soon(TAKEN_AT + MIN_DOSE_GAP - timedelta(seconds=1), TAKEN_AT)
    assert not too_soon(TAKEN_AT + MIN_DOSE_GAP, TAKEN_AT)
    assert not too_soon(TAKEN_AT + timedelta(hours=23), TAKEN_AT)  # a spring-forward night
    assert not too_soon(TAKEN_AT, None)  # no dose yet


@pytest.mark.parametrize(
    ("status", "reminder_id", "followup_id", "expected"),
    [
        ("sent", 10, 12, (10, 12)),
        ("sent", 10, None, (10,)),
        ("sent", None, 12, (12,)),  # the reminder may have gone out, its id unknown
        # After a snooze the ids are forgotten, then the reminder sent again is newer.
        ("sent", 20, None, (20,)),
        ("missed", 10, 12, (12,)),  # one button, "I did take it", on the newest
        ("missed", 10, None, (10,)),
        ("missed", None, None, ()),  # never sent (the bot was down)
        ("snoozed", None, None, ()),
        ("scheduled", None, None, ()),
        ("taken", 10, 12, ()),
        ("skipped", 10, 12, ()),
    ],
)
def test_buttoned_messages_are_those_a_press_or_the_cutoff_may_change(
    status: str, reminder_id: int | None, followup_id: int | None, expected: tuple[int, ...]
) -> None:
    assert buttoned(status, reminder_id, followup_id) == expected
