"""Audit: what the care team did about a patient, one entry per action, and the names the providers
go by on Telegram, kept so that the entries and the caseload can say who.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select

from storage.models import AuditEntry, CareTeamMember
from storage.repositories.base import Aggregate


class Audit(Aggregate):
    """The audit trail and the care team's names."""

    async def record(
        self,
        patient_id: int,
        actor: int,
        at: datetime,
        action: str,
        detail: dict,
        escalation_id: int | None = None,
    ) -> AuditEntry:
        entry = AuditEntry(
            patient_id=patient_id,
            escalation_id=escalation_id,
            actor_user_id=actor,
            at=at,
            action=action,
            detail=detail,
        )
        await self._add(entry)
        return entry

    async def remember_name(self, user_id: int, name: str, now: datetime) -> bool:
        """Keep the name a provider goes by on Telegram; whether it was new or changed."""
        row = await self.session.get(CareTeamMember, user_id)
        if row is None:
            await self._add(CareTeamMember(user_id=user_id, name=name, seen_at=now))
        elif row.name != name:
            row.name, row.seen_at = name, now
        else:
            return False
        return True

    async def names(self, user_ids: Sequence[int | None]) -> dict[int, str]:
        """user id -> name, for the ids whose names are known."""
        wanted = {i for i in user_ids if i is not None}
        if not wanted:
            return {}
        result = await self.session.execute(
            select(CareTeamMember.user_id, CareTeamMember.name).where(
                CareTeamMember.user_id.in_(wanted)
            )
        )
        return dict(result.tuples().all())
