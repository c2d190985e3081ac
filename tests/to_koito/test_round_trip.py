"""Round trip: exports of every format we read → our database → a Koito export file → a fresh
database, through our own reader of Koito exports, which follows Koito's importer.

"The same" means what Koito's importer keeps of a file:
- every listen: its second, client, track title, album title, primary artist and other artists;
- every artist, release and track reached from a listen: its name, MBID, image source,
  ``various_artists``, duration, and alias texts with the same primary alias;
- alias *sources* are not carried: Koito re-sources every alias it creates from an export
  (primary "Canonical", others "MusicBrainz" for artists and albums, "Import" for tracks), so the
  fresh database must show exactly that;
- what the export repairs is compared repaired: names trimmed, blank aliases gone, an album with
  no usable name titled after its track (see koito_assets/to_koito/export_entities.py).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import dagster as dg
import psycopg

from koito_assets.db.bootstrap import prepare_database
from koito_assets.to_koito.export_file import write_export
from tests.sources.helpers import copy_fixture, zip_listenbrainz
from tests.to_koito.helpers import GO_SPACE, import_file, koito_importer_problems, load

# Every format we read. The Koito export goes first, so later MBID-less "Example Band"s are
# found by name (as Koito does) rather than meeting its MBID only later.
FORMAT_FIXTURES = (
    "koito_export_2025-06-18.json",
    "maloja_export_2024_03_02_18_00_00.json",
    "maloja_api_scrobbles.json",
    "Streaming_History_Audio_2023-2024_0.json",
    "endsong_0.json",
    "StreamingHistory_music_0.json",
    "recenttracks-example-1709402230.json",
    "recenttracks-example-1709402230.csv",
    "lastfm-to-csv-example.csv",
    "lastfmstats-example.json",
    "example_lb-2024-03-02.json",
)
KOITO_SOURCES = {"artist": "MusicBrainz", "release": "MusicBrainz", "track": "Import"}

Aliases = list[tuple[str, str, bool]]


def _aliases(conn: psycopg.Connection, kind: str) -> dict[int, Aliases]:
    found: dict[int, Aliases] = {}
    for owner, alias, source, primary in conn.execute(
        f"SELECT {kind}_id, alias, source, is_primary FROM {kind}_aliases"
    ):
        found.setdefault(owner, []).append((alias, source, primary))
    return found


def _kept(aliases: Aliases) -> tuple[str | None, tuple[str, ...]]:
    """The primary alias and every alias text, as the export writes them (trimmed, no blanks)."""
    texts = {a.strip(GO_SPACE) for a, _, _ in aliases} - {""}
    primary = next((a.strip(GO_SPACE) for a, _, p in aliases if p and a.strip(GO_SPACE)), None)
    return primary, tuple(sorted(texts))


def snapshot(url: str) -> dict[str, Counter]:
    """What Koito's importer keeps of the listens in ``url``, as multisets (no database ids)."""
    with psycopg.connect(url) as conn:
        aliases = {kind: _aliases(conn, kind) for kind in ("artist", "release", "track")}
        artists = {
            r[0]: r[1:]
            for r in conn.execute(
                "SELECT id, musicbrainz_id::text, coalesce(image_source, '') FROM artists"
            )
        }
        releases = {
            r[0]: r[1:]
            for r in conn.execute(
                "SELECT id, musicbrainz_id::text, coalesce(image_source, ''), various_artists "
                "FROM releases"
            )
        }
        tracks = {
            r[0]: r[1:]
            for r in conn.execute(
                "SELECT id, musicbrainz_id::text, duration, release_id FROM tracks"
            )
        }
        credits: dict[int, list[tuple[bool, int]]] = {}
        for artist_id, track_id, primary in conn.execute(
            "SELECT artist_id, track_id, is_primary FROM artist_tracks"
        ):
            credits.setdefault(track_id, []).append((not primary, artist_id))
        listens = conn.execute(
            "SELECT floor(extract(epoch FROM listened_at))::bigint, coalesce(client, ''), "
            "track_id FROM listens"
        ).fetchall()

    kept: dict[str, Counter] = {k: Counter() for k in ("listens", "artists", "releases", "tracks")}
    seen: set[tuple] = set()
    for seconds, client, track_id in listens:
        track_mbid, duration, release_id = tracks[track_id]
        title, track_texts = _kept(aliases["track"][track_id])
        album, album_texts = _kept(aliases["release"].get(release_id, []))
        release_key: tuple = ("release", release_id)
        if album is None:  # no usable name: titled after the track
            album, album_texts, release_key = title, (title,), ("release", release_id, title)
        credited = [a for _, a in sorted(credits.get(track_id, []))]
        names = [_kept(aliases["artist"][a])[0] for a in credited]
        kept["listens"][(seconds, client, title, album, names[0], tuple(sorted(names[1:])))] += 1
        for artist_id, name in zip(credited, names, strict=True):
            if ("artist", artist_id) not in seen:
                seen.add(("artist", artist_id))
                texts = _kept(aliases["artist"][artist_id])[1]
                kept["artists"][(name, *artists[artist_id], texts)] += 1
        if release_key not in seen:
            seen.add(release_key)
            kept["releases"][(album, *releases[release_id], album_texts)] += 1
        if ("track", track_id) not in seen:
            seen.add(("track", track_id))
            entry = (title, track_mbid, duration, album, track_texts, names[0])
            kept["tracks"][entry] += 1
    return kept


def _sources(url: str) -> Counter:
    """(kind, primary, source) of every alias."""
    found: Counter = Counter()
    with psycopg.connect(url) as conn:
        for kind in ("artist", "release", "track"):
            for source, primary in conn.execute(f"SELECT source, is_primary FROM {kind}_aliases"):
                found[(kind, primary, source)] += 1
    return found


def test_every_format_survives_export_and_reimport_as_koito_keeps_it(
    db_url, pg_server, settings, tmp_path: Path, request
):
    inbox = tmp_path / "in"
    inbox.mkdir()
    paths = [copy_fixture(name, inbox) for name in FORMAT_FIXTURES]
    paths.append(zip_listenbrainz(inbox))
    with dg.DagsterInstance.ephemeral() as instance:
        for path in paths:
            import_file(db_url, path, instance, settings)
    exported = write_export(db_url, tmp_path / "koito_round_trip.json")
    assert koito_importer_problems(load(exported.path)) == []

    fresh_name = f"{request.node.name[:30].lower()}_fresh"
    fresh = pg_server.create_database(fresh_name)
    try:
        prepare_database(fresh, settings.value)
        with dg.DagsterInstance.ephemeral() as instance:
            import_file(fresh, exported.path, instance, settings)
        before, after = snapshot(db_url), snapshot(fresh)
        sources = _sources(fresh)
    finally:
        pg_server.drop_database(fresh_name)

    assert sum(before["listens"].values()) == exported.listens > 30
    for kind in ("listens", "artists", "releases", "tracks"):
        assert after[kind] == before[kind], kind
    # Koito re-sources what it creates from an export; nothing else may show up.
    assert {(kind, primary, source) for kind, primary, source in sources} == {
        (kind, primary, "Canonical" if primary else KOITO_SOURCES[kind])
        for kind, primary, _ in sources
    }
    # the fixtures do carry MBIDs, second aliases and an image source through
    assert any(entry[1] for entry in before["artists"])
    assert any(len(entry[-1]) > 1 for entry in before["artists"])
    assert any(entry[2] for entry in before["releases"])
