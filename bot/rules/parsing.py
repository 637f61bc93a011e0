"""Forgiving readers of what patients type: each returns None (or []) when unsure, never raises."""

import difflib
import functools
import importlib.resources
import re
import unicodedata
import zoneinfo
from dataclasses import dataclass
from datetime import date, time, timedelta
from pathlib import Path

__all__ = ["ZoneMatch", "match_timezone", "parse_bedtime", "parse_start_date"]

_MAX_INPUT = 100  # longer messages are not a time, a date or a place


def _normalize(text: object) -> str | None:
    """Fold full-width forms, case and runs of whitespace; None for non-text or overlong input."""
    if not isinstance(text, str) or len(text) > _MAX_INPUT:
        return None
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


# --- bedtime -------------------------------------------------------------------------------------

_BEDTIME = re.compile(
    r"(?:(?P<h>\d{1,2})(?:\s*[:.h]\s*(?P<m>\d{2})|\s*h)?"  # 22, 22:30, 22.30, 22h30, 22h
    r"|(?P<hhmm>\d{3,4}))"  # 2230, 930
    r"\s*(?P<ampm>am|pm|a|p)?",
    re.ASCII,
)
_WORDS = {"midnight": time(0, 0), "noon": time(12, 0)}


def parse_bedtime(text: str) -> time | None:
    """Read a clock time such as "22:30", "2230", "10.30 p.m." or "10pm"; None if unreadable."""
    s = _normalize(text)
    if not s:
        return None
    s = s.replace(".m.", "m").replace(".m", "m").rstrip(". ")  # "p.m." / "p.m" -> "pm"
    if s in _WORDS:
        return _WORDS[s]
    m = _BEDTIME.fullmatch(s)
    if not m:
        return None
    if m["hhmm"]:
        hour, minute = divmod(int(m["hhmm"]), 100)
    else:
        hour, minute = int(m["h"]), int(m["m"] or 0)
    if m["ampm"]:
        if not 1 <= hour <= 12:
            return None  # "13 pm", "0 am"
        hour = hour % 12 + (12 if m["ampm"].startswith("p") else 0)
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


# --- start date ----------------------------------------------------------------------------------

_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}
_RELATIVE = {"today": 0, "tonight": 0, "tomorrow": 1, "yesterday": -1}
_MONTH = r"(?P<mon>[a-z]+)\.?"
_DAY = r"(?P<d>\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?:,?\s*(?P<y>\d{4}))?"
_DATE_PATTERNS = [
    re.compile(r"(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})", re.ASCII),  # 2026-11-25
    re.compile(r"(?P<d>\d{1,2})[./-](?P<m>\d{1,2})(?:[./-](?P<y>\d{4}|\d{2}))?\.?", re.ASCII),
    re.compile(rf"{_DAY}\s*(?:of\s+)?{_MONTH}{_YEAR}", re.ASCII),  # 25 Nov, 25th of November 2026
    re.compile(rf"{_MONTH}\s*{_DAY}{_YEAR}", re.ASCII),  # Nov 25, November 25, 2026
]


def _nearest(day: int, month: int, today: date) -> date | None:
    """Return the valid day-month nearest to `today` (a tie goes to the future), if any."""
    candidates = []
    for year in (today.year - 1, today.year, today.year + 1):
        try:
            candidates.append(date(year, month, day))
        except ValueError:
            continue  # 29 Feb outside a leap year
    if not candidates:
        return None
    return min(candidates, key=lambda d: (abs(d - today), d < today))


def parse_start_date(text: str, today: date) -> date | None:
    """Read "tomorrow", "2026-11-25", "25.11.2026", "25 Nov" and the like; None if unreadable."""
    s = _normalize(text)
    if not s or not isinstance(today, date):
        return None
    if s in _RELATIVE:
        return today + timedelta(days=_RELATIVE[s])
    for pattern in _DATE_PATTERNS:
        m = pattern.fullmatch(s)
        if not m:
            continue
        groups = m.groupdict()
        if "mon" in groups:
            month = _MONTHS.get(groups["mon"])
            if month is None:
                return None
        else:
            month = int(groups["m"])
        day = int(groups["d"])
        if not (1 <= month <= 12 and 1 <= day <= 31):
            return None
        year_text = groups.get("y")
        if year_text is None:
            return _nearest(day, month, today)
        year = int(year_text) + (2000 if len(year_text) == 2 else 0)
        try:
            return date(year, month, day)
        except ValueError:
            return None  # 31 Feb, year 0
    return None


