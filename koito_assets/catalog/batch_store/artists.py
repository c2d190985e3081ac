"""Artists in a bulk resolution: what the batch may ask about, loaded at once; what it creates,
written at once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import psycopg

from koito_assets.catalog.batch_store.loaded import (
    Loaded,
    write_aliases,
    write_mbid_updates,
)
from koito_assets.catalog.pg_arrays import int_array, text_array

_LOAD_ARTISTS = """
WITH q_names AS (SELECT DISTINCT unnest(%(names)s::text[]) AS name),
     q_mbids AS (SELECT DISTINCT unnest(%(mbids)s::uuid[]) AS mbid),
     by_name AS (
        SELECT n.name, min(aa.artist_id) AS id
        FROM q_names n JOIN artist_aliases aa ON aa.alias = n.name
        WHERE EXISTS (
            SELECT 1 FROM artist_aliases p WHERE p.artist_id = aa.artist_id AND p.is_primary)
        GROUP BY n.name),
     by_mbid AS (
        SELECT m.mbid::text AS name, a.id
        FROM q_mbids m JOIN artists a ON a.musicbrainz_id = m.mbid
        WHERE EXISTS (SELECT 1 FROM artist_aliases p WHERE p.artist_id = a.id AND p.is_primary)),
     found AS (SELECT id FROM by_name UNION SELECT id FROM by_mbid)
SELECT 'n', name, id, NULL::text, NULL::text[] FROM by_name
UNION ALL SELECT 'm', name, id, NULL, NULL FROM by_mbid
UNION ALL
SELECT 'i', NULL, a.id, a.musicbrainz_id::text,
       (SELECT array_agg(aa.alias ORDER BY aa.is_primary DESC, aa.alias)
        FROM artist_aliases aa WHERE aa.artist_id = a.id)
FROM artists a WHERE a.id IN (SELECT id FROM found)
"""


@dataclass(slots=True)
class NewArtist:
    id: int
    name: str
    mbid: str | None
    image_source: str | None


@dataclass
class ArtistState(Loaded):
    table = "artists"
    by_name: dict[str, int | None] = field(default_factory=dict)
    by_mbid: dict[str, int | None] = field(default_factory=dict)
    mbid: dict[int, str | None] = field(default_factory=dict)
    aliases: dict[int, list[str]] = field(default_factory=dict)
    created: list[NewArtist] = field(default_factory=list)
    mbid_updates: dict[int, str] = field(default_factory=dict)
    alias_rows: dict[tuple[int, str], tuple[str, bool]] = field(default_factory=dict)

    def load(self, conn: psycopg.Connection, names: Iterable[str], mbids: Iterable[str]) -> None:
        names, mbids = (
            list(set(names) - self.by_name.keys()),
            list(set(mbids) - self.by_mbid.keys()),
        )
        if not names and not mbids:
            return
        self.by_name.update(dict.fromkeys(names))
        self.by_mbid.update(dict.fromkeys(mbids))
        params = {"names": text_array(names), "mbids": text_array(mbids)}
        for kind, name, artist_id, mbid, aliases in self._read(conn, _LOAD_ARTISTS, params):
            if kind == "n":
                self.by_name[name] = artist_id
            elif kind == "m":
                self.by_mbid[name] = artist_id
            else:
                self.mbid[artist_id] = mbid
                self.aliases[artist_id] = list(aliases or ())

    def add_name(self, name: str, artist_id: int) -> None:
        current = self.by_name.get(name)
        self.by_name[name] = artist_id if current is None else min(current, artist_id)

    def write(self, conn: psycopg.Connection) -> None:
        """Write the changes made here, a few multi-row statements."""
        real = self.real
        if self.created:
            conn.execute(
                "INSERT INTO artists (id, musicbrainz_id, image, image_source) "
                "OVERRIDING SYSTEM VALUE "
                "SELECT i, m::uuid, CASE WHEN s LIKE 'http%%' THEN gen_random_uuid() END, s "
                "FROM unnest(%s::int[], %s::text[], %s::text[]) AS u(i, m, s)",
                (
                    int_array(real[n.id] for n in self.created),
                    text_array(n.mbid for n in self.created),
                    text_array(n.image_source for n in self.created),
                ),
            )
        write_mbid_updates(conn, self.table, self.mbid_updates, real)
        write_aliases(conn, "artist_aliases", "artist_id", self.alias_rows, real)
