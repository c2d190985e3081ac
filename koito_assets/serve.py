"""``make run``: the Dagster webserver and daemon on the Koito database, ready for export files.

Starts (or attaches to) the embedded PostgreSQL when KOITO_DATABASE_URL is unset, migrates the
Koito database, gives Dagster its own database on the same server, creates Koito's folders,
then runs ``dagster-webserver`` and ``dagster-daemon`` as children. Ctrl-C (or SIGTERM) stops
the children and then PostgreSQL, if this process was the last one using it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

from koito_assets.dagster_home import prepare_dagster_home
from koito_assets.db.bootstrap import prepare_database
from koito_assets.db.connection import (
    EMBEDDED_KOITO_DB,
    embedded_server,
    ensure_database,
    mask_url,
)
from koito_assets.settings import Settings, read_settings


def child_environment(settings: Settings, koito_url: str, dagster_env: dict[str, str]) -> dict:
    env = dict(os.environ)
    env.update(dagster_env)
    env["KOITO_CONFIG_DIR"] = str(settings.config_dir)
    # Children attach to the same server; passing the URL saves each step a server lookup.
    env["KOITO_DATABASE_URL"] = koito_url
    return env


def _start(cmd: list[str], env: dict) -> subprocess.Popen:
    # Own process group: a terminal's Ctrl-C reaches us once and we stop the children in order.
    return subprocess.Popen(cmd, env=env, start_new_session=True)


def _stop(children: list[subprocess.Popen], timeout: float = 20.0) -> None:
    for child in children:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for child in children:
        try:
            child.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()


def main() -> int:
    settings = read_settings()
    for folder in (settings.import_dir, settings.import_complete_dir, settings.image_cache_dir):
        folder.mkdir(parents=True, exist_ok=True)

    stop_requested = False

    def request_stop(signum, frame):  # noqa: ARG001 - signal handler signature
        nonlocal stop_requested
        stop_requested = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    with ExitStack() as stack:
        if settings.database_url:
            koito_url = settings.database_url
        else:
            server = stack.enter_context(embedded_server(settings))
            ensure_database(server.url(), EMBEDDED_KOITO_DB)
            koito_url = server.url(EMBEDDED_KOITO_DB)
        prepare_database(koito_url, settings)
        home, dagster_env = prepare_dagster_home(settings, koito_url)
        env = child_environment(settings, koito_url, dagster_env)
        bin_dir = Path(sys.executable).parent
        workspace = str(home / "workspace.yaml")
        children = [
            _start([str(bin_dir / "dagster-daemon"), "run", "-w", workspace], env),
            _start(
                [
                    str(bin_dir / "dagster-webserver"),
                    "-w",
                    workspace,
                    "-h",
                    settings.dagster_host,
                    "-p",
                    str(settings.dagster_port),
                ],
                env,
            ),
        ]
        print(f"koito-assets: Koito database {mask_url(koito_url)}", flush=True)
        print(f"koito-assets: drop export files into {settings.import_dir}", flush=True)
        print(
            f"koito-assets: Dagster UI on http://{settings.dagster_host}:{settings.dagster_port} "
            "(Ctrl-C stops everything)",
            flush=True,
        )
        try:
            while not stop_requested and all(c.poll() is None for c in children):
                time.sleep(0.5)
        finally:
            print("koito-assets: stopping…", flush=True)
            _stop(children)
        failed = [c for c in children if c.returncode not in (0, -signal.SIGTERM, None)]
    print("koito-assets: stopped", flush=True)
    return 1 if failed and not stop_requested else 0


if __name__ == "__main__":
    sys.exit(main())
