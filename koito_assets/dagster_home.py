"""The one persistent Dagster instance of `make run` and `koito-import`.

It lives in ``KOITO_CONFIG_DIR/dagster_home``; its runs, events and schedules go into a database of
its own on the Koito PostgreSQL server (``dagster`` on the embedded server, ``<db>_dagster``
elsewhere). So an import started from a terminal shows in the UI like one the sensor started,
whether or not the webserver is up.
"""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from urllib.parse import quote

import dagster as dg
import psutil
import psycopg
from psycopg import sql

from koito_assets.db.connection import (
    EMBEDDED_DAGSTER_DB,
    EMBEDDED_KOITO_DB,
    connect,
    ensure_database,
)
from koito_assets.settings import Settings

# pg_advisory_lock key held while an instance opens: "dagster_" in ASCII.
INSTANCE_SETUP_LOCK_KEY = 0x64_61_67_73_74_65_72_5F

# The storage URL reaches Dagster through the environment, so no password is written to disk.
DAGSTER_PG_URL_VAR = "KOITO_DAGSTER_PG_URL"

STORAGE_SECTION = f"""
storage:
  postgres:
    postgres_url:
      env: {DAGSTER_PG_URL_VAR}
"""


# The code location every process of the instance loads (the repository's workspace.yaml says
# the same, for a production webserver and daemon started by hand).
WORKSPACE = """\
load_from:
  - python_module:
      module_name: koito_assets.definitions
      attribute: defs
      location_name: koito
"""


def dagster_database_name(koito_url: str) -> str:
    """Dagster's database on the Koito server: ``dagster`` embedded, ``<db>_dagster`` elsewhere."""
    name = psycopg.conninfo.conninfo_to_dict(koito_url).get("dbname") or "koito"
    return EMBEDDED_DAGSTER_DB if name == EMBEDDED_KOITO_DB else f"{name}_dagster"


def dagster_storage_url(koito_url: str) -> str:
    """Dagster's database as a psycopg2 SQLAlchemy URL.

    dagster-postgres must use psycopg2: with SQLAlchemy 2.1 a plain ``postgresql://`` URL picks
    psycopg 3, and every event write then fails (docs/design.md §8.2).
    """
    info = psycopg.conninfo.conninfo_to_dict(koito_url)
    info["dbname"] = dagster_database_name(koito_url)
    return info_to_sqlalchemy_url(info)


def info_to_sqlalchemy_url(info: dict) -> str:
    """A libpq connection dict as a ``postgresql+psycopg2://`` URL (unix sockets included)."""
    user = quote(info.get("user") or "postgres", safe="")
    password = info.get("password")
    auth = f"{user}:{quote(password, safe='')}" if password else user
    host = info.get("host") or "localhost"
    params = []
    if host.startswith("/"):
        params.append(f"host={quote(host, safe='')}")
        netloc = f"{auth}@"
    else:
        netloc = f"{auth}@{host}"
    if info.get("port"):
        if host.startswith("/"):
            params.append(f"port={info['port']}")
        else:
            netloc += f":{info['port']}"
    query = ("?" + "&".join(params)) if params else ""
    return f"postgresql+psycopg2://{netloc}/{info['dbname']}{query}"


