"""The image backfill's job: ``images_backfilled``, then the library's totals, in the run's own
process (the totals then show the images found)."""

import dagster as dg

from koito_assets.defs.images.assets import images_backfilled
from koito_assets.defs.reports.assets import koito_library

images_job = dg.define_asset_job(
    name="backfill_images",
    selection=dg.AssetSelection.assets(images_backfilled, koito_library),
    tags={"koito/kind": "images"},
    executor_def=dg.in_process_executor,
)
