"""The import domain's Dagster definitions."""

import dagster as dg

from koito_assets.defs.imports.assets import IMPORT_ASSETS
from koito_assets.defs.imports.jobs import import_job
from koito_assets.defs.imports.sensors import import_folder_sensor

defs = dg.Definitions(assets=IMPORT_ASSETS, jobs=[import_job], sensors=[import_folder_sensor])