# --- time zone -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ZoneMatch:
    """A candidate IANA zone and the text to show for it."""

    zone: str  # IANA name, e.g. "Asia/Kolkata"
    label: str  # what to show, e.g. "Kolkata (Asia/Kolkata)"


# Places people type that are not the city part of a zone name. Keys are normalised (_key).
_ALIASES: dict[str, str] = {
    "delhi": "Asia/Kolkata",
    "new delhi": "Asia/Kolkata",
    "mumbai": "Asia/Kolkata",
    "bombay": "Asia/Kolkata",
    "bangalore": "Asia/Kolkata",
    "bengaluru": "Asia/Kolkata",
    "chennai": "Asia/Kolkata",
    "hyderabad": "Asia/Kolkata",
    "calcutta": "Asia/Kolkata",
    "india": "Asia/Kolkata",
    "san francisco": "America/Los_Angeles",
    "seattle": "America/Los_Angeles",
    "la": "America/Los_Angeles",
    "san diego": "America/Los_Angeles",
    "portland": "America/Los_Angeles",
    "boston": "America/New_York",
    "washington": "America/New_York",
    "washington dc": "America/New_York",
    "miami": "America/New_York",
    "atlanta": "America/New_York",
    "philadelphia": "America/New_York",
    "nyc": "America/New_York",
    "dallas": "America/Chicago",
    "houston": "America/Chicago",
    "austin": "America/Chicago",
    "salt lake city": "America/Denver",
    "las vegas": "America/Los_Angeles",
    "beijing": "Asia/Shanghai",
    "peking": "Asia/Shanghai",
    "munich": "Europe/Berlin",
    "frankfurt": "Europe/Berlin",
    "hamburg": "Europe/Berlin",
    "barcelona": "Europe/Madrid",
    "milan": "Europe/Rome",
    "geneva": "Europe/Zurich",
    "wellington": "Pacific/Auckland",
    "chatham": "Pacific/Chatham",
    "chatham islands": "Pacific/Chatham",
    "uk": "Europe/London",
    "england": "Europe/London",
    "scotland": "Europe/London",
    "wales": "Europe/London",
    "great britain": "Europe/London",
    "united kingdom": "Europe/London",
    "saint petersburg": "Europe/Moscow",
    "st petersburg": "Europe/Moscow",
    "kiev": "Europe/Kyiv",
}

# "GMT" is also what a patient in the United Kingdom may call their winter time: offer London too.
_UTC_WORDS: dict[str, tuple[str, ...]] = {
    "utc": ("UTC",),
    "gmt": ("UTC", "Europe/London"),
    "z": ("UTC",),
    "zulu": ("UTC",),
    "universal": ("UTC",),
}

# Zone names that are abbreviations: fixed offsets without daylight saving, or ambiguous (EST is
# also Australian). A patient typing them means something else, so they are never offered.
_ABBREVIATION_ZONES = {
    "CET",
    "CST6CDT",
    "EET",
    "EST",
    "EST5EDT",
    "HST",
    "MET",
    "MST",
    "MST7MDT",
    "PST8PDT",
    "WET",
}
_UNOFFERED_PREFIXES = ("Etc/", "SystemV/", "posix/", "right/")
_NEVER = {"Factory", "localtime", "posixrules"}
_REGIONS = frozenset(
    ["Africa", "America", "Antarctica", "Asia", "Atlantic", "Australia"]
    + ["Europe", "Indian", "Pacific"]
)
_FUZZY_MIN_LEN = 4  # shorter text is too close to too much (and to abbreviations like "IST")
_FUZZY_CUTOFF = 0.75


