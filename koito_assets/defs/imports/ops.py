"""The steps of one file's import, as Dagster ops: what a run's timeline shows.

    locate_file → stage_records          (raw_scrobbles: the COPY batch insert into staging)
    look_up_cache                        (unique_entity_keys: distinct keys, hits and misses)
    create_entities                      (resolved_lookup: set-based entity creation)
    insert_listens → finish_file         (listens_loaded: the batch insert, checks, lifecycle)

Ops pass only small handles (the file's ledger id, a few counts): the records stay in
PostgreSQL. Every step is idempotent for its partition (delete-then-insert inside one
transaction). Transient database errors (connection lost, server restarting) ask Dagster for a
retry; anything else fails the step with the reason.
"""

import hashlib
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import dagster as dg
import psycopg
import psycopg_pool
from pydantic_core import from_json

from koito_assets.catalog.resolve import ResolveResult, resolve_keys
from koito_assets.db.connection import DatabaseUnreachable
from koito_assets.db.resource import DB_POOL, KoitoDatabase
from koito_assets.db.row_checks import without_row_checks
from koito_assets.db.users import IMPORT_USER_ID
from koito_assets.defs.imports import checks, ledger
from koito_assets.defs.imports.queries import load_sql
from koito_assets.defs.imports.staging import decode_record, stage_export
from koito_assets.defs.reports.facts import record_file_facts
from koito_assets.enrich.musicbrainz import musicbrainz_from_settings
from koito_assets.enrich.musicbrainz_asker import Progress
from koito_assets.progress import StageProgress, stage_progress
from koito_assets.settings import Settings
from koito_assets.settings_resource import SettingsResource
from koito_assets.sources import open_export
from koito_assets.sources.errors import ExportError

UNRESOLVABLE = "unresolvable"
TRANSIENT_RETRIES = 3


@contextmanager
def transient_database_errors(context: dg.OpExecutionContext) -> Iterator[None]:
    """Turn a lost connection into a Dagster retry; every other error fails as it is."""
    try:
        yield
    except (psycopg.OperationalError, psycopg_pool.PoolTimeout, DatabaseUnreachable) as exc:
        context.log.warning(f"database unavailable ({exc}); asking for a retry")
        raise dg.RetryRequested(max_retries=TRANSIENT_RETRIES, seconds_to_wait=2) from exc


def locate_export(conn: psycopg.Connection, file_key: str, settings: Settings) -> Path:
    """Where the partition's file is now: where it was registered, import/, or import_complete/."""
    known = ledger.get_file(conn, file_key)
    candidates = [Path(known["path"])] if known else []
    candidates += [settings.import_dir / file_key, settings.import_complete_dir / file_key]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise dg.Failure(
        description=(
            f"{file_key}: file not found in {settings.import_dir} or {settings.import_complete_dir}"
        )
    )


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def markdown_table(headers: list[str], rows: list[list[object]]) -> dg.MetadataValue:
    """A small Markdown table for the UI, cells cut at 80 characters."""

    def cell(value: object) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")[:80]

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return dg.MetadataValue.md("\n".join(lines))


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1) if seconds > 0 else 0.0


def _file_id(conn: psycopg.Connection, file_key: str) -> int:
    found = ledger.file_id(conn, file_key)
    if found is None:
        raise dg.Failure(description=f"{file_key}: not staged yet; materialize raw_scrobbles first")
    return found


# -- raw_scrobbles ------------------------------------------------------------------------------


@dg.op(pool=DB_POOL, description="Find the partition's file and register it in the ledger.")
def locate_file(
    context: dg.OpExecutionContext, db: KoitoDatabase, settings: SettingsResource
) -> int:
    with transient_database_errors(context), db.connection() as conn, conn.transaction():
        path = locate_export(conn, context.partition_key, settings.value)
        return ledger.register_file(conn, context.partition_key, path)


