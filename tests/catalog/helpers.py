"""Helpers for the catalogue tests: statement counting, catalogue snapshots, Koito's own SQL."""

from __future__ import annotations

import itertools
import os
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NamedTuple

import psycopg
import psycopg_pool

from koito_assets.catalog import db_store, rules
from koito_assets.catalog.db_store import DbStore
from koito_assets.catalog.locks import LockSet
from koito_assets.catalog.lookup_key import lookup_key
from koito_assets.enrich.musicbrainz import DisabledMusicBrainz, MusicBrainz
from koito_assets.settings import Settings
from koito_assets.sources.record import KoitoAlias, KoitoEntity, KoitoListen, Scrobble

SETTINGS = Settings()
OFF = DisabledMusicBrainz()
_names = itertools.count()


# -- statement counting ------------------------------------------------------------------------


class CountingCursor(psycopg.Cursor):
    """Logs every statement sent through it, whitespace collapsed, on its connection's ``log``."""

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> CountingCursor:
        self.connection.log.append(_text(query))  # type: ignore[attr-defined]
        return super().execute(query, params, **kwargs)

    def executemany(self, query: Any, params_seq: Any, **kwargs: Any) -> None:
        self.connection.log.append(_text(query))  # type: ignore[attr-defined]
        return super().executemany(query, params_seq, **kwargs)

    def copy(self, statement: Any, *args: Any, **kwargs: Any) -> Any:
        self.connection.log.append(_text(statement))  # type: ignore[attr-defined]
        return super().copy(statement, *args, **kwargs)


