"""Imports survive being killed and losing the database: nothing lost, doubled or left over."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import dagster as dg
import psycopg
import pytest

from benchmarks.workload import generate
from koito_assets.defs.imports.assets import IMPORT_ASSETS
from koito_assets.defs.imports.partitions import export_files
from koito_assets.settings_resource import SettingsResource
from tests.defs.resources import import_resources


@pytest.fixture(scope="module")
def export_file(tmp_path_factory) -> Path:
    """A Maloja export of 20,000 scrobbles: long enough to be killed in every stage."""
    return generate("maloja", 20_000, tmp_path_factory.mktemp("exports"), seed=7)


def _catalogue(url: str) -> dict[str, object]:
    with psycopg.connect(url) as conn:
        one = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
        return {
            "listens": one("SELECT count(*) FROM listens"),
            "artists": one("SELECT count(*) FROM artists"),
            "releases": one("SELECT count(*) FROM releases"),
            "tracks": one("SELECT count(*) FROM tracks"),
            "listen_digest": one(
                "SELECT md5(string_agg(t.title || '@' || l.listened_at::text, ',' "
                "ORDER BY l.listened_at, t.title)) "
                "FROM listens l JOIN tracks_with_title t ON t.id = l.track_id"
            ),
            "staged": one("SELECT count(*) FROM koito_import.staged_scrobbles"),
            "file_keys": one("SELECT count(*) FROM koito_import.file_keys"),
        }


def _cli(path: Path, url: str, config: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOITO_")}
    env.update({"KOITO_DATABASE_URL": url, "KOITO_CONFIG_DIR": str(config)})
    return subprocess.Popen(
        [sys.executable, "-m", "koito_assets.cli", "import", str(path)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_killed_at_any_point_then_run_again_ends_with_exactly_the_right_listens(
    export_file: Path, pg_server, template_db, tmp_path: Path
):
    reference_url = pg_server.create_database("resilience_reference", template=template_db)
    victim_url = pg_server.create_database("resilience_victim", template=template_db)
    try:
        clean = _cli(export_file, reference_url, tmp_path / "a")
        assert clean.wait(300) == 0, clean.stderr.read()
        expected = _catalogue(reference_url)
        assert expected["listens"] > 19_000 and expected["staged"] == 0

        # SIGKILL after growing delays, so kills land in start-up, parsing, resolving and loading.
        for delay in (1.5, 2.5, 3.5, 4.5, 6.0):
            victim = _cli(export_file, victim_url, tmp_path / "b")
            time.sleep(delay)
            victim.send_signal(signal.SIGKILL)
            victim.wait(30)
        final = _cli(export_file, victim_url, tmp_path / "b")
        assert final.wait(300) == 0, final.stderr.read()
        assert _catalogue(victim_url) == expected
    finally:
        pg_server.drop_database("resilience_reference")
        pg_server.drop_database("resilience_victim")


def _terminate_import_connections(url: str, stop: threading.Event) -> int:
    """Kill every backend of the import while it works, as a server restart would; count kills."""
    killed = 0
    with psycopg.connect(url, autocommit=True) as admin:
        while not stop.is_set() and killed == 0:
            killed = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND application_name = 'koito-assets' "
                "AND state = 'active' AND pid <> pg_backend_pid()"
            ).fetchone()[0]
            time.sleep(0.02)
    return killed


def test_losing_the_database_mid_run_is_retried_and_the_retry_succeeds(
    export_file: Path, db_url: str, monkeypatch, tmp_path
):
    monkeypatch.setenv("KOITO_CONFIG_DIR", str(tmp_path))
    stop = threading.Event()
    kills: list[int] = []
    killer = threading.Thread(
        target=lambda: kills.append(_terminate_import_connections(db_url, stop))
    )
    killer.start()
    try:
        with dg.DagsterInstance.ephemeral() as instance:
            instance.add_dynamic_partitions(export_files.name, [export_file.name])
            with psycopg.connect(db_url, autocommit=True) as conn:
                from koito_assets.defs.imports import ledger

                ledger.register_file(conn, export_file.name, export_file)
            result = dg.materialize(
                IMPORT_ASSETS,
                partition_key=export_file.name,
                instance=instance,
                resources=import_resources(
                    db_url, SettingsResource(overrides={"KOITO_CONFIG_DIR": str(tmp_path)})
                ),
                raise_on_error=False,
            )
    finally:
        stop.set()
        killer.join()
    assert kills and kills[0] >= 1
    retried = [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert retried, "the lost connection should have been retried"
    assert result.success
    with psycopg.connect(db_url) as conn:
        assert (
            conn.execute("SELECT status FROM koito_import.import_files").fetchone()[0] == "complete"
        )


def test_a_database_that_stays_down_fails_the_run_with_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("KOITO_CONFIG_DIR", str(tmp_path))
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(export_files.name, ["maloja_export_x.json"])
        result = dg.materialize(
            IMPORT_ASSETS,
            partition_key="maloja_export_x.json",
            instance=instance,
            resources=import_resources(
                "postgresql://koito:secret@127.0.0.1:1/koito",
                SettingsResource(overrides={"KOITO_CONFIG_DIR": str(tmp_path)}),
            ),
            raise_on_error=False,
        )
    assert not result.success
    messages = " ".join(str(e.event_specific_data) for e in result.all_events if e.is_failure)
    assert "127.0.0.1:1" in messages and "secret" not in messages
