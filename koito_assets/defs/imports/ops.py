"""The steps of one file's import, as Dagster ops: what a run's timeline shows.

    locate_file → stage_records          (raw_scrobbles: the COPY batch insert into staging)
    look_up_cache                        (unique_entity_keys: distinct keys, hits and misses)
    create_entities                      (resolved_lookup: set-based entity creation)
    insert_listens → finish_file         (listens_loaded: the batch insert, checks, lifecycle)

Ops pass only small handles (the file's ledger id, a few counts): the records stay in
PostgreSQL. Every step is idempotent for its partition (delete-then-insert inside one
transaction). Transient database errors (connection lost, server restarting) ask Dagster for a
retry; anything else, a permanent database error included, fails the step with the reason.

A partition is one file's content (see ``ledger``): the first step finds the file, takes the
file's lock (a second run of the same content waits for the first) and starts the ledger row
afresh; the last step moves the file into import_complete/ without ever overwriting a file
already there, and lets the lock go.
"""

import errno
import os
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
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
from koito_assets.dedupe import conventions, matching
from koito_assets.defs.imports import checks, file_lock, ledger
from koito_assets.defs.imports.ledger import ImportStatus
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
# SQLSTATEs that say the server or the connection went away, not that the statement is wrong:
# connection exceptions (class 08), shutdown or restart (57P01-57P03), too many connections.
_TRANSIENT_SQLSTATE_CLASSES = ("08",)
_TRANSIENT_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})


def is_transient(exc: BaseException) -> bool:
    """Whether a database error may go away by itself (a retry can help).

    psycopg raises OperationalError both for a lost connection and for permanent failures of a
    statement (ProgramLimitExceeded, a row too big for an index, is one): only the first kind
    is transient, told by its SQLSTATE (none at all: the client lost the server)."""
    if isinstance(exc, psycopg_pool.PoolTimeout | DatabaseUnreachable):
        return True
    if not isinstance(exc, psycopg.OperationalError):
        return False
    state = exc.sqlstate
    return (
        state is None
        or state.startswith(_TRANSIENT_SQLSTATE_CLASSES)
        or (state in _TRANSIENT_SQLSTATES)
    )


@contextmanager
def transient_database_errors(context: dg.OpExecutionContext) -> Iterator[None]:
    """Turn a lost connection into a Dagster retry; every other error fails as it is."""
    try:
        yield
    except (psycopg.OperationalError, psycopg_pool.PoolTimeout, DatabaseUnreachable) as exc:
        if not is_transient(exc):
            raise
        context.log.warning(f"database unavailable ({exc}); asking for a retry")
        raise dg.RetryRequested(max_retries=TRANSIENT_RETRIES, seconds_to_wait=2) from exc


def locate_export(conn: psycopg.Connection, file_key: str, settings: Settings) -> Path:
    """Where the partition's file is now: where it was claimed, import/, or import_complete/."""
    known = ledger.get_file(conn, file_key)
    name = known["name"] if known else file_key
    candidates = [Path(known["path"])] if known else []
    candidates += [settings.import_dir / name, settings.import_complete_dir / name]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise dg.Failure(
        description=(
            f"{file_key}: file not found in {settings.import_dir} or {settings.import_complete_dir}"
        )
    )


def markdown_table(headers: list[str], rows: list[list[object]]) -> dg.MetadataValue:
    """A small Markdown table for the UI, cells cut at 80 characters."""

    def cell(value: object) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")[:80]

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return dg.MetadataValue.md("\n".join(lines))


def _by_source(counts: dict[str, int]) -> str:
    """``{"spotify": 3, "lastfm": 1}`` as "spotify (3), lastfm (1)", largest first."""
    return ", ".join(f"{s} ({n})" for s, n in sorted(counts.items(), key=lambda kv: -kv[1]))


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1) if seconds > 0 else 0.0


def _file_id(conn: psycopg.Connection, file_key: str) -> int:
    found = ledger.file_id(conn, file_key)
    if found is None:
        raise dg.Failure(description=f"{file_key}: not staged yet; materialize raw_scrobbles first")
    return found


# -- raw_scrobbles ------------------------------------------------------------------------------


def _claim(conn: psycopg.Connection, file_key: str, settings: Settings) -> int:
    """The partition's ledger row, claimed for this run: the row the sensor or the CLI made, or
    (for a partition added by hand) the file of that name, hashed and claimed now."""
    known = ledger.get_file(conn, file_key)
    path = locate_export(conn, file_key, settings)
    if known is not None and known["sha256"] is not None:
        if known["path"] != str(path):
            conn.execute(
                "UPDATE koito_import.import_files SET path = %s WHERE id = %s",
                (str(path), known["id"]),
            )
        return known["id"]
    try:
        sha256 = ledger.content_sha256(path)
    except ExportError as exc:
        raise dg.Failure(description=str(exc)) from None
    return ledger.claim_file(
        conn, path, sha256, ledger.FileVersion.of(path), preferred_key=file_key
    ).file_id


