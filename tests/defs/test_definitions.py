"""All definitions load, and their shape is exactly the recorded snapshot.

The snapshot (``definitions_snapshot.json``) holds every asset spec (key, deps, group, kinds,
tags, pools, partitions, description, the ops behind it), every check, job selection, sensor and
schedule. It is compared for equality: a lost check, a changed dependency or a renamed op fails.
Change it on purpose: ``KOITO_UPDATE_SNAPSHOT=1 pytest tests/defs/test_definitions.py``, then
read the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg
import pytest

from koito_assets.definitions import defs as lazy_defs

SNAPSHOT = Path(__file__).with_name("definitions_snapshot.json")


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    return lazy_defs()


def _ops(assets_def: dg.AssetsDefinition) -> list[str]:
    node = assets_def.node_def
    return list(node.node_names()) if isinstance(node, dg.GraphDefinition) else [node.name]


def snapshot(definitions: dg.Definitions) -> dict:
    """Everything a newcomer would expect to stay put, as plain JSON."""
    graph = definitions.resolve_asset_graph()
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        if not node.is_materializable:
            continue
        assets[key.to_user_string()] = {
            "deps": sorted(k.to_user_string() for k in node.parent_keys),
            "group": node.group_name,
            "kinds": sorted(node.kinds),
            "tags": dict(sorted(node.tags.items())),
            "pools": sorted(node.pools or []),
            "partitions": getattr(node.partitions_def, "name", None),
            "description": node.description,
            "ops": _ops(node.assets_def),
        }
    checks = sorted(
        [c.asset_key.to_user_string(), c.name, graph.get_check_spec(c).description]
        for c in graph.asset_check_keys
    )
    jobs = {}
    for job in sorted(definitions.resolve_all_job_defs(), key=lambda j: j.name):
        if job.name.startswith("__"):
            continue
        jobs[job.name] = {
            "assets": sorted(k.to_user_string() for k in job.asset_layer.executable_asset_keys),
            "executor": job.executor_def.name,
            "tags": dict(sorted(job.tags.items())),
        }
    sensors = {
        s.name: {
            "job": s.job_name,
            "default_status": s.default_status.value,
            "minimum_interval_seconds": s.minimum_interval_seconds,
        }
        for s in definitions.sensors or []
    }
    schedules = {
        s.name: {
            "job": s.job_name,
            "cron": s.cron_schedule,
            "timezone": s.execution_timezone,
            "default_status": s.default_status.value,
        }
        for s in definitions.schedules or []
    }
    return {
        "assets": assets,
        "checks": checks,
        "jobs": jobs,
        "sensors": sensors,
        "schedules": schedules,
        "resources": sorted(definitions.resources or {}),
    }


def test_definitions_validate(defs: dg.Definitions):
    dg.Definitions.validate_loadable(defs)


def test_definitions_are_exactly_the_snapshot(defs: dg.Definitions):
    current = json.loads(json.dumps(snapshot(defs)))  # tuples and the like as JSON sees them
    if os.environ.get("KOITO_UPDATE_SNAPSHOT") == "1":
        SNAPSHOT.write_text(json.dumps(current, indent=2, ensure_ascii=False) + "\n")
    assert current == json.loads(SNAPSHOT.read_text())


def test_every_step_of_the_import_shares_the_database_pool_and_runs_in_process(
    defs: dg.Definitions,
):
    job = defs.resolve_job_def("import_export_file")
    assert job.executor_def.name == "in_process"
    pools = {op.name: op.pool for op in job.graph.iterate_op_defs()}
    # six import steps, the report and the totals, and the merge into a Koito SQLite database
    assert len(pools) == 9 and set(pools.values()) == {"koito_db"}, pools
