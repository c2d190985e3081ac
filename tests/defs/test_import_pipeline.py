"""The import assets on PostgreSQL: counts, checks, idempotence, lifecycle, bad input, orphans."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import psycopg
import pytest

from koito_assets.defs.imports.assets import IMPORT_ASSETS
from koito_assets.defs.imports.partitions import export_files
from koito_assets.settings_resource import SettingsResource
from tests.defs.exports import sample_scrobbles, write_maloja
from tests.defs.resources import import_resources


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def settings(config_dir: Path) -> SettingsResource:
    return SettingsResource(overrides={"KOITO_CONFIG_DIR": str(config_dir)})


def materialize(
    db_url: str,
    settings: SettingsResource,
    file_key: str,
    instance: dg.DagsterInstance,
    selection=None,
):
    instance.add_dynamic_partitions(export_files.name, [file_key])
    return dg.materialize(
        IMPORT_ASSETS,
        partition_key=file_key,
        instance=instance,
        selection=selection,
        resources=import_resources(db_url, settings),
        raise_on_error=False,
    )


def _metadata(result, node: str) -> dict:
    return {k: v.value for k, v in result.asset_materializations_for_node(node)[0].metadata.items()}


def _count(url: str, sql: str, params=()) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchone()[0]


def test_a_file_in_the_import_folder_is_imported_checked_and_moved(db_url, config_dir, settings):
    path = write_maloja(config_dir / "import" / "maloja_export_1.json", sample_scrobbles())
    with dg.DagsterInstance.ephemeral() as instance:
        result = materialize(db_url, settings, path.name, instance)
    assert result.success
    assert all(check.passed for check in result.get_asset_check_evaluations())
    assert len(result.get_asset_check_evaluations()) == 3
    raw = _metadata(result, "raw_scrobbles")
    assert (raw["format"], raw["records"], raw["accepted"], raw["skipped"]) == ("maloja", 8, 8, 0)
    keys = _metadata(result, "unique_entity_keys")
    assert (keys["unique_keys"], keys["cache_hits"]) == (5, 0)
    resolved = _metadata(result, "resolved_lookup")
    assert (
        resolved["artists_created"],
        resolved["albums_created"],
        resolved["tracks_created"],
    ) == (4, 3, 5)
    loaded = _metadata(result, "listens_loaded")
    assert (loaded["listens_inserted"], loaded["duplicates_ignored"]) == (7, 1)

    assert (
        _count(db_url, "SELECT count(*) FROM listens WHERE user_id = 1 AND client = 'maloja'") == 7
    )
    assert not path.exists()
    assert (config_dir / "import_complete" / path.name).is_file()
    with psycopg.connect(db_url) as conn:
        status, listens = conn.execute(
            "SELECT status, listens_inserted FROM koito_import.import_files WHERE file_key = %s",
            (path.name,),
        ).fetchone()
        assert (status, listens) == ("complete", 7)
        staged = conn.execute("SELECT count(*) FROM koito_import.staged_scrobbles").fetchone()[0]
        assert staged == 0  # staging is emptied once the file is complete


def test_re_materialising_a_partition_adds_nothing_and_hits_the_cache(db_url, config_dir, settings):
    path = write_maloja(config_dir / "import" / "maloja_export_1.json", sample_scrobbles())
    with dg.DagsterInstance.ephemeral() as instance:
        assert materialize(db_url, settings, path.name, instance).success
        # the file now lives in import_complete/
        again = materialize(db_url, settings, path.name, instance)
    assert again.success
    assert _metadata(again, "unique_entity_keys")["cache_hits"] == 5
    assert _metadata(again, "resolved_lookup")["artists_created"] == 0
    assert _metadata(again, "listens_loaded")["listens_inserted"] == 0
    assert _metadata(again, "listens_loaded")["duplicates_ignored"] == 8
    assert _count(db_url, "SELECT count(*) FROM listens") == 7
    assert _count(db_url, "SELECT count(*) FROM artists") == 4


def test_a_corrupt_file_fails_alone_writes_nothing_and_stays(db_url, config_dir, settings):
    good = write_maloja(config_dir / "import" / "maloja_export_good.json", sample_scrobbles())
    bad = config_dir / "import" / "maloja_export_bad.json"
    bad.write_text(good.read_text()[:-40])  # truncated JSON
    with dg.DagsterInstance.ephemeral() as instance:
        failed = materialize(db_url, settings, bad.name, instance)
        assert not failed.success
        ok = materialize(db_url, settings, good.name, instance)
    assert ok.success
    assert bad.exists()
    with psycopg.connect(db_url) as conn:
        status, error = conn.execute(
            "SELECT status, error FROM koito_import.import_files WHERE file_key = %s", (bad.name,)
        ).fetchone()
        staged = conn.execute(
            "SELECT count(*) FROM koito_import.staged_scrobbles s JOIN koito_import.import_files f "
            "ON f.id = s.file_id WHERE f.file_key = %s",
            (bad.name,),
        ).fetchone()[0]
    assert status == "failed" and bad.name in error
    assert staged == 0
    assert _count(db_url, "SELECT count(*) FROM listens") == 7


def test_entities_deleted_by_koitos_orphan_cleanup_before_loading_are_resolved_again(
    db_url, config_dir, settings
):
    path = write_maloja(config_dir / "import" / "maloja_export_1.json", sample_scrobbles())
    with dg.DagsterInstance.ephemeral() as instance:
        first = materialize(db_url, settings, path.name, instance, selection=IMPORT_ASSETS[:3])
        assert first.success
        assert _count(db_url, "SELECT count(*) FROM tracks") == 5
        with psycopg.connect(
            db_url, autocommit=True
        ) as conn:  # Koito's CleanOrphanedEntries: docs/koito-reference.md §6
            conn.execute(
                "DELETE FROM tracks t "
                "WHERE NOT EXISTS (SELECT 1 FROM listens l WHERE l.track_id = t.id)"
            )
            conn.execute(
                "DELETE FROM releases r "
                "WHERE NOT EXISTS (SELECT 1 FROM tracks t WHERE t.release_id = r.id)"
            )
            conn.execute(
                "DELETE FROM artists a "
                "WHERE NOT EXISTS (SELECT 1 FROM artist_tracks at WHERE at.artist_id = a.id)"
            )
        assert _count(db_url, "SELECT count(*) FROM koito_import.track_lookup") == 0
        second = materialize(db_url, settings, path.name, instance, selection=IMPORT_ASSETS[3:])
    assert second.success, second
    assert _metadata(second, "listens_loaded")["listens_inserted"] == 7
    assert all(check.passed for check in second.get_asset_check_evaluations())
    assert _count(db_url, "SELECT count(*) FROM artists") == 4


def test_a_file_outside_the_import_folder_is_left_where_it_is(
    db_url, config_dir, settings, tmp_path
):
    path = write_maloja(tmp_path / "elsewhere" / "maloja_export_2.json", sample_scrobbles())
    with psycopg.connect(db_url, autocommit=True) as conn:
        from koito_assets.defs.imports import ledger

        ledger.register_file(conn, path.name, path)
    with dg.DagsterInstance.ephemeral() as instance:
        assert materialize(db_url, settings, path.name, instance).success
    assert path.exists()


def test_imports_never_ask_an_image_provider(
    db_url, config_dir, fake_deezer, fake_cover_art_archive
):
    settings = SettingsResource(
        overrides={
            "KOITO_CONFIG_DIR": str(config_dir),
            "KOITO_DEEZER_URL": fake_deezer.url,
            "KOITO_COVER_ART_ARCHIVE_URL": fake_cover_art_archive.url,
            "KOITO_FETCH_IMAGES_DURING_IMPORT": "true",
        }
    )
    path = write_maloja(config_dir / "import" / "maloja_export_1.json", sample_scrobbles())
    with dg.DagsterInstance.ephemeral() as instance:
        assert materialize(db_url, settings, path.name, instance).success
    assert fake_deezer.requests == [] and fake_cover_art_archive.requests == []
    assert fake_deezer.image_host.requests == []
    assert _count(db_url, "SELECT count(*) FROM artists WHERE image IS NOT NULL") == 0


def test_records_whose_key_cannot_be_resolved_are_skipped_with_the_reason(
    db_url, config_dir, settings, monkeypatch
):
    """Fault injection: the real resolver runs, but one song's key is reported unresolvable."""
    from koito_assets.catalog.lookup_key import lookup_key
    from koito_assets.defs.imports import ops as import_ops

    real_resolve = import_ops.resolve_keys

    def resolve_all_but_cancion(pool, records, **kwargs):
        refused = [r for r in records if r.track == "Canción"]
        result = real_resolve(pool, [r for r in records if r.track != "Canción"], **kwargs)
        result.failed.update({lookup_key(r): "injected: cannot resolve" for r in refused})
        return result

    monkeypatch.setattr(import_ops, "resolve_keys", resolve_all_but_cancion)
    path = write_maloja(config_dir / "import" / "maloja_export_1.json", sample_scrobbles())
    with dg.DagsterInstance.ephemeral() as instance:
        result = materialize(db_url, settings, path.name, instance)
    assert result.success
    assert all(check.passed for check in result.get_asset_check_evaluations())
    assert _metadata(result, "resolved_lookup")["records_skipped_unresolvable"] == 2
    assert _metadata(result, "listens_loaded")["listens_inserted"] == 5
    with psycopg.connect(db_url) as conn:
        skipped = conn.execute("SELECT reason, detail FROM koito_import.skipped_records").fetchall()
        accepted, skipped_counts, status = conn.execute(
            "SELECT accepted, skipped, status FROM koito_import.import_files"
        ).fetchone()
    assert skipped == [("unresolvable", "injected: cannot resolve")] * 2
    assert (accepted, skipped_counts, status) == (6, {"unresolvable": 2}, "complete")


