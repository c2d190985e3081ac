"""ListenBrainz exports: the zip of monthly JSONL files and the old JSON array.

Koito's rules and the files: docs/koito-reference.md §3.5.
"""

from __future__ import annotations

import json
import zipfile

from koito_assets.sources import Scrobble, Skipped, SkipReason, listenbrainz

from .helpers import (
    FIXTURES,
    LISTENBRAINZ_EXPORT,
    accepted,
    by_position,
    read_all,
    zip_listenbrainz,
)

CARLY = "d1f6e2b3-3b6a-4b5e-8a3c-3a9b7f0c2e01"
AFTER = {"artist_name": "Example Band", "track_name": "After"}
RUFUS = "e2a7f3c4-4c7b-4c6f-9b4d-4b0c8a1d3f02"


def test_zip_listens_with_koito_fields(tmp_path):
    export, records = read_all(zip_listenbrainz(tmp_path))
    assert export.format == "listenbrainz_zip"
    found = by_position(records)
    assert found["listens/2024/2.jsonl line 1"] == Scrobble(
        listened_at=1709200000,
        artist="Carly Rae Jepsen feat. Rufus Wainwright",
        track="Pink or Purple",
        album="Emotion Side B",
        artist_names=("Carly Rae Jepsen", "Rufus Wainwright"),
        artist_mbids=(CARLY,),  # additional_info wins; invalid and nil entries are absent
        artist_mbid_mappings=(("Carly Rae Jepsen", CARLY), ("Rufus Wainwright", RUFUS)),
        recording_mbid="a1b2c3d4-e5f6-4a1b-8c2d-3e4f5a6b7c01",
        release_mbid="b2c3d4e5-f6a1-4b2c-9d3e-4f5a6b7c8d01",  # lower-cased
        release_group_mbid="c3d4e5f6-a1b2-4c3d-8e4f-5a6b7c8d9e01",
        duration_s=201,  # duration 0, so duration_ms // 1000
        client="Spotify",  # media_player before submission_client
        position="listens/2024/2.jsonl line 1",
    )
    pano = found["listens/2024/2.jsonl line 4"]  # line 3 is blank
    assert (pano.client, pano.duration_s, pano.album) == ("Pano Scrobbler", 268, "")


def test_zip_mapping_artist_mbids_fallback_works(tmp_path):
    """Koito computes this fallback and discards it; ours is used.

    docs/koito-reference.md §10 T10.
    """
    _, records = read_all(zip_listenbrainz(tmp_path))
    listen = by_position(records)["listens/2024/2.jsonl line 2"]
    assert listen.artist_mbids == (
        "a5b6c7d8-e9f0-4a1b-8c2d-3e4f5a6b7c03",
        "b6c7d8e9-f0a1-4b2c-9d3e-4f5a6b7c8d04",
    )
    assert listen.artist_mbid_mappings == (("A", "a5b6c7d8-e9f0-4a1b-8c2d-3e4f5a6b7c03"),)
    assert (listen.recording_mbid, listen.release_mbid) == (
        "f4b5c6d7-e8f9-4a0b-9c1d-2e3f4a5b6c02",
        None,
    )
    assert listen.client == "ListenBrainz lastfm importer v2"


def test_zip_bad_lines_are_skipped_and_the_month_goes_on(tmp_path):
    export, records = read_all(zip_listenbrainz(tmp_path))
    found = by_position(records)
    month = "listens/2024/3.jsonl line"
    first = found[f"{month} 1"]
    # A nil additional_info MBID is absent, so the mapping's one is used.
    assert first.recording_mbid == "c7d8e9f0-a1b2-4c3d-8e4f-5a6b7c8d9e05"
    assert found[f"{month} 2"] == Skipped(SkipReason.MISSING_ARTIST, f"{month} 2")
    assert found[f"{month} 3"].reason is SkipReason.UNPARSABLE_TIME  # no listened_at: not 1970
    assert found[f"{month} 4"].reason is SkipReason.MALFORMED_RECORD
    assert found[f"{month} 5"] == Skipped(SkipReason.MISSING_TITLE, f"{month} 5")
    last = found[f"{month} 6"]
    assert (last.artist, last.artist_names) == ("ExampleBand", ("Example Band",))
    assert export.stats.nul_stripped == 1
    assert (export.stats.records, export.stats.accepted) == (9, 5)


