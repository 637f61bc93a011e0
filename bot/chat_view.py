"""The chat as the patient saw it, read from the fake Telegram, for `demo` and `simulate`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from bot.simulation import VirtualClock
from fake_telegram.core import FakeMessage, FakeUser

# The marks around the bot's own words; those are in bot/texts.py.
DAY = "── {day} ──"
TYPED = "> {text}"
TAPPED = "> taps {label}"
EDITED = "✎ the {sent} message now ends: {tail}"
AGAIN = "(again)"


@dataclass(frozen=True)
class Line:
    """One thing that happened in the chat, at a UTC instant."""

    at: datetime
    kind: str  # bot, typed, tapped, edited, note
    text: str
    buttons: tuple[str, ...] = ()
    sent: datetime | None = None  # for an edit: when the edited message was sent


class ChatView:
    """Read one patient's chat from the fake Telegram as it changes, and note what they do."""

    def __init__(self, user: FakeUser, clock: VirtualClock) -> None:
        self.user = user
        self.clock = clock
        self._seen: dict[int, str | None] = {}
        self._lines: list[Line] = []

    def typed(self, text: str) -> None:
        self._collect_all()  # what the patient was answering comes first, buttons and all
        self._lines.append(Line(self._now(), "typed", text))

    def tapped(self, label: str) -> None:
        self._collect_all()
        self._lines.append(Line(self._now(), "tapped", label))

    def note(self, at: datetime, text: str) -> None:
        self._lines.append(Line(at, "note", text))

    def take(self) -> list[Line]:
        """Everything new since the last take, in time order."""
        self._collect_all()
        lines = sorted(self._lines, key=lambda line: line.at)
        self._lines = []
        return lines

    def _collect_all(self) -> None:
        for message in self.user.messages():
            self._collect(message)

    def _collect(self, message: FakeMessage) -> None:
        sent = _instant(message.date)
        if message.message_id not in self._seen:
            first = message.history[0] if message.history else message.text
            self._lines.append(Line(sent, "bot", first or "", tuple(message.buttons())))
        elif message.text != self._seen[message.message_id]:
            before = self._seen[message.message_id] or ""
            tail = message.text or ""
            tail = tail[len(before) :].strip() if tail.startswith(before) else tail
            at = _instant(message.edit_date or message.date)
            self._lines.append(Line(at, "edited", tail, sent=sent))
        self._seen[message.message_id] = message.text

    def _now(self) -> datetime:
        return _instant(int(self.clock.now().timestamp()))


class Printer:
    """Write chat lines in the patient's local time, whole or one line per night."""

    def __init__(self, out: Callable[[str], None], numbered: bool = False) -> None:
        self.out = out
        self.numbered = numbered
        self._day: date | None = None

    def heading(self, text: str) -> None:
        """A blank line and a heading; the next full line names its day again."""
        self.out("")
        self.out(text)
        self._day = None

    def full(self, lines: Sequence[Line], zone: ZoneInfo) -> None:
        for line in lines:
            local = line.at.astimezone(zone)
            if local.date() != self._day:
                self._day = local.date()
                self.out(DAY.format(day=f"{local:%A} {local.day} {local:%B %Y}"))
            stamp, pad = f"{local:%H:%M}  ", " " * 7
            text = _words(line, zone).splitlines() or [""]
            self.out(stamp + text[0])
            for rest in text[1:]:
                self.out((pad + rest).rstrip())
            if line.buttons:
                self.out(pad + self.buttons(line.buttons))

    def compact(self, lines: Sequence[Line], zone: ZoneInfo) -> None:
        """One line for an ordinary night: the reminder's first paragraph, then each press."""
        parts, said = [], set()
        for line in lines:
            local = f"{line.at.astimezone(zone):%H:%M}"
            if line.kind == "bot":
                parts.append(f"{local} {AGAIN if line.text in said else _first(line.text)}")
                said.add(line.text)
            elif line.kind != "edited":
                parts.append(f"{local} {_words(line, zone)}")
        if lines:
            self._day = lines[-1].at.astimezone(zone).date()
            first = lines[0].at.astimezone(zone)
            self.out(f"{first:%a} {first.day:>2} {first:%b}  " + "  ".join(parts))

    def buttons(self, labels: Sequence[str]) -> str:
        if self.numbered:
            return " ".join(f"[{n} {label}]" for n, label in enumerate(labels, start=1))
        return " ".join(f"[{label}]" for label in labels)


def _words(line: Line, zone: ZoneInfo) -> str:
    if line.kind == "typed":
        return TYPED.format(text=line.text)
    if line.kind == "tapped":
        return TAPPED.format(label=line.text)
    if line.kind == "edited":
        sent = line.sent.astimezone(zone) if line.sent else line.at.astimezone(zone)
        return EDITED.format(sent=f"{sent:%H:%M}", tail=line.text)
    if line.kind == "note":
        return f"· {line.text}"
    return line.text


def _first(text: str) -> str:
    return text.split("\n\n", 1)[0]


def _instant(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)
