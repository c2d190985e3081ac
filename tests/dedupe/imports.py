"""Helpers for the cross-source tests: plays by hand, exports of them, imports through the graph."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from benchmarks.overlap import Play

T0 = 1_700_000_000


def play(
    index: int,
    start: int,
    *,
    artist: str = "Example Band",
    title: str = "Tide",
    album: str = "Shoreline",
    length: int = 200,
    played: int | None = None,
    paused: int = 0,
    featured: tuple[str, ...] = (),
) -> Play:
    """One true play, by hand."""
    return Play(
        index,
        T0 + start,
        length if played is None else played,
        paused,
        artist,
        featured,
        title,
        album,
        length,
        False,
    )


def back_to_back(first: int, count: int, *, start: int = 0, **track) -> list[Play]:
    """``count`` plays of one track, each starting the second the one before ended."""
    length = track.get("length", 200)
    return [play(first + i, start + i * length, **track) for i in range(count)]


def names(plays: Iterable[Play], **overrides: tuple[str, str]) -> dict[int, tuple[str, str]]:
    """Per-play (artist, title) spellings for a writer: ``names(plays, p3=("x", "Tide"))``."""
    out = {}
    for p in plays:
        key = f"p{p.index}"
        if key in overrides:
            out[p.index] = overrides[key]
    return out


def write_json(path: Path, data: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path
