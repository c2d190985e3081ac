"""``submit_listen``: one scrobble into Koito, the way Koito's SubmitListen does it, with a cache.

A cache hit is one statement, one round trip: a SELECT of the cache row and an INSERT of the
listen, with the duration fill folded in (it only writes when the cached track's length is
unknown and the scrobble knows it, docs/design.md §5.3). A miss resolves the scrobble by
Koito's rules in one transaction, inserts the listen and writes the cache row in the same
transaction, so Koito's orphan clean-up never sees the new entities without their listen.
No image look-ups (images are backfilled separately) and no statistics queries.
"""

from __future__ import annotations

from typing import NamedTuple

import psycopg
from psycopg import errors

from koito_assets.catalog import cache, rules
from koito_assets.catalog.db_store import DbStore
from koito_assets.catalog.locks import LockSet
from koito_assets.catalog.lookup_key import lookup_key, lookup_mbids
from koito_assets.catalog.transactions import in_transaction
from koito_assets.catalog.validation import check_record
from koito_assets.db.users import IMPORT_USER_ID
from koito_assets.enrich.musicbrainz import MusicBrainz
from koito_assets.settings import Settings
from koito_assets.sources.record import Scrobble

# Data-modifying CTEs run whether or not the final SELECT reads them; "$duration > 0" is checked
# once per execution, so the fill costs nothing when the scrobble has no duration.
_FAST_PATH = """
WITH hit AS (
    SELECT tl.artist_id, tl.album_id, tl.track_id
    FROM koito_import.track_lookup tl
    WHERE tl.lookup_key = %(key)s
), listen AS (
    INSERT INTO listens (track_id, listened_at, client, user_id)
    SELECT track_id, to_timestamp(%(at)s), %(client)s, %(user)s FROM hit
    ON CONFLICT DO NOTHING
    RETURNING 1
), filled AS (
    UPDATE tracks SET duration = %(duration)s
    WHERE %(duration)s > 0 AND duration = 0 AND id = (SELECT track_id FROM hit)
    RETURNING 1
)
SELECT artist_id, album_id, track_id, EXISTS (SELECT FROM listen) FROM hit
"""

_INSERT_LISTEN = (
    "INSERT INTO listens (track_id, listened_at, client, user_id) "
    "VALUES (%s, to_timestamp(%s), %s, %s) ON CONFLICT DO NOTHING"
)


class SubmitResult(NamedTuple):
    lookup_key: str
    artist_id: int  # the primary artist
    album_id: int
    track_id: int
    cache_hit: bool
    listen_inserted: bool  # False: a listen of this track at this second already existed


def _insert_listen(conn: psycopg.Connection, record: Scrobble, track_id: int) -> bool:
    cur = conn.execute(
        _INSERT_LISTEN, (track_id, record.listened_at, record.client or None, IMPORT_USER_ID)
    )
    return cur.rowcount == 1


def _fast_path(conn: psycopg.Connection, record: Scrobble, key: str) -> SubmitResult | None:
    params = {
        "key": key,
        "at": record.listened_at,
        "client": record.client or None,
        "user": IMPORT_USER_ID,
        "duration": record.duration_s,
    }
    try:
        row = conn.execute(_FAST_PATH, params).fetchone()
    except errors.ForeignKeyViolation:
        return None  # Koito deleted the track while we inserted; its row is gone with it
    if row is None:
        return None
    artist_id, album_id, track_id, inserted = row
    return SubmitResult(key, artist_id, album_id, track_id, True, inserted)


def _resolve_and_save(
    conn: psycopg.Connection,
    locks: LockSet,
    record: Scrobble,
    key: str,
    musicbrainz: MusicBrainz,
    settings: Settings,
) -> SubmitResult:
    store = DbStore(conn, locks, musicbrainz, settings.artist_separators)
    artists, album, track = rules.resolve_record(store, record)
    rules.fill_duration(store, record, track)
    inserted = _insert_listen(conn, record, track)
    cache.write_rows(conn, [cache.LookupRow(key, artists, album, track, lookup_mbids(record))])
    return SubmitResult(key, artists[0], album, track, False, inserted)


def submit_listen(
    conn: psycopg.Connection, record: Scrobble, *, musicbrainz: MusicBrainz, settings: Settings
) -> SubmitResult:
    """Resolve ``record`` to Koito entities (creating what is missing) and save its listen.

    ``conn`` must be in autocommit mode: a cache hit is one statement with no transaction
    block, a miss runs its own transaction. Raises InvalidRecord for a record Koito cannot take
    (empty artist or title, …) before touching the database.

    Each call commits as the connection is set to. A hit waits for the WAL flush, which bounds
    it near one bare INSERT + commit (1,200–2,000/s on the 2-CPU test machine); a caller that
    opens its connection with ``synchronous_commit = off`` gets ~2,500–3,000/s, and a server
    crash may then lose the last fraction of a second of listens (never corrupt them).
    """
    if not conn.autocommit:
        raise ValueError("submit_listen() needs an autocommit connection")
    key = lookup_key(record)
    # A key in the cache was checked when it was resolved; only the listen's own text is new.
    if "\x00" not in record.client:
        hit = _fast_path(conn, record, key)
        if hit is not None:
            return hit
    check_record(record)
    return in_transaction(
        conn, lambda locks: _resolve_and_save(conn, locks, record, key, musicbrainz, settings)
    )
