"""Releases in a bulk resolution: loaded by MBID and by (title, artist), created and linked in
bulk."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import psycopg

from koito_assets.catalog.batch_store.loaded import (
    PLACEHOLDER_BASE,
    Loaded,
    write_aliases,
    write_mbid_updates,
)
from koito_assets.catalog.pg_arrays import bool_array, int_array, text_array

_LOAD_ALBUMS = """
WITH q AS (SELECT DISTINCT t, a FROM unnest(%(titles)s::text[], %(artists)s::int[]) AS q(t, a)),
     pairs AS (
        SELECT q.t, q.a, ra.release_id AS id
        FROM q
        JOIN release_aliases ra ON ra.alias = q.t AND ra.is_primary
        JOIN artist_releases ar ON ar.release_id = ra.release_id AND ar.artist_id = q.a),
     by_mbid AS (
        SELECT r.musicbrainz_id::text AS m, r.id
        FROM releases r
        WHERE r.musicbrainz_id = ANY(%(mbids)s::uuid[])
          AND EXISTS (SELECT 1 FROM release_aliases p WHERE p.release_id = r.id AND p.is_primary)),
     found AS (SELECT id FROM pairs UNION SELECT id FROM by_mbid)
SELECT 'p', t, a, id, NULL::text, NULL::text[] FROM pairs
UNION ALL SELECT 'm', m, NULL, id, NULL, NULL FROM by_mbid
UNION ALL
SELECT 'i', NULL, NULL, r.id, r.musicbrainz_id::text,
       (SELECT array_agg(ra.alias ORDER BY ra.alias) FROM release_aliases ra
        WHERE ra.release_id = r.id AND ra.is_primary)
FROM releases r WHERE r.id IN (SELECT id FROM found)
"""


@dataclass(slots=True)
class NewAlbum:
    id: int
    mbid: str | None
    various: bool
    image_source: str | None


@dataclass
class AlbumState(Loaded):
    table = "releases"
    pairs: dict[tuple[str, int], set[int]] = field(default_factory=dict)  # loaded from the DB
    added: dict[tuple[str, int], set[int]] = field(default_factory=dict)  # made findable here
    by_mbid: dict[str, int | None] = field(default_factory=dict)
    mbid: dict[int, str | None] = field(default_factory=dict)
    titles: dict[int, list[str]] = field(default_factory=dict)  # primary titles
    created: list[NewAlbum] = field(default_factory=list)
    mbid_updates: dict[int, str] = field(default_factory=dict)
    links: dict[tuple[int, int], bool] = field(default_factory=dict)  # (artist, album) → primary
    alias_rows: dict[tuple[int, str], tuple[str, bool]] = field(default_factory=dict)

    def load(
        self, conn: psycopg.Connection, pairs: Iterable[tuple[str, int]], mbids: Iterable[str]
    ) -> None:
        pairs = [p for p in set(pairs) if p not in self.pairs]
        mbids = list(set(mbids) - self.by_mbid.keys())
        if not pairs and not mbids:
            return
        for pair in pairs:
            self.pairs[pair] = set()
        self.by_mbid.update(dict.fromkeys(mbids))
        params = {
            "titles": text_array(t for t, _ in pairs),
            "artists": int_array(a for _, a in pairs),
            "mbids": text_array(mbids),
        }
        for kind, text, artist_id, album_id, mbid, titles in self._read(conn, _LOAD_ALBUMS, params):
            if kind == "p":
                self.pairs[(text, artist_id)].add(album_id)
            elif kind == "m":
                self.by_mbid[text] = album_id
            else:
                self.mbid[album_id] = mbid
                self.titles[album_id] = list(titles or ())

    def loaded_by_title(self) -> dict[str, set[int]]:
        """Existing releases seen by the loads, by primary title: any of them may be the release
        of a record with that album title, directly or through a link made in this batch."""
        found: dict[str, set[int]] = {}
        for album_id, titles in self.titles.items():
            if album_id < PLACEHOLDER_BASE:
                for title in titles:
                    found.setdefault(title, set()).add(album_id)
        return found

    def candidates(self, title: str, artist_id: int) -> set[int]:
        return self.pairs.get((title, artist_id), set()) | self.added.get((title, artist_id), set())

    def link(self, album_id: int, artist_id: int, primary: bool) -> None:
        if (artist_id, album_id) in self.links:
            return  # made findable already (most tracks re-link what the release step linked)
        self.links[(artist_id, album_id)] = primary
        for title in self.titles.get(album_id, ()):
            self.added.setdefault((title, artist_id), set()).add(album_id)

    def write(self, conn: psycopg.Connection) -> None:
        """Write the changes made here, a few multi-row statements."""
        real = self.real
        if self.created:
            conn.execute(
                "INSERT INTO releases (id, musicbrainz_id, various_artists, image, image_source) "
                "OVERRIDING SYSTEM VALUE "
                "SELECT i, m::uuid, v, CASE WHEN s LIKE 'http%%' THEN gen_random_uuid() END, s "
                "FROM unnest(%s::int[], %s::text[], %s::bool[], %s::text[]) AS u(i, m, v, s)",
                (
                    int_array(real[n.id] for n in self.created),
                    text_array(n.mbid for n in self.created),
                    bool_array(n.various for n in self.created),
                    text_array(n.image_source for n in self.created),
                ),
            )
        write_mbid_updates(conn, self.table, self.mbid_updates, real)

    def write_links(self, conn: psycopg.Connection) -> None:
        """Write the artist links and aliases made here; their releases and artists must exist and
        be locked already (the caller may skip the per-row foreign-key checks)."""
        real = self.real
        if self.links:
            keys = list(self.links)
            conn.execute(
                "INSERT INTO artist_releases (artist_id, release_id, is_primary) "
                "SELECT * FROM unnest(%s::int[], %s::int[], %s::bool[]) ON CONFLICT DO NOTHING",
                (
                    int_array(a for a, _ in keys),
                    int_array(real.get(r, r) for _, r in keys),
                    bool_array(self.links[k] for k in keys),
                ),
            )
        write_aliases(conn, "release_aliases", "release_id", self.alias_rows, real)
