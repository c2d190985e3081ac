"""``koito-import images``: one image backfill run from the command line."""

from __future__ import annotations

import json

from koito_assets.db.bootstrap import prepare_database
from koito_assets.db.connection import connect, open_database
from koito_assets.defs.images.assets import run_backfill
from koito_assets.settings import Settings


def run_images_command(*, as_json: bool, download: bool, settings: Settings) -> int:
    with open_database(settings) as url:
        prepare_database(url, settings)
        with connect(url, autocommit=True) as conn:
            report = run_backfill(conn, settings, download=download, limit=100_000)
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
