"""Deterministic, realistic listening-history exports in every format the project imports.

One seeded *catalogue* (artists, albums, tracks with feat. credits, unicode names, case variants,
MBIDs) and one seeded *play stream* (Zipf-distributed plays, every track played at least once,
strictly increasing start times) are rendered into each export format. Output is written
streaming: no format ever holds more than a few thousand records in memory, and per-track JSON
fragments are encoded once and reused, so a million-scrobble Maloja file takes seconds.

    python -m benchmarks.workload --format maloja --size seed --out /tmp/wl [--seed 1]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import os
import random
import sys
import time
import zipfile
from bisect import bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TextIO
from urllib.parse import quote_plus

FORMATS = ("maloja", "spotify_extended", "lastfm_json", "lastfm_csv", "listenbrainz_zip", "koito")

END_OF_PLAYS = 1_746_057_600  # 2025-05-01T00:00:00Z: plays are laid out to end around here
EXPORT_TIME = 1_748_779_200  # 2025-06-01T12:00:00Z: the "export_time" of every generated file
USER = "bench_user"
CHUNK = 8192  # plays per independently seeded chunk of the play stream
WRITE_BATCH = 4096  # records joined per file write

P_BREAK = 0.12  # share of gaps that are a pause between listening sessions
VARIANT_SHARE = 0.3  # share of a case-variant artist's plays that use the variant spelling
DUP_SHARE = 0.002  # share of plays written twice (same second, same track) where formats allow
PODCAST_SHARE = 0.03  # Spotify podcast episodes, on top of the music plays
NAMELESS_SHARE = 0.001  # Spotify music rows with a URI but null names
SPOTIFY_RECORDS_PER_FILE = 16_000  # about 12 MB, like the real files
LASTFM_PAGE = 200

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_ENC = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_ENC_ASCII = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode


# --------------------------------------------------------------------------------------------
# Sizes


@dataclass(frozen=True)
class Shape:
    """How big a workload is: scrobbles, catalogue cardinalities and the time span covered."""

    name: str
    scrobbles: int
    artists: int
    albums: int
    tracks: int
    span_days: int


def _scaled(n: int, name: str | None = None) -> Shape:
    """A shape for ``n`` scrobbles, scaled sub-linearly from the 49,050-scrobble seed history."""
    if n < 10:
        raise ValueError("a workload needs at least 10 scrobbles")
    f = n / 49_050
    tracks = max(4, min(round(15_000 * f**0.46), n * 3 // 10))
    artists = max(2, round(tracks * 5_589 / 15_000))
    albums = max(1, round(tracks * 2_628 / 15_000))
    span = max(30, min(20 * 365, round(4 * 365 * f**0.3)))
    return Shape(name or str(n), n, artists, albums, tracks, span)


SHAPES = {
    "tiny": _scaled(500, "tiny"),
    "seed": Shape("seed", 49_050, 5_589, 2_628, 15_000, 4 * 365),
    "large": Shape("large", 1_000_000, 22_356, 10_512, 60_000, 15 * 365),
}


def shape_for(size: str | int) -> Shape:
    """The shape of a named size ('tiny', 'seed', 'large') or of a scrobble count."""
    if isinstance(size, str) and size in SHAPES:
        return SHAPES[size]
    if isinstance(size, str) and not size.isdigit():
        raise ValueError(f"unknown size {size!r}: use tiny, seed, large or a number")
    return _scaled(int(size))


# --------------------------------------------------------------------------------------------
# Deterministic helpers


def _derive(seed: int, *parts: object) -> int:
    """A 64-bit seed derived from ``seed`` and labels; stable across processes (no hash())."""
    text = ":".join(str(p) for p in (seed, *parts)).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


def _uuid(seed: int, kind: str, idx: int) -> str:
    """A valid random-looking (version 4) UUID, stable per entity."""
    b = bytearray(hashlib.blake2b(f"{seed}:{kind}:{idx}".encode(), digest_size=16).digest())
    b[6] = (b[6] & 0x0F) | 0x40
    b[8] = (b[8] & 0x3F) | 0x80
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _base62(seed: int, kind: str, idx: int, length: int = 22) -> str:
    """A stable base-62 id like Spotify's, derived from the entity."""
    digest = hashlib.blake2b(f"{seed}:{kind}:{idx}".encode(), digest_size=length).digest()
    return "".join(_B62[b % 62] for b in digest)


def _hex(seed: int, kind: str, idx: object) -> str:
    """A stable 32-digit hex id (Last.fm and Deezer image names)."""
    return hashlib.blake2b(f"{seed}:{kind}:{idx}".encode(), digest_size=16).hexdigest()


def _share(seed: int, kind: str, idx: int, percent: int) -> bool:
    """A stable per-entity coin: True for about ``percent`` % of entities."""
    return _derive(seed, kind, idx) % 100 < percent


def _zipf_weights(n: int, s: float) -> list[float]:
    """Weights 1/(rank+1)^s for ranks 0..n-1."""
    return [1.0 / (i + 1) ** s for i in range(n)]


# --------------------------------------------------------------------------------------------
# Names

_ADJ = (
    "Silver Golden Quiet Electric Velvet Broken Hollow Crimson Midnight Paper Neon Distant Frozen "
    "Wild Lonely Burning Gentle Violet Static Lunar Solar Northern Southern Empty Bright Hidden "
    "Sacred Savage Tender Bitter Sweet Slow Young Ancient Glass Iron Cosmic Digital Analog Blue "
    "Scarlet Black White Green Pale Dark Secret Restless Electric Wooden Plastic Atomic Magnetic "
    "Endless Faded Falling Rising Sleeping Dancing Floating Shining Silent Loud Tiny Giant Holy"
).split()
_NOUN = (
    "River Mountain Echo Signal Garden Mirror Shadow Harbor Engine Forest Ocean Desert Window "
    "Tiger Wolf Raven Comet Planet Satellite Machine Heart Crown Ghost Flower Orchard Valley "
    "Canyon Meadow Tide Storm Thunder Rain Snow Fire Smoke Dust Stone Glacier Lantern Bridge "
    "Tower Castle Palace Street Avenue Highway Station Airport Circus Parade Carnival Symphony "
    "Chorus Anthem Ballad Sonata Cathedral Lighthouse Horizon Skyline Sunset Sunrise Daylight "
    "Moonlight Starlight Feather Velocity Gravity Paradise Empire Kingdom Republic Society "
    "Orchestra Quartet Pilot Sailor Hunter Dreamer Stranger Runner Prophet Monarch Phantom "
    "Cobra Falcon Panther Dolphin Sparrow Willow Cedar Ember Prism Vortex Pulse Circuit Rocket"
).split()
_FIRST = (
    "Ana Maria Lucas Sofia Mateo Elena Hugo Ines Jonas Clara Felix Nora Oscar Ida Leo Mila Theo "
    "Emil Zoe Ruben Aiko Kenji Yuki Omar Layla Tariq Amara Kofi Nia Björn Søren Åse José Chloé "
    "Zoë Rafaël Noémie Frédéric Dmitri Olga Priya Ravi Mei Jun Tomás Iñigo Ülkü Şebnem"
).split()
_LAST = (
    "Rivera Novak Kowalski Berg Lindqvist Moreau Rossi Silva Costa Tanaka Suzuki Kim Park Nguyen "
    "Okafor Mensah Haddad Müller Schäfer Ødegaard Núñez García Peña Dubois Lefèvre Ivanova Petrov "
    "O'Brien McCarthy Kaur Singh Sato Chen Wang Li Yılmaz Dvořák Łukasz Horváth Ólafsson"
).split()
_ACCENT = (
    "Été Lumière Cœur Mañana Sueño Élan Naïve Señor Sørlys Þögn Zürich Straße Ångström Øst"
).split()
_CJK = "夜桜東京雨星空風海花月光青赤白黒森川山雪夢恋心音歌火水金銀鳥猫犬城街駅"
_KANA = "さくら ひかり あおぞら ゆめ よる ネオン シティ ポップ ほしぞら かぜ".split()
_HANGUL = "사랑 하늘 별빛 바다 소녀 밤 꿈 노을 여름 겨울".split()
_CYRILLIC = "Ночь Звезда Кино Город Лето Мечта Ветер Река".split()
_EMOJI = ("✨", "🌙", "🔥", "💿", "🌊", "🦊", "🐺", "🌸", "⚡", "🎧", "🖤", "🌈", "👩‍🎤", "👍🏽")
_SUFFIXES = (" - Remastered 2011", " (Live)", " - Radio Edit", " - Acoustic", " (Demo)")

