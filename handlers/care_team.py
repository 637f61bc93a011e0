"""The care team's handlers: /invite, /revoke, decisions on alerts, replies relayed to patients.

They work in a provider's private chat and in a care-team group. Every action is authorised by
who did it (PROVIDER_USER_IDS), never by what a button or a message claims.
"""

from __future__ import annotations

from telegram import Message, Update
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.app.context import Context
from bot.ui import callbacks
from bot.ui.callbacks import DecisionPress, ReplyPress
from bot.ui.render import render, words
from bot.ui.texts import t
from bot.ui.views import Say
from handlers.replies import send_replies

CARE_TEAM_CHATS = filters.ChatType.PRIVATE | filters.ChatType.GROUPS


async def invite(update: Update, context: Context) -> None:
    """Prescribe a plan for a patient label and return the patient's one-time link."""
    assert update.effective_user and update.effective_chat
    said = await context.services.care_team.invite(
        update.effective_user.id,
        list(context.args or []),
        context.bot.username,
        update.effective_chat.id,
    )
    await send_replies(
        context.bot, update.effective_chat.id, render(said, context.services.settings)
    )


async def revoke(update: Update, context: Context) -> None:
    """Withdraw a patient's link that has not been used yet."""
    assert update.effective_user and update.effective_chat
    said = await context.services.care_team.revoke(
        update.effective_user.id, list(context.args or [])
    )
    await send_replies(
        context.bot, update.effective_chat.id, render(said, context.services.settings)
    )


async def on_decision(update: Update, context: Context, press: DecisionPress) -> None:
    """A provider's tap on an alert: apply it once, and say what happened."""
    query = update.callback_query
    assert query is not None
    outcome = await context.services.care_team.decide(
        query.from_user.id, press.escalation_id, press.action, query.from_user.full_name
    )
    await query.answer(words(outcome.toast, context.services.settings))


async def on_reply_press(update: Update, context: Context) -> None:
    """A provider's Reply under a patient's message: their answer is asked for in private."""
    query = update.callback_query
    assert query is not None
    press = callbacks.parse(query.data)
    if not isinstance(press, ReplyPress):
        # A press with no data at all matches every button handler (python-telegram-bot's rule).
        await query.answer(t("toast_unknown"))
        return
    outcome = await context.services.care_team.open_reply(
        query.from_user.id, press.escalation_id, query.from_user.full_name
    )
    await query.answer(words(outcome.toast, context.services.settings))


def _reply_press(data: object) -> bool:
    return isinstance(data, str) and isinstance(callbacks.parse(data), ReplyPress)


async def on_reply(update: Update, context: Context) -> None:
    """A provider's reply to an alert goes to that patient, from their care team."""
    message = update.effective_message
    assert message is not None and update.effective_user and update.effective_chat
    replied = message.reply_to_message
    if not isinstance(replied, Message) or not message.text:
        return
    said = await context.services.care_team.relay(
        update.effective_user.id,
        update.effective_chat.id,
        replied.message_id,
        message.text,
        update.effective_user.full_name,
    )
    if said is None and update.effective_chat.type != "private":
        return  # a group's own conversation: not ours to answer
    if said is None:
        said = Say("provider_help")
    try:
        await send_replies(
            context.bot, update.effective_chat.id, render(said, context.services.settings)
        )
    except TelegramError:
        pass


async def on_group_moved(update: Update, context: Context) -> None:
    """Telegram turned a group into a supergroup: its new id must go in PROVIDER_CHAT_IDS."""
    message = update.effective_message
    if message is not None and message.migrate_to_chat_id is not None:
        await context.services.care_team.group_moved(message.chat_id, message.migrate_to_chat_id)


def register(application: Application, provider_ids: tuple[int, ...]) -> None:
    application.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, on_group_moved))
    application.add_handler(CommandHandler("invite", invite, filters=CARE_TEAM_CHATS))
    application.add_handler(CommandHandler("revoke", revoke, filters=CARE_TEAM_CHATS))
    # Reply under a patient's message (before the other buttons, which route every payload).
    application.add_handler(CallbackQueryHandler(on_reply_press, pattern=_reply_press))
    # Replies in a group, and anything a provider types in private, before the patients' text
    # handlers; a patient's own private messages never match here.
    providers = filters.User(user_id=list(provider_ids)) if provider_ids else filters.User([])
    replies = filters.REPLY & filters.TEXT & ~filters.COMMAND & filters.UpdateType.MESSAGE
    application.add_handler(
        MessageHandler(
            replies & (filters.ChatType.GROUPS | (filters.ChatType.PRIVATE & providers)), on_reply
        )
    )
