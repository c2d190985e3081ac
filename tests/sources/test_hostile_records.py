"""Records built to hurt: names Koito cannot index, unbounded text, impossible times, deep
nesting, and the odd shapes whose messages must name the real problem."""

from __future__ import annotations

import json
import os
import random
import string
import sys
import zipfile
from pathlib import Path

import pytest

from koito_assets.sources import ExportError, Scrobble, Skipped, SkipReason, open_export
from koito_assets.sources.context import FUTURE_ALLOWANCE_S, ExportStats, ReadContext
from koito_assets.sources.fields import MAX_NAME_BYTES, MAX_TEXT_CHARS, name_too_long, shown

from .helpers import accepted, by_position, read_all, settings

NOW = 1_750_000_000


def maloja(tmp_path, scrobbles: list[dict], name: str = "maloja_export_x.json"):
    path = tmp_path / name
    path.write_text(json.dumps({"scrobbles": scrobbles}))
    return path


def play(time: object = 1709402230, artists: list = ("A",), title: str = "T", **track) -> dict:
    return {"time": time, "track": {"artists": list(artists), "title": title, **track}}


def listenbrainz_zip(tmp_path, lines: list[str], name: str = "listenbrainz_x.zip"):
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("listens/2024/3.jsonl", "".join(line + "\n" for line in lines))
    return path


def lb_listen(listened_at: object = 1709402230, **metadata) -> str:
    meta = {"artist_name": "A", "track_name": "T", **metadata}
    return json.dumps({"listened_at": listened_at, "track_metadata": meta})


# --- names Koito's alias keys cannot index -----------------------------------------------------


