"""Koito's entity resolution for a scrobble (SubmitListen), against any store.

Koito's rules: docs/koito-reference.md §2.2–§2.9. Deliberate departures (docs/design.md §5): the
base artist comes first (docs/design.md §5.1): names are matched in Koito's order, which also picks
the artist a release is looked up by, and only the finished list is put base first, which moves the
is_primary flags and nothing else; an artist's existing MBID is never overwritten by a name match
(docs/design.md §5.4); names are trimmed before they are looked up, not only when created (Koito
looks up " X" and creates "X", so such a name made a new duplicate at every listen); an artist that
two inputs resolve to is listed once (Koito then fails on a duplicate key:
docs/koito-reference.md §10 T9, docs/design.md §5.11); a Koito-export record's duration also fills
an unknown one (Koito's importer does not fill durations, docs/design.md §5.12). Everything else
follows Koito, quirks included. No image look-ups (a separate backfill) and none of Koito's
statistics queries.

Every "look up, else create" goes through store.find_or_create: look up; on a miss take the
creation's locks; look up again, since another resolution may have created it; then create.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from koito_assets.catalog import koito_export_rules
from koito_assets.catalog.artist_parsing import Parsed, base_first, equal_fold, parsed_names
from koito_assets.catalog.locks import (
    album_lock,
    album_mbid_lock,
    artist_mbid_lock,
    artist_name_lock,
    track_lock,
    track_mbid_lock,
)
from koito_assets.catalog.store import CatalogStore, find_or_create
from koito_assets.catalog.validation import InvalidRecord
from koito_assets.enrich.musicbrainz import MbArtist, MusicBrainzError
from koito_assets.sources.record import Scrobble


def unique_ids(ids: Sequence[int]) -> list[int]:
    """``ids`` without repeats, first occurrence kept (the first is the primary artist)."""
    return list(dict.fromkeys(ids))


# -- artists (docs/koito-reference.md §2.4) -----------------------------------------------------


class Artists(NamedTuple):
    """A record's artists: ``ids`` base artist first (the first is the primary,
    docs/design.md §5.1), and ``album_artist``, the first in Koito's order, by which Koito
    looks its release up."""

    ids: list[int]
    album_artist: int


def _parsed(store: CatalogStore, record: Scrobble) -> Parsed:
    return parsed_names(record.artist, record.track, store.separators)


def _in_given_order(names: Sequence[str]) -> Parsed:
    """Names given in order (an explicit list): Koito's order is the base-first order."""
    return tuple((name, at) for at, name in enumerate(names))


def _alias_or_create(store: CatalogStore, mbid: str, mb: MbArtist, names: Sequence[str]) -> int:
    """Koito's resolveAliasOrCreateArtist once MusicBrainz has answered."""

    def find() -> int | None:
        found = store.artist_by_mbid(mbid)  # another resolution may have made it meanwhile
        if found is not None:
            return found
        for alias in mb.aliases:
            found = store.artist_by_name(alias)
            if found is not None and store.artist_mbid(found) is None:
                store.set_artist_mbid(found, mbid)
                store.add_artist_aliases(found, mb.aliases, "MusicBrainz")
                return found
        return None

    def create() -> int:
        canonical = mb.aliases[0] if mb.aliases else mb.name
        for alias in mb.aliases:
            if any(equal_fold(alias, name) for name in names):
                canonical = alias  # Koito keeps the last alias that matches a submitted name
        return store.create_artist(canonical, mbid, mb.aliases, "MusicBrainz")

    def locks() -> list[int]:
        return [artist_mbid_lock(mbid), *(artist_name_lock(a.strip()) for a in mb.aliases)]

    return find_or_create(store, locks, find, create)


def _mapped_artist(store: CatalogStore, name: str, mbid: str, names: Sequence[str]) -> int:
    """One (name, MBID) mapping: by MBID, else by name (taking the MBID if it has none)."""
    name = name.strip()

    def find() -> int | None:
        found = store.artist_by_mbid(mbid)
        if found is None and name:
            found = store.artist_by_name(name)
            if found is not None and store.artist_mbid(found) is None:
                store.set_artist_mbid(found, mbid)  # never overwrite an MBID: docs/design.md §5.4
        return found

    found = find()
    if found is not None:
        return found
    try:
        return _alias_or_create(store, mbid, store.musicbrainz.artist(mbid), names)
    except MusicBrainzError:
        pass
    if not name:
        raise InvalidRecord("an artist mapping has an empty name and MusicBrainz cannot name it")
    return find_or_create(
        store,
        lambda: [artist_mbid_lock(mbid), artist_name_lock(name)],
        find,
        lambda: store.create_artist(name, mbid),
    )


def _selected_names(store: CatalogStore, selected: Sequence[int]) -> list[str]:
    names: list[str] = []
    for artist_id in selected:
        names.extend(store.artist_aliases(artist_id))
    return names


