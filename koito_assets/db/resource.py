"""The Dagster resource every database step uses: a psycopg connection pool on the Koito database.

With no URL configured it attaches to the embedded server (starting it if needed), so a step
never depends on another process having started PostgreSQL first. Nothing happens until the
first connection is asked for: a sensor tick that finds an empty folder costs no connection,
and the database is prepared (migrations, user 1, cache settings) once per process and URL.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import dagster as dg
import psycopg
from psycopg_pool import ConnectionPool
from pydantic import PrivateAttr

from koito_assets.db.bootstrap import is_prepared, prepare_database
from koito_assets.db.connection import open_database
from koito_assets.settings import Settings
from koito_assets.settings_resource import SettingsResource

# Dagster pool of every step that writes the Koito database; its limit lives in dagster.yaml.
DB_POOL = "koito_db"

_prepared: set[tuple[str, Settings]] = set()
_prepare_lock = threading.Lock()


def prepare_once(url: str, settings: Settings) -> None:
    """Prepare the database at ``url`` for these settings, once per process; a database that is
    already prepared (``make run`` and the CLI prepare it when they start) costs one query."""
    key = (url, settings)
    if key in _prepared:
        return
    with _prepare_lock:
        if key not in _prepared:
            if not is_prepared(url, settings):
                prepare_database(url, settings)
            _prepared.add(key)


class KoitoDatabase(dg.ConfigurableResource):
    """A pool of connections to the Koito database: opened on first use, closed after the step."""

    url: str | None = None  # None: KOITO_DATABASE_URL, else the embedded server
    max_size: int = 6
    settings: SettingsResource
    _pool: ConnectionPool | None = PrivateAttr(default=None)
    _stack: ExitStack | None = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self.close()

    def open(self) -> None:
        """Open the pool now (the first connection does it otherwise)."""
        with self._lock:
            if self._pool is None:
                self._open()

    def _open(self) -> None:
        settings = self.settings.value
        stack = ExitStack()
        try:
            url = self.url or stack.enter_context(open_database(settings))
            prepare_once(url, settings)
            # autocommit: every write says where its transaction starts and ends
            # (``with conn.transaction()``); check: a server restart costs a reconnect, not a step.
            pool = ConnectionPool(
                url,
                min_size=1,
                max_size=self.max_size,
                open=False,
                kwargs={"application_name": "koito-assets", "autocommit": True},
                check=ConnectionPool.check_connection,
            )
            pool.open(wait=True, timeout=30)
        except BaseException:
            stack.close()
            raise
        self._pool, self._stack = pool, stack

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        if self._stack is not None:
            self._stack.close()
            self._stack = None

    @property
    def pool(self) -> ConnectionPool:
        if self._pool is None:
            self.open()
        return self._pool

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        """A pooled autocommit connection; wrap writes in ``conn.transaction()``."""
        with self.pool.connection() as conn:
            yield conn
