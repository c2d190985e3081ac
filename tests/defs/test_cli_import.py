"""`koito-import import` as a user runs it: JSON summary, idempotence, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg

from tests.defs.exports import sample_scrobbles, write_maloja

SUMMARY_KEYS = {
    "path",
    "format",
    "records",
    "accepted",
    "skipped",
    "listens_inserted",
    "duplicates",
    "artists_created",
    "albums_created",
    "tracks_created",
    "cache_hits",
    "same_play",
    "seconds",
    "partition",
    "note",
    "error",
}


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("KOITO_")}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "koito_assets.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=full_env,
    )


def test_import_twice_inserts_once_and_says_so(db_url: str, tmp_path: Path):
    path = write_maloja(tmp_path / "exports" / "maloja_export_1.json", sample_scrobbles())
    env = {"KOITO_DATABASE_URL": db_url, "KOITO_CONFIG_DIR": str(tmp_path / "koito")}

    first = run_cli("import", str(path), "--json", env=env)
    assert first.returncode == 0, first.stderr
    files = json.loads(first.stdout)["files"]
    assert len(files) == 1 and set(files[0]) == SUMMARY_KEYS
    summary = files[0]
    assert (summary["format"], summary["records"], summary["accepted"]) == ("maloja", 8, 8)
    assert (summary["listens_inserted"], summary["duplicates"]) == (7, 1)
    assert (summary["artists_created"], summary["albums_created"], summary["tracks_created"]) == (
        4,
        3,
        5,
    )
    assert summary["skipped"] == {} and summary["cache_hits"] == 0

    second = run_cli("import", str(path), env=env)
    assert second.returncode == 0, second.stderr
    assert "0 listens inserted" in second.stdout and "8 duplicates ignored" in second.stdout
    assert path.exists()  # a file outside the import folder stays where it is
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM listens").fetchone()[0] == 7


def test_unreadable_file_exits_2_and_the_others_still_import(db_url: str, tmp_path: Path):
    good = write_maloja(tmp_path / "maloja_export_good.json", sample_scrobbles())
    unknown = tmp_path / "notes.txt"
    unknown.write_text("just some words, not an export")
    env = {"KOITO_DATABASE_URL": db_url, "KOITO_CONFIG_DIR": str(tmp_path / "koito")}
    result = run_cli("import", str(unknown), str(good), env=env)
    assert result.returncode == 2
    assert "notes.txt" in result.stderr and "Traceback" not in result.stderr
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM listens").fetchone()[0] == 7


def test_unreachable_database_exits_3(tmp_path: Path):
    path = write_maloja(tmp_path / "maloja_export_1.json", sample_scrobbles())
    result = run_cli(
        "import",
        str(path),
        env={
            "KOITO_DATABASE_URL": "postgresql://koito:pw@127.0.0.1:1/koito",
            "KOITO_CONFIG_DIR": str(tmp_path),
        },
    )
    assert result.returncode == 3
    assert "127.0.0.1:1" in result.stderr and "Traceback" not in result.stderr


def test_fresh_machine_imports_into_the_embedded_server(tmp_path: Path):
    path = write_maloja(tmp_path / "maloja_export_1.json", sample_scrobbles())
    result = run_cli(
        "import", str(path), "--json", env={"KOITO_CONFIG_DIR": str(tmp_path / "koito")}
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["files"][0]["listens_inserted"] == 7
    assert (tmp_path / "koito" / "postgres" / "PG_VERSION").exists()


def test_spotify_download_zip_and_lastfmstats_import_as_dropped(db_url: str, tmp_path: Path):
    """Two exports as users download them: Spotify's zip (not unpacked) and lastfmstats.com's."""
    import zipfile

    from tests.sources.helpers import FIXTURES

    spotify = tmp_path / "my_spotify_data.zip"
    with zipfile.ZipFile(spotify, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.write(
            FIXTURES / "Streaming_History_Audio_2023-2024_0.json",
            "Spotify Extended Streaming History/Streaming_History_Audio_2023-2024_0.json",
        )
    env = {"KOITO_DATABASE_URL": db_url, "KOITO_CONFIG_DIR": str(tmp_path / "koito")}
    done = run_cli(
        "import", str(spotify), str(FIXTURES / "lastfmstats-example.json"), "--json", env=env
    )
    assert done.returncode == 0, done.stderr
    by_format = {summary["format"]: summary for summary in json.loads(done.stdout)["files"]}
    spotify_zip = by_format["spotify_zip"]  # the fixture repeats one play at the same second
    assert (
        spotify_zip["accepted"],
        spotify_zip["listens_inserted"],
        spotify_zip["duplicates"],
    ) == (5, 4, 1)
    lastfmstats = by_format["lastfmstats_json"]
    assert (
        lastfmstats["accepted"],
        lastfmstats["listens_inserted"],
        lastfmstats["duplicates"],
    ) == (8, 7, 1)
    with psycopg.connect(db_url) as conn:
        clients = dict(
            conn.execute("SELECT client, count(*) FROM listens GROUP BY client").fetchall()
        )
        assert clients == {"spotify": 4, "lastfm": 7}
        # lastfmstats' empty album becomes the track title, as in Koito's Last.fm importer.
        assert (
            conn.execute(
                "SELECT count(*) FROM release_aliases WHERE alias = 'Hoppípolla'"
            ).fetchone()[0]
            == 1
        )
