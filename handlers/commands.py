"""Patient commands: /start, /today, /plan, /settings, /stop, /help; and /whoami for anyone."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import Application, CommandHandler, filters

from bot.app.context import Context
from bot.care.inbox import Incoming
from bot.ui import callbacks, messages
from bot.ui.render import render, render_all
from bot.ui.texts import t
from bot.ui.views import Button, Reply
from handlers.messages import incoming_of
from handlers.replies import send_replies

Command = Callable[[Update, Context], Coroutine[Any, Any, None]]

# New messages only: editing an old /delete or /sideeffects must not run it again.
PRIVATE = filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE
# /whoami answers in a group too: a care team's group needs its id for PROVIDER_CHAT_IDS.
ANYWHERE = filters.UpdateType.MESSAGE & (filters.ChatType.PRIVATE | filters.ChatType.GROUPS)


def _ids(update: Update) -> tuple[int, int]:
    assert update.effective_user and update.effective_chat
    return update.effective_user.id, update.effective_chat.id


async def start(update: Update, context: Context) -> None:
    """Enroll (with a provider's invitation code), resume enrollment, or turn reminders back on."""
    user_id, chat_id = _ids(update)
    services = context.services
    if services.care_team.is_provider(user_id) or services.care_team.is_admin(user_id):
        # The care team opens the bot so that it can write to them; they are not patients.
        await send_replies(context.bot, chat_id, [Reply(t("provider_help"))])
        return
    code = context.args[0] if context.args else None
    said = await services.conversation.start(user_id, chat_id, code)
    await send_replies(context.bot, chat_id, render_all(said, services.settings))


async def sideeffects(update: Update, context: Context) -> None:
    """Start (or resume) a side-effect check-in."""
    user_id, chat_id = _ids(update)
    said = await context.services.checkins.ask(user_id)
    await send_replies(context.bot, chat_id, render_all(said, context.services.settings))


async def today(update: Update, context: Context) -> None:
    """Show tonight's dose and the next step."""
    user_id, chat_id = _ids(update)
    said = await context.services.care.today(user_id)
    await send_replies(context.bot, chat_id, render(said, context.services.settings))


async def plan(update: Update, context: Context) -> None:
    """Show the whole plan with dates."""
    user_id, chat_id = _ids(update)
    said = await context.services.care.plan(user_id)
    await send_replies(context.bot, chat_id, render(said, context.services.settings))


async def settings(update: Update, context: Context) -> None:
    """Show the reminder settings with buttons to change them."""
    user_id, chat_id = _ids(update)
    said = await context.services.care.settings_menu(user_id)
    await send_replies(context.bot, chat_id, render(said, context.services.settings))


async def stop(update: Update, context: Context) -> None:
    """Stop reminders and keep the data."""
    user_id, chat_id = _ids(update)
    said = await context.services.care.set_paused(user_id, True, stop=True)
    await send_replies(context.bot, chat_id, render(said, context.services.settings))


async def mydata(update: Update, context: Context) -> None:
    """Send the patient everything the bot keeps about them, as a file."""
    user_id, chat_id = _ids(update)
    data = await context.services.privacy.export(user_id)
    if data is None:
        await send_replies(context.bot, chat_id, [Reply(t("mydata_none"))])
        return
    await context.bot.send_document(
        chat_id, document=data, filename="ldn-my-data.json", caption=t("mydata_sent")
    )


async def delete(update: Update, context: Context) -> None:
    """Ask before erasing everything the bot keeps about the patient."""
    _, chat_id = _ids(update)
    question = Reply(
        t("delete_confirm"),
        (
            (Button(t("button_delete_yes"), callbacks.settings("forget")),),
            (Button(t("button_delete_no"), callbacks.settings("keep")),),
        ),
    )
    await send_replies(context.bot, chat_id, [question])


async def help_(update: Update, context: Context) -> None:
    """List what the bot can do and whom to call."""
    _, chat_id = _ids(update)
    text = messages.clinic_text("help", context.services.settings)
    await send_replies(context.bot, chat_id, [Reply(text)])


async def whoami(update: Update, context: Context) -> None:
    """Give someone their Telegram id (and a group's, to the care team) for `.env`."""
    user_id, chat_id = _ids(update)
    assert update.effective_chat
    private = update.effective_chat.type == ChatType.PRIVATE
    said = context.services.care.whoami(user_id, chat_id, private)
    await send_replies(context.bot, chat_id, render(said, context.services.settings))


def words_after_command(update: Update, bot_id: int) -> Incoming | None:
    """The words typed after the command ("/today I had a seizure"), for the inbox; None if none."""
    message = update.effective_message
    assert message is not None and message.text and message.entities
    command = message.parse_entity(message.entities[0])  # CommandHandler checked it leads
    words = message.text[len(command) :].strip().lstrip(",;:-").strip()
    if not words:
        return None
    return dataclasses.replace(incoming_of(update, bot_id), text=words, after_command=True)


def hearing_words(command: Command) -> Command:
    """The command, after the words typed with it went where any words go: the inbox."""

    @functools.wraps(command)
    async def handle(update: Update, context: Context) -> None:
        incoming = words_after_command(update, context.bot.id)
        if incoming is not None:
            _, chat_id = _ids(update)
            said = await context.services.inbox.receive(incoming)
            await send_replies(context.bot, chat_id, render_all(said, context.services.settings))
        await command(update, context)

    return handle


def register(application: Application) -> None:
    # /start's argument is an invitation code; every other patient command takes none, so
    # words after it are the patient's words, and never lost ("/today I had a seizure").
    application.add_handler(CommandHandler("start", start, filters=PRIVATE))
    for name, callback in (
        ("today", today),
        ("plan", plan),
        ("settings", settings),
        ("stop", stop),
        ("help", help_),
        ("sideeffects", sideeffects),
        ("mydata", mydata),
        ("delete", delete),
    ):
        application.add_handler(CommandHandler(name, hearing_words(callback), filters=PRIVATE))
    application.add_handler(CommandHandler("whoami", whoami, filters=ANYWHERE))
