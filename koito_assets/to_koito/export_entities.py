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
flag unset.

Speed: a listen's track, album and artists are the same every time the track is played, so each
track's part of the listen object is built once, as UTF-8 bytes, and reused (its album's and
artists' parts shared with the other tracks that have them). The tracks of a page of listens
that are not built yet are fetched in one query per table. Memory stays bounded whatever the
shape of the library: built tracks live in two generations of at most ``TRACK_CACHE_BYTES`` each
(their bytes, shared parts counted once per generation); when the young one is full it becomes
the old one and the previous old one is dropped, while every track a page uses is moved to (or
built into) the young one, so the tracks played often are rarely rebuilt.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from json.encoder import encode_basestring  # the C encoder of one JSON string, non-ASCII kept
from typing import NamedTuple

import psycopg

from koito_assets.catalog.pg_arrays import int_array
from koito_assets.db.sql_files import sql_text

# Go's unicode.IsSpace, the whitespace Koito trims: Python's str.strip() would also strip the
# ASCII information separators U+001C–U+001F, which Koito keeps.
GO_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
NIL_UUID = "00000000-0000-0000-0000-000000000000"
# Built tracks per generation (two are kept). A typical track costs ~0.4 kB here (its album's and
# artists' parts being shared), so one generation holds ~100,000 tracks. Albums, artists and
# credit lists are fewer; a full cache of them is emptied instead (~0.4 kB per entry).
TRACK_CACHE_BYTES = 40 << 20
ENTRY_OVERHEAD = 200  # a built track's dict slot, tuple and object headers
ENTITY_CACHE_LIMIT = 25_000

AliasRow = tuple[str, str, bool]  # alias, source, is_primary


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
    head: str  # ``{"image_url":…,"mbid":…,"aliases":``
    tail: str  # ``,"various_artists":…}``
    aliases: CleanAliases | None  # None: no usable alias
    part: bytes | None  # the album object, when it has a usable alias (shared by its tracks)


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


def _json(value: str | None) -> str:
    return "null" if value is None else encode_basestring(value)


def clean_mbid(value: str | None, repairs: Repairs, kind: str, entity_id: int) -> str | None:
    """A UUID string, or None for none and for the nil UUID."""
    if value == NIL_UUID:
        repairs.note(Repair.NIL_MBID, kind, entity_id)
        return None
    return value or None


def clean_aliases(
    rows: Sequence[AliasRow], repairs: Repairs, kind: str, entity_id: int
) -> CleanAliases | None:
    """Trimmed, non-blank, distinct aliases with exactly one primary; None when none is usable.

    ``rows`` come ordered primary first, then Canonical, then by text (the SQL's order), so the
    first usable one is the one to make primary."""
    if len(rows) == 1:  # the common case: one name, marked primary, nothing to repair
        alias, source, primary = rows[0]
        if primary and alias and alias[0] not in GO_SPACE and alias[-1] not in GO_SPACE:
            return CleanAliases(
                (alias,),
                '[{"alias":'
                + encode_basestring(alias)
                + ',"source":'
                + encode_basestring(source)
                + ',"is_primary":true}]',
            )
    kept: dict[str, str] = {}
    marked_primary = 0
    first_marked = False
    for alias, source, primary in rows:
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
    objects = ",".join(
        '{"alias":'
        + encode_basestring(name)
        + ',"source":'
        + encode_basestring(source)
        + (',"is_primary":true}' if number == 0 else ',"is_primary":false}')
        for number, (name, source) in enumerate(kept.items())
    )
    return CleanAliases(tuple(kept), "[" + objects + "]")


def _single_alias(title: str) -> CleanAliases:
    return CleanAliases(
        (title,),
        '[{"alias":' + encode_basestring(title) + ',"source":"Canonical","is_primary":true}]',
    )


class _Track(NamedTuple):
    mbid: str | None
    duration: int
    release_id: int
    artist_ids: list[int]
    aliases: CleanAliases | None


# A track's part of a listen object, in three pieces of UTF-8: ``"track":{…},"album":``, the album
# object, ``,"artists":[…]}``. Tracks of one album, and tracks with the same credits, share the
# last two (one bytes object each), which keeps a built track at ~0.3 kB.
Fragment = tuple[bytes, bytes, bytes] | SkipReason


