"""Chats as the people in them saw them, read from the fake Telegram, for `demo` and `simulate`.

One view can watch several private chats (the patient's, a provider's); their lines are merged in
time order, each marked with whose chat it is.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from devtools.simulation import VirtualClock
from fake_telegram.core import FakeMessage, FakeUser

# The marks around the bot's own words; those are in bot/ui/texts.py.
DAY = "── {day} ──"
TYPED = "> {text}"
TAPPED = "> taps {label}"
REPLIED = "> replies to the {sent} message: {text}"
EDITED = "✎ the {sent} message now ends: {tail}"
REWRITTEN = "✎ the {sent} message now reads: {text}"
CHANGED = "✎ the {sent} message changes:\n{diff}"
REKEYED = "✎ the {sent} message's buttons now:"
REMOVED = "− {line}"
ADDED = "+ {line}"
ELIDED = "{first} … {last}"  # a tall keyboard shown before, printed again in one line
AGAIN = "(again)"
THEN = " → "  # between taps of one minute, on a one-line night
GUTTER = "┃"  # between a chat's name and its lines, for every chat but the first one watched
EDITS = ("edited", "changed", "rewritten", "rekeyed")
SHORT = 60  # on a one-line night, a longer paragraph is cut to its first sentence
BUTTONS_ON_ONE_LINE = 90  # wider keyboards are printed a row to a line, as Telegram shows them


@dataclass(frozen=True)
class Line:
    """One thing that happened in a chat, at a UTC instant."""

    at: datetime
    kind: str  # bot, typed, tapped, replied, edited, changed, rewritten, rekeyed, note
    text: str
    buttons: tuple[tuple[str, ...], ...] = ()  # keyboard rows
    sent: datetime | None = None  # for an edit or a reply: when that message was sent
    who: str = ""  # whose chat, when it is not the main one


class ChatView:
    """Read chats from the fake Telegram as they change, and note what their people do."""

    def __init__(self, user: FakeUser, clock: VirtualClock) -> None:
        self.user = user
        self.clock = clock
        self._chats: list[tuple[FakeUser, str]] = [(user, "")]
        self._seen: dict[tuple[int, int], str | None] = {}
        self._keys: dict[tuple[int, int], tuple[tuple[str, ...], ...]] = {}
        self._lines: list[Line] = []

    def watch(self, user: FakeUser, who: str) -> None:
        """Also follow `user`'s chat, its lines marked with `who`."""
        self._chats.append((user, who))

    def typed(self, text: str, who: str = "") -> None:
        self._collect_all()  # what the person was answering comes first, buttons and all
        self._lines.append(Line(self._now(), "typed", text, who=who))

    def tapped(self, label: str, who: str = "") -> None:
        self._collect_all()
        self._lines.append(Line(self._now(), "tapped", label, who=who))

    def replied(self, text: str, to: FakeMessage, who: str = "") -> None:
        """A message typed as a reply to one of the bot's (Telegram's swipe-to-reply)."""
        self._collect_all()
        self._lines.append(Line(self._now(), "replied", text, sent=_instant(to.date), who=who))

    def note(self, at: datetime, text: str) -> None:
        self._lines.append(Line(at, "note", text))

    def take(self) -> list[Line]:
        """Everything new since the last take, in time order (ties in the order they were seen)."""
        self._collect_all()
        lines = sorted(self._lines, key=lambda line: line.at)
        self._lines = []
        return lines

    def _collect_all(self) -> None:
        for user, who in self._chats:
            for message in user.messages():
                self._collect(message, who)

    def _collect(self, message: FakeMessage, who: str) -> None:
        key = (message.chat_id, message.message_id)
        sent = _instant(message.date)
        rows = _rows(message)
        if key not in self._seen:
            first = message.history[0] if message.history else message.text
            buttons = () if message.history else rows
            self._lines.append(Line(sent, "bot", first or "", buttons, who=who))
            self._seen[key], self._keys[key] = first, buttons
        at = _instant(message.edit_date or message.date)
        if message.text != self._seen[key]:
            kind, text = _change(self._seen[key] or "", message.text or "")
            self._lines.append(Line(at, kind, text, rows, sent=sent, who=who))
        elif rows and rows != self._keys[key]:
            # Only the buttons changed (a box ticked): shown, unless they were simply taken away.
            self._lines.append(Line(at, "rekeyed", "", rows, sent=sent, who=who))
        self._seen[key], self._keys[key] = message.text, rows

    def _now(self) -> datetime:
        return _instant(int(self.clock.now().timestamp()))


