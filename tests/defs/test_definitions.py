"""All definitions load, and their shape is what the design says (a snapshot of keys, partitions, checks, jobs)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from koito_assets.definitions import defs

ROOT = Path(__file__).resolve().parents[2]

EXPECTED_SNAPSHOT = {
    "assets": {
        "raw_scrobbles": ("export_files", []),
        "unique_entity_keys": ("export_files", ["raw_scrobbles"]),
        "resolved_lookup": ("export_files", ["unique_entity_keys"]),
        "listens_loaded": ("export_files", ["resolved_lookup"]),
        "images_backfilled": (None, ["listens_loaded"]),
    },
    "checks": {
        ("listens_loaded", "counts_balance"),
        ("listens_loaded", "every_key_resolved"),
        ("listens_loaded", "every_listen_present"),
    },
    "jobs": {"import_export_file", "backfill_images"},
    "sensors": {"import_folder_sensor": "import_export_file"},
    "schedules": {"backfill_images_schedule": ("backfill_images", "0 * * * *")},
}


def _snapshot(definitions: dg.Definitions) -> dict:
    graph = definitions.resolve_asset_graph()
    assets = {}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if not node.is_materializable:
            continue
        partitions = node.partitions_def
        assets[key.to_user_string()] = (
            getattr(partitions, "name", None),
            sorted(k.to_user_string() for k in node.parent_keys),
        )
    checks = {(c.asset_key.to_user_string(), c.name) for c in graph.asset_check_keys}
    jobs = {j.name for j in definitions.resolve_all_job_defs() if not j.name.startswith("__")}
    sensors = {sensor.name: sensor.job_name for sensor in definitions.sensors or []}
    schedules = {s.name: (s.job_name, s.cron_schedule) for s in definitions.schedules or []}
    return {
        "assets": assets,
        "checks": checks,
        "jobs": jobs,
        "sensors": sensors,
        "schedules": schedules,
    }


def test_definitions_validate():
    dg.Definitions.validate_loadable(defs)


def test_asset_graph_snapshot():
    snapshot = _snapshot(defs)
    for section, expected in EXPECTED_SNAPSHOT.items():
        if isinstance(expected, dict):
            got = {k: v for k, v in snapshot[section].items() if k in expected}
            assert got == expected, section
        else:
            assert expected <= snapshot[section], section


def test_import_assets_use_the_database_pool_and_the_import_job_runs_in_process():
    graph = defs.resolve_asset_graph()
    for name in EXPECTED_SNAPSHOT["assets"]:
        node = graph.get(dg.AssetKey(name))
        assert node.pools == {"koito_db"}, name
    job = defs.resolve_job_def("import_export_file")
    assert job.executor_def.name == "in_process"
    assert job.tags.get("koito/kind") == "import"


def test_import_sensor_and_image_schedule_are_on_by_default():
    sensor = defs.resolve_sensor_def("import_folder_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    schedule = defs.resolve_schedule_def("backfill_images_schedule")
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING


def test_dagster_cli_validates_the_workspace(tmp_path):
    # An empty DAGSTER_HOME: the repo's dagster.yaml wants make run's storage URL, not needed here.
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "dagster"),
            "definitions",
            "validate",
            "-w",
            "workspace.yaml",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
