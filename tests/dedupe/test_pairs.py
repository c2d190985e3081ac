"""Acceptance: generated pairs of overlapping exports whose true plays are known.

benchmarks/overlap.py writes one seeded history twice, as two services record it: A the earlier
part, B the later, each missing a few plays of the overlap, B spelling some artists in another
case and dropping some title decorations, with back-to-back repeats. Importing both, in either
order, must give every play exactly once; with the setting off, Koito's own result.
"""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from benchmarks.overlap import overlapping_pair, write_pair
from koito_assets.catalog.submit import submit_listen
from koito_assets.dedupe import conventions
from koito_assets.enrich.musicbrainz import DisabledMusicBrainz
from koito_assets.settings import Settings
from koito_assets.sources import open_export
from koito_assets.sources.record import Scrobble
from tests.catalog import helpers
from tests.defs.test_cli_import import run_cli

PLAYS = 1200


@pytest.mark.parametrize("kind", ["spotify+lastfm", "listenbrainz+spotify"])
@pytest.mark.parametrize("order", ["a then b", "b then a"])
def test_every_play_exactly_once_in_either_order(importer, tmp_path, kind, order):
    pair = overlapping_pair(kind, PLAYS, seed=7)
    a, b = write_pair(pair, tmp_path / "exports", seed=7)
    assert pair.repeats > 0 and pair.b_case_variant and pair.overlap > PLAYS // 3
    first, second = importer(*((a, b) if order == "a then b" else (b, a)))
    assert len(importer.listens()) == pair.true_plays
    # every play both sources hold was recognised once, from the source loaded first
    first_source = conventions.source_of_format(first.format)
    assert second.skipped == {conventions.skip_reason(first_source): pair.overlap}
    assert first.listens_inserted + second.listens_inserted == pair.true_plays


def test_koitos_rule_counts_the_overlap_twice(importer, tmp_path):
    importer.dedupe("off")
    pair = overlapping_pair("spotify+lastfm", PLAYS, seed=7)
    a, b = write_pair(pair, tmp_path / "exports", seed=7)
    importer(a, b)
    count = len(importer.listens())
    # the overlap twice, less some repeats whose second one service's end and the other's start
    # share, where Koito's rule drops a play
    assert pair.true_plays + pair.overlap - pair.repeats <= count <= pair.true_plays + pair.overlap


def _records(path: Path) -> list[Scrobble]:
    return [r for r in open_export(path, Settings()) if isinstance(r, Scrobble)]


def test_the_setting_off_gives_koitos_result(importer, tmp_path, pg_server, template_db):
    """Off, the bulk load of both files equals Koito's single-listen path over the same records."""
    importer.dedupe("off")
    pair = overlapping_pair("spotify+lastfm", 300, seed=3)
    a, b = write_pair(pair, tmp_path / "exports", seed=3)
    importer(a, b)
    with psycopg.connect(importer.url) as conn:
        bulk = helpers.catalogue(conn)["listens"]
    with helpers.fresh_database(pg_server, template_db) as url:
        with psycopg.connect(url, autocommit=True) as conn:
            for record in _records(a) + _records(b):
                submit_listen(
                    conn, record, musicbrainz=DisabledMusicBrainz(), settings=helpers.SETTINGS
                )
            koito = helpers.catalogue(conn)["listens"]
    assert sum(bulk.values()) > pair.true_plays  # the overlap counted twice
    assert bulk == koito


def test_two_overlapping_exports_in_one_run(db_url: str, tmp_path: Path):
    pair = overlapping_pair("listenbrainz+spotify", 600, seed=5)
    a, b = write_pair(pair, tmp_path / "exports", seed=5)
    env = {
        "KOITO_DATABASE_URL": db_url,
        "KOITO_CONFIG_DIR": str(tmp_path / "koito"),
        "KOITO_DISABLE_MUSICBRAINZ": "true",
    }
    done = run_cli("import", str(b), str(a), "--json", env=env)
    assert done.returncode == 0, done.stderr
    files = json.loads(done.stdout)["files"]
    assert [f["skipped"] for f in files] == [{}, {"same_play_from_spotify": pair.overlap}]
    assert [f["same_play"] for f in files] == [{}, {"spotify": pair.overlap}]
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM listens").fetchone()[0] == pair.true_plays
