"""What the bot says, as plain data: text and buttons, free of Telegram types."""

from __future__ import annotations

from dataclasses import dataclass, field


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
