"""The fake Bot API, driven through a real PTB Bot / Application."""

import asyncio
import datetime as dtm

import httpx
import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MessageEntity,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    EndPointNotFound,
    Forbidden,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import ApplicationBuilder, CommandHandler

from fake_telegram.core import FakeTelegram
from fake_telegram.transport import FakeRequest

TOKEN = "123456:TEST"
FIXED = dtm.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dtm.UTC)


@pytest.fixture(autouse=True)
def _timedelta_retry_after(monkeypatch):
    monkeypatch.setenv("PTB_TIMEDELTA", "1")  # RetryAfter.retry_after as timedelta, no warning


@pytest.fixture
def core():
    return FakeTelegram(clock=lambda: FIXED)


@pytest.fixture
async def bot(core):
    async with Bot(TOKEN, request=FakeRequest(core), get_updates_request=FakeRequest(core)) as b:
        yield b


def keyboard(*pairs):
    return InlineKeyboardMarkup([[InlineKeyboardButton(t, callback_data=d)] for t, d in pairs])


def seconds(value):
    return value.total_seconds() if isinstance(value, dtm.timedelta) else value


async def test_initialize_calls_get_me(core, bot):
    assert bot.username == "ldn_test_bot"
    assert bot.id == 7000001
    assert core.requests[0].method == "getMe"


async def test_send_to_user_who_wrote_first(core, bot):
    user = core.user(42, "Ana")
    user.command("start")
    msg = await bot.send_message(42, "Hello")
    assert msg.message_id == 2  # the user's /start was message 1 in that chat
    assert msg.date == FIXED
    assert [m.text for m in user.messages()] == ["Hello"]
    assert core.client_errors() == []


async def test_send_to_user_who_never_wrote(core, bot):
    core.user(43)
    with pytest.raises(BadRequest, match="(?i)chat not found"):
        await bot.send_message(43, "Hello")
    with pytest.raises(BadRequest, match="(?i)chat not found"):
        await bot.send_message(999, "Hello")


async def test_blocked_user_forbidden_then_unblock(core, bot):
    user = core.user(42)
    user.send("hi")
    update = user.block()
    assert update["my_chat_member"]["new_chat_member"]["status"] == "kicked"
    parsed = Update.de_json(update, bot)
    assert parsed.my_chat_member.new_chat_member.status == "kicked"
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(42, "Hello")
    with pytest.raises(RuntimeError):
        user.send("can't write while blocked")
    user.unblock()
    await bot.send_message(42, "Welcome back")
    assert user.last().text == "Welcome back"


async def test_injected_429_raises_retry_after_and_is_not_a_client_error(core, bot):
    core.user(42).send("hi")
    core.fail("sendMessage", status=429, retry_after=5)
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(42, "Hello")
    assert seconds(info.value.retry_after) == 5
    await bot.send_message(42, "Hello")  # the fault was used up
    assert core.client_errors() == []
    assert [c.status for c in core.calls("sendMessage")] == [429, 200]


async def test_a_fault_for_one_chat_leaves_the_others_alone(core, bot):
    core.user(42).send("hi")
    core.user(43).send("hi")
    core.fail("sendMessage", status=429, chat_id=43)
    await bot.send_message(42, "Hello")  # another chat: the fault waits for its own
    with pytest.raises(RetryAfter):
        await bot.send_message(43, "Hello")
    await bot.send_message(43, "Hello")
    assert [c.status for c in core.calls("sendMessage")] == [200, 429, 200]


async def test_a_group_upgraded_to_a_supergroup_answers_with_its_new_id(core, bot):
    core.group(-5002)
    await bot.send_message(-5002, "before")
    supergroup = core.upgrade_group(-5002, -1005002, by=core.user(42))
    moved, arrived = [u.message for u in await bot.get_updates()]
    assert (moved.chat.id, moved.migrate_to_chat_id, moved.from_user.id) == (-5002, -1005002, 42)
    assert (arrived.chat.id, arrived.migrate_from_chat_id) == (-1005002, -5002)
    with pytest.raises(ChatMigrated) as info:
        await bot.send_message(-5002, "after")
    assert info.value.new_chat_id == -1005002
    with pytest.raises(ChatMigrated):
        await bot.get_chat(-5002)
    await bot.send_message(-1005002, "after")
    assert [m.text for m in supergroup.messages() if m.from_bot] == ["after"]
    assert (await bot.get_chat(-1005002)).type == "supergroup"
    with pytest.raises(ValueError):
        core.upgrade_group(-1005002, -1009999, by=core.user(42))  # never again


