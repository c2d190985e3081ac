"""`koito-import export` as a user runs it: a real process, its output and its exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from koito_assets.to_koito.export_file import koito_reads_name
from tests.defs.exports import sample_scrobbles, write_maloja
from tests.to_koito.helpers import import_file, koito_importer_problems, load


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("KOITO_")}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "koito_assets.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=full_env,
    )


def test_export_to_a_folder_by_window_and_by_file(db_url, settings, tmp_path: Path):
    path = write_maloja(tmp_path / "in" / "maloja_export_1.json", sample_scrobbles())
    with dg.DagsterInstance.ephemeral() as instance:
        import_file(db_url, path, instance, settings)
    env = {"KOITO_DATABASE_URL": db_url, "KOITO_CONFIG_DIR": str(tmp_path / "koito")}
    out = tmp_path / "out"
    out.mkdir()

    everything = run_cli("export", str(out), "--json", env=env)
    assert everything.returncode == 0, everything.stderr
    summary = json.loads(everything.stdout)
    written = Path(summary["path"])
    assert written == out / "koito_export_library.json"
    assert summary["listens"] == 7 and summary["bytes"] == written.stat().st_size
    assert koito_importer_problems(load(written)) == []

    # a bare --until date takes in its whole day; the listens are on 2023-11-14 (UTC)
    for until in ("2023-11-14", "20231114"):
        window = run_cli(
            "export", str(out / "koito_window.json"), "--since", "2023-11-14T22:20:00Z",
            "--until", until, env=env,
        )  # fmt: skip
        assert window.returncode == 0, window.stderr
        assert "koito_window.json: 5 listens" in window.stdout
        assert len(load(out / "koito_window.json")["listens"]) == 5

    by_file = run_cli("export", str(out), "--file", str(path), "--json", env=env)
    assert by_file.returncode == 0, by_file.stderr
    assert json.loads(by_file.stdout)["listens"] == 7
    names = sorted(p.name for p in out.iterdir())
    assert len(names) == 3 and all(koito_reads_name(name) for name in names)


def test_errors_are_one_line_with_their_exit_code_and_leave_nothing(db_url, tmp_path: Path):
    env = {"KOITO_DATABASE_URL": db_url, "KOITO_CONFIG_DIR": str(tmp_path / "koito")}
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("")

    def one_line(result: subprocess.CompletedProcess) -> str:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
        return lines[0]

    unwritable = run_cli("export", str(blocker / "koito.json"), env=env)
    assert unwritable.returncode == 1
    assert "cannot write" in one_line(unwritable) and "not_a_folder" in unwritable.stderr

    missing_folder = run_cli("export", str(tmp_path / "out") + "/", env=env)
    assert missing_folder.returncode == 1
    assert "no such folder" in one_line(missing_folder)

    unknown = run_cli("export", str(tmp_path), "--file", "never_imported.json", env=env)
    assert unknown.returncode == 1
    assert "never_imported.json: no import file of that name" in one_line(unknown)

    unreachable = run_cli(
        "export",
        str(tmp_path),
        env={
            "KOITO_DATABASE_URL": "postgresql://koito:s3cret@127.0.0.1:1/koito",
            "KOITO_CONFIG_DIR": str(tmp_path / "koito"),
        },
    )
    assert unreachable.returncode == 3
    assert "127.0.0.1:1" in one_line(unreachable) and "s3cret" not in unreachable.stderr

    bad_time = run_cli("export", str(tmp_path), "--since", "last tuesday", env=env)
    assert bad_time.returncode == 2 and "not an ISO 8601 date or time" in bad_time.stderr

    assert [p.name for p in tmp_path.iterdir()] == ["not_a_folder"]
