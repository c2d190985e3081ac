"""No duplicates under concurrency (docs/design.md §5.7): bulk resolutions and live submits racing
for the same new artists, releases and tracks end with exactly one of each.

The scenario is built so that every serial order of its records gives the same catalogue (one
credit set per track title, one first artist per release), so any extra entity is a race lost.
Run with ``koito_assets.catalog.locks.LOCKING = False`` this test fails: see
``test_the_race_is_real_without_locks``.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable

import psycopg

from koito_assets.catalog import locks
from koito_assets.catalog.resolve import resolve_keys
from koito_assets.catalog.submit import submit_listen
from koito_assets.sources.record import Scrobble
from tests.catalog import helpers
from tests.catalog.helpers import OFF, SETTINGS, scrobble

BULK_RESOLUTIONS = 3
SUBMITTERS = 4
ROUNDS = 4
MBID = "66666666-0000-4000-8000-{:012d}"


def scenario(tag: str, round_no: int) -> tuple[list[Scrobble], tuple[int, int, int]]:
    """Records naming three new artists in many spellings, and the catalogue any serial order
    gives."""
    shared, guest, other = f"{tag} Shared", f"{tag} Guest", f"{tag} Other"
    spellings = {
        0: [shared, f"{shared} ", f"  {shared}"],
        1: [
            f"{shared} feat. {guest}",
            f"{shared} (feat. {guest})",
            f"{shared} · {guest}",
            f"{shared} [feat. {guest}]",
        ],
        2: [
            f"{shared} feat. {guest} & {other}",
            f"{shared} (feat. {guest}, {other})",
            f"{shared} · {guest} · {other}",
        ],
    }
    records, releases, tracks = [], {f"{tag} Album"}, set()
    for song in range(8):
        title = f"{tag} Song {song}"
        album = f"{tag} Album" if song % 3 else ""  # every third song is a single
        releases.add(album or title)
        tracks.add((title, album or title))
        for spelling in spellings[song % 3]:
            records.append(scrobble(spelling, title, album, at=song))
        if song % 3 == 0:
            # LastFM-like: the shared artist's MBID mapped to its name (MusicBrainz off, so it is
            # found by name and takes the MBID). A mapped artist string is not parsed for
            # features, so only songs credited to the shared artist alone get one.
            mapping = ((shared, MBID.format(round_no)),)
            records.append(scrobble(shared, title, album, at=song, artist_mbid_mappings=mapping))
    return records, (3, len(releases), len(tracks))


def race(url: str, records: list[Scrobble], seed: int) -> list[BaseException]:
    """Everyone at once: bulk resolutions of the whole set and submitters of single listens."""
    start = threading.Barrier(BULK_RESOLUTIONS + SUBMITTERS)
    errors: list[BaseException] = []
    rng = random.Random(seed)
    orders = [rng.sample(records, len(records)) for _ in range(BULK_RESOLUTIONS + SUBMITTERS)]

    def guarded(work: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                start.wait()
                work()
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                errors.append(exc)

        return run

    def bulk(order: list[Scrobble]) -> Callable[[], None]:
        def work() -> None:
            with helpers.pool_for(url, 1) as pool:
                result = resolve_keys(pool, order, musicbrainz=OFF, settings=SETTINGS)
                assert not result.failed, result.failed

        return work

    def submitter(order: list[Scrobble], offset: int) -> Callable[[], None]:
        def work() -> None:
            with psycopg.connect(url, autocommit=True) as conn:
                for i, record in enumerate(order):
                    submit_listen(
                        conn,
                        record._replace(listened_at=offset + i),
                        musicbrainz=OFF,
                        settings=SETTINGS,
                    )

        return work

    threads = [threading.Thread(target=guarded(bulk(orders[i]))) for i in range(BULK_RESOLUTIONS)]
    threads += [
        threading.Thread(target=guarded(submitter(orders[BULK_RESOLUTIONS + i], 1000 * (i + 1))))
        for i in range(SUBMITTERS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def counts(conn: psycopg.Connection, tag: str) -> tuple[int, int, int]:
    like = tag + " %"
    return conn.execute(
        "SELECT (SELECT count(DISTINCT artist_id) FROM artist_aliases WHERE alias LIKE %(p)s),"
        " (SELECT count(*) FROM release_aliases WHERE is_primary AND alias LIKE %(p)s),"
        " (SELECT count(*) FROM track_aliases WHERE is_primary AND alias LIKE %(p)s)",
        {"p": like},
    ).fetchone()


def run_rounds(db_url: str, conn: psycopg.Connection) -> list[str]:
    """Every round's problems (empty when all went well)."""
    problems = []
    for round_no in range(ROUNDS):
        tag = f"R{round_no}"
        records, expected = scenario(tag, round_no)
        errors = race(db_url, records, seed=round_no)
        problems += [f"{tag}: {type(e).__name__}: {e}" for e in errors]
        got = counts(conn, tag)
        if got != expected:
            problems.append(f"{tag}: (artists, releases, tracks) = {got}, expected {expected}")
    dupes = {what: rows for what, rows in helpers.duplicates(conn).items() if rows}
    if dupes:
        problems.append(f"duplicates: {dupes}")
    return problems


def test_racing_resolutions_create_each_entity_once(db_url: str, conn: psycopg.Connection) -> None:
    assert run_rounds(db_url, conn) == []
    # every key got its cache row, every listen its track
    assert conn.execute(
        "SELECT count(*) FROM listens l LEFT JOIN tracks t ON t.id = l.track_id WHERE t.id IS NULL"
    ).fetchone() == (0,)


def test_the_race_is_real_without_locks(db_url: str, conn: psycopg.Connection, monkeypatch) -> None:
    """The same race with the advisory locks switched off does create duplicates: the test above
    would fail on naive "look up, then insert" code."""
    monkeypatch.setattr(locks, "LOCKING", False)
    assert any("duplicates" in p or "expected" in p for p in run_rounds(db_url, conn))
