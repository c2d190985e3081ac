"""Last.fm history as lastfmstats.com exports it: ``{"username": …, "scrobbles": [...]}``.

Each scrobble is ``{"artist", "album", "albumId"?, "track", "date"}`` with ``date`` in epoch
*milliseconds* (docs/koito-reference.md §3.4). Koito has no importer for it; it is a Last.fm
history, so Koito's Last.fm rules apply (:func:`lastfm.scrobble`): an empty album becomes the track
title, the artist string goes to the catalog's feat. parsing, client ``lastfm``, no duration.
``albumId`` is the Last.fm album MBID when there is one: it is used as the release MBID only when it
is a valid UUID (the site's Spotify variant writes other ids there). The time is floored to whole
seconds; a scrobble without a usable ``date`` is ``unparsable_time``. A ``date`` that reads as a
time since 2002 only in *seconds* (it would be January 1970 in milliseconds) is the wrong unit: it
is skipped as ``time_out_of_range`` and the file gets a note saying so, never imported into 1970.

The top-level key ``scrobbles`` is also Maloja's, so detection tells the two apart by the first
scrobble: Maloja's has ``time`` and a ``track`` object, this one ``date`` and a ``track`` string.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from koito_assets.sources import lastfm
from koito_assets.sources.context import EARLIEST_HISTORY, LOOKS_LIKE_SECONDS, ReadContext
from koito_assets.sources.errors import BadRecord
from koito_assets.sources.fields import shown, unix_seconds
from koito_assets.sources.reader import Record, numbered, open_json
from koito_assets.sources.record import Skipped, SkipReason

FORMAT = "lastfmstats_json"
SCROBBLE_LIST = "scrobbles"


def read(path: Path, ctx: ReadContext) -> Iterator[Record]:
    """Every scrobble of the file, in file order."""
    with open_json(path) as stream:
        for key in stream.members():
            if key == SCROBBLE_LIST:
                yield from numbered(stream, stream.items(), normalise, ctx)
            else:
                stream.value()
        stream.end()


def looks_like(item: Any) -> bool:
    """Whether the first element of ``scrobbles`` is a lastfmstats scrobble (for detection)."""
    return item.__class__ is dict and "date" in item and item.get("track").__class__ is str


def normalise(item: Any, position: str, ctx: ReadContext) -> Record:
    """One scrobble as a Scrobble, or the reason it is skipped."""
    if item.__class__ is not dict:
        raise BadRecord("a scrobble is not an object")
    listened_at = _milliseconds_to_seconds(item.get("date"))
    if listened_at is None:
        return Skipped(SkipReason.UNPARSABLE_TIME, position, f"date {shown(item.get('date'))}")
    if 0 < listened_at < EARLIEST_HISTORY and EARLIEST_HISTORY <= listened_at * 1000 <= ctx.latest:
        ctx.stats.note(LOOKS_LIKE_SECONDS, f"{shown(item.get('date'))} at {position}")
        detail = f"date {shown(item.get('date'))}: seconds, not milliseconds?"
        return Skipped(SkipReason.TIME_OUT_OF_RANGE, position, detail)
    return lastfm.scrobble(
        position,
        ctx,
        listened_at=listened_at,
        artist=ctx.text(item.get("artist"), "artist"),
        track=ctx.text(item.get("track"), "track"),
        album=ctx.text(item.get("album"), "album"),
        album_mbid=item.get("albumId"),
    )


def _milliseconds_to_seconds(value: object) -> int | None:
    """Epoch milliseconds as a JSON number (or a string of digits), floored to whole seconds."""
    if value.__class__ is str and value.isascii() and value.isdigit() and len(value) <= 16:
        value = int(value)
    if value.__class__ is int:
        return unix_seconds(value // 1000)
    if value.__class__ is float and math.isfinite(value):
        return unix_seconds(math.floor(value / 1000))
    return None