# Koito splits these inside feature lists ("and" even inside words) or as separators: an artist
# name containing one would not round-trip as one artist, so generated names avoid them.
FORBIDDEN_IN_ARTIST = ("and", "feat", "ft.", ",", "&", "·", "•", "(", ")", "[", "]", "\x1f")


def _clean_artist(name: str) -> bool:
    """True if ``name`` parses as exactly one artist under Koito's feat./separator rules."""
    folded = name.casefold()
    return name == name.strip() and bool(name) and not any(f in folded for f in FORBIDDEN_IN_ARTIST)


def _plural(word: str) -> str:
    """English plural of a pool noun ("Circus" → "Circuses", "Symphony" → "Symphonies")."""
    if word.endswith(("s", "x", "ch", "sh")):
        return word + "es"
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


def _cjk(rng: random.Random, lo: int, hi: int) -> str:
    """A run of ``lo``..``hi`` kanji."""
    return "".join(rng.choice(_CJK) for _ in range(rng.randint(lo, hi)))


def _artist_candidate(rng: random.Random) -> str:
    """One artist name in one of several styles: Latin, accented, CJK, Hangul, Cyrillic, emoji."""
    r = rng.random()
    c = rng.choice
    if r < 0.24:
        return f"{c(_ADJ)} {c(_NOUN)}"
    if r < 0.33:
        return f"The {c(_ADJ)} {_plural(c(_NOUN))}"
    if r < 0.55:
        return f"{c(_FIRST)} {c(_LAST)}"
    if r < 0.60:
        return f"{c(_NOUN)}{c(('', ' 2', ' 99', '!', ' Club', 'core'))}"
    if r < 0.68:
        return _cjk(rng, 2, 4)
    if r < 0.72:
        return f"{c(_KANA)}{c(_KANA)}"
    if r < 0.77:
        return f"{c(_HANGUL)} {c(_HANGUL)}"
    if r < 0.80:
        return f"{c(_CYRILLIC)} {c(_CYRILLIC)}"
    if r < 0.86:
        return f"{c(_ACCENT)} {c(_NOUN)}"
    if r < 0.90:
        return f"{c(_ADJ)} {c(_NOUN)} {c(_EMOJI)}"
    if r < 0.94:
        return f"{c(('DJ', 'MC', 'Lil', 'Big'))} {c(_FIRST)}"
    if r < 0.97:
        return f"{c(_FIRST)} {c(_LAST)} {c(('Trio', 'Ensemble', 'Collective', 'Orchestra'))}"
    return f"{c(_ADJ).lower()} {c(_NOUN).lower()}"


def _unique(rng: random.Random, draw: Callable[[random.Random], str], taken: set[str]) -> str:
    """Draw until the case-folded result is new; number it after repeated collisions."""
    for attempt in range(40):
        name = draw(rng)
        if attempt > 20:
            name = f"{name} {attempt}"
        key = name.casefold()
        if key not in taken:
            taken.add(key)
            return name
    raise RuntimeError("name space exhausted")  # pragma: no cover - pools are large


def _artist_names(rng: random.Random, n: int) -> list[str]:
    """``n`` distinct (case-insensitively) artist names that Koito parses as single artists."""
    taken: set[str] = set()

    def draw(r: random.Random) -> str:
        """A candidate, replaced by a plain two-word name if Koito would split it."""
        name = _artist_candidate(r)
        return name if _clean_artist(name) else f"{r.choice(_ADJ)} {r.choice(_NOUN)}"

    return [_unique(rng, draw, taken) for _ in range(n)]


def _title_candidate(rng: random.Random) -> str:
    """A track title; a few carry version suffixes."""
    r = rng.random()
    c = rng.choice
    if r < 0.40:
        base = f"{c(_ADJ)} {c(_NOUN)}"
    elif r < 0.55:
        base = c(_NOUN)
    elif r < 0.65:
        base = f"{c(_NOUN)} of {_plural(c(_NOUN))}"
    elif r < 0.73:
        base = _cjk(rng, 1, 3)
    elif r < 0.78:
        base = f"{c(_HANGUL)}{c(_HANGUL)}"
    elif r < 0.84:
        base = f"{c(_ACCENT)} {c(_NOUN)}"
    elif r < 0.88:
        base = f"{c(_NOUN)} {c(_EMOJI)}"
    elif r < 0.92:
        base = f"{c(_CYRILLIC)}"
    else:
        base = f"{c(_ADJ)} {c(_NOUN)} Song"
    return base + (c(_SUFFIXES) if rng.random() < 0.08 else "")


def _album_candidate(rng: random.Random) -> str:
    """An album title."""
    r = rng.random()
    c = rng.choice
    if r < 0.40:
        return f"{c(_ADJ)} {_plural(c(_NOUN))}"
    if r < 0.55:
        return c(_NOUN)
    if r < 0.65:
        return f"Songs of the {c(_NOUN)}"
    if r < 0.75:
        return _cjk(rng, 2, 3)
    if r < 0.82:
        return f"{c(_ACCENT)}"
    if r < 0.90:
        return f"{c(_NOUN)} Vol. {rng.randint(1, 4)}"
    return f"{c(_ADJ)} {c(_NOUN)} (Deluxe Edition)"


# --------------------------------------------------------------------------------------------
# Catalogue


@dataclass(frozen=True, slots=True)
class Artist:
    """An artist: canonical name, MBID (or None), role, and its case-variant spelling if any."""

    name: str
    mbid: str | None
    role: str  # "album" (has albums), "loose" (only album-less tracks), "feature" (only featured)
    variant: str | None


@dataclass(frozen=True, slots=True)
class Album:
    """An album: title, credited artist ids (first is primary) and MBID."""

    title: str
    artists: tuple[int, ...]
    mbid: str | None


@dataclass(frozen=True, slots=True)
class Track:
    """A track: clean title, artist ids (primary first, then featured), album id or None."""

    title: str
    artists: tuple[int, ...]
    album: int | None
    length: int  # seconds
    mbid: str | None
    feat_style: str | None  # "artist" ("A feat. B") or "title" ("Song (feat. B)"); None: solo
    maloja_style: str  # "list" [A, B] | "combo" ["A • B"] | "redundant" ["A • B", "B"]


@dataclass(frozen=True)
class Catalog:
    """Every artist, album and track a workload draws from, plus the play weights."""

    shape: Shape
    seed: int
    artists: tuple[Artist, ...]
    albums: tuple[Album, ...]
    tracks: tuple[Track, ...]
    cum_weights: tuple[float, ...] = field(repr=False)

    @property
    def scrobbles(self) -> int:
        """Number of music plays in the workload."""
        return self.shape.scrobbles

    def counts(self) -> dict[str, int]:
        """Cardinalities, including how many artists and albums the tracks actually use."""
        used_artists = {a for t in self.tracks for a in t.artists}
        used_artists.update(a for al in self.albums for a in al.artists)
        return {
            "scrobbles": self.shape.scrobbles,
            "artists": len(self.artists),
            "albums": len(self.albums),
            "tracks": len(self.tracks),
            "artists_used": len(used_artists),
            "albums_used": len({t.album for t in self.tracks if t.album is not None}),
            "tracks_without_album": sum(1 for t in self.tracks if t.album is None),
            "tracks_with_features": sum(1 for t in self.tracks if len(t.artists) > 1),
            "case_variant_artists": sum(1 for a in self.artists if a.variant),
            "artists_with_mbid": sum(1 for a in self.artists if a.mbid),
        }