class CountingConnection(psycopg.Connection):
    """A connection that records each statement, and BEGIN/COMMIT/ROLLBACK of its blocks."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cursor_factory = CountingCursor
        self.log: list[str] = []

    @contextmanager
    def transaction(self, *args: Any, **kwargs: Any) -> Iterator[Any]:  # type: ignore[override]
        self.log.append("BEGIN")
        try:
            with super().transaction(*args, **kwargs) as tx:
                yield tx
        except BaseException:
            self.log.append("ROLLBACK")
            raise
        self.log.append("COMMIT")


def _text(query: Any) -> str:
    return " ".join(str(query).split())


def statements(log: Sequence[str]) -> list[str]:
    """The SQL statements in a log, without transaction control."""
    return [s for s in log if s not in ("BEGIN", "COMMIT", "ROLLBACK")]


@contextmanager
def counting_pool(url: str, size: int = 4) -> Iterator[psycopg_pool.ConnectionPool]:
    pool = psycopg_pool.ConnectionPool(
        url, min_size=1, max_size=size, connection_class=CountingConnection, open=True
    )
    try:
        yield pool
    finally:
        pool.close()


@contextmanager
def pool_for(url: str, size: int = 4) -> Iterator[psycopg_pool.ConnectionPool]:
    pool = psycopg_pool.ConnectionPool(url, min_size=1, max_size=size, open=True)
    try:
        yield pool
    finally:
        pool.close()


# -- databases ---------------------------------------------------------------------------------


@contextmanager
def fresh_database(pg_server: Any, template_db: str) -> Iterator[str]:
    """A new migrated Koito database for one hypothesis example (fixtures are per test)."""
    name = f"cat{os.getpid()}_{next(_names)}"
    url = pg_server.create_database(name, template=template_db)
    try:
        yield url
    finally:
        pg_server.drop_database(name)


# -- records -----------------------------------------------------------------------------------


def scrobble(
    artist: str, track: str, album: str = "", at: int = 1_700_000_000, **kw: Any
) -> Scrobble:
    return Scrobble(at, artist, track, album, **kw)


def entity(name: str, mbid: str | None = None, *more: str, **kw: Any) -> KoitoEntity:
    aliases = (KoitoAlias(name, "Canonical", True),) + tuple(
        KoitoAlias(m, "Manual", False) for m in more
    )
    return KoitoEntity(mbid, aliases, **kw)


def koito_scrobble(
    artists: Sequence[KoitoEntity],
    album: KoitoEntity,
    track: KoitoEntity,
    at: int = 1_700_000_000,
    client: str = "",
) -> Scrobble:
    first = artists[0].aliases[0].alias if artists and artists[0].aliases else ""
    return Scrobble(
        at,
        first,
        track.aliases[0].alias,
        album.aliases[0].alias,
        client=client,
        koito=KoitoListen(track, album, tuple(artists)),
    )


class Preferred(NamedTuple):
    """Ids that win where a lookup has several matches, per table (ids of different tables
    may be equal)."""

    artists: Sequence[int] = ()
    albums: Sequence[int] = ()
    tracks: Sequence[int] = ()


class _PreferringStore(DbStore):
    """Koito's lookups return any one match (no ORDER BY); this store returns a preferred one
    when it is among the matches, so it can tell "still a valid answer" from "stale"."""

    def __init__(self, *args: Any, prefer: Preferred) -> None:
        super().__init__(*args)
        self.prefer = prefer

    def _pick(self, query: str, params: object, prefer: Sequence[int]) -> int | None:
        found = [r[0] for r in self.conn.execute(query.replace("LIMIT 1", ""), params)]
        preferred = [f for f in found if f in prefer]
        return (preferred or found or [None])[0]

    def artist_by_name(self, name: str) -> int | None:
        return self._pick(db_store._ARTIST_BY_NAME, (name,), self.prefer.artists)

    def album_by_title(self, title: str, artist_id: int) -> int | None:
        params = {"artist": artist_id, "titles": [title], "without_mbid": False}
        return self._pick(db_store._ALBUM_BY_TITLES, params, self.prefer.albums)

    def album_by_titles_without_mbid(self, titles: Sequence[str], artist_id: int) -> int | None:
        params = {"artist": artist_id, "titles": list(titles), "without_mbid": True}
        return self._pick(db_store._ALBUM_BY_TITLES, params, self.prefer.albums)

    def track_by_info(self, title: str, album_id: int, artist_ids: Sequence[int]) -> int | None:
        params = {"title": title, "album": album_id, "artists": list(artist_ids)}
        return self._pick(db_store._TRACK_BY_INFO, params, self.prefer.tracks)


def fresh_resolution(
    conn: psycopg.Connection,
    record: Scrobble,
    musicbrainz: MusicBrainz = OFF,
    prefer: Preferred = Preferred(),
) -> tuple[int, int, int]:
    """What Koito's rules answer right now, ignoring the cache; rolled back, so nothing changes.

    Where several entities match, ``prefer`` ids win (any match is an answer Koito may give)."""
    with conn.transaction(force_rollback=True):
        store = _PreferringStore(
            conn, LockSet(conn), musicbrainz, SETTINGS.artist_separators, prefer=prefer
        )
        artists, album, track = rules.resolve_record(store, record)
        return artists[0], album, track


# -- Koito's own changes (docs/koito-reference.md §6), in its SQL's words --------------------------

CLEAN_ORPHANS = """
DELETE FROM tracks t WHERE NOT EXISTS (SELECT 1 FROM listens l WHERE l.track_id = t.id);
DELETE FROM releases r WHERE NOT EXISTS (SELECT 1 FROM tracks t WHERE t.release_id = r.id);
DELETE FROM artists a WHERE NOT EXISTS (SELECT 1 FROM artist_tracks at WHERE at.artist_id = a.id);
DELETE FROM artist_releases ar WHERE NOT EXISTS (
    SELECT 1 FROM artist_tracks at JOIN tracks t ON t.id = at.track_id
    WHERE at.artist_id = ar.artist_id AND t.release_id = ar.release_id);
