"""Zip safety: declared and actual sizes, member counts, damaged archives, names never paths."""

from __future__ import annotations

import json
import random
import warnings
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


def declare(
    path: Path, member: str, *, compress_size: int | None = None, file_size: int | None = None
):
    """Make the central directory lie about ``member``'s sizes (the local header is left alone)."""
    data = bytearray(path.read_bytes())
    entry = data.find(b"PK\x01\x02")
    while entry >= 0:
        name_size = int.from_bytes(data[entry + 28 : entry + 30], "little")
        if data[entry + 46 : entry + 46 + name_size] == member.encode():
            if compress_size is not None:
                data[entry + 20 : entry + 24] = compress_size.to_bytes(4, "little")
            if file_size is not None:
                data[entry + 24 : entry + 28] = file_size.to_bytes(4, "little")
            path.write_bytes(bytes(data))
            return
        entry = data.find(b"PK\x01\x02", entry + 4)
    raise AssertionError(f"no central entry for {member}")


def test_bytes_actually_read_are_counted_against_the_limits(tmp_path):
    path = make_zip(tmp_path / "export.zip", {"listens/2024/1.jsonl": LINE * 20})
    with open_zip(path, ZipLimits(max_total_bytes=500)) as archive:
        info = archive.members[1]
        # declares 1740 bytes: more than the archive may give
        with pytest.raises(ExportError, match="the archive inflates past the limit"):
            b"".join(archive.chunks(info))


def test_a_member_inflating_past_its_declared_size_stops(tmp_path):
    path = make_zip(tmp_path / "export.zip", {"listens/2024/1.jsonl": LINE * 20000})
    declare(path, "listens/2024/1.jsonl", file_size=100)
    with open_zip(path) as archive:
        with pytest.raises(ExportError, match="1.jsonl: inflates past its declared size"):
            b"".join(archive.chunks(archive.members[1]))


def test_the_ratio_is_measured_on_real_bytes_not_the_declared_ones(tmp_path):
    # 8 MiB that deflate to ~8 KB, then 200 KB that do not compress: the bomb declares 150 KB
    # of compressed data (the archive holds that much), a harmless 56:1 on paper.
    path = make_zip(
        tmp_path / "export.zip",
        {"listens/2024/1.jsonl": b"\n" * (8 << 20), "padding.bin": random.randbytes(200_000)},
    )
    declare(path, "listens/2024/1.jsonl", compress_size=150_000)
    with open_zip(path) as archive:
        bomb = archive.members[1]
        archive.check_sizes([bomb])  # what it declares passes
        with pytest.raises(ExportError, match="1.jsonl: inflates .* a zip bomb"):
            for _ in archive.chunks(bomb):
                pass
        assert archive.inflated < 2 << 20  # stopped within a couple of chunks


def test_many_small_members_are_held_to_the_ratio_together(tmp_path):
    # Each member alone stays under the per-member allowance; together they are a bomb.
    members = {f"listens/2024/{n}.jsonl": b"\n" * 60_000 for n in range(400)}
    path = make_zip(tmp_path / "listenbrainz_small_bombs.zip", members)
    with open_zip(path) as archive:
        archive.check_sizes(archive.members)
    with pytest.raises(ExportError, match="the archive's .* bytes inflate into more than"):
        read_all(path)


def test_a_member_declaring_more_compressed_bytes_than_the_archive_holds(tmp_path):
    path = make_zip(tmp_path / "listenbrainz_liar.zip", {"listens/2024/1.jsonl": LINE})
    declare(path, "listens/2024/1.jsonl", compress_size=50_000_000)
    with pytest.raises(ExportError, match="declares 50000000 compressed bytes .* more than"):
        read_all(path)


def test_members_sharing_a_name_are_all_read_and_noted(tmp_path):
    path = tmp_path / "listenbrainz_twice.zip"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns of the duplicate name: that is the case
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("listens/2024/1.jsonl", LINE)
            archive.writestr("listens/2024/1.jsonl", LINE.replace(b"1709402230", b"1709402231"))
    export, records = read_all(path)
    assert [r.listened_at for r in records] == [1709402230, 1709402231]
    assert any("appear more than once" in note for note in export.notes)


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
