"""One play, one listen: each source pairing's time convention, names, repeats, missing rows.

Every test writes the plays it needs by hand, as each service records them
(benchmarks/overlap.py's writers: Spotify stamps the end, Last.fm the start, ListenBrainz
whoever recorded the play), imports the files through the asset graph and looks at the listens.
"""

from __future__ import annotations

import threading
import time

import dagster as dg
import psycopg

from benchmarks.overlap import (
    lastfm_name,
    lastfm_start,
    listenbrainz_name,
    spotify_name,
    write_lastfm,
    write_listenbrainz,
    write_spotify,
)
from koito_assets.db.users import IMPORT_USER_ID
from koito_assets.dedupe import matching
from koito_assets.defs.imports import ledger
from koito_assets.defs.imports.assets import IMPORT_ASSETS
from koito_assets.defs.imports.ops import _insert_listens
from koito_assets.defs.imports.partitions import export_files
from koito_assets.settings import read_settings
from tests.dedupe.imports import T0, back_to_back, play, write_json
from tests.defs.resources import import_resources

SONGS = [
    dict(artist="Example Band", title="Tide", length=200),
    dict(artist="Example Band", title="Undertow", length=180),
    dict(artist="Sólo Artista", title="Canción", length=240),
    dict(artist="東京バンド", title="夜明け", length=210),
]


def session(first_index: int = 0, start: int = 0) -> list:
    """Four different songs played one after the other."""
    plays, t = [], start
    for i, song in enumerate(SONGS):
        plays.append(play(first_index + i, t, **song))
        t += song["length"] + 3
    return plays


def test_spotify_end_andlastfm_start_of_one_play_are_one_listen(importer, tmp_path):
    plays = session()
    spotify = write_spotify(spotify_name(tmp_path, "a"), plays)
    lastfm = write_lastfm(lastfm_name(tmp_path, "b"), plays)
    first, second = importer(spotify, lastfm)
    assert first.listens_inserted == 4
    assert second.listens_inserted == 0
    assert second.skipped == {"same_play_from_spotify": 4}
    assert [row[1] for row in importer.listens()] == ["spotify"] * 4
    # the file's counts balance and the ledger keeps what was recognised, by source
    row = importer.ledger(lastfm)
    assert row["records"] == row["accepted"] + sum(row["skipped"].values())
    assert row["same_play"] == {"spotify": 4}
    assert row["status"] == "complete"


def test_either_order_gives_the_same_count(importer, tmp_path):
    plays = session()
    spotify = write_spotify(spotify_name(tmp_path, "a"), plays)
    lastfm = write_lastfm(lastfm_name(tmp_path, "b"), plays)
    importer(lastfm, spotify)
    assert [row[1] for row in importer.listens()] == ["lastfm"] * 4
    assert importer.ledger(spotify)["same_play"] == {"lastfm": 4}


def test_koitos_rule_alone_counts_the_overlap_twice(importer, tmp_path):
    importer.dedupe("off")
    plays = session()
    spotify = write_spotify(spotify_name(tmp_path, "a"), plays)
    lastfm = write_lastfm(lastfm_name(tmp_path, "b"), plays)
    _, second = importer(spotify, lastfm)
    assert second.listens_inserted == 4 and second.skipped == {}
    assert len(importer.listens()) == 8


def test_back_to_back_repeats_survive(importer, tmp_path):
    plays = back_to_back(0, 3, title="Loop", length=150)
    spotify = write_spotify(spotify_name(tmp_path, "a"), plays)
    lastfm = write_lastfm(lastfm_name(tmp_path, "b"), plays)
    importer(spotify, lastfm)
    assert len(importer.listens()) == 3
    assert importer.ledger(lastfm)["same_play"] == {"spotify": 3}


