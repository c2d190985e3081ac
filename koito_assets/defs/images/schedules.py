"""Hourly, the image providers are asked about artists and releases that are due."""

import dagster as dg

from koito_assets.defs.images.jobs import images_job

images_schedule = dg.ScheduleDefinition(
    name="backfill_images_schedule",
    job=images_job,
    cron_schedule="0 * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Hourly: ask the image providers about artists and releases that are due.",
)
