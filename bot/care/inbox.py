"""Words out of the blue: every word a patient sends reaches a person.

What the bot does not take as an answer (free text, voice notes and photos, edits of earlier
messages, replies to the care team) goes to the care team as a *message*: its own kind, not an
alert, so nothing is held or stopped, delivered the moment it is stored (the dispatcher retries).
Red flags in those words are raised as concerns instead (`bot/care/concerns.py`). Only a short,
exact list of chit-chat gets a kind answer and stays here. Words the bot did not understand are
never answered with reassurance: the patient hears that a person will read them, and the emergency
number.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from bot.app.clock import Clock
from bot.app.settings import Settings
from bot.care import escalations
from bot.care.alerts import Alerts
from bot.care.checkins import Checkins
from bot.care.concerns import Concerns
from bot.care.onboarding import Conversation
from bot.care.reminders import Reminders, zone_of
from bot.delivery.notifier import MaybeSent, Notifier, TryLater, Unreachable
from bot.rules.findings import CRISIS, Finding, Tier
from bot.rules.parsing import match_timezone, parse_bedtime, parse_start_date
from bot.rules.redflags import scan
from bot.rules.states import Awaiting, ReportKind, ReportStatus, TierCode
from bot.rules.timing import local_today
from bot.rules.triage import WITHHOLD_CODES, Triage
from bot.ui.inbox_view import MEDIA, Parts, from_care_team, parts_of, reasons
from bot.ui.render import render
from bot.ui.views import Lines, Said, Say
from storage.db import DATABASE_DOWN, Database
from storage.models import Escalation, Patient, Report
from storage.repositories import Repository

log = logging.getLogger(__name__)

WORDS_KEPT = 2000  # of a patient's words, stored
# Red-flag words not stored within this many seconds get their emergency answer first, from memory.
FIRST_AID_AFTER = 2.0
ADMINS_TOLD_EVERY = 600.0  # seconds between two direct notices to the admins of a database failure

# Ordinary chit-chat, matched on the whole message once normalised: a short, kind answer and
# nothing forwarded. Kept small and exact on purpose: anything more goes to a person.
CHIT_CHAT: dict[str, str] = {
    "thanks": "inbox_chat_thanks",
    "thank you": "inbox_chat_thanks",
    "ok": "inbox_chat_ok",
    "okay": "inbox_chat_ok",
    "👍": "inbox_chat_ok",
    "hello": "inbox_chat_hello",
    "hi": "inbox_chat_hello",
    "good night": "inbox_chat_night",
}
# Typed after a command, these only ask nicely for its answer ("/today please"): nothing to pass on.
COURTESY = frozenset({"please", "pls", "plz"})

# The questions answered by typing, each with the reader that takes its answer.
_TIME_STEPS = frozenset({Awaiting.BEDTIME, Awaiting.SET_BEDTIME, Awaiting.SET_MORNING})
_ZONE_STEPS = frozenset(
    {Awaiting.ZONE, Awaiting.SET_ZONE, Awaiting.ZONE_CONFIRM, Awaiting.SET_ZONE_CONFIRM}
)
_DATE_STEPS = frozenset({Awaiting.START})


@dataclass(frozen=True)
class Incoming:
    """A message from someone in a private chat with the bot, as the inbox reads it."""

    user_id: int
    message_id: int
    kind: str  # "text", one of MEDIA, or anything else Telegram carries ("sticker", ...)
    text: str | None = None  # the text, or a media's caption
    edited: bool = False
    replying_to: str | None = None  # the text of the bot's message it replies to, if any
    after_command: bool = False  # typed after a patient's command ("/today I had a seizure")


# The rules


def normalise(text: str) -> str:
    """Lower case, single spaces, no emoji variation selector, no closing punctuation."""
    text = text.replace("\ufe0f", "").casefold()
    return re.sub(r"\s+", " ", text).strip().rstrip(".!?,;: ").strip()


def chit_chat(text: str) -> str | None:
    """The key of the kind answer to ordinary chit-chat; None for anything else."""
    return CHIT_CHAT.get(normalise(text))


def courtesy(text: str) -> bool:
    """Whether words typed after a command add nothing but manners: chit-chat or a please."""
    return chit_chat(text) is not None or normalise(text) in COURTESY


def attempt(text: str) -> bool:
    """Whether typed words look like a try at a question's answer: one word, or a figure.

    "10.3o" or "Atlntis" is answered by the question itself ("I couldn't read that"); a sentence
    it cannot read is words for a person.
    """
    return len(text.split()) <= 1 or any(c.isdigit() for c in text)


def reads_as_answer(step: str, text: str, today: date) -> bool:
    """Whether the question being asked reads `text` as its answer."""
    if step in _TIME_STEPS:
        return parse_bedtime(text) is not None
    if step in _ZONE_STEPS:
        return bool(match_timezone(text))
    if step in _DATE_STEPS:
        return parse_start_date(text, today) is not None
    return False  # a question answered with buttons only


def answers_care_team(replying_to: str | None) -> bool:
    """Whether the message the patient replies to is one their care team wrote."""
    return from_care_team(replying_to)


def kind_of(incoming: Incoming) -> str:
    """What a message is, for the care team: a text, an edit, a reply, or a media's kind."""
    if incoming.kind in MEDIA:
        return incoming.kind
    if incoming.edited:
        return "edited"
    return "reply" if answers_care_team(incoming.replying_to) else "text"


