"""Measure red-flag detection on the labelled corpus: how many red phrasings it catches, per
category, and how many benign ones it alerts on.

    python -m bench.redflags [--corpus bench/redflag_corpus.tsv]

Exits with status 1 when a target is missed: at least 97% of red phrasings caught at their
labelled tier, at most 5% of benign phrasings alerting.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.rules.findings import Finding, Tier
from bot.rules.redflags import CATEGORY_TIERS, mentions, scan

CORPUS = Path(__file__).with_name("redflag_corpus.tsv")
TARGET_CAUGHT = 0.97  # red phrasings caught at their tier, at least
TARGET_FALSE_ALERTS = 0.05  # benign phrasings alerting, at most
LONG_MESSAGE = 2_000  # characters, for the timing line


@dataclass(frozen=True)
class Phrasing:
    """One labelled line: red (a category and the lowest tier that counts) or benign (NONE)."""

    line: int
    text: str
    category: str | None
    tier: Tier

    @property
    def red(self) -> bool:
        return self.tier > Tier.NONE


@dataclass
class Figures:
    """What scan() and mentions() made of the corpus."""

    red: dict[str, int] = field(default_factory=dict)
    caught: dict[str, int] = field(default_factory=dict)
    misses: list[tuple[Phrasing, tuple[Finding, ...]]] = field(default_factory=list)
    benign: int = 0
    false_alerts: list[tuple[Phrasing, tuple[Finding, ...]]] = field(default_factory=list)
    mentioned: int = 0  # benign phrasings that name a category
    unmentioned: list[tuple[Phrasing, tuple[str, ...]]] = field(default_factory=list)

    @property
    def caught_rate(self) -> float:
        return sum(self.caught.values()) / max(1, sum(self.red.values()))

    @property
    def false_alert_rate(self) -> float:
        return len(self.false_alerts) / max(1, self.benign)

    @property
    def on_target(self) -> bool:
        return self.caught_rate >= TARGET_CAUGHT and self.false_alert_rate <= TARGET_FALSE_ALERTS


def load(path: Path = CORPUS) -> list[Phrasing]:
    """Read the corpus: tab-separated text, category, tier; '#' lines and the header skipped."""
    phrasings = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip() or raw.startswith("#") or raw == "text\tcategory\ttier":
            continue
        parts = raw.split("\t")
        if len(parts) != 3:
            raise ValueError(f"{path}:{number}: expected 3 tab-separated columns")
        text, category, tier_name = parts
        tier = Tier[tier_name]
        if category and category not in CATEGORY_TIERS:
            raise ValueError(f"{path}:{number}: unknown category {category!r}")
        if tier > Tier.NONE and not category:
            raise ValueError(f"{path}:{number}: a red phrasing needs its category")
        phrasings.append(Phrasing(number, text, category or None, tier))
    return phrasings


def is_caught(phrasing: Phrasing, found: tuple[Finding, ...]) -> bool:
    """Its category found, and the alert at its labelled tier or above."""
    return any(f.effect == phrasing.category for f in found) and max(f.tier for f in found) >= (
        phrasing.tier
    )


def evaluate(phrasings: Sequence[Phrasing]) -> Figures:
    """Run every phrasing through scan(), and benign ones naming a category through mentions()."""
    figures = Figures()
    for p in phrasings:
        found = scan(p.text)
        if p.red:
            assert p.category is not None
            figures.red[p.category] = figures.red.get(p.category, 0) + 1
            if is_caught(p, found):
                figures.caught[p.category] = figures.caught.get(p.category, 0) + 1
            else:
                figures.misses.append((p, found))
            continue
        figures.benign += 1
        if any(f.tier >= Tier.ROUTINE for f in found):
            figures.false_alerts.append((p, found))
        if p.category is not None:
            figures.mentioned += 1
            named = mentions(p.text)
            if p.category not in named:
                figures.unmentioned.append((p, named))
    return figures


def long_message_ms(phrasings: Sequence[Phrasing], repeat: int = 30) -> float:
    """Median milliseconds to scan a message of LONG_MESSAGE characters made of the corpus."""
    body = " ".join(p.text for p in phrasings)
    times = []
    for i in range(repeat):
        text = f"{i} {body}"[:LONG_MESSAGE]  # a new text each time: no cached answer
        start = time.perf_counter()
        scan(text)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _codes(found: tuple[Finding, ...]) -> str:
    return ", ".join(f"{f.effect} {f.tier.name}" for f in found) or "nothing"


def report(figures: Figures, phrasings: Sequence[Phrasing]) -> str:
    """The figures as a table, then every miss and false alert."""
    lines = [f"{'category':<16} {'tier':<9} {'red':>4} {'caught':>6} {'sensitivity':>11}"]
    for category, tier in CATEGORY_TIERS.items():
        red = figures.red.get(category, 0)
        caught = figures.caught.get(category, 0)
        rate = f"{caught / red:.1%}" if red else "-"
        lines.append(f"{category:<16} {tier.name:<9} {red:>4} {caught:>6} {rate:>11}")
    red, caught = sum(figures.red.values()), sum(figures.caught.values())
    lines += [
        "",
        f"red phrasings caught at their tier: {caught}/{red} = {figures.caught_rate:.1%}"
        f" (target at least {TARGET_CAUGHT:.0%})",
        f"benign phrasings alerting: {len(figures.false_alerts)}/{figures.benign}"
        f" = {figures.false_alert_rate:.1%} (target at most {TARGET_FALSE_ALERTS:.0%})",
        f"negated or someone else's, named by mentions():"
        f" {figures.mentioned - len(figures.unmentioned)}/{figures.mentioned}",
        f"scan of a {LONG_MESSAGE:,}-character message: {long_message_ms(phrasings):.2f} ms"
        " (median)",
    ]
    sections = [
        ("misses", [(p, _codes(found)) for p, found in figures.misses]),
        ("false alerts", [(p, _codes(found)) for p, found in figures.false_alerts]),
        ("not named by mentions()", [(p, ", ".join(n) or "nothing")
                                     for p, n in figures.unmentioned]),
    ]  # fmt: skip
    for title, rows in sections:
        lines += ["", f"{title}: {len(rows)}"]
        lines += [
            f"  line {p.line}: {p.text!r} ({p.category or 'benign'}): {got}" for p, got in rows
        ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="the labelled TSV file")
    args = parser.parse_args(argv)
    phrasings = load(args.corpus)
    figures = evaluate(phrasings)
    print(report(figures, phrasings))
    return 0 if figures.on_target else 1


if __name__ == "__main__":
    sys.exit(main())
