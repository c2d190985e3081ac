"""submit_listen: Koito's SubmitListen rules, our departures, the cache.

Koito's rules: docs/koito-reference.md §2; our departures: docs/design.md §5.
"""

from __future__ import annotations

import psycopg
import pytest

from koito_assets.catalog.submit import submit_listen
from koito_assets.catalog.validation import InvalidRecord
from koito_assets.sources.record import Scrobble
from tests.catalog.helpers import (
    OFF,
    SETTINGS,
    CountingConnection,
    entity,
    koito_scrobble,
    scrobble,
)

M1 = "11111111-0000-4000-8000-000000000001"
M2 = "11111111-0000-4000-8000-000000000002"
R1 = "22222222-0000-4000-8000-000000000001"
T1 = "33333333-0000-4000-8000-000000000001"


def submit(conn: psycopg.Connection, record: Scrobble):
    return submit_listen(conn, record, musicbrainz=OFF, settings=SETTINGS)


def names(conn: psycopg.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT name FROM artists_with_name ORDER BY id")]


def test_new_scrobble_creates_koitos_rows_base_artist_first(conn: psycopg.Connection) -> None:
    result = submit(
        conn, scrobble("Carly Rae Jepsen feat. Rufus Wainwright", "Song", "Album", client="web")
    )
    assert not result.cache_hit and result.listen_inserted
    # Matched (and so created) in Koito's order, the guest first; docs/design.md §5.1 moves only the
    # primary flags: the base artist is primary on the release and the track (Koito: the guest).
    assert conn.execute(
        "SELECT artist_id, alias, source, is_primary FROM artist_aliases ORDER BY 1"
    ).fetchall() == [
        (1, "Rufus Wainwright", "Canonical", True),
        (2, "Carly Rae Jepsen", "Canonical", True),
    ]
    assert conn.execute(
        "SELECT artist_id, release_id, is_primary FROM artist_releases ORDER BY 1"
    ).fetchall() == [(1, 1, False), (2, 1, True)]
    assert conn.execute(
        "SELECT artist_id, track_id, is_primary FROM artist_tracks ORDER BY 1"
    ).fetchall() == [(1, 1, False), (2, 1, True)]
    assert conn.execute("SELECT alias, source, is_primary FROM release_aliases").fetchall() == [
        ("Album", "Canonical", True)
    ]
    assert conn.execute("SELECT alias, source, is_primary FROM track_aliases").fetchall() == [
        ("Song", "Canonical", True)
    ]
    assert conn.execute(
        "SELECT track_id, extract(epoch FROM listened_at)::int, client, user_id FROM listens"
    ).fetchall() == [(1, 1_700_000_000, "web", 1)]
    assert conn.execute(
        "SELECT lookup_key, artist_id, album_id, track_id, artist_ids "
        "FROM koito_import.track_lookup"
    ).fetchall() == [(result.lookup_key, 2, 1, 1, [2, 1])]
    assert (result.artist_id, result.album_id, result.track_id) == (2, 1, 1)


def test_empty_album_becomes_a_single_named_after_the_track(conn: psycopg.Connection) -> None:
    a = submit(conn, scrobble("Artist", "One"))
    b = submit(conn, scrobble("Artist", "Two", at=2))
    c = submit(conn, scrobble("Artist", "One", "One", at=3))  # an album titled like the single
    assert conn.execute("SELECT id, title FROM releases_with_title ORDER BY id").fetchall() == [
        (1, "One"),
        (2, "Two"),
    ]
    assert a.album_id == c.album_id != b.album_id


def test_album_is_matched_by_exact_title_and_first_artist(conn: psycopg.Connection) -> None:
    a = submit(conn, scrobble("Artist", "S1", "Album"))
    b = submit(
        conn, scrobble("Artist feat. Guest", "S2", "Album", artist_names=("Artist", "Guest"), at=2)
    )
    c = submit(conn, scrobble("Other", "S3", "Album", at=3))  # another artist's "Album"
    d = submit(conn, scrobble("Artist", "S4", "album", at=4))  # case matters
    # docs/koito-reference.md §10 T1, kept (docs/design.md §5.1: matching as Koito's): parsed from
    # the string, the guest comes first and "Album" is looked up by the guest, who has none. (Guest
    # has one now: b linked it to a's release.)
    e = submit(conn, scrobble("Artist feat. Visitor", "S5", "Album", at=5))
    f = submit(conn, scrobble("Artist feat. Guest", "S6", "Album", at=6))
    assert f.album_id == a.album_id
    assert a.album_id == b.album_id  # the same first artist
    assert len({a.album_id, c.album_id, d.album_id, e.album_id}) == 4
    # AddArtistsToAlbum: the guest is now linked to the release, not primary
    assert conn.execute(
        "SELECT a.name, ar.is_primary FROM artist_releases ar "
        "JOIN artists_with_name a ON a.id = ar.artist_id "
        "WHERE ar.release_id = %s ORDER BY 1",
        (a.album_id,),
    ).fetchall() == [("Artist", True), ("Guest", False)]


def test_track_must_be_credited_to_every_artist(conn: psycopg.Connection) -> None:
    both = submit(conn, scrobble("A feat. B", "Song", "X"))
    only_a = submit(conn, scrobble("A", "Song", "X", at=2))  # credited A ⊆ {A, B}: the same track
    a_and_c = submit(conn, scrobble("A · C", "Song", "X", at=3))  # C is not credited: a new track
    elsewhere = submit(conn, scrobble("A", "Song", "Y", at=4))  # same title on another release
    assert both.track_id == only_a.track_id
    assert len({both.track_id, a_and_c.track_id, elsewhere.track_id}) == 3


def test_case_variants_are_different_artists_and_keys(conn: psycopg.Connection) -> None:
    upper = submit(conn, scrobble("Radiohead", "Creep"))
    lower = submit(conn, scrobble("radiohead", "Creep", at=2))
    assert upper.artist_id != lower.artist_id and upper.lookup_key != lower.lookup_key
    assert names(conn) == ["Radiohead", "radiohead"]


def test_artist_is_found_by_any_alias(conn: psycopg.Connection) -> None:
    first = submit(conn, scrobble("Radiohead", "Creep"))
    conn.execute(
        "INSERT INTO artist_aliases VALUES (%s, 'RH', 'Manual', false)", (first.artist_id,)
    )
    assert submit(conn, scrobble("RH", "Creep", at=2)).artist_id == first.artist_id


def test_names_already_chosen_for_a_scrobble_are_skipped_case_insensitively(
    conn: psycopg.Connection,
) -> None:
    submit(conn, scrobble("Sigur Rós · SIGUR RÓS", "Hoppípolla"))
    assert names(conn) == ["Sigur Rós"]


def test_duration_is_stored_filled_once_and_never_overwritten(conn: psycopg.Connection) -> None:
    submit(conn, scrobble("A", "Song", duration_s=0))
    submit(conn, scrobble("A", "Song", at=2, duration_s=0))
    assert conn.execute("SELECT duration FROM tracks").fetchone() == (0,)
    hit = submit(
        conn, scrobble("A", "Song", at=3, duration_s=201)
    )  # docs/design.md §5.3: a hit still fills
    assert hit.cache_hit
    submit(conn, scrobble("A", "Song", at=4, duration_s=999))
    assert conn.execute("SELECT duration FROM tracks").fetchone() == (201,)
    made = submit(conn, scrobble("B", "Song", duration_s=180))
    assert conn.execute(
        "SELECT duration FROM tracks WHERE id = %s", (made.track_id,)
    ).fetchone() == (180,)


def test_same_track_same_second_is_one_listen(conn: psycopg.Connection) -> None:
    first = submit(conn, scrobble("A", "Song", client="one"))
    again = submit(conn, scrobble("A", "Song", client="two"))
    assert first.listen_inserted and not again.listen_inserted
    assert conn.execute("SELECT client FROM listens").fetchall() == [("one",)]


def _one_select_one_insert(log: list[str]) -> None:
    """A cache hit sends one statement (no transaction block): one SELECT of the cache row, one
    INSERT of the listen, and the duration fill riding along."""
    assert len(log) == 1, log
    (statement,) = log
    assert statement.count("INSERT INTO") == 1 and "INSERT INTO listens" in statement
    assert statement.count("FROM koito_import.track_lookup") == 1
    assert statement.count("UPDATE tracks SET duration") == 1


def test_cache_hit_is_one_select_and_one_insert_in_one_statement(db_url: str) -> None:
    with CountingConnection.connect(db_url, autocommit=True) as conn:
        submit(conn, scrobble("A feat. B", "Song", "Album", duration_s=200))
        conn.log.clear()
        hit = submit(conn, scrobble("A feat. B", "Song", "Album", at=2, duration_s=300))
        assert hit.cache_hit and hit.listen_inserted
        _one_select_one_insert(conn.log)
        assert conn.execute("SELECT duration FROM tracks").fetchone() == (200,)  # known: kept

        submit(conn, scrobble("C", "Unknown length"))
        conn.log.clear()
        filled = submit(conn, scrobble("C", "Unknown length", at=2, duration_s=120))
        assert filled.cache_hit
        _one_select_one_insert(conn.log)
        assert conn.execute(
            "SELECT duration FROM tracks WHERE id = %s", (filled.track_id,)
        ).fetchone() == (120,)


def test_miss_resolves_in_one_transaction(db_url: str) -> None:
    with CountingConnection.connect(db_url, autocommit=True) as conn:
        submit(conn, scrobble("A", "Song", "Album"))
        assert conn.log.count("BEGIN") == 1 and conn.log[-1] == "COMMIT"


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (scrobble("", "Song"), "artist is empty"),
        (scrobble("   ", "Song"), "artist is empty"),
        (scrobble("A", ""), "track title is empty"),
        (scrobble("A", " \t"), "track title is empty"),
        (scrobble("(feat. )", "Song"), "no artist name"),
        (scrobble("A\x00", "Song"), "NUL"),
        (scrobble("A", "Song", artist_mbids=("not-a-uuid",)), "not a MusicBrainz id"),
        (koito_scrobble([], entity("Album"), entity("Song")), "no artists"),
        (koito_scrobble([entity(" ")], entity("Album"), entity("Song")), "no primary name"),
    ],
)
def test_unusable_records_are_refused_with_a_reason(
    conn: psycopg.Connection, record: Scrobble, message: str
) -> None:
    with pytest.raises(InvalidRecord, match=message):
        submit(conn, record)
    assert conn.execute(
        "SELECT (SELECT count(*) FROM artists) + (SELECT count(*) FROM listens)"
    ).fetchone() == (0,)


