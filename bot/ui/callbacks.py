"""Button payloads: compact, versioned strings that name database rows, parsed in one place.

Buttons sit in chats for weeks: after a release an old payload must parse or be refused safely.
Whatever a payload claims, the handler checks who pressed it. Anyone can send any callback data
(a modified client), so `parse` never raises: every id is ASCII digits within its column's range,
every kind and action comes from a closed set, and anything else is None.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.rules.nightly import Answer
from bot.rules.states import Decision
from bot.rules.triage import EFFECTS

VERSION = "v1"
MAX_BYTES = 64  # Telegram's limit for callback_data
_ANSWER_CODES = {Answer.TAKEN: "t", Answer.SNOOZE: "z", Answer.SKIPPED: "k"}
_CODE_ANSWERS = {code: answer for answer, code in _ANSWER_CODES.items()}
_TOKEN = re.compile(r"[A-Za-z0-9_.+/-]{1,40}")
# A row id: ASCII digits only ("²" and "٣" pass `str.isdigit`, and `int` refuses the first).
_ID = re.compile(r"[1-9][0-9]{0,9}")
# The largest id a payload may name: the rows' primary keys are `Integer`, 32 bits on PostgreSQL
# (SQLite's 64 would overflow past 2**63 anyway).
MAX_ID = 2**31 - 1


@dataclass(frozen=True)
class DosePress:
    dose_id: int
    answer: Answer


@dataclass(frozen=True)
class OnboardingPress:
    step: str
    value: str


@dataclass(frozen=True)
class SettingsPress:
    action: str


@dataclass(frozen=True)
class CheckinPress:
    report_id: int
    question: str
    value: str


@dataclass(frozen=True)
class DecisionPress:
    escalation_id: int
    action: str


@dataclass(frozen=True)
class ReplyPress:
    """A provider's Reply under a patient's message: write back to that patient."""

    escalation_id: int


Press = DosePress | OnboardingPress | SettingsPress | CheckinPress | DecisionPress | ReplyPress

# What a provider may decide on an escalation, in the order the buttons show.
DECISIONS = tuple(Decision)
# What the /settings and /delete buttons may ask for.
SETTINGS_ACTIONS = ("bedtime", "zone", "pause", "resume", "forget", "keep")
# What a check-in asks: its stages, and each side effect to grade.
CHECKIN_QUESTIONS = frozenset({"intro", "flags", "thyroid", "effects", "words", *EFFECTS})


def dose(dose_id: int, answer: Answer) -> str:
    return _checked(f"{VERSION}:dose:{dose_id}:{_ANSWER_CODES[answer]}")


def onboarding(step: str, value: str) -> str:
    return _checked(f"{VERSION}:ob:{step}:{value}")


def settings(action: str) -> str:
    assert action in SETTINGS_ACTIONS
    return _checked(f"{VERSION}:set:{action}")


def checkin(report_id: int, question: str, value: str) -> str:
    assert question in CHECKIN_QUESTIONS
    return _checked(f"{VERSION}:ci:{report_id}:{question}:{value}")


def decision(escalation_id: int, action: str) -> str:
    assert action in DECISIONS
    return _checked(f"{VERSION}:dec:{escalation_id}:{action}")


def reply(escalation_id: int) -> str:
    return _checked(f"{VERSION}:rep:{escalation_id}")


def parse(data: str | None) -> Press | None:
    """Read a payload; None for anything malformed, foreign, out of range or of another version."""
    if not data or not data.isascii() or len(data) > MAX_BYTES:
        return None  # ASCII first: a lone surrogate cannot even be encoded
    parts = data.split(":")
    if len(parts) < 3 or parts[0] != VERSION:
        return None
    kind, rest = parts[1], parts[2:]
    if kind == "dose" and len(rest) == 2 and rest[1] in _CODE_ANSWERS:
        dose_id = _row_id(rest[0])
        return None if dose_id is None else DosePress(dose_id, _CODE_ANSWERS[rest[1]])
    if kind == "ob" and len(rest) == 2 and all(_TOKEN.fullmatch(part) for part in rest):
        return OnboardingPress(rest[0], rest[1])
    if kind == "set" and len(rest) == 1 and rest[0] in SETTINGS_ACTIONS:
        return SettingsPress(rest[0])
    if (
        kind == "ci"
        and len(rest) == 3
        and rest[1] in CHECKIN_QUESTIONS
        and _TOKEN.fullmatch(rest[2])
    ):
        report_id = _row_id(rest[0])
        return None if report_id is None else CheckinPress(report_id, rest[1], rest[2])
    if kind == "dec" and len(rest) == 2 and rest[1] in DECISIONS:
        escalation_id = _row_id(rest[0])
        return None if escalation_id is None else DecisionPress(escalation_id, rest[1])
    if kind == "rep" and len(rest) == 1:
        escalation_id = _row_id(rest[0])
        return None if escalation_id is None else ReplyPress(escalation_id)
    return None


def _row_id(text: str) -> int | None:
    """A row id as the bot writes it (no sign, no leading zero), or None if no row could have it."""
    if not _ID.fullmatch(text):
        return None
    value = int(text)
    return value if value <= MAX_ID else None


def _checked(data: str) -> str:
    if len(data.encode()) > MAX_BYTES:
        raise ValueError(f"callback data longer than {MAX_BYTES} bytes")
    return data
