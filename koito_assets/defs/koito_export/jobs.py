"""The Koito-export jobs: one import file's listens, and the whole library."""

import dagster as dg

from koito_assets.defs.koito_export.assets import koito_export, koito_library_export

export_file_job = dg.define_asset_job(
    name="export_koito_file",
    selection=dg.AssetSelection.assets(koito_export),
    tags={"koito/kind": "export"},
    executor_def=dg.in_process_executor,
)

export_library_job = dg.define_asset_job(
    name="export_koito_library",
    selection=dg.AssetSelection.assets(koito_library_export),
    tags={"koito/kind": "export"},
    executor_def=dg.in_process_executor,
)
