"""``koito-import import PATH...``: the import job, run in this process, file by file.

Each file becomes a partition and a run of the same job the sensor starts, recorded in the
persistent Dagster instance (the one `make run` serves), so its run, metadata, checks and
listening report show in the UI whether or not the webserver is up. A file that cannot be read
fails alone (nothing is written for it) and the others go on. On a terminal a bar follows the
file through its stages (records read, then each stage's own counts); the summary comes from
the import ledger.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import dagster as dg

from koito_assets.dagster_home import owner_tags, persistent_instance
from koito_assets.db.bootstrap import prepare_database
from koito_assets.db.connection import connect, open_database
from koito_assets.db.resource import KoitoDatabase
from koito_assets.defs.imports import ledger
from koito_assets.defs.imports.jobs import IMPORT_JOB_ASSETS, import_job
from koito_assets.defs.imports.partitions import export_files
from koito_assets.progress import listening
from koito_assets.settings import Settings
from koito_assets.settings_resource import SettingsResource

EXIT_OK, EXIT_FAILED, EXIT_UNREADABLE = 0, 1, 2


@dataclass
class FileSummary:
    path: str
    format: str | None = None
    records: int = 0
    accepted: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    listens_inserted: int = 0
    duplicates: int = 0
    artists_created: int = 0
    albums_created: int = 0
    tracks_created: int = 0
    cache_hits: int = 0
    seconds: float = 0.0
    error: str | None = None

    def line(self) -> str:
        name = Path(self.path).name
        if self.error:
            return f"{name}: FAILED: {self.error}"
        skipped = sum(self.skipped.values())
        return (
            f"{name}: {self.format}, {self.records} records, {self.accepted} accepted, "
            f"{skipped} skipped, {self.listens_inserted} listens inserted, "
            f"{self.duplicates} duplicates ignored, {self.artists_created} artists / "
            f"{self.albums_created} albums / {self.tracks_created} tracks created, "
            f"{self.cache_hits} cache hits, {self.seconds:.2f} s"
        )

    def as_json(self) -> dict:
        data = asdict(self)
        data.pop("error")
        return data


def _summary_from_ledger(path: Path, row: dict | None, seconds: float) -> FileSummary:
    summary = FileSummary(path=str(path), seconds=round(seconds, 3))
    if row is None:
        return summary
    summary.format = row["format"]
    for name in (
        "records",
        "accepted",
        "listens_inserted",
        "duplicates",
        "artists_created",
        "albums_created",
        "tracks_created",
        "cache_hits",
    ):
        setattr(summary, name, row[name] or 0)
    summary.skipped = dict(row["skipped"] or {})
    return summary


def _failure_text(result: dg.ExecuteInProcessResult) -> str:
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            error = event.step_failure_data.error
            while error.cause is not None and error.message.startswith("dagster._core.errors"):
                error = error.cause
            return error.message.strip().splitlines()[-1]
    return "the import run failed"


def import_job_for(url: str) -> dg.JobDefinition:
    """The sensor's import job, bound to the database this command opened."""
    settings = SettingsResource()
    resources = {
        "settings": settings,
        "db": KoitoDatabase(url=url, settings=settings),
        "io_manager": dg.mem_io_manager,
    }
    definitions = dg.Definitions(assets=IMPORT_JOB_ASSETS, jobs=[import_job], resources=resources)
    return definitions.resolve_job_def(import_job.name)


def import_one(
    path: Path, instance: dg.DagsterInstance, url: str, job: dg.JobDefinition
) -> tuple[FileSummary, int]:
    """Materialise the import graph for one file; return its summary and exit code."""
    started = time.perf_counter()
    if not path.is_file():
        summary = FileSummary(path=str(path), error=f"{path}: no such file")
        return summary, EXIT_UNREADABLE
    file_key = path.name
    with connect(url, autocommit=True) as conn:
        ledger.register_file(conn, file_key, path)
    instance.add_dynamic_partitions(export_files.name, [file_key])
    result = job.execute_in_process(
        partition_key=file_key,
        instance=instance,
        tags={"koito/started_by": "koito-import", **owner_tags()},
        # the terminal gets one summary line per file, not Dagster's event log
        run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}},
        raise_on_error=False,
    )
    with connect(url, autocommit=True) as conn:
        row = ledger.get_file(conn, file_key)
    summary = _summary_from_ledger(path, row, time.perf_counter() - started)
    if result.success:
        return summary, EXIT_OK
    if row is not None and row["status"] == "failed":
        summary.error = row["error"]
        return summary, EXIT_UNREADABLE  # raw_scrobbles refused the file: nothing was staged
    summary.error = _failure_text(result)
    return summary, EXIT_FAILED


def _label(path: Path, number: int, count: int) -> str:
    name = path.name if len(path.name) <= 40 else path.name[:39] + "…"
    return name if count == 1 else f"{name} [{number}/{count}]"


def run_import_command(paths: list[str], *, as_json: bool, settings: Settings) -> int:
    from koito_assets.commands.progress_bar import FileProgressBar

    summaries: list[FileSummary] = []
    exit_code = EXIT_OK
    with open_database(settings) as url, persistent_instance(settings, url) as instance:
        prepare_database(url, settings)
        job = import_job_for(url)
        show_bar = sys.stderr.isatty() and not as_json
        for number, raw in enumerate(paths, 1):
            path = Path(raw).expanduser().absolute()
            bar = None
            if show_bar:
                bar = FileProgressBar(path.name, _label(path, number, len(paths)), sys.stderr)
                with listening(bar):
                    summary, code = import_one(path, instance, url, job)
                bar.done()
            else:
                summary, code = import_one(path, instance, url, job)
            summaries.append(summary)
            exit_code = max(exit_code, code) if code != EXIT_OK else exit_code
            if not as_json:
                print(summary.line(), file=sys.stdout if code == EXIT_OK else sys.stderr)
    if as_json:
        print(json.dumps({"files": [s.as_json() for s in summaries]}, indent=2))
    return exit_code