def test_a_repeat_only_one_source_has_is_kept_even_on_the_others_second(importer, tmp_path):
    # Spotify has the first of two plays, Last.fm both: Last.fm's second starts the second
    # Spotify's first ended, the same (track, second), where Koito's rule drops a real play.
    plays = [play(0, 0, title="Loop", length=150), play(3, 150, title="Loop", length=150)]
    spotify = write_spotify(spotify_name(tmp_path, "a"), plays[:1])
    lastfm = write_lastfm(lastfm_name(tmp_path, "b"), plays)
    assert lastfm_start(plays[1]) == plays[0].end
    _, second = importer(spotify, lastfm)
    listens = importer.listens()
    assert len(listens) == 2
    assert second.skipped == {"same_play_from_spotify": 1}
    # the repeat is stored a second after Spotify's listen holding that second
    assert [t - T0 for t, *_ in listens] == [150, 151]
    with psycopg.connect(importer.url) as conn:
        assert conn.execute(
            "SELECT source, shifted_s FROM koito_import.listen_provenance"
        ).fetchall() == [("lastfm", 1)]
    # and a re-import of the same file knows its shifted listen: nothing new
    again = importer(lastfm)[0]
    assert again.listens_inserted == 0
    assert len(importer.listens()) == 2


def test_koitos_rule_loses_that_repeat(importer, tmp_path):
    importer.dedupe("off")
    plays = [play(0, 0, title="Loop", length=150), play(3, 150, title="Loop", length=150)]
    spotify = write_spotify(spotify_name(tmp_path, "a"), plays[:1])
    lastfm = write_lastfm(lastfm_name(tmp_path, "b"), plays)
    importer(spotify, lastfm)
    # Last.fm's first play counted again, its second dropped on Spotify's second
    assert len(importer.listens()) == 2
    assert importer.ledger(lastfm)["duplicates"] == 1


def test_plays_only_one_source_has_are_kept(importer, tmp_path):
    plays = session() + session(4, 2000)
    spotify = write_spotify(spotify_name(tmp_path, "a"), tuple(plays[:6]))  # misses the last two
    lastfm = write_lastfm(lastfm_name(tmp_path, "b"), tuple(plays[2:]))  # misses the first two
    importer(spotify, lastfm)
    assert len(importer.listens()) == 8
    assert importer.ledger(lastfm)["same_play"] == {"spotify": 4}


def test_names_in_another_letter_case_or_without_decorations_are_the_same_song(importer, tmp_path):
    plays = [
        play(0, 0, artist="Example Band", title="Tide - Remastered 2011"),
        play(1, 300, artist="Example Band", title="Undertow", featured=("Guest Singer",)),
        play(2, 600, artist="Sólo Artista", title="Canción (Live)"),
    ]
    spotify = write_spotify(spotify_name(tmp_path, "a"), tuple(plays))
    lastfm = write_lastfm(
        lastfm_name(tmp_path, "b"),
        tuple(plays),
        {
            0: ("EXAMPLE BAND", "Tide"),
            1: ("example band", "undertow"),
            2: ("SÓLO ARTISTA", "Canción"),
        },
    )
    _, second = importer(spotify, lastfm)
    assert second.skipped == {"same_play_from_spotify": 3}
    assert len(importer.listens()) == 3
    with psycopg.connect(importer.url) as conn:  # they were different tracks to Koito
        assert conn.execute("SELECT count(*) FROM tracks").fetchone()[0] == 6


def test_different_songs_at_the_same_time_are_not_merged(importer, tmp_path):
    spotify = write_spotify(spotify_name(tmp_path, "a"), (play(0, 0, title="Tide"),))
    lastfm = write_lastfm(lastfm_name(tmp_path, "b"), (play(0, 0, title="Undertow"),))
    _, second = importer(spotify, lastfm)
    assert second.skipped == {}
    assert len(importer.listens()) == 2


def test_plays_further_apart_than_the_tolerance_are_different_plays(importer, tmp_path):
    importer.dedupe("on", tolerance=30)
    spotify = write_spotify(spotify_name(tmp_path, "a"), (play(0, 0, paused=45),))
    lastfm = write_lastfm(lastfm_name(tmp_path, "b"), (play(0, 0),))
    importer(spotify, lastfm)
    # Spotify's end moved 45 s later with the pause: its start seems 45 s late
    assert len(importer.listens()) == 2


def test_a_paused_spotify_play_within_the_tolerance_is_recognised(importer, tmp_path):
    spotify = write_spotify(spotify_name(tmp_path, "a"), (play(0, 0, paused=45),))
    lastfm = write_lastfm(lastfm_name(tmp_path, "b"), (play(0, 0),))
    importer(spotify, lastfm)
    assert len(importer.listens()) == 1


