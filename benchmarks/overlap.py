"""Overlapping pairs of exports of one known listening history: the same plays told by two services.

One seeded history of true plays (a start time, how long each lasted, a track of the workload
catalogue) is written twice, each time as one service records and exports it:

* Spotify's extended history stamps a play when it *ended* (``ts``), with ``ms_played``; a
  paused play ends later than it started plus its length;
* Last.fm stamps the *start*, a second or two late, and credits featured artists in the artist
  ("A feat. B") where Spotify puts them in the title ("Song (feat. B)");
* ListenBrainz keeps whoever recorded the play: its Last.fm importer keeps Last.fm's start, its
  Spotify reader Spotify's ``played_at`` (the end) with the Spotify API's joined credit
  ("A, B") and the track's ``duration_ms``.

Source A holds the earlier part of the history, source B the later part; in the overlap each
misses a few plays the other has, B spells some artists in another letter case and drops some
title decorations (" - Remastered 2011"), and a few plays repeat the track before them back to
back (one service's end is then the other's start). Every play is in at least one of the two,
so importing both must give exactly :attr:`Pair.true_plays` listens.

    python -m benchmarks.overlap --pair spotify+lastfm --plays 3000 --out /tmp/pair [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from benchmarks.workload import (
    END_OF_PLAYS,
    Catalog,
    _derive,
    catalog,
    lastfm_time,
    rfc3339,
)

PAIRS = ("spotify+lastfm", "listenbrainz+spotify")
A_SHARE = 0.73  # A holds plays [0, 73 %), B holds [27 %, 100 %): 46 % overlap
B_START = 0.27
MISSING_FROM_B = 0.02  # overlap plays B lacks (a scrobbler was offline)
MISSING_FROM_A = 0.01  # overlap plays A lacks (none that B lacks too)
CASE_SHARE = 0.03  # B's plays whose primary artist is spelled in another letter case
UNDECORATED_SHARE = 0.5  # of titles with a version suffix, B drops it this often
REPEAT_SHARE = 0.03  # plays that repeat the track before them, back to back
PAUSED_SHARE = 0.03  # Spotify plays paused for a while (their end moves later)
SKIPPED_SHARE = 0.03  # plays stopped early (still long enough to count everywhere)
BREAK_SHARE = 0.1  # plays after a pause between listening sessions
LB_STRETCH = 300  # plays in a row a ListenBrainz account got from one service, on average


@dataclass(frozen=True, slots=True)
class Play:
    """One true play: when it started, how long it lasted, what it was."""

    index: int
    start: int  # unix seconds
    played: int  # seconds actually played
    paused: int  # seconds the player was paused during it (Spotify's ts moves later)
    artist: str  # the primary artist
    featured: tuple[str, ...]
    title: str
    album: str
    length: int  # the track's length in seconds
    repeat: bool  # the same track as the play before, back to back

    @property
    def end(self) -> int:
        return self.start + self.played + self.paused


@dataclass(frozen=True)
class Pair:
    """The two services' views of one history, and how many true plays they hold together."""

    kind: str
    plays: tuple[Play, ...]
    a: tuple[Play, ...]
    b: tuple[Play, ...]
    b_case_variant: frozenset[int]  # play indexes B spells in another letter case
    b_undecorated: frozenset[int]  # play indexes whose title B gives without its suffix

    @property
    def true_plays(self) -> int:
        """Plays at least one source holds: what importing both must give."""
        return len({p.index for p in self.a} | {p.index for p in self.b})

    @property
    def overlap(self) -> int:
        """Plays both sources hold."""
        return len({p.index for p in self.a} & {p.index for p in self.b})

    @property
    def repeats(self) -> int:
        return sum(1 for p in self.plays if p.repeat)

    def counts(self) -> dict[str, int]:
        return {
            "true_plays": self.true_plays,
            "a": len(self.a),
            "b": len(self.b),
            "overlap": self.overlap,
            "repeats": self.repeats,
            "b_case_variants": len(self.b_case_variant),
            "b_undecorated": len(self.b_undecorated),
        }


