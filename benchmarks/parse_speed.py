"""Records per second per CPU core of every export reader, on files shaped like real exports.

The target for every reader is at least 100,000 records per second per CPU core, in Python with
no compiled code of our own (the C parsers we use are libraries: pydantic-core, msgspec, ISA-L).

Each file is written to a temporary folder (Maloja pretty-printed with indent=3 as Maloja's
exporter does, ListenBrainz as a zip of monthly JSONL with mapped and unmapped listens, …), then
read through the public API (``open_export`` and iteration, as the importer reads) a few times.
Printed per format: file size, records, the best wall-clock rate, and records per second per
core: records over the CPU time of the reading process and its parse workers, if any. Per core
is the figure to compare: it holds when other work shares the machine, and a reader that uses
two cores to go faster gets no credit for it.

    .venv/bin/python benchmarks/parse_speed.py                 # every format
    .venv/bin/python benchmarks/parse_speed.py maloja listenbrainz_zip --records 300000
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import tempfile
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from koito_assets.settings import Settings
from koito_assets.sources import open_export

START = 1_500_000_000  # 2017-07-14


class Library:
    """A listener's library: artists, albums and tracks to draw plays from, some non-ASCII."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        accents = ["", "", "", "", "é", "ö", "ñ", "ø", "ß", "ō"]
        self.artists = [f"Artist {n}{rng.choice(accents)}" for n in range(3000)]
        self.artist_mbids = [
            str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in self.artists
        ]
        self.albums = [f"Album {n}{rng.choice(accents)}" for n in range(6000)]
        self.album_mbids = [
            str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in self.albums
        ]
        self.titles = [f"Song {n}{rng.choice(accents)}" for n in range(30000)]
        self.title_mbids = [
            str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in self.titles
        ]

    def play(self) -> tuple[int, int, int]:
        """(artist, album, title) indexes, skewed like real listening: some things a lot."""
        rng = self.rng
        artist = int(rng.paretovariate(1.2)) % len(self.artists)
        return (
            artist,
            (artist * 2 + rng.randrange(2)) % len(self.albums),
            (artist * 10 + rng.randrange(10)) % len(self.titles),
        )

    def times(self, count: int) -> Iterator[int]:
        moment = START
        for _ in range(count):
            moment += self.rng.randrange(60, 600)
            yield moment


def write_maloja(path: Path, count: int, library: Library) -> None:
    rng = library.rng
    with open(path, "w") as file:
        file.write('{\n   "maloja": {\n      "export_time": 1709402400\n   },\n   "scrobbles": [\n')
        for index, moment in enumerate(library.times(count)):
            artist, album, title = library.play()
            name = library.artists[artist]
            shape = rng.random()
            if shape < 0.8:
                artists = [name]
            elif shape < 0.92:
                artists = [name, library.artists[(artist + 7) % len(library.artists)]]
            else:
                artists = [f"{name} • {library.artists[(artist + 3) % len(library.artists)]}"]
            scrobble = {
                "time": moment,
                "track": {
                    "artists": artists,
                    "title": library.titles[title],
                    "album": {"albumtitle": library.albums[album], "artists": [name]}
                    if rng.random() < 0.88
                    else None,
                    "length": rng.randrange(120, 400) if rng.random() < 0.3 else None,
                },
                "duration": rng.randrange(30, 400) if rng.random() < 0.5 else None,
                "origin": rng.choice(["client:web", "client:pano", "import:spotify", "legacy"]),
            }
            text = json.dumps(scrobble, indent=3).replace("\n", "\n      ")
            file.write(("      " if index == 0 else ",\n      ") + text)
        file.write("\n   ]\n}")


