"""A patient blocking or unblocking the bot; a chat alerts go to heard from again."""

from __future__ import annotations

from telegram import ChatMember, Update
from telegram.ext import Application, ChatMemberHandler, TypeHandler

from bot.app.context import Context

# Before every other handler, even the silence of unknown groups (-1): it stops nothing.
HEARD_GROUP = -2


async def on_my_chat_member(update: Update, context: Context) -> None:
    """Stop reminders for a patient who blocked the bot; resume when they unblock it."""
    change = update.my_chat_member
    if change is None or change.chat.type != "private":
        return
    status = change.new_chat_member.status
    if status in (ChatMember.BANNED, ChatMember.LEFT):
        await context.services.reminders.set_reachable(change.from_user.id, False)
    elif status == ChatMember.MEMBER:
        await context.services.reminders.set_reachable(change.from_user.id, True)


async def heard_from(update: Update, context: Context) -> None:
    """Any update from a provider chat or an admin: alerts parked while none could be reached
    go out now (the bot added to the group again, an admin who started it)."""
    chat = update.effective_chat
    if chat is not None:
        await context.services.alerts.heard_from(chat.id)


def register(application: Application) -> None:
    application.add_handler(TypeHandler(Update, heard_from), group=HEARD_GROUP)
    application.add_handler(ChatMemberHandler(on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER))
