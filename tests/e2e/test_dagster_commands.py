"""The first commands a Dagster user types in the repository root work as they are.

No DAGSTER_HOME and no variable of `make run`: `dagster definitions validate`, `dagster asset
materialize` and `dagster dev` run on Dagster's own instance defaults, with the Koito database
from KOITO_DATABASE_URL (the embedded server when it is unset, as for `make run`).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DAGSTER = str(Path(sys.executable).parent / "dagster")


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KOITO_", "DAGSTER_"))}
    env.update(extra)
    return env


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [DAGSTER, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def test_definitions_validate_by_module_and_by_workspace(tmp_path: Path):
    env = _clean_env(KOITO_CONFIG_DIR=str(tmp_path))
    for target in (["-m", "koito_assets.definitions"], ["-w", "workspace.yaml"]):
        result = _run("definitions", "validate", *target, env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Validation successful" in result.stdout + result.stderr


def test_asset_materialize_runs_an_asset(db_url: str, tmp_path: Path):
    env = _clean_env(
        KOITO_DATABASE_URL=db_url,
        KOITO_CONFIG_DIR=str(tmp_path),
        KOITO_DISABLE_DEEZER="true",
        KOITO_DISABLE_COVER_ART_ARCHIVE="true",
    )
    result = _run(
        "asset",
        "materialize",
        "-m",
        "koito_assets.definitions",
        "--select",
        "images_backfilled",
        env=env,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "RUN_SUCCESS" in result.stdout + result.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


ASSET_KEYS = "{ assetNodes { assetKey { path } } }"


def test_dagster_dev_serves_the_asset_graph(db_url: str, tmp_path: Path):
    port = _free_port()
    env = _clean_env(KOITO_DATABASE_URL=db_url, KOITO_CONFIG_DIR=str(tmp_path))
    log = (tmp_path / "dev.log").open("w")
    proc = subprocess.Popen(
        [DAGSTER, "dev", "-h", "127.0.0.1", "-p", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        keys = None
        while time.monotonic() < deadline and keys is None:
            assert proc.poll() is None, (tmp_path / "dev.log").read_text()[-3000:]
            try:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/graphql",
                    data=json.dumps({"query": ASSET_KEYS}).encode(),
                    headers={"Content-Type": "application/json"},
                )
                with urllib.request.urlopen(request, timeout=5) as response:
                    nodes = json.loads(response.read())["data"]["assetNodes"]
                keys = sorted("/".join(n["assetKey"]["path"]) for n in nodes) or None
            except (OSError, KeyError, TypeError):
                time.sleep(1)
        assert keys == [
            "images_backfilled",
            "koito_export",
            "koito_library",
            "koito_library_export",
            "koito_sqlite_merged",
            "listening_report",
            "listens_loaded",
            "raw_scrobbles",
            "resolved_lookup",
            "unique_entity_keys",
        ], (tmp_path / "dev.log").read_text()[-3000:]
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
