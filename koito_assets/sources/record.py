"""The normalised scrobble every source yields, and the closed set of reasons to skip one.

``Scrobble`` mirrors Koito's submit options (docs/koito-reference.md §2.1). It is a NamedTuple
because a history has millions of them: cheap to build, cheap to hand to COPY. Absent values are
empty: ``""`` for text, ``()`` for lists, ``None`` for MBIDs, ``0`` for an unknown duration. MBIDs
are lower-case canonical UUID strings and never the nil UUID (that means "absent" everywhere in
Koito).
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple


class KoitoAlias(NamedTuple):
    alias: str
    source: str
    is_primary: bool


class KoitoEntity(NamedTuple):
    """An artist, album or track as a Koito export describes it (docs/koito-reference.md §4)."""

    mbid: str | None
    aliases: tuple[KoitoAlias, ...]
    image_url: str = ""
    various_artists: bool = False  # albums only
    duration_s: int = 0  # tracks only


class KoitoListen(NamedTuple):
    """The resolved entities of one Koito-export listen; artists in export order (0: primary)."""

    track: KoitoEntity
    album: KoitoEntity
    artists: tuple[KoitoEntity, ...]


class Scrobble(NamedTuple):
    listened_at: int  # unix seconds, UTC, floored to whole seconds
    artist: str  # the raw artist string (Koito's opts.Artist)
    track: str
    album: str = ""  # "" = none (Koito then names the album after the track)
    artist_names: tuple[str, ...] = ()  # explicit artist list (Koito's ArtistNames)
    artist_mbids: tuple[str, ...] = ()
    artist_mbid_mappings: tuple[tuple[str, str], ...] = ()  # (credit name, artist MBID)
    recording_mbid: str | None = None
    release_mbid: str | None = None
    release_group_mbid: str | None = None
    duration_s: int = 0  # 0 = unknown
    client: str = ""  # "" is stored as NULL
    position: str = ""  # where in the file: "record 12", "listens/2024/3.jsonl line 7"
    koito: KoitoListen | None = None  # only for Koito exports
    # How long this play lasted, when the source says (Spotify's ms_played): with the source's
    # time convention it places the play in time for cross-source matching
    # (docs/cross-source-dedupe.md). Not the track's duration: a skipped play is shorter.
    played_s: int = 0  # 0 = unknown


class SkipReason(StrEnum):
    """Why a record was not imported. A closed set: reports count by these values."""

    NOT_A_PLAY = "not_a_play"  # Spotify: fails the configured play rule
    PODCAST_OR_AUDIOBOOK = "podcast_or_audiobook"
    INCOGNITO = "incognito"
    MISSING_ARTIST = "missing_artist"
    MISSING_TITLE = "missing_title"
    NAME_TOO_LONG = "name_too_long"  # a name PostgreSQL cannot index in Koito's alias keys
    OUTSIDE_TIME_WINDOW = "outside_time_window"
    UNPARSABLE_TIME = "unparsable_time"
    TIME_OUT_OF_RANGE = "time_out_of_range"  # at or before 1970-01-01, or over a day ahead
    NOW_PLAYING = "now_playing"
    MALFORMED_RECORD = "malformed_record"


class Skipped(NamedTuple):
    """A record that was read but not accepted, with where it was and why."""

    reason: SkipReason
    position: str
    detail: str = ""
