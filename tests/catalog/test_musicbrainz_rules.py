"""The rules that ask MusicBrainz (docs/koito-reference.md §2.4–§2.9), against the fake server."""

from __future__ import annotations

import psycopg
import pytest

from koito_assets.catalog.resolve import resolve_keys
from koito_assets.catalog.submit import submit_listen
from koito_assets.enrich.musicbrainz import HttpMusicBrainz
from koito_assets.settings import Settings
from koito_assets.sources.record import Scrobble
from tests.catalog import helpers
from tests.catalog.helpers import scrobble
from tests.fakes.musicbrainz import FakeMusicBrainz, MbAlias, MbCredit, MbGroupRelease

ARTIST = "77777777-0000-4000-8000-000000000001"
OTHER_ARTIST = "77777777-0000-4000-8000-000000000002"
RELEASE = "77777777-0000-4000-8000-000000000010"
VA_RELEASE = "77777777-0000-4000-8000-000000000011"
GROUP = "77777777-0000-4000-8000-000000000020"
RECORDING = "77777777-0000-4000-8000-000000000030"
NO_LENGTH = "77777777-0000-4000-8000-000000000031"
UNKNOWN = "77777777-0000-4000-8000-000000000099"  # 404 at the fake
SETTINGS = Settings(resolve_workers=4)


@pytest.fixture
def mb(fake_musicbrainz: FakeMusicBrainz) -> FakeMusicBrainz:
    fake_musicbrainz.add_artist(
        ARTIST,
        "Kaze no Oto",
        [
            MbAlias("風の音", locale="ja", primary=True),
            MbAlias("Sound of Wind", locale="en", primary=False),  # not primary: not used
        ],
    )
    fake_musicbrainz.add_artist(OTHER_ARTIST, "Ada Example")
    fake_musicbrainz.add_release(RELEASE, "First Light", [MbCredit("Kaze no Oto")])
    fake_musicbrainz.add_release(VA_RELEASE, "Hits", [MbCredit("Various Artists")])
    fake_musicbrainz.add_release_group(
        GROUP,
        "First Light",
        [
            MbGroupRelease("77777777-0000-4000-8000-000000000012", "First Light"),
            MbGroupRelease(
                "77777777-0000-4000-8000-000000000013", "Hajimari no Hikari", "Pseudo-Release"
            ),
        ],
    )
    fake_musicbrainz.add_recording(RECORDING, "Opening Theme", 215_000)
    fake_musicbrainz.add_recording(NO_LENGTH, "Mystery", None)
    return fake_musicbrainz


def client(fake: FakeMusicBrainz) -> HttpMusicBrainz:
    return HttpMusicBrainz(
        fake.url, rate_limit_per_s=500.0, timeout_s=2.0, max_retries=1, backoff_s=0.01
    )


def submit(conn: psycopg.Connection, fake: FakeMusicBrainz, record: Scrobble):
    return submit_listen(conn, record, musicbrainz=client(fake), settings=SETTINGS)


def aliases(
    conn: psycopg.Connection, table: str, column: str, entity: int
) -> list[tuple[str, str, bool]]:
    return conn.execute(
        f"SELECT alias, source, is_primary FROM {table} WHERE {column} = %s ORDER BY alias",
        (entity,),
    ).fetchall()


def test_new_artist_is_named_by_musicbrainz_keeping_the_submitted_spelling(conn, mb) -> None:
    made = submit(conn, mb, scrobble("風の音", "Song", artist_mbids=(ARTIST,)))
    assert aliases(conn, "artist_aliases", "artist_id", made.artist_id) == [
        ("Kaze no Oto", "MusicBrainz", False),
        ("風の音", "Canonical", True),  # the alias that matches what was submitted
    ]
    assert conn.execute("SELECT musicbrainz_id::text FROM artists").fetchall() == [(ARTIST,)]


def test_a_case_variant_of_an_alias_takes_musicbrainz_spelling(conn, mb) -> None:
    made = submit(conn, mb, scrobble("kaze no oto", "Song", artist_mbids=(ARTIST,)))
    assert conn.execute(
        "SELECT name FROM artists_with_name WHERE id = %s", (made.artist_id,)
    ).fetchone() == ("Kaze no Oto",)


