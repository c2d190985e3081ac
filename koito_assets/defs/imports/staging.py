"""Staging one export file: stream its records into PostgreSQL with COPY, in one transaction.

Accepted records go to ``staged_scrobbles`` (slim rows; the full record only for the first
occurrence of each lookup key), rejected ones to ``skipped_records`` with their reason. The
caller's transaction makes a file all-or-nothing: a corrupt container discovered at its last
byte rolls back everything this file staged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg

from koito_assets.catalog.lookup_key import lookup_key
from koito_assets.db.row_checks import without_row_checks
from koito_assets.gc_pause import collector_paused
from koito_assets.sources import Export
from koito_assets.sources.record import KoitoAlias, KoitoEntity, KoitoListen, Scrobble, Skipped

# Skip counts are always complete (export.stats); the rows that say where and why are capped so
# a file of mostly podcasts cannot make memory grow with its size.
MAX_SKIPPED_ROWS = 10_000
COPY_BATCH_ROWS = 8192  # staged rows formatted per write to the COPY stream ...
COPY_BATCH_CHARS = 4 << 20  # ... or fewer, when they reach this much text: rows may be big
PREVIEW_CHARS = 80  # a preview shows this much of each name
PROGRESS_EVERY = 10_000  # records between two on_progress calls (a terminal redraws at ~5 a second)

# COPY's text format: a backslash, tab, newline or carriage return in a value is escaped;
# NULL is \N.
_NEEDS_ESCAPE = re.compile(r"[\\\t\n\r]")
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_text(value: str | None) -> str:
    """One value as COPY's text format writes it."""
    if value is None:
        return "\\N"
    return value.translate(_ESCAPES) if _NEEDS_ESCAPE.search(value) else value


def encode_record(record: Scrobble) -> str:
    """The record as JSON (NamedTuples become objects/arrays) for the payload column."""
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def _entity(raw: list) -> KoitoEntity:
    mbid, aliases, *rest = raw
    return KoitoEntity(mbid, tuple(KoitoAlias(*a) for a in aliases), *rest)


def decode_record(raw: list) -> Scrobble:
    """Rebuild a Scrobble from :func:`encode_record`'s JSON (already parsed)."""
    record = Scrobble(*raw)
    koito = record.koito
    return record._replace(
        artist_names=tuple(record.artist_names),
        artist_mbids=tuple(record.artist_mbids),
        artist_mbid_mappings=tuple(tuple(m) for m in record.artist_mbid_mappings),
        koito=None
        if koito is None
        else KoitoListen(_entity(koito[0]), _entity(koito[1]), tuple(_entity(a) for a in koito[2])),
    )


@dataclass
class StagingResult:
    accepted: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    unique_keys: int = 0
    first_listened_at: int | None = None
    last_listened_at: int | None = None
    # (listened_at, artist, track, album) of the first records, names cut to PREVIEW_CHARS:
    # a preview never keeps a record, or a name, whole.
    preview: list[tuple[int, str, str, str]] = field(default_factory=list)


def _previewed(record: Scrobble) -> tuple[int, str, str, str]:
    return (
        record.listened_at,
        record.artist[:PREVIEW_CHARS],
        record.track[:PREVIEW_CHARS],
        record.album[:PREVIEW_CHARS],
    )


def stage_export(
    conn: psycopg.Connection,
    file_id: int,
    export: Export,
    *,
    on_progress: Callable[[int], None] | None = None,
    preview_rows: int = 8,
) -> StagingResult:
    """Replace the file's staged and skipped rows with what ``export`` yields; the one
    transaction is the caller's."""
    conn.execute("DELETE FROM koito_import.staged_scrobbles WHERE file_id = %s", (file_id,))
    conn.execute("DELETE FROM koito_import.skipped_records WHERE file_id = %s", (file_id,))
    # Every staged row names this file: lock its ledger row once instead of a foreign-key check
    # per row (a fifth of the COPY's server time).
    conn.execute("SELECT 1 FROM koito_import.import_files WHERE id = %s FOR KEY SHARE", (file_id,))
    result = StagingResult()
    skipped_rows: list[tuple] = []
    seen_keys: set[str] = set()
    # Repeats of a song share their key inputs: hash the tuple instead of rebuilding the key.
    # Values: (key, key as COPY text). Clients are few: their COPY text is remembered too.
    keys_by_identity: dict[tuple, tuple[str, str]] = {}
    clients: dict[str, str] = {"": "\\N"}
    first = last = None
    # Rows are formatted here, a batch per write: psycopg's write_row costs ~3 µs a row.
    lines: list[str] = []
    pending_chars = 0
    with (
        collector_paused(),
        without_row_checks(conn),
        conn.cursor() as cur,
        cur.copy(
            "COPY koito_import.staged_scrobbles "
            "(file_id, seq, lookup_key, listened_at, client, duration_s, payload, played_s) "
            "FROM STDIN"
        ) as copy,
    ):
        seq = 0
        for item in export:
            if isinstance(item, Skipped):
                if len(skipped_rows) < MAX_SKIPPED_ROWS:
                    skipped_rows.append((file_id, item.position, item.reason.value, item.detail))
                continue
            identity = item[1:10] + (item.koito,)
            known = keys_by_identity.get(identity)
            if known is None:
                key = lookup_key(item)
                known = keys_by_identity[identity] = (key, copy_text(key))
            key, key_text = known
            payload = "\\N"
            if key not in seen_keys:
                seen_keys.add(key)
                payload = copy_text(encode_record(item))
            client = clients.get(item.client)
            if client is None:
                client = clients[item.client] = copy_text(item.client)
            ts = item.listened_at
            if first is None or ts < first:
                first = ts
            if last is None or ts > last:
                last = ts
            line = (
                f"{file_id}\t{seq}\t{key_text}\t{ts}\t{client}\t{item.duration_s}\t{payload}"
                f"\t{item.played_s}\n"
            )
            lines.append(line)
            pending_chars += len(line)
            if len(lines) >= COPY_BATCH_ROWS or pending_chars >= COPY_BATCH_CHARS:
                copy.write("".join(lines))
                lines.clear()
                pending_chars = 0
            if len(result.preview) < preview_rows:
                result.preview.append(_previewed(item))
            seq += 1
            if on_progress is not None and seq % PROGRESS_EVERY == 0:
                on_progress(seq)
        if lines:
            copy.write("".join(lines))
        result.accepted = seq
    if skipped_rows:
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY koito_import.skipped_records (file_id, position, reason, detail) FROM STDIN"
            ) as copy,
        ):
            for row in skipped_rows:
                copy.write_row(row)
    result.skipped = dict(export.stats.skipped)
    result.unique_keys = len(seen_keys)
    result.first_listened_at, result.last_listened_at = first, last
    return result
