"""Track, album and artists of exported listens, as JSON Koito's importer reads without tripping.

Koito's importer of export files trusts what it reads, and some of what a database may hold
makes it fail or go wrong. Each case is either repaired in the file or the listen is left out
with a counted reason; nothing here changes the database:

- an alias with surrounding spaces is trimmed (Koito looks an artist up by the untrimmed name and
  saves it trimmed, so it made a new artist at every listen); aliases equal after trimming merge;
- a blank alias is dropped (Koito's alias insert rejects it and aborts the file);
- exactly one alias per entity is primary: the one marked primary, else a Canonical one, else
  the first by text (Koito takes the primary alias as the name; with none it aborts the file for
  an artist or track, and files an album under "" where it is never found again);
- an MBID is a UUID string or null, never "" and never the nil UUID (which Koito would look up);
- an artist without any usable alias is left off the listen's artists (it has no name to give);
- an artist that Koito's matching would resolve to an artist already listed on the listen (same
  MBID, or without an MBID and named by an alias of the other) is listed once: Koito would
  otherwise credit the same artist twice and fail to find the track again, making a new one per
  listen;
- an album without any usable alias is titled after its track (Koito's own rule for album-less
  scrobbles), so Koito finds it again;
- a listen whose track has no usable alias (``track_without_title``) or whose artists are all
  nameless (``no_artist``; Koito panics on an empty artist list) is skipped.

Artists are written in credit order (credits.sql), the primary artist first with ``is_primary``
set: Koito's importer takes position 0 as the primary artist, and its own exporter leaves the
flag unset. Entities are fetched a page of listens at a time and kept in bounded caches, so
memory does not grow with the library.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import NamedTuple

import psycopg

from koito_assets.db.sql_files import sql_text

# Go's unicode.IsSpace, the whitespace Koito trims: Python's str.strip() would also strip the
# ASCII information separators U+001C–U+001F, which Koito keeps.
GO_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
NIL_UUID = str(uuid.UUID(int=0))
CANONICAL = "Canonical"
_CACHE_LIMIT = 50_000  # entries per cache; a full cache is emptied (a page refills what it needs)

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class SkipReason(Enum):
    """Why a listen was left out of the file."""

    TRACK_WITHOUT_TITLE = "track_without_title"
    NO_ARTIST = "no_artist"


class Repair(StrEnum):
    """What was repaired in the file (counted once per entity, or per track for its credits)."""

    TRIMMED_ALIAS = "trimmed_alias"
    BLANK_ALIAS = "blank_alias"
    CHOSEN_PRIMARY_ALIAS = "chosen_primary_alias"
    EXTRA_PRIMARY_ALIAS = "extra_primary_alias"
    NIL_MBID = "nil_mbid"
    NAMELESS_ARTIST = "nameless_artist"
    REPEATED_ARTIST = "repeated_artist"
    ALBUM_TITLED_AFTER_TRACK = "album_titled_after_track"


class CleanAliases(NamedTuple):
    """An entity's usable aliases: ``names[0]`` is the primary one; the JSON array to write."""

    names: tuple[str, ...]
    json: str


class CleanArtist(NamedTuple):
    mbid: str | None
    head: str  # the artist object up to its is_primary value
    tail: str  # the rest: ``,"aliases":[…]}``
    names: frozenset[str]
    name: str


class CleanAlbum(NamedTuple):
    mbid: str | None
    image_url: str
    various_artists: bool
    aliases: CleanAliases | None  # None: no usable alias


NAMELESS = object()  # an artist without any usable alias


@dataclass
class Repairs:
    """Counts of repairs, each entity counted once even when a cache refetches it."""

    counts: Counter[str] = field(default_factory=Counter)
    _seen: set[tuple[str, str, int]] = field(default_factory=set)

    def note(self, repair: Repair, kind: str, entity_id: int) -> None:
        key = (repair.value, kind, entity_id)
        if key not in self._seen:
            self._seen.add(key)
            self.counts[repair.value] += 1


