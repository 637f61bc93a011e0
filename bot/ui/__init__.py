"""UI: what people read. The texts catalog, button payloads, reply views and formatters.

A use case decides what to say; the modules here say it in words and buttons. They may import
the rules and the settings, never a use case, the delivery or Telegram itself.

How a use case says something (issue 10): it returns data, never words. A sentence is
`Say(key, values)` (`bot/ui/views.py`): a key of the texts catalog and the values to fill in,
which may themselves be a `Say`, a plan `Step` (its dose in capsules) or a `Plan` (its name);
`Say(key, clinic=True)` fills in the clinic's name, contact and emergency number and takes the
key's honest `_no_team` variant when nobody receives alerts. Sentences one after another are
`Lines(parts, sep)`, a plan's dated steps `PlanLines`, a reply with buttons `Show(text, buttons)`
of `Choice(label, data)`. A view with more to it than sentences (the care team's caseload) is a
view object of its own, holding what the use case read, with a `replies(settings)` method:
`bot/ui/caseload_view.py`. The handlers, or the use case at the notifier's door, call
`bot.ui.render.render(said, settings)`, which gives the `Reply` objects to send: the only place
a `Say` becomes words. Tests read what a person reads, so they render too, the same way.
`render_all` does the same for a list. The use cases in `bot/care/` and the dispatcher say what
this way; an alert as providers read it is `bot/ui/alert_view.py`'s view, and a check-in's
questions are `bot/ui/checkin_questions.py`'s, already in words (a `Reply` passes through
`render` unchanged).
"""
