"""The database drops every lookup row a change to Koito's tables makes stale (docs/design.md §5.9).

Each test makes one change the way Koito's own SQL does (docs/koito-reference.md §6), then checks
that (a) the rows it made stale are gone, (b) every row still there is an answer Koito's rules would
give right now (a fresh resolution, rolled back; where several entities match, Koito takes any one),
and (c) the next submit resolves the record correctly.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import psycopg
import pytest

from koito_assets.catalog import cache
from koito_assets.catalog.lookup_key import lookup_key
from koito_assets.catalog.resolve import resolve_keys
from koito_assets.catalog.submit import submit_listen
from koito_assets.catalog.transactions import EntityVanished
from koito_assets.sources.record import Scrobble
from tests.catalog import helpers
from tests.catalog.helpers import OFF, SETTINGS, entity, fresh_resolution, koito_scrobble, scrobble

M1 = "44444444-0000-4000-8000-000000000001"
M2 = "44444444-0000-4000-8000-000000000002"

A_S1_X = scrobble("A", "S1", "X", at=1)
B_S2_Y = scrobble("B", "S2", "Y", at=2)
# B is a guest on A's release X. Named explicitly: from "A feat. B" alone Koito would look X up by
# B, its first artist, and make B a release of its own (tested in test_resolve.py).
AB_S3_X = scrobble("A feat. B", "S3", "X", artist_names=("A", "B"), at=3)
A_S4_Y = scrobble("A", "S4", "Y", at=4)  # A has no "Y": a release of its own, not B's
RECORDS = [A_S1_X, B_S2_Y, AB_S3_X, A_S4_Y]


def submit(conn: psycopg.Connection, record: Scrobble):
    return submit_listen(conn, record, musicbrainz=OFF, settings=SETTINGS)


def cached(conn: psycopg.Connection, record: Scrobble) -> tuple[int, int, int] | None:
    row = conn.execute(
        "SELECT artist_id, album_id, track_id FROM koito_import.track_lookup WHERE lookup_key = %s",
        (lookup_key(record),),
    ).fetchone()
    return tuple(row) if row else None


def still_valid(conn: psycopg.Connection, record: Scrobble) -> bool:
    """Is the cached answer one that Koito's rules, asked now, could give?"""
    row = conn.execute(
        "SELECT artist_id, album_id, track_id, artist_ids FROM koito_import.track_lookup "
        "WHERE lookup_key = %s",
        (lookup_key(record),),
    ).fetchone()
    prefer = helpers.Preferred(artists=row[3], albums=[row[1]], tracks=[row[2]])
    return tuple(row[:3]) == fresh_resolution(conn, record, prefer=prefer)


def assert_no_stale_rows(conn: psycopg.Connection, records: Sequence[Scrobble]) -> None:
    for record in records:
        if cached(conn, record) is not None:
            assert still_valid(conn, record), f"stale row for {record.artist!r}/{record.track!r}"


def assert_next_submit_is_right(conn: psycopg.Connection, records: Sequence[Scrobble]) -> None:
    for record in records:
        was = cached(conn, record)
        got = submit(conn, record._replace(listened_at=record.listened_at + 1000))
        assert got.cache_hit == (was is not None)
        assert cached(conn, record) == (got.artist_id, got.album_id, got.track_id)
        assert still_valid(conn, record)


@pytest.fixture
def seeded(conn: psycopg.Connection) -> dict[str, int]:
    ids = {}
    for record in RECORDS:
        result = submit(conn, record)
        ids[record.track] = result.track_id
    ids["A"] = cached(conn, A_S1_X)[0]
    ids["B"] = cached(conn, B_S2_Y)[0]
    ids["X"] = cached(conn, A_S1_X)[1]
    ids["Y"] = cached(conn, B_S2_Y)[1]
    assert cached(conn, A_S4_Y)[1] != ids["Y"]
    assert all(cached(conn, r) for r in RECORDS)
    return ids


