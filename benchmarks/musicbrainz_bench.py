"""An export full of MBIDs against a local fake MusicBrainz at 1 request/s: requests and seconds.

    python -m benchmarks.musicbrainz_bench [--quick] [--latency-ms 20] [--large-rate 20]
                                           [--json PATH]

What it does, on one embedded PostgreSQL (or KOITO_DATABASE_URL), one fresh database per case:

1. writes a ListenBrainz export of 5,000 listens over 600 recordings, 150 releases (60 release
   groups) and 80 artists, every listen with its MBIDs, its names spelt otherwise than
   MusicBrainz spells them; registers the same catalogue on the fake MusicBrainz
   (tests.fakes), which answers each request 20 ms late and refuses (503) requests closer
   than 0.9 s, as musicbrainz.org does;
2. imports it through the asset graph at KOITO_MUSICBRAINZ_RATE_LIMIT=1: requests by kind
   (searches, lookups, browses), seconds of the import and of resolved_lookup;
3. imports the same file again (0 requests), then again into an emptied catalogue with the
   stored answers kept (0 requests: every answer from the store);
4. the reference: every record through ``submit_listen`` one at a time, which asks MusicBrainz
   one lookup per question as Koito does (at 1,000 requests/s, so it takes seconds, not the
   quarter of an hour it takes at 1/s); its catalogue must equal the bulk import's;
5. the same file with MusicBrainz unreachable (a closed port): seconds;
6. (not with --quick) an export of 25,000 recordings (100,000 listens): requests per MBID. It
   runs at ``--large-rate`` requests/s (a mirror's rate; 20 by default) because the number of
   requests does not depend on the rate; at 1/s it would take about one second per request.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import sys
import tempfile
import time
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out" / "musicbrainz.json"

WORDS = (
    "amber bright cinder delta echo fable glass harbor iris juniper kite lumen marble north "
    "opal prism quartz raven signal tide umber velvet willow xenon yarrow zephyr"
).split()
START = 1_700_000_000


def _uuid(kind: str, i: int) -> str:
    import uuid

    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"koito-bench:{kind}:{i}"))


def _name(i: int) -> str:
    """A distinct name per i, in MusicBrainz's capitalisation."""
    name = f"{WORDS[i % 26]} {WORDS[(i // 26) % 26]}".title()
    return name if i < 676 else f"{name} {i // 676}"


@dataclass(frozen=True)
class Shape:
    listens: int
    recordings: int
    releases: int
    groups: int
    artists: int


SMALL = Shape(5_000, 600, 150, 60, 80)
LARGE = Shape(100_000, 25_000, 6_250, 2_500, 3_300)


@dataclass
class Catalogue:
    """What MusicBrainz knows and what the export names, index by index."""

    shape: Shape
    release_group: list[int]  # release → group
    release_artist: list[int]  # release → artist
    recording_release: list[int]  # recording → release
    recording_artists: list[tuple[int, ...]]  # recording → artists, primary first
    length_ms: list[int | None]  # recording → MusicBrainz's length

    @classmethod
    def build(cls, shape: Shape, seed: int = 1) -> Catalogue:
        rng = random.Random(seed)
        release_group = [i % shape.groups for i in range(shape.releases)]
        release_artist = [rng.randrange(shape.artists) for _ in range(shape.releases)]
        recording_release = [i % shape.releases for i in range(shape.recordings)]
        recording_artists = []
        for i in range(shape.recordings):
            lead = release_artist[recording_release[i]]
            guest = rng.randrange(shape.artists)
            with_guest = rng.random() < 0.2 and guest != lead
            recording_artists.append((lead, guest) if with_guest else (lead,))
        # every artist credited somewhere, as in an export of its listens
        for artist in range(shape.artists):
            if not any(artist in credits for credits in recording_artists):
                lead = recording_artists[artist][0]
                recording_artists[artist] = (lead, artist) if lead != artist else (lead,)
        length_ms = [
            None if rng.random() < 0.1 else rng.randint(120, 420) * 1000
            for _ in range(shape.recordings)
        ]
        return cls(
            shape, release_group, release_artist, recording_release, recording_artists, length_ms
        )

    def mbids(self) -> int:
        s = self.shape
        return s.recordings + s.releases + s.groups + s.artists


