"""``resolve_keys``: many distinct lookup keys to Koito entities at once, set-based.

Like ListenBrainz's MessyBrainz: the caller has already de-duplicated (one representative
record per key, in file order); cache hits come back from one ``= ANY`` query; the misses are
resolved together by Koito's rules (rules.py, koito_export_rules.py) over a :class:`BatchStore`,
in two phases, a fixed number of statements per batch whatever its size; new entities and
cache rows are written with multi-row INSERTs. Same rules, same order, so the same catalogue as
``submit_listen`` record by record (the differential test checks it).

MusicBrainz, when enabled and needed, is asked up front (musicbrainz_plan.py): stored answers
first, then searches of 100 MBIDs, then lookups for the rest, by ``settings.resolve_workers``
threads, outside any transaction; resolution itself then stays one deterministic pass in file
order, which is what makes "the first record creates the album, with
its artists" hold as it does for Koito, and keeps MusicBrainz's one-request-a-second wait out
of the time locks are held.

Concurrency: each batch is one transaction that takes the advisory locks of everything it
creates (locks.py), then checks that what it read is unchanged (running again under the locks
if it is not), and writes. Keys
whose entities vanished later (Koito's orphan clean-up, docs/design.md §5.8) simply miss the cache
on the next call and are resolved again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar

import psycopg
import psycopg_pool

from koito_assets.catalog import cache, rules
from koito_assets.catalog.artist_parsing import parsed_names
from koito_assets.catalog.batch_store import (
    AlbumState,
    ArtistState,
    BatchStore,
    Loaded,
    TrackState,
)
from koito_assets.catalog.db_store import DbStore
from koito_assets.catalog.locks import LockSet
from koito_assets.catalog.lookup_key import lookup_key, lookup_mbids, primary_alias
from koito_assets.catalog.musicbrainz_plan import prefetch
from koito_assets.catalog.transactions import LostRace, in_transaction
from koito_assets.catalog.validation import InvalidRecord, check_record
from koito_assets.db.row_checks import without_row_checks
from koito_assets.enrich.musicbrainz import MbArtist, MbRecording, MbRelease, MusicBrainz
from koito_assets.enrich.musicbrainz_asker import MusicBrainzAsker, Progress
from koito_assets.enrich.musicbrainz_store import AnswerStore
from koito_assets.gc_pause import collector_paused
from koito_assets.settings import Settings
from koito_assets.sources.record import Scrobble

T = TypeVar("T")
log = logging.getLogger(__name__)

# Keys per transaction: bounds memory and how long one transaction holds its locks.
BATCH_KEYS = 50_000

Item = tuple[str, Scrobble]


@dataclass
class ResolveResult:
    """What ``resolve_keys`` did: ids per key, counts, and the keys it could not resolve."""

    ids: dict[str, tuple[int, int, int]] = field(
        default_factory=dict
    )  # key → (artist, album, track)
    cache_hits: int = 0
    artists_created: int = 0
    albums_created: int = 0
    tracks_created: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # key → reason
    musicbrainz_requests: int = 0  # requests sent to MusicBrainz (searches, browses, lookups)
    musicbrainz_from_store: int = 0  # answers read from the store instead
    musicbrainz_lookups_fallback: int = 0  # one-MBID lookups: what a search did not answer
    musicbrainz_seconds: float = 0.0  # time spent asking (stored answers included)
    musicbrainz_unreachable: str = ""  # why MusicBrainz was given up for this call, if it was
    live_queries: int = 0  # questions the bulk loads did not foresee (0 in every test)
    batches_resolved_per_key: int = 0  # batches that failed set-based and went key by key


@dataclass
class _Batch:
    ids: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    created: tuple[int, int, int] = (0, 0, 0)
    live_queries: int = 0


def _until_locked(
    conn: psycopg.Connection,
    store: BatchStore,
    locks: LockSet,
    run: Callable[[], T],
    loaded: Callable[[], Sequence[Loaded]],
) -> T:
    """Run a phase; if it creates anything whose locks we lack, take them, then check that what
    the run read is still so. If another resolution created one of those entities before we got
    the locks, run again on fresh state (now under the locks); usually nothing changed."""
    while True:
        store.requested_locks = set()
        out = run()
        need = locks.missing(store.requested_locks)
        if not need:
            return out
        locks.acquire(need)
        if not any(state.changed(conn) for state in loaded()):
            return out


def _artist_inputs(
    items: Sequence[Item], asker: MusicBrainzAsker, separators: Sequence[str]
) -> tuple[set[str], set[str]]:
    """Every name and MBID the artist rules may look up for these records."""
    names: set[str] = set()
    mbids: set[str] = set()
    seps = tuple(separators)
    for _, record in items:
        if record.koito is not None:
            for artist in record.koito.artists:
                names.update(a.alias.strip() for a in artist.aliases)
                names.add(primary_alias(artist).strip())
                if artist.mbid:
                    mbids.add(artist.mbid)
            continue
        if record.artist_names:
            names.update(n.strip() for n in record.artist_names)
        if record.artist_mbid_mappings:
            names.update(n.strip() for n, _ in record.artist_mbid_mappings)
        names.update(name for name, _ in parsed_names(record.artist, record.track, seps))
        if not (record.artist_mbids or record.artist_mbid_mappings):
            continue
        for mbid in (*record.artist_mbids, *(m for _, m in record.artist_mbid_mappings)):
            mbids.add(mbid)
            known = asker.known("artist", mbid)
            if isinstance(known, MbArtist):
                names.update(known.aliases)
                names.update(a.strip() for a in known.aliases)
    return names, mbids


def _album_inputs(
    items: Sequence[Item], artists: dict[str, rules.Artists], asker: MusicBrainzAsker
) -> tuple[set[tuple[str, int]], set[str]]:
    """Every (title, album artist) pair and release MBID the release rules may look up."""
    pairs: set[tuple[str, int]] = set()
    mbids: set[str] = set()
    for key, record in items:
        first = artists[key].album_artist
        if record.koito is not None:
            pairs.add((primary_alias(record.koito.album), first))
            if record.koito.album.mbid:
                mbids.add(record.koito.album.mbid)
            continue
        pairs.add((record.album or record.track, first))
        if record.release_mbid:
            mbids.add(record.release_mbid)
            release = asker.known("release", record.release_mbid)
            if isinstance(release, MbRelease):
                pairs.add((release.title, first))
    return pairs, mbids


def _track_inputs(
    items: Sequence[Item], albums: AlbumState, asker: MusicBrainzAsker
) -> tuple[set[tuple[str, int]], set[str]]:
    """(title, release) pairs for every existing release a record may end up on: every loaded
    release titled like the record's album (a link made earlier in the batch can lead there)."""
    by_title = albums.loaded_by_title()
    pairs: set[tuple[str, int]] = set()
    mbids: set[str] = set()
    for _, record in items:
        if record.koito is not None:
            titles = [primary_alias(record.koito.track)]
            album_titles = [primary_alias(record.koito.album)]
            release_mbid, recording_mbid = record.koito.album.mbid, record.koito.track.mbid
        else:
            titles = [record.track]
            album_titles = [record.album or record.track]
            release_mbid, recording_mbid = record.release_mbid, record.recording_mbid
            recording = asker.known("recording", recording_mbid) if recording_mbid else None
            if isinstance(recording, MbRecording):
                titles.append(recording.title)
            release = asker.known("release", release_mbid) if release_mbid else None
            if isinstance(release, MbRelease):
                album_titles.append(release.title)
        candidates = {album for title in album_titles for album in by_title.get(title, ())}
        if release_mbid and albums.by_mbid.get(release_mbid):
            candidates.add(albums.by_mbid[release_mbid])  # type: ignore[arg-type]
        pairs.update((title, album) for title in titles for album in candidates)
        if recording_mbid:
            mbids.add(recording_mbid)
    return pairs, mbids