def test_needs_an_autocommit_connection(db_url: str) -> None:
    with psycopg.connect(db_url) as conn, pytest.raises(ValueError, match="autocommit"):
        submit(conn, scrobble("A", "Song"))


# -- MBIDs with MusicBrainz disabled (its fallbacks, docs/koito-reference.md §2.4–§2.8) ------------


def test_mapping_creates_the_artist_with_its_mbid_and_finds_it_by_mbid(
    conn: psycopg.Connection,
) -> None:
    first = submit(
        conn,
        scrobble("The Band", "Song", artist_mbid_mappings=(("The Band", M1),), artist_mbids=(M1,)),
    )
    renamed = submit(
        conn, scrobble("Band, The", "Other", artist_mbid_mappings=(("Band, The", M1),), at=2)
    )
    assert conn.execute("SELECT musicbrainz_id::text FROM artists").fetchall() == [(M1,)]
    assert renamed.artist_id == first.artist_id


def test_name_match_gives_an_mbid_only_to_an_artist_without_one(conn: psycopg.Connection) -> None:
    plain = submit(conn, scrobble("Plain", "Song"))
    submit(conn, scrobble("Plain", "Song", artist_mbid_mappings=(("Plain", M1),), at=2))
    assert conn.execute(
        "SELECT musicbrainz_id::text FROM artists WHERE id = %s", (plain.artist_id,)
    ).fetchone() == (M1,)
    # docs/design.md §5.4: an existing MBID is never overwritten by a name match (Koito does:
    # docs/koito-reference.md §10 T8)
    submit(conn, scrobble("Plain", "Song", artist_mbid_mappings=(("Plain", M2),), at=3))
    assert conn.execute(
        "SELECT musicbrainz_id::text FROM artists WHERE id = %s", (plain.artist_id,)
    ).fetchone() == (M1,)


