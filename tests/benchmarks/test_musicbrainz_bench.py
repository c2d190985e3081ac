"""The MusicBrainz benchmark's workload, small: the export names what the fake MusicBrainz knows."""

from __future__ import annotations

from pathlib import Path

from benchmarks.musicbrainz_bench import Catalogue, Shape, register, write_export
from koito_assets.settings import Settings
from koito_assets.sources import open_export
from koito_assets.sources.record import Scrobble
from tests.fakes.musicbrainz import FakeMusicBrainz


def test_every_listen_carries_mbids_musicbrainz_knows_under_other_spellings(tmp_path: Path):
    shape = Shape(listens=60, recordings=20, releases=6, groups=3, artists=5)
    catalogue = Catalogue.build(shape)
    path = write_export(catalogue, tmp_path / "listenbrainz_bench_1700000000.zip")
    records = [r for r in open_export(path, Settings()) if isinstance(r, Scrobble)]
    fake = FakeMusicBrainz()
    register(fake, catalogue)

    assert len(records) == 60
    assert len({r.recording_mbid for r in records}) == 20  # every recording heard
    assert len({r.release_mbid for r in records}) == 6
    assert len({r.release_group_mbid for r in records}) == 3
    assert len({m for r in records for m in r.artist_mbids}) == 5
    known = {(kind, mbid) for kind, mbid in fake._entities}
    for record in records:
        assert ("recording", record.recording_mbid) in known
        assert ("release", record.release_mbid) in known
        assert ("release-group", record.release_group_mbid) in known
        assert all(("artist", m) in known for m in record.artist_mbids)
        title = fake._entities[("recording", record.recording_mbid)]["title"]
        assert record.track != title and record.track == title.lower()
    assert catalogue.mbids() == 20 + 6 + 3 + 5