def _resolve_batch(
    conn: psycopg.Connection,
    locks: LockSet,
    items: Sequence[Item],
    asker: MusicBrainzAsker,
    settings: Settings,
) -> _Batch:
    """One transaction's worth of keys: two phases (artists; releases with tracks), each loaded,
    run, locked, checked and written."""
    store = BatchStore(conn, asker, settings.artist_separators)
    batch = _Batch()
    names, mbids = _artist_inputs(items, asker, settings.artist_separators)

    def run_artists() -> dict[str, rules.Artists]:
        store.artists = ArtistState()
        store.artists.load(conn, names, mbids)
        batch.failed.clear()
        found = {}
        for key, record in items:
            try:
                found[key] = rules.resolve_artists(store, record)
            except InvalidRecord as exc:
                batch.failed[key] = str(exc)
        return found

    artists = _until_locked(conn, store, locks, run_artists, lambda: (store.artists,))
    real = store.artists.allocate(conn)
    with conn.pipeline():  # the server writes the artists while we gather the next inputs
        store.artists.write(conn)
        artists = {
            k: rules.Artists([real.get(a, a) for a in ids], real.get(first, first))
            for k, (ids, first) in artists.items()
        }
        items = [(k, r) for k, r in items if k in artists]

        # Releases and tracks record by record, as SubmitListen does them (see batch_store.py).
        pairs, mbids = _album_inputs(items, artists, asker)

    def run_rest() -> dict[str, tuple[int, int]]:
        store.albums = AlbumState()
        store.albums.load(conn, pairs, mbids)
        store.tracks = TrackState()
        store.tracks.load(conn, *_track_inputs(items, store.albums, asker))
        found = {}
        for key, record in items:
            album = rules.resolve_album(store, record, artists[key])
            track = rules.resolve_track(store, record, artists[key].ids, album)
            # Every key's first listen misses the cache one by one, and a miss asks MusicBrainz
            # for the length of a track still without one (its MBID may have come meanwhile).
            rules.fill_duration_from_musicbrainz(store, record, track)
            found[key] = (album, track)
        return found

    resolved = _until_locked(conn, store, locks, run_rest, lambda: (store.albums, store.tracks))
    real_albums = store.albums.allocate(conn)
    real = store.tracks.allocate(conn)
    # Pipelined: the server runs the inserts while we build the next ones and the cache rows;
    # the first statement that needs an answer (the pin) waits for all before it.
    with conn.pipeline():
        store.albums.write(conn)
        store.tracks.write(conn, real_albums)

        rows = []
        for key, record in items:
            album, track = resolved[key]
            album, track = real_albums.get(album, album), real.get(track, track)
            ids = artists[key].ids
            rows.append(cache.LookupRow(key, ids, album, track, lookup_mbids(record)))
            batch.ids[key] = (ids[0], album, track)
        # Every artist, release and track the links, aliases and cache rows name is a key's:
        # created above, or locked now. That is what their per-row foreign-key checks would
        # give, at half the cost of the inserts, so those checks are skipped where the role may.
        cache.pin(conn, rows)
        with without_row_checks(conn):
            store.albums.write_links(conn)
            store.tracks.write_links(conn)
            cache.write_rows(conn, rows, pinned=True)
    batch.created = (
        len(store.artists.created),
        len(store.albums.created),
        len(store.tracks.created),
    )
    batch.live_queries = store.live_queries
    return batch


