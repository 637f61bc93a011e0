"""Findings: how bad, how urgent, and why, the words every rule and use case shares.

A finding is a stable code with a tier; the words people read are written in `bot.ui`, keyed by
these codes. Both the triage of a report and the red-flag scan of typed words produce them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

# The reason of a patient's own message passed on to the care team: its own kind, never an alert.
MESSAGE = "message"

# Categories of words or flags after which the crisis line is named, not only the emergency number.
CRISIS = frozenset({"self_harm", "mood_worse", "mood"})


class Grade(IntEnum):
    """How bad an effect was over the recall period, as the patient graded it."""

    NONE = 0
    MILD = 1
    MODERATE = 2
    SEVERE = 3


class Stop(IntEnum):
    """What the patient is told to do tonight while a concern waits for a provider."""

    NONE = 0  # nothing changes
    HOLD = 1  # stay on the dose taken now; the next increase waits
    WITHHOLD = 2  # take no LDN until the care team replies


class Tier(IntEnum):
    """How soon someone must act on a finding."""

    NONE = 0  # nothing to say
    INFO = 1  # reassure and give a tip; the plan goes on
    ROUTINE = 2  # hold the next increase; providers review
    URGENT = 3  # hold; providers alerted now
    EMERGENCY = 4  # the patient is told to call the emergency number or crisis line at once


@dataclass(frozen=True)
class Finding:
    """One reason to act, as a stable code, with the effect or flag it concerns."""

    tier: Tier
    reason: str
    effect: str | None = None
