"""A Koito export file (version 1) written from our database, for a Koito >= 0.3 that already runs.

Koito's importer reads such a file from its ``import/`` folder at start-up when the name contains
``koito`` (and none of its other importers' name parts), and resolves every listen itself: no
migrator, no MusicBrainz. The file has exactly the shape Koito's exporter writes, with its flaws
fixed: artists in credit order with the primary one first and marked, no listen skipped at page
boundaries (one server-side cursor in one snapshot instead of Koito's keyset on the largest track
id seen), exactly one primary alias per entity, ``client`` always a string. What Koito's importer
would trip on is repaired or left out with a counted reason (export_entities.py).

Listens stream from the cursor a page at a time and are written as they come. A track's part of
the listen object is built once and kept as UTF-8 bytes (export_entities.py), so a listen costs
a dictionary look-up and one bytes format; the time comes from a per-day prefix and a table of
the day's seconds. The file is written under a temporary
name in the target folder, one that no Koito importer claims, and renamed when complete: a
failure leaves no partial file, and a Koito starting meanwhile never reads half of one.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

import psycopg

from koito_assets.db.connection import connect
from koito_assets.db.sql_files import sql_text
from koito_assets.gc_pause import collector_paused
from koito_assets.to_koito.export_entities import EntityWriter

VERSION = "1"
PAGE_ROWS = 5_000  # listens fetched from the cursor, and written, at a time
# Koito picks an importer by a case-sensitive substring of the file name, first match wins; these
# come before "koito", so a file named with one of them would be read as that format.
EARLIER_IMPORTER_NAMES = ("Streaming_History_Audio", "maloja", "recenttracks", "listenbrainz")
KOITO_NAME = "koito"


class ExportTargetError(OSError):
    """The export file cannot be written where asked; the message names the path and why."""


class UnknownImportFile(LookupError):
    """``--file`` names no import file of the ledger, or one whose listens were not recorded."""


@dataclass(frozen=True)
class ExportScope:
    """Which listens: an inclusive time window (either bound open) and/or one import file's."""

    since: datetime | None = None
    until: datetime | None = None
    file_key: str | None = None

    def label(self) -> str:
        """Part of a file name that says what the export holds."""
        parts = []
        if self.file_key:
            key = self.file_key
            safe = _safe(key.removesuffix(".json"))
            # Two files must never share a name ("maloja_x.json" and "x.json", "a.2024.json" and
            # "a.2025.json", "x.json" and "x.json (1a2b3c4d)", or "library.json" and the whole
            # library): the name alone only when it maps back to exactly this key.
            if key != f"{safe}.json" or safe == "library":
                safe += "_" + hashlib.sha256(key.encode()).hexdigest()[:8]
            parts.append(safe)
        if self.since or self.until:
            parts.append(f"{_compact(self.since) or 'start'}-{_compact(self.until) or 'end'}")
        return "_".join(parts) or "library"


@dataclass
class ExportResult:
    path: Path
    listens: int = 0
    bytes: int = 0
    seconds: float = 0.0
    skipped: Counter[str] = field(default_factory=Counter)
    repaired: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)


