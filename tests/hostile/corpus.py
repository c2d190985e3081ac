"""Hostile inputs, each written by a generator at test time: small on disk, built to hurt.

Every case says what ``koito-import parse`` and ``koito-import import`` must answer: the exit
code, a piece of the one line (or report) they print, and for an import the listens the file
adds. The generators cover what an adversarial user tried: names PostgreSQL cannot index, zip
bombs that talk around declared sizes, huge records, impossible times, deep nesting, files that
are not files, and the odd shapes whose messages must name the real problem.
"""

from __future__ import annotations

import json
import os
import random
import string
import struct
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

PLAY = 1_709_402_230  # 2024-03-02T17:57:10Z
HEADER = b"uts,utc_time,artist,artist_mbid,album,album_mbid,track,track_mbid\n"


@dataclass(frozen=True)
class Case:
    """One hostile input and what each command must make of it."""

    name: str
    write: Callable[[Path], Path]  # writes the input into a folder, returns what to pass
    parse_exit: int
    parse_says: str  # in stderr (exit 2) or the report (exit 0)
    import_exit: int | None = None  # None: not imported (parse alone tells all there is)
    import_says: str = ""  # in the file's error (failed) or its JSON summary (imported)
    listens: int = 0  # listens the import adds
    skipped: dict[str, int] = field(default_factory=dict)  # skip counts the import reports


def _maloja(path: Path, scrobbles: list, *, prefix: str = "") -> Path:
    path.write_text(prefix + json.dumps({"scrobbles": scrobbles}))
    return path


def _play(time: object = PLAY, artists=("Corpus Band",), title="Song", album=None) -> dict:
    track = {"artists": list(artists), "title": title}
    if album is not None:
        track["album"] = {"albumtitle": album}
    return {"time": time, "track": track}


def _lb_line(listened_at: object = PLAY, artist="Corpus Band", track="Song", **info) -> str:
    meta = {"artist_name": artist, "track_name": track, "additional_info": info}
    return json.dumps({"listened_at": listened_at, "track_metadata": meta})


def _zip(path: Path, members: dict[str, bytes], level: int = 6) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are a case of their own
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
            for name, data in members.items():
                archive.writestr(name, data)
    return path


def _declare(path: Path, member: str, **sizes: int) -> None:
    """Make the central directory lie about a member's compressed or inflated size."""
    data = bytearray(path.read_bytes())
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        name_size = struct.unpack_from("<H", data, at + 28)[0]
        if data[at + 46 : at + 46 + name_size] == member.encode():
            if "compress_size" in sizes:
                struct.pack_into("<I", data, at + 20, sizes["compress_size"])
            if "file_size" in sizes:
                struct.pack_into("<I", data, at + 24, sizes["file_size"])
        at = data.find(b"PK\x01\x02", at + 4)
    path.write_bytes(bytes(data))


def _noise(size: int, seed: int) -> bytes:
    """Bytes deflate cannot squeeze: padding that makes an archive's size honest."""
    return random.Random(seed).randbytes(size)


# --- the generators ------------------------------------------------------------------------------


def long_names(folder: Path) -> Path:
    """A 3,000-character artist, title and album, and a good play: one file, not one failure."""
    long = "".join(random.Random(1).choices(string.ascii_letters, k=3000))
    return _maloja(
        folder / "maloja_export_long_names.json",
        [
            _play(artists=[long]),
            _play(PLAY + 1, title=long),
            _play(PLAY + 2, album=long),
            _play(PLAY + 3, artists=["Corpus Band", long]),
            _play(PLAY + 4, title="Short Song"),
        ],
    )


def small_member_bombs(folder: Path) -> Path:
    """1,500 members of 60 KiB of newlines each: every one under the per-member allowance,
    90 MB from a ~400 KB archive together (the bypass of a size floor)."""
    members = {f"listens/2024/{n}.jsonl": b"\n" * 61_000 for n in range(1500)}
    return _zip(folder / "listenbrainz_small_bombs.zip", members, level=9)


def lying_compressed_size(folder: Path) -> Path:
    """16 MiB of newlines in ~16 KB that declare 200 KB of compressed data, a harmless 84:1
    (the archive holds that much noise): only the bytes actually inflated tell."""
    path = _zip(
        folder / "listenbrainz_liar.zip",
        {"listens/2024/1.jsonl": b"\n" * (16 << 20), "noise.bin": _noise(220_000, 2)},
        level=9,
    )
    _declare(path, "listens/2024/1.jsonl", compress_size=200_000)
    return path


