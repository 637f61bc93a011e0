"""What patients type: accepted and refused inputs for bedtimes, start dates and time zones."""

import subprocess
import sys
from datetime import date, time

import pytest

from bot.rules.parsing import ZoneMatch, match_timezone, parse_bedtime, parse_start_date

# --- bedtime -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("22:30", time(22, 30)),
        ("22.30", time(22, 30)),
        ("22h30", time(22, 30)),
        ("22h", time(22, 0)),
        ("2230", time(22, 30)),
        ("0030", time(0, 30)),
        ("930", time(9, 30)),
        ("10:30 pm", time(22, 30)),
        ("10:30PM", time(22, 30)),
        ("10.30 p.m.", time(22, 30)),
        ("10.30 P.M", time(22, 30)),
        ("10:30 am", time(10, 30)),
        ("10pm", time(22, 0)),
        ("10 pm", time(22, 0)),
        ("1030pm", time(22, 30)),
        ("22", time(22, 0)),
        ("0", time(0, 0)),
        ("00:30", time(0, 30)),
        ("0:30", time(0, 30)),
        ("12 am", time(0, 0)),
        ("12:15 am", time(0, 15)),
        ("12 pm", time(12, 0)),
        ("23:59", time(23, 59)),
        ("  22:30\n", time(22, 30)),
        ("２２：３０", time(22, 30)),  # full-width digits and colon
        ("22:07", time(22, 7)),  # minutes as given, no rounding
        ("midnight", time(0, 0)),
    ],
)
def test_parse_bedtime_accepts(text, expected):
    assert parse_bedtime(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "25:00",
        "24:00",
        "22:61",
        "22:5",
        "13 pm",
        "0 am",
        "00 pm",
        "2400",
        "2260",
        "12345",
        "",
        "   ",
        "tonight",
        "🙂",
        "22:30:00",
        "-1",
        "22 30 pm",
        "ten pm",
        "10 pmm",
        "1e3",
        "٢٢:٣٠",
        "22:30 tomorrow",
        "x" * 1000,
        None,
        2230,
    ],
)
def test_parse_bedtime_refuses(text):
    assert parse_bedtime(text) is None


# --- start date ----------------------------------------------------------------------------------

TODAY = date(2026, 11, 25)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("today", TODAY),
        ("Today ", TODAY),
        ("tonight", TODAY),
        ("tomorrow", date(2026, 11, 26)),
        ("YESTERDAY", date(2026, 11, 24)),
        ("2026-11-25", date(2026, 11, 25)),
        ("2026-1-5", date(2026, 1, 5)),
        ("2026/11/25", date(2026, 11, 25)),
        ("25.11.2026", date(2026, 11, 25)),
        ("25/11/2026", date(2026, 11, 25)),
        ("5/1/2027", date(2027, 1, 5)),  # day first
        ("25-11-2026", date(2026, 11, 25)),
        ("25.11.26", date(2026, 11, 25)),
        ("25 Nov", date(2026, 11, 25)),
        ("Nov 25", date(2026, 11, 25)),
        ("nov. 25", date(2026, 11, 25)),
        ("25th November", date(2026, 11, 25)),
        ("25th of November", date(2026, 11, 25)),
        ("25 November 2026", date(2026, 11, 25)),
        ("November 25, 2026", date(2026, 11, 25)),
        ("Sept 3 2027", date(2027, 9, 3)),
        ("1 Dec", date(2026, 12, 1)),
        ("25.11.", date(2026, 11, 25)),
        ("２０２６－１１－２５", date(2026, 11, 25)),
        ("29 Feb 2028", date(2028, 2, 29)),
    ],
)
def test_parse_start_date_accepts(text, expected):
    assert parse_start_date(text, TODAY) == expected


@pytest.mark.parametrize(
    ("text", "today", "expected"),
    [
        ("2 Jan", date(2026, 12, 30), date(2027, 1, 2)),  # next January
        ("Jan 2", date(2026, 12, 30), date(2027, 1, 2)),
        ("2.1", date(2026, 12, 30), date(2027, 1, 2)),
        ("20 Dec", date(2027, 1, 5), date(2026, 12, 20)),  # last December
        ("31 Dec", date(2027, 1, 1), date(2026, 12, 31)),
        ("1 Jan", date(2026, 12, 31), date(2027, 1, 1)),
        ("25 Dec", date(2026, 8, 15), date(2026, 12, 25)),  # this December is nearer
        ("25 Dec", date(2026, 6, 15), date(2025, 12, 25)),  # last December is nearer (172 days)
        ("1 Mar", date(2027, 8, 31), date(2028, 3, 1)),  # 183 days either way: the future wins
        ("29 Feb", date(2027, 12, 1), date(2028, 2, 29)),  # only a leap year has it
        ("tomorrow", date(2026, 12, 31), date(2027, 1, 1)),
        ("yesterday", date(2027, 1, 1), date(2026, 12, 31)),
    ],
)
def test_parse_start_date_year_boundaries(text, today, expected):
    assert parse_start_date(text, today) == expected


@pytest.mark.parametrize(
    "text",
    [
        "31 Feb",
        "31 Feb 2026",
        "30.02.2026",
        "2026-02-29",
        "29 Feb",  # no 29 Feb within a year
        "31 Apr",
        "0 Jan",
        "32 Jan",
        "13/13/2026",
        "00.01.2026",
        "11/25/2026",  # US order refused
        "2026-13-01",
        "25 Foo",
        "Foo 25",
        "25",
        "2026",
        "someday",
        "next week",
        "",
        "🙂",
        "25 Nov 20266",
        "x" * 1000,
        None,
    ],
)
def test_parse_start_date_refuses(text):
    assert parse_start_date(text, TODAY) is None


