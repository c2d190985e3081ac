"""Zip safety: declared and actual sizes, member counts, damaged archives, names never paths."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from koito_assets.sources import ExportError, open_export
from koito_assets.sources.zipsafe import ZipLimits, open_zip

from .helpers import read_all, settings, zip_listenbrainz

LISTEN = json.dumps(
    {"listened_at": 1709402230, "track_metadata": {"artist_name": "A", "track_name": "T"}}
)
LINE = (LISTEN + "\n").encode()


def make_zip(
    path: Path, members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED
) -> Path:
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        archive.writestr("user.json", b'{"user_id": 1, "username": "example"}')
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_compression_ratio_of_a_bomb_is_refused_before_reading(tmp_path):
    path = make_zip(tmp_path / "listenbrainz_bomb.zip", {"listens/2024/1.jsonl": b"\n" * (8 << 20)})
    export = open_export(path, settings())  # the names alone are fine
    with pytest.raises(ExportError, match="listens/2024/1.jsonl: compresses 8388608 bytes into"):
        list(export)


def test_declared_member_and_total_sizes(tmp_path):
    path = make_zip(
        tmp_path / "export.zip",
        {"listens/2024/1.jsonl": LINE * 20, "listens/2024/2.jsonl": LINE * 20},
    )
    with open_zip(path, ZipLimits(max_member_bytes=1000)) as archive:
        with pytest.raises(
            ExportError, match="listens/2024/1.jsonl: declares .* bytes, over the limit"
        ):
            archive.check_sizes(archive.members)
    with open_zip(path, ZipLimits(max_total_bytes=3000)) as archive:
        with pytest.raises(ExportError, match="members declare .* bytes, over the limit"):
            archive.check_sizes(archive.members)


def test_bytes_actually_read_are_counted_against_the_limits(tmp_path):
    path = make_zip(tmp_path / "export.zip", {"listens/2024/1.jsonl": LINE * 20})
    with open_zip(path, ZipLimits(max_total_bytes=500)) as archive:
        info = archive.members[1]
        # declares 1740 bytes: more than the archive may give
        with pytest.raises(ExportError, match="archive decompresses past the limit"):
            b"".join(archive.chunks(info))
        with pytest.raises(ExportError, match="decompresses past its declared size"):
            archive.count_read(info, info.file_size + 1, 1)


def test_too_many_members_refused_from_the_end_record(tmp_path):
    path = make_zip(
        tmp_path / "export.zip", {f"listens/2024/{month}.jsonl": b"" for month in range(1, 7)}
    )
    with pytest.raises(ExportError, match="the zip directory declares 7 entries"):
        with open_zip(path, ZipLimits(max_members=5)):
            pass


def test_too_many_members_refused_even_when_the_end_record_lies(tmp_path):
    path = make_zip(
        tmp_path / "export.zip", {f"listens/2024/{month}.jsonl": b"" for month in range(1, 7)}
    )
    data = bytearray(path.read_bytes())
    end_record = data.rfind(b"PK\x05\x06")
    data[end_record + 8 : end_record + 12] = (1).to_bytes(2, "little") * 2  # "1 entry"
    path.write_bytes(bytes(data))
    with pytest.raises(ExportError, match="more than 5 zip members"):
        with open_zip(path, ZipLimits(max_members=5)):
            pass


def test_truncated_archive_is_a_container_error(tmp_path):
    whole = zip_listenbrainz(tmp_path).read_bytes()
    path = tmp_path / "listenbrainz_cut.zip"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ExportError, match="^listenbrainz_cut.zip: not a readable zip archive"):
        open_export(path, settings())


def test_damaged_member_data_names_the_member_and_line(tmp_path):
    path = make_zip(
        tmp_path / "listenbrainz_damaged.zip",
        {"listens/2024/1.jsonl": LINE * 2000},
        compression=zipfile.ZIP_STORED,
    )
    data = bytearray(path.read_bytes())
    middle = data.find(b"listened_at", len(data) // 2)
    data[middle : middle + 11] = b"LISTENED_AT"  # same size, wrong CRC
    path.write_bytes(bytes(data))
    where = r"^listenbrainz_damaged.zip: listens/2024/1.jsonl line \d+: damaged member"
    with pytest.raises(ExportError, match=where):
        read_all(path)


def test_encrypted_member_is_a_container_error(tmp_path):
    path = make_zip(tmp_path / "listenbrainz_locked.zip", {"listens/2024/1.jsonl": LINE})
    data = bytearray(path.read_bytes())
    for header, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # local, central
        at = data.find(header)
        while at >= 0:
            data[at + flag_offset] |= 1  # general-purpose flag bit 0: "encrypted"
            at = data.find(header, at + 4)
    path.write_bytes(bytes(data))
    with pytest.raises(ExportError, match="listenbrainz_locked.zip"):
        read_all(path)


def test_member_names_are_never_paths(tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    path = make_zip(tmp_path / "listenbrainz_evil.zip", {"listens/../../escaped.jsonl": LINE})
    _, records = read_all(path)
    assert [record.position for record in records] == ["listens/../../escaped.jsonl line 1"]
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["listenbrainz_evil.zip", "work"]
