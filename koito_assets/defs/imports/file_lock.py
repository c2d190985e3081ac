"""One import of a file at a time: a PostgreSQL advisory lock per ledger row, held for a run.

Two processes importing the same content at once (the CLI and the sensor, two terminals) would
stage, resolve and finish one ledger row together. The first step of a run takes the row's lock
on a connection of its own and keeps it until the last step finishes; a second run of the same
file waits for it there. The lock is the server's: it goes with the connection, so a run that
dies (its process killed) never leaves the file locked.

Within one process the lock is re-entrant: the CLI takes it before running the job (to tell a
file that another process imported meanwhile), and the job's first step then finds it held.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import psycopg

# pg_advisory_lock(int, int): the first key says "a koito_import ledger row" in pg_locks.
LOCK_CLASS = 0x6B_69_66  # "kif"

# (database, file id) -> the connection holding that file's lock
_held: dict[tuple[str, int], psycopg.Connection] = {}
_guard = threading.Lock()


def hold(conninfo: str, file_id: int, *, on_wait: Callable[[], None] | None = None) -> bool:
    """Take the lock of ``file_id`` (waiting while another process holds it) unless this process
    holds it already; True when it had to wait. ``on_wait`` is called once, before waiting."""
    if held_here(conninfo, file_id):
        return False
    conn = psycopg.connect(conninfo, autocommit=True, application_name="koito-assets file lock")
    try:
        got = conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (LOCK_CLASS, file_id)).fetchone()
        waited = not got[0]
        if waited:
            if on_wait is not None:
                on_wait()
            conn.execute("SELECT pg_advisory_lock(%s, %s)", (LOCK_CLASS, file_id))
    except BaseException:
        conn.close()
        raise
    with _guard:
        _held[(conninfo, file_id)] = conn
    return waited


def release(conninfo: str, file_id: int) -> None:
    """Let the lock of ``file_id`` go, if this process holds it."""
    with _guard:
        conn = _held.pop((conninfo, file_id), None)
    if conn is not None:
        conn.close()  # the server drops a session's advisory locks with it


def held_here(conninfo: str, file_id: int) -> bool:
    """Whether this process holds the lock of ``file_id`` in the database at ``conninfo``."""
    with _guard:
        conn = _held.get((conninfo, file_id))
        return conn is not None and not conn.closed