@dg.op(
    pool=DB_POOL,
    description="Detect the format, stream-parse the file and COPY its records into staging.",
)
def stage_records(
    context: dg.OpExecutionContext, db: KoitoDatabase, settings: SettingsResource, file_id: int
) -> dg.Output[int]:
    file_key = context.partition_key
    started = time.perf_counter()
    with transient_database_errors(context), db.connection() as conn:
        path = Path(ledger.get_file(conn, file_key)["path"])
        try:
            export = open_export(path, settings.value)
            for note in export.notes:
                context.log.warning(f"{file_key}: {note}")
            reading = stage_progress(context, "reading", unit="records")
            with conn.transaction():
                staged = stage_export(conn, file_id, export, on_progress=reading)
                ledger.update_file(
                    conn,
                    file_key,
                    status="staged",
                    format=export.format,
                    sha256=_sha256(path),
                    records=export.stats.records,
                    accepted=staged.accepted,
                    skipped=staged.skipped,
                    unique_keys=staged.unique_keys,
                    stage="raw_scrobbles",
                    seconds=time.perf_counter() - started,
                )
        except ExportError as exc:
            with conn.transaction():
                ledger.mark_failed(conn, file_key, str(exc))
            raise dg.Failure(description=str(exc)) from None
    reading.finish(export.stats.records)
    seconds = time.perf_counter() - started
    skipped_rows = sorted(staged.skipped.items(), key=lambda kv: -kv[1])
    preview = [
        [time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(r.listened_at)), r.artist, r.track, r.album]
        for r in staged.preview
    ]
    return dg.Output(
        file_id,
        metadata={
            "path": dg.MetadataValue.path(str(path)),
            "format": export.format,
            "records": export.stats.records,
            "accepted": staged.accepted,
            "skipped": sum(staged.skipped.values()),
            "skipped_by_reason": markdown_table(
                ["reason", "count"], [list(r) for r in skipped_rows]
            ),
            "seconds": round(seconds, 3),
            "records_per_second": _rate(export.stats.records, seconds),
            "preview": markdown_table(["listened_at", "artist", "track", "album"], preview),
        },
    )


# -- unique_entity_keys -------------------------------------------------------------------------


@dg.op(
    pool=DB_POOL,
    ins={"staged": dg.In(dg.Nothing)},
    description="The cache lookup: the file's distinct keys, each a hit or a miss.",
)
def look_up_cache(context: dg.OpExecutionContext, db: KoitoDatabase) -> dg.Output[int]:
    file_key = context.partition_key
    started = time.perf_counter()
    progress = stage_progress(context, "looking up keys", unit="keys")
    with transient_database_errors(context), db.connection() as conn, conn.transaction():
        file_id = _file_id(conn, file_key)
        conn.execute("DELETE FROM koito_import.file_keys WHERE file_id = %s", (file_id,))
        conn.execute(load_sql("collect_keys"), {"file_id": file_id})
        keys, hits = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE cache_hit) FROM koito_import.file_keys "
            "WHERE file_id = %s",
            (file_id,),
        ).fetchone()
        seconds = time.perf_counter() - started
        ledger.update_file(
            conn,
            file_key,
            status="keyed",
            unique_keys=keys,
            cache_hits=hits,
            stage="unique_entity_keys",
            seconds=seconds,
        )
    progress.finish(keys)
    return dg.Output(
        file_id,
        metadata={
            "unique_keys": keys,
            "cache_hits": hits,
            "cache_misses": keys - hits,
            "seconds": round(seconds, 3),
        },
    )


# -- resolved_lookup ----------------------------------------------------------------------------


