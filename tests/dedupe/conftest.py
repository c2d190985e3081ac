"""The ``importer`` fixture: files through the import asset graph into this test's database."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import psycopg
import pytest

from koito_assets.commands.import_files import FileSummary, import_job_for, import_one
from koito_assets.defs.imports import ledger


@pytest.fixture
def importer(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """``importer(path, ...)`` imports files through the asset graph, in order, and returns
    their summaries; ``importer.dedupe("off")`` switches the setting for later imports."""
    monkeypatch.setenv("KOITO_CONFIG_DIR", str(tmp_path / "koito"))
    monkeypatch.setenv("KOITO_DISABLE_MUSICBRAINZ", "true")

    class Importer:
        url = db_url

        def __call__(self, *paths: Path) -> list[FileSummary]:
            summaries = []
            job = import_job_for(db_url)  # settings from the environment, as the CLI reads them
            with dg.DagsterInstance.ephemeral() as instance:
                for path in paths:
                    summary, code = import_one(path, instance, db_url, job)
                    assert code == 0, summary.error
                    summaries.append(summary)
            return summaries

        def dedupe(self, value: str, tolerance: int | None = None) -> None:
            monkeypatch.setenv("KOITO_CROSS_SOURCE_DEDUPE", value)
            if tolerance is not None:
                monkeypatch.setenv("KOITO_CROSS_SOURCE_TOLERANCE_SECONDS", str(tolerance))

        def listens(self) -> list[tuple]:
            """(unix time, client, track title, primary artist) of every listen, in time order."""
            with psycopg.connect(db_url) as conn:
                return conn.execute(
                    "SELECT extract(epoch FROM l.listened_at)::bigint, l.client, t.title, "
                    "(SELECT aa.alias FROM artist_tracks at JOIN artist_aliases aa "
                    " ON aa.artist_id = at.artist_id AND aa.is_primary "
                    " WHERE at.track_id = t.id ORDER BY at.is_primary DESC, aa.alias LIMIT 1) "
                    "FROM listens l JOIN tracks_with_title t ON t.id = l.track_id "
                    "ORDER BY 1, 3"
                ).fetchall()

        def ledger(self, path: Path) -> dict:
            with psycopg.connect(db_url) as conn:
                return ledger.get_file(conn, path.name)

    yield Importer()
