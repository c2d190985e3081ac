"""The Koito export writer on real PostgreSQL: the shape Koito's importer needs, its repairs and
skips, credit order, time windows, one import file's listens, and files that appear whole or not
at all."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import psycopg
import pytest

from koito_assets.to_koito import export_entities, export_file
from koito_assets.to_koito.export_file import (
    ExportScope,
    ExportTargetError,
    UnknownImportFile,
    atomic_file,
    koito_file_name,
    koito_reads_name,
    write_export,
)
from tests.defs.exports import maloja_scrobble, sample_scrobbles, write_maloja
from tests.sources.helpers import copy_fixture
from tests.to_koito.helpers import import_file, koito_importer_problems, load, primary_alias

NOON = datetime(2025, 6, 18, 12, 0, tzinfo=UTC)


def _import_samples(db_url: str, folder: Path, settings) -> None:
    maloja = write_maloja(folder / "maloja_export_1.json", sample_scrobbles())
    koito = copy_fixture("koito_export_2025-06-18.json", folder)
    with dg.DagsterInstance.ephemeral() as instance:
        import_file(db_url, maloja, instance, settings)
        import_file(db_url, koito, instance, settings)


def _listens_in_order(db_url: str) -> list[tuple[str, str]]:
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT to_char(l.listened_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
            "t.title FROM listens l JOIN tracks_with_title t ON t.id = l.track_id "
            "ORDER BY l.listened_at, l.track_id"
        ).fetchall()
    return [tuple(row) for row in rows]


def _exported(document: dict) -> list[tuple[str, str]]:
    return [(x["listened_at"], primary_alias(x["track"])) for x in document["listens"]]


def test_every_listen_is_written_as_koitos_importer_needs_it(db_url, settings, tmp_path):
    _import_samples(db_url, tmp_path / "in", settings)
    out = tmp_path / "out"
    out.mkdir()
    result = write_export(db_url, out, exported_at=NOON)

    assert result.path == out / "koito_export_library.json"
    assert koito_reads_name(result.path.name)
    document = load(result.path)
    assert koito_importer_problems(document) == []
    assert (document["version"], document["exported_at"], document["user"]) == (
        "1",
        "2025-06-18T12:00:00Z",
        "admin",
    )
    assert _exported(document) == _listens_in_order(db_url)
    assert result.listens == len(document["listens"]) == 9
    assert result.bytes == result.path.stat().st_size
    first = document["listens"][0]
    assert set(first) == {"listened_at", "client", "track", "album", "artists"}
    assert set(first["track"]) == {"mbid", "duration", "aliases"}
    assert set(first["album"]) == {"image_url", "mbid", "aliases", "various_artists"}
    assert set(first["artists"][0]) == {"image_url", "mbid", "is_primary", "aliases"}
    assert first["client"] == "test client" and first["track"]["duration"] == 354
    assert first["album"]["mbid"] == "3f8f7a1a-2b7e-4c7e-9a4e-9e1d7b6c5a40"
    assert first["album"]["image_url"] == "https://cdn.example.org/cover.jpg"
    clients = {listen["client"] for listen in document["listens"]}
    assert clients == {"test client", "", "maloja"}  # NULL is written as ""
    assert not list(out.glob(".*"))  # no temporary file left behind


def test_artists_come_in_credit_order_primary_first_and_marked(db_url, settings, tmp_path):
    scrobbles = [
        maloja_scrobble(1700000000, ["Zed Base", "Alpha Guest"], "Together", "Duets"),
        maloja_scrobble(1700000100, ["Alpha Guest"], "Alone", "Solo"),
    ]
    path = write_maloja(tmp_path / "in" / "maloja_export_credits.json", scrobbles)
    with dg.DagsterInstance.ephemeral() as instance:
        import_file(db_url, path, instance, settings)
    document = load(write_export(db_url, tmp_path / "koito_credits.json").path)
    together = document["listens"][0]
    assert [primary_alias(a) for a in together["artists"]] == ["Zed Base", "Alpha Guest"]
    assert [a["is_primary"] for a in together["artists"]] == [True, False]


def test_no_listen_is_lost_at_page_boundaries(db_url, settings, tmp_path, monkeypatch):
    # Many tracks played in the same seconds: Koito's exporter pages on the largest track id
    # seen, so listens at a page's last second with a smaller track id were skipped.
    scrobbles = [
        maloja_scrobble(1700000000 + (n % 3), [f"Artist {n % 5}"], f"Song {n}", "Album")
        for n in range(23)
    ]
    path = write_maloja(tmp_path / "in" / "maloja_export_pages.json", scrobbles)
    with dg.DagsterInstance.ephemeral() as instance:
        import_file(db_url, path, instance, settings)
    monkeypatch.setattr(export_file, "PAGE_ROWS", 2)
    result = write_export(db_url, tmp_path / "koito_pages.json")
    assert result.listens == 23
    assert _exported(load(result.path)) == _listens_in_order(db_url)


def _break_entities(conn: psycopg.Connection) -> dict[str, int]:
    """A catalogue with everything Koito's importer trips on, made the way a hand-edited or
    older database could hold it."""
    ids = {}

    def artist(*aliases: tuple[str, bool], mbid: str | None = None) -> int:
        new = conn.execute(
            "INSERT INTO artists (musicbrainz_id) VALUES (%s) RETURNING id", (mbid,)
        ).fetchone()[0]
        for alias, primary in aliases:
            conn.execute(
                "INSERT INTO artist_aliases VALUES (%s, %s, 'Canonical', %s)",
                (new, alias, primary),
            )
        return new

    def album(*aliases: tuple[str, bool]) -> int:
        new = conn.execute("INSERT INTO releases DEFAULT VALUES RETURNING id").fetchone()[0]
        for alias, primary in aliases:
            conn.execute(
                "INSERT INTO release_aliases VALUES (%s, %s, 'Canonical', %s)",
                (new, alias, primary),
            )
        return new

    def track(release: int, artists: list[int], *aliases: tuple[str, bool], mbid=None) -> int:
        new = conn.execute(
            "INSERT INTO tracks (musicbrainz_id, release_id, duration) VALUES (%s, %s, 200) "
            "RETURNING id",
            (mbid, release),
        ).fetchone()[0]
        for position, artist_id in enumerate(artists):
            conn.execute(
                "INSERT INTO artist_tracks VALUES (%s, %s, %s)", (artist_id, new, position == 0)
            )
        for alias, primary in aliases:
            conn.execute(
                "INSERT INTO track_aliases (track_id, alias, source, is_primary) "
                "VALUES (%s, %s, 'Canonical', %s)",
                (new, alias, primary),
            )
        return new

    spaced = artist(("  Spaced Out ", True), ("Spaced Out", False))
    unmarked = artist(("   ", True), ("Zeta Name", False), ("Alpha Name", False))
    twice_a = artist(("Same Name", True))
    twice_b = artist(("Same Name", True), ("Other", True))
    nameless = artist()
    nil = artist(("Nil Artist", True), mbid="00000000-0000-0000-0000-000000000000")
    good = album(("Good Album", True))
    bare = album()
    ids["spaced"] = track(good, [spaced, nameless], (" Padded Title", True))
    ids["unmarked"] = track(good, [unmarked], ("Unmarked", True))
    ids["twice"] = track(good, [twice_a, twice_b], ("Twice", True))
    ids["bare_album"] = track(bare, [nil], ("Album-less", True))
    ids["untitled"] = track(good, [spaced], ("  ", True))
    ids["no_artist"] = track(good, [], ("Nobody", True))
    ids["nameless_only"] = track(good, [nameless], ("Ghost", True))
    for number, key in enumerate(ids):
        conn.execute(
            "INSERT INTO listens (track_id, listened_at, user_id) VALUES (%s, to_timestamp(%s), 1)",
            (ids[key], 1700000000 + number),
        )
    return ids


def test_what_koitos_importer_trips_on_is_repaired_or_skipped_and_counted(conn, tmp_path):
    _break_entities(conn)
    result = write_export(conn, tmp_path / "koito_broken.json")
    document = load(result.path)
    assert koito_importer_problems(document) == []
    by_title = {primary_alias(x["track"]): x for x in document["listens"]}
    assert sorted(by_title) == ["Album-less", "Padded Title", "Twice", "Unmarked"]
    assert result.skipped == {"track_without_title": 1, "no_artist": 2}
    assert result.listens == 4

    spaced = by_title["Padded Title"]["artists"]
    assert [a["alias"] for a in spaced[0]["aliases"]] == ["Spaced Out"]  # trimmed, merged
    assert len(spaced) == 1  # the nameless artist is left off
    unmarked = by_title["Unmarked"]["artists"][0]["aliases"]
    assert [(a["alias"], a["is_primary"]) for a in unmarked] == [
        ("Alpha Name", True),
        ("Zeta Name", False),
    ]
    assert len(by_title["Twice"]["artists"]) == 1  # Koito would resolve both to one artist
    bare = by_title["Album-less"]
    assert [a["alias"] for a in bare["album"]["aliases"]] == ["Album-less"]
    assert bare["artists"][0]["mbid"] is None  # the nil UUID is no MBID
    assert result.repaired == {
        "trimmed_alias": 2,  # the spaced artist, the padded track title
        "blank_alias": 2,  # the unmarked artist's primary, the untitled track
        "chosen_primary_alias": 1,  # the unmarked artist (the untitled track has none left)
        "extra_primary_alias": 1,
        "nil_mbid": 1,
        "nameless_artist": 2,  # counted per credit list, the skipped Ghost's too
        "repeated_artist": 1,
        "album_titled_after_track": 1,
    }


def test_a_time_rfc_3339_cannot_write_leaves_its_listen_out(conn, tmp_path):
    # Koito stores what a client sends (seconds sent as milliseconds land in year 55840); one
    # such time in the file would make Koito's importer reject the whole file.
    ids = _break_entities(conn)
    conn.execute(
        "UPDATE listens SET listened_at = '0500-01-01T00:00:00Z' WHERE track_id = %s",
        (ids["twice"],),
    )
    conn.execute(
        "UPDATE listens SET listened_at = to_timestamp(1700000000000) WHERE track_id = %s",
        (ids["unmarked"],),
    )
    result = write_export(conn, tmp_path / "koito_years.json")
    document = load(result.path)
    assert koito_importer_problems(document) == []
    times = sorted(listen["listened_at"] for listen in document["listens"])
    assert times[0] == "0500-01-01T00:00:00Z" and len(times) == 3
    assert result.skipped["time_out_of_range"] == 1


def test_a_time_window_is_inclusive_at_both_ends(db_url, settings, tmp_path):
    _import_samples(db_url, tmp_path / "in", settings)
    since = datetime(2023, 11, 14, 22, 18, 20, tzinfo=UTC)  # the second listen of the Maloja file
    until = datetime(2023, 11, 14, 22, 33, 20, tzinfo=UTC)  # its fifth
    result = write_export(db_url, tmp_path / "out.json", ExportScope(since=since, until=until))
    times = [x["listened_at"] for x in load(result.path)["listens"]]
    assert times == [
        "2023-11-14T22:18:20Z",
        "2023-11-14T22:23:20Z",
        "2023-11-14T22:28:20Z",
        "2023-11-14T22:33:20Z",
    ]
    only_since = write_export(db_url, tmp_path / "since.json", ExportScope(since=since))
    assert only_since.listens == 6
    only_until = write_export(db_url, tmp_path / "until.json", ExportScope(until=since))
    assert only_until.listens == 4  # the Koito fixture's two, and the Maloja file's first two


def test_one_import_files_export_holds_exactly_the_listens_it_added(db_url, settings, tmp_path):
    first = write_maloja(
        tmp_path / "in" / "maloja_export_a.json",
        [
            maloja_scrobble(1700000000, ["Band"], "One", "LP"),
            maloja_scrobble(1700000100, ["Band"], "Two", "LP"),
        ],
    )
    second = write_maloja(
        tmp_path / "in" / "maloja_export_b.json",
        [
            maloja_scrobble(1700000100, ["Band"], "Two", "LP"),  # already there: not added by b
            maloja_scrobble(1700000050, ["Band"], "Three", "LP"),
            maloja_scrobble(1700000200, ["Other"], "Four", "EP"),
        ],
    )
    with dg.DagsterInstance.ephemeral() as instance:
        import_file(db_url, first, instance, settings)
        import_file(db_url, second, instance, settings)
        import_file(db_url, second, instance, settings)  # again: adds nothing, changes nothing
    out = tmp_path / "out"
    out.mkdir()

    def titles(scope: ExportScope) -> list[str]:
        result = write_export(db_url, out, scope)
        document = load(result.path)
        assert koito_importer_problems(document) == []
        return [primary_alias(x["track"]) for x in document["listens"]]

    assert titles(ExportScope(file_key=first.name)) == ["One", "Two"]
    assert titles(ExportScope(file_key=second.name)) == ["Three", "Four"]
    since = datetime.fromtimestamp(1700000100, UTC)
    assert titles(ExportScope(file_key=second.name, since=since)) == ["Four"]
    names = sorted(p.name for p in out.iterdir())
    assert len(names) == 3 and all(koito_reads_name(name) for name in names)
    assert names[0].startswith("koito_export_export_a_")  # never "maloja"; a hash keeps it apart
    assert names[2].endswith("_20231114T221500Z-end.json")
    with pytest.raises(UnknownImportFile, match="no import file of that name"):
        write_export(db_url, out, ExportScope(file_key="never_imported.json"))


def test_a_file_is_found_by_its_key_or_by_its_name_when_that_is_unambiguous(
    db_url, settings, tmp_path
):
    # Two downloads, one name: the second file's partition key gets a content hash.
    one = write_maloja(
        tmp_path / "a" / "maloja_export.json", [maloja_scrobble(1700000000, ["A"], "One", "LP")]
    )
    two = write_maloja(
        tmp_path / "b" / "maloja_export.json", [maloja_scrobble(1700000100, ["B"], "Two", "EP")]
    )
    with dg.DagsterInstance.ephemeral() as instance:
        first_key = import_file(db_url, one, instance, settings)
        second_key = import_file(db_url, two, instance, settings)
    assert first_key == "maloja_export.json" != second_key

    def titles(file_key: str) -> list[str]:
        result = write_export(db_url, tmp_path / "koito_out.json", ExportScope(file_key=file_key))
        return [primary_alias(x["track"]) for x in load(result.path)["listens"]]

    assert titles(first_key) == ["One"] and titles(second_key) == ["Two"]
    with psycopg.connect(db_url, autocommit=True) as conn:  # a name that is no key
        conn.execute(
            "UPDATE koito_import.import_files SET file_key = 'renamed' WHERE file_key = %s",
            (first_key,),
        )
    with pytest.raises(UnknownImportFile, match="2 imported files have that name"):
        write_export(
            db_url, tmp_path / "koito_out.json", ExportScope(file_key="maloja_export.json")
        )


def test_a_file_imported_before_listens_were_recorded_is_refused_with_the_way_out(
    db_url, settings, tmp_path
):
    path = write_maloja(tmp_path / "in" / "maloja_export_old.json", sample_scrobbles())
    with dg.DagsterInstance.ephemeral() as instance:
        import_file(db_url, path, instance, settings)
    with psycopg.connect(db_url, autocommit=True) as conn:
        # as if it had been imported before migration 0070 existed
        conn.execute("DELETE FROM koito_import.file_listens")
        conn.execute(
            "UPDATE koito_import.schema_migrations SET applied_at = now() + interval '1 hour' "
            "WHERE version = 70"
        )
    with pytest.raises(UnknownImportFile, match="--since/--until"):
        write_export(db_url, tmp_path / "koito.json", ExportScope(file_key=path.name))
    assert not (tmp_path / "koito.json").exists()


def test_file_names_koito_reads_and_never_another_importers():
    assert koito_file_name("library") == "koito_export_library.json"
    assert koito_file_name("maloja_export_2024") == "koito_export_export_2024.json"
    assert koito_file_name("my listenbrainz/../x y") == "koito_export_my_x_y.json"
    assert koito_file_name("malMALOJAoja") == "koito_export_library.json"
    for name in (
        "maloja_export_2024.json",
        "Streaming_History_Audio_2024.json",
        "a/b",
        "recenttracks",
    ):
        assert koito_reads_name(koito_file_name(name))
    assert not koito_reads_name("export.json")
    one, other = ExportScope(file_key="maloja_x.json"), ExportScope(file_key="x.json")
    assert one.label() != other.label() == "x"
    assert not koito_reads_name("koito_maloja.json")
    # removing one importer's name must not join the halves of another
    assert koito_reads_name(koito_file_name("Streaming_maloja_History_Audio"))
    joined = ExportScope(file_key="Streaming_Streaming_maloja_History_Audio_History_Audio.json")
    assert koito_reads_name(koito_file_name(joined.label()))


def test_every_import_file_gets_its_own_export_name():
    keys = [
        "x.json",
        "x",
        "x.json (1a2b3c4d)",  # a second file named x.json
        "scrobbles.2024.json",
        "scrobbles.2025.json",
        "maloja_x.json",
        "library.json",
        "Library.json",
    ]
    names = [koito_file_name(ExportScope(file_key=key).label()) for key in keys]
    assert len(set(names)) == len(keys), names
    assert koito_file_name(ExportScope().label()) not in names  # the whole library's
    assert all(koito_reads_name(name) for name in names)


def test_an_unwritable_target_is_a_clear_error_and_leaves_nothing(db_url, tmp_path):
    a_file = tmp_path / "plain.txt"
    a_file.write_text("x")
    with pytest.raises(ExportTargetError, match=r"cannot write .*plain.txt/koito.json"):
        write_export(db_url, a_file / "koito.json")
    with pytest.raises(ExportTargetError, match="no such folder"):
        write_export(db_url, tmp_path / "missing" / "koito.json")
    assert sorted(os.listdir(tmp_path)) == ["plain.txt"]


def test_a_failure_while_writing_leaves_the_previous_file_and_no_partial_one(tmp_path):
    folder = tmp_path / "koito" / "import"  # as in Koito's own folder, whose path says "koito"
    folder.mkdir(parents=True)
    target = folder / "koito_export_library.json"
    target.write_text("the previous export")
    with pytest.raises(RuntimeError), atomic_file(target) as handle:
        handle.write(b'{"version":"1","listens":[')
        (partial,) = [p.name for p in folder.iterdir() if p != target]
        assert partial.startswith(".") and not koito_reads_name(partial)  # Koito leaves it be
        raise RuntimeError("the database went away")
    assert target.read_text() == "the previous export"
    assert os.listdir(folder) == [target.name]
    with atomic_file(target) as handle:
        handle.write(b"new")
    assert target.read_text() == "new" and oct(target.stat().st_mode & 0o777) == "0o644"


def test_tiny_caches_and_pages_write_the_same_file(db_url, settings, tmp_path, monkeypatch):
    # Entities evicted and fetched again mid-export must come back exactly as before.
    _import_samples(db_url, tmp_path / "in", settings)
    roomy = write_export(db_url, tmp_path / "koito_roomy.json", exported_at=NOON)
    monkeypatch.setattr(export_entities, "TRACK_CACHE_BYTES", 1)
    monkeypatch.setattr(export_entities, "ENTITY_CACHE_LIMIT", 1)
    monkeypatch.setattr(export_file, "PAGE_ROWS", 3)
    tight = write_export(db_url, tmp_path / "koito_tight.json", exported_at=NOON)
    assert tight.path.read_bytes() == roomy.path.read_bytes()
    assert tight.repaired == roomy.repaired  # each repaired entity still counted once
