"""The image backfill against slow fake providers: 10,000 entities in under a minute.

Issue acceptance: "A backfill over 10,000 entities against a fake provider answering in 20 ms
finishes in under a minute (bounded concurrency within each provider's rate limit)".

    python -m benchmarks.images_bench [--entities 10000] [--latency-ms 20] [--json PATH]
                                      [--workers 32] [--rate 500] [--profile PATH]

What it does:

1. starts an embedded PostgreSQL in a temporary KOITO_CONFIG_DIR (or, with KOITO_DATABASE_URL /
   ``--database-url``, uses that server), creates a fresh database and prepares it;
2. inserts the entities set-based (``generate_series``): half artists with a primary alias,
   half releases with a primary title, one artist credit, and an MBID on every other release;
3. starts a fake Deezer, a fake Cover Art Archive and the image host they point at (the
   ``tests.fakes`` classes, in a separate process so their CPU does not share the backfill's
   GIL), every one answering each request ``--latency-ms`` late; 10 % of the entities are
   unknown to them (misses);
4. builds an :class:`ImageFinder` over those providers, each provider service limited to
   ``--rate`` requests/s (default 500: Koito's own 5 req/s would make 10,000 lookups take more
   than half an hour whatever the design, so this measures the concurrency design, not Deezer's
   quota), and runs :func:`backfill_images` with ``--workers`` threads;
5. prints entities, found, missed, failed, seconds, entities/s, requests the fakes served and
   the peak of requests in flight the fakes saw (plus each service's busiest second);
6. runs the backfill again at once: the attempt ledger makes it ask nothing (0 checked).

``--workers 8,32`` measures several pool sizes one after the other; the images and the ledger
are cleared (set-based) between them so each run starts from the same state.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import hashlib
import io
import json
import os
import platform
import pstats
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from koito_assets.db.bootstrap import prepare_database
from koito_assets.db.connection import embedded_server, ensure_database
from koito_assets.enrich.http import DEFAULT_POLICY, HttpService, new_session
from koito_assets.enrich.images.backfill import BackfillReport, backfill_images, due_candidates
from koito_assets.enrich.images.chain import ImageFinder
from koito_assets.enrich.images.cover_art_archive import CoverArtArchive
from koito_assets.enrich.images.deezer import Deezer
from koito_assets.enrich.images.validate import ImageValidator
from koito_assets.settings import Settings

DEFAULT_ENTITIES = 10_000
DEFAULT_LATENCY_MS = 20.0
DEFAULT_RATE = 500.0  # requests/s per provider service (Deezer, CAA, image host)
DEFAULT_WORKERS = 32  # backfill threads = ImageFinder slots = requests in flight at most
IMAGE_HOST_BURST = 10  # as koito_assets.enrich.images.chain's image host service
FAKE_QUOTA_HEADROOM = 1.2  # the fake Deezer refuses more than rate × 1.2 req/s (5 s window)
TARGET_ENTITIES = 10_000
TARGET_SECONDS = 60.0
BENCH_DB = "koito_images_bench"


# ---------------------------------------------------------------------------------------------
# The data set: one deterministic rule shared by the SQL that inserts it and the fakes that
# know it, so nothing is shipped between the processes but four numbers.


@dataclass(frozen=True)
class Plan:
    """``entities`` split into artists 1..artists and releases 1..releases (1-based numbers)."""

    entities: int

    @property
    def artists(self) -> int:
        return self.entities - self.entities // 2

    @property
    def releases(self) -> int:
        return self.entities // 2

    @property
    def width(self) -> int:
        return len(str(max(self.artists, self.releases, 1)))

    def artist_name(self, i: int) -> str:
        return f"Bench Artist {i:0{self.width}d}"

    def album_title(self, j: int) -> str:
        return f"Bench Album {j:0{self.width}d}"

    def artist_of_release(self, j: int) -> int:
        return (j - 1) % self.artists + 1

    @staticmethod
    def release_mbid(j: int) -> str | None:
        """Every odd release has an MBID (asked at the Cover Art Archive first), even ones not."""
        if j % 2 == 0:
            return None
        h = hashlib.md5(f"bench-release-{j}".encode()).hexdigest()  # = md5(...)::uuid in SQL
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    @staticmethod
    def artist_known(i: int) -> bool:
        return i % 10 != 0  # 10 % of the artists are unknown to Deezer

    @staticmethod
    def release_known(j: int) -> bool:
        # 10 % unknown, half of them with an MBID (CAA 404, then two Deezer searches)
        return j % 20 not in (0, 1)

    def expected(self) -> dict[str, int]:
        found = sum(map(self.artist_known, range(1, self.artists + 1)))
        found += sum(map(self.release_known, range(1, self.releases + 1)))
        return {"found": found, "missed": self.entities - found}


def insert_entities(conn: psycopg.Connection, plan: Plan) -> float:
    """The plan's artists and releases into a freshly prepared database; returns the seconds.

    One transaction of set-based statements (generate_series), no per-row round trip.
    """
    started = time.perf_counter()
    params = {"na": plan.artists, "nr": plan.releases, "w": plan.width}
    with conn.transaction():
        a0, r0 = conn.execute(
            "SELECT (SELECT coalesce(max(id), 0) FROM artists),"
            " (SELECT coalesce(max(id), 0) FROM releases)"
        ).fetchone()
        params.update(a0=a0, r0=r0)
        # Explicit ids (i ↦ a0 + i) keep the numbering exact without reading anything back.
        for statement in (
            "INSERT INTO artists (id) OVERRIDING SYSTEM VALUE"
            " SELECT %(a0)s + i FROM generate_series(1, %(na)s) AS i",
            "INSERT INTO artist_aliases (artist_id, alias, source, is_primary)"
            " SELECT %(a0)s + i, 'Bench Artist ' || lpad(i::text, %(w)s, '0'), 'Benchmark', true"
            " FROM generate_series(1, %(na)s) AS i",
            "INSERT INTO releases (id, musicbrainz_id) OVERRIDING SYSTEM VALUE"
            " SELECT %(r0)s + j,"
            "        CASE WHEN j %% 2 = 1 THEN md5('bench-release-' || j)::uuid END"
            " FROM generate_series(1, %(nr)s) AS j",
            "INSERT INTO release_aliases (release_id, alias, source, is_primary)"
            " SELECT %(r0)s + j, 'Bench Album ' || lpad(j::text, %(w)s, '0'), 'Benchmark', true"
            " FROM generate_series(1, %(nr)s) AS j",
            "INSERT INTO artist_releases (artist_id, release_id, is_primary)"
            " SELECT %(a0)s + (j - 1) %% %(na)s + 1, %(r0)s + j, true"
            " FROM generate_series(1, %(nr)s) AS j",
            "SELECT setval(pg_get_serial_sequence('artists', 'id'), %(a0)s + %(na)s),"
            "       setval(pg_get_serial_sequence('releases', 'id'), %(r0)s + %(nr)s)",
        ):
            conn.execute(statement, params)
    # Statistics, as autovacuum would have gathered them before a scheduled backfill runs; without
    # them the planner guesses tiny tables and the due query's plans get worse still.
    conn.execute("ANALYZE artists, artist_aliases, releases, release_aliases, artist_releases")
    return time.perf_counter() - started


def reset_images(conn: psycopg.Connection) -> None:
    """Forget every image and the whole attempt ledger: the next backfill starts from scratch."""
    with conn.transaction():
        for table in ("artists", "releases"):
            conn.execute(
                f"UPDATE {table} SET image = NULL, image_source = NULL WHERE image IS NOT NULL"
            )
        conn.execute("TRUNCATE koito_import.image_attempts, koito_import.image_due")


# ---------------------------------------------------------------------------------------------
# The fakes: tests.fakes servers that answer late and count what is in flight.


class Meter:
    """Requests in flight, per fake and over all of them, with their peaks; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.in_flight: dict[str, int] = {}
        self.peak: dict[str, int] = {}
        self.total_in_flight = 0
        self.total_peak = 0

    def enter(self, name: str) -> None:
        with self._lock:
            now = self.in_flight.get(name, 0) + 1
            self.in_flight[name] = now
            self.peak[name] = max(self.peak.get(name, 0), now)
            self.total_in_flight += 1
            self.total_peak = max(self.total_peak, self.total_in_flight)

    def leave(self, name: str) -> None:
        with self._lock:
            self.in_flight[name] -= 1
            self.total_in_flight -= 1

    def take_peaks(self) -> tuple[dict[str, int], int]:
        """Peaks since the last call; the next period starts from what is in flight now."""
        with self._lock:
            peaks, total = dict(self.peak), self.total_peak
            self.peak = dict(self.in_flight)
            self.total_peak = self.total_in_flight
        return peaks, total