def _write_listenbrainz_json(path: Path, listens: list[tuple[int, str, str]]) -> Path:
    """An old single-array ListenBrainz export: (time, title, media player) per listen."""
    import json

    rows = [
        {
            "listened_at": at,
            "track_metadata": {
                "artist_name": "Example Band",
                "track_name": title,
                "additional_info": {"media_player": player},
            },
        }
        for at, title, player in listens
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rows))
    return path


def _listens(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT t.title, extract(epoch FROM l.listened_at)::bigint, l.client "
            "FROM listens l JOIN tracks_with_title t ON t.id = l.track_id ORDER BY 2, 1"
        ).fetchall()


SECOND_FILE = [
    (1700000000, "Tide", "Late Player"),
    (1700000500, "Tide", "First Player"),
    (1700000500, "Tide", "Second Player"),
    (1700000900, "Undertow", "Player"),
]
EXPECTED_AFTER_BOTH = [
    ("Tide", 1700000000, "Early Player"),
    ("Tide", 1700000500, "First Player"),
    ("Undertow", 1700000900, "Player"),
]


@pytest.mark.parametrize("concurrent", [False, True], ids=["usual", "a listen inserted meanwhile"])
def test_a_repeated_second_keeps_the_first_listen_in_file_then_database_order(
    db_url, config_dir, settings, monkeypatch, concurrent
):
    first = _write_listenbrainz_json(
        config_dir / "first_lb-2024-01-01.json", [(1700000000, "Tide", "Early Player")]
    )
    second = _write_listenbrainz_json(config_dir / "second_lb-2024-01-02.json", SECOND_FILE)
    with dg.DagsterInstance.ephemeral() as instance:
        assert materialize(db_url, settings, str(first), instance).success
        if concurrent:
            # The plain INSERT, its NOT EXISTS taken out, meets the earlier listen as a concurrent
            # insert would: a unique violation, after which the ON CONFLICT statement runs.
            from koito_assets.defs.imports import ops, queries

            plain = (
                queries.load_sql("load_listens").split("  AND NOT EXISTS")[0]
                + "ORDER BY tl.track_id, s.listened_at, s.seq"
            )
            monkeypatch.setattr(
                ops,
                "load_sql",
                lambda name: plain if name == "load_listens" else queries.load_sql(name),
            )
        result = materialize(db_url, settings, str(second), instance)
    assert result.success and all(check.passed for check in result.get_asset_check_evaluations())
    loaded = _metadata(result, "listens_loaded")
    assert (loaded["listens_inserted"], loaded["duplicates_ignored"]) == (2, 2)
    assert _listens(db_url) == EXPECTED_AFTER_BOTH