"""


def clean_orphans(conn: psycopg.Connection) -> None:
    for statement in CLEAN_ORPHANS.strip().split(";\n"):
        conn.execute(statement)


def merge_tracks(conn: psycopg.Connection, source: int, target: int) -> None:
    with conn.transaction():
        conn.execute("UPDATE listens SET track_id = %s WHERE track_id = %s", (target, source))
        conn.execute(
            "INSERT INTO artist_releases (artist_id, release_id) "
            "SELECT at.artist_id, (SELECT release_id FROM tracks WHERE id = %s) "
            "FROM artist_tracks at WHERE at.track_id = %s ON CONFLICT DO NOTHING",
            (target, source),
        )
        clean_orphans(conn)


def merge_albums(conn: psycopg.Connection, source: int, target: int) -> None:
    with conn.transaction():
        conn.execute("UPDATE tracks SET release_id = %s WHERE release_id = %s", (target, source))
        conn.execute(
            "INSERT INTO artist_releases (artist_id, release_id) "
            "SELECT artist_id, %s FROM artist_releases WHERE release_id = %s ON CONFLICT DO NOTHING",
            (target, source),
        )
        clean_orphans(conn)


def merge_artists(conn: psycopg.Connection, source: int, target: int) -> None:
    with conn.transaction():
        for table, column in (("artist_tracks", "track_id"), ("artist_releases", "release_id")):
            conn.execute(
                f"DELETE FROM {table} WHERE artist_id = %s AND {column} IN "
                f"(SELECT {column} FROM {table} WHERE artist_id = %s)",
                (source, target),
            )
            conn.execute(
                f"UPDATE {table} SET artist_id = %s WHERE artist_id = %s", (target, source)
            )
        clean_orphans(conn)


def set_primary_alias(
    conn: psycopg.Connection, table: str, column: str, entity_id: int, alias: str
) -> None:
    """Koito's rename: add the alias, then move the primary flag to it."""
    with conn.transaction():
        conn.execute(
            f"INSERT INTO {table} ({column}, alias, source, is_primary) VALUES (%s, %s, 'Manual', false) "
            "ON CONFLICT DO NOTHING",
            (entity_id, alias),
        )
        conn.execute(
            f"UPDATE {table} SET is_primary = false WHERE {column} = %s AND is_primary",
            (entity_id,),
        )
        conn.execute(
            f"UPDATE {table} SET is_primary = true WHERE {column} = %s AND alias = %s",
            (entity_id, alias),
        )


# -- the catalogue, by names -----------------------------------------------------------------------


def catalogue(conn: psycopg.Connection) -> dict[str, Counter]:
    """Every artist, release, track and listen described by names, not ids (ids differ by path)."""
    artist = {
        row[0]: (row[1], row[2])
        for row in conn.execute(
            # '' for no MBID: two artists of one name, with and without, must still sort.
            "SELECT a.id, (SELECT alias FROM artist_aliases WHERE artist_id = a.id AND is_primary "
            "ORDER BY alias LIMIT 1), coalesce(a.musicbrainz_id::text, '') FROM artists a"
        )
    }
    artists = Counter(
        (name, mbid, image_source, tuple(sorted(map(tuple, aliases))))
        for name, mbid, image_source, aliases in conn.execute(
            "SELECT (SELECT alias FROM artist_aliases WHERE artist_id = a.id AND is_primary ORDER BY alias LIMIT 1), "
            "a.musicbrainz_id::text, a.image_source, "
            "(SELECT coalesce(json_agg(json_build_array(alias, source, is_primary)), '[]') "
            " FROM artist_aliases WHERE artist_id = a.id) FROM artists a"
        )
    )
    release = {}
    releases = Counter()
    for rid, title, mbid, various, image_source, aliases, links in conn.execute(
        "SELECT r.id, (SELECT alias FROM release_aliases WHERE release_id = r.id AND is_primary ORDER BY alias LIMIT 1), "
        "r.musicbrainz_id::text, r.various_artists, r.image_source, "
        "(SELECT coalesce(json_agg(json_build_array(alias, source, is_primary)), '[]') FROM release_aliases WHERE release_id = r.id), "
        "(SELECT coalesce(json_agg(json_build_array(artist_id, is_primary)), '[]') FROM artist_releases WHERE release_id = r.id) "
        "FROM releases r"
    ):
        described = (
            title,
            mbid,
            various,
            image_source,
            tuple(sorted(map(tuple, aliases))),
            tuple(sorted((artist[a], p) for a, p in links)),
        )
        release[rid] = (title, described[5])
        releases[described] += 1
    track = {}
    tracks = Counter()
    for tid, title, mbid, duration, rel, aliases, credits in conn.execute(
        "SELECT t.id, (SELECT alias FROM track_aliases WHERE track_id = t.id AND is_primary ORDER BY alias LIMIT 1), "
        "t.musicbrainz_id::text, t.duration, t.release_id, "
        "(SELECT coalesce(json_agg(json_build_array(alias, source, is_primary)), '[]') FROM track_aliases WHERE track_id = t.id), "
        "(SELECT coalesce(json_agg(json_build_array(artist_id, is_primary)), '[]') FROM artist_tracks WHERE track_id = t.id) "
        "FROM tracks t"
    ):
        described = (
            title,
            mbid,
            duration,
            release[rel],
            tuple(sorted(map(tuple, aliases))),
            tuple(sorted((artist[a], p) for a, p in credits)),
        )
        track[tid] = (title, release[rel], described[5])
        tracks[described] += 1
    listens = Counter(
        (track[tid], at, client, user)
        for tid, at, client, user in conn.execute(
            "SELECT track_id, extract(epoch FROM listened_at)::bigint, client, user_id FROM listens"
        )
    )
    return {"artists": artists, "releases": releases, "tracks": tracks, "listens": listens}


