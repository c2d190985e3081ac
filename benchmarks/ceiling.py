"""The raw write ceiling: how fast this server takes listen-shaped rows, nothing else in the way.

Every benchmark run measures this next to the import itself, so results can be quoted as ratios
that survive a noisy machine (docs/design.md §7). It only touches scratch tables of its own in
schema ``koito_bench``, never Koito's tables.

    python -m benchmarks.ceiling --rows 1000000 [--repeats 3] [--url postgresql://...]

Without ``--url`` it starts an embedded server in a temporary folder and stops it afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from psycopg import sql

SCHEMA = "koito_bench"
COLUMNS = ("track_id", "listened_at", "client", "user_id")
TYPES = ("int4", "timestamptz", "text", "int4")
CLIENTS = ("maloja", "spotify", "lastfm", "listenbrainz", "koito")
BASE_TIME = datetime(2020, 1, 1, tzinfo=UTC)


def listen_rows(n: int) -> Iterator[tuple[int, datetime, str, int]]:
    """``n`` unique listen rows whose keys arrive scattered in primary-key order."""
    second = timedelta(seconds=1)
    t = BASE_TIME
    for i in range(n):
        yield (i * 7919) % 200_000, t, CLIENTS[i % 5], 1
        t += second


def _table(name: str) -> sql.Composed:
    """``koito_bench.<name>`` as a safely quoted identifier."""
    return sql.SQL("{}.{}").format(sql.Identifier(SCHEMA), sql.Identifier(name))


def _create(admin: psycopg.Connection, name: str) -> None:
    """A bare listen table with Koito's key, then a checkpoint so runs start from the same state."""
    admin.execute(
        sql.SQL(
            "CREATE TABLE {} (track_id int NOT NULL, listened_at timestamptz NOT NULL, client text,"
            " user_id int NOT NULL, PRIMARY KEY (track_id, listened_at))"
        ).format(_table(name))
    )
    _checkpoint(admin)


def _checkpoint(admin: psycopg.Connection) -> None:
    """CHECKPOINT when allowed (superuser or pg_checkpoint); skipped otherwise."""
    try:
        admin.execute("CHECKPOINT")
    except psycopg.errors.InsufficientPrivilege:
        pass


def _copy_binary(cur: psycopg.Cursor, target: sql.Composable, rows: int) -> None:
    """Binary COPY of ``rows`` listen rows into ``target``."""
    query = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        target, sql.SQL(", ").join(map(sql.Identifier, COLUMNS))
    )
    with cur.copy(query) as copy:
        copy.set_types(list(TYPES))
        write = copy.write_row
        for row in listen_rows(rows):
            write(row)


def measure_copy(
    conn: psycopg.Connection, admin: psycopg.Connection, rows: int
) -> dict[str, float]:
    """(a) Binary COPY straight into the keyed table, committed."""
    name = f"copy_{os.getpid()}_{time.monotonic_ns()}"
    _create(admin, name)
    try:
        began = time.perf_counter()
        with conn.cursor() as cur:
            _copy_binary(cur, _table(name), rows)
        conn.commit()
        seconds = time.perf_counter() - began
    finally:
        conn.rollback()
        admin.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(_table(name)))
    return {"copy_seconds": seconds, "copy_rows_per_s": rows / seconds}


def _stage_and_insert(
    conn: psycopg.Connection, target: sql.Composable, rows: int
) -> tuple[float, float, int]:
    """COPY into a temporary stage, then INSERT … SELECT … ON CONFLICT DO NOTHING; commit.

    Returns (stage seconds, insert+commit seconds, rows inserted).
    """
    began = time.perf_counter()
    with conn.cursor() as cur:
        cur.execute(
            sql.SQL("CREATE TEMP TABLE bench_stage (LIKE {}) ON COMMIT DROP").format(target)
        )
        _copy_binary(cur, sql.Identifier("bench_stage"), rows)
        staged = time.perf_counter()
        cols = sql.SQL(", ").join(map(sql.Identifier, COLUMNS))
        cur.execute(
            sql.SQL("INSERT INTO {} ({}) SELECT {} FROM bench_stage ON CONFLICT DO NOTHING").format(
                target, cols, cols
            )
        )
        inserted = cur.rowcount
    conn.commit()
    return staged - began, time.perf_counter() - staged, inserted


