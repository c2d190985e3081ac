"""Field parsers every format shares: MusicBrainz IDs and timestamps, with Koito's leniency.

Each returns ``None`` for a value it cannot use, so a reader decides what that means for its format
(an absent MBID, or an unparsable time).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from decimal import Decimal

NIL_MBID = "00000000-0000-0000-0000-000000000000"
MAX_UNIX = 253402300799  # 9999-12-31T23:59:59Z: the last second Python and PostgreSQL agree on
MAX_DURATION_S = 2**31 - 1  # Koito stores durations in a 32-bit integer column
# A number of seconds no clock holds (a 64-bit count of nanoseconds would not): not a time at all.
MAX_TIME_MAGNITUDE = 2**63
# Names (artist, title, album, every alias) become keys of Koito's alias tables, whose primary
# keys are btrees: PostgreSQL refuses an index row over 2,704 bytes (a third of an 8 kB page).
# With the row's header and the id, text that does not compress fails past ~2,688 bytes of UTF-8
# (measured on PostgreSQL 18); 2,000 bytes leaves a quarter of margin and no real title near it.
MAX_NAME_BYTES = 2000
# Other text we keep (a client, an image URL, an alias source) is cut here: nothing indexes it,
# but a 60 MB "media_player" must not travel through staging whole.
MAX_TEXT_CHARS = 1000

_CANONICAL_UUID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
_HEX32 = re.compile(r"[0-9a-fA-F]{32}")
# Last.fm prints dates as "02 Mar 2024, 17:57" (ghan.nl) or "02 Mar 2024 17:57" (lastfm-to-csv).
_LASTFM_DATE = re.compile(r"([0-9]{1,2}) ([A-Za-z]{3}) ([0-9]{4}),? ([0-9]{1,2}):([0-9]{2})")
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}


def shown(value: object, limit: int = 60) -> str:
    """A value as a skip detail shows it: its repr, cut short (a huge number by its size)."""
    if value.__class__ is int and value.bit_length() > 64:
        return f"an integer of about {int(value.bit_length() * 0.30103) + 1} digits"
    if value.__class__ is Decimal:  # how a JSON number too long for int() arrives
        return f"a number of {len(value.as_tuple().digits)} digits"
    if value.__class__ is str and len(value) > 4 * limit:
        value = value[: 4 * limit]  # repr of a 60 MB string would cost 60 MB for 60 characters
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def name_too_long(text: str) -> bool:
    """Whether ``text`` is longer, in UTF-8, than Koito's alias keys can index (MAX_NAME_BYTES)."""
    size = len(text)
    if size <= MAX_NAME_BYTES // 4:  # 4 bytes a character at most
        return False
    return size > MAX_NAME_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES


def parse_mbid(value: object) -> str | None:
    """A MusicBrainz ID in canonical lower case; None for what Go's uuid.Parse rejects, or nil."""
    if value.__class__ is not str:
        return None
    # A history names the same artists and releases over and over: remember recent answers.
    known = _known_mbids.get(value, _UNKNOWN)
    if known is _UNKNOWN:
        if len(_known_mbids) >= _KNOWN_MBIDS_MAX:
            _known_mbids.clear()
        known = _known_mbids[value] = _parse_mbid(value)
    return known


_UNKNOWN = object()
# A big history names ~40,000 distinct MBIDs; a full cache is emptied and refilled. ~10 MB at most:
# a canonical MBID maps to itself, so most entries hold one string.
_KNOWN_MBIDS_MAX = 1 << 16
_known_mbids: dict[str, str | None] = {}


def _parse_mbid(value: str) -> str | None:
    size = len(value)
    if size == 36:
        candidate = value
    elif size == 32 and _HEX32.fullmatch(value):
        candidate = f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"
    elif size == 38 and value[0] == "{" and value[-1] == "}":
        candidate = value[1:-1]
    elif size == 45 and value[:9].lower() == "urn:uuid:":
        candidate = value[9:]
    else:
        return None
    if not _CANONICAL_UUID.fullmatch(candidate):
        return None
    if not candidate.islower():
        candidate = candidate.lower()
    return None if candidate == NIL_MBID else candidate


def parse_mbids(values: object) -> tuple[str, ...]:
    """The valid MBIDs of a list, in order and without repeats; anything else gives ()."""
    if values.__class__ is not list:
        return ()
    found: list[str] = []
    for value in values:
        mbid = parse_mbid(value)
        if mbid is not None and mbid not in found:
            found.append(mbid)
    return tuple(found)


def unix_seconds(value: object) -> int | None:
    """A JSON number of unix seconds, floored to whole seconds; None when it is no number, or
    one no clock could hold (a 5,000-digit integer). Whether the time is plausible (after 1970,
    not in the future) is the reader's judgement: see ``ReadContext.outside``."""
    kind = value.__class__
    if kind is int:
        seconds = value
    elif kind is float and math.isfinite(value):
        seconds = math.floor(value)
    else:
        return None
    return seconds if -MAX_TIME_MAGNITUDE < seconds < MAX_TIME_MAGNITUDE else None


def digits_seconds(value: object) -> int | None:
    """Unix seconds written as a decimal string (Last.fm's ``uts``), or as a JSON number."""
    if value.__class__ is str:
        if not (value.isascii() and value.isdigit()) or len(value) > 19:
            return None
        value = int(value)
    return unix_seconds(value)


def iso_seconds(value: object, *, naive_is_utc: bool = False) -> int | None:
    """An ISO 8601 / RFC 3339 time, floored to whole seconds.

    Without an offset a time is unusable (RFC 3339 requires one), unless the format documents UTC,
    as Spotify's account-data history does.
    """
    if value.__class__ is not str:
        return None
    try:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            if not naive_is_utc:
                return None
            moment = moment.replace(tzinfo=UTC)
        return unix_seconds(math.floor(moment.timestamp()))
    except (ValueError, OverflowError):
        return None


def lastfm_date_seconds(value: object) -> int | None:
    """Last.fm's printed UTC date ("02 Mar 2024, 17:57"), with English month names in any locale."""
    if value.__class__ is not str:
        return None
    match = _LASTFM_DATE.fullmatch(value.strip())
    if match is None:
        return None
    month = _MONTHS.get(match[2].lower())
    if month is None:
        return None
    day, year, hour, minute = int(match[1]), int(match[3]), int(match[4]), int(match[5])
    try:
        moment = datetime(year, month, day, hour, minute, tzinfo=UTC)
    except ValueError:
        return None
    return unix_seconds(int(moment.timestamp()))


def whole_number(value: object) -> int:
    """A non-negative JSON number, floats floored; 0 for anything else (a count of ms, say)."""
    kind = value.__class__
    if kind is int:
        return value if value > 0 else 0
    if kind is float and math.isfinite(value) and value > 0:
        return math.floor(value)
    return 0


def duration_seconds(value: object, *, per_second: int = 1) -> int:
    """A track length from a JSON number of seconds (or of ms, ``per_second=1000``); 0 = unknown.

    Integer division as in Koito; a length that does not fit Koito's 32-bit column is unknown.
    """
    seconds = whole_number(value) // per_second
    return seconds if seconds <= MAX_DURATION_S else 0
