"""The folder sensor: every new or changed file in KOITO_CONFIG_DIR/import becomes a partition and a run.

A tick only lists and stats the folder and asks the ledger about those names in one query: no
parsing, no hashing. A file is identified by (name, size, mtime): an unchanged file is never
requested twice (the run key says so), a changed one is imported again. There is no cursor to
grow: the ledger and the run keys remember what was done.
"""


import os
from pathlib import Path

import dagster as dg

from koito_assets.db.resource import KoitoDatabase
from koito_assets.defs.imports import ledger
from koito_assets.defs.imports.jobs import import_job
from koito_assets.defs.imports.partitions import export_files
from koito_assets.settings import get_settings


def list_export_files(folder: Path) -> dict[str, ledger.FileVersion]:
    """Regular, non-hidden files directly in ``folder`` with their size and mtime."""
    found: dict[str, ledger.FileVersion] = {}
    try:
        entries = os.scandir(folder)
    except FileNotFoundError:
        return found
    with entries:
        for entry in entries:
            if entry.name.startswith(".") or not entry.is_file(follow_symlinks=False):
                continue
            stat = entry.stat(follow_symlinks=False)
            found[entry.name] = ledger.FileVersion(stat.st_size, stat.st_mtime_ns)
    return found


def files_to_import(
    on_disk: dict[str, ledger.FileVersion],
    known: dict[str, tuple[ledger.FileVersion, str]],
) -> list[str]:
    """Names whose content the ledger has not seen: new files, or files changed since."""
    return sorted(
        name for name, version in on_disk.items()
        if name not in known or known[name][0] != version
    )


def run_key(name: str, version: ledger.FileVersion) -> str:
    return f"{name}:{version.size_bytes}:{version.mtime_ns}"


@dg.sensor(
    job=import_job,
    minimum_interval_seconds=10,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Import every new or changed export file dropped into KOITO_CONFIG_DIR/import.",
)
def import_folder_sensor(context: dg.SensorEvaluationContext, db: KoitoDatabase):
    on_disk = list_export_files(get_settings().import_dir)
    if not on_disk:
        return dg.SkipReason("the import folder is empty")
    with db.connection() as conn:
        known = ledger.known_versions(conn, list(on_disk))
    names = files_to_import(on_disk, known)
    if not names:
        return dg.SkipReason(f"{len(on_disk)} file(s) in the import folder, none new or changed")
    return dg.SensorResult(
        dynamic_partitions_requests=[export_files.build_add_request(names)],
        run_requests=[
            dg.RunRequest(partition_key=name, run_key=run_key(name, on_disk[name])) for name in names
        ],
    )
