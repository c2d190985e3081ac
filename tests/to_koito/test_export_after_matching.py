"""Per-file exports when one play arrived from two services: each file's export holds the
listens its load added, the matched load's shifted repeat and unmatched plays included."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg

from benchmarks.overlap import (
    lastfm_name,
    lastfm_start,
    spotify_name,
    write_lastfm,
    write_spotify,
)
from koito_assets.to_koito.export_file import ExportScope, write_export
from tests.dedupe.imports import T0, play
from tests.to_koito.helpers import import_file, koito_importer_problems, load, primary_alias


def _stamp(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_each_file_exports_what_its_load_added_after_cross_source_matching(
    db_url, settings, tmp_path
):
    plays = [
        play(0, 0, title="Loop", length=150),
        play(3, 150, title="Loop", length=150),  # a repeat only Last.fm has, on Spotify's second
        play(5, 1000, title="Late", length=100),  # only Last.fm has it
    ]
    spotify = write_spotify(spotify_name(tmp_path, "a"), plays[:1])
    lastfm = write_lastfm(lastfm_name(tmp_path, "b"), plays)
    with dg.DagsterInstance.ephemeral() as instance:
        import_file(db_url, spotify, instance, settings)
        import_file(db_url, lastfm, instance, settings)  # matched: the first play is Spotify's

    def exported(path) -> list[tuple[str, str]]:
        result = write_export(
            db_url, tmp_path / f"koito_{path.stem}.json", ExportScope(file_key=path.name)
        )
        document = load(result.path)
        assert koito_importer_problems(document) == []
        return [(x["listened_at"], primary_alias(x["track"])) for x in document["listens"]]

    assert exported(spotify) == [(_stamp(T0 + 150), "Loop")]  # Spotify stamps the end
    # Last.fm's repeat stored a second later (that second held Spotify's), and its own play
    assert exported(lastfm) == [
        (_stamp(T0 + 151), "Loop"),
        (_stamp(lastfm_start(plays[2])), "Late"),
    ]
    whole = load(write_export(db_url, tmp_path / "koito_all.json").path)
    assert len(whole["listens"]) == 3
