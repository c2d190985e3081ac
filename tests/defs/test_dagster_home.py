"""The persistent instance: a run whose process was killed is marked failed and gives back the
database-pool slots its step held, so later imports never wait for them."""

from __future__ import annotations

import hashlib
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import dagster as dg
from dagster._core.storage.dagster_run import DagsterRun

from koito_assets.dagster_home import (
    OWNER_TAG,
    fail_runs_of_ended_processes,
    owner_tags,
    persistent_instance,
)
from koito_assets.db.resource import DB_POOL
from koito_assets.settings import Settings


def _run(instance: dg.DagsterInstance, owner: str) -> str:
    run_id = str(uuid.uuid4())
    instance.add_run(
        DagsterRun(
            job_name="import_export_file",
            run_id=run_id,
            status=dg.DagsterRunStatus.STARTED,
            tags={OWNER_TAG: owner},
        )
    )
    instance.event_log_storage.claim_concurrency_slot(DB_POOL, run_id, "create_entities")
    return run_id


def test_a_killed_processs_run_fails_and_frees_its_slots(
    db_url: str, test_settings: Settings, tmp_path: Path
):
    settings = Settings.from_env({"KOITO_CONFIG_DIR": str(tmp_path)})
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        text=True,
        capture_output=True,
        check=True,
    )
    with persistent_instance(settings, db_url) as instance:
        instance.event_log_storage.set_concurrency_slots(DB_POOL, 2)
        killed = _run(instance, f"{socket.gethostname()}:{dead.stdout.strip()}:1")
        alive = _run(instance, owner_tags()[OWNER_TAG])
        elsewhere = _run(instance, "another-host:1:1")
        assert instance.event_log_storage.get_concurrency_info(DB_POOL).active_slot_count == 2

        assert fail_runs_of_ended_processes(instance) == [killed]

        assert instance.get_run_by_id(killed).status == dg.DagsterRunStatus.FAILURE
        for run_id in (alive, elsewhere):
            assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.STARTED
        info = instance.event_log_storage.get_concurrency_info(DB_POOL)
        assert {s.run_id for s in info.claimed_slots} == {alive}


def test_dagsters_database_appears_whole_and_a_killed_creation_is_cleared(db_url: str):
    import psycopg

    from koito_assets.dagster_home import dagster_database_name, ensure_dagster_database

    name = dagster_database_name(db_url)
    host = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]
    dead_pid = 2**22 + 7  # beyond any pid_max: no such process
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "dagster_creating_{host}_{dead_pid}"')
    ensure_dagster_database(db_url)
    ensure_dagster_database(db_url)  # a second start finds it and changes nothing
    with psycopg.connect(db_url, autocommit=True) as conn:
        names = {r[0] for r in conn.execute("SELECT datname FROM pg_database")}
    assert name in names and not any(n.startswith("dagster_creating_") for n in names)
    info = psycopg.conninfo.conninfo_to_dict(db_url)
    info["dbname"] = name
    with psycopg.connect(**info) as conn:
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables")}
    assert {"runs", "event_logs", "jobs", "alembic_version"} <= tables


def test_first_starts_at_once_all_find_one_whole_database(db_url: str):
    # Several processes starting on a fresh database each build Dagster's tables and then rename
    # them into place: one rename wins, the others give theirs up, none fails.
    import psycopg

    from koito_assets.dagster_home import dagster_database_name

    code = (
        "import sys; from koito_assets.dagster_home import ensure_dagster_database; "
        "ensure_dagster_database(sys.argv[1])"
    )
    starts = [
        subprocess.Popen([sys.executable, "-c", code, db_url], stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    errors = [start.communicate(timeout=120)[1] for start in starts]
    assert [start.returncode for start in starts] == [0, 0, 0, 0], errors
    with psycopg.connect(db_url, autocommit=True) as conn:
        names = {r[0] for r in conn.execute("SELECT datname FROM pg_database")}
    assert dagster_database_name(db_url) in names
    assert not any(n.startswith("dagster_creating_") for n in names)
