"""koito_sqlite_merged in the import job: off unless KOITO_SQLITE_DB is set, then every import
lands in Koito's SQLite database too, with its report as metadata."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import dagster as dg
import psycopg
import pytest

from koito_assets.commands.import_files import import_one
from koito_assets.db.connection import connect
from koito_assets.db.resource import KoitoDatabase
from koito_assets.defs.imports import ledger
from koito_assets.defs.imports.jobs import IMPORT_JOB_ASSETS, import_job
from koito_assets.defs.imports.partitions import export_files
from koito_assets.defs.sqlite_merge import assets as merge_assets
from koito_assets.settings_resource import SettingsResource
from tests.defs.exports import maloja_scrobble, sample_scrobbles, write_maloja
from tests.to_koito.koito_sqlite import connect as koito_connect
from tests.to_koito.koito_sqlite import create_koito_db

ASSET = "koito_sqlite_merged"


def _run(db_url: str, path: Path, instance: dg.DagsterInstance, overrides: dict[str, str]):
    settings = SettingsResource(
        overrides={"KOITO_DISABLE_MUSICBRAINZ": "true", "KOITO_SQLITE_DB": "", **overrides}
    )
    resources = {
        "settings": settings,
        "db": KoitoDatabase(url=db_url, settings=settings),
        "io_manager": dg.mem_io_manager,
    }
    job = dg.Definitions(
        assets=IMPORT_JOB_ASSETS, jobs=[import_job], resources=resources
    ).resolve_job_def(import_job.name)
    with connect(db_url, autocommit=True) as conn:
        ledger.register_file(conn, path.name, path)
    instance.add_dynamic_partitions(export_files.name, [path.name])
    return job.execute_in_process(partition_key=path.name, instance=instance, raise_on_error=False)


def _metadata(result: dg.ExecuteInProcessResult) -> dict:
    (event,) = result.asset_materializations_for_node(ASSET)
    return {k: v.value for k, v in event.metadata.items()}


def _listens(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT count(*) FROM listens").fetchone()[0]
    finally:
        conn.close()


def test_off_by_default_the_step_materialises_nothing(db_url: str, tmp_path: Path):
    export = write_maloja(tmp_path / "maloja_export_1.json", sample_scrobbles())
    with dg.DagsterInstance.ephemeral() as instance:
        result = _run(db_url, export, instance, {"KOITO_CONFIG_DIR": str(tmp_path / "koito")})
    assert result.success
    assert result.asset_materializations_for_node("listens_loaded")
    assert result.asset_materializations_for_node(ASSET) == []


def test_every_import_lands_in_the_koito_database_too(db_url: str, tmp_path: Path):
    koito = create_koito_db(tmp_path / "koito" / "koito.db")
    overrides = {"KOITO_CONFIG_DIR": str(tmp_path / "koito"), "KOITO_SQLITE_DB": str(koito)}
    first = write_maloja(tmp_path / "maloja_export_1.json", sample_scrobbles())
    second = write_maloja(
        tmp_path / "maloja_export_2.json",
        [maloja_scrobble(1_700_009_000, ["Example Band"], "Tide", "Shoreline")],
    )
    with dg.DagsterInstance.ephemeral() as instance:
        one = _run(db_url, first, instance, overrides)
        two = _run(db_url, second, instance, {**overrides, "KOITO_SQLITE_BACKUP": "false"})
    assert one.success and two.success
    meta = _metadata(one)
    assert (meta["listens_added"], meta["listens_already_present"]) == (7, 0)
    assert (meta["artists_created"], meta["releases_created"], meta["tracks_created"]) == (4, 3, 5)
    assert Path(meta["backup"]).name.startswith("koito.db.before-import-")
    assert "| artists | 0 | 4 |" in meta["entities"]
    meta = _metadata(two)  # only the listen the second file added
    assert (meta["listens_selected"], meta["listens_added"]) == (1, 1)
    assert meta["listens_already_present"] == 0
    assert meta["tracks_created"] == 0 and meta["backup"] == "none"
    assert _listens(koito) == 8


def test_a_koito_that_runs_fails_the_step_with_the_reason_and_keeps_the_import(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(merge_assets, "IN_USE_RETRIES", 1)
    monkeypatch.setattr(merge_assets, "IN_USE_WAIT_SECONDS", 0)
    monkeypatch.setattr(merge_assets, "LOCK_TIMEOUT_SECONDS", 0.2)
    koito = create_koito_db(tmp_path / "koito" / "koito.db")
    running = koito_connect(koito)
    running.execute("SELECT count(*) FROM users").fetchall()
    export = write_maloja(tmp_path / "maloja_export_1.json", sample_scrobbles())
    overrides = {"KOITO_CONFIG_DIR": str(tmp_path / "koito"), "KOITO_SQLITE_DB": str(koito)}
    try:
        with dg.DagsterInstance.ephemeral() as instance:
            result = _run(db_url, export, instance, overrides)
    finally:
        running.close()
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert failure.step_key == ASSET
    assert "stop Koito first" in str(failure.step_failure_data.error)
    with psycopg.connect(db_url) as conn:  # the import itself is done
        assert conn.execute("SELECT count(*) FROM listens").fetchone()[0] == 7
    assert _listens(koito) == 0


def test_the_import_command_reports_a_file_whose_merge_failed(db_url: str, tmp_path: Path):
    missing = tmp_path / "koito" / "koito.db"  # KOITO_SQLITE_DB names no file
    export = write_maloja(tmp_path / "maloja_export_1.json", sample_scrobbles())
    settings = SettingsResource(
        overrides={"KOITO_DISABLE_MUSICBRAINZ": "true", "KOITO_SQLITE_DB": str(missing)}
    )
    resources = {
        "settings": settings,
        "db": KoitoDatabase(url=db_url, settings=settings),
        "io_manager": dg.mem_io_manager,
    }
    job = dg.Definitions(
        assets=IMPORT_JOB_ASSETS, jobs=[import_job], resources=resources
    ).resolve_job_def(import_job.name)
    with dg.DagsterInstance.ephemeral() as instance:
        summary, code = import_one(export, instance, db_url, job)
    assert code == 1 and "no such file" in summary.error
    assert summary.listens_inserted == 7