def _fake_classes() -> dict[str, type]:
    """Subclasses of the tests.fakes servers; imported late so only the fake process needs them."""
    from tests.fakes import deezer as fake_deezer
    from tests.fakes.image_providers import (
        FakeCoverArtArchive,
        FakeDeezer,
        FakeImageHost,
        make_image_bytes,
    )
    from tests.fakes.server import LoggedRequest, Reply

    class Slow:
        """Mixin: every reply leaves ``latency_s`` after its request came in, metered meanwhile.

        FakeServer's handler asks ``_reply_for`` when a request arrives and ``_wait``s out the
        reply's delay before writing it, so "in flight" is the span between the two.
        """

        meter: Meter
        latency_s: float
        label: str

        def _reply_for(self, request: LoggedRequest) -> Reply:
            self.meter.enter(self.label)
            reply = super()._reply_for(request)  # type: ignore[misc]
            return reply.with_delay(max(self.latency_s, 1e-6))  # a delay always ends in _wait

        def _wait(self, seconds: float) -> None:
            try:
                super()._wait(seconds)  # type: ignore[misc]
            finally:
                self.meter.leave(self.label)

    class BenchImageHost(Slow, FakeImageHost):
        label = "image host"

    class BenchCoverArtArchive(Slow, FakeCoverArtArchive):
        label = "coverartarchive"

    class BenchDeezer(Slow, FakeDeezer):
        """FakeDeezer's JSON, quota and error envelopes, with exact-name indexes.

        FakeDeezer scans every entry per search (fuzzy, like Deezer); with thousands of entries
        that scan would make the fake, not the client, the bottleneck. Here a search finds the
        entries whose name equals the quoted term (case-insensitive), which is all the client
        keeps anyway.
        """

        label = "deezer"

        def __init__(self, image_host: FakeImageHost) -> None:
            super().__init__(image_host)
            self._artist_index: dict[str, list[dict[str, Any]]] = {}
            self._album_index: dict[tuple[str, str], list[dict[str, Any]]] = {}
            self._title_index: dict[str, list[dict[str, Any]]] = {}
            self._next_id = 100

        def new_artist(self, name: str, picture_xl: str) -> Any:
            """An artist albums can be credited to; :meth:`index_artist` makes it searchable."""
            self._next_id += 1
            return fake_deezer._Artist(self._next_id, name, picture_xl)

        def index_artist(self, artist: Any) -> None:
            self._artist_index.setdefault(artist.name.casefold(), []).append(
                fake_deezer._artist_json(artist)
            )

        def index_album(self, title: str, artist: Any, cover_xl: str) -> None:
            self._next_id += 1
            entry = fake_deezer._album_json(
                fake_deezer._Album(self._next_id, title, artist, cover_xl)
            )
            self._album_index.setdefault((artist.name.casefold(), title.casefold()), []).append(
                entry
            )
            self._title_index.setdefault(title.casefold(), []).append(entry)

        def route(self, request: LoggedRequest) -> Reply:
            if self._over_quota(request.time):
                return fake_deezer.deezer_error(4)
            q = request.param("q") or ""
            terms = {k.lower(): v.casefold() for k, v in fake_deezer._TERM.findall(q)}
            if request.path == "/search/artist" and "artist" in terms:
                hits = self._artist_index.get(terms["artist"], [])
            elif request.path == "/search/album" and "album" in terms:
                if "artist" in terms:
                    hits = self._album_index.get((terms["artist"], terms["album"]), [])
                else:
                    hits = self._title_index.get(terms["album"], [])
            else:
                return super().route(request)
            return Reply.json(fake_deezer._page(request, hits))

    return {
        "image_host": BenchImageHost,
        "caa": BenchCoverArtArchive,
        "deezer": BenchDeezer,
        "make_image_bytes": make_image_bytes,
    }