def _skip_unresolvable(conn: psycopg.Connection, file_id: int, failed: dict[str, str]) -> int:
    """Move the staged records of keys that cannot be resolved to the skip table, with the
    reason."""
    if not failed:
        return 0
    params = {
        "file_id": file_id,
        "keys": list(failed),
        "reason": UNRESOLVABLE,
        "details": [detail[:500] for detail in failed.values()],
    }
    moved = conn.execute(
        """
        WITH why AS (
            SELECT * FROM unnest(%(keys)s::text[], %(details)s::text[]) AS w(lookup_key, detail)
        ),
        gone AS (
            DELETE FROM koito_import.staged_scrobbles s USING why
            WHERE s.file_id = %(file_id)s AND s.lookup_key = why.lookup_key
            RETURNING s.seq, why.detail
        )
        INSERT INTO koito_import.skipped_records (file_id, position, reason, detail)
        SELECT %(file_id)s, 'accepted record ' || seq, %(reason)s, detail FROM gone
        """,
        params,
    ).rowcount
    conn.execute(
        "DELETE FROM koito_import.file_keys "
        "WHERE file_id = %(file_id)s AND lookup_key = ANY(%(keys)s)",
        params,
    )
    return moved


def resolve_file_keys(
    conn: psycopg.Connection,
    db: KoitoDatabase,
    file_id: int,
    settings: Settings,
    progress: Progress | None = None,
) -> ResolveResult:
    """Resolve every key of the file the cache cannot answer."""
    rows = conn.execute(load_sql("unresolved_keys"), {"file_id": file_id}).fetchall()
    records = [decode_record(from_json(payload)) for _, payload in rows]
    return resolve_keys(
        db.pool,
        records,
        musicbrainz=musicbrainz_from_settings(settings),
        settings=settings,
        progress=progress,
    )


MUSICBRAINZ_LOG_EVERY_S = 5.0


def musicbrainz_progress(context: dg.OpExecutionContext, file_key: str) -> Progress:
    """Logs MusicBrainz's requests done / planned while resolution waits on them (one a second
    at musicbrainz.org): at the first request, then every few seconds. Every report also goes to
    the progress listeners (the terminal's bar), as a stage of its own from the first request."""
    lock = threading.Lock()
    last = [-MUSICBRAINZ_LOG_EVERY_S]
    stage: list[StageProgress] = []

    def report(done: int, planned: int) -> None:
        with lock:
            if not stage:  # created on the first request: an import that asks nothing shows none
                stage.append(StageProgress(None, file_key, "asking MusicBrainz", unit="requests"))
            now = time.monotonic()
            due = done <= 1 or now - last[0] >= MUSICBRAINZ_LOG_EVERY_S
            if due:
                last[0] = now
        stage[0](done, planned)
        if due:
            context.log.info(f"{file_key}: MusicBrainz, {done} of {planned} requests done")

    return report


def _log_musicbrainz(context: dg.OpExecutionContext, file_key: str, result: ResolveResult) -> None:
    if result.musicbrainz_requests or result.musicbrainz_from_store:
        context.log.info(
            f"{file_key}: MusicBrainz, {result.musicbrainz_requests} requests "
            f"({result.musicbrainz_lookups_fallback} single lookups), "
            f"{result.musicbrainz_from_store} answers from the store, "
            f"{result.musicbrainz_seconds:.1f} s"
        )
    if result.musicbrainz_unreachable:
        context.log.warning(
            f"{file_key}: MusicBrainz could not be reached ({result.musicbrainz_unreachable}); "
            "resolved as Koito does without it; a later import asks again"
        )


