"""``koito_sqlite_merged``: each import also lands in a Koito >= 0.3 SQLite database, if asked.

Off by default. With KOITO_SQLITE_DB naming Koito's database file (koito.db), every import
file's run ends by merging the listens that file added into it
(koito_assets/to_koito/sqlite_merge.py), with a backup first unless KOITO_SQLITE_BACKUP=false. A
file imported before our database recorded which listens a file added is merged whole-library
instead (what Koito already has costs a look and changes nothing). Without the setting the step
materialises nothing. Koito must be stopped while it runs: a database in use is asked again a
few times (it may be another file's merge finishing), then the step fails saying so; the import
itself is already complete in our database, and re-materialising the partition merges it later.
"""

from collections.abc import Iterator

import dagster as dg
import psycopg

from koito_assets.db.resource import DB_POOL, KoitoDatabase
from koito_assets.defs.imports.partitions import export_files
from koito_assets.settings_resource import SettingsResource
from koito_assets.to_koito.export_file import UnknownImportFile, recorded_file_id
from koito_assets.to_koito.sqlite_merge import MergeReport, merge_into_sqlite
from koito_assets.to_koito.sqlite_source import Selection
from koito_assets.to_koito.sqlite_target import DatabaseInUse, SqliteRefused

GROUP = "koito_sqlite"
IN_USE_RETRIES = 3
IN_USE_WAIT_SECONDS = 20
LOCK_TIMEOUT_SECONDS = 3.0


def _table(headers: list[str], rows: list[list[object]]) -> dg.MetadataValue:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in rows]
    return dg.MetadataValue.md("\n".join(lines))


def report_metadata(report: MergeReport) -> dict[str, object]:
    """The merge report as asset metadata: counts by kind, listens, the backup, timings."""
    data = report.as_json()
    listens = data["listens"]
    return {
        "database": dg.MetadataValue.path(report.database),
        "backup": dg.MetadataValue.path(report.backup) if report.backup else "none",
        "entities": _table(
            ["kind", "matched", "created"],
            [[kind, data[kind]["matched"], data[kind]["created"]] for kind in _KINDS],
        ),
        "artists_created": data["artists"]["created"],
        "releases_created": data["releases"]["created"],
        "tracks_created": data["tracks"]["created"],
        "listens_selected": listens["selected"],
        "listens_added": listens["added"],
        "listens_already_present": listens["already_present"],
        "listens_skipped": dg.MetadataValue.json(listens["skipped"]),
        "durations_filled": data["durations_filled"],
        "seconds": data["seconds"]["total"],
        "step_seconds": dg.MetadataValue.json(data["step_seconds"]),
    }


_KINDS = ("artists", "releases", "tracks")


def _file_selection(conn: psycopg.Connection, context: dg.AssetExecutionContext) -> Selection:
    """The partition's file's listens; every listen when they were not recorded."""
    try:
        recorded_file_id(conn, context.partition_key)
    except UnknownImportFile as exc:
        context.log.warning(f"{exc}; merging every listen instead")
        return Selection()
    return Selection(file_key=context.partition_key)


@dg.asset(
    partitions_def=export_files,
    group_name=GROUP,
    kinds={"sqlite"},
    pool=DB_POOL,
    deps=[dg.AssetKey("listens_loaded")],
    output_required=False,
    description="Merge what we imported into the Koito >= 0.3 SQLite database KOITO_SQLITE_DB "
    "names (off when unset; Koito must be stopped), with a backup first.",
)
def koito_sqlite_merged(
    context: dg.AssetExecutionContext, db: KoitoDatabase, settings: SettingsResource
) -> Iterator[dg.MaterializeResult]:
    config = settings.value
    if config.sqlite_db is None:
        context.log.info("KOITO_SQLITE_DB is not set: no Koito SQLite database to keep in step")
        return
    try:
        with db.connection() as conn:
            selection = _file_selection(conn, context)
            report = merge_into_sqlite(
                conn,
                config.sqlite_db,
                selection,
                backup=config.sqlite_backup,
                lock_timeout=LOCK_TIMEOUT_SECONDS,
            )
    except DatabaseInUse as exc:
        context.log.warning(f"{exc}; asking again in {IN_USE_WAIT_SECONDS} s")
        raise dg.RetryRequested(
            max_retries=IN_USE_RETRIES, seconds_to_wait=IN_USE_WAIT_SECONDS
        ) from exc
    except SqliteRefused as exc:
        raise dg.Failure(description=str(exc)) from None
    for line in report.lines():
        context.log.info(line)
    yield dg.MaterializeResult(metadata=report_metadata(report))
