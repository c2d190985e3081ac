"""Catalogue benchmark: bulk resolution, cache-hit submits, and statements per record of each path.

    python -m benchmarks.catalog_bench [--keys 15000 --artists 5600 --albums 2600 --hits 5000]

Runs on a fresh database: on the server of KOITO_DATABASE_URL when it is set (a new database
beside it, dropped afterwards), otherwise on an embedded server under a temporary
KOITO_CONFIG_DIR. Targets (issue 4): resolve_keys of 15,000 new keys under 2 s; submit_listen
cache hits over 2,000/s from one connection.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import psycopg_pool
from psycopg import sql

from koito_assets.catalog.resolve import resolve_keys
from koito_assets.catalog.submit import submit_listen
from koito_assets.db.bootstrap import prepare_database
from koito_assets.db.connection import embedded_server
from koito_assets.enrich.musicbrainz import DisabledMusicBrainz
from koito_assets.settings import Settings
from koito_assets.sources.record import Scrobble

MBZ = DisabledMusicBrainz()


def _backend_cpu(pid: int) -> float | None:
    """CPU seconds server process ``pid`` has used (None unless the server runs on this host)."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def cpu_clock(backend_pid: int) -> Iterator[dict[str, float]]:
    """Wall time, client CPU and server CPU of a block: CPU survives a busy machine; wall not."""
    out: dict[str, float] = {}
    server, client, wall = _backend_cpu(backend_pid), time.process_time(), time.perf_counter()
    yield out
    out["wall"] = time.perf_counter() - wall
    out["client"] = time.process_time() - client
    after = _backend_cpu(backend_pid)
    out["server"] = after - server if after is not None and server is not None else float("nan")


def _cpu(clock: dict[str, float]) -> str:
    return f"CPU {clock['client']:.2f} s client + {clock['server']:.2f} s server"


class _CountingCursor(psycopg.Cursor):
    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        self.connection.statements += 1  # type: ignore[attr-defined]
        return super().execute(query, params, **kwargs)


class CountingConnection(psycopg.Connection):
    """Counts the statements sent through it (BEGIN/COMMIT of transaction blocks excluded)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cursor_factory = _CountingCursor
        self.statements = 0


def workload(keys: int, artists: int, albums: int, seed: int = 4) -> list[Scrobble]:
    """``keys`` distinct records: every album by one of the first ``albums`` artists, every
    fourth track featuring one of the others, so exactly ``artists`` artists are named. Artists
    come as Maloja sends them, a list with the album's artist first; a "feat." string parsed
    alone would, by Koito's rules, look the album up by the guest and make one per guest."""
    rng = random.Random(seed)
    guests = artists - albums
    records = []
    for k in range(keys):
        album = k % albums
        names = [f"Artist {album:05d}"]
        if k % 4 == 0 and guests > 0:
            names.append(f"Guest {(k // 4) % guests:05d}")
        records.append(
            Scrobble(
                1_600_000_000 + k,
                " • ".join(names),
                f"Track {k:05d}",
                f"Album {album:05d}",
                artist_names=tuple(names),
                duration_s=rng.choice((0, 180, 240)),
            )
        )
    return records


@contextmanager
def fresh_database(settings: Settings) -> Iterator[str]:
    """A new, migrated Koito database, dropped afterwards."""
    name = f"catalog_bench_{os.getpid()}"

    @contextmanager
    def server() -> Iterator[str]:
        if settings.database_url:
            yield settings.database_url
        else:
            with embedded_server(settings) as embedded:
                yield embedded.url()

    with server() as admin_url:
        info = psycopg.conninfo.conninfo_to_dict(admin_url)
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        url = psycopg.conninfo.make_conninfo(**{**info, "dbname": name})
        try:
            prepare_database(url, settings)
            yield url
        finally:
            with psycopg.connect(admin_url, autocommit=True) as admin:
                admin.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )


