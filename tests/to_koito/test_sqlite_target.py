"""merge-into-sqlite refuses what it must not touch, untouched, and backs up what it changes."""

from __future__ import annotations

import hashlib
import re
import sqlite3
from pathlib import Path

import psycopg
import pytest

from koito_assets.to_koito.sqlite_merge import merge_into_sqlite
from koito_assets.to_koito.sqlite_target import (
    DatabaseInUse,
    KoitoMissing,
    UnknownKoitoDatabase,
)
from tests.to_koito.catalogue import Catalogue
from tests.to_koito.koito_sqlite import connect, create_koito_db


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


@pytest.fixture
def library(conn: psycopg.Connection) -> Catalogue:
    """A small library of ours: two tracks, three listens."""
    c = Catalogue(conn)
    band = c.artist("Example Band")
    album = c.release("Shoreline", [band])
    c.listens(c.track("Tide", album, [band], duration=201), [1_700_000_000, 1_700_000_600])
    c.listens(c.track("Undertow", album, [band]), [1_700_000_300])
    return c


def _listens(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT count(*) FROM listens").fetchone()[0]
    finally:
        conn.close()


@pytest.mark.parametrize("koito_is", ["idle", "writing"])
def test_refuses_while_koito_has_the_database_open_and_changes_nothing(
    db_url: str, library: Catalogue, tmp_path: Path, koito_is: str
):
    path = create_koito_db(tmp_path / "koito.db")
    koito = connect(path)  # Koito's connection: reads at start-up and stays open
    koito.execute("SELECT count(*) FROM users").fetchall()
    if koito_is == "writing":
        koito.execute("BEGIN IMMEDIATE")
    try:
        before, files = _digest(path), _files(tmp_path)
        with pytest.raises(DatabaseInUse, match="stop Koito first"):
            merge_into_sqlite(db_url, path, lock_timeout=0.3)
        assert _digest(path) == before
        assert _files(tmp_path) <= files  # no backup, nothing new beside it
    finally:
        koito.close()
    assert _listens(path) == 0
    merge_into_sqlite(db_url, path, lock_timeout=0.3)  # Koito stopped: now it goes in
    assert _listens(path) == 3


def test_refuses_a_newer_koito_schema_untouched(db_url: str, library: Catalogue, tmp_path: Path):
    path = create_koito_db(tmp_path / "koito.db")
    conn = connect(path)
    conn.execute("INSERT INTO goose_db_version (version_id, is_applied) VALUES (3, 1)")
    conn.close()
    before, files = _digest(path), _files(tmp_path)
    with pytest.raises(UnknownKoitoDatabase, match="version 3 is not one this merge knows"):
        merge_into_sqlite(db_url, path)
    assert _digest(path) == before and _files(tmp_path) == files


def test_a_rolled_back_migration_counts_as_not_applied(
    db_url: str, library: Catalogue, tmp_path: Path
):
    path = create_koito_db(tmp_path / "koito.db")
    conn = connect(path)
    conn.execute("INSERT INTO goose_db_version (version_id, is_applied) VALUES (3, 1), (3, 0)")
    conn.close()
    assert merge_into_sqlite(db_url, path).goose_version == 2


def test_accepts_a_database_at_koito_migration_1(db_url: str, library: Catalogue, tmp_path: Path):
    path = create_koito_db(tmp_path / "koito.db", version=1)
    report = merge_into_sqlite(db_url, path)
    assert report.goose_version == 1 and report.counts.listens_added == 3


def test_refuses_a_database_that_is_not_koitos(db_url: str, library: Catalogue, tmp_path: Path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (body TEXT)")
    conn.commit()
    conn.close()
    before = _digest(path)
    with pytest.raises(UnknownKoitoDatabase, match="no goose_db_version table"):
        merge_into_sqlite(db_url, path)
    assert _digest(path) == before


def test_refuses_a_koito_schema_missing_a_column(db_url: str, library: Catalogue, tmp_path: Path):
    path = create_koito_db(tmp_path / "koito.db")
    conn = connect(path)
    conn.execute("ALTER TABLE listens DROP COLUMN client")
    conn.close()
    with pytest.raises(UnknownKoitoDatabase, match="listens lacks client"):
        merge_into_sqlite(db_url, path)


def test_refuses_a_missing_file_and_creates_none(db_url: str, tmp_path: Path):
    with pytest.raises(KoitoMissing, match="no such file"):
        merge_into_sqlite(db_url, tmp_path / "koito.db")
    assert not (tmp_path / "koito.db").exists()


def test_refuses_a_file_that_is_not_a_database(db_url: str, tmp_path: Path):
    path = tmp_path / "koito.db"
    path.write_text("not a database at all, but long enough to have a header " * 10)
    with pytest.raises(KoitoMissing, match="not an SQLite database"):
        merge_into_sqlite(db_url, path)


def test_refuses_a_koito_that_has_not_created_its_user(
    db_url: str, library: Catalogue, tmp_path: Path
):
    path = create_koito_db(tmp_path / "koito.db", admin=False)
    with pytest.raises(UnknownKoitoDatabase, match="start Koito once"):
        merge_into_sqlite(db_url, path)


def test_backup_is_the_database_as_it_was_before_the_merge(
    db_url: str, library: Catalogue, tmp_path: Path
):
    path = create_koito_db(tmp_path / "koito.db")
    first = merge_into_sqlite(db_url, path)
    library.listen(1, 1_700_000_900)  # one more listen of ours
    second = merge_into_sqlite(db_url, path)
    assert second.counts.listens_added == 1
    for report, listens in ((first, 0), (second, 3)):
        backup = Path(report.backup)
        assert backup.parent == tmp_path
        assert re.fullmatch(r"koito\.db\.before-import-\d{8}T\d{6}Z(-\d+)?", backup.name)
        conn = sqlite3.connect(f"{backup.as_uri()}?mode=ro", uri=True)
        try:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            assert conn.execute("SELECT count(*) FROM listens").fetchone()[0] == listens
            assert conn.execute("SELECT count(*) FROM users").fetchone()[0] == 1
        finally:
            conn.close()
    assert first.backup != second.backup
    assert not any(name.endswith(".partial") for name in _files(tmp_path))
    assert _listens(path) == 4


def test_no_backup_writes_none(db_url: str, library: Catalogue, tmp_path: Path):
    path = create_koito_db(tmp_path / "koito.db")
    report = merge_into_sqlite(db_url, path, backup=False)
    assert report.backup is None
    assert _files(tmp_path) == {"koito.db"}


def test_an_empty_library_changes_nothing(db_url: str, tmp_path: Path):
    path = create_koito_db(tmp_path / "koito.db")
    before = _digest(path)
    report = merge_into_sqlite(db_url, path, backup=False)
    assert report.listens_selected == 0 and report.counts.listens_added == 0
    assert report.counts.artists_created == report.counts.tracks_created == 0
    assert _digest(path) == before


def test_a_path_with_spaces_and_uri_characters(db_url: str, library: Catalogue, tmp_path: Path):
    folder = tmp_path / "Koito config #1 ?&"
    path = create_koito_db(folder / "koito.db")
    report = merge_into_sqlite(db_url, path)
    assert report.counts.listens_added == 3
    assert Path(report.backup).parent == folder
    assert _files(folder) == {"koito.db", Path(report.backup).name}