def clean_mbid(value: str | None, repairs: Repairs, kind: str, entity_id: int) -> str | None:
    """A UUID string, or None for none and for the nil UUID."""
    if value == NIL_UUID:
        repairs.note(Repair.NIL_MBID, kind, entity_id)
        return None
    return value or None


def clean_aliases(
    aliases: Sequence[str] | None,
    sources: Sequence[str] | None,
    primaries: Sequence[bool] | None,
    repairs: Repairs,
    kind: str,
    entity_id: int,
) -> CleanAliases | None:
    """Trimmed, non-blank, distinct aliases with exactly one primary; None when none is usable.

    ``aliases`` come ordered primary first, then Canonical, then by text (the SQL's order), so
    the first usable one is the one to make primary."""
    if not aliases:
        return None
    kept: dict[str, str] = {}
    marked_primary = 0
    first_marked = False
    for alias, source, primary in zip(aliases, sources, primaries, strict=True):
        trimmed = alias.strip(GO_SPACE)
        if not trimmed:
            repairs.note(Repair.BLANK_ALIAS, kind, entity_id)
            continue
        if trimmed != alias:
            repairs.note(Repair.TRIMMED_ALIAS, kind, entity_id)
        if primary:
            marked_primary += 1
            first_marked = first_marked or not kept
        kept.setdefault(trimmed, source)
    if not kept:
        return None
    if marked_primary > 1:
        repairs.note(Repair.EXTRA_PRIMARY_ALIAS, kind, entity_id)
    if not first_marked:
        repairs.note(Repair.CHOSEN_PRIMARY_ALIAS, kind, entity_id)
    names = tuple(kept)
    objects = [
        {"alias": name, "source": source, "is_primary": number == 0}
        for number, (name, source) in enumerate(kept.items())
    ]
    return CleanAliases(names, _encode(objects))


def _single_alias(title: str) -> CleanAliases:
    return CleanAliases(
        (title,), _encode([{"alias": title, "source": CANONICAL, "is_primary": True}])
    )


class _Track(NamedTuple):
    mbid: str | None
    duration: int
    release_id: int
    artist_ids: list[int]
    aliases: CleanAliases | None


