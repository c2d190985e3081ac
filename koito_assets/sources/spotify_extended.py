"""Spotify extended streaming history: ``Streaming_History_Audio_*.json``, older ``endsong_*.json``.

A JSON array of plays. Koito reads ``ts``, the track, album-artist and album names, ``reason_end``
and ``ms_played`` (docs/koito-reference.md §3.2); the artist string goes to the catalog's feat.
parsing, client ``spotify``, no MBIDs.

Decisions, each against what the files hold (docs/koito-reference.md §3.2):

* ``listened_at`` is ``ts`` as it is, although Spotify writes when the stream *stopped*: Koito
  and ListenBrainz both store ``ts`` unchanged, so the same play imported from Spotify, from a
  ListenBrainz export or earlier by Koito itself keeps one timestamp and deduplicates.
* The play rule is ``KOITO_SPOTIFY_PLAY_RULE``:
  ``trackdone`` (Koito's, the default): ``reason_end == "trackdone"``;
  ``30s``: ``ms_played >= 30000``;
  ``listenbrainz``: ListenBrainz's importer rule: a play shorter than 30 s is dropped when it was
  skipped or its ``reason_end`` is a user or error stop (or null); 30 s or more always counts,
  and a short track that ended by itself (``trackdone``) counts.
* Private-session plays (``incognito_mode: true``): Koito ignores the field and imports them, so
  under ``trackdone`` and ``30s`` we do too; under ``listenbrainz`` they are skipped as
  ``incognito``, because ListenBrainz discards them and that rule means "count as ListenBrainz".
* Podcast episodes and audiobook chapters (no track name, episode or audiobook fields set) are
  ``podcast_or_audiobook``, where Koito drops them silently for their empty names.
* ``duration_s`` is ``ms_played // 1000`` (Koito's integer division) only when the play ended
  with ``trackdone``: then it is the track's length. Other accepted plays (possible under ``30s``
  and ``listenbrainz``) stopped early, so their length stays unknown rather than wrong.
* Precedence when several reasons apply: malformed, podcast, time, artist, title, incognito,
  play rule, time window: so ``outside_time_window`` counts only plays that would otherwise load.
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

FORMAT = "spotify_extended"
CLIENT = "spotify"
SPOKEN_WORD_FIELDS = (
    "episode_name",
    "episode_show_name",
    "spotify_episode_uri",
    "audiobook_title",
    "audiobook_uri",
    "audiobook_chapter_uri",
    "audiobook_chapter_title",
)
# reason_end values that make a play under 30 s a skip in ListenBrainz's importer (a null one too).
LISTENBRAINZ_STOPS = frozenset(
    {
        "fwdbtn",
        "backbtn",
        "clickrow",
        "clickside",
        "endplay",
        "playbtn",
        "remote",
        "logout",
        "popup",
        "trackerror",
        "unexpected-exit",
        "unexpected-exit-while-paused",
        "unknown",
    }
)
THIRTY_SECONDS_MS = 30_000


def read(path: Path, ctx: ReadContext) -> Iterator[Record]:
    """Every play of the file, in file order."""
    with open_json(path) as stream:
        yield from numbered(stream, stream.items(), normalise, ctx)
        stream.end()


def looks_like(item: Any) -> bool:
    """Whether the first element of a JSON array is an extended-history play (for detection)."""
    return (
        item.__class__ is dict
        and "ts" in item
        and ("ms_played" in item or "master_metadata_track_name" in item)
    )


def normalise(item: Any, position: str, ctx: ReadContext) -> Record:
    """One play as a Scrobble, or the reason it is skipped."""
    if item.__class__ is not dict:
        raise BadRecord("a play is not an object")
    track = ctx.text(item.get("master_metadata_track_name"), "master_metadata_track_name")
    artist = ctx.text(
        item.get("master_metadata_album_artist_name"), "master_metadata_album_artist_name"
    )
    album = ctx.text(
        item.get("master_metadata_album_album_name"), "master_metadata_album_album_name"
    )
    reason_end = item.get("reason_end")
    ms_played = whole_number(item.get("ms_played"))

    if not track and any(item.get(name) for name in SPOKEN_WORD_FIELDS):
        return Skipped(SkipReason.PODCAST_OR_AUDIOBOOK, position)
    listened_at = iso_seconds(item.get("ts"))
    if listened_at is None:
        return Skipped(SkipReason.UNPARSABLE_TIME, position, f"ts {shown(item.get('ts'))}")
    if not artist or artist.isspace():
        return Skipped(SkipReason.MISSING_ARTIST, position)
    if not track or track.isspace():
        return Skipped(SkipReason.MISSING_TITLE, position)
    rule = ctx.spotify_play_rule
    if rule == "listenbrainz" and item.get("incognito_mode"):
        return Skipped(SkipReason.INCOGNITO, position)
    if not _is_play(rule, item, reason_end, ms_played):
        detail = f"reason_end {shown(reason_end)}, {ms_played} ms"
        return Skipped(SkipReason.NOT_A_PLAY, position, detail)
    if not ctx.after <= listened_at <= ctx.before:
        return ctx.outside(listened_at, position)
    duration = duration_seconds(ms_played, per_second=1000) if reason_end == "trackdone" else 0
    return new_scrobble(
        (
            listened_at,
            artist,
            track,
            album,
            (),
            (),
            (),
            None,
            None,
            None,  # Spotify has no MBIDs
            duration,
            CLIENT,
            position,
            None,
            # ts is when the play ended; this is how long it lasted
            duration_seconds(ms_played, per_second=1000),
        ),
        ctx,
    )


def _is_play(rule: str, item: dict[str, Any], reason_end: Any, ms_played: int) -> bool:
    if rule == "trackdone":
        return reason_end == "trackdone"
    if ms_played >= THIRTY_SECONDS_MS:
        return True
    if rule == "30s":
        return False
    # listenbrainz, as its importer tests (truthiness included): a short play counts unless it was
    # skipped or stopped; a play with no reason_end key at all is not "stopped", a null one is.
    stopped = "reason_end" in item and (
        reason_end is None or (reason_end.__class__ is str and reason_end in LISTENBRAINZ_STOPS)
    )
    return not (item.get("skipped") or stopped)
