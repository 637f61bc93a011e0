"""Button presses: reminder answers, onboarding answers, settings choices."""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from telegram import CallbackQuery, InlineKeyboardMarkup, Message, Update
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler

from bot.app.context import Context
from bot.care.reminders import AnswerResult
from bot.delivery.notifier import keyboard
from bot.rules.nightly import Verdict
from bot.rules.states import Awaiting, DoseStatus
from bot.ui import callbacks, messages
from bot.ui.callbacks import CheckinPress, DecisionPress, DosePress, OnboardingPress, SettingsPress
from bot.ui.render import render, render_all, words
from bot.ui.texts import t
from bot.ui.views import Reply
from handlers import care_team
from handlers.replies import REPLY, send_replies

log = logging.getLogger(__name__)


async def on_press(update: Update, context: Context) -> None:
    """Route a press by its payload; anything unreadable gets a kind toast."""
    query = update.callback_query
    assert query is not None
    press = callbacks.parse(query.data)
    if isinstance(press, DosePress):
        await _dose(query, press, context)
    elif isinstance(press, OnboardingPress):
        await query.answer()
        await _without_buttons(query, context)
        said = await context.services.conversation.press(
            query.from_user.id, press.step, press.value
        )
        replies = render_all(said, context.services.settings)
        await send_replies(context.bot, query.from_user.id, replies)
    elif isinstance(press, SettingsPress):
        await query.answer()
        await _without_buttons(query, context)
        await _settings(query, press, context, update.update_id)
    elif isinstance(press, CheckinPress):
        await _checkin(query, press, context)
    elif isinstance(press, DecisionPress):
        await care_team.on_decision(update, context, press)
    else:
        # An old release's button, or a forged one: never the data itself in the log.
        log.info("Refused a press with unreadable data from user %s", query.from_user.id)
        await query.answer(t("toast_unknown"))


async def _checkin(query: CallbackQuery, press: CheckinPress, context: Context) -> None:
    """A tap on a check-in question: the question is rewritten in place with the next one."""
    step = await context.services.checkins.press(
        query.from_user.id,
        press.report_id,
        press.question,
        press.value,
        query.message.message_id if query.message else None,
    )
    settings = context.services.settings
    await query.answer(None if step.toast is None else words(step.toast, settings))
    if step.toast is not None and step.edit is None and not step.replies:
        return
    if step.edit is not None:
        markup = keyboard(step.edit)
        if _changes(query, context, markup, step.edit.text):
            try:
                await _edit(query, context, step.edit.text, markup)
            except TelegramError:
                await send_replies(context.bot, query.from_user.id, [step.edit])
            else:
                _edited(query, context, markup, step.edit.text)
    else:
        await _without_buttons(query, context)
    await send_replies(context.bot, query.from_user.id, render_all(step.replies, settings))


async def _dose(query: CallbackQuery, press: DosePress, context: Context) -> None:
    result = await context.services.reminders.answer(
        query.from_user.id, press.dose_id, press.answer
    )
    if result.verdict is None:
        await query.answer(t("toast_not_yours"))
    elif result.verdict is Verdict.ALREADY:
        await query.answer(
            t("toast_already", status=t(f"status_{result.status}"))
            if result.status in (DoseStatus.TAKEN, DoseStatus.SKIPPED)
            else None
        )
        await _without_buttons(query, context)
    elif result.verdict is Verdict.TOO_LATE_TO_SNOOZE:
        await query.answer(t("toast_too_late_to_snooze"))
    elif result.verdict is Verdict.NOT_YET:
        await query.answer(t("toast_unknown"))
    else:
        await query.answer(t(f"toast_{result.status}"))
        await _record_on_message(query, result, context)


async def _record_on_message(query: CallbackQuery, result: AnswerResult, context: Context) -> None:
    """Write the outcome under the pressed reminder; take the buttons off the night's messages."""
    if result.status == DoseStatus.SNOOZED and result.snoozed_until and result.timezone:
        local = result.snoozed_until.astimezone(ZoneInfo(result.timezone)).time()
        line = t("recorded_snoozed", time=messages.clock(local))
    elif result.after_cutoff:
        line = t(f"recorded_{result.status}_late")
    else:
        line = t(f"recorded_{result.status}")
    pressed = query.message if isinstance(query.message, Message) else None
    if pressed is not None and pressed.text:
        text = f"{pressed.text}\n\n{line}"
        if _changes(query, context, None, text):
            try:
                await _edit(query, context, text, None)
            except TelegramError:
                await _say(context, query.from_user.id, line)
            else:
                _edited(query, context, None, text)
    else:
        await _say(context, query.from_user.id, line)
    pressed_id = pressed.message_id if pressed is not None else None
    await context.services.reminders.clear_buttons(result, pressed_id)


async def _say(context: Context, chat_id: int, line: str) -> None:
    await context.bot.send_message(chat_id, line)


async def _settings(
    query: CallbackQuery, press: SettingsPress, context: Context, update_id: int
) -> None:
    services, user_id = context.services, query.from_user.id
    if press.action == "bedtime":
        said = await services.conversation.ask(user_id, Awaiting.SET_BEDTIME)
        replies = render_all(said, services.settings)
    elif press.action == "zone":
        said = await services.conversation.ask(user_id, Awaiting.SET_ZONE)
        replies = render_all(said, services.settings)
    elif press.action in ("pause", "resume"):
        replies = render(
            await services.care.set_paused(user_id, press.action == "pause"), services.settings
        )
    elif press.action == "forget":
        await services.privacy.delete(user_id, upto=update_id)
        replies = [Reply(messages.clinic_text("deleted", services.settings))]
    elif press.action == "keep":
        replies = [Reply(t("delete_kept"))]
    else:
        await query.answer(t("toast_unknown"))
        return
    await send_replies(context.bot, user_id, replies)


async def _without_buttons(query: CallbackQuery, context: Context) -> None:
    """Take the buttons off the pressed message, so an old question cannot be answered twice."""
    if isinstance(query.message, Message) and _changes(query, context, None):
        try:
            await query.edit_message_reply_markup(reply_markup=None)
        except TelegramError:
            pass  # already gone, or too old to edit: nothing is lost
        else:
            _edited(query, context, None)


def _changes(
    query: CallbackQuery,
    context: Context,
    markup: InlineKeyboardMarkup | None,
    text: str | None = None,
) -> bool:
    """Whether an edit of the pressed message would change it (a second quick press would not)."""
    message = query.message
    if message is None:
        return True
    return context.services.shown.changes(
        message.chat.id, message.message_id, markup, text, pressed=message
    )


async def _edit(
    query: CallbackQuery, context: Context, text: str, markup: InlineKeyboardMarkup | None
) -> None:
    """Edit the pressed message; a short flood wait of the chat is waited out, as for replies."""
    message = query.message
    if message is None:
        await query.edit_message_text(text, reply_markup=markup)
        return
    await context.bot.edit_message_text(
        text,
        chat_id=message.chat.id,
        message_id=message.message_id,
        reply_markup=markup,
        rate_limit_args=REPLY,
    )


def _edited(
    query: CallbackQuery,
    context: Context,
    markup: InlineKeyboardMarkup | None,
    text: str | None = None,
) -> None:
    """Remember what the pressed message shows after an edit Telegram accepted."""
    if query.message is not None:
        context.services.shown.set(query.message.chat.id, query.message.message_id, markup, text)


def register(application: Application) -> None:
    application.add_handler(CallbackQueryHandler(on_press))
