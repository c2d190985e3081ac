"""Reading and writing koito_import.track_lookup: lookup key → (artist, album, track) ids.

A row also keeps every artist of the resolution and every MBID of its key, so the database can
drop it when any of those changes (migration 0003). Rows are written in the transaction that
resolved them, after the entities, so no invalidation trigger of that transaction can see them.

Writing first pins the artists and releases the rows name (FOR KEY SHARE, as a foreign key
check would, but once for the whole batch): a concurrent delete then waits for our commit, and
its trigger sees our rows; one that committed before is noticed here, and the resolution is
retried. The track is pinned by the table's foreign key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import NamedTuple

import psycopg

from koito_assets.catalog.pg_arrays import int_array, text_array
from koito_assets.catalog.transactions import EntityVanished
from koito_assets.settings import Settings

_HITS_SQL = """
    SELECT lookup_key, artist_id, album_id, track_id
    FROM koito_import.track_lookup
    WHERE lookup_key = ANY(%s::text[])
"""

_PIN_SQL = """
    WITH a AS (SELECT id FROM artists WHERE id = ANY(%s::int[]) FOR KEY SHARE),
         r AS (SELECT id FROM releases WHERE id = ANY(%s::int[]) FOR KEY SHARE),
         t AS (SELECT id FROM tracks WHERE id = ANY(%s::int[]) FOR KEY SHARE)
    SELECT (SELECT count(*) FROM a), (SELECT count(*) FROM r), (SELECT count(*) FROM t)
"""

_WRITE_SQL = """
    INSERT INTO koito_import.track_lookup
        (lookup_key, artist_id, album_id, track_id, artist_ids, mbids)
    SELECT k, (a::int[])[1], al, t, a::int[], m::uuid[]
    FROM unnest(%s::text[], %s::text[], %s::int[], %s::int[], %s::text[]) AS u(k, a, al, t, m)
    ON CONFLICT (lookup_key) DO UPDATE SET
        artist_id = EXCLUDED.artist_id,
        album_id = EXCLUDED.album_id,
        track_id = EXCLUDED.track_id,
        artist_ids = EXCLUDED.artist_ids,
        mbids = EXCLUDED.mbids,
        created_at = now()
"""


class LookupRow(NamedTuple):
    key: str
    artist_ids: Sequence[int]  # in order; the first is the primary artist
    album_id: int
    track_id: int
    mbids: Sequence[str]


def fetch_hits(conn: psycopg.Connection, keys: Sequence[str]) -> dict[str, tuple[int, int, int]]:
    """The cached (artist, album, track) of each key that has a row, in one query."""
    rows = conn.execute(_HITS_SQL, (text_array(keys),)).fetchall()
    return {key: (artist, album, track) for key, artist, album, track in rows}


def pin(conn: psycopg.Connection, rows: Sequence[LookupRow]) -> None:
    """Lock the artists, releases and tracks the rows name against deletion until commit (FOR
    KEY SHARE, what a foreign-key check takes), in one statement; EntityVanished if one is gone
    already."""
    artists = {a for r in rows for a in r.artist_ids}
    albums = {r.album_id for r in rows}
    tracks = {r.track_id for r in rows}
    pinned = conn.execute(
        _PIN_SQL, (int_array(artists), int_array(albums), int_array(tracks))
    ).fetchone()
    if pinned != (len(artists), len(albums), len(tracks)):
        raise EntityVanished("an entity was deleted while we resolved; resolving again")


def write_rows(
    conn: psycopg.Connection, rows: Sequence[LookupRow], *, pinned: bool = False
) -> None:
    """Pin what the rows name (unless the caller has), then insert or replace them: two
    statements for any number."""
    if not rows:
        return
    if not pinned:
        pin(conn, rows)
    conn.execute(
        _WRITE_SQL,
        (
            text_array(r.key for r in rows),
            text_array(int_array(r.artist_ids) for r in rows),
            int_array(r.album_id for r in rows),
            int_array(r.track_id for r in rows),
            text_array(text_array(r.mbids) if r.mbids else None for r in rows),
        ),
    )


# Raise it with any change to the rules that can resolve a cached key differently (as when
# "(feat.X)" stopped being a feature, to match Koito): the next import then empties the cache.
RULES_VERSION = 3


def settings_fingerprint(settings: Settings) -> str:
    """What, besides the record itself, decides a resolution: artist separators, MusicBrainz
    on/off, and the version of our rules."""
    inputs = {
        "separators": list(settings.artist_separators),
        "musicbrainz": not settings.disable_musicbrainz,
        "rules": RULES_VERSION,
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def match_settings(conn: psycopg.Connection, settings: Settings) -> bool:
    """Empty the lookup cache if it was filled under other settings; True if it was emptied.

    A cache row is only a shortcut to entities that still exist; dropping it costs one
    re-resolution, which finds those entities again by Koito's rules under the new settings.
    """
    fingerprint = settings_fingerprint(settings)
    with conn.transaction():
        row = conn.execute(
            "SELECT fingerprint FROM koito_import.lookup_settings FOR UPDATE"
        ).fetchone()
        if row is not None and row[0] == fingerprint:
            return False
        emptied = row is not None
        if emptied:
            conn.execute("DELETE FROM koito_import.track_lookup")
        conn.execute(
            "INSERT INTO koito_import.lookup_settings (fingerprint) VALUES (%s) "
            "ON CONFLICT (singleton) DO UPDATE "
            "SET fingerprint = EXCLUDED.fingerprint, changed_at = now()",
            (fingerprint,),
        )
    return emptied
