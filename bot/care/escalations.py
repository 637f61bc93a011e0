"""Escalations as records: what makes one.

Storing comes first, always: an escalation is a row before it is a message, so nothing concerning
is lost to a crash or a failed send. Delivery is `bot/care/alerts.py`'s job; how reasons read to a
provider is `bot/care/caseload.py`'s.

Alerts are grouped per patient: a finding about a patient whose alert nobody has acknowledged yet
is folded into it (its reasons and words grow, the providers' copies say "New: ..."), unless the
finding is of a higher tier, or calls for a stronger stop (withhold over hold), which need their
own alert: a decision taken on what a provider read must never lift a stop raised after they read
it. One patient typing the same red flag 30 times gives the care team one alert, not 30.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.rules.findings import Finding, Stop, Tier
from bot.rules.states import EscalationStatus, StopCode, TierCode
from bot.rules.triage import Triage
from storage.models import Escalation, Patient
from storage.repositories import Repository


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
    reasons = [[f.reason, f.effect] for f in alerting]
    open_ = await fold_target(repo, patient, findings.tier, stop, reasons)
    if open_ is not None:
        fold(open_, reasons, words, now)
        return open_
    escalation = _new(
        patient,
        now,
        tier=TierCode.of(findings.tier),
        reasons=reasons,
        words=words,
        report_id=report_id,
        stop=StopCode.of(stop),
    )
    await repo.add(escalation)
    return escalation


async def fold_target(
    repo: Repository, patient: Patient, tier: Tier, stop: Stop, reasons: list[Any]
) -> Escalation | None:
    """The patient's newest unacknowledged alert of this tier and stop or higher, to fold into.

    An acknowledged alert is never a target: it is not sent again, and an edit rings no phone,
    so a finding folded into it would reach nobody. A finding that stops LDN for a reason the
    alert does not have yet needs its own alert: a decision on the alert a provider read would
    otherwise lift the stop for a reason they may never have seen.
    """
    for escalation in reversed(await repo.escalations.open_of(patient.id)):
        if escalation.status != EscalationStatus.OPEN:
            continue
        if stop is not Stop.NONE and any(r not in escalation.reasons for r in reasons):
            continue
        told = StopCode(escalation.stop).stop if escalation.stop else Stop.NONE
        if TierCode(escalation.tier).tier >= tier and told >= stop:
            return escalation
    return None


def fold(escalation: Escalation, reasons: list[Any], words: str | None, now: datetime) -> None:
    """Add a later finding to an open alert: its reasons, and every word kept."""
    escalation.reasons = escalation.reasons + [r for r in reasons if r not in escalation.reasons]
    if words:
        escalation.words = f"{escalation.words}\n\n{words}" if escalation.words else words
    escalation.folded = (escalation.folded or 0) + 1
    escalation.folded_at = now
    escalation.latest = {"reasons": reasons, "words": words}


async def store_message(
    repo: Repository, patient: Patient, now: datetime, *, reasons: list[Any], words: str | None
) -> Escalation:
    """Record a patient's own message for the care team: its own kind, not an alert, no stop."""
    escalation = _new(patient, now, tier=TierCode.MESSAGE, reasons=reasons, words=words)
    await repo.add(escalation)
    return escalation


def _new(
    patient: Patient,
    now: datetime,
    *,
    tier: TierCode,
    reasons: list[Any],
    words: str | None,
    report_id: int | None = None,
    stop: StopCode | None = None,
) -> Escalation:
    """An escalation row, open and due for delivery now."""
    return Escalation(
        patient_id=patient.id,
        report_id=report_id,
        tier=tier,
        reasons=reasons,
        words=words,
        status=EscalationStatus.OPEN,
        created_at=now,
        next_action_at=now,
        rounds=0,
        attempts=0,
        stop=stop,
        folded=0,
    )