def register(fake: Any, cat: Catalogue) -> None:
    """The catalogue as MusicBrainz has it: capitalised names, primary aliases, groups with more
    releases than the export names."""
    from tests.fakes.musicbrainz import MbAlias, MbCredit, MbGroupRelease

    s = cat.shape
    for a in range(s.artists):
        fake.add_artist(
            _uuid("artist", a),
            _name(a),
            [
                MbAlias(f"{_name(a)}（{a}）", locale="ja", primary=True),
                MbAlias(_name(a).upper(), locale="en", primary=False),
            ],
        )
    by_group: dict[int, list[int]] = {}
    for r, g in enumerate(cat.release_group):
        by_group.setdefault(g, []).append(r)
    for g, releases in by_group.items():
        listed = [
            MbGroupRelease(_uuid("release", r), _name(r + 1000) + " Vol. 1") for r in releases
        ]
        listed += [
            MbGroupRelease(_uuid("other release", g * 10 + k), f"{_name(g + 1000)} ({kind})")
            for k, kind in enumerate(("Deluxe", "Remaster", "Live"))
        ]
        fake.add_release_group(_uuid("group", g), _name(releases[0] + 1000) + " Vol. 1", listed)
    for r in range(s.releases):
        artist = cat.release_artist[r]
        fake.add_release(
            _uuid("release", r),
            _name(r + 1000) + " Vol. 1",
            [MbCredit(_name(artist), artist_id=_uuid("artist", artist))],
            release_group=_uuid("group", cat.release_group[r]),
        )
    for t in range(s.recordings):
        fake.add_recording(_uuid("recording", t), _name(t + 5000), cat.length_ms[t])


def write_export(cat: Catalogue, path: Path, seed: int = 1) -> Path:
    """A ListenBrainz export zip: every listen with its MBIDs, names in lower case."""
    rng = random.Random(seed + 1)
    s = cat.shape
    order = list(range(s.recordings))
    rng.shuffle(order)  # every recording heard at least once, the rest by popularity
    weights = [1 / (i + 1) ** 0.8 for i in range(s.recordings)]
    order += rng.choices(range(s.recordings), weights, k=s.listens - s.recordings)
    months: dict[tuple[int, int], list[str]] = {}
    for n, t in enumerate(order):
        at = START + n * 600
        gm = time.gmtime(at)
        artists = cat.recording_artists[t]
        names = [_name(a).lower() for a in artists]
        release = cat.recording_release[t]
        info: dict[str, Any] = {
            "artist_mbids": [_uuid("artist", a) for a in artists],
            "recording_mbid": _uuid("recording", t),
            "release_mbid": _uuid("release", release),
            "release_group_mbid": _uuid("group", cat.release_group[release]),
            "submission_client": "navidrome",
        }
        if t % 3:
            info["duration_ms"] = (cat.length_ms[t] or 200_000) + 1000
        listen = {
            "listened_at": at,
            "track_metadata": {
                "artist_name": " feat. ".join(names),
                "track_name": _name(t + 5000).lower(),
                "release_name": (_name(release + 1000) + " Vol. 1").lower(),
                "additional_info": info,
                "mbid_mapping": {
                    "artist_mbids": info["artist_mbids"],
                    "artists": [
                        {
                            "artist_credit_name": name,
                            "join_phrase": " feat. " if i == 0 and len(names) > 1 else "",
                            "artist_mbid": mbid,
                        }
                        for i, (name, mbid) in enumerate(
                            zip(names, info["artist_mbids"], strict=True)
                        )
                    ],
                    "recording_mbid": info["recording_mbid"],
                    "release_mbid": info["release_mbid"],
                },
            },
        }
        months.setdefault((gm.tm_year, gm.tm_mon), []).append(json.dumps(listen))
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("user.json", json.dumps({"user_id": 1, "username": "bench"}))
        for (year, month), lines in sorted(months.items()):
            zf.writestr(f"listens/{year}/{month}.jsonl", "\n".join(lines) + "\n")
    return path


