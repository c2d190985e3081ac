"""Skipping PostgreSQL's per-row foreign-key checks where the caller has taken their guarantee.

A foreign-key check is a trigger that looks the referenced row up and locks it FOR KEY SHARE,
once per inserted row. A bulk insert whose targets were created in the same transaction or
locked beforehand in one set-based statement gets nothing from them but the cost (half of an
alias or link insert). ``session_replication_role = replica`` turns those triggers off, and with
them every ordinary trigger, so only statements on tables whose triggers may be skipped go in the
block. Only a superuser (such as the embedded server's) may change it without a grant; for any
other role the block runs with the checks. The server reports ``is_superuser`` when the
connection starts, so deciding costs no round trip.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg


@contextmanager
def without_row_checks(conn: psycopg.Connection) -> Iterator[bool]:
    """Inside the caller's transaction: run the block without per-row trigger checks when the
    role may; yields whether it may."""
    skipped = conn.info.parameter_status("is_superuser") == "on"
    if skipped:
        conn.execute("SET LOCAL session_replication_role = replica")
    yield skipped
    if skipped:
        conn.execute("SET LOCAL session_replication_role = origin")
