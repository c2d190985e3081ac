"""Maloja: the export file (``{"scrobbles": [...]}``) and the API's list (``{"list": [...]}``).

Koito's rules (docs/koito-reference.md §3.3): the first artist string holding " • " (a
"Main • Feature" combination) moves to the front and becomes the raw artist; every string is split
on " • " and the names are de-duplicated case-insensitively, keeping the first spelling. The album
is ``album.albumtitle`` ("" when the album is null: the catalog then names it after the track).
Client ``maloja``. Like Koito we ignore ``duration`` (seconds played) and ``track.length``, so
durations stay unknown. Our addition: blank artist strings are dropped before that, and a scrobble
left with none is skipped as missing_artist instead of reaching the catalog.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypedDict

import msgspec

from koito_assets.sources.context import ReadContext
from koito_assets.sources.errors import BadRecord
from koito_assets.sources.fields import MAX_UNIX, shown, unix_seconds
from koito_assets.sources.reader import Record, check_name, new_scrobble, numbered, open_json
from koito_assets.sources.record import Skipped, SkipReason

FORMAT = "maloja"
SCROBBLE_LISTS = ("scrobbles", "list")  # export file, API response
_COMBINATION = " • "


class _Album(TypedDict, total=False):
    albumtitle: Any


class _Track(TypedDict, total=False):
    artists: Any
    title: Any
    album: _Album | None


class _Scrobble(TypedDict, total=False):
    """The keys ``normalise`` reads; msgspec drops the rest (durations, origin, album artists)."""

    time: Any
    track: _Track


# A stretch with any other shape (say a null track) is decoded in full instead: same records.
_decode_scrobbles = msgspec.json.Decoder(list[_Scrobble]).decode


def read(path: Path, ctx: ReadContext) -> Iterator[Record]:
    """Every scrobble of the file, in file order."""
    with open_json(path) as stream:
        for key in stream.members():
            if key in SCROBBLE_LISTS:
                yield from numbered(stream, stream.items(_decode_scrobbles), normalise, ctx)
            else:
                stream.value()
        stream.end()


def normalise(item: Any, position: str, ctx: ReadContext) -> Record:
    """One Maloja scrobble as a Scrobble, or the reason it is skipped."""
    if item.__class__ is not dict:
        raise BadRecord("a scrobble is not an object")
    track = item.get("track")
    if track.__class__ is not dict:
        raise BadRecord("track is not an object")
    artists = track.get("artists")
    # The common case inline (one clean artist, clean text, an int time): this is the hot path.
    single = artists[0] if artists.__class__ is list and len(artists) == 1 else None
    plain = single.__class__ is str and ctx.clean_text
    if plain and _COMBINATION not in single and not single.isspace():
        artist, names = single, (single,)
    else:
        artist, names = _artists(artists, ctx)
    title = track.get("title")
    if title.__class__ is not str or not ctx.clean_text:
        title = ctx.text(title, "title")
    album = track.get("album")
    if album is None:
        album_title = ""
    elif album.__class__ is dict:
        album_title = album.get("albumtitle")
        if album_title.__class__ is not str or not ctx.clean_text:
            album_title = ctx.text(album_title, "albumtitle")
    else:
        raise BadRecord("album is not an object")

    listened_at = item.get("time")
    if listened_at.__class__ is not int or not 0 <= listened_at <= MAX_UNIX:
        listened_at = unix_seconds(listened_at)
    if listened_at is None:
        return Skipped(SkipReason.UNPARSABLE_TIME, position, f"time {shown(item.get('time'))}")
    if not artist:
        return Skipped(SkipReason.MISSING_ARTIST, position)
    if not title or title.isspace():
        return Skipped(SkipReason.MISSING_TITLE, position)
    if not ctx.after <= listened_at <= ctx.before:
        return ctx.outside(listened_at, position)
    return new_scrobble(
        (
            listened_at,
            artist,
            title,
            album_title,
            names,
            (),
            (),
            None,
            None,
            None,  # Maloja has no MBIDs
            0,
            FORMAT,
            position,
            None,
            0,  # Maloja's "duration" is rarely set; the track's length stands in for it
        ),
        ctx,
    )


def _artists(value: Any, ctx: ReadContext) -> tuple[str, tuple[str, ...]]:
    """Koito's Maloja artist rule: (the raw artist string, the explicit names); "" when none."""
    if value.__class__ is not list:
        if value is None:
            return "", ()
        raise BadRecord("artists is not a list")
    strings = []
    for entry in value:
        if entry.__class__ is not str:
            raise BadRecord("an artist is not text")
        entry = ctx.text(entry, "artist")
        if entry and not entry.isspace():
            strings.append(check_name(entry, "artist"))
    if len(strings) == 1 and _COMBINATION not in strings[0]:
        return strings[0], (strings[0],)  # the common case: nothing to move, split or repeat
    if not strings:
        return "", ()
    for index, artist in enumerate(strings):
        if _COMBINATION in artist:
            strings.insert(0, strings.pop(index))
            break
    seen: set[str] = set()
    names = []
    for artist in strings:
        for name in artist.split(_COMBINATION):
            folded = name.lower()
            if folded not in seen and name and not name.isspace():
                seen.add(folded)
                names.append(name)
    return strings[0], tuple(names)


def looks_like(item: Any) -> bool:
    """Whether the first element of a scrobble list is a Maloja scrobble (for detection)."""
    return item.__class__ is dict and "time" in item and item.get("track").__class__ is dict