@dg.op(
    pool=DB_POOL,
    ins={"keyed": dg.In(dg.Nothing)},
    description="Create the artists, albums and tracks of every cache miss, set-based, and cache "
    "them; records that cannot be resolved are skipped with the reason.",
)
def create_entities(
    context: dg.OpExecutionContext, db: KoitoDatabase, settings: SettingsResource
) -> dg.Output[int]:
    file_key = context.partition_key
    started = time.perf_counter()
    resolving = stage_progress(context, "resolving", unit="keys")
    with transient_database_errors(context), db.connection() as conn:
        file_id = _file_id(conn, file_key)
        progress = musicbrainz_progress(context, file_key)
        result = resolve_file_keys(conn, db, file_id, settings.value, progress)
        with conn.transaction():
            moved = _skip_unresolvable(conn, file_id, result.failed)
            known = ledger.get_file(conn, file_key)
            skipped = dict(known["skipped"] or {})
            if moved:
                skipped[UNRESOLVABLE] = skipped.get(UNRESOLVABLE, 0) + moved
            seconds = time.perf_counter() - started
            ledger.update_file(
                conn,
                file_key,
                status="resolved",
                skipped=skipped,
                accepted=(known["accepted"] or 0) - moved,
                artists_created=result.artists_created,
                albums_created=result.albums_created,
                tracks_created=result.tracks_created,
                stage="resolved_lookup",
                seconds=seconds,
            )
    resolving.finish(len(result.ids))
    for key, reason in list(result.failed.items())[:20]:
        context.log.warning(f"{file_key}: cannot resolve {key!r}: {reason}")
    _log_musicbrainz(context, file_key, result)
    return dg.Output(
        file_id,
        metadata={
            "keys_resolved": len(result.ids),
            "artists_created": result.artists_created,
            "albums_created": result.albums_created,
            "tracks_created": result.tracks_created,
            "unresolvable_keys": len(result.failed),
            "records_skipped_unresolvable": moved,
            "musicbrainz_requests": result.musicbrainz_requests,
            "musicbrainz_from_store": result.musicbrainz_from_store,
            "musicbrainz_lookups_fallback": result.musicbrainz_lookups_fallback,
            "musicbrainz_seconds": round(result.musicbrainz_seconds, 3),
            "seconds": round(seconds, 3),
        },
    )


# -- listens_loaded -----------------------------------------------------------------------------


class LoadedListens(NamedTuple):
    """What insert_listens hands to finish_file."""

    file_id: int
    inserted: int
    insert_seconds: float
    started: float  # perf_counter when the load began


def _insert_listens(conn: psycopg.Connection, file_id: int) -> tuple[int, float]:
    """The file's listens in one INSERT … SELECT, inside the caller's transaction.

    The foreign-key checks on ``listens`` cost more than the insert itself (one lookup per row
    per key). Their guarantee is taken set-based instead (lock_listen_targets.sql), and where
    the role may (db/row_checks.py) the per-row checks are skipped. Elsewhere the insert runs
    as is.
    """
    params = {"file_id": file_id, "user_id": IMPORT_USER_ID}
    conn.execute(load_sql("lock_listen_targets"), params)
    with without_row_checks(conn):
        started = time.perf_counter()
        try:
            with conn.transaction():  # a savepoint: a concurrent listen must not end the outer one
                inserted = conn.execute(load_sql("load_listens"), params).rowcount
        except psycopg.errors.UniqueViolation:
            inserted = conn.execute(load_sql("load_listens_on_conflict"), params).rowcount
        seconds = time.perf_counter() - started
    return inserted, seconds


def _load_listens(
    conn: psycopg.Connection, db: KoitoDatabase, file_id: int, settings: Settings
) -> tuple[int, float]:
    """Insert the file's listens; first re-resolve keys whose cache rows vanished.

    Koito's orphan clean-up may delete a track between our resolution and this insert: the
    insert then fails on the foreign key (or finds no cache row) and we resolve again
    (docs/design.md §5.8).
    """
    inserted, insert_seconds = 0, 0.0
    for attempt in range(3):
        resolve_file_keys(conn, db, file_id, settings)
        try:
            with conn.transaction():
                rows, seconds = _insert_listens(conn, file_id)
                inserted, insert_seconds = inserted + rows, insert_seconds + seconds
                conn.execute(load_sql("fill_durations"), {"file_id": file_id})
                missing = conn.execute(load_sql("unresolved_keys"), {"file_id": file_id}).fetchone()
                if missing is None:
                    return inserted, insert_seconds
        except psycopg.errors.ForeignKeyViolation:
            if attempt == 2:
                raise
    raise dg.Failure(description="keys kept vanishing while loading listens (concurrent deletes?)")


def _move_to_complete(path: Path, settings: Settings) -> Path | None:
    """Koito's lifecycle: a file in import/ moves to import_complete/ once fully loaded."""
    if path.parent.resolve() != settings.import_dir.resolve():
        return None  # imported from elsewhere (CLI): leave the user's file where it is
    settings.import_complete_dir.mkdir(parents=True, exist_ok=True)
    target = settings.import_complete_dir / path.name
    shutil.move(str(path), str(target))
    return target