def ensure_dagster_database(koito_url: str) -> None:
    """Create Dagster's database with its tables, whole or not at all.

    Dagster creates its run, event and schedule tables one after the other; a process killed
    in between would leave a database every later start fails on. So the tables are made in a
    database of a temporary name, which is then renamed: the real name only ever holds them all.
    """
    name = dagster_database_name(koito_url)
    # Short and fixed in form (PostgreSQL cuts names at 63 bytes): this host, then this process.
    host = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]
    prefix = f"dagster_creating_{host}_"
    with connect(koito_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return
        for (leftover,) in conn.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s)", (prefix,)
        ).fetchall():
            pid = leftover.removeprefix(prefix)
            if pid.isdigit() and not psutil.pid_exists(int(pid)):  # a killed creation
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                        sql.Identifier(leftover)
                    )
                )
    creating = f"{prefix}{os.getpid()}"
    ensure_database(koito_url, creating)
    from dagster_postgres import DagsterPostgresStorage

    info = {**psycopg.conninfo.conninfo_to_dict(koito_url), "dbname": creating}
    # Building the storage creates its tables (its engines keep no connection open).
    DagsterPostgresStorage(info_to_sqlalchemy_url(info))
    with connect(koito_url, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (creating,)
        )
        # One process at a time decides: two renames racing to one name can both pass
        # PostgreSQL's own existence check, and the loser then fails on the catalogue's index.
        conn.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (name,))
        try:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                statement = sql.SQL("DROP DATABASE {} WITH (FORCE)").format(  # another was first
                    sql.Identifier(creating)
                )
            else:
                statement = sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                    sql.Identifier(creating), sql.Identifier(name)
                )
            conn.execute(statement)
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (name,))


def prepare_dagster_home(settings: Settings, koito_url: str) -> tuple[Path, dict[str, str]]:
    """Create Dagster's database and home; return the home and the environment it needs."""
    ensure_dagster_database(koito_url)
    home = (settings.config_dir / "dagster_home").absolute()
    home.mkdir(parents=True, exist_ok=True)
    instance_settings = (resources.files("koito_assets") / "dagster.yaml").read_text("utf-8")
    (home / "dagster.yaml").write_text(instance_settings + STORAGE_SECTION, encoding="utf-8")
    (home / "workspace.yaml").write_text(WORKSPACE, encoding="utf-8")
    return home, {"DAGSTER_HOME": str(home), DAGSTER_PG_URL_VAR: dagster_storage_url(koito_url)}


# Tags of a run this process executes itself: the process that owns it, to tell a run whose
# process was killed (its ops still hold their database-pool slots) from one still running.
OWNER_TAG = "koito/owner"
UNFINISHED = [
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def _process_identity(pid: int) -> str:
    """Host, pid and start time: a pid alone may be reused after the process is gone."""
    return f"{socket.gethostname()}:{pid}:{psutil.Process(pid).create_time():.0f}"


def owner_tags() -> dict[str, str]:
    """Tags that name this process as the owner of the runs it executes in-process."""
    return {OWNER_TAG: _process_identity(os.getpid())}


def _owner_gone(owner: str) -> bool:
    host, _, rest = owner.partition(":")
    pid, _, _started = rest.partition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another machine's run: not ours to judge
    try:
        return _process_identity(int(pid)) != owner
    except psutil.NoSuchProcess:
        return True


def fail_runs_of_ended_processes(instance: dg.DagsterInstance) -> list[str]:
    """Mark failed the in-process runs whose process ended without finishing them (killed), and
    free the database-pool slots their steps held; otherwise those slots stay taken forever and
    every later import waits for them. Returns the run ids."""
    records = instance.get_run_records(dg.RunsFilter(statuses=UNFINISHED))
    ended = []
    for record in records:
        run = record.dagster_run
        owner = run.tags.get(OWNER_TAG)
        if owner and _owner_gone(owner):
            instance.report_run_failed(
                run, "the process running it ended before the run finished (was it killed?)"
            )
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
            ended.append(run.run_id)
    return ended


@contextmanager
def persistent_instance(settings: Settings, koito_url: str) -> Iterator[dg.DagsterInstance]:
    """The persistent instance, opened in this process (the CLI's runs are recorded there)."""
    home, env = prepare_dagster_home(settings, koito_url)
    os.environ.update(env)  # read by Dagster when it loads home/dagster.yaml
    # Opening the instance creates its tables on a fresh database; two commands started at once
    # would both try (and one run fails): they take turns.
    with connect(koito_url, autocommit=True) as lock:
        lock.execute("SELECT pg_advisory_lock(%s)", (INSTANCE_SETUP_LOCK_KEY,))
        instance = dg.DagsterInstance.from_config(str(home))
    try:
        fail_runs_of_ended_processes(instance)
        yield instance
    finally:
        instance.dispose()
