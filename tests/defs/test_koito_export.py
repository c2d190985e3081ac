"""The Koito-export assets and the export-after-import sensor, on real PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from koito_assets.defs.koito_export.assets import koito_export, koito_library_export
from koito_assets.defs.koito_export.sensors import export_after_import
from koito_assets.settings_resource import SettingsResource
from tests.defs.exports import maloja_scrobble, sample_scrobbles, write_maloja
from tests.defs.resources import import_resources
from tests.to_koito.helpers import import_file, isolated_settings, koito_importer_problems, load


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    return tmp_path / "koito"


@pytest.fixture
def settings(config_dir: Path) -> SettingsResource:
    return isolated_settings(config_dir)


def _metadata(result: dg.ExecuteInProcessResult, node: str) -> dict:
    event = result.asset_materializations_for_node(node)[0]
    return {k: v.value for k, v in event.metadata.items()}


def test_a_files_export_and_the_librarys_land_in_the_export_folder(
    db_url, settings, config_dir, tmp_path: Path
):
    first = write_maloja(tmp_path / "in" / "maloja_export_1.json", sample_scrobbles())
    second = write_maloja(
        tmp_path / "in" / "maloja_export_2.json", [maloja_scrobble(1700009000, ["B"], "T", "A")]
    )
    with dg.DagsterInstance.ephemeral() as instance:
        import_file(db_url, first, instance, settings)
        import_file(db_url, second, instance, settings)
        per_file = dg.materialize(
            [koito_export],
            partition_key=second.name,
            instance=instance,
            resources=import_resources(db_url, settings),
        )
        library = dg.materialize(
            [koito_library_export], instance=instance, resources=import_resources(db_url, settings)
        )
    assert per_file.success and library.success

    exported = _metadata(per_file, "koito_export")
    path = Path(exported["path"])
    assert path.parent == config_dir / "export" and path.name.startswith("koito_export_export_2")
    assert exported["listens"] == 1 and exported["size_bytes"] == path.stat().st_size
    assert len(load(path)["listens"]) == 1

    whole = _metadata(library, "koito_library_export")
    assert Path(whole["path"]) == config_dir / "export" / "koito_export_library.json"
    assert whole["listens"] == 8
    assert koito_importer_problems(load(Path(whole["path"]))) == []


def test_files_are_exported_after_import_only_when_the_setting_says_so(
    db_url, settings, config_dir, tmp_path: Path
):
    def tick(instance: dg.DagsterInstance, cursor: str | None, on: bool):
        overrides = {**settings.overrides, "KOITO_EXPORT_AFTER_IMPORT": "true" if on else ""}
        context = dg.build_sensor_context(
            instance=instance,
            cursor=cursor,
            resources={"settings": SettingsResource(overrides=overrides)},
        )
        return export_after_import(context)

    def file(n: int) -> Path:
        scrobbles = [maloja_scrobble(1700000000 + n, ["Band"], f"Song {n}", "LP")]
        return write_maloja(tmp_path / "in" / f"maloja_export_{n}.json", scrobbles)

    with dg.DagsterInstance.ephemeral() as instance:
        import_file(db_url, file(1), instance, settings)
        start = tick(instance, None, on=True)
        assert start.run_requests == [] and start.cursor  # history is not exported
        import_file(db_url, file(2), instance, settings)
        off = tick(instance, start.cursor, on=False)
        assert off.run_requests == [] and off.cursor != start.cursor  # the cursor still moves
        import_file(db_url, file(3), instance, settings)
        import_file(db_url, file(4), instance, settings)
        on = tick(instance, off.cursor, on=True)
        assert [r.partition_key for r in on.run_requests] == [
            "maloja_export_3.json",
            "maloja_export_4.json",
        ]
        again = tick(instance, on.cursor, on=True)
        assert again.run_requests == []
