"""``koito-import import PATH...``: the import job, run in this process, file by file.

Each file becomes a partition and a run of the same job the sensor starts, recorded in the
persistent Dagster instance (the one `make run` serves), so its run, metadata, checks and
listening report show in the UI whether or not the webserver is up. A file that cannot be read
fails alone (nothing is written for it) and the others go on. The summary comes from the import
ledger.

A file is its content: two different files of one name are two partitions, and a file another
process is importing right now is waited for, then reported as imported by that run. The terminal
gets one line per file (a failure's reason on stderr, never Dagster's event log, which keeps the
details in the UI); ``--json`` carries the same reason in ``error``. While a file is imported, a
bar on the terminal follows it through its stages (records read, then each stage's own counts).
"""

from __future__ import annotations

import json
import sys
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path

import dagster as dg

from koito_assets.dagster_home import owner_tags, persistent_instance
from koito_assets.db.bootstrap import prepare_database
from koito_assets.db.connection import DatabaseUnreachable, connect, open_database
from koito_assets.db.resource import KoitoDatabase
from koito_assets.defs.imports import file_lock, ledger
from koito_assets.defs.imports.jobs import IMPORT_JOB_ASSETS, import_job
from koito_assets.defs.imports.ledger import ImportStatus
from koito_assets.defs.imports.partitions import export_files
from koito_assets.progress import listening
from koito_assets.settings import Settings
from koito_assets.settings_resource import SettingsResource
from koito_assets.sources.detect import detect
from koito_assets.sources.errors import ExportError, one_line

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
    # records whose play another source had already loaded, by that source (one play, one listen)
    same_play: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    partition: str | None = None  # the file's partition key in Dagster
    note: str | None = None  # e.g. imported by another run at the same time
    error: str | None = None  # why the file failed, on one line

    def line(self) -> str:
        name = one_line(Path(self.path).name, 200)  # a name may hold a newline
        if self.error:
            # The reason names the file itself when it comes from the reader.
            reason = self.error if self.error.startswith(f"{name}: ") else f"{name}: {self.error}"
            return f"koito-import: {reason}"
        skipped = sum(self.skipped.values())
        return (
            f"{name}: {self.format}, {self.records} records, {self.accepted} accepted, "
            f"{skipped} skipped, {self.listens_inserted} listens inserted, "
            f"{self.duplicates} duplicates ignored, {self.artists_created} artists / "
            f"{self.albums_created} albums / {self.tracks_created} tracks created, "
            f"{self.cache_hits} cache hits, {self.seconds:.2f} s"
            + self._same_play_text()
            + (f" ({self.note})" if self.note else "")
        )

    def _same_play_text(self) -> str:
        """The line's tail: "; 812 plays already loaded from spotify (800), lastfm (12)"."""
        if not self.same_play:
            return ""
        by_source = sorted(self.same_play.items(), key=lambda kv: -kv[1])
        sources = ", ".join(f"{source} ({count})" for source, count in by_source)
        return f"; {sum(self.same_play.values())} plays already loaded from {sources}"

    def as_json(self) -> dict:
        return asdict(self)


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
    summary.same_play = dict(row["same_play"] or {})
    return summary


def _failure_text(result: dg.ExecuteInProcessResult) -> str:
    """The reason a run failed, on one line: the innermost error's first line, with the
    exception's name only where it says something (a database error's class)."""
    failure = "the import run failed"
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.RUN_FAILURE and event.message:
            failure = event.message
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            error = event.step_failure_data.error
            while error.cause is not None and error.message.startswith("dagster._core.errors"):
                error = error.cause
            first = next((line for line in error.message.splitlines() if line.strip()), "")
            first = first.removeprefix("dagster._core.definitions.events.Failure: ")
            step = event.step_key or "a step"
            return one_line(f"{first.strip()} (in {step})", 500)
    return one_line(failure, 500)


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
    try:
        # What the file is, from its first bytes: a directory, FIFO, device, unreadable file or
        # no export we read stops here, before it is hashed (a sparse file of 100 GB would take
        # minutes) and before any partition or ledger row exists for it.
        detect(path)
        sha256 = ledger.content_sha256(path)
        version = ledger.FileVersion.of(path)
    except ExportError as exc:
        return FileSummary(path=str(path), error=str(exc)), EXIT_UNREADABLE
    except OSError as exc:
        error = f"{path.name}: cannot read: {exc.strerror or exc}"
        return FileSummary(path=str(path), error=error), EXIT_UNREADABLE
    with connect(url, autocommit=True) as conn:
        claim = ledger.claim_file(conn, path, sha256, version)
        before = ledger.get_file(conn, claim.file_key)
    waited = file_lock.hold(
        url,
        claim.file_id,
        on_wait=lambda: print(
            f"koito-import: {path.name}: another run is importing this file; waiting for it",
            file=sys.stderr,
        ),
    )
    try:
        with connect(url, autocommit=True) as conn:
            row = ledger.get_file(conn, claim.file_key)
            if waited and _finished_meanwhile(before, row):
                summary = _summary_from_ledger(path, row, time.perf_counter() - started)
                summary.partition = claim.file_key
                summary.note = "imported by another run at the same time"
                return summary, EXIT_OK
            ledger.start_run(conn, claim.file_key)  # no count of an earlier run is reported
        instance.add_dynamic_partitions(export_files.name, [claim.file_key])
        result = job.execute_in_process(
            partition_key=claim.file_key,
            instance=instance,
            tags={"koito/started_by": "koito-import", **owner_tags()},
            # The terminal gets one line per file; the run's events, errors and stack traces
            # are in the instance, for the UI.
            run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
            raise_on_error=False,
        )
    finally:
        file_lock.release(url, claim.file_id)
    with connect(url, autocommit=True) as conn:
        row = ledger.get_file(conn, claim.file_key)
    summary = _summary_from_ledger(path, row, time.perf_counter() - started)
    summary.partition = claim.file_key
    if result.success:
        return summary, EXIT_OK
    if row is not None and row["status"] == ImportStatus.FAILED:
        summary.error = row["error"]
        return summary, EXIT_UNREADABLE  # raw_scrobbles refused the file: nothing was staged
    summary.error = _failure_text(result)
    return summary, EXIT_FAILED


def _finished_meanwhile(before: dict | None, after: dict | None) -> bool:
    """Whether the run we waited for completed this file (it finished after we started)."""
    if after is None or after["status"] != ImportStatus.COMPLETE:
        return False
    return before is None or before["completed_at"] != after["completed_at"]


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
            bar = (
                FileProgressBar(_label(path, number, len(paths)), sys.stderr) if show_bar else None
            )
            try:
                with listening(bar) if bar is not None else nullcontext():
                    summary, code = import_one(path, instance, url, job)
            except DatabaseUnreachable:
                raise
            except Exception as exc:  # a bug or the database refusing: this file fails alone
                error = one_line(f"{type(exc).__name__}: {exc}", 500)
                summary, code = FileSummary(path=str(path), error=error), EXIT_FAILED
            finally:
                if bar is not None:
                    bar.done()
            summaries.append(summary)
            exit_code = max(exit_code, code) if code != EXIT_OK else exit_code
            if code != EXIT_OK:
                print(summary.line(), file=sys.stderr)  # with --json too: one line each
            elif not as_json:
                print(summary.line(), file=sys.stdout)
    if as_json:
        print(json.dumps({"files": [s.as_json() for s in summaries]}, indent=2))
    return exit_code
