"""Last.fm: Koito's rules for a scrobble, and the lastfm.ghan.nl JSON (``recenttracks-*.json``).

The JSON is an array of API pages, each ``{"track": [...], "@attr": {...}}``. Koito's rules
(docs/koito-reference.md §3.4), shared with the CSV exports: an empty album becomes the track name
(Koito's Last.fm importer does this itself, unlike the others); the artist string goes to the
catalog's feat. parsing, with no explicit artist list; the artist MBID is sent with a (name, MBID)
mapping when it is a valid UUID (Koito always sends one, possibly nil, slot: a nil MBID is absent
here, never a list entry); recording and release MBIDs when valid; client ``lastfm``; no duration.
The time is ``date.uts``, else ``date.#text`` as "02 Mar 2024, 17:57" UTC. An entry without a date
is the "now playing" row (``@attr.nowplaying``), skipped as ``now_playing`` (Koito only logs it).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from koito_assets.sources.context import ReadContext
from koito_assets.sources.errors import BadRecord
from koito_assets.sources.fields import digits_seconds, lastfm_date_seconds, parse_mbid, shown
from koito_assets.sources.jsonstream import JsonStream
from koito_assets.sources.reader import Record, new_scrobble, numbered, open_json
from koito_assets.sources.record import Skipped, SkipReason

FORMAT = "lastfm_json"
CLIENT = "lastfm"


def read(path: Path, ctx: ReadContext) -> Iterator[Record]:
    """Every track of every page, in file order, numbered across pages."""
    with open_json(path) as stream:
        yield from numbered(stream, _tracks(stream), normalise, ctx)
        stream.end()


def looks_like(item: Any) -> bool:
    """Whether the first element of a JSON array is a recent-tracks page (for detection)."""
    return item.__class__ is dict and (
        item.get("track").__class__ is list
        or (item.get("track").__class__ is dict and "@attr" in item)
    )


def scrobble(
    position: str,
    ctx: ReadContext,
    *,
    listened_at: int,
    artist: str,
    track: str,
    album: str,
    artist_mbid: object = None,
    album_mbid: object = None,
    track_mbid: object = None,
) -> Record:
    """Koito's Last.fm rules applied to one scrobble whose fields and time are read."""
    if not artist or artist.isspace():
        return Skipped(SkipReason.MISSING_ARTIST, position)
    if not track or track.isspace():
        return Skipped(SkipReason.MISSING_TITLE, position)
    if not ctx.after <= listened_at <= ctx.before:
        return ctx.outside(listened_at, position)
    mbid = parse_mbid(artist_mbid)
    return new_scrobble(
        (
            listened_at,
            artist,
            track,
            album or track,
            (),
            (mbid,) if mbid else (),
            ((artist, mbid),) if mbid else (),
            parse_mbid(track_mbid),
            parse_mbid(album_mbid),
            None,
            0,
            CLIENT,
            position,
            None,
            0,  # Last.fm does not say how long a play lasted
        ),
        ctx,
    )


def normalise(item: Any, position: str, ctx: ReadContext) -> Record:
    """One track of a recent-tracks page as a Scrobble, or the reason it is skipped."""
    if item.__class__ is not dict:
        raise BadRecord("a track is not an object")
    artist, artist_mbid = _named(item.get("artist"), "artist", ctx)
    album, album_mbid = _named(item.get("album"), "album", ctx)
    track = ctx.text(item.get("name"), "name")
    date = item.get("date")
    attributes = item.get("@attr")
    now_playing = attributes.__class__ is dict and attributes.get("nowplaying") in ("true", True)
    if date is None or now_playing:
        return Skipped(SkipReason.NOW_PLAYING, position)
    if date.__class__ is dict:
        listened_at = digits_seconds(date.get("uts"))
        if listened_at is None:
            listened_at = lastfm_date_seconds(date.get("#text"))
    else:
        listened_at = None
    if listened_at is None:
        return Skipped(SkipReason.UNPARSABLE_TIME, position, f"date {shown(date)}")
    return scrobble(
        position,
        ctx,
        listened_at=listened_at,
        artist=artist,
        track=track,
        album=album,
        artist_mbid=artist_mbid,
        album_mbid=album_mbid,
        track_mbid=item.get("mbid"),
    )


def _tracks(stream: JsonStream) -> Iterator[Any]:
    """The tracks of each page; a page's other keys (``@attr``) are read and ignored."""
    for first in stream.elements():
        if first != "{":
            yield stream.value()  # not a page: the normaliser skips it as malformed
            continue
        for key in stream.members():
            if key == "track" and stream.peek() == "[":
                yield from stream.items()
            elif key == "track" and stream.peek() == "{":
                yield stream.value()  # the API's single-track page form
            else:
                stream.value()


def _named(value: Any, name: str, ctx: ReadContext) -> tuple[str, object]:
    """An ``{"#text", "mbid"}`` object (or the extended API's ``name``) as (text, raw MBID)."""
    if value is None or value.__class__ is str:
        return ctx.text(value, name), None
    if value.__class__ is not dict:
        raise BadRecord(f"{name} is not an object")
    text = value.get("#text")
    if text is None:
        text = value.get("name")
    return ctx.text(text, name), value.get("mbid")
