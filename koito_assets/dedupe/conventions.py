"""Which source an export is, and the constants that place a play in time.

A *source* is the kind of export a listen was loaded from. Listens of one source are matched by
Koito's own rule (same track, same second), so real repeats stay; a listen of another source
may be the same play stamped differently, and is matched by where the play started.

How a time relates to the play is per source and, where a source relays others' plays
(ListenBrainz, Koito), per client: ``koito_import.time_convention`` in
sql/koito_import/0050_cross_source_dedupe.sql holds the table, because the database applies it
to listens already stored as well as to new ones. :func:`time_convention` is the same table for
readers of this code; a test keeps the two equal. docs/cross-source-dedupe.md says why.
"""

from __future__ import annotations

from typing import Final

from koito_assets.sources import (
    koito_export,
    lastfm,
    lastfm_csv,
    lastfmstats,
    listenbrainz,
    maloja,
    spotify_account,
    spotify_extended,
    spotify_zip,
)

SOURCES: Final = ("spotify", "lastfm", "listenbrainz", "maloja", "koito")

SOURCE_OF_FORMAT: Final[dict[str, str]] = {
    spotify_extended.FORMAT: "spotify",
    spotify_account.FORMAT: "spotify",
    spotify_zip.FORMAT: "spotify",
    lastfm.FORMAT: "lastfm",
    lastfm_csv.GHAN_FORMAT: "lastfm",
    lastfm_csv.LASTFM_TO_CSV_FORMAT: "lastfm",
    lastfmstats.FORMAT: "lastfm",
    listenbrainz.ZIP_FORMAT: "listenbrainz",
    listenbrainz.JSON_FORMAT: "listenbrainz",
    maloja.FORMAT: "maloja",
    koito_export.FORMAT: "koito",
}

# How a listen's time relates to its play: 's' the start, 'e' the end; a source that mixes both
# is read its usual way first, the other way second: 'se' mostly the start, 'es' mostly the end.
OWN_CONVENTION: Final[dict[str, str]] = {
    "spotify": "e",  # ts and endTime: when the stream stopped
    "lastfm": "s",  # a scrobble's timestamp: when the track started
    "maloja": "se",  # clients send the start; its Spotify imports took ts, the end
}
# ListenBrainz and Koito keep the time of whoever recorded the play, which the client names.
RELAYED_CONVENTION: Final[dict[str, str]] = {
    "spotify": "e",  # Koito's Spotify import: ts
    "lastfm": "s",
    "ListenBrainz lastfm importer v2": "s",  # Last.fm's uts
    "maloja": "se",
    "Maloja Archive Importer": "se",
    "listenbrainz": "es",  # ListenBrainz's Spotify reader: played_at, mostly the end
    "ListenBrainz Archive Importer": "es",  # its Spotify file import (ts), and others
}
RELAYED_DEFAULT: Final = "s"  # scrobblers submit the start, as ListenBrainz asks


def time_convention(source: str, client: str | None) -> str:
    """'s', 'e', 'se' or 'es' for a listen of ``source`` recorded by ``client``."""
    if source in OWN_CONVENTION:
        return OWN_CONVENTION[source]
    return RELAYED_CONVENTION.get(client or "", RELAYED_DEFAULT)


# A Spotify account-data time (endTime) and a lastfm-to-csv date have no seconds: a time on a
# whole minute of these sources may be anywhere in that minute.
MINUTE_SOURCES: Final = ("spotify", "lastfm")
MINUTE_SLACK_S: Final = 59
# An end-stamped play whose length nobody knows may have started up to this long before.
UNKNOWN_LENGTH_S: Final = 600
# How far after a new listen's start its counterpart's end stamp is looked for when the new
# listen's length is unknown (with a known length L: 1.5 L, for versions of different length).
LONGEST_PLAY_S: Final = 1200
# Two plays of one track cannot start closer together than a play of it lasts, so the tolerance
# never exceeds three quarters of the shorter track's duration (of the shorter play's length
# when no duration is known), down to this floor: a back-to-back repeat is not taken for the
# same play, and a quarter is left for clock offsets and pauses.
MIN_TOLERANCE_S: Final = 10
# A play whose length is within this of its track's duration needs no provenance row: the
# track's duration places it as well.
PLAYED_DIFFERS_S: Final = 10
# Koito keeps one listen of a track per second; a new play whose second holds another play of
# the track from another source is stored up to this many seconds later.
MAX_SHIFT_S: Final = 5
# An artist name that is really a list of artists, as a service that joins its credits into
# one string writes it ("A, B", "A & B", "A x B"): its parts count as names of the track too.
LIST_SEPARATORS: Final = (
    r"\s*(,|;|/|&|\+|\sx\s|\sand\s|\svs\.?\s|\sfeat\.?\s|\sft\.?\s|\sfeaturing\s|\swith\s)\s*"
)
# Whether another source's listen is near a file is asked this far around the file's time
# range: the reach of the windows above for plays up to an hour long.
RANGE_MARGIN_S: Final = 7200


def source_of_format(format_name: str) -> str:
    """The source an export format belongs to (``spotify_extended`` -> ``spotify``)."""
    try:
        return SOURCE_OF_FORMAT[format_name]
    except KeyError:
        raise ValueError(f"no source known for the format {format_name!r}") from None


def skip_reason(source: str) -> str:
    """The skip reason of a record whose play ``source`` had already loaded."""
    return f"same_play_from_{source}"


def may_need_provenance(format_name: str) -> bool:
    """Whether a file of this format can hold listens whose client alone misplaces them.

    Sources whose client Koito fixes ('spotify', 'lastfm', 'maloja') are read from the client
    when the listen has no row; their rows are needed only for plays shorter than their track
    (Spotify's ms_played). ListenBrainz and Koito exports carry other clients: always.
    """
    return format_name not in (
        lastfm.FORMAT,
        lastfm_csv.GHAN_FORMAT,
        lastfm_csv.LASTFM_TO_CSV_FORMAT,
        lastfmstats.FORMAT,
        maloja.FORMAT,
    )
