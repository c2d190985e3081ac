"""The CLI's line for a file says how many plays another source had already loaded, and which."""

from __future__ import annotations

from koito_assets.commands.import_files import FileSummary


def test_the_line_names_the_sources_largest_first():
    summary = FileSummary(
        path="/x/recenttracks-me-1.json",
        format="lastfm_json",
        records=10,
        accepted=4,
        skipped={"same_play_from_spotify": 5, "same_play_from_listenbrainz": 1},
        listens_inserted=4,
        same_play={"listenbrainz": 1, "spotify": 5},
    )
    assert summary.line().endswith("; 6 plays already loaded from spotify (5), listenbrainz (1)")
    assert summary.as_json()["same_play"] == {"listenbrainz": 1, "spotify": 5}


def test_nothing_is_said_when_nothing_was_recognised():
    line = FileSummary(path="/x/maloja_export_1.json", format="maloja").line()
    assert "already loaded" not in line