def _resolve_one(
    conn: psycopg.Connection,
    locks: LockSet,
    key: str,
    record: Scrobble,
    asker: MusicBrainzAsker,
    settings: Settings,
) -> tuple[tuple[int, int, int], dict[str, int]]:
    store = DbStore(conn, locks, asker, settings.artist_separators)
    artists, album, track = rules.resolve_record(store, record)
    rules.fill_duration_from_musicbrainz(store, record, track)
    cache.write_rows(conn, [cache.LookupRow(key, artists, album, track, lookup_mbids(record))])
    return (artists[0], album, track), store.created


def _resolve_one_by_one(
    conn: psycopg.Connection,
    items: Sequence[Item],
    asker: MusicBrainzAsker,
    settings: Settings,
) -> _Batch:
    """The fallback when a batch fails for a reason a retry does not cure: every key in its own
    transaction, so one bad key fails alone, with its reason."""
    batch = _Batch()
    created = [0, 0, 0]
    for key, record in items:
        try:
            one = partial(
                _resolve_one, conn, key=key, record=record, asker=asker, settings=settings
            )
            ids, made = in_transaction(conn, one)
        except (InvalidRecord, LostRace, psycopg.DatabaseError) as exc:
            if isinstance(exc, psycopg.OperationalError):
                raise  # the server went away: nothing per key about that
            batch.failed[key] = str(exc).strip() or type(exc).__name__
            continue
        batch.ids[key] = ids
        created = [
            created[0] + made["artists"],
            created[1] + made["albums"],
            created[2] + made["tracks"],
        ]
    batch.created = (created[0], created[1], created[2])
    return batch


