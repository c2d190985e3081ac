"""The image-backfill benchmark end to end, small: 200 entities against fakes answering in 1 ms."""

from __future__ import annotations

import json

from benchmarks import images_bench


def test_benchmark_accounts_for_every_entity_and_the_rerun_asks_nothing(pg_server, tmp_path):
    out = tmp_path / "images_bench.json"

    code = images_bench.main(
        [
            "--entities",
            "200",
            "--latency-ms",
            "1",
            "--workers",
            "8",
            "--database-url",
            pg_server.admin_url,
            "--json",
            str(out),
        ]
    )

    assert code == 0
    result = json.loads(out.read_text())
    first, rerun = result["runs"]
    assert first["run"] == "backfill" and rerun["run"] == "rerun"
    assert first["found"] + first["missed"] + first["failed"] == 200 == first["checked"]
    assert (first["found"], first["missed"]) == (
        result["expected"]["found"],
        result["expected"]["missed"],
    )
    assert 0 < first["peak_in_flight"] <= 8  # bounded by the pool
    assert first["fakes"]["deezer"]["quota_refusals"] == 0 and first["within_rate_limit"]
    assert all(fake["errors"] == 0 for fake in first["fakes"].values())
    assert rerun["checked"] == 0 and rerun["requests"] == 0  # the ledger: nothing re-asked
