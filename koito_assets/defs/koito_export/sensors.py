"""With KOITO_EXPORT_AFTER_IMPORT=true, every file whose listens were loaded is exported.

The sensor reads new ``listens_loaded`` materialisations after its cursor (every one, not only
the latest, so files finishing together are all exported) and asks for a ``koito_export`` run
of each partition. It starts at the newest materialisation it finds, so turning the setting on
exports files imported from then on, not the whole history (``export_koito_library`` does that).
While the setting is off the cursor still moves, for the same reason.
"""

import dagster as dg

from koito_assets.defs.koito_export.jobs import export_file_job
from koito_assets.settings_resource import SettingsResource

LISTENS_LOADED = dg.AssetKey("listens_loaded")
BATCH = 100  # materialisations read per tick


@dg.sensor(
    job=export_file_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="With KOITO_EXPORT_AFTER_IMPORT=true, export each file once its listens are "
    "loaded (koito_export).",
)
def export_after_import(context: dg.SensorEvaluationContext, settings: SettingsResource):
    instance = context.instance
    if context.cursor is None:
        newest = instance.fetch_materializations(LISTENS_LOADED, limit=1)
        return dg.SensorResult(
            skip_reason=dg.SkipReason("starting after the newest load"), cursor=newest.cursor
        )
    found = instance.fetch_materializations(
        LISTENS_LOADED, limit=BATCH, cursor=context.cursor, ascending=True
    )
    cursor = found.cursor if found.records else context.cursor
    if not settings.value.export_after_import:
        reason = "KOITO_EXPORT_AFTER_IMPORT is off: files are exported from the UI or the CLI"
        return dg.SensorResult(skip_reason=dg.SkipReason(reason), cursor=cursor)
    requests = [
        dg.RunRequest(partition_key=record.partition_key, run_key=f"export:{record.storage_id}")
        for record in found.records
        if record.partition_key
    ]
    if not requests:
        return dg.SensorResult(skip_reason=dg.SkipReason("no file loaded since"), cursor=cursor)
    return dg.SensorResult(run_requests=requests, cursor=cursor)