def history(n: int, seed: int = 1) -> tuple[Play, ...]:
    """``n`` true plays drawn from the workload catalogue, oldest first, ending near 2025-05."""
    cat = catalog(max(n, 10), seed)
    rng = random.Random(_derive(seed, "overlap-history", n))
    drawn = rng.choices(range(len(cat.tracks)), cum_weights=cat.cum_weights, k=n)
    plays: list[Play] = []
    t = 0  # laid out from 0, then moved to end at END_OF_PLAYS
    previous: int | None = None
    for i, tr in enumerate(drawn):
        repeat = previous is not None and rng.random() < REPEAT_SHARE
        if repeat:
            tr = previous  # right after the play before
        elif previous is not None and rng.random() < BREAK_SHARE:
            t += rng.randrange(600, 30_000)
        track = cat.tracks[tr]
        played = track.length - rng.randrange(2)
        if rng.random() < SKIPPED_SHARE:
            played = max(31, int(track.length * rng.uniform(0.55, 0.9)))
        paused = rng.randrange(5, 60) if rng.random() < PAUSED_SHARE else 0
        plays.append(_play(cat, i, t, played, paused, tr, repeat))
        t += played + paused + (0 if rng.random() < 0.5 else 1)
        previous = tr
    # How long a history lasts depends on its breaks: move it so the last play ends at
    # END_OF_PLAYS, in the past, whatever n (a play more than a day ahead is skipped on import).
    shift = END_OF_PLAYS - plays[-1].end if plays else 0
    return tuple(replace(p, start=p.start + shift) for p in plays)


def _play(cat: Catalog, i: int, t: int, played: int, paused: int, tr: int, repeat: bool) -> Play:
    track = cat.tracks[tr]
    names = [cat.artists[a].name for a in track.artists]
    album = cat.albums[track.album].title if track.album is not None else track.title
    return Play(
        i, t, played, paused, names[0], tuple(names[1:]), track.title, album, track.length, repeat
    )


def overlapping_pair(kind: str, n: int, seed: int = 1) -> Pair:
    """The plays of ``kind`` ("spotify+lastfm" or "listenbrainz+spotify") for ``n`` true plays."""
    if kind not in PAIRS:
        raise ValueError(f"unknown pair {kind!r}: one of {', '.join(PAIRS)}")
    plays = history(n, seed)
    rng = random.Random(_derive(seed, "overlap-pair", kind, n))
    a_end, b_start = round(n * A_SHARE), round(n * B_START)
    a, b = [], []
    for p in plays:
        in_a, in_b = p.index < a_end, p.index >= b_start
        if in_a and in_b:  # the overlap: each side misses a few the other has
            r = rng.random()
            in_b = r >= MISSING_FROM_B
            in_a = not (MISSING_FROM_B <= r < MISSING_FROM_B + MISSING_FROM_A)
        if in_a:
            a.append(p)
        if in_b:
            b.append(p)
    case = frozenset(p.index for p in b if rng.random() < CASE_SHARE and _other_case(p.artist))
    undecorated = frozenset(
        p.index for p in b if _undecorated(p.title) != p.title and rng.random() < UNDECORATED_SHARE
    )
    return Pair(kind, plays, tuple(a), tuple(b), case, undecorated)


def _other_case(name: str) -> str | None:
    """``name`` in another letter case ("Example Band" → "example band"), None if uncased."""
    for candidate in (name.lower(), name.upper()):
        if candidate != name:
            return candidate
    return None


def _undecorated(title: str) -> str:
    """The title without a version suffix (" - Remastered 2011", " (Live)")."""
    for mark in (" - ", " ("):
        if mark in title:
            return title[: title.index(mark)]
    return title


# --------------------------------------------------------------------------------------------
# Rendering: each service's record of a play


def _names(pair: Pair, p: Play) -> tuple[str, str]:
    """(primary artist, title) as source B spells them for this play (A spells them as they are)."""
    artist = (_other_case(p.artist) or p.artist) if p.index in pair.b_case_variant else p.artist
    title = _undecorated(p.title) if p.index in pair.b_undecorated else p.title
    return artist, title


def spotify_rows(plays: tuple[Play, ...], names: dict[int, tuple[str, str]]) -> Iterator[dict]:
    """Extended-history rows: ts when the stream stopped, ms_played, feat. in the title."""
    for p in plays:
        artist, title = names.get(p.index, (p.artist, p.title))
        if p.featured:
            title = f"{title} (feat. {' & '.join(p.featured)})"
        yield {
            "ts": rfc3339(p.end),
            "platform": "android",
            "ms_played": p.played * 1000 + (p.index * 37) % 1000,
            "conn_country": "DE",
            "master_metadata_track_name": title,
            "master_metadata_album_artist_name": artist,
            "master_metadata_album_album_name": p.album,
            "spotify_track_uri": f"spotify:track:{p.index:022d}",
            "episode_name": None,
            "reason_start": "trackdone",
            "reason_end": "trackdone",
            "shuffle": False,
            "skipped": False,
            "offline": False,
            "offline_timestamp": p.start,
            "incognito_mode": False,
        }


def lastfm_start(p: Play) -> int:
    """Last.fm's timestamp: the start, reported up to two seconds late."""
    return p.start + p.index % 3


def lastfm_tracks(plays: tuple[Play, ...], names: dict[int, tuple[str, str]]) -> Iterator[dict]:
    """Last.fm API track objects, newest first: the start, feat. in the artist."""
    for p in reversed(plays):
        artist, title = names.get(p.index, (p.artist, p.title))
        if p.featured:
            artist = f"{artist} feat. {' & '.join(p.featured)}"
        uts = lastfm_start(p)
        yield {
            "artist": {"mbid": "", "#text": artist},
            "album": {"mbid": "", "#text": p.album},
            "name": title,
            "mbid": "",
            "date": {"uts": str(uts), "#text": lastfm_time(uts)},
        }