def _roles(rng: random.Random, shape: Shape) -> list[str]:
    """Assign album/loose/feature roles: popular (low-index) artists mostly get albums."""
    n = shape.artists
    n_album = min(shape.albums, max(1, round(0.35 * n)))
    n_loose = min(n - n_album, round(0.15 * n))
    keys = [i * rng.uniform(0.3, 1.7) for i in range(n)]
    order = sorted(range(n), key=keys.__getitem__)
    roles = ["feature"] * n
    for rank, a in enumerate(order):
        if rank < n_album:
            roles[a] = "album"
        elif rank < n_album + n_loose:
            roles[a] = "loose"
    return roles


def _spread(rng: random.Random, ids: list[int], base: dict[int, int], extra: int, s: float) -> None:
    """Add ``extra`` units to ``base`` over ``ids``, Zipf(s) by position in ``ids``."""
    if extra <= 0 or not ids:
        return
    for i in rng.choices(ids, cum_weights=_cumulative(_zipf_weights(len(ids), s)), k=extra):
        base[i] += 1


def _cumulative(weights: list[float]) -> list[float]:
    """Running sums of ``weights``."""
    out, acc = [], 0.0
    for w in weights:
        acc += w
        out.append(acc)
    return out


def _variant(name: str) -> str | None:
    """Another casing of ``name`` ("Radiohead" → "radiohead"), or None for uncased scripts."""
    for candidate in (name.lower(), name.upper()):
        if candidate != name and candidate.casefold() == name.casefold():
            return candidate
    return None


def _make_artists(rng: random.Random, shape: Shape, seed: int) -> list[Artist]:
    """The artists: names, roles, MBIDs for about 85 %, case variants for about 3 %."""
    names = _artist_names(rng, shape.artists)
    roles = _roles(rng, shape)
    out = []
    for i, (name, role) in enumerate(zip(names, roles, strict=True)):
        mbid = _uuid(seed, "artist", i) if rng.random() < 0.85 else None
        variant = _variant(name) if role != "feature" and rng.random() < 0.03 else None
        out.append(Artist(name, mbid, role, variant))
    return out


def _album_counts(rng: random.Random, album_artists: list[int], n_albums: int) -> dict[int, int]:
    """Albums per album-artist: one each, the rest spread Zipf(0.6) over popularity."""
    counts = {a: 1 for a in album_artists}
    _spread(rng, album_artists, counts, n_albums - len(album_artists), 0.6)
    return counts


def _track_counts(
    rng: random.Random, primaries: list[int], albums_of: dict[int, int], n_tracks: int
) -> dict[int, int]:
    """Tracks per primary artist: one per album (or one), the rest Zipf(0.7) over album artists."""
    counts = {a: max(1, albums_of.get(a, 0)) for a in primaries}
    album_artists = [a for a in primaries if a in albums_of]
    _spread(rng, album_artists, counts, n_tracks - sum(counts.values()), 0.7)
    return counts


def _make_albums(
    rng: random.Random, seed: int, artists: list[Artist], albums_of: dict[int, int]
) -> tuple[list[Album], dict[int, list[int]]]:
    """The albums, unique per artist by case-folded title; 3 % are two-artist collaborations."""
    albums: list[Album] = []
    by_artist: dict[int, list[int]] = {}
    for a, k in albums_of.items():
        taken: set[str] = set()
        for _ in range(k):
            if rng.random() < 0.04 and artists[a].name.casefold() not in taken:
                title = artists[a].name  # self-titled
                taken.add(title.casefold())
            else:
                title = _unique(rng, _album_candidate, taken)
            credit: tuple[int, ...] = (a,)
            if rng.random() < 0.03 and len(artists) > 1:
                other = rng.randrange(len(artists) - 1)
                credit = (a, other if other < a else other + 1)
            idx = len(albums)
            mbid = _uuid(seed, "album", idx) if rng.random() < 0.75 else None
            albums.append(Album(title, credit, mbid))
            by_artist.setdefault(a, []).append(idx)
    return albums, by_artist


def _track_albums(rng: random.Random, n: int, own: list[int]) -> list[int | None]:
    """Album ids for an artist's ``n`` tracks: each own album gets one, the rest random or none."""
    if not own:
        return [None] * n
    out: list[int | None] = list(own)
    for _ in range(n - len(own)):
        out.append(None if rng.random() < 0.04 else rng.choice(own))
    head, tail = out[: len(own)], out[len(own) :]
    rng.shuffle(tail)
    return head + tail


def _features(rng: random.Random, artists: list[Artist], primary: list[int]) -> list[list[int]]:
    """Featured artists per track: every feature-only artist once, then Zipf picks to ~22 %."""
    n_tracks = len(primary)
    feats: list[list[int]] = [[] for _ in range(n_tracks)]
    for a, art in enumerate(artists):
        if art.role != "feature":
            continue
        while True:
            t = rng.randrange(n_tracks)
            if len(feats[t]) < 2 and a != primary[t] and a not in feats[t]:
                feats[t].append(a)
                break
    target = round(0.22 * n_tracks)
    have = sum(1 for f in feats if f)
    cum = _cumulative(_zipf_weights(len(artists), 0.8))
    while have < target:
        t = rng.randrange(n_tracks)
        if feats[t]:
            continue
        a = min(bisect_right(cum, rng.random() * cum[-1]), len(artists) - 1)
        if a != primary[t]:
            feats[t].append(a)
            have += 1
    return feats


def _make_tracks(
    rng: random.Random,
    seed: int,
    artists: list[Artist],
    counts: dict[int, int],
    albums_by_artist: dict[int, list[int]],
) -> tuple[list[Track], list[float]]:
    """The tracks (with titles unique per artist) and their play weights."""
    primary: list[int] = []
    album_of: list[int | None] = []
    weight: list[float] = []
    for rank, (a, k) in enumerate(counts.items()):
        primary.extend([a] * k)
        album_of.extend(_track_albums(rng, k, albums_by_artist.get(a, [])))
        artist_w = 1.0 / (rank + 1) ** 0.9
        weight.extend(artist_w / (j + 1) ** 0.8 for j in range(k))
    feats = _features(rng, artists, primary)
    titles: dict[int, set[str]] = {}
    tracks = []
    for i, (a, album) in enumerate(zip(primary, album_of, strict=True)):
        title = _unique(rng, _title_candidate, titles.setdefault(a, set()))
        length = max(95, min(720, int(rng.gauss(235, 55))))
        mbid = _uuid(seed, "track", i) if rng.random() < 0.7 else None
        style = rng.choice(("artist", "title")) if feats[i] else None
        m = rng.random()
        mstyle = "list" if m < 0.6 else "combo" if m < 0.9 else "redundant"
        tracks.append(Track(title, (a, *feats[i]), album, length, mbid, style, mstyle))
    return tracks, weight


