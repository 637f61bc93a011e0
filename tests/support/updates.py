"""Waiting on the real process's own record of what it has handled, not on a quiet period.

The bot marks each update handled in its database once the handler returned, so every answer
the handler sent is out by then (`bot/delivery/intake.py`). The e2e tests wait for that mark.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from storage.db import Database
from storage.models import ReceivedUpdate


class Updates:
    """The database the bot under test keeps its updates in (set per test by tests/e2e)."""

    db: Database | None = None


async def handled(update: dict, seconds: float = 60.0, what: str = "") -> None:
    """Wait, bounded, until the bot has handled `update` (a fake user's send or press)."""
    db = Updates.db
    assert db is not None, "no bot database to watch: the e2e conftest sets it"
    update_id = update["update_id"]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        async with db.session() as session:
            at = await session.scalar(
                select(ReceivedUpdate.handled_at).where(ReceivedUpdate.update_id == update_id)
            )
        if at is not None:
            return
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for the bot to handle {what or update_id}")
        await asyncio.sleep(0.05)
