"""Maloja exports and API lists, against Koito's Maloja importer rules.

The rules and the files: docs/koito-reference.md §3.3.
"""

from __future__ import annotations

from koito_assets.sources import Scrobble, Skipped, SkipReason

from .helpers import FIXTURES, accepted, by_position, read_all, settings

EXPORT = FIXTURES / "maloja_export_2024_03_02_18_00_00.json"


def test_export_file_records_in_order_with_koito_rules():
    export, records = read_all(EXPORT)
    assert export.format == "maloja"
    assert export.notes == []
    found = by_position(records)
    assert found["record 1"] == Scrobble(
        listened_at=1709402230,
        artist="Example Band",
        track="Tide",
        album="Shoreline",
        artist_names=("Example Band",),
        client="maloja",
        position="record 1",
    )
    # The " • " combination moves to the front and is split; the repeat is dropped.
    duet = found["record 2"]
    assert (duet.artist, duet.artist_names, duet.album) == (
        "Main Act • Guest Singer",
        ("Main Act", "Guest Singer"),
        "",
    )
    bjork = found["record 3"]
    assert (bjork.artist, bjork.track, bjork.album) == (
        "Björk",
        "Jóga (feat. Someone Else)",
        "Homogenic",
    )
    assert found["record 9"] == found["record 1"]._replace(position="record 9")  # duplicates stay
    assert found["record 10"].listened_at == 1709403400  # 1709403400.75 floored
    assert found["record 10"].album == ""  # albumtitle null


def test_export_file_skips_with_reasons_instead_of_failing():
    export, records = read_all(EXPORT)
    found = by_position(records)
    assert found["record 4"] == Skipped(SkipReason.MISSING_ARTIST, "record 4")
    assert found["record 5"] == Skipped(SkipReason.MISSING_TITLE, "record 5")
    assert found["record 6"] == Skipped(SkipReason.MISSING_ARTIST, "record 6")  # "  "
    assert found["record 8"].reason is SkipReason.UNPARSABLE_TIME
    assert found["record 11"].reason is SkipReason.MALFORMED_RECORD
    assert "track is not an object" in found["record 11"].detail
    assert export.stats.records == 11
    assert export.stats.accepted == 6
    assert export.stats.skipped == {
        "missing_artist": 2,
        "missing_title": 1,
        "unparsable_time": 1,
        "malformed_record": 1,
    }


def test_nul_is_stripped_and_counted_and_names_dedupe_case_insensitively():
    export, records = read_all(EXPORT)
    abba = by_position(records)["record 7"]
    assert abba.track == "BadTitle"
    assert (abba.artist, abba.artist_names) == ("ABBA", ("ABBA",))
    assert export.stats.nul_stripped == 1


def test_time_window_is_inclusive_at_both_ends():
    window = settings(import_after_unix=1709402500, import_before_unix=1709402800)
    export, records = read_all(EXPORT, window)
    assert [scrobble.position for scrobble in accepted(records)] == ["record 2", "record 3"]
    assert export.stats.skipped["outside_time_window"] == 4


def test_api_list_form():
    export, records = read_all(FIXTURES / "maloja_api_scrobbles.json")
    assert export.format == "maloja"
    first, second = records
    assert (first.artist, first.artist_names, first.album) == (
        "Example Band",
        ("Example Band", "Other Band"),
        "Shoreline",
    )
    assert (second.track, second.album, second.duration_s) == ("Undertow", "", 0)


def test_export_without_scrobbles_reads_as_empty(tmp_path):
    path = tmp_path / "maloja_export_2024_01_01_00_00_00.json"
    path.write_text('{"maloja": {"export_time": 1704067200}}')
    export, records = read_all(path)
    assert (export.format, records, export.stats.records) == ("maloja", [], 0)


def test_nul_and_lone_surrogates_deep_into_a_large_file(tmp_path):
    """Text is only checked where the JSON can spell NUL or a surrogate: make sure it still is."""
    clean = (
        '{"time": %d, "track": {"artists": ["Example Band"], "title": "Song %d", "album": null}}'
    )
    scrobbles = [
        clean % (1709402230 + n, n) for n in range(30_000)
    ]  # about 2.5 MB: several windows
    odd = '{"time": %d, "track": {"artists": ["%s"], "title": "%s", "album": null}}'
    scrobbles[20_000] = odd % (1709500000, "Nul\\u0000Band", "T")
    scrobbles[25_000] = odd % (1709500001, "A", "\\udc00")
    path = tmp_path / "maloja_export_big.json"
    path.write_text('{"scrobbles": [' + ",\n".join(scrobbles) + "]}")
    export, records = read_all(path)
    assert records[20_000].artist == "NulBand"
    assert export.stats.nul_stripped == 1
    assert records[25_000] == Skipped(
        SkipReason.MALFORMED_RECORD, "record 25001", "title holds a lone UTF-16 surrogate, not text"
    )
    assert export.stats.accepted == 29_999