def bench(
    url: str, settings: Settings, keys: int, artists: int, albums: int, hits: int
) -> list[str]:
    records = workload(keys, artists, albums)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    out = [
        f"workload: {keys:,} new keys, {artists:,} artists, {albums:,} albums (MusicBrainz off); "
        f"{os.cpu_count()} CPUs, load average {load}"
    ]
    with psycopg_pool.ConnectionPool(
        url, min_size=1, max_size=1, connection_class=CountingConnection, open=True
    ) as pool:
        with pool.connection() as conn:  # the pool's only connection: resolve_keys uses it next
            conn.execute("CHECKPOINT")
            conn.statements = 0  # type: ignore[attr-defined]
            backend = conn.info.backend_pid
        with cpu_clock(backend) as clock:
            result = resolve_keys(pool, records, musicbrainz=MBZ, settings=settings)
        with pool.connection() as conn:
            statements = conn.statements  # type: ignore[attr-defined]
            conn.statements = 0  # type: ignore[attr-defined]
        seconds = clock["wall"]
        assert not result.failed and len(result.ids) == keys, result.failed
        out.append(
            f"resolve_keys, {keys:,} new keys: {seconds:.2f} s wall "
            f"({keys / seconds:,.0f} keys/s; target < 2 s), {_cpu(clock)}; "
            f"created {result.artists_created:,} artists, {result.albums_created:,} albums, "
            f"{result.tracks_created:,} tracks; {statements} statements = "
            f"{statements / keys:.4f} per key; per-key fallbacks: {result.batches_resolved_per_key}"
        )
        # The same history from another export: other keys (another artist string), the same
        # artists, albums and tracks, which must be found, not created.
        other = [r._replace(artist=" & ".join(r.artist_names)) for r in records]
        with cpu_clock(backend) as clock:
            found = resolve_keys(pool, other, musicbrainz=MBZ, settings=settings)
        assert not found.failed and (
            found.artists_created,
            found.albums_created,
            found.tracks_created,
        ) == (0, 0, 0)
        out.append(
            f"resolve_keys, {keys:,} new keys naming existing entities (another export of the same "
            f"history): {clock['wall']:.2f} s wall, {_cpu(clock)}; created nothing"
        )
        with pool.connection() as conn:
            conn.statements = 0  # type: ignore[attr-defined]
        started = time.perf_counter()
        again = resolve_keys(pool, records, musicbrainz=MBZ, settings=settings)
        seconds = time.perf_counter() - started
        with pool.connection() as conn:
            statements = conn.statements  # type: ignore[attr-defined]
        out.append(
            f"resolve_keys, the same {keys:,} keys again (all hits): {seconds:.3f} s, "
            f"{again.cache_hits:,} hits, {statements} statement(s)"
        )

    with CountingConnection.connect(url, autocommit=True) as conn:
        sample = records[:hits]

        def hits_per_second(first_second: int) -> tuple[float, dict[str, float], int]:
            conn.statements = 0  # type: ignore[attr-defined]
            with cpu_clock(conn.info.backend_pid) as clock:
                for i, record in enumerate(sample):
                    got = submit_listen(
                        conn,
                        record._replace(listened_at=first_second + i, duration_s=0),
                        musicbrainz=MBZ,
                        settings=settings,
                    )
                    assert got.cache_hit
            return len(sample) / clock["wall"], clock, got.track_id

        rate, clock, track_id = hits_per_second(1_700_000_000)
        out.append(
            f"submit_listen, cache hits from one connection: {rate:,.0f} listens/s wall "
            f"(target > 2,000/s), {_cpu(clock)} = "
            f"{1000 * (clock['client'] + clock['server']) / len(sample):.3f} ms "
            f"CPU per listen; {conn.statements / len(sample):.2f} statements per listen"
        )
        # The caller's choice (submit_listen commits as the connection says): no wait for the
        # WAL flush. A crash may lose the last moments of listens; it never corrupts anything.
        conn.execute("SET synchronous_commit = off")
        rate, clock, _ = hits_per_second(1_750_000_000)
        conn.execute("SET synchronous_commit = on")
        out.append(
            f"  the same on a connection with synchronous_commit = off: {rate:,.0f} listens/s "
            f"wall, {_cpu(clock)}"
        )
        # The floor of any per-listen path on this machine, now: one bare INSERT and commit.
        with cpu_clock(conn.info.backend_pid) as floor:
            for i in range(len(sample)):
                conn.execute(
                    "INSERT INTO listens (track_id, listened_at, user_id) "
                    "VALUES (%s, to_timestamp(%s), 1) ON CONFLICT DO NOTHING",
                    (track_id, 1_800_000_000 + i),
                )
        out.append(
            f"  for scale, a bare INSERT … VALUES + commit per listen on the same connection: "
            f"{len(sample) / floor['wall']:,.0f}/s wall, {_cpu(floor)}"
        )
        conn.statements = 0
        fresh = workload(300, 300, 100, seed=9)
        fresh = [r._replace(artist="New " + r.artist, album="New " + r.album) for r in fresh]
        started = time.perf_counter()
        for record in fresh:
            assert not submit_listen(conn, record, musicbrainz=MBZ, settings=settings).cache_hit
        seconds = time.perf_counter() - started
        out.append(
            f"submit_listen, misses (full resolution, some creating entities): "
            f"{len(fresh) / seconds:,.0f} listens/s; "
            f"{conn.statements / len(fresh):.1f} statements per listen "
            f"(+ BEGIN/COMMIT)"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=15_000)
    parser.add_argument("--artists", type=int, default=5_600)
    parser.add_argument("--albums", type=int, default=2_600)
    parser.add_argument("--hits", type=int, default=5_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="koito-catalog-bench-") as config_dir:
        env = dict(os.environ, KOITO_CONFIG_DIR=config_dir)
        settings = Settings.from_env(env)
        with fresh_database(settings) as url:
            for line in bench(url, settings, args.keys, args.artists, args.albums, args.hits):
                print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