@lru_cache(maxsize=4)
def catalog(size: str | int, seed: int = 1) -> Catalog:
    """The catalogue a workload of ``size`` draws from; every artist and album is on a track."""
    shape = shape_for(size)
    rng = random.Random(_derive(seed, "catalog", shape.name))
    artists = _make_artists(rng, shape, seed)
    album_artists = [i for i, a in enumerate(artists) if a.role == "album"]
    primaries = [i for i, a in enumerate(artists) if a.role != "feature"]
    albums_of = _album_counts(rng, album_artists, shape.albums)
    albums, albums_by_artist = _make_albums(rng, seed, artists, albums_of)
    counts = _track_counts(rng, primaries, albums_of, shape.tracks)
    tracks, weights = _make_tracks(rng, seed, artists, counts, albums_by_artist)
    return Catalog(
        shape, seed, tuple(artists), tuple(albums), tuple(tracks), tuple(_cumulative(weights))
    )


# --------------------------------------------------------------------------------------------
# The play stream

Play = tuple[int, int, int, bool]  # (index, start time unix s, track id, case-variant spelling)


class Timeline:
    """The plays of a catalogue, in independently seeded chunks so they can be read backwards."""

    def __init__(self, cat: Catalog) -> None:
        self.cat = cat
        n, n_tracks = cat.scrobbles, len(cat.tracks)
        rng = random.Random(_derive(cat.seed, "cover", cat.shape.name))
        # Every track gets one play at a random position; the other plays are Zipf draws.
        positions = rng.sample(range(n), n_tracks)
        self.cover = dict(zip(positions, rng.sample(range(n_tracks), n_tracks), strict=True))
        self.track_ids = range(n_tracks)
        self.lengths = [t.length for t in cat.tracks]
        self.has_variant = [cat.artists[t.artists[0]].variant is not None for t in cat.tracks]
        mean_len = sum(self.lengths) / n_tracks + 5.5
        mean_gap = cat.shape.span_days * 86_400 * 0.97 / n
        self.mean_break = max(60.0, (mean_gap - mean_len) / P_BREAK)
        self.start = END_OF_PLAYS - cat.shape.span_days * 86_400
        self.chunks = math.ceil(n / CHUNK)
        self._starts: list[int] | None = None

    def chunk(self, c: int, t: int) -> tuple[list[Play], int]:
        """Plays of chunk ``c`` starting at time ``t``, and the start time of the next chunk."""
        rng = random.Random(_derive(self.cat.seed, "plays", self.cat.shape.name, c))
        rand, expo, rate = rng.random, rng.expovariate, 1.0 / self.mean_break
        cover, lengths, has_variant = self.cover, self.lengths, self.has_variant
        lo, hi = c * CHUNK, min((c + 1) * CHUNK, self.cat.scrobbles)
        drawn = rng.choices(self.track_ids, cum_weights=self.cat.cum_weights, k=hi - lo)
        plays: list[Play] = []
        append = plays.append
        for i, tr in enumerate(drawn, lo):
            tr = cover.get(i, tr)
            append((i, t, tr, has_variant[tr] and rand() < VARIANT_SHARE))
            t += lengths[tr] + 1 + int(rand() * 10)
            if rand() < P_BREAK:
                t += int(expo(rate))
        return plays, t

    def forward(self) -> Iterator[Play]:
        """All plays, oldest first."""
        t = self.start
        for c in range(self.chunks):
            plays, t = self.chunk(c, t)
            yield from plays

    def chunk_starts(self) -> list[int]:
        """Start time of every chunk (one pass over the stream, computed once)."""
        if self._starts is None:
            starts, t = [], self.start
            for c in range(self.chunks):
                starts.append(t)
                t = self.chunk(c, t)[1]
            self._starts = starts
        return self._starts

    def backward(self) -> Iterator[Play]:
        """All plays, newest first (same plays as :meth:`forward`)."""
        starts = self.chunk_starts()
        for c in reversed(range(self.chunks)):
            yield from reversed(self.chunk(c, starts[c])[0])


@lru_cache(maxsize=4)
def timeline(size: str | int, seed: int = 1) -> Timeline:
    """The (cached) play stream of ``catalog(size, seed)``."""
    return Timeline(catalog(size, seed))


# --------------------------------------------------------------------------------------------
# Rendering a track the way each source spells it


def primary_name(cat: Catalog, track: Track, variant: bool) -> str:
    """The primary artist's name, in its variant casing when this play uses it."""
    art = cat.artists[track.artists[0]]
    return art.variant if variant and art.variant else art.name


def _feature_list(cat: Catalog, track: Track) -> str:
    """Featured artists as Koito's feature-list syntax: "B" or "B & C"."""
    return " & ".join(cat.artists[a].name for a in track.artists[1:])


def credit(cat: Catalog, track: Track, variant: bool = False) -> str:
    """The one-string artist credit of scrobblers: "A" or "A feat. B & C" (artist-style feats)."""
    name = primary_name(cat, track, variant)
    if track.feat_style == "artist":
        return f"{name} feat. {_feature_list(cat, track)}"
    return name


def shown_title(cat: Catalog, track: Track) -> str:
    """The title scrobblers send: with "(feat. B)" for title-style feats."""
    if track.feat_style == "title":
        return f"{track.title} (feat. {_feature_list(cat, track)})"
    return track.title


def spotify_title(cat: Catalog, track: Track) -> str:
    """Spotify puts every featured artist in the title."""
    if len(track.artists) > 1:
        return f"{track.title} (feat. {_feature_list(cat, track)})"
    return track.title


def maloja_artists(cat: Catalog, track: Track, variant: bool = False) -> list[str]:
    """Maloja's artists list: separate names, a " • " combo, or a combo plus a repeated name."""
    names = [primary_name(cat, track, variant)] + [cat.artists[a].name for a in track.artists[1:]]
    if len(names) == 1 or track.maloja_style == "list":
        return names
    combo = f"{names[0]} • {names[1]}"
    if track.maloja_style == "combo":
        return [combo, *names[2:]]
    return [combo, *names[1:]]


def rfc3339(t: int) -> str:
    """Unix seconds as RFC 3339 UTC with a Z."""
    return _rfc3339(time.gmtime(t))


def _rfc3339(g: time.struct_time) -> str:
    """A UTC struct_time as RFC 3339 with a Z."""
    return (
        f"{g.tm_year:04d}-{g.tm_mon:02d}-{g.tm_mday:02d}"
        f"T{g.tm_hour:02d}:{g.tm_min:02d}:{g.tm_sec:02d}Z"
    )


def lastfm_time(t: int) -> str:
    """Unix seconds as Last.fm's "02 Mar 2024, 17:57" (UTC)."""
    g = time.gmtime(t)
    return f"{g.tm_mday:02d} {MONTHS[g.tm_mon - 1]} {g.tm_year}, {g.tm_hour:02d}:{g.tm_min:02d}"


def _stamp(t: int, sep: str = "_") -> str:
    """A file-name timestamp YYYY_MM_DD_HH_MM_SS."""
    g = time.gmtime(t)
    return sep.join(
        f"{v:02d}" for v in (g.tm_year, g.tm_mon, g.tm_mday, g.tm_hour, g.tm_min, g.tm_sec)
    )


def _pick(rng: random.Random, table: tuple[tuple[float, str], ...]) -> str:
    """A weighted choice from ((cumulative probability, value), ...)."""
    r = rng.random()
    for p, v in table:
        if r < p:
            return v
    return table[-1][1]


def _dup_positions(rng: random.Random, n: int) -> set[int]:
    """Play indexes written twice (a double scrobble: same second, same track)."""
    return set(rng.sample(range(n), max(1, round(n * DUP_SHARE))))