def test_artist_mbids_without_musicbrainz_fall_back_to_names_without_storing_them(
    conn: psycopg.Connection,
) -> None:
    submit(conn, scrobble("A feat. B", "Song", artist_mbids=(M1,)))
    assert conn.execute(
        "SELECT name, musicbrainz_id FROM artists_with_name ORDER BY name"
    ).fetchall() == [("A", None), ("B", None)]


def test_release_mbid_is_stored_and_wins_over_the_title(conn: psycopg.Connection) -> None:
    titled = submit(conn, scrobble("A", "S1", "Album"))
    with_mbid = submit(
        conn, scrobble("A", "S2", "Album", release_mbid=R1, at=2)
    )  # by title; takes the MBID
    other_title = submit(
        conn, scrobble("A", "S3", "Album (Deluxe)", release_mbid=R1, at=3)
    )  # by MBID
    assert titled.album_id == with_mbid.album_id == other_title.album_id
    assert conn.execute("SELECT musicbrainz_id::text FROM releases").fetchall() == [(R1,)]
    new = submit(
        conn, scrobble("B", "S4", "New", release_mbid="22222222-0000-4000-8000-000000000002", at=4)
    )
    assert conn.execute(
        "SELECT musicbrainz_id IS NOT NULL FROM releases WHERE id = %s", (new.album_id,)
    ).fetchone() == (True,)