class FakeProviders:
    """The three fakes, filled with the plan's known entities; all share one :class:`Meter`."""

    def __init__(self, entities: int, latency_s: float, rate: float) -> None:
        classes = _fake_classes()
        self.meter = Meter()
        self.image_host = classes["image_host"]()
        self.caa = classes["caa"](self.image_host)
        self.deezer = classes["deezer"](self.image_host)
        self.deezer.QUOTA = max(1, int(rate * FAKE_QUOTA_HEADROOM * self.deezer.QUOTA_WINDOW_S))
        self.fakes = {
            "deezer": self.deezer,
            "coverartarchive": self.caa,
            "image host": self.image_host,
        }
        for fake in self.fakes.values():
            fake.meter = self.meter
            fake.latency_s = latency_s
        self._seen = {name: 0 for name in self.fakes}
        self._cpu = time.process_time()
        self._refused = 0
        self._plan = Plan(entities)
        self._jpeg = classes["make_image_bytes"]("JPEG", (100, 100), (90, 90, 90))

    def _fill(self, plan: Plan, jpeg: bytes) -> None:
        host = self.image_host

        def image(path: str) -> str:
            return host.add_bytes(path, jpeg, "image/jpeg")

        artists = []
        for i in range(1, plan.artists + 1):
            name = plan.artist_name(i)
            digest = hashlib.md5(name.encode()).hexdigest()
            url = image(f"/images/artist/{digest}/1000x1000-000000-80-0-0.jpg")
            artists.append(self.deezer.new_artist(name, url))
            if plan.artist_known(i):  # an unknown artist is not found, but its albums are
                self.deezer.index_artist(artists[-1])
        for j in range(1, plan.releases + 1):
            if not plan.release_known(j):
                continue
            mbid = plan.release_mbid(j)
            if mbid is not None:
                self.caa.add_release_art(mbid, image(f"/caa/release/{mbid}.jpg"))
            else:
                title = plan.album_title(j)
                digest = hashlib.md5(f"{j}/{title}".encode()).hexdigest()
                url = image(f"/images/cover/{digest}/1000x1000-000000-80-0-0.jpg")
                self.deezer.index_album(title, artists[plan.artist_of_release(j) - 1], url)

    def start(self) -> dict[str, str]:
        """Serve, then register the plan's images (their URLs name the image host's port)."""
        for fake in self.fakes.values():
            fake.start()
        self._fill(self._plan, self._jpeg)
        return {"deezer": self.deezer.url, "coverartarchive": self.caa.url}

    def stop(self) -> None:
        for fake in self.fakes.values():
            fake.stop()

    def measure(self) -> dict[str, Any]:
        """Requests served, busiest second and peak in flight since the last call."""
        peaks, total_peak = self.meter.take_peaks()
        per_fake = {}
        for name, fake in self.fakes.items():
            log = fake.requests
            new = log[self._seen[name] :]
            self._seen[name] = len(log)
            per_fake[name] = {
                "requests": len(new),
                "busiest_second": busiest_second([r.time for r in new]),
                "peak_in_flight": peaks.get(name, 0),
                "errors": len(fake.errors),  # route() raised: a broken fake, since the start
            }
        refused = self.deezer.quota_exceeded
        per_fake["deezer"]["quota_refusals"] = refused - self._refused
        self._refused = refused
        cpu, self._cpu = time.process_time() - self._cpu, time.process_time()
        return {
            "requests": sum(f["requests"] for f in per_fake.values()),
            "peak_in_flight": total_peak,
            "fakes_cpu_seconds": round(cpu, 2),
            "fakes": per_fake,
        }


