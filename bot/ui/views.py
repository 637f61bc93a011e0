"""What the bot says, as plain data: text and buttons, free of Telegram types.

A `Reply` is in words, ready to send. What a use case returns is not: it says *what* to say, as
data (`Say`, `Lines`, `Show`, or a view object of its own), and `bot.ui.render` puts it into
words with the texts catalog and the clinic's settings. See `bot/ui/__init__.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Protocol

from bot.rules.plans import ScheduledStep

if TYPE_CHECKING:
    from bot.app.settings import Settings


@dataclass(frozen=True)
class Button:
    label: str
    data: str


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: tuple[tuple[Button, ...], ...] = field(default=())
    # Open the reader's reply field on this message (a provider about to write to a patient).
    force_reply: bool = False


# What a use case returns: what to say, not yet in words. `bot.ui.render` puts it into words.


@dataclass(frozen=True)
class Say:
    """One sentence of the texts catalog, by key, with the values it is filled in with.

    A value may itself be something to say (a `Say`, `Lines`, a plan `Step` as its dose in
    capsules, a `Plan` as its name); anything else is written as it is. `clinic` fills in the
    clinic's name, contact and emergency number, and picks the key's `_no_team` variant when
    nobody receives alerts (`messages.clinic_text`).
    """

    key: str
    values: Mapping[str, object] = field(default_factory=dict)
    clinic: bool = False


@dataclass(frozen=True)
class Lines:
    """Things to say one after another, joined by `sep`; an empty part is kept (a blank line)."""

    parts: tuple[Text, ...]
    sep: str = "\n"


@dataclass(frozen=True)
class PlanLines:
    """A plan's steps with their dates, one line each, marking the current step."""

    steps: tuple[ScheduledStep, ...]
    current: int | None
    today: date


Text = str | Say | Lines | PlanLines


@dataclass(frozen=True)
class Choice:
    """A button not yet in words."""

    label: Text
    data: str


@dataclass(frozen=True)
class Show:
    """A reply not yet in words: its text and buttons (a `Button` is already in words)."""

    text: Text
    buttons: tuple[tuple[Choice | Button, ...], ...] = ()
    force_reply: bool = False  # as `Reply.force_reply`


class View(Protocol):
    """A use case's own view object (the caseload's, say): data that puts itself into replies."""

    def replies(self, settings: Settings) -> list[Reply]: ...


Said = Reply | Show | Text | View