def test_zip_lines_of_any_length(tmp_path):
    """Koito's scanner stops at 64 KiB and drops the rest of the month.

    docs/koito-reference.md §10 T10.
    """
    long = {
        "listened_at": 1709500000,
        "track_metadata": {
            "artist_name": "Example Band",
            "track_name": "Long Line",
            "additional_info": {"tags": ["x" * 1024] * 110, "submission_client": "long"},
        },
    }
    after = {"listened_at": 1709500100, "track_metadata": AFTER}
    line = json.dumps(long)
    assert len(line) > 100 * 1024
    member = (line + "\n" + json.dumps(after) + "\n").encode()
    path = zip_listenbrainz(tmp_path, extra_members={"listens/2024/4.jsonl": member})
    _, records = read_all(path)
    found = by_position(records)
    assert found["listens/2024/4.jsonl line 1"].track == "Long Line"
    assert found["listens/2024/4.jsonl line 2"].track == "After"


def test_zip_line_over_the_memory_cap_is_one_malformed_record(tmp_path, monkeypatch):
    monkeypatch.setattr(listenbrainz, "MAX_LINE_BYTES", 1000)
    after = {"listened_at": 1709500100, "track_metadata": AFTER}
    member = ("x" * 5000 + "\n" + json.dumps(after) + "\n").encode()
    path = zip_listenbrainz(tmp_path, extra_members={"listens/2024/4.jsonl": member})
    _, records = read_all(path)
    found = by_position(records)
    assert found["listens/2024/4.jsonl line 1"].reason is SkipReason.MALFORMED_RECORD
    assert found["listens/2024/4.jsonl line 2"].track == "After"


def test_zip_unpacked_and_zipped_again_under_a_folder(tmp_path):
    path = tmp_path / "my-listens.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.write(
            LISTENBRAINZ_EXPORT / "listens/2024/2.jsonl",
            "listenbrainz_example/listens/2024/2.jsonl",
        )
    export, records = read_all(path)
    assert export.format == "listenbrainz_zip"
    assert len(accepted(records)) == 3


def test_old_json_export():
    export, records = read_all(FIXTURES / "example_lb-2024-03-02.json")
    assert export.format == "listenbrainz_json"
    first, second, third = records
    assert (first.artist_mbids, first.release_mbid, first.recording_mbid) == (
        ("a5b6c7d8-e9f0-4a1b-8c2d-3e4f5a6b7c03",),
        "d8e9f0a1-b2c3-4d4e-9f5a-6b7c8d9e0f06",
        "c7d8e9f0-a1b2-4c3d-8e4f-5a6b7c8d9e05",
    )
    assert (second.album, second.client) == ("", "")
    assert third == Skipped(SkipReason.UNPARSABLE_TIME, "record 3", "listened_at '1709402600'")


def test_zip_made_on_a_mac_or_saved_with_a_byte_order_mark(tmp_path):
    """A re-zipped export carries macOS resource forks, and a member a Windows editor saved
    starts with a BOM: neither is a skipped listen."""
    (tmp_path / "plain").mkdir()
    plain = read_all(zip_listenbrainz(tmp_path / "plain"))[1]
    month = (LISTENBRAINZ_EXPORT / "listens/2024/3.jsonl").read_bytes()
    path = zip_listenbrainz(
        tmp_path,
        extra_members={
            "__MACOSX/listens/2024/._3.jsonl": b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        ",
            "listens/2024/._3.jsonl": b"\x00\x05\x16\x07",
            "listens/2025/1.jsonl": b"\xef\xbb\xbf" + month,
        },
    )
    export, records = read_all(path)
    added = [r for r in records if r.position.startswith("listens/2025/1.jsonl")]
    assert [r.position for r in records if "._" in r.position] == []
    assert [r._replace(position="") for r in added] == [
        r._replace(position="") for r in plain if r.position.startswith("listens/2024/3.jsonl")
    ]
    assert len(records) == len(plain) + len(added)
