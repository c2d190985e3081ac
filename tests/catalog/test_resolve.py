"""resolve_keys: set-based bulk resolution, cache hits, failures, re-resolution.

Re-resolution after Koito's orphan clean-up: docs/design.md §5.8.
"""

from __future__ import annotations

import psycopg

from koito_assets.catalog import transactions
from koito_assets.catalog.lookup_key import lookup_key
from koito_assets.catalog.resolve import resolve_keys
from koito_assets.sources.record import Scrobble
from tests.catalog import helpers
from tests.catalog.helpers import OFF, SETTINGS, entity, koito_scrobble, scrobble, statements

M = "55555555-0000-4000-8000-{:012d}"


def workload(n: int, offset: int = 0) -> list[Scrobble]:
    """n distinct keys sharing artists and albums, some with features, singles and MBIDs."""
    out = []
    for i in range(offset, offset + n):
        artist = f"Artist {i % 7}"
        if i % 5 == 1:
            artist += f" feat. Guest {i % 3}"
        album = "" if i % 9 == 0 else f"Album {i % 4}"
        if i % 6 == 2:  # LastFM-like: an artist MBID with its mapping, a recording MBID
            out.append(
                scrobble(
                    artist,
                    f"Song {i}",
                    album,
                    at=i,
                    artist_mbids=(M.format(i % 7),),
                    artist_mbid_mappings=((artist, M.format(i % 7)),),
                    recording_mbid=M.format(1000 + i),
                )
            )
        else:
            out.append(scrobble(artist, f"Song {i}", album, at=i, duration_s=i % 3 * 100))
    return out


def counts(conn: psycopg.Connection) -> tuple[int, int, int]:
    return conn.execute(
        "SELECT (SELECT count(*) FROM artists), (SELECT count(*) FROM releases), "
        "(SELECT count(*) FROM tracks)"
    ).fetchone()


def test_new_keys_are_created_counted_and_cached(db_url: str, conn) -> None:
    records = workload(60)
    with helpers.pool_for(db_url) as pool:
        result = resolve_keys(pool, records, musicbrainz=OFF, settings=SETTINGS)
    assert not result.failed and result.cache_hits == 0 and result.live_queries == 0
    assert result.batches_resolved_per_key == 0
    assert (result.artists_created, result.albums_created, result.tracks_created) == counts(conn)
    assert set(result.ids) == {lookup_key(r) for r in records}
    rows = dict(
        (
            (k, (a, al, t))
            for k, a, al, t in conn.execute(
                "SELECT lookup_key, artist_id, album_id, track_id FROM koito_import.track_lookup"
            )
        )
    )
    assert rows == result.ids
    # the ids are real and consistent: the track is on the release, credited to the artist
    assert conn.execute(
        "SELECT count(*) FROM koito_import.track_lookup tl JOIN tracks t ON t.id = tl.track_id "
        "JOIN artist_tracks at ON at.track_id = t.id AND at.artist_id = tl.artist_id"
    ).fetchone()[0] == len(records)


def test_statements_do_not_grow_with_the_number_of_keys(pg_server, template_db) -> None:
    def logged(records: list[Scrobble]) -> list[str]:
        with (
            helpers.fresh_database(pg_server, template_db) as url,
            helpers.counting_pool(url, 1) as pool,
        ):
            result = resolve_keys(pool, records, musicbrainz=OFF, settings=SETTINGS)
            assert not result.failed and result.live_queries == 0
            assert result.batches_resolved_per_key == 0
            with pool.connection() as conn:
                return list(conn.log)  # type: ignore[attr-defined]

    small = logged(workload(12))
    large = logged(workload(600))
    assert statements(large) == statements(small)
    assert len(statements(large)) <= 30
    assert large.count("BEGIN") == 1  # one transaction for the whole batch


def test_second_call_is_all_hits_in_one_query(db_url: str) -> None:
    records = workload(40)
    with helpers.counting_pool(db_url, 1) as pool:
        resolve_keys(pool, records, musicbrainz=OFF, settings=SETTINGS)
        with pool.connection() as conn:
            conn.log.clear()  # type: ignore[attr-defined]
        again = resolve_keys(pool, records, musicbrainz=OFF, settings=SETTINGS)
        with pool.connection() as conn:
            (query,) = conn.log  # type: ignore[attr-defined]
            assert query.startswith("SELECT") and "= ANY(" in query
    assert again.cache_hits == 40 and again.artists_created == again.tracks_created == 0


