"""Last.fm exports: ghan.nl JSON and CSV, lastfm-to-csv, with Koito's Last.fm rules.

The rules and the files: docs/koito-reference.md §3.4.
"""

from __future__ import annotations

from datetime import UTC, datetime

from koito_assets.sources import Scrobble, Skipped, SkipReason

from .helpers import FIXTURES, accepted, by_position, read_all

BEATLES = "b10bbbfc-cf9e-42e0-be17-e2c3e1d2600d"
SOMETHING = "c9bbd2b5-3b1c-4b6f-b7f5-0f0e2c3f8a11"
ABBEY_ROAD = "3f8f7a1a-2b7e-4c7e-9a4e-9e1d7b6c5a40"


def unix(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


SOMETHING_SCROBBLE = Scrobble(
    listened_at=1709402230,
    artist="The Beatles",
    track="Something",
    album="Abbey Road",
    artist_mbids=(BEATLES,),
    artist_mbid_mappings=(("The Beatles", BEATLES),),
    recording_mbid=SOMETHING,
    release_mbid=ABBEY_ROAD,
    client="lastfm",
)


def test_ghan_json_pages():
    export, records = read_all(FIXTURES / "recenttracks-example-1709402230.json")
    assert export.format == "lastfm_json"
    found = by_position(records)  # numbered across pages
    assert found["record 1"] == Skipped(SkipReason.NOW_PLAYING, "record 1")
    assert found["record 2"] == SOMETHING_SCROBBLE._replace(position="record 2")
    pink = found["record 3"]
    # Koito's Last.fm importer names an album-less scrobble's album after the track itself,
    # and leaves "feat." to the catalog's parsing (no explicit artist names).
    assert (pink.artist, pink.album, pink.artist_names) == (
        "Carly Rae Jepsen feat. Rufus Wainwright",
        "Pink or Purple",
        (),
    )
    nil = found["record 4"]
    assert nil.listened_at == unix("2024-03-01T09:05:00")  # date.#text when there is no uts
    assert (nil.artist_mbids, nil.artist_mbid_mappings, nil.recording_mbid) == ((), (), None)
    assert found["record 5"] == Skipped(SkipReason.MISSING_ARTIST, "record 5")
    assert found["record 6"].reason is SkipReason.UNPARSABLE_TIME
    assert export.stats.accepted == 3


def test_ghan_csv_same_rules():
    export, records = read_all(FIXTURES / "recenttracks-example-1709402230.csv")
    assert export.format == "lastfm_csv"
    found = by_position(records)  # line numbers count the header
    assert found["line 2"] == SOMETHING_SCROBBLE._replace(position="line 2")
    csny = found["line 3"]
    assert (csny.artist, csny.album, csny.listened_at) == (
        "Crosby, Stills, Nash & Young",
        "Helplessly Hoping",
        1709402000,
    )
    assert found["line 4"].listened_at == unix("2024-03-01T09:05:00")
    assert found["line 5"] == Skipped(SkipReason.NOW_PLAYING, "line 5")
    assert found["line 6"].reason is SkipReason.MALFORMED_RECORD
    assert "5 columns" in found["line 6"].detail
    assert found["line 7"] == Skipped(SkipReason.MISSING_ARTIST, "line 7")
    assert export.stats.records == 6


def test_lastfm_to_csv_four_columns():
    export, records = read_all(FIXTURES / "lastfm-to-csv-example.csv")
    assert export.format == "lastfm_to_csv"
    found = by_position(records)
    assert found["line 1"] == Scrobble(
        listened_at=unix("2024-03-02T17:57:00"),
        artist="Example Band",
        track="Tide",
        album="Shoreline",
        client="lastfm",
        position="line 1",
    )
    assert (found["line 2"].artist, found["line 2"].album) == (
        "Crosby, Stills, Nash & Young",
        "Déjà Vu",
    )
    assert found["line 3"].album == "No Album"
    assert found["line 4"] == Skipped(SkipReason.NOW_PLAYING, "line 4")
    assert found["line 5"].reason is SkipReason.UNPARSABLE_TIME
    assert found["line 6"].reason is SkipReason.MALFORMED_RECORD


def test_csv_with_bom_and_crlf(tmp_path):
    path = tmp_path / "scrobbles.csv"
    path.write_bytes(b"\xef\xbb\xbfExample Band,Shoreline,Tide,02 Mar 2024 17:57\r\n")
    export, records = read_all(path)
    assert export.format == "lastfm_to_csv"
    assert (records[0].artist, records[0].listened_at) == (
        "Example Band",
        unix("2024-03-02T17:57:00"),
    )


def test_csv_detection_survives_a_now_playing_first_row_and_one_broken_row(tmp_path):
    ghan = tmp_path / "scrobbles.csv"
    ghan.write_text(
        ",,Example Band,,Shoreline,,Now Spinning,\n"
        '1709402230,"02 Mar 2024, 17:57",Example Band,,Shoreline,,Tide,\n'
        "1709402000,broken row\n"
    )
    export, records = read_all(ghan)
    assert export.format == "lastfm_csv"
    assert [
        record.reason if isinstance(record, Skipped) else record.track for record in records
    ] == [
        SkipReason.NOW_PLAYING,
        "Tide",
        SkipReason.MALFORMED_RECORD,
    ]
    four = tmp_path / "other.csv"
    four.write_text(
        "Example Band,Shoreline,Now Spinning,\nExample Band,Shoreline,Tide,02 Mar 2024 17:57\n"
    )
    assert read_all(four)[0].format == "lastfm_to_csv"


# --- lastfmstats.com JSON -------------------------------------------------------------------------

LASTFMSTATS = FIXTURES / "lastfmstats-example.json"


def test_lastfmstats_follows_koitos_lastfm_rules():
    export, records = read_all(LASTFMSTATS)
    assert export.format == "lastfmstats_json" and export.notes == []
    found = by_position(records)
    assert found["record 1"] == Scrobble(
        listened_at=1709402230,
        artist="Example Band",
        track="Tide",
        album="Shoreline",
        client="lastfm",
        position="record 1",
    )
    assert found["record 2"].listened_at == 1709402230  # a duplicate row is read; the load dedupes
    assert (found["record 3"].listened_at, found["record 3"].album) == (1709402530, "Hoppípolla")
    assert found["record 4"].artist == "Example Band feat. Guest"  # feat. parsing is the catalog's
    assert found["record 4"].release_mbid == "3f1c2a4e-1b2c-4d3e-8f90-a1b2c3d4e5f6"
    assert found["record 5"].release_mbid is None  # a Spotify id is no MBID
    assert found["record 6"].reason is SkipReason.UNPARSABLE_TIME
    assert found["record 7"] == Skipped(SkipReason.MISSING_TITLE, "record 7")
    assert found["record 8"] == Skipped(SkipReason.MISSING_ARTIST, "record 8")
    assert (found["record 9"].track, found["record 9"].listened_at) == ("FloatTime", 1709404030)
    assert export.stats.nul_stripped == 1
    assert found["record 10"].listened_at == 1709404330
    assert found["record 11"].listened_at == 1108290000
    assert found["record 12"].reason is SkipReason.MALFORMED_RECORD
    assert export.stats.accepted == 8


def test_lastfmstats_and_maloja_share_a_key_and_are_told_apart_by_content(tmp_path):
    renamed = tmp_path / "maloja_export_2024.json"  # Koito's name rule says Maloja
    renamed.write_bytes(LASTFMSTATS.read_bytes())
    export, records = read_all(renamed)
    assert export.format == "lastfmstats_json"
    assert "content is lastfmstats_json" in export.notes[0]
    assert len(accepted(records)) == 8
    empty = tmp_path / "lastfmstats-nobody.json"
    empty.write_text('{"username": "nobody", "scrobbles": []}')
    assert read_all(empty)[0].format == "lastfmstats_json"
