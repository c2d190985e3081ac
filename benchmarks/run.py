"""``make bench``: the numbers this project exists for, measured side by side in one run.

On one fresh database of one server (embedded unless KOITO_DATABASE_URL is set), in order:

1. the raw ceiling: binary COPY of as many listen rows as the workload has, and COPY into a
   temp table then INSERT … ON CONFLICT DO NOTHING;
2. the ``seed`` workload (49,050 Maloja scrobbles) through the asset graph, in-process, per stage;
3. the same file again (all cache hits, 0 new listens);
4. the per-scrobble path: ``submit_listen`` one record at a time on a 5,000-record sample;
5. one play, one listen (benchmarks/dedupe_bench.py): the seed's load stage with the
   cross-source matching on and off, and an overlapping Spotify + Last.fm pair of seed size,
   each way round: listens against the true plays, the second file's load stage on and off;
6. the ``large`` workload (1,000,000 scrobbles) through the asset graph, in a child process
   whose peak resident memory is measured, with the matching on and again off (skipped with
   --quick);
7. MusicBrainz in bulk (benchmarks/musicbrainz_bench.py): a ListenBrainz export full of MBIDs
   against a fake MusicBrainz at 1 request/s and 20 ms latency, its requests and seconds, the
   catalogue compared with one lookup per MBID's; the 25,000-recording case is skipped with
   --quick;
8. a Koito export file of a 1,000,000-listen library (100,000 with --quick), built in SQL in a
   database of its own and written by a child process that reports its peak resident memory
   (benchmarks/export_bench.py);
9. merge-into-sqlite of the seed library, and of the large one, into a Koito >= 0.3 SQLite
   database: fresh, the same again, and one already holding as many listens of other entities
   (benchmarks/sqlite_merge_bench.py; each merge a child process with its peak memory);

each import also times its listening report: the aggregates the load records before it drops
the file's staging rows, plus the report asset that reads them;

then the ratios. Absolute numbers move with the machine's load; the ratios are what to quote.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

from benchmarks.child import run_child

ROOT = Path(__file__).resolve().parent.parent
EXPORT_LISTENS, EXPORT_LISTENS_QUICK = 1_000_000, 100_000
OUT_DIR = ROOT / "benchmarks" / "out"


def _fresh_database(admin_url: str, name: str) -> str:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    info = psycopg.conninfo.conninfo_to_dict(admin_url)
    info["dbname"] = name
    return psycopg.conninfo.make_conninfo(**info)


def _stage_seconds(url: str, file_key: str) -> dict[str, float]:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT stage_seconds FROM koito_import.import_files WHERE file_key = %s", (file_key,)
        ).fetchone()
    return row[0] if row else {}


def import_in_process(path: Path, url: str, config_dir: Path, dedupe: str = "on") -> dict:
    """Import one file through the import job in this process: the CLI without its start-up.

    ``dedupe``: KOITO_CROSS_SOURCE_DEDUPE for this import (on, the default, or off)."""
    import dagster as dg

    from koito_assets.commands.import_files import import_job_for, import_one

    os.environ["KOITO_CONFIG_DIR"] = str(config_dir)
    os.environ["KOITO_CROSS_SOURCE_DEDUPE"] = dedupe
    with dg.DagsterInstance.ephemeral() as instance:
        started = time.perf_counter()
        summary, code = import_one(path, instance, url, import_job_for(url))
        seconds = time.perf_counter() - started
    if code != 0:
        raise RuntimeError(f"import of {path.name} failed: {summary.error}")
    stages = _stage_seconds(url, path.name)
    insert_seconds = stages.pop("listens_insert", 0.0)  # part of listens_loaded, reported apart
    facts_seconds = stages.pop("report_facts", 0.0)  # part of listens_loaded too
    report_seconds = stages.pop("listening_report", 0.0)  # the report asset, after the load
    return {
        "seconds": round(seconds, 3),
        "records": summary.records,
        "listens_inserted": summary.listens_inserted,
        "cache_hits": summary.cache_hits,
        "records_per_second": round(summary.records / seconds, 1),
        "listens_per_second": round(summary.listens_inserted / seconds, 1),
        "stages": stages,
        "load_stage_listens_per_second": round(
            summary.listens_inserted / stages["listens_loaded"], 1
        )
        if stages.get("listens_loaded")
        else 0.0,
        # the INSERT … SELECT that writes the listens: what the COPY→INSERT ceiling is compared with
        "insert_seconds": insert_seconds,
        "insert_listens_per_second": round(summary.listens_inserted / insert_seconds, 1)
        if insert_seconds
        else 0.0,
        "report": {
            "facts_seconds": facts_seconds,
            "report_seconds": report_seconds,
            "seconds": round(facts_seconds + report_seconds, 3),
        },
        "dagster_overhead_seconds": round(seconds - sum(stages.values()) - report_seconds, 3),
    }


def per_scrobble(path: Path, url: str, sample: int) -> dict:
    """submit_listen one record at a time (Koito's shape of work, with our cache) on a sample."""
    from koito_assets.catalog.submit import submit_listen
    from koito_assets.enrich.musicbrainz import DisabledMusicBrainz
    from koito_assets.settings import Settings
    from koito_assets.sources import open_export
    from koito_assets.sources.record import Scrobble

    settings = Settings.from_env({"KOITO_DISABLE_MUSICBRAINZ": "true"})
    records = []
    for item in open_export(path, settings):
        if isinstance(item, Scrobble):
            records.append(item)
            if len(records) >= sample:
                break
    with psycopg.connect(url, autocommit=True) as conn:
        started = time.perf_counter()
        for record in records:
            submit_listen(conn, record, musicbrainz=DisabledMusicBrainz(), settings=settings)
        seconds = time.perf_counter() - started
    return {
        "records": len(records),
        "seconds": round(seconds, 3),
        "records_per_second": round(len(records) / seconds, 1),
    }


def _child_import(path: Path, url: str, config_dir: Path, dedupe: str = "on") -> dict:
    """Import in a fresh interpreter, which reports its own peak memory."""
    code = (
        "import json, sys; from pathlib import Path; from benchmarks.child import peak_rss_mb; "
        "from benchmarks.run import import_in_process; "
        "done = import_in_process(Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), sys.argv[4]); "
        "print(json.dumps({**done, 'peak_rss_mb': peak_rss_mb()}))"
    )
    return run_child(code, str(path), url, str(config_dir), dedupe)


def startup_seconds() -> float:
    """Interpreter + Dagster + our definitions: the fixed cost of a CLI import before any work."""
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import koito_assets.commands.import_files, koito_assets.definitions",
        ],
        cwd=ROOT,
        check=True,
    )
    return round(time.perf_counter() - started, 3)