async def test_injected_500_and_502_raise_network_error(core, bot):
    core.user(42).send("hi")
    core.fail(None, status=500, times=2)
    with pytest.raises(NetworkError, match="Internal Server Error"):
        await bot.send_message(42, "Hello")
    with pytest.raises(NetworkError):
        await bot.get_chat(42)
    core.fail("sendMessage", status=502)
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(42, "Hello")
    assert core.client_errors() == []


async def test_slow_answer_times_out_but_message_is_still_sent(core):
    core.user(42).send("hi")
    request = FakeRequest(core, read_timeout=0.05)
    async with Bot(TOKEN, request=request, get_updates_request=FakeRequest(core)) as bot:
        core.fail("sendMessage", status=200, delay=0.2)
        with pytest.raises(TimedOut):
            await bot.send_message(42, "Hello")
        await asyncio.sleep(0.25)
    assert [m.text for m in core.messages(42)] == ["Hello"]


@pytest.mark.parametrize("parse_mode", ["HTML", "MarkdownV2", "Markdown", "html"])
async def test_a_parse_mode_is_refused_as_not_implemented(core, bot, parse_mode):
    """The bot sends plain text; a formatted text must fail loudly, not be stored with tags."""
    core.user(42).send("hi")
    with pytest.raises(BadRequest, match="(?i)unsupported parse_mode.*implements no parse mode"):
        await bot.send_message(42, "<b>Dose</b> *1\\.5 mg*", parse_mode=parse_mode)
    with pytest.raises(BadRequest, match="(?i)unsupported parse_mode"):
        await bot.send_document(
            42, b"%PDF-1.4", filename="a.pdf", caption="<i>log</i>", parse_mode=parse_mode
        )
    msg = await bot.send_message(42, "Plain")
    with pytest.raises(BadRequest, match="(?i)unsupported parse_mode"):
        await bot.edit_message_text(
            "<b>Plain</b>", chat_id=42, message_id=msg.message_id, parse_mode=parse_mode
        )
    assert [m.text for m in core.messages(42)] == ["Plain"]
    assert [(c.method, c.status) for c in core.client_errors()] == [
        ("sendMessage", 400),
        ("sendDocument", 400),
        ("editMessageText", 400),
    ]


async def test_plain_text_is_stored_as_sent_with_the_entities_given(core, bot):
    core.user(42).send("hi")
    msg = await bot.send_message(
        42,
        "A <3 & <b>not a tag</b>",
        entities=[MessageEntity(MessageEntity.BOLD, 0, 1)],
    )
    assert msg.text == "A <3 & <b>not a tag</b>"
    assert core.user(42).last().text == "A <3 & <b>not a tag</b>"
    assert [(e.type, e.offset, e.length) for e in msg.entities] == [("bold", 0, 1)]


async def test_callback_data_over_64_bytes_is_rejected(core, bot):
    core.user(42).send("hi")
    with pytest.raises(BadRequest, match="(?i)button_data_invalid"):
        await bot.send_message(42, "Pick", reply_markup=keyboard(("A", "x" * 65)))
    with pytest.raises(BadRequest, match="(?i)button_data_invalid"):
        await bot.send_message(42, "Pick", reply_markup=keyboard(("A", "é" * 33)))  # 66 bytes
    await bot.send_message(42, "Pick", reply_markup=keyboard(("A", "x" * 64)))
    with pytest.raises(BadRequest, match="(?i)text buttons are unallowed"):
        await bot.send_message(
            42, "Pick", reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("only text")]])
        )
    await bot.send_message(42, "Pick", reply_markup=ReplyKeyboardMarkup([["Yes", "No"]]))
    assert core.user(42).last().buttons() == ["Yes", "No"]


async def test_text_length_and_emptiness(core, bot):
    core.user(42).send("hi")
    with pytest.raises(BadRequest, match="(?i)message is too long"):
        await bot.send_message(42, "x" * 4097)
    with pytest.raises(BadRequest, match="(?i)message text is empty"):
        await bot.send_message(42, "  \n ")
    msg = await bot.send_message(42, "x" * 4096)
    assert len(msg.text) == 4096


