"""The check-in's questions as the patient sees them: text and buttons, from its stored answers."""

from __future__ import annotations

import re
from datetime import date

from bot.rules.findings import Grade
from bot.rules.states import ReportKind
from bot.rules.triage import EFFECTS, FLAGS, THYROID
from bot.ui import callbacks, messages
from bot.ui.texts import t
from bot.ui.views import Button, Reply
from storage.models import Report


def asking(report: Report) -> str:
    """The question a check-in is waiting on: its stage, or the next effect to grade."""
    stage = report.answers.get("stage", "intro")
    if stage == "effect":
        graded = report.answers.get("grades", {})
        return next(effect for effect in EFFECTS if effect not in graded)
    return stage


def intro(report: Report, dose: str) -> Reply:
    """The check-in's first message: what it is about, Start or Not now."""
    increase = report.answers.get("increase_on")
    if report.kind == ReportKind.TOLERANCE and increase:
        text = t(
            "checkin_intro_tolerance",
            date=messages.day(date.fromisoformat(increase)),
            dose=dose,
        )
    elif report.kind == ReportKind.STEP_UP:
        text = t("checkin_intro_step_up", dose=dose)
    else:
        text = t("checkin_intro", dose=dose)
    return Reply(
        text,
        (
            (
                Button(t("button_checkin_start"), callbacks.checkin(report.id, "intro", "start")),
                Button(t("button_checkin_later"), callbacks.checkin(report.id, "intro", "later")),
            ),
        ),
    )


def question(report: Report, dose: str) -> Reply:
    """The question the check-in is at, with its buttons (a toggle list shows what is ticked)."""
    stage, rid = report.answers.get("stage"), report.id
    if stage == "intro":
        return intro(report, dose)
    if stage in ("flags", "thyroid"):
        chosen = report.answers.get(stage, [])
        codes, prefix = (FLAGS, "flag_") if stage == "flags" else (THYROID, "thyroid_")
        rows: list[tuple[Button, ...]] = [
            (
                Button(
                    ("☑️ " if code in chosen else "▫️ ") + t(prefix + code),
                    callbacks.checkin(rid, stage, code),
                ),
            )
            for code in codes
        ]
        done = Button(t("button_flags_done"), callbacks.checkin(rid, stage, "done"))
        # "None of these" beside a ticked sign would read as "take it back": only Done is left.
        none = Button(t("button_flags_none"), callbacks.checkin(rid, stage, "none"))
        rows.append((done,) if chosen else (none, done))
        return Reply(t("checkin_" + stage), tuple(rows))
    if stage == "effects":
        return Reply(
            t("checkin_effects"),
            (
                (
                    Button(t("button_effects_none"), callbacks.checkin(rid, "effects", "none")),
                    Button(t("button_effects_some"), callbacks.checkin(rid, "effects", "some")),
                ),
            ),
        )
    if stage == "effect":
        effect = asking(report)
        grades = tuple(
            Button(t(f"grade_{g.value}"), callbacks.checkin(rid, effect, str(g.value)))
            for g in Grade
        )
        return Reply(t("checkin_effect", effect=t("effect_" + effect)), (grades[:2], grades[2:]))
    return Reply(
        t("checkin_words"),
        ((Button(t("button_nothing_else"), callbacks.checkin(rid, "words", "none")),),),
    )


# Last words that plainly say there is nothing more to tell. Anything else, however ordinary it
# looks, is read by a person: the bot never answers words it did not fully understand with an
# all-clear. Compared after `_plain` and without a trailing "thanks" or a leading "no".
NOTHING_MORE = frozenset(
    {
        "no", "nope", "nah", "none", "nil", "na", "n a", "not really", "no nothing",
        "nothing", "nothing else", "nothing more", "nothing new", "nothing to add",
        "nothing to report", "no changes", "no issues", "no problems", "no complaints",
        "all good", "all fine", "all ok", "all okay", "all well", "all good so far",
        "so far so good", "good", "fine", "ok", "okay", "im good", "im fine", "im ok", "im okay",
        "i am good", "i am fine", "i am ok", "i am okay", "thats all", "thats it",
    }
)  # fmt: skip
_THANKS = ("thanks", "thank you", "thank u", "thx", "ty", "cheers")
_NO = ("no", "nope", "nah")


def _plain(text: str) -> str:
    """Lowercase words of any script, apostrophes dropped, one space between them."""
    text = re.sub(r"['\u2019\u02bc`]", "", text.casefold())
    return " ".join(re.sub(r"[\W_]+", " ", text).split())


def nothing_more(words: str | None) -> bool:
    """Say whether the check-in's last words are empty or plainly "nothing more"."""
    if words is None or not words.strip(" \t\n.,;:!?-_*~"):
        return True  # nothing, or only punctuation
    text = _plain(words)
    for thanks in _THANKS:
        if text.endswith(" " + thanks):
            text = text.removesuffix(" " + thanks)
            break
    if text in _THANKS:
        return True
    first, _, rest = text.partition(" ")
    return text in NOTHING_MORE or (first in _NO and rest in NOTHING_MORE)
