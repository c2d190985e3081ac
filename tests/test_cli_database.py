"""`koito-import migrate` and `db-url` as a user runs them: real processes, real exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psutil
import psycopg


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("KOITO_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "koito_assets.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=full_env,
    )


def test_unreachable_database_is_one_clear_line_with_exit_3_and_no_password(tmp_path: Path):
    result = run_cli(
        "migrate",
        env={
            "KOITO_DATABASE_URL": "postgresql://koito:s3cret-pw@127.0.0.1:1/koito",
            "KOITO_CONFIG_DIR": str(tmp_path),
        },
    )
    assert result.returncode == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "127.0.0.1:1" in lines[0]
    assert "s3cret-pw" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_migrate_on_a_fresh_database_then_again(empty_db_url: str, tmp_path: Path):
    env = {"KOITO_DATABASE_URL": empty_db_url, "KOITO_CONFIG_DIR": str(tmp_path)}
    first = run_cli("migrate", env=env)
    assert first.returncode == 0, first.stderr
    assert "Koito migrations [1, 2, 3, 4, 5]" in first.stdout
    assert "default user 'admin'" in first.stdout
    second = run_cli("migrate", env=env)
    assert second.returncode == 0 and "up to date" in second.stdout


def test_foreign_database_is_refused_with_exit_4(empty_db_url: str, tmp_path: Path):
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE invoices (id int)")
    result = run_cli(
        "migrate", env={"KOITO_DATABASE_URL": empty_db_url, "KOITO_CONFIG_DIR": str(tmp_path)}
    )
    assert result.returncode == 4
    assert "not a Koito database" in result.stderr and "Traceback" not in result.stderr


def _server_running(config: Path) -> bool:
    pid_file = config / "postgres" / "postmaster.pid"
    return pid_file.exists() and psutil.pid_exists(int(pid_file.read_text().split()[0]))


def test_embedded_default_starts_migrates_and_stops_postgres(tmp_path: Path):
    config = tmp_path / "koito"
    env = {"KOITO_CONFIG_DIR": str(config)}
    result = run_cli("migrate", env=env)
    assert result.returncode == 0, result.stderr
    assert not _server_running(config)  # the CLI was the only user, so it stopped the server

    shown = run_cli("db-url", env=env)
    assert shown.returncode == 0, shown.stderr
    url = shown.stdout.strip()
    assert url.startswith("postgresql://postgres@/koito?host=")
    assert _server_running(config)  # db-url leaves it running for psql
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM goose_db_version").fetchone()[0] == 6
    stopped = run_cli("db-stop", env=env)
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    assert not _server_running(config)
