"""``koito-import images``: one image backfill run from the command line.

The library's totals afterwards are recorded as a ``koito_library`` materialisation in the
persistent Dagster instance, so its plots show what the run found.
"""

from __future__ import annotations

import json

from koito_assets.dagster_home import persistent_instance
from koito_assets.db.bootstrap import prepare_database
from koito_assets.db.connection import connect, open_database
from koito_assets.defs.images.assets import run_backfill
from koito_assets.defs.reports.library import library_totals, record_library_totals
from koito_assets.settings import Settings


def run_images_command(*, as_json: bool, download: bool, settings: Settings) -> int:
    with open_database(settings) as url:
        prepare_database(url, settings)
        with connect(url, autocommit=True) as conn:
            report = run_backfill(conn, settings, download=download, limit=100_000)
            totals = library_totals(conn)
        with persistent_instance(settings, url) as instance:
            record_library_totals(instance, totals)
    if as_json:
        print(json.dumps({k: v for k, v in report.as_json().items() if k != "seconds"}, indent=2))
    else:
        print(
            f"images: {report.checked} checked, {report.found} found, {report.missed} missed, "
            f"{report.failed} failed ({report.seconds:.1f} s)"
        )
        for provider, counts in sorted(report.by_provider.items()):
            print(f"  {provider}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return 0