def resolve_keys(
    pool: psycopg_pool.ConnectionPool,
    records: Sequence[Scrobble],
    *,
    musicbrainz: MusicBrainz,
    settings: Settings,
    progress: Progress | None = None,
) -> ResolveResult:
    """Resolve one representative record per lookup key (file order) to Koito ids.

    Returns the ids of every key (hits and misses), how many entities were created, and the
    keys that could not be resolved with the reason. Writes a track_lookup row for every key it
    resolved. Calling it again for keys whose rows have vanished resolves them again.
    ``progress(done, planned)`` is called after each request to MusicBrainz. With MusicBrainz
    on, the pool needs a second connection: answers are stored while this call holds one.
    """
    result = ResolveResult()
    items: list[Item] = []
    seen: set[str] = set()
    for record in records:
        key = lookup_key(record)
        if key in seen:
            continue
        seen.add(key)
        try:
            check_record(record)
        except InvalidRecord as exc:
            result.failed[key] = str(exc)
            continue
        items.append((key, record))
    if not items:
        return result

    store = AnswerStore(pool, settings.musicbrainz_cache_days)
    asker = MusicBrainzAsker(
        musicbrainz,
        store if settings.musicbrainz_cache_days > 0 else None,
        workers=settings.resolve_workers,
        progress=progress,
    )
    with pool.connection() as conn, collector_paused():
        autocommit = conn.autocommit
        conn.autocommit = True  # each batch is its own transaction; reads need none
        try:
            hits = cache.fetch_hits(conn, [key for key, _ in items])
            result.ids.update(hits)
            result.cache_hits = len(hits)
            misses = [(key, record) for key, record in items if key not in hits]
            prefetch(conn, [record for _, record in misses], asker)
            for start in range(0, len(misses), BATCH_KEYS):
                chunk = misses[start : start + BATCH_KEYS]
                try:
                    batch = in_transaction(
                        conn,
                        partial(_resolve_batch, conn, items=chunk, asker=asker, settings=settings),
                    )
                except (LostRace, psycopg.DatabaseError) as exc:
                    if isinstance(exc, psycopg.OperationalError):
                        raise
                    log.warning(
                        "resolving %d keys together failed (%s); going key by key", len(chunk), exc
                    )
                    result.batches_resolved_per_key += 1
                    batch = _resolve_one_by_one(conn, chunk, asker, settings)
                result.ids.update(batch.ids)
                result.failed.update(batch.failed)
                result.artists_created += batch.created[0]
                result.albums_created += batch.created[1]
                result.tracks_created += batch.created[2]
                result.live_queries += batch.live_queries
        finally:
            conn.autocommit = autocommit
    stats = asker.stats
    result.musicbrainz_requests = stats.requests
    result.musicbrainz_from_store = stats.from_store
    result.musicbrainz_lookups_fallback = stats.lookups
    result.musicbrainz_seconds = stats.seconds
    result.musicbrainz_unreachable = stats.unreachable
    return result
