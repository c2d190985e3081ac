"""The reference a merge is held to: the same listens as a Koito export, read the way Koito would.

``write_export`` writes our database's listens as a Koito export v1 file row for row, as they
are: listens in time order, each with its track, album and artists, primary artist first, every
alias. The rule tests plant rows Koito's importer trips on (blank names, tracks without
artists), and the project's writer (koito_assets/to_koito/export_file.py) repairs or leaves
those out, so they need this unrepaired rendering; the acceptance test on realistic histories
uses the project's writer. Imported by our Koito-export reader into a fresh database, the file
gives what Koito's importer makes of those listens; ``catalogue_of_*`` reads that database and a
merged SQLite file into one comparable shape (names, aliases, primaries, the artists of tracks
and releases, listens), ids left out.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

_ALIASES = """
    SELECT coalesce(json_agg(json_build_object('alias', alias, 'source', source,
                                               'is_primary', is_primary)
                             ORDER BY is_primary DESC, alias), '[]'::json)
    FROM {table} WHERE {key} = {owner}
"""

_ARTIST_ALIASES = _ALIASES.format(table="artist_aliases", key="artist_id", owner="a.id")
_EXPORT = f"""
SELECT floor(extract(epoch FROM l.listened_at))::bigint, coalesce(l.client, ''),
       json_build_object(
           'mbid', t.musicbrainz_id, 'duration', t.duration,
           'aliases', ({_ALIASES.format(table="track_aliases", key="track_id", owner="t.id")})),
       json_build_object(
           'image_url', coalesce(r.image_source, ''), 'mbid', r.musicbrainz_id,
           'various_artists', r.various_artists,
           'aliases', ({_ALIASES.format(table="release_aliases", key="release_id", owner="r.id")})),
       (SELECT coalesce(json_agg(json_build_object(
                   'image_url', coalesce(a.image_source, ''), 'mbid', a.musicbrainz_id,
                   'is_primary', false,
                   'aliases', ({_ARTIST_ALIASES}))
               ORDER BY at.is_primary DESC,
                        (SELECT p.alias FROM artist_aliases p
                         WHERE p.artist_id = a.id AND p.is_primary ORDER BY p.alias LIMIT 1)
                        COLLATE "C",
                        a.id), '[]'::json)
        FROM artist_tracks at JOIN artists a ON a.id = at.artist_id
        WHERE at.track_id = t.id)
FROM listens l
JOIN tracks t ON t.id = l.track_id
JOIN releases r ON r.id = t.release_id
WHERE l.user_id = 1
ORDER BY l.listened_at, l.track_id
"""


def write_export(url: str, path: Path) -> Path:
    """Our database's listens as a Koito export v1 file at ``path``."""
    listens = []
    with psycopg.connect(url) as conn:
        for at, client, track, album, artists in conn.execute(_EXPORT):
            listens.append(
                {
                    "listened_at": datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "client": client,
                    "track": track,
                    "album": album,
                    "artists": artists,
                }
            )
    document = {
        "version": "1",
        "exported_at": "2025-06-01T00:00:00Z",
        "user": "admin",
        "listens": listens,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, ensure_ascii=False))
    return path


# The same questions of both databases: PostgreSQL (ours) and SQLite (Koito's), ids left out.
_ARTISTS = """
SELECT a.id, a.musicbrainz_id, a.image_source, a.image IS NOT NULL,
       aa.alias, aa.source, aa.is_primary
FROM artists a JOIN artist_aliases aa ON aa.artist_id = a.id
"""
_RELEASES = """
SELECT r.id, r.musicbrainz_id, r.image_source, r.image IS NOT NULL, r.various_artists,
       ra.alias, ra.source, ra.is_primary
FROM releases r JOIN release_aliases ra ON ra.release_id = r.id
"""
_RELEASE_ARTISTS = "SELECT release_id, artist_id, is_primary FROM artist_releases"
_TRACKS = """
SELECT t.id, t.musicbrainz_id, t.duration, t.release_id, ta.alias, ta.source, ta.is_primary
FROM tracks t JOIN track_aliases ta ON ta.track_id = t.id
"""
_TRACK_ARTISTS = "SELECT track_id, artist_id, is_primary FROM artist_tracks"
_LISTENS = """
SELECT track_id, {epoch}, coalesce(client, ''), user_id FROM listens
"""