def test_recording_mbid_is_stored_and_its_track_wins_even_on_another_release(
    conn: psycopg.Connection,
) -> None:
    found = submit(conn, scrobble("A", "Song", "X"))
    tagged = submit(conn, scrobble("A", "Song", "X", recording_mbid=T1, at=2))
    assert tagged.track_id == found.track_id
    assert conn.execute("SELECT musicbrainz_id::text FROM tracks").fetchall() == [(T1,)]
    # even on another release: docs/koito-reference.md §10 T11
    elsewhere = submit(conn, scrobble("B", "Renamed", "Y", recording_mbid=T1, at=3))
    assert elsewhere.track_id == found.track_id and elsewhere.album_id != found.album_id


# -- Koito-export records (docs/koito-reference.md §3.6) -------------------------------------------


def test_koito_record_creates_entities_with_exported_aliases_and_images(
    conn: psycopg.Connection,
) -> None:
    record = koito_scrobble(
        [
            entity("Main", M1, "Main Alias", image_url="https://img/a.jpg"),
            entity("Guest", None, image_url="User Upload"),
        ],
        entity("Album", R1, "Album Alias", image_url="https://img/c.jpg", various_artists=True),
        entity("Song", None, "Song Alias", duration_s=354),
        client="export client",
    )
    result = submit(conn, record)
    assert conn.execute(
        "SELECT a.name, a.musicbrainz_id::text, a.image IS NOT NULL, a.image_source "
        "FROM artists_with_name a ORDER BY id"
    ).fetchall() == [("Main", M1, True, "https://img/a.jpg"), ("Guest", None, False, "User Upload")]
    assert conn.execute(
        "SELECT alias, source, is_primary FROM artist_aliases WHERE artist_id = 1 ORDER BY 1"
    ).fetchall() == [("Main", "Canonical", True), ("Main Alias", "MusicBrainz", False)]
    assert conn.execute(
        "SELECT various_artists, musicbrainz_id::text FROM releases"
    ).fetchall() == [(True, R1)]
    assert conn.execute("SELECT alias, source FROM release_aliases ORDER BY 1").fetchall() == [
        ("Album", "Canonical"),
        ("Album Alias", "MusicBrainz"),
    ]
    assert conn.execute("SELECT alias, source FROM track_aliases ORDER BY 1").fetchall() == [
        ("Song", "Canonical"),
        ("Song Alias", "Import"),
    ]
    assert conn.execute("SELECT duration FROM tracks").fetchone() == (354,)
    assert conn.execute(
        "SELECT artist_id, is_primary FROM artist_tracks ORDER BY 1"
    ).fetchall() == [(1, True), (2, False)]
    assert conn.execute("SELECT client FROM listens").fetchall() == [("export client",)]
    assert result.artist_id == 1