def _row(label: str, value: object, target: str = "", ok: bool | None = None) -> str:
    mark = "" if ok is None else ("  ok" if ok else "  MISSED")
    return f"{label:<58} {value!s:>14}  {target}{mark}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="seed only (no large workload)")
    parser.add_argument(
        "--sample", type=int, default=5000, help="records for the per-scrobble path"
    )
    parser.add_argument("--json", type=Path, default=OUT_DIR / "latest.json")
    args = parser.parse_args(argv)

    from benchmarks import dedupe_bench
    from benchmarks.ceiling import measure_ceiling
    from benchmarks.export_bench import measure as measure_export
    from benchmarks.sqlite_merge_bench import measure as sqlite_merges
    from benchmarks.workload import generate
    from koito_assets.db.bootstrap import prepare_database
    from koito_assets.db.connection import embedded_server
    from koito_assets.settings import Settings

    work = Path(tempfile.mkdtemp(prefix="koito-bench-"))
    settings = Settings.from_env(
        {"KOITO_CONFIG_DIR": str(work / "koito"), "KOITO_DISABLE_MUSICBRAINZ": "true"}
    )
    os.environ["KOITO_DISABLE_MUSICBRAINZ"] = "true"
    results: dict[str, object] = {"quick": args.quick}
    external = os.environ.get("KOITO_DATABASE_URL")
    print("generating workloads…", flush=True)
    seed_file = generate("maloja", "seed", work / "exports", seed=1)
    large_file = None if args.quick else generate("maloja", "large", work / "exports-large", seed=1)

    with embedded_server(settings) if not external else _nullcontext() as server:
        admin = external or server.url()
        results["startup_seconds"] = startup_seconds()

        url = _fresh_database(admin, "koito_bench")
        prepare_database(url, settings)
        ceiling = measure_ceiling(url, 49_050)
        results["ceiling_seed"] = ceiling
        seed = import_in_process(seed_file, url, work / "koito")
        results["seed"] = seed
        again = import_in_process(seed_file, url, work / "koito")
        results["seed_again"] = again

        per_url = _fresh_database(admin, "koito_bench_per_scrobble")
        prepare_database(per_url, settings)
        results["per_scrobble"] = per_scrobble(seed_file, per_url, args.sample)
        results["sqlite_merge_seed"] = sqlite_merges(url, work / "sqlite-seed")

        print("one play, one listen: the load stage with and without the matching…", flush=True)
        results["dedupe_seed"] = dedupe_bench.seed_on_and_off(seed_file, admin, settings, work)
        results["dedupe_pairs"] = [
            dedupe_bench.overlapping_pair(admin, settings, work, 49_050, "spotify+lastfm")
        ]

        if large_file is not None:
            large_url = _fresh_database(admin, "koito_bench_large")
            prepare_database(large_url, settings)
            results["ceiling_large"] = measure_ceiling(large_url, 1_000_000)
            results["large"] = _child_import(large_file, large_url, work / "koito-large")
            large_off_url = _fresh_database(admin, "koito_bench_large_off")
            prepare_database(large_off_url, settings)
            results["large_dedupe_off"] = _child_import(
                large_file, large_off_url, work / "koito-large-off", dedupe="off"
            )
            results["sqlite_merge_large"] = sqlite_merges(large_url, work / "sqlite-large")

        from benchmarks import musicbrainz_bench

        results["musicbrainz"] = musicbrainz_bench.run(
            admin, work / "musicbrainz", quick=args.quick, latency_s=0.02, large_rate=20.0
        )

        export_url = _fresh_database(admin, "koito_bench_export")
        prepare_database(export_url, settings)
        listens = EXPORT_LISTENS_QUICK if args.quick else EXPORT_LISTENS
        results["export"] = measure_export(export_url, listens, work)

    upsert = ceiling["upsert_rows_per_s"]
    results["ratio_insert_over_upsert_ceiling"] = round(
        seed["insert_listens_per_second"] / upsert, 3
    )
    results["ratio_load_stage_over_upsert_ceiling"] = round(
        seed["load_stage_listens_per_second"] / upsert, 3
    )
    results["ratio_pipeline_over_upsert_ceiling"] = round(seed["listens_per_second"] / upsert, 3)
    results["ratio_pipeline_over_per_scrobble"] = round(
        seed["records_per_second"] / results["per_scrobble"]["records_per_second"], 1
    )
    _print_table(results)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2))
    print(f"\nwrote {args.json}")
    return 0


