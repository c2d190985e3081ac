"""The catalogue store that asks PostgreSQL one question at a time: Koito's own way, our reference.

Used by the single-listen path inside one transaction. Each method is one statement (creation:
a few), with Koito's lookup semantics (docs/koito-reference.md §2.5) and none of its statistics
queries, which only feed its UI. Changes are Koito's, too: the same rows, sources and primary flags.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import psycopg

from koito_assets.catalog.locks import LockSet
from koito_assets.enrich.musicbrainz import MusicBrainz

# An entity without a primary alias is invisible to Koito's lookups (they go through views).
_ARTIST_VISIBLE = "EXISTS (SELECT 1 FROM artist_aliases p WHERE p.artist_id = {0} AND p.is_primary)"
_ARTIST_BY_MBID = (
    "SELECT a.id FROM artists a WHERE a.musicbrainz_id = %s::uuid AND "
    + _ARTIST_VISIBLE.format("a.id")
)
_ARTIST_BY_NAME = (
    "SELECT aa.artist_id FROM artist_aliases aa WHERE aa.alias = %s AND "
    + _ARTIST_VISIBLE.format("aa.artist_id")
    + " ORDER BY aa.artist_id LIMIT 1"
)
_ALBUM_BY_MBID = (
    "SELECT r.id FROM releases r WHERE r.musicbrainz_id = %s::uuid AND EXISTS "
    "(SELECT 1 FROM release_aliases p WHERE p.release_id = r.id AND p.is_primary)"
)
_ALBUM_BY_TITLES = """
    SELECT ra.release_id
    FROM release_aliases ra
    JOIN artist_releases ar ON ar.release_id = ra.release_id AND ar.artist_id = %(artist)s
    JOIN releases r ON r.id = ra.release_id
    WHERE ra.is_primary AND ra.alias = ANY(%(titles)s::text[])
      AND (NOT %(without_mbid)s OR r.musicbrainz_id IS NULL)
    ORDER BY ra.release_id LIMIT 1
"""
_TRACK_BY_MBID = (
    "SELECT t.id FROM tracks t WHERE t.musicbrainz_id = %s::uuid AND EXISTS "
    "(SELECT 1 FROM track_aliases p WHERE p.track_id = t.id AND p.is_primary)"
)
# Credited to every given artist (others allowed): Koito's HAVING count(DISTINCT) = cardinality.
_TRACK_BY_INFO = """
    SELECT t.id
    FROM tracks t
    JOIN track_aliases ta ON ta.track_id = t.id AND ta.is_primary AND ta.alias = %(title)s
    JOIN artist_tracks at ON at.track_id = t.id AND at.artist_id = ANY(%(artists)s::int[])
    WHERE t.release_id = %(album)s
    GROUP BY t.id
    HAVING count(DISTINCT at.artist_id) = cardinality(%(artists)s::int[])
    ORDER BY t.id LIMIT 1
"""


def _clean_aliases(aliases: Iterable[str]) -> list[str]:
    """Koito's alias saving: trimmed, blanks dropped, exact duplicates once."""
    return list(dict.fromkeys(a.strip() for a in aliases if a.strip()))


