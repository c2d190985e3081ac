"""The import assets with MusicBrainz on: what resolved_lookup reports and logs about it."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg

from koito_assets.defs.imports.assets import IMPORT_ASSETS
from koito_assets.defs.imports.partitions import export_files
from koito_assets.settings_resource import SettingsResource
from tests.defs.resources import import_resources
from tests.fakes.musicbrainz import FakeMusicBrainz, MbAlias

ARTIST = "0a000000-0000-4000-8000-000000000001"
RECORDINGS = [f"0c000000-0000-4000-8000-{i:012d}" for i in range(120)]


def write_listenbrainz(path: Path) -> Path:
    """An old single-array ListenBrainz export whose listens all carry MBIDs."""
    rows = [
        {
            "listened_at": 1_700_000_000 + i,
            "track_metadata": {
                "artist_name": "the band",
                "track_name": f"song {i}",
                "additional_info": {"artist_mbids": [ARTIST], "recording_mbid": mbid},
            },
        }
        for i, mbid in enumerate(RECORDINGS)
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rows))
    return path


def settings_for(tmp_path: Path, url: str) -> SettingsResource:
    return SettingsResource(
        overrides={
            "KOITO_CONFIG_DIR": str(tmp_path),
            "KOITO_MUSICBRAINZ_URL": url,
            "KOITO_MUSICBRAINZ_RATE_LIMIT": "500",
            "KOITO_DISABLE_MUSICBRAINZ": "false",
        }
    )


def import_file(db_url: str, settings: SettingsResource, path: Path) -> tuple[dict, list[str]]:
    """resolved_lookup's metadata and the messages it logged."""
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(export_files.name, [path.name])
        result = dg.materialize(
            IMPORT_ASSETS,
            partition_key=path.name,
            instance=instance,
            resources=import_resources(db_url, settings),
        )
        (materialization,) = result.asset_materializations_for_node("resolved_lookup")
        messages = [
            entry.user_message
            for entry in instance.all_logs(result.run_id)
            if entry.dagster_event is None and "MusicBrainz" in entry.user_message
        ]
    return {k: v.value for k, v in materialization.metadata.items()}, messages


def test_resolved_lookup_reports_musicbrainz_requests_and_logs_progress(
    db_url, tmp_path, fake_musicbrainz: FakeMusicBrainz
) -> None:
    fake_musicbrainz.add_artist(ARTIST, "The Band", [MbAlias("ザ・バンド", "ja", True)])
    for i, mbid in enumerate(RECORDINGS[:-1]):  # the last one is unknown: one lookup (404)
        fake_musicbrainz.add_recording(mbid, f"Song {i}", 200_000)
    settings = settings_for(tmp_path, fake_musicbrainz.url)
    path = write_listenbrainz(tmp_path / "import" / "old_lb-2025-06-01.json")

    metadata, messages = import_file(db_url, settings, path)
    assert (
        metadata["musicbrainz_requests"],
        metadata["musicbrainz_from_store"],
        metadata["musicbrainz_lookups_fallback"],
    ) == (4, 0, 1)  # artist search, two recording searches, one lookup
    assert metadata["musicbrainz_seconds"] > 0
    assert fake_musicbrainz.request_counts() == {"search": 3, "lookup": 1}
    progress = [m for m in messages if "requests done" in m]
    assert progress and progress[0].endswith("MusicBrainz, 1 of 3 requests done")
    assert any("4 requests (1 single lookups), 0 answers from the store" in m for m in messages)

    fake_musicbrainz.clear_log()
    again, _ = import_file(db_url, settings, tmp_path / "import_complete" / path.name)
    assert again["musicbrainz_requests"] == 0 and fake_musicbrainz.requests == []


def test_an_unreachable_musicbrainz_is_said_once_and_the_file_imports(db_url, tmp_path) -> None:
    with FakeMusicBrainz() as gone:
        url = gone.url
    settings = settings_for(tmp_path, url)
    path = write_listenbrainz(tmp_path / "import" / "old_lb-2025-06-01.json")

    metadata, messages = import_file(db_url, settings, path)
    assert metadata["musicbrainz_requests"] == 1 and metadata["keys_resolved"] == len(RECORDINGS)
    warnings = [m for m in messages if "could not be reached" in m]
    assert len(warnings) == 1 and "connection failed" in warnings[0]