@contextmanager
def musicbrainz_env(url: str, rate: float):
    """The settings an import reads, pointed at ``url`` for the duration."""
    saved = {
        k: os.environ.get(k)
        for k in (
            "KOITO_DISABLE_MUSICBRAINZ",
            "KOITO_MUSICBRAINZ_URL",
            "KOITO_MUSICBRAINZ_RATE_LIMIT",
        )
    }
    os.environ.pop("KOITO_DISABLE_MUSICBRAINZ", None)
    os.environ["KOITO_MUSICBRAINZ_URL"] = url
    os.environ["KOITO_MUSICBRAINZ_RATE_LIMIT"] = str(rate)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _fresh_database(admin_url: str, name: str, settings: Any) -> str:
    from benchmarks.run import _fresh_database as fresh
    from koito_assets.db.bootstrap import prepare_database

    url = fresh(admin_url, name)
    prepare_database(url, settings)
    return url


def _import(path: Path, url: str, config_dir: Path, fake: Any) -> dict:
    from benchmarks.run import import_in_process

    fake.clear_log()
    result = import_in_process(path, url, config_dir)
    counts = fake.request_counts()
    return {
        "seconds": result["seconds"],
        "resolved_lookup_seconds": result["stages"].get("resolved_lookup", 0.0),
        "listens_inserted": result["listens_inserted"],
        "requests": sum(counts.values()),
        "requests_by_kind": dict(counts),
        "refused_as_too_fast": fake.rate_limited,
    }


def _reference(path: Path, url: str, fake: Any) -> dict:
    """Every record through submit_listen, one lookup per question (Koito's way)."""
    from koito_assets.catalog.submit import submit_listen
    from koito_assets.enrich.musicbrainz import HttpMusicBrainz
    from koito_assets.settings import Settings
    from koito_assets.sources import open_export
    from koito_assets.sources.record import Scrobble

    settings = Settings()
    client = HttpMusicBrainz(fake.url, rate_limit_per_s=1000.0, timeout_s=10.0)
    fake.clear_log()
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        for record in open_export(path, settings):
            if isinstance(record, Scrobble):
                submit_listen(conn, record, musicbrainz=client, settings=settings)
    counts = fake.request_counts()
    return {
        "seconds": round(time.perf_counter() - started, 3),
        "requests": sum(counts.values()),
        "requests_by_kind": dict(counts),
    }


def _catalogue(url: str) -> dict:
    from tests.catalog.helpers import catalogue

    with psycopg.connect(url) as conn:
        return catalogue(conn)


def _closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def run(admin_url: str, work: Path, *, quick: bool, latency_s: float, large_rate: float) -> dict:
    from koito_assets.settings import Settings
    from tests.fakes.musicbrainz import FakeMusicBrainz

    settings = Settings.from_env({"KOITO_CONFIG_DIR": str(work / "koito")})
    results: dict[str, Any] = {"latency_ms": round(latency_s * 1000)}
    small = Catalogue.build(SMALL)
    export = write_export(small, work / "exports" / "listenbrainz_bench_1700000000.zip")
    results["shape"] = vars(SMALL) | {"mbids": small.mbids()}
    with FakeMusicBrainz() as fake:
        register(fake, small)
        fake.latency_s = latency_s
        fake.enforce_rate_limit(0.9)
        with musicbrainz_env(fake.url, 1.0):
            url = _fresh_database(admin_url, "koito_bench_mbz", settings)
            results["bulk"] = _import(export, url, work / "koito", fake)
            results["again"] = _import(export, url, work / "koito", fake)
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("TRUNCATE artists, releases, tracks, listens CASCADE")
            results["emptied_catalogue_store_kept"] = _import(export, url, work / "koito", fake)
        fake.enforce_rate_limit(0.0)
        ref_url = _fresh_database(admin_url, "koito_bench_mbz_reference", settings)
        results["one_lookup_per_mbid"] = _reference(export, ref_url, fake)
        bulk_catalogue, reference = _catalogue(url), _catalogue(ref_url)
        results["same_catalogue"] = bulk_catalogue == reference
        if not results["same_catalogue"]:
            results["catalogue_differences"] = {
                part: len(reference[part] ^ bulk_catalogue[part]) for part in reference
            }
    with musicbrainz_env(_closed_port(), 1.0):
        off_url = _fresh_database(admin_url, "koito_bench_mbz_unreachable", settings)
        from benchmarks.run import import_in_process

        gone = import_in_process(export, off_url, work / "koito")
        results["unreachable"] = {
            "seconds": gone["seconds"],
            "listens_inserted": gone["listens_inserted"],
        }
    if not quick:
        large = Catalogue.build(LARGE, seed=2)
        big_export = write_export(
            large, work / "exports-large" / "listenbrainz_large_1700000000.zip", seed=2
        )
        with FakeMusicBrainz() as fake:
            register(fake, large)
            fake.latency_s = latency_s
            with musicbrainz_env(fake.url, large_rate):
                big_url = _fresh_database(admin_url, "koito_bench_mbz_large", settings)
                big = _import(big_export, big_url, work / "koito", fake)
        big["rate_per_s"] = large_rate
        big["mbids"] = large.mbids()
        big["requests_per_mbid"] = round(big["requests"] / large.mbids(), 4)
        results["large"] = vars(LARGE) | big
    return results


