"""Our catalogue onto Koito's SQLite catalogue, by the rules of Koito's importer for export files.

Koito's importer takes a Koito export one listen at a time: each artist by MBID, else by any
alias; the album by MBID, else by primary title and first artist; the track by MBID, else by
primary title, album and every artist; whatever is missing is created on the spot. The result
depends on order only through what earlier listens created, so it is computed here set-based
from each entity's first listen (its rank): a fixed handful of statements per kind, plus rounds
for the two order-dependent lookups (a name that an artist created earlier carries as an alias;
a release found through an artist that an earlier track linked to it), repeated until nothing
changes, which in practice is once or twice. The statements live in ``sql/to_koito/sqlite_*.sql``.
"""

from __future__ import annotations

import re
import sqlite3
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from koito_assets.db.sql_files import sql_text
from koito_assets.to_koito.sqlite_target import KOITO_USER_ID

FOLDER = "to_koito"


class MergeCheckFailed(RuntimeError):
    """A check before commit failed: the merge was rolled back."""


@dataclass
class MappingCounts:
    """What the mapping did, by Koito entity kind, and the rounds it needed."""

    artists_matched: int = 0
    artists_created: int = 0
    releases_matched: int = 0
    releases_created: int = 0
    tracks_matched: int = 0
    tracks_created: int = 0
    listens_merged: int = 0
    listens_added: int = 0
    durations_filled: int = 0
    skipped_listens: dict[str, int] = field(default_factory=dict)
    artist_rounds: int = 0
    release_rounds: int = 0
    step_seconds: dict[str, float] = field(default_factory=dict)


_LINE_COMMENT = re.compile(r"--[^\n]*")


def statements(script: str) -> list[str]:
    """The statements of an SQL script, split where SQLite says a statement is complete;
    pieces that hold only comments are no statements."""
    found: list[str] = []
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if _LINE_COMMENT.sub("", pending).strip(" \t\r\n;"):
                found.append(pending.strip())
            pending = ""
    return found


def run_script(
    conn: sqlite3.Connection,
    name: str,
    params: Mapping[str, object] | None = None,
    seconds: dict[str, float] | None = None,
) -> int:
    """Run ``sql/to_koito/<name>.sql`` statement by statement, inside the caller's transaction
    (``executescript`` would commit it); returns the row count of the last statement and adds
    its time to ``seconds[name]``."""
    started = time.perf_counter()
    count = -1
    for statement in statements(sql_text(FOLDER, name)):
        count = conn.execute(statement, dict(params or {})).rowcount
    if seconds is not None:
        key = name.removeprefix("sqlite_")
        seconds[key] = seconds.get(key, 0.0) + time.perf_counter() - started
    return count


def register_functions(conn: sqlite3.Connection) -> None:
    """``new_uuid()``: a fresh image id, as Koito gives an entity whose image URL it will fetch."""
    conn.create_function("new_uuid", 0, lambda: str(uuid.uuid4()))


def _rounds(conn: sqlite3.Connection, name: str, limit: int, seconds: dict[str, float]) -> int:
    """Repeat one round until it changes nothing; each round's answers depend only on earlier
    ranks, so ``limit`` (the number of entities + 1) rounds always suffice."""
    for done in range(1, limit + 2):
        if run_script(conn, name, seconds=seconds) == 0:
            return done
    raise MergeCheckFailed(f"{name} did not settle in {limit + 1} rounds")


def max_ids(conn: sqlite3.Connection) -> dict[str, int]:
    """The highest id of each Koito entity table: what the merge creates comes above."""
    row = conn.execute(
        "SELECT (SELECT coalesce(max(id), 0) FROM main.artists), "
        "(SELECT coalesce(max(id), 0) FROM main.releases), "
        "(SELECT coalesce(max(id), 0) FROM main.tracks)"
    ).fetchone()
    return {"artists_before": row[0], "releases_before": row[1], "tracks_before": row[2]}


def map_and_write(conn: sqlite3.Connection) -> MappingCounts:
    """Match, create and insert, inside the caller's transaction; then check before commit."""
    counts = MappingCounts()
    took = counts.step_seconds
    before = max_ids(conn)
    run_script(conn, "sqlite_prepare", seconds=took)
    for reason, listens in conn.execute(
        "SELECT skip, sum(listens) FROM m_track WHERE skip IS NOT NULL GROUP BY skip"
    ):
        counts.skipped_listens[reason] = listens

    artists = conn.execute("SELECT count(*) FROM m_artist").fetchone()[0]
    run_script(conn, "sqlite_artists_existing", seconds=took)
    counts.artist_rounds = _rounds(conn, "sqlite_artists_round", artists, took)
    run_script(conn, "sqlite_artists_create", seconds=took)
    run_script(conn, "sqlite_track_artists", seconds=took)

    tracks = conn.execute("SELECT count(*) FROM m_track").fetchone()[0]
    run_script(conn, "sqlite_releases_existing", seconds=took)
    counts.release_rounds = _rounds(conn, "sqlite_releases_round", tracks, took)
    run_script(conn, "sqlite_releases_create", seconds=took)
    run_script(conn, "sqlite_tracks", seconds=took)
    counts.durations_filled = run_script(conn, "sqlite_durations", seconds=took)
    counts.listens_added = run_script(
        conn, "sqlite_listens", {"user_id": KOITO_USER_ID}, seconds=took
    )

    report = conn.execute(sql_text(FOLDER, "sqlite_report")).fetchone()
    (
        counts.artists_matched,
        counts.artists_created,
        counts.releases_matched,
        counts.releases_created,
        counts.tracks_matched,
        counts.tracks_created,
        counts.listens_merged,
    ) = report
    started = time.perf_counter()
    check_before_commit(conn, before)
    took["checks"] = time.perf_counter() - started
    return counts


# Koito's tables this merge writes: foreign_key_check runs over each.
WRITTEN_TABLES = (
    "artist_aliases",
    "artist_releases",
    "release_aliases",
    "tracks",
    "artist_tracks",
    "track_aliases",
    "listens",
)


def check_before_commit(conn: sqlite3.Connection, before: Mapping[str, int]) -> None:
    """``PRAGMA foreign_key_check`` and the invariants Koito's UI relies on; raise if broken."""
    problems = []
    for table in WRITTEN_TABLES:
        bad = conn.execute(f"PRAGMA main.foreign_key_check({table})").fetchall()
        if bad:
            problems.append(f"{len(bad)} rows of {table} point at nothing")
    for rule, broken in conn.execute(sql_text(FOLDER, "sqlite_invariants"), dict(before)):
        problems.append(f"{broken} {rule}")
    if problems:
        raise MergeCheckFailed("; ".join(problems))
