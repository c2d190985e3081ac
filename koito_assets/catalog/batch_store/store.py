"""The store facade the rules talk to: answers from the loaded states, creations recorded for
the phase's bulk writes, and a live query (counted) for anything the loads did not foresee."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import psycopg

from koito_assets.catalog.batch_store.albums import AlbumState, NewAlbum
from koito_assets.catalog.batch_store.artists import ArtistState, NewArtist
from koito_assets.catalog.batch_store.loaded import PLACEHOLDER_BASE, clean_aliases
from koito_assets.catalog.batch_store.tracks import NewTrack, TrackState
from koito_assets.enrich.musicbrainz import MusicBrainz


class BatchStore:
    """:class:`~koito_assets.catalog.store.CatalogStore` over loaded state; see the module doc."""

    def __init__(
        self, conn: psycopg.Connection, musicbrainz: MusicBrainz, separators: Sequence[str]
    ) -> None:
        self.conn = conn
        self.musicbrainz = musicbrainz
        self.separators = separators
        self.artists = ArtistState()
        self.albums = AlbumState()
        self.tracks = TrackState()
        self.requested_locks: set[int] = set()
        self.live_queries = 0
        self._next = PLACEHOLDER_BASE

    def _placeholder(self) -> int:
        self._next += 1
        return self._next

    def lock(self, keys: Iterable[int]) -> bool:
        # Recorded, not taken: the bulk resolver takes them all in order afterwards, checks its
        # loads and re-runs if they changed. Until then nothing can change what we answer.
        self.requested_locks.update(keys)
        return False

    # -- artists ----------------------------------------------------------------------------
    def artist_by_name(self, name: str) -> int | None:
        if name not in self.artists.by_name:
            self.live_queries += 1
            self.artists.load(self.conn, [name], [])
        return self.artists.by_name[name]

    def artist_by_mbid(self, mbid: str) -> int | None:
        if mbid not in self.artists.by_mbid:
            self.live_queries += 1
            self.artists.load(self.conn, [], [mbid])
        return self.artists.by_mbid[mbid]

    def artist_mbid(self, artist_id: int) -> str | None:
        return self.artists.mbid[artist_id]

    def artist_aliases(self, artist_id: int) -> list[str]:
        return self.artists.aliases[artist_id]

    def create_artist(
        self,
        name: str,
        mbid: str | None,
        aliases: Sequence[str] = (),
        alias_source: str = "MusicBrainz",
        image_source: str | None = None,
    ) -> int:
        state = self.artists
        name = name.strip()
        new = NewArtist(self._placeholder(), name, mbid, image_source)
        state.created.append(new)
        state.mbid[new.id] = mbid
        state.aliases[new.id] = []
        if mbid:
            state.by_mbid[mbid] = new.id
        state.alias_rows[(new.id, name)] = ("Canonical", True)
        state.aliases[new.id].append(name)
        self._ensure_names([name])
        state.add_name(name, new.id)
        if aliases:
            self.add_artist_aliases(new.id, aliases, alias_source)
        return new.id

    def _ensure_names(self, names: Sequence[str]) -> None:
        missing = [n for n in names if n not in self.artists.by_name]
        if missing:
            self.live_queries += 1
            self.artists.load(self.conn, missing, [])

    def set_artist_mbid(self, artist_id: int, mbid: str) -> None:
        self.artists.mbid[artist_id] = mbid
        self.artists.by_mbid[mbid] = artist_id
        if artist_id >= PLACEHOLDER_BASE:
            next(n for n in self.artists.created if n.id == artist_id).mbid = mbid
        else:
            self.artists.mbid_updates[artist_id] = mbid

    def add_artist_aliases(self, artist_id: int, aliases: Sequence[str], source: str) -> None:
        state = self.artists
        cleaned = clean_aliases(aliases)
        self._ensure_names(cleaned)
        for alias in cleaned:
            if alias in state.aliases[artist_id]:
                continue
            state.aliases[artist_id].append(alias)
            state.alias_rows.setdefault((artist_id, alias), (source, False))
            state.add_name(alias, artist_id)

    # -- releases ---------------------------------------------------------------------------
    def album_by_mbid(self, mbid: str) -> int | None:
        if mbid not in self.albums.by_mbid:
            self.live_queries += 1
            self.albums.load(self.conn, [], [mbid])
        return self.albums.by_mbid[mbid]

    def _album_candidates(self, titles: Sequence[str], artist_id: int) -> set[int]:
        missing = [(t, artist_id) for t in titles if (t, artist_id) not in self.albums.pairs]
        if missing and artist_id < PLACEHOLDER_BASE:
            self.live_queries += 1
            self.albums.load(self.conn, missing, [])
        found: set[int] = set()
        for title in titles:
            found |= self.albums.candidates(title, artist_id)
        return found

    def album_by_title(self, title: str, artist_id: int) -> int | None:
        state, pair = self.albums, (title, artist_id)
        loaded = state.pairs.get(pair)
        if loaded is None and artist_id < PLACEHOLDER_BASE:
            self.live_queries += 1
            state.load(self.conn, [pair], [])
            loaded = state.pairs[pair]
        added = state.added.get(pair)
        if not added:
            return min(loaded) if loaded else None
        return min(loaded | added) if loaded else min(added)

    def album_by_titles_without_mbid(self, titles: Sequence[str], artist_id: int) -> int | None:
        found = self._album_candidates(titles, artist_id)
        return min((a for a in found if self.albums.mbid[a] is None), default=None)

    def album_mbid(self, album_id: int) -> str | None:
        return self.albums.mbid[album_id]

    def create_album(
        self,
        title: str,
        mbid: str | None,
        artist_ids: Sequence[int],
        various_artists: bool = False,
        aliases: Sequence[str] = (),
        alias_source: str = "MusicBrainz",
        image_source: str | None = None,
    ) -> int:
        state = self.albums
        new = NewAlbum(self._placeholder(), mbid, various_artists, image_source)
        state.created.append(new)
        state.mbid[new.id] = mbid
        state.titles[new.id] = [title]
        if mbid:
            state.by_mbid[mbid] = new.id
        state.alias_rows[(new.id, title)] = ("Canonical", True)
        for position, artist_id in enumerate(artist_ids):
            state.link(new.id, artist_id, position == 0)
        if aliases:
            self.add_album_aliases(new.id, aliases, alias_source)
        return new.id

    def set_album_mbid(self, album_id: int, mbid: str) -> None:
        self.albums.mbid[album_id] = mbid
        self.albums.by_mbid[mbid] = album_id
        if album_id >= PLACEHOLDER_BASE:
            next(n for n in self.albums.created if n.id == album_id).mbid = mbid
        else:
            self.albums.mbid_updates[album_id] = mbid

    def add_album_aliases(self, album_id: int, aliases: Sequence[str], source: str) -> None:
        for alias in clean_aliases(aliases):
            self.albums.alias_rows.setdefault((album_id, alias), (source, False))

    def link_artists_to_album(self, album_id: int, artist_ids: Sequence[int]) -> None:
        for artist_id in artist_ids:
            self.albums.link(album_id, artist_id, False)

    # -- tracks -----------------------------------------------------------------------------
    def track_by_mbid(self, mbid: str) -> int | None:
        if mbid not in self.tracks.by_mbid:
            self.live_queries += 1
            self.tracks.load(self.conn, [], [mbid])
        return self.tracks.by_mbid[mbid]

    def track_by_info(self, title: str, album_id: int, artist_ids: Sequence[int]) -> int | None:
        state = self.tracks
        if album_id >= PLACEHOLDER_BASE:
            state.pairs.setdefault((title, album_id), set())  # a new release has no tracks yet
        elif (title, album_id) not in state.pairs:
            self.live_queries += 1
            state.load(self.conn, [(title, album_id)], [])
        wanted = set(artist_ids)
        if len(wanted) != len(artist_ids):
            return None  # Koito's count(DISTINCT) = cardinality never holds with a repeat
        best = None
        for candidates in (state.pairs[(title, album_id)], state.added.get((title, album_id), ())):
            for track in candidates:
                if (best is None or track < best) and wanted <= state.credits[track]:
                    best = track
        return best

    def track_state(self, track_id: int) -> tuple[str | None, int]:
        return self.tracks.mbid[track_id], self.tracks.duration[track_id]

    def create_track(
        self,
        title: str,
        mbid: str | None,
        album_id: int,
        artist_ids: Sequence[int],
        duration_s: int,
        aliases: Sequence[str] = (),
        alias_source: str = "Import",
    ) -> int:
        state = self.tracks
        self._next += 1
        new_id = self._next  # as _placeholder(), inline: this runs once per new track
        state.created.append(NewTrack(new_id, title, mbid, album_id, duration_s))
        state.mbid[new_id] = mbid
        state.duration[new_id] = duration_s
        state.credits[new_id] = frozenset(artist_ids)
        if mbid:
            state.by_mbid[mbid] = new_id
        pair = (title, album_id)
        added = state.added.get(pair)
        if added is None:
            state.added[pair] = {new_id}
        else:
            added.add(new_id)
        credit_rows, links, link = state.credit_rows, self.albums.links, self.albums.link
        primary = True
        for artist_id in artist_ids:
            credit_rows[(artist_id, new_id)] = primary
            primary = False
            if (artist_id, album_id) not in links:  # link() checks the same first
                link(album_id, artist_id, False)  # Koito's SaveTrack links them too
        state.alias_rows[(new_id, title)] = ("Canonical", True)
        if aliases:
            for alias in clean_aliases(aliases):
                state.alias_rows.setdefault((new_id, alias), (alias_source, False))
        return new_id

    def set_track_mbid(self, track_id: int, mbid: str) -> None:
        self.tracks.mbid[track_id] = mbid
        self.tracks.by_mbid[mbid] = track_id
        if track_id >= PLACEHOLDER_BASE:
            next(n for n in self.tracks.created if n.id == track_id).mbid = mbid
        else:
            self.tracks.mbid_updates[track_id] = mbid

    def set_track_duration(self, track_id: int, duration_s: int) -> None:
        if self.tracks.duration[track_id] == 0 and duration_s > 0:
            self.tracks.duration[track_id] = duration_s
            self.tracks.duration_updates[track_id] = duration_s
