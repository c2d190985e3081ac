"""Records the catalogue refuses, with a reason, before any database work (docs/design.md §5.6).

Koito panics on some of these (docs/koito-reference.md §10 T13) and aborts the whole file on
others; we refuse the one record with a clear message and carry on.
"""

from __future__ import annotations

import re

from koito_assets.catalog.lookup_key import primary_alias
from koito_assets.sources.record import Scrobble

_MBID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class InvalidRecord(ValueError):
    """A record that cannot become a listen; the message says why, in words a user can act on."""


def _texts(record: Scrobble) -> list[str]:
    texts = [record.artist + record.track + record.album + record.client, *record.artist_names]
    texts += [name for name, _ in record.artist_mbid_mappings]
    if record.koito is not None:
        for entity in (record.koito.track, record.koito.album, *record.koito.artists):
            texts += [a.alias for a in entity.aliases] + [entity.image_url]
    return texts


def _mbids(record: Scrobble) -> list[str]:
    found = [*record.artist_mbids, *(m for _, m in record.artist_mbid_mappings)]
    found += [
        m for m in (record.recording_mbid, record.release_mbid, record.release_group_mbid) if m
    ]
    if record.koito is not None:
        k = record.koito
        found += [e.mbid for e in (k.track, k.album, *k.artists) if e.mbid]
    return found


def check_record(record: Scrobble) -> None:
    """Raise InvalidRecord unless the catalogue can resolve ``record``."""
    if record.koito is None and not (
        record.artist_names
        or record.artist_mbid_mappings
        or record.artist_mbids
        or record.recording_mbid
        or record.release_mbid
        or record.release_group_mbid
    ):  # the common case, checked in a few string operations
        if "\x00" in record.artist + record.track + record.album + record.client:
            raise InvalidRecord(
                "the record contains a NUL character, which PostgreSQL text cannot hold"
            )
        if not record.artist.strip():
            raise InvalidRecord("the artist is empty")
        if not record.track.strip():
            raise InvalidRecord("the track title is empty")
        return
    if any("\x00" in text for text in _texts(record)):
        raise InvalidRecord(
            "the record contains a NUL character, which PostgreSQL text cannot hold"
        )
    for mbid in _mbids(record):
        if not _MBID.match(mbid):
            raise InvalidRecord(f"{mbid!r} is not a MusicBrainz id (a lower-case UUID)")
    koito = record.koito
    if koito is not None:
        if not koito.artists:
            raise InvalidRecord("the Koito listen has no artists")
        for number, artist in enumerate(koito.artists, 1):
            if not primary_alias(artist).strip():
                raise InvalidRecord(f"artist {number} of the Koito listen has no primary name")
        if not primary_alias(koito.track).strip():
            raise InvalidRecord("the Koito listen's track has no primary title")
        return
    if not record.artist.strip():
        raise InvalidRecord("the artist is empty")
    if not record.track.strip():
        raise InvalidRecord("the track title is empty")
    if any(not name.strip() for name, _ in record.artist_mbid_mappings):
        raise InvalidRecord("an artist MBID mapping has an empty artist name")
