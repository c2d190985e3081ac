"""End to end, as a new user: `make run`'s launcher, an export dropped into the import folder,
then one imported from a terminal with `koito-import import`.

The real webserver and daemon run (embedded PostgreSQL, no KOITO_DATABASE_URL); the test talks
to them over GraphQL only, then stops everything with SIGINT like Ctrl-C.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import psycopg

from tests.defs.exports import maloja_scrobble, sample_scrobbles, write_maloja

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _graphql(port: int, query: str, variables: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        body = json.loads(response.read())
    assert "errors" not in body, body
    return body["data"]


def _wait(predicate, timeout: float, what: str, proc: subprocess.Popen):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"make run exited early while waiting for {what}"
        value = predicate()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


RUNS = """
query Runs($partition: String!) {
  runsOrError(filter: {tags: [{key: "dagster/partition", value: $partition}]}) {
    ... on Runs { results { runId status jobName } }
  }
}
"""

MATERIALIZATIONS = """
query Materializations($partition: String!) {
  assetOrError(assetKey: {path: ["listens_loaded"]}) {
    ... on Asset {
      assetMaterializations(partitions: [$partition]) {
        runId
        partition
        metadataEntries { label ... on IntMetadataEntry { intValue } }
      }
    }
  }
}
"""

REPORT = """
query Report($partition: String!) {
  assetOrError(assetKey: {path: ["listening_report"]}) {
    ... on Asset {
      assetMaterializations(partitions: [$partition]) {
        runId
        metadataEntries {
          label
          ... on IntMetadataEntry { intValue }
          ... on MarkdownMetadataEntry { mdStr }
          ... on TableMetadataEntry { table { records } }
        }
      }
    }
  }
}
"""

LIBRARY = """
query Library {
  assetOrError(assetKey: {path: ["koito_library"]}) {
    ... on Asset {
      assetMaterializations(limit: 5) {
        runId
        metadataEntries { label ... on IntMetadataEntry { intValue } }
      }
    }
  }
}
"""

CHECKS = """
query Checks($name: String!) {
  assetCheckExecutions(assetKey: {path: ["listens_loaded"]}, checkName: $name, limit: 5) {
    status
    evaluation { success }
  }
}
"""


def test_dropping_an_export_into_the_import_folder_imports_it(tmp_path: Path):
    config = tmp_path / "koito"
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KOITO_", "DAGSTER_"))}
    env.update({"KOITO_CONFIG_DIR": str(config), "KOITO_DAGSTER_PORT": str(port)})
    log = (tmp_path / "run.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "koito_assets.serve"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:

        def ready():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2):
                    return True
            except OSError:
                return False

        _wait(ready, 90, "the Dagster UI", proc)
        export = write_maloja(tmp_path / "maloja_export_e2e.json", sample_scrobbles())
        shutil.copy(export, config / "import" / export.name)

        def finished():
            runs = _graphql(port, RUNS, {"partition": export.name})["runsOrError"]["results"]
            done = [r for r in runs if r["status"] in ("SUCCESS", "FAILURE", "CANCELED")]
            return done[0] if done else None

        run = _wait(finished, 150, "the import run", proc)
        assert run["status"] == "SUCCESS", (tmp_path / "run.log").read_text()[-3000:]
        assert run["jobName"] == "import_export_file"
        for check in ("counts_balance", "every_key_resolved", "every_listen_present"):
            executions = _graphql(port, CHECKS, {"name": check})["assetCheckExecutions"]
            assert executions and executions[0]["evaluation"]["success"], (check, executions)
        # The file's listening report and the library's totals, as the UI reads them.
        (report,) = _graphql(port, REPORT, {"partition": export.name})["assetOrError"][
            "assetMaterializations"
        ]
        assert report["runId"] == run["runId"]
        entries = {e["label"]: e for e in report["metadataEntries"]}
        counts = {k: entries[k]["intValue"] for k in ("listens", "new_listens", "repeats_in_file")}
        assert counts == {"listens": 8, "new_listens": 7, "repeats_in_file": 1}
        assert entries["already_in_database"]["intValue"] == 0
        assert "](data:image/svg+xml;base64," in entries["listens_per_month_chart"]["mdStr"]
        months = [json.loads(r) for r in entries["listens_per_month"]["table"]["records"]]
        assert months == [{"month": "2023-11", "listens": 8}]
        top = [json.loads(r)["artist"] for r in entries["top_artists"]["table"]["records"]]
        assert top[0] == "Example Band"
        library = _graphql(port, LIBRARY)["assetOrError"]["assetMaterializations"]
        assert library[0]["runId"] == run["runId"]
        totals = {e["label"]: e.get("intValue") for e in library[0]["metadataEntries"]}
        assert totals["listens"] == 7 and totals["files_imported"] == 1
        assert (config / "import_complete" / export.name).is_file()
        assert not (config / "import" / export.name).exists()
        url = f"postgresql://postgres@/koito?host={config / 'postgres'}&port=5432"
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT count(*) FROM listens").fetchone()[0] == 7

        # The same instance records an import started from a terminal, webserver up or not.
        terminal = write_maloja(
            tmp_path / "elsewhere" / "maloja_export_terminal.json",
            [
                maloja_scrobble(1700100000 + 60 * i, ["Terminal Band"], f"Song {i}")
                for i in range(3)
            ],
        )
        cli = subprocess.run(
            [sys.executable, "-m", "koito_assets.cli", "import", str(terminal)],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert cli.returncode == 0, cli.stderr
        runs = _graphql(port, RUNS, {"partition": terminal.name})["runsOrError"]["results"]
        assert [(r["status"], r["jobName"]) for r in runs] == [("SUCCESS", "import_export_file")]
        asset = _graphql(port, MATERIALIZATIONS, {"partition": terminal.name})["assetOrError"]
        (materialization,) = asset["assetMaterializations"]
        assert materialization["runId"] == runs[0]["runId"]
        entries = {e["label"]: e.get("intValue") for e in materialization["metadataEntries"]}
        assert entries["listens_inserted"] == 3
    finally:
        children = psutil.Process(proc.pid).children(recursive=True) if proc.poll() is None else []
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(60)
        finally:
            log.close()
    assert proc.returncode == 0, (tmp_path / "run.log").read_text()[-3000:]
    gone, alive = psutil.wait_procs(children, timeout=10)
    assert alive == [], [p.pid for p in alive]
    pid_file = config / "postgres" / "postmaster.pid"
    assert not pid_file.exists() or not psutil.pid_exists(int(pid_file.read_text().split()[0]))