def duplicates(conn: psycopg.Connection) -> dict[str, list]:
    """Entities a second resolution created although the first one's would have been found."""
    return {
        "artist aliases on two artists": conn.execute(
            "SELECT alias, array_agg(artist_id) FROM artist_aliases GROUP BY alias HAVING count(*) > 1"
        ).fetchall(),
        "release titles twice for one artist": conn.execute(
            "SELECT ra.alias, ar.artist_id, array_agg(ra.release_id) FROM release_aliases ra "
            "JOIN artist_releases ar ON ar.release_id = ra.release_id AND ar.is_primary "
            "WHERE ra.is_primary GROUP BY 1, 2 HAVING count(*) > 1"
        ).fetchall(),
        "track titles twice on one release": conn.execute(
            "SELECT ta.alias, t.release_id, array_agg(t.id) FROM track_aliases ta "
            "JOIN tracks t ON t.id = ta.track_id WHERE ta.is_primary GROUP BY 1, 2 HAVING count(*) > 1"
        ).fetchall(),
    }


def insert_listens(
    conn: psycopg.Connection, records: Sequence[Scrobble], ids: dict[str, tuple[int, int, int]]
) -> None:
    """What the loader does after resolve_keys: every record's listen in one INSERT … SELECT
    joined through the resolved ids, file order deciding same-second duplicates; then tracks of
    unknown length take the first known duration in file order (docs/design.md §5.3)."""
    with conn.transaction():
        conn.execute(
            "CREATE TEMP TABLE staged (seq int, lookup_key text, listened_at bigint, client text, "
            "duration int) ON COMMIT DROP"
        )
        conn.execute(
            "CREATE TEMP TABLE resolved (lookup_key text PRIMARY KEY, track_id int) ON COMMIT DROP"
        )
        with conn.cursor().copy("COPY staged FROM STDIN") as copy:
            for seq, record in enumerate(records):
                copy.write_row(
                    (
                        seq,
                        lookup_key(record),
                        record.listened_at,
                        record.client or None,
                        record.duration_s,
                    )
                )
        with conn.cursor().copy("COPY resolved FROM STDIN") as copy:
            for key, (_, _, track) in ids.items():
                copy.write_row((key, track))
        conn.execute(
            "INSERT INTO listens (track_id, listened_at, client, user_id) "
            "SELECT r.track_id, to_timestamp(s.listened_at), s.client, 1 "
            "FROM staged s JOIN resolved r USING (lookup_key) ORDER BY s.seq ON CONFLICT DO NOTHING"
        )
        conn.execute(
            "UPDATE tracks t SET duration = d.duration FROM ("
            " SELECT DISTINCT ON (r.track_id) r.track_id, s.duration FROM staged s"
            " JOIN resolved r USING (lookup_key) WHERE s.duration > 0 ORDER BY r.track_id, s.seq) d "
            "WHERE t.id = d.track_id AND t.duration = 0"
        )
