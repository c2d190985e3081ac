"""Small name and MBID rules shared by the providers (Koito's, minus its bugs)."""

from __future__ import annotations

import re
from collections.abc import Iterable

NIL_MBID = "00000000-0000-0000-0000-000000000000"
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def real_mbid(mbid: str | None) -> str | None:
    """The MBID in canonical lower case, or None for missing, malformed or the nil UUID.

    Koito queries Subsonic and Last.fm with the nil UUID because its pointer is never nil;
    a nil or malformed MBID identifies nothing, so it is never sent.
    """
    if not mbid:
        return None
    value = mbid.strip().lower()
    if not _UUID.match(value) or value == NIL_MBID:
        return None
    return value


def unique_names(names: Iterable[str]) -> list[str]:
    """Non-blank names, trimmed, without case-insensitive repeats, in the given order."""
    seen: set[str] = set()
    result: list[str] = []
    for name in names:
        cleaned = (name or "").strip()
        key = cleaned.casefold()
        if cleaned and key not in seen:
            seen.add(key)
            result.append(cleaned)
    return result


def ascii_first(names: list[str]) -> list[str]:
    """ASCII-only names before the others (Koito's Deezer order), otherwise keeping the order."""
    return [n for n in names if n.isascii()] + [n for n in names if not n.isascii()]


def same_name(a: str, b: str) -> bool:
    """Case-insensitive equality, as Koito compares provider results with the asked name."""
    return a.strip().casefold() == b.strip().casefold()
