"""Big exports read on worker processes give exactly the records an in-process read gives."""

from __future__ import annotations

import json
import os
import zipfile

import pytest

from koito_assets.sources import ExportError, Scrobble, listenbrainz, open_export
from koito_assets.sources.parallel import WorkerFailed, worker_pool

from .helpers import LISTENBRAINZ_EXPORT, settings

MONTH_LINES = (LISTENBRAINZ_EXPORT / "listens/2024/2.jsonl").read_text().splitlines()


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
        '{"listened_at": 1700000000, "track_metadata": {"artist_name": "Nul\\u0000Band", "track_name": "T"}}',
        '{"listened_at": 1700000000, "track_metadata": {"artist_name": "A", "track_name": "T", "additional_info": []}}',
        '{"listened_at": "yesterday", "track_metadata": {"artist_name": "A", "track_name": "T"}}',
        '{"listened_at": 1700000000, "track_metadata": "not an object"}',
        "",
    ]
    return "\n".join(lines).encode()


@pytest.fixture
def many_months(tmp_path):
    path = tmp_path / "listenbrainz_many_1709402230.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("user.json", '{"user_id": 1, "username": "example"}')
        for month in range(24):
            archive.writestr(f"listens/{2020 + month // 12}/{month % 12 + 1}.jsonl", odd_month(month))
    return path


def read(path, processes):
    export = open_export(path, settings(parse_processes=processes))
    return list(export), export.stats


def test_workers_give_the_records_and_counts_of_one_process(many_months, monkeypatch):
    monkeypatch.setattr(listenbrainz, "PARALLEL_MIN_BYTES", 0)
    alone, alone_stats = read(many_months, 1)
    parallel, parallel_stats = read(many_months, 3)
    assert parallel == alone
    assert all(type(a) is type(b) for a, b in zip(alone, parallel))  # Scrobbles again, not tuples
    assert parallel_stats == alone_stats
    assert alone_stats.nul_stripped == 24 and alone_stats.skipped["malformed_record"] == 48


def test_small_exports_start_no_workers(many_months, monkeypatch):
    def no_workers(processes):
        raise AssertionError("workers started for a small file")

    monkeypatch.setattr(listenbrainz, "worker_pool", no_workers)
    records, _ = read(many_months, 4)  # 24 small members: far below PARALLEL_MIN_BYTES
    assert len(records) > 24 * len(MONTH_LINES)


def test_a_damaged_member_fails_the_file_the_same_way_on_workers(many_months, tmp_path, monkeypatch):
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


# --- Maloja: one JSON document cut into stretches ---------------------------------------------


def maloja_scrobbles(count: int) -> list:
    scrobbles = []
    for n in range(count):
        artists = ["Main • Guest"] if n % 7 == 0 else [f"Artist {n % 13}"]
        album = None if n % 5 == 0 else {"albumtitle": f"Album {n % 11}", "artists": artists}
        scrobble = {"time": 1_600_000_000 + n, "track": {"artists": artists, "title": f"Song {n}", "album": album}}
        scrobbles.append(scrobble)
    scrobbles[40]["track"]["title"] = "Nul\x00Song"
    scrobbles[41]["time"] = "yesterday"
    scrobbles[42]["track"]["artists"] = []
    return scrobbles


def write_maloja(path, scrobbles, **dump) -> None:
    path.write_text(json.dumps({"maloja": {"export_time": 1}, "scrobbles": scrobbles}, ensure_ascii=False, **dump))


@pytest.fixture
def parallel_maloja(monkeypatch):
    from koito_assets.sources import maloja

    monkeypatch.setattr(maloja, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(maloja, "STRETCH_CHARS", 3000)  # many small stretches
    return maloja


@pytest.mark.parametrize("dump", [{"indent": 3}, {}], ids=["pretty", "compact"])
def test_maloja_on_workers_gives_the_records_of_one_process(tmp_path, parallel_maloja, dump):
    path = tmp_path / "maloja_export_1.json"
    write_maloja(path, maloja_scrobbles(2000), **dump)
    alone, alone_stats = read(path, 1)
    parallel, parallel_stats = read(path, 2)
    assert parallel == alone and parallel_stats == alone_stats
    assert all(type(a) is type(b) for a, b in zip(alone, parallel))
    assert alone_stats.nul_stripped == 1 and len(alone) == 2000


def test_maloja_cut_inside_a_title_is_caught_and_read_again(tmp_path, parallel_maloja, monkeypatch):
    scrobbles = maloja_scrobbles(2000)
    # Compact JSON joins scrobbles with '},{"time"'. No string can hold that (its quote would be
    # escaped), but a nested list of objects keyed "time" first can: a false cut, deep inside.
    for n in range(100, 2000, 150):
        scrobbles[n]["history"] = [{"time": 1}, {"time": 2}]
    path = tmp_path / "maloja_export_1.json"
    write_maloja(path, scrobbles)
    fallbacks = []
    real = parallel_maloja._read_here
    monkeypatch.setattr(parallel_maloja, "_read_here", lambda *a: fallbacks.append(1) or real(*a))
    alone, _ = read(path, 1)
    parallel, _ = read(path, 2)
    assert parallel == alone and len(parallel) == 2000
    assert fallbacks == [1, 1]  # the one-process read, then the fallback of the parallel one


def test_maloja_damaged_file_fails_the_same_way_on_workers(tmp_path, parallel_maloja):
    path = tmp_path / "maloja_export_1.json"
    write_maloja(path, maloja_scrobbles(2000), indent=3)
    path.write_bytes(path.read_bytes()[:-20_000])  # cut off mid-document
    messages = []
    for processes in (1, 2):
        with pytest.raises(ExportError) as failure:
            read(path, processes)
        messages.append(str(failure.value))
    assert messages[0] == messages[1] and "truncated JSON" in messages[0]


@pytest.mark.parametrize(("configured", "cpus", "expected"), [(0, 1, 1), (0, 2, 1), (0, 3, 2), (0, 16, 4), (3, 2, 3), (1, 16, 1)])
def test_worker_count_follows_the_setting_or_the_cpus(monkeypatch, configured, cpus, expected):
    from koito_assets.sources import parallel

    monkeypatch.setattr(parallel.os, "cpu_count", lambda: cpus)
    assert parallel.process_count(configured) == expected
