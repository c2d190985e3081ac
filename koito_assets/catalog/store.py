"""The questions Koito's resolution rules ask of the catalogue, and the changes they make.

The rules (rules.py, koito_export_rules.py) are written once against :class:`CatalogStore`. Two
stores answer them: :class:`~koito_assets.catalog.db_store.DbStore` asks PostgreSQL one
question at a time (the single-listen path, our reference), and
:class:`~koito_assets.catalog.batch_store.BatchStore` answers from state loaded in bulk and
writes its changes set-based (the bulk path). Lookup semantics are Koito's
(docs/koito-reference.md §2.5): exact, case-sensitive text; an entity without a primary alias is
invisible; several matches → the lowest id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Protocol, TypeVar

from koito_assets.enrich.musicbrainz import MusicBrainz

T = TypeVar("T")


class CatalogStore(Protocol):
    musicbrainz: MusicBrainz
    separators: Sequence[str]

    def lock(self, keys: Iterable[int]) -> bool:
        """Serialise the creation that follows with every other resolution (see locks.py).

        True when a lookup may now answer differently (another resolution committed before we
        got the locks), so the caller must look again before creating."""

    # -- artists ----------------------------------------------------------------------------
    def artist_by_mbid(self, mbid: str) -> int | None: ...
    def artist_by_name(self, name: str) -> int | None:
        """An artist having ``name`` as any alias, primary or not."""

    def artist_mbid(self, artist_id: int) -> str | None: ...
    def artist_aliases(self, artist_id: int) -> Sequence[str]: ...
    def create_artist(
        self,
        name: str,
        mbid: str | None,
        aliases: Sequence[str] = (),
        alias_source: str = "MusicBrainz",
        image_source: str | None = None,
    ) -> int: ...
    def set_artist_mbid(self, artist_id: int, mbid: str) -> None: ...
    def add_artist_aliases(self, artist_id: int, aliases: Sequence[str], source: str) -> None: ...

    # -- releases ---------------------------------------------------------------------------
    def album_by_mbid(self, mbid: str) -> int | None: ...
    def album_by_title(self, title: str, artist_id: int) -> int | None:
        """A release whose primary title is ``title`` and that is linked to the artist."""

    def album_by_titles_without_mbid(self, titles: Sequence[str], artist_id: int) -> int | None: ...
    def album_mbid(self, album_id: int) -> str | None: ...
    def create_album(
        self,
        title: str,
        mbid: str | None,
        artist_ids: Sequence[int],
        various_artists: bool = False,
        aliases: Sequence[str] = (),
        alias_source: str = "MusicBrainz",
        image_source: str | None = None,
    ) -> int: ...
    def set_album_mbid(self, album_id: int, mbid: str) -> None: ...
    def add_album_aliases(self, album_id: int, aliases: Sequence[str], source: str) -> None: ...
    def link_artists_to_album(self, album_id: int, artist_ids: Sequence[int]) -> None:
        """Missing artist↔release links, not primary (Koito's AddArtistsToAlbum)."""

    # -- tracks -----------------------------------------------------------------------------
    def track_by_mbid(self, mbid: str) -> int | None: ...
    def track_by_info(self, title: str, album_id: int, artist_ids: Sequence[int]) -> int | None:
        """A track of the release with primary title ``title``, credited to every artist given."""

    def track_state(self, track_id: int) -> tuple[str | None, int]:
        """(recording MBID, duration in seconds) of a track."""

    def create_track(
        self,
        title: str,
        mbid: str | None,
        album_id: int,
        artist_ids: Sequence[int],
        duration_s: int,
        aliases: Sequence[str] = (),
        alias_source: str = "Import",
    ) -> int: ...
    def set_track_mbid(self, track_id: int, mbid: str) -> None: ...
    def set_track_duration(self, track_id: int, duration_s: int) -> None: ...


def find_or_create(
    store: CatalogStore,
    locks: Callable[[], Iterable[int]],
    find: Callable[[], T | None],
    create: Callable[[], T],
) -> T:
    """Look up; on a miss take the creation's locks, look up again (someone may have created it
    meanwhile), and only then create. ``locks`` is only called on a miss: most lookups hit."""
    found = find()
    if found is not None:
        return found
    if store.lock(locks()):
        found = find()
    return found if found is not None else create()
