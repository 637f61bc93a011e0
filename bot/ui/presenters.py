"""How the care team reads things: labels, names, reasons, ages, and replies cut to fit.

Shared by the caseload views, the alerts and the patient's own export; pure formatting from the
provider texts catalog (`bot/ui/texts_provider.py`), nothing read or written.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from bot.rules.findings import Tier
from bot.rules.redflags import scan
from bot.rules.states import ReportKind
from bot.ui import messages
from bot.ui.texts_provider import PROVIDER_TEXTS
from storage.models import Patient, Report

LIMIT = 4096  # Telegram's longest message, in UTF-16 code units (an emoji such as 🚨 is two)
# Reason codes that carry what they are about after a prefix, tried longest first.
PREFIXES = ("worse_two_grades_", "moderate_twice_", "screening_", "expected_", "lasting_",
            "severe_", "words_", "flag_")  # fmt: skip


def provider_text(key: str, **kw: object) -> str:
    """A sentence of the care team's views, from the provider texts catalog."""
    return PROVIDER_TEXTS[key].format(**kw)


_t = provider_text


def percent(value: int | None) -> str:
    return _t("cl_none") if value is None else f"{value}%"


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _cut(text: str, limit: int) -> tuple[str, str]:
    """The longest start of `text` within `limit` units, and the rest."""
    used = 0
    for i, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            return text[:i], text[i:]
    return text, ""


def split(blocks: Iterable[str], limit: int = LIMIT) -> list[str]:
    """Pack blocks, one per line, into as few messages as fit Telegram's limit, in order."""
    chunks: list[str] = []
    current = ""
    for block in blocks:
        while _units(block) > limit:  # only a patient's very long words: cut, never drop
            if current:
                chunks.append(current)
                current = ""
            head, block = _cut(block, limit)
            chunks.append(head)
        if current and _units(current) + 1 + _units(block) > limit:
            chunks.append(current)
            current = block
        else:
            current = f"{current}\n{block}" if current else block
    return [*chunks, current] if current else chunks


def who(names: dict[int, str], user_id: int | None) -> str:
    """A member of the care team by the name Telegram gave us, else by their user id."""
    if user_id is None:
        return _t("cl_someone")
    return names.get(user_id) or _t("cl_provider_id", id=user_id)


def label_of(patient: Patient) -> str:
    return patient.label or f"#{patient.id}"


def word(key: str, fallback: str) -> str:
    """A catalog word, or the code itself when the catalog has none (a code newer than us)."""
    return PROVIDER_TEXTS.get(key, fallback)


def subject_word(code: str) -> str:
    return word(f"cl_effect_{code}", word(f"cl_subject_{code}", code.replace("_", " ")))


def reason_text(code: str, subject: str | None = None) -> str:
    """A reason code as a provider reads it; an unknown code is shown as it is."""
    if f"cl_reason_{code}" in PROVIDER_TEXTS:
        return _t(f"cl_reason_{code}")
    for prefix in PREFIXES:
        if code.startswith(prefix):
            key = f"cl_reason_{prefix.rstrip('_')}"
            return _t(key, subject=subject_word(subject or code.removeprefix(prefix)))
    return code


def age(elapsed: timedelta) -> str:
    minutes = int(elapsed.total_seconds() // 60)
    if minutes < 1:
        return _t("cl_age_now")
    if minutes < 60:
        return _t("cl_age_minutes", n=minutes)
    if minutes < 48 * 60:
        return _t("cl_age_hours", n=minutes // 60)
    return _t("cl_age_days", n=minutes // (24 * 60))


def tier_word(tier: str | None) -> str:
    return word(f"cl_tier_{tier}", tier or _t("cl_none"))


def report_findings(report: Report, *, typed: bool = False) -> list[str]:
    """What a completed report found, for a provider: never "nothing" about words it holds.

    Grades, red flags and thyroid signs as answered; red flags in the patient's words as the
    scan finds them now; a message with none shows as a message. `typed` says when words were
    added to a check-in (the views that show the words themselves leave it out).
    """
    answers: dict[str, Any] = report.answers or {}
    found = []
    for effect, grade in (answers.get("grades") or {}).items():
        key = f"cl_grade_{grade}"
        if key in PROVIDER_TEXTS:  # none (0) is left out
            found.append(f"{subject_word(effect)} {_t(key)}")
    if flags := answers.get("flags"):
        found.append(_t("cl_report_flags", flags=", ".join(subject_word(f) for f in flags)))
    if signs := answers.get("thyroid"):
        found.append(_t("cl_report_thyroid", signs=", ".join(subject_word(s) for s in signs)))
    words = (report.words or "").strip()
    in_words = scan(words) if words else ()
    said = [subject_word(f.effect) for f in in_words if f.tier >= Tier.ROUTINE and f.effect]
    if said:
        found.append(_t("cl_report_said", subjects=", ".join(dict.fromkeys(said))))
    elif report.kind == ReportKind.MESSAGE:
        found.append(_t("cl_report_message"))
    elif words and typed:
        found.append(_t("cl_report_typed"))
    return found or [_t("cl_report_nothing")]


def report_lines(report: Report, today: date) -> list[str]:
    when = report.completed_at.date() if report.completed_at else report.night
    line = _t(
        "cl_report_line",
        date=messages.day(when, today),
        mg=messages.mg(report.dose_mg) if report.dose_mg is not None else _t("cl_none"),
        tier=tier_word(report.tier),
        findings="; ".join(report_findings(report)),
    )
    words = (report.words or "").strip()
    return [line, _t("cl_report_words", words=words)] if words else [line]