def test_representatives_of_one_key_are_resolved_once(db_url: str) -> None:
    records = [scrobble("A", "S", at=1), scrobble("A", "S", at=2), scrobble("B", "S", at=3)]
    with helpers.pool_for(db_url) as pool:
        result = resolve_keys(pool, records, musicbrainz=OFF, settings=SETTINGS)
    assert len(result.ids) == 2 and result.tracks_created == 2


def test_empty_input_touches_nothing(db_url: str) -> None:
    with helpers.counting_pool(db_url, 1) as pool:
        result = resolve_keys(pool, [], musicbrainz=OFF, settings=SETTINGS)
        with pool.connection() as conn:
            assert conn.log == []  # type: ignore[attr-defined]
    assert result.ids == {} and result.failed == {}


def test_unusable_records_fail_alone_with_a_reason(db_url: str) -> None:
    good = scrobble("Fine", "Song")
    bad = [
        scrobble("  ", "Song"),
        scrobble("A", ""),
        scrobble("(feat. )", "Song"),
        scrobble("A\x00", "B"),
    ]
    with helpers.pool_for(db_url) as pool:
        result = resolve_keys(pool, [*bad, good], musicbrainz=OFF, settings=SETTINGS)
    assert set(result.ids) == {lookup_key(good)}
    assert {lookup_key(r) for r in bad} == set(result.failed)
    assert "no artist name" in result.failed[lookup_key(bad[2])]
    assert "artist is empty" in result.failed[lookup_key(bad[0])]


def test_a_key_the_database_refuses_fails_alone(db_url: str, conn, monkeypatch) -> None:
    """A batch that fails for good falls back to one transaction per key, so the rest still land."""
    monkeypatch.setattr(transactions, "ATTEMPTS", 2)
    taken = M.format(1)
    # an artist Koito cannot see (no primary alias) holds the MBID, so creating it again collides
    conn.execute("INSERT INTO artists (musicbrainz_id) VALUES (%s)", (taken,))
    doomed = scrobble("Someone", "Song", artist_mbid_mappings=(("Someone", taken),))
    fine = [scrobble("A", "S1", "X"), scrobble("B", "S2", "X")]
    with helpers.pool_for(db_url) as pool:
        result = resolve_keys(pool, [fine[0], doomed, fine[1]], musicbrainz=OFF, settings=SETTINGS)
    assert result.batches_resolved_per_key == 1
    assert set(result.failed) == {lookup_key(doomed)}
    assert "duplicate key" in result.failed[lookup_key(doomed)]
    assert set(result.ids) == {lookup_key(r) for r in fine}
    assert result.artists_created == 2 and result.tracks_created == 2


def test_keys_whose_entities_vanished_are_resolved_again(db_url: str, conn) -> None:
    """Koito's orphan clean-up deletes entities that have no listens yet.

    docs/koito-reference.md §10 T12.
    """
    records = workload(30)
    with helpers.pool_for(db_url) as pool:
        first = resolve_keys(pool, records, musicbrainz=OFF, settings=SETTINGS)
        # half of the keys get their listens, then Koito cleans up
        kept = records[:15]
        conn.execute(
            "INSERT INTO listens (track_id, listened_at, user_id) SELECT t, to_timestamp(0), 1 "
            "FROM unnest(%s::int[]) AS t ON CONFLICT DO NOTHING",
            ([first.ids[lookup_key(r)][2] for r in kept],),
        )
        helpers.clean_orphans(conn)
        rows = {r[0] for r in conn.execute("SELECT lookup_key FROM koito_import.track_lookup")}
        vanished = [r for r in records if lookup_key(r) not in rows]
        assert vanished and {lookup_key(r) for r in kept} <= rows
        second = resolve_keys(pool, records, musicbrainz=OFF, settings=SETTINGS)
    assert not second.failed and second.cache_hits == len(records) - len(vanished)
    for record in records:
        artist, album, track = second.ids[lookup_key(record)]
        assert conn.execute(
            "SELECT 1 FROM tracks t JOIN artist_tracks at ON at.track_id = t.id "
            "WHERE t.id = %s AND t.release_id = %s AND at.artist_id = %s",
            (track, album, artist),
        ).fetchone()
    assert conn.execute("SELECT count(*) FROM koito_import.track_lookup").fetchone()[0] == len(
        records
    )