class Inbox:
    """Read what patients send out of the blue, and make sure a person reads it too."""

    def __init__(
        self,
        db: Database,
        notifier: Notifier,
        clock: Clock,
        settings: Settings,
        reminders: Reminders,
        checkins: Checkins,
        conversation: Conversation,
        concerns: Concerns,
        alerts: Alerts,
    ) -> None:
        self.db = db
        self.notifier = notifier
        self.clock = clock
        self.settings = settings
        self.reminders = reminders
        self.checkins = checkins
        self.conversation = conversation
        self.concerns = concerns
        self.alerts = alerts
        self._kept: list[Incoming] = []  # red-flag words the database could not take yet
        self._admins_told_at: float | None = None

    async def receive(self, incoming: Incoming) -> list[Said]:
        """Answer one message; what is not an answer goes to the care team.

        What to answer is returned as data (`bot.ui.views`): the handlers put it into words.

        Red flags are looked for first, without the database: an emergency is answered even when
        the database is down or slow, and the words are then kept in memory until it is back.
        """
        text = (incoming.text or "").strip()
        found = scan(text) if text else ()
        if not found:
            return await self._receive(incoming)
        answering = asyncio.ensure_future(self._receive(incoming))
        aided = False
        try:
            await asyncio.wait({answering}, timeout=FIRST_AID_AFTER)
            if not answering.done() and _urgent_now(found):
                await self._send(incoming.user_id, self._first_aid(found))
                aided = True
            return await answering
        except DATABASE_DOWN as exc:
            return await self._keep(incoming, found, exc, aided)

    async def _receive(self, incoming: Incoming) -> list[Said]:
        """One message, one unit of work: one session, and one commit where anything is stored.

        The check-in's last answer is the check-in's own unit of work (`Checkins.words`): the
        inbox only looks at who wrote, and hands the words over before it writes anything.
        """
        async with self.db.session() as session:
            repo = Repository(session)
            patient = await repo.patients.by_user(incoming.user_id)
            if not _checkin_words(incoming, patient):
                return await self._route(repo, patient, incoming)
        replies = await self.checkins.words(incoming.user_id, incoming.text or "")
        if replies is not None:
            return replies
        # The check-in that asked is gone: the words are read as any other message, afresh.
        async with self.db.session() as session:
            repo = Repository(session)
            patient = await repo.patients.by_user(incoming.user_id)
            return await self._route(repo, patient, incoming)

    async def _route(
        self, repo: Repository, patient: Patient | None, incoming: Incoming
    ) -> list[Said]:
        if incoming.after_command:
            return await self._after_command(repo, patient, incoming)
        if incoming.edited:
            return await self._edited(repo, patient, incoming)
        if incoming.kind != "text":
            return await self._media(repo, patient, incoming)
        return await self._text(repo, patient, incoming)

    # Typed words

    async def _text(
        self, repo: Repository, patient: Patient | None, incoming: Incoming
    ) -> list[Said]:
        """The order a typed message is tried in: it is a rule, and this is it.

        The check-in's last answer (sorted with the check-in, see `_receive`); red flags, before
        any question's answer, so that an emergency is answered at once, even to a stranger; a
        reply to the care team; the answer to the question being asked; the care team's own
        help; chit-chat; and whatever is left goes to a person.
        """
        text, user_id = incoming.text or "", incoming.user_id
        raised = await self._red_flags(repo, patient, incoming, text)
        if raised is not None:
            return raised
        if patient is None:
            if self._care_team(user_id):
                return [Say("provider_help")]
            return [Say("not_understood", clinic=True)]
        if answers_care_team(incoming.replying_to):
            return await self._forward(repo, patient, incoming) + self._question(patient)
        step = patient.awaiting
        if step is not None:
            if reads_as_answer(step, text.strip(), self._today(patient)) or attempt(text):
                answered = await self.conversation.answer(repo, patient, text)
                await repo.commit()
                return [*answered]
            # A sentence at a question is not its answer: it goes to a person, and the question
            # is asked again.
        chat = chit_chat(text)
        replies = [Say(chat)] if chat else await self._forward(repo, patient, incoming)
        return replies + self._question(patient)

    async def _edited(
        self, repo: Repository, patient: Patient | None, incoming: Incoming
    ) -> list[Said]:
        """An edit is never an answer (no question runs again): only words for a person."""
        text = (incoming.text or "").strip()
        if not text:
            return []
        raised = await self._red_flags(repo, patient, incoming, text)
        if raised is not None:
            return raised
        if chit_chat(text) or patient is None:
            return []
        return await self._forward(repo, patient, incoming) + self._question(patient)

    async def _after_command(
        self, repo: Repository, patient: Patient | None, incoming: Incoming
    ) -> list[Said]:
        """Words typed after a command: read like any words, never as an answer, never lost.

        The command answers as well, after these replies: an emergency is answered first, and
        /today then already says that LDN is withheld. No question is asked again in between.
        The care team's own words after a patient's command are theirs: nothing to do.
        """
        text = (incoming.text or "").strip()
        if not text or self._care_team(incoming.user_id):
            return []
        raised = await self._red_flags(repo, patient, incoming, text, ask_again=False)
        if raised is not None:
            return raised
        if courtesy(text) or patient is None:
            return []
        return await self._forward(repo, patient, incoming)

    async def _media(
        self, repo: Repository, patient: Patient | None, incoming: Incoming
    ) -> list[Said]:
        """Voice notes, photos, videos and files go to the care team; stickers and such don't."""
        if patient is None:
            return [Say("not_text")]
        replies: list[Said] = []
        if incoming.kind in MEDIA:
            caption = (incoming.text or "").strip()
            # Two commits: the concern in the caption is committed (and on its way) first, so the
            # stop it applies never waits on, nor is lost with, the message stored after it.
            raised = (
                await self._red_flags(repo, patient, incoming, caption, ask_again=False)
                if caption
                else None
            )
            forwarded = await self._forward(repo, patient, incoming)
            replies = raised if raised is not None else forwarded
        else:
            replies = [Say("inbox_not_passed_on")]
        return replies + self._question(patient)

    # Red flags

    async def first_aid(self, payload: dict[str, Any]) -> None:
        """Answer an emergency in an update the database could not take (the intake's hook)."""
        message = payload.get("message") or payload.get("edited_message") or {}
        chat = message.get("chat") or {}
        text = message.get("text") or message.get("caption") or ""
        found = scan(text) if chat.get("type") == "private" and text.strip() else ()
        if _urgent_now(found):
            await self._send(chat["id"], self._stranger_emergency())
        elif _stops_ldn(found):
            # Not an emergency, but LDN must wait (opioids, liver signs...): that needs no database.
            unwell = Say("concern_unwell", {"emergency": self.settings.emergency_number})
            await self._send(chat["id"], Lines((Say("concern_withhold_kept"), unwell), "\n\n"))
        else:
            return  # anything else comes again from Telegram, and is answered then
        await self._tell_admins()

    async def _keep(
        self, incoming: Incoming, found: tuple[Finding, ...], exc: BaseException, aided: bool
    ) -> list[Said]:
        """The database failed: keep the words to store later, and say what to do now."""
        log.error(
            "Database failed (%s): red flags from user %s kept in memory, to be stored later",
            type(exc).__name__,
            incoming.user_id,
        )
        self._kept.append(incoming)
        await self._tell_admins()
        # First aid where there is some (`_urgent_now`), unless it was given already.
        first = _urgent_now(found) and not aided
        lines: list[Lines | Say] = [self._first_aid(found)] if first else []
        if _stops_ldn(found):
            lines.append(Say("concern_withhold_kept"))
        lines.append(Say("inbox_kept", clinic=True))  # or its `_no_team` variant
        if not any(f.tier is Tier.EMERGENCY for f in found):
            lines.append(Say("concern_unwell", {"emergency": self.settings.emergency_number}))
        return [Lines(tuple(lines), "\n\n")]

    @property
    def keeps_words(self) -> bool:
        """Red-flag words wait in memory for the database (`retry_kept`)."""
        return bool(self._kept)

    async def retry_kept(self) -> None:
        """Store words kept while the database was down as the usual concern; tell the patient."""
        while self._kept:
            incoming = self._kept[0]
            try:
                replies = await self._store_kept(incoming)
            except DATABASE_DOWN as exc:
                log.warning("Kept red flags still wait for the database (%s)", type(exc).__name__)
                return
            self._kept.pop(0)
            log.info("Red flags kept in memory from user %s are stored now", incoming.user_id)
            for said in replies or []:
                await self._send(incoming.user_id, said)

    def _first_aid(self, found: tuple[Finding, ...]) -> Lines:
        """The emergency number, and the crisis line where mood is concerned; no database."""
        lines = []
        if any(f.tier is Tier.EMERGENCY for f in found):
            lines.append(Say("concern_emergency", {"emergency": self.settings.emergency_number}))
        if any(f.effect in CRISIS for f in found):
            lines.append(Say("concern_crisis", {"crisis": self.settings.crisis_line}))
        return Lines(tuple(lines), "\n\n")

    async def _tell_admins(self) -> None:
        """Tell the admins straight away that the database failed (no outbox without it)."""
        now = asyncio.get_running_loop().time()
        if self._admins_told_at is not None and now - self._admins_told_at < ADMINS_TOLD_EVERY:
            return
        self._admins_told_at = now
        log.error("Database failed while a patient reported red flags: telling the admins")
        for admin in self.settings.admin_user_ids:
            await self._send(admin, Say("admin_database_down"))

    async def _send(self, chat_id: int, said: Said) -> None:
        """Send what is said, in words: the inbox's own messages, outside any handler."""
        try:
            for reply in render(said, self.settings):
                await self.notifier.send(chat_id, reply)
        except Exception as exc:
            log.error("Could not send to chat %s: %s", chat_id, type(exc).__name__)

    async def _store_kept(self, incoming: Incoming) -> list[Said] | None:
        """Kept red-flag words, stored now in a unit of work of their own."""
        async with self.db.session() as session:
            repo = Repository(session)
            patient = await repo.patients.by_user(incoming.user_id)
            return await self._red_flags(
                repo, patient, incoming, incoming.text or "", ask_again=False
            )

    async def _red_flags(
        self,
        repo: Repository,
        patient: Patient | None,
        incoming: Incoming,
        text: str,
        ask_again: bool = True,
    ) -> list[Said] | None:
        """Raise red flags in the words as a concern and say what to do now; None if none."""
        found = scan(text)
        if not found:
            return None
        if patient is None:
            # Someone the bot does not know still hears where to get help, at once; nobody
            # is alerted, and they are not told anyone was.
            if any(f.tier is Tier.EMERGENCY for f in found):
                return [self._stranger_emergency()]
            return None
        report = await self._report(repo, patient, found, text)
        result = Triage(max(f.tier for f in found), found, ())
        raised = await self.concerns.raise_(
            repo, patient, result, words=report.words, report_id=report.id
        )
        told = self.concerns.reply(raised, patient)
        # Committed at once, before anything else the message leads to: the concern and its stop
        # stand whatever follows, and the alert is a row before it is sent.
        await repo.commit()
        self.concerns.deliver_soon(raised)
        return [told, *(self._question(patient) if ask_again else [])]

    async def _report(
        self, repo: Repository, patient: Patient, found: tuple[Finding, ...], text: str
    ) -> Report:
        """Keep the words as a typed report, for the patient's history."""
        now = self.clock.now()
        info = self.reminders.current(patient) if patient.enrolled else None
        report = Report(
            patient_id=patient.id,
            kind=ReportKind.MESSAGE,
            status=ReportStatus.DONE,
            night=local_today(now, zone_of(patient)) if patient.timezone else now.date(),
            dose_mg=info.step.dose_mg if info else None,
            answers={},
            words=text.strip()[:WORDS_KEPT],
            tier=TierCode.of(max(f.tier for f in found)),
            attempts=0,
            created_at=now,
            sent_at=now,
            completed_at=now,
        )
        await repo.add(report)
        return report

    # Passing words on

    async def _forward(self, repo: Repository, patient: Patient, incoming: Incoming) -> list[Said]:
        """Store the message for the care team, deliver it now, and say so honestly."""
        kind = kind_of(incoming)
        now = self.clock.now()
        words = (incoming.text or "").strip()[:WORDS_KEPT] or None
        parts = Parts(
            kind=kind,
            source=incoming.message_id if kind in MEDIA else None,
            quote=incoming.replying_to if kind == "reply" else None,
        )
        escalation = await escalations.store_message(
            repo, patient, now, reasons=reasons(parts), words=words
        )
        # Stored and committed before it is sent: the dispatcher retries what is stored.
        await repo.commit()
        escalation_id = escalation.id
        log.info("Message %s (%s) from patient %s stored", escalation_id, kind, patient.id)
        self.alerts.deliver_soon(escalation_id)
        if not self.settings.has_care_team:
            # Nobody would read it: never claim otherwise.
            told = Say("inbox_nobody", clinic=True)
        else:
            told = Say("inbox_edit_passed_on" if kind == "edited" else "inbox_passed_on")
        emergency = Say(
            "inbox_emergency_line",
            {"emergency": self.settings.emergency_number, "crisis": self.settings.crisis_line},
        )
        return [Lines((told, emergency), "\n\n")]

    async def bring_media(self, escalation: Escalation, chat_id: int, header_id: int) -> None:
        """Copy a patient's voice note or photo under its header (the hook Alerts calls).

        A copy that cannot be made (the patient deleted it) leaves the header, which says what
        was sent; a copy that must wait fails the delivery, to be tried again with its header.
        """
        if escalation.tier != TierCode.MESSAGE:
            return
        source = parts_of(escalation).source
        if source is None:
            return
        try:
            await self.notifier.copy(chat_id, escalation.patient.chat_id, source, header_id)
        except (TryLater, MaybeSent, Unreachable):
            raise
        except Exception as exc:
            log.warning(
                "Message %s: no copy for chat %s: %s", escalation.id, chat_id, type(exc).__name__
            )

    # Helpers

    def _question(self, patient: Patient) -> list[Said]:
        """The question still waiting for an answer, asked again, if any."""
        if patient.awaiting is None:
            return []
        return [self.conversation.prompt(patient)]

    def _care_team(self, user_id: int) -> bool:
        return user_id in self.settings.provider_user_ids or user_id in self.settings.admin_user_ids

    def _today(self, patient: Patient) -> date:
        zone = zone_of(patient) if patient.timezone else ZoneInfo(self.settings.default_timezone)
        return local_today(self.clock.now(), zone)

    def _stranger_emergency(self) -> Say:
        return Say(
            "inbox_emergency_stranger",
            {"emergency": self.settings.emergency_number, "crisis": self.settings.crisis_line},
        )


def _checkin_words(incoming: Incoming, patient: Patient | None) -> bool:
    """Whether typed words answer the check-in's last question (its own unit of work)."""
    plain = incoming.kind == "text" and not incoming.edited and not incoming.after_command
    return plain and patient is not None and patient.awaiting == "checkin_words"


def _stops_ldn(found: tuple[Finding, ...]) -> bool:
    """Whether red flags withhold LDN whoever the patient is (`triage.WITHHOLD_CODES`)."""
    return any(f.tier is Tier.EMERGENCY or f.effect in WITHHOLD_CODES for f in found)


def _urgent_now(found: tuple[Finding, ...]) -> bool:
    """Whether red flags call for the emergency number or the crisis line at once."""
    return any(f.tier is Tier.EMERGENCY or f.effect in CRISIS for f in found)