class _Counts:
    """Record counters plus the set of tracks written, turned into a report dict at the end."""

    def __init__(self, cat: Catalog) -> None:
        self.cat = cat
        self.values: dict[str, int] = {"records": 0, "listens": 0}
        self.tracks: set[int] = set()

    def add(self, key: str, n: int = 1) -> None:
        """Count ``n`` more of ``key``."""
        self.values[key] = self.values.get(key, 0) + n

    def listen(self, track: int) -> None:
        """Count one music play of ``track``."""
        self.values["listens"] += 1
        self.tracks.add(track)

    def report(self) -> dict[str, int]:
        """The counters plus distinct tracks, artists and albums actually written."""
        tracks = [self.cat.tracks[t] for t in self.tracks]
        out = dict(self.values)
        out["tracks_used"] = len(tracks)
        out["artists_used"] = len({a for t in tracks for a in t.artists})
        out["albums_used"] = len({t.album for t in tracks if t.album is not None})
        return out


class _ArrayWriter:
    """Writes a JSON array element by element, batching file writes."""

    def __init__(self, f: TextIO) -> None:
        self.f, self.buf, self.first = f, [], True

    def add(self, item: str) -> None:
        """Queue one encoded element."""
        self.buf.append(item)
        if len(self.buf) >= WRITE_BATCH:
            self.flush()

    def flush(self) -> None:
        """Write the queued elements with their separators."""
        if self.buf:
            self.f.write(("\n" if self.first else ",\n") + ",\n".join(self.buf))
            self.first, self.buf = False, []


# --------------------------------------------------------------------------------------------
# Maloja

_MALOJA_ORIGINS = (
    (0.45, '"client:web"'),
    (0.70, '"client:navidrome"'),
    (0.85, '"client:multiscrobbler"'),
    (0.95, '"import:spotify"'),
    (1.0, '"legacy"'),
)


def _maloja_track(cat: Catalog, tr: int, variant: bool) -> str:
    """A Maloja scrobble's "track" object as JSON, ASCII-escaped like Maloja's json.dump."""
    track = cat.tracks[tr]
    album = None
    if track.album is not None:
        al = cat.albums[track.album]
        album = {"albumtitle": al.title, "artists": [cat.artists[a].name for a in al.artists]}
    length = track.length if _share(cat.seed, "mlen", tr, 10) else None
    return _ENC_ASCII(
        {
            "artists": maloja_artists(cat, track, variant),
            "title": track.title,
            "album": album,
            "length": length,
        }
    )


def write_maloja(cat: Catalog, tl: Timeline, out_dir: Path) -> tuple[Path, list[Path], dict]:
    """``maloja_export_<ts>.json``: {"maloja": {"export_time"}, "scrobbles": [...]}."""
    path = out_dir / f"maloja_export_{_stamp(EXPORT_TIME)}.json"
    rng = random.Random(_derive(cat.seed, "maloja"))
    counts, cache = _Counts(cat), {}
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(f'{{"maloja":{{"export_time":{EXPORT_TIME}}},"scrobbles":[')
        out = _ArrayWriter(f)
        for _, t, tr, v in tl.forward():
            key = tr * 2 + v
            frag = cache.get(key)
            if frag is None:
                frag = cache[key] = _maloja_track(cat, tr, v)
            dur = "null"
            if rng.random() < 0.08:
                dur = str(int(cat.tracks[tr].length * rng.uniform(0.5, 1.0)))
            origin = _pick(rng, _MALOJA_ORIGINS)
            out.add(f'{{"time":{t},"track":{frag},"duration":{dur},"origin":{origin}}}')
            counts.listen(tr)
        out.flush()
        f.write("\n]}\n")
    counts.values["records"] = counts.values["listens"]
    return path, [path], counts.report()


# --------------------------------------------------------------------------------------------
# Spotify extended streaming history

_REASON_END = (
    (0.82, "trackdone"),
    (0.92, "fwdbtn"),
    (0.96, "endplay"),
    (0.97, "logout"),
    (0.98, "backbtn"),
    (0.99, "unexpected-exit-while-paused"),
    (1.0, "remote"),
)
_REASON_START = (
    (0.70, "trackdone"),
    (0.82, "clickrow"),
    (0.92, "fwdbtn"),
    (0.97, "playbtn"),
    (1.0, "appload"),
)
_PLATFORMS = (
    (0.45, "android"),
    (0.70, "ios"),
    (0.82, "windows"),
    (0.90, "osx"),
    (0.95, "web_player"),
    (1.0, "Android OS 10 API 29 (samsung, SM-G973F)"),
)
_COUNTRIES = ((0.7, "DE"), (0.85, "NL"), (0.93, "FR"), (0.97, "US"), (1.0, "JP"))
_JSON_BOOL = {True: "true", False: "false"}
_SPOTIFY_NULL_TAIL = (
    '"episode_name":null,"episode_show_name":null,"spotify_episode_uri":null,'
    '"audiobook_title":null,"audiobook_uri":null,"audiobook_chapter_uri":null,'
    '"audiobook_chapter_title":null'
)
_NAMELESS_HEAD = (
    '"master_metadata_track_name":null,"master_metadata_album_artist_name":null,'
    '"master_metadata_album_album_name":null,'
)


def _spotify_meta(cat: Catalog, tr: int) -> str:
    """The track part of a Spotify row; album-less tracks become singles named after the track."""
    track = cat.tracks[tr]
    title = spotify_title(cat, track)
    if track.album is not None:
        al = cat.albums[track.album]
        artist, album = cat.artists[al.artists[0]].name, al.title
    else:
        artist, album = cat.artists[track.artists[0]].name, title
    return (
        f'"master_metadata_track_name":{_ENC(title)},"master_metadata_album_artist_name":'
        f'{_ENC(artist)},"master_metadata_album_album_name":{_ENC(album)},'
        f'"spotify_track_uri":"spotify:track:{_base62(cat.seed, "sp", tr)}",'
        f"{_SPOTIFY_NULL_TAIL}"
    )


class _SpotifyFiles:
    """Rolls ``Streaming_History_Audio_<years>_<n>.json`` files every N records."""

    def __init__(self, folder: Path, per_file: int) -> None:
        self.folder, self.per_file, self.paths = folder, per_file, []
        self.f = self.out = None
        self.n = 0
        self.years: tuple[int, int] | None = None

    def add(self, record: str, year: int) -> None:
        """Append a record of ``year``, starting a new file when the current one is full."""
        if self.f is None or self.n >= self.per_file:
            self.close()
            self.f = open(self.folder / ".part.tmp", "w", encoding="utf-8", newline="\n")
            self.f.write("[")
            self.out, self.n, self.years = _ArrayWriter(self.f), 0, (year, year)
        self.out.add(record)
        self.n += 1
        self.years = (self.years[0], year)

    def close(self) -> None:
        """Finish the current file and give it its final, year-range name."""
        if self.f is None:
            return
        self.out.flush()
        self.f.write("\n]\n")
        self.f.close()
        y0, y1 = self.years
        years = f"{y0}" if y0 == y1 else f"{y0}-{y1}"
        final = self.folder / f"Streaming_History_Audio_{years}_{len(self.paths)}.json"
        os.replace(self.folder / ".part.tmp", final)
        self.paths.append(final)
        self.f = None


def _spotify_podcast(rng: random.Random, seed: int, t: int) -> tuple[str, int]:
    """A podcast row (null track fields, episode fields set) ending at ``t``."""
    show = rng.randrange(12)
    ep = rng.randrange(400)
    ms = rng.randrange(30_000, 3_600_000)
    reason = _pick(rng, _REASON_END)
    row = (
        f'{{"ts":"{rfc3339(t)}","platform":"android","ms_played":{ms},"conn_country":"DE",'
        f'"ip_addr":"198.51.100.{show + 1}",{_NAMELESS_HEAD}"spotify_track_uri":null,'
        f'"episode_name":"Episode {ep}: {_NOUN[ep % len(_NOUN)]} talk","episode_show_name":'
        f'"The {_NOUN[show]} Show",'
        f'"spotify_episode_uri":"spotify:episode:{_base62(seed, "ep", ep)}",'
        f'"audiobook_title":null,"audiobook_uri":null,"audiobook_chapter_uri":null,'
        f'"audiobook_chapter_title":null,"reason_start":"playbtn","reason_end":"{reason}",'
        f'"shuffle":false,"skipped":false,"offline":false,"offline_timestamp":{t - ms // 1000},'
        f'"incognito_mode":false}}'
    )
    return row, time.gmtime(t).tm_year