def test_koito_record_with_an_unknown_mbid_makes_a_same_named_artist(
    conn: psycopg.Connection,
) -> None:
    submit(conn, scrobble("Main", "Song", "Album"))
    submit(
        conn, koito_scrobble([entity("Main", M1)], entity("Album"), entity("Song"), at=2)
    )  # docs/koito-reference.md §10 T3
    assert conn.execute(
        "SELECT name, musicbrainz_id::text FROM artists_with_name ORDER BY id"
    ).fetchall() == [("Main", None), ("Main", M1)]
    # without an MBID the importer matches the name (lowest id first)
    plain = submit(conn, koito_scrobble([entity("Main")], entity("Album"), entity("Song"), at=3))
    assert plain.artist_id == 1


def test_an_unreachable_musicbrainz_in_the_mbid_step_drops_that_steps_matches_as_koito_does(
    conn: psycopg.Connection,
) -> None:
    """Koito's matchArtistsByMBID: A is found by its MBID, B's MBID is unknown and MusicBrainz
    cannot name it, so the step returns name matching of the parsed names *skipping the artists
    the step found*: A is skipped there and dropped with the step's list; only B is credited."""
    known, unknown = "11111111-0000-4000-8000-000000000001", "11111111-0000-4000-8000-000000000002"
    submit(conn, scrobble("A", "Earlier", "X", artist_mbid_mappings=(("A", known),), at=1))
    made = submit(conn, scrobble("A feat. B", "Song", "Y", artist_mbids=(known, unknown), at=2))
    credited = conn.execute(
        "SELECT a.name FROM artist_tracks at JOIN artists_with_name a ON a.id = at.artist_id "
        "WHERE at.track_id = %s",
        (made.track_id,),
    ).fetchall()
    assert credited == [("B",)]


def test_the_release_is_looked_up_by_koitos_first_artist_and_the_base_artist_stays_primary(
    conn: psycopg.Connection,
) -> None:
    """docs/design.md §5.1: only is_primary differs from Koito. Koito parses "B feat. F" as [F, B]
    and looks the release up by F, so the listen lands on F's "Singles"; B is still the primary."""
    earlier = submit(conn, scrobble("F", "Own Song", "Singles", at=1))
    made = submit(conn, scrobble("B feat. F", "Duet", "Singles", at=2))
    assert made.album_id == earlier.album_id
    credits = conn.execute(
        "SELECT a.name, at.is_primary FROM artist_tracks at "
        "JOIN artists_with_name a ON a.id = at.artist_id "
        "WHERE at.track_id = %s ORDER BY a.name",
        (made.track_id,),
    ).fetchall()
    assert credits == [("B", True), ("F", False)]
    assert (
        made.artist_id
        == dict(conn.execute("SELECT name, id FROM artists_with_name").fetchall())["B"]
    )


def test_unlinking_the_artist_a_release_was_found_by_drops_the_cached_row(
    conn: psycopg.Connection,
) -> None:
    """The release of "A feat. B" was looked up by B (Koito's first artist), though A is the row's
    primary artist: removing B's link must drop the row, or the next hit would skip a lookup
    that now fails."""
    made = submit(conn, scrobble("A feat. B", "S5", "Z", at=1))
    b = dict(conn.execute("SELECT name, id FROM artists_with_name").fetchall())["B"]
    conn.execute(
        "DELETE FROM artist_releases WHERE release_id = %s AND artist_id = %s", (made.album_id, b)
    )
    assert conn.execute("SELECT count(*) FROM koito_import.track_lookup").fetchone() == (0,)
    again = submit(conn, scrobble("A feat. B", "S5", "Z", at=2))
    assert not again.cache_hit and again.album_id != made.album_id