@dg.op(
    pool=DB_POOL,
    description="Find the partition's file, wait for any other import of the same content, and "
    "start its ledger row afresh.",
)
def locate_file(
    context: dg.OpExecutionContext, db: KoitoDatabase, settings: SettingsResource
) -> int:
    file_key = context.partition_key
    with transient_database_errors(context):
        with db.connection() as conn:
            file_id = _claim(conn, file_key, settings.value)
        file_lock.hold(
            db.pool.conninfo,
            file_id,
            on_wait=lambda: context.log.info(
                f"{file_key}: another run is importing this file; waiting for it to finish"
            ),
        )
        with db.connection() as conn, conn.transaction():
            ledger.start_run(conn, file_key)
    return file_id


def _verified_path(conn: psycopg.Connection, file_key: str) -> Path:
    """The claimed file's path, provided it still holds the claimed content: unchanged size and
    mtime (no need to read it again), or the same SHA-256."""
    known = ledger.get_file(conn, file_key)
    path = Path(known["path"])
    try:
        version = ledger.FileVersion.of(path)
    except OSError as exc:
        raise ExportError(path, "", f"cannot open: {exc.strerror or exc}") from None
    claimed = ledger.FileVersion(known["size_bytes"] or -1, known["mtime_ns"] or -1)
    if version != claimed and ledger.content_sha256(path) != known["sha256"]:
        raise ExportError(
            path,
            "",
            "changed since this run found it (another file of the same name?): nothing "
            "imported; it is a new file to import",
        )
    return path


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
        try:
            path = _verified_path(conn, file_key)
            export = open_export(path, settings.value)
            for note in export.notes:
                context.log.warning(f"{file_key}: {note}")
            reading = stage_progress(context, "reading", unit="records")
            with conn.transaction():
                staged = stage_export(conn, file_id, export, on_progress=reading)
                for note in export.stats.note_lines():  # what reading found on the way
                    context.log.warning(f"{file_key}: {note}")
                ledger.update_file(
                    conn,
                    file_key,
                    status=ImportStatus.STAGED,
                    format=export.format,
                    records=export.stats.records,
                    accepted=staged.accepted,
                    skipped=staged.skipped,
                    unique_keys=staged.unique_keys,
                    same_play=None,  # counted again when the listens are loaded
                    stage="raw_scrobbles",
                    seconds=time.perf_counter() - started,
                )
        except ExportError as exc:
            with conn.transaction():
                ledger.mark_failed(conn, file_key, str(exc))
            file_lock.release(db.pool.conninfo, file_id)  # the run ends here
            raise dg.Failure(description=str(exc)) from None
    reading.finish(export.stats.records)
    seconds = time.perf_counter() - started
    skipped_rows = sorted(staged.skipped.items(), key=lambda kv: -kv[1])
    preview = [
        [time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(row[0])), *row[1:]]
        for row in staged.preview
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
            status=ImportStatus.KEYED,
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
                status=ImportStatus.RESOLVED,
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


@dataclass
class ListenLoad:
    """What loading a file's listens did, summed over the attempts that committed."""

    inserted: int = 0
    seconds: float = 0.0  # the insert, with the cross-source matching when it ran
    matching: str = "off"  # off | koito_rule (no other source nearby) | matched
    same_play: dict[str, int] = field(default_factory=dict)  # source -> records recognised
    shifted: int = 0
    candidate_pairs: int = 0

    def add(self, other: "ListenLoad") -> None:
        self.inserted += other.inserted
        self.seconds += other.seconds
        self.matching = other.matching
        for source, count in other.same_play.items():
            self.same_play[source] = self.same_play.get(source, 0) + count
        self.shifted += other.shifted
        self.candidate_pairs += other.candidate_pairs


class LoadedListens(NamedTuple):
    """What insert_listens hands to finish_file."""

    file_id: int
    load: ListenLoad
    started: float  # perf_counter when the load began