def test_merge_artists_drops_rows_of_the_merged_artist_even_as_a_guest(conn, seeded) -> None:
    helpers.merge_artists(conn, seeded["B"], seeded["A"])
    assert cached(conn, B_S2_Y) is None
    assert cached(conn, AB_S3_X) is None  # B was only the featured artist there
    assert cached(conn, A_S1_X) is not None
    assert_no_stale_rows(conn, RECORDS)
    assert_next_submit_is_right(conn, RECORDS)
    # aliases are not merged (Koito): "B" is a new artist again
    assert submit(conn, B_S2_Y._replace(listened_at=99)).artist_id not in (seeded["A"], seeded["B"])


def test_merge_albums_drops_rows_of_moved_tracks(conn, seeded) -> None:
    helpers.merge_albums(conn, seeded["Y"], seeded["X"])
    assert cached(conn, B_S2_Y) is None
    assert cached(conn, A_S1_X) is not None  # tracks already on the target keep their rows
    assert_no_stale_rows(conn, RECORDS)
    assert_next_submit_is_right(conn, RECORDS)


def test_merge_tracks_drops_rows_of_the_merged_track(conn, seeded) -> None:
    helpers.merge_tracks(conn, seeded["S3"], seeded["S1"])
    assert cached(conn, AB_S3_X) is None
    assert cached(conn, A_S1_X) is not None
    assert_no_stale_rows(conn, RECORDS)
    assert_next_submit_is_right(conn, RECORDS)


@pytest.mark.parametrize(
    ("statement", "key"),
    [
        ("DELETE FROM artists WHERE id = %(B)s", "B"),
        ("DELETE FROM releases WHERE id = %(X)s", "X"),
        ("DELETE FROM tracks WHERE id = %(S3)s", "S3"),
    ],
)
def test_deletes_drop_every_row_that_named_the_entity(
    conn, seeded, statement: str, key: str
) -> None:
    conn.execute(statement, seeded)
    helpers.clean_orphans(conn)
    gone = {"B": [B_S2_Y, AB_S3_X], "X": [A_S1_X, AB_S3_X], "S3": [AB_S3_X]}[key]
    assert all(cached(conn, r) is None for r in gone)
    assert_no_stale_rows(conn, RECORDS)
    assert_next_submit_is_right(conn, RECORDS)


def test_removing_a_track_credit_drops_its_rows(conn, seeded) -> None:
    conn.execute("DELETE FROM artist_tracks WHERE track_id = %(S3)s AND artist_id = %(B)s", seeded)
    assert cached(conn, AB_S3_X) is None
    assert_no_stale_rows(conn, RECORDS)
    assert_next_submit_is_right(conn, RECORDS)


def test_repointing_a_track_credit_drops_its_rows(conn, seeded) -> None:
    conn.execute("UPDATE artist_tracks SET artist_id = %(A)s WHERE track_id = %(S2)s", seeded)
    assert cached(conn, B_S2_Y) is None
    assert_no_stale_rows(conn, RECORDS)


def test_adding_a_credit_keeps_rows_that_are_still_koitos_answer(conn, seeded) -> None:
    conn.execute("INSERT INTO artist_tracks (artist_id, track_id) VALUES (%(B)s, %(S1)s)", seeded)
    assert cached(conn, A_S1_X) is not None  # S1 is still credited to A: still a match
    assert_no_stale_rows(conn, RECORDS)


def test_moving_a_track_to_another_release_drops_its_rows(conn, seeded) -> None:
    conn.execute("UPDATE tracks SET release_id = %(Y)s WHERE id = %(S1)s", seeded)
    assert cached(conn, A_S1_X) is None
    assert_no_stale_rows(conn, RECORDS)
    assert_next_submit_is_right(conn, RECORDS)


