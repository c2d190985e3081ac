"""What every domain shares: the settings, the Koito database, and how steps run.

Steps run in the run's own process (a process per step costs about 1.5 s, longer than most
imports take), so the handles ops pass each other (a file's ledger id, a few counts) stay in
memory.
"""

from __future__ import annotations

import dagster as dg

from koito_assets.db.resource import KoitoDatabase
from koito_assets.settings_resource import SettingsResource


@dg.definitions
def resources() -> dg.Definitions:
    settings = SettingsResource()
    return dg.Definitions(
        resources={
            "settings": settings,
            "db": KoitoDatabase(settings=settings),
            "io_manager": dg.mem_io_manager,
        },
        executor=dg.in_process_executor,
    )