def measure_upsert(
    conn: psycopg.Connection, admin: psycopg.Connection, rows: int
) -> dict[str, float]:
    """(b) COPY → temp stage → INSERT … ON CONFLICT DO NOTHING into an empty keyed table.

    Also reports the same rows offered a second time (every one a conflict): an idempotent re-run.
    """
    name = f"upsert_{os.getpid()}_{time.monotonic_ns()}"
    _create(admin, name)
    try:
        stage_s, insert_s, inserted = _stage_and_insert(conn, _table(name), rows)
        _checkpoint(admin)
        again_stage_s, again_insert_s, again_inserted = _stage_and_insert(conn, _table(name), rows)
    finally:
        conn.rollback()
        admin.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(_table(name)))
    total, again = stage_s + insert_s, again_stage_s + again_insert_s
    return {
        "upsert_seconds": total,
        "upsert_rows_per_s": rows / total,
        "upsert_stage_seconds": stage_s,
        "upsert_insert_seconds": insert_s,
        "upsert_inserted": inserted,
        "rerun_seconds": again,
        "rerun_rows_per_s": rows / again,
        "rerun_inserted": again_inserted,
    }


def measure_ceiling(conninfo: str, rows: int, repeats: int = 1) -> dict:
    """Rows/s for (a) binary COPY and (b) COPY → stage → INSERT … ON CONFLICT, on ``conninfo``.

    With ``repeats`` > 1 every figure is the median over that many runs (noisy shared machines).
    """
    if rows < 1 or repeats < 1:
        raise ValueError("rows and repeats must be positive")
    runs: list[dict] = []
    with psycopg.connect(conninfo, autocommit=True) as admin, psycopg.connect(conninfo) as conn:
        admin.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(SCHEMA)))
        try:
            for _ in range(repeats):
                run = measure_copy(conn, admin, rows)
                run.update(measure_upsert(conn, admin, rows))
                runs.append(run)
        finally:
            _drop_schema_if_empty(admin)
        version = conn.info.server_version
    result: dict = {"rows": rows, "repeats": repeats, "server_version": version}
    result.update({key: statistics.median(run[key] for run in runs) for key in runs[0]})
    result["upsert_vs_copy"] = result["upsert_rows_per_s"] / result["copy_rows_per_s"]
    return result


def _drop_schema_if_empty(admin: psycopg.Connection) -> None:
    """Drop ``koito_bench`` unless another run still has tables in it."""
    try:
        admin.execute(sql.SQL("DROP SCHEMA IF EXISTS {} RESTRICT").format(sql.Identifier(SCHEMA)))
    except psycopg.errors.DependentObjectsStillExist:
        pass


def _on_embedded(rows: int, repeats: int) -> dict:
    """Measure on a throw-away embedded server in a temporary folder under /tmp."""
    from koito_assets.db.connection import EmbeddedServer

    with tempfile.TemporaryDirectory(prefix="koito-ceiling-", dir="/tmp") as tmp:
        server = EmbeddedServer(Path(tmp) / "data")
        server.start()
        try:
            result = measure_ceiling(server.url(), rows, repeats)
        finally:
            server.stop()
    result["server"] = "embedded"
    return result


def main(argv: list[str] | None = None) -> int:
    """CLI: print the ceiling as JSON."""
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.ceiling", description=__doc__.split("\n")[0]
    )
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--repeats", type=int, default=1, help="report the median of this many runs")
    p.add_argument("--url", help="libpq URL; default: a temporary embedded server")
    args = p.parse_args(argv)
    if args.url:
        result = measure_ceiling(args.url, args.rows, args.repeats)
    else:
        result = _on_embedded(args.rows, args.repeats)
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
