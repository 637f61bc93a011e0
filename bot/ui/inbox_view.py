"""A patient's message as the care team reads it: who wrote, what they sent, and a Reply button.

A message is an `Escalation` of tier "message": its `reasons` say what kind it was, as
[code, value] pairs like every alert's ("message" and its kind; "source", the id of the
patient's original to copy beside it; "answers", the care-team message it replies to), so that
every reader of `reasons` keeps working. Pure: no Telegram, no database.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.rules.findings import MESSAGE
from bot.ui import callbacks
from bot.ui.presenters import label_of
from bot.ui.texts import t
from bot.ui.views import Button, Reply
from storage.models import Escalation

# What a patient may send that is copied to the care team beside its header.
MEDIA = ("voice", "photo", "video", "video_note", "document", "audio")
WORDS_SHOWN = 1500  # of the patient's words, to stay well inside Telegram's 4096 characters
QUOTE_SHOWN = 300  # of the care-team message a patient answers


@dataclass(frozen=True)
class Parts:
    """What a stored message is made of."""

    kind: str  # "text", "edited", "reply", or one of MEDIA
    source: int | None = None  # the patient's original message, copied for media
    quote: str | None = None  # the care-team message it answers


def from_care_team(text: str | None) -> bool:
    """Whether a message the bot sent is one the care team wrote: it starts with their header."""
    header = t("care_team_message", text="").strip()
    return bool(text and text.strip().startswith(header))


def reasons(parts: Parts) -> list[list[str]]:
    """A message's parts as an escalation's reasons."""
    rows = [[MESSAGE, parts.kind]]
    if parts.source is not None:
        rows.append(["source", str(parts.source)])
    if parts.quote:
        rows.append(["answers", shorten(parts.quote, QUOTE_SHOWN)])
    return rows


def parts_of(escalation: Escalation) -> Parts:
    """Read a stored message's parts back; unknown pairs are left alone."""
    found = {str(row[0]): row[1] for row in escalation.reasons if len(row) > 1}
    source = found.get("source")
    return Parts(
        kind=str(found.get(MESSAGE) or "text"),
        source=int(source) if isinstance(source, str) and source.isdecimal() else None,
        quote=found.get("answers"),
    )


def shorten(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[:limit] + "…"


def render_message(escalation: Escalation) -> Reply:
    """The message as providers see it, with the Reply button."""
    parts = parts_of(escalation)
    lines = [t("inbox_message", label=label_of(escalation.patient))]
    if parts.kind == "edited":
        lines.append(t("inbox_message_edited"))
    elif parts.kind in MEDIA:
        lines.append(t(f"inbox_kind_{parts.kind}"))
    if parts.quote:
        lines.append(t("inbox_message_reply", quote=parts.quote))
    if escalation.words:
        lines.append(t("inbox_message_words", words=shorten(escalation.words, WORDS_SHOWN)))
    lines.append(t("inbox_message_note"))
    button = Button(t("button_inbox_reply"), callbacks.reply(escalation.id))
    return Reply("\n\n".join(lines), ((button,),))
