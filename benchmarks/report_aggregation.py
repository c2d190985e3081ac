"""Where a file's report aggregates are computed: in PostgreSQL, or on the client with pandas.

The report needs, per file: listens per month, first and last listen, listens per track and per
credited artist (for the top ten), and the distinct (track, second) plays. This script imports
a generated workload, stages it again (the load drops staging rows once a file is complete) and
then times, alternating, on the same rows:

- ``sql``: the statement the load runs (sql/reports/record_file_facts.sql, rolled back);
- ``transfer``: only moving the (track, second) rows to the client with binary COPY, the least
  any client-side aggregation must do before it computes anything;
- ``pandas``: that transfer, then the same aggregates with pandas (when pandas is installed);
- ``import pandas``: what importing pandas costs a fresh process.

    python -m benchmarks.report_aggregation --size seed      # or large, or a record count
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

from koito_assets.db.sql_files import sql_text

ROWS = """
    SELECT tl.track_id, s.listened_at
    FROM koito_import.staged_scrobbles s
    JOIN koito_import.track_lookup tl ON tl.lookup_key = s.lookup_key
    WHERE s.file_id = {file_id}
"""


def stage_again(url: str, path: Path, config_dir: Path) -> int:
    """Import ``path`` fully, then stage it again so its staging rows exist; its file id."""
    import dagster as dg

    from benchmarks.run import import_in_process
    from koito_assets.db.resource import KoitoDatabase
    from koito_assets.defs.imports.assets import raw_scrobbles, unique_entity_keys
    from koito_assets.settings_resource import SettingsResource

    import_in_process(path, url, config_dir)
    settings = SettingsResource(
        overrides={"KOITO_CONFIG_DIR": str(config_dir), "KOITO_DISABLE_MUSICBRAINZ": "true"}
    )
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions("export_files", [path.name])
        dg.materialize(
            [raw_scrobbles, unique_entity_keys],
            partition_key=path.name,
            instance=instance,
            resources={
                "settings": settings,
                "db": KoitoDatabase(url=url, settings=settings),
                "io_manager": dg.mem_io_manager,
            },
        )
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT id FROM koito_import.import_files WHERE file_key = %s", (path.name,)
        ).fetchone()[0]


def time_sql(conn: psycopg.Connection, file_id: int) -> float:
    started = time.perf_counter()
    conn.execute(
        sql_text("reports", "record_file_facts"), {"file_id": file_id, "inserted": 0, "top": 10}
    )
    seconds = time.perf_counter() - started
    conn.rollback()
    return seconds


def _transfer(conn: psycopg.Connection, file_id: int) -> bytes:
    with (
        conn.cursor() as cur,
        cur.copy(f"COPY ({ROWS.format(file_id=int(file_id))}) TO STDOUT (FORMAT BINARY)") as copy,
    ):
        data = b"".join(bytes(block) for block in copy)
    conn.rollback()
    return data


def time_transfer(conn: psycopg.Connection, file_id: int) -> float:
    started = time.perf_counter()
    _transfer(conn, file_id)
    return time.perf_counter() - started


def time_pandas(conn: psycopg.Connection, file_id: int) -> float:
    import numpy as np
    import pandas as pd

    started = time.perf_counter()
    data = _transfer(conn, file_id)
    # binary COPY: a 19-byte header, then per row a field count, and (length, value) per field
    row = np.dtype([("n", ">i2"), ("l1", ">i4"), ("track", ">i4"), ("l2", ">i4"), ("ts", ">i8")])
    rows = np.frombuffer(data, dtype=row, offset=19, count=(len(data) - 21) // row.itemsize)
    frame = pd.DataFrame(
        {"track": rows["track"].astype(np.int64), "ts": rows["ts"].astype(np.int64)}
    )
    months = pd.to_datetime(frame["ts"], unit="s").dt.to_period("M").value_counts().sort_index()
    per_track = frame["track"].value_counts()
    plays = len(frame.drop_duplicates())
    credits = pd.DataFrame(
        conn.execute(
            "SELECT track_id, artist_id FROM artist_tracks WHERE track_id = ANY(%s)",
            (per_track.index.tolist(),),
        ).fetchall(),
        columns=["track", "artist"],
    )
    conn.rollback()
    per_artist = (
        credits.join(per_track.rename("listens"), on="track").groupby("artist")["listens"].sum()
    )
    _ = (
        months,
        per_track.nlargest(10),
        per_artist.nlargest(10),
        plays,
        frame["ts"].agg(["min", "max"]),
    )
    return time.perf_counter() - started


def pandas_import_seconds() -> float | None:
    """A fresh interpreter importing pandas, less a fresh interpreter doing nothing."""

    def run(code: str) -> float:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        return time.perf_counter() - started

    try:
        import pandas  # noqa: F401
    except ImportError:
        return None
    return statistics.median(run("import pandas") - run("pass") for _ in range(3))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="seed", help="tiny, seed, large or a record count")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--url", help="a database where a file is staged already (skips import)")
    parser.add_argument("--file-id", type=int, default=1)
    args = parser.parse_args(argv)

    try:
        import pandas  # noqa: F401

        variants = {"sql": time_sql, "transfer": time_transfer, "pandas": time_pandas}
    except ImportError:
        variants = {"sql": time_sql, "transfer": time_transfer}
        print("pandas is not installed: measuring sql and transfer only")

    from benchmarks.run import _fresh_database
    from benchmarks.workload import generate
    from koito_assets.db.bootstrap import prepare_database
    from koito_assets.db.connection import embedded_server
    from koito_assets.settings import Settings

    times: dict[str, list[float]] = {name: [] for name in variants}

    def measure(url: str, file_id: int) -> None:
        with psycopg.connect(url) as conn:
            for variant in variants.values():  # once each to warm the caches
                variant(conn, file_id)
            for _ in range(args.repeat):
                for name, variant in variants.items():
                    times[name].append(variant(conn, file_id))

    if args.url:
        measure(args.url, args.file_id)
    else:
        work = Path(tempfile.mkdtemp(prefix="koito-report-bench-"))
        settings = Settings.from_env(
            {"KOITO_CONFIG_DIR": str(work / "koito"), "KOITO_DISABLE_MUSICBRAINZ": "true"}
        )
        os.environ["KOITO_DISABLE_MUSICBRAINZ"] = "true"
        path = generate("maloja", args.size, work / "exports", seed=1)
        with embedded_server(settings) as server:
            url = _fresh_database(server.url(), "koito_report_bench")
            prepare_database(url, settings)
            measure(url, stage_again(url, path, work / "koito"))

    print(f"{'variant':<10}{'median s':>10}{'min s':>10}{'over sql':>10}")
    sql_median = statistics.median(times["sql"])
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<10}{median:>10.3f}{min(values):>10.3f}{median / sql_median:>10.2f}")
    imported = pandas_import_seconds()
    if imported is not None:
        print(f"import pandas in a fresh process: {imported:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
