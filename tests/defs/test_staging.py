"""Staging writes COPY's text format itself: every value must come back exactly as it went in."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from koito_assets.catalog.lookup_key import lookup_key
from koito_assets.defs.imports import ledger
from koito_assets.defs.imports.staging import decode_record, stage_export
from koito_assets.settings import Settings
from koito_assets.sources import Scrobble, open_export

# Text with everything COPY's text format must escape, and what it must leave alone.
PIECES = list("ab ü東\\\t\n\r\x1f\x1e\"'{}[],:N.") + ["\\N", "\\.", "\U0001f3b5"]
nasty = st.lists(st.sampled_from(PIECES), min_size=1, max_size=12).map("".join).filter(str.strip)


def _maloja(path: Path, plays: list[tuple[str, str, str, str]]) -> Path:
    scrobbles = [
        {
            "time": 1_700_000_000 + i,
            "track": {"artists": [artist], "title": title, "album": {"albumtitle": album}},
            "origin": origin,
        }
        for i, (artist, title, album, origin) in enumerate(plays)
    ]
    path.write_text(
        json.dumps({"maloja": {"export_time": 1}, "scrobbles": scrobbles}), encoding="utf-8"
    )
    return path


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(plays=st.lists(st.tuples(nasty, nasty, nasty, nasty), min_size=1, max_size=6))
def test_staged_rows_round_trip_whatever_the_text(db_url: str, tmp_path: Path, plays) -> None:
    path = _maloja(tmp_path / "maloja_export_nasty.json", plays)
    export = open_export(path, Settings())
    records: list[Scrobble] = list(open_export(path, Settings()))
    with psycopg.connect(db_url, autocommit=True) as conn:
        ledger.register_file(conn, path.name, path)
        file_id = ledger.file_id(conn, path.name)
        with conn.transaction():
            result = stage_export(conn, file_id, export)
        rows = conn.execute(
            "SELECT seq, lookup_key, listened_at, client, duration_s, payload "
            "FROM koito_import.staged_scrobbles WHERE file_id = %s ORDER BY seq",
            (file_id,),
        ).fetchall()
        conn.execute("DELETE FROM koito_import.import_files WHERE id = %s", (file_id,))
    assert result.accepted == len(records) == len(rows)
    seen = set()
    for (_seq, key, listened_at, client, duration_s, payload), record in zip(
        rows, records, strict=True
    ):
        assert (key, listened_at, client, duration_s) == (
            lookup_key(record),
            record.listened_at,
            record.client or None,
            record.duration_s,
        )
        assert (payload is not None) == (key not in seen)  # the full record: first of its key only
        if payload is not None:
            assert decode_record(payload) == record
        seen.add(key)
