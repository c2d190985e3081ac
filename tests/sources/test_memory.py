"""Memory stays flat whatever the file size: 500 MB exports parsed in a child process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

HALF_GIGABYTE = 500 * 10**6
PEAK_LIMIT_KB = 100 * 1024
GROWTH_LIMIT_KB = 20 * 1024  # over the same parse of a 1 MB file

# Maloja's own layout (json.dump with indent=3); %d: time, %d: artist, %d: title, %d: album.
MALOJA_SCROBBLE = """      {
         "time": %d,
         "track": {
            "artists": [
               "Artist %d"
            ],
            "title": "Song \\u00e9 %d",
            "album": {
               "albumtitle": "Album %d",
               "artists": []
            },
            "length": null
         },
         "duration": null,
         "origin": "client:web"
      }"""
LISTEN = (
    '{"listened_at": %(time)d, "inserted_at": %(time)d.5, "track_metadata": {'
    '"artist_name": "Artist %(artist)d", "track_name": "Song %(title)d", '
    '"release_name": "Album %(album)d", "recording_msid": "%(msid)s", '
    '"additional_info": {"submission_client": "navidrome", "duration_ms": 201000}, '
    '"mbid_mapping": {"recording_mbid": "%(mbid)s", "artist_mbids": [], "artists": []}}}\n'
)

# VmHWM is this process's own high-water mark: getrusage's ru_maxrss would also count the
# forked pytest process the child started as.
PARSE = """
import json, sys
from pathlib import Path
from koito_assets.settings import Settings
from koito_assets.sources import open_export
export = open_export(Path(sys.argv[1]), Settings())
records = sum(1 for _ in export)
status = Path("/proc/self/status").read_text()
peak = int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1])
print(json.dumps({"records": records, "accepted": export.stats.accepted, "peak_kb": peak}))
"""


def write_maloja(path: Path, size: int) -> int:
    """A Maloja export of at least ``size`` bytes, written in batches; returns its record count."""
    count = 0
    with open(path, "w") as file:
        file.write('{\n   "maloja": {\n      "export_time": 1709402400\n   },\n   "scrobbles": [\n')
        while file.tell() < size:
            batch = [
                MALOJA_SCROBBLE % (1_500_000_000 + n, n % 5000, n % 40000, n % 9000)
                for n in range(count, count + 10_000)
            ]
            file.write((",\n" if count else "") + ",\n".join(batch))
            count += len(batch)
        file.write("\n   ]\n}\n")
    return count


def write_listenbrainz(path: Path, size: int) -> int:
    """A ListenBrainz zip whose members hold at least ``size`` bytes; returns its listen count."""
    count = written = 0
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("user.json", '{"user_id": 1, "username": "example"}')
        month = 0
        while written < size:
            month += 1
            with archive.open(
                f"listens/{2000 + month // 12}/{month % 12 + 1}.jsonl", "w"
            ) as member:
                for _ in range(20):
                    # Random ids keep the compression ratio real (repeated text looks like a bomb).
                    batch = "".join(
                        LISTEN
                        % {
                            "time": 1_500_000_000 + n,
                            "artist": n % 5000,
                            "title": n % 40000,
                            "album": n % 9000,
                            "msid": os.urandom(16).hex(),
                            "mbid": os.urandom(16).hex(),
                        }
                        for n in range(count, count + 5000)
                    ).encode()
                    member.write(batch)
                    written += len(batch)
                    count += 5000
    return count


def peak_of_parse(path: Path) -> dict[str, int]:
    result = subprocess.run(
        [sys.executable, "-c", PARSE, str(path)],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    ("name", "write"),
    [("maloja_export_big.json", write_maloja), ("listenbrainz_big.zip", write_listenbrainz)],
)
def test_peak_memory_is_flat_on_half_a_gigabyte(tmp_path, name, write):
    small, big = tmp_path / f"small_{name}", tmp_path / name
    small_count = write(small, 10**6)
    try:
        big_count = write(big, HALF_GIGABYTE)
        baseline = peak_of_parse(small)
        measured = peak_of_parse(big)
    finally:
        big.unlink(missing_ok=True)  # pytest keeps recent tmp folders: do not keep half a gigabyte
    assert (baseline["records"], measured["records"]) == (small_count, big_count)
    assert measured["accepted"] == big_count
    big_mb, small_mb = measured["peak_kb"] // 1024, baseline["peak_kb"] // 1024
    print(f"\n{name}: {big_count:,} records, peak {big_mb} MB (1 MB file: {small_mb} MB)")
    assert measured["peak_kb"] < PEAK_LIMIT_KB
    assert measured["peak_kb"] - baseline["peak_kb"] < GROWTH_LIMIT_KB