def test_unlinking_an_artist_from_a_release_drops_its_rows(conn, seeded) -> None:
    conn.execute(
        "DELETE FROM artist_releases WHERE release_id = %(X)s AND artist_id = %(A)s", seeded
    )
    assert cached(conn, A_S1_X) is None and cached(conn, AB_S3_X) is None
    assert_no_stale_rows(conn, RECORDS)
    assert_next_submit_is_right(conn, RECORDS)


@pytest.mark.parametrize(
    ("table", "column", "key", "new_name", "stale"),
    [
        ("release_aliases", "release_id", "X", "X (Remastered)", [A_S1_X, AB_S3_X]),
        ("track_aliases", "track_id", "S1", "S1 (Live)", [A_S1_X]),
        ("artist_aliases", "artist_id", "B", "Bee", [B_S2_Y, AB_S3_X]),
    ],
)
def test_primary_alias_renames_drop_rows(conn, seeded, table, column, key, new_name, stale) -> None:
    helpers.set_primary_alias(conn, table, column, seeded[key], new_name)
    assert all(cached(conn, r) is None for r in stale)
    assert_no_stale_rows(conn, RECORDS)
    assert_next_submit_is_right(conn, RECORDS)


def test_a_renamed_release_is_not_found_by_its_old_title(conn, seeded) -> None:
    helpers.set_primary_alias(conn, "release_aliases", "release_id", seeded["X"], "X (Remastered)")
    assert submit(conn, A_S1_X._replace(listened_at=77)).album_id != seeded["X"]


def test_deleting_an_alias_drops_rows_found_through_it(conn, seeded) -> None:
    nickname = scrobble("Bee", "S2", "Y", at=5)
    conn.execute("INSERT INTO artist_aliases VALUES (%(B)s, 'Bee', 'Manual', false)", seeded)
    assert submit(conn, nickname).artist_id == seeded["B"]
    conn.execute("DELETE FROM artist_aliases WHERE alias = 'Bee'")
    assert cached(conn, nickname) is None
    assert submit(conn, nickname._replace(listened_at=6)).artist_id != seeded["B"]


def test_adding_an_alias_keeps_rows(conn, seeded) -> None:
    conn.execute("INSERT INTO artist_aliases VALUES (%(A)s, 'Ay', 'Manual', false)", seeded)
    assert all(cached(conn, r) is not None for r in RECORDS)
    assert_no_stale_rows(conn, RECORDS)


def test_changing_an_mbid_drops_the_entitys_rows(conn, seeded) -> None:
    conn.execute("UPDATE artists SET musicbrainz_id = %s WHERE id = %s", (M1, seeded["A"]))
    assert cached(conn, A_S1_X) is None and cached(conn, AB_S3_X) is None
    assert cached(conn, B_S2_Y) is not None
    conn.execute("UPDATE releases SET musicbrainz_id = %s WHERE id = %s", (M1, seeded["Y"]))
    assert cached(conn, B_S2_Y) is None
    submit(conn, A_S1_X._replace(listened_at=50))
    conn.execute("UPDATE tracks SET musicbrainz_id = %s WHERE id = %s", (M2, seeded["S1"]))
    assert cached(conn, A_S1_X) is None
    assert_no_stale_rows(conn, RECORDS)
    assert_next_submit_is_right(conn, RECORDS)


@pytest.mark.parametrize("how", ["update", "insert"])
def test_an_mbid_that_gains_an_entity_drops_keys_that_had_to_use_names(conn, how: str) -> None:
    # MusicBrainz is off, nobody has M1: Koito matches the names, and stores no MBID
    # (docs/koito-reference.md §2.4 B)
    by_names = scrobble("Someone", "Song", artist_mbids=(M1,))
    first = submit(conn, by_names)
    if how == "update":
        other = submit(conn, scrobble("Someone Else", "Other", at=2))
        conn.execute("UPDATE artists SET musicbrainz_id = %s WHERE id = %s", (M1, other.artist_id))
        expected = other.artist_id
    else:  # a Koito import creates an artist carrying M1
        made = submit(
            conn, koito_scrobble([entity("Someone Else", M1)], entity("Al"), entity("T"), at=2)
        )
        expected = made.artist_id
    assert cached(conn, by_names) is None
    again = submit(conn, by_names._replace(listened_at=3))
    assert again.artist_id == expected != first.artist_id