def _spotify_row(
    rng: random.Random, meta: str, start: int, length: int, counts: _Counts
) -> tuple[str, int]:
    """One music row: ts is when the stream stopped; skips have short ms_played."""
    reason = _pick(rng, _REASON_END)
    if reason == "trackdone":
        ms = length * 1000 - int(rng.random() * 1500)
    else:
        ms = int(length * 1000 * rng.uniform(0.01, 0.7))
    counts.add(f"reason_end_{reason}")
    end = start + ms // 1000
    g = time.gmtime(end)
    ts = _rfc3339(g)
    incognito = rng.random() < 0.01
    offline = rng.random() < 0.03
    counts.add("incognito", incognito)
    skipped = _JSON_BOOL[reason in ("fwdbtn", "backbtn")]
    shuffle = _JSON_BOOL[rng.random() < 0.4]
    ip = 1 + int(rng.random() * 39)
    row = (
        f'{{"ts":"{ts}","platform":"{_pick(rng, _PLATFORMS)}","ms_played":{ms},'
        f'"conn_country":"{_pick(rng, _COUNTRIES)}","ip_addr":"203.0.113.{ip}",'
        f'{meta},"reason_start":"{_pick(rng, _REASON_START)}","reason_end":"{reason}",'
        f'"shuffle":{shuffle},"skipped":{skipped},"offline":{_JSON_BOOL[offline]},'
        f'"offline_timestamp":{start},"incognito_mode":{_JSON_BOOL[incognito]}}}'
    )
    return row, g.tm_year


def write_spotify(cat: Catalog, tl: Timeline, out_dir: Path) -> tuple[Path, list[Path], dict]:
    """``Spotify Extended Streaming History/Streaming_History_Audio_*.json``; returns the folder."""
    folder = out_dir / "Spotify Extended Streaming History"
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("Streaming_History_Audio_*.json"):
        stale.unlink()  # a previous, differently sized run would leave extra files behind
    rng = random.Random(_derive(cat.seed, "spotify"))
    dups = _dup_positions(rng, cat.scrobbles)
    counts, cache, files = _Counts(cat), {}, _SpotifyFiles(folder, SPOTIFY_RECORDS_PER_FILE)
    for i, start, tr, _ in tl.forward():
        if rng.random() < PODCAST_SHARE:
            files.add(*_spotify_podcast(rng, cat.seed, start - 1))
            counts.add("podcasts")
        meta = cache.get(tr)
        if meta is None:
            meta = cache[tr] = _spotify_meta(cat, tr)
        if rng.random() < NAMELESS_SHARE:
            meta = _NAMELESS_HEAD + meta[meta.index('"spotify_track_uri"') :]
            counts.add("nameless")
        row, year = _spotify_row(rng, meta, start, cat.tracks[tr].length, counts)
        files.add(row, year)
        counts.listen(tr)
        if i in dups:
            files.add(row, year)
            counts.add("duplicates")
    files.close()
    c = counts.values
    c["records"] = c["listens"] + c.get("podcasts", 0) + c.get("duplicates", 0)
    c["files"] = len(files.paths)
    return folder, files.paths, counts.report()


# --------------------------------------------------------------------------------------------
# Last.fm (ghan.nl JSON and CSV)


_LASTFM_IMG = "https://lastfm.freetls.fastly.net/i/u"
_LASTFM_SIZES = (("small", "34s"), ("medium", "64s"), ("large", "174s"), ("extralarge", "300x300"))


def _lastfm_fields(cat: Catalog, tr: int, variant: bool) -> tuple[str, str, str, str, str, str]:
    """(artist, artist_mbid, album, album_mbid, track, track_mbid) as Last.fm reports them."""
    track = cat.tracks[tr]
    lead = track.artists[0]
    artist_mbid = cat.artists[lead].mbid if track.feat_style != "artist" else None
    if not (artist_mbid and _share(cat.seed, "lfm-artist", lead, 80)):
        artist_mbid = ""
    album = album_mbid = ""
    if track.album is not None:
        al = cat.albums[track.album]
        album = al.title
        album_mbid = al.mbid if al.mbid and _share(cat.seed, "lfm-album", track.album, 70) else ""
    track_mbid = track.mbid if track.mbid and _share(cat.seed, "lfm-track", tr, 60) else ""
    return (
        credit(cat, track, variant),
        artist_mbid,
        album,
        album_mbid,
        shown_title(cat, track),
        track_mbid,
    )


def _lastfm_head(cat: Catalog, tr: int, variant: bool) -> str:
    """A Last.fm API track object without its closing date/now-playing part."""
    artist, artist_mbid, album, album_mbid, name, mbid = _lastfm_fields(cat, tr, variant)
    album_id = cat.tracks[tr].album
    has_img = album_id is not None and _share(cat.seed, "lfm-hasimg", album_id, 70)
    art = _hex(cat.seed, "lfm-img", album_id) if has_img else ""
    image = ",".join(
        f'{{"size":"{size}","#text":"{f"{_LASTFM_IMG}/{px}/{art}.png" if has_img else ""}"}}'
        for size, px in _LASTFM_SIZES
    )
    url = f"https://www.last.fm/music/{quote_plus(artist)}/_/{quote_plus(name)}"
    return (
        f'{{"artist":{{"mbid":"{artist_mbid}","#text":{_ENC(artist)}}},"streamable":"0",'
        f'"image":[{image}],"mbid":"{mbid}",'
        f'"album":{{"mbid":"{album_mbid}","#text":{_ENC(album)}}},'
        f'"name":{_ENC(name)},"url":{_ENC(url)}'
    )


def _cached(cache: dict, key: int, build: Callable[[], object]):
    """``cache[key]``, built on first use."""
    value = cache.get(key)
    if value is None:
        value = cache[key] = build()
    return value


def _lastfm_records(
    tl: Timeline, dups: set[int], counts: _Counts
) -> Iterator[tuple[int, int, bool]]:
    """Plays newest first, each double scrobble repeated; counts listens and duplicates."""
    for i, t, tr, v in tl.backward():
        counts.listen(tr)
        yield t, tr, v
        if i in dups:
            counts.add("duplicates")
            yield t, tr, v


def write_lastfm_json(cat: Catalog, tl: Timeline, out_dir: Path) -> tuple[Path, list[Path], dict]:
    """``recenttracks-<user>-<ts>.json``: API pages of 200, newest first, now-playing on page 1."""
    path = out_dir / f"recenttracks-{USER}-{EXPORT_TIME}.json"
    rng = random.Random(_derive(cat.seed, "lastfm"))
    counts, cache = _Counts(cat), {}
    dups = _dup_positions(rng, cat.scrobbles)
    total = cat.scrobbles + len(dups)
    pages = math.ceil(total / LASTFM_PAGE)
    now_tr = rng.randrange(len(cat.tracks))
    page: list[str] = [_lastfm_head(cat, now_tr, False) + ',"@attr":{"nowplaying":"true"}}']
    counts.add("nowplaying")
    number = 1
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("[")
        for t, tr, v in _lastfm_records(tl, dups, counts):
            head = _cached(cache, tr * 2 + v, lambda tr=tr, v=v: _lastfm_head(cat, tr, v))
            page.append(f'{head},"date":{{"uts":"{t}","#text":"{lastfm_time(t)}"}}}}')
            if len(page) >= LASTFM_PAGE + (number == 1):
                _write_page(f, page, number, pages, total)
                page, number = [], number + 1
        if page:
            _write_page(f, page, number, pages, total)
        f.write("\n]\n")
    c = counts.values
    c["records"] = c["listens"] + c.get("duplicates", 0) + 1
    c["pages"] = pages
    return path, [path], counts.report()


