"""The merge benchmark runs end to end on a tiny library and measures what it says it does."""

from __future__ import annotations

from pathlib import Path

import psycopg

from benchmarks.sqlite_merge_bench import measure, summary
from tests.to_koito.catalogue import Catalogue


def test_three_merges_fresh_again_and_into_a_full_database(db_url: str, tmp_path: Path):
    with psycopg.connect(db_url, autocommit=True) as conn:
        ours = Catalogue(conn)
        band = ours.artist("Band")
        album = ours.release("Album", [band])
        for n in range(5):
            ours.listens(ours.track(f"Song {n}", album, [band]), [1_000 + n, 2_000 + n])
    results = measure(db_url, tmp_path / "sqlite")
    rows = {name: summary(name, result) for name, result in results.items()}
    assert rows["into_fresh"]["listens_added"] == 10
    assert rows["into_fresh"]["created"] == {"artists": 1, "releases": 1, "tracks": 5}
    assert (rows["again"]["listens_added"], rows["again"]["listens_already_present"]) == (0, 10)
    # the full database holds other entities and as many listens: everything is created anew
    assert rows["into_full"]["listens_added"] == 10
    assert rows["into_full"]["created"] == {"artists": 1, "releases": 1, "tracks": 5}
    assert all(row["peak_rss_mb"] > 0 and row["seconds"] > 0 for row in rows.values())