def test_our_own_imports_invalidate_nothing(db_url: str, conn) -> None:
    """New entities, links to existing releases and duration fills leave earlier rows alone."""
    first = [scrobble("A", "S1", "X"), scrobble("A", "S2", "X"), scrobble("B", "S3", "Y")]
    second = [
        scrobble("A", "S5", "X"),  # a new track on an existing release
        scrobble("C feat. A", "S6", "X"),  # a new artist linked to an existing release
        scrobble("B · D", "S3", "Y"),  # a new artist
        scrobble(
            "E", "S7", "Z", recording_mbid=M1, artist_mbid_mappings=(("E", M2),)
        ),  # with MBIDs
    ]
    with helpers.pool_for(db_url) as pool:
        resolve_keys(pool, first, musicbrainz=OFF, settings=SETTINGS)
        before = conn.execute(
            "SELECT lookup_key, track_id FROM koito_import.track_lookup ORDER BY 1"
        ).fetchall()
        resolve_keys(pool, second, musicbrainz=OFF, settings=SETTINGS)
    conn.execute("UPDATE tracks SET duration = 99 WHERE duration = 0")
    after = conn.execute(
        "SELECT lookup_key, track_id FROM koito_import.track_lookup ORDER BY 1"
    ).fetchall()
    assert set(before) <= set(after) and len(after) == len(first) + len(second)


def test_rows_pin_their_artists_and_releases_until_commit(db_url: str, conn) -> None:
    """A Koito delete racing a resolution waits for it, then its trigger removes the new row."""
    made = submit(conn, A_S1_X)
    conn.execute("DELETE FROM koito_import.track_lookup")
    row = cache.LookupRow("pinned", [made.artist_id], made.album_id, made.track_id, [])
    with psycopg.connect(db_url) as resolver:
        cache.write_rows(resolver, [row])  # in an open transaction, not committed yet
        deleted = threading.Event()

        def koito_deletes() -> None:
            with psycopg.connect(db_url, autocommit=True) as koito:
                koito.execute("DELETE FROM artists WHERE id = %s", (made.artist_id,))
            deleted.set()

        thread = threading.Thread(target=koito_deletes)
        thread.start()
        assert not deleted.wait(0.5)  # the delete waits for the resolution's commit
        resolver.commit()
        thread.join(10)
    assert deleted.is_set()
    assert conn.execute("SELECT count(*) FROM koito_import.track_lookup").fetchone() == (0,)
    # and a row naming an artist deleted before the write is refused, for a retry
    with psycopg.connect(db_url) as late, pytest.raises(EntityVanished):
        cache.write_rows(late, [row])


def test_a_bulk_resolution_whose_existing_track_is_deleted_meanwhile_resolves_again(
    db_url: str, conn
) -> None:
    """The bulk path writes cache rows without per-row foreign-key checks (superuser), so its pin
    must cover tracks: a track Koito deleted after the resolution read it may not get a row."""
    made = submit(conn, A_S1_X)
    row = cache.LookupRow("gone", [made.artist_id], made.album_id, made.track_id, [])
    conn.execute("DELETE FROM listens WHERE track_id = %s", (made.track_id,))
    conn.execute("DELETE FROM tracks WHERE id = %s", (made.track_id,))
    with psycopg.connect(db_url) as late, pytest.raises(EntityVanished):
        cache.pin(late, [row])
    # and the whole path recreates it and caches the new track
    with helpers.counting_pool(db_url, 1) as pool:
        result = resolve_keys(pool, [A_S1_X], musicbrainz=OFF, settings=SETTINGS)
    assert not result.failed
    new_track = result.ids[lookup_key(A_S1_X)][2]
    assert new_track != made.track_id and still_valid(conn, A_S1_X)
