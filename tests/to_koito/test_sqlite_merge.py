"""merge-into-sqlite as a whole: all or nothing, checked before commit, idempotent, a union,
one import file's listens, and the same as Koito's export-file importer reading the project's
export file of a realistic history."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from benchmarks.workload import generate
from koito_assets.to_koito.export_file import UnknownImportFile
from koito_assets.to_koito.export_file import write_export as write_koito_export
from koito_assets.to_koito.sqlite_mapping import MergeCheckFailed
from koito_assets.to_koito.sqlite_merge import merge_into_sqlite
from koito_assets.to_koito.sqlite_source import Selection
from tests.defs.exports import maloja_scrobble, write_maloja
from tests.to_koito.catalogue import Catalogue
from tests.to_koito.export_oracle import (
    catalogue_of_postgres,
    catalogue_of_sqlite,
    differences,
)
from tests.to_koito.koito_migrator import migrate_to_sqlite
from tests.to_koito.koito_sqlite import connect, create_koito_db
from tests.to_koito.sqlite_fixtures import ImportFile


def dump(path: Path) -> list[str]:
    """Every table, row, index and trigger of the file, as SQL text."""
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def count(path: Path, table: str) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        conn.close()


@pytest.fixture
def koito_with_history(db_url: str, conn: psycopg.Connection, tmp_path: Path) -> Path:
    """A Koito database already holding a merged library, and more of ours to merge."""
    ours = Catalogue(conn)
    band, guest = ours.artist("Band"), ours.artist("Guest")
    album = ours.release("Album", [band])
    ours.listens(ours.track("Old", album, [band], duration=100), [1_000, 2_000])
    path = create_koito_db(tmp_path / "koito.db")
    merge_into_sqlite(db_url, path, backup=False)
    later = ours.release("Later", [band, guest])
    for n in range(20):
        ours.listens(ours.track(f"New {n}", later, [band, guest]), [10_000 + n, 20_000 + n])
    return path


def test_a_failure_mid_way_leaves_the_database_as_it_was(db_url: str, koito_with_history: Path):
    path = koito_with_history
    koito = connect(path)
    # The 30th listen fails, after every new artist, release and track has been written.
    koito.execute(
        "CREATE TRIGGER fail_mid_way BEFORE INSERT ON listens WHEN NEW.listened_at = 20009 "
        "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
    )
    koito.close()
    before = dump(path)
    with pytest.raises(sqlite3.IntegrityError, match="injected failure"):
        merge_into_sqlite(db_url, path, backup=False)
    assert dump(path) == before
    assert count(path, "tracks") == 1 and count(path, "listens") == 2


def test_a_broken_invariant_is_caught_before_commit_and_rolled_back(
    db_url: str, koito_with_history: Path
):
    path = koito_with_history
    koito = connect(path)
    # Something (not the merge) takes the primary flag off a new track's title as it lands.
    koito.execute(
        "CREATE TRIGGER unprimary AFTER INSERT ON track_aliases WHEN NEW.alias = 'New 7' "
        "BEGIN UPDATE track_aliases SET is_primary = 0 WHERE track_id = NEW.track_id; END"
    )
    koito.close()
    before = dump(path)
    with pytest.raises(MergeCheckFailed, match="1 tracks without exactly one primary alias"):
        merge_into_sqlite(db_url, path, backup=False)
    assert dump(path) == before


def test_rows_pointing_at_nothing_fail_the_foreign_key_check(db_url: str, koito_with_history: Path):
    path = koito_with_history
    koito = sqlite3.connect(path, isolation_level=None)  # foreign keys off, as a bad tool has it
    koito.execute("INSERT INTO artist_tracks (artist_id, track_id) VALUES (999, 1)")
    koito.close()
    before = dump(path)
    with pytest.raises(MergeCheckFailed, match="1 rows of artist_tracks point at nothing"):
        merge_into_sqlite(db_url, path, backup=False)
    assert dump(path) == before


def test_merging_twice_changes_nothing_the_second_time(db_url: str, koito_with_history: Path):
    path = koito_with_history
    first = merge_into_sqlite(db_url, path, backup=False)
    assert (first.counts.listens_added, first.counts.tracks_created) == (40, 20)
    assert (first.counts.artists_created, first.counts.releases_created) == (1, 1)
    before = dump(path)
    second = merge_into_sqlite(db_url, path, backup=False)
    assert dump(path) == before
    c = second.counts
    assert (c.artists_created, c.releases_created, c.tracks_created, c.listens_added) == (
        0,
        0,
        0,
        0,
    )
    assert (c.artists_matched, c.releases_matched, c.tracks_matched) == (2, 2, 21)
    assert second.listens_already_present == 42


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> Path:
    """A ListenBrainz history with MBIDs, featured artists and albums shared by artists."""
    return generate("listenbrainz_zip", 3000, tmp_path_factory.mktemp("history"), seed=11)


@pytest.mark.parametrize("source", ["listenbrainz_zip", "koito"])
def test_the_same_as_koitos_importer_reading_our_export_file(
    db_url: str, second_db_url: str, import_file: ImportFile, tmp_path: Path, source: str
):
    # Our library as the project's Koito export file, read by our Koito-export reader into a
    # fresh database: what Koito's importer makes of those listens. The merge into a fresh
    # Koito database must make the same: entities, names, aliases and their sources, primaries,
    # the artists of tracks and releases, images, listens.
    history = generate(source, 3000, tmp_path / "history", seed=11)
    import_file(history, db_url)
    exported = write_koito_export(db_url, tmp_path / "export")
    assert exported.listens == 3000 and not exported.skipped
    import_file(exported.path, second_db_url)
    path = create_koito_db(tmp_path / "koito.db")
    report = merge_into_sqlite(db_url, path)
    assert differences(catalogue_of_postgres(second_db_url), catalogue_of_sqlite(path)) == []
    assert report.counts.listens_added == report.listens_selected == 3000
    # and merging the same again changes nothing
    before = dump(path)
    again = merge_into_sqlite(db_url, path, backup=False)
    assert dump(path) == before and again.counts.listens_added == 0


def test_one_import_files_listens(db_url: str, import_file: ImportFile, tmp_path: Path):
    first = write_maloja(
        tmp_path / "maloja_export_1.json",
        [maloja_scrobble(1_700_000_000 + n, ["Band"], f"Song {n}", "Album") for n in range(5)],
    )
    second = write_maloja(
        tmp_path / "maloja_export_2.json",
        [maloja_scrobble(1_700_000_002 + n, ["Band"], f"Song {n + 2}", "Album") for n in range(5)],
    )
    import_file(first, db_url)
    import_file(second, db_url)  # its first three listens are the first file's last three
    path = create_koito_db(tmp_path / "koito.db")
    report = merge_into_sqlite(db_url, path, Selection(file_key=second.name), backup=False)
    assert report.file == second.name
    assert report.listens_selected == report.counts.listens_added == 2  # what it added
    assert count(path, "listens") == 2 and count(path, "tracks") == 2
    files = set(tmp_path.iterdir())
    with pytest.raises(UnknownImportFile, match="no import file of that name"):
        merge_into_sqlite(db_url, path, Selection(file_key="never.json"))
    assert set(tmp_path.iterdir()) == files  # refused before any backup was written


def test_merging_into_the_database_koitos_migrator_made_from_ours_changes_nothing(
    db_url: str, import_file: ImportFile, history: Path, tmp_path: Path
):
    import_file(history, db_url)
    path = migrate_to_sqlite(db_url, tmp_path / "koito.db")
    before = dump(path)
    report = merge_into_sqlite(db_url, path, backup=False)
    assert dump(path) == before
    c = report.counts
    assert (c.artists_created, c.releases_created, c.tracks_created, c.listens_added) == (
        0,
        0,
        0,
        0,
    )
    assert report.listens_already_present == 3000


def _listen_keys(path: Path) -> set[tuple]:
    """Each listen as (artist names, track title, release title, second): ids left out."""
    conn = sqlite3.connect(path)
    try:
        return set(
            conn.execute(
                """
                SELECT (SELECT group_concat(alias, ' / ') FROM (
                            SELECT aa.alias FROM artist_tracks at
                            JOIN artist_aliases aa
                                ON aa.artist_id = at.artist_id AND aa.is_primary = 1
                            WHERE at.track_id = l.track_id ORDER BY aa.alias)),
                       ta.alias, ra.alias, l.listened_at
                FROM listens l
                JOIN tracks t ON t.id = l.track_id
                JOIN track_aliases ta ON ta.track_id = t.id AND ta.is_primary = 1
                JOIN release_aliases ra ON ra.release_id = t.release_id AND ra.is_primary = 1
                """
            ).fetchall()
        )
    finally:
        conn.close()


def test_two_overlapping_libraries_merge_into_their_union(
    make_db: Callable[[], str], import_file: ImportFile, tmp_path: Path
):
    # One history read three times: its first two thirds, its last two thirds, and whole.
    history = generate("maloja", 3000, tmp_path / "maloja", seed=12)
    whole, first, last = make_db(), make_db(), make_db()
    import_file(history, whole)
    with psycopg.connect(whole) as conn:
        start, end = conn.execute(
            "SELECT extract(epoch FROM min(listened_at))::bigint, "
            "extract(epoch FROM max(listened_at))::bigint FROM listens"
        ).fetchone()
    third = (end - start) // 3
    import_file(history, first, before=start + 2 * third)
    import_file(history, last, after=start + third)

    union = create_koito_db(tmp_path / "union.db")
    a = merge_into_sqlite(first, union, backup=False)
    b = merge_into_sqlite(last, union, backup=False)
    assert a.counts.listens_added > 0 and b.listens_already_present > 0  # they overlap
    reference = create_koito_db(tmp_path / "whole.db")
    merge_into_sqlite(whole, reference, backup=False)

    assert count(union, "listens") == count(reference, "listens")
    assert _listen_keys(union) == _listen_keys(reference)
    for table in ("artists", "releases", "tracks"):
        assert count(union, table) == count(reference, table), table
    conn = sqlite3.connect(union)
    try:  # one artist per MBID and per name, as Koito's rules make them
        assert conn.execute(
            "SELECT count(*) FROM (SELECT musicbrainz_id FROM artists "
            "WHERE musicbrainz_id IS NOT NULL GROUP BY 1 HAVING count(*) > 1)"
        ).fetchone() == (0,)
        assert conn.execute(
            "SELECT count(*) FROM (SELECT aa.alias FROM artists a "
            "JOIN artist_aliases aa ON aa.artist_id = a.id AND aa.is_primary = 1 "
            "WHERE a.musicbrainz_id IS NULL GROUP BY 1 HAVING count(*) > 1)"
        ).fetchone() == (0,)
    finally:
        conn.close()


def test_libraries_that_share_mbids_and_names_share_their_entities(
    make_db: Callable[[], str], tmp_path: Path
):
    mbid_x, mbid_t = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"

    def library(times: list[int], extra: bool) -> str:
        url = make_db()
        with psycopg.connect(url, autocommit=True) as conn:
            ours = Catalogue(conn)
            x = ours.artist("X Artist", mbid=mbid_x)
            y = ours.artist("Y Artist")
            album = ours.release("Album", [x])
            ours.listens(ours.track("With MBID", album, [x], mbid=mbid_t), times)
            ours.listens(ours.track("By name", album, [x, y]), [t + 1 for t in times])
            if extra:
                z = ours.artist("Z Artist")
                ours.listen(ours.track("Only here", ours.release("Other", [z]), [z]), 5_000)
        return url

    first = library([100, 200, 300], extra=False)
    second = library([200, 300, 400], extra=True)
    path = create_koito_db(tmp_path / "koito.db")
    merge_into_sqlite(first, path, backup=False)
    report = merge_into_sqlite(second, path, backup=False)
    assert (report.counts.listens_added, report.listens_already_present) == (3, 4)
    assert report.counts.artists_created == 1 and report.counts.tracks_created == 1
    assert count(path, "artists") == 3 and count(path, "releases") == 2
    assert count(path, "tracks") == 3
    assert sorted(k[1:] for k in _listen_keys(path)) == sorted(
        [("With MBID", "Album", t) for t in (100, 200, 300, 400)]
        + [("By name", "Album", t) for t in (101, 201, 301, 401)]
        + [("Only here", "Other", 5_000)]
    )
