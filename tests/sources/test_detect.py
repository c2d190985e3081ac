"""Detection: content first, Koito's file-name rules to compare with and to fall back on."""

from __future__ import annotations

import zipfile

import pytest

from koito_assets.sources import FORMATS, ExportError, open_export

from .helpers import copy_fixture, read_all, settings, zip_listenbrainz

FIXTURE_FORMATS = {
    "maloja_export_2024_03_02_18_00_00.json": "maloja",
    "maloja_api_scrobbles.json": "maloja",
    "Streaming_History_Audio_2023-2024_0.json": "spotify_extended",
    "endsong_0.json": "spotify_extended",
    "StreamingHistory_music_0.json": "spotify_account",
    "StreamingHistory0.json": "spotify_account",
    "recenttracks-example-1709402230.json": "lastfm_json",
    "recenttracks-example-1709402230.csv": "lastfm_csv",
    "lastfm-to-csv-example.csv": "lastfm_to_csv",
    "example_lb-2024-03-02.json": "listenbrainz_json",
    "koito_export_2025-06-18.json": "koito",
}


@pytest.mark.parametrize(("name", "expected"), FIXTURE_FORMATS.items())
def test_every_fixture_by_its_usual_name(tmp_path, name, expected):
    export = open_export(copy_fixture(name, tmp_path), settings())
    assert (export.format, export.notes) == (expected, [])


@pytest.mark.parametrize(("name", "expected"), FIXTURE_FORMATS.items())
def test_every_fixture_by_content_alone(tmp_path, name, expected):
    suffix = name.rsplit(".", 1)[1]
    export = open_export(copy_fixture(name, tmp_path, as_name=f"download.{suffix}"), settings())
    assert (export.format, export.notes) == (expected, [])


def test_listenbrainz_zip_by_name_and_by_content(tmp_path):
    assert open_export(zip_listenbrainz(tmp_path), settings()).format == "listenbrainz_zip"
    renamed = zip_listenbrainz(tmp_path, name="export.zip")
    assert open_export(renamed, settings()).format == "listenbrainz_zip"


def test_content_wins_over_the_name_and_the_report_says_so(tmp_path):
    path = copy_fixture(
        "Streaming_History_Audio_2023-2024_0.json", tmp_path, "maloja_export_2024.json"
    )
    export = open_export(path, settings())
    assert export.format == "spotify_extended"
    assert len(export.notes) == 1
    assert "'maloja'" in export.notes[0] and "spotify_extended" in export.notes[0]


def test_a_csv_named_like_koitos_lastfm_json_is_the_same_family_without_a_note(tmp_path):
    export = open_export(copy_fixture("recenttracks-example-1709402230.csv", tmp_path), settings())
    assert (export.format, export.notes) == ("lastfm_csv", [])


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("endsong_3.json", "[]", "spotify_extended"),
        ("Streaming_History_Audio_2024_1.json", " [ ] ", "spotify_extended"),
        ("StreamingHistory_music_9.json", "[]", "spotify_account"),
        ("recenttracks-example-1.json", "[]", "lastfm_json"),
        ("example_lb-2024-01-01.json", "[]", "listenbrainz_json"),
        ("maloja_export_2024.json", "{}", "maloja"),
    ],
)
def test_files_without_records_take_the_format_from_the_name_with_a_note(
    tmp_path, name, content, expected
):
    path = tmp_path / name
    path.write_text(content)
    export, records = read_all(path)
    assert (export.format, records) == (expected, [])
    assert export.notes == [f"no records to tell the format by: {expected} from the file name"]


@pytest.mark.parametrize(
    ("name", "content", "what"),
    [
        ("scrobbles.json", b"[]", "an empty JSON array"),
        ("maloja_export.json", b"[]", "an empty JSON array"),  # Maloja is an object, never an array
        ("data.json", b'{"foo": 1}', "a JSON object with keys ['foo']"),
        ("data.json", b"[1, 2, 3]", "a JSON array of int values"),
        ("data.json", b'[{"a": 1}]', "a JSON array of objects with keys ['a']"),
        (
            "scrobbles.json",  # neither Maloja's scrobbles nor lastfmstats.com's
            b'{"username": "x", "scrobbles": [{"song": "T", "when": 1}]}',
            "'scrobbles' list holds",
        ),
        ("notes.txt", b"hello, world\n", "neither JSON, a zip nor a CSV we know"),
        (
            "cover.png",
            b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,
            "neither JSON, a zip nor a CSV we know",
        ),
        ("utf16.json", '[{"ts": 1}]'.encode("utf-16"), "neither JSON, a zip nor a CSV we know"),
    ],
)
def test_unknown_files_get_an_error_naming_the_formats_we_read(tmp_path, name, content, what):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ExportError) as caught:
        open_export(path, settings())
    message = str(caught.value)
    assert message.startswith(f"{name}: ")
    assert what in message
    assert all(f"[{format_name}]" in message for format_name in FORMATS)
    assert "\n" not in message


def test_zip_without_a_history_we_read(tmp_path):
    path = tmp_path / "my_spotify_data.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("Spotify Account Data/Userdata.json", "{}")
        archive.writestr("Spotify Account Data/Playlist1.json", '{"playlists": []}')
        archive.writestr(
            "Spotify Extended Streaming History/Streaming_History_Video_2024.json", "[]"
        )
    with pytest.raises(
        ExportError,
        match="a zip archive without ListenBrainz listens or a Spotify streaming history",
    ):
        open_export(path, settings())


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.json", None, "missing.json: cannot open: No such file or directory"),
        ("empty.json", b"", "empty.json: empty file"),
        ("blank.csv", b"\n  \n", "blank.csv: empty file"),
    ],
)
def test_missing_and_empty_files(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ExportError, match=message):
        open_export(path, settings())


def test_a_directory_is_not_an_export(tmp_path):
    with pytest.raises(ExportError, match="not a regular file but a directory"):
        open_export(tmp_path, settings())


def test_byte_order_mark_before_json(tmp_path):
    path = tmp_path / "StreamingHistory_music_0.json"
    play = b'{"endTime":"2025-01-05 21:14","artistName":"A","trackName":"T","msPlayed":200000}'
    path.write_bytes(b"\xef\xbb\xbf[" + play + b"]")
    export, records = read_all(path)
    assert (export.format, records[0].track) == ("spotify_account", "T")