def declares_more_than_it_holds(folder: Path) -> Path:
    path = _zip(folder / "listenbrainz_overclaim.zip", {"listens/2024/1.jsonl": b"{}\n" * 10})
    _declare(path, "listens/2024/1.jsonl", compress_size=400_000_000)
    return path


def one_listen_repeated(folder: Path) -> Path:
    """6.4 MB of deflate holding one valid listen ~11 million times."""
    line = (_lb_line() + "\n").encode()
    return _zip(
        folder / "listenbrainz_repeated.zip", {"listens/2024/3.jsonl": line * 80_000}, level=9
    )


def huge_media_player(folder: Path) -> Path:
    """8 ListenBrainz listens with a 60 MB media_player each (~8 MB zipped, 62:1), written a
    line at a time so the test itself stays small."""
    rng = random.Random(4)
    blocks = ["".join(rng.choices(string.ascii_letters, k=12)) + "a" * 1000 for _ in range(2000)]
    player = "".join(blocks[n % 2000] for n in range(60_000))
    line = _lb_line(PLAY, media_player="@").replace('"@"', json.dumps(player)).encode() + b"\n"
    del player
    path = folder / "listenbrainz_big_records.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open("listens/2024/3.jsonl", "w", force_zip64=True) as member:
            for n in range(8):
                member.write(line.replace(str(PLAY).encode(), str(PLAY + n).encode(), 1))
    return path


def five_thousand_digit_time(folder: Path) -> Path:
    path = folder / "maloja_export_huge_time.json"
    huge = '{"time": ' + "9" * 5000 + ', "track": {"artists": ["A"], "title": "T"}}'
    path.write_text(f'{{"scrobbles": [{huge}, {json.dumps(_play(title="On Time"))}]}}')
    return path


def five_thousand_digit_time_jsonl(folder: Path) -> Path:
    line = _lb_line().replace(str(PLAY), "9" * 5000, 1)
    return _zip(folder / "listenbrainz_huge_time.zip", {"listens/2024/3.jsonl": line.encode()})


def deep_nesting_in_an_ignored_key(folder: Path) -> Path:
    path = folder / "maloja_export_deep.json"
    path.write_text(
        '{"x": ' + "[" * 975 + "]" * 975 + ', "scrobbles": ' + json.dumps([_play()]) + "}"
    )
    return path


def deep_nesting_everywhere(folder: Path) -> Path:
    path = folder / "Streaming_History_Audio_deep.json"
    path.write_text("[" * 200_000 + "]" * 200_000)
    return path


def whitespace_before_json(folder: Path) -> Path:
    return _maloja(
        folder / "maloja_export_spaced.json", [_play(title="Spaced")], prefix=" " * 70_000
    )


def latin1_in_a_csv(folder: Path) -> Path:
    path = folder / "recenttracks-latin1.csv"
    row = '{},"02 Mar 2024, 17:57",Corpus Band,,Album,,{},\n'
    rows = [row.format(PLAY + n, f"Track {n}").encode() for n in range(4)]
    rows[2] = rows[2].replace(b"Corpus Band", b"Caf\xe9 Band")
    path.write_bytes(HEADER + b"".join(rows))
    return path


def version_as_a_number(folder: Path) -> Path:
    path = folder / "koito_export_v1.json"
    path.write_text('{"version": 1, "exported_at": "2025-01-01T00:00:00Z", "listens": []}')
    return path


def unterminated_quote(folder: Path) -> Path:
    path = folder / "recenttracks-quote.csv"
    good = '{},"02 Mar 2024, 17:57",Corpus Band,,Album,,Track,\n'
    path.write_text(
        HEADER.decode()
        + good.format(PLAY)
        + f'{PLAY + 1},"02 Mar 2024, 17:57,Corpus Band,,Album,,Track,\n'
        + "".join(good.format(PLAY + n) for n in range(2, 200))
    )
    return path


def lastfmstats_in_seconds(folder: Path) -> Path:
    path = folder / "lastfmstats-seconds.json"
    scrobbles = [
        {"track": f"T{n}", "artist": "Corpus Band", "album": "", "date": PLAY + n} for n in range(3)
    ]
    path.write_text(json.dumps({"username": "corpus", "scrobbles": scrobbles}))
    return path


def impossible_times(folder: Path) -> Path:
    times = [0, -1, 253402300799, PLAY * 1000, PLAY]
    return _maloja(
        folder / "maloja_export_times.json", [_play(t, title=f"T{n}") for n, t in enumerate(times)]
    )


