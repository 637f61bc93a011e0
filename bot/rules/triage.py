"""Triage of side-effect reports and screening answers: how serious, and who must hear of it.

Pure rules: no Telegram, no database, no clock (a report carries its own time). Findings are
stable codes; the words a patient or provider reads are written elsewhere, keyed by these codes.
When unsure, escalate: a false alarm costs a provider a minute, a missed one can cost far more.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from bot.rules.findings import Finding, Grade, Stop, Tier
from bot.rules.redflags import scan
from bot.rules.states import DoseStatus

EFFECTS: tuple[str, ...] = ("sleep", "stomach", "tiredness", "restless", "headache", "mood")
THYROID: tuple[str, ...] = ("racing_heart", "tremor", "heat", "anxiety_insomnia")

FLAG_TIERS: Mapping[str, Tier] = {
    # Trouble breathing or a swelling face, lips, tongue or throat can be anaphylaxis.
    "breathing": Tier.EMERGENCY,
    # Thoughts of self-harm or suicide: the crisis line at once, and the provider too.
    "self_harm": Tier.EMERGENCY,
    # Naltrexone blocks opioid pain relief and can bring on withdrawal in someone taking opioids.
    "opioids": Tier.URGENT,
    # Surgery or dental work may need opioid pain relief, which LDN blocks: the provider plans it.
    "surgery": Tier.URGENT,
    # Sweating, yawning, goose bumps or shaking after a dose suggest opioid withdrawal.
    "withdrawal": Tier.URGENT,
    # Yellow skin or eyes, dark urine, pale stools, upper-right belly pain: possible liver injury.
    "liver": Tier.URGENT,
    # Pregnancy, planning one, or breastfeeding: whether to go on is the provider's decision.
    "pregnancy": Tier.URGENT,
    # Hives or a rash can be the start of an allergic reaction.
    "allergy": Tier.URGENT,
}
FLAGS: tuple[str, ...] = tuple(FLAG_TIERS)  # the yes/no red-flag questions, in asking order

# Signs that LDN must not be taken until a provider has looked (DOMAIN.md, "Withhold or hold"):
# the guide's contraindications and signs that naltrexone may be doing harm. The codes are the
# red-flag questions' and the red-flag word categories' (`bot/rules/redflags.py`); every emergency
# withholds too, whatever its code.
WITHHOLD_CODES: frozenset[str] = frozenset(
    {
        "breathing",  # breathing trouble or a swelling throat: possible anaphylaxis
        "allergy",  # an allergic reaction
        "self_harm",  # an emergency in itself
        "opioids",  # naltrexone blocks opioids and can bring on withdrawal
        "surgery",  # surgery or dental work may need opioid pain relief
        "withdrawal",  # signs of opioid withdrawal: hidden opioid use
        "liver",  # signs of liver injury
        "pregnancy",  # pregnancy, planning one, or breastfeeding
        "overdose",  # too much taken, or a double dose
        "fainting",  # fainting or passing out
        "seizure",  # a fit or seizure
        "vomiting_blood",  # vomiting blood
        "vomiting",  # vomiting that will not stop: the dose cannot be kept down, or harm
        "chest_pain",  # chest pain
        "hallucinations",  # seeing or hearing things that are not there
        "headache_worst",  # the worst headache of one's life
        "belly_pain",  # severe belly pain
    }
)

SCREENING_TIERS: Mapping[str, Tier] = {
    # LDN must not be taken with opioids, and a planned surgery may need them.
    "opioids": Tier.URGENT,
    # Severe liver or kidney disease is a contraindication the provider must weigh before a start.
    "liver_kidney": Tier.ROUTINE,
    # Schizophrenia and similar disorders are named by the guide as reasons not to take LDN.
    "psychiatric": Tier.ROUTINE,
    # Pregnancy or breastfeeding: the provider decides before the first dose.
    "pregnancy": Tier.URGENT,
    # LDN can lower the thyroid hormone a Hashimoto's patient needs: the provider should know.
    "thyroid": Tier.ROUTINE,
    # Transplants and immunosuppressants call for caution with an immune-modulating drug.
    "immune": Tier.ROUTINE,
    # Some providers cannot prescribe LDN with active cancer.
    "cancer": Tier.ROUTINE,
}
SCREENING: tuple[str, ...] = tuple(SCREENING_TIERS)  # the enrollment questions, in asking order

# Tips for effects that are expected and usually pass. None for mood: low mood is never expected.
TIPS: Mapping[str, str] = {
    "sleep": "tip_sleep",  # vivid dreams usually settle within a few weeks
    "stomach": "tip_stomach",  # a small snack with the dose can help
    "tiredness": "tip_tiredness",  # energy is usually back to normal within 2-4 weeks
    "restless": "tip_restless",  # restlessness usually settles within 2-4 weeks
    "headache": "tip_headache",
}

# Side effects usually settle within 2-4 weeks of a new dose; one still there after four weeks on
# the same dose may call for a slower plan or a lower dose, which is the provider's decision.
LASTING = timedelta(days=28)

# Three unanswered nights in a row: the patient may have stopped, be unwell or be out of capsules,
# and a longer gap needs the provider before resuming. Don't step up someone who may not be taking.
MISSED_NIGHTS = 3
# A night skipped on purpose is a night without LDN just as a missed one is.
NIGHTS_OFF = frozenset({DoseStatus.MISSED, DoseStatus.SKIPPED})


@dataclass(frozen=True)
class Report:
    """One completed side-effect report: grades, red flags and thyroid signs."""

    at: datetime  # aware UTC
    dose_mg: Decimal  # the dose the patient was on when reporting
    grades: Mapping[str, Grade]  # effect -> grade; an effect not asked or answered is absent
    flags: frozenset[str] = frozenset()  # red-flag codes answered yes
    thyroid: frozenset[str] = frozenset()  # thyroid over-replacement signs answered yes
    words: str | None = None  # the patient's own words, if they typed any


@dataclass(frozen=True)
class Triage:
    """The outcome: the highest tier, the findings most serious first, and tips to show."""

    tier: Tier
    findings: tuple[Finding, ...] = ()
    tips: tuple[str, ...] = ()

    @property
    def holds(self) -> bool:
        """Say whether the next dose increase waits for a provider."""
        return self.tier >= Tier.ROUTINE

    @property
    def alerts(self) -> bool:
        """Say whether providers are told."""
        return self.tier >= Tier.ROUTINE

    @property
    def emergency(self) -> bool:
        """Say whether the patient must call the emergency number or crisis line now."""
        return self.tier >= Tier.EMERGENCY

    @property
    def stop(self) -> Stop:
        """Withhold LDN, hold the increase, or neither, until a provider decides."""
        return safety_stop(self.findings)


# Findings that go to a person but stop nothing by themselves: words the bot cannot judge are
# passed on as they are, like any message to the care team, who decide what they call for.
PASSED_ON: frozenset[str] = frozenset({"words_unread"})


def safety_stop(findings: Iterable[Finding]) -> Stop:
    """Withhold on an emergency or a sign of harm; hold the increase on any other alert."""
    found = [f for f in findings if f.tier >= Tier.ROUTINE and f.reason not in PASSED_ON]
    if any(f.tier >= Tier.EMERGENCY or f.effect in WITHHOLD_CODES for f in found):
        return Stop.WITHHOLD
    return Stop.HOLD if found else Stop.NONE


def _check(codes: Iterable[str], known: Sequence[str], what: str) -> None:
    """Refuse codes this module does not know, rather than silently ignore a red flag."""
    unknown = sorted(set(codes) - set(known))
    if unknown:
        raise ValueError(f"unknown {what} code(s): {', '.join(unknown)}")


def _settle(findings: Iterable[Finding], tips: Iterable[str], floor: Tier = Tier.NONE) -> Triage:
    """Sort findings most serious first, drop repeats, and take the highest tier."""
    kept: list[Finding] = []
    seen: set[tuple[str, str | None]] = set()
    for f in sorted(findings, key=lambda f: -f.tier):  # stable: equal tiers keep their order
        if (f.reason, f.effect) not in seen:
            seen.add((f.reason, f.effect))
            kept.append(f)
    tier = max([floor, *(f.tier for f in kept)])
    return Triage(Tier(tier), tuple(kept), tuple(dict.fromkeys(tips)))


def _previous(effect: str, earlier: Sequence[Report]) -> Grade | None:
    """Return the effect's grade in the last earlier report that graded it."""
    for r in reversed(earlier):
        if effect in r.grades:
            return Grade(r.grades[effect])
    return None