def test_koito_records_are_resolved_set_based(pg_server, template_db) -> None:
    def batch(n: int) -> list[Scrobble]:
        return [
            koito_scrobble(
                [
                    entity(f"Artist {i % 5}", M.format(i % 5) if i % 2 else None),
                    entity(f"Guest {i % 3}"),
                ],
                entity(f"Album {i % 4}", image_url="https://img/x.jpg"),
                entity(
                    f"Song {i}",
                    M.format(500 + i) if i % 3 else None,
                    f"Song {i} alt",
                    duration_s=100 + i,
                ),
                at=i,
            )
            for i in range(n)
        ]

    def logged(records: list[Scrobble]) -> list[str]:
        with (
            helpers.fresh_database(pg_server, template_db) as url,
            helpers.counting_pool(url, 1) as pool,
        ):
            result = resolve_keys(pool, records, musicbrainz=OFF, settings=SETTINGS)
            assert not result.failed and result.live_queries == 0
            assert result.batches_resolved_per_key == 0
            assert result.tracks_created == len(records)
            with pool.connection() as conn:
                return statements(conn.log)  # type: ignore[attr-defined]

    assert logged(batch(10)) == logged(batch(200))


def test_a_role_that_is_not_superuser_resolves_with_the_foreign_key_checks(
    pg_server, template_db
) -> None:
    """Koito's own database user is usually no superuser: it may not skip per-row checks, and
    resolution must work the same with them."""
    role = f"koito_app_{next(helpers._names)}"
    with (
        helpers.fresh_database(pg_server, template_db) as url,
        psycopg.connect(url, autocommit=True) as admin,
    ):
        admin.execute(f'CREATE ROLE "{role}" LOGIN')
        for schema in ("public", "koito_import"):
            admin.execute(f'GRANT USAGE ON SCHEMA {schema} TO "{role}"')
            admin.execute(f'GRANT ALL ON ALL TABLES IN SCHEMA {schema} TO "{role}"')
            admin.execute(f'GRANT ALL ON ALL SEQUENCES IN SCHEMA {schema} TO "{role}"')
        role_url = psycopg.conninfo.make_conninfo(url, user=role)
        with helpers.counting_pool(role_url, 1) as pool:
            with pool.connection() as conn:
                assert conn.info.parameter_status("is_superuser") == "off"
            result = resolve_keys(pool, workload(60), musicbrainz=OFF, settings=SETTINGS)
            with pool.connection() as conn:
                assert not any("session_replication_role" in s for s in conn.log)  # type: ignore[attr-defined]
        assert not result.failed and len(result.ids) == 60
        links = admin.execute(
            "SELECT (SELECT count(*) FROM artist_tracks), (SELECT count(*) FROM track_aliases)"
        ).fetchone()
        assert links[0] >= 60 and links[1] == 60


def test_a_superuser_writes_links_without_per_row_checks(db_url: str) -> None:
    with helpers.counting_pool(db_url, 1) as pool:
        resolve_keys(pool, workload(20), musicbrainz=OFF, settings=SETTINGS)
        with pool.connection() as conn:
            log = list(conn.log)  # type: ignore[attr-defined]
    replica = next(i for i, s in enumerate(log) if "session_replication_role = replica" in s)
    origin = next(i for i, s in enumerate(log) if "session_replication_role = origin" in s)
    inside = log[replica + 1 : origin]
    assert inside and all(s.startswith("INSERT INTO") for s in inside)
    # Only tables whose skipped triggers are foreign-key checks the pin stands in for: links,
    # aliases and the cache (entity tables keep theirs: their insert triggers invalidate the cache).
    assert {s.split()[2] for s in inside} <= {
        "artist_releases",
        "release_aliases",
        "artist_tracks",
        "track_aliases",
        "koito_import.track_lookup",
    }
