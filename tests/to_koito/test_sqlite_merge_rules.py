"""merge-into-sqlite maps our catalogue by the rules of Koito's importer for export files.

Where the Koito database starts empty, each case is also held to the reference: the same
listens written as a Koito export and read by our Koito-export reader into a fresh database
(export_oracle.py) must give the same entities, names, aliases, artists and listens.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from koito_assets.to_koito.export_file import write_export as write_koito_export
from koito_assets.to_koito.sqlite_merge import MergeReport, merge_into_sqlite
from koito_assets.to_koito.sqlite_source import Selection
from tests.to_koito.catalogue import Catalogue
from tests.to_koito.export_oracle import (
    catalogue_of_postgres,
    catalogue_of_sqlite,
    differences,
    write_export,
)
from tests.to_koito.koito_sqlite import connect, create_koito_db
from tests.to_koito.sqlite_fixtures import ImportFile

MBID_1 = "11111111-1111-4111-8111-111111111111"
MBID_2 = "22222222-2222-4222-8222-222222222222"
MBID_3 = "33333333-3333-4333-8333-333333333333"


def rows(path: Path, query: str, params: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(query, params).fetchall()
    finally:
        conn.close()


def releases_with_tracks(path: Path) -> set[tuple[str, tuple[str, ...], tuple[str, ...]]]:
    """(release title, its artists as name* for primary, its track titles) of every release."""
    out = set()
    for rid, title in rows(
        path,
        "SELECT r.id, a.alias FROM releases r "
        "JOIN release_aliases a ON a.release_id = r.id AND a.is_primary = 1",
    ):
        artists = rows(
            path,
            "SELECT aa.alias || CASE WHEN ar.is_primary = 1 THEN '*' ELSE '' END "
            "FROM artist_releases ar JOIN artist_aliases aa "
            "ON aa.artist_id = ar.artist_id AND aa.is_primary = 1 WHERE ar.release_id = ?",
            (rid,),
        )
        tracks = rows(
            path,
            "SELECT ta.alias FROM tracks t JOIN track_aliases ta "
            "ON ta.track_id = t.id AND ta.is_primary = 1 WHERE t.release_id = ?",
            (rid,),
        )
        out.add((title, tuple(sorted(a for (a,) in artists)), tuple(sorted(t for (t,) in tracks))))
    return out


def track_artists(path: Path, title: str) -> list[tuple[str, int]]:
    return rows(
        path,
        "SELECT aa.alias, at.is_primary FROM track_aliases ta "
        "JOIN artist_tracks at ON at.track_id = ta.track_id "
        "JOIN artist_aliases aa ON aa.artist_id = at.artist_id AND aa.is_primary = 1 "
        "WHERE ta.alias = ? AND ta.is_primary = 1 ORDER BY at.is_primary DESC, aa.alias",
        (title,),
    )


def merged_like_koito(
    ours: str, reference: str, import_file: ImportFile, tmp_path: Path
) -> tuple[Path, MergeReport]:
    """Merge ours into a fresh Koito database and hold it to the export-then-read reference."""
    export = write_export(ours, tmp_path / "export" / "koito_export.json")
    import_file(export, reference)
    path = create_koito_db(tmp_path / "koito.db")
    report = merge_into_sqlite(ours, path)
    assert differences(catalogue_of_postgres(reference), catalogue_of_sqlite(path)) == []
    return path, report


def test_artists_by_mbid_else_by_any_alias_exactly(
    db_url: str, conn: psycopg.Connection, tmp_path: Path
):
    path = create_koito_db(tmp_path / "koito.db")
    koito = connect(path)
    koito.executescript(
        f"""
        INSERT INTO artists (id, musicbrainz_id) VALUES (1, '{MBID_1}'), (2, NULL);
        INSERT INTO artist_aliases VALUES (1, 'Röyksopp', 'Canonical', 1),
            (2, 'The Band', 'Canonical', 1), (2, 'Band, The', 'MusicBrainz', 0);
        """
    )
    koito.close()
    ours = Catalogue(conn)
    by_mbid = ours.artist("Royksopp", mbid=MBID_1)  # another spelling, the same MBID
    by_alias = ours.artist("Band, The")
    new_mbid = ours.artist("The Band", mbid=MBID_2)  # an MBID Koito lacks: a new artist
    other_case = ours.artist("röyksopp")  # names are case-sensitive
    album = ours.release("Melody A.M.", [by_mbid])
    for n, artist in enumerate((by_mbid, by_alias, new_mbid, other_case)):
        ours.listen(ours.track(f"Song {n}", album, [artist]), 1_000 + n)

    report = merge_into_sqlite(db_url, path)
    assert (report.counts.artists_matched, report.counts.artists_created) == (2, 2)
    assert track_artists(path, "Song 0") == [("Röyksopp", 1)]
    assert track_artists(path, "Song 1") == [("The Band", 1)]
    assert rows(path, "SELECT id, musicbrainz_id FROM artists WHERE id > 2 ORDER BY id") == [
        (3, MBID_2),
        (4, None),
    ]
    assert track_artists(path, "Song 2") == [("The Band", 1)]
    song_2 = "SELECT artist_id FROM artist_tracks JOIN track_aliases USING (track_id) "
    assert rows(path, song_2 + "WHERE alias = 'Song 2'") == [(3,)]
    assert track_artists(path, "Song 3") == [("röyksopp", 1)]


def test_a_featured_track_finds_no_release_by_its_base_artist_and_splits_it(
    db_url: str,
    second_db_url: str,
    conn: psycopg.Connection,
    import_file: ImportFile,
    tmp_path: Path,
):
    # "Beta" alone first; then "Alpha feat. Beta" (Alpha primary) on the same album, whose
    # release Koito looks up by Alpha: not linked yet, so a second "Split"; then Alpha alone.
    ours = Catalogue(conn)
    alpha, beta = ours.artist("Alpha"), ours.artist("Beta")
    album = ours.release("Split", [beta, alpha])
    ours.listen(ours.track("One", album, [beta]), 100)
    ours.listen(ours.track("Two", album, [alpha, beta]), 200)
    ours.listen(ours.track("Three", album, [alpha]), 300)
    path, report = merged_like_koito(db_url, second_db_url, import_file, tmp_path)
    assert releases_with_tracks(path) == {
        ("Split", ("Beta*",), ("One",)),
        ("Split", ("Alpha*", "Beta"), ("Three", "Two")),
    }
    assert report.counts.release_rounds >= 2


def test_a_release_is_found_through_an_artist_an_earlier_track_linked(
    db_url: str,
    second_db_url: str,
    conn: psycopg.Connection,
    import_file: ImportFile,
    tmp_path: Path,
):
    ours = Catalogue(conn)
    alpha, beta = ours.artist("Alpha"), ours.artist("Beta")
    album = ours.release("Shared", [alpha, beta])
    ours.listen(ours.track("One", album, [alpha, beta]), 100)
    ours.listen(ours.track("Two", album, [beta]), 200)  # Beta was linked by "One"
    path, _ = merged_like_koito(db_url, second_db_url, import_file, tmp_path)
    assert releases_with_tracks(path) == {("Shared", ("Alpha*", "Beta"), ("One", "Two"))}


@pytest.mark.parametrize("first", ["with_mbid", "named"])
def test_a_name_an_earlier_created_artist_carries_as_an_alias_is_that_artist(
    db_url: str,
    second_db_url: str,
    conn: psycopg.Connection,
    import_file: ImportFile,
    tmp_path: Path,
    first: str,
):
    ours = Catalogue(conn)
    mona = ours.artist("Mona", mbid=MBID_1, aliases=["Mona L."])
    mona_l = ours.artist("Mona L.")  # ours without MBID, named like Mona's alias
    album = ours.release("Songs", [mona])
    times = (100, 200) if first == "with_mbid" else (200, 100)
    ours.listen(ours.track("By Mona", album, [mona]), times[0])
    ours.listen(ours.track("By Mona L.", album, [mona_l]), times[1])
    path, report = merged_like_koito(db_url, second_db_url, import_file, tmp_path)
    if first == "with_mbid":  # created with the alias before "Mona L." is looked up
        assert report.counts.artists_created == 1
        assert track_artists(path, "By Mona L.") == [("Mona", 1)]
    else:  # "Mona L." comes first and is created; Mona (MBID) then too
        assert report.counts.artists_created == 2
        assert track_artists(path, "By Mona L.") == [("Mona L.", 1)]
    assert rows(
        path,
        "SELECT alias, source, is_primary FROM artist_aliases WHERE artist_id = ("
        "SELECT id FROM artists WHERE musicbrainz_id = ?) ORDER BY alias",
        (MBID_1,),
    ) == [
        ("Mona", "Canonical", 1),
        ("Mona L.", "MusicBrainz", 0),
    ]


def test_two_of_ours_that_are_one_koito_artist_are_credited_once(
    db_url: str,
    second_db_url: str,
    conn: psycopg.Connection,
    import_file: ImportFile,
    tmp_path: Path,
):
    ours = Catalogue(conn)
    mona = ours.artist("Mona", mbid=MBID_1, aliases=["Mona L."])
    mona_l = ours.artist("Mona L.")
    album = ours.release("Songs", [mona])
    ours.listen(ours.track("Solo", album, [mona]), 100)
    ours.listen(ours.track("Duet", album, [mona_l, mona]), 200)
    path, _ = merged_like_koito(db_url, second_db_url, import_file, tmp_path)
    assert track_artists(path, "Duet") == [("Mona", 1)]


def test_listens_koito_cannot_take_are_skipped_and_counted(
    db_url: str,
    second_db_url: str,
    conn: psycopg.Connection,
    import_file: ImportFile,
    tmp_path: Path,
):
    ours = Catalogue(conn)
    band, blank = ours.artist("Band"), ours.artist("   ")
    album = ours.release("Album", [band])
    ours.listens(ours.track("Nobody's", album, []), [100, 101])
    ours.listen(ours.track("Blank artist", album, [band, blank]), 102)
    ours.listen(ours.track("  ", album, [band]), 103)
    ours.listen(ours.track("Fine", album, [band]), 104)
    path, report = merged_like_koito(db_url, second_db_url, import_file, tmp_path)
    assert report.counts.skipped_listens == {
        "track_without_artists": 2,
        "artist_without_name": 1,
        "track_without_title": 1,
    }
    assert report.listens_selected == 5 and report.counts.listens_added == 1
    assert releases_with_tracks(path) == {("Album", ("Band*",), ("Fine",))}
    assert rows(path, "SELECT count(*) FROM artists") == [(1,)]


def test_created_entities_follow_koitos_conventions(
    db_url: str,
    second_db_url: str,
    conn: psycopg.Connection,
    import_file: ImportFile,
    tmp_path: Path,
):
    ours = Catalogue(conn)
    pictured = ours.artist(
        "  Pictured  ", aliases=[" Pic ", "  "], image_source="https://img.example/a.jpg"
    )
    uploaded = ours.artist("Uploaded", image_source="User Upload")
    album = ours.release(
        " Spaced Album ",
        [pictured],
        mbid=MBID_2,
        aliases=["Spaced Album"],
        image_source="https://img.example/c.jpg",
        various_artists=True,
    )
    track = ours.track(
        "Song", album, [pictured, uploaded], mbid=MBID_3, duration=245, aliases=[" Song (Live) "]
    )
    ours.listen(track, 1_700_000_000)
    ours.listen(track, 1_700_000_500, client="maloja")
    path, _ = merged_like_koito(db_url, second_db_url, import_file, tmp_path)

    artists = rows(
        path,
        "SELECT a.id, a.image IS NOT NULL, a.image_source, aa.alias, aa.source, aa.is_primary "
        "FROM artists a JOIN artist_aliases aa ON aa.artist_id = a.id ORDER BY a.id, aa.alias",
    )
    assert artists == [
        (1, 1, "https://img.example/a.jpg", "Pic", "MusicBrainz", 0),
        (1, 1, "https://img.example/a.jpg", "Pictured", "Canonical", 1),
        (2, 0, "User Upload", "Uploaded", "Canonical", 1),
    ]
    (image,) = rows(path, "SELECT image FROM artists WHERE id = 1")[0]
    assert len(image) == 36 and image.count("-") == 4  # a UUID Koito will fetch the image for
    assert rows(
        path,
        "SELECT r.id, r.musicbrainz_id, r.image IS NOT NULL, r.image_source, r.various_artists "
        "FROM releases r",
    ) == [(1, MBID_2, 1, "https://img.example/c.jpg", 1)]
    assert rows(
        path, "SELECT alias, source, is_primary FROM release_aliases ORDER BY is_primary DESC"
    ) == [(" Spaced Album ", "Canonical", 1), ("Spaced Album", "MusicBrainz", 0)]
    assert rows(path, "SELECT artist_id, is_primary FROM artist_releases ORDER BY 1") == [
        (1, 1),
        (2, 0),
    ]
    assert rows(path, "SELECT id, musicbrainz_id, release_id, duration FROM tracks") == [
        (1, MBID_3, 1, 245)
    ]
    assert rows(
        path, "SELECT alias, source, is_primary FROM track_aliases ORDER BY is_primary DESC"
    ) == [("Song", "Canonical", 1), ("Song (Live)", "Import", 0)]
    assert rows(path, "SELECT artist_id, is_primary FROM artist_tracks ORDER BY 1") == [
        (1, 1),
        (2, 0),
    ]
    assert rows(path, "SELECT track_id, listened_at, user_id, client FROM listens ORDER BY 2") == [
        (1, 1_700_000_000, 1, ""),
        (1, 1_700_000_500, 1, "maloja"),
    ]


def test_new_ids_come_after_koitos_in_the_order_of_first_listens(
    db_url: str, conn: psycopg.Connection, tmp_path: Path
):
    path = create_koito_db(tmp_path / "koito.db")
    koito = connect(path)
    koito.executescript(
        """
        INSERT INTO artists (id) VALUES (41);
        INSERT INTO artist_aliases VALUES (41, 'Someone Else', 'Canonical', 1);
        INSERT INTO releases (id) VALUES (7);
        INSERT INTO release_aliases VALUES (7, 'Their Album', 'Canonical', 1);
        INSERT INTO artist_releases VALUES (41, 7, 1);
        INSERT INTO tracks (id, release_id) VALUES (99, 7);
        INSERT INTO track_aliases VALUES (99, 'Their Song', 'Canonical', 1);
        INSERT INTO artist_tracks VALUES (41, 99, 1);
        """
    )
    koito.close()
    ours = Catalogue(conn)
    late, early = ours.artist("Late"), ours.artist("Early")  # our ids in the other order
    late_album, early_album = ours.release("L", [late]), ours.release("E", [early])
    ours.listen(ours.track("Late song", late_album, [late]), 2_000)
    ours.listen(ours.track("Early song", early_album, [early]), 1_000)
    merge_into_sqlite(db_url, path)
    assert rows(
        path, "SELECT artist_id, alias FROM artist_aliases WHERE artist_id > 41 ORDER BY 1"
    ) == [(42, "Early"), (43, "Late")]
    assert rows(
        path, "SELECT release_id, alias FROM release_aliases WHERE release_id > 7 ORDER BY 1"
    ) == [(8, "E"), (9, "L")]
    assert rows(
        path, "SELECT track_id, alias FROM track_aliases WHERE track_id > 99 ORDER BY 1"
    ) == [(100, "Early song"), (101, "Late song")]


def test_an_unknown_duration_is_filled_and_a_known_one_kept(
    db_url: str, conn: psycopg.Connection, tmp_path: Path
):
    path = create_koito_db(tmp_path / "koito.db")
    koito = connect(path)
    koito.executescript(
        f"""
        INSERT INTO artists (id) VALUES (1);
        INSERT INTO artist_aliases VALUES (1, 'Band', 'Canonical', 1);
        INSERT INTO releases (id) VALUES (1);
        INSERT INTO release_aliases VALUES (1, 'Album', 'Canonical', 1);
        INSERT INTO artist_releases VALUES (1, 1, 1);
        INSERT INTO tracks (id, musicbrainz_id, release_id, duration)
            VALUES (1, '{MBID_1}', 1, 0), (2, '{MBID_2}', 1, 180);
        INSERT INTO track_aliases
            VALUES (1, 'Tide', 'Canonical', 1), (2, 'Undertow', 'Canonical', 1);
        INSERT INTO artist_tracks VALUES (1, 1, 1), (1, 2, 1);
        """
    )
    koito.close()
    ours = Catalogue(conn)
    band = ours.artist("Band")
    album = ours.release("Album", [band])
    ours.listen(ours.track("Tide", album, [band], mbid=MBID_1, duration=201), 100)
    ours.listen(ours.track("Undertow", album, [band], mbid=MBID_2, duration=222), 200)
    report = merge_into_sqlite(db_url, path)
    assert report.counts.durations_filled == 1
    assert rows(path, "SELECT id, duration FROM tracks ORDER BY id") == [(1, 201), (2, 180)]
    assert (report.counts.tracks_matched, report.counts.tracks_created) == (2, 0)


def test_a_track_found_by_mbid_elsewhere_links_no_artist_to_the_release(
    db_url: str, conn: psycopg.Connection, tmp_path: Path
):
    # Koito finds the track by its MBID on another release (docs/koito-reference.md §10 T11)
    # and creates no track on the release it looked up, so that release gains no artist: a
    # later track of Guest alone on an album of that title does not find it.
    path = create_koito_db(tmp_path / "koito.db")
    koito = connect(path)
    koito.executescript(
        f"""
        INSERT INTO artists (id) VALUES (1);
        INSERT INTO artist_aliases VALUES (1, 'Band', 'Canonical', 1);
        INSERT INTO releases (id) VALUES (1), (2);
        INSERT INTO release_aliases VALUES (1, 'Original', 'Canonical', 1),
            (2, 'Compilation', 'Canonical', 1);
        INSERT INTO artist_releases VALUES (1, 1, 1), (1, 2, 1);
        INSERT INTO tracks (id, musicbrainz_id, release_id) VALUES (1, '{MBID_1}', 1);
        INSERT INTO track_aliases VALUES (1, 'Hit', 'Canonical', 1);
        INSERT INTO artist_tracks VALUES (1, 1, 1);
        """
    )
    koito.close()
    ours = Catalogue(conn)
    band, guest = ours.artist("Band"), ours.artist("Guest")
    compilation = ours.release("Compilation", [band, guest])
    ours.listen(ours.track("Hit", compilation, [band, guest], mbid=MBID_1), 100)
    ours.listen(ours.track("Guest spot", compilation, [guest]), 200)
    merge_into_sqlite(db_url, path)
    assert releases_with_tracks(path) == {
        ("Original", ("Band*",), ("Hit",)),
        ("Compilation", ("Band*",), ()),
        ("Compilation", ("Guest*",), ("Guest spot",)),
    }
    assert rows(path, "SELECT track_id, listened_at FROM listens ORDER BY 2") == [
        (1, 100),
        (2, 200),
    ]


def test_a_time_window_merges_only_its_listens(
    db_url: str, conn: psycopg.Connection, tmp_path: Path
):
    ours = Catalogue(conn)
    band = ours.artist("Band")
    album = ours.release("Album", [band])
    early, inside = ours.track("Early", album, [band]), ours.track("Inside", album, [band])
    ours.listen(early, 1_999)
    ours.listens(inside, [2_000, 3_000])  # both ends of the window are in it
    ours.listen(inside, 3_001)
    path = create_koito_db(tmp_path / "koito.db")
    window = Selection(
        since=datetime.fromtimestamp(2_000, UTC), until=datetime.fromtimestamp(3_000, UTC)
    )
    report = merge_into_sqlite(db_url, path, window)
    assert report.listens_selected == 2 and report.counts.listens_added == 2
    assert rows(path, "SELECT listened_at FROM listens ORDER BY 1") == [(2_000,), (3_000,)]
    assert releases_with_tracks(path) == {("Album", ("Band*",), ("Inside",))}


def test_two_of_ours_on_one_koito_track_in_one_second_keep_the_first(
    db_url: str,
    second_db_url: str,
    conn: psycopg.Connection,
    import_file: ImportFile,
    tmp_path: Path,
):
    ours = Catalogue(conn)
    band = ours.artist("Band")
    twin_a, twin_b = ours.release("Twins", [band]), ours.release("Twins", [band])
    first, second = ours.track("Same", twin_a, [band]), ours.track("Same", twin_b, [band])
    ours.listen(first, 100, client="first")
    ours.listen(second, 100, client="second")
    ours.listen(second, 200, client="second")
    path, report = merged_like_koito(db_url, second_db_url, import_file, tmp_path)
    assert rows(path, "SELECT listened_at, client FROM listens ORDER BY 1") == [
        (100, "first"),
        (200, "second"),
    ]
    assert (report.counts.listens_added, report.listens_already_present) == (2, 1)


def test_names_are_trimmed_as_koito_trims_them(db_url: str, conn: psycopg.Connection, tmp_path):
    # Go's TrimSpace keeps the ASCII information separators (U+001C–U+001F); Python's strip()
    # would not, and the merge would then miss the artist Koito holds and create another.
    path = create_koito_db(tmp_path / "koito.db")
    koito = connect(path)
    koito.execute("INSERT INTO artists (id) VALUES (1)")
    koito.execute(
        "INSERT INTO artist_aliases (artist_id, alias, source, is_primary) "
        "VALUES (1, 'Foo' || char(31), 'Canonical', 1)"
    )
    koito.close()
    ours = Catalogue(conn)
    foo = ours.artist("Foo\x1f")
    ours.listen(ours.track("Song", ours.release("Record", [foo]), [foo]), 100)
    report = merge_into_sqlite(db_url, path, backup=False)
    assert (report.counts.artists_matched, report.counts.artists_created) == (1, 0)


def test_an_artist_named_by_an_earlier_ones_alias_is_credited_once(
    db_url: str,
    second_db_url: str,
    conn: psycopg.Connection,
    import_file: ImportFile,
    tmp_path: Path,
):
    # Alpha's alias "Zed" is also the name of Zed, credited before it: Koito's importer would
    # meet one artist twice on the listen, so the export file lists it once, and so must the merge.
    ours = Catalogue(conn)
    lead, zed = ours.artist("Primary"), ours.artist("Zed")
    alpha = ours.artist("Alpha", aliases=["Zed"])
    album = ours.release("Record", [lead])
    ours.listen(ours.track("Trio", album, [lead, zed, alpha]), 100)
    # the project's own export file, in credit order (the oracle writer lists by name)
    (tmp_path / "out").mkdir()
    exported = write_koito_export(db_url, tmp_path / "out" / "koito_export.json")
    assert exported.repaired["repeated_artist"] == 1
    import_file(exported.path, second_db_url)
    path = create_koito_db(tmp_path / "koito.db")
    merge_into_sqlite(db_url, path, backup=False)
    assert differences(catalogue_of_postgres(second_db_url), catalogue_of_sqlite(path)) == []
    assert track_artists(path, "Trio") == [("Primary", 1), ("Zed", 0)]
