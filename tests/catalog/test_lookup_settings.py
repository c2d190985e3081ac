"""The lookup cache is emptied when settings that decide resolutions change, and kept otherwise."""

from __future__ import annotations

import dataclasses

import psycopg

from koito_assets.catalog import cache
from koito_assets.catalog.submit import submit_listen
from koito_assets.db.bootstrap import prepare_database
from koito_assets.enrich.musicbrainz import DisabledMusicBrainz
from koito_assets.sources.record import Scrobble


def _cached(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM koito_import.track_lookup").fetchone()[0]


def test_changing_artist_separators_empties_the_cache_and_the_next_listen_resolves_anew(
    db_url, test_settings
):
    record = Scrobble(1700000000, "Alpha / Beta", "Song", "Album")
    with psycopg.connect(db_url, autocommit=True) as conn:
        first = submit_listen(
            conn, record, musicbrainz=DisabledMusicBrainz(), settings=test_settings
        )
    assert _cached(db_url) == 1

    prepare_database(db_url, test_settings)  # same settings: the cache stays
    assert _cached(db_url) == 1

    split = dataclasses.replace(test_settings, artist_separators=(r"\s+/\s+",))
    prepare_database(db_url, split)
    assert _cached(db_url) == 0
    with psycopg.connect(db_url, autocommit=True) as conn:
        second = submit_listen(
            conn,
            record._replace(listened_at=1700000300),
            musicbrainz=DisabledMusicBrainz(),
            settings=split,
        )
        names = sorted(r[0] for r in conn.execute("SELECT name FROM artists_with_name"))
    assert not second.cache_hit
    assert second.track_id != first.track_id  # two artists now: a different track
    assert names == ["Alpha", "Alpha / Beta", "Beta"]


def test_turning_musicbrainz_on_empties_the_cache(db_url, test_settings):
    with psycopg.connect(db_url, autocommit=True) as conn:
        submit_listen(
            conn,
            Scrobble(1700000000, "Alpha", "Song"),
            musicbrainz=DisabledMusicBrainz(),
            settings=test_settings,
        )
    flipped = dataclasses.replace(
        test_settings, disable_musicbrainz=not test_settings.disable_musicbrainz
    )
    prepare_database(db_url, flipped)
    assert _cached(db_url) == 0


def test_a_new_version_of_the_rules_empties_the_cache(db_url, test_settings, monkeypatch):
    with psycopg.connect(db_url, autocommit=True) as conn:
        submit_listen(
            conn,
            Scrobble(1700000000, "Alpha", "Song"),
            musicbrainz=DisabledMusicBrainz(),
            settings=test_settings,
        )
    prepare_database(db_url, test_settings)
    assert _cached(db_url) == 1  # same rules: the cache stays
    monkeypatch.setattr(cache, "RULES_VERSION", cache.RULES_VERSION + 1)
    prepare_database(db_url, test_settings)
    assert _cached(db_url) == 0
