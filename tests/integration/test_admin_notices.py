"""Admins hear of failed alerts: their notices are outbox rows, retried, folded, logged last."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.ui.texts import t
from devtools.simulation import Simulation
from storage.models import AdminNotice, AlertMessage
from tests.integration.test_care_loop import PATIENT, alerts, enroll, invite, settle
from tests.support.harness import ADMIN, DOCTOR, NURSE

OPIOIDS = "they gave me oxycodone at the dentist"


async def notices(care: Simulation) -> list[AdminNotice]:
    async with care.services.db.session() as session:
        rows = await session.execute(select(AdminNotice).order_by(AdminNotice.id))
        return list(rows.scalars())


async def failures(care: Simulation, chat_id: int) -> int:
    async with care.services.db.session() as session:
        rows = await session.execute(select(AlertMessage).where(AlertMessage.chat_id == chat_id))
        return sum(row.failures for row in rows.scalars())


async def test_alerts_failing_through_an_outage_reach_every_admin_once_telegram_returns(
    care: Simulation, caplog: pytest.LogCaptureFixture
) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care), first_dose_taken=True)
    # The patient's words still come in; nothing the bot sends gets out.
    care.telegram.outage(502, spare=("getUpdates",))
    caplog.set_level(logging.INFO)

    await care.say(user, OPIOIDS)  # the alert is stored; every send of it fails
    await settle(care, 12)
    care.telegram.outage(None)
    await settle(care, 6)  # at most the longest backoff

    for chat in (DOCTOR, NURSE):
        assert len(alerts(care, chat)) == 1  # the alert itself, once Telegram answers
    admin = [m for m in care.telegram.messages(ADMIN) if m.text and m.text.startswith("⚠️")]
    # One message per failing chat, folded: the count of failed tries, not one message each.
    assert len(admin) == 2
    rows = {n.kind: n for n in await notices(care)}
    for chat in (DOCTOR, NURSE):
        count, row = await failures(care, chat), rows[f"delivery:{chat}"]
        assert count > 5
        expected = t(
            "admin_delivery_failing",
            chat=chat,
            count=count,
            since=f"{row.created_at:%H:%M} UTC",
            id=1,
            tier="urgent",
            error="Bad Gateway",
        )
        assert [m.text for m in admin if f"chat {chat}:" in (m.text or "")] == [expected]
        # It names chats and alerts, never the patient or their words.
        assert "oxycodone" not in expected and "AB-1" not in expected
    assert all(n.next_action_at is None and n.attempts == 0 for n in rows.values())
    # While even the admins could not be told, the log said so: once per notice, as an error.
    untold = [r for r in caplog.records if r.levelno == logging.ERROR and "not told" in r.message]
    assert len(untold) == 2
    assert all("oxycodone" not in r.getMessage() for r in caplog.records)


async def test_a_notice_meeting_a_flood_limit_waits_its_retry_after_then_arrives(
    care: Simulation,
) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care), first_dose_taken=True)
    care.telegram.fail("sendMessage", status=403, chat_id=NURSE, times=50)  # never opened the bot
    care.telegram.fail("sendMessage", status=429, retry_after=40, chat_id=ADMIN)

    await care.say(user, OPIOIDS)
    assert [m for m in care.telegram.messages(ADMIN) if m.text and "⚠️" in m.text] == []
    [notice] = await notices(care)
    assert notice.next_action_at is not None
    assert notice.next_action_at - care.clock.now() >= timedelta(seconds=40)

    await settle(care, 1)
    [message] = [m for m in care.telegram.messages(ADMIN) if m.text and "⚠️" in m.text]
    assert f"chat {NURSE}" in (message.text or "")