def _match_names(
    store: CatalogStore, names: Sequence[str], existing: Sequence[int]
) -> list[tuple[int, int]]:
    """Koito's matchArtistsByNames: find or create each name, skipping ones already selected;
    (position in ``names``, artist) pairs."""
    out: list[tuple[int, int]] = []
    known = _selected_names(store, existing)
    for at, raw in enumerate(names):
        name = raw.strip()
        if not name or any(equal_fold(name, other) for other in known):
            continue
        artist = find_or_create(
            store,
            lambda: [artist_name_lock(name)],
            lambda: store.artist_by_name(name),
            lambda: store.create_artist(name, None),
        )
        out.append((at, artist))
        known.extend(store.artist_aliases(artist))
    return out


def match_by_names(store: CatalogStore, names: Sequence[str], existing: Sequence[int]) -> list[int]:
    """Koito's matchArtistsByNames: the artists of ``names`` in their order."""
    return [artist for _, artist in _match_names(store, names, existing)]


def _match_parsed(
    store: CatalogStore, parsed: Parsed, existing: Sequence[int]
) -> tuple[list[int], list[int]]:
    """Names matched in Koito's order, as Koito matches them; (artists in Koito's order, the same
    base first)."""
    pairs = _match_names(store, [name for name, _ in parsed], existing)
    ranks = [parsed[at][1] for at, _ in pairs]
    koito = [artist for _, artist in pairs]
    return koito, [koito[at] for at in base_first(ranks)]


def _match_by_mbids(
    store: CatalogStore, record: Scrobble, result: Sequence[int]
) -> tuple[list[int], list[int]]:
    """Koito's matchArtistsByMBID, as (Koito's order, base first). A MusicBrainz failure falls
    back to names, dropping this phase's earlier matches, as Koito does: the names are matched
    skipping those matches (not the earlier phases' artists), so an artist this phase found by
    MBID is lost altogether."""
    phase: list[int] = []
    for mbid in record.artist_mbids:
        if any(store.artist_mbid(a) == mbid for a in (*result, *phase)):
            continue
        found = store.artist_by_mbid(mbid)
        if found is not None:
            phase.append(found)
            continue
        parsed = (
            _in_given_order(record.artist_names) if record.artist_names else _parsed(store, record)
        )
        names = [name for name, _ in parsed]
        try:
            phase.append(_alias_or_create(store, mbid, store.musicbrainz.artist(mbid), names))
        except MusicBrainzError:
            return _match_parsed(store, parsed, phase)
    return phase, phase


def resolve_artists(store: CatalogStore, record: Scrobble) -> Artists:
    """The record's artists (Koito's AssociateArtists). Matching runs in Koito's order, so it
    finds and creates what Koito does; the list comes out base artist first."""
    if record.koito is not None:
        ids = koito_export_rules.resolve_artists(store, record.koito)
        return Artists(ids, ids[0])
    koito: list[int] = []  # Koito's result, in Koito's order
    ours: list[int] = []  # the same artists, base first
    for name, mbid in record.artist_mbid_mappings:
        artist = _mapped_artist(store, name, mbid, record.artist_names)
        koito.append(artist)
        ours.append(artist)
    if len(record.artist_mbids) > len(koito):
        in_koito_order, base_first_order = _match_by_mbids(store, record, koito)
        koito += in_koito_order
        ours += base_first_order
    if len(record.artist_names) > len(koito):
        named = match_by_names(store, record.artist_names, koito)
        koito += named
        ours += named
    if not koito:
        explicit = _in_given_order(record.artist_names)
        parsed = tuple((name, len(explicit) + rank) for name, rank in _parsed(store, record))
        koito, ours = _match_parsed(store, explicit + parsed, [])
    if not koito:
        raise InvalidRecord(f"no artist name can be read from {record.artist!r}")
    return Artists(unique_ids(ours), koito[0])


# -- album (docs/koito-reference.md §2.6, §2.7) -------------------------------------------------


def _release_group_aliases(store: CatalogStore, album: int, group_mbid: str | None) -> None:
    if not group_mbid:
        return
    try:
        titles = store.musicbrainz.release_group_titles(group_mbid)
    except MusicBrainzError:
        return  # Koito only logs this
    store.add_album_aliases(album, titles, "MusicBrainz")


def _album_by_title(store: CatalogStore, record: Scrobble, artists: Artists) -> int:
    """Koito's matchAlbumByTitle: an empty album is named after the track."""
    title = record.album or record.track
    mbid = record.release_mbid

    def find() -> int | None:
        found = store.album_by_mbid(mbid) if mbid else None  # made meanwhile by someone else
        if found is None:
            found = store.album_by_title(title, artists.album_artist)
            if found is not None and mbid and store.album_mbid(found) is None:
                store.set_album_mbid(found, mbid)
        return found

    def locks() -> list[int]:
        return [album_lock(title, a) for a in artists.ids] + (
            [album_mbid_lock(mbid)] if mbid else []
        )

    return find_or_create(store, locks, find, lambda: store.create_album(title, mbid, artists.ids))


