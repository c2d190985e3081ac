"""Spotify extended and account-data histories: play rules, podcasts, incognito, durations."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from koito_assets.sources import Scrobble, Skipped, SkipReason

from .helpers import FIXTURES, accepted, by_position, read_all, settings

EXTENDED = FIXTURES / "Streaming_History_Audio_2023-2024_0.json"
ACCOUNT = FIXTURES / "StreamingHistory_music_0.json"


def unix(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp())


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