# --- time zone -----------------------------------------------------------------------------------


def zones(text: str, limit: int = 3) -> list[str]:
    return [m.zone for m in match_timezone(text, limit)]


@pytest.mark.parametrize(
    ("text", "zone"),
    [
        # exact IANA names, any case, spaces for underscores
        ("Asia/Kolkata", "Asia/Kolkata"),
        ("america/new_york", "America/New_York"),
        ("AMERICA/NEW YORK", "America/New_York"),
        ("America/Argentina/Buenos_Aires", "America/Argentina/Buenos_Aires"),
        ("US/Eastern", "US/Eastern"),  # a backward link, typed exactly
        ("Etc/GMT+5", "Etc/GMT+5"),
        # city parts
        ("new york", "America/New_York"),
        ("New_York", "America/New_York"),
        ("london", "Europe/London"),
        ("Sao Paulo", "America/Sao_Paulo"),
        ("São Paulo", "America/Sao_Paulo"),
        ("buenos aires", "America/Argentina/Buenos_Aires"),
        ("port-au-prince", "America/Port-au-Prince"),
        ("Lord Howe", "Australia/Lord_Howe"),
        ("Denver", "America/Denver"),
        ("Phoenix", "America/Phoenix"),
        ("Shanghai", "Asia/Shanghai"),
        ("Melbourne", "Australia/Melbourne"),
        ("Auckland", "Pacific/Auckland"),
        ("  kolkata  ", "Asia/Kolkata"),
        # the table of places that are not zone names
        ("Delhi", "Asia/Kolkata"),
        ("Mumbai", "Asia/Kolkata"),
        ("Bangalore", "Asia/Kolkata"),
        ("San Francisco", "America/Los_Angeles"),
        ("Seattle", "America/Los_Angeles"),
        ("LA", "America/Los_Angeles"),
        ("Boston", "America/New_York"),
        ("Washington", "America/New_York"),
        ("Miami", "America/New_York"),
        ("Atlanta", "America/New_York"),
        ("Dallas", "America/Chicago"),
        ("Houston", "America/Chicago"),
        ("Beijing", "Asia/Shanghai"),
        ("Munich", "Europe/Berlin"),
        ("Frankfurt", "Europe/Berlin"),
        ("Barcelona", "Europe/Madrid"),
        ("Wellington", "Pacific/Auckland"),
        ("Chatham", "Pacific/Chatham"),
        ("UK", "Europe/London"),
        ("England", "Europe/London"),
        # UTC
        ("UTC", "UTC"),
        ("utc", "UTC"),
        ("GMT", "UTC"),
        # typos
        ("new yrok", "America/New_York"),
        ("londn", "Europe/London"),
        ("kolkatta", "Asia/Kolkata"),
        ("san fransisco", "America/Los_Angeles"),
        ("Bangalor", "Asia/Kolkata"),
        ("sydny", "Australia/Sydney"),
        ("Europe/Londn", "Europe/London"),
        ("Kolkata, India", "Asia/Kolkata"),
    ],
)
def test_match_timezone_best_match_first(text, zone):
    found = match_timezone(text)
    assert found and found[0].zone == zone


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "EST",
        "est",
        "IST",
        "PST",
        "CST",
        "BST",
        "CET",
        "AEST",
        "CEST",
        "EST5EDT",
        "xyzzy",
        "🙂",
        "tonight",
        "22:30",
        "new",
        "x" * 1000,
        None,
    ],
)
def test_match_timezone_refuses(text):
    assert match_timezone(text) == []


def test_match_timezone_labels():
    assert match_timezone("kolkata") == [ZoneMatch("Asia/Kolkata", "Kolkata (Asia/Kolkata)")]
    assert match_timezone("buenos aires")[0].label == (
        "Buenos Aires (America/Argentina/Buenos_Aires)"
    )
    assert match_timezone("utc")[0].label == "UTC"


def test_match_timezone_gmt_also_offers_london():
    assert zones("GMT") == ["UTC", "Europe/London"]


def test_match_timezone_exact_deprecated_name_before_its_replacement():
    assert zones("Asia/Calcutta") == ["Asia/Calcutta", "Asia/Kolkata"]


def test_match_timezone_never_offers_backward_links_for_a_typo():
    # "Calcutta" is only reachable through the table, never as the old link Asia/Calcutta
    for text in ("calcuta", "kolkatta", "eastern", "us eastern", "pacific"):
        found = set(zones(text, limit=10))
        assert not found & {"Asia/Calcutta", "US/Eastern", "US/Pacific"}


@pytest.mark.parametrize("text", ["GMT", "santa", "Asia/Calcutta", "europe/londn", "new yrok"])
def test_match_timezone_limit_and_no_duplicates(text):
    for limit in (1, 2, 3, 10):
        found = zones(text, limit)
        assert len(found) <= limit
        assert len(found) == len(set(found))
    assert zones(text, 0) == []


def test_match_timezone_fuzzy_returns_several_close_cities_best_first():
    salta, santiago, santarem = "America/Argentina/Salta", "America/Santiago", "America/Santarem"
    assert zones("santa", limit=10) == [salta, santiago, santarem]
    assert zones("santa", limit=2) == [salta, santiago]


def test_match_timezone_index_is_not_built_at_import():
    code = "import bot.rules.parsing as p; assert p._index.cache_info().currsize == 0"
    subprocess.run([sys.executable, "-c", code], check=True)
