"""listening_report and koito_library on real PostgreSQL, through the import job itself.

The generated history has a known shape: listens in January, February, May and June 2023 (none
in March and April), artists with known listen counts (one of them also featured on another's
song), a repeat at the same second, and a second file that overlaps the first.
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import psycopg
import pytest

from koito_assets.defs.images.assets import images_backfilled
from koito_assets.defs.images.jobs import images_job
from koito_assets.defs.imports.assets import IMPORT_ASSETS
from koito_assets.defs.imports.jobs import IMPORT_JOB_ASSETS, import_job
from koito_assets.defs.imports.partitions import export_files
from koito_assets.defs.reports.assets import REPORT_ASSETS
from koito_assets.settings_resource import SettingsResource
from tests.defs.exports import maloja_scrobble, write_maloja
from tests.defs.resources import import_resources


def _at(year: int, month: int, day: int, hour: int = 12) -> int:
    return int(datetime(year, month, day, hour, tzinfo=UTC).timestamp())


def known_history() -> list[dict]:
    """Alpha 12 listens (one a repeat at the same second), Beta 6 plus 2 featuring Alpha's
    song "Both" credits both, Gamma 3; nothing in March or April 2023."""
    plays = []
    for day in range(1, 11):  # Alpha: 10 in January, on "One" and "Two"
        plays.append(maloja_scrobble(_at(2023, 1, day), ["Alpha"], "One" if day % 2 else "Two"))
    plays.append(maloja_scrobble(_at(2023, 2, 1), ["Alpha"], "One"))
    plays.append(maloja_scrobble(_at(2023, 2, 1), ["Alpha"], "One"))  # the same second again
    for day in range(1, 7):  # Beta: 6 in May
        plays.append(maloja_scrobble(_at(2023, 5, day), ["Beta"], "Three"))
    for day in (10, 11):  # Beta feat. Alpha: 2 in May (credited to both)
        plays.append(maloja_scrobble(_at(2023, 5, day), ["Beta", "Alpha"], "Both"))
    for day in (1, 2, 3):  # Gamma: 3 in June
        plays.append(maloja_scrobble(_at(2023, 6, day), ["Gamma"], "Four"))
    return plays


@pytest.fixture
def settings(tmp_path: Path) -> SettingsResource:
    return SettingsResource(overrides={"KOITO_CONFIG_DIR": str(tmp_path / "koito")})


def run_import(db_url: str, settings: SettingsResource, path: Path, instance: dg.DagsterInstance):
    """The import job as the sensor and the CLI run it: import stages, report, library totals."""
    instance.add_dynamic_partitions(export_files.name, [path.name])
    definitions = dg.Definitions(
        assets=IMPORT_JOB_ASSETS,
        jobs=[import_job],
        resources={**import_resources(db_url, settings), "io_manager": dg.mem_io_manager},
    )
    result = definitions.resolve_job_def(import_job.name).execute_in_process(
        partition_key=path.name, instance=instance, raise_on_error=False
    )
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    return result


def metadata_of(result, asset: str) -> dict:
    (materialization,) = [
        m for m in result.get_asset_materialization_events() if m.asset_key.path == [asset]
    ]
    return {k: v.value for k, v in materialization.materialization.metadata.items()}


def rows(table) -> list[dict]:
    return [dict(record.data) for record in table.records]


def test_the_report_shows_the_known_gap_top_artists_and_tracks(db_url, tmp_path, settings):
    path = write_maloja(tmp_path / "koito" / "import" / "maloja_export_known.json", known_history())
    with dg.DagsterInstance.ephemeral() as instance:
        report = metadata_of(run_import(db_url, settings, path, instance), "listening_report")

    assert report["listens"] == 23
    assert report["repeats_in_file"] == 1
    assert (report["new_listens"], report["already_in_database"]) == (22, 0)
    assert report["first_listen"] == _at(2023, 1, 1)
    assert report["last_listen"] == _at(2023, 6, 3)
    assert rows(report["listens_per_month"]) == [
        {"month": "2023-01", "listens": 10},
        {"month": "2023-02", "listens": 2},
        {"month": "2023-03", "listens": 0},
        {"month": "2023-04", "listens": 0},
        {"month": "2023-05", "listens": 8},
        {"month": "2023-06", "listens": 3},
    ]
    assert (report["months"], report["months_without_listens"]) == (6, 2)
    assert report["empty_months"] == "- 2023-03 to 2023-04 (2 months)"
    assert rows(report["top_artists"]) == [
        {"rank": 1, "artist": "Alpha", "listens": 14},
        {"rank": 2, "artist": "Beta", "listens": 8},
        {"rank": 3, "artist": "Gamma", "listens": 3},
    ]
    assert [(t["track"], t["artists"], t["listens"]) for t in rows(report["top_tracks"])] == [
        ("One", "Alpha", 7),
        ("Three", "Beta", 6),
        ("Two", "Alpha", 5),
        ("Four", "Gamma", 3),
        ("Both", "Beta, Alpha", 2),
    ]
    assert rows(report["skipped_by_reason"]) == [] and report["skipped"] == 0

    assert report["at_a_glance"].startswith("`█▂··▇▃`\n\n2023-01 to 2023-06")
    # The chart: an SVG in a data URI, one bar per month with listens, a mark per empty month.
    match = re.fullmatch(
        r"!\[[^\]]*\]\(data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)\)",
        report["listens_per_month_chart"],
    )
    assert match, report["listens_per_month_chart"][:200]
    svg = base64.b64decode(match[1]).decode()
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert re.findall(r"<title>([0-9-]+): ([0-9,]+)</title>", svg) == [
        ("2023-01", "10"),
        ("2023-02", "2"),
        ("2023-05", "8"),
        ("2023-06", "3"),
    ]
    assert re.findall(r"<title>([0-9-]+): no listens</title>", svg) == ["2023-03", "2023-04"]


def test_a_second_file_reports_what_was_already_there(db_url, tmp_path, settings):
    first = write_maloja(
        tmp_path / "koito" / "import" / "maloja_export_first.json", known_history()
    )
    # Gamma's three June listens again, two new July ones, and a record the reader skips.
    overlap = [p for p in known_history() if p["track"]["artists"] == ["Gamma"]]
    overlap += [maloja_scrobble(_at(2023, 7, day), ["Delta"], "Five") for day in (1, 2)]
    overlap.append(maloja_scrobble(_at(2023, 7, 3), ["  "], "Nameless"))
    second = write_maloja(tmp_path / "koito" / "import" / "maloja_export_second.json", overlap)
    with dg.DagsterInstance.ephemeral() as instance:
        run_import(db_url, settings, first, instance)
        result = run_import(db_url, settings, second, instance)
    report = metadata_of(result, "listening_report")
    assert (report["listens"], report["already_in_database"], report["new_listens"]) == (5, 3, 2)
    assert rows(report["listens_per_month"]) == [
        {"month": "2023-06", "listens": 3},
        {"month": "2023-07", "listens": 2},
    ]
    assert report["months_without_listens"] == 0
    assert report["empty_months"].startswith("none")
    (skip,) = rows(report["skipped_by_reason"])
    assert skip["records"] == 1 and report["skipped"] == 1 and report["records"] == 6


def test_skip_reasons_are_shown_whatever_their_name(db_url, tmp_path, settings):
    """Reasons come from the ledger as they are (another stage may add its own, such as a play
    recognised from another source), so the report lists any reason it finds."""
    path = write_maloja(tmp_path / "koito" / "import" / "maloja_export_skips.json", known_history())
    with dg.DagsterInstance.ephemeral() as instance:
        run_import(db_url, settings, path, instance)
        with psycopg.connect(db_url) as conn:
            conn.execute(
                "UPDATE koito_import.import_files SET skipped = "
                """'{"same_play_from_spotify": 4, "empty_title": 1}' WHERE file_key = %s""",
                (path.name,),
            )
        result = dg.materialize(
            [*IMPORT_ASSETS, *REPORT_ASSETS],
            selection=["listening_report"],
            partition_key=path.name,
            instance=instance,
            resources=import_resources(db_url, settings),
        )
    report = metadata_of(result, "listening_report")
    assert rows(report["skipped_by_reason"]) == [
        {"reason": "same_play_from_spotify", "records": 4},
        {"reason": "empty_title", "records": 1},
    ]
    assert report["skipped"] == 5


def test_a_report_without_a_finished_load_fails_with_the_reason(db_url, tmp_path, settings):
    path = write_maloja(tmp_path / "koito" / "import" / "maloja_export_never.json", known_history())
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(export_files.name, [path.name])
        result = dg.materialize(
            [*IMPORT_ASSETS, *REPORT_ASSETS],
            selection=["listening_report"],
            partition_key=path.name,
            instance=instance,
            resources=import_resources(db_url, settings),
            raise_on_error=False,
        )
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    assert "no report facts recorded" in failure.step_failure_data.error.message


def test_library_totals_count_the_library_with_and_without_images(db_url, tmp_path, settings):
    path = write_maloja(
        tmp_path / "koito" / "import" / "maloja_export_library.json", known_history()
    )
    with dg.DagsterInstance.ephemeral() as instance:
        library = metadata_of(run_import(db_url, settings, path, instance), "koito_library")
        with psycopg.connect(db_url) as conn:
            conn.execute(
                "UPDATE artists SET image = gen_random_uuid() WHERE id IN "
                "(SELECT artist_id FROM artist_aliases WHERE alias IN ('Alpha', 'Beta'))"
            )
            conn.execute(
                "UPDATE releases SET image = gen_random_uuid() WHERE id = "
                "(SELECT release_id FROM tracks_with_title WHERE title = 'One')"
            )
        after = dg.materialize(
            REPORT_ASSETS,
            selection=["koito_library"],
            instance=instance,
            resources=import_resources(db_url, settings),
        )
    assert (library["listens"], library["artists"], library["tracks"]) == (22, 3, 5)
    # album-less songs get a release named after the track (Koito's rule): one per track
    assert library["releases"] == 5
    assert (library["artists_with_image"], library["artists_without_image"]) == (0, 3)
    assert library["files_imported"] == 1
    totals = metadata_of(after, "koito_library")
    assert (totals["artists_with_image"], totals["artists_without_image"]) == (2, 1)
    assert (totals["releases_with_image"], totals["releases_without_image"]) == (1, 4)
    assert (totals["tracks_with_image"], totals["tracks_without_image"]) == (1, 4)
    assert totals["first_listen"] == _at(2023, 1, 1) and totals["last_listen"] == _at(2023, 6, 3)


def test_image_runs_refresh_the_library_totals(db_url, tmp_path, monkeypatch):
    """The image job materialises koito_library after the backfill; `koito-import images`
    records the same totals in the persistent instance the UI reads."""
    overrides = {
        "KOITO_CONFIG_DIR": str(tmp_path / "koito"),
        "KOITO_DISABLE_DEEZER": "true",
        "KOITO_DISABLE_COVER_ART_ARCHIVE": "true",
        "KOITO_DISABLE_MUSICBRAINZ": "true",
    }
    settings = SettingsResource(overrides=overrides)
    path = write_maloja(tmp_path / "koito" / "import" / "maloja_export_img.json", known_history())
    with dg.DagsterInstance.ephemeral() as instance:
        run_import(db_url, settings, path, instance)
        definitions = dg.Definitions(
            assets=[*IMPORT_ASSETS, *REPORT_ASSETS, images_backfilled],
            jobs=[images_job],
            resources={**import_resources(db_url, settings), "io_manager": dg.mem_io_manager},
        )
        job = definitions.resolve_job_def(images_job.name)
        result = job.execute_in_process(instance=instance)
    assert result.success
    assert metadata_of(result, "koito_library")["listens"] == 22

    from koito_assets.cli import main
    from koito_assets.dagster_home import persistent_instance
    from koito_assets.settings import Settings

    for name, value in {**overrides, "KOITO_DATABASE_URL": db_url}.items():
        monkeypatch.setenv(name, value)
    with psycopg.connect(db_url) as conn:
        conn.execute("UPDATE artists SET image = gen_random_uuid()")
    assert main(["images", "--json"]) == 0
    with persistent_instance(Settings.from_env(dict(overrides)), db_url) as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey("koito_library"))
    metadata = event.asset_materialization.metadata
    assert (metadata["artists"].value, metadata["artists_with_image"].value) == (3, 3)
