"""The folder sensor: each new or changed file in KOITO_CONFIG_DIR/import is a partition and a run.

A tick lists and stats the folder and asks the ledger about those paths in one query. A file the
ledger has seen at that path with that size and mtime is never requested twice (the run key says
so); a new or changed one is hashed, once, because a file is its content: it is claimed in the
ledger (see ``ledger.claim_files``), which gives its partition key: its name, or its name with
a short content hash when a different file of that name came first (two Spotify downloads). There
is no cursor to grow: the ledger and the run keys remember what was done.

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
from koito_assets.sources.errors import ExportError


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
    on_disk: dict[Path, ledger.FileVersion], known: dict[Path, ledger.KnownFile]
) -> list[Path]:
    """Paths whose content the ledger has not seen there: new files, or files changed since."""
    return sorted(
        path
        for path, version in on_disk.items()
        if path not in known or known[path].version != version
    )


def stalled_imports(
    on_disk: dict[Path, ledger.FileVersion], known: dict[Path, ledger.KnownFile], now: datetime
) -> list[Path]:
    """Unchanged files whose import stopped unfinished more than STALE_AFTER ago."""
    return sorted(
        path
        for path, version in on_disk.items()
        if path in known
        and known[path].version == version
        and known[path].status not in ledger.FINISHED
        and known[path].updated_at < now - STALE_AFTER
    )


def run_key(key: str, version: ledger.FileVersion, resume_of: datetime | None = None) -> str:
    """One run per partition and file version (and per resumption of a stalled one)."""
    run = f"{key}:{version.size_bytes}:{version.mtime_ns}"
    return run if resume_of is None else f"{run}:resume-{int(resume_of.timestamp())}"


def claim_new_files(
    conn, paths: list[Path], on_disk: dict[Path, ledger.FileVersion]
) -> dict[Path, ledger.Claim]:
    """Hash each new or changed file and claim it; a file that vanished or cannot be read is
    left for the next tick (or for its run to report)."""
    hashed = []
    for path in paths:
        try:
            hashed.append((path, ledger.content_sha256(path), on_disk[path]))
        except (ExportError, OSError):
            continue
    return ledger.claim_files(conn, hashed)


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
    folder = settings.value.import_dir
    on_disk = {folder / name: version for name, version in list_export_files(folder).items()}
    if not on_disk:
        return dg.SkipReason("the import folder is empty")
    with db.connection() as conn:
        known = ledger.known_versions(conn, list(on_disk))
        claims = claim_new_files(conn, files_to_import(on_disk, known), on_disk)
    requests: dict[str, dg.RunRequest] = {}  # one run per partition a tick
    for path, claim in claims.items():
        requests.setdefault(
            claim.file_key,
            dg.RunRequest(
                partition_key=claim.file_key, run_key=run_key(claim.file_key, on_disk[path])
            ),
        )
    for path in stalled_imports(on_disk, known, datetime.now(UTC)):
        key = known[path].file_key
        if key not in requests and not _partition_running(context.instance, key):
            requests[key] = dg.RunRequest(
                partition_key=key, run_key=run_key(key, on_disk[path], known[path].updated_at)
            )
    if not requests:
        return dg.SkipReason(f"{len(on_disk)} file(s) in the import folder, none new or changed")
    return dg.SensorResult(
        dynamic_partitions_requests=[export_files.build_add_request(list(requests))],
        run_requests=list(requests.values()),
    )
