"""The folder sensor: every new or changed file in KOITO_CONFIG_DIR/import becomes a partition and a run.

A tick only lists and stats the folder and asks the ledger about those names in one query: no
parsing, no hashing. A file is identified by (name, size, mtime): an unchanged file is never
requested twice (the run key says so), a changed one is imported again. There is no cursor to
grow: the ledger and the run keys remember what was done.

One exception: an import that stopped half-way (its process killed, the machine restarted)
leaves its ledger row unfinished and untouched. Once that row is STALE_AFTER old and no run of
the partition is in progress, the file is requested again under a new run key.
"""

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg

from koito_assets.db.resource import KoitoDatabase
from koito_assets.defs.imports import ledger
from koito_assets.defs.imports.jobs import import_job
from koito_assets.defs.imports.partitions import export_files
from koito_assets.settings_resource import SettingsResource


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


STALE_AFTER = timedelta(minutes=15)
# queued runs count too: they will get to the file
UNFINISHED_RUNS = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def files_to_import(
    on_disk: dict[str, ledger.FileVersion], known: dict[str, ledger.KnownFile]
) -> list[str]:
    """Names whose content the ledger has not seen: new files, or files changed since."""
    return sorted(
        name
        for name, version in on_disk.items()
        if name not in known or known[name].version != version
    )


def stalled_imports(
    on_disk: dict[str, ledger.FileVersion], known: dict[str, ledger.KnownFile], now: datetime
) -> list[str]:
    """Unchanged files whose import stopped unfinished more than STALE_AFTER ago."""
    return sorted(
        name
        for name, version in on_disk.items()
        if name in known
        and known[name].version == version
        and known[name].status not in ledger.FINISHED
        and known[name].updated_at < now - STALE_AFTER
    )


def run_key(name: str, version: ledger.FileVersion, resume_of: datetime | None = None) -> str:
    key = f"{name}:{version.size_bytes}:{version.mtime_ns}"
    return key if resume_of is None else f"{key}:resume-{int(resume_of.timestamp())}"


def _partition_running(instance: dg.DagsterInstance, name: str) -> bool:
    records = instance.get_run_records(
        dg.RunsFilter(tags={"dagster/partition": name}, statuses=UNFINISHED_RUNS),
        limit=1,
    )
    return bool(records)


@dg.sensor(
    job=import_job,
    minimum_interval_seconds=10,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Import every new or changed export file dropped into KOITO_CONFIG_DIR/import.",
)
def import_folder_sensor(
    context: dg.SensorEvaluationContext, db: KoitoDatabase, settings: SettingsResource
):
    on_disk = list_export_files(settings.value.import_dir)
    if not on_disk:
        return dg.SkipReason("the import folder is empty")
    with db.connection() as conn:
        known = ledger.known_versions(conn, list(on_disk))
    requests = [
        dg.RunRequest(partition_key=name, run_key=run_key(name, on_disk[name]))
        for name in files_to_import(on_disk, known)
    ]
    requests += [
        dg.RunRequest(
            partition_key=name, run_key=run_key(name, on_disk[name], known[name].updated_at)
        )
        for name in stalled_imports(on_disk, known, datetime.now(UTC))
        if not _partition_running(context.instance, name)
    ]
    if not requests:
        return dg.SkipReason(f"{len(on_disk)} file(s) in the import folder, none new or changed")
    return dg.SensorResult(
        dynamic_partitions_requests=[
            export_files.build_add_request([r.partition_key for r in requests])
        ],
        run_requests=requests,
    )
