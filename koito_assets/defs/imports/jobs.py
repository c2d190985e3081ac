"""The import job: the four import stages of one file, in one process."""

import dagster as dg

from koito_assets.defs.imports.assets import IMPORT_ASSETS

# In-process: a file's four stages run in the run's own process; the multiprocess executor
# would start a Python process per stage (≈1.5 s each), longer than most imports take.
import_job = dg.define_asset_job(
    name="import_export_file",
    selection=dg.AssetSelection.assets(*IMPORT_ASSETS),
    tags={"koito/kind": "import"},
    executor_def=dg.in_process_executor,
)