class _nullcontext:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def _print_table(r: dict) -> None:
    seed, again, per = r["seed"], r["seed_again"], r["per_scrobble"]
    c = r["ceiling_seed"]
    print()
    print(_row("interpreter + Dagster start-up (s)", r["startup_seconds"]))
    print(_row("ceiling: binary COPY (rows/s)", c["copy_rows_per_s"]))
    print(_row("ceiling: COPY→temp→INSERT ON CONFLICT (rows/s)", c["upsert_rows_per_s"]))
    staged = round(sum(seed["stages"].values()), 3)
    print(
        _row("seed: 49,050 scrobbles, parse to committed listens (s)", staged, "< 5 s", staged < 5)
    )
    print(_row("  the same with the Dagster run around it (s)", seed["seconds"]))
    for stage, seconds in sorted(
        seed["stages"].items(),
        key=lambda kv: list(
            ("raw_scrobbles", "unique_entity_keys", "resolved_lookup", "listens_loaded")
        ).index(kv[0]),
    ):
        print(_row(f"  {stage} (s)", seconds))
    print(_row("  Dagster run overhead (s)", seed["dagster_overhead_seconds"]))
    report = seed["report"]
    print(
        _row(
            "  listening report: aggregates in the load + report (s)",
            report["seconds"],
            "< 1 s",
            report["seconds"] < 1,
        )
    )
    print(
        _row(
            "    aggregates / report asset (s)",
            f"{report['facts_seconds']} / {report['report_seconds']}",
        )
    )
    print(_row("  records per second", seed["records_per_second"]))
    again_staged = round(sum(again["stages"].values()), 3)
    print(_row("seed again, all cache hits: stages (s)", again_staged, "< 2 s", again_staged < 2))
    print(_row("  the same with the Dagster run around it (s)", again["seconds"]))
    print(
        _row("  listens inserted", again["listens_inserted"], "= 0", again["listens_inserted"] == 0)
    )
    print(
        _row(
            f"per-scrobble submit_listen, {per['records']} records (rec/s)",
            per["records_per_second"],
        )
    )
    ratio = r["ratio_insert_over_upsert_ceiling"]
    print(_row("listen INSERT listens/s over COPY→INSERT ceiling", ratio, ">= 0.5", ratio >= 0.5))
    print(
        _row(
            "whole listens_loaded stage over the ceiling", r["ratio_load_stage_over_upsert_ceiling"]
        )
    )
    print(
        _row(
            "whole pipeline listens/s over COPY→INSERT ceiling",
            r["ratio_pipeline_over_upsert_ceiling"],
        )
    )
    speedup = r["ratio_pipeline_over_per_scrobble"]
    print(_row("pipeline over per-scrobble (records/s ratio)", speedup, ">= 20", speedup >= 20))
    _print_merges(r["sqlite_merge_seed"], "seed (49,050)", "< 5 s", 5)
    if "large" in r:
        large = r["large"]
        print(
            _row(
                "large: 1,000,000 scrobbles (s)", large["seconds"], "< 40 s", large["seconds"] < 40
            )
        )
        for stage, seconds in large["stages"].items():
            print(_row(f"  {stage} (s)", seconds))
        report = large["report"]
        print(
            _row(
                "  listening report: aggregates in the load + report (s)",
                report["seconds"],
                "< 10 s",
                report["seconds"] < 10,
            )
        )
        print(
            _row(
                "    aggregates / report asset (s)",
                f"{report['facts_seconds']} / {report['report_seconds']}",
            )
        )
        print(
            _row(
                "  peak resident memory (MB)",
                large["peak_rss_mb"],
                "< 1024",
                large["peak_rss_mb"] < 1024,
            )
        )
        cl = r["ceiling_large"]
        print(_row("  ceiling at 1M: COPY→temp→INSERT (rows/s)", cl["upsert_rows_per_s"]))
    from benchmarks import dedupe_bench

    for line in dedupe_bench.lines(r, _row):
        print(line)
    if "musicbrainz" in r:
        from benchmarks.musicbrainz_bench import print_table

        print_table(r["musicbrainz"])
    _print_export(r["export"], full=not r["quick"])
    if "sqlite_merge_large" in r:
        _print_merges(r["sqlite_merge_large"], "large (1,000,000)", "< 60 s", 60)


