"""The Dagster resource every database step uses: a psycopg connection pool on the Koito database.

With no URL configured it attaches to the embedded server for the step's lifetime (starting it
if needed), so a step never depends on another process having started PostgreSQL first.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import dagster as dg
import psycopg
from psycopg_pool import ConnectionPool
from pydantic import PrivateAttr

from koito_assets.db.bootstrap import prepare_database
from koito_assets.db.connection import open_database
from koito_assets.settings import get_settings

# Dagster pool of every step that writes the Koito database; its limit lives in dagster.yaml.
DB_POOL = "koito_db"


class KoitoDatabase(dg.ConfigurableResource):
    """A pool of connections to the Koito database, opened for a step and closed after it."""

    url: str | None = None  # None: KOITO_DATABASE_URL, else the embedded server
    max_size: int = 6
    _pool: ConnectionPool | None = PrivateAttr(default=None)
    _stack: ExitStack | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self.open()

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self.close()

    def open(self) -> None:
        """Open the pool (Dagster calls this; the CLI and tests may too)."""
        stack = ExitStack()
        try:
            url = self.url or stack.enter_context(open_database(get_settings()))
            prepare_database(url, get_settings())
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
            raise RuntimeError("KoitoDatabase used outside a step (open() was not called)")
        return self._pool

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        """A pooled autocommit connection; wrap writes in ``conn.transaction()``."""
        with self.pool.connection() as conn:
            yield conn
