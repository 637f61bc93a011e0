"""The issue 11 benchmarks, each run tiny: they run, and what they count is right (no timing)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.harness import TEST_DATABASE_URL

REPO = Path(__file__).resolve().parents[2]


def bench(script: str, *arguments: str) -> dict[str, Any]:
    """Run `python -m bench.<script> --json` (on PostgreSQL too when the tests are) and parse it."""
    database = ["--database-url", TEST_DATABASE_URL] if TEST_DATABASE_URL else []
    done = subprocess.run(
        [sys.executable, "-m", f"bench.{script}", *arguments, *database, "--json"],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_p1_sends_every_reminder_once_through_ours_and_the_bare_sender() -> None:
    result = bench("p1_dispatch", "--reminders", "20", "--pairs", "2")
    backends = ["sqlite", "postgresql"] if TEST_DATABASE_URL else ["sqlite"]
    assert list(dict.fromkeys(r["backend"] for r in result["rows"])) == backends
    bare, ours = "bare PTB, 1 at a time", "ours (build_application + Dispatcher)"
    for backend in backends:
        rows = [r for r in result["rows"] if r["backend"] == backend]
        *runs, median = rows
        assert [r["sender"] for r in runs] == [bare, ours, bare, ours] + [
            "bare PTB, 8 at a time",
            "bare PTB on our transport, 1 at a time",
        ]
        for row in runs:
            assert row["sent"] == 20
            assert row["per_s"] > 0 and row["cpu_ms_each"] > 0 and row["ratio"] > 0
            if row["sender"] == ours:
                assert row["chats"] == 20 and row["sql_each"] > 0
        # Each pair's ratio is ours over the bare sender run just before it; the figure, their
        # median (of two: their mean).
        pairs = [(runs[i], runs[i + 1]) for i in (0, 2)]
        for first, then in pairs:
            assert then["ratio"] == pytest.approx(then["per_s"] / first["per_s"])
        assert median["sender"] == "ours, median of 2 pairs"
        assert median["ratio"] == pytest.approx(sum(then["ratio"] for _, then in pairs) / 2)


def test_p2_delivers_each_reminder_once_and_every_red_flag_reaches_the_care_team() -> None:
    result = bench("p2_burst", "--reminders", "50", "--spread", "0", "--dispatch-interval", "1")
    assert (result["delivered"], result["duplicates"], result["missing"]) == (50, 0, 0)
    assert result["sends"] == 50 and isinstance(result["http_429"], int)
    assert len(result["alert_s"]) == 3 and None not in result["alert_s"]
    assert result["exit"] == 0


def test_p3_seeds_the_patients_and_measures_the_bot_starting() -> None:
    result = bench("p3_rest", "--patients", "200", "--repeat", "3", "--settle", "0.5")
    assert [r["patients"] for r in result["rounds"]] == [200]
    assert result["rounds"][0]["round_ms"] > 0
    assert result["start_s"] > 0 and result["rss_mb"] > 0 and result["exit"] == 0


def test_p4_answers_every_message_of_ours_and_of_the_echo_bot() -> None:
    result = bench("p4_taps", "--patients", "5", "--rates", "5", "--seconds", "1", "--burst", "10")
    bots = [r["bot"] for r in result["rows"]]
    assert bots == ["bare PTB echo", "ours", "ours, 10 reminders due"]
    for row in result["rows"]:
        assert (row["typed"], row["answered"]) == (5, 5)
        assert row["p99_ms"] >= row["p50_ms"] > 0
    assert result["rows"][2]["reminders_meanwhile"] > 0


def test_gc_pause_times_a_started_bot_with_its_start_up_set_aside_and_without() -> None:
    result = bench("gc_pause", "--repeat", "2")
    backends = ["sqlite", "postgresql"] if TEST_DATABASE_URL else ["sqlite"]
    assert [r["backend"] for r in result["rows"]] == backends
    for row in result["rows"]:
        # A started bot holds tens of thousands of objects; set aside, a walk finds almost none.
        assert row["walked"] > 10_000 and row["set_aside"] > 10_000
        assert row["walked_after"] < row["walked"] // 100
        assert row["full_ms"] > 0 and row["set_aside_ms"] >= 0
