"""Button payloads: compact, versioned strings that name database rows, parsed in one place.

Buttons sit in chats for weeks: after a release an old payload must parse or be refused safely.
Whatever a payload claims, the handler checks who pressed it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.nightly import Answer

VERSION = "v1"
MAX_BYTES = 64  # Telegram's limit for callback_data
_ANSWER_CODES = {Answer.TAKEN: "t", Answer.SNOOZE: "z", Answer.SKIPPED: "k"}
_CODE_ANSWERS = {code: answer for answer, code in _ANSWER_CODES.items()}
_TOKEN = re.compile(r"^[A-Za-z0-9_.+/-]{1,40}$")
_ID = re.compile(r"^[1-9][0-9]{0,17}$")  # a row id: ASCII digits only ("²" is a digit too)


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
DECISIONS = ("ack", "continue", "hold", "back", "pause", "morning")


def dose(dose_id: int, answer: Answer) -> str:
    return _checked(f"{VERSION}:dose:{dose_id}:{_ANSWER_CODES[answer]}")


def onboarding(step: str, value: str) -> str:
    return _checked(f"{VERSION}:ob:{step}:{value}")


def settings(action: str) -> str:
    return _checked(f"{VERSION}:set:{action}")


def checkin(report_id: int, question: str, value: str) -> str:
    return _checked(f"{VERSION}:ci:{report_id}:{question}:{value}")


def decision(escalation_id: int, action: str) -> str:
    assert action in DECISIONS
    return _checked(f"{VERSION}:dec:{escalation_id}:{action}")


def reply(escalation_id: int) -> str:
    return _checked(f"{VERSION}:rep:{escalation_id}")


def parse(data: str | None) -> Press | None:
    """Read a payload; None for anything malformed, foreign or from an unknown version."""
    if not data or len(data.encode()) > MAX_BYTES:
        return None
    parts = data.split(":")
    if len(parts) < 3 or parts[0] != VERSION:
        return None
    kind, rest = parts[1], parts[2:]
    if kind == "dose" and len(rest) == 2 and rest[0].isdigit() and rest[1] in _CODE_ANSWERS:
        return DosePress(int(rest[0]), _CODE_ANSWERS[rest[1]])
    if kind == "ob" and len(rest) == 2 and all(_TOKEN.match(part) for part in rest):
        return OnboardingPress(rest[0], rest[1])
    if kind == "set" and len(rest) == 1 and _TOKEN.match(rest[0]):
        return SettingsPress(rest[0])
    if (
        kind == "ci"
        and len(rest) == 3
        and rest[0].isdigit()
        and all(_TOKEN.match(part) for part in rest[1:])
    ):
        return CheckinPress(int(rest[0]), rest[1], rest[2])
    if kind == "dec" and len(rest) == 2 and rest[0].isdigit() and rest[1] in DECISIONS:
        return DecisionPress(int(rest[0]), rest[1])
    if kind == "rep" and len(rest) == 1 and _ID.match(rest[0]):
        return ReplyPress(int(rest[0]))
    return None


def _checked(data: str) -> str:
    if len(data.encode()) > MAX_BYTES:
        raise ValueError(f"callback data longer than {MAX_BYTES} bytes")
    return data
