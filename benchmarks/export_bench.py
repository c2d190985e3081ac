"""The Koito export writer on a big library: listens per second and peak resident memory.

Builds a library of N listens set-based in SQL (default 1,000,000; 10,000 artists, 25,000
albums, 100,000 tracks, a fifth of them with a featured artist, a third of everything with an
MBID, second aliases and image URLs on some, four clients and NULL), then writes the whole
library as a Koito export in a child process, which reports its own peak RSS (VmHWM), so
nothing the parent did counts. Listens are played with a skew towards popular tracks but in
time order, so the writer's entity caches see the misses a real history gives them.

    python -m benchmarks.export_bench [--listens 1000000] [--url postgresql://...]

Without ``--url`` it starts an embedded server in a temporary folder and stops it afterwards.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import psycopg

from benchmarks.child import peak_rss_mb, run_child

LIBRARY_SQL = """
SELECT setseed(0.42);
INSERT INTO artists (id, musicbrainz_id, image_source) OVERRIDING SYSTEM VALUE
SELECT g, CASE WHEN mod(g, 3) = 0 THEN md5('artist' || g)::uuid END,
       CASE WHEN mod(g, 2) = 0 THEN 'https://img.example.org/artist/' || g || '.jpg' END
FROM generate_series(1, %(artists)s) g;
INSERT INTO artist_aliases (artist_id, alias, source, is_primary)
SELECT g, 'Artist ' || g || CASE WHEN mod(g, 7) = 0 THEN ' “Ünïcødé” \\ "quoted"' ELSE '' END,
       'Canonical', true
FROM generate_series(1, %(artists)s) g;
INSERT INTO artist_aliases (artist_id, alias, source, is_primary)
SELECT g, 'The Artist ' || g, 'MusicBrainz', false FROM generate_series(1, %(artists)s) g
WHERE mod(g, 4) = 0;

INSERT INTO releases (id, musicbrainz_id, image_source, various_artists) OVERRIDING SYSTEM VALUE
SELECT g, CASE WHEN mod(g, 3) = 0 THEN md5('release' || g)::uuid END,
       CASE WHEN mod(g, 2) = 1 THEN 'https://img.example.org/album/' || g || '.jpg' END,
       mod(g, 50) = 0
FROM generate_series(1, %(releases)s) g;
INSERT INTO release_aliases (release_id, alias, source, is_primary)
SELECT g, 'Album ' || g, 'Canonical', true FROM generate_series(1, %(releases)s) g;
INSERT INTO artist_releases (artist_id, release_id, is_primary)
SELECT 1 + mod(g, %(artists)s), g, true FROM generate_series(1, %(releases)s) g;

INSERT INTO tracks (id, musicbrainz_id, duration, release_id) OVERRIDING SYSTEM VALUE
SELECT g, CASE WHEN mod(g, 3) = 0 THEN md5('track' || g)::uuid END, 90 + mod(g, 400),
       1 + mod(g, %(releases)s)
FROM generate_series(1, %(tracks)s) g;
INSERT INTO track_aliases (track_id, alias, source, is_primary)
SELECT g, 'Track ' || g, 'Canonical', true FROM generate_series(1, %(tracks)s) g;
INSERT INTO track_aliases (track_id, alias, source, is_primary)
SELECT g, 'Track ' || g || ' (Remastered)', 'Import', false FROM generate_series(1, %(tracks)s) g
WHERE mod(g, 6) = 0;
INSERT INTO artist_tracks (artist_id, track_id, is_primary)
SELECT 1 + mod(1 + mod(g, %(releases)s), %(artists)s), g, true
FROM generate_series(1, %(tracks)s) g;
INSERT INTO artist_tracks (artist_id, track_id, is_primary)
SELECT 1 + mod(g::bigint * 7919, %(artists)s), g, false FROM generate_series(1, %(tracks)s) g
WHERE mod(g, 5) = 0
  AND mod(g::bigint * 7919, %(artists)s) <> mod(1 + mod(g, %(releases)s), %(artists)s);

INSERT INTO listens (track_id, listened_at, client, user_id)
SELECT 1 + floor(%(tracks)s * power(random(), 2))::int,
       timestamptz '2015-01-01 00:00:00+00' + g * interval '97 seconds',
       (ARRAY['maloja', 'spotify', NULL, 'Web Scrobbler'])[1 + mod(g, 4)], 1
FROM generate_series(1, %(listens)s) g;
ANALYZE;
"""


def build_library(url: str, listens: int, tracks: int | None = None) -> dict[str, int]:
    """Fill a migrated, empty Koito database with a library of ``listens`` listens over
    ``tracks`` tracks (default: a tenth as many)."""
    tracks = tracks or max(1000, listens // 10)
    shape = {
        "listens": listens,
        "artists": max(100, tracks // 10),
        "releases": max(250, tracks // 4),
        "tracks": tracks,
    }
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in LIBRARY_SQL.split(";\n"):
            if statement.strip():
                conn.execute(statement, shape)
    return shape


def export_once(url: str, out: str) -> dict[str, object]:
    """Write the whole library to ``out``; run in a child process, whose peak RSS it reports."""
    from koito_assets.to_koito.export_file import write_export

    cpu = time.process_time()
    started = time.perf_counter()
    result = write_export(url, Path(out))
    seconds = time.perf_counter() - started
    return {
        "listens": result.listens,
        "bytes": result.bytes,
        "seconds": round(seconds, 3),
        "listens_per_second": round(result.listens / seconds, 1),
        # this process's CPU alone (the server works on the other core): what a busy machine
        # cannot inflate
        "client_cpu_seconds": round(time.process_time() - cpu, 3),
        "peak_rss_mb": peak_rss_mb(),
        "skipped": dict(result.skipped),
    }


def export_in_child(url: str, out: Path) -> dict[str, object]:
    """``export_once`` in a fresh interpreter; adds the whole process's wall time."""
    code = (
        "import json, sys; from benchmarks.export_bench import export_once; "
        "print(json.dumps(export_once(sys.argv[1], sys.argv[2])))"
    )
    return run_child(code, url, str(out))


def measure(url: str, listens: int, work: Path, tracks: int | None = None) -> dict[str, object]:
    """Build the library in ``url`` (migrated, empty), export it, delete the file."""
    started = time.perf_counter()
    shape = build_library(url, listens, tracks)
    built = time.perf_counter() - started
    out = work / "koito_export_bench.json"
    result = export_in_child(url, out)
    out.unlink(missing_ok=True)
    return {"library": shape, "build_seconds": round(built, 1), **result}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listens", type=int, default=1_000_000)
    parser.add_argument("--tracks", type=int, help="distinct tracks (default: listens / 10)")
    parser.add_argument("--url", help="a migrated, empty Koito database (default: embedded)")
    args = parser.parse_args(argv)

    from koito_assets.db.bootstrap import prepare_database
    from koito_assets.db.connection import embedded_server
    from koito_assets.settings import Settings

    work = Path(tempfile.mkdtemp(prefix="koito-export-bench-"))
    if args.url:
        result = measure(args.url, args.listens, work, args.tracks)
    else:
        settings = Settings.from_env({"KOITO_CONFIG_DIR": str(work / "koito")})
        with embedded_server(settings) as server:
            from benchmarks.run import _fresh_database

            url = _fresh_database(server.url(), "koito_bench_export")
            prepare_database(url, settings)
            result = measure(url, args.listens, work, args.tracks)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
