"""The care team's side of the real `python -m bot` process, over HTTP against our fake Bot API.

A doctor invites a patient, the patient enrolls by the link and reports a severe side effect, the
alert reaches the care team (the doctor's private chat and a care-team group), and the doctor's
decision reaches the plan, the audit table and the patient. Then: typed red flags and a question
reach the care team the moment they are stored (the latencies printed at the end of the run), an
alert whose delivery failed outlives a SIGKILL, and a stranger's press or reply changes nothing.
The tests act as every person in the chats and read the database the process writes to.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, update

from bot.ui import callbacks
from bot.ui.presenters import reason_text
from bot.ui.texts import t
from fake_telegram.core import FakeGroup, FakeMessage, FakeTelegram, FakeUser
from fake_telegram.server import FakeBotApiServer
from storage.db import Database
from storage.models import AlertMessage, AuditEntry, Escalation, Invite
from storage.repositories import Repository
from tests.e2e.test_process import BotProcess, conversation, eventually, refused
from tests.support.harness import TOKEN
from tests.support.updates import handled

DOCTOR, ADMIN, STRANGER, PATIENT = 5001, 6001, 6666, 3001
GROUP = -1001234
LABEL = "AB-1"
TIERS = (t("tier_emergency"), t("tier_urgent"), t("tier_routine"))
EFFECTS = ("sleep", "stomach", "tiredness", "restless", "headache", "mood")
FIRST_DOSE = "0.5 mg (1 × 0.5 mg capsule)"


class Telegram(FakeTelegram):
    """The fake Telegram, able to fail sends to one chat while every other chat's go through.

    `FakeTelegram.fail()` fails the next call of a method whatever its chat; here the patient's
    own answers must still arrive while the doctor's chat is failing.
    """

    def __init__(self) -> None:
        super().__init__()
        self.failing: dict[int, int] = {}
        # (chat, message id) -> when the bot's message was stored, on the monotonic clock.
        self.stored_at: dict[tuple[int, int], float] = {}

    def fail_chat(self, chat_id: int, times: int) -> None:
        """Answer the next `times` sendMessage calls to `chat_id` with a 500."""
        self.failing[chat_id] = times

    async def call(self, method: str, params: dict) -> tuple[int, dict]:
        chat_id = self.coerce(method, dict(params or {})).get("chat_id")
        if method == "sendMessage" and self.failing.get(chat_id, 0) > 0:
            self.failing[chat_id] -= 1
            # No await before the core takes its fault: this very call is the one that fails.
            self.fail(method, status=500)
        status, body = await super().call(method, params)
        if method == "sendMessage" and status == 200:
            self.stored_at[(chat_id, body["result"]["message_id"])] = time.monotonic()
        return status, body

    def seconds_since(self, start: float, message: FakeMessage) -> float:
        """How long after `start` (monotonic) the bot's `message` reached Telegram."""
        return self.stored_at[(message.chat_id, message.message_id)] - start


@dataclass
class Clinic:
    """The fake Telegram with the care team in it, and the bot process serving them."""

    core: Telegram
    bot: BotProcess
    doctor: FakeUser
    admin: FakeUser
    group: FakeGroup


@pytest.fixture
def dispatch_interval() -> int:
    """Seconds between the dispatcher's rounds: short, so retries come within a test."""
    return 1


@pytest.fixture
async def clinic(
    database_url: str, db: Database, tmp_path: Path, dispatch_interval: int
) -> AsyncIterator[Clinic]:
    core = Telegram()
    async with FakeBotApiServer(core, token=TOKEN) as server:
        doctor, admin = core.user(DOCTOR, "Doctor"), core.user(ADMIN, "Admin")
        group = core.group(GROUP)
        # The care team opens the bot before it starts: it checks at start-up that it can reach
        # every provider chat, and Telegram lets a bot write only to users who wrote to it first.
        for person in (doctor, admin):
            person.send("/start")
        process = BotProcess(server.base_url, database_url, tmp_path)
        process.env.update(
            {
                "PROVIDER_CHAT_IDS": f"{DOCTOR}, {GROUP}",
                "PROVIDER_USER_IDS": str(DOCTOR),
                "ADMIN_USER_IDS": str(ADMIN),
                "ALLOW_SELF_ENROLLMENT": "false",
                "CHECKIN_AFTER_STEP_UP_DAYS": "0",
                "CHECKIN_EVERY_DAYS": "0",
                "TOLERANCE_CHECK_DAYS": "0",
                "DISPATCH_INTERVAL_SECONDS": str(dispatch_interval),
            }
        )
        await process.start()
        for person in (doctor, admin):
            await eventually(lambda p=person: bool(p.messages()), what="the care team's help")
            assert person.last().text == t("provider_help")
        yield Clinic(core, process, doctor, admin, group)
        if process.process is not None:
            assert await process.stop() == 0, process.log_tail()
        # Everything the process asked of Telegram passed the fake's checks (the 500s the tests
        # injected are Telegram's failures, not the bot's mistakes).
        assert refused(core) == [], process.log_tail()
        assert "Traceback" not in process.log.read_text(errors="replace"), process.log_tail()


