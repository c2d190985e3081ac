"""Spotify account-data history: ``StreamingHistory*.json`` and ``StreamingHistory_music_*.json``.

A JSON array of ``{endTime, artistName, trackName, msPlayed}``; Koito has no importer for it, so
we follow its Spotify rules where they apply. ``endTime`` ("2025-01-05 21:14") is UTC per Spotify's
documentation (Maloja reads it as server-local time, which is wrong), minute precision. There is
no ``reason_end``, skip flag, incognito flag or album, so every play rule becomes ListenBrainz's
threshold, ``msPlayed >= 30000`` (the trackdone rule cannot be evaluated, and reading "no reason"
as "not done" would drop the whole file), and durations stay unknown (a play's length is not the
track's). A podcast file (``StreamingHistory_podcast_*.json``: podcastName, episodeName) has the
same shape; its entries are skipped as ``podcast_or_audiobook``. Client ``spotify``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from koito_assets.sources.context import ReadContext
from koito_assets.sources.errors import BadRecord
from koito_assets.sources.fields import duration_seconds, iso_seconds, shown, whole_number
from koito_assets.sources.reader import Record, new_scrobble, numbered, open_json
from koito_assets.sources.record import Skipped, SkipReason

FORMAT = "spotify_account"
CLIENT = "spotify"
THIRTY_SECONDS_MS = 30_000


def read(path: Path, ctx: ReadContext) -> Iterator[Record]:
    """Every play of the file, in file order."""
    with open_json(path) as stream:
        yield from numbered(stream, stream.items(), normalise, ctx)
        stream.end()


def looks_like(item: Any) -> bool:
    """Whether the first element of a JSON array is an account-data play (for detection)."""
    return item.__class__ is dict and "endTime" in item and "msPlayed" in item


def normalise(item: Any, position: str, ctx: ReadContext) -> Record:
    """One play as a Scrobble, or the reason it is skipped."""
    if item.__class__ is not dict:
        raise BadRecord("a play is not an object")
    track = ctx.text(item.get("trackName"), "trackName")
    artist = ctx.text(item.get("artistName"), "artistName")
    if not track and (item.get("episodeName") or item.get("podcastName")):
        return Skipped(SkipReason.PODCAST_OR_AUDIOBOOK, position)
    listened_at = iso_seconds(item.get("endTime"), naive_is_utc=True)
    if listened_at is None:
        return Skipped(
            SkipReason.UNPARSABLE_TIME, position, f"endTime {shown(item.get('endTime'))}"
        )
    if not artist or artist.isspace():
        return Skipped(SkipReason.MISSING_ARTIST, position)
    if not track or track.isspace():
        return Skipped(SkipReason.MISSING_TITLE, position)
    ms_played = whole_number(item.get("msPlayed"))
    if ms_played < THIRTY_SECONDS_MS:
        return Skipped(SkipReason.NOT_A_PLAY, position, f"{ms_played} ms")
    if not ctx.after <= listened_at <= ctx.before:
        return ctx.outside(listened_at, position)
    return new_scrobble(
        (
            listened_at,
            artist,
            track,
            "",
            (),
            (),
            (),
            None,
            None,
            None,  # no album, no MBIDs
            0,
            CLIENT,
            position,
            None,
            # endTime is when the play ended; this is how long it lasted
            duration_seconds(ms_played, per_second=1000),
        ),
        ctx,
    )
