"""The import job: the four import stages of one file, then its report and the library's
totals, in one process, and the merge into a Koito >= 0.3 SQLite database when KOITO_SQLITE_DB
names one (the merge step materialises nothing otherwise)."""

import dagster as dg

from koito_assets.defs.imports.assets import IMPORT_ASSETS
from koito_assets.defs.reports.assets import REPORT_ASSETS
from koito_assets.defs.sqlite_merge.assets import koito_sqlite_merged

IMPORT_JOB_ASSETS = [*IMPORT_ASSETS, *REPORT_ASSETS, koito_sqlite_merged]

# In-process: a file's stages run in the run's own process; the multiprocess executor would
# start a Python process per stage (≈1.5 s each), longer than most imports take. The report and
# the totals ride along: they take a fraction of a second, and every import leaves both behind.
import_job = dg.define_asset_job(
    name="import_export_file",
    selection=dg.AssetSelection.assets(*IMPORT_JOB_ASSETS),
    tags={"koito/kind": "import"},
    executor_def=dg.in_process_executor,
)