def test_the_same_source_twice_keeps_koitos_rule(importer, tmp_path):
    plays = back_to_back(0, 3, title="Loop", length=150)
    one = write_lastfm(lastfm_name(tmp_path, "one"), tuple(plays[:2]))
    two = write_lastfm(lastfm_name(tmp_path, "two"), tuple(plays[1:]))
    _, second = importer(one, two)
    assert len(importer.listens()) == 3
    assert second.duplicates == 1 and second.skipped == {}


def test_re_importing_the_second_file_adds_nothing(importer, tmp_path):
    plays = session()
    spotify = write_spotify(spotify_name(tmp_path, "a"), plays)
    lastfm = write_lastfm(lastfm_name(tmp_path, "b"), plays + session(4, 5000))
    importer(spotify, lastfm)
    again = importer(lastfm)[0]
    assert again.listens_inserted == 0
    assert again.skipped == {"same_play_from_spotify": 4}
    assert len(importer.listens()) == 8


def test_listenbrainz_from_lastfm_keeps_lastfms_start(importer, tmp_path):
    plays = session()
    lastfm = write_lastfm(lastfm_name(tmp_path, "a"), plays)
    lb = write_listenbrainz(listenbrainz_name(tmp_path, "b"), plays, via="lastfm")
    _, second = importer(lastfm, lb)
    assert second.skipped == {"same_play_from_lastfm": 4}
    assert len(importer.listens()) == 4


def test_listenbrainz_from_spotify_keeps_spotifys_end_even_of_a_skipped_play(importer, tmp_path):
    plays = session()
    plays[1] = play(1, 203, artist="Example Band", title="Undertow", length=180, played=70)
    spotify = write_spotify(spotify_name(tmp_path, "a"), plays)
    lb = write_listenbrainz(listenbrainz_name(tmp_path, "b"), plays, via="spotify")
    _, second = importer(spotify, lb)
    assert second.skipped == {"same_play_from_spotify": 4}
    assert len(importer.listens()) == 4


def test_listenbrainz_listens_carry_their_source(importer, tmp_path):
    plays = session()
    lb = write_listenbrainz(listenbrainz_name(tmp_path, "a"), plays, via="spotify")
    spotify = write_spotify(spotify_name(tmp_path, "b"), plays)
    _, second = importer(lb, spotify)
    assert second.skipped == {"same_play_from_listenbrainz": 4}
    with psycopg.connect(importer.url) as conn:
        assert conn.execute(
            "SELECT DISTINCT source FROM koito_import.listen_provenance"
        ).fetchall() == [("listenbrainz",)]


def test_spotify_account_data_times_are_cut_to_the_minute(importer, tmp_path):
    plays = session()
    account = write_json(
        tmp_path / "StreamingHistory_music_0.json",
        [
            {
                "endTime": time.strftime("%Y-%m-%d %H:%M", time.gmtime(p.end)),
                "artistName": p.artist,
                "trackName": p.title,
                "msPlayed": p.played * 1000,
            }
            for p in plays
        ],
    )
    lastfm = write_lastfm(lastfm_name(tmp_path, "b"), plays)
    _, second = importer(account, lastfm)
    assert second.skipped == {"same_play_from_spotify": 4}
    assert len(importer.listens()) == 4


def test_a_maloja_scrobble_imported_from_spotify_keeps_spotifys_end(importer, tmp_path):
    plays = session()
    maloja = write_json(
        tmp_path / "maloja_export_2024_01_01_00_00_00.json",
        {
            "maloja": {"export_time": T0},
            "scrobbles": [
                {
                    "time": p.end,
                    "track": {
                        "artists": [p.artist],
                        "title": p.title,
                        "album": {"albumtitle": p.album, "artists": [p.artist]},
                        "length": None,
                    },
                    "duration": p.played,
                    "origin": "import:spotify",
                }
                for p in plays
            ],
        },
    )
    spotify = write_spotify(spotify_name(tmp_path, "b"), plays)
    _, second = importer(maloja, spotify)
    assert second.skipped == {"same_play_from_maloja": 4}
    assert len(importer.listens()) == 4


