"""Fixtures of the SQLite merge tests: more databases of ours, and imports through the job.

conftest.py makes them fixtures of every test in this folder.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import dagster as dg
import pytest

from koito_assets.commands.import_files import import_one
from koito_assets.db.resource import KoitoDatabase
from koito_assets.defs.imports.jobs import IMPORT_JOB_ASSETS, import_job
from koito_assets.settings_resource import SettingsResource
from tests.conftest import PgServer, _fresh_name

ImportFile = Callable[..., None]


@pytest.fixture
def second_db_url(pg_server: PgServer, template_db: str, request) -> Iterator[str]:
    """Another fresh, migrated database (the reference a merge is compared with, or a library)."""
    name = _fresh_name(request) + "_b"
    url = pg_server.create_database(name, template=template_db)
    yield url
    pg_server.drop_database(name)


@pytest.fixture
def make_db(pg_server: PgServer, template_db: str, request) -> Iterator[Callable[[], str]]:
    """Fresh, migrated databases on demand (libraries of ours), dropped after the test."""
    made: list[str] = []

    def make() -> str:
        name = f"{_fresh_name(request)}_{len(made)}"
        made.append(name)
        return pg_server.create_database(name, template=template_db)

    yield make
    for name in made:
        pg_server.drop_database(name)


@pytest.fixture
def import_file(tmp_path: Path) -> Iterator[ImportFile]:
    """Import one export file into a database through the import job, MusicBrainz off."""
    with dg.DagsterInstance.ephemeral() as instance:

        def run(path: Path, url: str, after: int | None = None, before: int | None = None) -> None:
            """Import ``path``; ``after``/``before``: only listens in that window (unix s)."""
            settings = SettingsResource(
                overrides={
                    "KOITO_CONFIG_DIR": str(tmp_path / "koito"),
                    "KOITO_DISABLE_MUSICBRAINZ": "true",
                    "KOITO_IMPORT_AFTER_UNIX": str(after or ""),
                    "KOITO_IMPORT_BEFORE_UNIX": str(before or ""),
                }
            )
            resources = {
                "settings": settings,
                "db": KoitoDatabase(url=url, settings=settings),
                "io_manager": dg.mem_io_manager,
            }
            job = dg.Definitions(
                assets=IMPORT_JOB_ASSETS, jobs=[import_job], resources=resources
            ).resolve_job_def(import_job.name)
            summary, code = import_one(path, instance, url, job)
            assert code == 0, summary.error

        yield run
