"""Our PostgreSQL catalogue written row by row, for merge tests that need exact shapes.

Rows are what our pipeline writes (Koito v0.1.x's tables): one primary alias per entity with
source Canonical, artist links with the first artist primary, listens of user 1. The import
pipeline itself is used where a realistic catalogue is wanted (test_merge_workload.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg


class Catalogue:
    """Insert artists, releases, tracks and listens into one of our databases."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn

    def artist(
        self,
        name: str,
        *,
        mbid: str | None = None,
        aliases: Sequence[str] = (),
        image_source: str | None = None,
    ) -> int:
        artist_id = self.conn.execute(
            "INSERT INTO artists (musicbrainz_id, image_source) VALUES (%s, %s) RETURNING id",
            (mbid, image_source),
        ).fetchone()[0]
        self.conn.execute(
            "INSERT INTO artist_aliases (artist_id, alias, source, is_primary) "
            "VALUES (%s, %s, 'Canonical', true)",
            (artist_id, name),
        )
        for alias in aliases:
            self.conn.execute(
                "INSERT INTO artist_aliases (artist_id, alias, source, is_primary) "
                "VALUES (%s, %s, 'MusicBrainz', false)",
                (artist_id, alias),
            )
        return artist_id

    def release(
        self,
        title: str,
        artists: Sequence[int],
        *,
        mbid: str | None = None,
        aliases: Sequence[str] = (),
        image_source: str | None = None,
        various_artists: bool = False,
    ) -> int:
        release_id = self.conn.execute(
            "INSERT INTO releases (musicbrainz_id, image_source, various_artists) "
            "VALUES (%s, %s, %s) RETURNING id",
            (mbid, image_source, various_artists),
        ).fetchone()[0]
        self.conn.execute(
            "INSERT INTO release_aliases (release_id, alias, source, is_primary) "
            "VALUES (%s, %s, 'Canonical', true)",
            (release_id, title),
        )
        for alias in aliases:
            self.conn.execute(
                "INSERT INTO release_aliases (release_id, alias, source, is_primary) "
                "VALUES (%s, %s, 'MusicBrainz', false)",
                (release_id, alias),
            )
        for n, artist in enumerate(artists):
            self.conn.execute(
                "INSERT INTO artist_releases (artist_id, release_id, is_primary) "
                "VALUES (%s, %s, %s)",
                (artist, release_id, n == 0),
            )
        return release_id

    def track(
        self,
        title: str,
        release: int,
        artists: Sequence[int],
        *,
        mbid: str | None = None,
        duration: int = 0,
        aliases: Sequence[str] = (),
    ) -> int:
        track_id = self.conn.execute(
            "INSERT INTO tracks (musicbrainz_id, duration, release_id) "
            "VALUES (%s, %s, %s) RETURNING id",
            (mbid, duration, release),
        ).fetchone()[0]
        self.conn.execute(
            "INSERT INTO track_aliases (track_id, alias, source, is_primary) "
            "VALUES (%s, %s, 'Canonical', true)",
            (track_id, title),
        )
        for alias in aliases:
            self.conn.execute(
                "INSERT INTO track_aliases (track_id, alias, source, is_primary) "
                "VALUES (%s, %s, 'Import', false)",
                (track_id, alias),
            )
        for n, artist in enumerate(artists):
            self.conn.execute(
                "INSERT INTO artist_tracks (artist_id, track_id, is_primary) VALUES (%s, %s, %s)",
                (artist, track_id, n == 0),
            )
            self.conn.execute(
                "INSERT INTO artist_releases (artist_id, release_id, is_primary) "
                "VALUES (%s, %s, false) ON CONFLICT DO NOTHING",
                (artist, release),
            )
        return track_id

    def listen(self, track: int, at: int, client: str | None = None) -> None:
        self.conn.execute(
            "INSERT INTO listens (track_id, listened_at, client, user_id) "
            "VALUES (%s, to_timestamp(%s), %s, 1)",
            (track, at, client),
        )

    def listens(self, track: int, times: Sequence[int], client: str | None = None) -> None:
        for at in times:
            self.listen(track, at, client)