def _insert_by_koitos_rule(conn: psycopg.Connection, params: dict) -> int:
    """The file's listens in one INSERT … SELECT: one per (track, second) not there yet. The
    same statement records which listens the file added (koito_import.file_listens).

    The foreign-key checks on ``listens`` cost more than the insert itself (one lookup per row
    per key). Their guarantee is taken set-based instead (lock_listen_targets.sql), and where
    the role may (db/row_checks.py) the per-row checks are skipped. Elsewhere the insert runs
    as is.
    """
    with without_row_checks(conn):
        try:
            with conn.transaction():  # a savepoint: a concurrent listen must not end the outer one
                added = conn.execute(load_sql("load_listens"), params).fetchone()
        except psycopg.errors.UniqueViolation:
            added = conn.execute(load_sql("load_listens_on_conflict"), params).fetchone()
    return added[0] if added else 0  # the statements return no row when nothing was added


def _insert_listens(
    conn: psycopg.Connection, file_id: int, format_name: str, settings: Settings
) -> ListenLoad:
    """Insert the file's listens inside the caller's transaction, one play one listen.

    With ``KOITO_CROSS_SOURCE_DEDUPE=off`` Koito's rule alone decides (one listen per track and
    second). Otherwise loads take turns, and when listens of another source lie near the file,
    a play they already hold is skipped as ``same_play_from_<source>`` (koito_assets.dedupe).
    """
    params = {"file_id": file_id, "user_id": IMPORT_USER_ID}
    dedupe = settings.cross_source_dedupe
    source = conventions.source_of_format(format_name)
    if dedupe:
        matching.serialise_loads(conn, IMPORT_USER_ID)
    conn.execute(load_sql("lock_listen_targets"), params)
    # Known durations first: the matching places plays in time with them.
    conn.execute(load_sql("fill_durations"), params)
    started = time.perf_counter()
    if dedupe and matching.other_sources_nearby(
        conn, file_id, user_id=IMPORT_USER_ID, source=source
    ):
        with without_row_checks(conn):
            match = matching.load_matching(
                conn,
                file_id,
                user_id=IMPORT_USER_ID,
                source=source,
                tolerance_s=settings.cross_source_tolerance_s,
            )
        conn.execute(load_sql("record_matched_listens"), params)
        return ListenLoad(
            inserted=match.inserted,
            seconds=time.perf_counter() - started,
            matching="matched",
            same_play=match.same_play,
            shifted=match.shifted,
            candidate_pairs=match.candidate_pairs,
        )
    inserted = _insert_by_koitos_rule(conn, params)
    if dedupe and conventions.may_need_provenance(format_name):
        matching.record_provenance(conn, file_id, source=source)
    return ListenLoad(
        inserted=inserted,
        seconds=time.perf_counter() - started,
        matching="koito_rule" if dedupe else "off",
    )


def _record_same_play(conn: psycopg.Connection, file_key: str, same_play: dict[str, int]) -> None:
    """The records recognised as other sources' plays are skips: count them in the ledger."""
    known = ledger.get_file(conn, file_key)
    skipped = dict(known["skipped"] or {})
    recognised = dict(known["same_play"] or {})
    for source, count in same_play.items():
        reason = conventions.skip_reason(source)
        skipped[reason] = skipped.get(reason, 0) + count
        recognised[source] = recognised.get(source, 0) + count
    ledger.update_file(
        conn,
        file_key,
        skipped=skipped,
        same_play=recognised,
        accepted=(known["accepted"] or 0) - sum(same_play.values()),
    )


def _load_listens(
    conn: psycopg.Connection, db: KoitoDatabase, file_id: int, file_key: str, settings: Settings
) -> ListenLoad:
    """Insert the file's listens; first re-resolve keys whose cache rows vanished.

    Koito's orphan clean-up may delete a track between our resolution and this insert: the
    insert then fails on the foreign key (or finds no cache row) and we resolve again
    (docs/design.md §5.8).
    """
    format_name = ledger.get_file(conn, file_key)["format"]
    total = ListenLoad()
    for attempt in range(3):
        resolve_file_keys(conn, db, file_id, settings)
        try:
            with conn.transaction():
                load = _insert_listens(conn, file_id, format_name, settings)
                if load.same_play:
                    _record_same_play(conn, file_key, load.same_play)
                missing = conn.execute(load_sql("unresolved_keys"), {"file_id": file_id}).fetchone()
            total.add(load)
            if missing is None:
                return total
        except psycopg.errors.ForeignKeyViolation:
            if attempt == 2:
                raise
    raise dg.Failure(description="keys kept vanishing while loading listens (concurrent deletes?)")