class EntityWriter:
    """Per track id, the end of a listen object (``"track":…,"album":…,"artists":[…]}``, see
    ``Fragment``) or the reason the listen is skipped. :meth:`prepare` gives them for a page."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn
        self.cache_bytes = TRACK_CACHE_BYTES
        self.entity_cache_limit = ENTITY_CACHE_LIMIT
        self.repairs = Repairs()
        self.built = 0  # track fragments built, rebuilds included
        self._young: dict[int, Fragment] = {}
        self._old: dict[int, Fragment] = {}
        self._young_bytes = 0
        self._young_shared: set[int] = set()  # ids of the shared parts counted in _young_bytes
        self._albums: dict[int, CleanAlbum] = {}
        self._artists: dict[int, CleanArtist | object] = {}
        self._credit_parts: dict[tuple[int, ...], bytes] = {}

    def create_credit_table(self) -> None:
        """Each track's artists in credit order, as a temporary table for this transaction."""
        has_cache = self.conn.execute(
            "SELECT to_regclass('koito_import.track_lookup') IS NOT NULL"
        ).fetchone()[0]
        self.conn.execute(sql_text("export", "credits" if has_cache else "credits_without_cache"))
        self.conn.execute("CREATE INDEX ON export_credits (track_id)")
        self.conn.execute("ANALYZE export_credits")

    def prepare(self, track_ids: set[int]) -> dict[int, Fragment]:
        """A mapping that holds the fragment of every one of ``track_ids``."""
        young = self._young
        missing = track_ids - young.keys()
        if not missing:
            return young
        if self._young_bytes > self.cache_bytes:
            self._old, young = young, {}
            self._young, self._young_bytes, self._young_shared = young, 0, set()
            missing = set(track_ids)
        old = self._old
        for track_id in list(missing):
            fragment = old.get(track_id)
            if fragment is not None:
                self._admit(track_id, fragment)
                missing.discard(track_id)
        if missing:
            tracks = self._fetch_tracks(missing)
            self._fetch_albums({t.release_id for t in tracks.values()})
            self._fetch_artists({a for t in tracks.values() for a in t.artist_ids})
            for track_id, track in tracks.items():
                self._admit(track_id, self._fragment(track_id, track))
            self.built += len(tracks)
        return young

    def _admit(self, track_id: int, fragment: Fragment) -> None:
        """Put a built track into the young generation and count what it keeps alive."""
        self._young[track_id] = fragment
        size = ENTRY_OVERHEAD
        if fragment.__class__ is tuple:
            track, album, artists = fragment  # type: ignore[misc]
            size += len(track)
            shared = self._young_shared
            for part in (album, artists):
                if id(part) not in shared:  # alive while young holds it, so its id is unique
                    shared.add(id(part))
                    size += len(part) + ENTRY_OVERHEAD // 4
        self._young_bytes += size

    def _aliases(self, kind: str, ids: list[int]) -> dict[int, list[AliasRow]]:
        grouped: dict[int, list[AliasRow]] = {}
        for owner, alias, source, primary in self.conn.execute(
            sql_text("export", f"{kind}_aliases"), {"ids": int_array(ids)}
        ):
            rows = grouped.get(owner)
            if rows is None:
                grouped[owner] = [(alias, source, primary)]
            else:
                rows.append((alias, source, primary))
        return grouped

    def _fetch_tracks(self, wanted: set[int]) -> dict[int, _Track]:
        ids = list(wanted)
        rows = self.conn.execute(sql_text("export", "tracks"), {"ids": int_array(ids)}).fetchall()
        aliases = self._aliases("track", ids)
        repairs = self.repairs
        return {
            track_id: _Track(
                clean_mbid(mbid, repairs, "track", track_id),
                duration,
                release_id,
                artist_ids,
                clean_aliases(aliases.get(track_id, ()), repairs, "track", track_id),
            )
            for track_id, mbid, duration, release_id, artist_ids in rows
        }

    def _fetch_albums(self, needed: set[int]) -> None:
        ids = list(_missing(self._albums, needed, self.entity_cache_limit))
        if not ids:
            return
        aliases = self._aliases("release", ids)
        repairs = self.repairs
        for release_id, mbid, image, various in self.conn.execute(
            sql_text("export", "releases"), {"ids": int_array(ids)}
        ):
            mbid = clean_mbid(mbid, repairs, "album", release_id)
            head = '{"image_url":' + encode_basestring(image) + ',"mbid":' + _json(mbid)
            tail = ',"various_artists":' + ("true}" if various else "false}")
            clean = clean_aliases(aliases.get(release_id, ()), repairs, "album", release_id)
            part = None if clean is None else (head + ',"aliases":' + clean.json + tail).encode()
            self._albums[release_id] = CleanAlbum(head + ',"aliases":', tail, clean, part)

    def _fetch_artists(self, needed: set[int]) -> None:
        ids = list(_missing(self._artists, needed, self.entity_cache_limit))
        if not ids:
            return
        aliases = self._aliases("artist", ids)
        repairs = self.repairs
        for artist_id, mbid, image in self.conn.execute(
            sql_text("export", "artists"), {"ids": int_array(ids)}
        ):
            clean = clean_aliases(aliases.get(artist_id, ()), repairs, "artist", artist_id)
            if clean is None:
                self._artists[artist_id] = NAMELESS
                continue
            mbid = clean_mbid(mbid, repairs, "artist", artist_id)
            self._artists[artist_id] = CleanArtist(
                mbid,
                '{"image_url":'
                + encode_basestring(image)
                + ',"mbid":'
                + _json(mbid)
                + ',"is_primary":',
                ',"aliases":' + clean.json + "}",
                frozenset(clean.names),
                clean.names[0],
            )

    def _credited(self, track_id: int, artist_ids: list[int]) -> tuple[int, ...]:
        """The track's artists as Koito will resolve them: named, each once, in credit order."""
        listed: list[CleanArtist] = []
        kept: list[int] = []
        for artist_id in artist_ids:
            artist = self._artists.get(artist_id, NAMELESS)
            if artist is NAMELESS:
                self.repairs.note(Repair.NAMELESS_ARTIST, "track", track_id)
                continue
            assert isinstance(artist, CleanArtist)
            if listed and any(_same_to_koito(earlier, artist) for earlier in listed):
                self.repairs.note(Repair.REPEATED_ARTIST, "track", track_id)
                continue
            listed.append(artist)
            kept.append(artist_id)
        return tuple(kept)

    def _artists_part(self, credited: tuple[int, ...]) -> bytes:
        """``,"artists":[…]}``, shared by every track with the same credits."""
        part = self._credit_parts.get(credited)
        if part is None:
            if len(self._credit_parts) >= self.entity_cache_limit:
                self._credit_parts.clear()
            objects = ",".join(
                artist.head + ("true" if number == 0 else "false") + artist.tail
                for number, artist in enumerate(self._artists[a] for a in credited)  # type: ignore[union-attr]
            )
            part = self._credit_parts[credited] = (',"artists":[' + objects + "]}").encode()
        return part

    def _fragment(self, track_id: int, track: _Track) -> Fragment:
        if track.aliases is None:
            return SkipReason.TRACK_WITHOUT_TITLE
        credited = self._credited(track_id, track.artist_ids)
        if not credited:
            return SkipReason.NO_ARTIST
        album = self._albums[track.release_id]
        album_part = album.part
        if album_part is None:
            self.repairs.note(Repair.ALBUM_TITLED_AFTER_TRACK, "album", track.release_id)
            album_part = (
                album.head + _single_alias(track.aliases.names[0]).json + album.tail
            ).encode()
        track_part = (
            '"track":{"mbid":'
            + _json(track.mbid)
            + ',"duration":'
            + str(track.duration)
            + ',"aliases":'
            + track.aliases.json
            + '},"album":'
        ).encode()
        return track_part, album_part, self._artists_part(credited)


def _missing(cache: dict, needed: set[int], limit: int) -> set[int]:
    """The ``needed`` keys ``cache`` lacks; all of them after emptying a cache that would
    outgrow ``limit`` (so memory stays bounded and every needed key is there afterwards)."""
    missing = needed - cache.keys()
    if missing and len(cache) + len(missing) > limit:
        cache.clear()
        return needed
    return missing


def _same_to_koito(earlier: CleanArtist, later: CleanArtist) -> bool:
    """Whether Koito's importer could resolve both to one artist: by MBID when one is given,
    else by any alias equal to the name."""
    if earlier.mbid and later.mbid:
        return earlier.mbid == later.mbid
    if later.mbid is None and later.name in earlier.names:
        return True
    return earlier.mbid is None and earlier.name in later.names