class Printer:
    """Write chat lines in one zone's local time, whole or one line per night."""

    def __init__(self, out: Callable[[str], None], numbered: bool = False) -> None:
        self.out = out
        self.numbered = numbered
        self._day: date | None = None
        self._compact_day: date | None = None
        self._keyboards: set[tuple[tuple[str, ...], ...]] = set()

    def heading(self, text: str) -> None:
        """A blank line and a heading; the next line names its day again."""
        self.out("")
        self.out(text)
        self._day = self._compact_day = None

    def full(self, lines: Sequence[Line], zone: ZoneInfo) -> None:
        for line in lines:
            local = line.at.astimezone(zone)
            if local.date() != self._day:
                self._day = local.date()
                self.out(DAY.format(day=f"{local:%A} {local.day} {local:%B %Y}"))
            stamp = f"{local:%H:%M}  "
            gutter = f"{line.who} {GUTTER} " if line.who else ""
            pad = " " * len(stamp) + (" " * len(line.who) + f" {GUTTER} " if line.who else "")
            text = _words(line, zone).splitlines() or [""]
            self.out(stamp + gutter + text[0])
            for rest in text[1:]:
                self.out((pad + rest).rstrip())
            for row in self.buttons(line.buttons):
                self.out(pad + row)
        self._compact_day = None

    def compact(self, lines: Sequence[Line], zone: ZoneInfo) -> None:
        """One line: each message's first sentence, then each press; taps of a minute joined.

        A second one-line part of the same night leaves the date blank, so the night reads as one.
        """
        parts: list[str] = []
        said: set[str] = set()
        tapped_at: str | None = None  # the minute of the last part, if it was a tap
        for line in lines:
            local = f"{line.at.astimezone(zone):%H:%M}"
            if line.kind in EDITS:
                continue  # the presses say what happened; the bot's echo of them is left out
            if line.kind == "tapped" and tapped_at == local:
                parts[-1] += THEN + line.text
                continue
            if line.kind == "bot":
                parts.append(f"{local} {AGAIN if line.text in said else _first(line.text)}")
                said.add(line.text)
            else:
                parts.append(f"{local} {_words(line, zone)}")
            tapped_at = local if line.kind == "tapped" else None
        if not lines:
            return
        first = lines[0].at.astimezone(zone)
        when = f"{first:%a} {first.day:>2} {first:%b}  "
        if first.date() == self._compact_day:
            when = " " * len(when)
        self.out(when + "  ".join(parts))
        self._day = lines[-1].at.astimezone(zone).date()
        self._compact_day = first.date()

    def buttons(self, rows: Sequence[Sequence[str]]) -> list[str]:
        """A keyboard as printed lines: one line if it fits, else a line per row.

        A tall keyboard already printed once is shortened to its first and last rows, unless the
        buttons are numbered for pressing.
        """
        numbers = iter(range(1, 1 + sum(len(row) for row in rows)))
        printed = [
            " ".join(
                f"[{next(numbers)} {label}]" if self.numbered else f"[{label}]" for label in row
            )
            for row in rows
        ]
        one_line = " ".join(printed)
        if not printed or len(one_line) <= BUTTONS_ON_ONE_LINE:
            return [one_line] if printed else []
        keyboard = tuple(tuple(row) for row in rows)
        if keyboard in self._keyboards and len(printed) > 2 and not self.numbered:
            return [ELIDED.format(first=printed[0], last=printed[-1])]
        self._keyboards.add(keyboard)
        return printed


def _rows(message: FakeMessage) -> tuple[tuple[str, ...], ...]:
    """The message's keyboard now, row by row (inline or reply keyboard)."""
    markup = message.reply_markup or {}
    rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
    return tuple(
        tuple(button["text"] if isinstance(button, dict) else str(button) for button in row)
        for row in rows
    )


def _change(before: str, after: str) -> tuple[str, str]:
    """An edit as a reader takes it: what now ends the message, the lines that changed in it,
    or all of it when it was rewritten."""
    old, new = before.split("\n\n"), after.split("\n\n")
    if new[: len(old)] == old and len(new) > len(old):
        return "edited", "\n\n".join(new[len(old) :])
    old_lines = [line for line in before.splitlines() if line.strip()]
    new_lines = [line for line in after.splitlines() if line.strip()]
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    kept = sum(block.size for block in matcher.get_matching_blocks())
    if 2 * kept < len(new_lines):
        return "rewritten", after
    diff = []
    for op, old_from, old_to, new_from, new_to in matcher.get_opcodes():
        if op != "equal":
            diff += [REMOVED.format(line=line) for line in old_lines[old_from:old_to]]
            diff += [ADDED.format(line=line) for line in new_lines[new_from:new_to]]
    return "changed", "\n".join(diff)


def _words(line: Line, zone: ZoneInfo) -> str:
    if line.kind == "typed":
        return TYPED.format(text=line.text)
    if line.kind == "tapped":
        return TAPPED.format(label=line.text)
    sent = f"{(line.sent or line.at).astimezone(zone):%H:%M}"
    if line.kind == "replied":
        return REPLIED.format(sent=sent, text=line.text)
    if line.kind == "edited":
        return EDITED.format(sent=sent, tail=line.text)
    if line.kind == "changed":
        return CHANGED.format(sent=sent, diff=line.text)
    if line.kind == "rewritten":
        return REWRITTEN.format(sent=sent, text=line.text)
    if line.kind == "rekeyed":
        return REKEYED.format(sent=sent)
    if line.kind == "note":
        return f"· {line.text}"
    return line.text


def _first(text: str) -> str:
    """The first paragraph, cut to its first sentence when long: enough to recognise a message."""
    paragraph = text.split("\n\n", 1)[0]
    end = paragraph.find(". ")
    return paragraph[: end + 1] if end > 0 and len(paragraph) > SHORT else paragraph


def _instant(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)