def duplicate_member_names(folder: Path) -> Path:
    """Two members of one name (an archive appended to): both are read, and a note says so."""
    path = folder / "listenbrainz_twice.zip"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("listens/2024/3.jsonl", _lb_line(PLAY, track="First copy") + "\n")
            archive.writestr("listens/2024/3.jsonl", _lb_line(PLAY + 9, track="Second copy") + "\n")
    return path


def huge_member_name(folder: Path) -> Path:
    name = "Spotify/Streaming_History_Audio_" + "x" * 60_000 + ".json"
    play = {
        "ts": "2024-03-02T18:04:11Z",
        "ms_played": 200_000,
        "master_metadata_track_name": "Long Named",
        "master_metadata_album_artist_name": "Corpus Band",
        "reason_end": "trackdone",
    }
    return _zip(folder / "my_spotify_data.zip", {name: json.dumps([play]).encode()})


def dots_in_the_name(folder: Path) -> Path:
    """Dagster refuses partition keys holding "...": the name must still import."""
    return _maloja(folder / "maloja_export...json", [_play(PLAY + 50, title="Dotted")])


def a_fifo(folder: Path) -> Path:
    path = folder / "maloja_export_fifo.json"
    os.mkfifo(path)
    return path


def a_directory(folder: Path) -> Path:
    path = folder / "maloja_export_folder.json"
    path.mkdir()
    return path


def a_device(folder: Path) -> Path:
    return Path("/dev/zero")


def a_good_file(folder: Path) -> Path:
    """Among the bad ones, a good file: no bad file may cost it a listen."""
    return _maloja(
        folder / "maloja_export_good.json",
        [_play(PLAY + 100 + n, title=f"Good {n}") for n in range(6)],
    )


CASES = [
    Case("long names", long_names, 0, "name_too_long", 0, "", 1, {"name_too_long": 4}),
    Case("small member bombs", small_member_bombs, 2, "a zip bomb", 2, "a zip bomb"),
    Case("lying compressed size", lying_compressed_size, 2, "a zip bomb", 2, "a zip bomb"),
    Case("declares more than it holds", declares_more_than_it_holds, 2, "more than the archive"),
    Case("one listen repeated", one_listen_repeated, 2, "a zip bomb", 2, "a zip bomb"),
    Case(
        "5,000-digit time",
        five_thousand_digit_time,
        0,
        "unparsable_time",
        0,
        "",
        1,
        {"unparsable_time": 1},
    ),
    Case("5,000-digit time in JSONL", five_thousand_digit_time_jsonl, 0, "unparsable_time"),
    Case(
        "deep nesting in an ignored key",
        deep_nesting_in_an_ignored_key,
        2,
        "nested more than 200 levels deep",
        2,
        "nested more than 200 levels deep",
    ),
    Case("deep nesting everywhere", deep_nesting_everywhere, 2, "nested more than 200 levels"),
    Case("whitespace before JSON", whitespace_before_json, 0, "maloja", 0, "", 1),
    Case(
        "Latin-1 byte in a CSV", latin1_in_a_csv, 2, "line 4, byte", 2, "not UTF-8 text: byte 0xe9"
    ),
    Case("version as a number", version_as_a_number, 2, '"version" is the number 1'),
    Case(
        "unterminated quote",
        unterminated_quote,
        2,
        "line 3: a quoted field opens here",
        2,
        "unterminated quote",
    ),
    Case(
        "lastfmstats in seconds",
        lastfmstats_in_seconds,
        0,
        "look like seconds where this format writes milliseconds",
    ),
    Case(
        "impossible times",
        impossible_times,
        0,
        "time_out_of_range",
        0,
        "",
        1,
        {"time_out_of_range": 4},
    ),
    Case("duplicate member names", duplicate_member_names, 0, "appear more than once", 0, "", 2),
    Case("huge member name", huge_member_name, 0, "spotify_zip"),
    Case("dots in the name", dots_in_the_name, 0, "maloja", 0, "", 1),
    Case("a FIFO", a_fifo, 2, "not a regular file but a pipe", 2, "not a regular file but a pipe"),
    Case(
        "a directory",
        a_directory,
        2,
        "not a regular file but a directory",
        2,
        "not a regular file but a directory",
    ),
    Case("a device", a_device, 2, "not a regular file but a device"),
    Case("a good file", a_good_file, 0, "maloja", 0, "", 6),
]
BIG_RECORDS = Case("8 listens with a 60 MB media_player", huge_media_player, 0, "records", 0, "", 8)
