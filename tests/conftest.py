"""A real PostgreSQL for every test: never mocked, never skipped.

Order (docs/design.md §8.3): KOITO_TEST_DATABASE_URL if set; else a Docker engine through
testcontainers if one answers; else an embedded server in a temporary folder. Each test gets a
fresh database cloned from a migrated template, which takes milliseconds.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from koito_assets.db.bootstrap import prepare_database
from koito_assets.db.embedded import EmbeddedServer
from koito_assets.settings import Settings
from tests.fakes.fixtures import *  # noqa: F401,F403  (fake MusicBrainz and image providers)

_counter = itertools.count()


def _docker_available() -> bool:
    try:
        import docker

        docker.from_env(timeout=2).ping()
        return True
    except Exception:  # DockerException, ImportError: no engine here
        return False


class PgServer:
    """A PostgreSQL server the tests may create and drop databases on."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url

    def url_for(self, database: str) -> str:
        info = psycopg.conninfo.conninfo_to_dict(self.admin_url)
        info["dbname"] = database
        return psycopg.conninfo.make_conninfo(**info)

    def create_database(self, name: str, template: str | None = None) -> str:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
            if template:
                query = sql.SQL("{} TEMPLATE {}").format(query, sql.Identifier(template))
            conn.execute(query)
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture(scope="session")
def test_settings(tmp_path_factory) -> Settings:
    """Settings for tests: the process environment's, with a private config dir."""
    env = dict(os.environ)
    env["KOITO_CONFIG_DIR"] = str(tmp_path_factory.mktemp("koito-config"))
    env.pop("KOITO_DATABASE_URL", None)
    return Settings.from_env(env)


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory, test_settings) -> Iterator[PgServer]:
    if test_settings.test_database_url:
        yield PgServer(test_settings.test_database_url)
        return
    if _docker_available():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16", driver=None) as container:
            yield PgServer(container.get_connection_url())
        return
    # Not under pytest's basetemp: a later pytest session prunes old basetemps, which would
    # delete the data directory under a server another session is still using.
    root = Path(tempfile.mkdtemp(prefix="koito-test-pg-"))
    server = EmbeddedServer(root / "data")
    server.start()
    try:
        yield PgServer(server.url())
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def template_db(pg_server: PgServer, test_settings: Settings) -> Iterator[str]:
    """A migrated Koito database with its import user, cloned for each test."""
    name = f"koito_template_{os.getpid()}"
    pg_server.drop_database(name)
    url = pg_server.create_database(name)
    prepare_database(url, test_settings)
    yield name
    pg_server.drop_database(name)


def _fresh_name(request) -> str:
    base = "".join(c if c.isalnum() else "_" for c in request.node.name.lower())[:40]
    return f"t{os.getpid()}_{next(_counter)}_{base}"


@pytest.fixture
def db_url(pg_server: PgServer, template_db: str, request) -> Iterator[str]:
    """URL of a fresh, migrated Koito database for this test alone."""
    name = _fresh_name(request)
    url = pg_server.create_database(name, template=template_db)
    yield url
    pg_server.drop_database(name)


@pytest.fixture
def empty_db_url(pg_server: PgServer, request) -> Iterator[str]:
    """URL of a fresh, empty database (nothing migrated)."""
    name = _fresh_name(request)
    url = pg_server.create_database(name)
    yield url
    pg_server.drop_database(name)


@pytest.fixture
def conn(db_url: str) -> Iterator[psycopg.Connection]:
    """An autocommit connection to this test's fresh Koito database."""
    with psycopg.connect(db_url, autocommit=True) as connection:
        yield connection
