"""The image backfill's job: ``images_backfilled`` alone, in the run's own process."""

import dagster as dg

from koito_assets.defs.images.assets import images_backfilled

images_job = dg.define_asset_job(
    name="backfill_images",
    selection=dg.AssetSelection.assets(images_backfilled),
    tags={"koito/kind": "images"},
    executor_def=dg.in_process_executor,
)