def listenbrainz_listen(moment: int, library: Library) -> dict:
    rng = library.rng
    artist, album, title = library.play()
    info: dict = {
        "submission_client": rng.choice(
            ["Web Scrobbler", "navidrome", "Pano Scrobbler", "ListenBrainz lastfm importer v2"]
        )
    }
    if rng.random() < 0.5:
        info.update(
            media_player="Spotify",
            music_service="spotify.com",
            origin_url="https://open.spotify.com/track/x",
        )
    if rng.random() < 0.7:
        info["duration_ms"] = rng.randrange(120_000, 400_000)
    if rng.random() < 0.2:
        info["artist_mbids"] = [library.artist_mbids[artist]]
        info["recording_mbid"] = library.title_mbids[title]
    meta: dict = {
        "artist_name": library.artists[artist],
        "track_name": library.titles[title],
        "recording_msid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "additional_info": info,
        "mbid_mapping": None,
    }
    if rng.random() < 0.85:
        meta["release_name"] = library.albums[album]
    if rng.random() < 0.65:
        meta["mbid_mapping"] = {
            "recording_mbid": library.title_mbids[title],
            "recording_name": library.titles[title],
            "release_mbid": library.album_mbids[album],
            "artist_mbids": [library.artist_mbids[artist]],
            "artists": [
                {
                    "artist_credit_name": library.artists[artist],
                    "join_phrase": "",
                    "artist_mbid": library.artist_mbids[artist],
                }
            ],
            "caa_id": rng.randrange(10**10),
            "caa_release_mbid": library.album_mbids[album],
        }
    return {
        "listened_at": moment,
        "inserted_at": moment + rng.random() * 5,
        "track_metadata": meta,
        "user_name": "example",
    }


def write_listenbrainz_zip(path: Path, count: int, library: Library) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("user.json", '{"user_id": 1, "username": "example"}')
        month, lines = None, []
        for moment in library.times(count):
            stamp = datetime.fromtimestamp(moment, UTC)
            if (stamp.year, stamp.month) != month and lines:
                archive.writestr(f"listens/{month[0]}/{month[1]}.jsonl", "\n".join(lines) + "\n")
                lines = []
            month = (stamp.year, stamp.month)
            lines.append(json.dumps(listenbrainz_listen(moment, library), ensure_ascii=False))
        archive.writestr(f"listens/{month[0]}/{month[1]}.jsonl", "\n".join(lines) + "\n")


def write_listenbrainz_json(path: Path, count: int, library: Library) -> None:
    with open(path, "w") as file:
        file.write("[")
        for index, moment in enumerate(library.times(count)):
            file.write(
                ("" if index == 0 else ",\n") + json.dumps(listenbrainz_listen(moment, library))
            )
        file.write("]")


def write_spotify_extended(path: Path, count: int, library: Library) -> None:
    rng = library.rng
    with open(path, "w") as file:
        file.write("[")
        for index, moment in enumerate(library.times(count)):
            artist, album, title = library.play()
            done = rng.random() < 0.6
            play = {
                "ts": datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "platform": "android",
                "ms_played": rng.randrange(150_000, 300_000) if done else rng.randrange(0, 60_000),
                "conn_country": "DE",
                "ip_addr": "192.0.2.1",
                "master_metadata_track_name": library.titles[title],
                "master_metadata_album_artist_name": library.artists[artist],
                "master_metadata_album_album_name": library.albums[album],
                "spotify_track_uri": "spotify:track:4uLU6hMCjMI75M1A2tKUQC",
                "episode_name": None,
                "episode_show_name": None,
                "spotify_episode_uri": None,
                "audiobook_title": None,
                "audiobook_uri": None,
                "audiobook_chapter_uri": None,
                "audiobook_chapter_title": None,
                "reason_start": "trackdone",
                "reason_end": "trackdone" if done else rng.choice(["fwdbtn", "endplay", "backbtn"]),
                "shuffle": rng.random() < 0.3,
                "skipped": not done,
                "offline": False,
                "offline_timestamp": moment,
                "incognito_mode": False,
            }
            file.write(("" if index == 0 else ",\n") + json.dumps(play, ensure_ascii=False))
        file.write("]")