def test_an_artist_found_by_a_musicbrainz_alias_gets_the_mbid_and_aliases(conn, mb) -> None:
    plain = submit(conn, mb, scrobble("Kaze no Oto", "Song"))
    tagged = submit(conn, mb, scrobble("KnO", "Song 2", artist_mbids=(ARTIST,), at=2))
    assert tagged.artist_id == plain.artist_id
    assert conn.execute("SELECT musicbrainz_id::text FROM artists").fetchall() == [(ARTIST,)]
    assert ("風の音", "MusicBrainz", False) in aliases(
        conn, "artist_aliases", "artist_id", plain.artist_id
    )


def test_an_alias_match_that_already_has_an_mbid_is_not_taken(conn, mb) -> None:
    taken = submit(
        conn, mb, scrobble("Kaze no Oto", "Song", artist_mbid_mappings=(("Kaze no Oto", UNKNOWN),))
    )
    made = submit(conn, mb, scrobble("Kaze no Oto", "Song", artist_mbids=(ARTIST,), at=2))
    assert made.artist_id != taken.artist_id
    assert conn.execute(
        "SELECT count(*) FROM artists_with_name WHERE name = 'Kaze no Oto'"
    ).fetchone() == (2,)


def test_release_is_created_with_musicbrainz_title_and_group_titles(conn, mb) -> None:
    made = submit(
        conn,
        mb,
        scrobble(
            "Kaze no Oto",
            "Song",
            "first light (deluxe)",
            release_mbid=RELEASE,
            release_group_mbid=GROUP,
        ),
    )
    assert aliases(conn, "release_aliases", "release_id", made.album_id) == [
        ("First Light", "Canonical", True),
        ("Hajimari no Hikari", "MusicBrainz", False),
    ]
    assert conn.execute(
        "SELECT musicbrainz_id::text, various_artists FROM releases"
    ).fetchall() == [(RELEASE, False)]
    various = submit(conn, mb, scrobble("Someone", "Hit", "Hits", release_mbid=VA_RELEASE, at=2))
    assert conn.execute(
        "SELECT various_artists FROM releases WHERE id = %s", (various.album_id,)
    ).fetchone() == (True,)


def test_an_existing_release_without_mbid_takes_it_when_its_title_matches(conn, mb) -> None:
    plain = submit(conn, mb, scrobble("Kaze no Oto", "Song", "First Light"))
    tagged = submit(
        conn,
        mb,
        scrobble(
            "Kaze no Oto",
            "Song 2",
            "Something else",
            release_mbid=RELEASE,
            release_group_mbid=GROUP,
            at=2,
        ),
    )
    assert tagged.album_id == plain.album_id
    assert conn.execute("SELECT musicbrainz_id::text FROM releases").fetchall() == [(RELEASE,)]
    assert ("Hajimari no Hikari", "MusicBrainz", False) in aliases(
        conn, "release_aliases", "release_id", plain.album_id
    )


def test_the_recording_title_finds_an_existing_track(conn, mb) -> None:
    plain = submit(conn, mb, scrobble("A", "Opening Theme", "X"))
    tagged = submit(
        conn, mb, scrobble("A", "Opening Theme (Live)", "X", recording_mbid=RECORDING, at=2)
    )
    assert tagged.track_id == plain.track_id
    assert conn.execute("SELECT musicbrainz_id::text FROM tracks").fetchall() == [(RECORDING,)]


def test_length_comes_from_musicbrainz_only_when_the_scrobble_has_none(conn, mb) -> None:
    made = submit(conn, mb, scrobble("A", "Opening Theme", recording_mbid=RECORDING))
    assert conn.execute(
        "SELECT duration FROM tracks WHERE id = %s", (made.track_id,)
    ).fetchone() == (215,)
    own = submit(conn, mb, scrobble("B", "Mystery", recording_mbid=NO_LENGTH, duration_s=0))
    assert conn.execute(
        "SELECT duration FROM tracks WHERE id = %s", (own.track_id,)
    ).fetchone() == (0,)
    timed = submit(
        conn,
        mb,
        scrobble("C", "Timed", recording_mbid=RECORDING.replace("30", "32"), duration_s=100),
    )
    assert conn.execute(
        "SELECT duration FROM tracks WHERE id = %s", (timed.track_id,)
    ).fetchone() == (100,)


