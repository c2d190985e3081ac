"""One resolution = one transaction, retried when it lost a race it could not have avoided.

A resolution reads, locks, re-checks and writes. It can still lose to another transaction in
ways no lock order prevents (row locks taken by Koito's own statements, an MBID given to an
entity meanwhile, an entity deleted by Koito's orphan clean-up before our insert referenced
it). Each of those ends in an error that a fresh attempt, seeing the winner's commit, avoids.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

import psycopg
from psycopg import errors

from koito_assets.catalog.locks import LockOrderRestart, LockSet

T = TypeVar("T")

ATTEMPTS = 8


class EntityVanished(RuntimeError):
    """An entity a resolution used was deleted by another transaction before we committed."""


# deadlock, serialization failure, duplicate MBID, foreign key to a row deleted meanwhile
RETRYABLE = (
    errors.DeadlockDetected,
    errors.SerializationFailure,
    errors.UniqueViolation,
    errors.ForeignKeyViolation,
    EntityVanished,
)


class LostRace(RuntimeError):
    """A resolution kept losing races to concurrent writers; the last error is the cause."""


def in_transaction(conn: psycopg.Connection, work: Callable[[LockSet], T]) -> T:
    """Run ``work`` in a transaction on ``conn`` (which must be idle), retrying lost races."""
    first: set[int] = set()
    last: Exception | None = None
    for attempt in range(ATTEMPTS):
        try:
            with conn.transaction():
                return work(LockSet(conn, first))
        except LockOrderRestart as exc:
            first |= exc.keys  # next time take them before anything else, in order
            last = exc
        except RETRYABLE as exc:
            last = exc
            time.sleep(random.uniform(0, 0.01 * 2**attempt))
    raise LostRace(f"gave up after {ATTEMPTS} attempts: {last}") from last