# Acting in a chat


def state(messages: Callable[[], list[FakeMessage]]) -> list[tuple[int, str | None, str]]:
    return [(m.message_id, m.text, repr(m.reply_markup)) for m in messages()]


async def changed(
    messages: Callable[[], list[FakeMessage]], before: list, update: dict, what: str
) -> None:
    """Wait for the chat to change (a new message or an edit), and for `update` to be handled."""
    await eventually(lambda: state(messages) != before, what=what)
    await handled(update, what=what)


async def tap(user: FakeUser, message: FakeMessage, label: str) -> None:
    """Press the button of `message` whose label starts with `label`; wait for the answer."""
    before = state(user.messages)
    update = user.press(message, message.label_starting(label))
    await changed(user.messages, before, update, f"an answer to {label!r}")


async def say(user: FakeUser, text: str) -> FakeMessage:
    """Send `text`; return the bot's first new message."""
    count = len(user.messages())
    await conversation(user, text)
    return user.messages()[count]


# The people


async def invite(clinic: Clinic) -> str:
    """The doctor prescribes the 0.5 mg plan for AB-1; return the code of the patient's link."""
    reply = await say(clinic.doctor, f"/invite {LABEL} 0.5")
    assert reply.text is not None and "https://t.me/ldn_test_bot?start=" in reply.text, reply.text
    return reply.text.split("?start=")[1].split()[0]


async def enroll(user: FakeUser, code: str) -> None:
    """The patient follows the link and answers every enrollment question.

    The first dose is tomorrow night at 21:00 UTC, at least 21 hours away whenever the test runs
    (a first dose "tonight at 23:59" came during a run that began at 23:58), so no reminder comes
    and the chats hold only what the tests look for.
    """
    await conversation(
        user,
        f"/start {code}",
        "[Yes",
        "[None of these",
        "[UTC",
        "[Tomorrow",
        "21:00",
        "[Yes, start",
    )
    assert user.last().text == t("enrolled", bedtime="21:00")


async def report_severe_stomach(user: FakeUser) -> None:
    """/sideeffects: no red flag, some effects, a severe upset stomach, nothing else."""
    question = await say(user, "/sideeffects")
    assert question.text == t("checkin_flags")
    await tap(user, question, t("button_flags_none"))
    await tap(user, question, t("button_effects_some"))
    for effect in EFFECTS:
        assert question.text == t("checkin_effect", effect=t(f"effect_{effect}"))
        await tap(user, question, t("grade_3") if effect == "stomach" else t("grade_0"))
    assert question.text == t("checkin_words")
    await tap(user, question, t("button_nothing_else"))
    assert question.buttons() == []
    # No dose taken yet: a concern before the first dose withholds LDN until the care team replies.
    assert user.last().text == "\n\n".join(
        (
            t("concern_withhold"),
            t("concern_sent"),
            t("concern_unwell", emergency="911"),
        )
    )


def alerts(messages: list[FakeMessage]) -> list[FakeMessage]:
    """The alerts among a chat's messages, as they are now."""
    return [m for m in messages if m.text and m.text.split(" · ")[0] in TIERS]


# Reading the database


async def escalations(db: Database) -> list[Escalation]:
    async with db.session() as session:
        return list((await session.execute(select(Escalation).order_by(Escalation.id))).scalars())


async def until(db: Database, check: Callable[[Escalation], bool], what: str) -> None:
    """Wait, bounded, until the one escalation in the database passes `check`."""
    for _ in range(100):
        found = await escalations(db)
        if len(found) == 1 and check(found[0]):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def audit(db: Database) -> list[AuditEntry]:
    async with db.session() as session:
        return list((await session.execute(select(AuditEntry).order_by(AuditEntry.id))).scalars())


async def deliveries(db: Database) -> list[AlertMessage]:
    async with db.session() as session:
        rows = await session.execute(select(AlertMessage).order_by(AlertMessage.id))
        return list(rows.scalars())


