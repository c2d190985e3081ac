"""The Koito importer's rules for a Koito-export listen, against any store.

Koito's importer of its own exports (docs/koito-reference.md §3.6). The export carries MBIDs and
aliases that Koito trusts as they are: no parsing, no MusicBrainz. An entity is looked up by its
MBID when it has one (and then only by MBID: a miss creates a same-named duplicate,
docs/koito-reference.md §10 T3), otherwise by its primary alias. New entities get every exported
alias, re-sourced as Koito does (artists and albums "MusicBrainz", tracks "Import"); an image URL
is kept as the entity's image source, with an image id only for http(s) URLs
(docs/koito-reference.md §10 T18).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from koito_assets.catalog.locks import (
    album_lock,
    album_mbid_lock,
    artist_mbid_lock,
    artist_name_lock,
    track_lock,
    track_mbid_lock,
)
from koito_assets.catalog.lookup_key import primary_alias
from koito_assets.catalog.store import find_or_create
from koito_assets.sources.record import KoitoEntity, KoitoListen

if TYPE_CHECKING:
    from koito_assets.catalog.store import CatalogStore


def _aliases(entity: KoitoEntity) -> list[str]:
    return [a.alias for a in entity.aliases]


def _image_source(entity: KoitoEntity) -> str | None:
    return entity.image_url or None


def _artist(store: CatalogStore, entity: KoitoEntity) -> int:
    name = primary_alias(entity).strip()
    mbid = entity.mbid

    def find() -> int | None:
        return store.artist_by_mbid(mbid) if mbid else store.artist_by_name(name)

    def locks() -> list[int]:
        keys = [artist_name_lock(n.strip()) for n in (name, *_aliases(entity))]
        return keys + ([artist_mbid_lock(mbid)] if mbid else [])

    return find_or_create(
        store,
        locks,
        find,
        lambda: store.create_artist(
            name, mbid, _aliases(entity), "MusicBrainz", _image_source(entity)
        ),
    )


def resolve_artists(store: CatalogStore, listen: KoitoListen) -> list[int]:
    """The exported artists in export order; position 0 is the primary artist."""
    return list(dict.fromkeys(_artist(store, entity) for entity in listen.artists))


def resolve_album(store: CatalogStore, listen: KoitoListen, artists: Sequence[int]) -> int:
    album = listen.album
    title = primary_alias(album)
    mbid = album.mbid

    def find() -> int | None:
        return store.album_by_mbid(mbid) if mbid else store.album_by_title(title, artists[0])

    return find_or_create(
        store,
        lambda: [album_lock(title, a) for a in artists] + ([album_mbid_lock(mbid)] if mbid else []),
        find,
        lambda: store.create_album(
            title,
            mbid,
            artists,
            album.various_artists,
            _aliases(album),
            "MusicBrainz",
            _image_source(album),
        ),
    )


def resolve_track(
    store: CatalogStore, listen: KoitoListen, artists: Sequence[int], album: int
) -> int:
    track = listen.track
    title = primary_alias(track)
    mbid = track.mbid

    def find() -> int | None:
        return store.track_by_mbid(mbid) if mbid else store.track_by_info(title, album, artists)

    return find_or_create(
        store,
        lambda: [track_lock(title, album)] + ([track_mbid_lock(mbid)] if mbid else []),
        find,
        lambda: store.create_track(
            title, mbid, album, artists, track.duration_s, _aliases(track), "Import"
        ),
    )
