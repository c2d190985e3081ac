"""``listening_report`` (per file) and ``koito_library`` (the whole library).

Both are cheap reads: the report reads the facts the load recorded when it finished the file
(``facts.py``), the library counts a few tables. Both run inside the import job after the load,
and ``koito_library`` also inside the image backfill job, so every import and image run leaves
a report and a point on the library's plots.
"""

import time

import dagster as dg

from koito_assets.db.resource import DB_POOL, KoitoDatabase
from koito_assets.defs.imports import ledger
from koito_assets.defs.imports.ops import transient_database_errors
from koito_assets.defs.imports.partitions import export_files
from koito_assets.defs.reports.library import library_metadata, library_totals
from koito_assets.defs.reports.listening import ReportUnavailable, build_report, report_metadata
from koito_assets.progress import stage_progress

GROUP = "koito_reports"


@dg.asset(
    partitions_def=export_files,
    group_name=GROUP,
    kinds={"postgres"},
    pool=DB_POOL,
    deps=[dg.AssetKey("listens_loaded")],
    description="The file's history at a glance: listens per month (chart and table), the "
    "months without listens inside its span, top artists and tracks, what was already there.",
)
def listening_report(context: dg.AssetExecutionContext, db: KoitoDatabase) -> dg.MaterializeResult:
    file_key = context.partition_key
    started = time.perf_counter()
    progress = stage_progress(context, "writing the report", unit="months")
    with transient_database_errors(context), db.connection() as conn:
        try:
            report = build_report(conn, file_key)
        except ReportUnavailable as exc:
            raise dg.Failure(description=str(exc)) from None
        metadata = report_metadata(report)
        seconds = time.perf_counter() - started
        with conn.transaction():
            ledger.update_file(conn, file_key, stage="listening_report", seconds=seconds)
    progress.finish(len(report.span))
    empty = sum(1 for _, count in report.span if count == 0)
    if empty:
        context.log.warning(
            f"{file_key}: {empty} month(s) without listens between the first and the last "
            "listen; an incomplete download looks like this"
        )
    metadata["seconds"] = dg.MetadataValue.float(round(seconds, 3))
    return dg.MaterializeResult(metadata=metadata)


@dg.asset(
    group_name=GROUP,
    kinds={"postgres"},
    pool=DB_POOL,
    deps=[dg.AssetKey("listens_loaded"), dg.AssetKey("images_backfilled")],
    description="The library's totals (listens, artists, releases, tracks, with and without "
    "images), refreshed by every import and image run: see its plots.",
)
def koito_library(context: dg.AssetExecutionContext, db: KoitoDatabase) -> dg.MaterializeResult:
    started = time.perf_counter()
    with transient_database_errors(context), db.connection() as conn:
        totals = library_totals(conn)
    metadata = library_metadata(totals)
    metadata["seconds"] = dg.MetadataValue.float(round(time.perf_counter() - started, 3))
    context.log.info(
        f"library: {totals.listens:,} listens, {totals.artists:,} artists, "
        f"{totals.releases:,} releases, {totals.tracks:,} tracks"
    )
    return dg.MaterializeResult(metadata=metadata)


REPORT_ASSETS = [listening_report, koito_library]
