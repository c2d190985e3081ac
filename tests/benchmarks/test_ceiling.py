"""The write-ceiling probe measures on a real server and leaves nothing behind."""

from __future__ import annotations

import psycopg

from benchmarks.ceiling import SCHEMA, listen_rows, measure_ceiling


def test_rows_are_unique_on_the_listen_key():
    rows = list(listen_rows(5_000))
    assert len({(r[0], r[1]) for r in rows}) == 5_000


def test_measures_both_paths_and_cleans_up(empty_db_url):
    result = measure_ceiling(empty_db_url, 2_000, repeats=2)
    assert result["rows"] == 2_000 and result["repeats"] == 2
    assert result["copy_rows_per_s"] > 0 and result["upsert_rows_per_s"] > 0
    assert result["upsert_inserted"] == 2_000
    assert result["rerun_inserted"] == 0
    with psycopg.connect(empty_db_url) as conn:
        left = conn.execute(
            "SELECT count(*) FROM pg_namespace WHERE nspname = %s", (SCHEMA,)
        ).fetchone()
    assert left == (0,)


def test_keeps_a_schema_another_run_still_uses(empty_db_url):
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {SCHEMA}")
        conn.execute(f"CREATE TABLE {SCHEMA}.other_run (x int)")
        measure_ceiling(empty_db_url, 100)
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s", (SCHEMA,)
        ).fetchall()
    assert tables == [("other_run",)]