def _lasting(effect: str, report: Report, earlier: Sequence[Report]) -> bool:
    """Say whether the effect has been at least mild on this dose for more than LASTING."""
    since = report.at
    for r in reversed(earlier):
        if r.dose_mg != report.dose_mg:
            break  # a new dose restarts the clock: effects are expected in its first weeks
        if effect not in r.grades:
            continue  # not asked that time: neither breaks nor extends the run
        if r.grades[effect] == Grade.NONE:
            break
        since = r.at
    return report.at - since > LASTING


def _effect_findings(
    effect: str, grade: Grade, report: Report, earlier: Sequence[Report]
) -> list[Finding]:
    """Return the findings about one graded effect beyond an expected, passing one."""
    before = _previous(effect, earlier)
    found: list[Finding] = []
    if grade == Grade.SEVERE:
        # A severe side effect of any kind needs a provider now.
        found.append(Finding(Tier.URGENT, f"severe_{effect}", effect))
    if effect == "mood" and before is not None and grade > before and grade >= Grade.MODERATE:
        # Low mood that is getting worse needs a provider now. A step from none to mild alone is
        # not "getting worse" enough: it stays INFO, and a second step reaches this rule.
        found.append(Finding(Tier.URGENT, "mood_worse", effect))
    if before is not None and grade - before >= 2:
        # Worse by two grades since the last report: an alert in proven symptom monitoring.
        found.append(Finding(Tier.ROUTINE, f"worse_two_grades_{effect}", effect))
    if grade == Grade.MODERATE and before is not None and before >= Grade.MODERATE:
        # A moderate effect that has not settled over two reports is worth a review.
        found.append(Finding(Tier.ROUTINE, f"moderate_twice_{effect}", effect))
    if grade >= Grade.MILD and _lasting(effect, report, earlier):
        # Still there after four weeks on the same dose: longer than side effects usually last.
        found.append(Finding(Tier.ROUTINE, f"lasting_{effect}", effect))
    if effect == "mood" and grade == Grade.MODERATE and not found:
        # Low mood is never an expected side effect: moderate low mood is reviewed the first time.
        found.append(Finding(Tier.ROUTINE, "moderate_mood", effect))
    return found