class EntityWriter:
    """Per track id, the end of a listen object (``"track":…,"album":…,"artists":[…]}``) or the
    reason the listen is skipped. Call :meth:`prepare` with a page's track ids first."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn
        self.repairs = Repairs()
        self.fragments: dict[int, str | SkipReason] = {}
        self._albums: dict[int, CleanAlbum] = {}
        self._artists: dict[int, CleanArtist | object] = {}

    def create_credit_table(self) -> None:
        """Each track's artists in credit order, as a temporary table for this transaction."""
        has_cache = self.conn.execute(
            "SELECT to_regclass('koito_import.track_lookup') IS NOT NULL"
        ).fetchone()[0]
        self.conn.execute(sql_text("export", "credits" if has_cache else "credits_without_cache"))
        self.conn.execute("CREATE INDEX ON export_credits (track_id)")
        self.conn.execute("ANALYZE export_credits")

    def prepare(self, track_ids: Iterable[int]) -> None:
        """Fetch and build what is missing for these tracks, in one query per entity kind."""
        missing = {t for t in track_ids if t not in self.fragments}
        if not missing:
            return
        if len(self.fragments) + len(missing) > _CACHE_LIMIT:
            self.fragments.clear()
        tracks = self._fetch_tracks(missing)
        self._fetch_albums({t.release_id for t in tracks.values()} - self._albums.keys())
        self._fetch_artists(
            {a for t in tracks.values() for a in t.artist_ids} - self._artists.keys()
        )
        for track_id, track in tracks.items():
            self.fragments[track_id] = self._fragment(track_id, track)

    def _fetch_tracks(self, ids: set[int]) -> dict[int, _Track]:
        rows = self.conn.execute(sql_text("export", "tracks"), {"ids": list(ids)}).fetchall()
        tracks = {}
        for track_id, mbid, duration, release_id, artist_ids, aliases, sources, primaries in rows:
            tracks[track_id] = _Track(
                clean_mbid(mbid, self.repairs, "track", track_id),
                duration,
                release_id,
                artist_ids,
                clean_aliases(aliases, sources, primaries, self.repairs, "track", track_id),
            )
        return tracks

    def _fetch_albums(self, ids: set[int]) -> None:
        if not ids:
            return
        if len(self._albums) + len(ids) > _CACHE_LIMIT:
            self._albums.clear()
        rows = self.conn.execute(sql_text("export", "releases"), {"ids": list(ids)}).fetchall()
        for release_id, mbid, image, various, aliases, sources, primaries in rows:
            self._albums[release_id] = CleanAlbum(
                clean_mbid(mbid, self.repairs, "album", release_id),
                image,
                various,
                clean_aliases(aliases, sources, primaries, self.repairs, "album", release_id),
            )

    def _fetch_artists(self, ids: set[int]) -> None:
        if not ids:
            return
        if len(self._artists) + len(ids) > _CACHE_LIMIT:
            self._artists.clear()
        rows = self.conn.execute(sql_text("export", "artists"), {"ids": list(ids)}).fetchall()
        for artist_id, mbid, image, aliases, sources, primaries in rows:
            clean = clean_aliases(aliases, sources, primaries, self.repairs, "artist", artist_id)
            if clean is None:
                self._artists[artist_id] = NAMELESS
                continue
            mbid = clean_mbid(mbid, self.repairs, "artist", artist_id)
            head = '{"image_url":' + _encode(image) + ',"mbid":' + _encode(mbid) + ',"is_primary":'
            self._artists[artist_id] = CleanArtist(
                mbid, head, ',"aliases":' + clean.json + "}", frozenset(clean.names), clean.names[0]
            )

    def _credited(self, track_id: int, artist_ids: list[int]) -> list[CleanArtist]:
        """The track's artists as Koito will resolve them: named, each once, in credit order."""
        listed: list[CleanArtist] = []
        for artist_id in artist_ids:
            artist = self._artists.get(artist_id, NAMELESS)
            if artist is NAMELESS:
                self.repairs.note(Repair.NAMELESS_ARTIST, "track", track_id)
                continue
            assert isinstance(artist, CleanArtist)
            if any(_same_to_koito(earlier, artist) for earlier in listed):
                self.repairs.note(Repair.REPEATED_ARTIST, "track", track_id)
                continue
            listed.append(artist)
        return listed

    def _fragment(self, track_id: int, track: _Track) -> str | SkipReason:
        if track.aliases is None:
            return SkipReason.TRACK_WITHOUT_TITLE
        artists = self._credited(track_id, track.artist_ids)
        if not artists:
            return SkipReason.NO_ARTIST
        album = self._albums[track.release_id]
        album_aliases = album.aliases
        if album_aliases is None:
            self.repairs.note(Repair.ALBUM_TITLED_AFTER_TRACK, "album", track.release_id)
            album_aliases = _single_alias(track.aliases.names[0])
        credited = ",".join(
            artist.head + ("true" if number == 0 else "false") + artist.tail
            for number, artist in enumerate(artists)
        )
        return (
            '"track":{"mbid":'
            + _encode(track.mbid)
            + ',"duration":'
            + str(track.duration)
            + ',"aliases":'
            + track.aliases.json
            + '},"album":{"image_url":'
            + _encode(album.image_url)
            + ',"mbid":'
            + _encode(album.mbid)
            + ',"aliases":'
            + album_aliases.json
            + ',"various_artists":'
            + ("true" if album.various_artists else "false")
            + '},"artists":['
            + credited
            + "]}"
        )


def _same_to_koito(earlier: CleanArtist, later: CleanArtist) -> bool:
    """Whether Koito's importer could resolve both to one artist: by MBID when one is given,
    else by any alias equal to the name."""
    if earlier.mbid and later.mbid:
        return earlier.mbid == later.mbid
    if later.mbid is None and later.name in earlier.names:
        return True
    return earlier.mbid is None and earlier.name in later.names
