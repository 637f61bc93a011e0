"""Groups and channels the bot does not serve: it says nothing there at all.

Anyone can add a bot to a group. Only the care-team groups in PROVIDER_CHAT_IDS are spoken in;
anywhere else commands, text and presses get no answer (a press only a silent one, so that its
button stops spinning). One exception: /whoami from a provider or an admin, which is how a new
care-team group learns the id to put in PROVIDER_CHAT_IDS.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import Application, ApplicationHandlerStop, TypeHandler

from bot.app.context import Context

log = logging.getLogger(__name__)

# Before every other handler (they are in group 0).
GROUP = -1


async def stay_silent(update: Update, context: Context) -> None:
    """Stop every update from a group or channel that is not a care team's, but /whoami."""
    chat = update.effective_chat
    if chat is None or chat.type == ChatType.PRIVATE:
        return
    settings = context.services.settings
    if chat.id in settings.provider_chat_ids or _whoami_by_the_care_team(update, context):
        return
    query = update.callback_query
    if query is not None:
        await query.answer()
    text = update.message.text if update.message else None
    if query is not None or (text or "").startswith("/"):
        # An attempt at the bot, logged as any refusal is: where, never the words.
        log.info("Ignored a command or press in chat %s (not in PROVIDER_CHAT_IDS)", chat.id)
    raise ApplicationHandlerStop


def _whoami_by_the_care_team(update: Update, context: Context) -> bool:
    message, user = update.message, update.effective_user
    if message is None or user is None or not message.text:
        return False
    command = message.text.split(maxsplit=1)[0].split("@")[0].lower()
    care_team = context.services.care_team
    return command == "/whoami" and (care_team.is_provider(user.id) or care_team.is_admin(user.id))


def register(application: Application) -> None:
    application.add_handler(TypeHandler(Update, stay_silent), group=GROUP)
