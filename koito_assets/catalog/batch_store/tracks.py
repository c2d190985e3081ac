"""Tracks in a bulk resolution: loaded by MBID and by (title, release), created with their
credits and aliases in bulk."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import psycopg

from koito_assets.catalog.batch_store.loaded import (
    Loaded,
    write_aliases,
    write_mbid_updates,
)
from koito_assets.catalog.pg_arrays import bool_array, int_array, text_array

_LOAD_TRACKS = """
WITH q AS (SELECT DISTINCT t, r FROM unnest(%(titles)s::text[], %(albums)s::int[]) AS q(t, r)),
     cand AS (
        SELECT q.t, q.r, tr.id
        FROM q
        JOIN tracks tr ON tr.release_id = q.r
        JOIN track_aliases ta ON ta.track_id = tr.id AND ta.is_primary AND ta.alias = q.t),
     by_mbid AS (
        SELECT t.musicbrainz_id::text AS m, t.id
        FROM tracks t
        WHERE t.musicbrainz_id = ANY(%(mbids)s::uuid[])
          AND EXISTS (SELECT 1 FROM track_aliases p WHERE p.track_id = t.id AND p.is_primary)),
     found AS (SELECT id FROM cand UNION SELECT id FROM by_mbid),
     -- One grouped pass: Koito has no index on artist_tracks that starts with track_id, so a
     -- correlated subquery scanned the whole table once per found track (15,000 found tracks
     -- against 75,000 credits: 74 s instead of a fraction of one).
     credits AS (
        SELECT at.track_id, array_agg(at.artist_id ORDER BY at.artist_id) AS artists
        FROM artist_tracks at WHERE at.track_id IN (SELECT id FROM found)
        GROUP BY at.track_id)
SELECT 'p', t, r, id, NULL::text, NULL::int, NULL::int[] FROM cand
UNION ALL SELECT 'm', m, NULL, id, NULL, NULL, NULL FROM by_mbid
UNION ALL
SELECT 'i', NULL, NULL, t.id, t.musicbrainz_id::text, t.duration, c.artists
FROM tracks t LEFT JOIN credits c ON c.track_id = t.id
WHERE t.id IN (SELECT id FROM found)
"""


@dataclass(slots=True)
class NewTrack:
    id: int
    title: str
    mbid: str | None
    album_id: int
    duration_s: int


@dataclass
class TrackState(Loaded):
    table = "tracks"
    pairs: dict[tuple[str, int], set[int]] = field(default_factory=dict)  # (title, album), loaded
    added: dict[tuple[str, int], set[int]] = field(default_factory=dict)  # created here
    by_mbid: dict[str, int | None] = field(default_factory=dict)
    mbid: dict[int, str | None] = field(default_factory=dict)
    duration: dict[int, int] = field(default_factory=dict)
    credits: dict[int, frozenset[int]] = field(default_factory=dict)
    created: list[NewTrack] = field(default_factory=list)
    mbid_updates: dict[int, str] = field(default_factory=dict)
    duration_updates: dict[int, int] = field(default_factory=dict)
    credit_rows: dict[tuple[int, int], bool] = field(default_factory=dict)  # (artist, track)
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
            "albums": int_array(a for _, a in pairs),
            "mbids": text_array(mbids),
        }
        for kind, text, album_id, track_id, mbid, duration, credits in self._read(
            conn, _LOAD_TRACKS, params
        ):
            if kind == "p":
                self.pairs[(text, album_id)].add(track_id)
            elif kind == "m":
                self.by_mbid[text] = track_id
            else:
                self.mbid[track_id] = mbid
                self.duration[track_id] = duration
                self.credits[track_id] = frozenset(credits or ())

    def write(self, conn: psycopg.Connection, albums: dict[int, int]) -> None:
        """Write the changes made here; ``albums`` maps the placeholder ids of releases created
        alongside to their real ids."""
        real = self.real
        if self.created:
            conn.execute(
                "INSERT INTO tracks (id, musicbrainz_id, duration, release_id) "
                "OVERRIDING SYSTEM VALUE "
                "SELECT * FROM unnest(%s::int[], %s::uuid[], %s::int[], %s::int[])",
                (
                    int_array(real[n.id] for n in self.created),
                    text_array(n.mbid for n in self.created),
                    int_array(n.duration_s for n in self.created),
                    int_array(albums.get(n.album_id, n.album_id) for n in self.created),
                ),
            )
        write_mbid_updates(conn, self.table, self.mbid_updates, real)
        if self.duration_updates:
            conn.execute(
                "UPDATE tracks t SET duration = u.d "
                "FROM unnest(%s::int[], %s::int[]) AS u(i, d) WHERE t.id = u.i AND t.duration = 0",
                (
                    int_array(real.get(t, t) for t in self.duration_updates),
                    int_array(self.duration_updates.values()),
                ),
            )

    def write_links(self, conn: psycopg.Connection) -> None:
        """Write the artist credits and aliases of the tracks created here; their artists must
        exist and be locked already (the caller may skip the per-row foreign-key checks)."""
        real = self.real
        if not self.created:
            return
        keys = list(self.credit_rows)
        conn.execute(
            "INSERT INTO artist_tracks (artist_id, track_id, is_primary) "
            "SELECT * FROM unnest(%s::int[], %s::int[], %s::bool[])",
            (
                int_array(a for a, _ in keys),
                int_array(real[t] for _, t in keys),
                bool_array(self.credit_rows[k] for k in keys),
            ),
        )
        write_aliases(conn, "track_aliases", "track_id", self.alias_rows, real)