def _key(text: str) -> str:
    """Fold accents, case, underscores, hyphens and punctuation into a comparable key."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    plain = re.sub(r"[_\-\s]+", " ", plain)
    plain = re.sub(r"[^\w/ ]", "", plain)  # "st. john's" -> "st johns"
    return " ".join(plain.split())


def zone_city(zone: str) -> str:
    """The place a zone is named after, as a person writes it: 'America/New_York' -> 'New York'."""
    return zone.rsplit("/", 1)[-1].replace("_", " ")


def _label(zone: str) -> str:
    return f"{zone_city(zone)} ({zone})" if "/" in zone else zone


def _tab_zones() -> set[str]:
    """Return the zones listed per country in zone.tab and zone1970.tab (no backward links)."""
    texts: list[str] = []
    for name in ("zone1970.tab", "zone.tab"):
        try:
            texts.append(importlib.resources.files("tzdata.zoneinfo").joinpath(name).read_text())
            continue
        except (ModuleNotFoundError, OSError):
            pass
        for root in zoneinfo.TZPATH:
            path = Path(root) / name
            if path.is_file():
                texts.append(path.read_text(encoding="utf-8"))
                break
    zones = set()
    for text in texts:
        for line in text.splitlines():
            fields = line.split("\t")
            if not line.startswith("#") and len(fields) >= 3:
                zones.add(fields[2].strip())
    return zones


@dataclass(frozen=True)
class _Index:
    known: frozenset[str]  # every zone we accept typed exactly
    exact: dict[str, str]  # casefolded full name -> name, for those
    by_city: dict[str, list[str]]  # _key(city part) -> offered zones


@functools.cache
def _index() -> _Index:
    available = {
        z
        for z in zoneinfo.available_timezones()
        if z not in _NEVER
        and z not in _ABBREVIATION_ZONES
        and not z.startswith(("posix/", "right/"))
    }
    offered = _tab_zones() & available
    if not offered:  # no tab files anywhere: fall back to the continental zones
        offered = {z for z in available if z.split("/")[0] in _REGIONS}
    offered = {z for z in offered if not z.startswith(_UNOFFERED_PREFIXES)}
    by_city: dict[str, list[str]] = {}
    for zone in sorted(offered):
        by_city.setdefault(_key(zone_city(zone)), []).append(zone)
    return _Index(
        known=frozenset(available),
        exact={z.casefold(): z for z in available},
        by_city=by_city,
    )


def _candidates(text: str) -> list[str]:
    """Return zones for one normalised text, best first."""
    index = _index()
    key = _key(text)
    if key in _UTC_WORDS:
        return list(_UTC_WORDS[key])
    found: list[str] = []
    exact = index.exact.get(text.replace(" ", "_"))
    if exact:
        found.append(exact)
    region, _, city = key.rpartition("/")  # "europe/londn" -> "europe", "londn"
    if city in _ALIASES:
        found.append(_ALIASES[city])
    found += index.by_city.get(city, [])
    if not found and len(city) >= _FUZZY_MIN_LEN:
        # Typos: compare with the alias keys and the city parts of the offered zones.
        pool = {k: [z] for k, z in _ALIASES.items()} | index.by_city
        for close in difflib.get_close_matches(city, pool, n=10, cutoff=_FUZZY_CUTOFF):
            found += pool[close]
    # A typed region ranks its own zones first ("america/" before "europe/"); sorted() is stable.
    return sorted(found, key=lambda z: not _key(z).startswith(region + "/")) if region else found


def match_timezone(text: str, limit: int = 3) -> list[ZoneMatch]:
    """Return up to `limit` IANA zones matching a place or zone name, best first; [] if none."""
    s = _normalize(text)
    if not s or limit < 1:
        return []
    zones = _candidates(s)
    if not zones and "," in s:  # "Kolkata, India": try the place before the comma
        zones = _candidates(s.split(",", 1)[0].strip())
    known = _index().known
    unique = list(dict.fromkeys(z for z in zones if z in known))
    return [ZoneMatch(zone=z, label=_label(z)) for z in unique[:limit]]