def triage(report: Report, history: Sequence[Report] = ()) -> Triage:
    """Grade one report against the patient's earlier ones."""
    _check(report.grades, EFFECTS, "effect")
    _check(report.flags, FLAGS, "red-flag")
    _check(report.thyroid, THYROID, "thyroid sign")
    # Oldest first and strictly earlier, whatever order the caller kept them in.
    earlier = sorted((r for r in history if r.at < report.at), key=lambda r: r.at)
    findings = [Finding(FLAG_TIERS[f], f"flag_{f}", f) for f in FLAGS if f in report.flags]
    if report.words and report.words.strip():
        # The patient's own words can name what no question asked about.
        findings.extend(scan(report.words))
    tips: list[str] = []
    for effect in EFFECTS:
        if effect not in report.grades:
            continue
        grade = Grade(report.grades[effect])
        found = _effect_findings(effect, grade, report, earlier)
        if found:
            findings.extend(found)
        elif grade >= Grade.MILD:
            # Mild (or a first moderate) sleep, stomach, energy or headache effects are common in
            # the first weeks of a dose and usually pass: reassure, tip, and keep to the plan.
            # Low mood is never "expected": a mild one is noted as "mild_mood", with no tip.
            reason = "mild_mood" if effect == "mood" else f"expected_{effect}"
            findings.append(Finding(Tier.INFO, reason, effect))
            if effect in TIPS:
                tips.append(TIPS[effect])
    if report.thyroid:
        # LDN can lower the thyroid hormone needed: racing heart, tremor, heat intolerance, new
        # anxiety or insomnia may mean over-replacement, for the provider to review.
        findings.append(Finding(Tier.ROUTINE, "thyroid_over_replacement"))
    return _settle(findings, tips)


def screening(answers: Mapping[str, bool]) -> Triage:
    """Triage the enrollment screening answers (question code -> yes)."""
    _check(answers, SCREENING, "screening question")
    findings = [
        Finding(SCREENING_TIERS[q], f"screening_{q}", q) for q in SCREENING if answers.get(q)
    ]
    return _settle(findings, ())


def missed_streak(statuses: Sequence[str]) -> Finding | None:
    """Report a run of nights off (missed or skipped) once, on its third night (oldest first)."""
    off = [s in NIGHTS_OFF for s in statuses[-(MISSED_NIGHTS + 1) :]]
    if len(off) < MISSED_NIGHTS or not all(off[-MISSED_NIGHTS:]):
        return None
    if len(off) > MISSED_NIGHTS and off[0]:
        return None  # already reported when the run reached its third night
    return Finding(Tier.ROUTINE, "missed_three")


def combine(*parts: Triage) -> Triage:
    """Merge triages: the highest tier, findings most serious first without repeats, all tips."""
    return _settle(
        (f for p in parts for f in p.findings),
        (t for p in parts for t in p.tips),
        max((p.tier for p in parts), default=Tier.NONE),
    )