def _print_export(export: dict, *, full: bool) -> None:
    """The Koito export rows; the targets are for the full run's 1,000,000 listens."""
    rate, peak = export["listens_per_second"], export["peak_rss_mb"]
    speed = (">= 100,000", rate >= 100_000) if full else ("", None)
    memory = ("< 200", peak < 200) if full else ("", None)
    print(_row(f"Koito export: {export['listens']:,} listens (listens/s)", rate, *speed))
    print(_row("  file (MB), seconds", f"{export['bytes'] / 1e6:.0f}, {export['seconds']}"))
    print(_row("  the writer's own CPU (s)", export["client_cpu_seconds"]))
    print(_row("  peak resident memory (MB)", peak, *memory))


def _print_merges(merges: dict, label: str, target: str, limit: float) -> None:
    """merge-into-sqlite rows; the target holds for a merge that writes (not for "again")."""
    names = {
        "into_fresh": "into Koito's fresh database",
        "again": "the same again (everything there)",
        "into_full": "into a database already holding as many",
    }
    for name, text in names.items():
        merge = merges[name]
        seconds = merge["seconds"]["total"]
        check = (target, seconds < limit) if name != "again" else ("", None)
        print(_row(f"merge-into-sqlite {label} {text} (s)", seconds, *check))
        print(_row("  of which the backup (s)", merge["seconds"].get("backup", 0.0)))
        print(_row("  peak resident memory (MB)", merge["peak_rss_mb"]))


if __name__ == "__main__":
    sys.exit(main())