def print_table(r: dict) -> None:
    from benchmarks.run import _row

    bulk, ref = r["bulk"], r["one_lookup_per_mbid"]
    s = r["shape"]
    print()
    print(
        f"MusicBrainz (fake, 1 request/s, {r['latency_ms']} ms latency): ListenBrainz export of "
        f"{s['listens']:,} listens, {s['recordings']} recordings, {s['releases']} releases "
        f"({s['groups']} groups), {s['artists']} artists"
    )
    print(
        _row(
            "  requests",
            f"{bulk['requests']} {bulk['requests_by_kind']}",
            "<= 40",
            bulk["requests"] <= 40,
        )
    )
    print(_row("  import (s)", bulk["seconds"], "<= 60 s", bulk["seconds"] <= 60))
    print(_row("  resolved_lookup (s)", bulk["resolved_lookup_seconds"]))
    print(
        _row(
            "  refused as too fast (503)",
            bulk["refused_as_too_fast"],
            "= 0",
            bulk["refused_as_too_fast"] == 0,
        )
    )
    print(
        _row(
            "  same catalogue as one lookup per MBID", r["same_catalogue"], "", r["same_catalogue"]
        )
    )
    print(_row("  one lookup per MBID: requests", f"{ref['requests']} {ref['requests_by_kind']}"))
    again = r["again"]
    print(_row("  the same file again: requests", again["requests"], "= 0", again["requests"] == 0))
    kept = r["emptied_catalogue_store_kept"]
    print(
        _row(
            "  emptied catalogue, answers kept: requests",
            kept["requests"],
            "= 0",
            kept["requests"] == 0,
        )
    )
    gone = r["unreachable"]
    print(_row("  MusicBrainz unreachable: import (s)", gone["seconds"]))
    if "large" in r:
        big = r["large"]
        print(
            _row(
                f"  {big['recordings']:,} recordings ({big['mbids']:,} MBIDs): requests per MBID",
                big["requests_per_mbid"],
                "<= 0.02",
                big["requests_per_mbid"] <= 0.02,
            )
        )
        print(
            _row(
                f"    requests (at {big['rate_per_s']:g}/s), seconds",
                f"{big['requests']}, {big['seconds']}",
            )
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="without the 25,000-recording case")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--large-rate", type=float, default=20.0)
    parser.add_argument("--json", type=Path, default=OUT)
    args = parser.parse_args(argv)
    from benchmarks.run import _nullcontext
    from koito_assets.db.connection import embedded_server
    from koito_assets.settings import Settings

    work = Path(tempfile.mkdtemp(prefix="koito-mbz-bench-"))
    settings = Settings.from_env({"KOITO_CONFIG_DIR": str(work / "koito")})
    external = os.environ.get("KOITO_DATABASE_URL")
    with embedded_server(settings) if not external else _nullcontext() as server:
        admin = external or server.url()
        results = run(
            admin,
            work,
            quick=args.quick,
            latency_s=args.latency_ms / 1000,
            large_rate=args.large_rate,
        )
    print_table(results)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2))
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
