"""Escalations as records: what makes one.

Storing comes first, always: an escalation is a row before it is a message, so nothing concerning
is lost to a crash or a failed send. Delivery is `bot/alerts.py`'s job; how reasons read to a
provider is `bot/caseload.py`'s.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.triage import Finding, Stop, Tier, Triage
from storage.models import Escalation, Patient
from storage.repositories import Repository

# The tier of a patient's own message passed on to the care team: its own kind, never an alert.
MESSAGE = "message"


async def store(
    repo: Repository,
    patient: Patient,
    findings: Triage | Finding,
    now: datetime,
    *,
    words: str | None = None,
    report_id: int | None = None,
    stop: Stop = Stop.NONE,
) -> Escalation | None:
    """Record an escalation for the care team, due for delivery now; None when nothing alerts.

    `stop` is what the patient was told to do meanwhile, for the alert to say.
    """
    if isinstance(findings, Finding):
        findings = Triage(findings.tier, (findings,), ())
    alerting = [f for f in findings.findings if f.tier >= Tier.ROUTINE]
    if not alerting:
        return None
    escalation = _new(
        patient,
        now,
        tier=findings.tier.name.lower(),
        reasons=[[f.reason, f.effect] for f in alerting],
        words=words,
        report_id=report_id,
        stop=None if stop is Stop.NONE else stop.name.lower(),
    )
    await repo.add(escalation)
    return escalation


async def store_message(
    repo: Repository, patient: Patient, now: datetime, *, reasons: list[Any], words: str | None
) -> Escalation:
    """Record a patient's own message for the care team: its own kind, not an alert, no stop."""
    escalation = _new(patient, now, tier=MESSAGE, reasons=reasons, words=words)
    await repo.add(escalation)
    return escalation


def _new(
    patient: Patient,
    now: datetime,
    *,
    tier: str,
    reasons: list[Any],
    words: str | None,
    report_id: int | None = None,
    stop: str | None = None,
) -> Escalation:
    """An escalation row, open and due for delivery now."""
    return Escalation(
        patient_id=patient.id,
        report_id=report_id,
        tier=tier,
        reasons=reasons,
        words=words,
        status="open",
        created_at=now,
        next_action_at=now,
        rounds=0,
        attempts=0,
        stop=stop,
    )
