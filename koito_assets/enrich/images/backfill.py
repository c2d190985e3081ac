"""The image backfill: give artists and releases without an image one from the provider chain.

Only entities that are *due* are asked: never tried, or whose last miss is older than the retry
interval (doubling with each further miss, up to 8×). Every provider answer is recorded in
``koito_import.image_attempts``. A found image is stored as Koito stores it: a new UUID in
``image`` and the URL in ``image_source`` (Koito downloads lazily on first view); with
``download`` the file is also written into Koito's cache layout now.

Lookups run on a bounded thread pool (each provider keeps its own rate limit); results are
written back in batches, never one round trip per entity.

A release's group comes from MusicBrainz's stored answers (``koito_import.musicbrainz_answers``,
read in one query, no request): the Cover Art Archive then also tries the group's front cover,
which Koito never does because its catalogue keeps no release-group MBID.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

import psycopg

from koito_assets.enrich.images.cache import ImageCache
from koito_assets.enrich.images.chain import ImageFinder
from koito_assets.enrich.images.result import ChainResult
from koito_assets.enrich.musicbrainz_store import stored_release_groups
from koito_assets.settings import Settings

MAX_BACKOFF_FACTOR = 8
FAILURE_RETRY = timedelta(hours=1)  # a provider that did not answer is asked again soon
WRITE_BATCH = 500


class Candidate(NamedTuple):
    kind: str  # "artist" or "album"
    entity_id: int
    names: tuple[str, ...]  # artist: its aliases, primary first; album: its artists' names
    title: str  # album title ("" for artists)
    mbid: str | None
    group_mbid: str | None = None  # the release's group, when MusicBrainz named it


@dataclass
class BackfillReport:
    checked: int = 0
    found: int = 0
    missed: int = 0
    failed: int = 0
    by_provider: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(Counter))
    seconds: float = 0.0

    def as_json(self) -> dict:
        return {
            "checked": self.checked,
            "found": self.found,
            "missed": self.missed,
            "failed": self.failed,
            "by_provider": {p: dict(c) for p, c in sorted(self.by_provider.items())},
            "seconds": round(self.seconds, 3),
        }


_DUE_ARTISTS = """
SELECT a.id, array_agg(aa.alias ORDER BY aa.is_primary DESC, aa.alias), a.musicbrainz_id::text
FROM artists a
JOIN artist_aliases aa ON aa.artist_id = a.id
LEFT JOIN koito_import.image_due d ON d.artist_id = a.id
WHERE a.image IS NULL AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= %(now)s)
GROUP BY a.id
HAVING bool_or(aa.is_primary)
ORDER BY a.id
LIMIT %(limit)s
"""

_DUE_ALBUMS = """
SELECT r.id, r.title, r.musicbrainz_id::text, coalesce(n.names, '{}')
FROM releases_with_title r
LEFT JOIN koito_import.image_due d ON d.release_id = r.id
-- one grouped pass over artist_releases: a correlated subquery would scan it once per release
-- (Koito has no index on artist_releases that starts with release_id)
LEFT JOIN (
    SELECT ar.release_id, array_agg(a.name ORDER BY ar.is_primary DESC, a.name) AS names
    FROM artist_releases ar JOIN artists_with_name a ON a.id = ar.artist_id
    GROUP BY ar.release_id
) n ON n.release_id = r.id
WHERE r.image IS NULL AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= %(now)s)
ORDER BY r.id
LIMIT %(limit)s
"""


def due_candidates(conn: psycopg.Connection, now: datetime, limit: int) -> list[Candidate]:
    """Artists then releases that have no image and are due, oldest first."""
    params = {"now": now, "limit": limit}
    found = [
        Candidate("artist", row[0], tuple(row[1]), "", row[2])
        for row in conn.execute(_DUE_ARTISTS, params)
    ]
    params["limit"] = max(0, limit - len(found))
    albums = conn.execute(_DUE_ALBUMS, params).fetchall()
    groups = stored_release_groups(conn, (row[2] for row in albums if row[2]))
    found += [
        Candidate("album", row[0], tuple(row[3]), row[1], row[2], groups.get(row[2] or ""))
        for row in albums
    ]
    return found


def _ask(finder: ImageFinder, candidate: Candidate) -> ChainResult:
    if candidate.kind == "artist":
        return finder.find_artist_image(candidate.names, candidate.mbid)
    return finder.find_album_image(
        candidate.title, candidate.names, candidate.mbid, candidate.group_mbid
    )


def _chunks(items: Iterable, size: int) -> Iterator[list]:
    batch: list = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _entity_columns(candidate: Candidate) -> tuple[int | None, int | None]:
    return (
        (candidate.entity_id, None) if candidate.kind == "artist" else (None, candidate.entity_id)
    )


class Answer(NamedTuple):
    candidate: Candidate
    chain: ChainResult
    image_id: str | None  # a new UUID when the chain found an image
    failure: str | None  # why the download failed, when one was asked for


def _write_batch(
    conn: psycopg.Connection,
    results: list[Answer],
    now: datetime,
    retry: timedelta,
) -> None:
    """Images, attempts and due times of one batch of answers, in one transaction."""
    images = {"artist": [], "album": []}
    attempts, due = [], []
    for candidate, chain, image_id, failure in results:
        artist_id, release_id = _entity_columns(candidate)
        for outcome in chain.outcomes:
            attempts.append(
                (
                    artist_id,
                    release_id,
                    outcome.provider,
                    outcome.outcome.value,
                    outcome.reason[:500],
                )
            )
        if failure:
            attempts.append((artist_id, release_id, "download", "failed", failure[:500]))
        if image_id and not failure:
            images[candidate.kind].append((candidate.entity_id, image_id, chain.url))
        else:
            transient = chain.transient or bool(failure)
            due.append((artist_id, release_id, transient))
    with conn.transaction(), conn.cursor() as cur:
        if attempts:
            with cur.copy(
                "COPY koito_import.image_attempts "
                "(artist_id, release_id, provider, outcome, detail) FROM STDIN"
            ) as copy:
                for row in attempts:
                    copy.write_row(row)
        for kind, table in (("artist", "artists"), ("album", "releases")):
            rows = images[kind]
            if rows:
                cur.execute(
                    f"""
                    UPDATE {table} t SET image = v.image, image_source = v.source
                    FROM unnest(%s::int[], %s::uuid[], %s::text[]) AS v(id, image, source)
                    WHERE t.id = v.id AND t.image IS NULL
                    """,
                    ([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]),
                )
                column = "artist_id" if kind == "artist" else "release_id"
                cur.execute(
                    f"DELETE FROM koito_import.image_due WHERE {column} = ANY(%s)",
                    ([r[0] for r in rows],),
                )
        for column, index in (("artist_id", 0), ("release_id", 1)):
            rows = [d for d in due if d[index] is not None]
            if not rows:
                continue
            cur.execute(
                f"""
                INSERT INTO koito_import.image_due AS d
                    ({column}, misses, failures, last_attempt_at, next_attempt_at)
                SELECT v.id, (NOT v.transient)::int, v.transient::int, %(now)s,
                       %(now)s + CASE WHEN v.transient THEN %(failure_retry)s ELSE %(retry)s END
                FROM unnest(%(ids)s::int[], %(transient)s::bool[]) AS v(id, transient)
                ON CONFLICT ({column}) DO UPDATE SET
                    misses = d.misses + (NOT EXCLUDED.failures::bool)::int,
                    failures = d.failures + EXCLUDED.failures,
                    last_attempt_at = EXCLUDED.last_attempt_at,
                    next_attempt_at = EXCLUDED.last_attempt_at + CASE
                        WHEN EXCLUDED.failures > 0 THEN %(failure_retry)s
                        ELSE %(retry)s * least(power(2, d.misses), %(max_factor)s)
                    END
                """,
                {
                    "now": now,
                    "retry": retry,
                    "failure_retry": min(FAILURE_RETRY, retry),
                    "max_factor": MAX_BACKOFF_FACTOR,
                    "ids": [d[index] for d in rows],
                    "transient": [d[2] for d in rows],
                },
            )


def backfill_images(
    conn: psycopg.Connection,
    settings: Settings,
    finder: ImageFinder,
    *,
    cache: ImageCache | None = None,
    limit: int = 100_000,
    workers: int = 8,
    now: datetime | None = None,
) -> BackfillReport:
    """Ask the chain for every due entity; record attempts; store (and download) found images."""
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    retry = timedelta(hours=settings.image_retry_hours)
    report = BackfillReport()
    candidates = due_candidates(conn, now, limit)

    def work(candidate: Candidate) -> Answer:
        chain = _ask(finder, candidate)
        if not chain.found:
            return Answer(candidate, chain, None, None)
        image_id = str(uuid.uuid4())
        failure = None
        if cache is not None:
            cached = cache.download(chain.url, image_id)
            failure = None if cached.ok else (cached.reason or "download failed")
        return Answer(candidate, chain, image_id, failure)

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for batch in _chunks(pool.map(work, candidates), WRITE_BATCH):
            _write_batch(conn, batch, now, retry)
            for _, chain, _, failure in batch:
                report.checked += 1
                for outcome in chain.outcomes:
                    report.by_provider[outcome.provider][outcome.outcome.value] += 1
                if chain.found and not failure:
                    report.found += 1
                elif chain.transient or failure:
                    report.failed += 1
                else:
                    report.missed += 1
    report.seconds = time.perf_counter() - started
    return report
