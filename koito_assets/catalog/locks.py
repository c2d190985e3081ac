"""Advisory locks that keep two resolutions from creating the same entity (docs/design.md §5.7).

Koito's schema lets two artists share an alias and two releases share a title, so nothing in
the database stops a duplicate; "look up, then insert" must be serialised per name. Each
creation takes a transaction-scoped advisory lock keyed by what a lookup would find it by
(artist alias, release title + artist, track title + release, or an MBID), re-checks under
the lock, and only then inserts; the lock is held until commit, when the new row is visible.

Keys are 64-bit: the entity class in the high half (artists < releases < tracks, the order in
which a resolution takes them) and a hash bucket in the low half. Buckets, not exact hashes,
because a bulk resolution may create 20,000 entities in one transaction: PostgreSQL keeps every
advisory lock in a shared table (about 64 × max_connections entries), and exclusive locks over
3 × BUCKETS keys can never hold more than that many entries, however many resolutions run. Two
names in one bucket merely wait for each other.

Deadlocks: a :class:`LockSet` only ever *waits* for a key greater than every key it holds.
Taken in that order, no cycle of waits can form. A key that comes out of order (a resolution
discovers names as it goes) is only *tried*; if someone else holds it the transaction restarts
and takes it, with the rest, in order from the start.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

import psycopg

# A test switch, and nothing else: the concurrency test turns it off to show the race it prevents.
LOCKING = True

BUCKETS = 512
_ARTIST, _RELEASE, _TRACK = 1, 2, 3


def _bucket(kind: int, text: str) -> int:
    # CRC-32: stable across processes and hosts (unlike hash()), and cheap; a bucket is all we need.
    return (kind << 32) | (zlib.crc32(text.encode("utf-8", "surrogatepass")) % BUCKETS)


def artist_name_lock(name: str) -> int:
    """Creating an artist, or giving one an alias, that a lookup by ``name`` would find."""
    return _bucket(_ARTIST, "n\x1f" + name)


def artist_mbid_lock(mbid: str) -> int:
    return _bucket(_ARTIST, "m\x1f" + mbid)


def album_lock(title: str, artist_id: int) -> int:
    """Creating a release (or linking an artist) that a lookup by (title, artist) would find."""
    return _bucket(_RELEASE, f"t\x1f{title}\x1f{artist_id}")


def album_mbid_lock(mbid: str) -> int:
    return _bucket(_RELEASE, "m\x1f" + mbid)


def track_lock(title: str, album_id: int) -> int:
    """Creating a track that a lookup by (title, release, artists) would find."""
    return _bucket(_TRACK, f"t\x1f{title}\x1f{album_id}")


def track_mbid_lock(mbid: str) -> int:
    return _bucket(_TRACK, "m\x1f" + mbid)


class LockOrderRestart(Exception):
    """A lock taken out of order is busy: roll back and start again holding ``keys`` first."""

    def __init__(self, keys: Iterable[int]) -> None:
        super().__init__("an out-of-order advisory lock is busy; restarting the transaction")
        self.keys = frozenset(keys)


class LockSet:
    """The advisory locks one transaction holds; waits only in increasing key order."""

    def __init__(self, conn: psycopg.Connection, first: Iterable[int] = ()) -> None:
        self.conn = conn
        self.held: set[int] = set()
        self._max = -1
        if first:
            self.acquire(first)

    def missing(self, keys: Iterable[int]) -> list[int]:
        """The keys of ``keys`` not held yet, in order (none when locking is switched off)."""
        return sorted(set(keys) - self.held) if LOCKING else []

    def acquire(self, keys: Iterable[int]) -> None:
        """Hold every key in ``keys``, or raise LockOrderRestart."""
        want = self.missing(keys)
        if not want:
            return
        early = [k for k in want if k < self._max]
        if early:
            got = self.conn.execute(
                "SELECT bool_and(pg_try_advisory_xact_lock(k)) FROM unnest(%s::bigint[]) AS k",
                (early,),
            ).fetchone()[0]
            if not got:
                raise LockOrderRestart(want)  # the rollback releases the ones we did get
            self.held.update(early)
        late = [k for k in want if k > self._max]
        if late:
            # unnest keeps array order, so the server takes them one by one, in increasing order.
            self.conn.execute(
                "SELECT count(pg_advisory_xact_lock(k)) FROM unnest(%s::bigint[]) AS k", (late,)
            )
            self.held.update(late)
            self._max = late[-1]