def test_the_name_limit_counts_utf8_bytes_not_characters():
    assert not name_too_long("a" * MAX_NAME_BYTES)
    assert name_too_long("a" * (MAX_NAME_BYTES + 1))
    assert not name_too_long("é" * (MAX_NAME_BYTES // 2))  # two bytes each
    assert name_too_long("漢" * (MAX_NAME_BYTES // 3 + 1))  # three bytes each


def test_a_name_too_long_skips_the_record_not_the_file(tmp_path):
    long = "x" * 3000
    path = maloja(
        tmp_path,
        [
            play(artists=[long]),
            play(title=long),
            play(album={"albumtitle": long}),
            play(artists=["A", long]),  # a second artist string, checked where it is split
            play(artists=["Fine"]),
        ],
    )
    export, records = read_all(path)
    reasons = [r.reason if isinstance(r, Skipped) else "ok" for r in records]
    assert reasons == [SkipReason.NAME_TOO_LONG] * 4 + ["ok"]
    assert "3,000 bytes" in records[0].detail and f"{MAX_NAME_BYTES:,}" in records[0].detail
    assert export.stats.skipped == {"name_too_long": 4}


def test_listenbrainz_artist_lists_and_credits_are_checked_too(tmp_path):
    long = "ü" * 1500  # 3,000 bytes
    credit = {"artist_credit_name": long, "artist_mbid": "8f6bd1e4-fbe1-4f50-aa9b-94c450ec0f11"}
    path = listenbrainz_zip(
        tmp_path,
        [
            lb_listen(additional_info={"artist_names": ["A", long]}),
            lb_listen(mbid_mapping={"artists": [credit]}),
            lb_listen(),
        ],
    )
    _, records = read_all(path)
    assert [getattr(r, "reason", None) for r in records] == [
        SkipReason.NAME_TOO_LONG,
        SkipReason.NAME_TOO_LONG,
        None,
    ]


def test_koito_export_primary_alias_too_long_skips_another_alias_is_left_out(tmp_path):
    long = "y" * 2500

    def listen(track_aliases):
        return {
            "listened_at": "2024-03-02T18:04:11Z",
            "track": {"aliases": track_aliases},
            "album": {"aliases": [{"alias": "Al", "is_primary": True}]},
            "artists": [{"aliases": [{"alias": "A", "is_primary": True}]}],
        }

    path = tmp_path / "koito_export.json"
    path.write_text(
        json.dumps(
            {
                "version": "1",
                "listens": [
                    listen([{"alias": long, "is_primary": True}]),
                    listen([{"alias": "T", "is_primary": True}, {"alias": long}]),
                ],
            }
        )
    )
    export, records = read_all(path)
    assert records[0].reason is SkipReason.NAME_TOO_LONG
    assert [a.alias for a in records[1].koito.track.aliases] == ["T"]
    assert any("left out" in note for note in export.notes)


def test_a_huge_client_is_cut_with_a_note(tmp_path):
    player = "".join(random.Random(1).choices(string.ascii_letters, k=100_000))  # no zip bomb
    path = listenbrainz_zip(tmp_path, [lb_listen(additional_info={"media_player": player})])
    export, records = read_all(path)
    assert records[0].client == player[:MAX_TEXT_CHARS]
    assert export.notes == [
        f"1 text value(s) longer than {MAX_TEXT_CHARS:,} characters cut to that length "
        "(first: client of 100,000 characters at listens/2024/3.jsonl line 1)"
    ]


def test_a_huge_member_name_is_cut_in_every_position(tmp_path):
    name = "Spotify/Streaming_History_Audio_" + "x" * 60_000 + ".json"
    path = tmp_path / "my_spotify_data.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(name, json.dumps([{"ts": "2024-03-02T18:04:11Z", "ms_played": 1}] * 3))
    _, records = read_all(path)
    assert len(records) == 3 and all(len(r.position) < 200 for r in records)


# --- times -------------------------------------------------------------------------------------


def context(**changes) -> ReadContext:
    return ReadContext(Path("x"), settings(**changes), ExportStats(), now=NOW)


@pytest.mark.parametrize(
    ("listened_at", "reason", "detail"),
    [
        (0, SkipReason.TIME_OUT_OF_RANGE, "not after 1970"),
        (-86_400, SkipReason.TIME_OUT_OF_RANGE, "not after 1970"),
        (NOW + FUTURE_ALLOWANCE_S + 1, SkipReason.TIME_OUT_OF_RANGE, "in the future"),
        (253402300799, SkipReason.TIME_OUT_OF_RANGE, "more than a day in the future"),
        (1709402230000, SkipReason.TIME_OUT_OF_RANGE, "milliseconds?"),
    ],
)
def test_implausible_times_are_out_of_range(listened_at, reason, detail):
    ctx = context()
    assert not ctx.after <= listened_at <= ctx.before
    skipped = ctx.outside(listened_at, "record 1")
    assert skipped.reason is reason and detail in skipped.detail


def test_a_day_ahead_is_still_a_play_and_the_window_is_its_own_reason():
    ctx = context(import_after_unix=1709402231)
    assert ctx.after <= NOW + FUTURE_ALLOWANCE_S <= ctx.before
    assert ctx.outside(1709402230, "record 1").reason is SkipReason.OUTSIDE_TIME_WINDOW


def test_times_in_every_format_reader(tmp_path):
    huge = "9" * 5000
    path = tmp_path / "maloja_export_times.json"
    path.write_text(
        '{"scrobbles": ['
        + ",".join(json.dumps(play(time=t)) for t in (0, 253402300799, 1709402230000, 1709402230))
        + f', {{"time": {huge}, "track": {{"artists": ["A"], "title": "T"}}}}]}}'
    )
    export, records = read_all(path)
    assert [getattr(r, "reason", "ok") for r in records] == [
        SkipReason.TIME_OUT_OF_RANGE,
        SkipReason.TIME_OUT_OF_RANGE,
        SkipReason.TIME_OUT_OF_RANGE,
        "ok",
        SkipReason.UNPARSABLE_TIME,
    ]
    assert records[4].detail == "time a number of 5000 digits"
    assert any("look like milliseconds" in note for note in export.notes)


def test_a_five_thousand_digit_time_is_unparsable_in_a_listenbrainz_line(tmp_path):
    path = listenbrainz_zip(tmp_path, ['{"listened_at": ' + "1" * 5000 + ', "track_metadata": {}}'])
    _, records = read_all(path)
    assert records[0].reason is SkipReason.UNPARSABLE_TIME


def test_lastfmstats_dates_in_seconds_are_said_so(tmp_path):
    path = tmp_path / "lastfmstats-user.json"
    scrobble = {"track": "T", "artist": "A", "album": "", "date": 1709402230}
    path.write_text(
        json.dumps({"username": "u", "scrobbles": [scrobble, {**scrobble, "date": 1709402230000}]})
    )
    export, records = read_all(path)
    assert records[0].reason is SkipReason.TIME_OUT_OF_RANGE
    assert isinstance(records[1], Scrobble) and records[1].listened_at == 1709402230
    assert export.notes == [
        "1 time(s) look like seconds where this format writes milliseconds "
        "(first: 1709402230 at record 1): skipped as time_out_of_range"
    ]


def test_shown_never_spells_out_a_huge_number():
    assert shown(10**5000) == "an integer of about 5001 digits"
    assert len(shown("x" * 10_000_000)) <= 60


# --- nesting: one limit, wherever the reader is called from ------------------------------------


def deep_in_the_stack(levels: int, function):
    """``function()`` called ``levels`` frames deeper than here (a Dagster run's stack)."""
    if levels == 0:
        return function()
    return deep_in_the_stack(levels - 1, function)


def outcome(path):
    try:
        export, records = read_all(path)
    except ExportError as exc:
        return "error", exc.message
    return "read", [getattr(r, "reason", "ok") for r in records]


@pytest.mark.parametrize("depth", [150, 201, 975, 5000])
def test_nesting_in_an_ignored_key_gets_one_answer_at_any_stack_depth(tmp_path, depth):
    path = tmp_path / "maloja_export_deep.json"
    path.write_text(
        '{"deep": ' + "[" * depth + "]" * depth + ', "scrobbles": ' + json.dumps([play()]) + "}"
    )
    shallow = outcome(path)
    deep = deep_in_the_stack(sys.getrecursionlimit() - 150, lambda: outcome(path))
    assert shallow == deep
    assert shallow[0] == ("read" if depth <= 201 else "error")


@pytest.mark.parametrize("depth", [150, 500, 975, 5000])
def test_nesting_in_a_listenbrainz_line_gets_one_answer_at_any_stack_depth(tmp_path, depth):
    line = lb_listen()[:-1] + ', "deep": ' + "[" * depth + "]" * depth + "}"
    path = listenbrainz_zip(tmp_path, [line, lb_listen()])
    shallow = outcome(path)
    assert shallow == deep_in_the_stack(sys.getrecursionlimit() - 150, lambda: outcome(path))


# --- messages that name the real problem --------------------------------------------------------


def test_whitespace_before_json_is_just_whitespace(tmp_path):
    path = tmp_path / "maloja_export_spaced.json"
    path.write_text(" \n" * 40_000 + json.dumps({"scrobbles": [play()]}))
    export, records = read_all(path)
    assert (export.format, len(accepted(records))) == ("maloja", 1)
    blank = tmp_path / "blank.json"
    blank.write_text(" " * 100_000)
    with pytest.raises(ExportError, match="empty file"):
        open_export(blank, settings())


def test_a_latin1_byte_in_a_csv_names_its_line(tmp_path):
    path = tmp_path / "recenttracks-user.csv"
    row = b'1709402230,"02 Mar 2024, 17:57",Band,,Album,,Track,\n'
    path.write_bytes(
        b"uts,utc_time,artist,artist_mbid,album,album_mbid,track,track_mbid\n"
        + row * 3
        + row.replace(b"Band", b"Caf\xe9")
        + row * 5000
    )
    export = open_export(path, settings())
    assert export.format == "lastfm_csv"
    with pytest.raises(ExportError, match=r"line 5, byte \d+: not UTF-8 text: byte 0xe9"):
        list(export)


def test_an_unterminated_quote_fails_the_file_at_its_line(tmp_path):
    path = tmp_path / "recenttracks-user.csv"
    good = '1709402230,"02 Mar 2024, 17:57",Band,,Album,,Track,\n'
    path.write_text(good * 2 + '1709402231,"02 Mar 2024, 17:57,Band,,Album,,Track,\n' + good * 3)
    with pytest.raises(ExportError, match="line 3: a quoted field opens here .* unterminated"):
        read_all(path)
    path.write_text(good + '1709402231,"02 Mar 2024, 17:57,Band,,Album,,Track,\n')
    with pytest.raises(ExportError, match="line 2: a quoted field opens here and never closes"):
        read_all(path)


@pytest.mark.parametrize(
    ("version", "message"),
    [
        ("1", None),
        (1, '"version" is the number 1, not the text "1" a Koito export writes'),
        ("2", "Koito export version '2'; we read version 1"),
        (None, '"version" is None, not the text "1"'),
    ],
)
def test_koito_version_messages_say_what_is_wrong(tmp_path, version, message):
    path = tmp_path / "koito_export.json"
    path.write_text(json.dumps({"version": version, "exported_at": "x", "listens": []}))
    if message is None:
        read_all(path)
    else:
        with pytest.raises(ExportError, match=message.replace("(", r"\(")):
            read_all(path)


@pytest.mark.parametrize("kind", ["fifo", "directory", "device"])
def test_files_that_are_not_regular_are_refused_at_once(tmp_path, kind):
    if kind == "fifo":
        path = tmp_path / "maloja_export.json"
        os.mkfifo(path)  # opening it to read would wait for a writer forever
        expected = "not a regular file but a pipe"
    elif kind == "directory":
        path = tmp_path / "folder.json"
        path.mkdir()
        expected = "not a regular file but a directory"
    else:
        path, expected = Path("/dev/zero"), "not a regular file but a device"
    with pytest.raises(ExportError, match=expected):
        open_export(path, settings())


def test_positions_of_a_normal_file_are_unchanged(tmp_path):
    path = maloja(tmp_path, [play(), play(time=1709402231)])
    _, records = read_all(path)
    assert list(by_position(records)) == ["record 1", "record 2"]
