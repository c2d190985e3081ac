"""The single Dagster entry point: ``koito_assets.definitions:defs``.

Each domain folder under ``defs/`` builds its own ``Definitions``; this module merges them and
binds the shared database resource.
"""

from __future__ import annotations

import dagster as dg

from koito_assets.db.resource import KoitoDatabase
from koito_assets.defs.images.definitions import defs as image_defs
from koito_assets.defs.imports.definitions import defs as import_defs

defs = dg.Definitions.merge(
    import_defs,
    image_defs,
    dg.Definitions(resources={"db": KoitoDatabase()}),
)
