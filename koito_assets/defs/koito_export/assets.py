"""Koito export files in KOITO_CONFIG_DIR/export/, for a Koito >= 0.3 that already runs.

``koito_export`` is partitioned like the import assets: one file's added listens, downstream of
``listens_loaded``. It runs after an import only when KOITO_EXPORT_AFTER_IMPORT is true (the
``export_after_import`` sensor); any partition can be materialised from the UI.
``koito_library_export`` writes every listen of the database. Either file goes into Koito's
``import/`` folder as it is (see the README); each is replaced whole when materialised again.
"""

import dagster as dg
import psycopg
import psycopg_pool

from koito_assets.db.connection import DatabaseUnreachable
from koito_assets.db.resource import DB_POOL, KoitoDatabase
from koito_assets.defs.imports.partitions import export_files
from koito_assets.settings_resource import SettingsResource
from koito_assets.to_koito.export_file import (
    ExportResult,
    ExportScope,
    ExportTargetError,
    UnknownImportFile,
    koito_file_name,
    write_export,
)

GROUP = "koito_export"
TRANSIENT_RETRIES = 3


def _export(
    context: dg.AssetExecutionContext,
    db: KoitoDatabase,
    settings: SettingsResource,
    scope: ExportScope,
) -> dg.MaterializeResult:
    folder = settings.value.export_dir
    target = folder / koito_file_name(scope.label())
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with db.connection() as conn:
            result = write_export(conn, target, scope)
    except (ExportTargetError, UnknownImportFile) as exc:
        raise dg.Failure(description=str(exc)) from None
    except OSError as exc:
        raise dg.Failure(description=f"cannot write {folder}: {exc.strerror or exc}") from None
    except (psycopg.OperationalError, psycopg_pool.PoolTimeout, DatabaseUnreachable) as exc:
        context.log.warning(f"database unavailable ({exc}); asking for a retry")
        raise dg.RetryRequested(max_retries=TRANSIENT_RETRIES, seconds_to_wait=2) from exc
    context.log.info(
        f"{result.path.name}: {result.listens} listens, {result.bytes} bytes "
        f"in {result.seconds:.2f} s"
    )
    return dg.MaterializeResult(metadata=_metadata(result))


def _metadata(result: ExportResult) -> dict[str, object]:
    return {
        "path": dg.MetadataValue.path(str(result.path)),
        "listens": result.listens,
        "size_bytes": result.bytes,
        "skipped": sum(result.skipped.values()),
        "skipped_by_reason": dg.MetadataValue.json(dict(result.skipped)),
        "repaired": dg.MetadataValue.json(dict(result.repaired)),
        "seconds": round(result.seconds, 3),
    }


@dg.asset(
    partitions_def=export_files,
    group_name=GROUP,
    kinds={"postgres", "json"},
    pool=DB_POOL,
    deps=[dg.AssetKey("listens_loaded")],
    description="The listens this file added, as a Koito export file in KOITO_CONFIG_DIR/export/ "
    "(for Koito's import/ folder).",
)
def koito_export(
    context: dg.AssetExecutionContext, db: KoitoDatabase, settings: SettingsResource
) -> dg.MaterializeResult:
    return _export(context, db, settings, ExportScope(file_key=context.partition_key))


@dg.asset(
    group_name=GROUP,
    kinds={"postgres", "json"},
    pool=DB_POOL,
    deps=[dg.AssetKey("listens_loaded")],
    description="Every listen of the database, as one Koito export file in "
    "KOITO_CONFIG_DIR/export/ (for Koito's import/ folder).",
)
def koito_library_export(
    context: dg.AssetExecutionContext, db: KoitoDatabase, settings: SettingsResource
) -> dg.MaterializeResult:
    return _export(context, db, settings, ExportScope())
