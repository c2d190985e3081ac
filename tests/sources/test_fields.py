"""Field parsers: MBIDs as Go's uuid.Parse accepts them, times as the exporters write them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from koito_assets.sources.fields import (
    digits_seconds,
    duration_seconds,
    iso_seconds,
    lastfm_date_seconds,
    parse_mbid,
    parse_mbids,
    unix_seconds,
)

CANONICAL = "b10bbbfc-cf9e-42e0-be17-e2c3e1d2600d"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (CANONICAL, CANONICAL),
        (CANONICAL.upper(), CANONICAL),
        (CANONICAL.replace("-", ""), CANONICAL),
        ("{" + CANONICAL + "}", CANONICAL),
        ("urn:uuid:" + CANONICAL, CANONICAL),
        ("URN:UUID:" + CANONICAL, CANONICAL),
        ("00000000-0000-0000-0000-000000000000", None),
        ("00000000000000000000000000000000", None),
        ("", None),
        ("not-a-uuid", None),
        (CANONICAL[:-1] + "g", None),
        (CANONICAL.replace("-", "_"), None),
        (" " + CANONICAL[1:], None),
        (None, None),
        (12, None),
    ],
)
def test_parse_mbid(value, expected):
    assert parse_mbid(value) == expected


def test_parse_mbids_keeps_valid_ones_in_order_once():
    assert parse_mbids(
        [CANONICAL, "x", None, CANONICAL.upper(), "00000000-0000-0000-0000-000000000000"]
    ) == (CANONICAL,)
    assert parse_mbids(CANONICAL) == ()


def unix(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-03-02T18:04:11Z", unix("2024-03-02T18:04:11")),
        ("2024-03-02T19:04:11+01:00", unix("2024-03-02T18:04:11")),
        ("2024-03-02T18:04:11.999Z", unix("2024-03-02T18:04:11")),  # floored, not rounded
        ("2024-03-02T18:04:11", None),  # RFC 3339 needs an offset
        ("0001-01-01T00:00:00Z", -62135596800),  # Go's zero time: parsed; judged out of range later
        ("yesterday", None),
        (1709402230, None),
    ],
)
def test_iso_seconds(value, expected):
    assert iso_seconds(value) == expected


def test_iso_seconds_naive_as_utc_when_the_format_says_so():
    assert iso_seconds("2025-01-05 21:14", naive_is_utc=True) == unix("2025-01-05T21:14:00")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("02 Mar 2024, 17:57", unix("2024-03-02T17:57:00")),
        ("02 Mar 2024 17:57", unix("2024-03-02T17:57:00")),
        ("2 mar 2024, 7:05", unix("2024-03-02T07:05:00")),
        (" 22 Oct 2010, 02:05 ", unix("2010-10-22T02:05:00")),
        ("31 Feb 2024, 10:00", None),
        ("02 Foo 2024, 17:57", None),
        ("2024-03-02 17:57", None),
        ("٠٢ Mar 2024, 17:57", None),  # digits of another script
        (None, None),
    ],
)
def test_lastfm_date_seconds(value, expected):
    assert lastfm_date_seconds(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1709402230", 1709402230),
        (1709402230, 1709402230),
        ("17094.5", None),
        ("", None),
        ("１２３", None),
        ("-5", None),
    ],
)
def test_digits_seconds(value, expected):
    assert digits_seconds(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1709402230, 1709402230),
        (1709402230.99, 1709402230),
        (True, None),
        (-1, -1),  # a number of seconds; ReadContext.outside judges it implausible
        (10**15, 10**15),
        (float("nan"), None),
        (float("inf"), None),
        (10**20, None),  # past any 64-bit clock: no time at all
        pytest.param(10**5000, None, id="5000 digits"),
        ("1709402230", None),
    ],
)
def test_unix_seconds(value, expected):
    assert unix_seconds(value) == expected


@pytest.mark.parametrize(
    ("value", "per_second", "expected"),
    [
        (201999, 1000, 201),
        (201, 1, 201),
        (201.7, 1, 201),
        (-5, 1, 0),
        ("201", 1, 0),
        (2**40, 1, 0),
        (None, 1, 0),
    ],
)
def test_duration_seconds(value, per_second, expected):
    assert duration_seconds(value, per_second=per_second) == expected
