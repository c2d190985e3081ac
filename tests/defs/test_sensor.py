"""The import-folder sensor: new, changed, unchanged and removed files, files of one content or
one name, and a big folder in one tick."""

from __future__ import annotations

import os
import time
from pathlib import Path

import dagster as dg
import psycopg
import pytest

from koito_assets.defs.imports import ledger
from koito_assets.defs.imports.sensors import import_folder_sensor
from koito_assets.settings_resource import SettingsResource
from tests.defs.resources import import_resources


@pytest.fixture
def import_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "import"
    folder.mkdir()
    return folder


def tick(db_url: str, instance: dg.DagsterInstance, import_dir: Path):
    settings = SettingsResource(overrides={"KOITO_CONFIG_DIR": str(import_dir.parent)})
    resources = import_resources(db_url, settings)
    with dg.build_sensor_context(instance=instance, resources=resources) as context:
        return import_folder_sensor(context)


def _requested(result) -> list[str]:
    assert isinstance(result, dg.SensorResult), result
    added = result.dynamic_partitions_requests[0].partition_keys
    assert sorted(added) == sorted(r.partition_key for r in result.run_requests)
    return sorted(r.partition_key for r in result.run_requests)


def _record_done(db_url: str, path: Path) -> None:
    """What an import run leaves in the ledger for this version of the file."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        ledger.register_file(conn, path.name, path)
        ledger.update_file(conn, path.name, status="complete")


def test_new_files_become_partitions_and_runs_in_one_tick(db_url, import_dir):
    for name in ("maloja_export_a.json", "recenttracks-me-1.json"):
        (import_dir / name).write_text(f'{{"file": "{name}"}}')
    (import_dir / ".hidden").write_text("x")
    (import_dir / "subdir").mkdir()
    with dg.DagsterInstance.ephemeral() as instance:
        result = tick(db_url, instance, import_dir)
    assert _requested(result) == ["maloja_export_a.json", "recenttracks-me-1.json"]
    keys = {r.run_key for r in result.run_requests}
    assert len(keys) == 2 and all(k.startswith(("maloja", "recent")) for k in keys)


def test_unchanged_files_are_not_requested_again_and_changed_ones_are(db_url, import_dir):
    done = import_dir / "maloja_export_a.json"
    done.write_text('{"scrobbles": []}')
    _record_done(db_url, done)
    failed = import_dir / "maloja_export_b.json"
    failed.write_text("{broken")
    with psycopg.connect(db_url, autocommit=True) as conn:
        ledger.register_file(conn, failed.name, failed)
        ledger.mark_failed(conn, failed.name, "truncated JSON")
    with dg.DagsterInstance.ephemeral() as instance:
        assert isinstance(tick(db_url, instance, import_dir), dg.SkipReason)
        failed.write_text('{"scrobbles": [] }')  # the user fixed the file: new size, new mtime
        os.utime(failed, ns=(time.time_ns(), time.time_ns() + 1_000_000))
        assert _requested(tick(db_url, instance, import_dir)) == ["maloja_export_b.json"]


def test_one_content_under_two_names_is_one_partition(db_url, import_dir):
    (import_dir / "maloja_export_a.json").write_text('{"scrobbles": []}')
    (import_dir / "maloja_export_a (copy).json").write_text('{"scrobbles": []}')
    with dg.DagsterInstance.ephemeral() as instance:
        requested = _requested(tick(db_url, instance, import_dir))
    assert len(requested) == 1
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM koito_import.import_files").fetchone()[0] == 1


def test_a_new_file_with_a_known_name_is_a_new_partition(db_url, import_dir):
    """Two Spotify downloads both hold Streaming_History_Audio_2023_0.json."""
    first = import_dir / "Streaming_History_Audio_2023_0.json"
    first.write_text('[{"download": 1}]')
    with dg.DagsterInstance.ephemeral() as instance:
        assert _requested(tick(db_url, instance, import_dir)) == [first.name]
        complete = import_dir.parent / "import_complete"
        complete.mkdir()
        moved = complete / first.name
        first.rename(moved)  # what the first run does when it finishes
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute("UPDATE koito_import.import_files SET path = %s", (str(moved),))
        first.write_text('[{"download": 2}]')  # the second download, same name
        (second,) = _requested(tick(db_url, instance, import_dir))
    sha = ledger.content_sha256(first)
    assert second == f"{first.name} ({sha[:8]})"
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT file_key, name, path FROM koito_import.import_files ORDER BY id"
        ).fetchall()
    assert rows == [(first.name, first.name, str(moved)), (second, first.name, str(first))]


def test_removed_files_are_not_requested(db_url, import_dir):
    path = import_dir / "maloja_export_a.json"
    path.write_text("{}")
    with dg.DagsterInstance.ephemeral() as instance:
        assert _requested(tick(db_url, instance, import_dir)) == ["maloja_export_a.json"]
        path.unlink()
        assert isinstance(tick(db_url, instance, import_dir), dg.SkipReason)


def test_a_folder_of_5000_files_is_handled_in_one_tick_under_5_seconds(db_url, import_dir):
    for i in range(5000):
        (import_dir / f"maloja_export_{i:05d}.json").write_text(f'{{"n": {i}}}')
    with dg.DagsterInstance.ephemeral() as instance:
        started = time.perf_counter()
        result = tick(db_url, instance, import_dir)
        elapsed = time.perf_counter() - started
    assert len(_requested(result)) == 5000
    assert elapsed < 5.0, elapsed


def test_an_import_that_stopped_half_way_is_requested_again_once_stale(db_url, import_dir):
    path = import_dir / "maloja_export_a.json"
    path.write_text('{"scrobbles": []}')
    with psycopg.connect(db_url, autocommit=True) as conn:
        ledger.register_file(conn, path.name, path)
        ledger.update_file(conn, path.name, status="staged")  # the run died after raw_scrobbles
    with dg.DagsterInstance.ephemeral() as instance:
        # recent: it may still be running
        assert isinstance(tick(db_url, instance, import_dir), dg.SkipReason)
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute(
                "UPDATE koito_import.import_files SET updated_at = now() - interval '1 hour'"
            )
        result = tick(db_url, instance, import_dir)
        assert _requested(result) == ["maloja_export_a.json"]
        assert ":resume-" in result.run_requests[0].run_key


def test_a_stalled_file_with_a_run_still_in_progress_is_left_to_that_run(db_url, import_dir):
    from dagster._core.test_utils import create_run_for_test

    path = import_dir / "maloja_export_a.json"
    path.write_text('{"scrobbles": []}')
    with psycopg.connect(db_url, autocommit=True) as conn:
        ledger.register_file(conn, path.name, path)
        conn.execute(
            "UPDATE koito_import.import_files "
            "SET status = 'keyed', updated_at = now() - interval '1 hour'"
        )
    with dg.DagsterInstance.ephemeral() as instance:
        create_run_for_test(
            instance,
            job_name="import_export_file",
            status=dg.DagsterRunStatus.STARTED,
            tags={"dagster/partition": path.name},
        )
        assert isinstance(tick(db_url, instance, import_dir), dg.SkipReason)
