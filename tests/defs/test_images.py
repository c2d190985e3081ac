"""The image backfill against local fake providers: finds, misses, the ledger, the retry wait."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import psycopg
from PIL import Image

from koito_assets.defs.images.assets import images_backfilled, run_backfill
from koito_assets.settings import Settings
from koito_assets.settings_resource import SettingsResource
from tests.defs.resources import import_resources


def _artist(conn: psycopg.Connection, name: str, mbid: str | None = None) -> int:
    artist_id = conn.execute(
        "INSERT INTO artists (musicbrainz_id) VALUES (%s) RETURNING id", (mbid,)
    ).fetchone()[0]
    conn.execute("INSERT INTO artist_aliases VALUES (%s, %s, 'Canonical', true)", (artist_id, name))
    return artist_id


def _album(conn: psycopg.Connection, title: str, artist_id: int, mbid: str | None = None) -> int:
    release_id = conn.execute(
        "INSERT INTO releases (musicbrainz_id) VALUES (%s) RETURNING id", (mbid,)
    ).fetchone()[0]
    conn.execute(
        "INSERT INTO release_aliases VALUES (%s, %s, 'Canonical', true)", (release_id, title)
    )
    conn.execute("INSERT INTO artist_releases VALUES (%s, %s, true)", (artist_id, release_id))
    return release_id


def _settings(base: Settings, tmp_path: Path, deezer, caa, **extra) -> Settings:
    return dataclasses.replace(
        base, config_dir=tmp_path, deezer_url=deezer.url, cover_art_archive_url=caa.url, **extra
    )


def test_found_images_are_stored_as_koito_stores_them_and_misses_are_recorded(
    conn, test_settings, tmp_path, fake_deezer, fake_cover_art_archive
):
    found_artist = _artist(conn, "Example Band")
    lost_artist = _artist(conn, "Nobody Knows Us")
    mbid = "6b1f2b4e-1b2c-4d5e-8f90-123456789abc"
    album = _album(conn, "Shoreline", found_artist, mbid)
    fake_deezer.add_artist("Example Band")
    fake_cover_art_archive.add_release_art(mbid)
    settings = _settings(test_settings, tmp_path, fake_deezer, fake_cover_art_archive)

    report = run_backfill(conn, settings, download=False, limit=1000)

    assert (report.checked, report.found, report.missed, report.failed) == (3, 2, 1, 0)
    image, source = conn.execute(
        "SELECT image, image_source FROM artists WHERE id = %s", (found_artist,)
    ).fetchone()
    assert image is not None and source.startswith(fake_deezer.image_host.url)
    image, source = conn.execute(
        "SELECT image, image_source FROM releases WHERE id = %s", (album,)
    ).fetchone()
    assert (
        image is not None and source.startswith(fake_cover_art_archive.url) and "/front" in source
    )
    assert (
        conn.execute("SELECT image FROM artists WHERE id = %s", (lost_artist,)).fetchone()[0]
        is None
    )
    attempts = conn.execute(
        "SELECT provider, outcome FROM koito_import.image_attempts WHERE artist_id = %s",
        (lost_artist,),
    ).fetchall()
    assert attempts == [("deezer", "miss")]
    assert report.by_provider["deezer"]["found"] == 1
    assert report.by_provider["coverartarchive"]["found"] == 1


def test_a_miss_is_not_asked_again_before_its_retry_interval(
    conn, test_settings, tmp_path, fake_deezer, fake_cover_art_archive
):
    _artist(conn, "Nobody Knows Us")
    settings = _settings(
        test_settings, tmp_path, fake_deezer, fake_cover_art_archive, image_retry_hours=24.0
    )
    first = run_backfill(conn, settings, download=False, limit=1000)
    asked = len(fake_deezer.requests)
    assert first.missed == 1 and asked >= 1

    second = run_backfill(conn, settings, download=False, limit=1000)
    assert second.checked == 0 and len(fake_deezer.requests) == asked  # nothing re-asked

    from koito_assets.enrich.images.backfill import backfill_images
    from koito_assets.enrich.images.chain import image_finder_from_settings

    later = datetime.now(UTC) + timedelta(hours=25)
    third = backfill_images(conn, settings, image_finder_from_settings(settings), now=later)
    assert third.checked == 1 and len(fake_deezer.requests) > asked
    misses, next_at = conn.execute(
        "SELECT misses, next_attempt_at FROM koito_import.image_due"
    ).fetchone()
    assert misses == 2 and next_at >= later + timedelta(hours=47)  # backoff doubles


def test_download_writes_koitos_cache_layout(
    conn, test_settings, tmp_path, fake_deezer, fake_cover_art_archive
):
    artist_id = _artist(conn, "Example Band")
    fake_deezer.add_artist("Example Band")
    settings = _settings(test_settings, tmp_path, fake_deezer, fake_cover_art_archive)
    report = run_backfill(conn, settings, download=True, limit=1000)
    assert report.found == 1
    image = str(conn.execute("SELECT image FROM artists WHERE id = %s", (artist_id,)).fetchone()[0])
    path = tmp_path / "image_cache" / image[:2] / image / "source.webp"
    with Image.open(path) as picture:
        assert picture.format == "WEBP" and picture.width == picture.height


def test_images_asset_and_cli_json(
    db_url, test_settings, tmp_path, fake_deezer, fake_cover_art_archive, monkeypatch, capsys
):
    with psycopg.connect(db_url, autocommit=True) as conn:
        _artist(conn, "Example Band")
    fake_deezer.add_artist("Example Band")
    overrides = {
        "KOITO_CONFIG_DIR": str(tmp_path),
        "KOITO_DEEZER_URL": fake_deezer.url,
        "KOITO_COVER_ART_ARCHIVE_URL": fake_cover_art_archive.url,
    }
    resources = import_resources(db_url, SettingsResource(overrides=overrides))
    result = dg.materialize([images_backfilled], resources=resources)
    assert result.success
    metadata = result.asset_materializations_for_node("images_backfilled")[0].metadata
    assert metadata["found"].value == 1

    with psycopg.connect(db_url, autocommit=True) as conn:
        _artist(conn, "Nobody Knows Us")
    from koito_assets.cli import main

    for name, value in {**overrides, "KOITO_DATABASE_URL": db_url}.items():
        monkeypatch.setenv(name, value)
    assert main(["images", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"checked", "found", "missed", "failed", "by_provider"}
    assert (out["checked"], out["missed"]) == (1, 1)


def test_a_release_whose_group_musicbrainz_named_gets_the_groups_cover(
    db_url, test_settings, tmp_path, fake_deezer, fake_cover_art_archive, fake_musicbrainz
):
    from koito_assets.enrich.musicbrainz import HttpMusicBrainz
    from koito_assets.enrich.musicbrainz_asker import MusicBrainzAsker
    from koito_assets.enrich.musicbrainz_store import AnswerStore
    from tests.catalog.helpers import pool_for
    from tests.fakes.musicbrainz import MbCredit

    release, group = "6b1f2b4e-1b2c-4d5e-8f90-123456789abc", "7c2f2b4e-1b2c-4d5e-8f90-123456789abc"
    fake_musicbrainz.add_release(release, "Shoreline", [MbCredit("Band")], release_group=group)
    fake_cover_art_archive.add_release_group_art(group)  # the release itself has no front cover
    with pool_for(db_url) as pool:
        client = HttpMusicBrainz(fake_musicbrainz.url, 500.0, timeout_s=2.0)
        MusicBrainzAsker(client, AnswerStore(pool, 30)).fetch([("release", release)])
    settings = _settings(test_settings, tmp_path, fake_deezer, fake_cover_art_archive)
    with psycopg.connect(db_url, autocommit=True) as conn:
        album = _album(conn, "Shoreline", _artist(conn, "Band"), release)
        _album(conn, "Unasked", _artist(conn, "Other"), "8d3f2b4e-1b2c-4d5e-8f90-123456789abc")
        report = run_backfill(conn, settings, download=False, limit=1000)
        source = conn.execute(
            "SELECT image_source FROM releases WHERE id = %s", (album,)
        ).fetchone()[0]
    assert source == f"{fake_cover_art_archive.url}/release-group/{group}/front"
    assert report.by_provider["coverartarchive"]["found"] == 1
    # the backfill read the stored answer; it asked MusicBrainz nothing
    assert len(fake_musicbrainz.requests) == 1
