"""The images domain's Dagster definitions: the backfill asset, its job and its hourly schedule."""

import dagster as dg

from koito_assets.defs.images.assets import images_backfilled

images_job = dg.define_asset_job(
    name="backfill_images",
    selection=dg.AssetSelection.assets(images_backfilled),
    tags={"koito/kind": "images"},
    executor_def=dg.in_process_executor,
)

images_schedule = dg.ScheduleDefinition(
    name="backfill_images_schedule",
    job=images_job,
    cron_schedule="0 * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Hourly: ask the image providers about artists and releases that are due.",
)

defs = dg.Definitions(assets=[images_backfilled], jobs=[images_job], schedules=[images_schedule])