@dg.op(
    pool=DB_POOL,
    ins={"resolved": dg.In(dg.Nothing)},
    description="The batch insert: every listen of the file in one statement, Koito's "
    "(track, second) rule, then unknown durations filled.",
)
def insert_listens(
    context: dg.OpExecutionContext, db: KoitoDatabase, settings: SettingsResource
) -> LoadedListens:
    started = time.perf_counter()
    progress = stage_progress(context, "inserting listens", unit="listens")
    with transient_database_errors(context), db.connection() as conn:
        file_id = _file_id(conn, context.partition_key)
        inserted, insert_seconds = _load_listens(conn, db, file_id, settings.value)
        with conn.transaction():
            ledger.update_file(
                conn,
                context.partition_key,
                status="loaded",
                listens_inserted=inserted,
                stage="listens_insert",
                seconds=insert_seconds,
            )
    progress.finish(inserted)
    return LoadedListens(file_id, inserted, insert_seconds, started)


@dg.op(
    pool=DB_POOL,
    out={
        "result": dg.Out(),
        **{spec.name: dg.Out(dg.Nothing, is_required=False) for spec in checks.LISTENS_CHECKS},
    },
    description="Check the file's counts, then finish it: move it to import_complete/ and drop "
    "its staging rows once every accepted record is loaded.",
)
def finish_file(
    context: dg.OpExecutionContext,
    db: KoitoDatabase,
    settings: SettingsResource,
    loaded: LoadedListens,
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    file_key, file_id, inserted = context.partition_key, loaded.file_id, loaded.inserted
    progress = stage_progress(context, "checking", unit="listens")
    with transient_database_errors(context), db.connection() as conn:
        staged, unresolved, missing = conn.execute(
            load_sql("check_counts"), {"file_id": file_id}
        ).fetchone()
        known = ledger.get_file(conn, file_key)
        facts = checks.LoadFacts(
            records=known["records"],
            accepted=known["accepted"],
            skipped=sum((known["skipped"] or {}).values()),
            staged=staged,
            inserted=inserted,
            unresolved_keys=unresolved,
            records_without_listen=missing,
        )
        moved_to = None
        with conn.transaction():
            ledger.update_file(conn, file_key, duplicates=facts.duplicates)
            # the listening report's aggregates, while the staging rows still exist
            report_seconds = record_file_facts(conn, file_id, inserted)
            ledger.update_file(conn, file_key, stage="report_facts", seconds=report_seconds)
        if facts.complete:
            moved_to = _move_to_complete(Path(known["path"]), settings.value)
            with conn.transaction():
                # The file is done: its staging rows have served their purpose.
                conn.execute(
                    "DELETE FROM koito_import.staged_scrobbles WHERE file_id = %s", (file_id,)
                )
                conn.execute("DELETE FROM koito_import.file_keys WHERE file_id = %s", (file_id,))
                ledger.update_file(
                    conn,
                    file_key,
                    status="complete",
                    path=str(moved_to or known["path"]),
                    stage="listens_loaded",
                    seconds=time.perf_counter() - loaded.started,
                )
    progress.finish(staged)
    seconds = time.perf_counter() - loaded.started
    context.log.info(
        f"{file_key}: {inserted} listens inserted, {facts.duplicates} duplicates ignored"
        + (f", moved to {moved_to}" if moved_to else "")
    )
    yield dg.Output(
        None,
        "result",
        metadata={
            "listens_inserted": inserted,
            "duplicates_ignored": facts.duplicates,
            "seconds": round(seconds, 3),
            "listens_per_second": _rate(inserted, seconds),
            "insert_seconds": round(loaded.insert_seconds, 3),
            "insert_listens_per_second": _rate(inserted, loaded.insert_seconds),
            "moved_to": str(moved_to) if moved_to else "",
        },
    )
    yield from checks.listens_check_results(facts)