def _write_page(f: TextIO, tracks: list[str], number: int, pages: int, total: int) -> None:
    """One API page object: {"track": [...], "@attr": {...}}."""
    attr = (
        f'{{"user":"{USER}","totalPages":"{pages}","page":"{number}",'
        f'"perPage":"{LASTFM_PAGE}","total":"{total}"}}'
    )
    lead = "\n" if number == 1 else ",\n"
    f.write(lead + '{"track":[\n' + ",\n".join(tracks) + f'\n],"@attr":{attr}}}')


LASTFM_CSV_HEADER = (
    "uts",
    "utc_time",
    "artist",
    "artist_mbid",
    "album",
    "album_mbid",
    "track",
    "track_mbid",
)


def write_lastfm_csv(cat: Catalog, tl: Timeline, out_dir: Path) -> tuple[Path, list[Path], dict]:
    """``recenttracks-<user>-<ts>.csv``: ghan.nl's 8 columns with a header, newest first."""
    path = out_dir / f"recenttracks-{USER}-{EXPORT_TIME}.csv"
    rng = random.Random(_derive(cat.seed, "lastfm"))
    counts, cache = _Counts(cat), {}
    dups = _dup_positions(rng, cat.scrobbles)
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(LASTFM_CSV_HEADER)
        batch = []
        for t, tr, v in _lastfm_records(tl, dups, counts):
            fields = _cached(cache, tr * 2 + v, lambda tr=tr, v=v: _lastfm_fields(cat, tr, v))
            batch.append((t, lastfm_time(t), *fields))
            if len(batch) >= WRITE_BATCH:
                w.writerows(batch)
                batch = []
        w.writerows(batch)
    counts.values["records"] = counts.values["listens"] + counts.values.get("duplicates", 0)
    return path, [path], counts.report()


# --------------------------------------------------------------------------------------------
# ListenBrainz zip

INFO_CACHE = 100_000  # bound on cached (track, client) additional_info fragments
_LB_PROFILES = ((0.35, "navidrome"), (0.70, "spotify"), (0.90, "pano"), (1.0, "lastfm_import"))


def _lb_names(cat: Catalog, tr: int, variant: bool) -> str:
    """artist_name, track_name, release_name (if any) as submitted, and the msid LB gave them."""
    track = cat.tracks[tr]
    out = (
        f'"artist_name":{_ENC(credit(cat, track, variant))},'
        f'"track_name":{_ENC(shown_title(cat, track))}'
    )
    if track.album is not None:
        out += f',"release_name":{_ENC(cat.albums[track.album].title)}'
    return out + f',"recording_msid":"{_uuid(cat.seed, "msid", tr * 2 + variant)}"'


def _lb_mapping(cat: Catalog, tr: int) -> str:
    """LB's mbid_mapping, or null when the recording or any credited artist lacks an MBID."""
    track = cat.tracks[tr]
    arts = [cat.artists[a] for a in track.artists]
    if not track.mbid or not all(a.mbid for a in arts) or not _share(cat.seed, "lb-map", tr, 90):
        return "null"
    joins = [" feat. "] + [" & "] * (len(arts) - 2) + [""] if len(arts) > 1 else [""]
    m: dict[str, object] = {
        "artist_mbids": [a.mbid for a in arts],
        "artists": [
            {"artist_credit_name": a.name, "join_phrase": j, "artist_mbid": a.mbid}
            for a, j in zip(arts, joins, strict=True)
        ],
        "recording_mbid": track.mbid,
        "recording_name": track.title,
    }
    if track.album is not None and cat.albums[track.album].mbid:
        m["release_mbid"] = cat.albums[track.album].mbid
        m["caa_id"] = _derive(cat.seed, "caa", track.album) % 40_000_000_000
        m["caa_release_mbid"] = cat.albums[track.album].mbid
    return _ENC(m)


def _lb_info(cat: Catalog, tr: int, profile: str) -> str:
    """additional_info for one listen, shaped by the submitting client."""
    track = cat.tracks[tr]
    album = cat.albums[track.album] if track.album is not None else None
    info: dict[str, object]
    if profile == "navidrome":
        info = {
            "submission_client": "Navidrome",
            "submission_client_version": "0.53.3 (13af8ed4)",
            "media_player": "Navidrome",
            "duration_ms": track.length * 1000,
        }
        mbids = [cat.artists[a].mbid for a in track.artists]
        if all(mbids):
            info["artist_mbids"] = mbids
        if track.mbid:
            info["recording_mbid"] = track.mbid
        if album is not None and album.mbid:
            info["release_mbid"] = album.mbid
    elif profile == "spotify":
        sid = _base62(cat.seed, "sp", tr)
        info = {
            "submission_client": "listenbrainz",
            "music_service": "spotify.com",
            "music_service_name": "Spotify",
            "duration_ms": track.length * 1000,
            "artist_names": [cat.artists[a].name for a in track.artists],
            "spotify_id": f"https://open.spotify.com/track/{sid}",
            "origin_url": f"https://open.spotify.com/track/{sid}",
        }
    elif profile == "pano":
        info = {
            "submission_client": "Pano Scrobbler",
            "submission_client_version": "3.9.1",
            "media_player": "Poweramp",
            "duration": track.length,
        }
    else:
        lead = cat.artists[track.artists[0]]
        info = {
            "submission_client": "ListenBrainz lastfm importer v2",
            "lastfm_artist_mbid": lead.mbid or "",
            "lastfm_track_mbid": track.mbid or "",
            "lastfm_release_mbid": (album.mbid or "") if album is not None else "",
        }
    return _ENC(info)


class _MonthEntries:
    """Writes ``listens/<YYYY>/<M>.jsonl`` entries into a zip, one open entry at a time."""

    DATE = (2025, 6, 1, 12, 0, 0)

    def __init__(self, zf: zipfile.ZipFile) -> None:
        self.zf, self.month, self.handle, self.buf = zf, None, None, []

    def entry(self, name: str):
        """An open-for-writing zip entry with a fixed date (for byte-identical output)."""
        info = zipfile.ZipInfo(name, date_time=self.DATE)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        return self.zf.open(info, "w")

    def add(self, month: tuple[int, int], line: str) -> None:
        """Append a listen line to the entry of ``month`` (listens arrive in time order)."""
        if month != self.month:
            self.close()
            self.month, self.handle = month, self.entry(f"listens/{month[0]}/{month[1]}.jsonl")
        self.buf.append(line)
        if len(self.buf) >= WRITE_BATCH:
            self.flush()

    def flush(self) -> None:
        """Write queued lines to the open entry."""
        if self.buf:
            self.handle.write(("\n".join(self.buf) + "\n").encode())
            self.buf = []

    def close(self) -> None:
        """Close the open month entry, if any."""
        if self.handle is not None:
            self.flush()
            self.handle.close()
            self.handle = None


