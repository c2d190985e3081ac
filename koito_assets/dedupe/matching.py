"""Loading a file's listens so that a play another source already loaded is not loaded again.

Everything runs inside the caller's transaction, as a fixed number of set-based statements
(sql/dedupe/), whatever the file's size: the matching rounds are statements over all pairs at
once, never a query per listen.

1. :func:`serialise_loads`: loads of one user's listens take turns (a transaction-scoped
   advisory lock), so two files imported at once see each other's listens, in either order.
2. :func:`other_sources_nearby`: when no listen of another source lies around the file's time
   range, Koito's rule alone decides (the caller's ordinary insert) and
   :func:`record_provenance` notes where the new listens came from. That is every first
   import, so the common load costs one range probe more.
3. Otherwise :func:`load_matching`: the file's listens (one per track and second, as Koito
   keeps them), the same-source duplicates (Koito's rule), candidate pairs with listens of other
   sources by a range join on Koito's ``listens(listened_at)`` index, names for pairs of
   different tracks, one-to-one matching in rounds of mutual nearest pairs, the matched records
   moved to the skip table as ``same_play_from_<source>``, and the rest inserted.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import psycopg

from koito_assets.db.sql_files import sql_text
from koito_assets.dedupe import conventions

# pg_advisory_xact_lock(class, user): "koit" in ASCII, recognisable in pg_locks.
LOAD_LOCK_CLASS = 0x6B6F6974
MAX_ROUNDS = 1000  # a safety stop; every round matches at least one pair
# Plans other than index probes, off while the statements that probe listens are planned.
_PROBE_OFF = ("enable_seqscan", "enable_bitmapscan", "enable_hashjoin", "enable_mergejoin")


def _sql(name: str) -> str:
    return sql_text("dedupe", name)


@dataclass
class MatchResult:
    """What :func:`load_matching` did to a file's listens."""

    inserted: int = 0
    same_play: dict[str, int] = field(default_factory=dict)  # source -> records recognised
    shifted: int = 0
    candidate_pairs: int = 0
    rounds: int = 0
    seconds: float = 0.0

    @property
    def recognised(self) -> int:
        return sum(self.same_play.values())


@contextmanager
def _probing_listens_by_index(conn: psycopg.Connection) -> Iterator[None]:
    """Inside the caller's transaction: plan the next statements as index probes per new listen.

    A listens table that was just filled by a large import has no statistics until autovacuum
    gets to it, and the planner then takes it for a few rows and joins every new listen with
    every listen: quadratic. The statements here are probes by key or by time range, which the
    indexes answer whatever the table's size, so the alternatives are switched off for them.
    """
    for name in _PROBE_OFF:
        conn.execute(f"SET LOCAL {name} = off")
    yield
    for name in _PROBE_OFF:
        conn.execute(f"SET LOCAL {name} TO DEFAULT")


def serialise_loads(conn: psycopg.Connection, user_id: int) -> None:
    """Wait for any other load of this user's listens to commit; held until this one commits."""
    conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (LOAD_LOCK_CLASS, user_id))


def _params(file_id: int, user_id: int, source: str, tolerance_s: int) -> dict[str, object]:
    return {
        "file_id": file_id,
        "user_id": user_id,
        "source": source,
        "tolerance": tolerance_s,
        "min_tolerance": conventions.MIN_TOLERANCE_S,
        "unknown_length": conventions.UNKNOWN_LENGTH_S,
        "longest_play": conventions.LONGEST_PLAY_S,
        "minute_slack": conventions.MINUTE_SLACK_S,
        "max_shift": conventions.MAX_SHIFT_S,
        "played_differs": conventions.PLAYED_DIFFERS_S,
        "list_separators": conventions.LIST_SEPARATORS,
    }


def other_sources_nearby(
    conn: psycopg.Connection, file_id: int, *, user_id: int, source: str
) -> bool:
    """Whether a listen of another source lies within reach of the file's staged plays."""
    first, last = conn.execute(_sql("file_range"), {"file_id": file_id}).fetchone()
    if first is None:
        return False
    margin = conventions.RANGE_MARGIN_S
    params = {"lo": first - margin, "hi": last + margin, "user_id": user_id, "source": source}
    return bool(conn.execute(_sql("other_sources_nearby"), params).fetchone()[0])


def record_provenance(conn: psycopg.Connection, file_id: int, *, source: str) -> int:
    """After a load by Koito's rule: provenance rows for the listens that need one; their count."""
    params = {"file_id": file_id, "source": source, "played_differs": conventions.PLAYED_DIFFERS_S}
    return conn.execute(_sql("provenance_of_staged"), params).rowcount


def load_matching(
    conn: psycopg.Connection, file_id: int, *, user_id: int, source: str, tolerance_s: int
) -> MatchResult:
    """Insert the file's listens, except the plays another source's listens already hold."""
    started = time.perf_counter()
    params = _params(file_id, user_id, source, tolerance_s)
    result = MatchResult()
    conn.execute(_sql("new_listens"), params)
    with _probing_listens_by_index(conn):
        conn.execute(_sql("seconds_taken"), params)
        conn.execute(_sql("candidate_pairs"), params)
    conn.execute(_sql("different_names"), params)
    result.candidate_pairs = conn.execute("SELECT count(*) FROM dedupe_pairs").fetchone()[0]
    conn.execute(
        "CREATE TEMP TABLE dedupe_match (seq integer PRIMARY KEY, track_id integer NOT NULL, "
        "listened_at timestamptz NOT NULL, source text NOT NULL, "
        "UNIQUE (track_id, listened_at)) ON COMMIT DROP"
    )
    if result.candidate_pairs:
        while result.rounds < MAX_ROUNDS:
            result.rounds += 1
            if conn.execute(_sql("match_round"), params).rowcount == 0:
                break
        rows = conn.execute(_sql("recognise"), params).fetchall()
        result.same_play = {reason.removeprefix("same_play_from_"): count for reason, count in rows}
    try:
        with conn.transaction():  # a savepoint: a listen inserted meanwhile must not end ours
            result.inserted = conn.execute(_sql("insert_unmatched"), params).rowcount
    except psycopg.errors.UniqueViolation:
        result.inserted = conn.execute(_sql("insert_unmatched_on_conflict"), params).rowcount
    left = conn.execute(_sql("taken_left")).fetchone()[0]
    for shift in range(1, conventions.MAX_SHIFT_S + 1):
        if not left:
            break
        shifted = conn.execute(_sql("insert_shifted"), {**params, "shift": shift}).rowcount
        result.shifted += shifted
        left -= shifted
    result.inserted += result.shifted
    conn.execute(_sql("provenance_of_new"), params)
    result.seconds = time.perf_counter() - started
    return result
