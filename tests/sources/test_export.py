"""The Export object: counters filled while reading, one pass only, errors after good records."""

from __future__ import annotations

import pytest

from koito_assets.sources import ExportError, Scrobble, open_export

from .helpers import FIXTURES, settings


def test_stats_fill_while_iterating_and_records_sum_up():
    export = open_export(FIXTURES / "maloja_export_2024_03_02_18_00_00.json", settings())
    assert (export.stats.records, export.stats.accepted) == (0, 0)
    records = iter(export)
    first_four = [next(records) for _ in range(4)]
    assert export.stats.records == 4
    assert export.stats.accepted == sum(isinstance(record, Scrobble) for record in first_four)
    rest = list(records)
    assert (
        export.stats.records
        == 4 + len(rest)
        == export.stats.accepted + sum(export.stats.skipped.values())
    )


def test_an_export_is_read_once():
    export = open_export(FIXTURES / "maloja_api_scrobbles.json", settings())
    assert len(list(export)) == 2
    with pytest.raises(RuntimeError, match="read already"):
        iter(export)


def test_a_truncated_file_yields_its_whole_records_then_fails(tmp_path):
    whole = (FIXTURES / "Streaming_History_Audio_2023-2024_0.json").read_bytes()
    cut = whole.index(b'{"ts": "2024-03-02T19:10:00Z"') + 40  # inside the fifth play
    path = tmp_path / "Streaming_History_Audio_2023-2024_0.json"
    path.write_bytes(whole[:cut])
    export = open_export(path, settings())
    seen = []
    with pytest.raises(ExportError, match=f"byte {cut}: truncated JSON"):
        for record in export:
            seen.append(record)
    assert [record.position for record in seen] == ["record 1", "record 2", "record 3", "record 4"]
    assert export.stats.records == 4
