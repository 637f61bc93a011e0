"""Latencies measured end to end, printed at the end of the run (they are figures, not verdicts)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from storage.db import Database
from tests.support.updates import Updates

LATENCIES = pytest.StashKey[list[tuple[str, str, float]]]()


@pytest.fixture
def latency(
    request: pytest.FixtureRequest, record_property: Callable[[str, object], None]
) -> Callable[[str, float], None]:
    """Record how long something took, in seconds, for the run's summary and the JUnit report."""

    def record(what: str, seconds: float) -> None:
        request.config.stash.setdefault(LATENCIES, []).append((request.node.name, what, seconds))
        record_property(f"latency: {what}", f"{seconds:.3f} s")

    return record


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    measured = config.stash.get(LATENCIES, [])
    if not measured:
        return
    terminalreporter.section("latency, end to end (fake Telegram's own clock)")
    shown = None
    for test, what, seconds in measured:
        if test != shown:
            terminalreporter.write_line(test)
            shown = test
        terminalreporter.write_line(f"{seconds * 1000:8.0f} ms  {what}")


@pytest.fixture(autouse=True)
async def bots_updates(database_url: str) -> AsyncIterator[None]:
    """Let `handled` read which updates the bot has handled, in this test's database."""
    Updates.db = Database(database_url)
    try:
        yield
    finally:
        await Updates.db.dispose()
        Updates.db = None
