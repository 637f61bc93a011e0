"""What every aggregate's repository shares: the session of the unit of work that opened it.

An aggregate reads and writes its own tables over that session and never commits; the unit of
work (`storage.repositories.Repository`) does, for the use case.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession


class Aggregate:
    """One aggregate's queries and writes, over the unit of work's session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _add(self, row: object) -> None:
        self.session.add(row)
        await self.session.flush()