def listenbrainz_listens(
    plays: tuple[Play, ...], names: dict[int, tuple[str, str]], seed: int, via: str = "both"
) -> Iterator[dict]:
    """ListenBrainz listens from its Last.fm importer (the start) or its Spotify reader
    (played_at, the end; the API's joined credit; the track's length). ``via`` "both": in
    stretches of a few hundred plays from each, as an account linked to one service and then the
    other; "lastfm" or "spotify": all from one."""
    rng = random.Random(_derive(seed, "overlap-lb"))
    from_lastfm = via != "spotify"
    for p in plays:
        artist, title = names.get(p.index, (p.artist, p.title))
        if via == "both" and rng.random() < 1 / LB_STRETCH:
            from_lastfm = not from_lastfm
        if from_lastfm:
            credit = f"{artist} feat. {' & '.join(p.featured)}" if p.featured else artist
            meta = {
                "artist_name": credit,
                "track_name": title,
                "release_name": p.album,
                "additional_info": {"submission_client": "ListenBrainz lastfm importer v2"},
            }
            listened_at = lastfm_start(p)
        else:
            if p.featured:
                title = f"{title} (feat. {' & '.join(p.featured)})"
            meta = {
                "artist_name": ", ".join((artist, *p.featured)),
                "track_name": title,
                "release_name": p.album,
                "additional_info": {
                    "submission_client": "listenbrainz",
                    "music_service": "spotify.com",
                    "duration_ms": p.length * 1000,
                },
            }
            listened_at = p.end + rng.randrange(3)
        yield {"listened_at": listened_at, "inserted_at": listened_at + 30, "track_metadata": meta}


def write_spotify(path: Path, plays: tuple[Play, ...], names: dict | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(list(spotify_rows(plays, names or {})), f, ensure_ascii=False)
    return path


def write_lastfm(path: Path, plays: tuple[Play, ...], names: dict | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tracks = list(lastfm_tracks(plays, names or {}))
    pages = [{"track": tracks[i : i + 200]} for i in range(0, len(tracks), 200)] or [{"track": []}]
    with open(path, "w", encoding="utf-8") as f:
        json.dump(pages, f, ensure_ascii=False)
    return path


def write_listenbrainz(
    path: Path, plays: tuple[Play, ...], names: dict | None = None, seed: int = 1, via: str = "both"
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    by_month: dict[tuple[int, int], list[str]] = {}
    for listen in listenbrainz_listens(plays, names or {}, seed, via):
        g = time.gmtime(listen["listened_at"])
        line = json.dumps(listen, ensure_ascii=False)
        by_month.setdefault((g.tm_year, g.tm_mon), []).append(line)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("user.json", json.dumps({"user_id": 1, "username": "pair"}))
        for (year, month), lines in sorted(by_month.items()):
            zf.writestr(f"listens/{year}/{month}.jsonl", "\n".join(lines) + "\n")
    return path


def spotify_name(folder: Path, tag: str) -> Path:
    return folder / f"Streaming_History_Audio_{tag}_0.json"


def lastfm_name(folder: Path, tag: str) -> Path:
    return folder / f"recenttracks-{tag}-1748779200.json"


def listenbrainz_name(folder: Path, tag: str) -> Path:
    return folder / f"listenbrainz_{tag}_1748779200.zip"


def write_pair(pair: Pair, out_dir: Path, seed: int = 1) -> tuple[Path, Path]:
    """Write source A's and source B's exports into ``out_dir``; return their paths."""
    out_dir = Path(out_dir)
    b_names = {p.index: _names(pair, p) for p in pair.b}
    if pair.kind == "spotify+lastfm":
        a = write_spotify(spotify_name(out_dir, "a"), pair.a)
        b = write_lastfm(lastfm_name(out_dir, "b"), pair.b, b_names)
    else:
        a = write_listenbrainz(listenbrainz_name(out_dir, "a"), pair.a, seed=seed)
        b = write_spotify(spotify_name(out_dir, "b"), pair.b, b_names)
    return a, b


def main(argv: list[str] | None = None) -> int:
    """CLI: write one pair and print its paths and counts."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.overlap", description=__doc__)
    parser.add_argument("--pair", required=True, choices=PAIRS)
    parser.add_argument("--plays", type=int, default=3000)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    pair = overlapping_pair(args.pair, args.plays, args.seed)
    a, b = write_pair(pair, args.out, args.seed)
    print(a)
    print(b)
    print(json.dumps({"pair": args.pair, **pair.counts()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
