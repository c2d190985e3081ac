"""Koito's own export, version 1: entities carried through, names from primary aliases.

The format: docs/koito-reference.md §4.
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from koito_assets.sources import (
    ExportError,
    KoitoAlias,
    KoitoEntity,
    KoitoListen,
    Scrobble,
    Skipped,
    SkipReason,
    koito_export,
)
from koito_assets.sources.context import ExportStats, ReadContext

from .helpers import FIXTURES, by_position, read_all, settings

EXPORT = FIXTURES / "koito_export_2025-06-18.json"
EXAMPLE_BAND = "b10bbbfc-cf9e-42e0-be17-e2c3e1d2600d"
SHORELINE = "3f8f7a1a-2b7e-4c7e-9a4e-9e1d7b6c5a40"


def test_listen_carries_the_exported_entities():
    export, records = read_all(EXPORT)
    assert export.format == "koito"
    track = KoitoEntity(
        mbid=None,
        aliases=(
            KoitoAlias("Tide (feat. Guest Singer)", "Canonical", True),
            KoitoAlias("Tide", "MusicBrainz", False),
        ),
        duration_s=354,
    )
    album = KoitoEntity(
        mbid=SHORELINE,
        aliases=(KoitoAlias("Shoreline", "Canonical", True),),
        image_url="https://cdn.example.org/cover.jpg",
    )
    artists = (
        KoitoEntity(
            mbid=EXAMPLE_BAND,
            aliases=(
                KoitoAlias("Example Band", "Canonical", True),
                KoitoAlias("The Example Band", "MusicBrainz", False),
            ),
            image_url="https://cdn.example.org/a.jpg",
        ),
        KoitoEntity(mbid=None, aliases=(KoitoAlias("Guest Singer", "Canonical", True),)),
    )
    assert by_position(records)["record 1"] == Scrobble(
        listened_at=int(datetime.fromisoformat("2022-01-08T22:32:08+00:00").timestamp()),
        artist="Example Band",
        track="Tide (feat. Guest Singer)",
        album="Shoreline",
        artist_names=("Example Band", "Guest Singer"),
        artist_mbids=(EXAMPLE_BAND,),
        artist_mbid_mappings=(("Example Band", EXAMPLE_BAND),),
        release_mbid=SHORELINE,
        duration_s=354,
        client="test client",
        position="record 1",
        koito=KoitoListen(track=track, album=album, artists=artists),
    )


def test_null_aliases_nil_and_invalid_mbids_and_sqlite_alias_ids():
    _, records = read_all(EXPORT)
    listen = by_position(records)["record 2"]
    assert (listen.artist, listen.track, listen.album, listen.client) == (
        "Solo Artist",
        "Loose Track",
        "",
        "",
    )
    assert (listen.recording_mbid, listen.artist_mbids, listen.duration_s) == (None, (), 0)
    assert listen.koito.album == KoitoEntity(None, (), "User Upload", various_artists=True)
    assert listen.koito.artists[0].aliases == (KoitoAlias("Solo Artist", "Canonical", True),)


def test_listen_without_artists_or_time_is_skipped():
    export, records = read_all(EXPORT)
    found = by_position(records)
    assert found["record 3"] == Skipped(SkipReason.MISSING_ARTIST, "record 3", "no artists")
    assert found["record 4"].reason is SkipReason.UNPARSABLE_TIME
    assert (export.stats.records, export.stats.accepted) == (4, 2)


LISTEN = (
    '{"listened_at":"2022-01-08T22:32:08Z","client":"","track":{"mbid":null,"duration":1,'
    '"aliases":[{"alias":"T","source":"Canonical","is_primary":true}]},"album":null,'
    '"artists":[{"image_url":"","mbid":null,"is_primary":false,'
    '"aliases":[{"alias":"A","source":"Canonical","is_primary":true}]}]}'
)


def test_version_after_the_listens_is_accepted(tmp_path):
    path = tmp_path / "koito_export.json"
    path.write_text(f'{{"listens":[{LISTEN}],"version":"1"}}')
    _, records = read_all(path)
    assert [record.track for record in records] == ["T"]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            f'{{"version":"2","exported_at":"2025-06-18T12:56:53Z","listens":[{LISTEN}]}}',
            "version '2'",
        ),
        (f'{{"exported_at":"2025-06-18T12:56:53Z","listens":[{LISTEN}]}}', "no version"),
    ],
)
def test_other_versions_are_refused(tmp_path, document, message):
    path = tmp_path / "koito_export.json"
    path.write_text(document)
    with pytest.raises(ExportError, match=message):
        read_all(path)


def test_a_featured_artist_without_a_primary_alias_skips_the_listen_with_its_reason(tmp_path):
    """Koito would create an artist named "" and abort the file; the catalogue refuses it, so the
    reader skips the listen and says which artist, for the dry run and the import alike."""
    nameless = '{"image_url":"","mbid":null,"is_primary":false,"aliases":null}'
    listen = LISTEN.replace(
        '"aliases":[{"alias":"A","source":"Canonical","is_primary":true}]}]',
        '"aliases":[{"alias":"A","source":"Canonical","is_primary":true}]},' + nameless + "]",
    )
    assert listen != LISTEN
    path = tmp_path / "koito_export.json"
    path.write_text(f'{{"version":"1","listens":[{LISTEN},{listen}]}}')
    _, records = read_all(path)
    assert records[0].artist_names == ("A",)
    assert records[1] == Skipped(
        SkipReason.MISSING_ARTIST, "record 2", "artist 2 has no primary alias"
    )


def _listen(number: int, repeat_every: int) -> dict:
    def entity(name: str) -> dict:
        return {
            "mbid": None,
            "aliases": [{"alias": name, "source": "Canonical", "is_primary": True}],
        }

    which = number % repeat_every
    return {
        "listened_at": f"2024-03-02T18:{number // 60 % 60:02}:{number % 60:02}Z",
        "client": "navidrome",
        "track": {**entity(f"Track {which}"), "duration": 200 + which},
        "album": entity(f"Album {which}"),
        "artists": [entity(f"Artist {which}"), entity(f"Guest {which}")],
    }


@pytest.mark.parametrize("repeat_every", [7, 1_000_000], ids=["repeating", "never repeating"])
def test_entities_known_by_their_text_or_decoded_in_full_read_alike(tmp_path, repeat_every):
    # Repeating entities are normalised once and then known by their JSON text; a file whose
    # entities never repeat stops looking them up after a trial and is decoded in full.
    listens = [_listen(number, repeat_every) for number in range(4000)]
    path = tmp_path / "koito_export_alike.json"
    path.write_text(json.dumps({"version": "1", "listens": listens}, indent=1))
    _, records = read_all(path)
    ctx = ReadContext(path, settings(), ExportStats())
    ctx.clean_text = True
    expected = [koito_export.normalise(listen, "", ctx) for listen in listens]
    assert [record._replace(position="") for record in records] == expected
    memo = koito_export._KnownEntities()
    for start in range(0, 4000, 500):  # stretches, each normalised (which remembers) in turn
        for listen in memo.decode(json.dumps(listens[start : start + 500])):
            koito_export.normalise(listen, "", ctx)
    assert memo.useful is (repeat_every == 7)
