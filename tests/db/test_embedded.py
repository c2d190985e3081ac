"""The embedded server: shared by processes, stopped by the last one, recovered after crashes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import psycopg

from koito_assets.db.embedded import EmbeddedServer


def _postmaster_pid(data_dir: Path) -> int | None:
    pid_file = data_dir / "postmaster.pid"
    if not pid_file.exists():
        return None
    pid = int(pid_file.read_text().splitlines()[0])
    return pid if psutil.pid_exists(pid) else None


def _run_child(data_dir: Path, body: str) -> subprocess.CompletedProcess:
    script = textwrap.dedent(
        f"""
        import psycopg
        from pathlib import Path
        from koito_assets.db.embedded import EmbeddedServer
        server = EmbeddedServer(Path({str(data_dir)!r}))
        server.start()
        """
    ) + textwrap.dedent(body)
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )


def _wait_gone(pid: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            return True
        time.sleep(0.05)
    return False


def test_second_process_reuses_the_running_server_and_the_last_one_stops_it(tmp_path: Path):
    data_dir = tmp_path / "pg"
    server = EmbeddedServer(data_dir)
    server.start()
    pid = _postmaster_pid(data_dir)
    assert pid
    child = _run_child(
        data_dir,
        """
        with psycopg.connect(server.url()) as c:
            print(c.execute("select pg_backend_pid() > 0").fetchone()[0])
        import os
        from koito_assets.db.embedded import _prune_dead_handles
        print(sorted(_prune_dead_handles(Path(server.data_dir))) != [os.getpid()])
        print("stopped" if server.stop() else "kept")
        """,
    )
    assert child.returncode == 0, child.stderr
    assert child.stdout.split() == ["True", "True", "kept"]
    assert _postmaster_pid(data_dir) == pid  # same server, still running
    with psycopg.connect(server.url()) as conn:
        assert conn.execute("select 1").fetchone() == (1,)
    assert server.stop() is True
    assert _wait_gone(pid)


def test_a_killed_process_does_not_keep_the_server_alive_forever(tmp_path: Path):
    data_dir = tmp_path / "pg"
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import time
            from pathlib import Path
            from koito_assets.db.embedded import EmbeddedServer
            EmbeddedServer(Path({str(data_dir)!r})).start()
            print("ready", flush=True)
            time.sleep(60)
        """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout.readline().strip() == "ready"
    child.send_signal(signal.SIGKILL)
    child.wait()
    pid = _postmaster_pid(data_dir)
    assert pid  # the killed process left the server running, and its id in the handle list

    server = EmbeddedServer(data_dir)
    server.start()
    assert _postmaster_pid(data_dir) == pid
    assert server.stop() is True  # the dead handle was dropped, so we were the last user
    assert _wait_gone(pid)


def test_server_restarts_after_postgres_itself_crashed(tmp_path: Path):
    data_dir = tmp_path / "pg"
    server = EmbeddedServer(data_dir)
    server.start()
    pid = _postmaster_pid(data_dir)
    os.kill(pid, signal.SIGKILL)  # a stale postmaster.pid stays behind
    assert _wait_gone(pid)
    for proc in psutil.process_iter(["cmdline"]):  # orphaned backends exit on postmaster death
        if (
            proc.info["cmdline"]
            and "postgres:" in " ".join(proc.info["cmdline"])
            and str(data_dir) in " ".join(proc.info["cmdline"])
        ):
            proc.wait(10)
    assert (data_dir / "postmaster.pid").exists()
    server._server = None  # this process's handle died with the server

    again = EmbeddedServer(data_dir)
    again.start()
    with psycopg.connect(again.url()) as conn:
        assert conn.execute("select 1").fetchone() == (1,)
    assert _postmaster_pid(data_dir) != pid
    assert again.stop() is True
