"""The single Dagster entry point: ``koito_assets.definitions:defs``.

Everything under ``defs/`` loads itself: each domain folder (``imports/``, ``images/``) holds
one file per kind (``assets.py``, ``checks.py``, ``jobs.py``, ``sensors.py``, ``schedules.py``)
and ``defs/resources.py`` binds what they share.
"""

from pathlib import Path

import dagster as dg


@dg.definitions
def defs() -> dg.Definitions:
    return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
