"""`koito-import merge-into-sqlite` as a user runs it: the report, a window, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from koito_assets.settings import Settings, SettingsError
from tests.to_koito.catalogue import Catalogue
from tests.to_koito.koito_sqlite import connect, create_koito_db


def run_cli(*args: str, db_url: str, config: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOITO_")}
    env.update({"KOITO_DATABASE_URL": db_url, "KOITO_CONFIG_DIR": str(config)})
    return subprocess.run(
        [sys.executable, "-m", "koito_assets.cli", "merge-into-sqlite", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


@pytest.fixture
def library(conn: psycopg.Connection) -> None:
    ours = Catalogue(conn)
    band = ours.artist("Example Band")
    album = ours.release("Shoreline", [band])
    ours.listens(ours.track("Tide", album, [band]), [1_700_000_000, 1_710_000_000])
    ours.listen(ours.track("Undertow", album, [band]), 1_720_000_000)


def test_json_report_then_nothing_new(db_url: str, library: None, tmp_path: Path):
    koito = create_koito_db(tmp_path / "koito.db")
    first = run_cli(str(koito), "--json", db_url=db_url, config=tmp_path / "config")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["database"] == str(koito)
    assert Path(report["backup"]).is_file()
    assert report["artists"] == {"matched": 0, "created": 1}
    assert report["releases"] == {"matched": 0, "created": 1}
    assert report["tracks"] == {"matched": 0, "created": 2}
    assert report["listens"] == {"selected": 3, "added": 3, "already_present": 0, "skipped": {}}

    again = run_cli(str(koito), "--no-backup", db_url=db_url, config=tmp_path / "config")
    assert again.returncode == 0, again.stderr
    assert "0 listens added, 3 already there" in again.stdout
    assert "tracks   2 matched, 0 created" in again.stdout
    assert "backup   none" in again.stdout


def test_a_time_window(db_url: str, library: None, tmp_path: Path):
    koito = create_koito_db(tmp_path / "koito.db")
    done = run_cli(
        str(koito),
        "--since",
        "2024-03-01",
        "--until",
        "2024-07-03",  # a bare date: its whole day
        "--json",
        db_url=db_url,
        config=tmp_path / "config",
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["since"] == "2024-03-01T00:00:00+00:00"
    assert report["until"] == "2024-07-03T23:59:59.999999+00:00"
    assert report["listens"]["added"] == 2  # 2024-03-09 and 2024-07-03 09:46; not 2023-11-14


def test_refusals_exit_with_the_reason_on_one_line(db_url: str, library: None, tmp_path: Path):
    koito = create_koito_db(tmp_path / "koito.db")
    running = connect(koito)
    running.execute("SELECT count(*) FROM users").fetchall()
    try:
        refused = run_cli(str(koito), db_url=db_url, config=tmp_path / "config")
    finally:
        running.close()
    assert refused.returncode == 4
    assert "stop Koito first" in refused.stderr and "Traceback" not in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1

    missing = run_cli(str(tmp_path / "nope.db"), db_url=db_url, config=tmp_path / "config")
    assert missing.returncode == 2 and "no such file" in missing.stderr

    bad_time = run_cli(str(koito), "--since", "yesterday", db_url=db_url, config=tmp_path)
    assert bad_time.returncode == 2 and "is not an ISO 8601 date or time" in bad_time.stderr

    unknown = run_cli(str(koito), "--file", "never.json", db_url=db_url, config=tmp_path)
    assert unknown.returncode == 1 and "no import file of that name" in unknown.stderr


def test_the_sqlite_settings(tmp_path: Path):
    assert Settings.from_env({}).sqlite_db is None
    assert Settings.from_env({}).sqlite_backup is True
    s = Settings.from_env({"KOITO_SQLITE_DB": "~/koito/koito.db", "KOITO_SQLITE_BACKUP": "FALSE"})
    assert s.sqlite_db == Path("~/koito/koito.db").expanduser() and s.sqlite_backup is False
    with pytest.raises(SettingsError, match="KOITO_SQLITE_BACKUP"):
        Settings.from_env({"KOITO_SQLITE_BACKUP": "no"})
