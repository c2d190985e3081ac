"""Small export files written by the import tests (Maloja's shape, docs/koito-reference.md §3.3)."""

from __future__ import annotations

import json
from pathlib import Path


def maloja_scrobble(time: int, artists: list[str], title: str, album: str | None = None) -> dict:
    return {
        "time": time,
        "track": {
            "artists": artists,
            "title": title,
            "album": {"albumtitle": album, "artists": artists} if album is not None else None,
            "length": None,
        },
        "duration": None,
        "origin": "client:test",
    }


def write_maloja(path: Path, scrobbles: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"maloja": {"export_time": 1700000000}, "scrobbles": scrobbles}))
    return path


def sample_scrobbles() -> list[dict]:
    """Eight plays: shared artists and albums, a repeat at the same second, an album-less song."""
    return [
        maloja_scrobble(1700000000, ["Example Band"], "Tide", "Shoreline"),
        maloja_scrobble(1700000300, ["Example Band"], "Undertow", "Shoreline"),
        maloja_scrobble(
            1700000600, ["Example Band", "Guest Singer"], "Harbour Lights", "Shoreline"
        ),
        maloja_scrobble(1700000900, ["Sólo Artista"], "Canción", None),
        maloja_scrobble(1700001200, ["Example Band"], "Tide", "Shoreline"),
        maloja_scrobble(
            1700001200, ["Example Band"], "Tide", "Shoreline"
        ),  # same second: a duplicate
        maloja_scrobble(1700001500, ["東京バンド"], "夜明け", "朝"),
        maloja_scrobble(1700001800, ["Sólo Artista"], "Canción", None),
    ]