def busiest_second(times: Sequence[float]) -> int:
    """The most requests that arrived within any one-second window."""
    times = sorted(times)
    best = start = 0
    for end, t in enumerate(times):
        while t - times[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


REPO_ROOT = Path(__file__).resolve().parents[1]


def serve_fakes_over_stdio(entities: int, latency_s: float, rate: float) -> None:
    """The fakes' own process: URLs on stdout, then one JSON line per "measure" read on stdin.

    Ends on "stop" or when stdin closes (the benchmark went away).
    """
    providers = FakeProviders(entities, latency_s, rate)
    try:
        print(json.dumps(providers.start()), flush=True)
        for line in sys.stdin:
            if line.strip() != "measure":
                break
            print(json.dumps(providers.measure()), flush=True)
    finally:
        providers.stop()


class RemoteFakes:
    """:class:`FakeProviders` in a child interpreter, so the fakes have a GIL of their own.

    A plain subprocess rather than multiprocessing: spawn would re-run the caller's main script.
    """

    def __init__(self, entities: int, latency_s: float, rate: float) -> None:
        code = (
            "import sys; from benchmarks.images_bench import serve_fakes_over_stdio as serve;"
            f" serve({entities!r}, {latency_s!r}, {rate!r})"
        )
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
        self._process = subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        first = self._process.stdout.readline() if self._process.stdout else ""
        if not first:
            self.stop()
            raise RuntimeError("the fake providers' process failed to start (see its stderr)")
        self.urls: dict[str, str] = json.loads(first)

    def measure(self) -> dict[str, Any]:
        assert self._process.stdin and self._process.stdout
        self._process.stdin.write("measure\n")
        self._process.stdin.flush()
        return json.loads(self._process.stdout.readline())

    def stop(self) -> None:
        if self._process.stdin:
            with contextlib.suppress(OSError):
                self._process.stdin.write("stop\n")
                self._process.stdin.close()
        try:
            self._process.wait(10)
        except subprocess.TimeoutExpired:
            self._process.terminate()
            self._process.wait(5)
        if self._process.stdout:
            self._process.stdout.close()


class LocalFakes:
    """:class:`FakeProviders` in this process (``--fakes-in-process``: one GIL for everything)."""

    def __init__(self, entities: int, latency_s: float, rate: float) -> None:
        self._providers = FakeProviders(entities, latency_s, rate)
        self.urls = self._providers.start()

    def measure(self) -> dict[str, Any]:
        return self._providers.measure()

    def stop(self) -> None:
        self._providers.stop()


# ---------------------------------------------------------------------------------------------
# The client side: the project's providers, as the backfill uses them.


def build_finder(urls: dict[str, str], rate: float, concurrency: int) -> ImageFinder:
    """Deezer for artists; CAA then Deezer for albums; every service limited to ``rate``/s.

    The chain's order and the image check are those of ``image_finder_from_settings``; only the
    rates differ (Koito's are 5 req/s per provider and 10 req/s for image hosts), and the finder
    gets one slot per backfill worker (its default of 4 would cap any pool at 4 in flight).
    """
    image_host = HttpService(
        "image host",
        None,
        rate_per_s=rate,
        burst=IMAGE_HOST_BURST,
        policy=DEFAULT_POLICY,
        accept=None,
        session=new_session(),
    )
    images = ImageValidator(image_host)
    deezer = Deezer(urls["deezer"], images, policy=DEFAULT_POLICY, rate_per_s=rate)
    caa = CoverArtArchive(urls["coverartarchive"], policy=DEFAULT_POLICY, rate_per_s=rate)
    return ImageFinder([deezer], [caa, deezer], max_concurrency=concurrency)


@contextlib.contextmanager
def _no_proxy_for_localhost() -> Iterator[None]:
    """A proxy from the environment must not receive the requests meant for the fakes."""
    saved = {name: os.environ.get(name) for name in ("NO_PROXY", "no_proxy")}
    for name, current in saved.items():
        os.environ[name] = ",".join(filter(None, [current, "127.0.0.1", "localhost"]))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def bench_database(database_url: str | None) -> Iterator[tuple[str, Settings, str]]:
    """(URL of a fresh prepared database, settings, where it lives); dropped afterwards."""
    with tempfile.TemporaryDirectory(prefix="koito-images-bench-") as config_dir:
        settings = Settings.from_env({"KOITO_CONFIG_DIR": config_dir})
        if database_url:
            name = f"{BENCH_DB}_{os.getpid()}"
            info = psycopg.conninfo.conninfo_to_dict(database_url)
            info["dbname"] = name
            url = psycopg.conninfo.make_conninfo(**info)
            _drop(database_url, name)
            ensure_database(database_url, name)
            try:
                prepare_database(url, settings)
                yield url, settings, "the server of the given database URL"
            finally:
                _drop(database_url, name)
            return
        with embedded_server(settings) as server:
            ensure_database(server.url(), BENCH_DB)
            url = server.url(BENCH_DB)
            prepare_database(url, settings)
            yield url, settings, "an embedded server in a temporary folder"


def _drop(server_url: str, name: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as conn:
        drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        conn.execute(drop.format(sql.Identifier(name)))


def _profile_lookups(finder: ImageFinder) -> list[cProfile.Profile]:
    """Profile every lookup in the worker threads (one cProfile per thread, merged later).

    pyinstrument samples only the thread that starts it: the backfill's main thread, which runs
    the due query and the writes and otherwise waits for the workers.
    """
    local = threading.local()
    profiles: list[cProfile.Profile] = []
    lock = threading.Lock()

    def profiled(method: Any) -> Any:
        def run(*args: Any, **kwargs: Any) -> Any:
            profiler = getattr(local, "profiler", None)
            if profiler is None:
                profiler = local.profiler = cProfile.Profile()
                with lock:
                    profiles.append(profiler)
            profiler.enable()
            try:
                return method(*args, **kwargs)
            finally:
                profiler.disable()

        return run

    finder.find_artist_image = profiled(finder.find_artist_image)  # type: ignore[method-assign]
    finder.find_album_image = profiled(finder.find_album_image)  # type: ignore[method-assign]
    return profiles


def _write_profile(path: Path, main_thread: Any, lookups: list[cProfile.Profile]) -> None:
    text = io.StringIO()
    text.write("== backfill main thread (pyinstrument) ==\n")
    text.write(main_thread.output_text(unicode=True, show_all=False))
    if lookups:
        text.write(f"\n== lookups in {len(lookups)} worker threads (cProfile, merged) ==\n")
        stats = pstats.Stats(*lookups, stream=text)
        stats.sort_stats("tottime").print_stats(30)
        stats.sort_stats("cumulative").print_stats(30)
    path.write_text(text.getvalue())


def _run_backfill(
    url: str, settings: Settings, finder: ImageFinder, limit: int, workers: int
) -> tuple[BackfillReport, float, float]:
    """The report, wall seconds and this process's CPU seconds of one backfill."""
    with psycopg.connect(url, autocommit=True) as conn:
        started, cpu = time.perf_counter(), time.process_time()
        report = backfill_images(conn, settings, finder, limit=limit, workers=workers)
        return report, time.perf_counter() - started, time.process_time() - cpu


def _row(
    label: str, workers: int, report: BackfillReport, wall: float, cpu: float, served: dict
) -> dict:
    return {
        "run": label,
        "workers": workers,
        "checked": report.checked,
        "found": report.found,
        "missed": report.missed,
        "failed": report.failed,
        "seconds": round(wall, 3),
        "entities_per_s": round(report.checked / wall, 1) if wall > 0 and report.checked else 0.0,
        "requests": served["requests"],
        "peak_in_flight": served["peak_in_flight"],
        "backfill_cpu_seconds": round(cpu, 2),
        "fakes_cpu_seconds": served["fakes_cpu_seconds"],
        "fakes": served["fakes"],
        "by_provider": report.as_json()["by_provider"],
    }


def run_benchmark(
    *,
    entities: int = DEFAULT_ENTITIES,
    latency_ms: float = DEFAULT_LATENCY_MS,
    workers: Sequence[int] = (DEFAULT_WORKERS,),
    rate: float = DEFAULT_RATE,
    database_url: str | None = None,
    fakes_in_process: bool = False,
    profile: Path | None = None,
    out: Any = sys.stdout,
) -> dict[str, Any]:
    """Everything the module docstring lists; returns the results that ``--json`` writes."""
    if entities < 2:
        raise ValueError("the benchmark needs at least 2 entities (an artist and a release)")
    workers = [max(1, w) for w in workers]
    plan = Plan(entities)
    latency_s = latency_ms / 1000.0
    result: dict[str, Any] = {
        "entities": entities,
        "artists": plan.artists,
        "releases": plan.releases,
        "expected": plan.expected(),
        "latency_ms": latency_ms,
        "rate_per_s_per_provider": rate,
        "fakes": "in process" if fakes_in_process else "separate process",
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "runs": [],
    }
    print(
        f"image backfill benchmark: {entities:,} entities ({plan.artists:,} artists,"
        f" {plan.releases:,} releases), fakes answering in {latency_ms:g} ms\n"
        f"rate limit {rate:g} req/s per provider service (Deezer, CAA, image host), not"
        f" Koito's 5 req/s: at 5 req/s {entities:,} lookups would take"
        f" {entities / 5 / 60:.0f}+ min whatever the design; this measures the concurrency",
        file=out,
        flush=True,
    )
    with _no_proxy_for_localhost(), bench_database(database_url) as (url, settings, where):
        with psycopg.connect(url, autocommit=True) as conn:
            result["insert_seconds"] = round(insert_entities(conn, plan), 3)
            # The backfill's first step on its own, since it runs before any lookup can start.
            started = time.perf_counter()
            due = len(due_candidates(conn, datetime.now(UTC), entities))
            result["due_query_seconds"] = round(time.perf_counter() - started, 3)
        print(
            f"database: {where}; entities inserted in {result['insert_seconds']:.2f} s;"
            f" the backfill's due query alone ({due:,} rows) takes"
            f" {result['due_query_seconds']:.2f} s",
            file=out,
        )
        started = time.perf_counter()
        fakes = (LocalFakes if fakes_in_process else RemoteFakes)(entities, latency_s, rate)
        try:
            print(
                f"fakes ({result['fakes']}) ready in {time.perf_counter() - started:.1f} s",
                file=out,
                flush=True,
            )
            for n, pool in enumerate(workers):
                if n:
                    with psycopg.connect(url, autocommit=True) as conn:
                        reset_images(conn)
                fakes.measure()  # start counting here
                finder = build_finder(fakes.urls, rate, pool)
                profiling = profile is not None and n == 0
                if profiling:
                    from pyinstrument import Profiler

                    lookups = _profile_lookups(finder)
                    profiler = Profiler(async_mode="disabled")
                    profiler.start()
                report, wall, cpu = _run_backfill(url, settings, finder, entities, pool)
                if profiling:
                    profiler.stop()
                    _write_profile(profile, profiler, lookups)
                    print(f"profile of the first run written to {profile}", file=out)
                result["runs"].append(_row("backfill", pool, report, wall, cpu, fakes.measure()))
                # at once, same clock: the ledger says nothing is due, so nothing is asked
                again, wall, cpu = _run_backfill(url, settings, finder, entities, pool)
                result["runs"].append(_row("rerun", pool, again, wall, cpu, fakes.measure()))
        finally:
            fakes.stop()
    firsts = [r for r in result["runs"] if r["run"] == "backfill"]
    for row in firsts:
        # Each provider service may send rate × 1 s + its burst (5) in any second. The image host
        # also receives the CAA redirects, which CAA's limiter paces, so it is not checked here.
        busiest = (row["fakes"][name]["busiest_second"] for name in ("deezer", "coverartarchive"))
        row["within_rate_limit"] = all(b <= rate + 5 for b in busiest)
    meeting = [r for r in firsts if r["seconds"] < TARGET_SECONDS * entities / TARGET_ENTITIES]
    result["target"] = {
        "seconds": TARGET_SECONDS * entities / TARGET_ENTITIES,
        "met_by_workers": [r["workers"] for r in meeting],
    }
    print_table(result, out)
    return result


def print_table(result: dict[str, Any], out: Any = sys.stdout) -> None:
    columns = (  # key, title, width, format after alignment
        ("run", "run", -8, ""),
        ("workers", "workers", 7, ""),
        ("checked", "checked", 8, ""),
        ("found", "found", 7, ""),
        ("missed", "missed", 7, ""),
        ("failed", "failed", 7, ""),
        ("seconds", "seconds", 8, ".2f"),
        ("entities_per_s", "entities/s", 10, ".1f"),
        ("requests", "requests", 9, ""),
        ("peak_in_flight", "peak in flight", 14, ""),
    )

    def cell(value: Any, width: int, fmt: str = "") -> str:
        return f"{value:{'<' if width < 0 else '>'}{abs(width)}{fmt}}"

    print("", file=out)
    print("  ".join(cell(title, width) for _, title, width, _ in columns), file=out)
    for row in result["runs"]:
        print("  ".join(cell(row[key], width, fmt) for key, _, width, fmt in columns), file=out)
    print("", file=out)
    print(
        "per fake (first run of each pool): requests / busiest second / peak in flight",
        file=out,
    )
    for row in result["runs"]:
        if row["run"] != "backfill":
            continue
        parts = [
            f"{name} {f['requests']}/{f['busiest_second']}/{f['peak_in_flight']}"
            for name, f in row["fakes"].items()
        ]
        refusals = row["fakes"]["deezer"].get("quota_refusals", 0)
        within = "yes" if row["within_rate_limit"] else "NO"
        print(
            f"  workers {row['workers']:>3}: "
            + ", ".join(parts)
            + f"; Deezer quota refusals {refusals}; within the rate limit: {within};"
            f" CPU s: backfill process {row['backfill_cpu_seconds']:.1f},"
            f" fakes {row['fakes_cpu_seconds']:.1f}",
            file=out,
        )
    target = result["target"]
    met = target["met_by_workers"]
    print(
        f"\ntarget: {result['entities']:,} entities in < {target['seconds']:g} s"
        f" -> {'met with workers ' + ', '.join(map(str, met)) if met else 'NOT met'}",
        file=out,
        flush=True,
    )


def _workers(value: str) -> list[int]:
    try:
        pools = [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a comma-separated list of numbers: {value!r}"
        ) from None
    if not pools or min(pools) < 1:
        raise argparse.ArgumentTypeError("workers must be at least 1")
    return pools


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.images_bench", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--entities", type=int, default=DEFAULT_ENTITIES)
    parser.add_argument("--latency-ms", type=float, default=DEFAULT_LATENCY_MS)
    parser.add_argument(
        "--workers",
        type=_workers,
        default=[DEFAULT_WORKERS],
        help=f"backfill threads, or a comma-separated list to compare (default {DEFAULT_WORKERS})",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=DEFAULT_RATE,
        help=f"requests/s per provider service (default {DEFAULT_RATE:g})",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("KOITO_DATABASE_URL") or None,
        help=f"a PostgreSQL server to create the scratch database {BENCH_DB}_<pid> on, dropped"
        " afterwards (default KOITO_DATABASE_URL's server, else an embedded server in a"
        " temporary folder)",
    )
    parser.add_argument(
        "--fakes-in-process",
        action="store_true",
        help="serve the fakes from this process (one GIL for both; CPU figures then cover both)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="write a profile of the first run here: the backfill's main thread (pyinstrument)"
        " and the lookups in its workers (cProfile)",
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    if args.entities < 2:
        parser.error("--entities must be at least 2")
    result = run_benchmark(
        entities=args.entities,
        latency_ms=args.latency_ms,
        workers=args.workers,
        rate=args.rate,
        database_url=args.database_url,
        fakes_in_process=args.fakes_in_process,
        profile=args.profile,
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