async def test_caption_length(core, bot):
    core.user(42).send("hi")
    with pytest.raises(BadRequest, match="(?i)caption is too long"):
        await bot.send_document(42, b"%PDF-1.4", filename="a.pdf", caption="x" * 1025)
    msg = await bot.send_document(42, b"%PDF-1.4", filename="a.pdf", caption="x" * 1024)
    assert len(msg.caption) == 1024


async def test_edit_not_modified_and_not_found(core, bot):
    user = core.user(42)
    user.send("hi")
    markup = keyboard(("Taken", "v1:dose:1:taken"))
    msg = await bot.send_message(42, "Dose due", reply_markup=markup)
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_text(
            "Dose due", chat_id=42, message_id=msg.message_id, reply_markup=markup
        )
    with pytest.raises(BadRequest, match="(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=42, message_id=999)
    # editing the text without a markup removes the keyboard, as Telegram does
    await bot.edit_message_text("Dose taken", chat_id=42, message_id=msg.message_id)
    current = user.last()
    assert (current.text, current.edited, current.buttons()) == ("Dose taken", True, [])
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_reply_markup(chat_id=42, message_id=msg.message_id)


async def test_a_label_is_found_by_its_start_with_or_without_its_emoji(core, bot):
    user = core.user(42)
    user.send("hi")
    buttons = (("⏸ Hold at current dose", "v1:h"), ("⛔ Pause LDN", "v1:p"), ("Pause", "v1:x"))
    await bot.send_message(42, "Alert", reply_markup=keyboard(*buttons))
    message = user.last()
    assert message.label_starting("hold") == "⏸ Hold at current dose"
    assert message.label_starting("⛔") == "⛔ Pause LDN"
    assert message.label_starting("Pause") == "Pause"  # the exact label first
    with pytest.raises(LookupError):
        message.label_starting("Back")


async def test_press_on_removed_button_raises_lookup_error(core, bot):
    user = core.user(42)
    user.send("hi")
    msg = await bot.send_message(42, "Dose due", reply_markup=keyboard(("Taken", "v1:t")))
    fake_msg = user.last()
    update = user.press(fake_msg, "Taken")
    assert update["callback_query"]["data"] == "v1:t"
    await bot.edit_message_reply_markup(
        chat_id=42, message_id=msg.message_id, reply_markup=keyboard(("Undo", "v1:u"))
    )
    with pytest.raises(LookupError):
        user.press(fake_msg, "Taken")
    assert user.press(fake_msg, "Undo")["callback_query"]["data"] == "v1:u"
    await bot.delete_message(42, msg.message_id)
    with pytest.raises(LookupError):
        user.press(fake_msg, "Undo")
    assert fake_msg.deleted


async def test_answer_callback_query_once(core, bot):
    user = core.user(42)
    user.send("hi")
    await bot.send_message(42, "Q", reply_markup=keyboard(("Yes", "y")))
    query_id = user.press(user.last(), "Yes")["callback_query"]["id"]
    with pytest.raises(BadRequest, match="(?i)message_too_long"):
        await bot.answer_callback_query(query_id, text="x" * 201)
    assert await bot.answer_callback_query(query_id, text="Saved")
    assert core.callback_answer(query_id)["text"] == "Saved"
    with pytest.raises(BadRequest, match="(?i)query is too old"):
        await bot.answer_callback_query(query_id)
    forged = user.forge_press(12345, "v1:dose:999:taken")["callback_query"]
    assert forged["data"] == "v1:dose:999:taken"
    assert core.messages(42)[-1].text == "Q"  # the forged press stored nothing


async def test_get_updates_offset(core, bot):
    user = core.user(42)
    first = user.send("one")
    second = user.send("two")
    updates = await bot.get_updates()
    assert [u.update_id for u in updates] == [first["update_id"], second["update_id"]]
    assert updates[0].message.text == "one"
    again = await bot.get_updates(offset=second["update_id"])
    assert [u.message.text for u in again] == ["two"]
    assert await bot.get_updates(offset=second["update_id"] + 1) == ()
    assert core.pending_updates == []


async def test_long_poll_wakes_when_user_sends(core, bot):
    user = core.user(42)

    async def later():
        await asyncio.sleep(0.05)
        user.send("awake?")

    loop = asyncio.get_running_loop()
    started = loop.time()
    task = asyncio.create_task(later())
    updates = await bot.get_updates(timeout=5)
    await task
    assert [u.message.text for u in updates] == ["awake?"]
    assert loop.time() - started < 4  # woken by the message, not by the 5 s timeout
    assert await bot.get_updates(offset=updates[0].update_id + 1, timeout=0.05) == ()


async def test_client_errors_lists_bad_calls_only(core, bot):
    core.user(42).send("hi")
    core.fail("sendMessage", status=429)
    with pytest.raises(RetryAfter):
        await bot.send_message(42, "ok")
    with pytest.raises(BadRequest):
        await bot.send_message(42, "x" * 4097)
    with pytest.raises(BadRequest):
        await bot.send_message(77, "who?")
    errors = core.client_errors()
    assert [(c.method, c.status) for c in errors] == [("sendMessage", 400), ("sendMessage", 400)]
    assert "message is too long" in errors[0].body["description"]


async def test_commands_stored(core, bot):
    assert await bot.set_my_commands([("start", "Begin"), ("dose", "Log a dose")])
    assert core.commands == [
        {"command": "start", "description": "Begin"},
        {"command": "dose", "description": "Log a dose"},
    ]
    assert [c.command for c in await bot.get_my_commands()] == ["start", "dose"]
    with pytest.raises(BadRequest, match="(?i)bot_command_invalid"):
        await bot.set_my_commands([("Bad-Name", "x")])
    assert await bot.delete_my_commands()
    assert core.commands is None


async def test_flood_limit_30_per_second(core, bot):
    core.user(42).send("hi")
    # A burst of 30 (plus one of slack for timer jitter) passes; the next is refused.
    results = await asyncio.gather(
        *(bot.send_message(42, str(i)) for i in range(32)), return_exceptions=True
    )
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == 1 and isinstance(errors[0], RetryAfter)
    assert seconds(errors[0].retry_after) == 1
    # The bucket drains at 30 a second: half a second later, 15 more pass.
    await asyncio.sleep(0.5)
    results = await asyncio.gather(
        *(bot.send_message(42, str(i)) for i in range(14)), return_exceptions=True
    )
    assert not [r for r in results if isinstance(r, Exception)]


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBUserWarning")
async def test_documents_photos_and_other_methods(core, bot):
    user = core.user(42)
    user.send_photo()
    msg = await bot.send_document(42, b"%PDF-1.4", filename="report.pdf", caption="Report")
    assert msg.document.file_name == "report.pdf"
    assert user.last().document == b"%PDF-1.4"
    await bot.send_photo(42, b"\x89PNG....")
    assert user.last().photo == b"\x89PNG...."
    assert await bot.send_chat_action(42, "typing")
    assert await bot.pin_chat_message(42, msg.message_id)  # generic: validated, answers true
    with pytest.raises(BadRequest, match="(?i)sticker is required"):
        await bot.do_api_request("sendSticker", api_kwargs={"chat_id": 42})
    with pytest.raises(BadRequest, match="(?i)message identifier is not specified"):
        await bot.do_api_request("pinChatMessage", api_kwargs={"chat_id": 42})
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("noSuchMethod")
    assert core.requests[-1].body == {"ok": False, "error_code": 404, "description": "Not Found"}


async def test_group_and_user_media_updates(core, bot):
    nurse = core.user(50, "Nina", username="nina")
    group = core.group(-100500)
    update = nurse.in_group(group).command("approve", "12")
    assert update["message"]["text"] == "/approve@ldn_test_bot 12"
    assert update["message"]["entities"][0]["length"] == len("/approve@ldn_test_bot")
    parsed = Update.de_json(update, bot)
    assert parsed.effective_chat.type == "group"
    with pytest.raises(BadRequest, match="(?i)chat not found"):
        await bot.send_message(50, "private chat still unknown")
    sent = await bot.send_message(-100500, "Approve?", reply_markup=keyboard(("OK", "v1:ok")))
    press = nurse.in_group(group).press(group.last(), "OK")
    assert press["callback_query"]["message"]["message_id"] == sent.message_id
    for make in (nurse.send_sticker, nurse.send_voice, lambda: nurse.send_location(1.5, 2.5)):
        assert Update.de_json(make(), bot).message is not None
    first = nurse.send("typo")
    edited = Update.de_json(nurse.edit(first, "fixed"), bot)
    assert edited.edited_message.text == "fixed"


async def test_application_polls_and_replies(core):
    async def start(update, context):
        await update.message.reply_text(f"Hello {update.effective_user.first_name}")

    app = (
        ApplicationBuilder()
        .token(TOKEN)
        .request(FakeRequest(core))
        .get_updates_request(FakeRequest(core))
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    user = core.user(42, "Ana")
    async with app:
        await app.start()
        await app.updater.start_polling(poll_interval=0.01, timeout=1)
        user.command("start")
        for _ in range(500):
            if user.messages():
                break
            await asyncio.sleep(0.01)
        await app.updater.stop()
        await app.stop()
    assert user.last().text == "Hello Ana"
    assert [c.method for c in core.requests][:2] == ["getMe", "deleteWebhook"]
    assert core.client_errors() == []
    assert core.pending_updates == []  # the shutdown getUpdates confirmed the offset


async def test_a_user_reply_carries_the_message_it_answers(core, bot) -> None:
    user = core.user(42)
    user.send("/start")
    sent = await bot.send_message(42, "Question?")
    update = user.reply(sent.message_id, "Answer")
    message = update["message"]
    assert message["text"] == "Answer"
    assert message["reply_to_message"]["message_id"] == sent.message_id
    assert message["reply_to_message"]["text"] == "Question?"
    with pytest.raises(LookupError):
        user.reply(9999, "to nothing")


async def test_copy_message_sends_a_users_voice_note_anew_and_answers_a_message_id(core, bot):
    patient, doctor = core.user(42, "Ana"), core.user(43, "Doc")
    doctor.command("start")
    voice = patient.send_voice()["message"]["message_id"]
    header = await bot.send_message(43, "From Ana:")
    copied = await bot.copy_message(43, 42, voice, reply_parameters={"message_id": header.id})
    assert copied.message_id == doctor.last().message_id
    copy = doctor.last()
    assert (copy.kind, copy.copied_from) == ("voice", (42, voice))
    assert copy.reply_to_message_id == header.message_id
    assert copy.from_bot and "voice" in core.message_dict(copy)
    assert core.requests[-1].body == {"ok": True, "result": {"message_id": copy.message_id}}


async def test_copy_message_keeps_a_caption_and_refuses_what_is_not_there(core, bot):
    patient, doctor = core.user(42, "Ana"), core.user(43, "Doc")
    doctor.command("start")
    photo = patient.send_photo(caption="my rash")["message"]["message_id"]
    await bot.copy_message(43, 42, photo)
    assert (doctor.last().kind, doctor.last().caption) == ("photo", "my rash")
    with pytest.raises(BadRequest, match="(?i)message to copy not found"):
        await bot.copy_message(43, 42, 999)
    with pytest.raises(BadRequest, match="(?i)chat not found"):
        await bot.copy_message(44, 42, photo)


def test_a_user_sends_video_video_note_audio_and_contact(core):
    user = core.user(42)
    for make, kind in (
        (user.send_video, "video"),
        (user.send_video_note, "video_note"),
        (user.send_audio, "audio"),
        (user.send_contact, "contact"),
    ):
        message = Update.de_json(make(), None).message
        assert message is not None and getattr(message, kind) is not None


async def test_injected_timeouts_are_what_httpx_timeouts_become(core):
    core.user(42).send("hi")
    async with Bot(TOKEN, request=FakeRequest(core), get_updates_request=FakeRequest(core)) as bot:
        core.fail("sendMessage", timeout="connect")
        with pytest.raises(TimedOut) as connect:
            await bot.send_message(42, "never left")
        assert isinstance(connect.value.__cause__, httpx.ConnectTimeout)
        core.fail("sendMessage", timeout="read", times=5)
        with pytest.raises(TimedOut) as read:
            await bot.send_message(42, "delivered, the answer lost")
        assert isinstance(read.value.__cause__, httpx.ReadTimeout)
        core.heal()  # the four read timeouts left are gone
        await bot.send_message(42, "back")
    assert [m.text for m in core.messages(42)] == ["delivered, the answer lost", "back"]
    assert [c.status for c in core.calls("sendMessage")] == [0, 0, 200]
    assert core.client_errors() == []
