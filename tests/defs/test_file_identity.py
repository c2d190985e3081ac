"""A file is its content: one name for two files, two runs of one file, failed runs that report
only themselves, nothing overwritten in import_complete/, permanent errors not retried."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import dagster as dg
import psycopg
import pytest

from koito_assets.db.connection import DatabaseUnreachable
from koito_assets.defs.imports import file_lock, ledger
from koito_assets.defs.imports.assets import IMPORT_ASSETS
from koito_assets.defs.imports.ledger import ImportStatus
from koito_assets.defs.imports.ops import is_transient, transient_database_errors
from koito_assets.defs.imports.partitions import export_files
from koito_assets.settings_resource import SettingsResource
from tests.defs.exports import maloja_scrobble, write_maloja
from tests.defs.resources import import_resources


def cli(*args: str, env: dict[str, str]) -> subprocess.Popen:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("KOITO_")}
    full_env.update(env)
    return subprocess.Popen(
        [sys.executable, "-m", "koito_assets.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=full_env,
    )


def finish(process: subprocess.Popen) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=300)
    return process.returncode, out, err


def plays(first: int, count: int, artist: str) -> list[dict]:
    return [maloja_scrobble(first + n, [artist], f"Song {n}") for n in range(count)]


def count(url: str, sql: str, params=()) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchone()[0]


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> dict[str, str]:
    return {"KOITO_DATABASE_URL": db_url, "KOITO_CONFIG_DIR": str(tmp_path / "koito")}


def test_two_files_of_one_name_imported_at_once_are_two_imports(db_url, tmp_path, env):
    one = write_maloja(tmp_path / "a" / "same.json", plays(1_700_000_000, 40, "Band A"))
    two = write_maloja(tmp_path / "b" / "same.json", plays(1_710_000_000, 30, "Band B"))
    runs = [cli("import", str(path), "--json", env=env) for path in (one, two)]
    results = [finish(run) for run in runs]
    for code, _, err in results:
        assert code == 0, err
    summaries = [json.loads(out)["files"][0] for _, out, _ in results]
    assert sorted(s["listens_inserted"] for s in summaries) == [30, 40]
    assert len({s["partition"] for s in summaries}) == 2
    assert {s["partition"] for s in summaries} & {"same.json"}  # the first keeps the bare name
    assert count(db_url, "SELECT count(*) FROM listens") == 70
    assert count(db_url, "SELECT count(DISTINCT sha256) FROM koito_import.import_files") == 2


def test_one_file_imported_by_two_processes_at_once_is_imported_once(db_url, tmp_path, env):
    path = write_maloja(tmp_path / "maloja_export_x.json", plays(1_700_000_000, 50, "Band"))
    results = [finish(run) for run in [cli("import", str(path), env=env) for _ in range(2)]]
    for code, _, err in results:
        assert code == 0, err
        assert "Traceback" not in err and "Error" not in err
    assert count(db_url, "SELECT count(*) FROM listens") == 50
    assert count(db_url, "SELECT count(*) FROM koito_import.import_files") == 1
    # The second either joined the first (and says so) or ran after it and found every listen.
    joined = [out for _, out, _ in results if "imported by another run at the same time" in out]
    again = [out for _, out, _ in results if "0 listens inserted, 50 duplicates ignored" in out]
    assert len(joined) + len(again) == 1


def test_a_run_that_waited_for_another_reports_that_runs_import(db_url, tmp_path, env):
    """While another process holds the file, the CLI waits; when that one completes the file,
    the CLI reports it instead of importing it again."""
    path = write_maloja(tmp_path / "maloja_export_x.json", plays(1_700_000_000, 5, "Band"))
    with psycopg.connect(db_url, autocommit=True) as conn:
        claim = ledger.claim_file(
            conn, path, ledger.content_sha256(path), ledger.FileVersion.of(path)
        )
    assert not file_lock.hold(db_url, claim.file_id)
    try:
        process = cli("import", str(path), "--json", env=env)
        deadline = time.monotonic() + 120
        while not _waiting_for_lock(db_url) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _waiting_for_lock(db_url), "the CLI did not wait for the file"
        with psycopg.connect(db_url, autocommit=True) as conn:
            ledger.update_file(conn, claim.file_key, status=ImportStatus.COMPLETE, records=5)
    finally:
        file_lock.release(db_url, claim.file_id)
    code, out, err = finish(process)
    assert code == 0, err
    summary = json.loads(out)["files"][0]
    assert summary["note"] == "imported by another run at the same time"
    assert summary["records"] == 5
    assert "waiting for it" in err
    assert count(db_url, "SELECT count(*) FROM listens") == 0  # it did not import again


def _waiting_for_lock(url: str) -> bool:
    with psycopg.connect(url) as conn:
        return bool(
            conn.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            ).fetchone()[0]
        )


def test_a_failed_run_reports_its_own_error_and_no_earlier_counts(db_url, tmp_path, env):
    good = write_maloja(tmp_path / "a" / "maloja_export.json", plays(1_700_000_000, 20, "Band"))
    bad = tmp_path / "b" / "maloja_export.json"
    bad.parent.mkdir()
    bad.write_text('{"scrobbles": [{"time": 1700000000, "track": ')  # cut short
    assert finish(cli("import", str(good), env=env))[0] == 0
    code, out, err = finish(cli("import", str(bad), "--json", env=env))
    assert code == 2
    summary = json.loads(out)["files"][0]
    assert summary["error"] == "maloja_export.json: byte 45: truncated JSON (Expecting value)"
    assert (summary["records"], summary["listens_inserted"], summary["format"]) == (0, 0, None)
    assert err.splitlines() == [f"koito-import: {summary['error']}"]  # one line, on stderr too


@pytest.mark.parametrize("kind", ["directory", "fifo", "device"])
def test_anything_unreadable_exits_2_in_one_line(tmp_path, env, kind):
    if kind == "directory":
        path, expected = tmp_path / "folder.json", "not a regular file but a directory"
        path.mkdir()
    elif kind == "fifo":
        path, expected = tmp_path / "pipe.json", "not a regular file but a pipe (FIFO)"
        os.mkfifo(path)
    else:
        path, expected = Path("/dev/zero"), "not a regular file but a device"
    for extra in ([], ["--json"]):
        code, out, err = finish(cli("import", str(path), *extra, env=env))
        assert code == 2
        assert err == f"koito-import: {path.name}: {expected}\n"
        if extra:
            assert json.loads(out)["files"][0]["error"] == f"{path.name}: {expected}"


# --- the pipeline in the import folder ----------------------------------------------------------


def materialize(db_url, settings, key, instance):
    instance.add_dynamic_partitions(export_files.name, [key])
    return dg.materialize(
        IMPORT_ASSETS,
        partition_key=key,
        instance=instance,
        resources=import_resources(db_url, settings),
        raise_on_error=False,
    )


def test_nothing_in_import_complete_is_overwritten(db_url, tmp_path):
    """Two Spotify downloads both hold Streaming_History_Audio_2023_0.json (Maloja's here)."""
    settings = SettingsResource(overrides={"KOITO_CONFIG_DIR": str(tmp_path)})
    inbox, done = tmp_path / "import", tmp_path / "import_complete"
    name = "maloja_export_2023_0.json"
    first = write_maloja(inbox / name, plays(1_700_000_000, 10, "First"))
    first_content = first.read_bytes()
    with dg.DagsterInstance.ephemeral() as instance:
        assert materialize(db_url, settings, name, instance).success
        second = write_maloja(inbox / name, plays(1_710_000_000, 7, "Second"))
        second_content = second.read_bytes()
        with psycopg.connect(db_url, autocommit=True) as conn:
            claim = ledger.claim_file(
                conn, second, ledger.content_sha256(second), ledger.FileVersion.of(second)
            )
        assert claim.file_key.startswith(f"{name} (")
        assert materialize(db_url, settings, claim.file_key, instance).success
    assert (done / name).read_bytes() == first_content  # the first stays as it was
    (kept,) = [p for p in done.iterdir() if p.name != name]
    assert kept.name.startswith("maloja_export_2023_0.imported-") and kept.suffix == ".json"
    assert kept.read_bytes() == second_content
    with psycopg.connect(db_url) as conn:
        paths = dict(conn.execute("SELECT file_key, path FROM koito_import.import_files"))
    assert paths == {name: str(done / name), claim.file_key: str(kept)}
    assert count(db_url, "SELECT count(*) FROM listens") == 17


# --- permanent database errors ------------------------------------------------------------------


def test_a_permanent_database_error_is_not_transient(conn):
    artist = conn.execute("INSERT INTO artists DEFAULT VALUES RETURNING id").fetchone()[0]
    noise = "".join(chr(0x4E00 + (n * 7919) % 20000) for n in range(3000))  # incompressible
    with pytest.raises(psycopg.errors.ProgramLimitExceeded) as caught:
        conn.execute(
            "INSERT INTO artist_aliases (artist_id, alias, source, is_primary) "
            "VALUES (%s, %s, 'Import', true)",
            (artist, noise),
        )
    assert isinstance(caught.value, psycopg.OperationalError)  # what made it look transient
    assert not is_transient(caught.value)

    class Context:
        log = dg.get_dagster_logger()

    with pytest.raises(psycopg.errors.ProgramLimitExceeded):
        with transient_database_errors(Context()):
            raise caught.value


def test_a_lost_connection_is_transient(db_url):
    with pytest.raises(psycopg.OperationalError) as refused:
        psycopg.connect("postgresql://koito@127.0.0.1:1/koito", connect_timeout=2)
    assert is_transient(refused.value)
    assert is_transient(DatabaseUnreachable("127.0.0.1:1"))
    with psycopg.connect(db_url, autocommit=True) as victim, psycopg.connect(db_url) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (victim.info.backend_pid,))
        with pytest.raises(psycopg.OperationalError) as terminated:
            victim.execute("SELECT 1")
    assert is_transient(terminated.value)

    class Context:
        log = dg.get_dagster_logger()

    with pytest.raises(dg.RetryRequested):
        with transient_database_errors(Context()):
            raise terminated.value


def test_the_statuses_are_the_tables(conn):
    check = conn.execute(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = 'koito_import.import_files'::regclass AND contype = 'c'"
    ).fetchone()[0]
    in_table = set(check.split("ARRAY[", 1)[1].split("]", 1)[0].replace("'", "").split(", "))
    in_table = {value.split("::")[0] for value in in_table}
    assert in_table == {status.value for status in ImportStatus}


def test_the_lock_is_one_per_file_and_goes_with_its_connection(db_url):
    assert not file_lock.hold(db_url, 42)
    assert not file_lock.hold(db_url, 42)  # re-entrant in one process
    waited = threading.Event()
    result: list[bool] = []

    def other_process() -> None:  # another session: must wait
        with psycopg.connect(db_url, autocommit=True) as conn:
            if not conn.execute(
                "SELECT pg_try_advisory_lock(%s, 42)", (file_lock.LOCK_CLASS,)
            ).fetchone()[0]:
                waited.set()
                conn.execute("SELECT pg_advisory_lock(%s, 42)", (file_lock.LOCK_CLASS,))
            result.append(True)

    thread = threading.Thread(target=other_process)
    thread.start()
    assert waited.wait(10)
    file_lock.release(db_url, 42)
    thread.join(10)
    assert result == [True]