async def open_holds(db: Database, user: FakeUser) -> list[object]:
    async with db.session() as session:
        patient = await Repository(session).patients.by_user(user.id)
        assert patient is not None
        return [h for h in patient.holds if h.end is None]


# The tests


async def test_invite_enroll_severe_report_alert_then_the_doctors_hold_reaches_everyone(
    clinic: Clinic, db: Database
) -> None:
    core, doctor = clinic.core, clinic.doctor
    patient = core.user(PATIENT)
    await enroll(patient, await invite(clinic))
    await report_severe_stomach(patient)

    # The alert reaches the doctor's chat and the care-team group, with the decisions on it.
    await eventually(
        lambda: bool(alerts(doctor.messages()) and alerts(clinic.group.messages())),
        what="the alerts",
    )
    [alert] = alerts(doctor.messages())
    assert alert.text is not None and alert.text.startswith(f"{t('tier_urgent')} · patient {LABEL}")
    assert reason_text("severe_stomach", "stomach") in alert.text
    assert t("cl_alert_withheld").strip() in alert.text  # the severe answer withheld LDN already
    assert [b for b in alert.buttons() if b.startswith("⏸")] == [t("button_decide_hold")]
    [group_alert] = alerts(clinic.group.messages())
    assert group_alert.text == alert.text

    # The doctor replies to the alert: the words go to the patient, from their care team.
    before = state(patient.messages)
    sent = doctor.reply(alert, "Take it with a small snack tonight.")
    await changed(patient.messages, before, sent, "the doctor's words")
    assert patient.last().text == t("care_team_message", text="Take it with a small snack tonight.")
    await eventually(lambda: doctor.last().text == t("relayed", label=LABEL), what="the receipt")

    # The doctor holds the dose: the patient is told, and both copies of the alert say so.
    before = state(patient.messages)
    pressed = doctor.press(alert, t("button_decide_hold"))
    await changed(patient.messages, before, pressed, "the decision")
    # The doctor's hold lets the patient start LDN, at the dose of the first step.
    assert patient.last().text == "\n\n".join(
        (t("decided_lifted_start"), t("decided_hold", dose=FIRST_DOSE))
    )
    # Decided, every decision stays on offer: the doctor may still pause or step back.
    release = [t(f"button_decide_{a}") for a in callbacks.DECISIONS if a != "ack"]
    decided = t("alert_decided", decision=t("decision_hold"), who="Doctor", at="@").split(" at ")
    for copy in (alert, group_alert):
        await eventually(lambda c=copy: c.buttons() == release, what="the alert, decided")
        assert copy.edited and copy.text is not None
        assert decided[0] in copy.text  # by the doctor's name on Telegram
    [answer] = [c for c in core.calls("answerCallbackQuery") if c.params.get("text")][-1:]
    assert answer.params["text"] == t("toast_decided", decision=t("decision_hold"))

    [escalation] = await escalations(db)
    assert (escalation.tier, escalation.status, escalation.decision, escalation.decided_by) == (
        "urgent",
        "decided",
        "hold",
        DOCTOR,
    )
    assert escalation.reasons == [["severe_stomach", "stomach"]]
    assert escalation.next_action_at is None and escalation.rounds == 1
    assert [(e.actor_user_id, e.action, e.escalation_id) for e in await audit(db)] == [
        (DOCTOR, "message", escalation.id),
        (DOCTOR, "hold", escalation.id),
    ]
    assert len(await open_holds(db, patient)) == 1
    assert sorted((d.chat_id, d.round, d.message_id) for d in await deliveries(db)) == sorted(
        [(DOCTOR, 1, alert.message_id), (GROUP, 1, group_alert.message_id)]
    )
    assert clinic.admin.messages()[1:] == []  # nothing went wrong: the admin heard nothing


async def arrival(chat: Callable[[], list[FakeMessage]], after: int, what: str) -> FakeMessage:
    """The first message of `chat` after its first `after`, once it has come."""
    await eventually(lambda: len(chat()) > after, what=what)
    return chat()[after]


