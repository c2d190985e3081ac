"""``koito-import parse``: a dry run printing what a file holds (exit 0), or one line (exit 2)."""

from __future__ import annotations

import json
import os

import pytest

from koito_assets.cli import main
from koito_assets.sources import SkipReason

from .helpers import FIXTURES, copy_fixture


@pytest.fixture(autouse=True)
def fresh_settings(monkeypatch):
    """Settings come from this test's environment, without KOITO_* variables of the machine."""
    for name in [name for name in os.environ if name.startswith("KOITO_")]:
        monkeypatch.delenv(name)


def test_json_report_has_exactly_the_agreed_keys(capsys):
    assert main(["parse", str(FIXTURES / "maloja_export_2024_03_02_18_00_00.json"), "--json"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    report = json.loads(out)
    assert list(report) == [
        "format",
        "records",
        "accepted",
        "skipped",
        "first_listened_at",
        "last_listened_at",
    ]
    assert report["format"] == "maloja"
    assert (report["records"], report["accepted"]) == (11, 6)
    assert report["skipped"] == {
        **{reason.value: 0 for reason in SkipReason},
        "missing_artist": 2,
        "missing_title": 1,
        "unparsable_time": 1,
        "malformed_record": 1,
    }
    assert report["first_listened_at"] == "2024-03-02T17:57:10Z"
    assert report["last_listened_at"] == "2024-03-02T18:16:40Z"


def test_text_report(capsys):
    assert main(["parse", str(FIXTURES / "Streaming_History_Audio_2023-2024_0.json")]) == 0
    out, _ = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0] == "Streaming_History_Audio_2023-2024_0.json: spotify_extended"
    assert any(line.split() == ["records", "13"] for line in lines)
    assert any(line.split() == ["accepted", "5"] for line in lines)
    assert any(line.split() == ["podcast_or_audiobook", "2"] for line in lines)
    assert not any("incognito" in line for line in lines)  # zero counts are left out
    assert "  first listen  2024-03-02T18:04:11Z" in lines


def test_time_window_from_the_environment(capsys, monkeypatch):
    monkeypatch.setenv("KOITO_IMPORT_AFTER_UNIX", "1709402500")
    assert main(["parse", str(FIXTURES / "maloja_export_2024_03_02_18_00_00.json"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["skipped"]["outside_time_window"] == 2
    assert report["first_listened_at"] == "2024-03-02T18:01:40Z"  # 1709402500, on the bound


def test_notes_go_to_stderr_with_json_and_into_the_text_report(tmp_path, capsys):
    path = copy_fixture("StreamingHistory_music_0.json", tmp_path, "maloja_export_2025.json")
    assert main(["parse", str(path), "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["format"] == "spotify_account"
    assert err.startswith(
        "koito-import: maloja_export_2025.json: note: the file name contains 'maloja'"
    )
    assert main(["parse", str(path)]) == 0
    assert "  note: the file name contains 'maloja'" in capsys.readouterr().out


def test_file_without_records_has_null_times(tmp_path, capsys):
    path = tmp_path / "endsong_9.json"
    path.write_text("[]")
    assert main(["parse", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["records"], report["first_listened_at"], report["last_listened_at"]) == (
        0,
        None,
        None,
    )


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (  # 54 bytes, cut inside the second play
            "Streaming_History_Audio_2024.json",
            b'[{"ts": "2024-03-02T18:04:11Z", "ms_played": 1}, {"ts"',
            "byte 54: truncated JSON",
        ),
        ("notes.txt", b"just some text\n", "not an export we read (we read: "),
        ("missing.json", None, "cannot open: No such file or directory"),
        ("listenbrainz_x.zip", b"PK\x03\x04 broken", "not a readable zip archive"),
    ],
)
def test_unreadable_files_exit_2_with_one_line(tmp_path, capsys, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    for extra in ([], ["--json"]):
        assert main(["parse", str(path), *extra]) == 2
        out, err = capsys.readouterr()
        assert out == ""
        assert err.count("\n") == 1 and err.startswith(f"koito-import: {name}: ")
        assert message in err
        assert "Traceback" not in err