def write_listenbrainz(cat: Catalog, tl: Timeline, out_dir: Path) -> tuple[Path, list[Path], dict]:
    """``listenbrainz_<user>_<unix>.zip``: user.json, listens/<YYYY>/<M>.jsonl, feedback, pins."""
    path = out_dir / f"listenbrainz_{USER}_{EXPORT_TIME}.zip"
    rng = random.Random(_derive(cat.seed, "listenbrainz"))
    counts, names, maps, infos = _Counts(cat), {}, {}, {}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        months = _MonthEntries(zf)
        with months.entry("user.json") as h:
            h.write(_ENC({"user_id": 4242, "username": USER}).encode())
        for _, t, tr, v in tl.forward():
            name = _cached(names, tr * 2 + v, lambda tr=tr, v=v: _lb_names(cat, tr, v))
            mapping = _cached(maps, tr, lambda tr=tr: _lb_mapping(cat, tr))
            counts.add("mapped", mapping != "null")
            inserted = _inserted_at(rng, t)
            profile = _pick(rng, _LB_PROFILES)
            info = infos.get((tr, profile))
            if info is None:
                info = _lb_info(cat, tr, profile)
                if len(infos) < INFO_CACHE:
                    infos[(tr, profile)] = info
            g = time.gmtime(t)
            months.add(
                (g.tm_year, g.tm_mon),
                f'{{"listened_at":{t},"inserted_at":{inserted},"track_metadata":{{{name},'
                f'"additional_info":{info},"mbid_mapping":{mapping}}}}}',
            )
            counts.listen(tr)
        months.close()
        _lb_extras(months, cat)
    counts.values["records"] = counts.values["listens"]
    return path, [path], counts.report()


def _inserted_at(rng: random.Random, t: int) -> str:
    """When LB stored the listen: seconds to minutes later, often with a fraction."""
    if rng.random() < 0.7:
        return f"{t + rng.uniform(0.5, 900):.6f}"
    return str(t + rng.randrange(1, 900))


def _lb_extras(months: _MonthEntries, cat: Catalog) -> None:
    """feedback.jsonl (a few loves and hates) and an empty pinned_recording.jsonl."""
    lines = [
        _ENC(
            {
                "recording_msid": _uuid(cat.seed, "msid", tr * 2),
                "recording_mbid": cat.tracks[tr].mbid,
                "score": 1 if tr % 3 else -1,
                "created": EXPORT_TIME - 86_400 * tr,
            }
        )
        for tr in range(min(20, len(cat.tracks)))
    ]
    with months.entry("feedback.jsonl") as h:
        h.write(("\n".join(lines) + "\n").encode())
    with months.entry("pinned_recording.jsonl") as h:
        h.write(b"")


# --------------------------------------------------------------------------------------------
# Koito export

_KOITO_CLIENTS = (
    (0.5, '"maloja"'),
    (0.7, '"spotify"'),
    (0.85, '"lastfm"'),
    (0.95, '"Navidrome"'),
    (1.0, '""'),
)


def _aliases(name: str) -> list[dict[str, object]]:
    """A single canonical primary alias, as Koito stores a name it created."""
    return [{"alias": name, "source": "Canonical", "is_primary": True}]


def _image(seed: int, kind: str, idx: int) -> str:
    """An image source for ~60 % of entities, "User Upload" for a few, "" for the rest."""
    h = _derive(seed, "img", kind, idx) % 100
    if h >= 60:
        return "User Upload" if h < 63 else ""
    if kind == "album":
        return f"https://coverartarchive.org/release/{_uuid(seed, 'caa', idx)}/front-500.jpg"
    dz = _hex(seed, "dz", idx)
    return f"https://cdn-images.dzcdn.net/images/artist/{dz}/500x500-000000-80-0-0.jpg"


def _koito_entities(cat: Catalog, tr: int) -> str:
    """The track, album and artists part of a Koito export listen (artists: primary first)."""
    track = cat.tracks[tr]
    title = shown_title(cat, track)
    if track.album is not None:
        al = cat.albums[track.album]
        album = {
            "image_url": _image(cat.seed, "album", track.album),
            "mbid": al.mbid,
            "aliases": _aliases(al.title),
            "various_artists": False,
        }
    else:  # Koito names the album after the track when the scrobble had none
        album = {
            "image_url": "",
            "mbid": None,
            "aliases": _aliases(title),
            "various_artists": False,
        }
    duration = 0 if _share(cat.seed, "k-dur", tr, 10) else track.length
    artists = [
        {
            "image_url": _image(cat.seed, "artist", a),
            "mbid": cat.artists[a].mbid,
            "is_primary": False,
            "aliases": _aliases(cat.artists[a].name),
        }
        for a in track.artists
    ]
    body = _ENC(
        {
            "track": {"mbid": track.mbid, "duration": duration, "aliases": _aliases(title)},
            "album": album,
            "artists": artists,
        }
    )
    return body[1:-1]


def write_koito(cat: Catalog, tl: Timeline, out_dir: Path) -> tuple[Path, list[Path], dict]:
    """``koito_export_<ts>.json``: version "1", ordered by listened_at, pre-resolved entities."""
    path = out_dir / f"koito_export_{_stamp(EXPORT_TIME)}.json"
    rng = random.Random(_derive(cat.seed, "koito"))
    counts, cache = _Counts(cat), {}
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        exported = rfc3339(EXPORT_TIME)
        f.write(f'{{"version":"1","exported_at":"{exported}","user":"{USER}","listens":[')
        out = _ArrayWriter(f)
        for _, t, tr, _ in tl.forward():
            body = _cached(cache, tr, lambda tr=tr: _koito_entities(cat, tr))
            client = _pick(rng, _KOITO_CLIENTS)
            out.add(f'{{"listened_at":"{rfc3339(t)}","client":{client},{body}}}')
            counts.listen(tr)
        out.flush()
        f.write("\n]}\n")
    counts.values["records"] = counts.values["listens"]
    return path, [path], counts.report()


# --------------------------------------------------------------------------------------------
# API and CLI

WRITERS: dict[str, Callable[[Catalog, Timeline, Path], tuple[Path, list[Path], dict]]] = {
    "maloja": write_maloja,
    "spotify_extended": write_spotify,
    "lastfm_json": write_lastfm_json,
    "lastfm_csv": write_lastfm_csv,
    "listenbrainz_zip": write_listenbrainz,
    "koito": write_koito,
}


@dataclass(frozen=True)
class Generated:
    """What one :func:`write` produced: the main path, every file, counts, size and time."""

    format: str
    path: Path
    files: list[Path]
    counts: dict[str, int]
    bytes: int
    seconds: float


def write(fmt: str, size: str | int, out_dir: Path, seed: int = 1) -> Generated:
    """Write one export of ``fmt`` and report what was written."""
    if fmt not in WRITERS:
        raise ValueError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    tl = timeline(size, seed)
    path, files, counts = WRITERS[fmt](tl.cat, tl, out_dir)
    seconds = time.perf_counter() - began
    return Generated(fmt, path, files, counts, sum(p.stat().st_size for p in files), seconds)


def generate(fmt: str, size: str | int, out_dir: Path, seed: int = 1) -> Path:
    """Write one export and return its path (for spotify_extended: the folder of its files)."""
    return write(fmt, size, out_dir, seed).path


def main(argv: list[str] | None = None) -> int:
    """CLI: write one format (or all) and print each path with its counts."""
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.workload", description=__doc__.split("\n")[0]
    )
    p.add_argument("--format", required=True, choices=(*FORMATS, "all"))
    p.add_argument("--size", required=True, help="tiny, seed, large or a scrobble count")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    size: str | int = int(args.size) if args.size.isdigit() else args.size
    for fmt in FORMATS if args.format == "all" else (args.format,):
        g = write(fmt, size, args.out, args.seed)
        print(g.path)
        print(
            json.dumps(
                {
                    "format": fmt,
                    "size": str(size),
                    "seed": args.seed,
                    "files": len(g.files),
                    "mb": round(g.bytes / 1e6, 1),
                    "seconds": round(g.seconds, 2),
                    **g.counts,
                }
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