# With the dispatcher five minutes apart, only a delivery at the moment of storing is in time.
@pytest.mark.parametrize("dispatch_interval", [300])
async def test_typed_red_flags_and_words_reach_the_care_team_and_the_patient_within_seconds(
    clinic: Clinic, db: Database, latency: Callable[[str, float], None]
) -> None:
    core, doctor, group = clinic.core, clinic.doctor, clinic.group
    patient = core.user(PATIENT)
    await enroll(patient, await invite(clinic))
    took: list[float] = []

    async def typed(words: str, header: str, what: str) -> FakeMessage:
        """The patient types `words`; the care team's copy starts with `header`; the patient's
        answer is returned. The latencies are measured from the moment Telegram has the words."""
        chats = {"doctor's chat": doctor.messages, "care-team group": group.messages}
        seen = {name: len(chat()) for name, chat in chats.items()}
        answers, start = len(patient.messages()), time.monotonic()
        patient.send(words)
        for name, chat in chats.items():
            copy = await arrival(chat, seen[name], f"{what} in the {name}")
            assert copy.text is not None and copy.text.startswith(header), copy.text
            assert words in copy.text
            took.append(core.seconds_since(start, copy))
            latency(f"{what} -> the {name}", took[-1])
        answer = await arrival(patient.messages, answers, f"the answer to {what}")
        took.append(core.seconds_since(start, answer))
        latency(f"{what} -> the answer in the patient's chat", took[-1])
        return answer

    # Opioid words: LDN is withheld, and the care team is alerted.
    answer = await typed(
        "I took oxycodone for my back tonight",
        f"{t('tier_urgent')} · patient {LABEL}",
        "opioid words",
    )
    assert answer.text == "\n\n".join(
        (t("concern_withhold"), t("concern_sent"), t("concern_unwell", emergency="911"))
    )

    # Words of an emergency: the patient is told to call for help first of all.
    answer = await typed(
        "my throat is swelling and I can't breathe",
        f"{t('tier_emergency')} · patient {LABEL}",
        "emergency words",
    )
    assert answer.text is not None
    assert answer.text.startswith(t("concern_emergency", emergency="911")), answer.text

    # A question the bot cannot answer: a message for a person, not an alert.
    answer = await typed(
        "Can I take my capsule with warm milk?",
        t("inbox_message", label=LABEL),
        "a question",
    )
    assert answer.text is not None and answer.text.startswith(t("inbox_passed_on")), answer.text

    # The target is 2 s; the bound is loose, for a loaded machine, and still far below
    # the dispatcher's next round.
    assert max(took) < 10, took
    assert [(e.tier, e.stop) for e in await escalations(db)] == [
        ("urgent", "withhold"),
        ("emergency", "withhold"),
        ("message", None),
    ]


async def test_an_alert_that_failed_to_send_outlives_a_sigkill_and_arrives_after_the_restart(
    clinic: Clinic, db: Database
) -> None:
    core, doctor, admin = clinic.core, clinic.doctor, clinic.admin
    patient = core.user(PATIENT)
    await enroll(patient, await invite(clinic))
    core.fail_chat(DOCTOR, times=1)  # Telegram fails the first send to the doctor's chat
    await report_severe_stomach(patient)

    # The group has its copy; the doctor's failed, and the admin is told, naming no patient.
    await eventually(lambda: len(admin.messages()) == 2, what="the admin's notice")
    [escalation] = await escalations(db)
    notice = t("admin_delivery_failed", id=escalation.id, tier="urgent", chat=DOCTOR, error="\0")
    assert admin.last().text is not None
    assert admin.last().text.startswith(notice.split("\0")[0]), admin.last().text
    assert LABEL not in admin.last().text
    [group_alert] = alerts(clinic.group.messages())
    assert alerts(doctor.messages()) == []
    injected = [c for c in core.calls("sendMessage") if c.injected]
    assert [(c.status, c.params["chat_id"]) for c in injected] == [(500, DOCTOR)]

    # The process dies before its next try (due 15 s later), once it has recorded the failed
    # round (just after the admin's notice). The escalation waits in the database.
    await until(db, lambda e: e.attempts == 1, "the failed round recorded")
    assert await clinic.bot.stop(signal.SIGKILL) == -signal.SIGKILL
    [escalation] = await escalations(db)
    assert (escalation.status, escalation.rounds, escalation.attempts) == ("open", 0, 1)
    assert escalation.next_action_at is not None
    rows = {d.chat_id: d for d in await deliveries(db)}
    assert (rows[GROUP].message_id, rows[GROUP].failures) == (group_alert.message_id, 0)
    assert (rows[DOCTOR].message_id, rows[DOCTOR].sent_at, rows[DOCTOR].failures) == (None, None, 1)

    # While the bot is down, the time of the retry comes.
    async with db.session() as session:
        await session.execute(update(Escalation).values(next_action_at=datetime.now(UTC)))
        await session.commit()
    await clinic.bot.start()

    # The doctor gets the alert as stored, the same as the group's copy sent before the crash;
    # the group does not get it twice, and the admin hears of no new failure.
    await eventually(lambda: bool(alerts(doctor.messages())), what="the alert after the restart")
    await asyncio.sleep(2)  # two more dispatcher rounds: nothing more comes
    [alert] = alerts(doctor.messages())
    assert (alert.text, alert.reply_markup) == (group_alert.text, group_alert.reply_markup)
    assert alert.text is not None and reason_text("severe_stomach", "stomach") in alert.text
    assert alert.button_data(t("button_decide_hold")).startswith(f"v1:dec:{escalation.id}:")
    assert alerts(clinic.group.messages()) == [group_alert]
    assert len(admin.messages()) == 2
    [escalation] = await escalations(db)
    assert (escalation.status, escalation.rounds, escalation.attempts) == ("open", 1, 0)
    rows = {d.chat_id: d for d in await deliveries(db)}
    assert (rows[DOCTOR].message_id, rows[DOCTOR].failures) == (alert.message_id, 1)
    assert rows[DOCTOR].sent_at is not None
    assert len(await deliveries(db)) == 2

    # And it still works: the doctor's hold goes through the new process.
    before = state(patient.messages)
    pressed = doctor.press(alert, t("button_decide_hold"))
    await changed(patient.messages, before, pressed, "the decision")
    # The doctor's hold lets the patient start LDN, at the dose of the first step.
    assert patient.last().text == "\n\n".join(
        (t("decided_lifted_start"), t("decided_hold", dose=FIRST_DOSE))
    )
    assert [(e.actor_user_id, e.action) for e in await audit(db)] == [(DOCTOR, "hold")]