def test_musicbrainz_errors_fall_back_as_koito_does(conn, mb) -> None:
    mb.fail_next("/ws/2/", count=10, status=500)
    made = submit(
        conn,
        mb,
        scrobble(
            "Band",
            "Song",
            "Album",
            artist_mbid_mappings=(("Band", ARTIST),),
            release_mbid=RELEASE,
            recording_mbid=RECORDING,
        ),
    )
    # artist from the mapping's name with its MBID; album by title with the MBID; track as given
    assert conn.execute("SELECT name, musicbrainz_id::text FROM artists_with_name").fetchall() == [
        ("Band", ARTIST)
    ]
    assert conn.execute(
        "SELECT title, musicbrainz_id::text FROM releases_with_title"
    ).fetchall() == [("Album", RELEASE)]
    assert conn.execute(
        "SELECT title, musicbrainz_id::text, duration FROM tracks_with_title"
    ).fetchall() == [("Song", RECORDING, 0)]
    assert made.listen_inserted


BATCH = [
    scrobble(
        "風の音",
        "Opening Theme",
        "first light",
        artist_mbids=(ARTIST,),
        release_mbid=RELEASE,
        release_group_mbid=GROUP,
        recording_mbid=RECORDING,
        at=1,
    ),
    scrobble("Kaze no Oto", "Second", "First Light", at=2),
    scrobble(
        "Ada Example feat. Kaze no Oto",
        "Third",
        "Hits",
        artist_mbids=(OTHER_ARTIST, ARTIST),
        release_mbid=VA_RELEASE,
        at=3,
    ),
    scrobble(
        "Nobody",
        "Fourth",
        "",
        artist_mbid_mappings=(("Nobody", UNKNOWN),),
        recording_mbid=NO_LENGTH,
        at=4,
    ),
    scrobble("kaze no oto", "Opening Theme (Live)", "First Light", recording_mbid=RECORDING, at=5),
]


def test_bulk_resolution_with_musicbrainz_matches_the_single_listen_path(
    pg_server, template_db, mb
) -> None:
    with (
        helpers.fresh_database(pg_server, template_db) as one_by_one,
        helpers.fresh_database(pg_server, template_db) as bulk,
    ):
        with psycopg.connect(one_by_one, autocommit=True) as conn:
            for record in BATCH:
                submit(conn, mb, record)
            expected = helpers.catalogue(conn)
        mb.clear_log()
        with helpers.pool_for(bulk) as pool:
            result = resolve_keys(pool, BATCH, musicbrainz=client(mb), settings=SETTINGS)
        assert (
            not result.failed and result.live_queries == 0 and result.batches_resolved_per_key == 0
        )
        with psycopg.connect(bulk, autocommit=True) as conn:
            helpers.insert_listens(conn, BATCH, result.ids)
            assert helpers.catalogue(conn) == expected
    # each kind searched once for all its MBIDs, ahead of the transaction; a lookup only for
    # the one no search knows (404)
    asked = [(r.path, r.param("query")) for r in mb.requests]
    assert len(asked) == len(set(asked)) == result.musicbrainz_requests == 5
    assert mb.request_counts() == {"search": 4, "lookup": 1}
    assert result.musicbrainz_lookups_fallback == 1


def test_musicbrainz_is_asked_by_several_workers_at_once(db_url: str, mb) -> None:
    mb.slow_next("/ws/2/", delay_s=0.4, count=20)
    with helpers.pool_for(db_url) as pool:
        result = resolve_keys(pool, BATCH, musicbrainz=client(mb), settings=SETTINGS)
    assert not result.failed
    first, *rest = sorted(r.time for r in mb.requests)
    # the first request goes alone (is MusicBrainz there at all?); the rest go side by side
    assert rest[0] >= first + 0.35
    assert sum(1 for t in rest if t < rest[0] + 0.35) >= 2
