"""The export benchmark's library is a valid Koito library and its export reports honest counts."""

from __future__ import annotations

import psycopg

from benchmarks.export_bench import build_library, export_once, measure
from tests.to_koito.helpers import koito_importer_problems, load


def test_the_library_exports_every_listen_cleanly(db_url, tmp_path):
    shape = build_library(db_url, 3_000)
    with psycopg.connect(db_url) as conn:
        listens, tracks = conn.execute(
            "SELECT count(*), count(DISTINCT track_id) FROM listens"
        ).fetchone()
        featured = conn.execute(
            "SELECT count(*) FROM artist_tracks WHERE NOT is_primary"
        ).fetchone()[0]
    assert listens == shape["listens"] == 3_000 and tracks > 500 and featured > 0
    out = tmp_path / "koito_bench.json"
    result = export_once(db_url, str(out))
    assert result["listens"] == 3_000 and result["skipped"] == {}
    assert result["bytes"] == out.stat().st_size and result["peak_rss_mb"] > 0
    assert koito_importer_problems(load(out)) == []


def test_measure_runs_the_export_in_a_child_and_removes_the_file(db_url, tmp_path):
    result = measure(db_url, 1_000, tmp_path)
    assert result["listens"] == 1_000 and result["process_wall_seconds"] >= result["seconds"]
    assert list(tmp_path.iterdir()) == []
