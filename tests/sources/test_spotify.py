"""Spotify extended and account-data histories: play rules, podcasts, incognito, durations."""

from __future__ import annotations

import zipfile
from datetime import UTC, datetime

import pytest

from koito_assets.sources import ExportError, Scrobble, Skipped, SkipReason, open_export

from .helpers import FIXTURES, accepted, by_position, read_all, settings

EXTENDED = FIXTURES / "Streaming_History_Audio_2023-2024_0.json"
ACCOUNT = FIXTURES / "StreamingHistory_music_0.json"


def unix(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


@pytest.mark.parametrize(
    ("rule", "accepted_positions", "durations", "skipped"),
    [
        (
            "trackdone",
            [1, 4, 7, 9, 11],
            [201, 20, 187, 240, 201],
            {"not_a_play": 4, "podcast_or_audiobook": 2, "missing_artist": 1, "unparsable_time": 1},
        ),
        (
            "30s",
            [1, 3, 7, 9, 11],
            [201, 0, 187, 240, 201],
            {"not_a_play": 4, "podcast_or_audiobook": 2, "missing_artist": 1, "unparsable_time": 1},
        ),
        (
            "listenbrainz",
            [1, 3, 4, 9, 11, 12],
            [201, 0, 20, 240, 201, 0],
            {
                "not_a_play": 2,
                "incognito": 1,
                "podcast_or_audiobook": 2,
                "missing_artist": 1,
                "unparsable_time": 1,
            },
        ),
    ],
)
def test_extended_history_play_rules(rule, accepted_positions, durations, skipped):
    export, records = read_all(EXTENDED, settings(spotify_play_rule=rule))
    assert export.format == "spotify_extended"
    plays = accepted(records)
    assert [play.position for play in plays] == [f"record {n}" for n in accepted_positions]
    # Only a play that ended with trackdone tells the track's length.
    assert [play.duration_s for play in plays] == durations
    assert export.stats.skipped == skipped
    assert export.stats.records == 13


def test_extended_history_fields_follow_koito():
    _, records = read_all(EXTENDED)
    found = by_position(records)
    assert found["record 1"] == Scrobble(
        listened_at=unix("2024-03-02T18:04:11"),  # ts as it is: the end of the stream
        artist="Example Band",
        track="Tide",
        album="Shoreline",
        duration_s=201,
        client="spotify",
        position="record 1",
        played_s=201,  # how long the play lasted: with ts, where it started
    )
    creme = found["record 9"]
    assert (creme.artist, creme.track, creme.album, creme.artist_names) == (
        "Beyoncé & Friends",
        "Crème Brûlée (feat. Guest Singer)",  # feat. parsing is the catalog's job
        "Déjà Vu",
        (),
    )
    assert found["record 5"] == Skipped(SkipReason.PODCAST_OR_AUDIOBOOK, "record 5")
    assert found["record 6"] == Skipped(SkipReason.PODCAST_OR_AUDIOBOOK, "record 6")
    assert found["record 8"] == Skipped(SkipReason.MISSING_ARTIST, "record 8")
    assert found["record 10"].reason is SkipReason.UNPARSABLE_TIME
    assert "yesterday" in found["record 10"].detail
    assert "fwdbtn" in found["record 2"].detail


def test_incognito_plays_are_imported_like_koito_except_under_the_listenbrainz_rule():
    _, koito_rule = read_all(EXTENDED, settings(spotify_play_rule="trackdone"))
    assert by_position(koito_rule)["record 7"].track == "Secret Song"
    _, lb_rule = read_all(EXTENDED, settings(spotify_play_rule="listenbrainz"))
    assert by_position(lb_rule)["record 7"] == Skipped(SkipReason.INCOGNITO, "record 7")


def test_older_endsong_files():
    export, records = read_all(FIXTURES / "endsong_0.json")
    assert export.format == "spotify_extended"
    assert records[0].listened_at == unix("2019-07-14T08:15:42")
    assert (records[0].track, records[0].duration_s) == ("Old Favourite", 214)
    assert records[1].reason is SkipReason.NOT_A_PLAY


@pytest.mark.parametrize("rule", ["trackdone", "30s", "listenbrainz"])
def test_account_data_counts_thirty_seconds_whatever_the_rule(rule):
    export, records = read_all(ACCOUNT, settings(spotify_play_rule=rule))
    assert export.format == "spotify_account"
    found = by_position(records)
    assert found["record 1"] == Scrobble(
        listened_at=unix("2025-01-05T21:14:00"),  # UTC, minute precision
        artist="Example Band",
        track="Tide",
        client="spotify",
        position="record 1",
        played_s=201,  # msPlayed: durations stay unknown, but the play's own length is known
    )
    assert found["record 2"].reason is SkipReason.NOT_A_PLAY
    assert found["record 3"] == Skipped(SkipReason.MISSING_ARTIST, "record 3")
    assert (found["record 4"].artist, found["record 4"].track) == ("Sigur Rós", "Hoppípolla")
    assert found["record 5"].reason is SkipReason.UNPARSABLE_TIME


def test_account_data_older_name_and_podcast_file():
    export, records = read_all(FIXTURES / "StreamingHistory0.json")
    assert (export.format, len(accepted(records))) == ("spotify_account", 2)
    export, records = read_all(FIXTURES / "StreamingHistory_podcast_0.json")
    assert export.format == "spotify_account"
    assert records == [Skipped(SkipReason.PODCAST_OR_AUDIOBOOK, "record 1")]


# --- my_spotify_data.zip, as Spotify sends it ---------------------------------------------------

EXTENDED_FOLDER = "Spotify Extended Streaming History"


def spotify_zip(folder, members: dict[str, bytes], name: str = "my_spotify_data.zip"):
    path = folder / name
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    return path


def test_extended_history_zip_reads_audio_members_in_name_order_and_ignores_the_rest(tmp_path):
    audio = EXTENDED.read_bytes()
    path = spotify_zip(
        tmp_path,
        {
            f"{EXTENDED_FOLDER}/ReadMeFirst_ExtendedStreamingHistory.pdf": b"%PDF-1.4",
            f"{EXTENDED_FOLDER}/Streaming_History_Audio_2023-2024_10.json": audio,
            f"{EXTENDED_FOLDER}/Streaming_History_Audio_2023-2024_2.json": (
                FIXTURES / "endsong_0.json"
            ).read_bytes(),
            f"{EXTENDED_FOLDER}/Streaming_History_Video_2023-2024.json": (
                b'[{"ts": "2024-01-01T00:00:00Z"}]'
            ),
        },
    )
    export, records = read_all(path)
    assert export.format == "spotify_zip" and export.notes == []
    # _2 before _10 (natural order); each record as its file alone gives it, named by member.
    expected = [
        (
            f"{EXTENDED_FOLDER}/Streaming_History_Audio_2023-2024_{number}.json {r.position}",
            r._replace(position=""),
        )
        for number, single in ((2, FIXTURES / "endsong_0.json"), (10, EXTENDED))
        for r in read_all(single)[1]
    ]
    assert [(r.position, r._replace(position="")) for r in records] == expected
    assert export.stats.accepted == len(accepted(records)) > 0


def test_account_data_zip_reads_music_history_not_podcasts(tmp_path):
    path = spotify_zip(
        tmp_path,
        {
            "Spotify Account Data/Userdata.json": b'{"username": "example"}',
            "Spotify Account Data/StreamingHistory_podcast_0.json": (
                FIXTURES / "StreamingHistory_podcast_0.json"
            ).read_bytes(),
            "Spotify Account Data/StreamingHistory_music_0.json": ACCOUNT.read_bytes(),
        },
    )
    export, records = read_all(path)
    assert export.format == "spotify_zip"
    single = read_all(ACCOUNT)[1]
    assert [r._replace(position="") for r in records] == [r._replace(position="") for r in single]
    assert records[0].position == "Spotify Account Data/StreamingHistory_music_0.json record 1"


def test_zip_with_both_histories_reads_only_the_extended_one_and_says_so(tmp_path):
    path = spotify_zip(
        tmp_path,
        {
            "Spotify Account Data/StreamingHistory_music_0.json": ACCOUNT.read_bytes(),
            f"{EXTENDED_FOLDER}/Streaming_History_Audio_2023-2024_0.json": EXTENDED.read_bytes(),
        },
    )
    export, records = read_all(path)
    assert len(records) == len(read_all(EXTENDED)[1])
    assert all(r.position.startswith(EXTENDED_FOLDER) for r in records)
    assert len(export.notes) == 1 and "StreamingHistory_music_0.json" in export.notes[0]


def test_a_corrupt_member_fails_the_file_naming_member_and_byte(tmp_path):
    member = f"{EXTENDED_FOLDER}/Streaming_History_Audio_2024_0.json"
    path = spotify_zip(tmp_path, {member: EXTENDED.read_bytes()[:-40]})
    export = open_export(path, settings())
    with pytest.raises(ExportError) as failure:
        list(export)
    assert failure.value.path == path
    assert failure.value.where.startswith(member + " byte ")
    assert "truncated JSON" in failure.value.message


def test_a_damaged_member_fails_the_file(tmp_path):
    member = f"{EXTENDED_FOLDER}/Streaming_History_Audio_2024_0.json"
    path = spotify_zip(tmp_path, {member: EXTENDED.read_bytes() * 20})
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0xFF  # inside the compressed member
    path.write_bytes(bytes(data))
    with pytest.raises(ExportError) as failure:
        list(open_export(path, settings()))
    assert member in str(failure.value)