def write_spotify_zip(path: Path, count: int, library: Library) -> None:
    """my_spotify_data.zip as Spotify sends it: the extended history in files of ~15,000 plays."""
    per_file = 15_000
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for number, start in enumerate(range(0, count, per_file)):
            member = path.with_name(f"part_{number}.json")
            write_spotify_extended(member, min(per_file, count - start), library)
            archive.write(
                member, f"Spotify Extended Streaming History/Streaming_History_Audio_{number}.json"
            )
            member.unlink()


def write_lastfmstats(path: Path, count: int, library: Library) -> None:
    with open(path, "w") as file:
        file.write('{"username":"example","scrobbles":[')
        for index, moment in enumerate(library.times(count)):
            artist, album, title = library.play()
            scrobble = {
                "track": library.titles[title],
                "artist": library.artists[artist],
                "album": library.albums[album] if library.rng.random() < 0.8 else "",
                "date": moment * 1000,
            }
            file.write(("" if index == 0 else ",") + json.dumps(scrobble, ensure_ascii=False))
        file.write("]}")


def write_spotify_account(path: Path, count: int, library: Library) -> None:
    plays = []
    for moment in library.times(count):
        artist, _, title = library.play()
        plays.append(
            {
                "endTime": datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M"),
                "artistName": library.artists[artist],
                "trackName": library.titles[title],
                "msPlayed": library.rng.randrange(0, 300_000),
            }
        )
    path.write_text(json.dumps(plays, indent=2, ensure_ascii=False))


def lastfm_rows(
    count: int, library: Library
) -> Iterator[tuple[int, str, str, str, str, str, str, str]]:
    for moment in library.times(count):
        artist, album, title = library.play()
        printed = datetime.fromtimestamp(moment, UTC).strftime("%d %b %Y, %H:%M")
        with_mbids = library.rng.random() < 0.5
        yield (
            moment,
            printed,
            library.artists[artist],
            library.artist_mbids[artist] if with_mbids else "",
            library.albums[album],
            library.album_mbids[album] if with_mbids else "",
            library.titles[title],
            library.title_mbids[title] if with_mbids else "",
        )


def write_lastfm_json(path: Path, count: int, library: Library) -> None:
    with open(path, "w") as file:
        file.write("[")
        page: list[dict] = []
        pages = 0

        def flush() -> None:
            nonlocal pages
            file.write(
                ("" if pages == 0 else ",")
                + json.dumps({"track": page, "@attr": {"user": "example", "page": str(pages + 1)}})
            )
            pages += 1

        for uts, printed, artist, artist_mbid, album, album_mbid, title, title_mbid in lastfm_rows(
            count, library
        ):
            page.append(
                {
                    "artist": {"mbid": artist_mbid, "#text": artist},
                    "streamable": "0",
                    "image": [
                        {
                            "size": "small",
                            "#text": "https://lastfm.freetls.fastly.net/i/u/34s/x.png",
                        }
                    ],
                    "mbid": title_mbid,
                    "album": {"mbid": album_mbid, "#text": album},
                    "name": title,
                    "url": "https://www.last.fm/music/x",
                    "date": {"uts": str(uts), "#text": printed},
                }
            )
            if len(page) == 200:
                flush()
                page = []
        if page:
            flush()
        file.write("]")


def write_lastfm_csv(path: Path, count: int, library: Library) -> None:
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(
            [
                "uts",
                "utc_time",
                "artist",
                "artist_mbid",
                "album",
                "album_mbid",
                "track",
                "track_mbid",
            ]
        )
        writer.writerows(lastfm_rows(count, library))


def write_lastfm_to_csv(path: Path, count: int, library: Library) -> None:
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        for _, printed, artist, _, album, _, title, _ in lastfm_rows(count, library):
            writer.writerow([artist, album, title, printed.replace(",", "")])