def test_a_koito_export_of_spotify_plays_is_recognised(importer, tmp_path):
    plays = session()

    def alias(name):
        return [{"alias": name, "source": "Canonical", "is_primary": True}]

    koito = write_json(
        tmp_path / "koito_export_2024.json",
        {
            "version": "1",
            "exported_at": "2025-01-01T00:00:00Z",
            "user": "me",
            "listens": [
                {
                    "listened_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(p.end)),
                    "client": "spotify",
                    "track": {"mbid": None, "duration": p.length, "aliases": alias(p.title)},
                    "album": {
                        "image_url": "",
                        "mbid": None,
                        "aliases": alias(p.album + " (Deluxe)"),
                        "various_artists": False,
                    },
                    "artists": [
                        {
                            "image_url": "",
                            "mbid": None,
                            "is_primary": True,
                            "aliases": alias(p.artist),
                        }
                    ],
                }
                for p in plays
            ],
        },
    )
    spotify = write_spotify(spotify_name(tmp_path, "b"), plays)
    _, second = importer(koito, spotify)
    assert second.skipped == {"same_play_from_koito": 4}
    assert len(importer.listens()) == 4


def test_koitos_own_listens_are_read_from_their_client_and_track_duration(importer, tmp_path):
    # Koito imported the Spotify history itself: listens with client 'spotify' and no
    # provenance row. A Last.fm import must still find where those plays started.
    plays = session()
    spotify = write_spotify(spotify_name(tmp_path, "a"), plays)
    importer(spotify)
    with psycopg.connect(importer.url) as conn:
        assert conn.execute("SELECT count(*) FROM koito_import.listen_provenance").fetchone() == (
            0,
        )
        assert conn.execute("SELECT count(*) FROM tracks WHERE duration = 0").fetchone() == (0,)
    lastfm = write_lastfm(lastfm_name(tmp_path, "b"), plays)
    second = importer(lastfm)[0]
    assert second.skipped == {"same_play_from_spotify": 4}


def test_two_files_loaded_at_once_take_turns(importer, tmp_path):
    """A load holds the user's listens until it commits; the other waits, then sees them."""
    plays = session()
    spotify = write_spotify(spotify_name(tmp_path, "a"), plays)
    lastfm = write_lastfm(lastfm_name(tmp_path, "b"), plays)
    settings = read_settings()
    with dg.DagsterInstance.ephemeral() as instance:
        for path in (spotify, lastfm):
            with psycopg.connect(importer.url, autocommit=True) as conn:
                ledger.register_file(conn, path.name, path)
            instance.add_dynamic_partitions(export_files.name, [path.name])
            staged = dg.materialize(
                IMPORT_ASSETS[:3],
                partition_key=path.name,
                instance=instance,
                resources=import_resources(importer.url),
            )
            assert staged.success
        first = psycopg.connect(importer.url, autocommit=True)
        outcome = {}

        def load_second():
            outcome["result"] = dg.materialize(
                IMPORT_ASSETS,
                selection=IMPORT_ASSETS[3:],
                partition_key=lastfm.name,
                instance=instance,
                resources=import_resources(importer.url),
            )

        with first.transaction():
            file_id = ledger.file_id(first, spotify.name)
            loaded = _insert_listens(first, file_id, "spotify_extended", settings)
            assert loaded.inserted == 4
            other = threading.Thread(target=load_second)
            other.start()
            other.join(timeout=3)
            assert other.is_alive()  # waiting for this load to commit
        other.join(timeout=60)
        first.close()
    result = outcome["result"]
    assert result.success
    assert len(importer.listens()) == 4
    assert importer.ledger(lastfm)["same_play"] == {"spotify": 4}
    # the asset's metadata says what was recognised, and the file's counts balance
    loaded = result.asset_materializations_for_node("listens_loaded")[0].metadata
    assert loaded["cross_source_dedupe"].value == "matched"
    assert loaded["same_play_recognised"].value == 4
    assert "| spotify | 4 |" in loaded["same_play_by_source"].value
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert checks == dict.fromkeys(
        ("counts_balance", "every_key_resolved", "every_listen_present"), True
    )


def test_the_load_lock_is_per_user(conn):
    with conn.transaction():
        matching.serialise_loads(conn, IMPORT_USER_ID)
        held = conn.execute(
            "SELECT classid, objid FROM pg_locks "
            "WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
        ).fetchall()
    assert held == [(matching.LOAD_LOCK_CLASS, IMPORT_USER_ID)]