def _compact(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ") if moment else ""


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_EARLIER_NAMES = re.compile("|".join(re.escape(n) for n in EARLIER_IMPORTER_NAMES), re.IGNORECASE)


def _safe(text: str) -> str:
    """Only letters, digits, ``-`` and ``_``, and no other importer's name part in any case."""
    safe = re.sub(r"[^A-Za-z0-9-]+", "_", text)
    while _EARLIER_NAMES.search(safe):  # removing one may join the halves of another
        safe = re.sub(r"_{2,}", "_", _EARLIER_NAMES.sub("", safe))
    return re.sub(r"_{2,}", "_", safe).strip("_-")


def koito_file_name(label: str) -> str:
    """``koito_export_<label>.json``, a name Koito's importer reads as a Koito export."""
    return f"koito_export_{_safe(label) or 'library'}.json"


def koito_reads_name(name: str) -> bool:
    """Whether Koito's importer would read a file of this name as a Koito export."""
    return KOITO_NAME in name and not any(part in name for part in EARLIER_IMPORTER_NAMES)


def resolve_target(out: str | Path, default_name: str) -> Path:
    """``out`` itself, or ``out/default_name`` when ``out`` is a folder; ``out`` given as text
    ending in a separator (``./out/``) must be a folder that exists."""
    as_folder = isinstance(out, str) and out.endswith(("/", os.sep))
    out = Path(out).expanduser().absolute()
    if out.is_dir():
        return out / default_name
    if as_folder:
        raise ExportTargetError(f"cannot write {out}/: no such folder")
    if not out.parent.is_dir():
        raise ExportTargetError(f"cannot write {out}: no such folder {out.parent}")
    return out


@contextmanager
def atomic_file(target: Path) -> Iterator[BinaryIO]:
    """A file that appears at ``target`` complete or not at all.

    Written as ``.export-….part`` in the same folder (a name no Koito importer claims, so a
    Koito starting meanwhile leaves it alone), flushed to disk, then renamed over ``target``.
    Any failure removes it; an OSError becomes an ExportTargetError naming ``target``."""
    try:
        while True:
            fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".export-", suffix=".part")
            if not any(n in Path(temporary).name for n in (KOITO_NAME, *EARLIER_IMPORTER_NAMES)):
                break  # (its random part spelled an importer's name: draw another)
            os.close(fd)
            os.unlink(temporary)
    except OSError as exc:
        raise ExportTargetError(f"cannot write {target}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)  # mkstemp makes it private; Koito may run as another user
        os.replace(temporary, target)
    except BaseException as exc:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        if isinstance(exc, OSError) and not isinstance(exc, ExportTargetError):
            raise ExportTargetError(f"cannot write {target}: {exc.strerror or exc}") from None
        raise
    _sync_folder(target.parent)


def _sync_folder(folder: Path) -> None:
    """Make the rename durable (best effort: not every file system lets a folder be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# "HH:MM:SSZ" of every second of a day (86,400 × ~42 bytes): a listen's time is then a day
# look-up and an index instead of three divisions and a format.
_CLOCK = tuple(
    b"%02d:%02d:%02dZ" % (second // 3600, second // 60 % 60, second % 60)
    for second in range(86_400)
)


class _Days:
    """``YYYY-MM-DDT`` of a unix day number, remembered (a history spans a few thousand days);
    None outside years 1–9999, which RFC 3339 cannot write (Koito then rejects the whole file)."""

    def __init__(self) -> None:
        self._days: dict[int, bytes | None] = {}

    def __call__(self, day: int) -> bytes | None:
        if day in self._days:
            return self._days[day]
        if len(self._days) > 100_000:
            self._days.clear()
        try:
            moment = _EPOCH + timedelta(days=day)
        except OverflowError:
            prefix = None
        else:
            prefix = f"{moment.year:04}-{moment.month:02}-{moment.day:02}T".encode()
        self._days[day] = prefix
        return prefix


_EPOCH = date(1970, 1, 1)
TIME_OUT_OF_RANGE = "time_out_of_range"


def recorded_file_id(conn: psycopg.Connection, file_key: str) -> int:
    """The ledger id of the import file ``file_key`` names: its partition key, or its own name
    when that is unambiguous (a second file of one name gets a key with a content hash). Raises
    UnknownImportFile unless the listens it added were recorded (the export's and the SQLite
    merge's ``--file``)."""
    if conn.execute("SELECT to_regclass('koito_import.file_listens')").fetchone()[0] is None:
        raise UnknownImportFile(
            f"{file_key}: this database keeps no record of which file added which listen "
            "(run `koito-import migrate`)"
        )
    rows = conn.execute(
        """
        SELECT f.id, f.file_key, f.status, f.completed_at < m.applied_at,
               EXISTS (SELECT 1 FROM koito_import.file_listens fl WHERE fl.file_id = f.id)
        FROM koito_import.import_files f
        LEFT JOIN koito_import.schema_migrations m ON m.version = 70
        WHERE f.file_key = %(key)s OR f.name = %(key)s
        ORDER BY f.file_key = %(key)s DESC, f.id
        """,
        {"key": file_key},
    ).fetchall()
    if not rows:
        raise UnknownImportFile(f"{file_key}: no import file of that name in the import ledger")
    if rows[0][1] != file_key and len(rows) > 1:
        keys = ", ".join(row[1] for row in rows)
        raise UnknownImportFile(f"{file_key}: {len(rows)} imported files have that name ({keys})")
    file_id, _, status, before_records, recorded = rows[0]
    if not recorded and before_records:
        raise UnknownImportFile(
            f"{file_key}: imported before the database recorded which file added which listen; "
            "give its time range with --since/--until instead"
        )
    if not recorded and status not in ("loaded", "complete"):
        raise UnknownImportFile(f"{file_key}: its listens are not loaded yet (status {status})")
    return file_id


def _username(conn: psycopg.Connection) -> str:
    """Koito's user 1 (its importer writes every listen for user 1), or the first user."""
    row = conn.execute("SELECT username FROM users ORDER BY id LIMIT 1").fetchone()
    return row[0] if row else ""


def _header(exported_at: datetime, user: str) -> bytes:
    return (
        '{"version":"'
        + VERSION
        + '","exported_at":"'
        + rfc3339(exported_at)
        + '","user":'
        + json.dumps(user, ensure_ascii=False)
        + ',"listens":[\n'
    ).encode("utf-8")


def write_listens(
    handle: BinaryIO, pages: Iterable[list[tuple[int, int, str]]], entities: EntityWriter
) -> tuple[int, Counter[str]]:
    """Write each page of (track id, unix seconds, client) rows as listen objects; return the
    number written and the skipped ones by reason."""
    days = _Days()
    clock = _CLOCK
    clients: dict[str, bytes] = {}
    skipped: Counter[str] = Counter()
    written = 0
    for rows in pages:
        fragments = entities.prepare({row[0] for row in rows})
        # Every listen is written as ",\n{…": the pieces are joined once per page, which costs
        # half of formatting each listen on its own.
        parts: list[bytes] = []
        day, prefix = None, b""
        for track_id, seconds, client in rows:
            fragment = fragments[track_id]
            if fragment.__class__ is not tuple:
                skipped[fragment.value] += 1
                continue
            client_json = clients.get(client)
            if client_json is None:
                if len(clients) > 10_000:
                    clients.clear()
                client_json = clients[client] = json.dumps(client, ensure_ascii=False).encode()
            if seconds // 86_400 != day:  # listens come in time order: days change rarely
                day = seconds // 86_400
                prefix = days(day)
            if prefix is None:
                skipped[TIME_OUT_OF_RANGE] += 1
                continue
            parts += (
                b',\n{"listened_at":"',
                prefix,
                clock[seconds % 86_400],
                b'","client":',
                client_json,
                b",",
                *fragment,
            )
        if parts:
            if not written:
                parts[0] = parts[0][2:]  # the first listen has no comma before it
            written += len(parts) // 9
            handle.write(b"".join(parts))
    return written, skipped


def _pages(cursor: psycopg.Cursor) -> Iterator[list[tuple[int, int, str]]]:
    while rows := cursor.fetchmany(PAGE_ROWS):
        yield rows


def write_export(
    url_or_conn: str | psycopg.Connection,
    out: str | Path,
    scope: ExportScope = ExportScope(),
    *,
    exported_at: datetime | None = None,
) -> ExportResult:
    """Write the listens of ``scope`` to ``out`` (a file, or a folder to name one in) as a Koito
    export v1 file; nothing is left behind if it fails."""
    started = time.perf_counter()
    exported_at = exported_at or datetime.now(UTC)
    target = resolve_target(out, koito_file_name(scope.label()))
    result = ExportResult(path=target)
    if not koito_reads_name(target.name):
        result.notes.append(
            f"{target.name}: Koito's importer only reads a file whose name contains "
            f"{KOITO_NAME!r} and none of {', '.join(EARLIER_IMPORTER_NAMES)}; rename it before "
            "putting it into Koito's import folder"
        )
    with _connection(url_or_conn) as conn, conn.transaction():
        # One snapshot for the whole file: listens and entities agree, and a concurrent import
        # neither splits a page nor shows up half-way.
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        params = {"since": scope.since, "until": scope.until}
        if scope.file_key is not None:
            params["file_id"] = recorded_file_id(conn, scope.file_key)
        entities = EntityWriter(conn)
        entities.create_credit_table()
        user = _username(conn)
        query = sql_text("export", "listens_of_file" if scope.file_key else "listens")
        # The built tracks are hundreds of thousands of long-lived, acyclic tuples: collections
        # the allocations would trigger only walk them again.
        with atomic_file(target) as handle, collector_paused():
            handle.write(_header(exported_at, user))
            with conn.cursor(name="koito_export_listens") as cursor:
                cursor.itersize = PAGE_ROWS
                cursor.execute(query, params)
                result.listens, result.skipped = write_listens(handle, _pages(cursor), entities)
            handle.write(b"\n]}\n")
            result.bytes = handle.tell()
    result.repaired = entities.repairs.counts
    result.seconds = time.perf_counter() - started
    return result


@contextmanager
def _connection(url_or_conn: str | psycopg.Connection) -> Iterator[psycopg.Connection]:
    """The caller's autocommit connection (the export opens its own transaction), or a new one."""
    if isinstance(url_or_conn, psycopg.Connection):
        if not url_or_conn.autocommit:
            raise ValueError("write_export needs an autocommit connection")
        yield url_or_conn
        return
    with connect(url_or_conn, autocommit=True) as conn:
        yield conn