class DbStore:
    """:class:`~koito_assets.catalog.store.CatalogStore` over one connection in a transaction."""

    def __init__(
        self,
        conn: psycopg.Connection,
        locks: LockSet,
        musicbrainz: MusicBrainz,
        separators: Sequence[str],
    ) -> None:
        self.conn = conn
        self.locks = locks
        self.musicbrainz = musicbrainz
        self.separators = separators
        self.created = {"artists": 0, "albums": 0, "tracks": 0}

    def lock(self, keys: Iterable[int]) -> bool:
        self.locks.acquire(keys)
        return True

    def _one(self, query: str, params: object) -> object | None:
        row = self.conn.execute(query, params).fetchone()
        return row[0] if row else None

    # -- artists ----------------------------------------------------------------------------
    def artist_by_mbid(self, mbid: str) -> int | None:
        return self._one(_ARTIST_BY_MBID, (mbid,))  # type: ignore[return-value]

    def artist_by_name(self, name: str) -> int | None:
        return self._one(_ARTIST_BY_NAME, (name,))  # type: ignore[return-value]

    def artist_mbid(self, artist_id: int) -> str | None:
        query = "SELECT musicbrainz_id::text FROM artists WHERE id = %s"
        return self._one(query, (artist_id,))  # type: ignore[return-value]

    def artist_aliases(self, artist_id: int) -> list[str]:
        rows = self.conn.execute(
            "SELECT alias FROM artist_aliases WHERE artist_id = %s ORDER BY is_primary DESC, alias",
            (artist_id,),
        ).fetchall()
        return [r[0] for r in rows]

    def create_artist(
        self,
        name: str,
        mbid: str | None,
        aliases: Sequence[str] = (),
        alias_source: str = "MusicBrainz",
        image_source: str | None = None,
    ) -> int:
        name = name.strip()
        artist_id = self._one(
            "INSERT INTO artists (musicbrainz_id, image, image_source) "
            "VALUES (%(mbid)s::uuid, CASE WHEN %(src)s LIKE 'http%%' THEN gen_random_uuid() END, "
            "%(src)s) RETURNING id",
            {"mbid": mbid, "src": image_source},
        )
        assert isinstance(artist_id, int)
        self.conn.execute(
            "INSERT INTO artist_aliases (artist_id, alias, source, is_primary) "
            "VALUES (%s, %s, 'Canonical', true)",
            (artist_id, name),
        )
        if aliases:
            self.add_artist_aliases(artist_id, aliases, alias_source)
        self.created["artists"] += 1
        return artist_id

    def set_artist_mbid(self, artist_id: int, mbid: str) -> None:
        self.conn.execute(
            "UPDATE artists SET musicbrainz_id = %s::uuid WHERE id = %s", (mbid, artist_id)
        )

    def add_artist_aliases(self, artist_id: int, aliases: Sequence[str], source: str) -> None:
        self.conn.execute(
            "INSERT INTO artist_aliases (artist_id, alias, source, is_primary) "
            "SELECT %s, a, %s, false FROM unnest(%s::text[]) AS a ON CONFLICT DO NOTHING",
            (artist_id, source, _clean_aliases(aliases)),
        )

    # -- releases ---------------------------------------------------------------------------
    def album_by_mbid(self, mbid: str) -> int | None:
        return self._one(_ALBUM_BY_MBID, (mbid,))  # type: ignore[return-value]

    def album_by_title(self, title: str, artist_id: int) -> int | None:
        params = {"artist": artist_id, "titles": [title], "without_mbid": False}
        return self._one(_ALBUM_BY_TITLES, params)  # type: ignore[return-value]

    def album_by_titles_without_mbid(self, titles: Sequence[str], artist_id: int) -> int | None:
        params = {"artist": artist_id, "titles": list(titles), "without_mbid": True}
        return self._one(_ALBUM_BY_TITLES, params)  # type: ignore[return-value]

    def album_mbid(self, album_id: int) -> str | None:
        query = "SELECT musicbrainz_id::text FROM releases WHERE id = %s"
        return self._one(query, (album_id,))  # type: ignore[return-value]

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
        album_id = self._one(
            "INSERT INTO releases (musicbrainz_id, various_artists, image, image_source) "
            "VALUES (%(mbid)s::uuid, %(various)s, "
            "CASE WHEN %(src)s LIKE 'http%%' THEN gen_random_uuid() END, %(src)s) RETURNING id",
            {"mbid": mbid, "various": various_artists, "src": image_source},
        )
        assert isinstance(album_id, int)
        self.conn.execute(
            "INSERT INTO artist_releases (artist_id, release_id, is_primary) "
            "SELECT a, %s, n = 1 FROM unnest(%s::int[]) WITH ORDINALITY AS u(a, n)",
            (album_id, list(artist_ids)),
        )
        self.conn.execute(
            "INSERT INTO release_aliases (release_id, alias, source, is_primary) "
            "VALUES (%s, %s, 'Canonical', true)",
            (album_id, title),
        )
        if aliases:
            self.add_album_aliases(album_id, aliases, alias_source)
        self.created["albums"] += 1
        return album_id

    def set_album_mbid(self, album_id: int, mbid: str) -> None:
        self.conn.execute(
            "UPDATE releases SET musicbrainz_id = %s::uuid WHERE id = %s", (mbid, album_id)
        )

    def add_album_aliases(self, album_id: int, aliases: Sequence[str], source: str) -> None:
        self.conn.execute(
            "INSERT INTO release_aliases (release_id, alias, source, is_primary) "
            "SELECT %s, a, %s, false FROM unnest(%s::text[]) AS a ON CONFLICT DO NOTHING",
            (album_id, source, _clean_aliases(aliases)),
        )

    def link_artists_to_album(self, album_id: int, artist_ids: Sequence[int]) -> None:
        self.conn.execute(
            "INSERT INTO artist_releases (artist_id, release_id, is_primary) "
            "SELECT a, %s, false FROM unnest(%s::int[]) AS a ON CONFLICT DO NOTHING",
            (album_id, list(artist_ids)),
        )

    # -- tracks -----------------------------------------------------------------------------
    def track_by_mbid(self, mbid: str) -> int | None:
        return self._one(_TRACK_BY_MBID, (mbid,))  # type: ignore[return-value]

    def track_by_info(self, title: str, album_id: int, artist_ids: Sequence[int]) -> int | None:
        params = {"title": title, "album": album_id, "artists": list(artist_ids)}
        return self._one(_TRACK_BY_INFO, params)  # type: ignore[return-value]

    def track_state(self, track_id: int) -> tuple[str | None, int]:
        row = self.conn.execute(
            "SELECT musicbrainz_id::text, duration FROM tracks WHERE id = %s", (track_id,)
        ).fetchone()
        assert row is not None, f"track {track_id} vanished inside our transaction"
        return row[0], row[1]

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
        track_id = self._one(
            "INSERT INTO tracks (musicbrainz_id, duration, release_id) "
            "VALUES (%s::uuid, %s, %s) RETURNING id",
            (mbid, duration_s, album_id),
        )
        assert isinstance(track_id, int)
        self.conn.execute(
            "INSERT INTO artist_tracks (artist_id, track_id, is_primary) "
            "SELECT a, %s, n = 1 FROM unnest(%s::int[]) WITH ORDINALITY AS u(a, n)",
            (track_id, list(artist_ids)),
        )
        self.link_artists_to_album(album_id, artist_ids)
        self.conn.execute(
            "INSERT INTO track_aliases (track_id, alias, source, is_primary) "
            "VALUES (%s, %s, 'Canonical', true)",
            (track_id, title),
        )
        if aliases:
            self.conn.execute(
                "INSERT INTO track_aliases (track_id, alias, source, is_primary) "
                "SELECT %s, a, %s, false FROM unnest(%s::text[]) AS a ON CONFLICT DO NOTHING",
                (track_id, alias_source, _clean_aliases(aliases)),
            )
        self.created["tracks"] += 1
        return track_id

    def set_track_mbid(self, track_id: int, mbid: str) -> None:
        self.conn.execute(
            "UPDATE tracks SET musicbrainz_id = %s::uuid WHERE id = %s", (mbid, track_id)
        )

    def set_track_duration(self, track_id: int, duration_s: int) -> None:
        self.conn.execute(
            "UPDATE tracks SET duration = %s WHERE id = %s AND duration = 0", (duration_s, track_id)
        )
