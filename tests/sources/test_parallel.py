"""Big exports read on worker processes give exactly the records an in-process read gives."""

from __future__ import annotations

import json
import os
import random
import string
import zipfile

import pytest

from koito_assets.sources import ExportError, Scrobble, listenbrainz, open_export
from koito_assets.sources.parallel import WorkerFailed, worker_pool
from koito_assets.sources.zipsafe import SafeZip, ZipLimits

from .helpers import LISTENBRAINZ_EXPORT, settings

MONTH_LINES = (LISTENBRAINZ_EXPORT / "listens/2024/2.jsonl").read_text().splitlines()
LONG_PLAYER = "".join(random.Random(3).choices(string.ascii_letters, k=5000))


def odd_month(month: int) -> bytes:
    """A month of the fixture's listens plus every kind of odd line, timed into ``month``."""
    lines = []
    for number, line in enumerate(MONTH_LINES * 3):
        if not line.strip():
            lines.append(line)
            continue
        listen = json.loads(line)
        listen["listened_at"] = 1_600_000_000 + month * 2_600_000 + number
        lines.append(json.dumps(listen, ensure_ascii=False))
    lines += [
        "not json at all",
        '{"listened_at": 1700000000, "track_metadata": '
        '{"artist_name": "Nul\\u0000Band", "track_name": "T"}}',
        '{"listened_at": 1700000000, "track_metadata": '
        '{"artist_name": "A", "track_name": "T", "additional_info": []}}',
        '{"listened_at": "yesterday", "track_metadata": {"artist_name": "A", "track_name": "T"}}',
        '{"listened_at": 1700000000, "track_metadata": "not an object"}',
        json.dumps(  # a client cut to 1,000 characters, with a note
            {
                "listened_at": 1700000000,
                "track_metadata": {
                    "artist_name": "A",
                    "track_name": "T",
                    "additional_info": {"media_player": LONG_PLAYER},
                },
            }
        ),
        json.dumps(
            {
                "listened_at": 1700000000,
                "track_metadata": {"artist_name": "A" * 3000, "track_name": "T"},
            }
        ),
        "",
    ]
    return "\n".join(lines).encode()


@pytest.fixture
def many_months(tmp_path):
    path = tmp_path / "listenbrainz_many_1709402230.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("user.json", '{"user_id": 1, "username": "example"}')
        for month in range(24):
            archive.writestr(
                f"listens/{2020 + month // 12}/{month % 12 + 1}.jsonl", odd_month(month)
            )
    return path


def read(path, processes):
    export = open_export(path, settings(parse_processes=processes))
    return list(export), export.stats


def test_workers_give_the_records_and_counts_of_one_process(many_months, monkeypatch):
    monkeypatch.setattr(listenbrainz, "PARALLEL_MIN_BYTES", 0)
    alone, alone_stats = read(many_months, 1)
    parallel, parallel_stats = read(many_months, 3)
    assert parallel == alone
    assert all(
        type(a) is type(b) for a, b in zip(alone, parallel, strict=True)
    )  # Scrobbles again, not tuples
    assert parallel_stats == alone_stats
    assert alone_stats.nul_stripped == 24 and alone_stats.skipped["malformed_record"] == 48
    assert alone_stats.skipped["name_too_long"] == 24 and alone_stats.notes["text_cut"][0] == 24


def test_the_whole_archive_is_held_to_its_limits_across_workers(many_months, monkeypatch):
    """Each worker counts only its own members; the reading process counts them all."""
    monkeypatch.setattr(listenbrainz, "PARALLEL_MIN_BYTES", 0)
    with zipfile.ZipFile(many_months) as archive:
        total = sum(info.file_size for info in archive.infolist())
    limits = ZipLimits(max_total_bytes=total // 2)  # more than any worker's third
    # As if every member declared too little (what it declares is checked before reading).
    monkeypatch.setattr(SafeZip, "check_sizes", lambda self, members: None)
    for processes in (1, 3):
        export = open_export(many_months, settings(parse_processes=processes))
        ctx = export._context
        with pytest.raises(ExportError, match="the archive inflates past the limit"):
            list(listenbrainz.read_zip(many_months, ctx, limits))


def test_small_exports_start_no_workers(many_months, monkeypatch):
    def no_workers(processes):
        raise AssertionError("workers started for a small file")

    monkeypatch.setattr(listenbrainz, "worker_pool", no_workers)
    records, _ = read(many_months, 4)  # 24 small members: far below PARALLEL_MIN_BYTES
    assert len(records) > 24 * len(MONTH_LINES)


def test_a_damaged_member_fails_the_file_the_same_way_on_workers(
    many_months, tmp_path, monkeypatch
):
    data = bytearray(many_months.read_bytes())
    with zipfile.ZipFile(many_months) as archive:
        info = archive.getinfo("listens/2021/6.jsonl")
    start = info.header_offset + 30 + len(info.filename) + 8
    data[start : start + 40] = b"\xff" * 40  # garbage inside the deflate stream
    damaged = tmp_path / "listenbrainz_damaged_1709402230.zip"
    damaged.write_bytes(bytes(data))
    monkeypatch.setattr(listenbrainz, "PARALLEL_MIN_BYTES", 0)
    messages = []
    for processes in (1, 2):
        with pytest.raises(ExportError) as failure:
            read(damaged, processes)
        messages.append(str(failure.value))
    assert messages[0] == messages[1]
    assert "listens/2021/6.jsonl line 1: damaged member" in messages[0]


def test_stopping_early_stops_the_workers(many_months, monkeypatch):
    monkeypatch.setattr(listenbrainz, "PARALLEL_MIN_BYTES", 0)
    before = _children()
    records = iter(open_export(many_months, settings(parse_processes=2)))
    assert isinstance(next(records), Scrobble)
    records.close()  # the consumer gives up: the workers must not linger
    assert _children() == before


def test_a_worker_that_dies_is_an_error_not_a_hang():
    with worker_pool(1) as pool:
        parts = next(pool.ordered([(os._exit, (3,))]))
        with pytest.raises(WorkerFailed, match="exit code 3"):
            list(parts)


def _children() -> set[int]:
    own = str(os.getpid())
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if stat[1] == own and stat[0] != "Z":
                found.add(int(entry))
    return found


@pytest.mark.parametrize(
    ("configured", "cpus", "expected"),
    [(0, 1, 1), (0, 2, 1), (0, 3, 2), (0, 16, 4), (3, 2, 3), (1, 16, 1)],
)
def test_worker_count_follows_the_setting_or_the_cpus(monkeypatch, configured, cpus, expected):
    from koito_assets.sources import parallel

    monkeypatch.setattr(parallel.os, "cpu_count", lambda: cpus)
    assert parallel.process_count(configured) == expected
