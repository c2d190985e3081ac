"""The single Dagster entry point: ``koito_assets.definitions:defs``.

Each domain folder under ``defs/`` builds its own ``Definitions``; this module merges them and
binds the shared resources.
"""

from __future__ import annotations

import dagster as dg

from koito_assets.db.resource import KoitoDatabase


def build_defs() -> dg.Definitions:
    domains = []
    try:
        from koito_assets.defs.imports.definitions import defs as import_defs

        domains.append(import_defs)
    except ModuleNotFoundError:  # pragma: no cover - domain not built yet
        pass
    return dg.Definitions.merge(
        *domains,
        dg.Definitions(resources={"db": KoitoDatabase()}),
    )


defs = build_defs()
