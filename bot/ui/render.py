"""Put what a use case says into words: the texts catalog filled in, for the clinic's settings.

The one place a `Say` becomes a sentence. Handlers and the notifier call `render` on what a use
case returned and send the replies it gives; nothing here reads or writes the database.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.app.settings import Settings
from bot.rules.plans import Plan, Step
from bot.ui import messages
from bot.ui.texts import t
from bot.ui.views import Button, Choice, Lines, PlanLines, Reply, Said, Say, Show, Text


def render(said: Said | None, settings: Settings) -> list[Reply]:
    """The replies to send for what a use case said (nothing for None)."""
    if said is None:
        return []
    if isinstance(said, Reply):
        return [said]
    if isinstance(said, Show):
        return [reply(said, settings)]
    if isinstance(said, str | Say | Lines | PlanLines):
        return [Reply(words(said, settings))]
    return said.replies(settings)


def reply(show: Show, settings: Settings) -> Reply:
    """A reply with its buttons, in words."""
    buttons = tuple(tuple(button(c, settings) for c in row) for row in show.buttons)
    return Reply(words(show.text, settings), buttons, force_reply=show.force_reply)


def button(choice: Choice | Button, settings: Settings) -> Button:
    if isinstance(choice, Button):
        return choice
    return Button(words(choice.label, settings), choice.data)


def words(text: Text, settings: Settings) -> str:
    """A sentence, or sentences, in words."""
    if isinstance(text, str):
        return text
    if isinstance(text, Lines):
        return text.sep.join(words(part, settings) for part in text.parts)
    if isinstance(text, PlanLines):
        return "\n".join(messages.plan_lines(list(text.steps), text.current, text.today))
    values = {name: _value(value, settings) for name, value in text.values.items()}
    if text.clinic:
        return messages.clinic_text(text.key, settings, **values)
    return t(text.key, **values)


def _value(value: object, settings: Settings) -> object:
    if isinstance(value, str | Say | Lines | PlanLines):
        return words(value, settings)
    if isinstance(value, Step):
        return messages.step_words(value)
    if isinstance(value, Plan):
        return messages.plan_name(value)
    return value


def render_all(said: Iterable[Said], settings: Settings) -> list[Reply]:
    """The replies to send for several things said, in order."""
    return [reply for one in said for reply in render(one, settings)]