def _rows(conn: Any, query: str) -> list[tuple]:
    return [tuple(row) for row in conn.execute(query).fetchall()]


def _shape(conn: Any, epoch: str) -> dict[str, Any]:
    def text(value: object) -> str | None:
        return None if value is None else str(value)

    artists: dict[int, dict] = {}
    for aid, mbid, source, has_image, alias, alias_source, primary in _rows(conn, _ARTISTS):
        entry = artists.setdefault(
            aid, {"mbid": text(mbid), "image_source": source, "image": bool(has_image)}
        )
        entry.setdefault("aliases", []).append((alias, alias_source, bool(primary)))
    artist_key = {}
    for aid, entry in artists.items():
        entry["aliases"].sort()
        name = [a for a, _, p in entry["aliases"] if p]
        artist_key[aid] = (tuple(name), entry["mbid"])

    releases: dict[int, dict] = {}
    for rid, mbid, source, has_image, various, alias, alias_source, primary in _rows(
        conn, _RELEASES
    ):
        entry = releases.setdefault(
            rid,
            {
                "mbid": text(mbid),
                "image_source": source,
                "image": bool(has_image),
                "various_artists": bool(various),
            },
        )
        entry.setdefault("aliases", []).append((alias, alias_source, bool(primary)))
    for rid, aid, primary in _rows(conn, _RELEASE_ARTISTS):
        releases[rid].setdefault("artists", []).append((artist_key[aid], bool(primary)))
    release_key = {}
    for rid, entry in releases.items():
        entry["aliases"].sort()
        entry.setdefault("artists", []).sort()
        title = [a for a, _, p in entry["aliases"] if p]
        release_key[rid] = (tuple(title), entry["mbid"], tuple(entry["artists"]))

    tracks: dict[int, dict] = {}
    for tid, mbid, duration, rid, alias, alias_source, primary in _rows(conn, _TRACKS):
        entry = tracks.setdefault(
            tid, {"mbid": text(mbid), "duration": duration, "release": release_key[rid]}
        )
        entry.setdefault("aliases", []).append((alias, alias_source, bool(primary)))
    for tid, aid, primary in _rows(conn, _TRACK_ARTISTS):
        tracks[tid].setdefault("artists", []).append((artist_key[aid], bool(primary)))
    track_key = {}
    for tid, entry in tracks.items():
        entry["aliases"].sort()
        entry.setdefault("artists", []).sort()
        track_key[tid] = (
            tuple(a for a, _, p in entry["aliases"] if p),
            entry["mbid"],
            entry["release"],
            tuple(entry["artists"]),
        )

    def frozen(entries: dict[int, dict]) -> Counter:
        return Counter(
            json.dumps(entry, sort_keys=True, ensure_ascii=False, default=list)
            for entry in entries.values()
        )

    return {
        "artists": frozen(artists),
        "releases": frozen(releases),
        "tracks": frozen(tracks),
        "listens": Counter(
            (json.dumps(track_key[tid], ensure_ascii=False), at, client, user)
            for tid, at, client, user in _rows(conn, _LISTENS.format(epoch=epoch))
        ),
    }


def catalogue_of_postgres(url: str) -> dict[str, Any]:
    """The comparable shape of one of our databases."""
    with psycopg.connect(url) as conn:
        return _shape(conn, "floor(extract(epoch FROM listened_at))::bigint")


def catalogue_of_sqlite(path: Path) -> dict[str, Any]:
    """The comparable shape of a Koito SQLite file."""
    conn = sqlite3.connect(path)
    try:
        return _shape(conn, "listened_at")
    finally:
        conn.close()


def differences(expected: dict[str, Any], actual: dict[str, Any], limit: int = 5) -> list[str]:
    """What differs between two shapes, a few examples per kind (empty when equal)."""
    found = []
    for kind in ("artists", "releases", "tracks", "listens"):
        missing = expected[kind] - actual[kind]
        extra = actual[kind] - expected[kind]
        if missing or extra:
            found.append(
                f"{kind}: {sum(missing.values())} missing, {sum(extra.values())} extra; "
                f"missing e.g. {list(missing)[:limit]}; extra e.g. {list(extra)[:limit]}"
            )
    return found