def _album_from_musicbrainz(store: CatalogStore, record: Scrobble, artists: Artists) -> int:
    """Koito's createOrUpdateAlbumWithMbzReleaseID."""
    mbid = record.release_mbid
    assert mbid is not None
    try:
        release = store.musicbrainz.release(mbid)
    except MusicBrainzError:
        return _album_by_title(store, record, artists)
    titles = list(dict.fromkeys(t for t in (release.title, record.album) if t))

    def find() -> int | None:
        found = store.album_by_mbid(mbid)
        if found is not None:
            return found
        found = store.album_by_titles_without_mbid(titles, artists.album_artist)
        if found is not None:
            store.set_album_mbid(found, mbid)
            _release_group_aliases(store, found, record.release_group_mbid)
        return found

    def create() -> int:
        various = "Various Artists" in release.artist_credit_names
        album = store.create_album(release.title, mbid, artists.ids, various)
        _release_group_aliases(store, album, record.release_group_mbid)
        return album

    def locks() -> list[int]:
        return [album_mbid_lock(mbid)] + [album_lock(t, a) for t in titles for a in artists.ids]

    return find_or_create(store, locks, find, create)


def resolve_album(store: CatalogStore, record: Scrobble, artists: Artists) -> int:
    """The record's release (Koito's AssociateAlbum), then its artist links (AddArtistsToAlbum)."""
    if record.koito is not None:
        return koito_export_rules.resolve_album(store, record.koito, artists.ids)
    if record.release_mbid:
        album = store.album_by_mbid(record.release_mbid)
        if album is None:
            album = _album_from_musicbrainz(store, record, artists)
    else:
        album = _album_by_title(store, record, artists)
    # No lock: a link only adds a way to find an existing release, and a release created
    # concurrently under another artist is exactly what the other order of the two would give.
    store.link_artists_to_album(album, artists.ids)
    return album


# -- track and duration (docs/koito-reference.md §2.8, §2.9) ------------------------------------


def _track_by_info(
    store: CatalogStore, record: Scrobble, artists: Sequence[int], album: int
) -> int:
    mbid = record.recording_mbid
    recording_title: list[str] = []  # asked of MusicBrainz at most once

    def find() -> int | None:
        if mbid:
            found = store.track_by_mbid(mbid)  # made meanwhile by someone else
            if found is not None:
                return found
        found = store.track_by_info(record.track, album, artists)
        if found is not None or not mbid:
            return found
        if not recording_title:
            try:
                recording_title.append(store.musicbrainz.recording(mbid).title)
            except MusicBrainzError:
                recording_title.append("")
        if recording_title[0]:
            found = store.track_by_info(recording_title[0], album, artists)
            if found is not None and store.track_state(found)[0] in (None, mbid):
                return found
        return None

    def create() -> int:
        return store.create_track(record.track, mbid, album, artists, record.duration_s)

    found = find()
    if found is not None:
        return found
    locks = [track_lock(record.track, album)]
    if mbid:
        locks.append(track_mbid_lock(mbid))
        if recording_title and recording_title[0]:
            locks.append(track_lock(recording_title[0], album))
    if store.lock(locks):  # the locks depend on MusicBrainz's title, hence no find_or_create
        found = find()
    return found if found is not None else create()


def resolve_track(store: CatalogStore, record: Scrobble, artists: Sequence[int], album: int) -> int:
    """The record's track (Koito's AssociateTrack)."""
    if record.koito is not None:
        return koito_export_rules.resolve_track(store, record.koito, artists, album)
    mbid = record.recording_mbid
    if mbid:
        found = store.track_by_mbid(mbid)
        if found is not None:
            return found  # even on another release: docs/koito-reference.md §10 T11
    track = _track_by_info(store, record, artists, album)
    if mbid and store.track_state(track)[0] is None:
        store.set_track_mbid(track, mbid)
    return track


def fill_duration_from_musicbrainz(store: CatalogStore, record: Scrobble, track: int) -> None:
    """A track of unknown length, heard with no duration, takes MusicBrainz's length."""
    if record.koito is not None or record.duration_s:
        return
    mbid, duration = store.track_state(track)
    if duration or not mbid:
        return
    try:
        length_s = store.musicbrainz.recording(mbid).length_ms // 1000
    except MusicBrainzError:
        return
    if length_s > 0:
        store.set_track_duration(track, length_s)


def fill_duration(store: CatalogStore, record: Scrobble, track: int) -> None:
    """Koito's duration rule: only an unknown (0) duration is ever filled."""
    if record.duration_s > 0:
        if store.track_state(track)[1] == 0:
            store.set_track_duration(track, record.duration_s)
        return
    fill_duration_from_musicbrainz(store, record, track)


def resolve_record(store: CatalogStore, record: Scrobble) -> tuple[list[int], int, int]:
    """(artists base first, release, track) of one record, all three phases in a row."""
    artists = resolve_artists(store, record)
    album = resolve_album(store, record, artists)
    return artists.ids, album, resolve_track(store, record, artists.ids, album)