def _move_to_complete(path: Path, settings: Settings) -> Path | None:
    """Koito's lifecycle: a file in import/ moves to import_complete/ once fully loaded.

    Never over a file already there (two Spotify downloads both hold
    Streaming_History_Audio_2023_0.json): the second is kept under its name with the import
    date and time, numbered if even that is taken. The caller points the ledger at the result.
    """
    if path.parent.resolve() != settings.import_dir.resolve():
        return None  # imported from elsewhere (CLI): leave the user's file where it is
    if not path.is_file():
        return None  # another run of the same content moved it already
    settings.import_complete_dir.mkdir(parents=True, exist_ok=True)
    for target in _complete_names(path, settings.import_complete_dir):
        if _move_without_overwriting(path, target):
            return target
    raise dg.Failure(description=f"{path.name}: no free name for it in import_complete/")


def _complete_names(path: Path, folder: Path) -> Iterator[Path]:
    """Where a finished file may go: its own name, then its name with the import time (the
    name cut short where a file system's 255 bytes would not hold both)."""
    yield folder / path.name
    stamp = datetime.now(UTC).strftime("%Y-%m-%d_%H%M%S")
    suffix = path.suffix if len(path.suffix) <= 16 else ""
    stem = path.name[: len(path.name) - len(suffix)]
    while len(f"{stem}.imported-{stamp}-999{suffix}".encode()) > _NAME_MAX_BYTES:
        stem = stem[:-1]
    yield folder / f"{stem}.imported-{stamp}{suffix}"
    for number in range(2, 1000):
        yield folder / f"{stem}.imported-{stamp}-{number}{suffix}"


_NAME_MAX_BYTES = 255  # a file name's limit on Linux, macOS and Windows file systems


def _move_without_overwriting(source: Path, target: Path) -> bool:
    """Move ``source`` to ``target`` unless something is there; atomic on one file system (a
    hard link cannot replace a file), a copy to an exclusively created file across two."""
    try:
        os.link(source, target)
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.ENOTSUP):
            raise
        try:
            with source.open("rb") as reader, target.open("xb") as writer:
                shutil.copyfileobj(reader, writer)
        except FileExistsError:
            return False
        shutil.copystat(source, target)
    source.unlink()
    return True


@dg.op(
    pool=DB_POOL,
    ins={"resolved": dg.In(dg.Nothing)},
    description="The batch insert: unknown durations filled, then the file's listens, one per "
    "(track, second) as Koito keeps them, less the plays another source's listens already hold.",
)
def insert_listens(
    context: dg.OpExecutionContext, db: KoitoDatabase, settings: SettingsResource
) -> LoadedListens:
    started = time.perf_counter()
    progress = stage_progress(context, "inserting listens", unit="listens")
    with transient_database_errors(context), db.connection() as conn:
        file_id = _file_id(conn, context.partition_key)
        load = _load_listens(conn, db, file_id, context.partition_key, settings.value)
        with conn.transaction():
            ledger.update_file(
                conn,
                context.partition_key,
                status=ImportStatus.LOADED,
                listens_inserted=load.inserted,
                stage="listens_insert",
                seconds=load.seconds,
            )
    progress.finish(load.inserted)
    return LoadedListens(file_id, load, started)


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
    file_key, file_id = context.partition_key, loaded.file_id
    load, inserted = loaded.load, loaded.load.inserted
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
                    status=ImportStatus.COMPLETE,
                    path=str(moved_to or known["path"]),
                    stage="listens_loaded",
                    seconds=time.perf_counter() - loaded.started,
                )
    file_lock.release(db.pool.conninfo, file_id)
    progress.finish(staged)
    seconds = time.perf_counter() - loaded.started
    recognised = sum(load.same_play.values())
    context.log.info(
        f"{file_key}: {inserted} listens inserted, {facts.duplicates} duplicates ignored"
        + (
            f", {recognised} plays already loaded from {_by_source(load.same_play)}"
            if recognised
            else ""
        )
        + (f", moved to {moved_to}" if moved_to else "")
    )
    yield dg.Output(
        None,
        "result",
        metadata={
            "listens_inserted": inserted,
            "duplicates_ignored": facts.duplicates,
            # one play, one listen (docs/cross-source-dedupe.md)
            "cross_source_dedupe": load.matching,
            "same_play_recognised": recognised,
            "same_play_by_source": markdown_table(
                ["source", "records"], [[s, n] for s, n in sorted(load.same_play.items())]
            ),
            "listens_shifted_a_second": load.shifted,
            "seconds": round(seconds, 3),
            "listens_per_second": _rate(inserted, seconds),
            "insert_seconds": round(load.seconds, 3),
            "insert_listens_per_second": _rate(inserted, load.seconds),
            "moved_to": str(moved_to) if moved_to else "",
        },
    )
    yield from checks.listens_check_results(facts)
