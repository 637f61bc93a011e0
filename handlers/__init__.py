"""Telegram handlers: each translates an update into one use case call and renders the reply."""

from __future__ import annotations

from telegram.ext import Application

from handlers import buttons, care_team, caseload, commands, errors, groups, membership, messages


def register_all(application: Application) -> None:
    """Register every handler. Order matters: the first matching handler in a group wins."""
    # Groups and channels that are not a care team's: silence, before any handler answers.
    groups.register(application)
    # Someone blocking or unblocking the bot: not a message, so it never collides with the rest.
    membership.register(application)
    # Commands before free text, so "/today" is never read as an answer to a question.
    commands.register(application)
    # The care team: /invite, the caseload views, and replies to alerts (before patients' text).
    settings = application.bot_data.services.settings
    care_team.register(application, settings.provider_user_ids)
    caseload.register(application)
    # Button presses, routed by the payload's kind.
    buttons.register(application)
    # Typed answers, then everything else we did not understand. Must come last.
    messages.register(application)
    errors.register(application)