def write_koito(path: Path, count: int, library: Library) -> None:
    def entity(name: str, mbid: str | None, **extra: object) -> dict:
        return {
            **extra,
            "mbid": mbid,
            "aliases": [{"alias": name, "source": "Canonical", "is_primary": True}],
        }

    with open(path, "w") as file:
        file.write(
            '{"version":"1","exported_at":"2025-06-18T12:56:53Z","user":"example","listens":['
        )
        for index, moment in enumerate(library.times(count)):
            artist, album, title = library.play()
            listen = {
                "listened_at": datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "client": "navidrome",
                "track": entity(library.titles[title], library.title_mbids[title], duration=240),
                "album": entity(
                    library.albums[album],
                    None,
                    image_url="https://cdn.example.org/c.jpg",
                    various_artists=False,
                ),
                "artists": [
                    entity(
                        library.artists[artist],
                        library.artist_mbids[artist],
                        image_url="",
                        is_primary=False,
                    )
                ],
            }
            file.write(("" if index == 0 else ",") + json.dumps(listen))
        file.write("]}")


WRITERS: dict[str, tuple[str, Callable[[Path, int, Library], None], float]] = {
    # format: (file name, writer, share of --records)
    "maloja": ("maloja_export_2024_03_02_18_00_00.json", write_maloja, 1.0),
    "listenbrainz_zip": ("listenbrainz_example_1709402230.zip", write_listenbrainz_zip, 1.0),
    "listenbrainz_json": ("example_lb-2024-03-02.json", write_listenbrainz_json, 0.5),
    "spotify_extended": ("Streaming_History_Audio_2023-2024_0.json", write_spotify_extended, 0.5),
    "spotify_account": ("StreamingHistory_music_0.json", write_spotify_account, 0.5),
    "spotify_zip": ("my_spotify_data.zip", write_spotify_zip, 0.5),
    "lastfm_json": ("recenttracks-example-1709402230.json", write_lastfm_json, 0.5),
    "lastfm_csv": ("recenttracks-example-1709402230.csv", write_lastfm_csv, 0.5),
    "lastfm_to_csv": ("lastfm-to-csv-example.csv", write_lastfm_to_csv, 0.5),
    "lastfmstats_json": ("lastfmstats-example.json", write_lastfmstats, 0.5),
    "koito": ("koito_export_2025-06-18.json", write_koito, 0.5),
}


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the parse workers)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


TARGET_PER_CORE = 100_000


def measure(path: Path, repeat: int) -> tuple[int, float, float]:
    """(records, best records/s by wall clock, best records per CPU second, workers included)."""
    best_wall = best_cpu = 0.0
    records = 0
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), _cpu_seconds()
        export = open_export(path, Settings())
        records = sum(1 for _ in export)
        wall, cpu = time.perf_counter() - wall, _cpu_seconds() - cpu
        best_wall, best_cpu = max(best_wall, records / wall), max(best_cpu, records / cpu)
    return records, best_wall, best_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "formats", nargs="*", metavar="FORMAT", help=f"any of: {', '.join(WRITERS)}"
    )
    parser.add_argument(
        "--records", type=int, default=200_000, help="records for Maloja and ListenBrainz"
    )
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    unknown = set(args.formats) - set(WRITERS)
    if unknown:
        parser.error(f"unknown format(s): {', '.join(sorted(unknown))}")
    print(
        f"{'format':<18}{'MB':>8}{'records':>10}{'records/s':>12}{'per core':>12}"
        f"  target >= {TARGET_PER_CORE:,}/core"
    )
    with tempfile.TemporaryDirectory() as folder:
        for name in args.formats or WRITERS:
            file_name, write, share = WRITERS[name]
            path = Path(folder) / file_name
            write(path, int(args.records * share), Library(random.Random(7)))
            records, wall, cpu = measure(path, args.repeat)
            verdict = "met" if cpu >= TARGET_PER_CORE else "MISSED"
            print(
                f"{name:<18}{path.stat().st_size / 1e6:>8.1f}{records:>10,}{wall:>12,.0f}"
                f"{cpu:>12,.0f}  {verdict}",
                flush=True,
            )
            path.unlink()


if __name__ == "__main__":
    main()
