"""A patient blocking or unblocking the bot."""

from __future__ import annotations

from telegram import ChatMember, Update
from telegram.ext import Application, ChatMemberHandler

from bot.app.context import Context


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


def register(application: Application) -> None:
    application.add_handler(ChatMemberHandler(on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER))