async def test_a_stranger_cannot_decide_write_to_the_patient_or_invite(
    clinic: Clinic, db: Database
) -> None:
    core = clinic.core
    patient, stranger = core.user(PATIENT), core.user(STRANGER, "Stranger")
    await enroll(patient, await invite(clinic))
    await report_severe_stomach(patient)
    await eventually(lambda: bool(alerts(clinic.group.messages())), what="the group's alert")
    [group_alert] = alerts(clinic.group.messages())
    [alert] = alerts(clinic.doctor.messages())
    text, markup = group_alert.text, group_alert.reply_markup
    seen_by_patient = len(patient.messages())

    # A member of the care-team group who is not a provider presses the alert's real button.
    in_group = stranger.in_group(clinic.group)
    query = in_group.press(group_alert, t("button_decide_hold"))["callback_query"]["id"]
    await eventually(lambda: core.callback_answer(query) is not None, what="the group toast")
    assert core.callback_answer(query)["text"] == t("toast_not_provider")  # type: ignore[index]

    # The same decision forged from private chats: the stranger's own, and the patient's.
    for intruder in (stranger, patient):
        data = alert.button_data(t("button_decide_continue"))
        query = intruder.forge_press(alert.message_id, data)["callback_query"]["id"]
        await eventually(lambda q=query: core.callback_answer(q) is not None, what="the toast")
        assert core.callback_answer(query)["text"] == t("toast_not_provider")  # type: ignore[index]

    # The stranger replies to the alert in the group: nothing goes to the patient.
    before = state(clinic.group.messages)
    sent = in_group.reply(group_alert, "Double your dose tonight.")
    await changed(clinic.group.messages, before, sent, "the group's answer")
    assert clinic.group.last().text == t("relay_refused")

    # And the stranger cannot invite in a private chat.
    assert (await say(stranger, "/invite XY-9 0.5")).text == t("not_provider")

    await asyncio.sleep(1)  # a dispatcher round, in case anything was queued
    [escalation] = await escalations(db)
    assert (escalation.status, escalation.decision, escalation.decided_by) == ("open", None, None)
    assert escalation.acknowledged_by is None
    assert await audit(db) == []
    async with db.session() as session:
        row = await Repository(session).patients.by_user(patient.id)
        assert row is not None and row.withheld_at is not None  # still withheld: nobody decided
    assert len(patient.messages()) == seen_by_patient
    assert (group_alert.text, group_alert.reply_markup) == (text, markup)
    assert not group_alert.edited and not alert.edited
    assert stranger.messages()[-1].text == t("not_provider")
    async with db.session() as session:
        labels = (await session.execute(select(Invite.label))).scalars().all()
    assert labels == [LABEL]
